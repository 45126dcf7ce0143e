"""NAS-Bench-301 ground truth for the DARTS space: the offline subset table (``$NASVIZ_DARTS_TABLE``).

The CSV (``nb301_cifar10_subset.csv``, see ``shared/data/nb301/SOURCES.md``) holds one genotype per
row: ``normal`` and ``reduce`` (each 8 ``(op, input)`` pairs in the DARTS format), ``val_accuracy``
(CIFAR-10 validation accuracy, %), ``params_m`` and ``flops_m`` (millions). Every row is checked on
load; each error names the file, the column and the row.

Lookups take a :class:`~nasviz.spaces.darts.DartsArch` or its string; a genotype written with a
node's two pairs swapped (the same function) finds its row through the canonical form.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from nasviz.bench.nb201 import _check_range, _numeric_column, _where
from nasviz.spaces.darts import DartsArch, parse_cell, to_arch
from nasviz.spaces.darts_network import count_parameters
from nasviz.validate import check_input_file, short_repr

#: environment variable naming the NAS-Bench-301 subset table
ENV_TABLE = 'NASVIZ_DARTS_TABLE'
REQUIRED_COLUMNS: tuple[str, ...] = ('normal', 'reduce', 'val_accuracy', 'params_m')
#: accuracy columns a lookup may name (``metric=``), and the only dataset the table holds
METRICS: tuple[str, ...] = ('val_accuracy',)
DATASET = 'cifar10'


class DartsTable:
    """NAS-Bench-301 accuracies and sizes of DARTS genotypes from a CSV (``path`` defaults to
    ``$NASVIZ_DARTS_TABLE``). Follows the ``Benchmark`` protocol of :mod:`nasviz.bench`."""

    space = 'darts'

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        if path is None:
            path = os.environ.get(ENV_TABLE)
            if not path:
                raise ValueError(f'no NAS-Bench-301 table given: pass a path or set {ENV_TABLE} to the CSV file '
                                 '(e.g. .../data/nb301/nb301_cifar10_subset.csv)')
        self.path = check_input_file(path, 'NAS-Bench-301 table', 'NAS-Bench-301 table (CSV)')
        try:
            df = pd.read_csv(self.path)
        except pd.errors.EmptyDataError as err:
            raise ValueError(f'{self.path}: the file is empty, expected a NAS-Bench-301 CSV table with columns '
                             f'{list(REQUIRED_COLUMNS)}') from err
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise ValueError(f'{self.path}: not a readable NAS-Bench-301 CSV table ({err})') from err
        self._init_frame(df)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, name: str = '<frame>') -> 'DartsTable':
        """Build from a DataFrame with the CSV schema (no file involved)."""
        self = cls.__new__(cls)
        self.path = Path(name)
        self._init_frame(df.reset_index(drop=True))
        return self

    def _init_frame(self, df: pd.DataFrame) -> None:
        src = str(self.path)
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f'{src}: not a NAS-Bench-301 table, missing column(s) {missing} '
                             f'(found {list(df.columns)})')
        if len(df) == 0:
            raise ValueError(f'{src}: the table has a header but no rows')
        cells: dict[str, list] = {}
        for col in ('normal', 'reduce'):
            values = df[col]
            out = []
            for r, v in enumerate(values.tolist()):
                if not isinstance(v, str) or not v.strip():
                    raise ValueError(f'{_where(src, col, r)}: blank genotype cell')
                try:
                    out.append(parse_cell(v, f'{col} cell'))
                except ValueError as err:
                    raise ValueError(f'{_where(src, col, r)}: {err}') from None
            cells[col] = out
        self._archs = [DartsArch(n, r) for n, r in zip(cells['normal'], cells['reduce'])]
        self._row: dict[DartsArch, int] = {}
        self._canon: dict[DartsArch, int] = {}
        for i, a in enumerate(self._archs):
            if a in self._row:
                j = self._row[a]
                raise ValueError(f'{src}: genotype in row {i} (line {i + 2}) repeats row {j} (line {j + 2})')
            self._row[a] = i
            c = a.canonical()
            if c in self._canon:
                j = self._canon[c]
                raise ValueError(f'{src}: genotype in row {i} (line {i + 2}) is row {j} (line {j + 2}) with a '
                                 'node\'s two pairs swapped: the same network twice')
            self._canon[c] = i
        self._values: dict[str, np.ndarray] = {}
        for col in ('val_accuracy', 'params_m', 'flops_m'):
            if col not in df.columns:
                continue
            v = _numeric_column(df, col, src)
            blank = np.isnan(v)
            if blank.any():
                raise ValueError(f'{_where(src, col, int(np.flatnonzero(blank)[0]))}: blank cell; '
                                 f'{int(blank.sum())} blank cell(s) in the column')
            if col == 'val_accuracy':
                _check_range(v, col, src, 0.0, 100.0, 'an accuracy in percent')
            else:
                _check_range(v, col, src, 0.0, np.inf, 'a count in millions')
            self._values[col] = v
        self._df = df

    # -- lookups --------------------------------------------------------------------------------
    def _row_of(self, arch: DartsArch | str) -> int:
        a = to_arch(arch)
        row = self._row.get(a)
        if row is None:
            row = self._canon.get(a.canonical())
            if row is None:
                raise KeyError(f'genotype {short_repr(str(a))} is not in the NAS-Bench-301 table {self.path.name}')
        return row

    def _column(self, dataset: str, metric: str) -> np.ndarray:
        if str(dataset).strip().lower() != DATASET:
            raise ValueError(f'unknown dataset {dataset!r}; {self.path.name} holds {DATASET!r} only')
        if metric not in METRICS:
            raise ValueError(f'unknown metric {metric!r}; {self.path.name} holds {list(METRICS)}')
        return self._values[metric]

    def accuracy(self, arch: DartsArch | str, dataset: str = DATASET, metric: str = 'val_accuracy') -> float:
        """CIFAR-10 validation accuracy (%) of one genotype."""
        return float(self._column(dataset, metric)[self._row_of(arch)])

    def accuracies(self, archs: Iterable[DartsArch | str], dataset: str = DATASET,
                   metric: str = 'val_accuracy') -> np.ndarray:
        """Accuracies (%) of many genotypes, in the order given."""
        col = self._column(dataset, metric)
        rows = np.fromiter((self._row_of(a) for a in archs), dtype=np.int64)
        return col[rows]

    def params(self, arch: DartsArch | str) -> float:
        """Parameters of the NAS-Bench-301 network of ``arch``, in millions."""
        return float(self._values['params_m'][self._row_of(arch)])

    def params_many(self, archs: Iterable[DartsArch | str]) -> np.ndarray:
        rows = np.fromiter((self._row_of(a) for a in archs), dtype=np.int64)
        return self._values['params_m'][rows]

    def flops(self, arch: DartsArch | str) -> float:
        """FLOPs of the NAS-Bench-301 network of ``arch``, in millions."""
        if 'flops_m' not in self._values:
            raise ValueError(f'{self.path}: the table has no flops_m column')
        return float(self._values['flops_m'][self._row_of(arch)])

    def archs(self) -> list[DartsArch]:
        """All genotypes, in table order."""
        return list(self._archs)

    def to_frame(self) -> pd.DataFrame:
        """The table plus ``arch`` (:class:`DartsArch`) and ``arch_str`` columns."""
        df = self._df.copy()
        df.insert(0, 'arch', self._archs)
        df.insert(1, 'arch_str', [str(a) for a in self._archs])
        return df

    def __len__(self) -> int:
        return len(self._archs)

    def __contains__(self, arch: Any) -> bool:
        try:
            self._row_of(arch)
        except (KeyError, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f'DartsTable({len(self)} genotypes, file={self.path})'


def param_agreement(table: DartsTable, rows: Iterable[int] | None = None, progress: bool = True,
                    **size: Any) -> pd.DataFrame:
    """Parameters of each genotype's network (default: the NAS-Bench-301 network, C=32, 8 cells)
    against the table's ``params_m``: one row per genotype with ``params_m`` (table), ``built_m``
    (counted on the ``meta`` device) and ``rel_error``. ~0.1 s per genotype."""
    from tqdm.auto import tqdm  # optional progress display, imported only for this long loop

    archs = table.archs()
    rows = range(len(archs)) if rows is None else [int(r) for r in rows]
    out = []
    for r in tqdm(rows, desc='darts params', leave=False, disable=not progress):
        built = count_parameters(archs[r], **size) / 1e6
        want = float(table._values['params_m'][r])
        out.append({'row': r, 'arch_str': str(archs[r]), 'params_m': want, 'built_m': built,
                    'rel_error': abs(built - want) / want})
    return pd.DataFrame(out)
