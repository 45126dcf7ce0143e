"""Tables over many searches: one row per (method, seed), mean +- SE per method, paired
differences to a reference method over seeds, and the space's trivial baselines."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.findings import detectable_from_interval
from nasviz.analysis.seeds import seed_summary
from nasviz.analysis.uncertainty import Estimate
from nasviz.bench.micro import default_path
from nasviz.search.base import SearchResult
from nasviz.spaces import SearchSpace, get_space


def comparison_rows(results: Sequence[SearchResult]) -> pd.DataFrame:
    """One row per search: method, seed, cell, true accuracy and where it came from, search
    seconds, step costs, support changes and the final recovery error (ISTA); one-stage ISTA-NAS
    runs add ``final_epochs``, ``network_accuracy``/``network_loss`` (the trained network's own,
    on the test split) and ``final_seconds``."""
    rows = []
    for r in results:
        h = r.history
        rows.append(
            dict(
                method=r.method,
                seed=r.seed,
                epochs=r.config.epochs,
                arch=str(r.arch),
                true_accuracy=r.true_accuracy,
                truth_source=r.truth_source,
                search_seconds=r.search_seconds,
                w_step_s=r.step.get('w_step_s', np.nan),
                arch_step_s=r.step.get('arch_step_s', np.nan),
                saved_mib=r.step.get('saved_mib', np.nan),
                support_changes=float(h['support_changes'].sum()) if 'support_changes' in h else np.nan,
                recovery_error=float(h['recovery_error'].iloc[-1]) if 'recovery_error' in h else np.nan,
            )
        )
        if r.config.one_stage:  # only then: the columns of plain comparisons stay as they were
            f = r.final_history if r.final_history is not None else pd.DataFrame()
            rows[-1].update(
                final_epochs=r.config.n_final_epochs,
                network_accuracy=r.network_accuracy,
                network_loss=r.network_loss,
                final_seconds=float(f['seconds'].sum()) if 'seconds' in f else np.nan,
            )
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
        row: dict[str, Any] = dict(
            method=method,
            n_seeds=ss.n,
            true_accuracy=ss.mean,
            se=ss.se,
            low=ss.ci.low,
            high=ss.ci.high,
            search_seconds=g['search_seconds'].mean(),
            w_step_s=g['w_step_s'].median(),
            arch_step_s=g['arch_step_s'].median(),
            saved_mib=g['saved_mib'].median(),
        )
        if ref is not None and method != reference:
            paired = g.set_index('seed')['true_accuracy'].sub(ref).dropna()
            if len(paired):
                d = seed_summary(paired.to_numpy(), level=level)
                row.update(diff_vs_ref=d.mean, diff_se=d.se, diff_low=d.ci.low, diff_high=d.ci.high)
        out.append(row)
    return pd.DataFrame(out).set_index('method')


def _live_archs(bench: Any) -> list:
    """The benchmark's cells that are not degenerate, judged by the benchmark's space."""
    space = getattr(bench, 'space', 'nb201')
    space = space if isinstance(space, SearchSpace) else get_space(space)
    return [a for a in bench.archs() if not space.is_degenerate(a)]


def space_baselines(bench: Any, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Trivial baselines from the ground truth itself: a uniformly random non-degenerate cell
    (mean, and the 2.5-97.5% range of the distribution), the largest cell by parameters, the best
    cell (an oracle ceiling); with ``runs``, each found cell's percentile in the distribution is
    in :func:`percentile_in_space`."""
    archs = _live_archs(bench)
    acc = bench.accuracies(archs)
    params = bench.params_many(archs) if hasattr(bench, 'params_many') else np.array([bench.params(a) for a in archs])
    big = int(np.argmax(params))
    return pd.DataFrame(
        [
            dict(
                baseline='random cell (mean of the space)',
                true_accuracy=float(acc.mean()),
                low=float(np.percentile(acc, 2.5)),
                high=float(np.percentile(acc, 97.5)),
                n=len(acc),
            ),
            dict(
                baseline='largest cell (most parameters)',
                true_accuracy=float(acc[big]),
                low=np.nan,
                high=np.nan,
                n=1,
                arch=str(archs[big]),
            ),
            dict(
                baseline='best cell in the table (oracle)',
                true_accuracy=float(acc.max()),
                low=np.nan,
                high=np.nan,
                n=1,
                arch=str(archs[int(np.argmax(acc))]),
            ),
        ]
    )


