"""Ranking figures: supernet score against ground truth, ranking quality per method (with
baselines, CIs, seeds) and over training. Every ``plot_*`` returns a ``go.Figure`` and never shows it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nasviz.viz.common import (
    BASELINE_COLOUR,
    CONTENDER_COLOUR,
    DEFAULT_BASELINES,
    Reference,
    add_references,
    as_list,
    axis_label,
    category_colours,
    ci_columns,
    custom_data,
    hover_template,
    integer_ticks,
    is_categorical,
    reference_role,
    require,
    rgba,
    short_label,
)

__all__ = ['plot_ranking', 'plot_ranking_baselines', 'plot_ranking_ci', 'plot_seed_comparison', 'plot_over_training']


def _rank_correlations(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    ok = np.isfinite(x) & np.isfinite(y)
    # fewer than 3 points or a constant column: a rank correlation says nothing
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan, math.nan
    tau = stats.kendalltau(x[ok], y[ok]).statistic
    rho = stats.spearmanr(x[ok], y[ok]).statistic
    return float(tau), float(rho)


def _fmt(v: float) -> str:
    return 'n/a' if v is None or not np.isfinite(v) else f'{v:.3f}'


def _numeric(df: pd.DataFrame, col: str, where: str) -> np.ndarray:
    try:
        return pd.to_numeric(df[col]).to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f'{where}: column {col!r} must be numeric') from None


def plot_ranking(
    df: pd.DataFrame,
    score: str = 'score',
    truth: str = 'accuracy',
    hover: str | Sequence[str] | None = 'arch',
    color: str | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Supernet score (x) against ground truth (y), one point per architecture.

    The title carries Kendall τ and Spearman ρ over the rows where both values are finite;
    hover shows the ``hover`` columns (the cell string by default). ``color`` colours points
    by a column: one legend entry per value when it is categorical, a colour bar otherwise.
    """
    where = 'plot_ranking'
    hover_cols = as_list(hover)
    require(df, [score, truth, color, *hover_cols], where)
    x, y = _numeric(df, score, where), _numeric(df, truth, where)
    tau, rho = _rank_correlations(x, y)
    head = title or f'{short_label(truth, labels)} vs {short_label(score, labels)}'
    full_title = f'{head}<br><sup>Kendall τ = {_fmt(tau)}, Spearman ρ = {_fmt(rho)}, n = {len(df)}</sup>'

    template = (
        hover_template(hover_cols, df=df)
        + ('<br>' if hover_cols else '')
        + f'{score}: %{{x:.4g}}<br>{truth}: %{{y:.4g}}<extra></extra>'
    )
    fig = go.Figure()
    if color is not None and is_categorical(df[color]):
        groups = list(df.groupby(color, sort=True, observed=True))
        colours = category_colours(v for v, _ in groups)
        for value, part in groups:
            fig.add_trace(
                go.Scatter(
                    x=part[score],
                    y=part[truth],
                    mode='markers',
                    name=str(value),
                    marker=dict(color=colours[value], size=7, opacity=0.8),
                    customdata=custom_data(part, hover_cols),
                    hovertemplate=f'{color}: {value}<br>' + template,
                )
            )
        fig.update_layout(legend_title_text=color)
    else:
        marker: dict[str, Any] = dict(size=7, opacity=0.8)
        if color is not None:
            marker.update(
                color=df[color], colorscale='Viridis', showscale=True, colorbar=dict(title=axis_label(color, labels))
            )
            template = template.replace('<extra>', f'<br>{color}: %{{marker.color:.4g}}<extra>')
        fig.add_trace(
            go.Scatter(
                x=df[score],
                y=df[truth],
                mode='markers',
                name='architectures',
                marker=marker,
                customdata=custom_data(df, hover_cols),
                hovertemplate=template,
            )
        )
    fig.update_layout(
        title_text=full_title,
        xaxis_title=axis_label(score, labels),
        yaxis_title=axis_label(truth, labels),
        hovermode='closest',
    )
    return fig


