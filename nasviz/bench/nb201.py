"""NAS-Bench-201 ground truth: an offline CSV table and the official ``.pth`` benchmark file.

Over 500 lines on purpose: the two handles must answer the same questions with the same names,
and keeping them side by side (with the column checks both use) is what keeps them equal.

Both handles answer the same questions (``accuracy``, ``accuracies``, ``index_of``, ``archs``,
``params``, ``to_frame``, ``len``) with the same dataset and metric names, so analysis code can
take either. Names follow the CSV columns ``<dataset>_<metric>``:

========================  =====================================================
dataset                   aliases
========================  =====================================================
``cifar10``               (train+valid split, test set)
``cifar10valid``          ``cifar10-valid`` (train split, validation set)
``cifar100``
``imagenet16``            ``ImageNet16-120``, ``imagenet16-120``
========================  =====================================================

and metrics such as ``test_200ep``, ``valid_200ep``, ``test_12ep``, ``valid_12ep`` (whichever the
table holds). ``cifar10``/``test_200ep`` reads column ``cifar10_test_200ep``; ``cifar10-valid``/
``valid_200ep`` reads ``cifar10valid_valid_200ep``.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.spaces.nb201 import OPS, Arch, to_arch
from nasviz.validate import check_input_file, short_repr

#: environment variable naming the offline NB201 table
ENV_TABLE = 'NASVIZ_NB201_TABLE'

#: alias (lower case) -> canonical dataset prefix used in column names
DATASET_ALIASES: dict[str, str] = {
    'cifar10': 'cifar10',
    'cifar10valid': 'cifar10valid',
    'cifar10-valid': 'cifar10valid',
    'cifar10_valid': 'cifar10valid',
    'cifar100': 'cifar100',
    'imagenet16': 'imagenet16',
    'imagenet16-120': 'imagenet16',
    'imagenet16_120': 'imagenet16',
}
#: canonical dataset prefix -> dataset name in the official API
_API_DATASET = {
    'cifar10': 'cifar10',
    'cifar10valid': 'cifar10-valid',
    'cifar100': 'cifar100',
    'imagenet16': 'ImageNet16-120',
}
#: columns every NB201 table must have; the default lookup (cifar10/test_200ep) must work
REQUIRED_COLUMNS: tuple[str, ...] = ('index', 'arch_str', 'cifar10_test_200ep')
_NON_METRIC = {'index', 'arch_str', 'params_mb'}
#: the official cell string, matched over a whole column at once (each failure is parsed again
#: by Arch.from_str for its precise message)
_ARCH_RE = '\\|{o}~0\\|\\+\\|{o}~0\\|{o}~1\\|\\+\\|{o}~0\\|{o}~1\\|{o}~2\\|'.format(o='(?:' + '|'.join(OPS) + ')')


def cell_location(source: str, column: str, row: int) -> str:
    """``file, column 'c', row r (line l)``: rows count data rows from 0, lines count the file's
    lines from 1 with the header on line 1."""
    return f'{source}, column {column!r}, row {row} (line {row + 2})'


def numeric_column(df: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A column as float64, or ``ValueError`` naming the first cell that is not a number
    (a percent sign, a word); blank cells become NaN."""
    col = df[column]
    if pd.api.types.is_bool_dtype(col):
        raise ValueError(f'{source}, column {column!r}: holds booleans, expected numbers')
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=np.float64)
    num = pd.to_numeric(col, errors='coerce')
    bad = num.isna() & col.notna() & (col.astype(str).str.strip() != '')
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        val = col.iloc[r]
        hint = ' (write numbers without a percent sign)' if '%' in str(val) else ''
        raise ValueError(
            f'{cell_location(source, column, r)}: {short_repr(val)} is not a number{hint}; '
            f'{int(bad.sum())} such cell(s) in the column'
        )
    return num.to_numpy(dtype=np.float64)


def check_column_range(values: np.ndarray, column: str, source: str, low: float, high: float, what: str) -> None:
    """``ValueError`` naming the first cell of ``column`` outside ``[low, high]`` (``what`` says what the
    column holds) and how many such cells there are; NaN cells pass."""
    bad = (values < low) | (values > high)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f'{cell_location(source, column, r)}: {values[r]!r} is outside [{low:g}, {high:g}] '
            f'({what}); {int(bad.sum())} such cell(s) in the column'
        )


