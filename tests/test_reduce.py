"""C-BRED: encodings, distances, clustering, selection and the ``nasviz reduce`` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasviz.cli import main
from nasviz.proxies.sweep import get_space
from nasviz.reduce import (
    CBRED,
    adjacency_tensor,
    cluster_distances,
    compare_selection,
    graph_edit_distance,
    hellinger,
    jensen_shannon,
    op_histogram,
    pairwise_distances,
    symmetric_kl,
)

SPACE = get_space('nb201')
A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|'


def test_histogram_and_adjacency_of_a_known_cell():
    ops = list(SPACE.choices(SPACE.slots[0]))
    h = op_histogram([A], SPACE, normalize=False)[0]
    assert dict(zip(ops, h)) == {'none': 1, 'skip_connect': 1, 'nor_conv_1x1': 1, 'nor_conv_3x3': 2, 'avg_pool_3x3': 1}
    assert op_histogram([A], SPACE).sum() == pytest.approx(1.0)
    T = adjacency_tensor([A], SPACE)[0]
    assert T.shape == (4, 4, 5) and T.sum() == 6
    assert T[0, 1, ops.index('nor_conv_3x3')] == 1 and T[1, 2, ops.index('nor_conv_1x1')] == 1
    assert T[2, 3, ops.index('avg_pool_3x3')] == 1 and T[1, 0].sum() == 0


def test_distances_on_hand_made_histograms():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.1, 0.2, 0.7])
    disjoint = (np.array([1.0, 0, 0]), np.array([0, 0, 1.0]))
    assert jensen_shannon(p, q) == pytest.approx(jensen_shannon(q, p))
    assert 0 < jensen_shannon(p, q) < 1 and jensen_shannon(p, p) == 0
    assert jensen_shannon(*disjoint) == pytest.approx(1.0)  # bits: the bound is reached
    assert 0 < hellinger(p, q) < 1 and hellinger(*disjoint) == pytest.approx(1.0) and hellinger(q, q) == 0
    # Hellinger by hand: sqrt(1 - sum sqrt(p q))
    assert hellinger(p, q) == pytest.approx(np.sqrt(1 - (np.sqrt(0.05) + np.sqrt(0.1))))
    assert symmetric_kl(p, q) == pytest.approx(symmetric_kl(q, p)) and symmetric_kl(p, p) == pytest.approx(0)
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(5), 30)
    for f in (jensen_shannon, hellinger, symmetric_kl):
        D = f(P)
        assert D.shape == (30, 30) and np.allclose(D, D.T) and np.allclose(np.diag(D), 0) and (D >= 0).all()
    assert (jensen_shannon(P) <= 1).all() and (hellinger(P) <= 1).all()
    with pytest.raises(ValueError, match='non-negative'):
        hellinger(np.array([-0.1, 1.1]), p[:2])


def test_graph_edit_distance_with_per_op_costs():
    b = A.replace('nor_conv_1x1~1', 'nor_conv_3x3~1')  # conv1x1 -> conv3x3: 0.5
    c = b.replace('skip_connect~0', 'none~0')  # remove an edge: 1
    D = graph_edit_distance([A, b, c], None, SPACE)
    np.testing.assert_allclose(D, [[0, 0.5, 1.5], [0.5, 0, 1], [1.5, 1, 0]])
    D2 = graph_edit_distance([A], [c], SPACE, costs={('nor_conv_1x1', 'nor_conv_3x3'): 2.0})
    assert D2[0, 0] == 3.0


@pytest.mark.parametrize('method', ['spectral', 'kmeans'])
def test_planted_clustering_is_recovered(method):
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    centres = np.array([[0.8, 0.1, 0.05, 0.05], [0.05, 0.05, 0.1, 0.8], [0.25, 0.25, 0.25, 0.25]])
    truth = np.repeat(np.arange(3), 20)
    P = np.vstack([rng.dirichlet(200 * centres[t]) for t in truth])
    labels = cluster_distances(pairwise_distances(P, 'js'), 3, method)
    assert adjusted_rand_score(truth, labels) == 1.0


def _space_with_planted_proxy():
    """All NB201 cells; a proxy that rewards 3x3 convolutions, known on a sample."""
    archs = list(SPACE.enumerate())
    strs = [str(a) for a in archs]
    n_conv = np.array([a.count('nor_conv_3x3') for a in archs])
    rng = np.random.default_rng(0)
    idx = rng.choice(len(strs), 600, replace=False)
    prox = pd.DataFrame(
        {
            'arch_str': [strs[i] for i in idx],
            'naswot': n_conv[idx] + rng.normal(0, 0.3, 600),
            'params': 1e5 * (1 + n_conv[idx]),
        }
    )
    truth = dict(zip(strs, 50 + 3 * n_conv + rng.normal(0, 1, len(strs))))
    return archs, strs, n_conv, prox, truth


def test_cbred_selects_the_cluster_its_proxy_rewards():
    archs, strs, n_conv, prox, truth = _space_with_planted_proxy()
    m = CBRED(k=6, encoding='histogram', distance='js', clustering='spectral', score=('naswot',))
    m.fit(archs, SPACE, prox)
    assert len(m.labels_) == len(archs) and set(m.labels_) == set(range(6))
    t = m.cluster_table_
    assert t['size'].sum() == len(archs) and t['selected'].sum() == 1
    sel = np.array([s in set(m.select()) for s in strs])
    assert n_conv[sel].mean() > n_conv.mean() + 1.0  # the selected cells are conv-heavy
    comp = compare_selection(m, truth, prox).set_index('method')
    assert {
        'whole set',
        'C-BRED',
        'random subsets',
        'top by naswot',
        'top by params',
        'best cluster by params',
        'C-BRED cluster, all cells',
    } <= set(comp.index)
    assert comp.loc['C-BRED', 'n'] == comp.loc['random subsets', 'n']
    assert comp.loc['C-BRED', 'mean'] > comp.loc['random subsets', 'high']
    # a size filter drops the big cells before clustering
    small = CBRED(k=4, score=('naswot',), max_params=2.5e5).fit(
        archs, SPACE, prox, params=dict(zip(strs, 1e5 * (1 + n_conv)))
    )
    assert max(n_conv[strs.index(s)] for s in small.archs_) <= 1


def test_cbred_bad_inputs():
    archs, strs, n_conv, prox, truth = _space_with_planted_proxy()
    with pytest.raises(ValueError, match='unknown distance'):
        CBRED(distance='manhattan').fit(archs, SPACE, prox)
    with pytest.raises(ValueError, match='lacks score column'):
        CBRED(score=('zen',)).fit(archs, SPACE, prox)
    with pytest.raises(ValueError, match='fewer than k'):
        CBRED(k=4, score=('naswot',), max_params=1.0).fit(archs, SPACE, prox)


def test_cli_reduce(tmp_path, nb201_table_path, monkeypatch, capsys):
    monkeypatch.setenv('NASVIZ_NB201_TABLE', str(nb201_table_path))
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    archs, strs, n_conv, prox, truth = _space_with_planted_proxy()
    prox['synflow'] = prox['naswot']
    table = tmp_path / 'p.csv'
    prox.to_csv(table, index=False)
    out = tmp_path / 'sel.csv'
    assert (
        main(
            [
                'reduce',
                '--space',
                'nb201',
                '--dataset',
                'cifar100',
                '--k',
                '6',
                '--distance',
                'js',
                '--max-params',
                '500000',
                '--min-size',
                '3',
                '--proxies-table',
                str(table),
                '--out',
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    for row in ('whole set', 'C-BRED', 'random subsets', 'top by naswot', 'top by params', 'best cluster by params'):
        assert row in text
    sel = pd.read_csv(out)
    assert list(sel.columns) == ['arch_str'] and len(sel) > 0
    prox.drop(columns='synflow').to_csv(table, index=False)
    assert main(['reduce', '--proxies-table', str(table), '--out', str(out)]) == 2
    assert "missing proxy column(s) ['synflow']" in capsys.readouterr().err


def test_cell_graph_sees_topology_and_ignores_dead_edges():
    from nasviz.reduce.encodings import cell_graph, path_encoding, wl_features

    chain = '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|'  # three convs in a row
    dead = '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|'.replace(
        '|none~0|nor_conv_3x3~1|', '|avg_pool_3x3~0|nor_conv_3x3~1|'
    )  # 0->2 pool feeds node 2: live
    parallel = '|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|'  # same op counts
    unused = '|none~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|'  # 1->2 cannot be reached
    only = '|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|'
    G = cell_graph(chain, SPACE)
    assert sorted(d for _, d in G.nodes(data='label')).count('nor_conv_3x3') == 3 and G.number_of_edges() == 6
    assert op_histogram([chain], SPACE).tolist() == op_histogram([parallel], SPACE).tolist()
    P = path_encoding([chain, parallel, dead, unused, only], SPACE)
    W = wl_features([chain, parallel, dead, unused, only], SPACE)
    assert (P[0] != P[1]).any() and (W[0] != W[1]).any()  # the histogram cannot tell them apart
    assert (P[3] == P[4]).all() and (W[3] == W[4]).all()  # an unreachable edge changes nothing
    assert P[0].sum() == 1 and P[1].sum() == 2  # one path through three convs; two paths
    deg = path_encoding([DEGENERATE_CELL], SPACE)
    assert deg.sum() == 1 and deg[0, 0] == 1  # the 'no path' column


DEGENERATE_CELL = '|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|'


def _family_a(s: str) -> bool:
    return 'pool' not in s and 'none' not in s


def _two_families(n: int = 24):
    """Cells made of convolutions and skips only (family A) or pools and zeros with one skip to the
    output (family B), with a proxy counting convolutions and a truth favouring A."""
    rng = np.random.default_rng(0)
    a_ops, b_ops = ['nor_conv_3x3', 'skip_connect'], ['avg_pool_3x3', 'none']
    cells = set()
    while len(cells) < 2 * n:
        fam = len(cells) % 2
        ops = [str(rng.choice(a_ops if fam == 0 else b_ops)) for _ in range(6)]
        if fam:
            ops[3] = 'skip_connect'  # keep B non-degenerate
        cells.add(SPACE.to_str(SPACE.from_assignment(dict(zip(SPACE.slots, ops)))))
    cells = sorted(cells)
    convs = {s: s.count('conv') for s in cells}
    truth = {s: 70.0 + convs[s] if _family_a(s) else 50.0 for s in cells}
    prox = pd.DataFrame({'arch_str': cells, 'convs': [convs[s] for s in cells]})
    return cells, prox, truth


@pytest.mark.parametrize('encoding,distance', [('path', 'hellinger'), ('path', 'js'), ('wl', 'cosine')])
def test_topology_encodings_select_the_family_the_proxy_rewards(encoding, distance):
    cells, prox, truth = _two_families()
    m = CBRED(k=2, encoding=encoding, distance=distance, score=('convs',), min_scored=2).fit(cells, SPACE, prox)
    assert m.selected_ and all(_family_a(s) for s in m.selected_)  # never a cell of pools and zeros
    assert np.mean([truth[s] for s in m.selected_]) >= 70 > np.mean(list(truth.values()))
    assert m.min_size_ == max(1, len(cells) // 100)  # the default: 1% of the clustered cells
    with pytest.raises(ValueError, match='min_size'):
        CBRED(k=2, encoding=encoding, distance=distance, score=('convs',), min_size=10**6).fit(cells, SPACE, prox)


def test_defaults_are_the_topology_aware_settings():
    m = CBRED()
    assert (m.k, m.encoding, m.distance, m.clustering, m.min_size) == (64, 'path', 'hellinger', 'spectral', None)


def test_proxy_baselines_rank_undefined_cells_last_and_leave_out_missing_values():
    from nasviz.reduce import proxy_baselines

    t = pd.DataFrame(
        {
            'arch_str': ['a', 'b', 'c', 'd'],
            'naswot': [3.0, np.nan, np.nan, 1.0],
            'synflow': [1.0, 2.0, 3.0, -np.inf],
            'undefined': ['', 'degenerate cell (no path from input to output): naswot undefined', '', ''],
        }
    )
    b = proxy_baselines(t, ('naswot', 'synflow', 'zen'))
    assert set(b) == {'naswot', 'synflow'}  # a column the table lacks is no baseline
    assert b['naswot'] == {'a': 3.0, 'b': -np.inf, 'd': 1.0}  # c: not computed, left out
    assert b['synflow'] == {'a': 1.0, 'b': 2.0, 'c': 3.0, 'd': -np.inf}
    assert proxy_baselines(t.drop(columns='undefined'), ('naswot',))['naswot'] == {'a': 3.0, 'd': 1.0}


def test_seed_evaluation_pairs_the_baselines_on_equal_size():
    from nasviz.reduce.evaluate import cbred_grid, evaluate_seeds, summarize_seeds, top_fraction_mean

    cells, prox, truth = _two_families()
    size = {s: -s.count('pool') for s in cells}  # a baseline that prefers family A too
    half = dict(list(size.items())[::2])  # covers half the cells: the top FRACTION of them is averaged
    per = evaluate_seeds(
        cells,
        SPACE,
        prox,
        truth,
        {'size': size, 'half': half},
        seeds=(0, 1),
        random_draws=20,
        k=2,
        encoding='path',
        distance='hellinger',
        score=('convs',),
        min_scored=2,
    )
    assert list(per['seed']) == [0, 1] and (per['n'] > 0).all()
    assert per['top_size_exact'].all() and not per['top_half_exact'].any()
    assert (per['top_half_cells'] == (per['n'] * len(half) / len(cells)).round()).all()
    n = int(per['n'].iloc[0])
    mean, cells_used, exact = top_fraction_mean(size, truth, n, len(cells))
    assert exact and cells_used == n and mean == pytest.approx(per['top_size'].iloc[0])
    assert (per['random'] < per['cbred']).all()  # family A (>= 70) against a mix with B (50)
    summ = summarize_seeds(per).set_index('method')
    assert summ.loc['random', 'diff'] == pytest.approx((per['cbred'] - per['random']).mean())
    assert summ.loc['random', 'cbred_wins'] == 2 and summ.loc['cbred', 'seeds'] == 2
    g = cbred_grid(
        cells,
        SPACE,
        prox,
        truth,
        ks=(2, 3),
        distances=('hellinger', 'js'),
        encoding='path',
        score=('convs',),
        min_scored=2,
    )
    assert len(g) == 4 and g['mean'].notna().all() and set(g['k']) == {2, 3}
