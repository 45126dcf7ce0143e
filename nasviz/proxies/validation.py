"""Proxies against ground truth and against published figures (NAS-Bench-201).

:func:`validate_proxies` gives, per proxy column of a sweep table, the Spearman correlation with
an accuracy column (bootstrap CI, n), beside the published value where one exists and beside
parameter count on the same cells; :func:`agreement_with_published` the Spearman between our
per-cell scores and published per-cell scores (``nb201_proxies.csv``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.uncertainty import paired_difference, spearman_ci

#: published Spearman correlations on NB201 (CIFAR-10): (value, ground-truth column, source).
#: Abdelfattah et al. 2021 (all cells, test accuracy); Mellor et al. 2021 (NASWOT, valid accuracy,
#: non-degenerate cells); parameter count as its published reference states it.
PUBLISHED_SPEARMAN: dict[str, tuple[float, str, str]] = {
    'synflow': (0.74, 'cifar10_test_200ep', 'Abdelfattah et al. 2021'),
    'jacob_cov': (0.73, 'cifar10_test_200ep', 'Abdelfattah et al. 2021'),
    'grad_norm': (0.58, 'cifar10_test_200ep', 'Abdelfattah et al. 2021'),
    'snip': (0.58, 'cifar10_test_200ep', 'Abdelfattah et al. 2021'),
    'grasp': (0.48, 'cifar10_test_200ep', 'Abdelfattah et al. 2021'),
    'fisher': (0.36, 'cifar10_test_200ep', 'Abdelfattah et al. 2021'),
    'naswot': (0.74, 'cifar10valid_valid_200ep', 'Mellor et al. 2021'),
    'params': (0.75, 'cifar10_test_200ep', 'parameter count (published reference)'),
}
#: published per-cell scores: our proxy -> column of nb201_proxies.csv. ``jacob_cov`` is compared
#: with the published 'naswot' column too: measured on our sample, that column agrees with our
#: jacob_cov (Spearman 0.96, n=78) far better than with our NASWOT (0.60, n=888), i.e. it holds the
#: first (2020, Jacobian-correlation) version of Mellor et al.'s score, not the Hamming-kernel one.
PUBLISHED_COLUMNS = {'naswot': 'naswot_cifar10', 'jacob_cov': 'naswot_cifar10', 'zen': 'zen_cifar10'}
ENV_PUBLISHED = 'NASVIZ_NB201_PROXIES'


def published_proxies_path() -> Path | None:
    """``$NASVIZ_NB201_PROXIES``, else ``nb201_proxies.csv`` beside ``$NASVIZ_NB201_TABLE``, else None."""
    env = os.environ.get(ENV_PUBLISHED)
    if env:
        return Path(env)
    table = os.environ.get('NASVIZ_NB201_TABLE')
    if table:
        p = Path(table).with_name('nb201_proxies.csv')
        if p.is_file():
            return p
    return None


def validate_proxies(
    table: pd.DataFrame,
    bench: Any,
    proxies: Sequence[str] | None = None,
    truth_column: str = 'cifar10_test_200ep',
    n_resamples: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per proxy: Spearman with the ground truth (the published figure's own ground-truth
    column when it names one, else ``truth_column``) over the cells where the proxy is finite, its
    95% bootstrap CI and n; parameter count's Spearman on the SAME cells; the published value; and
    the proxy's Spearman minus parameter count's, paired over the cells (``minus_params`` with its
    bootstrap CI; ``beats_params`` when that CI lies above zero)."""
    if 'arch_str' not in table.columns:
        raise ValueError('table needs an arch_str column (the output of `nasviz proxies`)')
    proxies = [c for c in table.columns if c not in ('arch_str', 'undefined')] if proxies is None else list(proxies)
    strs = table['arch_str'].tolist()
    params = bench.params_many(strs)
    rows = []
    for p in proxies:
        pub = PUBLISHED_SPEARMAN.get(p)
        col = pub[1] if pub else truth_column
        ds, metric = col.split('_', 1)
        truth = bench.accuracies(strs, ds, metric)
        v = table[p].to_numpy(dtype=float)
        ok = np.isfinite(v) & np.isfinite(truth)
        if ok.sum() < 3:
            continue
        est = spearman_ci(v[ok], truth[ok], n_resamples=n_resamples, random_state=random_state)
        par = spearman_ci(params[ok], truth[ok], n_resamples=n_resamples, random_state=random_state)
        row = dict(
            proxy=p,
            truth=col,
            n=est.n,
            spearman=est.estimate,
            low=est.low,
            high=est.high,
            published=pub[0] if pub else np.nan,
            source=pub[2] if pub else '',
            params_spearman=par.estimate,
            params_low=par.low,
            params_high=par.high,
        )
        if p != 'params':  # paired over the same cells: sharper than comparing the two intervals
            d = paired_difference(
                v[ok], params[ok], truth[ok], metric='spearman', n_resamples=n_resamples, random_state=random_state
            ).diff
            row.update(
                minus_params=d.estimate, minus_params_low=d.low, minus_params_high=d.high, beats_params=bool(d.low > 0)
            )
        else:
            row.update(minus_params=0.0, minus_params_low=np.nan, minus_params_high=np.nan, beats_params=False)
        rows.append(row)
    return pd.DataFrame(rows)


def agreement_with_published(
    table: pd.DataFrame,
    published: pd.DataFrame | str | os.PathLike | None = None,
    columns: Mapping[str, str] = PUBLISHED_COLUMNS,
    n_resamples: int = 1000,
    random_state: int = 0,
    bench: Any = None,
) -> pd.DataFrame:
    """Spearman (95% CI, n) between our per-cell proxy and the published per-cell one; with
    ``bench``, also each one's Spearman with the ground truth of :data:`PUBLISHED_SPEARMAN` (else
    CIFAR-10 test accuracy) on the SAME cells (``ours_vs_truth``, ``published_vs_truth``)."""
    if published is None:
        published = published_proxies_path()
        if published is None:
            raise ValueError(f'no published proxy table: set {ENV_PUBLISHED} to nb201_proxies.csv')
    pub_table = published if isinstance(published, pd.DataFrame) else pd.read_csv(published)
    pub = pub_table.set_index('arch_str')
    rows = []
    for ours, theirs in columns.items():
        if ours not in table.columns or theirs not in pub.columns:
            continue
        a = table[ours].to_numpy(dtype=float)
        b = pub[theirs].reindex(table['arch_str']).to_numpy(dtype=float)
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 3:
            continue
        est = spearman_ci(a[ok], b[ok], n_resamples=n_resamples, random_state=random_state)
        row = dict(proxy=ours, published_column=theirs, n=est.n, spearman=est.estimate, low=est.low, high=est.high)
        if bench is not None:
            col = PUBLISHED_SPEARMAN.get(ours, (None, 'cifar10_test_200ep'))[1]
            ds, metric = col.split('_', 1)
            truth = bench.accuracies(table['arch_str'][ok], ds, metric)
            mine = spearman_ci(a[ok], truth, n_resamples=n_resamples, random_state=random_state)
            theirs_e = spearman_ci(b[ok], truth, n_resamples=n_resamples, random_state=random_state)
            row.update(
                truth=col,
                ours_vs_truth=mine.estimate,
                ours_low=mine.low,
                ours_high=mine.high,
                published_vs_truth=theirs_e.estimate,
                published_low=theirs_e.low,
                published_high=theirs_e.high,
            )
        rows.append(row)
    return pd.DataFrame(rows)
