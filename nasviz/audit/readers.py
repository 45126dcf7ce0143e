"""Per-architecture scores from other tools' files, keyed by the space's own architecture strings.

:func:`read_scores` returns a DataFrame indexed by the space's string of each architecture
(NB201: the official cell string) with one float column per estimator. Formats:

* ``'csv'``: a CSV / TSV (by extension or sniffed) or parquet table with an architecture column
  and numeric score columns. The architecture column holds, per space:

  - NB201: official cell strings (``|nor_conv_3x3~0|+|...|``), NASLib op-index tuples
    (``(2, 0, 3, 1, 4, 3)``: NASLib's edge order ``0->1, 0->2, 0->3, 1->2, 1->3, 2->3`` and op
    order ``skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3``), or the few-shot NAS
    release's node tuples (``[(('avg_pool_3x3', 0),), ...]``);
  - NB101: ``matrix`` and ``ops`` columns (JSON adjacency rows and comma-separated ops), the
    benchmark's module hash, our cell strings, or NASLib's flat tuple (49 matrix entries then the
    op indices of ``input, output, maxpool3x3, conv1x1-bn-relu, conv3x3-bn-relu``);
  - DARTS: ``normal`` and ``reduce`` genotype columns, a genotype string, our strings, or NASLib's
    compact tuple (``((input, op), ...) x 2`` with NASLib's seven ops, no ``none``).
* ``'naslib-zc'``: NASLib's zero-cost benchmark JSON (``zc_nasbench201.json`` and its 101 / 301
  siblings: dataset -> architecture key -> proxy -> ``{"score", "time"}``, plus ``val_accuracy``);
  every dataset and proxy in one call, columns ``proxy`` (one dataset) or ``dataset/proxy``.
  ``val_accuracy`` is kept as a column but never taken as an estimator by default.
* ``'fewshot'``: the few-shot NAS release's per-architecture supernet accuracies (a JSON object
  from node-tuple strings to accuracy, one file per supernet; the column is the file's name).

Nothing is silently wrong: a score that is NaN or infinite, an architecture that does not parse
or is not of the space, and an architecture seen twice are dropped and counted per column in
``df.attrs['dropped']`` (``{'nan', 'inf', 'unknown_arch', 'duplicate'}``; ``unknown_arch`` and
``duplicate`` count rows, so every column gets them); where nothing sensible remains the reader
raises ``ValueError`` naming the file, the row and the problem.
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.spaces import get_space, list_spaces
from nasviz.spaces.darts import DartsArch, parse_cell
from nasviz.spaces.nb101 import NB101Arch
from nasviz.validate import short_repr

__all__ = [
    'ARCH_COLUMNS',
    'DROP_KINDS',
    'FORMATS',
    'NASLIB_DARTS_OPS',
    'NASLIB_NB101_OPS',
    'parse_arch',
    'read_scores',
    'to_naslib_nb201',
]

FORMATS = ('auto', 'csv', 'naslib-zc', 'fewshot')
#: the kinds of dropped row every result counts
DROP_KINDS = ('nan', 'inf', 'unknown_arch', 'duplicate')
#: architecture column names tried in this order when none is given
ARCH_COLUMNS = (
    'arch_str',
    'arch',
    'architecture',
    'arch_string',
    'genotype',
    'cell',
    'spec',
    'hash',
    'module_hash',
    'arch_hash',
    'key',
)
#: columns that are never scores (indices, bookkeeping)
_NOT_SCORES = {
    'index',
    'idx',
    'id',
    'arch_index',
    'row',
    'seed',
    'dataset',
    'unnamed: 0',
    'normal',
    'reduce',
    'matrix',
    'ops',
    'val_accuracy',
}
#: NASLib's NB101 op order in its hash tuples (``convert_spec_to_tuple``)
NASLIB_NB101_OPS = ('input', 'output', 'maxpool3x3', 'conv1x1-bn-relu', 'conv3x3-bn-relu')
#: NASLib's DARTS op order in its compact tuples (nasbench301 ``convert_genotype_to_compact``)
NASLIB_DARTS_OPS = (
    'max_pool_3x3',
    'avg_pool_3x3',
    'skip_connect',
    'sep_conv_3x3',
    'sep_conv_5x5',
    'dil_conv_3x3',
    'dil_conv_5x5',
)


# ---------------------------------------------------------------------------------------------
# One architecture, any spelling
# ---------------------------------------------------------------------------------------------
def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def to_naslib_nb201(arch: Any) -> tuple[int, ...]:
    """NASLib's op-index tuple of an NB201 cell (the key of ``zc_nasbench201.json``)."""
    return get_space('nb201').foreign_key(arch, 'naslib')


