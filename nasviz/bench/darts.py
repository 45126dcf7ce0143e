"""NAS-Bench-301 ground truth for the DARTS space: the offline subset table (``$NASVIZ_DARTS_TABLE``).

The CSV (``nb301_cifar10_subset.csv``, see ``shared/data/nb301/SOURCES.md``) holds one genotype per
row: ``normal`` and ``reduce`` (each 8 ``(op, input)`` pairs in the DARTS format), ``val_accuracy``
(CIFAR-10 validation accuracy, %), ``params_m`` and ``flops_m`` (millions). Every row is checked on
load; each error names the file, the column and the row.

Lookups take a :class:`~nasviz.spaces.darts.DartsArch` or its string; a genotype written with a
node's two pairs swapped (the same function) finds its row through the canonical form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nasviz.bench.nb201 import cell_location, check_repeats
from nasviz.bench.subset import SubsetTable, agreement_frame
from nasviz.spaces.darts import DartsArch, parse_cell, to_arch
from nasviz.validate import short_repr

#: environment variable naming the NAS-Bench-301 subset table
ENV_TABLE = 'NASVIZ_DARTS_TABLE'
REQUIRED_COLUMNS: tuple[str, ...] = ('normal', 'reduce', 'val_accuracy', 'params_m')
#: accuracy columns a lookup may name (``metric=``), and the only dataset the table holds
METRICS: tuple[str, ...] = ('val_accuracy',)
DATASET = 'cifar10'


class DartsTable(SubsetTable):
    """NAS-Bench-301 accuracies and sizes of DARTS genotypes from a CSV (``path`` defaults to
    ``$NASVIZ_DARTS_TABLE``). Follows the ``Benchmark`` protocol of :mod:`nasviz.bench`."""

    space = 'darts'
    BENCH_NAME = 'NAS-Bench-301'
    ENV_TABLE = ENV_TABLE
    EXAMPLE = '.../data/nb301/nb301_cifar10_subset.csv'
    REQUIRED_COLUMNS = REQUIRED_COLUMNS

    def _parse_archs(self, df: pd.DataFrame, src: str) -> None:
        cells: dict[str, list] = {}
        for col in ('normal', 'reduce'):
            out = []
            for r, v in enumerate(df[col].tolist()):
                if not isinstance(v, str) or not v.strip():
                    raise ValueError(f'{cell_location(src, col, r)}: blank genotype cell')
                try:
                    out.append(parse_cell(v, f'{col} cell'))
                except ValueError as err:
                    raise ValueError(f'{cell_location(src, col, r)}: {err}') from None
            cells[col] = out
        self._archs = [DartsArch(n, r) for n, r in zip(cells['normal'], cells['reduce'])]
        rows_of = check_repeats(src, 'normal', self._archs, tolerance=self.REPEAT_TOLERANCE, what='genotype')
        self._row: dict[DartsArch, int] = {a: rows[0] for a, rows in rows_of.items()}
        self._canon: dict[DartsArch, int] = {}
        for i, a in enumerate(self._archs):
            c = a.canonical()
            if c in self._canon:
                j = self._canon[c]
                raise ValueError(
                    f'{src}: genotype in row {i} (line {i + 2}) is row {j} (line {j + 2}) with a '
                    "node's two pairs swapped: the same network twice"
                )
            self._canon[c] = i

    # -- lookups --------------------------------------------------------------------------------
    def _lookup_row(self, arch: DartsArch | str) -> int:
        a = to_arch(arch)
        row = self._row.get(a)
        if row is None:
            row = self._canon.get(a.canonical())
            if row is None:
                raise KeyError(f'genotype {short_repr(str(a))} is not in the NAS-Bench-301 table {self.path.name}')
        return row

    def accuracy(self, arch: DartsArch | str, dataset: str = DATASET, metric: str = 'val_accuracy') -> float:
        """CIFAR-10 validation accuracy (%) of one genotype."""
        return float(self._column(dataset, metric)[self._lookup_row(arch)])

    def accuracies(
        self, archs: Iterable[DartsArch | str], dataset: str = DATASET, metric: str = 'val_accuracy'
    ) -> np.ndarray:
        """Accuracies (%) of many genotypes, in the order given."""
        col = self._column(dataset, metric)
        rows = np.fromiter((self._lookup_row(a) for a in archs), dtype=np.int64)
        return col[rows]

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

    def __repr__(self) -> str:
        return f'DartsTable({len(self)} genotypes, file={self.path})'


def param_agreement(
    table: DartsTable, rows: Iterable[int] | None = None, progress: bool = True, **size: Any
) -> pd.DataFrame:
    """Parameters of each genotype's network (default: the NAS-Bench-301 network, C=32, 8 cells)
    against the table's ``params_m``: one row per genotype with ``params_m`` (table), ``built_m``
    (counted on the ``meta`` device) and ``rel_error``. ~0.1 s per genotype."""
    # networks are built only for this check: reading the table needs no torch
    from nasviz.spaces.darts_network import count_parameters

    archs = table.archs()
    rows = range(len(archs)) if rows is None else [int(r) for r in rows]
    return agreement_frame(
        tqdm(rows, desc='darts params', leave=False, disable=not progress),
        [str(a) for a in archs],
        table._values['params_m'],
        lambda r: count_parameters(archs[r], **size) / 1e6,
    )
