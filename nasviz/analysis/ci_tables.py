"""Long tables of ranking metrics with their intervals: one row per (method, metric) with the
columns :data:`CI_COLUMNS` (:func:`ranking_table_ci`), their wide form (:func:`ci_wide`) and the
:class:`~nasviz.analysis.uncertainty.Estimate` of each row (:func:`table_estimates`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.metrics import K, check_pair, k_label
from nasviz.analysis.uncertainty import Estimate, metric_ci
from nasviz.validate import short_repr

__all__ = ['CI_COLUMNS', 'ci_metrics', 'ci_row', 'ranking_table_ci', 'ci_wide', 'table_estimates']

#: columns of every long CI table
CI_COLUMNS = ['method', 'metric', 'estimate', 'low', 'high', 'n', 'level', 'ci_method']


def ci_metrics(ks: Iterable[K] = (10,)) -> list[str]:
    """Metric names that carry a CI: Kendall, Spearman, top-k per k (regret has none: a max
    statistic is not bootstrapped reliably)."""
    return ['kendall_tau', 'spearman'] + [f'topk_precision@{k_label(k)}' for k in ks]


def ci_row(method: str, metric: str, est: Estimate) -> dict[str, Any]:
    return dict(
        method=method,
        metric=metric,
        estimate=est.estimate,
        low=est.low,
        high=est.high,
        n=est.n,
        level=est.level,
        ci_method=est.method,
    )


def ranking_table_ci(
    scores: Mapping[str, Sequence[float] | np.ndarray],
    truth: Sequence[float] | np.ndarray,
    ks: Iterable[K] = (10,),
    level: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | None = 0,
    method: str = 'percentile',
    nan_policy: str = 'raise',
) -> pd.DataFrame:
    """Long table of metrics with bootstrap CIs: one row per (method, metric), columns
    ``method, metric, estimate, low, high, n, level, ci_method`` (see :data:`CI_COLUMNS`).
    Every metric of every method uses the same seed. :func:`ci_wide` pivots it."""
    if not scores:
        raise ValueError('ranking_table_ci needs at least one method in scores')
    ks = tuple(ks)
    rows = []
    for name, s in scores.items():
        p, t = check_pair(s, truth, nan_policy, names=(f'scores[{short_repr(name)}]', 'truth'))
        for m in ci_metrics(ks):
            est = metric_ci(m, p, t, level=level, n_resamples=n_resamples, random_state=random_state, method=method)
            rows.append(ci_row(name, m, est))
    return pd.DataFrame(rows, columns=CI_COLUMNS)


def ci_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Pivot a long CI table to one row per method (index ``method``, in first-seen order):
    ``n``, ``kind`` when present, then ``<metric>``, ``<metric>_low``, ``<metric>_high``."""
    missing = [c for c in ('method', 'metric', 'estimate', 'low', 'high', 'n') if c not in long.columns]
    if missing:
        raise ValueError(f'long must be a long CI table, missing column(s) {missing}')
    order = list(dict.fromkeys(long['method']))
    out = pd.DataFrame(index=pd.Index(order, name='method'))
    if 'kind' in long.columns:
        out['kind'] = long.groupby('method', sort=False)['kind'].first()
    out['n'] = long.groupby('method', sort=False)['n'].max().astype(int)
    for m in dict.fromkeys(long['metric']):
        sub = long[long['metric'] == m].set_index('method')
        out[m] = sub['estimate']
        out[f'{m}_low'] = sub['low']
        out[f'{m}_high'] = sub['high']
    return out


def table_estimates(long: pd.DataFrame, metric: str = 'kendall_tau') -> dict[str, Estimate]:
    """``{method: Estimate}`` of one metric from a long CI table (for :mod:`nasviz.analysis.findings`)."""
    if 'metric' not in long.columns:
        raise ValueError('long must be a long CI table with a metric column')
    sub = long[long['metric'] == metric]
    if sub.empty:
        raise ValueError(f'metric {metric!r} not in the table; it has {sorted(set(long["metric"]))}')
    return {
        r.method: Estimate(
            r.estimate, r.low, r.high, int(r.n), float(getattr(r, 'level', 0.95)), str(getattr(r, 'ci_method', ''))
        )
        for r in sub.itertuples(index=False)
    }