#: NAS-Bench-101's op labels in its module hash (the benchmark's ``available_ops`` order)
NB101_HASH_OPS = ('conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3')
_HEX32 = re.compile(r'^[0-9a-f]{32}$')


def nb101_hash(arch: Any) -> str:
    """NAS-Bench-101's module hash of a (pruned) cell: iterated MD5 of each vertex's
    (out-degree, in-degree, label) refined by its in- and out-neighbours' hashes, as many rounds
    as there are vertices, then the MD5 of the sorted vertex hashes (the key of the official
    benchmark; input and output are labelled -1 and -2)."""
    a = arch if isinstance(arch, NB101Arch) else get_space('nb101').check(arch)
    m = np.asarray(a.matrix, dtype=int)
    labels = [-1] + [NB101_HASH_OPS.index(op) for op in a.ops[1:-1]] + [-2]
    v = m.shape[0]

    def md5(text: str) -> str:
        return hashlib.md5(text.encode('utf-8')).hexdigest()

    h = [md5(str((int(o), int(i), lab))) for o, i, lab in zip(m.sum(axis=1), m.sum(axis=0), labels)]
    for _ in range(v):
        h = [
            md5(
                ''.join(sorted(h[w] for w in range(v) if m[w, x]))
                + '|'
                + ''.join(sorted(h[w] for w in range(v) if m[x, w]))
                + '|'
                + h[x]
            )
            for x in range(v)
        ]
    return md5(str(sorted(h)))


_NB101_BY_HASH: dict[str, Any] = {}


def _nb101_from_hash(key: str) -> Any:
    """The cell of the NB101 table (``$NASVIZ_NB101_TABLE``) with this module hash: a hash cannot be
    inverted, so only cells of the benchmark table resolve."""
    if not _NB101_BY_HASH:
        from nasviz.bench import NB101Table

        for a in NB101Table().archs():
            _NB101_BY_HASH[nb101_hash(a)] = a
    if key not in _NB101_BY_HASH:
        raise ValueError(f'NB101 module hash {key} is not among the cells of the NAS-Bench-101 table')
    return _NB101_BY_HASH[key]


def _parse_nb101(text: str) -> Any:
    space = get_space('nb101')
    s = text.strip()
    if _HEX32.match(s):
        return _nb101_from_hash(s)
    lit = _literal(s) if s[:1] in '([' else None
    if isinstance(lit, (tuple, list)) and lit and all(isinstance(i, int) for i in lit):
        L = len(lit)
        n = round((-1 + np.sqrt(1 + 4 * L)) / 2)
        if n * n + n != L:
            raise ValueError(f'a NASLib NB101 tuple holds n*n matrix entries then n op indices; got {L} numbers')
        mat = np.array(lit[: n * n]).reshape(n, n).tolist()
        if not all(0 <= i < len(NASLIB_NB101_OPS) for i in lit[n * n :]):
            raise ValueError(f'NASLib NB101 op indices lie in 0..{len(NASLIB_NB101_OPS) - 1}')
        ops = [NASLIB_NB101_OPS[i] for i in lit[n * n :]]
        return NB101Arch(mat, ','.join(ops))
    return space.from_str(s)


