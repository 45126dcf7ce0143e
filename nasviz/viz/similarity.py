"""Similarity heatmaps: op x op matrices (one or a grid of them, sharing a colour scale) and
subnet x subnet matrices with short ids. Colour scales follow the data (sequential when all values
are positive, diverging around 0 otherwise). Every ``plot_*`` returns a ``go.Figure``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nasviz.viz.common import op_abbrev

__all__ = ['plot_similarity', 'subnet_ids', 'plot_subnet_similarity', 'plot_similarity_grid']


def _check_matrix(sim: Any, where: str) -> pd.DataFrame:
    if not isinstance(sim, pd.DataFrame):
        raise ValueError(f'{where}: expected a DataFrame (ops x ops), got {type(sim).__name__}')
    if sim.empty:
        raise ValueError(f'{where}: the similarity matrix is empty')
    bad = [c for c in sim.columns if not pd.api.types.is_numeric_dtype(sim[c])]
    if bad:
        raise ValueError(f'{where}: non-numeric column(s) {bad}')
    return sim


def _heatmap(
    sim: pd.DataFrame, fmt: str, abbreviate: bool, hover_fmt: str = '.3f', value_name: str = 'value', **kw: Any
) -> go.Heatmap:
    rows = [op_abbrev(r) if abbreviate else str(r) for r in sim.index]
    cols = [op_abbrev(c) if abbreviate else str(c) for c in sim.columns]
    z = sim.to_numpy(dtype=float)
    text = [[('' if not np.isfinite(v) else format(v, fmt)) for v in row] for row in z]
    return go.Heatmap(
        z=z,
        x=cols,
        y=rows,
        text=text,
        texttemplate='%{text}',
        hovertemplate=(f'row: %{{y}}<br>column: %{{x}}<br>{value_name}: %{{z:{hover_fmt}}}<extra></extra>'),
        **kw,
    )


def _off_diagonal(mats: Sequence[pd.DataFrame]) -> np.ndarray:
    parts = []
    for m in mats:
        a = m.to_numpy(dtype=float)
        mask = ~np.eye(*a.shape, dtype=np.bool_) if a.shape[0] == a.shape[1] else np.ones(a.shape, bool)
        parts.append(a[mask])
    off = np.concatenate(parts) if parts else np.array([])
    return off[np.isfinite(off)]


def _auto_range(mats: Sequence[pd.DataFrame], zmin: float | None, zmax: float | None) -> tuple[float, float]:
    """Colour range: given bounds, or the span of the off-diagonal values when a bound is None
    (LID-profile cosines all sit near 1, which a -1..1 scale would paint one colour)."""
    if zmin is not None and zmax is not None:
        return zmin, zmax
    off = _off_diagonal(mats)
    lo, hi = (float(off.min()), float(off.max())) if off.size else (-1.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 1e-3, hi + 1e-3
    return (lo if zmin is None else zmin), (hi if zmax is None else zmax)


def _similarity_scale(
    mats: Sequence[pd.DataFrame],
    zmin: float | None,
    zmax: float | None,
    fmt: str | None,
    value_label: str | None,
    quantity: str,
) -> dict[str, Any]:
    """Colour scale, range, decimals and colour-bar label that match the data.

    - All off-diagonal values >= 0 (bounds not given): a sequential scale (Viridis, bright =
      high) over the data's range.
    - Mixed signs (bounds not given): a diverging scale centred on 0 (blue < 0 < red).
    - Bounds given: diverging when they straddle 0, sequential otherwise.
    Decimals (``fmt=None``) grow until the spread of the values shows (``.2f`` .. ``.5f``).
    """
    off = _off_diagonal(mats)
    lo, hi = (float(off.min()), float(off.max())) if off.size else (-1.0, 1.0)
    auto = zmin is None and zmax is None
    if auto:
        if lo >= 0:
            zmin, zmax = _auto_range(mats, None, None)
            diverging = False
        else:
            m = max(abs(lo), abs(hi)) or 1.0
            zmin, zmax, diverging = -m, m, True
    else:
        zmin, zmax = _auto_range(mats, zmin, zmax)
        diverging = zmin < 0 < zmax
    spread = hi - lo
    if fmt is None:
        decimals = 2
        while decimals < 5 and spread > 0 and spread < 10 ** (1 - decimals):
            decimals += 1
        fmt = f'.{decimals}f'
    decimals = int(fmt.strip('.f') or 2) if fmt.endswith('f') else 3
    if value_label is None:
        if (zmin, zmax) == (-1, 1):
            value_label = f'{quantity} (−1 to 1)'
        elif auto and not diverging:
            value_label = f'{quantity}<br>(colour: data range)'
        else:
            value_label = f'{quantity}<br>(colour: {zmin:.{decimals}f} to {zmax:.{decimals}f})'.replace('-', '−')
    note = None
    if 0 < spread < 0.01:
        note = (
            f'off-diagonal values span only {lo:.{decimals + 1}f} to {hi:.{decimals + 1}f}: '
            'colours stretch differences in the 3rd decimal or beyond'
        )
    return dict(
        zmin=zmin,
        zmax=zmax,
        fmt=fmt,
        hover_fmt=f'.{decimals + 1}f',
        colorscale='RdBu' if diverging else 'Viridis',
        reversescale=diverging,
        value_label=value_label,
        note=note,
    )


def _with_note(title: str, note: str | None) -> str:
    return f'{title}<br><sup>{note}</sup>' if note else title


def _looks_like_cells(labels: Iterable[Any]) -> bool:
    labels = [str(v) for v in labels]
    return bool(labels) and all(v.startswith('|') and '~' in v for v in labels)


def plot_similarity(
    sim: pd.DataFrame,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    fmt: str | None = None,
    abbreviate: bool = True,
    value_label: str | None = None,
    quantity: str = 'cosine similarity',
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Annotated heatmap of an op x op similarity matrix (values printed in the cells).

    Row 0 is at the top, like the printed DataFrame. NAS-Bench-201 op names are shortened
    (``nor_conv_3x3`` -> ``c3x3``) unless ``abbreviate=False``. Colours: see
    :func:`_similarity_scale` (sequential over the data's range when all values are positive,
    diverging around 0 otherwise; ``zmin``/``zmax`` fix the range). A matrix labelled by cell
    strings (subnets) is drawn by :func:`plot_subnet_similarity` (short ids on the axes).
    ``labels`` may name the axes: ``{'x': ..., 'y': ...}``.
    """
    sim = _check_matrix(sim, 'plot_similarity')
    if _looks_like_cells(sim.index) and _looks_like_cells(sim.columns):
        return plot_subnet_similarity(
            sim, title=title, zmin=zmin, zmax=zmax, fmt=fmt, value_label=value_label, quantity=quantity
        )
    sc = _similarity_scale([sim], zmin, zmax, fmt, value_label, quantity)
    fig = go.Figure(
        _heatmap(
            sim,
            sc['fmt'],
            abbreviate,
            hover_fmt=sc['hover_fmt'],
            value_name=quantity,
            zmin=sc['zmin'],
            zmax=sc['zmax'],
            colorscale=sc['colorscale'],
            reversescale=sc['reversescale'],
            colorbar=dict(title=sc['value_label']),
        )
    )
    labels = labels or {}
    fig.update_layout(
        title_text=_with_note(title or 'Operation similarity', sc['note']),
        xaxis_title=labels.get('x') or sim.columns.name or 'operation',
        yaxis_title=labels.get('y') or sim.index.name or 'operation',
    )
    fig.update_yaxes(autorange='reversed')
    fig.update_xaxes(side='bottom')
    return fig


