"""Plotly figures for supernet analyses. Every ``plot_*`` returns a ``go.Figure`` and never shows it.

Each figure has a title, axis titles (with units where the quantity has one) and hover labels.
Inputs are tidy DataFrames; a missing column is a ``ValueError`` that names it. Column names
that nasviz uses get readable axis titles automatically (``accuracy`` -> "accuracy (%)",
``truth`` -> "ground-truth accuracy (%)"); pass ``labels={'column': 'axis title'}`` to override
any of them.

Conventions shared by every figure: one fixed colour per NAS-Bench-201 operation
(:func:`op_colour`: the search space's colours, by full or short name) wherever something is coloured by op; integer ticks
for counts; hover values rounded; error bars and bands say what they are (a CI, SE or std) in
the title or axis; chance and ceilings are reference lines or bands, never bars.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from nasviz.spaces import SearchSpace, get_space, registered_spaces

__all__ = [
    'plot_ranking', 'plot_ranking_baselines', 'plot_ranking_ci', 'plot_seed_comparison', 'plot_over_training',
    'plot_tau_vs_partitions', 'plot_similarity', 'plot_similarity_grid', 'plot_subnet_similarity', 'subnet_ids',
    'plot_lid_curves', 'plot_embedding', 'plot_metric_vs', 'plot_partition_tree', 'plot_cost_bars', 'plot_bars',
    'trim_table', 'DisplayTable', 'op_colour', 'op_abbrev', 'DEFAULT_BASELINES',
]

def _vocabulary(space: 'str | SearchSpace | None') -> tuple[dict[str, str], dict[str, str]]:
    """``(colour by op name or abbreviation, abbreviation by op name)`` of ``space``, or (None)
    of every registered space, the earlier registered winning where two name an op alike."""
    spaces = [get_space(space)] if space is not None else [get_space(n) for n in registered_spaces()]
    colours: dict[str, str] = {}
    abbrev: dict[str, str] = {}
    for sp in spaces:
        for op, c in sp.op_colours().items():
            colours.setdefault(op, c)
            colours.setdefault(sp.abbrev(op), c)
        for op in sp.ops():
            if sp.abbrev(op) != op:
                abbrev.setdefault(op, sp.abbrev(op))
    return colours, abbrev


def op_colour(op: Any, space: 'str | SearchSpace | None' = None) -> str | None:
    """The fixed colour a search space gives an operation, by full (``nor_conv_3x3``) or short
    (``c3x3``) name (``space`` None: any registered space's); None for anything else."""
    return _vocabulary(space)[0].get(str(op))


def op_abbrev(op: Any, space: 'str | SearchSpace | None' = None) -> str:
    """The short name a search space gives an operation (``space`` None: any registered
    space's); other values as their string."""
    return _vocabulary(space)[1].get(str(op), str(op))

#: Methods drawn as reference points rather than contenders in :func:`plot_ranking_baselines`.
DEFAULT_BASELINES: tuple[str, ...] = (
    'params', 'flops', 'random-scores', 'seed-to-seed', 'seed_to_seed', 'valid-as-predictor',
    'baseline',
)

# Readable axis titles for the column names nasviz produces; "a.u." marks quantities whose
# scale carries no physical unit (a supernet score, an embedding axis).
_AXIS_LABELS: dict[str, str] = {
    'accuracy': 'accuracy (%)', 'test_accuracy': 'test accuracy (%)',
    'valid_accuracy': 'validation accuracy (%)', 'val_accuracy': 'validation accuracy (%)',
    'train_accuracy': 'train accuracy (%)', 'top1': 'top-1 accuracy (%)',
    'score': 'supernet score (a.u.)', 'supernet_accuracy': 'supernet accuracy (%)',
    'kendall_tau': 'Kendall τ (−1 to 1)', 'spearman': 'Spearman ρ (−1 to 1)',
    'lid': 'LID (intrinsic dimensions)', 'block': 'block index (layer)',
    'epoch': 'epoch', 'n_partitions': 'number of partitions (sub-supernets)',
    'peak_memory_mb': 'peak memory (MB)', 'time_s': 'time (s)', 'seconds': 'time (s)',
    'interference': 'interference (a.u.)', 'loss': 'loss (nats)',
    'params': 'parameters (M)', 'flops': 'FLOPs (M)',
    'x': 'embedding 1 (a.u.)', 'y': 'embedding 2 (a.u.)',
    'truth': 'ground-truth accuracy (%)', 'ground_truth': 'ground-truth accuracy (%)',
    'regret': 'regret (accuracy points)', 'top10_precision': 'top-10% precision (0 to 1)',
    'mean_cosine': 'mean gradient cosine (−1 to 1)', 'silhouette': 'silhouette (−1 to 1)',
    'levels': 'split levels', 'n_subnets': 'number of subnets', 'n_eval': 'number of cells ranked',
    'train_loss': 'training loss (nats)', 'seed': 'seed',
}

_PALETTE = qualitative.Plotly
_CONTENDER_COLOUR = '#1f77b4'
_BASELINE_COLOUR = '#9e9e9e'


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _require(df: Any, columns: Iterable[str | None], where: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f'{where}: expected a pandas DataFrame, got {type(df).__name__}')
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f'{where}: missing column{"s" if len(missing) > 1 else ""} '
                         f'{", ".join(repr(c) for c in missing)}; got columns {list(df.columns)}')
    return df


def _label(name: str, labels: Mapping[str, str] | None = None) -> str:
    if labels and name in labels:
        return labels[name]
    return _AXIS_LABELS.get(name, name.replace('_', ' '))


