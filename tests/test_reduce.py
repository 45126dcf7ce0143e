"""C-BRED: encodings, distances, clustering, selection and the ``nasviz reduce`` command."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasviz.cli import main
from nasviz.proxies.sweep import get_space
from nasviz.reduce import (CBRED, adjacency_tensor, cluster_distances, compare_selection, graph_edit_distance,
                           hellinger, jensen_shannon, op_histogram, pairwise_distances, symmetric_kl)

SPACE = get_space('nb201')
A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|'


def test_histogram_and_adjacency_of_a_known_cell():
    ops = list(SPACE.choices(SPACE.slots[0]))
    h = op_histogram([A], SPACE, normalize=False)[0]
    assert dict(zip(ops, h)) == {'none': 1, 'skip_connect': 1, 'nor_conv_1x1': 1, 'nor_conv_3x3': 2,
                                 'avg_pool_3x3': 1}
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
    b = A.replace('nor_conv_1x1~1', 'nor_conv_3x3~1')      # conv1x1 -> conv3x3: 0.5
    c = b.replace('skip_connect~0', 'none~0')              # remove an edge: 1
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
    prox = pd.DataFrame({'arch_str': [strs[i] for i in idx], 'naswot': n_conv[idx] + rng.normal(0, 0.3, 600),
                         'params': 1e5 * (1 + n_conv[idx])})
    truth = dict(zip(strs, 50 + 3 * n_conv + rng.normal(0, 1, len(strs))))
    return archs, strs, n_conv, prox, truth


def test_cbred_selects_the_cluster_its_proxy_rewards():
    archs, strs, n_conv, prox, truth = _space_with_planted_proxy()
    m = CBRED(k=6, distance='js', clustering='spectral', score=('naswot',)).fit(archs, SPACE, prox)
    assert len(m.labels_) == len(archs) and set(m.labels_) == set(range(6))
    t = m.cluster_table_
    assert t['size'].sum() == len(archs) and t['selected'].sum() == 1
    sel = np.array([s in set(m.select()) for s in strs])
    assert n_conv[sel].mean() > n_conv.mean() + 1.0  # the selected cells are conv-heavy
    comp = compare_selection(m, truth, prox).set_index('method')
    assert {'whole set', 'C-BRED', 'random subsets', 'top by naswot', 'top by params', 'best cluster by params',
            'C-BRED cluster, all cells'} <= set(comp.index)
    assert comp.loc['C-BRED', 'n'] == comp.loc['random subsets', 'n']
    assert comp.loc['C-BRED', 'mean'] > comp.loc['random subsets', 'high']
    # a size filter drops the big cells before clustering
    small = CBRED(k=4, score=('naswot',), max_params=2.5e5).fit(archs, SPACE, prox,
                                                                  params=dict(zip(strs, 1e5 * (1 + n_conv))))
    assert max(n_conv[strs.index(s)] for s in small.archs_) <= 1


def test_cbred_bad_inputs():
    archs, strs, n_conv, prox, truth = _space_with_planted_proxy()
    with pytest.raises(ValueError, match='unknown distance'):
        CBRED(distance='cosine').fit(archs, SPACE, prox)
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
    assert main(['reduce', '--space', 'nb201', '--dataset', 'cifar100', '--k', '6', '--distance', 'js',
                 '--max-params', '500000', '--proxies-table', str(table), '--out', str(out)]) == 0
    text = capsys.readouterr().out
    for row in ('whole set', 'C-BRED', 'random subsets', 'top by naswot', 'top by params', 'best cluster by params'):
        assert row in text
    sel = pd.read_csv(out)
    assert list(sel.columns) == ['arch_str'] and len(sel) > 0
    prox.drop(columns='synflow').to_csv(table, index=False)
    assert main(['reduce', '--proxies-table', str(table), '--out', str(out)]) == 2
    assert "missing proxy column(s) ['synflow']" in capsys.readouterr().err
