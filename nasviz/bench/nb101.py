"""NAS-Bench-101 ground truth: the offline subset table (``$NASVIZ_NB101_TABLE``).

The CSV (``nb101_cifar10_subset.csv``, see ``shared/data/nb101/SOURCES.md``) holds one cell per
row: ``matrix`` (the 7x7 adjacency matrix as JSON rows, stored *before* pruning: it may hold dead
nodes and up to 16 edges), ``ops`` (7 node labels, comma separated), ``val_accuracy`` (CIFAR-10
validation accuracy, %), ``params_m`` and optionally ``flops_m`` (millions). Every row is checked
on load (each error names the file, the column and the row) and its cell pruned.

The table repeats cells: several rows can hold the same cell up to isomorphism (the benchmark's
notion of one cell; the shared subset's 500 rows hold 292 cells, 55 rows are the bare
input -> output cell), with the accuracy of one of the benchmark's training runs each. A
:class:`NB101Table` therefore speaks of *cells*: :meth:`~NB101Table.archs` lists each once (its
first row's form), :meth:`~NB101Table.accuracy` is the mean over the cell's rows (repeats must agree within
:attr:`~NB101Table.REPEAT_TOLERANCE`, 5 percentage points; a conflicting repeat is refused), and
:meth:`~NB101Table.rows_frame` keeps every row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nasviz.bench.nb201 import cell_location, check_repeats
from nasviz.bench.subset import SubsetTable, agreement_frame
from nasviz.spaces import get_space
from nasviz.spaces.nb101 import NB101Arch, canonical, to_arch
from nasviz.validate import parse_json, short_repr

#: environment variable naming the NAS-Bench-101 subset table
ENV_TABLE = 'NASVIZ_NB101_TABLE'
REQUIRED_COLUMNS: tuple[str, ...] = ('matrix', 'ops', 'val_accuracy', 'params_m')
#: accuracy columns a lookup may name (``metric=``), and the only dataset the table holds
METRICS: tuple[str, ...] = ('val_accuracy',)
DATASET = 'cifar10'


class NB101Table(SubsetTable):
    """NAS-Bench-101 accuracies and sizes of cells from a CSV (``path`` defaults to
    ``$NASVIZ_NB101_TABLE``). Follows the ``Benchmark`` protocol of :mod:`nasviz.bench`."""

    space = 'nb101'
    BENCH_NAME = 'NAS-Bench-101'
    ENV_TABLE = ENV_TABLE
    EXAMPLE = '.../data/nb101/nb101_cifar10_subset.csv'
    REQUIRED_COLUMNS = REQUIRED_COLUMNS
    #: the table repeats cells (one row per training run of the benchmark): repeats are averaged
    #: when their accuracies lie within this many percentage points (the shared subset's spread
    #: at most 1.4), and refused when they conflict
    REPEAT_TOLERANCE = 5.0

    def _parse_archs(self, df: pd.DataFrame, src: str) -> None:
        archs = []
        for r, (mat, ops) in enumerate(zip(df['matrix'].tolist(), df['ops'].tolist())):
            if not isinstance(mat, str) or not mat.strip():
                raise ValueError(f'{cell_location(src, "matrix", r)}: blank matrix cell')
            if not isinstance(ops, str) or not ops.strip():
                raise ValueError(f'{cell_location(src, "ops", r)}: blank ops cell')
            rows = parse_json(mat, f'{cell_location(src, "matrix", r)}: matrix')
            try:
                archs.append(NB101Arch(rows, ops))
            except ValueError as err:
                col = 'ops' if str(err).startswith('ops') else 'matrix'
                raise ValueError(f'{cell_location(src, col, r)}: {err}') from None
        self._row_archs = archs
        self._row_keys = [canonical(a) for a in archs]

    def _index(self) -> None:
        # cells: one per isomorphism class, in order of first appearance
        self._rows_of_key: dict[str, list[int]] = check_repeats(
            str(self.path),
            'matrix',
            self._row_keys,
            self._values['val_accuracy'],
            'val_accuracy',
            self.REPEAT_TOLERANCE,
            what='cell',
        )
        self._keys = list(self._rows_of_key)
        self._exact_row: dict[Any, int] = {}
        for r, a in enumerate(self._row_archs):
            self._exact_row.setdefault(a, r)

    # -- lookups --------------------------------------------------------------------------------
    def _key(self, arch: NB101Arch | str) -> str:
        k = canonical(to_arch(arch))
        if k not in self._rows_of_key:
            raise KeyError(f'cell {short_repr(str(to_arch(arch)))} is not in the NAS-Bench-101 table {self.path.name}')
        return k

    def accuracy(self, arch: NB101Arch | str, dataset: str = DATASET, metric: str = 'val_accuracy') -> float:
        """CIFAR-10 validation accuracy (%) of one cell: the mean over its rows."""
        return float(self._column(dataset, metric)[self._rows_of_key[self._key(arch)]].mean())

    def accuracies(
        self, archs: Iterable[NB101Arch | str], dataset: str = DATASET, metric: str = 'val_accuracy'
    ) -> np.ndarray:
        """Accuracies (%) of many cells, in the order given."""
        col = self._column(dataset, metric)
        return np.array([col[self._rows_of_key[self._key(a)]].mean() for a in archs], dtype=np.float64)

    def _lookup_row(self, arch: NB101Arch | str) -> int:
        """The row of ``arch`` in exactly this numbering, else the first row of its cell (the
        benchmark's channel rule gives isomorphic numberings up to ~1% different sizes)."""
        a = to_arch(arch)
        row = self._exact_row.get(a)
        return row if row is not None else self._rows_of_key[self._key(a)][0]

    def archs(self) -> list[NB101Arch]:
        """Every distinct cell once (the form of its first row), in order of first appearance."""
        return [self._row_archs[self._rows_of_key[k][0]] for k in self._keys]

    def rows_of(self, arch: NB101Arch | str) -> list[int]:
        """Table rows (0-based data rows) holding ``arch`` up to isomorphism."""
        return list(self._rows_of_key[self._key(arch)])

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: ``arch``, ``arch_str``, ``key`` (canonical), ``n_rows``, mean
        ``val_accuracy`` (and ``val_accuracy_std`` over its rows), ``params_m``, ``flops_m``."""
        out = []
        for k in self._keys:
            rows = self._rows_of_key[k]
            a = self._row_archs[rows[0]]
            acc = self._values['val_accuracy'][rows]
            rec = {
                'arch': a,
                'arch_str': str(a),
                'key': k,
                'n_rows': len(rows),
                'val_accuracy': float(acc.mean()),
                'val_accuracy_std': float(acc.std(ddof=1)) if len(rows) > 1 else np.nan,
                'params_m': float(self._values['params_m'][rows[0]]),
            }
            if 'flops_m' in self._values:
                rec['flops_m'] = float(self._values['flops_m'][rows[0]])
            out.append(rec)
        return pd.DataFrame(out)

    def rows_frame(self) -> pd.DataFrame:
        """Every table row plus ``arch`` (pruned :class:`NB101Arch`), ``arch_str`` and ``key``."""
        df = self._df.copy()
        df.insert(0, 'arch', self._row_archs)
        df.insert(1, 'arch_str', [str(a) for a in self._row_archs])
        df.insert(2, 'key', self._row_keys)
        return df

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f'NB101Table({len(self)} cells in {len(self._row_archs)} rows, file={self.path})'


def param_agreement(
    table: NB101Table, rows: Iterable[int] | None = None, progress: bool = True, **size: Any
) -> pd.DataFrame:
    """Parameters of each row's network (default: the benchmark's, stem 128, 3 stacks of 3 cells,
    exact widths) against the table's ``params_m``: one row per table row with ``params_m``,
    ``built_m`` (built on the ``meta`` device: no weights allocated) and ``rel_error``."""
    import torch  # networks are built only for this check: reading the table needs no torch

    space = get_space('nb101')
    archs = table._row_archs
    rows = range(len(archs)) if rows is None else [int(r) for r in rows]

    def built(r: int) -> float:
        with torch.device('meta'):
            net = space.build_network(archs[r], **size)
        return sum(p.numel() for p in net.parameters()) / 1e6

    return agreement_frame(
        tqdm(rows, desc='nb101 params', leave=False, disable=not progress),
        [str(a) for a in archs],
        table._values['params_m'],
        built,
    )
