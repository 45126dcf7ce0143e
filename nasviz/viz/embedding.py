"""The 2-D embedding scatter (e.g. UMAP of per-architecture features; the embedding itself is
computed in the analysis code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from nasviz.viz.common import (
    as_list,
    axis_label,
    category_colours,
    custom_data,
    hover_template,
    is_categorical,
    require,
)

__all__ = ['plot_embedding']


def plot_embedding(
    emb: pd.DataFrame,
    x: str = 'x',
    y: str = 'y',
    color: str | None = None,
    hover: str | Sequence[str] | None = None,
    categorical: bool | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """2-D scatter of an embedding (e.g. UMAP of per-arch features).

    ``color`` is treated as categorical (legend) when ``categorical`` is True or, by default,
    when the column is not numeric; otherwise as continuous (colour bar). ``hover`` columns
    show on mouse-over.
    """
    where = 'plot_embedding'
    hover_cols = as_list(hover)
    require(emb, [x, y, color, *hover_cols], where)
    if categorical is None:
        categorical = color is not None and is_categorical(emb[color])
    base = hover_template(hover_cols, df=emb)
    fig = go.Figure()
    if color is not None and categorical:
        groups = list(emb.groupby(color, sort=True, observed=True))
        colours = category_colours(v for v, _ in groups)
        for value, part in groups:
            fig.add_trace(
                go.Scatter(
                    x=part[x],
                    y=part[y],
                    mode='markers',
                    name=str(value),
                    marker=dict(size=6, opacity=0.8, color=colours[value]),
                    customdata=custom_data(part, hover_cols),
                    hovertemplate=f'{color}: {value}' + ('<br>' + base if base else '') + '<extra></extra>',
                )
            )
        fig.update_layout(legend_title_text=color)
    else:
        marker: dict[str, Any] = dict(size=6, opacity=0.8)
        template = base or f'{x}: %{{x:.3f}}<br>{y}: %{{y:.3f}}'
        if color is not None:
            marker.update(
                color=emb[color], colorscale='Viridis', showscale=True, colorbar=dict(title=axis_label(color, labels))
            )
            template += f'<br>{color}: %{{marker.color:.4g}}'
        fig.add_trace(
            go.Scatter(
                x=emb[x],
                y=emb[y],
                mode='markers',
                name='points',
                marker=marker,
                customdata=custom_data(emb, hover_cols),
                hovertemplate=template + '<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or 'Embedding' + (f' coloured by {color}' if color else ''),
        xaxis_title=axis_label(x, labels),
        yaxis_title=axis_label(y, labels),
        hovermode='closest',
    )
    return fig
