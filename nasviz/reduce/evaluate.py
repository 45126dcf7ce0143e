"""How good a C-BRED selection is: its mean ground-truth accuracy over clustering seeds, paired on
equal subset size with the trivial selections (top-N by a size or proxy column, a random subset),
and the same over a grid of settings (number of clusters x distance).

Every selection is judged on ALL its cells (the reduced space is the chosen cluster), against the
ground truth of the space's benchmark table. A baseline column that covers only part of the
space (a proxy swept on a uniform sample of it) ranks the cells it covers and keeps the same
FRACTION of them as the selection is of the space: an estimate of the top-N mean, flagged in the
``note`` column. Paired differences are per seed (each seed's selection against the baselines at
that seed's size), summarised by their mean, standard error and how many seeds C-BRED wins.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasviz.reduce.cbred import CBRED
from nasviz.validate import check_count


def proxy_baselines(table: pd.DataFrame, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per proxy column in ``names`` that ``table`` has: arch_str -> value, the baseline input of
    :func:`evaluate_seeds`. A value the table's ``undefined`` column explains as undefined on a
    degenerate cell ranks last (``-inf``), so a proxy computed on every cell covers the whole
    space; a value not computed leaves its cell out (the proxy then covers part of it)."""
    why = table['undefined'] if 'undefined' in table.columns else pd.Series('', index=table.index)
    out = {}
    for p in names:
        if p not in table.columns:
            continue
        v = table[p].astype(float)
        v = v.where(~(v.isna() & why.str.contains('degenerate', regex=False)), -np.inf)
        keep = v.notna().to_numpy()
        out[p] = dict(zip(table.loc[keep, 'arch_str'], v[keep]))
    return out


def top_fraction_mean(
    values: Mapping[str, float], truth: Mapping[str, float], n: int, n_space: int
) -> tuple[float, int, bool]:
    """Mean truth of the top ``n`` cells by ``values`` when they cover the whole space, else of the
    top ``round(n * covered / n_space)`` covered cells (same fraction). Returns ``(mean, cells
    averaged, exact)``; non-finite values rank last."""
    keys = [s for s in values if s in truth]
    v = np.array([values[s] for s in keys], dtype=float)
    v = np.where(np.isfinite(v), v, -np.inf)
    exact = len(keys) >= n_space
    m = n if exact else max(1, int(round(n * len(keys) / n_space)))
    order = np.argsort(-v, kind='stable')[:m]
    return float(np.mean([truth[keys[i]] for i in order])), int(m), exact


def evaluate_seeds(
    archs: Sequence[Any],
    space: Any,
    proxies: pd.DataFrame,
    truth: Mapping[str, float],
    baselines: Mapping[str, Mapping[str, float]],
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    random_draws: int = 200,
    models: MutableMapping[int, CBRED] | None = None,
    **cbred: Any,
) -> pd.DataFrame:
    """One row per clustering seed: the selection's size ``n`` and mean truth (``cbred``), and per
    baseline name ``b`` in ``baselines`` (arch_str -> value, higher first) the mean truth of its
    top cells at the same size (``top_<b>``, ``top_<b>_cells``, ``top_<b>_exact``), plus the mean
    of ``random_draws`` seeded random subsets of the same size (``random``). ``models``: seed ->
    an already fitted :class:`CBRED` (the clustering does not depend on the truth, so several
    ground truths can share one fit per seed); missing seeds are fitted and added to it."""
    check_count(len(seeds), 'seeds')
    strs = [space.to_str(space.check(a)) for a in archs]
    n_space = len(strs)
    acc_all = np.array([truth[s] for s in strs], dtype=float)
    rows = []
    for seed in seeds:
        if models is not None and int(seed) in models:
            m = models[int(seed)]
        else:
            m = CBRED(**{**cbred, 'random_state': int(seed)}).fit(archs, space, proxies)
            if models is not None:
                models[int(seed)] = m
        sel = m.selected_
        n = len(sel)
        row: dict[str, Any] = dict(
            seed=int(seed), n=n, cluster=m.best_cluster_, cbred=float(np.mean([truth[s] for s in sel]))
        )
        for name, vals in baselines.items():
            mean, cells, exact = top_fraction_mean(vals, truth, n, n_space)
            row[f'top_{name}'], row[f'top_{name}_cells'], row[f'top_{name}_exact'] = mean, cells, exact
        rng = np.random.default_rng(int(seed))
        row['random'] = float(
            np.mean([acc_all[rng.choice(n_space, n, replace=False)].mean() for _ in range(random_draws)])
        )
        rows.append(row)
    return pd.DataFrame(rows)


def summarize_seeds(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per selection method: mean over seeds, its standard error, and the paired difference
    C-BRED minus the method (mean, SE, seeds C-BRED wins) on the same seeds and subset sizes."""
    k = len(per_seed)
    tops = [c for c in per_seed.columns if c.startswith('top_') and not c.endswith(('_cells', '_exact'))]
    methods = ['cbred'] + tops + ['random']

    def se(x: np.ndarray) -> float:
        return float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float('nan')

    out = []
    for mth in methods:
        v = per_seed[mth].to_numpy(float)
        d = per_seed['cbred'].to_numpy(float) - v
        row = dict(method=mth, seeds=k, n_mean=float(per_seed['n'].mean()), mean=float(v.mean()), se=se(v))
        if mth != 'cbred':
            row.update(diff=float(d.mean()), diff_se=se(d), cbred_wins=int((d > 0).sum()))
            if f'{mth}_exact' in per_seed:
                row['exact'] = bool(per_seed[f'{mth}_exact'].all())
        out.append(row)
    return pd.DataFrame(out)


def cbred_grid(
    archs: Sequence[Any],
    space: Any,
    proxies: pd.DataFrame,
    truth: Mapping[str, float],
    ks: Sequence[int] = (8, 16, 32, 64),
    distances: Sequence[str] = ('js', 'hellinger', 'cosine'),
    seeds: Sequence[int] = (0,),
    **cbred: Any,
) -> pd.DataFrame:
    """The selection's size and mean truth for every ``(k, distance)`` (mean over ``seeds``; a
    setting that cannot select, e.g. no cluster reaches ``min_size``, gets NaN and its reason)."""
    rows = []
    for k in ks:
        for dist in distances:
            sizes, means, why = [], [], ''
            for seed in seeds:
                try:
                    m = CBRED(**{**cbred, 'k': int(k), 'distance': dist, 'random_state': int(seed)}).fit(
                        archs, space, proxies
                    )
                except ValueError as err:
                    why = str(err)
                    continue
                sizes.append(len(m.selected_))
                means.append(float(np.mean([truth[s] for s in m.selected_])))
            rows.append(
                dict(
                    k=int(k),
                    distance=dist,
                    seeds=len(means),
                    n=float(np.mean(sizes)) if sizes else np.nan,
                    mean=float(np.mean(means)) if means else np.nan,
                    se=float(np.std(means, ddof=1) / np.sqrt(len(means))) if len(means) > 1 else np.nan,
                    note=why,
                )
            )
    return pd.DataFrame(rows)
