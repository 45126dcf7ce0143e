"""The ground truth's own ceiling, corrected for the seeds the truth averages.

A benchmark whose accuracies are means over ``s`` training seeds can only be checked against
itself by splitting the seeds: the agreement of two half-means (``s/2`` seeds each) is the
split-half reliability, and it understates the reliability of the full ``s``-seed mean that
predictors are ranked against. The Spearman-Brown formula steps it up by the factor
``s / (s/2) = 2``: ``r_s = k r / (1 + (k - 1) r)``. It holds for a Pearson correlation; rank
correlations are carried over through their bivariate-normal relations to Pearson's r
(Kendall: ``r = sin(pi tau / 2)``; Spearman: ``r = 2 sin(pi rho / 6)``), corrected, and mapped
back. The transforms are monotone, so an interval's bounds map to the corrected interval.

Pure computation: no plotting imports.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.ranking import Estimate

__all__ = ['spearman_brown', 'corrected_rank_correlation', 'corrected_ceiling', 'corrected_ceiling_table',
           'CORRECTED_NAME']

#: the ceiling's name once corrected (a key of :data:`nasviz.analysis.findings.CEILING_LABELS`)
CORRECTED_NAME = 'reliability (Spearman-Brown)'


def spearman_brown(r: float | np.ndarray, factor: float) -> float | np.ndarray:
    """Reliability of a mean over ``factor`` times as many runs as the one measured with ``r``:
    ``factor * r / (1 + (factor - 1) * r)`` (Spearman-Brown prophecy formula)."""
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f'factor must be a positive number, got {factor!r}')
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        out = factor * r / (1 + (factor - 1) * r)
    return float(out) if out.ndim == 0 else out


def corrected_rank_correlation(value: float, factor: float, metric: str = 'kendall_tau') -> float:
    """:func:`spearman_brown` of a rank correlation, through its bivariate-normal Pearson
    equivalent (``metric``: ``'kendall_tau'`` or ``'spearman'``)."""
    if not np.isfinite(value):
        return float('nan')
    if metric == 'kendall_tau':
        to_r, from_r = (lambda t: np.sin(np.pi * t / 2)), (lambda r: 2 / np.pi * np.arcsin(r))
    elif metric == 'spearman':
        to_r, from_r = (lambda t: 2 * np.sin(np.pi * t / 6)), (lambda r: 6 / np.pi * np.arcsin(r / 2))
    else:
        raise ValueError(f"metric must be 'kendall_tau' or 'spearman' (a correlation), got {metric!r}")
    r = float(np.clip(spearman_brown(to_r(value), factor), -1.0, 1.0))
    return float(from_r(r))


def _factor(bench: Any) -> float:
    seeds = list(getattr(bench, 'seeds', ()) or ())
    if len(seeds) < 4:
        raise ValueError(f'a split-half ceiling needs a benchmark with >= 4 seeds, got seeds {seeds}')
    return len(seeds) / (len(seeds) // 2)


def corrected_ceiling(est: Estimate, bench: Any, metric: str = 'kendall_tau') -> Estimate:
    """The split-half ``est`` (from :func:`~nasviz.analysis.ranking.ceiling_scores`'
    ``'reliability'``, half the seeds per side) corrected to the full seed count of ``bench``."""
    k = _factor(bench)
    f = lambda v: corrected_rank_correlation(v, k, metric)  # noqa: E731
    n_seeds = len(bench.seeds)
    return Estimate(f(est.estimate), f(est.low), f(est.high), est.n, est.level,
                    f'split-half of {n_seeds // 2}-seed means, Spearman-Brown-corrected to {n_seeds} seeds')


def corrected_ceiling_table(table: pd.DataFrame, bench: Any) -> pd.DataFrame:
    """A long CI table (:func:`~nasviz.analysis.ranking.ranking_with_baselines_ci`,
    :func:`~nasviz.analysis.ranking.baseline_metrics_ci`) with its ``'reliability'`` rows
    replaced by the Spearman-Brown-corrected ceiling (method :data:`CORRECTED_NAME`): Kendall and
    Spearman rows corrected; rows of other metrics (top-K precision has no such correction)
    dropped. A table without split-half rows comes back unchanged."""
    rows = table['method'] == 'reliability'
    if not rows.any():
        return table
    k = _factor(bench)
    out = table.copy()
    keep = ~rows | out['metric'].isin(['kendall_tau', 'spearman'])
    for i in out.index[rows & keep]:
        m = out.at[i, 'metric']
        for col in ('estimate', 'low', 'high'):
            out.at[i, col] = corrected_rank_correlation(float(out.at[i, col]), k, m)
        out.at[i, 'method'] = CORRECTED_NAME
        if 'ci_method' in out.columns:
            out.at[i, 'ci_method'] = f'{out.at[i, "ci_method"]}, Spearman-Brown x{k:g}'
    return out[keep].reset_index(drop=True)
