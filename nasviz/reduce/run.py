"""The work behind ``nasviz reduce``: C-BRED on a space with a proxy table and the NAS-Bench-201
ground truth, compared with same-size baselines."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from nasviz.reduce.cbred import CBRED, REDUCE_DATASETS, compare_selection
from nasviz.validate import check_input_file, short_repr

#: a proxy table (CSV from ``nasviz proxies``) used when none is passed
ENV_PROXIES = 'NASVIZ_PROXIES_TABLE'


def read_proxy_table(path: str | os.PathLike, columns: Sequence[str] = ()) -> pd.DataFrame:
    """A proxy table (``arch_str`` + one numeric column per proxy; ``#`` lines are comments),
    checked: each problem names the file and column."""
    p = check_input_file(path, 'proxies table', 'proxy table (CSV)')
    try:
        df = pd.read_csv(p, comment='#')
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f'{p}: not a readable proxy table ({err})') from err
    if 'arch_str' not in df.columns:
        raise ValueError(f'{p}: no arch_str column (found {list(df.columns)})')
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f'{p}: missing proxy column(s) {missing} (found {list(df.columns)})')
    for c in df.columns:
        if c != 'arch_str':
            num = pd.to_numeric(df[c], errors='coerce')
            bad = num.isna() & df[c].notna()
            if bad.any():
                r = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(f'{p}, column {c!r}, row {r} (line {r + 2}): {short_repr(df[c].iloc[r])} is not a number')
            df[c] = num
    return df


@dataclass
class ReduceResult:
    """A fitted :class:`CBRED`, its comparison table, and what it ran on."""

    model: CBRED
    comparison: pd.DataFrame
    dataset: str
    n_space: int
    n_scored: int

    @property
    def selected(self) -> list[str]:
        return self.model.select()

    def describe(self) -> str:
        c = self.comparison.set_index('method')
        sel, whole = c.loc['C-BRED'], c.loc['whole set']
        return (f'C-BRED on {self.dataset}: {len(self.selected)} of {self.n_space} cells selected '
                f'(cluster {self.model.best_cluster_}); on the {self.n_scored} cells with proxy values the '
                f'selection ({int(sel.n)}) averages {sel["mean"]:.2f}% [{sel.low:.2f}, {sel.high:.2f}] against '
                f'{whole["mean"]:.2f}% for all of them')


def reduce_space(space: Any, bench: Any, proxies: pd.DataFrame, dataset: str = 'cifar100',
                 archs: Sequence[Any] | None = None, **cbred: Any) -> ReduceResult:
    """Fit :class:`CBRED` on ``archs`` (default: every architecture of ``space``), score clusters
    with ``proxies``, compare on ``bench``'s ``<dataset>_test_200ep`` accuracy."""
    if dataset not in REDUCE_DATASETS:
        raise ValueError(f'unknown dataset {short_repr(dataset)}; valid: {", ".join(REDUCE_DATASETS)}')
    archs = list(space.enumerate()) if archs is None else [space.check(a) for a in archs]
    strs = [space.to_str(a) for a in archs]
    params = None
    if hasattr(bench, 'params_many'):
        params = dict(zip(strs, bench.params_many(strs) * 1e6))  # NB201 params_mb = millions
    model = CBRED(**cbred).fit(archs, space, proxies, params=params)
    truth = dict(zip(model.archs_, bench.accuracies(model.archs_, dataset, 'test_200ep')))
    comp = compare_selection(model, truth, proxies, params=params, random_state=model.random_state)
    n_scored = int(proxies['arch_str'].isin(set(model.archs_)).sum())
    return ReduceResult(model, comp, dataset, len(model.archs_), n_scored)


def reduce_cli(a: Any) -> int:
    """``nasviz reduce`` (arguments parsed by :mod:`nasviz.cli`)."""
    from nasviz.bench.nb201 import NB201Table
    from nasviz.proxies import ProxySweep, SweepConfig
    from nasviz.proxies.sweep import get_space
    from nasviz.utils import atomic_write_text

    space = get_space(a.space)
    if a.space != 'nb201':
        raise ValueError(f'--space {a.space}: the reduction needs a benchmark table; only nb201 has one here')
    bench = NB201Table()  # ValueError naming NASVIZ_NB201_TABLE when unset
    path = a.proxies_table or os.environ.get(ENV_PROXIES)
    need = list(dict.fromkeys(list(a.score) + ['naswot']))
    if path:
        proxies = read_proxy_table(path, a.score)
        source = str(path)
    else:
        proxies = ProxySweep(need, SweepConfig(space=a.space), progress=False).run(compute=False)
        proxies = proxies[proxies[list(a.score)].notna().any(axis=1)]
        source = 'the proxy cache (cells swept so far)'
        if proxies.empty:
            raise ValueError(f'no proxy table: pass --proxies-table (from `nasviz proxies --proxy {" ".join(need)} '
                             f'--out TABLE.csv`) or set {ENV_PROXIES}; the cache holds no values yet')
    res = reduce_space(space, bench, proxies, a.dataset, k=a.k, distance=a.distance, encoding=a.encoding,
                       clustering=a.clustering, score=tuple(a.score), quantile=a.quantile,
                       max_params=a.max_params, random_state=a.seed)
    atomic_write_text(a.out, pd.DataFrame({'arch_str': res.selected}).to_csv(index=False))
    print(f'proxies from {source} (computed on CIFAR-10 images); ground truth {bench.path.name}, '
          f'{a.dataset} test accuracy after 200 epochs (%)')
    print(res.describe())
    print(res.comparison.round(3).to_string(index=False))
    print('\nclusters:')
    print(res.model.cluster_table_.round(3).to_string(index=False))
    print(f'wrote {len(res.selected)} architectures to {a.out}')
    return 0