def check_percent_column(values: np.ndarray, column: str, source: str) -> None:
    """An accuracy column in percent: every value in [0, 100], and not a column of fractions
    (every value <= 1, as in 0.73-0.95: read as percent they would all be near 0)."""
    check_column_range(values, column, source, 0.0, 100.0, 'an accuracy in percent')
    finite = values[np.isfinite(values)]
    if len(finite) and finite.max() <= 1.0:
        raise ValueError(
            f'{source}, column {column!r}: every accuracy lies in [{finite.min():g}, {finite.max():g}]: '
            'fractions, not percent; multiply the column by 100 (the table holds accuracies in %)'
        )


def check_repeats(
    source: str,
    key_column: str,
    keys: Sequence,
    values: np.ndarray | None = None,
    value_column: str = '',
    tolerance: float | None = None,
    what: str = 'architecture',
) -> dict:
    """The one rule every benchmark reader applies to rows that repeat an architecture (``keys``,
    read from ``key_column``). With ``tolerance=None`` the benchmark holds one row per
    architecture and any repeat is refused. Otherwise repeats are the benchmark's repeated
    training runs: kept (the reader averages them) while their ``values`` (``value_column``)
    lie within ``tolerance`` of each other, refused when they conflict. Each ``ValueError``
    names the file, both rows and lines, and both values. Returns ``{key: [rows]}`` in order of
    first appearance."""
    rows_of: dict = {}
    for r, k in enumerate(keys):
        rows = rows_of.setdefault(k, [])
        rows.append(r)
        if len(rows) == 2 and tolerance is None:
            a = rows[0]
            raise ValueError(
                f'{source}, column {key_column!r}: the {what} in row {r} (line {r + 2}) repeats row {a} '
                f'(line {a + 2}): {short_repr(str(k))} appears twice (rows {a} and {r}); this '
                f'benchmark holds one row per {what}'
            )
    if tolerance is None or values is None:
        return rows_of
    for rows in rows_of.values():
        if len(rows) < 2:
            continue
        v = values[rows]
        lo, hi = rows[int(np.argmin(v))], rows[int(np.argmax(v))]
        if values[hi] - values[lo] > tolerance:
            a, b = sorted((lo, hi))
            raise ValueError(
                f'{source}, column {value_column!r}: rows {a} and {b} (lines {a + 2} and {b + 2}) hold '
                f'the same {what} with conflicting values {values[a]:g} and {values[b]:g}; repeated '
                f'rows are averaged only within {tolerance:g} percentage points'
            )
    return rows_of


def _is_accuracy(column: str) -> bool:
    metric = column.split('_', 1)[1] if '_' in column else ''
    return any(w in metric for w in ('test', 'valid', 'train', 'acc'))


def normalize_dataset(dataset: str) -> str:
    """Canonical column prefix of a dataset name (``'ImageNet16-120'`` -> ``'imagenet16'``)."""
    key = str(dataset).strip().lower()
    if key not in DATASET_ALIASES:
        raise ValueError(
            f'unknown NAS-Bench-201 dataset {dataset!r}; known: '
            f'{sorted(set(DATASET_ALIASES.values()))} (aliases: cifar10-valid, ImageNet16-120)'
        )
    return DATASET_ALIASES[key]


def _arch_key(arch: Arch | str) -> str:
    return str(arch) if isinstance(arch, Arch) else str(arch).strip()


def _check_dataset_metric(avail: dict[str, list[str]], dataset: str, metric: str, source: str) -> tuple[str, str]:
    """Normalised ``(dataset, metric)``, or ``ValueError`` listing what ``source`` holds."""
    try:
        ds = normalize_dataset(dataset)
    except ValueError:
        raise ValueError(
            f'unknown dataset {dataset!r}; {source} has {sorted(avail)} (aliases: cifar10-valid, ImageNet16-120)'
        ) from None
    if ds not in avail:
        raise ValueError(f'dataset {dataset!r} is not in {source}; available: {sorted(avail)}')
    if metric not in avail[ds]:
        raise ValueError(f'unknown metric {metric!r} for dataset {dataset!r}; available: {avail[ds]}')
    return ds, metric


