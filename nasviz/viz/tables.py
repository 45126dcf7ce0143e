"""Tables fit for a notebook page: rounded, all-NaN columns dropped, every gap saying why, and
long strings (cells, genotypes, group lists) shown in full."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ['trim_table', 'DisplayTable']


class DisplayTable(pd.DataFrame):
    """A DataFrame that a notebook shows in full: no cell string cut to '...' (cell strings,
    genotypes and group lists stay readable on a static page, where there is no hover), and no
    column hidden."""

    @property
    def _constructor(self):  # pandas operations on it keep the class
        return DisplayTable

    def _repr_html_(self) -> str | None:
        with pd.option_context('display.max_colwidth', None, 'display.max_columns', None, 'display.width', None):
            return super()._repr_html_()


def trim_table(df: pd.DataFrame, decimals: int | None = 3, na: Mapping[str, str] | str | None = None) -> pd.DataFrame:
    """A copy of ``df`` fit for display: all-NaN columns dropped (e.g. metrics a baseline does
    not have), floats rounded to ``decimals`` (None keeps them), every remaining empty cell
    written ``n/a (why)`` (``na``: one reason for all, or ``{column: reason}``; ``n/a`` where no
    reason is given), and long strings shown in full (:class:`DisplayTable`)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f'trim_table: expected a pandas DataFrame, got {type(df).__name__}')
    out = df.dropna(axis=1, how='all')
    out = out.round(decimals) if decimals is not None else out.copy()
    for col in out.columns:
        missing = out[col].isna()
        if not missing.any():
            continue
        why = na if isinstance(na, str) else (na or {}).get(col)
        out[col] = out[col].astype(object).where(~missing, f'n/a ({why})' if why else 'n/a')
    return DisplayTable(out)
