"""What every nasviz figure shares: readable axis titles, one fixed colour and short name per
search-space operation, column checks that name what is missing, hover templates, and labelled
reference lines (chance, ceilings, baselines).

Each figure has a title, axis titles (with units where the quantity has one) and hover labels.
Inputs are tidy DataFrames; a missing column is a ``ValueError`` that names it. Column names
that nasviz uses get readable axis titles automatically (``accuracy`` -> "accuracy (%)",
``truth`` -> "ground-truth accuracy (%)"); pass ``labels={'column': 'axis title'}`` to override
any of them.

Conventions shared by every figure: one fixed colour per NAS-Bench-201 operation
(:func:`op_colour`: the search space's colours, by full or short name) wherever something is
coloured by op; integer ticks for counts; hover values rounded; error bars and bands say what
they are (a CI, SE or std) in the title or axis; chance and ceilings are reference lines or bands, never bars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from nasviz.spaces import SearchSpace, get_space, registered_spaces

__all__ = [
    'op_colour',
    'op_abbrev',
    'DEFAULT_BASELINES',
    'PALETTE',
    'CONTENDER_COLOUR',
    'BASELINE_COLOUR',
    'require',
    'axis_label',
    'short_label',
    'as_list',
    'is_categorical',
    'hover_template',
    'category_colours',
    'integer_ticks',
    'custom_data',
    'rgba',
    'Reference',
    'reference_role',
    'add_references',
    'ci_columns',
]


def _vocabulary(space: str | SearchSpace | None) -> tuple[dict[str, str], dict[str, str]]:
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


def op_colour(op: Any, space: str | SearchSpace | None = None) -> str | None:
    """The fixed colour a search space gives an operation, by full (``nor_conv_3x3``) or short
    (``c3x3``) name (``space`` None: any registered space's); None for anything else."""
    return _vocabulary(space)[0].get(str(op))


def op_abbrev(op: Any, space: str | SearchSpace | None = None) -> str:
    """The short name a search space gives an operation (``space`` None: any registered
    space's); other values as their string."""
    return _vocabulary(space)[1].get(str(op), str(op))


#: Methods drawn as reference points rather than contenders in :func:`plot_ranking_baselines`.
DEFAULT_BASELINES: tuple[str, ...] = (
    'params',
    'flops',
    'random-scores',
    'seed-to-seed',
    'seed_to_seed',
    'valid-as-predictor',
    'baseline',
)

# Readable axis titles for the column names nasviz produces; "a.u." marks quantities whose
# scale carries no physical unit (a supernet score, an embedding axis).
_AXIS_LABELS: dict[str, str] = {
    'accuracy': 'accuracy (%)',
    'test_accuracy': 'test accuracy (%)',
    'valid_accuracy': 'validation accuracy (%)',
    'val_accuracy': 'validation accuracy (%)',
    'train_accuracy': 'train accuracy (%)',
    'top1': 'top-1 accuracy (%)',
    'score': 'supernet score (a.u.)',
    'supernet_accuracy': 'supernet accuracy (%)',
    'kendall_tau': 'Kendall τ (−1 to 1)',
    'spearman': 'Spearman ρ (−1 to 1)',
    'lid': 'LID (intrinsic dimensions)',
    'block': 'block index (layer)',
    'epoch': 'epoch',
    'n_partitions': 'number of partitions (sub-supernets)',
    'peak_memory_mb': 'peak memory (MB)',
    'time_s': 'time (s)',
    'seconds': 'time (s)',
    'interference': 'interference (a.u.)',
    'loss': 'loss (nats)',
    'params': 'parameters (M)',
    'flops': 'FLOPs (M)',
    'x': 'embedding 1 (a.u.)',
    'y': 'embedding 2 (a.u.)',
    'truth': 'ground-truth accuracy (%)',
    'ground_truth': 'ground-truth accuracy (%)',
    'regret': 'regret (accuracy points)',
    'top10_precision': 'top-10% precision (0 to 1)',
    'mean_cosine': 'mean gradient cosine (−1 to 1)',
    'silhouette': 'silhouette (−1 to 1)',
    'levels': 'split levels',
    'n_subnets': 'number of subnets',
    'n_eval': 'number of cells ranked',
    'train_loss': 'training loss (nats)',
    'seed': 'seed',
}

#: Colours of categories that are not operations, in order.
PALETTE = qualitative.Plotly
#: Contenders (the methods compared) and baselines (drawn grey) in ranking figures.
CONTENDER_COLOUR = '#1f77b4'
BASELINE_COLOUR = '#9e9e9e'


def require(df: Any, columns: Iterable[str | None], where: str) -> pd.DataFrame:
    """``df`` itself when it is a DataFrame with every named column (None entries are skipped);
    otherwise a ``ValueError`` from ``where`` naming the missing columns and those there are."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f'{where}: expected a pandas DataFrame, got {type(df).__name__}')
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise ValueError(
            f'{where}: missing column{"s" if len(missing) > 1 else ""} '
            f'{", ".join(repr(c) for c in missing)}; got columns {list(df.columns)}'
        )
    return df


def axis_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The axis title of column ``name``: from ``labels``, else nasviz's title for it (with its
    unit), else the name with spaces for underscores."""
    if labels and name in labels:
        return labels[name]
    return _AXIS_LABELS.get(name, name.replace('_', ' '))


def short_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The axis label without its unit, for titles ("accuracy (%)" -> "accuracy")."""
    return axis_label(name, labels).split(' (')[0]


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    """One column name, several or None as a list of names."""
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def is_categorical(s: pd.Series) -> bool:
    """Whether a column colours by legend entries (not numeric, or boolean) rather than a colour bar."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def hover_template(columns: Sequence[str], first_index: int = 0, df: pd.DataFrame | None = None) -> str:
    """Hover lines ``column: value`` for ``customdata`` columns; numeric columns of ``df`` are
    rounded (4 significant digits) instead of printed with every float digit."""

    def fmt(c: str) -> str:
        numeric = df is not None and c in df.columns and pd.api.types.is_float_dtype(df[c])
        return ':.4g' if numeric else ''

    return '<br>'.join(f'{c}: %{{customdata[{first_index + i}]{fmt(c)}}}' for i, c in enumerate(columns))


def category_colours(values: Iterable[Any]) -> dict[Any, str]:
    """Colour per category: the fixed op colour when every value is an operation a search space
    colours (:func:`op_colour`), the qualitative palette in order otherwise."""
    values = list(dict.fromkeys(values))
    fixed = {v: c for v in values if (c := op_colour(v))}
    if values and len(fixed) == len(values):
        return fixed
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(values)}