def _short(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The axis label without its unit, for titles ("accuracy (%)" -> "accuracy")."""
    return _label(name, labels).split(' (')[0]


def _as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _op_name(op: Any) -> str:
    return op_abbrev(op)


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _hover_template(columns: Sequence[str], first_index: int = 0, df: pd.DataFrame | None = None) -> str:
    """Hover lines ``column: value`` for ``customdata`` columns; numeric columns of ``df`` are
    rounded (4 significant digits) instead of printed with every float digit."""
    def fmt(c: str) -> str:
        numeric = (df is not None and c in df.columns and pd.api.types.is_float_dtype(df[c]))
        return ':.4g' if numeric else ''

    return '<br>'.join(f'{c}: %{{customdata[{first_index + i}]{fmt(c)}}}' for i, c in enumerate(columns))


def _category_colours(values: Iterable[Any]) -> dict[Any, str]:
    """Colour per category: the fixed op colour when every value is an operation a search space
    colours (:func:`op_colour`), the qualitative palette in order otherwise."""
    values = list(dict.fromkeys(values))
    if values and all(op_colour(v) for v in values):
        return {v: op_colour(v) for v in values}
    return {v: _PALETTE[i % len(_PALETTE)] for i, v in enumerate(values)}


def _integer_ticks(fig: go.Figure, values: Any, axis: str = 'x', **where: Any) -> None:
    """Counts get integer ticks: every integer when the span is short, no '2.5' otherwise."""
    v = pd.to_numeric(pd.Series(list(values)), errors='coerce').dropna()
    if v.empty or not np.all(np.isclose(v, np.round(v))):
        return
    update = fig.update_xaxes if axis == 'x' else fig.update_yaxes
    if v.max() - v.min() <= 20:
        update(dtick=1, tickformat='d', **where)
    else:
        update(tickformat='d', **where)


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


def _custom(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    return df[list(columns)].to_numpy(dtype=object) if columns else None


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


# --------------------------------------------------------------------------------------------
# ranking
# --------------------------------------------------------------------------------------------
def plot_ranking(df: pd.DataFrame, score: str = 'score', truth: str = 'accuracy',
                 hover: str | Sequence[str] | None = 'arch', color: str | None = None,
                 title: str | None = None, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Supernet score (x) against ground truth (y), one point per architecture.

    The title carries Kendall τ and Spearman ρ over the rows where both values are finite;
    hover shows the ``hover`` columns (the cell string by default). ``color`` colours points
    by a column: one legend entry per value when it is categorical, a colour bar otherwise.
    """
    where = 'plot_ranking'
    hover_cols = _as_list(hover)
    _require(df, [score, truth, color, *hover_cols], where)
    x, y = _numeric(df, score, where), _numeric(df, truth, where)
    tau, rho = _rank_correlations(x, y)
    head = title or f'{_short(truth, labels)} vs {_short(score, labels)}'
    full_title = f'{head}<br><sup>Kendall τ = {_fmt(tau)}, Spearman ρ = {_fmt(rho)}, n = {len(df)}</sup>'

    template = (_hover_template(hover_cols, df=df) + ('<br>' if hover_cols else '')
                + f'{score}: %{{x:.4g}}<br>{truth}: %{{y:.4g}}<extra></extra>')
    fig = go.Figure()
    if color is not None and _is_categorical(df[color]):
        groups = list(df.groupby(color, sort=True, observed=True))
        colours = _category_colours(v for v, _ in groups)
        for value, part in groups:
            fig.add_trace(go.Scatter(
                x=part[score], y=part[truth], mode='markers', name=str(value),
                marker=dict(color=colours[value], size=7, opacity=0.8),
                customdata=_custom(part, hover_cols),
                hovertemplate=f'{color}: {value}<br>' + template))
        fig.update_layout(legend_title_text=color)
    else:
        marker: dict[str, Any] = dict(size=7, opacity=0.8)
        if color is not None:
            marker.update(color=df[color], colorscale='Viridis', showscale=True,
                          colorbar=dict(title=_label(color, labels)))
            template = template.replace('<extra>', f'<br>{color}: %{{marker.color:.4g}}<extra>')
        fig.add_trace(go.Scatter(x=df[score], y=df[truth], mode='markers', name='architectures',
                                 marker=marker, customdata=_custom(df, hover_cols),
                                 hovertemplate=template))
    fig.update_layout(title_text=full_title, xaxis_title=_label(score, labels),
                      yaxis_title=_label(truth, labels), hovermode='closest')
    return fig


def plot_ranking_baselines(table: pd.DataFrame, baselines: Iterable[str] = DEFAULT_BASELINES,
                           title: str | None = None,
                           labels: Mapping[str, str] | None = None) -> go.Figure:
    """Kendall τ per method as bars, with ``kendall_tau_std`` as error bars (± std) when present.

    Methods named in ``baselines`` (case-insensitive), or flagged by a boolean ``is_baseline``
    column or ``kind == 'baseline'`` (as in ``nasviz.analysis.baselines.baseline_metrics``), are
    grey so the contenders stand out; rows keep their order in ``table``. Chance (random
    scores) is never a bar: it is a dashed line with its ± std band; the seed-to-seed ceiling
    is a dotted line. For CIs use :func:`plot_ranking_ci`.
    """
    where = 'plot_ranking_baselines'
    _require(table, ['method', 'kendall_tau'], where)
    base_names = {b.lower() for b in baselines}
    if 'is_baseline' in table.columns:
        is_base = table['is_baseline'].astype(bool).to_numpy()
    elif 'kind' in table.columns:
        is_base = (table['kind'] == 'baseline').to_numpy()
    else:
        is_base = table['method'].astype(str).str.lower().isin(base_names).to_numpy()
    role = np.array([_reference_role(m, 'baseline') if b else None
                     for m, b in zip(table['method'], is_base)], dtype=object)
    as_line = np.isin(role, ['random', 'ceiling'])
    has_std = 'kendall_tau_std' in table.columns
    extra = [c for c in ('spearman', 'kendall_tau_std') if c in table.columns]

    fig = go.Figure()
    for flag, name, colour in ((False, 'method', _CONTENDER_COLOUR), (True, 'baseline', _BASELINE_COLOUR)):
        part = table[(is_base == flag) & ~as_line]
        if part.empty:
            continue
        template = 'method: %{x}<br>Kendall τ: %{y:.3f}'
        template += ''.join(f'<br>{c}: %{{customdata[{i}]:.3f}}' for i, c in enumerate(extra))
        fig.add_trace(go.Bar(
            x=part['method'].astype(str), y=part['kendall_tau'], name=name, marker_color=colour,
            error_y=dict(type='data', array=part['kendall_tau_std'], visible=True) if has_std else None,
            customdata=part[extra].to_numpy(dtype=float) if extra else None,
            hovertemplate=template + '<extra></extra>'))
    refs: dict[str, Reference] = {}
    roles: dict[str, str] = {}
    for _, row in table[as_line].iterrows():
        est = float(row['kendall_tau'])
        sd = float(row['kendall_tau_std']) if has_std and pd.notna(row['kendall_tau_std']) else 0.0
        r = _reference_role(row['method'], 'baseline')
        label = str(row['method']) + (' (± std)' if r == 'random' and sd > 0 else '')
        refs[label] = (est, est - sd, est + sd) if r == 'random' and sd > 0 else est
        roles[label] = r
    _add_references(fig, refs, roles)
    head = title or 'Ranking correlation with ground truth by method'
    if has_std:
        head += '<br><sup>error bars: ± std over seeds or draws</sup>'
    fig.update_layout(
        title_text=head,
        xaxis_title=_label('method', labels), yaxis_title=_label('kendall_tau', labels),
        legend_title_text='kind', bargap=0.3)
    # keep the table's row order rather than plotly's per-trace category order
    fig.update_xaxes(categoryorder='array', categoryarray=list(table.loc[~as_line, 'method'].astype(str)))
    return fig


def _ci_level_text(table: pd.DataFrame, level: float | None, ci_method: str) -> str:
    if level is None and 'level' in table.columns and table['level'].notna().any():
        level = float(table['level'].dropna().iloc[0])
    level = 0.95 if level is None else float(level)
    return f'{level * 100:g}% {ci_method} CI'


def plot_ranking_ci(table: pd.DataFrame, metrics: str | Sequence[str] | None = None,
                    title: str | None = None, level: float | None = None, ci_method: str = 'bootstrap',
                    labels: Mapping[str, str] | None = None) -> go.Figure:
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
    _require(table, ['method', 'estimate', 'low', 'high'], where)
    df = table.copy()
    if 'metric' not in df.columns:
        df['metric'] = 'kendall_tau'
    wanted = _as_list(metrics) or list(dict.fromkeys(df['metric'].astype(str)))
    missing = [m for m in wanted if m not in set(df['metric'].astype(str))]
    if missing:
        raise ValueError(f'{where}: metric(s) {missing} not in the table; it has {sorted(set(df["metric"]))}')
    kinds = df['kind'] if 'kind' in df.columns else pd.Series([None] * len(df), index=df.index)
    df['_role'] = [_reference_role(m, k) for m, k in zip(df['method'], kinds)]
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

    fig = make_subplots(rows=len(wanted), cols=1, shared_xaxes=True, vertical_spacing=0.08 if len(wanted) > 1 else 0,
                        subplot_titles=[_short(m, labels) for m in wanted] if len(wanted) > 1 else None)
    legend_seen: set[str] = set()
    for r, metric in enumerate(wanted, start=1):
        part = df[df['metric'].astype(str) == metric]
        for role, name, colour, symbol in ((None, 'method', _CONTENDER_COLOUR, 'circle'),
                                           ('baseline', 'baseline predictor', _BASELINE_COLOUR, 'diamond')):
            sel = part[part['_role'].isna()] if role is None else part[part['_role'] == role]
            if sel.empty:
                continue
            est = sel['estimate'].to_numpy(dtype=float)
            lo, hi = sel['low'].to_numpy(dtype=float), sel['high'].to_numpy(dtype=float)
            n = sel['n'].to_numpy(dtype=float) if 'n' in sel.columns else np.full(len(sel), np.nan)
            fig.add_trace(go.Scatter(
                x=sel['method'].astype(str), y=est, mode='markers', name=name,
                legendgroup=name, showlegend=name not in legend_seen,
                marker=dict(color=colour, size=11, symbol=symbol, line=dict(color='white', width=1)),
                error_y=dict(type='data', symmetric=False, array=hi - est, arrayminus=est - lo, visible=True,
                             thickness=2, width=6),
                customdata=np.column_stack([lo, hi, n]),
                hovertemplate=(f'%{{x}}<br>{_short(metric, labels)}: %{{y:.3f}} '
                               f'[%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}] ({ci})'
                               '<br>n = %{customdata[2]:.0f}<extra></extra>')), row=r, col=1)
            legend_seen.add(name)
        refs = {}
        roles = {}
        for _, row in part[part['_role'].isin(['random', 'ceiling'])].iterrows():
            label = 'random scores' if row['_role'] == 'random' else str(row['method'])
            refs[label] = dict(estimate=row['estimate'], low=row['low'], high=row['high'],
                               n=row['n'] if 'n' in part.columns else None)
            roles[label] = row['_role']
        _add_references(fig, refs, roles, row=r, col=1)
        fig.update_yaxes(title_text=_label(metric, labels), row=r, col=1)
        fig.add_hline(y=0, line=dict(color='#d0d7de', width=1), row=r, col=1)
    fig.update_xaxes(categoryorder='array', categoryarray=contenders, tickvals=contenders, ticktext=ticktext)
    fig.update_xaxes(title_text=_label('method', labels), row=len(wanted), col=1)
    head = title or 'Ranking quality against ground truth, with baselines'
    ceilings = list(dict.fromkeys(df.loc[df['_role'] == 'ceiling', 'method'].astype(str)))
    ceiling_note = f'; dotted line: {", ".join(ceilings)} (ceiling)' if ceilings else ''
    fig.update_layout(
        title_text=f'{head}<br><sup>error bars and bands: {ci}; grey band: random scores{ceiling_note}</sup>',
        height=max(420, 330 * len(wanted) + 120), hovermode='closest', legend_title_text='kind')
    return fig


def plot_seed_comparison(df: pd.DataFrame, method: str = 'method', value: str = 'kendall_tau',
                         seed: str = 'seed', title: str | None = None,
                         references: Mapping[str, Reference] | None = None,
                         labels: Mapping[str, str] | None = None) -> go.Figure:
    """Mean ± standard error over seeds per method, with every seed's value as a small dot.

    ``df`` has one row per method and seed (columns ``method``, ``seed``, ``value``). SE is
    the sample standard deviation over seeds / sqrt(number of seeds); the axis and title say
    so. Methods keep their order of appearance; ``references`` draws labelled lines.
    """
    where = 'plot_seed_comparison'
    _require(df, [method, value, seed], where)
    order = list(dict.fromkeys(df[method].astype(str)))
    g = df.assign(**{method: df[method].astype(str)}).groupby(method, sort=False)[value]
    stats = pd.DataFrame({'mean': g.mean(), 'sd': g.std(ddof=1), 'k': g.count()}).reindex(order)
    stats['se'] = stats['sd'] / np.sqrt(stats['k'])
    k_seeds = int(stats['k'].max()) if len(stats) else 0
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=df[method].astype(str), y=df[value], mode='markers', name='one seed',
        marker=dict(color='#9e9e9e', size=6, opacity=0.7), customdata=df[seed],
        hovertemplate='%{x}<br>seed %{customdata}: %{y:.3f}<extra></extra>'))
    fig.add_trace(go.Scatter(
        x=stats.index, y=stats['mean'], mode='markers', name='mean ± SE',
        marker=dict(color=_CONTENDER_COLOUR, size=12, symbol='line-ew-open', line=dict(width=3)),
        error_y=dict(type='data', array=stats['se'].fillna(0).to_numpy(), visible=True, thickness=2, width=8),
        customdata=np.column_stack([stats['se'].to_numpy(), stats['sd'].to_numpy(), stats['k'].to_numpy()]),
        hovertemplate=('%{x}<br>mean %{y:.3f} ± SE %{customdata[0]:.3f}<br>std %{customdata[1]:.3f} '
                       'over %{customdata[2]} seeds<extra></extra>')))
    _add_references(fig, references)
    head = title or f'{_short(value, labels)} per method over {k_seeds} seed{"s" if k_seeds != 1 else ""}'
    fig.update_layout(
        title_text=f'{head}<br><sup>bars: mean ± standard error (SE = std / √seeds); dots: single seeds</sup>',
        xaxis_title=_label(method, labels), yaxis_title=f'{_label(value, labels)}, mean ± SE',
        hovermode='closest')
    fig.update_xaxes(categoryorder='array', categoryarray=order)
    return fig