#: the NAS-Bench-201 benchmark's size: one row per cell in its complete table
NB201_ROWS = 15625
#: rows of the shared tables, by file name (a copy of another length was cut or edited)
KNOWN_ROWS: dict[str, int] = {
    'nb201_accuracy.csv': NB201_ROWS,
    'nb201_published_supernets.csv': NB201_ROWS,
    'nb201_proxies.csv': NB201_ROWS,
    'nb101_cifar10_subset.csv': 500,
    'nb301_cifar10_subset.csv': 725,
}


def check_complete(path: Path, n_rows: int, bench_name: str, max_rows: int | None = None) -> None:
    """``ValueError`` when a table file looks cut: its last line lacks the newline every line
    ends with (a copy stopped mid-line), a shared table (:data:`KNOWN_ROWS`) holds another number
    of rows, or the table holds more rows than its benchmark has cells (``max_rows``)."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(size - 1, 0))
            last = f.read(1)
    except OSError:
        return
    if size and last not in (b'\n', b'\r'):
        raise ValueError(
            f'{path}: the last line (line {n_rows + 1}) does not end with a newline: the file looks '
            f'cut off in the middle of a row (an interrupted copy?); if it is complete, end it with '
            f'a newline'
        )
    want = KNOWN_ROWS.get(path.name)
    if want is not None and n_rows != want:
        raise ValueError(
            f'{path}: the shared {bench_name} table {path.name} holds {want:,} rows, this copy '
            f'{n_rows:,}: cut or edited? (a subset of your own needs another file name)'
        )
    if max_rows is not None and n_rows > max_rows:
        raise ValueError(f'{path}: {n_rows:,} rows, but {bench_name} has {max_rows:,} cells')


def read_table_csv(
    path: str | os.PathLike | None,
    env: str,
    bench_name: str,
    example: str,
    columns: Sequence[str],
    max_rows: int | None = None,
) -> tuple[Path, pd.DataFrame]:
    """``(path, frame)`` of a benchmark table CSV: ``path``, else ``$env``; errors name the file and
    say what was expected (``bench_name`` e.g. ``'NAS-Bench-201'``, ``columns`` the required ones).
    A file that looks cut (see :func:`check_complete`) is refused."""
    what = f'{bench_name} table'
    if path is None:
        path = os.environ.get(env)
        if not path:
            raise ValueError(f'no {what} given: pass a path or set {env} to the CSV file (e.g. {example})')
    path = check_input_file(path, what, f'{what} (CSV)')
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError as err:
        raise ValueError(
            f'{path}: the file is empty, expected a {bench_name} CSV table with columns {list(columns)}'
        ) from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f'{path}: not a readable {bench_name} CSV table ({short_repr(str(err), 300)})') from err
    check_complete(path, len(df), bench_name, max_rows)
    return path, df


class NB201Table:
    """NAS-Bench-201 accuracies from a CSV (schema of ``nb201_accuracy.csv``).

    ``path`` defaults to ``$NASVIZ_NB201_TABLE``. Rows are keyed by the official arch string, so
    every lookup is one dict access; accuracy columns are held as NumPy arrays.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path, df = read_table_csv(
            path, ENV_TABLE, 'NAS-Bench-201', '.../data/nb201/nb201_accuracy.csv', REQUIRED_COLUMNS, max_rows=NB201_ROWS
        )
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(
                f'{self.path}: not a NAS-Bench-201 table, missing column(s) {missing} (found {list(df.columns)})'
            )
        self._init_frame(df)

    # construction from a frame is handy for tests and for derived tables
    @classmethod
    def from_frame(cls, df: pd.DataFrame, name: str = '<frame>') -> NB201Table:
        """Build from a DataFrame with the CSV schema (no file involved)."""
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f'{name}: not a NAS-Bench-201 table, missing column(s) {missing}')
        self = cls.__new__(cls)
        self.path = Path(name)
        self._init_frame(df.reset_index(drop=True))
        return self

    def _init_frame(self, df: pd.DataFrame) -> None:
        """Check every row before trusting the table: each failure names the file, the column
        and the row (0-based data row and its line in the file)."""
        src = str(self.path)
        if len(df) == 0:
            raise ValueError(f'{src}: the table has a header but no rows')
        self._df = df
        self._index = self._check_index(df, src)
        arch_col = df['arch_str']
        blank = arch_col.isna() | (arch_col.astype(str).str.strip() == '')
        if blank.any():
            raise ValueError(
                f'{cell_location(src, "arch_str", int(np.flatnonzero(blank.to_numpy())[0]))}: blank arch string'
            )
        arch_strs = arch_col.astype(str).str.strip().tolist()
        bad = ~pd.Series(arch_strs).str.fullmatch(_ARCH_RE)
        if bad.any():
            r = int(np.flatnonzero(bad.to_numpy())[0])
            try:
                Arch.from_str(arch_strs[r])
                why = 'not in the canonical form'
            except ValueError as err:
                why = str(err)
            raise ValueError(f'{cell_location(src, "arch_str", r)}: {why}')
        self._row: dict[str, int] = {s: rows[0] for s, rows in check_repeats(src, 'arch_str', arch_strs).items()}
        self._arch_strs = arch_strs
        self._row_of_index = {int(ix): i for i, ix in enumerate(self._index)}
        known = set(DATASET_ALIASES.values())
        self._metric_cols = [
            c
            for c in df.columns
            if isinstance(c, str) and c not in _NON_METRIC and '_' in c and c.split('_', 1)[0] in known
        ]
        self._values = {}
        for c in self._metric_cols:
            v = numeric_column(df, c, src)
            if _is_accuracy(c):
                check_percent_column(v, c, src)
            self._values[c] = v
        if 'params_mb' in df.columns:
            v = numeric_column(df, 'params_mb', src)
            check_column_range(v, 'params_mb', src, 0.0, np.inf, 'a parameter count in MB')
            self._values['params_mb'] = v
        if np.isnan(self._values['cifar10_test_200ep']).all():
            raise ValueError(f"{src}, column 'cifar10_test_200ep': every cell is blank")
        self._archs: list[Arch] | None = None  # parsed lazily: 15,625 parses cost ~0.1 s

    @staticmethod
    def _check_index(df: pd.DataFrame, src: str) -> np.ndarray:
        """The ``index`` column as int64: no blank, non-integer, negative or repeated value."""
        col = df['index']
        blank = col.isna() | (col.astype(str).str.strip() == '')
        if blank.any():
            r = int(np.flatnonzero(blank.to_numpy())[0])
            raise ValueError(
                f'{cell_location(src, "index", r)}: blank index; {int(blank.sum())} blank cell(s) in the column'
            )
        num = pd.to_numeric(col, errors='coerce') if not pd.api.types.is_bool_dtype(col) else col.where(False)
        vals = num.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(vals) | (vals != np.round(vals)) | (vals < 0)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f'{cell_location(src, "index", r)}: {short_repr(col.iloc[r])} is not a non-negative '
                f'integer official index'
            )
        idx = vals.astype(np.int64)
        seen: dict[int, int] = {}
        for r, ix in enumerate(idx.tolist()):
            if ix in seen:
                raise ValueError(
                    f"{src}, column 'index': index {ix} appears twice (rows {seen[ix]} and {r}, "
                    f'lines {seen[ix] + 2} and {r + 2})'
                )
            seen[ix] = r
        return idx

    # -- names ----------------------------------------------------------------------------
    def available(self) -> dict[str, list[str]]:
        """Dataset -> metrics held by this table."""
        out: dict[str, list[str]] = {}
        for c in self._metric_cols:
            ds, metric = c.split('_', 1)
            out.setdefault(ds, []).append(metric)
        return out

    def column(self, dataset: str = 'cifar10', metric: str = 'test_200ep') -> str:
        """CSV column holding ``metric`` on ``dataset``; ``ValueError`` listing what exists."""
        return '{}_{}'.format(*_check_dataset_metric(self.available(), dataset, metric, self.path.name))

    # -- lookups --------------------------------------------------------------------------
    def _row_of(self, arch: Arch | str) -> int:
        key = _arch_key(arch)
        row = self._row.get(key)
        if row is None:
            # a valid but oddly written string (spaces, ...) normalises through Arch
            row = self._row.get(str(to_arch(arch)))
            if row is None:
                raise KeyError(f'arch {key!r} is not in the NAS-Bench-201 table {self.path.name}')
        return row

    def accuracy(self, arch: Arch | str, dataset: str = 'cifar10', metric: str = 'test_200ep') -> float:
        """Accuracy (%) of one cell."""
        return float(self._values[self.column(dataset, metric)][self._row_of(arch)])

    def accuracies(
        self, archs: Iterable[Arch | str], dataset: str = 'cifar10', metric: str = 'test_200ep'
    ) -> np.ndarray:
        """Accuracies (%) of many cells, in the order given."""
        col = self._values[self.column(dataset, metric)]
        rows = np.fromiter((self._row_of(a) for a in archs), dtype=np.int64)
        return col[rows]

    def params(self, arch: Arch | str) -> float:
        """Parameters of the CIFAR-10 network, MB."""
        if 'params_mb' not in self._values:
            raise ValueError(f'{self.path}: the table has no params_mb column')
        return float(self._values['params_mb'][self._row_of(arch)])

    def params_many(self, archs: Iterable[Arch | str]) -> np.ndarray:
        """Vectorised :meth:`params`."""
        if 'params_mb' not in self._values:
            raise ValueError(f'{self.path}: the table has no params_mb column')
        rows = np.fromiter((self._row_of(a) for a in archs), dtype=np.int64)
        return self._values['params_mb'][rows]

    def index_of(self, arch: Arch | str) -> int:
        """Official NAS-Bench-201 index of a cell."""
        return int(self._index[self._row_of(arch)])

    def arch(self, index: int) -> Arch:
        """Cell with official index ``index``."""
        row = self._row_of_index.get(int(index))
        if row is None:
            raise KeyError(f'official index {index} is not in {self.path.name}')
        return Arch.from_str(self._arch_strs[row])

    def archs(self) -> list[Arch]:
        """All cells, in table (official index) order."""
        if self._archs is None:
            self._archs = [Arch.from_str(s) for s in self._arch_strs]
        return list(self._archs)

    def to_frame(self) -> pd.DataFrame:
        """The table plus an ``arch`` column of :class:`Arch` values."""
        df = self._df.copy()
        df.insert(2, 'arch', self.archs())
        return df

    def __len__(self) -> int:
        return len(self._arch_strs)

    def __contains__(self, arch: object) -> bool:
        try:
            self._row_of(arch)  # type: ignore[arg-type]
        except (KeyError, ValueError):
            return False
        return True

    @property
    def is_subset(self) -> bool:
        """True when the table holds fewer than the benchmark's 15,625 cells."""
        return len(self) < NB201_ROWS

    def __repr__(self) -> str:
        part = f" of the benchmark's {NB201_ROWS:,}: a subset" if self.is_subset else ''
        return f'NB201Table({len(self)} cells{part}, file={self.path})'


