"""The work behind ``nasviz reduce``: C-BRED on a space with a proxy table and the NAS-Bench-201
ground truth, compared with same-size baselines."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.reduce.cbred import CBRED, REDUCE_DATASETS, compare_selection
from nasviz.validate import check_input_file, short_repr

#: a proxy table (CSV from ``nasviz proxies``) used when none is passed
ENV_PROXIES = 'NASVIZ_PROXIES_TABLE'


def read_proxy_table(path: str | os.PathLike, columns: Sequence[str] = ()) -> pd.DataFrame:
    """A proxy table (``arch_str`` + one numeric column per proxy; ``#`` lines are comments; an
    optional text column ``undefined`` says why values are missing), checked: each problem names
    the file and column."""
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
        if c == 'undefined':
            df[c] = df[c].fillna('').astype(str)
        elif c != 'arch_str':
            num = pd.to_numeric(df[c], errors='coerce')
            bad = num.isna() & df[c].notna()
            if bad.any():
                r = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValueError(
                    f'{p}, column {c!r}, row {r} (line {r + 2}): {short_repr(df[c].iloc[r])} is not a number'
                )
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
        return (
            f'C-BRED on {self.dataset}: {len(self.selected)} of {self.n_space} cells selected '
            f'(cluster {self.model.best_cluster_}); on the {self.n_scored} cells with proxy values the '
            f'selection ({int(sel.n)}) averages {sel["mean"]:.2f}% [{sel.low:.2f}, {sel.high:.2f}] against '
            f'{whole["mean"]:.2f}% for all of them'
        )


def reduce_space(
    space: Any,
    bench: Any,
    proxies: pd.DataFrame,
    dataset: str = 'cifar100',
    archs: Sequence[Any] | None = None,
    **cbred: Any,
) -> ReduceResult:
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
    from nasviz.io import atomic_write_text
    from nasviz.proxies import ProxySweep, SweepConfig
    from nasviz.proxies.sweep import get_space

    space = get_space(a.space)
    if a.space != 'nb201':
        raise ValueError(f'--space {a.space}: the reduction needs a benchmark table; only nb201 has one here')
    bench = NB201Table()  # ValueError naming NASVIZ_NB201_TABLE when unset
    path = a.proxies_table or os.environ.get(ENV_PROXIES)
    need = list(dict.fromkeys(list(a.score) + ['naswot']))
    if not path and SHIPPED_TABLE.is_file():
        path = SHIPPED_TABLE
    if path:
        proxies = read_proxy_table(path, a.score)
        source = str(path)
    else:
        proxies = ProxySweep(need, SweepConfig(space=a.space), progress=False).run(compute=False)
        proxies = proxies[proxies[list(a.score)].notna().any(axis=1)]
        source = 'the proxy cache (cells swept so far)'
        if proxies.empty:
            raise ValueError(
                f'no proxy table: pass --proxies-table (from `nasviz proxies --proxy {" ".join(need)} '
                f'--out TABLE.csv`) or set {ENV_PROXIES}; the cache holds no values yet'
            )
    res = reduce_space(
        space,
        bench,
        proxies,
        a.dataset,
        k=a.k,
        distance=a.distance,
        encoding=a.encoding,
        clustering=a.clustering,
        score=tuple(a.score),
        quantile=a.quantile,
        max_params=a.max_params,
        min_size=a.min_size,
        random_state=a.seed,
    )
    atomic_write_text(a.out, pd.DataFrame({'arch_str': res.selected}).to_csv(index=False))
    print(
        f'proxies from {source} (computed on CIFAR-10 images); ground truth {bench.path.name}, '
        f'{a.dataset} test accuracy after 200 epochs (%)'
    )
    print(res.describe())
    print(res.comparison.round(3).to_string(index=False))
    print('\nclusters:')
    print(res.model.cluster_table_.round(3).to_string(index=False))
    print(f'wrote {len(res.selected)} architectures to {a.out}')
    return 0


#: our own CIFAR-10 proxy values for a seeded uniform sample of NB201 cells, shipped for the tiny
#: notebook run (the header names the command that made them)
SHIPPED_TABLE = Path(__file__).resolve().parents[2] / 'data' / 'nb201_proxies_cifar10.csv'
#: the same for the micro benchmark's cells on the embedded digits (the default, offline study)
SHIPPED_MICRO = Path(__file__).resolve().parents[2] / 'data' / 'microbench_proxies_digits.csv'


@dataclass
class StudyData:
    """What notebook 05 works on: the space, the architectures to cluster, ground truth
    (arch_str -> accuracy %), the proxy table, and a sentence saying where each came from."""

    space: Any
    archs: list
    truth: dict[str, float]
    truth_label: str
    proxies: pd.DataFrame
    params: dict[str, float]
    source: str
    bench: Any = None


def load_study(
    dataset: str = 'cifar100',
    proxies: Sequence[str] = ('params', 'synflow', 'naswot'),
    proxy_table: str | os.PathLike | None = None,
    n_cells: int = 200,
    seed: int = 0,
    progress: bool = False,
) -> StudyData:
    """Ground truth and proxies for the reduction study.

    With the NAS-Bench-201 table (``NASVIZ_NB201_TABLE``): every NB201 cell is clustered, ground
    truth is ``<dataset>_test_200ep``, and proxies come from ``proxy_table``, else the shipped
    table of our own CIFAR-10 values (:data:`SHIPPED_TABLE`), else a sweep of ``n_cells`` sampled
    cells on CIFAR-10. Without it (the embedded default): the micro benchmark's cells
    (``data/microbench_digits.csv``) are the space and its digits accuracy the ground truth, and
    the proxies are those computed on the embedded digits at the micro benchmark's network size
    (C=8, N=1): read from :data:`SHIPPED_MICRO` when it holds them (seed 0), else swept (cached)."""
    from nasviz.bench.nb201 import ENV_TABLE, NB201Table
    from nasviz.proxies import ProxySweep, SweepConfig
    from nasviz.proxies.sweep import get_space

    space = get_space('nb201')
    if os.environ.get(ENV_TABLE):
        if dataset not in REDUCE_DATASETS:
            raise ValueError(f'unknown dataset {short_repr(dataset)}; valid: {", ".join(REDUCE_DATASETS)}')
        bench = NB201Table()
        archs = list(space.enumerate())
        strs = [str(a) for a in archs]
        truth = dict(zip(strs, bench.accuracies(strs, dataset, 'test_200ep')))
        params = dict(zip(strs, bench.params_many(strs) * 1e6))
        path = proxy_table or (SHIPPED_TABLE if SHIPPED_TABLE.is_file() else None)
        if path is not None:
            table = read_proxy_table(path)
            if 'params' not in table.columns:  # the shipped table leaves size to the benchmark's table
                table = table.assign(params=[params[a] for a in table['arch_str']])
            src = (
                f'proxies: {Path(path).name} ({len(table)} cells, computed on CIFAR-10 images'
                + (', shipped with nasviz' if Path(path) == SHIPPED_TABLE else '')
                + ')'
            )
        else:
            pick = np.random.default_rng(seed).choice(len(strs), n_cells, replace=False)
            table = ProxySweep(list(proxies), SweepConfig(), progress=progress).run([strs[i] for i in pick])
            src = f'proxies: swept now on {n_cells} sampled cells, CIFAR-10 images'
        src += f'; ground truth: NAS-Bench-201 {dataset} test accuracy after 200 epochs, all {len(strs):,} cells'
        return StudyData(space, archs, truth, f'{dataset} test accuracy (%)', table, params, src, bench)
    from nasviz.bench.micro import MicroBench

    mb = MicroBench.load()
    archs = list(mb.archs())
    strs = [str(a) for a in archs]
    truth = dict(zip(strs, mb.accuracies(strs)))
    params = dict(zip(strs, mb.params_many(strs)))
    size = dict(C=int(mb.recipe.get('C', 8)), N=int(mb.recipe.get('N', 1)), in_channels=1)
    shipped = read_proxy_table(SHIPPED_MICRO) if SHIPPED_MICRO.is_file() and proxy_table is None else None
    if proxy_table is not None:
        table, how = read_proxy_table(proxy_table), f'read from {Path(proxy_table).name}'
    elif (
        shipped is not None
        and seed == 0
        and set(proxies) <= set(shipped.columns)
        and set(strs) <= set(shipped['arch_str'])
    ):
        table, how = shipped[['arch_str', *proxies]], f'shipped in {SHIPPED_MICRO.name} (seed 0)'
    else:
        cfg = SweepConfig(data='digits', seed=seed, size=tuple(size.items()))
        table, how = ProxySweep(list(proxies), cfg, progress=progress).run(strs), 'swept now (cached)'
    src = (
        f'no NAS-Bench-201 table (NASVIZ_NB201_TABLE unset): the micro benchmark stands in - its {len(strs)} '
        f'cells are the space, their digits test accuracy the ground truth, and the proxies were computed on '
        f"the embedded digits at the micro benchmark's size (C={size['C']}, N={size['N']}; {how})"
    )
    return StudyData(space, archs, truth, 'digits test accuracy (%)', table, params, src, mb)