def plot_over_training(df: pd.DataFrame, epoch: str = 'epoch', tau: str = 'kendall_tau',
                       low: str | None = None, high: str | None = None,
                       accuracy: str | None = 'supernet_accuracy', group: str | None = None,
                       references: Mapping[str, Reference] | None = None, ci_label: str = '95% bootstrap CI',
                       title: str | None = None, labels: Mapping[str, str] | None = None) -> go.Figure:
    """The weight-sharing diagnostic: ranking quality (τ, with its CI as a band) and supernet
    accuracy against training epoch, in two stacked panels sharing the epoch axis.

    CI bounds: ``low``/``high`` or ``{tau}_low``/``{tau}_high`` or ``low``/``high`` columns.
    ``accuracy`` None (or an absent column) leaves one panel. ``group`` draws one line per
    value (e.g. seed). ``references`` (random, ceiling) are lines in the τ panel.
    """
    where = 'plot_over_training'
    _require(df, [epoch, tau, group, low, high], where)
    lo, hi = _ci_columns(df, tau, low, high)
    has_acc = accuracy is not None and accuracy in df.columns
    rows = 2 if has_acc else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=[f'ranking quality ({ci_label} band)' if lo else 'ranking quality']
                        + (['supernet accuracy'] if has_acc else []))
    groups = list(df.groupby(group, sort=False)) if group is not None else [('', df)]
    colours = _category_colours(n for n, _ in groups) if group is not None else {'': _CONTENDER_COLOUR}
    for name, part in groups:
        part = part.sort_values(epoch)
        x = part[epoch].to_numpy()
        y = part[tau].to_numpy(dtype=float)
        colour = colours[name]
        label = f'{group} {name}' if group else _short(tau, labels)
        if lo:
            l, h = part[lo].to_numpy(dtype=float), part[hi].to_numpy(dtype=float)
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([h, l[::-1]]),
                                     fill='toself', mode='lines', fillcolor=_rgba(colour, 0.18), line=dict(width=0),
                                     hoverinfo='skip', showlegend=False, legendgroup=label,
                                     name=f'{label} {ci_label}'), row=1, col=1)
            custom = np.column_stack([l, h])
            tmpl = f'epoch %{{x}}<br>{_short(tau, labels)}: %{{y:.3f}} [%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]'
        else:
            custom, tmpl = None, f'epoch %{{x}}<br>{_short(tau, labels)}: %{{y:.3f}}'
        fig.add_trace(go.Scatter(x=x, y=y, mode='lines+markers', name=label, legendgroup=label,
                                 line=dict(color=colour), customdata=custom,
                                 hovertemplate=tmpl + '<extra></extra>'), row=1, col=1)
        if has_acc:
            fig.add_trace(go.Scatter(x=x, y=part[accuracy].to_numpy(dtype=float), mode='lines+markers',
                                     name=f'{label} accuracy' if group else 'supernet accuracy',
                                     legendgroup=label, showlegend=not group,
                                     line=dict(color=colour, dash='dot'), marker=dict(symbol='square'),
                                     hovertemplate='epoch %{x}<br>accuracy: %{y:.2f}%<extra></extra>'),
                          row=2, col=1)
    _add_references(fig, references, row=1, col=1)
    fig.update_yaxes(title_text=_label(tau, labels), row=1, col=1)
    if has_acc:
        fig.update_yaxes(title_text=_label(accuracy, labels), row=2, col=1)
    fig.update_xaxes(title_text=_label(epoch, labels), row=rows, col=1)
    _integer_ticks(fig, df[epoch], 'x')
    fig.update_layout(title_text=title or 'Ranking quality and supernet accuracy over training',
                      height=300 * rows + 160, hovermode='closest')
    return fig