# ---------------------------------------------------------------------------------------------
# The official benchmark file
# ---------------------------------------------------------------------------------------------
_OFFICIAL_METRICS = {  # metric -> (key in get_more_info, hp)
    'test_200ep': ('test-accuracy', '200'),
    'valid_200ep': ('valid-accuracy', '200'),
    'test_12ep': ('test-accuracy', '12'),
    'valid_12ep': ('valid-accuracy', '12'),
}


class NB201Official:
    """The official NAS-Bench-201 ``.pth`` file, read through ``nas_201_api.NASBench201API``.

    Accuracies are the mean over the trained seeds at the last epoch (``is_random=False``).
    Torch >= 2.6 loads files with ``weights_only=True``, which refuses pickled objects outside a
    small allowlist; a file that needs more is only unpickled fully with ``trust_pickle=True``
    (never for a file from an untrusted source: unpickling can run code).
    """

    def __init__(self, path: str | os.PathLike, trust_pickle: bool = False) -> None:
        from nas_201_api import NASBench201API

        self.path = check_input_file(
            path, 'NAS-Bench-201 benchmark file', 'NAS-Bench-201 .pth file (e.g. NAS-Bench-201-v1_1-096897.pth)'
        )
        if self.path.stat().st_size == 0:
            raise ValueError(f'{self.path}: the file is empty, not a NAS-Bench-201 benchmark file')
        try:
            # a path, not a dict: the API deep-copies a dict, which doubles memory on the 4 GB file
            self.api = NASBench201API(str(self.path), verbose=False)
        except pickle.UnpicklingError as err:
            if 'weights only' not in str(err).lower():
                raise ValueError(f'{self.path}: cannot read as a NAS-Bench-201 benchmark file ({err})') from err
            if not trust_pickle:
                # torch's message is long and styled; the refused global is the useful part
                why = [ln.strip() for ln in str(err).splitlines() if 'Unsupported global' in ln]
                raise ValueError(
                    f'{self.path}: torch refused to unpickle the file with weights_only=True'
                    f'{" (" + why[0] + ")" if why else ""}; pass trust_pickle=True if you '
                    'trust its source'
                ) from err
            import torch

            data = torch.load(self.path, map_location='cpu', weights_only=False)
            self.api = self._api_from_dict(NASBench201API, data)
        except AssertionError as err:  # the API validates its input with asserts
            raise ValueError(f'{self.path}: not a NAS-Bench-201 benchmark file ({err})') from err
        except (
            RuntimeError,
            KeyError,
            EOFError,
            TypeError,
            AttributeError,
            IndexError,
            ImportError,
            OverflowError,
            UnicodeDecodeError,
            zipfile.BadZipFile,
        ) as err:
            # a corrupt or foreign file fails inside torch.load or the API in many ways
            raise ValueError(
                f'{self.path}: cannot read as a NAS-Bench-201 benchmark file ({type(err).__name__}: {err})'
            ) from err
        self._cache: dict[tuple[str, str, str], float] = {}
        self._available: dict[str, list[str]] | None = None

    @staticmethod
    def _api_from_dict(api_cls, data):  # noqa: ANN001, ANN205
        if not isinstance(data, dict):
            raise ValueError(f'not a NAS-Bench-201 benchmark: top level is {type(data).__name__}')
        try:
            return api_cls(data, verbose=False)
        except AssertionError as err:
            raise ValueError(f'not a NAS-Bench-201 benchmark file ({err})') from err

    # -- names ----------------------------------------------------------------------------
    def available(self) -> dict[str, list[str]]:
        """Dataset -> metrics, judged from the first evaluated cell."""
        if self._available is None:
            self._available = self._scan_available()
        return {k: list(v) for k, v in self._available.items()}

    def _scan_available(self) -> dict[str, list[str]]:
        if not self.api.evaluated_indexes:
            return {}
        first = self.api.arch2infos_dict[self.api.evaluated_indexes[0]]
        out: dict[str, list[str]] = {}
        for ds, api_ds in _API_DATASET.items():
            for metric, (key, hp) in _OFFICIAL_METRICS.items():
                res = first.get(hp)
                if res is None or api_ds not in res.get_dataset_names():
                    continue
                # the eval set get_more_info reads for this key (see nas_201_api.api_201)
                if key == 'valid-accuracy':
                    eval_set = 'x-valid'
                else:
                    eval_set = 'ori-test' if ds in ('cifar10', 'cifar10valid') else 'x-test'
                seeds = res.get_dataset_seeds(api_ds)
                if seeds and eval_set in res.query(api_ds, seeds[0]).get_eval_set():
                    out.setdefault(ds, []).append(metric)
        return out

    def _resolve(self, dataset: str, metric: str) -> tuple[str, str, str]:
        ds, _ = _check_dataset_metric(self.available(), dataset, metric, self.path.name)
        key, hp = _OFFICIAL_METRICS[metric]
        return _API_DATASET[ds], key, hp

    # -- lookups --------------------------------------------------------------------------
    def index_of(self, arch: Arch | str) -> int:
        """Official index of a cell (``KeyError`` when the file does not hold it)."""
        key = _arch_key(arch)
        idx = self.api.archstr2index.get(key)
        if idx is None:
            idx = self.api.archstr2index.get(str(to_arch(arch)))
            if idx is None:
                raise KeyError(f'arch {key!r} is not in {self.path.name}')
        return int(idx)

    def arch(self, index: int) -> Arch:
        """Cell with official index ``index``."""
        index = int(index)  # the API treats NumPy integers as unknown archs
        if not 0 <= index < len(self.api.meta_archs):
            raise KeyError(f'official index {index} out of range 0..{len(self.api.meta_archs) - 1}')
        return Arch.from_str(self.api.meta_archs[index])

    def accuracy(self, arch: Arch | str, dataset: str = 'cifar10', metric: str = 'test_200ep') -> float:
        """Accuracy (%) of one cell, mean over its seeds."""
        api_ds, key, hp = self._resolve(dataset, metric)
        return self._lookup(self.index_of(arch), api_ds, key, hp)

    def _lookup(self, index: int, api_ds: str, key: str, hp: str) -> float:
        ck = (str(index), api_ds, f'{key}@{hp}')
        if ck not in self._cache:
            if index not in self.api.arch2infos_dict:
                raise KeyError(f'official index {index} was not evaluated in {self.path.name}')
            info = self.api.get_more_info(index, api_ds, iepoch=None, hp=hp, is_random=False)
            if key not in info:
                raise ValueError(f'{self.path.name}: index {index} has no {key} on {api_ds} (hp={hp})')
            self._cache[ck] = float(info[key])
        return self._cache[ck]

    def accuracies(
        self, archs: Iterable[Arch | str], dataset: str = 'cifar10', metric: str = 'test_200ep'
    ) -> np.ndarray:
        """Accuracies (%) of many cells, in the order given."""
        api_ds, key, hp = self._resolve(dataset, metric)
        return np.array([self._lookup(self.index_of(a), api_ds, key, hp) for a in archs], dtype=np.float64)

    def params(self, arch: Arch | str, dataset: str = 'cifar10') -> float:
        """Parameters (MB) of the network for ``dataset`` (the classifier head differs)."""
        api_ds = _API_DATASET[normalize_dataset(dataset)]
        return float(self.api.get_cost_info(self.index_of(arch), api_ds, hp='200')['params'])

    def params_many(self, archs: Iterable[Arch | str], dataset: str = 'cifar10') -> np.ndarray:
        """Vectorised :meth:`params`."""
        return np.array([self.params(a, dataset) for a in archs], dtype=np.float64)

    def archs(self) -> list[Arch]:
        """Evaluated cells, in official index order."""
        return [Arch.from_str(self.api.meta_archs[i]) for i in self.api.evaluated_indexes]

    def to_frame(self) -> pd.DataFrame:
        """One row per evaluated cell: ``index``, ``arch_str``, ``arch``, one column per metric
        (named like the CSV table, e.g. ``cifar10_test_200ep``) and ``params_mb``."""
        idx = list(self.api.evaluated_indexes)
        df = pd.DataFrame({'index': idx, 'arch_str': [self.api.meta_archs[i] for i in idx]})
        df['arch'] = [Arch.from_str(s) for s in df['arch_str']]
        for ds, metrics in self.available().items():
            for metric in metrics:
                api_ds, key, hp = self._resolve(ds, metric)
                df[f'{ds}_{metric}'] = [self._lookup(i, api_ds, key, hp) for i in idx]
        df['params_mb'] = [
            float(self.api.get_cost_info(i, 'cifar10', hp='200')['params'])
            if 'cifar10' in self.api.arch2infos_dict[i]['200'].get_dataset_names()
            else np.nan
            for i in idx
        ]
        return df

    def __len__(self) -> int:
        return len(self.api.evaluated_indexes)

    def __repr__(self) -> str:
        return f'NB201Official({len(self)} evaluated cells, file={self.path})'
