"""What the offline benchmark subset tables (NAS-Bench-101, NAS-Bench-301) have in common.

Each is a CSV with architecture columns of its own (parsed by the subclass) and the same value
columns: ``val_accuracy`` (CIFAR-10 validation accuracy, %), ``params_m`` and optionally
``flops_m`` (millions). :class:`SubsetTable` finds the file (a path or the table's environment
variable), reads it with errors that name the file, checks the value columns (each error names the
file, the column and the row) and answers the ``Benchmark`` protocol's size lookups; a subclass
parses its architecture columns (:meth:`SubsetTable._parse_archs`) and says which row holds an
architecture (:meth:`SubsetTable._lookup_row`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.bench.nb201 import cell_location, check_column_range, check_percent_column, numeric_column, read_table_csv

#: the columns every subset table may hold besides its architecture columns
VALUE_COLUMNS: tuple[str, ...] = ('val_accuracy', 'params_m', 'flops_m')


class SubsetTable:
    """A benchmark subset table read from a CSV (``path`` defaults to ``$ENV_TABLE``).

    Subclasses set ``BENCH_NAME`` (e.g. ``'NAS-Bench-101'``), ``ENV_TABLE``, ``EXAMPLE`` (where
    the shared file usually lies), ``REQUIRED_COLUMNS`` and implement :meth:`_parse_archs` and
    :meth:`_lookup_row`.
    """

    BENCH_NAME: str = ''
    ENV_TABLE: str = ''
    EXAMPLE: str = ''
    REQUIRED_COLUMNS: tuple[str, ...] = ()
    #: rows repeating an architecture (see :func:`nasviz.bench.nb201.check_repeats`): ``None``
    #: refuses any repeat; a number (percentage points) averages repeats that agree that closely
    REPEAT_TOLERANCE: float | None = None
    #: accuracy columns a lookup may name (``metric=``), and the only dataset the tables hold
    METRICS: tuple[str, ...] = ('val_accuracy',)
    DATASET = 'cifar10'

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path, df = read_table_csv(path, self.ENV_TABLE, self.BENCH_NAME, self.EXAMPLE, self.REQUIRED_COLUMNS)
        self._init_frame(df)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, name: str = '<frame>') -> SubsetTable:
        """Build from a DataFrame with the CSV schema (no file involved)."""
        self = cls.__new__(cls)
        self.path = Path(name)
        self._init_frame(df.reset_index(drop=True))
        return self

    def _init_frame(self, df: pd.DataFrame) -> None:
        src = str(self.path)
        missing = [c for c in self.REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(
                f'{src}: not a {self.BENCH_NAME} table, missing column(s) {missing} (found {list(df.columns)})'
            )
        if len(df) == 0:
            raise ValueError(f'{src}: the table has a header but no rows')
        self._parse_archs(df, src)
        self._values: dict[str, np.ndarray] = {}
        for col in VALUE_COLUMNS:
            if col not in df.columns:
                continue
            v = numeric_column(df, col, src)
            blank = np.isnan(v)
            if blank.any():
                raise ValueError(
                    f'{cell_location(src, col, int(np.flatnonzero(blank)[0]))}: blank cell; '
                    f'{int(blank.sum())} blank cell(s) in the column'
                )
            if col == 'val_accuracy':
                check_percent_column(v, col, src)
            else:
                check_column_range(v, col, src, 0.0, np.inf, 'a count in millions')
            self._values[col] = v
        self._df = df
        self._index()

    # -- what a subclass provides ----------------------------------------------------------------
    def _parse_archs(self, df: pd.DataFrame, src: str) -> None:
        """Parse and check the architecture columns (errors name ``src``, the column and the row)."""
        raise NotImplementedError

    def _index(self) -> None:
        """Build lookup structures once the rows and values are read (optional)."""

    def _lookup_row(self, arch: Any) -> int:
        """The row whose sizes describe ``arch`` (``KeyError`` when the table lacks it)."""
        raise NotImplementedError

    # -- shared lookups -------------------------------------------------------------------------
    def _column(self, dataset: str, metric: str) -> np.ndarray:
        if str(dataset).strip().lower() != self.DATASET:
            raise ValueError(f'unknown dataset {dataset!r}; {self.path.name} holds {self.DATASET!r} only')
        if metric not in self.METRICS:
            raise ValueError(f'unknown metric {metric!r}; {self.path.name} holds {list(self.METRICS)}')
        return self._values[metric]

    def params(self, arch: Any) -> float:
        """Parameters of the benchmark's network of ``arch``, in millions."""
        return float(self._values['params_m'][self._lookup_row(arch)])

    def params_many(self, archs: Iterable[Any]) -> np.ndarray:
        rows = np.fromiter((self._lookup_row(a) for a in archs), dtype=np.int64)
        return self._values['params_m'][rows]

    def flops(self, arch: Any) -> float:
        """FLOPs of the benchmark's network of ``arch``, in millions."""
        if 'flops_m' not in self._values:
            raise ValueError(f'{self.path}: the table has no flops_m column')
        return float(self._values['flops_m'][self._lookup_row(arch)])

    def __contains__(self, arch: Any) -> bool:
        try:
            self._lookup_row(arch)
        except (KeyError, ValueError):
            return False
        return True


def agreement_frame(rows: Iterable[int], arch_strs: list[str], wanted: np.ndarray, built) -> pd.DataFrame:
    """Built parameter counts against a table's: one row per table row with ``row``, ``arch_str``,
    ``params_m`` (table), ``built_m`` (``built(row)``, millions) and ``rel_error``."""
    out = []
    for r in rows:
        b, want = float(built(r)), float(wanted[r])
        out.append(
            {'row': r, 'arch_str': arch_strs[r], 'params_m': want, 'built_m': b, 'rel_error': abs(b - want) / want}
        )
    return pd.DataFrame(out)
