"""The ceiling of a ranking: how well the ground truth predicts itself.

A benchmark's accuracy is itself a noisy measurement (a mean over a few training seeds). The
best any estimator can reach is the agreement of the truth with an independent copy of itself.
What a benchmark offers (:func:`nasviz.analysis.baselines.ceiling_scores`):

* ``'reliability'`` (a benchmark with >= 4 seeds): the mean of half the seeds against the mean of
  the other half, a *split-half* figure for a truth averaging half as many seeds as the real one;
* ``'seed-to-seed'`` (2-3 seeds): one seed against another, a figure for a one-seed truth;
* ``'valid-as-predictor'`` (NB201): a separate training run's validation accuracy against the
  test accuracy: a test-retest figure between two measurements, no seed count to correct for.

The split-half and seed-to-seed figures understate the reliability of the truth actually used,
which averages more seeds: the Spearman-Brown formula ``r_k = k r / (1 + (k - 1) r)`` projects a
correlation to a measurement ``k`` times as long. It is exact for Pearson correlations of
parallel measurements; Kendall's tau is first mapped to the Pearson scale of a bivariate normal
(``r = sin(pi tau / 2)``, Greiner's relation), corrected, and mapped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from nasviz.analysis.uncertainty import Estimate

__all__ = ['Ceiling', 'spearman_brown', 'tau_spearman_brown', 'corrected_ceiling_table']


@overload
def spearman_brown(r: float, factor: float) -> float: ...
@overload
def spearman_brown(r: np.ndarray, factor: float) -> float | np.ndarray: ...
def spearman_brown(r: float | np.ndarray, factor: float) -> float | np.ndarray:
    """Reliability of a measurement ``factor`` times as long as one of reliability ``r``:
    ``factor r / (1 + (factor - 1) r)`` (``factor = 2`` turns a split-half figure into the
    whole test's)."""
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f'factor must be a positive number, got {factor!r}')
    r = np.asarray(r, dtype=np.float64)
    if np.any(np.abs(r[np.isfinite(r)]) > 1):
        raise ValueError(f'r must lie in [-1, 1], got {r.tolist()!r}')
    with np.errstate(invalid='ignore', divide='ignore'):
        out = factor * r / (1 + (factor - 1) * r)
    return float(out) if out.ndim == 0 else out


@overload
def tau_spearman_brown(tau: float, factor: float) -> float: ...
@overload
def tau_spearman_brown(tau: np.ndarray, factor: float) -> float | np.ndarray: ...
def tau_spearman_brown(tau: float | np.ndarray, factor: float) -> float | np.ndarray:
    """Spearman-Brown on Kendall's tau through Greiner's relation (see the module docstring)."""
    t = np.asarray(tau, dtype=np.float64)
    r = np.sin(np.pi * t / 2)
    out = 2 / np.pi * np.arcsin(np.clip(spearman_brown(r, factor), -1, 1))
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class Ceiling:
    """The ground truth's own reliability on the audited architectures.

    ``kind`` says which figure (``'reliability'``, ``'seed-to-seed'``, ``'valid-as-predictor'``);
    ``measured`` is that figure (Kendall tau with its bootstrap CI); ``seeds_measured`` the seeds
    each side of it averages and ``seeds_truth`` those the truth averages (None when unknown);
    ``factor = seeds_truth / seeds_measured`` and ``corrected`` the Spearman-Brown projection of
    ``measured`` (interval bounds mapped the same way) -- the ceiling to print. With no seed count
    to correct for, ``corrected`` is ``measured`` and ``factor`` 1; ``which`` says so in words."""

    kind: str
    measured: Estimate
    seeds_measured: int | None
    seeds_truth: int | None
    factor: float
    corrected: Estimate
    which: str

    def to_dict(self) -> dict[str, Any]:
        return {
            'kind': self.kind,
            'measured': self.measured.to_dict(),
            'seeds_measured': self.seeds_measured,
            'seeds_truth': self.seeds_truth,
            'factor': self.factor,
            'corrected': self.corrected.to_dict(),
            'which': self.which,
        }

    def __str__(self) -> str:
        return f'ceiling {format(self.corrected, ".3f")} ({self.which})'

    @classmethod
    def from_measured(
        cls, kind: str, measured: Estimate, seeds_measured: int | None, seeds_truth: int | None
    ) -> Ceiling:
        if seeds_measured and seeds_truth and seeds_truth != seeds_measured:
            factor = seeds_truth / seeds_measured
            corr = Estimate(
                tau_spearman_brown(measured.estimate, factor),
                tau_spearman_brown(measured.low, factor) if np.isfinite(measured.low) else np.nan,
                tau_spearman_brown(measured.high, factor) if np.isfinite(measured.high) else np.nan,
                measured.n,
                measured.level,
                f'Spearman-Brown x{factor:g} of {measured.method}',
            )
            which = (
                f'{kind}: Kendall tau of a {seeds_measured}-seed truth against an independent '
                f'{seeds_measured}-seed copy, {format(measured, ".3f")}, Spearman-Brown corrected to the '
                f'{seeds_truth}-seed truth used here'
            )
        else:
            factor, corr = 1.0, measured
            which = (
                f'{kind}: Kendall tau of the truth against an independent measurement of it, '
                f'{format(measured, ".3f")}, no seed count to correct for'
            )
        return cls(kind, measured, seeds_measured, seeds_truth, float(factor), corr, which)


def corrected_ceiling_table(table: pd.DataFrame, bench: Any) -> pd.DataFrame:
    """A long CI table (:func:`~nasviz.analysis.baselines.ranking_with_baselines_ci`,
    :func:`~nasviz.analysis.baselines.baseline_metrics_ci`) whose split-half ``'reliability'`` rows
    become the ceiling to print: the Kendall tau row corrected by Spearman-Brown to the seeds the
    truth averages (:class:`Ceiling`; method ``'reliability (Spearman-Brown)'``),
    the other metrics' rows of the split-half figure dropped (they have no such correction). A
    table without split-half rows comes back unchanged."""
    rows = table['method'] == 'reliability'
    if not rows.any():
        return table
    n_seeds = len(getattr(bench, 'seeds', ()) or ())
    out = table[~rows | (table['metric'] == 'kendall_tau')].copy()
    for i in out.index[out['method'] == 'reliability']:
        r = out.loc[i]
        measured = Estimate(
            r['estimate'], r['low'], r['high'], int(r['n']), float(r.get('level', 0.95)), str(r.get('ci_method', ''))
        )
        ceiling = Ceiling.from_measured('reliability', measured, n_seeds // 2, n_seeds)
        out.loc[i, ['estimate', 'low', 'high']] = [
            ceiling.corrected.estimate,
            ceiling.corrected.low,
            ceiling.corrected.high,
        ]
        out.loc[i, 'method'] = 'reliability (Spearman-Brown)'
        if 'ci_method' in out.columns:
            out.loc[i, 'ci_method'] = ceiling.corrected.method
    return out.reset_index(drop=True)
