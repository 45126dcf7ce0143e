"""Figures: a title, axis titles and hover text on each; clear errors for bad input; the widget."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from nasviz.spaces import get_space
from nasviz.spaces.nb201 import EDGE_NAMES, OP_ABBREV, OPS, sample_archs
from nasviz.viz import (
    plot_bars,
    plot_cost_bars,
    plot_embedding,
    plot_lid_curves,
    plot_metric_vs,
    plot_over_training,
    plot_partition_tree,
    plot_ranking,
    plot_ranking_baselines,
    plot_ranking_ci,
    plot_seed_comparison,
    plot_similarity,
    plot_similarity_grid,
    plot_subnet_similarity,
    plot_tau_vs_partitions,
    subnet_ids,
    trim_table,
)

RNG = np.random.default_rng(0)


# -- small synthetic inputs, shaped like the analysis modules' outputs -------------------------
def ranking_df(n: int = 30) -> pd.DataFrame:
    acc = RNG.uniform(10, 94, n)
    return pd.DataFrame(
        {
            'arch': [f'|nor_conv_3x3~0|+|skip_connect~0|none~1|+|op{i}~0|none~1|none~2|' for i in range(n)],
            'accuracy': acc,
            'score': acc / 100 + RNG.normal(0, 0.05, n),  # a noisy but informative proxy
            'family': np.where(acc > 50, 'good', 'bad'),
        }
    )


def similarity(seed: int = 0) -> pd.DataFrame:
    m = np.random.default_rng(seed).uniform(-1, 1, (len(OPS), len(OPS)))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return pd.DataFrame(m, index=list(OPS), columns=list(OPS))


def lid_df() -> pd.DataFrame:
    rows = [{'op': op, 'block': b, 'lid': 5 + b + i, 'lid_std': 0.3} for i, op in enumerate(OPS) for b in range(4)]
    return pd.DataFrame(rows)


def tree_frame() -> pd.DataFrame:
    # root split on edge 0->1 into two; the first child split again on edge 1->2
    return pd.DataFrame(
        {
            'node_id': [0, 1, 2, 3, 4],
            'parent_id': [np.nan, 0, 0, 1, 1],
            'depth': [0, 1, 1, 2, 2],
            'mask': [
                'all ops on all edges',
                '0->1: none|skip',
                '0->1: c1x1|c3x3|pool',
                '0->1: none|skip\n1->2: none',
                '0->1: none|skip\n1->2: rest',
            ],
            'size': [15625, 6250, 9375, 1250, 5000],
            'split_edge': ['0->1', '1->2', None, None, None],
            'is_leaf': [False, False, True, True, True],
        }
    )


def ci_table() -> pd.DataFrame:
    # the long table plot_ranking_ci takes: contenders, a predictor baseline, chance, ceiling
    rows = []
    for metric in ('kendall_tau', 'top10_precision'):
        for method, est, kind in (
            ('SPOS', 0.11, 'method'),
            ('NAS-LID', 0.15, 'method'),
            ('params', 0.04, 'baseline'),
            ('random-scores', 0.0, 'baseline'),
            ('seed-to-seed', 0.6, 'baseline'),
        ):
            rows.append(
                dict(
                    method=method,
                    metric=metric,
                    estimate=est,
                    low=est - 0.08,
                    high=est + 0.07,
                    n=120,
                    kind=kind,
                    level=0.95,
                )
            )
    return pd.DataFrame(rows)


def subnet_matrix(n: int = 12, low: float = -0.3) -> pd.DataFrame:
    cells = [str(a) for a in sample_archs(n, rng=0, unique=True)]
    m = np.random.default_rng(1).uniform(low, 1, (n, n))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return pd.DataFrame(m, index=cells, columns=cells)


def sweep_table() -> pd.DataFrame:
    # shaped like experiment.ranking_vs_partitions: method rows and baseline rows
    return pd.DataFrame(
        {
            'method': ['spos', 'naslid', 'naslid', 'gmnas', 'gmnas', 'params', 'random-scores', 'seed-to-seed'],
            'kind': ['method'] * 5 + ['baseline'] * 3,
            'n_partitions': [1, 2, 4, 2, 4, np.nan, np.nan, np.nan],
            'kendall_tau': [0.1, 0.15, 0.2, 0.12, 0.1, 0.04, 0.0, 0.6],
            'kendall_tau_low': [0.0, 0.05, 0.1, 0.02, 0.0, -0.05, -0.06, 0.5],
            'kendall_tau_high': [0.2, 0.25, 0.3, 0.22, 0.2, 0.13, 0.06, 0.7],
        }
    )


def seeds_table() -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(method=m, seed=s, kendall_tau=0.1 * i + 0.01 * s)
            for i, m in enumerate(['SPOS', 'few-shot', 'NAS-LID'])
            for s in range(3)
        ]
    )


def training_table() -> pd.DataFrame:
    ep = np.arange(0, 41, 5)
    tau = np.linspace(-0.1, 0.2, len(ep))
    return pd.DataFrame(
        {
            'epoch': ep,
            'kendall_tau': tau,
            'low': tau - 0.1,
            'high': tau + 0.1,
            'supernet_accuracy': np.linspace(20, 70, len(ep)),
        }
    )


FIGURES = {
    'ranking': lambda: plot_ranking(ranking_df()),
    'ranking_coloured': lambda: plot_ranking(ranking_df(), color='family'),
    'ranking_continuous': lambda: plot_ranking(ranking_df(), color='accuracy'),
    'baselines': lambda: plot_ranking_baselines(
        pd.DataFrame(
            {
                'method': ['nas-lid', 'gm-nas', 'params', 'random-scores', 'seed-to-seed'],
                'kendall_tau': [0.6, 0.55, 0.4, 0.0, 0.7],
                'kendall_tau_std': [0.05, 0.04, 0, 0.1, 0.03],
                'spearman': [0.8, 0.7, 0.55, 0.0, 0.85],
            }
        )
    ),
    'similarity': lambda: plot_similarity(similarity()),
    'similarity_grid': lambda: plot_similarity_grid({f'edge {i}': similarity(i) for i in range(4)}),
    'lid': lambda: plot_lid_curves(lid_df()),
    'lid_bars': lambda: plot_lid_curves(lid_df(), error='bars'),
    'embedding': lambda: plot_embedding(
        pd.DataFrame(
            {
                'x': RNG.normal(size=20),
                'y': RNG.normal(size=20),
                'op': ['a', 'b'] * 10,
                'arch': list('abcdefghijklmnopqrst'),
            }
        ),
        color='op',
        hover='arch',
    ),
    'embedding_continuous': lambda: plot_embedding(
        pd.DataFrame({'x': [0.0, 1, 2], 'y': [1.0, 0, 2], 'acc': [50.0, 60, 70]}), color='acc'
    ),
    'metric_vs': lambda: plot_metric_vs(
        pd.DataFrame(
            {
                'n_partitions': [1, 2, 3] * 2,
                'kendall_tau': [0.3, 0.4, 0.5, 0.3, 0.45, 0.55],
                'std': [0.02] * 6,
                'method': ['exhaustive'] * 3 + ['spectral'] * 3,
            }
        ),
        x='n_partitions',
        y='kendall_tau',
        group='method',
        error='std',
    ),
    'tree': lambda: plot_partition_tree(tree_frame()),
    'cost': lambda: plot_cost_bars(
        pd.DataFrame({'method': ['supernet', 'few-shot'], 'peak_memory_mb': [900.0, 1500.0], 'time_s': [60.0, 240.0]})
    ),
    'ranking_ci': lambda: plot_ranking_ci(ci_table()),
    'subnet_similarity': lambda: plot_subnet_similarity(subnet_matrix()),
    'tau_vs_partitions': lambda: plot_tau_vs_partitions(sweep_table(), references={'reliability ceiling': 0.55}),
    'seed_comparison': lambda: plot_seed_comparison(seeds_table(), references={'random scores': (0, -0.05, 0.05)}),
    'over_training': lambda: plot_over_training(training_table()),
}


@pytest.mark.parametrize('name', list(FIGURES))
def test_figure_has_title_axis_titles_and_hover(name):
    fig = FIGURES[name]()
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text, 'figure has no title'
    axes = fig.layout.to_plotly_json()
    # stacked panels share x: its title sits on the bottom axis only
    for letter in 'xy':
        titled = [k for k, v in axes.items() if k.startswith(f'{letter}axis') and (v.get('title') or {}).get('text')]
        assert titled, f'{letter} axis title missing'
    hovered = [t for t in fig.data if t.hovertemplate or (t.hoverinfo not in (None, 'skip', 'none'))]
    assert hovered, 'no trace carries hover text'
    # every trace either has hover text or deliberately skips it (bands, tree edges)
    for t in fig.data:
        assert t.hovertemplate or t.hoverinfo == 'skip'
    fig.to_json()  # serialisable, as the notebook and HTML export need


def test_ranking_title_reports_rank_correlations():
    from scipy import stats

    df = ranking_df()
    fig = plot_ranking(df)
    tau = stats.kendalltau(df['score'], df['accuracy']).statistic
    assert f'{tau:.3f}' in fig.layout.title.text
    assert 'Spearman' in fig.layout.title.text
    assert '%' in fig.layout.yaxis.title.text  # accuracy carries its unit
    assert 'customdata[0]' in fig.data[0].hovertemplate  # the cell string
    assert fig.data[0].customdata[0][0] == df['arch'][0]


def test_ranking_few_points_gives_na_not_crash():
    fig = plot_ranking(ranking_df(2))
    assert 'n/a' in fig.layout.title.text


def test_baselines_use_a_different_colour():
    fig = FIGURES['baselines']()
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {'method', 'baseline'}
    assert by_name['method'].marker.color != by_name['baseline'].marker.color
    # chance and the ceiling are reference lines, never bars
    assert list(by_name['baseline'].x) == ['params']
    lines = {a.text.split(':')[0] for a in fig.layout.annotations}
    assert {'random-scores (± std)', 'seed-to-seed'} <= lines
    assert any(sh.type == 'rect' for sh in fig.layout.shapes)  # random's ± std band
    # the error bars are each method's own std, in the table's order
    assert list(by_name['method'].x) == ['nas-lid', 'gm-nas']
    np.testing.assert_allclose(by_name['method'].y, [0.6, 0.55])
    np.testing.assert_allclose(by_name['method'].error_y.array, [0.05, 0.04])
    assert 'std' in fig.layout.title.text  # says what the error bars are


def _annotations(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_ranking_ci_error_bars_baselines_and_n():
    table = ci_table()
    fig = plot_ranking_ci(table)
    assert '95% bootstrap CI' in fig.layout.title.text
    assert not any(isinstance(t, go.Bar) for t in fig.data), 'no bars: points with CIs'
    methods = [t for t in fig.data if t.name == 'method']
    assert len(methods) == 2  # one per metric panel
    spos = table[(table.method == 'SPOS') & (table.metric == 'kendall_tau')].iloc[0]
    m = methods[0]
    i = list(m.x).index('SPOS')
    assert m.error_y.array[i] == pytest.approx(spos.high - spos.estimate)
    assert m.error_y.arrayminus[i] == pytest.approx(spos.estimate - spos.low)
    assert 'n = %{customdata[2]' in m.hovertemplate
    assert all('n=120' in t for t in fig.layout.xaxis2.ticktext)  # n in the tick labels too
    # chance: a shaded band plus a dashed labelled line, no point or bar of its own
    assert 'random-scores' not in [x for t in fig.data for x in (list(t.x) if t.x is not None else [])]
    rand = [a for a in _annotations(fig) if a.startswith('random scores')]
    assert len(rand) == 2 and '[−0.08, 0.07]' in rand[0] and 'n=120' in rand[0]
    dashes = {sh.line.dash for sh in fig.layout.shapes if sh.type == 'line'}
    assert {'dash', 'dot'} <= dashes  # random dashed, ceiling dotted
    assert any(a.startswith('seed-to-seed') for a in _annotations(fig))
    baseline = [t for t in fig.data if t.name == 'baseline predictor'][0]
    assert list(baseline.x) == ['params'] and baseline.marker.color != m.marker.color
    assert fig.layout.yaxis.title.text.startswith('Kendall')
    one = plot_ranking_ci(table, metrics='kendall_tau', level=0.9)
    assert '90% bootstrap CI' in one.layout.title.text
    with pytest.raises(ValueError, match='spearman'):
        plot_ranking_ci(table, metrics='spearman')
    with pytest.raises(ValueError, match="'low'"):
        plot_ranking_ci(table.drop(columns='low'))


def test_seed_comparison_says_se():
    df = seeds_table()
    fig = plot_seed_comparison(df)
    assert 'SE' in fig.layout.yaxis.title.text and 'SE' in fig.layout.title.text
    mean = [t for t in fig.data if t.name == 'mean ± SE'][0]
    se = df[df.method == 'SPOS'].kendall_tau.std(ddof=1) / np.sqrt(3)
    assert mean.error_y.array[0] == pytest.approx(se)
    assert list(mean.x) == ['SPOS', 'few-shot', 'NAS-LID']


def test_over_training_two_panels_with_band_and_units():
    fig = plot_over_training(training_table())
    assert fig.layout.yaxis.title.text.startswith('Kendall')
    assert '%' in fig.layout.yaxis2.title.text
    assert fig.layout.xaxis2.title.text == 'epoch'
    assert any(t.fill == 'toself' for t in fig.data)  # the CI band
    assert 'CI' in fig.layout.annotations[0].text
    single = plot_over_training(training_table().drop(columns='supernet_accuracy'))
    assert 'yaxis2' not in single.layout.to_plotly_json()


def test_tau_vs_partitions_reference_lines_and_integer_ticks():
    fig = plot_tau_vs_partitions(sweep_table(), references={'reliability ceiling': 0.55})
    lines = {t.name for t in fig.data}
    assert lines == {'spos', 'naslid', 'gmnas'}  # baselines are not lines of their own
    notes = _annotations(fig)
    for label in ('params', 'random-scores', 'seed-to-seed', 'reliability ceiling'):
        assert any(a.startswith(label + ':') for a in notes), (label, notes)
    hlines = [sh for sh in fig.layout.shapes if sh.type == 'line']
    assert len(hlines) == 4
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == 'd'
    naslid = [t for t in fig.data if t.name == 'naslid'][0]
    # the asymmetric bars are the CI from kendall_tau_low/high, point by point
    np.testing.assert_allclose(naslid.x, [2, 4])
    np.testing.assert_allclose(naslid.error_y.arrayminus, [0.10, 0.10])
    np.testing.assert_allclose(naslid.error_y.array, [0.10, 0.10])
    assert 'CI' in fig.layout.title.text


def test_subnet_heatmap_short_ids_cells_on_hover():
    sim = subnet_matrix(12)
    fig = plot_subnet_similarity(sim)
    heat = fig.data[0]
    assert list(heat.x) == [f's{i}' for i in range(12)] and list(heat.y) == list(heat.x)
    assert fig.layout.xaxis.title.text == 'subnet' and fig.layout.yaxis.title.text == 'subnet'
    assert sim.index[3] in heat.text[3][5] and sim.index[5] in heat.text[3][5]
    assert heat.hovertemplate.startswith('%{text}')
    assert fig.layout.height >= 480 and fig.layout.width >= fig.layout.height  # readable, square cells
    # mixed signs: diverging scale centred on 0
    assert heat.zmin == pytest.approx(-heat.zmax) and heat.colorscale[0][1] != heat.colorscale[-1][1]
    # plot_similarity hands cell-labelled matrices over
    assert list(plot_similarity(sim).data[0].x) == list(heat.x)
    assert list(subnet_ids(sim.index)['id'][:2]) == ['s0', 's1']


def test_similarity_scale_follows_the_data():
    pos = similarity().abs() * 0.5 + 0.4
    fig = plot_similarity(pos)
    heat = fig.data[0]
    off = pos.to_numpy()[~np.eye(len(pos), dtype=bool)]
    assert (heat.zmin, heat.zmax) == pytest.approx((off.min(), off.max()))  # data range
    assert not heat.reversescale and heat.colorscale[0][1] != '#67001f'  # sequential, not RdBu
    assert 'data range' in heat.colorbar.title.text and '−1 to 1' not in heat.colorbar.title.text
    fixed = plot_similarity(similarity(), zmin=-1, zmax=1)
    assert '−1 to 1' in fixed.data[0].colorbar.title.text
    # cosines that differ only in the 3rd decimal: more decimals and a note in the title
    tight = pd.DataFrame(0.99 + np.random.default_rng(0).uniform(0, 0.004, (5, 5)), index=OPS, columns=OPS)
    grid = plot_similarity_grid({'edge 0->1': tight, 'edge 0->2': tight.T})
    assert len(grid.data[0].text[0][1].split('.')[1]) >= 4
    assert 'only' in grid.layout.title.text
    assert ':.5f' in grid.data[0].hovertemplate


#: the colours the NB201 space gives its operations
OP_COLOURS = get_space('nb201').op_colours()


def test_one_colour_per_op_everywhere():
    assert set(OP_COLOURS) == set(OPS) and len(set(OP_COLOURS.values())) == len(OPS)
    lid = plot_lid_curves(lid_df().iloc[::-1])  # other order: same colours
    lines = {t.name: t.line.color for t in lid.data if t.mode == 'lines+markers'}
    assert lines == {OP_ABBREV[o]: c for o, c in OP_COLOURS.items()}
    emb = pd.DataFrame({'x': RNG.normal(size=10), 'y': RNG.normal(size=10), 'op on edge': ['c3x3', 'skip'] * 5})
    fig = plot_embedding(emb, color='op on edge')
    assert {t.name: t.marker.color for t in fig.data} == {
        'c3x3': OP_COLOURS['nor_conv_3x3'],
        'skip': OP_COLOURS['skip_connect'],
    }
    bars = plot_bars(pd.DataFrame({'op': list(OPS), 'gap': [0.1] * 5}), x='op', y='gap')
    assert list(bars.data[0].marker.color) == [OP_COLOURS[o] for o in OPS]
    # other categories keep the ordinary palette
    other = plot_metric_vs(
        pd.DataFrame({'n': [1, 2] * 2, 'v': [1.0, 2, 3, 4], 'g': ['a', 'a', 'b', 'b']}), x='n', y='v', group='g'
    )
    assert other.data[0].line.color not in OP_COLOURS.values()


def test_axis_titles_units_and_rounded_hover():
    df = ranking_df().rename(columns={'accuracy': 'truth'})
    df['params'] = RNG.uniform(0.1, 1.5, len(df))
    fig = plot_ranking(df, score='score', truth='truth', hover=['arch', 'params'])
    assert fig.layout.yaxis.title.text == 'ground-truth accuracy (%)'
    assert 'customdata[1]:.4g' in fig.data[0].hovertemplate and 'customdata[0]}' in fig.data[0].hovertemplate
    custom = plot_ranking(df, score='score', truth='truth', labels={'score': 'supernet accuracy (%)'})
    assert custom.layout.xaxis.title.text == 'supernet accuracy (%)'
    counts = plot_metric_vs(pd.DataFrame({'epoch': [1, 2, 3], 'loss': [1.0, 0.5, 0.2]}), x='epoch', y='loss')
    assert counts.layout.xaxis.tickformat == 'd'


def test_trim_table_drops_all_nan_columns():
    df = pd.DataFrame({'method': ['a', 'b'], 'tau': [0.123456, 0.2], 'top5': [np.nan, np.nan]})
    out = trim_table(df)
    assert list(out.columns) == ['method', 'tau'] and out['tau'][0] == 0.123
    assert list(df.columns) == ['method', 'tau', 'top5']  # input untouched


def test_similarity_prints_values_in_cells():
    sim = similarity()
    fig = plot_similarity(sim)
    heat = fig.data[0]
    assert heat.texttemplate == '%{text}'
    assert heat.text[0][1] == f'{sim.iloc[0, 1]:.2f}'
    assert 'c3x3' in heat.x  # NB201 names shortened for labels


def test_similarity_grid_one_panel_per_matrix():
    fig = FIGURES['similarity_grid']()
    assert len([t for t in fig.data if isinstance(t, go.Heatmap)]) == 4
    assert [a.text for a in fig.layout.annotations][:4] == [f'edge {i}' for i in range(4)]


def test_lid_curves_one_line_per_op_with_band():
    fig = plot_lid_curves(lid_df())
    lines = [t for t in fig.data if t.mode == 'lines+markers']
    bands = [t for t in fig.data if t.fill == 'toself']
    assert len(lines) == len(OPS) and len(bands) == len(OPS)
    assert list(lines[0].x) == [0, 1, 2, 3]
    no_std = plot_lid_curves(lid_df().drop(columns='lid_std'))
    assert len(no_std.data) == len(OPS)


def test_partition_tree_layout():
    fig = plot_partition_tree(tree_frame())
    nodes = {t.name: t for t in fig.data if t.mode == 'markers+text'}
    leaves = nodes['sub-supernet (leaf)']
    assert len(leaves.x) == 3 and sorted(leaves.x) == [0.0, 1.0, 2.0]
    split = nodes['split node']
    root_x = split.x[list(split.y).index(0.0)]
    assert 0.0 < root_x < 2.0  # centred over its children
    assert any('<br>' in str(row[3]) for row in leaves.customdata)  # mask text with line breaks
    assert any('split edge 0->1' in t for t in split.text)
    edges = fig.data[0]
    assert sum(v is None for v in edges.x) == 4  # one segment per non-root node
    assert 'sub-supernets' in fig.layout.title.text


def test_partition_tree_names_edges_not_indices():
    frame = tree_frame()
    frame['split_edge'] = pd.array([0, 2, None, None, None], dtype='Int64')  # as PartitionTree.to_frame
    fig = plot_partition_tree(frame)
    split = [t for t in fig.data if t.name == 'split node'][0]
    assert [row[2] for row in split.customdata] == [EDGE_NAMES[0], EDGE_NAMES[2]]
    assert all('->' in t for t in split.text)


def test_partition_tree_rejects_unknown_parent():
    bad = tree_frame()
    bad.loc[4, 'parent_id'] = 99
    with pytest.raises(ValueError, match='parent_id'):
        plot_partition_tree(bad)


@pytest.mark.parametrize(
    'call, column',
    [
        (lambda: plot_ranking(ranking_df().drop(columns='accuracy')), 'accuracy'),
        (lambda: plot_ranking(ranking_df(), hover='cell'), 'cell'),
        (lambda: plot_ranking_baselines(pd.DataFrame({'method': ['a']})), 'kendall_tau'),
        (lambda: plot_lid_curves(lid_df().drop(columns='block')), 'block'),
        (lambda: plot_embedding(pd.DataFrame({'x': [1.0]}), color='op'), 'y'),
        (lambda: plot_metric_vs(pd.DataFrame({'a': [1]}), x='a', y='b', group='g'), 'b'),
        (lambda: plot_partition_tree(tree_frame().drop(columns='mask')), 'mask'),
        (lambda: plot_cost_bars(pd.DataFrame({'method': ['a'], 'time_s': [1.0]})), 'peak_memory_mb'),
    ],
)
def test_missing_column_is_value_error_naming_it(call, column):
    with pytest.raises(ValueError, match=f"'{column}'"):
        call()


def test_bad_similarity_input():
    with pytest.raises(ValueError, match='empty'):
        plot_similarity(pd.DataFrame())
    with pytest.raises(ValueError, match='DataFrame'):
        plot_similarity(np.eye(3))
    with pytest.raises(ValueError, match='non-empty dict'):
        plot_similarity_grid({})


# -- widget ------------------------------------------------------------------------------------
def test_partition_explorer_recomputes_on_change():
    from nasviz.viz import partition_explorer
    from nasviz.viz.widgets import PLOTLY_MIME

    calls = []

    def compute(n: int, method: str) -> dict[str, go.Figure]:
        calls.append((n, method))
        return {'tree': go.Figure(layout_title_text=f'{n} via {method}'), 'cost': go.Figure(layout_title_text='cost')}

    w = partition_explorer(compute)
    assert calls == [(2, 'exhaustive')]  # drawn at construction
    assert w.figures['tree'].layout.title.text == '2 via exhaustive'

    w.count.value = 4
    assert calls[-1] == (4, 'exhaustive')
    w.method.value = 'spectral'
    assert calls[-1] == (4, 'spectral')
    assert w.figures['tree'].layout.title.text == '4 via spectral'
    shown = w.outputs['tree'].outputs[0]['data'][PLOTLY_MIME]
    assert shown['layout']['title']['text'] == '4 via spectral'
    assert len(w.figure_box.children) == 2


def test_partition_explorer_shows_errors_and_validates_default():
    from nasviz.viz import partition_explorer

    def compute(n, method):
        if n == 3:
            raise RuntimeError('no split possible')
        return go.Figure(layout_title_text=str(n))

    w = partition_explorer(compute, counts=(2, 3, 5), methods=('spectral',), default=(2, 'spectral'))
    w.count.value = 3
    assert 'no split possible' in w.status.value
    assert w.figures['figure'].layout.title.text == '2'  # previous figure stays up
    with pytest.raises(ValueError, match='default count'):
        partition_explorer(compute, counts=(2, 3), default=(7, 'exhaustive'))


def test_import_viz_does_not_load_umap_and_nasviz_stays_light():
    code = (
        'import sys, nasviz, nasviz.report; light = not any(m in sys.modules for m in '
        '("plotly", "papermill", "nbconvert", "umap", "ipywidgets")); '
        'import nasviz.viz; print(light, "umap" in sys.modules, "ipywidgets" in sys.modules)'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['True', 'False', 'False']


def test_plot_bars_groups_and_hover():
    df = pd.DataFrame(
        {
            'layer': ['stem', 's1c0', 'head', 'stem', 's1c0', 'head'],
            'cos': [0.1, 0.2, 0.6, 0.0, 0.3, 0.5],
            'sd': [0.01] * 6,
            'kind': ['a'] * 3 + ['b'] * 3,
            'note': list('uvwxyz'),
        }
    )
    from nasviz.viz import plot_bars

    fig = plot_bars(df, x='layer', y='cos', group='kind', error='sd', hover='note', title='t')
    assert len(fig.data) == 2 and fig.layout.title.text == 't'
    assert list(fig.layout.xaxis.categoryarray) == ['stem', 's1c0', 'head']  # table order, not sorted
    assert 'note' in fig.data[0].hovertemplate and fig.layout.yaxis.title.text
    with pytest.raises(ValueError, match='missing'):
        plot_bars(df, x='layer', y='nope')


def test_trim_table_names_why_a_cell_is_empty_and_keeps_strings_whole():
    long = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
    df = pd.DataFrame({'baseline': ['random cell', 'largest cell'], 'low': [80.0, np.nan], 'arch': [np.nan, long]})
    out = trim_table(df, na={'low': 'one cell, no interval'})
    assert out['low'].tolist() == [80.0, 'n/a (one cell, no interval)'] and out['arch'][0] == 'n/a'
    assert long in out._repr_html_() and '...' not in out._repr_html_()
    assert trim_table(df, na='not measured')['arch'][0] == 'n/a (not measured)'
