"""Curves: layer-wise intrinsic dimension per operation, any metric against a numeric axis with
error bars or CIs, and ranking quality against the number of sub-supernets. Every ``plot_*``
returns a ``go.Figure``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.viz.common import (
    Reference,
    add_references,
    axis_label,
    category_colours,
    ci_columns,
    integer_ticks,
    op_abbrev,
    reference_role,
    require,
    rgba,
    short_label,
)

__all__ = ['plot_lid_curves', 'plot_metric_vs', 'plot_tau_vs_partitions']


def plot_lid_curves(
    df: pd.DataFrame,
    op: str = 'op',
    block: str = 'block',
    lid: str = 'lid',
    lid_std: str | None = 'lid_std',
    error: str = 'band',
    abbreviate: bool = True,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Layer-wise intrinsic dimension: one line per op, x = block index.

    ``df`` is long-form (one row per op and block). When the ``lid_std`` column exists, it is
    drawn as a shaded band (``error='band'``) or as error bars (``error='bars'``).
    """
    where = 'plot_lid_curves'
    if error not in ('band', 'bars'):
        raise ValueError(f"{where}: error must be 'band' or 'bars', got {error!r}")
    require(df, [op, block, lid], where)
    has_std = lid_std is not None and lid_std in df.columns
    fig = go.Figure()
    groups = list(df.groupby(op, sort=False))
    colours = category_colours(n for n, _ in groups)
    for name, part in groups:
        part = part.sort_values(block)
        colour = colours[name]
        label = op_abbrev(name) if abbreviate else str(name)
        x, y = part[block].to_numpy(), part[lid].to_numpy(dtype=float)
        std = part[lid_std].to_numpy(dtype=float) if has_std else None
        if std is not None and error == 'band':
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([x, x[::-1]]),
                    y=np.concatenate([y + std, (y - std)[::-1]]),
                    fill='toself',
                    mode='lines',
                    fillcolor=rgba(colour, 0.2),
                    line=dict(width=0),
                    legendgroup=label,
                    showlegend=False,
                    hoverinfo='skip',
                    name=f'{label} ± std',
                )
            )
        template = f'op: {label}<br>block: %{{x}}<br>LID: %{{y:.2f}}'
        if std is not None:
            template += ' ± %{customdata:.2f}'
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode='lines+markers',
                name=label,
                legendgroup=label,
                line=dict(color=colour),
                marker=dict(color=colour),
                customdata=std,
                error_y=(dict(type='data', array=std, visible=True) if std is not None and error == 'bars' else None),
                hovertemplate=template + '<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or 'Layer-wise intrinsic dimension per operation',
        xaxis_title=axis_label(block, labels),
        yaxis_title=axis_label(lid, labels),
        legend_title_text='operation',
        hovermode='closest',
    )
    fig.update_xaxes(dtick=1)
    return fig