# --------------------------------------------------------------------------------------------
# similarity heatmaps
# --------------------------------------------------------------------------------------------
def _check_matrix(sim: Any, where: str) -> pd.DataFrame:
    if not isinstance(sim, pd.DataFrame):
        raise ValueError(f'{where}: expected a DataFrame (ops x ops), got {type(sim).__name__}')
    if sim.empty:
        raise ValueError(f'{where}: the similarity matrix is empty')
    bad = [c for c in sim.columns if not pd.api.types.is_numeric_dtype(sim[c])]
    if bad:
        raise ValueError(f'{where}: non-numeric column(s) {bad}')
    return sim


def _heatmap(sim: pd.DataFrame, fmt: str, abbreviate: bool, hover_fmt: str = '.3f',
             value_name: str = 'value', **kw: Any) -> go.Heatmap:
    rows = [_op_name(r) if abbreviate else str(r) for r in sim.index]
    cols = [_op_name(c) if abbreviate else str(c) for c in sim.columns]
    z = sim.to_numpy(dtype=float)
    text = [[('' if not np.isfinite(v) else format(v, fmt)) for v in row] for row in z]
    return go.Heatmap(z=z, x=cols, y=rows, text=text, texttemplate='%{text}',
                      hovertemplate=(f'row: %{{y}}<br>column: %{{x}}<br>{value_name}: %{{z:{hover_fmt}}}'
                                     '<extra></extra>'),
                      **kw)


def _off_diagonal(mats: Sequence[pd.DataFrame]) -> np.ndarray:
    parts = []
    for m in mats:
        a = m.to_numpy(dtype=float)
        mask = ~np.eye(*a.shape, dtype=bool) if a.shape[0] == a.shape[1] else np.ones(a.shape, bool)
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


def _similarity_scale(mats: Sequence[pd.DataFrame], zmin: float | None, zmax: float | None,
                      fmt: str | None, value_label: str | None, quantity: str) -> dict[str, Any]:
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
            value_label = (f'{quantity}<br>(colour: {zmin:.{decimals}f} to {zmax:.{decimals}f})'
                           .replace('-', '−'))
    note = None
    if 0 < spread < 0.01:
        note = (f'off-diagonal values span only {lo:.{decimals + 1}f} to {hi:.{decimals + 1}f}: '
                'colours stretch differences in the 3rd decimal or beyond')
    return dict(zmin=zmin, zmax=zmax, fmt=fmt, hover_fmt=f'.{decimals + 1}f',
                colorscale='RdBu' if diverging else 'Viridis', reversescale=diverging,
                value_label=value_label, note=note)


def _with_note(title: str, note: str | None) -> str:
    return f'{title}<br><sup>{note}</sup>' if note else title


def _looks_like_cells(labels: Iterable[Any]) -> bool:
    labels = [str(v) for v in labels]
    return bool(labels) and all(v.startswith('|') and '~' in v for v in labels)


def plot_similarity(sim: pd.DataFrame, title: str | None = None, zmin: float | None = None,
                    zmax: float | None = None, fmt: str | None = None, abbreviate: bool = True,
                    value_label: str | None = None, quantity: str = 'cosine similarity',
                    labels: Mapping[str, str] | None = None) -> go.Figure:
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
        return plot_subnet_similarity(sim, title=title, zmin=zmin, zmax=zmax, fmt=fmt,
                                      value_label=value_label, quantity=quantity)
    sc = _similarity_scale([sim], zmin, zmax, fmt, value_label, quantity)
    fig = go.Figure(_heatmap(sim, sc['fmt'], abbreviate, hover_fmt=sc['hover_fmt'], value_name=quantity,
                             zmin=sc['zmin'], zmax=sc['zmax'], colorscale=sc['colorscale'],
                             reversescale=sc['reversescale'], colorbar=dict(title=sc['value_label'])))
    labels = labels or {}
    fig.update_layout(title_text=_with_note(title or 'Operation similarity', sc['note']),
                      xaxis_title=labels.get('x') or sim.columns.name or 'operation',
                      yaxis_title=labels.get('y') or sim.index.name or 'operation')
    fig.update_yaxes(autorange='reversed')
    fig.update_xaxes(side='bottom')
    return fig


def subnet_ids(cells: Iterable[Any], prefix: str = 's') -> pd.DataFrame:
    """Short ids (``s0``, ``s1``, ...) for a list of cells, as a table ``id``, ``cell`` to show
    beside a figure that uses the ids."""
    cells = [str(c) for c in cells]
    return pd.DataFrame({'id': [f'{prefix}{i}' for i in range(len(cells))], 'cell': cells})


