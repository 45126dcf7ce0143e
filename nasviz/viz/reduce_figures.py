"""Figures for training-free proxies and C-BRED reduction. Every ``plot_*`` returns a plotly
Figure and never shows it; inputs are the DataFrames of :mod:`nasviz.proxies.validation` and
:mod:`nasviz.reduce`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.viz.common import require

__all__ = ['plot_proxy_vs_accuracy', 'plot_selection_vs_baselines', 'plot_proxy_validation', 'plot_cbred_grid']


def plot_proxy_vs_accuracy(
    df: pd.DataFrame,
    proxy: str,
    truth: str = 'accuracy',
    rho: Any = None,
    hover: str = 'arch_str',
    truth_label: str = 'ground-truth accuracy (%)',
    title: str | None = None,
) -> go.Figure:
    """Scatter of one proxy against accuracy (one point per cell, hover: the cell), titled with
    the Spearman estimate, its CI and n when ``rho`` (an ``Estimate``) is given."""
    require(df, [proxy, truth, hover], 'plot_proxy_vs_accuracy')
    d = df[np.isfinite(df[proxy].astype(float)) & np.isfinite(df[truth].astype(float))]
    fig = go.Figure(
        go.Scatter(
            x=d[proxy],
            y=d[truth],
            mode='markers',
            marker=dict(size=5, opacity=0.6),
            customdata=d[[hover]].to_numpy(),
            name='cells',
            hovertemplate=f'%{{customdata[0]}}<br>{proxy}: %{{x:.4g}}<br>accuracy: %{{y:.2f}}%<extra></extra>',
        )
    )
    stat = '' if rho is None else (f' - Spearman {rho.estimate:.2f} [95% CI {rho.low:.2f}, {rho.high:.2f}], n={rho.n}')
    fig.update_layout(
        title_text=(title or f'{proxy} vs accuracy') + stat,
        xaxis_title=f'{proxy} (score, higher = better)',
        yaxis_title=truth_label,
        hovermode='closest',
    )
    return fig


def plot_selection_vs_baselines(
    comp: pd.DataFrame, title: str | None = None, truth_label: str = 'mean accuracy (%)'
) -> go.Figure:
    """Mean accuracy of the C-BRED selection and each baseline (rows of
    :func:`nasviz.reduce.compare_selection`) with their intervals as error bars; the whole set's
    mean is a reference line, not a bar. Hover: n and what the interval is."""
    require(comp, ['method', 'n', 'mean', 'low', 'high'], 'plot_selection_vs_baselines')
    bars = comp[~comp['method'].isin(['whole set', 'whole space, all cells'])]
    notes = bars['note'] if 'note' in bars.columns else pd.Series([''] * len(bars), index=bars.index)
    fig = go.Figure(
        go.Bar(
            x=bars['method'],
            y=bars['mean'],
            error_y=dict(
                type='data', symmetric=False, array=bars['high'] - bars['mean'], arrayminus=bars['mean'] - bars['low']
            ),
            customdata=np.stack([bars['n'], bars['low'], bars['high'], notes], axis=1),
            hovertemplate='%{x}<br>mean %{y:.2f}% [%{customdata[1]:.2f}, %{customdata[2]:.2f}]<br>n=%{customdata[0]}'
            '<br>%{customdata[3]}<extra></extra>',
            name='mean accuracy',
        )
    )
    whole = comp[comp['method'] == 'whole set']
    if len(whole):
        w = whole.iloc[0]
        fig.add_hline(
            y=float(w['mean']), line_dash='dash', annotation_text=f'whole set {w["mean"]:.2f}% (n={int(w["n"])})'
        )
    lo = float(np.nanmin(comp['low'])) if np.isfinite(comp['low']).any() else float(comp['mean'].min())
    fig.update_layout(
        title_text=title
        or 'C-BRED selection vs same-size baselines (error bars: 95% bootstrap CI; random: central 95% of draws)',
        yaxis_title=truth_label,
        yaxis_range=[lo - 2, float(np.nanmax(comp['high'])) + 2],
    )
    return fig


def plot_proxy_validation(val: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Our Spearman per proxy (95% CI error bars, n on hover) beside the published value
    (diamonds) and parameter count on the same cells (dashed line per proxy as a marker)."""
    require(val, ['proxy', 'n', 'spearman', 'low', 'high'], 'plot_proxy_validation')
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=val['proxy'],
            y=val['spearman'],
            name='ours (95% CI)',
            error_y=dict(
                type='data',
                symmetric=False,
                array=val['high'] - val['spearman'],
                arrayminus=val['spearman'] - val['low'],
            ),
            customdata=np.stack([val['n'], val.get('truth', pd.Series([''] * len(val)))], axis=1),
            hovertemplate='%{x}: %{y:.3f}<br>n=%{customdata[0]}<br>vs %{customdata[1]}<extra></extra>',
        )
    )
    if 'published' in val.columns:
        pub = val[np.isfinite(val['published'].astype(float))]
        fig.add_trace(
            go.Scatter(
                x=pub['proxy'],
                y=pub['published'],
                mode='markers',
                name='published',
                marker=dict(symbol='diamond', size=11, color='black'),
                hovertemplate='%{x}: published %{y:.2f}<extra></extra>',
            )
        )
    if 'params_spearman' in val.columns:
        fig.add_trace(
            go.Scatter(
                x=val['proxy'],
                y=val['params_spearman'],
                mode='markers',
                name='params, same cells',
                marker=dict(symbol='line-ew-open', size=26, line=dict(width=2)),
                hovertemplate='%{x}: params %{y:.3f} on the same cells<extra></extra>',
            )
        )
    fig.update_layout(
        title_text=title or 'Spearman rho of each proxy with ground truth: ours vs published',
        yaxis_title='Spearman rho',
        yaxis_range=[min(-0.1, float(val['low'].min()) - 0.05), 1],
    )
    return fig