def plot_ranking_baselines(
    table: pd.DataFrame,
    baselines: Iterable[str] = DEFAULT_BASELINES,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Kendall τ per method as bars, with ``kendall_tau_std`` as error bars (± std) when present.

    Methods named in ``baselines`` (case-insensitive), or flagged by a boolean ``is_baseline``
    column or ``kind == 'baseline'`` (as in ``nasviz.analysis.baselines.baseline_metrics``), are
    grey so the contenders stand out; rows keep their order in ``table``. Chance (random
    scores) is never a bar: it is a dashed line with its ± std band; the seed-to-seed ceiling
    is a dotted line. For CIs use :func:`plot_ranking_ci`.
    """
    where = 'plot_ranking_baselines'
    require(table, ['method', 'kendall_tau'], where)
    base_names = {b.lower() for b in baselines}
    if 'is_baseline' in table.columns:
        is_base = table['is_baseline'].astype(bool).to_numpy()
    elif 'kind' in table.columns:
        is_base = (table['kind'] == 'baseline').to_numpy()
    else:
        is_base = table['method'].astype(str).str.lower().isin(base_names).to_numpy()
    role = np.array(
        [reference_role(m, 'baseline') if b else None for m, b in zip(table['method'], is_base)], dtype=object
    )
    as_line = np.isin(role, ['random', 'ceiling'])
    has_std = 'kendall_tau_std' in table.columns
    extra = [c for c in ('spearman', 'kendall_tau_std') if c in table.columns]

    fig = go.Figure()
    for flag, name, colour in ((False, 'method', CONTENDER_COLOUR), (True, 'baseline', BASELINE_COLOUR)):
        part = table[(is_base == flag) & ~as_line]
        if part.empty:
            continue
        template = 'method: %{x}<br>Kendall τ: %{y:.3f}'
        template += ''.join(f'<br>{c}: %{{customdata[{i}]:.3f}}' for i, c in enumerate(extra))
        fig.add_trace(
            go.Bar(
                x=part['method'].astype(str),
                y=part['kendall_tau'],
                name=name,
                marker_color=colour,
                error_y=dict(type='data', array=part['kendall_tau_std'], visible=True) if has_std else None,
                customdata=part[extra].to_numpy(dtype=float) if extra else None,
                hovertemplate=template + '<extra></extra>',
            )
        )
    refs: dict[str, Reference] = {}
    roles: dict[str, str | None] = {}
    for _, row in table[as_line].iterrows():
        est = float(row['kendall_tau'])
        sd = float(row['kendall_tau_std']) if has_std and pd.notna(row['kendall_tau_std']) else 0.0
        r = reference_role(row['method'], 'baseline')
        label = str(row['method']) + (' (± std)' if r == 'random' and sd > 0 else '')
        refs[label] = (est, est - sd, est + sd) if r == 'random' and sd > 0 else est
        roles[label] = r
    add_references(fig, refs, roles)
    head = title or 'Ranking correlation with ground truth by method'
    if has_std:
        head += '<br><sup>error bars: ± std over seeds or draws</sup>'
    fig.update_layout(
        title_text=head,
        xaxis_title=axis_label('method', labels),
        yaxis_title=axis_label('kendall_tau', labels),
        legend_title_text='kind',
        bargap=0.3,
    )
    # keep the table's row order rather than plotly's per-trace category order
    fig.update_xaxes(categoryorder='array', categoryarray=list(table.loc[~as_line, 'method'].astype(str)))
    return fig


def _ci_level_text(table: pd.DataFrame, level: float | None, ci_method: str) -> str:
    if level is None and 'level' in table.columns and table['level'].notna().any():
        level = float(table['level'].dropna().iloc[0])
    level = 0.95 if level is None else float(level)
    return f'{level * 100:g}% {ci_method} CI'


def plot_ranking_ci(
    table: pd.DataFrame,
    metrics: str | Sequence[str] | None = None,
    title: str | None = None,
    level: float | None = None,
    ci_method: str = 'bootstrap',
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Ranking quality per method with confidence intervals, beside the trivial baselines.

    ``table`` is long: ``method``, ``metric``, ``estimate``, ``low``, ``high``, ``n`` (one row
    per method and metric; ``Estimate.to_dict()`` rows plus ``method``/``metric``), optionally
    ``kind`` (``method`` | ``baseline``) and ``level``. One panel per metric (or the ones in
    ``metrics``), stacked. Contenders are points with CI error bars; predictor baselines
    (params, ...) grey diamonds with error bars; random scores a grey band (its CI) with a
    dashed line, never a bar; the seed-to-seed ceiling a dotted green line (its CI a light
    band). n is in the tick labels and the hover; the title says what the error bars are.
    """
    where = 'plot_ranking_ci'
    require(table, ['method', 'estimate', 'low', 'high'], where)
    df = table.copy()
    if 'metric' not in df.columns:
        df['metric'] = 'kendall_tau'
    wanted = as_list(metrics) or list(dict.fromkeys(df['metric'].astype(str)))
    missing = [m for m in wanted if m not in set(df['metric'].astype(str))]
    if missing:
        raise ValueError(f'{where}: metric(s) {missing} not in the table; it has {sorted(set(df["metric"]))}')
    kinds = df['kind'] if 'kind' in df.columns else pd.Series([None] * len(df), index=df.index)
    df['_role'] = [reference_role(m, k) for m, k in zip(df['method'], kinds)]
    ci = _ci_level_text(df, level, ci_method)
    contenders = list(dict.fromkeys(df.loc[df['_role'].isin([None, 'baseline']), 'method'].astype(str)))
    if not contenders:
        contenders = list(dict.fromkeys(df['method'].astype(str)))
    n_of: dict[str, Any] = {}
    if 'n' in df.columns:
        for m, n in zip(df['method'].astype(str), df['n']):
            if m not in n_of and pd.notna(n):
                n_of[m] = int(n)
    ticktext = [f'{m}<br>n={n_of[m]}' if m in n_of else m for m in contenders]

    fig = make_subplots(
        rows=len(wanted),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08 if len(wanted) > 1 else 0,
        subplot_titles=[short_label(m, labels) for m in wanted] if len(wanted) > 1 else None,
    )
    legend_seen: set[str] = set()
    for r, metric in enumerate(wanted, start=1):
        part = df[df['metric'].astype(str) == metric]
        for role, name, colour, symbol in (
            (None, 'method', CONTENDER_COLOUR, 'circle'),
            ('baseline', 'baseline predictor', BASELINE_COLOUR, 'diamond'),
        ):
            sel = part[part['_role'].isna()] if role is None else part[part['_role'] == role]
            if sel.empty:
                continue
            est = sel['estimate'].to_numpy(dtype=float)
            lo, hi = sel['low'].to_numpy(dtype=float), sel['high'].to_numpy(dtype=float)
            n = sel['n'].to_numpy(dtype=float) if 'n' in sel.columns else np.full(len(sel), np.nan)
            fig.add_trace(
                go.Scatter(
                    x=sel['method'].astype(str),
                    y=est,
                    mode='markers',
                    name=name,
                    legendgroup=name,
                    showlegend=name not in legend_seen,
                    marker=dict(color=colour, size=11, symbol=symbol, line=dict(color='white', width=1)),
                    error_y=dict(
                        type='data',
                        symmetric=False,
                        array=hi - est,
                        arrayminus=est - lo,
                        visible=True,
                        thickness=2,
                        width=6,
                    ),
                    customdata=np.column_stack([lo, hi, n]),
                    hovertemplate=(
                        f'%{{x}}<br>{short_label(metric, labels)}: %{{y:.3f}} '
                        f'[%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}] ({ci})'
                        '<br>n = %{customdata[2]:.0f}<extra></extra>'
                    ),
                ),
                row=r,
                col=1,
            )
            legend_seen.add(name)
        refs = {}
        roles = {}
        for _, row in part[part['_role'].isin(['random', 'ceiling'])].iterrows():
            label = 'random scores' if row['_role'] == 'random' else str(row['method'])
            refs[label] = dict(
                estimate=row['estimate'], low=row['low'], high=row['high'], n=row['n'] if 'n' in part.columns else None
            )
            roles[label] = row['_role']
        add_references(fig, refs, roles, row=r, col=1)
        fig.update_yaxes(title_text=axis_label(metric, labels), row=r, col=1)
        fig.add_hline(y=0, line=dict(color='#d0d7de', width=1), row=r, col=1)
    fig.update_xaxes(categoryorder='array', categoryarray=contenders, tickvals=contenders, ticktext=ticktext)
    fig.update_xaxes(title_text=axis_label('method', labels), row=len(wanted), col=1)
    head = title or 'Ranking quality against ground truth, with baselines'
    ceilings = list(dict.fromkeys(df.loc[df['_role'] == 'ceiling', 'method'].astype(str)))
    ceiling_note = f'; dotted line: {", ".join(ceilings)} (ceiling)' if ceilings else ''
    fig.update_layout(
        title_text=f'{head}<br><sup>error bars and bands: {ci}; grey band: random scores{ceiling_note}</sup>',
        height=max(420, 330 * len(wanted) + 120),
        hovermode='closest',
        legend_title_text='kind',
    )
    return fig


def plot_seed_comparison(
    df: pd.DataFrame,
    method: str = 'method',
    value: str = 'kendall_tau',
    seed: str = 'seed',
    title: str | None = None,
    references: Mapping[str, Reference] | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Mean ± standard error over seeds per method, with every seed's value as a small dot.

    ``df`` has one row per method and seed (columns ``method``, ``seed``, ``value``). SE is
    the sample standard deviation over seeds / sqrt(number of seeds); the axis and title say
    so. Methods keep their order of appearance; ``references`` draws labelled lines.
    """
    where = 'plot_seed_comparison'
    require(df, [method, value, seed], where)
    order = list(dict.fromkeys(df[method].astype(str)))
    g = df.assign(**{method: df[method].astype(str)}).groupby(method, sort=False)[value]
    stats = pd.DataFrame({'mean': g.mean(), 'sd': g.std(ddof=1), 'k': g.count()}).reindex(order)
    stats['se'] = stats['sd'] / np.sqrt(stats['k'])
    k_seeds = int(stats['k'].max()) if len(stats) else 0
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=df[method].astype(str),
            y=df[value],
            mode='markers',
            name='one seed',
            marker=dict(color='#9e9e9e', size=6, opacity=0.7),
            customdata=df[seed],
            hovertemplate='%{x}<br>seed %{customdata}: %{y:.3f}<extra></extra>',
        )
    )
    fig.add_trace(
        go.Scatter(
            x=stats.index,
            y=stats['mean'],
            mode='markers',
            name='mean ± SE',
            marker=dict(color=CONTENDER_COLOUR, size=12, symbol='line-ew-open', line=dict(width=3)),
            error_y=dict(type='data', array=stats['se'].fillna(0).to_numpy(), visible=True, thickness=2, width=8),
            customdata=np.column_stack([stats['se'].to_numpy(), stats['sd'].to_numpy(), stats['k'].to_numpy()]),
            hovertemplate=(
                '%{x}<br>mean %{y:.3f} ± SE %{customdata[0]:.3f}<br>std %{customdata[1]:.3f} '
                'over %{customdata[2]} seeds<extra></extra>'
            ),
        )
    )
    add_references(fig, references)
    head = title or f'{short_label(value, labels)} per method over {k_seeds} seed{"s" if k_seeds != 1 else ""}'
    fig.update_layout(
        title_text=f'{head}<br><sup>bars: mean ± standard error (SE = std / √seeds); dots: single seeds</sup>',
        xaxis_title=axis_label(method, labels),
        yaxis_title=f'{axis_label(value, labels)}, mean ± SE',
        hovermode='closest',
    )
    fig.update_xaxes(categoryorder='array', categoryarray=order)
    return fig


def plot_over_training(
    df: pd.DataFrame,
    epoch: str = 'epoch',
    tau: str = 'kendall_tau',
    low: str | None = None,
    high: str | None = None,
    accuracy: str | None = 'supernet_accuracy',
    group: str | None = None,
    references: Mapping[str, Reference] | None = None,
    ci_label: str = '95% bootstrap CI',
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """The weight-sharing diagnostic: ranking quality (τ, with its CI as a band) and supernet
    accuracy against training epoch, in two stacked panels sharing the epoch axis.

    CI bounds: ``low``/``high`` or ``{tau}_low``/``{tau}_high`` or ``low``/``high`` columns.
    ``accuracy`` None (or an absent column) leaves one panel. ``group`` draws one line per
    value (e.g. seed). ``references`` (random, ceiling) are lines in the τ panel.
    """
    where = 'plot_over_training'
    require(df, [epoch, tau, group, low, high], where)
    lo, hi = ci_columns(df, tau, low, high)
    has_acc = accuracy is not None and accuracy in df.columns
    rows = 2 if has_acc else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=[f'ranking quality ({ci_label} band)' if lo else 'ranking quality']
        + (['supernet accuracy'] if has_acc else []),
    )
    groups = list(df.groupby(group, sort=False)) if group is not None else [('', df)]
    colours = category_colours(n for n, _ in groups) if group is not None else {'': CONTENDER_COLOUR}
    for name, part in groups:
        part = part.sort_values(epoch)
        x = part[epoch].to_numpy()
        y = part[tau].to_numpy(dtype=float)
        colour = colours[name]
        label = f'{group} {name}' if group else short_label(tau, labels)
        if lo:
            low, h = part[lo].to_numpy(dtype=float), part[hi].to_numpy(dtype=float)
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([x, x[::-1]]),
                    y=np.concatenate([h, low[::-1]]),
                    fill='toself',
                    mode='lines',
                    fillcolor=rgba(colour, 0.18),
                    line=dict(width=0),
                    hoverinfo='skip',
                    showlegend=False,
                    legendgroup=label,
                    name=f'{label} {ci_label}',
                ),
                row=1,
                col=1,
            )
            custom = np.column_stack([low, h])
            tmpl = (
                f'epoch %{{x}}<br>{short_label(tau, labels)}: %{{y:.3f}} '
                '[%{customdata[0]:.3f}, %{customdata[1]:.3f}]'
            )
        else:
            custom, tmpl = None, f'epoch %{{x}}<br>{short_label(tau, labels)}: %{{y:.3f}}'
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode='lines+markers',
                name=label,
                legendgroup=label,
                line=dict(color=colour),
                customdata=custom,
                hovertemplate=tmpl + '<extra></extra>',
            ),
            row=1,
            col=1,
        )
        if has_acc:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part[accuracy].to_numpy(dtype=float),
                    mode='lines+markers',
                    name=f'{label} accuracy' if group else 'supernet accuracy',
                    legendgroup=label,
                    showlegend=not group,
                    line=dict(color=colour, dash='dot'),
                    marker=dict(symbol='square'),
                    hovertemplate='epoch %{x}<br>accuracy: %{y:.2f}%<extra></extra>',
                ),
                row=2,
                col=1,
            )
    add_references(fig, references, row=1, col=1)
    fig.update_yaxes(title_text=axis_label(tau, labels), row=1, col=1)
    if has_acc and accuracy is not None:
        fig.update_yaxes(title_text=axis_label(accuracy, labels), row=2, col=1)
    fig.update_xaxes(title_text=axis_label(epoch, labels), row=rows, col=1)
    integer_ticks(fig, df[epoch], 'x')
    fig.update_layout(
        title_text=title or 'Ranking quality and supernet accuracy over training',
        height=300 * rows + 160,
        hovermode='closest',
    )
    return fig