def plot_subnet_similarity(sim: pd.DataFrame, title: str | None = None, zmin: float | None = None,
                           zmax: float | None = None, fmt: str | None = None,
                           value_label: str | None = None, quantity: str = 'gradient cosine',
                           prefix: str = 's', annotate: bool | None = None,
                           labels: Mapping[str, str] | None = None) -> go.Figure:
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
    hover = [[f'row {ids[i]}: {cells[i]}<br>column {ids[j]}: {cells[j]}<br>'
              f'{quantity}: {"n/a" if not np.isfinite(z[i, j]) else format(z[i, j], sc["hover_fmt"])}'
              for j in range(n)] for i in range(n)]
    annotate = n <= 16 if annotate is None else annotate
    fig = go.Figure(go.Heatmap(
        z=z, x=ids, y=ids, text=hover, hovertemplate='%{text}<extra></extra>',
        texttemplate=f'%{{z:{sc["fmt"]}}}' if annotate else None,
        zmin=sc['zmin'], zmax=sc['zmax'], colorscale=sc['colorscale'], reversescale=sc['reversescale'],
        colorbar=dict(title=sc['value_label'])))
    side = int(min(900, max(480, 42 * n + 200)))
    labels = labels or {}
    fig.update_layout(
        title_text=_with_note(title or f'{quantity.capitalize()} between subnets (hover: cell)', sc['note']),
        xaxis_title=labels.get('x', 'subnet'), yaxis_title=labels.get('y', 'subnet'),
        width=side + 160, height=side)
    fig.update_yaxes(autorange='reversed', scaleanchor='x', constrain='domain', type='category')
    fig.update_xaxes(side='bottom', constrain='domain', type='category', tickangle=0)
    return fig


def plot_similarity_grid(sims: Mapping[str, pd.DataFrame], cols: int = 3, title: str | None = None,
                         zmin: float | None = None, zmax: float | None = None, fmt: str | None = None,
                         abbreviate: bool = True, value_label: str | None = None,
                         quantity: str = 'cosine similarity',
                         labels: Mapping[str, str] | None = None) -> go.Figure:
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
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=list(mats),
                        horizontal_spacing=0.06, vertical_spacing=min(130 / height, 0.9 / max(nrows - 1, 1)))
    for i, (name, sim) in enumerate(mats.items()):
        r, c = divmod(i, ncols)
        fig.add_trace(_heatmap(sim, sc['fmt'], abbreviate, hover_fmt=sc['hover_fmt'], value_name=quantity,
                               coloraxis='coloraxis', name=name),
                      row=r + 1, col=c + 1)
        fig.update_xaxes(title_text=labels.get('x') or sim.columns.name or 'operation', row=r + 1, col=c + 1)
        # a y title on inner columns would collide with the left neighbour's cells
        fig.update_yaxes(title_text=(labels.get('y') or sim.index.name or 'operation') if c == 0 else None,
                         autorange='reversed', row=r + 1, col=c + 1)
    fig.update_layout(
        title_text=_with_note(title or 'Operation similarity per edge', sc['note']),
        coloraxis=dict(colorscale=sc['colorscale'], reversescale=sc['reversescale'], cmin=sc['zmin'],
                       cmax=sc['zmax'], colorbar=dict(title=sc['value_label'])),
        height=height)
    return fig


# --------------------------------------------------------------------------------------------
# curves
# --------------------------------------------------------------------------------------------
def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip('#')
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f'rgba({r},{g},{b},{alpha})'


def plot_lid_curves(df: pd.DataFrame, op: str = 'op', block: str = 'block', lid: str = 'lid',
                    lid_std: str | None = 'lid_std', error: str = 'band', abbreviate: bool = True,
                    title: str | None = None, labels: Mapping[str, str] | None = None) -> go.Figure:
    """Layer-wise intrinsic dimension: one line per op, x = block index.

    ``df`` is long-form (one row per op and block). When the ``lid_std`` column exists, it is
    drawn as a shaded band (``error='band'``) or as error bars (``error='bars'``).
    """
    where = 'plot_lid_curves'
    if error not in ('band', 'bars'):
        raise ValueError(f"{where}: error must be 'band' or 'bars', got {error!r}")
    _require(df, [op, block, lid], where)
    has_std = lid_std is not None and lid_std in df.columns
    fig = go.Figure()
    groups = list(df.groupby(op, sort=False))
    colours = _category_colours(n for n, _ in groups)
    for name, part in groups:
        part = part.sort_values(block)
        colour = colours[name]
        label = _op_name(name) if abbreviate else str(name)
        x, y = part[block].to_numpy(), part[lid].to_numpy(dtype=float)
        std = part[lid_std].to_numpy(dtype=float) if has_std else None
        if std is not None and error == 'band':
            fig.add_trace(go.Scatter(
                x=np.concatenate([x, x[::-1]]), y=np.concatenate([y + std, (y - std)[::-1]]),
                fill='toself', mode='lines', fillcolor=_rgba(colour, 0.2), line=dict(width=0),
                legendgroup=label, showlegend=False, hoverinfo='skip', name=f'{label} ± std'))
        template = f'op: {label}<br>block: %{{x}}<br>LID: %{{y:.2f}}'
        if std is not None:
            template += ' ± %{customdata:.2f}'
        fig.add_trace(go.Scatter(
            x=x, y=y, mode='lines+markers', name=label, legendgroup=label,
            line=dict(color=colour), marker=dict(color=colour), customdata=std,
            error_y=(dict(type='data', array=std, visible=True)
                     if std is not None and error == 'bars' else None),
            hovertemplate=template + '<extra></extra>'))
    fig.update_layout(title_text=title or 'Layer-wise intrinsic dimension per operation',
                      xaxis_title=_label(block, labels), yaxis_title=_label(lid, labels),
                      legend_title_text='operation', hovermode='closest')
    fig.update_xaxes(dtick=1)
    return fig


Reference = Any  # a number, (estimate, low, high), or a dict with 'estimate' (+ 'low', 'high', 'n')


def _as_reference(value: Reference) -> dict[str, float | None]:
    """``{'estimate', 'low', 'high', 'n'}`` from a number, a tuple or an estimate dict."""
    if isinstance(value, Mapping):
        est = value.get('estimate', value.get('value'))
        return dict(estimate=float(est), low=_maybe_float(value.get('low')),
                    high=_maybe_float(value.get('high')), n=_maybe_float(value.get('n')))
    if hasattr(value, 'to_dict') and not isinstance(value, (pd.Series, pd.DataFrame)):
        return _as_reference(value.to_dict())
    if isinstance(value, (tuple, list)):
        vals = list(value) + [None] * (3 - len(value))
        return dict(estimate=float(vals[0]), low=_maybe_float(vals[1]), high=_maybe_float(vals[2]), n=None)
    return dict(estimate=float(value), low=None, high=None, n=None)


def _maybe_float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _ci_text(ref: Mapping[str, Any], digits: int = 2) -> str:
    text = f'{ref["estimate"]:.{digits}f}'
    if ref.get('low') is not None and ref.get('high') is not None:
        text += f' [{ref["low"]:.{digits}f}, {ref["high"]:.{digits}f}]'
    if ref.get('n') is not None:
        text += f', n={int(ref["n"])}'
    return text.replace('-', '−')


_REFERENCE_STYLE = {
    # role: (line colour, dash, band colour)
    'random': ('#6e7781', 'dash', 'rgba(110,119,129,0.18)'),
    'ceiling': ('#1a7f37', 'dot', 'rgba(26,127,55,0.10)'),
    'baseline': ('#8250df', 'dashdot', 'rgba(130,80,223,0.10)'),
}
_RANDOM_NAMES = {'random-scores', 'random scores', 'random_scores', 'random', 'chance', 'random baseline'}