def plot_cbred_grid(
    grid: pd.DataFrame,
    default: tuple[int, str] | None = None,
    reference: float | None = None,
    truth_label: str = 'selected mean accuracy (%)',
    title: str | None = None,
) -> go.Figure:
    """Heatmap of the C-BRED selection's mean accuracy over the grid of settings (rows of
    :func:`nasviz.reduce.evaluate.cbred_grid`: number of clusters ``k`` x distance), the cell text
    giving the mean and the selection's size; hover adds the seeds' SE. ``default`` ``(k,
    distance)`` is outlined; ``reference`` (e.g. the whole space's mean) is named in the title."""
    require(grid, ['k', 'distance', 'n', 'mean'], 'plot_cbred_grid')
    ks = sorted(grid['k'].unique())
    ds = list(dict.fromkeys(grid['distance']))
    piv = grid.pivot(index='distance', columns='k', values='mean').reindex(index=ds, columns=ks)
    n = grid.pivot(index='distance', columns='k', values='n').reindex(index=ds, columns=ks)
    se = (
        grid.pivot(index='distance', columns='k', values='se').reindex(index=ds, columns=ks)
        if 'se' in grid.columns
        else n * np.nan
    )
    text = [
        [
            ('-' if not np.isfinite(piv.iloc[i, j]) else f'{piv.iloc[i, j]:.1f}%<br>n={n.iloc[i, j]:.0f}')
            for j in range(len(ks))
        ]
        for i in range(len(ds))
    ]
    fig = go.Figure(
        go.Heatmap(
            z=piv.to_numpy(),
            x=[str(k) for k in ks],
            y=ds,
            text=text,
            texttemplate='%{text}',
            colorscale='Viridis',
            customdata=np.stack([n.to_numpy(), se.to_numpy()], axis=-1),
            colorbar=dict(title='%'),
            hovertemplate='k=%{x}, distance %{y}<br>mean %{z:.2f}% (SE over seeds %{customdata[1]:.2f})'
            '<br>selected cells: %{customdata[0]:.0f}<extra></extra>',
        )
    )
    if default is not None and default[0] in ks and default[1] in ds:
        j, i = ks.index(default[0]), ds.index(default[1])
        fig.add_shape(type='rect', x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, line=dict(color='red', width=3))
        fig.add_annotation(
            x=str(default[0]), y=default[1], text='default', showarrow=False, yshift=22, font=dict(color='red')
        )
    ref = '' if reference is None else f' (whole space {reference:.2f}%)'
    fig.update_layout(
        title_text=(title or 'C-BRED selection over the grid of settings') + ref,
        xaxis_title='number of clusters k',
        yaxis_title='distance',
    )
    fig.update_traces(colorbar_title=truth_label)
    return fig
