"""MicroBench: the project's own small ground truth (NB201 cells trained on an embedded dataset).

File format: a CSV preceded by comment lines holding one-line JSON::

    # recipe: {"dataset": "digits", "epochs": 30, "seeds": [0, 1], ...}
    # summary: {"n_cells": 200, ...}          (optional)
    arch_str,canonical,degenerate,params,acc_seed0,acc_seed1,accuracy
    |nor_conv_3x3~0|+...,c3x3(x)+...,False,12345,91.2,90.8,91.0

``acc_seed<S>`` holds the test accuracy (%) of seed ``S`` (at least one), ``accuracy`` their mean.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.io import atomic_write_text
from nasviz.spaces import Architecture, get_space
from nasviz.validate import parse_json

RECIPE_PREFIX = '# recipe: '
SUMMARY_PREFIX = '# summary: '
BASE_COLUMNS: tuple[str, ...] = ('arch_str', 'canonical', 'degenerate', 'params')
_SEED_COL = re.compile(r'^acc_seed(-?\d+)$')
#: how to (re)create the default file; named in the error when it is missing
BUILD_HINT = 'nasviz build-microbench'


#: the default micro benchmark's file name
DEFAULT_NAME = 'microbench_digits.csv'


def default_path() -> Path:
    """``$NASVIZ_MICROBENCH`` if set, else ``<repo root>/data/microbench_digits.csv`` (repo root =
    parent of the ``nasviz`` package)."""
    env = os.environ.get('NASVIZ_MICROBENCH')
    return Path(env) if env else Path(__file__).resolve().parents[2] / 'data' / DEFAULT_NAME


def microbench_path(space: Any) -> Path:
    """Where the micro benchmark of ``space`` (a space object or name) lives: its
    ``micro_benchmark_name()`` beside :func:`default_path` (the default file itself, honouring
    ``$NASVIZ_MICROBENCH``, for the space whose benchmark it is)."""
    name = get_space(space).micro_benchmark_name()
    default = default_path()
    return default if name == DEFAULT_NAME else default.parent / name


def _seed_columns(columns: Iterable[str]) -> list[tuple[int, str]]:
    out = []
    for c in columns:
        m = _SEED_COL.match(str(c))
        if m:
            out.append((int(m.group(1)), str(c)))
    return out


def _as_bool(series: pd.Series) -> pd.Series:
    if series.dtype == bool:
        return series
    text = series.astype(str).str.strip().str.lower()
    bad = ~text.isin(['true', 'false', '1', '0'])
    if bad.any():
        raise ValueError(f'column degenerate must be True/False, got {series[bad].iloc[0]!r}')
    return text.isin(['true', '1'])


class MicroBench:
    """Per-cell accuracies from the project's micro benchmark, with the recipe that made them.

    Build with :meth:`load` (a file) or :meth:`from_frame`; look cells up by arch string in O(1).
    A cell absent from the table but isomorphic to one in it (same :func:`canonical` key) gets
    that cell's numbers, since both compute the same function family.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        recipe: dict[str, Any],
        summary: dict[str, Any] | None = None,
        path: str | os.PathLike | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        name = str(self.path) if self.path is not None else '<frame>'
        if not isinstance(recipe, dict):
            raise ValueError(f'{name}: recipe must be a dict, got {type(recipe).__name__}')
        missing = [c for c in (*BASE_COLUMNS, 'accuracy') if c not in df.columns]
        seed_cols = _seed_columns(df.columns)
        if not seed_cols:
            missing.append('acc_seed<S> (at least one)')
        if missing:
            raise ValueError(f'{name}: not a MicroBench table, missing column(s) {missing} (found {list(df.columns)})')
        df = df.reset_index(drop=True).copy()
        df['arch_str'] = df['arch_str'].astype(str).str.strip()
        df['canonical'] = df['canonical'].astype(str)
        df['degenerate'] = _as_bool(df['degenerate'])
        acc_cols = [c for _, c in seed_cols] + ['accuracy']
        for c in acc_cols + ['params']:
            df[c] = pd.to_numeric(df[c], errors='raise')
        if df[acc_cols].isna().any().any():
            raise ValueError(f'{name}: accuracy columns hold missing values')
        self._df = df
        self.recipe: dict[str, Any] = dict(recipe)
        #: the search space of the cells (recipes from before spaces were plug-ins are NB201)
        self.space = get_space(self.recipe.get('space', 'nb201'))
        self.summary: dict[str, Any] = dict(summary) if summary else {}
        self.seeds: list[int] = [s for s, _ in seed_cols]
        self._seed_col = {s: c for s, c in seed_cols}
        self._row: dict[str, int] = {}
        for i, s in enumerate(df['arch_str']):
            if s in self._row:
                raise ValueError(f'{name}: arch {s!r} appears twice (rows {self._row[s]} and {i})')
            self._row[s] = i
        self._row_of_canonical: dict[str, int] = {}
        for i, key in enumerate(df['canonical']):
            self._row_of_canonical.setdefault(key, i)
        self._values = {c: df[c].to_numpy(dtype=np.float64) for c in acc_cols + ['params']}

    # -- construction / IO ------------------------------------------------------------------
    @classmethod
    def from_frame(cls, df: pd.DataFrame, recipe: dict[str, Any], summary: dict[str, Any] | None = None) -> MicroBench:
        """Build from a frame with ``arch_str``, ``params`` and ``acc_seed<S>`` columns.

        ``canonical``, ``degenerate`` and ``accuracy`` (seed mean) are filled in when absent,
        so a builder only needs to record what it measured.
        """
        df = df.copy()
        if 'arch_str' in df.columns:
            if 'canonical' not in df.columns or 'degenerate' not in df.columns:
                space = get_space(recipe.get('space', 'nb201'))
                archs = [space.from_str(s) for s in df['arch_str']]
                if 'canonical' not in df.columns:
                    df['canonical'] = [space.canonical(a) for a in archs]
                if 'degenerate' not in df.columns:
                    df['degenerate'] = [space.is_degenerate(a) for a in archs]
        seed_cols = [c for _, c in _seed_columns(df.columns)]
        if 'accuracy' not in df.columns and seed_cols:
            df['accuracy'] = df[seed_cols].mean(axis=1)
        ordered = [c for c in (*BASE_COLUMNS, *seed_cols, 'accuracy') if c in df.columns]
        rest = [c for c in df.columns if c not in ordered]
        return cls(df[ordered + rest], recipe, summary)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> MicroBench:
        """Read a MicroBench file (default :func:`default_path`)."""
        path = Path(path) if path is not None else default_path()
        if not path.is_file():
            raise FileNotFoundError(
                f'MicroBench file not found: {path}; create it with '
                f'`{BUILD_HINT}` (writes data/microbench_digits.csv by default)'
            )
        text = path.read_text(encoding='utf-8')
        recipe, summary, body = _split_header(text, path)
        try:
            df = pd.read_csv(io.StringIO(body))
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise ValueError(f'{path}: unreadable MicroBench CSV body ({err})') from err
        return cls(df, recipe, summary, path=path)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the file format above, atomically."""
        lines = [RECIPE_PREFIX + json.dumps(self.recipe, default=str)]
        if self.summary:
            lines.append(SUMMARY_PREFIX + json.dumps(self.summary, default=str))
        # repr-precision floats so a save/load round trip is exact
        body = self._df.to_csv(index=False, float_format=None, lineterminator='\n')
        out = atomic_write_text(path, '\n'.join(lines) + '\n' + body)
        self.path = Path(path)
        return out

    # -- lookups ----------------------------------------------------------------------------
    def _row_of(self, arch: Architecture | str) -> int:
        key = arch.strip() if isinstance(arch, str) else self.space.to_str(self.space.check(arch))
        row = self._row.get(key)
        if row is None:
            a = self.space.check(arch)
            row = self._row.get(self.space.to_str(a))
            if row is None:
                row = self._row_of_canonical.get(self.space.canonical(a))
            if row is None:
                raise KeyError(f'arch {key!r} (nor any isomorphic cell) is not in this MicroBench')
        return row

    def _column(self, dataset: str, metric: str) -> str:
        known = {'digits', str(self.recipe.get('dataset', 'digits'))}
        if dataset not in known:
            raise ValueError(f'unknown dataset {dataset!r}; this MicroBench has {sorted(known)}')
        if metric == 'test':
            return 'accuracy'
        m = re.fullmatch(r'seed(-?\d+)', str(metric))
        if m and int(m.group(1)) in self._seed_col:
            return self._seed_col[int(m.group(1))]
        raise ValueError(f'unknown metric {metric!r}; available: ' + str(['test'] + [f'seed{s}' for s in self.seeds]))

    def accuracy(self, arch: Architecture | str, dataset: str = 'digits', metric: str = 'test') -> float:
        """Test accuracy (%): ``metric='test'`` is the seed mean, ``'seed<S>'`` one seed."""
        return float(self._values[self._column(dataset, metric)][self._row_of(arch)])

    def accuracies(
        self, archs: Iterable[Architecture | str], dataset: str = 'digits', metric: str = 'test'
    ) -> np.ndarray:
        """Vectorised :meth:`accuracy`."""
        col = self._values[self._column(dataset, metric)]
        return col[np.fromiter((self._row_of(a) for a in archs), dtype=np.int64)]

    def params(self, arch: Architecture | str) -> float:
        """Parameter count of the trained network."""
        return float(self._values['params'][self._row_of(arch)])

    def params_many(self, archs: Iterable[Architecture | str]) -> np.ndarray:
        """Vectorised :meth:`params`."""
        return self._values['params'][np.fromiter((self._row_of(a) for a in archs), dtype=np.int64)]

    def archs(self) -> list[Architecture]:
        """Cells in file order."""
        return [self.space.from_str(s) for s in self._df['arch_str']]

    def to_frame(self) -> pd.DataFrame:
        """The table plus an ``arch`` column of :class:`Architecture` values."""
        df = self._df.copy()
        df.insert(1, 'arch', self.archs())
        return df

    def __len__(self) -> int:
        return len(self._df)

    def __repr__(self) -> str:
        return f'MicroBench({len(self)} cells, seeds={self.seeds}, file={self.path})'

    # -- summaries --------------------------------------------------------------------------
    def _live(self) -> pd.DataFrame:
        return self._df[~self._df['degenerate']]

    def seed_to_seed_tau(self) -> float:
        """Kendall tau-b between the first two seed columns over non-degenerate cells: the
        ceiling any predictor of this ground truth can hope to reach."""
        if len(self.seeds) < 2:
            raise ValueError(f'seed-to-seed tau needs two seeds; this MicroBench has {self.seeds}')
        from nasviz.analysis.metrics import kendall_tau

        live = self._live()
        c0, c1 = self._seed_col[self.seeds[0]], self._seed_col[self.seeds[1]]
        return kendall_tau(live[c1].to_numpy(), live[c0].to_numpy())

    def seed_matrix(self) -> np.ndarray:
        """Accuracies of the non-degenerate cells, cells x seeds (columns in :attr:`seeds` order)."""
        rows = np.flatnonzero(~self._df['degenerate'].to_numpy())
        return np.stack([self._values[self._seed_col[s]][rows] for s in self.seeds], axis=1)

    def halves(self, archs: Iterable[Architecture | str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Two independent halves of the ground truth: the mean accuracy over the first half of
        the seeds and over the second half (seeds ``[0, 1] | [2, 3]`` for four seeds), for
        ``archs`` (default: the non-degenerate cells). Their agreement is the benchmark's
        *reliability*: the ceiling any predictor of it can reach. Needs at least 4 seeds so that
        each half averages at least two runs (with 2-3 seeds use :meth:`seed_to_seed_tau`)."""
        if len(self.seeds) < 4:
            raise ValueError(f'split-half reliability needs at least 4 seeds; this MicroBench has {self.seeds}')
        h = len(self.seeds) // 2
        first = [self._seed_col[s] for s in self.seeds[:h]]
        second = [self._seed_col[s] for s in self.seeds[h : 2 * h]]
        if archs is None:
            rows = np.flatnonzero(~self._df['degenerate'].to_numpy())
        else:
            rows = np.array([self._row_of(a) for a in archs], dtype=np.int64)
        a = np.mean([self._values[c][rows] for c in first], axis=0)
        b = np.mean([self._values[c][rows] for c in second], axis=0)
        return a, b

    def reliability(self) -> float:
        """Kendall tau-b between the two halves of :meth:`halves` over non-degenerate cells."""
        from nasviz.analysis.metrics import kendall_tau

        a, b = self.halves()
        return kendall_tau(b, a)

    def spread(self) -> dict[str, float]:
        """Quartiles, IQR and range of ``accuracy`` over non-degenerate cells."""
        acc = self._live()['accuracy'].to_numpy(dtype=np.float64)
        if acc.size == 0:
            raise ValueError('spread(): no non-degenerate cell in this MicroBench')
        q25, median, q75 = np.percentile(acc, [25, 50, 75])
        return {
            'iqr': float(q75 - q25),
            'q25': float(q25),
            'median': float(median),
            'q75': float(q75),
            'min': float(acc.min()),
            'max': float(acc.max()),
        }


def _split_header(text: str, path: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    lines = text.split('\n')
    recipe: dict[str, Any] | None = None
    summary: dict[str, Any] = {}
    n = 0
    for line in lines:
        if not line.startswith('#'):
            break
        n += 1
        for prefix in (RECIPE_PREFIX, SUMMARY_PREFIX):
            if line.startswith(prefix):
                value = parse_json(line[len(prefix) :], f'{path}: line {n} ({prefix.strip()})', limit=10**6)
                if not isinstance(value, dict):
                    raise ValueError(f'{path}: line {n} ({prefix.strip()}) must hold a JSON object')
                if prefix == RECIPE_PREFIX:
                    recipe = value
                else:
                    summary = value
    if recipe is None:
        raise ValueError(f'{path}: not a MicroBench file, no "{RECIPE_PREFIX.strip()}" header line')
    return recipe, summary, '\n'.join(lines[n:])


def is_microbench_file(path: str | os.PathLike) -> bool:
    """True when the file starts with a ``# recipe:`` line."""
    try:
        with open(path, encoding='utf-8') as f:
            return f.readline().startswith(RECIPE_PREFIX.rstrip())
    except (OSError, UnicodeDecodeError):
        return False