def _reference_role(name: Any, kind: Any = None) -> str | None:
    """'random' (chance), 'ceiling' (seed-to-seed / reliability), 'baseline' (params, ...) or
    None (a contender). ``kind == 'method'`` is always a contender (e.g. the 'random' split)."""
    if kind is not None and not (isinstance(kind, float) and math.isnan(kind)) and str(kind) == 'method':
        return None
    m = str(name).strip().lower()
    if m in _RANDOM_NAMES or m.startswith(('random score', 'random-score', 'random_score', 'chance')):
        return 'random'
    if 'seed-to-seed' in m or 'seed_to_seed' in m or 'ceiling' in m or 'reliab' in m or 'split-half' in m or 'valid-as-predictor' in m:
        return 'ceiling'
    if str(kind) == 'baseline' or m in {b.lower() for b in DEFAULT_BASELINES}:
        return 'baseline'
    return None


def _add_references(fig: go.Figure, references: Mapping[str, Reference] | None,
                    roles: Mapping[str, str] | None = None, row: int | None = None,
                    col: int | None = None) -> None:
    """Horizontal reference lines, labelled with their value (and CI and n when known); a CI
    becomes a shaded band. Chance is grey dashed, a ceiling green dotted, others purple."""
    if not references:
        return
    where = {} if row is None else dict(row=row, col=col)
    positions = ('top left', 'bottom left', 'top right', 'bottom right')
    for i, (name, value) in enumerate(references.items()):
        ref = _as_reference(value)
        role = (roles or {}).get(name) or _reference_role(name, 'baseline')
        colour, dash, band = _REFERENCE_STYLE.get(role or 'baseline', _REFERENCE_STYLE['baseline'])
        if ref['low'] is not None and ref['high'] is not None and ref['high'] > ref['low']:
            fig.add_hrect(y0=ref['low'], y1=ref['high'], fillcolor=band, line_width=0, layer='below', **where)
        fig.add_hline(y=ref['estimate'], line=dict(color=colour, dash=dash, width=1.5),
                      annotation_text=f'{name}: {_ci_text(ref)}', annotation_position=positions[i % 4],
                      annotation_font=dict(color=colour, size=11), **where)


def _ci_columns(df: pd.DataFrame, y: str, low: str | None, high: str | None) -> tuple[str | None, str | None]:
    """CI bound columns: the given ones, else ``{y}_low``/``{y}_high``, else ``low``/``high``."""
    if low and high:
        return low, high
    for lo, hi in ((f'{y}_low', f'{y}_high'), ('low', 'high')):
        if lo in df.columns and hi in df.columns:
            return lo, hi
    return None, None


def plot_metric_vs(df: pd.DataFrame, x: str, y: str, group: str | None = None,
                   error: str | None = None, title: str | None = None,
                   labels: Mapping[str, str] | None = None, low: str | None = None,
                   high: str | None = None, references: Mapping[str, Reference] | None = None,
                   error_label: str | None = None) -> go.Figure:
    """Lines of ``y`` against ``x``, one per ``group`` value, with error bars: ``error`` (a
    symmetric spread column) or ``low``/``high`` (interval bounds, e.g. a bootstrap CI).

    E.g. Kendall τ vs number of partitions per method, or interference vs epoch. ``references``
    (``{label: value | (estimate, low, high) | estimate dict}``) draws labelled horizontal lines
    (a band for an interval). ``error_label`` (e.g. "95% bootstrap CI", "± std") is written
    under the title. Integer x values get integer ticks.
    """
    where = 'plot_metric_vs'
    _require(df, [x, y, group, error, low, high], where)
    groups = list(df.groupby(group, sort=False)) if group is not None else [(y, df)]
    colours = _category_colours(n for n, _ in groups)
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
        fig.add_trace(go.Scatter(
            x=part[x], y=yv, mode='lines+markers', name=str(name),
            line=dict(color=colours[name]), marker=dict(color=colours[name]), customdata=custom,
            error_y=err, hovertemplate=template + '<extra></extra>'))
    _add_references(fig, references)
    head = title or f'{_short(y, labels)} vs {_short(x, labels)}'
    if error_label:
        head += f'<br><sup>error bars: {error_label}</sup>'
    fig.update_layout(title_text=head, xaxis_title=_label(x, labels), yaxis_title=_label(y, labels),
                      legend_title_text=group or '', hovermode='closest')
    if pd.api.types.is_numeric_dtype(df[x]):
        _integer_ticks(fig, df[x], 'x')
    return fig


def plot_tau_vs_partitions(sweep: pd.DataFrame, x: str = 'n_partitions', metric: str = 'kendall_tau',
                           group: str = 'method', low: str | None = None, high: str | None = None,
                           references: Mapping[str, Reference] | None = None,
                           reference_label: str = 'method', title: str | None = None,
                           ci_label: str = '95% bootstrap CI',
                           labels: Mapping[str, str] | None = None) -> go.Figure:
    """Ranking quality against the number of sub-supernets, one line per partition method.

    ``sweep`` is the table of :func:`nasviz.experiment.ranking_vs_partitions`: rows with
    ``kind == 'method'`` are drawn as lines (with CI error bars when ``low``/``high`` columns,
    or ``{metric}_low``/``{metric}_high``, exist); rows with ``kind == 'baseline'`` (params,
    random scores, seed-to-seed ceiling) become labelled reference lines, with their interval as
    a band. ``references`` adds or overrides lines (e.g. ``{'reliability ceiling': 0.63}``).
    """
    where = 'plot_tau_vs_partitions'
    _require(sweep, [x, metric, group], where)
    kind = sweep['kind'] if 'kind' in sweep.columns else pd.Series('method', index=sweep.index)
    methods = sweep[kind.astype(str) != 'baseline']
    base = sweep[kind.astype(str) == 'baseline']
    lo, hi = _ci_columns(sweep, metric, low, high)
    refs: dict[str, Reference] = {}
    roles: dict[str, str] = {}
    for _, row in base.iterrows():
        est = row[metric]
        if est is None or (isinstance(est, float) and math.isnan(est)):
            continue
        ref = dict(estimate=float(est), low=row[lo] if lo else None, high=row[hi] if hi else None,
                   n=row['n'] if 'n' in base.columns else None)
        name = str(row.get('label', row[reference_label]) if 'label' in base.columns else row[reference_label])
        if lo is None and f'{metric}_std' in base.columns and _reference_role(name, 'baseline') == 'random':
            sd = float(row[f'{metric}_std'])  # random scores: mean ± std over draws
            ref.update(low=est - sd, high=est + sd)
            name += ' (± std over draws)'
        refs[name] = ref
        roles[name] = _reference_role(row[reference_label], 'baseline') or 'baseline'
    refs.update(references or {})
    fig = plot_metric_vs(methods, x=x, y=metric, group=group, low=lo, high=hi, references=None,
                         labels=labels, error_label=ci_label if lo else None,
                         title=title or f'{_short(metric, labels)} vs number of sub-supernets')
    _add_references(fig, refs, roles)
    fig.update_layout(legend_title_text=group)
    return fig


