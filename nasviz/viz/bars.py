"""Bar charts: cost (peak memory and wall time) per method, grouped bars with error bars, and
bars with CI error bars beside a chance level. Every ``plot_*`` returns a ``go.Figure``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nasviz.viz.common import (
    PALETTE,
    as_list,
    axis_label,
    category_colours,
    custom_data,
    hover_template,
    op_colour,
    require,
    short_label,
)

__all__ = ['plot_cost_bars', 'plot_bars', 'plot_interval_bars']


def plot_cost_bars(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Peak memory and wall time per method as two side-by-side bar panels.

    Columns ``method``, ``peak_memory_mb``, ``time_s``; ``peak_memory_mb_std`` and ``time_s_std``
    add error bars when present. Two panels because MB and seconds share no axis.
    """
    where = 'plot_cost_bars'
    require(df, ['method', 'peak_memory_mb', 'time_s'], where)
    fig = make_subplots(rows=1, cols=2, subplot_titles=('peak memory', 'wall time'), horizontal_spacing=0.12)
    methods = df['method'].astype(str)
    for col, (metric, unit_fmt) in enumerate((('peak_memory_mb', '%{y:.1f} MB'), ('time_s', '%{y:.2f} s')), start=1):
        std = f'{metric}_std'
        fig.add_trace(
            go.Bar(
                x=methods,
                y=df[metric],
                name=axis_label(metric),
                marker_color=PALETTE[col - 1],
                error_y=dict(type='data', array=df[std], visible=True) if std in df.columns else None,
                hovertemplate=f'method: %{{x}}<br>{short_label(metric)}: {unit_fmt}<extra></extra>',
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text='method', row=1, col=col)
        fig.update_yaxes(title_text=axis_label(metric), row=1, col=col)
    fig.update_layout(title_text=title or 'Cost per method', showlegend=False)
    return fig


def plot_bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    group: str | None = None,
    error: str | None = None,
    hover: str | Sequence[str] | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Grouped bars of ``y`` per category ``x`` (kept in table order), one colour per ``group``,
    with ``error`` as error bars; e.g. cluster-quality indices per feature kind, interference
    per layer."""
    where = 'plot_bars'
    hov = as_list(hover)
    require(df, [x, y, group, error, *hov], where)
    groups = list(df.groupby(group, sort=False)) if group is not None else [(y, df)]
    colours: Mapping[Any, str | list[str | None]] = category_colours(n for n, _ in groups)
    if group is None and len(df) and all(op_colour(v) for v in df[x]):
        colours = {y: [op_colour(v) for v in df[x]]}  # one bar per op: each in its op colour
    fig = go.Figure()
    for name, part in groups:
        template = (f'{group}: {name}<br>' if group else '') + f'{x}: %{{x}}<br>{y}: %{{y:.4g}}'
        template += '<br>' + hover_template(hov, df=df) if hov else ''
        fig.add_trace(
            go.Bar(
                x=part[x].astype(str),
                y=part[y],
                name=str(name),
                marker_color=colours[name],
                error_y=dict(type='data', array=part[error].to_numpy(dtype=float), visible=True) if error else None,
                customdata=custom_data(part, hov),
                hovertemplate=template + '<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or f'{short_label(y, labels)} by {short_label(x, labels)}',
        barmode='group',
        xaxis_title=axis_label(x, labels),
        yaxis_title=axis_label(y, labels),
        legend_title_text=group or '',
    )
    fig.update_xaxes(categoryorder='array', categoryarray=list(dict.fromkeys(df[x].astype(str))))
    return fig


def plot_interval_bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    low: str,
    high: str,
    group: str | None = None,
    hover: str | Sequence[str] | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    chance: str | None = None,
    ci_label: str = '95% bootstrap CI',
) -> go.Figure:
    """Grouped bars of ``y`` per ``x`` with asymmetric error bars from ``low``/``high`` (a CI),
    one colour per ``group``; ``chance`` (a column) draws each bar's chance level as a black
    tick, e.g. top-k precision beside the share random scores reach."""
    where = 'plot_interval_bars'
    hov = as_list(hover)
    require(df, [x, y, low, high, group, chance, *hov], where)
    groups = list(df.groupby(group, sort=False)) if group is not None else [(y, df)]
    colours = category_colours(n for n, _ in groups)
    lab = dict(labels or {})
    fig = go.Figure()
    for name, part in groups:
        custom = (
            np.column_stack([part[low], part[high], *[part[h].astype(str) for h in hov]]).astype(object)
            if len(part)
            else None
        )
        extra = ''.join(f'<br>{lab.get(h, h)}: %{{customdata[{i + 2}]}}' for i, h in enumerate(hov))
        fig.add_trace(
            go.Bar(
                x=part[x],
                y=part[y],
                name=str(name),
                marker_color=colours[name],
                customdata=custom,
                error_y=dict(
                    type='data',
                    symmetric=False,
                    array=(part[high] - part[y]).to_numpy(),
                    arrayminus=(part[y] - part[low]).to_numpy(),
                    visible=True,
                ),
                hovertemplate=(
                    f'{lab.get(x, x)}: %{{x}}<br>{lab.get(y, y)}: %{{y:.3f}} '
                    f'[%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]{extra}<extra>{name}</extra>'
                ),
            )
        )
        if chance is not None:
            fig.add_trace(
                go.Scatter(
                    x=part[x],
                    y=part[chance],
                    mode='markers',
                    showlegend=False,
                    marker=dict(symbol='line-ew-open', size=28, color='black', line=dict(width=2)),
                    name=f'{name}: chance',
                    hovertemplate='chance: %{y:.3f}<extra></extra>',
                )
            )
    fig.update_layout(
        barmode='group',
        title_text=(title or f'{y} per {x}')
        + f'<br><sup>error bars: {ci_label}'
        + ('; black ticks: chance level' if chance else '')
        + '</sup>',
        xaxis_title=lab.get(x, x),
        yaxis_title=lab.get(y, y),
        legend_title_text=group or '',
    )
    return fig
