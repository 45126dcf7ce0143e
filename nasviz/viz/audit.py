"""Figures of an estimator audit (:class:`nasviz.audit.Audit`): each ``plot_*`` takes the audit
and returns a plotly Figure with hover text and units; none shows it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

__all__ = [
    'plot_audit_scatter',
    'plot_audit_metrics',
    'plot_audit_curves',
    'plot_op_bias',
    'plot_size_bias',
    'plot_paired_forest',
    'audit_figures',
]

_LABELS = {
    'kendall_tau': 'Kendall tau',
    'spearman': 'Spearman rho',
    'pearson': 'Pearson r',
    'precision_top': 'precision of the predicted top K',
    'precision_bottom': 'precision of the predicted bottom K',
    'best_rank': 'best true rank in the predicted top K (fraction of n; lower is better)',
    'worst_rank': 'worst true rank in the predicted top K (fraction of n; lower is better)',
    'tau_in_true_top': 'Kendall tau inside the true top K',
    'regret': 'regret of the predicted best (truth units)',
    'size_bias': 'size bias (partial Spearman with parameters | truth)',
}


def _colours(names: Sequence[str]) -> dict[str, str]:
    pal = qualitative.Plotly + qualitative.D3
    return {n: pal[i % len(pal)] for i, n in enumerate(names)}


def _err(df: pd.DataFrame) -> dict[str, Any]:
    return dict(
        type='data',
        symmetric=False,
        array=(df['high'] - df['estimate']).to_numpy(),
        arrayminus=(df['estimate'] - df['low']).to_numpy(),
        visible=True,
    )


def _level(res: Any) -> str:
    return f'{res.settings.get("level", 0.95):.0%} bootstrap CI, {res.settings.get("n_resamples")} resamples'


def plot_audit_scatter(
    res: Any,
    estimators: Sequence[str] | None = None,
    max_points: int = 4000,
    truth_label: str = 'ground truth accuracy (%)',
) -> go.Figure:
    """Score against truth, one panel per estimator (a seeded subsample of ``max_points`` cells
    for large tables; the title says so), hover: architecture, score, truth, parameters."""
    names = list(estimators or res.estimators)
    tab = res.scores
    if len(tab) > max_points:
        tab = tab.sample(max_points, random_state=0)
    fig = make_subplots(
        rows=1,
        cols=len(names),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[f'{n}: tau {res.estimate(n, "kendall_tau").estimate:.3f}' for n in names],
    )
    col = _colours(names)
    for i, n in enumerate(names, start=1):
        extra = tab['params'].to_numpy() if 'params' in tab.columns else np.full(len(tab), np.nan)
        fig.add_trace(
            go.Scattergl(
                x=tab[n],
                y=tab['truth'],
                mode='markers',
                name=n,
                marker=dict(size=4, opacity=0.5, color=col[n]),
                text=list(tab.index),
                customdata=extra,
                hovertemplate='%{text}<br>score %{x:.4g}<br>truth %{y:.2f}<br>params %{customdata:.3g}<extra>'
                + n
                + '</extra>',
            ),
            row=1,
            col=i,
        )
        fig.update_xaxes(title_text=f'{n} score', row=1, col=i)
    fig.update_yaxes(title_text=truth_label, row=1, col=1)
    shown = f'{len(tab)} of {res.n} architectures (seeded sample)' if len(tab) < res.n else f'{res.n} architectures'
    fig.update_layout(title=f'Score against ground truth ({shown})', showlegend=False, height=420)
    return fig


def plot_audit_metrics(res: Any, metrics: Sequence[str] = ('kendall_tau', 'spearman', 'pearson')) -> go.Figure:
    """Bars with CIs of the single-number metrics, estimators beside baselines and the ceiling."""
    m = res.metrics[res.metrics['metric'].isin(metrics) & (res.metrics['k'] == '')]
    who = list(dict.fromkeys(m['estimator']))
    col = _colours(who)
    fig = go.Figure()
    for w in who:
        sub = (
            m[m['estimator'] == w].set_index('metric').reindex(list(metrics)).dropna(subset=['estimate']).reset_index()
        )
        kind = sub['kind'].iloc[0] if len(sub) else ''
        fig.add_trace(
            go.Bar(
                x=[_LABELS.get(x, x) for x in sub['metric']],
                y=sub['estimate'],
                name=f'{w} ({kind})',
                error_y=_err(sub),
                marker_color=col[w],
                customdata=np.c_[sub['low'], sub['high'], sub['n']],
                hovertemplate=w + '<br>%{x}: %{y:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]'
                '<br>n=%{customdata[2]}<extra></extra>',
            )
        )
    fig.update_layout(
        barmode='group',
        title=f'Rank correlation with the ground truth ({_level(res)})',
        yaxis_title='correlation (unitless, 1 = same order)',
        height=420,
    )
    return fig


def plot_audit_curves(res: Any, metrics: Sequence[str] = ('precision_top', 'best_rank', 'worst_rank')) -> go.Figure:
    """Precision, best and worst true rank of the predicted top K against K (log axis), with CIs."""
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[_LABELS.get(x, x) for x in metrics])
    who = res.estimators + res.baselines
    col = _colours(who)
    for i, metric in enumerate(metrics, start=1):
        for w in who:
            sub = res.metrics[(res.metrics['estimator'] == w) & (res.metrics['metric'] == metric)].copy()
            if sub.empty:
                continue
            sub['kf'] = [float(k) if float(k) < 1 else float(k) / res.n for k in sub['k']]
            sub = sub.sort_values('kf')
            fig.add_trace(
                go.Scatter(
                    x=sub['kf'] * 100,
                    y=sub['estimate'],
                    mode='lines+markers',
                    name=w,
                    legendgroup=w,
                    showlegend=i == 1,
                    line=dict(color=col[w], dash='dot' if w in res.baselines else 'solid'),
                    error_y=_err(sub),
                    customdata=np.c_[sub['low'], sub['high'], np.round(sub['kf'] * res.n)],
                    hovertemplate=w + '<br>K %{x:.2g}% (%{customdata[2]:.0f} cells): %{y:.3f} '
                    '[%{customdata[0]:.3f}, %{customdata[1]:.3f}]<extra></extra>',
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(type='log', title_text='K (% of the architectures)', row=1, col=i)
    fig.update_layout(title=f'Picking the best: metrics over K ({_level(res)})', height=420)
    return fig


def plot_op_bias(res: Any) -> go.Figure:
    """Op bias per choice: Kendall tau of using the choice with the score minus with the truth
    (averaged over the op slots offering it), with CIs. Positive: rewarded beyond the truth."""
    m = res.metrics[res.metrics['metric'] == 'op_bias']
    fig = go.Figure()
    col = _colours(res.estimators)
    for w in res.estimators:
        sub = m[m['estimator'] == w]
        fig.add_trace(
            go.Bar(
                x=sub['k'],
                y=sub['estimate'],
                name=w,
                marker_color=col[w],
                error_y=_err(sub),
                customdata=np.c_[sub['low'], sub['high']],
                hovertemplate=w + '<br>%{x}: %{y:+.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<extra></extra>',
            )
        )
    fig.add_hline(y=0, line_color='grey')
    fig.update_layout(
        barmode='group',
        title=f'Op bias: what each estimator rewards beyond the truth ({_level(res)})',
        xaxis_title='choice',
        yaxis_title='tau(choice, score) - tau(choice, truth)',
        height=420,
    )
    return fig


def plot_size_bias(res: Any) -> go.Figure:
    """Size bias per estimator (partial Spearman of score and parameter count given the truth), with CIs."""
    m = res.metrics[res.metrics['metric'] == 'size_bias']
    fig = go.Figure(
        go.Bar(
            x=m['estimator'],
            y=m['estimate'],
            error_y=_err(m),
            marker_color='#636efa',
            customdata=np.c_[m['low'], m['high'], m['n']],
            hovertemplate='%{x}: %{y:+.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}], '
            'n=%{customdata[2]}<extra></extra>',
        )
    )
    fig.add_hline(y=0, line_color='grey')
    fig.update_layout(
        title=f'Size bias: reward for parameters beyond what they buy in truth ({_level(res)})',
        yaxis_title='partial Spearman (score, params | truth)',
        height=380,
    )
    if m.empty:
        fig.add_annotation(text='no parameter count known: size bias not computed', showarrow=False)
    return fig


def plot_paired_forest(res: Any, metric: str = 'kendall_tau', k: str = '') -> go.Figure:
    """Paired differences ``estimator - other`` with their CIs (a forest plot), coloured by the
    verdict; hover shows p and the smallest detectable difference."""
    c = res.comparisons[(res.comparisons['metric'] == metric) & (res.comparisons['k'] == k)]
    labels = [f'{a} - {b}' for a, b in zip(c['estimator'], c['other'])]
    colour = {'better': '#2ca02c', 'worse': '#d62728', 'level with': '#7f7f7f'}
    fig = go.Figure(
        go.Scatter(
            x=c['diff'],
            y=labels,
            mode='markers',
            marker=dict(size=10, color=[colour[v] for v in c['verdict']]),
            error_x=dict(
                type='data',
                symmetric=False,
                array=(c['high'] - c['diff']).to_numpy(),
                arrayminus=(c['diff'] - c['low']).to_numpy(),
            ),
            customdata=np.c_[c['low'], c['high'], c['p'], c['detectable'], c['verdict'], c['n']],
            hovertemplate='%{y}: %{x:+.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]<br>%{customdata[4]}, '
            'p=%{customdata[2]:.3g}, n=%{customdata[5]}<br>smallest detectable difference '
            '%{customdata[3]:.3f}<extra></extra>',
        )
    )
    fig.add_vline(x=0, line_color='grey')
    name = _LABELS.get(metric, metric) + (f' @ K={k}' if k else '')
    fig.update_layout(
        title=f'Paired differences on the same architectures: {name} ({_level(res)})',
        xaxis_title=f'difference in {name}',
        height=max(300, 40 * len(labels) + 120),
    )
    return fig


def audit_figures(res: Any) -> dict[str, go.Figure]:
    """Every figure of the audit page, by section name."""
    out = {
        'Score against truth': plot_audit_scatter(res),
        'Rank correlations': plot_audit_metrics(res),
        'Top and bottom K': plot_audit_curves(res),
        'Paired comparisons (Kendall tau)': plot_paired_forest(res),
    }
    if (res.metrics['metric'] == 'op_bias').any():
        out['Op bias'] = plot_op_bias(res)
    out['Size bias'] = plot_size_bias(res)
    return out
