"""Tables over many searches: one row per (method, seed), mean +- SE per method, paired
differences to a reference method over seeds, and the space's trivial baselines."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from nasviz.analysis.ranking import seed_summary
from nasviz.search.base import SearchResult


def comparison_rows(results: Sequence[SearchResult]) -> pd.DataFrame:
    """One row per search: method, seed, cell, true accuracy and where it came from, search
    seconds, step costs, support changes and the final recovery error (ISTA)."""
    rows = []
    for r in results:
        h = r.history
        rows.append(dict(method=r.method, seed=r.seed, epochs=r.config.epochs, arch=str(r.arch),
                         true_accuracy=r.true_accuracy, truth_source=r.truth_source,
                         search_seconds=r.search_seconds,
                         w_step_s=r.step.get('w_step_s', np.nan), arch_step_s=r.step.get('arch_step_s', np.nan),
                         saved_mib=r.step.get('saved_mib', np.nan),
                         support_changes=float(h['support_changes'].sum()) if 'support_changes' in h else np.nan,
                         recovery_error=float(h['recovery_error'].iloc[-1]) if 'recovery_error' in h else np.nan))
    return pd.DataFrame(rows)


def summarize_comparison(runs: pd.DataFrame, reference: str | None = 'ista', level: float = 0.95) -> pd.DataFrame:
    """Per method: true accuracy mean, SE, t interval over seeds, n; mean search seconds and
    step costs; with ``reference``, the mean difference to it paired by seed (``diff``, ``diff_se``)
    ``diff_low``/``diff_high``)."""
    if runs.empty:
        raise ValueError('runs is empty')
    out = []
    ref = runs[runs['method'] == reference].set_index('seed')['true_accuracy'] if reference else None
    for method, g in runs.groupby('method', sort=False):
        ss = seed_summary(g['true_accuracy'].to_numpy(), level=level)
        row: dict[str, Any] = dict(method=method, n_seeds=ss.n, true_accuracy=ss.mean, se=ss.se, low=ss.ci.low,
                                   high=ss.ci.high, search_seconds=g['search_seconds'].mean(),
                                   w_step_s=g['w_step_s'].median(), arch_step_s=g['arch_step_s'].median(),
                                   saved_mib=g['saved_mib'].median())
        if ref is not None and method != reference:
            paired = g.set_index('seed')['true_accuracy'].sub(ref).dropna()
            if len(paired):
                d = seed_summary(paired.to_numpy(), level=level)
                row.update(diff_vs_ref=d.mean, diff_se=d.se, diff_low=d.ci.low, diff_high=d.ci.high)
        out.append(row)
    return pd.DataFrame(out).set_index('method')


def space_baselines(bench: Any, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Trivial baselines from the ground truth itself: a uniformly random non-degenerate cell
    (mean, and the 2.5-97.5% range of the distribution), the largest cell by parameters, the best
    cell (an oracle ceiling); with ``runs``, each found cell's percentile in the distribution is
    in :func:`percentile_in_space`."""
    archs = [a for a in bench.archs() if not a.is_degenerate]
    acc = bench.accuracies(archs)
    params = bench.params_many(archs) if hasattr(bench, 'params_many') else np.array([bench.params(a) for a in archs])
    big = int(np.argmax(params))
    return pd.DataFrame([
        dict(baseline='random cell (mean of the space)', true_accuracy=float(acc.mean()),
             low=float(np.percentile(acc, 2.5)), high=float(np.percentile(acc, 97.5)), n=len(acc)),
        dict(baseline='largest cell (most parameters)', true_accuracy=float(acc[big]), low=np.nan, high=np.nan,
             n=1, arch=str(archs[big])),
        dict(baseline='best cell in the table (oracle)', true_accuracy=float(acc.max()), low=np.nan, high=np.nan,
             n=1, arch=str(archs[int(np.argmax(acc))])),
    ])


def percentile_in_space(values: Sequence[float], bench: Any) -> np.ndarray:
    """Percent of the space's non-degenerate cells with a lower true accuracy than each value."""
    acc = np.sort(bench.accuracies([a for a in bench.archs() if not a.is_degenerate]))
    return 100.0 * np.searchsorted(acc, np.asarray(values, dtype=np.float64), side='left') / len(acc)


__all__ = ['comparison_rows', 'summarize_comparison', 'space_baselines', 'percentile_in_space']