# --------------------------------------------------------------------------------------------
# embedding
# --------------------------------------------------------------------------------------------
def plot_embedding(emb: pd.DataFrame, x: str = 'x', y: str = 'y', color: str | None = None,
                   hover: str | Sequence[str] | None = None, categorical: bool | None = None,
                   title: str | None = None, labels: Mapping[str, str] | None = None) -> go.Figure:
    """2-D scatter of an embedding (e.g. UMAP of per-arch features).

    ``color`` is treated as categorical (legend) when ``categorical`` is True or, by default,
    when the column is not numeric; otherwise as continuous (colour bar). ``hover`` columns
    show on mouse-over.
    """
    where = 'plot_embedding'
    hover_cols = _as_list(hover)
    _require(emb, [x, y, color, *hover_cols], where)
    if categorical is None:
        categorical = color is not None and _is_categorical(emb[color])
    base = _hover_template(hover_cols, df=emb)
    fig = go.Figure()
    if color is not None and categorical:
        groups = list(emb.groupby(color, sort=True, observed=True))
        colours = _category_colours(v for v, _ in groups)
        for value, part in groups:
            fig.add_trace(go.Scatter(
                x=part[x], y=part[y], mode='markers', name=str(value),
                marker=dict(size=6, opacity=0.8, color=colours[value]),
                customdata=_custom(part, hover_cols),
                hovertemplate=f'{color}: {value}' + ('<br>' + base if base else '') + '<extra></extra>'))
        fig.update_layout(legend_title_text=color)
    else:
        marker: dict[str, Any] = dict(size=6, opacity=0.8)
        template = base or f'{x}: %{{x:.3f}}<br>{y}: %{{y:.3f}}'
        if color is not None:
            marker.update(color=emb[color], colorscale='Viridis', showscale=True,
                          colorbar=dict(title=_label(color, labels)))
            template += f'<br>{color}: %{{marker.color:.4g}}'
        fig.add_trace(go.Scatter(x=emb[x], y=emb[y], mode='markers', name='points', marker=marker,
                                 customdata=_custom(emb, hover_cols),
                                 hovertemplate=template + '<extra></extra>'))
    fig.update_layout(title_text=title or 'Embedding' + (f' coloured by {color}' if color else ''),
                      xaxis_title=_label(x, labels), yaxis_title=_label(y, labels),
                      hovermode='closest')
    return fig


# --------------------------------------------------------------------------------------------
# partition tree
# --------------------------------------------------------------------------------------------
def _is_root(parent: Any) -> bool:
    # to_frame() may mark the root with None, NaN (an int column with a gap) or -1
    return parent is None or pd.isna(parent) or parent == -1 or parent == ''


def _tree_layout(frame: pd.DataFrame) -> dict[Any, tuple[float, float]]:
    """(x, depth) per node: leaves on consecutive x in depth-first order, parents centred."""
    ids = list(frame['node_id'])
    if len(set(ids)) != len(ids):
        raise ValueError('plot_partition_tree: node_id values are not unique')
    children: dict[Any, list[Any]] = {i: [] for i in ids}
    roots = []
    for nid, parent in zip(frame['node_id'], frame['parent_id']):
        if _is_root(parent):
            roots.append(nid)
        elif parent not in children:
            raise ValueError(f'plot_partition_tree: node {nid!r} has unknown parent_id {parent!r}')
        else:
            children[parent].append(nid)
    if not roots:
        raise ValueError('plot_partition_tree: no root (a row with empty parent_id)')
    depth = dict(zip(frame['node_id'], frame['depth']))
    pos: dict[Any, tuple[float, float]] = {}
    next_leaf = 0.0
    # iterative post-order walk: deep trees must not hit the recursion limit
    for root in roots:
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            nid, expanded = stack.pop()
            if nid in pos:
                raise ValueError(f'plot_partition_tree: node {nid!r} is reached twice (cycle?)')
            kids = children[nid]
            if not kids:
                pos[nid] = (next_leaf, float(depth[nid]))
                next_leaf += 1
            elif expanded:
                pos[nid] = (float(np.mean([pos[k][0] for k in kids])), float(depth[nid]))
            else:
                stack.append((nid, True))
                stack.extend((k, False) for k in reversed(kids))
    if len(pos) != len(ids):
        raise ValueError('plot_partition_tree: some nodes are not connected to a root (cycle?)')
    return pos


