"""Ground-truth benchmarks behind one small interface.

* :class:`NB201Table` -- NAS-Bench-201 accuracies from an offline CSV (``$NASVIZ_NB201_TABLE``);
* :class:`NB201Official` -- the official NAS-Bench-201 ``.pth`` file via ``nas_201_api``;
* :class:`MicroBench` -- the project's own small benchmark (CSV with a JSON recipe header).

Each answers ``accuracy(arch, dataset, metric)``, ``accuracies(archs, ...)``, ``params(arch)``,
``archs()``, ``to_frame()`` and ``len()``; :func:`load_benchmark` picks the class from a spec.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from nasviz.bench.darts import DartsTable
from nasviz.bench.micro import MicroBench, is_microbench_file
from nasviz.bench.nb101 import NB101Table
from nasviz.bench.nb201 import ENV_TABLE, NB201Official, NB201Table
from nasviz.profiles import BENCHMARKS
from nasviz.spaces import Architecture
from nasviz.validate import short_repr

__all__ = [
    'Benchmark',
    'NB201Table',
    'NB201Official',
    'MicroBench',
    'load_benchmark',
    'ENV_TABLE',
    'DartsTable',
    'NB101Table',
]


@runtime_checkable
class Benchmark(Protocol):
    """What analysis code may rely on in any ground-truth handle."""

    def accuracy(self, arch: Architecture | str, dataset: str = ..., metric: str = ...) -> float: ...

    def accuracies(self, archs: Iterable[Architecture | str], dataset: str = ..., metric: str = ...) -> np.ndarray: ...

    def params(self, arch: Architecture | str) -> float: ...

    def archs(self) -> list[Architecture]: ...

    def to_frame(self) -> pd.DataFrame: ...

    def __len__(self) -> int: ...


AnyBench = NB201Table | NB201Official | MicroBench | DartsTable | NB101Table


def load_benchmark(spec: str | os.PathLike | AnyBench) -> AnyBench:
    """Open a benchmark from a spec.

    ``'micro'`` -> the default :class:`MicroBench`; ``'nb201'`` -> :class:`NB201Table` from
    ``$NASVIZ_NB201_TABLE``; a ``.pth`` path -> :class:`NB201Official`; a ``.csv`` path ->
    :class:`MicroBench` when it starts with a ``# recipe:`` line, else the table whose
    architecture columns its header holds (:data:`CSV_KINDS`: NB201, NB101 or NB301).
    An already open benchmark is returned as is.
    """
    if isinstance(spec, (NB201Table, NB201Official, MicroBench, DartsTable, NB101Table)):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f'benchmark spec must be a name or a path, got {type(spec).__name__}')
    text = str(spec).strip()
    if text.lower() == 'micro':
        return MicroBench.load()
    if text.lower() == 'nb201':
        return NB201Table()
    if text.lower() == 'darts':
        return DartsTable()  # $NASVIZ_DARTS_TABLE (NAS-Bench-301 subset)
    if text.lower() == 'nb101':
        return NB101Table()  # $NASVIZ_NB101_TABLE (NAS-Bench-101 subset)
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix not in ('.csv', '.pth'):
        names = ', '.join(f'"{b}"' for b in BENCHMARKS)
        raise ValueError(
            f'unknown benchmark spec {short_repr(text)}: expected {names}, '
            'a .csv table (NB201 or MicroBench) or an official NAS-Bench-201 .pth file'
        )
    if not path.is_file():
        raise FileNotFoundError(f'benchmark file not found: {path}')
    if suffix == '.pth':
        return NB201Official(path)
    if is_microbench_file(path):
        return MicroBench.load(path)
    return _table_of_kind(path)(path)


#: the benchmark tables a .csv may hold, told apart by the columns that name their architectures
CSV_KINDS: dict[type, tuple[str, ...]] = {
    NB201Table: ('index', 'arch_str'),
    NB101Table: ('matrix', 'ops'),
    DartsTable: ('normal', 'reduce'),
}


def _table_of_kind(path: Path) -> type:
    """The table class whose architecture columns the header of ``path`` holds; ``ValueError``
    listing the kinds when it holds none of them."""
    try:
        with open(path, encoding='utf-8') as f:
            head = f.readline(100_000)
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f'{path}: not a readable CSV benchmark table ({err})') from None
    columns = {c.strip().strip('"') for c in head.strip().split(',')}
    for cls, need in CSV_KINDS.items():
        if set(need) <= columns:
            return cls
    kinds = '; '.join(f'{cls.__name__}: columns {list(need)}' for cls, need in CSV_KINDS.items())
    raise ValueError(
        f'{path}: which benchmark table is this? Its header holds {short_repr(sorted(columns))}; '
        f'a table is one of {kinds} (or a micro benchmark starting with a "# recipe:" line)'
    )