def percentile_in_space(values: Sequence[float], bench: Any) -> np.ndarray:
    """Percent of the space's non-degenerate cells with a lower true accuracy than each value."""
    acc = np.sort(bench.accuracies(_live_archs(bench)))
    return 100.0 * np.searchsorted(acc, np.asarray(values, dtype=np.float64), side='left') / len(acc)


RUN_COLUMNS = ('method', 'seed', 'epochs', 'arch', 'true_accuracy', 'search_seconds')
METHOD_NAMES = {'ista': 'ISTA-NAS', 'darts': 'DARTS', 'spos-rs': 'SPOS + random search', 'random': 'random search'}


def comparison_path(profile: str = 'tiny', space: str = 'nb201') -> Path:
    """Where ``benchmarks/search_compare.py`` keeps a profile's comparison by default, beside the
    micro benchmark: ``data/search_comparison_<profile>.csv`` for NAS-Bench-201,
    ``data/search_comparison_<profile>_<space>.csv`` for another space."""
    return default_path().with_name(
        f'search_comparison_{profile}.csv' if space == 'nb201' else f'search_comparison_{profile}_{space}.csv'
    )


def load_comparison(path: str | os.PathLike) -> pd.DataFrame:
    """A comparison table written by ``benchmarks/search_compare.py`` (checked: its columns,
    one row per method and seed, finite accuracies)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f'comparison table not found: {path}; write it with `python benchmarks/search_compare.py --out ...`'
        )
    df = pd.read_csv(path)
    missing = [c for c in RUN_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f'{path}: not a search comparison, missing column(s) {missing}')
    dup = df.duplicated(['method', 'seed'])
    if dup.any():
        raise ValueError(f'{path}: row {int(np.flatnonzero(dup)[0]) + 2} repeats a (method, seed) pair')
    bad = ~np.isfinite(pd.to_numeric(df['true_accuracy'], errors='coerce'))
    if bad.any():
        raise ValueError(f'{path}: row {int(np.flatnonzero(bad)[0]) + 2}: true_accuracy is not a number')
    return df


def describe_comparison(summary: pd.DataFrame, reference: str = 'ista', digits: int = 2) -> list[str]:
    """Sentences on :func:`summarize_comparison`: each method's true accuracy as mean ± SE over
    seeds, and its paired difference to ``reference`` (*within noise* when the t interval of the
    per-seed differences covers 0; no claim with one seed)."""
    out = []
    ref_name = METHOD_NAMES.get(reference, reference)
    for method, r in summary.iterrows():
        name = METHOD_NAMES.get(method, method)
        n = int(r['n_seeds'])
        if n < 2:
            head = f'With one seed, {name} finds a cell of true accuracy {r.true_accuracy:.{digits}f}% (no SE)'
        else:
            head = (
                f'Over {n} seeds, {name} finds cells of true accuracy {r.true_accuracy:.{digits}f} ± '
                f'{r.se:.{digits}f}% (mean ± SE; 95% t interval {r.low:.{digits}f} to {r.high:.{digits}f})'
            )
        head += f', in {r.search_seconds:.0f} s of search on average'
        if method != reference and 'diff_vs_ref' in summary.columns and np.isfinite(r.get('diff_vs_ref', np.nan)):
            d = f'{r.diff_vs_ref:+.{digits}f} points'
            if not np.isfinite(r.get('diff_low', np.nan)):
                head += f'; {d} against {ref_name} on one seed (no claim)'
            elif r.diff_low <= 0 <= r.diff_high:
                det = detectable_from_interval(Estimate(r.diff_vs_ref, r.diff_low, r.diff_high, n), df=n - 1)
                head += (
                    f'; its difference to {ref_name}, {d} (± {r.diff_se:.{digits}f} SE, 95% t interval '
                    f'{r.diff_low:+.{digits}f} to {r.diff_high:+.{digits}f}, paired by seed), is within noise '
                    f'(smallest detectable difference {det:.{digits}f} points)'
                )
            else:
                side = 'better' if r.diff_low > 0 else 'worse'
                head += (
                    f'; it is {side} than {ref_name} by {abs(r.diff_vs_ref):.{digits}f} points (95% t interval '
                    f'{r.diff_low:+.{digits}f} to {r.diff_high:+.{digits}f}, paired by seed)'
                )
        out.append(head + '.')
    return out


def versus_cell(runs: pd.DataFrame, accuracy: float, level: float = 0.95) -> pd.DataFrame:
    """Each method's found cells against one fixed cell of true accuracy ``accuracy`` (the
    largest cell, say): per seed the difference ``found - accuracy``, then its mean, SE and t
    interval over seeds (:func:`~nasviz.analysis.seeds.seed_summary`; paired by seed, the fixed
    cell scoring every seed alike) and the smallest difference the seeds could detect (80% power,
    5% two-sided). Index ``method``; NaN intervals with one seed."""
    if not np.isfinite(accuracy):
        raise ValueError(f'accuracy must be a finite number, got {accuracy!r}')
    rows = []
    for method, g in runs.groupby('method', sort=False):
        d = seed_summary(g['true_accuracy'].to_numpy(dtype=np.float64) - float(accuracy), level=level)
        rows.append(
            dict(
                method=method,
                n_seeds=d.n,
                diff=d.mean,
                se=d.se,
                low=d.ci.low,
                high=d.ci.high,
                detectable=detectable_from_interval(d.ci, df=d.n - 1) if d.n > 1 else np.nan,
            )
        )
    return pd.DataFrame(rows).set_index('method')


def describe_versus_cell(table: pd.DataFrame, cell_name: str, accuracy: float, digits: int = 2) -> str:
    """One sentence on :func:`versus_cell`: which methods find better, worse or level cells than
    the fixed one (by the t interval of the per-seed differences; level with it printed with the
    smallest detectable difference; no claim on one seed)."""
    better, worse, level, single = [], [], [], []
    for method, r in table.iterrows():
        name = METHOD_NAMES.get(method, method)
        d = f'{r["diff"]:+.{digits}f} points'
        if not np.isfinite(r['low']):
            single.append(f'{name} ({d} on one seed)')
        elif r['low'] > 0:
            better.append(f'{name} ({d}, 95% t interval {r["low"]:+.{digits}f} to {r["high"]:+.{digits}f})')
        elif r['high'] < 0:
            worse.append(f'{name} ({d}, 95% t interval {r["low"]:+.{digits}f} to {r["high"]:+.{digits}f})')
        else:
            level.append(
                f'{name} ({d}, 95% t interval {r["low"]:+.{digits}f} to {r["high"]:+.{digits}f}; smallest '
                f'detectable difference {r["detectable"]:.{digits}f})'
            )
    parts = []
    if worse:
        parts.append('worse than it: ' + '; '.join(worse))
    if level:
        parts.append('level with it: ' + '; '.join(level))
    if better:
        parts.append('better than it: ' + '; '.join(better))
    if single:
        parts.append('no claim with one seed: ' + '; '.join(single))
    n = int(table['n_seeds'].max()) if len(table) else 0
    head = (
        f'Against {cell_name} ({accuracy:.{digits}f}%, a search-free baseline), the found cells, paired by seed '
        f'over {n} seeds, are '
    )
    if worse and not better and not level and not single:
        return head + f'all worse: it beats every search method ({"; ".join(worse)}).'
    tail = ''
    if len(table) and (table['diff'] < 0).all():
        tail = (
            f" Every method's mean lies below {cell_name}; the paired test over these seeds separates only "
            f'{len(worse)} of {len(table)}.'
        )
    return head + '; '.join(parts) + '.' + tail


__all__ = [
    'comparison_rows',
    'summarize_comparison',
    'space_baselines',
    'percentile_in_space',
    'comparison_path',
    'load_comparison',
    'describe_comparison',
    'versus_cell',
    'describe_versus_cell',
    'METHOD_NAMES',
]