def _edge_name(v: Any, slots: Sequence[str] = ()) -> str:
    """A slot index to its name in ``slots`` (the tree's space's slots; NB201: ``2`` ->
    ``'1->2'``); names and empty values pass through."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ''
    if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
        i = int(v)
        return slots[i] if 0 <= i < len(slots) else str(i)
    return str(v)


def plot_partition_tree(tree_frame: pd.DataFrame, title: str | None = None,
                        space: 'str | SearchSpace | None' = None) -> go.Figure:
    """Draw a partition tree (``PartitionTree.to_frame()``) of ``space`` (default: the space the
    frame records, else NB201): root on top, leaves spread out; split slots are named by the space.

    Columns: ``node_id``, ``parent_id`` (empty/NaN/-1 for the root), ``depth``, ``mask`` (text),
    ``size`` (number of cells), ``split_edge``, ``is_leaf``. Marker area grows with size;
    leaves (the sub-supernets) and internal nodes get different colours; hover shows the mask.
    """
    where = 'plot_partition_tree'
    cols = ['node_id', 'parent_id', 'depth', 'mask', 'size', 'split_edge', 'is_leaf']
    _require(tree_frame, cols, where)
    if tree_frame.empty:
        raise ValueError(f'{where}: the tree frame is empty')
    frame = tree_frame.sort_values(['depth', 'node_id'], kind='stable')
    pos = _tree_layout(frame)

    ex, ey = [], []
    for nid, parent in zip(frame['node_id'], frame['parent_id']):
        if not _is_root(parent):
            (x0, y0), (x1, y1) = pos[parent], pos[nid]
            ex += [x0, x1, None]
            ey += [y0, y1, None]
    fig = go.Figure(go.Scatter(x=ex, y=ey, mode='lines', line=dict(color='#b0b0b0', width=1.5),
                               hoverinfo='skip', showlegend=False, name='edges'))

    sizes = pd.to_numeric(frame['size']).to_numpy(dtype=float)
    # marker area ~ number of cells, clipped so a 15,625-cell root does not swamp its leaves
    scale = 40 / np.sqrt(max(sizes.max(), 1.0))
    marker_px = np.clip(np.sqrt(np.maximum(sizes, 0)) * scale, 8, 40)
    leaf = frame['is_leaf'].astype(bool).to_numpy()
    for flag, name, colour in ((False, 'split node', '#7f7f7f'), (True, 'sub-supernet (leaf)', '#d62728')):
        sel = leaf == flag
        if not sel.any():
            continue
        part = frame[sel]
        xs = [pos[n][0] for n in part['node_id']]
        ys = [pos[n][1] for n in part['node_id']]
        mask_txt = part['mask'].astype(str).str.replace('\n', '<br>', regex=False)
        slots = get_space(space or tree_frame.attrs.get('space', 'nb201')).slots
        split = part['split_edge'].map(lambda v: _edge_name(v, slots))
        custom = np.column_stack([part['node_id'].astype(str), part['size'].astype(int),
                                  split, mask_txt]).astype(object)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode='markers+text', name=name,
            marker=dict(size=marker_px[sel], color=colour, line=dict(color='white', width=1)),
            text=[f'{n} cells · split edge {e}' if e else f'{n} cells' for n, e in zip(part['size'].astype(int), split)],
            textposition='bottom center',
            customdata=custom,
            hovertemplate=('node %{customdata[0]}<br>size: %{customdata[1]} cells'
                           '<br>split edge: %{customdata[2]}<br>%{customdata[3]}<extra></extra>')))
    n_leaves = int(leaf.sum())
    fig.update_layout(
        title_text=title or f'Partition tree: {n_leaves} sub-supernet{"s" if n_leaves != 1 else ""}',
        xaxis_title='leaf order (sub-supernets, left to right)',
        yaxis_title='depth (number of splits)', hovermode='closest', legend_title_text='node')
    max_depth = int(pd.to_numeric(frame['depth']).max())
    fig.update_layout(height=max(350, 130 * (max_depth + 1) + 150))
    # room around the outermost nodes, so their labels ("6250 cells · split edge 0->1") are not
    # cut at the plot's edges; the y axis runs downwards with room below the deepest level's text
    x_all = [p_[0] for p_ in pos.values()]
    pad = 0.5 + 0.1 * max(1.0, max(x_all) - min(x_all))
    fig.update_yaxes(range=[max_depth + 0.6, -0.4], dtick=1, zeroline=False)
    fig.update_xaxes(range=[min(x_all) - pad, max(x_all) + pad], showticklabels=False, zeroline=False,
                     showgrid=False)
    return fig


# --------------------------------------------------------------------------------------------
# cost
# --------------------------------------------------------------------------------------------
def plot_cost_bars(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Peak memory and wall time per method as two side-by-side bar panels.

    Columns ``method``, ``peak_memory_mb``, ``time_s``; ``peak_memory_mb_std`` and ``time_s_std``
    add error bars when present. Two panels because MB and seconds share no axis.
    """
    where = 'plot_cost_bars'
    _require(df, ['method', 'peak_memory_mb', 'time_s'], where)
    fig = make_subplots(rows=1, cols=2, subplot_titles=('peak memory', 'wall time'),
                        horizontal_spacing=0.12)
    methods = df['method'].astype(str)
    for col, (metric, unit_fmt) in enumerate((('peak_memory_mb', '%{y:.1f} MB'),
                                              ('time_s', '%{y:.2f} s')), start=1):
        std = f'{metric}_std'
        fig.add_trace(go.Bar(
            x=methods, y=df[metric], name=_label(metric), marker_color=_PALETTE[col - 1],
            error_y=dict(type='data', array=df[std], visible=True) if std in df.columns else None,
            hovertemplate=f'method: %{{x}}<br>{_short(metric)}: {unit_fmt}<extra></extra>'),
            row=1, col=col)
        fig.update_xaxes(title_text='method', row=1, col=col)
        fig.update_yaxes(title_text=_label(metric), row=1, col=col)
    fig.update_layout(title_text=title or 'Cost per method', showlegend=False)
    return fig


def plot_bars(df: pd.DataFrame, x: str, y: str, group: str | None = None, error: str | None = None,
              hover: str | Sequence[str] | None = None, title: str | None = None,
              labels: Mapping[str, str] | None = None) -> go.Figure:
    """Grouped bars of ``y`` per category ``x`` (kept in table order), one colour per ``group``,
    with ``error`` as error bars; e.g. cluster-quality indices per feature kind, interference
    per layer."""
    where = 'plot_bars'
    hov = _as_list(hover)
    _require(df, [x, y, group, error, *hov], where)
    groups = list(df.groupby(group, sort=False)) if group is not None else [(y, df)]
    colours = _category_colours(n for n, _ in groups)
    if group is None and len(df) and all(op_colour(v) for v in df[x]):
        colours = {y: [op_colour(v) for v in df[x]]}  # one bar per op: each in its op colour
    fig = go.Figure()
    for name, part in groups:
        template = (f'{group}: {name}<br>' if group else '') + f'{x}: %{{x}}<br>{y}: %{{y:.4g}}'
        template += '<br>' + _hover_template(hov, df=df) if hov else ''
        fig.add_trace(go.Bar(x=part[x].astype(str), y=part[y], name=str(name), marker_color=colours[name],
                             error_y=dict(type='data', array=part[error].to_numpy(dtype=float), visible=True)
                             if error else None, customdata=_custom(part, hov),
                             hovertemplate=template + '<extra></extra>'))
    fig.update_layout(title_text=title or f'{_short(y, labels)} by {_short(x, labels)}', barmode='group',
                      xaxis_title=_label(x, labels), yaxis_title=_label(y, labels), legend_title_text=group or '')
    fig.update_xaxes(categoryorder='array', categoryarray=list(dict.fromkeys(df[x].astype(str))))
    return fig


def plot_interval_bars(df: pd.DataFrame, x: str, y: str, low: str, high: str, group: str | None = None,
                       hover: str | Sequence[str] | None = None, title: str | None = None,
                       labels: Mapping[str, str] | None = None, chance: str | None = None,
                       ci_label: str = '95% bootstrap CI') -> go.Figure:
    """Grouped bars of ``y`` per ``x`` with asymmetric error bars from ``low``/``high`` (a CI),
    one colour per ``group``; ``chance`` (a column) draws each bar's chance level as a black
    tick, e.g. top-k precision beside the share random scores reach."""
    where = 'plot_interval_bars'
    hov = _as_list(hover)
    _require(df, [x, y, low, high, group, chance, *hov], where)
    groups = list(df.groupby(group, sort=False)) if group is not None else [(y, df)]
    colours = _category_colours(n for n, _ in groups)
    lab = dict(labels or {})
    fig = go.Figure()
    for name, part in groups:
        custom = np.column_stack([part[low], part[high], *[part[h].astype(str) for h in hov]]).astype(object) \
            if len(part) else None
        extra = ''.join(f'<br>{lab.get(h, h)}: %{{customdata[{i + 2}]}}' for i, h in enumerate(hov))
        fig.add_trace(go.Bar(
            x=part[x], y=part[y], name=str(name), marker_color=colours[name], customdata=custom,
            error_y=dict(type='data', symmetric=False, array=(part[high] - part[y]).to_numpy(),
                         arrayminus=(part[y] - part[low]).to_numpy(), visible=True),
            hovertemplate=(f'{lab.get(x, x)}: %{{x}}<br>{lab.get(y, y)}: %{{y:.3f}} '
                           f'[%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}]{extra}<extra>{name}</extra>')))
        if chance is not None:
            fig.add_trace(go.Scatter(x=part[x], y=part[chance], mode='markers', showlegend=False,
                                     marker=dict(symbol='line-ew-open', size=28, color='black', line=dict(width=2)),
                                     name=f'{name}: chance', hovertemplate='chance: %{y:.3f}<extra></extra>'))
    fig.update_layout(barmode='group', title_text=(title or f'{y} per {x}') + f'<br><sup>error bars: {ci_label}'
                      + ('; black ticks: chance level' if chance else '') + '</sup>',
                      xaxis_title=lab.get(x, x), yaxis_title=lab.get(y, y), legend_title_text=group or '')
    return fig
