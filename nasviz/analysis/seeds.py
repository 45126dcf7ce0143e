"""Results over several training seeds: a mean with its standard error and t interval
(:class:`SeedSummary`, :func:`seed_summary`), a method-vs-reference difference paired by seed
and by cell (:func:`paired_seed_difference`), and partition comparisons over seeds at several
split levels in one table (:func:`levels_sweep`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nasviz.analysis.metrics import as_float_vector
from nasviz.analysis.uncertainty import Estimate, check_level, json_float, level_label, metric_value, parse_metric
from nasviz.validate import short_repr

__all__ = ['SeedSummary', 'seed_summary', 'paired_seed_difference', 'levels_sweep']


@dataclass(frozen=True)
class SeedSummary:
    """Mean over seeds with its standard error (``se = std / sqrt(n)``), the standard deviation
    between seeds, a t-based CI (``ci``), and the per-seed ``values``."""

    mean: float
    se: float
    std: float
    n: int
    ci: Estimate
    values: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            'mean': json_float(self.mean),
            'se': json_float(self.se),
            'std': json_float(self.std),
            'n': int(self.n),
            'ci': self.ci.to_dict(),
            'values': [json_float(v) for v in self.values],
        }

    def __format__(self, spec: str) -> str:
        spec = spec or '.3f'
        if self.n < 2:
            return f'{self.mean:{spec}} (one seed: no SE)'
        return f'{self.mean:{spec}} ± {self.se:{spec}} (mean ± SE over {self.n} seeds; std {self.std:{spec}})'

    def __str__(self) -> str:
        return format(self, '.3f')


def seed_summary(values: Sequence[float] | np.ndarray, level: float = 0.95) -> SeedSummary:
    """Mean of one number over seeds, with SE, std (ddof=1) and a Student-t CI (n-1 dof).

    With one seed the SE, std and CI are NaN (nothing says how much seeds vary)."""
    level = check_level(level)
    v = as_float_vector(values, 'values')
    if v.size == 0:
        raise ValueError('values must hold at least one number')
    if not np.isfinite(v).all():
        raise ValueError(f'values must be finite, got {short_repr(v.tolist())}')
    with np.errstate(over='ignore', invalid='ignore'):
        mean = float(v.mean())
        spread = float(v.std(ddof=1)) if v.size > 1 else 0.0
        if not (np.isfinite(mean) and np.isfinite(spread)):  # sums overflowed: scale down first
            scale = float(np.abs(v).max())
            mean = scale * float((v / scale).mean())
            spread = scale * float((v / scale).std(ddof=1)) if v.size > 1 else 0.0
    if not (np.isfinite(mean) and np.isfinite(spread)):
        raise ValueError('values: their mean or spread lies beyond the float64 range (about 1.8e308); rescale them')
    nan = float('nan')
    if v.size < 2:
        ci = Estimate(mean, nan, nan, 1, level, 't, SE over seeds (one seed: none)')
        return SeedSummary(mean, nan, nan, 1, ci, (mean,))
    std = spread
    se = std / np.sqrt(v.size)
    with np.errstate(over='ignore'):
        half = float(stats.t.ppf((1 + level) / 2, v.size - 1)) * se
        if not (np.isfinite(mean - half) and np.isfinite(mean + half)):
            raise ValueError(
                f'values: the {level_label(level)} interval of their mean lies beyond the '
                'float64 range (about 1.8e308); rescale them'
            )
    ci = Estimate(mean, mean - half, mean + half, v.size, level, 't, SE over seeds')
    return SeedSummary(mean, float(se), std, int(v.size), ci, tuple(float(x) for x in v))


def paired_seed_difference(
    scores_a: Sequence[Sequence[float] | np.ndarray],
    scores_b: Sequence[Sequence[float] | np.ndarray],
    truth: Sequence[float] | np.ndarray | Sequence[Sequence[float] | np.ndarray],
    metric: str = 'kendall_tau',
    level: float = 0.95,
) -> SeedSummary:
    """Method-vs-reference difference over seeds: for each seed s,
    ``d_s = metric(scores_a[s], truth_s) - metric(scores_b[s], truth_s)`` on the same cells,
    then :func:`seed_summary` of the ``d_s`` (mean, SE over seeds, t CI; ``values`` = the d_s).

    ``truth`` is one array shared by all seeds or a list with one array per seed. Pairing by
    seed and by cell removes what both methods share (the cells drawn, the seed's data order),
    so this SE is usually smaller than combining the two methods' separate SEs. The cells are
    held fixed: the SE is over training seeds, not over draws of cells.
    """
    if len(scores_a) != len(scores_b):
        raise ValueError(
            f'scores_a and scores_b must hold one array per seed each, got {len(scores_a)} and {len(scores_b)}'
        )
    if len(scores_a) == 0:
        raise ValueError('scores_a must hold at least one seed')
    per_seed = isinstance(truth, (list, tuple)) and len(truth) > 0 and np.ndim(truth[0]) == 1
    if per_seed and len(truth) != len(scores_a):
        raise ValueError(f'truth holds {len(truth)} arrays for {len(scores_a)} seeds')
    parse_metric(metric)
    diffs = []
    for s, (a, b) in enumerate(zip(scores_a, scores_b)):
        t = truth[s] if per_seed else truth
        diffs.append(metric_value(metric, a, t, f'scores_a[{s}]') - metric_value(metric, b, t, f'scores_b[{s}]'))
    if not np.isfinite(diffs).all():
        raise ValueError(f'{metric} is undefined (constant scores) for some seed: differences {diffs}')
    return seed_summary(diffs, level)


def levels_sweep(comparisons: Mapping[int, Any]) -> pd.DataFrame:
    """One row per method and number of split levels from ``{levels: comparison}``, each a
    :class:`~nasviz.partition.compare.Comparison` of methods over seeds on the same cells:
    ``method``, ``kind='method'``, ``levels`` (0 for SPOS, which never splits),
    ``n_partitions`` (leaves of the tree, most common over seeds), ``kendall_tau`` (mean over
    seeds), ``se``, ``std``, ``low``/``high`` (95% t interval of the mean), ``n_seeds`` and
    ``n`` (cells)."""
    rows = []
    for lv, comp in comparisons.items():
        summ = comp.summary()
        for m in comp.methods:
            leaves = comp.runs.loc[comp.runs['method'] == m, 'n_leaves']
            r = summ.loc[m]
            rows.append(
                dict(
                    method=m,
                    kind='method',
                    levels=0 if m == 'spos' else lv,
                    n_partitions=int(leaves.mode().iloc[0]),
                    kendall_tau=r['mean'],
                    se=r['se'],
                    std=r['std'],
                    low=r['low'],
                    high=r['high'],
                    n_seeds=int(r['n_runs']),
                    n=int(r['n_cells']),
                )
            )
    return pd.DataFrame(rows)