def subnet_ids(cells: Iterable[Any], prefix: str = 's') -> pd.DataFrame:
    """Short ids (``s0``, ``s1``, ...) for a list of cells, as a table ``id``, ``cell`` to show
    beside a figure that uses the ids."""
    cells = [str(c) for c in cells]
    return pd.DataFrame({'id': [f'{prefix}{i}' for i in range(len(cells))], 'cell': cells})


def plot_subnet_similarity(
    sim: pd.DataFrame,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    fmt: str | None = None,
    value_label: str | None = None,
    quantity: str = 'gradient cosine',
    prefix: str = 's',
    annotate: bool | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Subnet x subnet heatmap (e.g. :func:`nasviz.features.interference.subnet_similarity`).

    Axes carry short ids (``s0`` .. ``s11``, in the matrix's row order) and are named
    "subnet"; hover shows both cells' strings and the value. Values are printed in the cells
    up to 16 subnets (``annotate`` overrides). The figure is square and sized to the number of
    subnets so labels stay readable. Colours as in :func:`plot_similarity`.
    """
    where = 'plot_subnet_similarity'
    sim = _check_matrix(sim, where)
    if sim.shape[0] != sim.shape[1]:
        raise ValueError(f'{where}: expected a square matrix, got shape {sim.shape}')
    n = len(sim)
    ids = [f'{prefix}{i}' for i in range(n)]
    cells = [str(c) for c in sim.index]
    sc = _similarity_scale([sim], zmin, zmax, fmt, value_label, quantity)
    z = sim.to_numpy(dtype=float)
    hover = [
        [
            f'row {ids[i]}: {cells[i]}<br>column {ids[j]}: {cells[j]}<br>'
            f'{quantity}: {"n/a" if not np.isfinite(z[i, j]) else format(z[i, j], sc["hover_fmt"])}'
            for j in range(n)
        ]
        for i in range(n)
    ]
    annotate = n <= 16 if annotate is None else annotate
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=ids,
            y=ids,
            text=hover,
            hovertemplate='%{text}<extra></extra>',
            texttemplate=f'%{{z:{sc["fmt"]}}}' if annotate else None,
            zmin=sc['zmin'],
            zmax=sc['zmax'],
            colorscale=sc['colorscale'],
            reversescale=sc['reversescale'],
            colorbar=dict(title=sc['value_label']),
        )
    )
    side = int(min(900, max(480, 42 * n + 200)))
    labels = labels or {}
    fig.update_layout(
        title_text=_with_note(title or f'{quantity.capitalize()} between subnets (hover: cell)', sc['note']),
        xaxis_title=labels.get('x', 'subnet'),
        yaxis_title=labels.get('y', 'subnet'),
        width=side + 160,
        height=side,
    )
    fig.update_yaxes(autorange='reversed', scaleanchor='x', constrain='domain', type='category')
    fig.update_xaxes(side='bottom', constrain='domain', type='category', tickangle=0)
    return fig


def plot_similarity_grid(
    sims: Mapping[str, pd.DataFrame],
    cols: int = 3,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    fmt: str | None = None,
    abbreviate: bool = True,
    value_label: str | None = None,
    quantity: str = 'cosine similarity',
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Several similarity heatmaps (one per edge or layer) sharing one colour scale, chosen as in
    :func:`plot_similarity` over all panels together."""
    where = 'plot_similarity_grid'
    if not isinstance(sims, Mapping) or not sims:
        raise ValueError(f'{where}: expected a non-empty dict of name -> DataFrame')
    mats = {str(k): _check_matrix(v, f'{where}[{k!r}]') for k, v in sims.items()}
    sc = _similarity_scale(list(mats.values()), zmin, zmax, fmt, value_label, quantity)
    labels = labels or {}
    ncols = max(1, min(cols, len(mats)))
    nrows = math.ceil(len(mats) / ncols)
    height = 360 * nrows + 120
    # spacing in pixels turned into the fractions plotly wants: room for tick labels, the
    # x-axis title and the next row's subplot title
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=list(mats),
        horizontal_spacing=0.06,
        vertical_spacing=min(130 / height, 0.9 / max(nrows - 1, 1)),
    )
    for i, (name, sim) in enumerate(mats.items()):
        r, c = divmod(i, ncols)
        fig.add_trace(
            _heatmap(
                sim,
                sc['fmt'],
                abbreviate,
                hover_fmt=sc['hover_fmt'],
                value_name=quantity,
                coloraxis='coloraxis',
                name=name,
            ),
            row=r + 1,
            col=c + 1,
        )
        fig.update_xaxes(title_text=labels.get('x') or sim.columns.name or 'operation', row=r + 1, col=c + 1)
        # a y title on inner columns would collide with the left neighbour's cells
        fig.update_yaxes(
            title_text=(labels.get('y') or sim.index.name or 'operation') if c == 0 else None,
            autorange='reversed',
            row=r + 1,
            col=c + 1,
        )
    fig.update_layout(
        title_text=_with_note(title or 'Operation similarity per edge', sc['note']),
        coloraxis=dict(
            colorscale=sc['colorscale'],
            reversescale=sc['reversescale'],
            cmin=sc['zmin'],
            cmax=sc['zmax'],
            colorbar=dict(title=sc['value_label']),
        ),
        height=height,
    )
    return fig