def _parse_darts(text: str) -> Any:
    space = get_space('darts')
    s = text.strip()
    lit = _literal(s) if s[:1] in '([' else None
    if (
        isinstance(lit, (tuple, list))
        and len(lit) == 2
        and all(isinstance(c, (tuple, list)) for c in lit)
        and all(
            isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(x, int) for x in p) for c in lit for p in c
        )
    ):
        cells = []
        for c in lit:
            if not all(0 <= op < len(NASLIB_DARTS_OPS) for _, op in c):
                raise ValueError(f'NASLib DARTS op indices lie in 0..{len(NASLIB_DARTS_OPS) - 1}')
            cells.append(parse_cell(str([(NASLIB_DARTS_OPS[op], inp) for inp, op in c]), 'cell'))
        return DartsArch(*cells)
    return space.from_str(s)


#: spellings of other tools this module reads beside the space's own (a space may read more itself:
#: :meth:`SearchSpace.parse_spelling`)
_PARSERS: dict[str, Callable[[str], Any]] = {'nb101': _parse_nb101, 'darts': _parse_darts}


def parse_arch(text: Any, space: str) -> Any:
    """One architecture of ``space`` from any spelling this module reads; ``ValueError`` otherwise."""
    return _parse_cached(text if isinstance(text, str) else str(text), space)


@functools.lru_cache(maxsize=200_000)
def _parse_cached(text: str, space: str) -> Any:
    """Architecture values are immutable, so one parse per distinct string is enough."""
    if not text.strip():
        raise ValueError('blank architecture')
    if space not in _PARSERS:
        return get_space(space).parse_spelling(text)
    return _PARSERS[space](text)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in ('.parquet', '.pq'):
            try:
                return pd.read_parquet(path)
            except ImportError as err:
                raise ValueError(
                    f'{path}: reading parquet needs pyarrow or fastparquet ({err}); '
                    'convert the file to CSV or install one of them'
                ) from None
        with open(path, newline='', encoding='utf-8') as fh:
            head = ''.join(line for line in [fh.readline() for _ in range(20)] if not line.startswith('#'))
        if suffix == '.tsv':
            sep = '\t'
        elif suffix == '.csv':
            sep = ','
        else:
            try:
                sep = csv.Sniffer().sniff(head, delimiters=',\t;').delimiter
            except csv.Error:
                sep = ','
        return pd.read_csv(path, sep=sep, comment='#', skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f'{path}: not a readable score table ({str(err).strip()})') from None