def integer_ticks(fig: go.Figure, values: Any, axis: str = 'x', **where: Any) -> None:
    """Counts get integer ticks: every integer when the span is short, no '2.5' otherwise."""
    v = pd.to_numeric(pd.Series(list(values)), errors='coerce').dropna()
    if v.empty or not np.all(np.isclose(v, np.round(v))):
        return
    update = fig.update_xaxes if axis == 'x' else fig.update_yaxes
    if v.max() - v.min() <= 20:
        update(dtick=1, tickformat='d', **where)
    else:
        update(tickformat='d', **where)


def custom_data(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """The ``customdata`` array of ``columns`` for a trace's hover (None for no columns)."""
    return df[list(columns)].to_numpy(dtype=object) if columns else None


def rgba(hex_colour: str, alpha: float) -> str:
    """``'#rrggbb'`` as a CSS ``rgba(...)`` with opacity ``alpha`` (for CI bands)."""
    h = hex_colour.lstrip('#')
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f'rgba({r},{g},{b},{alpha})'


#: A reference line's value: a number, ``(estimate, low, high)``, or a dict (or an object with
#: ``to_dict``) with ``estimate`` and optionally ``low``, ``high``, ``n``.
Reference = Any


def _as_reference(value: Reference) -> dict[str, float | None]:
    """``{'estimate', 'low', 'high', 'n'}`` from a number, a tuple or an estimate dict."""
    if isinstance(value, Mapping):
        est = value.get('estimate', value.get('value'))
        return dict(
            estimate=float(est),
            low=_maybe_float(value.get('low')),
            high=_maybe_float(value.get('high')),
            n=_maybe_float(value.get('n')),
        )
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


def reference_role(name: Any, kind: Any = None) -> str | None:
    """'random' (chance), 'ceiling' (seed-to-seed / reliability), 'baseline' (params, ...) or
    None (a contender). ``kind == 'method'`` is always a contender (e.g. the 'random' split)."""
    if kind is not None and not (isinstance(kind, float) and math.isnan(kind)) and str(kind) == 'method':
        return None
    m = str(name).strip().lower()
    if m in _RANDOM_NAMES or m.startswith(('random score', 'random-score', 'random_score', 'chance')):
        return 'random'
    if (
        'seed-to-seed' in m
        or 'seed_to_seed' in m
        or 'ceiling' in m
        or 'reliab' in m
        or 'split-half' in m
        or 'valid-as-predictor' in m
    ):
        return 'ceiling'
    if str(kind) == 'baseline' or m in {b.lower() for b in DEFAULT_BASELINES}:
        return 'baseline'
    return None


def add_references(
    fig: go.Figure,
    references: Mapping[str, Reference] | None,
    roles: Mapping[str, str | None] | None = None,
    row: int | None = None,
    col: int | None = None,
) -> None:
    """Horizontal reference lines, labelled with their value (and CI and n when known); a CI
    becomes a shaded band. Chance is grey dashed, a ceiling green dotted, others purple."""
    if not references:
        return
    where = {} if row is None else dict(row=row, col=col)
    positions = ('top left', 'bottom left', 'top right', 'bottom right')
    for i, (name, value) in enumerate(references.items()):
        ref = _as_reference(value)
        role = (roles or {}).get(name) or reference_role(name, 'baseline')
        colour, dash, band = _REFERENCE_STYLE.get(role or 'baseline', _REFERENCE_STYLE['baseline'])
        if ref['low'] is not None and ref['high'] is not None and ref['high'] > ref['low']:
            fig.add_hrect(y0=ref['low'], y1=ref['high'], fillcolor=band, line_width=0, layer='below', **where)
        fig.add_hline(
            y=ref['estimate'],
            line=dict(color=colour, dash=dash, width=1.5),
            annotation_text=f'{name}: {_ci_text(ref)}',
            annotation_position=positions[i % 4],
            annotation_font=dict(color=colour, size=11),
            **where,
        )


def ci_columns(df: pd.DataFrame, y: str, low: str | None, high: str | None) -> tuple[str | None, str | None]:
    """CI bound columns: the given ones, else ``{y}_low``/``{y}_high``, else ``low``/``high``."""
    if low and high:
        return low, high
    for lo, hi in ((f'{y}_low', f'{y}_high'), ('low', 'high')):
        if lo in df.columns and hi in df.columns:
            return lo, hi
    return None, None