def plot_metric_vs(
    df: pd.DataFrame,
    x: str,
    y: str,
    group: str | None = None,
    error: str | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    low: str | None = None,
    high: str | None = None,
    references: Mapping[str, Reference] | None = None,
    error_label: str | None = None,
) -> go.Figure:
    """Lines of ``y`` against ``x``, one per ``group`` value, with error bars: ``error`` (a
    symmetric spread column) or ``low``/``high`` (interval bounds, e.g. a bootstrap CI).

    E.g. Kendall τ vs number of partitions per method, or interference vs epoch. ``references``
    (``{label: value | (estimate, low, high) | estimate dict}``) draws labelled horizontal lines
    (a band for an interval). ``error_label`` (e.g. "95% bootstrap CI", "± std") is written
    under the title. Integer x values get integer ticks.
    """
    where = 'plot_metric_vs'
    require(df, [x, y, group, error, low, high], where)
    groups = list(df.groupby(group, sort=False)) if group is not None else [(y, df)]
    colours = category_colours(n for n, _ in groups)
    fig = go.Figure()
    for name, part in groups:
        part = part.sort_values(x)
        yv = part[y].to_numpy(dtype=float)
        template = (f'{group}: {name}<br>' if group else '') + f'{x}: %{{x}}<br>{y}: %{{y:.4g}}'
        err: dict[str, Any] | None = None
        custom = None
        if low and high:
            lo, hi = part[low].to_numpy(dtype=float), part[high].to_numpy(dtype=float)
            err = dict(type='data', symmetric=False, array=hi - yv, arrayminus=yv - lo, visible=True)
            custom = np.column_stack([lo, hi])
            template += ' [%{customdata[0]:.3g}, %{customdata[1]:.3g}]'
        elif error:
            e = part[error].to_numpy(dtype=float)
            err = dict(type='data', array=e, visible=True)
            custom = e
            template += ' ± %{customdata:.3g}'
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=yv,
                mode='lines+markers',
                name=str(name),
                line=dict(color=colours[name]),
                marker=dict(color=colours[name]),
                customdata=custom,
                error_y=err,
                hovertemplate=template + '<extra></extra>',
            )
        )
    add_references(fig, references)
    head = title or f'{short_label(y, labels)} vs {short_label(x, labels)}'
    if error_label:
        head += f'<br><sup>error bars: {error_label}</sup>'
    fig.update_layout(
        title_text=head,
        xaxis_title=axis_label(x, labels),
        yaxis_title=axis_label(y, labels),
        legend_title_text=group or '',
        hovermode='closest',
    )
    if pd.api.types.is_numeric_dtype(df[x]):
        integer_ticks(fig, df[x], 'x')
    return fig


def plot_tau_vs_partitions(
    sweep: pd.DataFrame,
    x: str = 'n_partitions',
    metric: str = 'kendall_tau',
    group: str = 'method',
    low: str | None = None,
    high: str | None = None,
    references: Mapping[str, Reference] | None = None,
    reference_label: str = 'method',
    title: str | None = None,
    ci_label: str = '95% bootstrap CI',
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Ranking quality against the number of sub-supernets, one line per partition method.

    ``sweep`` is the table of :func:`nasviz.experiment.ranking_vs_partitions`: rows with
    ``kind == 'method'`` are drawn as lines (with CI error bars when ``low``/``high`` columns,
    or ``{metric}_low``/``{metric}_high``, exist); rows with ``kind == 'baseline'`` (params,
    random scores, seed-to-seed ceiling) become labelled reference lines, with their interval as
    a band. ``references`` adds or overrides lines (e.g. ``{'reliability ceiling': 0.63}``).
    """
    where = 'plot_tau_vs_partitions'
    require(sweep, [x, metric, group], where)
    kind = sweep['kind'] if 'kind' in sweep.columns else pd.Series('method', index=sweep.index)
    methods = sweep[kind.astype(str) != 'baseline']
    base = sweep[kind.astype(str) == 'baseline']
    lo, hi = ci_columns(sweep, metric, low, high)
    refs: dict[str, Reference] = {}
    roles: dict[str, str] = {}
    for _, row in base.iterrows():
        est = row[metric]
        if est is None or (isinstance(est, float) and math.isnan(est)):
            continue
        ref = dict(
            estimate=float(est),
            low=row[lo] if lo else None,
            high=row[hi] if hi else None,
            n=row['n'] if 'n' in base.columns else None,
        )
        name = str(row.get('label', row[reference_label]) if 'label' in base.columns else row[reference_label])
        if lo is None and f'{metric}_std' in base.columns and reference_role(name, 'baseline') == 'random':
            sd = float(row[f'{metric}_std'])  # random scores: mean ± std over draws
            ref.update(low=est - sd, high=est + sd)
            name += ' (± std over draws)'
        refs[name] = ref
        roles[name] = reference_role(row[reference_label], 'baseline') or 'baseline'
    refs.update(references or {})
    fig = plot_metric_vs(
        methods,
        x=x,
        y=metric,
        group=group,
        low=lo,
        high=hi,
        references=None,
        labels=labels,
        error_label=ci_label if lo else None,
        title=title or f'{short_label(metric, labels)} vs number of sub-supernets',
    )
    add_references(fig, refs, roles)
    fig.update_layout(legend_title_text=group)
    return fig
