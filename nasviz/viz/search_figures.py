"""Plotly figures for architecture search (notebook 06): the sparse code over epochs, support
changes, recovery error, found cells against baselines and against the space's accuracy
distribution, and the cost of one search step. Every ``plot_*`` returns a ``go.Figure``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nasviz.spaces import SearchSpace, get_space
from nasviz.viz.common import op_abbrev, require
from nasviz.viz.ranking import plot_seed_comparison

__all__ = [
    'plot_code_heatmap',
    'plot_support_changes',
    'plot_recovery',
    'plot_found_vs_space',
    'plot_search_comparison',
    'plot_step_costs',
]

_METHOD_COLOURS = {'ista': '#D55E00', 'darts': '#0072B2', 'spos-rs': '#009E73', 'random': '#6e7781'}


def plot_code_heatmap(
    weights: pd.DataFrame,
    support: Sequence[Any] | None = None,
    title: str | None = None,
    value_label: str = 'z',
    space: str | SearchSpace = 'nb201',
) -> go.Figure:
    """Heatmap of the architecture weights per decision group over epochs: rows ``edge: op`` (in
    the order of ``weights``: NB201 6 edges x 5 ops, DARTS 2 cells x 14 edges x 7 ops), columns
    epochs (1-based), colour the value. ``weights`` is the long frame of
    :meth:`SearchResult.weights_frame` (``epoch``, ``edge``, ``op``, ``value``); ``support`` marks
    the chosen op of each edge with a dot, one entry per epoch: the ``(edge, op)`` pairs the cell
    uses (:meth:`SearchResult.support_labels`) or the string of a cell of ``space``; ops are
    abbreviated as the space abbreviates them."""
    sp = get_space(space)
    require(weights, ['epoch', 'edge', 'op', 'value'], 'plot_code_heatmap')

    def label(e: Any, o: Any) -> str:
        return f'{e}: {op_abbrev(o, sp)}'

    rows = list(dict.fromkeys(label(e, o) for e, o in zip(weights['edge'], weights['op'])))
    epochs = sorted(weights['epoch'].unique())
    w = weights.assign(row=[label(e, o) for e, o in zip(weights['edge'], weights['op'])])
    mat = w.pivot_table(index='row', columns='epoch', values='value', aggfunc='first').reindex(rows)[epochs]
    x = [int(e) + 1 for e in epochs]
    fig = go.Figure(
        go.Heatmap(
            z=mat.to_numpy(),
            x=x,
            y=rows,
            colorscale='Viridis',
            colorbar=dict(title=value_label),
            hovertemplate=f'epoch %{{x}}<br>%{{y}}<br>{value_label} = %{{z:.3f}}<extra></extra>',
        )
    )
    if support is not None:
        xs, ys = [], []
        for ep, chosen in zip(x, support):
            if isinstance(chosen, str):  # a cell string: its (slot, choice) pairs
                chosen = list(sp.assignment(sp.from_str(chosen)).items())
            for e, o in chosen:
                xs.append(ep)
                ys.append(label(e, o))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode='markers',
                name='support (chosen op)',
                marker=dict(color='white', size=7, line=dict(color='black', width=1)),
                hovertemplate='epoch %{x}<br>chosen: %{y}<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or f'Architecture code {value_label} per edge and op over epochs',
        xaxis_title='epoch',
        yaxis_title='edge: op',
        yaxis=dict(autorange='reversed'),
        height=max(620, 14 * len(rows)),
        legend=dict(orientation='h', y=-0.12),
    )
    fig.update_xaxes(tickmode='array', tickvals=x)
    return fig


def plot_support_changes(histories: Mapping[str, pd.DataFrame], title: str | None = None) -> go.Figure:
    """Steps per epoch at which the selected cell changed, one line per search (``histories``:
    label -> history with ``epoch``, ``support_changes``, ``arch``); hover shows the cell at the
    end of the epoch."""
    fig = go.Figure()
    for label, h in histories.items():
        require(h, ['epoch', 'support_changes', 'arch'], 'plot_support_changes')
        method = str(label).split()[0]
        fig.add_trace(
            go.Scatter(
                x=h['epoch'] + 1,
                y=h['support_changes'],
                mode='lines+markers',
                name=str(label),
                line=dict(color=_METHOD_COLOURS.get(method)),
                customdata=[str(a) for a in h['arch']],
                hovertemplate='epoch %{x}: %{y} changes<br>cell: %{customdata}<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or 'Support changes per epoch (steps whose selected cell differed from the step before)',
        xaxis_title='epoch',
        yaxis_title='support changes (steps)',
        hovermode='closest',
    )
    fig.update_xaxes(dtick=1)
    return fig


def plot_recovery(histories: Mapping[str, pd.DataFrame], title: str | None = None) -> go.Figure:
    """ISTA-NAS recovery error ||Az - b|| / ||b|| and block gap (share of |z| outside the
    chosen op) per epoch, one pair of lines per search; both are ratios (0..1)."""
    fig = go.Figure()
    for label, h in histories.items():
        require(h, ['epoch', 'recovery_error', 'block_gap'], 'plot_recovery')
        fig.add_trace(
            go.Scatter(
                x=h['epoch'] + 1,
                y=h['recovery_error'],
                mode='lines+markers',
                name=f'{label}: recovery error',
                hovertemplate='epoch %{x}<br>||Az-b||/||b|| = %{y:.4f}<extra></extra>',
            )
        )
        fig.add_trace(
            go.Scatter(
                x=h['epoch'] + 1,
                y=h['block_gap'],
                mode='lines+markers',
                line=dict(dash='dot'),
                name=f'{label}: block gap',
                hovertemplate='epoch %{x}<br>|z| share outside the chosen op = %{y:.4f}<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or 'Recovery error and block gap of the sparse code per epoch',
        xaxis_title='epoch',
        yaxis_title='ratio (0 = exact / one op per edge)',
        hovermode='closest',
    )
    fig.update_xaxes(dtick=1)
    return fig


def plot_found_vs_space(
    space: pd.DataFrame,
    found: pd.DataFrame,
    baselines: Mapping[str, float] | None = None,
    title: str | None = None,
    nbins: int = 30,
) -> go.Figure:
    """Where found cells fall in the space's accuracy distribution.

    ``space``: ``arch``, ``true_accuracy`` (every cell of the ground truth: histogram, and a rug
    of points whose hover names the cell); ``found``: ``method``, ``seed``, ``arch``,
    ``true_accuracy`` (large markers above the histogram, hover: method, seed, cell, percentile if
    a ``percentile`` column is given). ``baselines``: name -> accuracy, drawn as vertical lines.
    """
    require(space, ['arch', 'true_accuracy'], 'plot_found_vs_space')
    require(found, ['method', 'seed', 'arch', 'true_accuracy'], 'plot_found_vs_space')
    fig = go.Figure()
    fig.add_trace(
        go.Histogram(
            x=space['true_accuracy'],
            nbinsx=nbins,
            name=f'space ({len(space)} cells)',
            marker_color='#c9d1d9',
            hovertemplate='%{x} %<br>%{y} cells<extra></extra>',
        )
    )
    counts, _ = np.histogram(space['true_accuracy'], bins=nbins)
    top = float(counts.max()) if len(counts) else 1.0
    fig.add_trace(
        go.Scatter(
            x=space['true_accuracy'],
            y=np.full(len(space), -0.04 * top),
            mode='markers',
            name='cells of the space',
            marker=dict(symbol='line-ns-open', size=8, color='#6e7781'),
            customdata=space['arch'].astype(str),
            hovertemplate='%{customdata}<br>%{x:.2f} %<extra></extra>',
        )
    )
    pct = found['percentile'] if 'percentile' in found.columns else pd.Series(np.nan, index=found.index)
    for i, (method, g) in enumerate(found.groupby('method', sort=False)):
        jitter = top * (1.08 + 0.08 * i)
        fig.add_trace(
            go.Scatter(
                x=g['true_accuracy'],
                y=np.full(len(g), jitter),
                mode='markers',
                name=f'found by {method}',
                marker=dict(size=13, color=_METHOD_COLOURS.get(method), line=dict(color='black', width=1)),
                customdata=np.column_stack([g['seed'], g['arch'].astype(str), pct.loc[g.index].to_numpy()]),
                hovertemplate=(
                    f'{method}, seed %{{customdata[0]}}<br>%{{customdata[1]}}<br>true accuracy %{{x:.2f}} %'
                    '<br>above %{customdata[2]:.0f}% of the space<extra></extra>'
                ),
            )
        )
    for name, v in (baselines or {}).items():
        fig.add_vline(
            x=float(v),
            line=dict(dash='dash', color='#8250df', width=1.2),
            annotation_text=f'{name}: {float(v):.2f}',
            annotation_position='top left',
            annotation_font=dict(size=10, color='#8250df'),
        )
    fig.update_layout(
        title_text=title or 'Found cells in the accuracy distribution of the space',
        xaxis_title='true accuracy (%)',
        yaxis_title='cells',
        bargap=0.02,
        hovermode='closest',
        legend=dict(orientation='h', y=-0.2),
    )
    return fig


def plot_search_comparison(
    runs: pd.DataFrame, references: Mapping[str, Any] | None = None, title: str | None = None
) -> go.Figure:
    """True accuracy of each method's found cell: mean ± SE over seeds and every seed's dot
    (``runs``: ``method``, ``seed``, ``true_accuracy``), trivial baselines as reference lines."""
    fig = plot_seed_comparison(
        runs,
        value='true_accuracy',
        references=references,
        labels={'true_accuracy': 'true accuracy of the found cell (%)'},
        title=title or 'True accuracy of the found cell per method',
    )
    return fig


def plot_step_costs(costs: pd.DataFrame, reference: str = 'darts', title: str | None = None) -> go.Figure:
    """Cost of one search step per method: seconds (left) and activation memory kept for the
    backward pass in MiB (right); hover gives the ratio to ``reference``. ``costs``: ``kind``,
    ``step_s``, ``saved_mib`` (as printed by ``benchmarks/search_step.py``)."""
    require(costs, ['kind', 'step_s', 'saved_mib'], 'plot_step_costs')
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=('time of one search step (s)', 'activation memory of one weight step (MiB)'),
        horizontal_spacing=0.14,
    )
    ref = costs.set_index('kind').loc[reference] if reference in set(costs['kind']) else None
    for col, (metric, unit) in enumerate((('step_s', 's'), ('saved_mib', 'MiB')), start=1):
        ratio = costs[metric] / float(ref[metric]) if ref is not None else pd.Series(np.nan, index=costs.index)
        fig.add_trace(
            go.Bar(
                x=costs['kind'],
                y=costs[metric],
                showlegend=False,
                marker_color=[
                    _METHOD_COLOURS.get(str(k).split('-')[0] if k != 'spos' else 'spos-rs', '#999')
                    for k in costs['kind']
                ],
                customdata=ratio.to_numpy(),
                hovertemplate=(
                    f'%{{x}}: %{{y:.3f}} {unit}<br>{"ratio to " + reference if ref is not None else ""}'
                    ' %{customdata:.2f}<extra></extra>'
                ),
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(title_text=unit, row=1, col=col)
    fig.update_layout(title_text=title or f'Cost of one search step (ratios to {reference} in the hover)')
    return fig
