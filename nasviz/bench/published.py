"""Paper-scale weight-sharing supernet scores published for NAS-Bench-201.

The few-shot NAS release (Zhao et al. 2021) scored all 15,625 NAS-Bench-201 cells with a
one-shot (SPOS-style) supernet and with few-shot sub-supernets trained on CIFAR-10 on a GPU.
An offline copy (``nb201_published_supernets.csv``: ``index``, ``arch_str``,
``oneshot_supernet``, ``fewshot_supernet``) is read through ``$NASVIZ_NB201_SUPERNETS``, so a
report can show what the same ranking analysis gives at paper scale beside the project's own
supernets. The file is a third-party fact, kept outside the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.spaces import Architecture, get_space

__all__ = ['ENV_SUPERNETS', 'SUPERNET_COLUMNS', 'PublishedSupernets']

#: environment variable naming the published supernets CSV
ENV_SUPERNETS = 'NASVIZ_NB201_SUPERNETS'
#: ``which`` -> column of the CSV
SUPERNET_COLUMNS: dict[str, str] = {'oneshot': 'oneshot_supernet', 'fewshot': 'fewshot_supernet'}
_ALIASES = {
    'oneshot': 'oneshot',
    'one-shot': 'oneshot',
    'one_shot': 'oneshot',
    'spos': 'oneshot',
    'fewshot': 'fewshot',
    'few-shot': 'fewshot',
    'few_shot': 'fewshot',
}
_REQUIRED = ('arch_str', *SUPERNET_COLUMNS.values())


def _which(which: str) -> str:
    key = str(which).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f"which must be 'oneshot' or 'fewshot', got {which!r}")
    return _ALIASES[key]


class PublishedSupernets:
    """Published one-shot and few-shot supernet accuracies (%) of NAS-Bench-201 cells, keyed by
    the official cell string. Higher is better, as for every predictor in
    :mod:`nasviz.analysis.metrics`.

    >>> pub = PublishedSupernets.load()                 # $NASVIZ_NB201_SUPERNETS
    >>> pub.scores(archs, which='fewshot')              # one score per arch, in order
    """

    #: the search space of the table's cells
    space = 'nb201'

    def __init__(self, df: pd.DataFrame, name: str = '<frame>') -> None:
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f'df must be a pandas DataFrame, got {type(df).__name__}')
        missing = [c for c in _REQUIRED if c not in df.columns]
        if missing:
            raise ValueError(
                f'{name}: not a published-supernets table, missing column(s) {missing} (found {list(df.columns)})'
            )
        self.name = name
        df = df.reset_index(drop=True).copy()
        df['arch_str'] = df['arch_str'].astype(str).str.strip()
        # keyed by the official string as stored (parsing all 15,625 cells would cost seconds);
        # the first row must already be in the official, canonical form
        if len(df):
            try:
                first = get_space(self.space).to_str(df.loc[0, 'arch_str'])
            except ValueError as err:
                raise ValueError(f'{name}: bad arch_str in row 0 ({err})') from err
            if first != df.loc[0, 'arch_str']:
                raise ValueError(
                    f'{name}: arch_str is not in the official form (row 0 reads '
                    f'{df.loc[0, "arch_str"]!r}, official {first!r})'
                )
        dup = df['arch_str'].duplicated()
        if dup.any():
            raise ValueError(f'{name}: arch {df.loc[dup.idxmax(), "arch_str"]!r} appears twice')
        self._df = df
        self._row = {s: i for i, s in enumerate(df['arch_str'])}
        self._values = {
            w: pd.to_numeric(df[c], errors='coerce').to_numpy(np.float64) for w, c in SUPERNET_COLUMNS.items()
        }

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> PublishedSupernets:
        """Read the CSV at ``path``, default ``$NASVIZ_NB201_SUPERNETS``."""
        if path is None:
            path = os.environ.get(ENV_SUPERNETS)
            if not path:
                raise ValueError(
                    f'no published supernets file given: pass a path or set {ENV_SUPERNETS} to the '
                    'CSV file (e.g. .../data/nb201/nb201_published_supernets.csv)'
                )
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f'published supernets file not found: {p} (from {ENV_SUPERNETS} or path)')
        try:
            df = pd.read_csv(p)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ValueError(f'{p}: not a readable published-supernets CSV ({err})') from err
        return cls(df, name=str(p))

    def scores(self, archs: Iterable[Architecture | str], which: str = 'oneshot') -> np.ndarray:
        """Scores of ``archs`` (``Arch`` or official strings) from the ``'oneshot'`` or
        ``'fewshot'`` supernet, in the order given; KeyError naming a missing cell."""
        col = self._values[_which(which)]
        rows = []
        for a in archs:
            row = self._row.get(a.strip()) if isinstance(a, str) else None
            if row is None:  # an Arch, or a string in another spelling: parse, print officially
                key = get_space(self.space).to_str(a.strip() if isinstance(a, str) else a)
                if key not in self._row:
                    raise KeyError(f'{key} is not in {self.name}')
                row = self._row[key]
            rows.append(row)
        return col[np.asarray(rows, dtype=np.int64)]

    def archs(self) -> list[Architecture]:
        """Every cell of the table, in file order."""
        space = get_space(self.space)
        return [space.from_str(s) for s in self._df['arch_str']]

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table (``arch_str`` canonical)."""
        return self._df.copy()

    def __len__(self) -> int:
        return len(self._df)

    def __contains__(self, arch: object) -> bool:
        try:
            return get_space(self.space).to_str(arch) in self._row
        except (ValueError, TypeError):
            return False

    def __repr__(self) -> str:
        return f'PublishedSupernets({len(self)} cells from {self.name})'