def _arch_keys(
    df: pd.DataFrame, space: str, arch_column: str | None, src: str
) -> tuple[list[str | None], list[str], str]:
    """The space's string of each row (None where it does not parse), the problems, the column(s)."""
    sp = get_space(space)
    cols = {str(c).strip().lower(): c for c in df.columns}
    if arch_column is None:
        if space == 'nb101' and 'matrix' in cols and 'ops' in cols:
            arch_column = 'matrix+ops'
        elif space == 'darts' and 'normal' in cols and 'reduce' in cols:
            arch_column = 'normal+reduce'
        else:
            arch_column = next((cols[c] for c in ARCH_COLUMNS if c in cols), None)
            if arch_column is None:
                text_cols = [c for c in df.columns if df[c].dtype == object]
                hint = f'; text columns: {text_cols}' if text_cols else ''
                raise ValueError(
                    f'{src}: no architecture column found (tried {", ".join(ARCH_COLUMNS)}); '
                    f'name it with arch_column / --arch-column{hint}'
                )
    elif arch_column not in df.columns and arch_column not in ('matrix+ops', 'normal+reduce'):
        raise ValueError(f'{src}: no column {arch_column!r} (columns: {list(df.columns)})')
    if arch_column == 'matrix+ops':

        def one(r: int) -> Any:
            return NB101Arch(json.loads(str(df[cols['matrix']].iloc[r])), str(df[cols['ops']].iloc[r]))

        getter, label = one, 'matrix/ops'
    elif arch_column == 'normal+reduce':

        def one(r: int) -> Any:
            return DartsArch(
                parse_cell(str(df[cols['normal']].iloc[r]), 'normal cell'),
                parse_cell(str(df[cols['reduce']].iloc[r]), 'reduce cell'),
            )

        getter, label = one, 'normal/reduce'
    else:
        values = df[arch_column].tolist()

        def one(r: int) -> Any:
            v = values[r]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                raise ValueError('blank architecture')
            return parse_arch(v, space)

        getter, label = one, str(arch_column)
    keys: list[str | None] = []
    problems: list[str] = []
    cache: dict[Any, str] = {}
    raw = df[arch_column].tolist() if arch_column in df.columns else None
    for r in range(len(df)):
        try:
            if raw is not None and isinstance(raw[r], str) and raw[r] in cache:
                keys.append(cache[raw[r]])
                continue
            a = getter(r)
            key = sp.to_str(a)
            if raw is not None and isinstance(raw[r], str):
                cache[raw[r]] = key
            keys.append(key)
        except (ValueError, TypeError, KeyError, json.JSONDecodeError) as err:
            keys.append(None)
            problems.append(f'{src}, row {r} (line {r + 2}), column {label}: {err}')
    return keys, problems, label


def _finalize(
    df: pd.DataFrame, keys: list[str | None], problems: list[str], score_cols: list[Any], src: str, space: str
) -> pd.DataFrame:
    n = len(df)
    unknown = sum(k is None for k in keys)
    if n and unknown == n:
        raise ValueError(f'{src}: no row holds a {space} architecture; first problem: {problems[0]}')
    out = pd.DataFrame(index=pd.Index(keys, name='arch'))
    for c in score_cols:
        col = df[c]
        num = pd.to_numeric(col, errors='coerce')
        bad = (
            num.isna()
            & col.notna()
            & (col.astype(str).str.strip() != '')
            & ~col.astype(str).str.strip().str.lower().isin(['nan', 'na', 'null', 'none', '-inf', 'inf', '+inf'])
        )
        if bad.any():
            r = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f'{src}, row {r} (line {r + 2}), column {c!r}: {short_repr(col.iloc[r])} is not a number')
        out[str(c)] = num.to_numpy(dtype=np.float64)
    keep = np.array([k is not None for k in keys])
    dup = pd.Index(keys).duplicated() & keep
    dropped = {
        str(c): {'nan': 0, 'inf': 0, 'unknown_arch': int(unknown), 'duplicate': int(dup.sum())} for c in score_cols
    }
    out = out[keep & ~dup]
    for c in out.columns:
        v = out[c].to_numpy()
        dropped[c]['nan'] = int(np.isnan(v).sum())
        dropped[c]['inf'] = int(np.isinf(v).sum())
    out.attrs['dropped'] = dropped
    out.attrs['problems'] = problems[:20]
    out.attrs['n_problems'] = len(problems)
    out.attrs['duplicates'] = [
        f'{src}: {k} appears again at row {i} (line {i + 2}); the first row is kept'
        for i, k in enumerate(keys)
        if dup[i]
    ][:20]
    out.attrs['source'] = src
    return out


def _requested(estimators: Sequence[str], held: Sequence[str], src: str) -> list[str]:
    """The score columns asked for, each one the file holds; ``ValueError`` naming the missing ones."""
    missing = [e for e in estimators if e not in held]
    if missing:
        raise ValueError(f'{src}: no score column(s) {missing} (columns: {list(held)})')
    return list(estimators)


def _read_csv(path: Path, space: str, arch_column: str | None, estimators: Sequence[str] | None) -> pd.DataFrame:
    df = _read_table(path)
    src = str(path)
    if len(df) == 0:
        raise ValueError(f'{src}: the table has a header but no rows')
    keys, problems, label = _arch_keys(df, space, arch_column, src)
    arch_cols = set(label.split('/')) | {label, arch_column}
    if estimators:
        cols = _requested(estimators, list(df.columns), src)
    else:
        cols = [
            c
            for c in df.columns
            if c not in arch_cols
            and str(c).strip().lower() not in _NOT_SCORES
            and str(c) not in ARCH_COLUMNS
            and pd.api.types.is_numeric_dtype(pd.to_numeric(df[c], errors='coerce'))
            and pd.to_numeric(df[c], errors='coerce').notna().any()
        ]
        if 'val_accuracy' in df.columns and pd.to_numeric(df['val_accuracy'], errors='coerce').notna().any():
            cols.append('val_accuracy')  # kept for --truth, never an estimator by default
        if not cols:
            raise ValueError(f'{src}: no numeric score column besides the architecture column {label!r}')
    out = _finalize(df, keys, problems, cols, src, space)
    out.attrs['not_estimators'] = [c for c in ('val_accuracy',) if c in out.columns and not estimators]
    return out


def _read_naslib_zc(path: Path, space: str, estimators: Sequence[str] | None) -> pd.DataFrame:
    src = str(path)
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{src}: not a JSON file ({err})') from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f'{src}: a NASLib zero-cost benchmark is a JSON object dataset -> architecture -> proxy')
    datasets = [d for d, v in data.items() if isinstance(v, dict)]
    if not datasets:
        raise ValueError(f'{src}: no dataset object found at the top level (keys: {short_repr(list(data))})')
    records: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for d in datasets:
        for key, entry in data[d].items():
            if key not in records:
                records[key] = {}
                order.append(key)
            if not isinstance(entry, dict):
                raise ValueError(
                    f'{src}, dataset {d!r}, architecture {short_repr(key)}: expected an object proxy -> '
                    f'{{"score", "time"}}, got {short_repr(entry)}'
                )
            for proxy, val in entry.items():
                col = proxy if len(datasets) == 1 else f'{d}/{proxy}'
                score = val.get('score') if isinstance(val, dict) else val
                records[key][col] = score
    df = pd.DataFrame.from_dict(records, orient='index').reindex(order)
    df.insert(0, '_key', df.index.astype(str))
    df = df.reset_index(drop=True)
    keys, problems, _ = _arch_keys(df, space, '_key', src)
    not_est = [c for c in df.columns if c.split('/')[-1] == 'val_accuracy']
    held = [c for c in df.columns if c != '_key']
    cols = _requested(estimators, held, src) if estimators else held
    out = _finalize(df, keys, problems, cols, src, space)
    out.attrs['not_estimators'] = [c for c in not_est if c in out.columns and not estimators]
    out.attrs['datasets'] = datasets
    return out


def _read_fewshot(path: Path, space: str, estimators: Sequence[str] | None) -> pd.DataFrame:
    src = str(path)
    if space != 'nb201':
        raise ValueError(f'{src}: the few-shot NAS release format holds NB201 cells, not {space}')
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{src}: not a few-shot release JSON file ({err})') from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f'{src}: the few-shot release file is a JSON object architecture -> accuracy')
    name = estimators[0] if estimators else path.stem.replace('-', '_')
    df = pd.DataFrame({'_key': list(data.keys()), name: list(data.values())})
    keys, problems, _ = _arch_keys(df, space, '_key', src)
    return _finalize(df, keys, problems, [name], src, space)


def _sniff_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in ('.csv', '.tsv', '.txt', '.parquet', '.pq'):
        return 'csv'
    try:
        with open(path, encoding='utf-8') as fh:
            head = fh.read(4096).lstrip()
    except UnicodeDecodeError:
        return 'csv'
    if head.startswith('{'):
        # NASLib: {"cifar10": {"(1, 2, ...)": {"synflow": {...}}}}; few-shot: {"[(('op', 0),), ...]": 93.1}
        m = re.match(r'\{\s*"[^"]*"\s*:\s*(.)', head)
        return 'naslib-zc' if m and m.group(1) == '{' else 'fewshot'
    return 'csv'


def _merge(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    dropped: dict[str, dict[str, int]] = {}
    out: pd.DataFrame | None = None
    not_est: list[str] = []
    for f in frames:
        clash = [c for c in f.columns if out is not None and c in out.columns]
        if clash:
            raise ValueError(
                f'{f.attrs.get("source")}: column(s) {clash} already come from an earlier file; '
                'rename them or pick estimators'
            )
        dropped.update(f.attrs.get('dropped', {}))
        not_est += f.attrs.get('not_estimators', [])
        if out is None:
            out = f.copy()
        else:  # the first file's row order first (it breaks predicted ties), then new rows
            idx = out.index.append(f.index[~f.index.isin(out.index)])
            out = out.reindex(idx)
            for c in f.columns:
                out[c] = f[c].reindex(idx)
    assert out is not None  # frames holds at least two tables
    for c in out.columns:  # rows a file does not have are missing for its columns, not errors
        dropped.setdefault(c, dict.fromkeys(DROP_KINDS, 0))
    out.attrs['dropped'] = dropped
    out.attrs['not_estimators'] = not_est
    out.attrs['source'] = ', '.join(str(f.attrs.get('source')) for f in frames)
    out.attrs['problems'] = [p for f in frames for p in f.attrs.get('problems', [])][:20]
    out.attrs['duplicates'] = [p for f in frames for p in f.attrs.get('duplicates', [])][:20]
    return out


def read_scores(
    path_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
    space: str = 'nb201',
    format: str = 'auto',
    arch_column: str | None = None,
    estimators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Scores of one or more files as one DataFrame indexed by the space's architecture string
    (``arch``), one float column per estimator (NaN and inf kept: the audit drops and counts
    them). ``attrs['dropped']`` counts per column what could not be used; ``attrs['problems']``
    lists the first rows that did not parse. Several files are joined on the architecture.

    ``format``: ``'auto'`` (by extension and content), ``'csv'``, ``'naslib-zc'`` or
    ``'fewshot'`` (see the module docstring). ``estimators`` selects columns (proxies).
    """
    if format not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {short_repr(format)}')
    if not isinstance(space, str) or space.strip().lower() not in list_spaces():
        raise ValueError(f'unknown space {short_repr(space)}; known spaces: {", ".join(list_spaces())}')
    space = get_space(space).name
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    if not paths:
        raise ValueError('read_scores needs at least one file')
    frames = []
    # with several files, each gives the requested estimators it holds (every file all of its
    # own columns when none are requested); a requested name no file holds is an error
    pick = estimators if len(paths) == 1 else None
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise FileNotFoundError(f'score file not found: {path}')
        if path.is_dir():
            raise IsADirectoryError(f'{path} is a folder; give the score file itself')
        fmt = _sniff_format(path) if format == 'auto' else format
        if fmt == 'csv':
            frames.append(_read_csv(path, space, arch_column, pick))
        elif fmt == 'naslib-zc':
            frames.append(_read_naslib_zc(path, space, pick))
        else:
            frames.append(_read_fewshot(path, space, pick))
    if pick is None and estimators and len(paths) > 1:
        kept = []
        for f in frames:
            cols = [c for c in f.columns if c in estimators]
            sub = f[cols].copy()
            sub.attrs = {**f.attrs, 'dropped': {c: f.attrs['dropped'][c] for c in cols}, 'not_estimators': []}
            kept.append(sub)
        frames = kept
        _requested(estimators, sorted({c for f in frames for c in f.columns}), ', '.join(str(p) for p in paths))
        frames = [f for f in frames if len(f.columns)]
    out = _merge(frames)
    out.attrs['space'] = space
    return out
