"""Tests for nasviz.partition: per-edge op splits, edge choice and the sub-supernet tree."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from nasviz.partition import (
    METHODS,
    PartitionTree,
    SplitResult,
    choose_edge,
    enumerate_partitions,
    split_between,
    split_ops,
    split_score,
)
from nasviz.spaces.nb201 import NUM_ARCHS, OPS, Arch, OpMask, sample_archs

BLOCK_A = ['none', 'skip_connect', 'avg_pool_3x3']
BLOCK_B = ['nor_conv_1x1', 'nor_conv_3x3']
PLANTED = [['none', 'skip_connect', 'avg_pool_3x3'], ['nor_conv_1x1', 'nor_conv_3x3']]  # canonical


def planted_sim(
    seed: int = 0, within: float = 0.9, between: float = 0.1, noise: float = 0.05, order: list[str] | None = None
) -> pd.DataFrame:
    """Two-block op similarity over the 5 NB201 ops: {none, skip, pool} vs {c1x1, c3x3}."""
    rng = np.random.default_rng(seed)
    block = {o: 0 if o in BLOCK_A else 1 for o in OPS}
    S = np.array([[within if block[a] == block[b] else between for b in OPS] for a in OPS])
    E = rng.normal(scale=noise, size=S.shape)
    S = S + (E + E.T) / 2
    np.fill_diagonal(S, 1.0)
    df = pd.DataFrame(S, index=list(OPS), columns=list(OPS))
    return df if order is None else df.loc[order, order]


def noise_sim(seed: int) -> pd.DataFrame:
    """Structureless similarities around 0.5."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.35, 0.65, size=(5, 5))
    S = (E + E.T) / 2
    np.fill_diagonal(S, 1.0)
    return pd.DataFrame(S, index=list(OPS), columns=list(OPS))


# -- split_ops ------------------------------------------------------------------------------------
@pytest.mark.parametrize('method', ['exhaustive', 'spectral', 'agglomerative'])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_planted_blocks_recovered(method, seed):
    assert split_ops(planted_sim(seed), k=2, method=method) == PLANTED


@pytest.mark.parametrize('method', METHODS)
def test_every_method_returns_a_canonical_partition(method):
    groups = split_ops(noise_sim(0), k=2, method=method)
    assert sorted(o for g in groups for o in g) == sorted(OPS) and len(groups) == 2
    for g in groups:
        assert g == sorted(g, key=OPS.index)
    assert [g[0] for g in groups] == sorted((g[0] for g in groups), key=OPS.index)


def test_canonical_order_independent_of_matrix_order():
    """Given the space, groups follow its operation order whatever the matrix's order; without
    one, the matrix's order."""
    order = ['nor_conv_3x3', 'avg_pool_3x3', 'none', 'nor_conv_1x1', 'skip_connect']
    shuffled = planted_sim(order=order)
    for method in ('exhaustive', 'spectral', 'agglomerative'):
        assert split_ops(shuffled, method=method, space='nb201') == PLANTED
        assert split_ops(shuffled, method=method) == [
            ['nor_conv_3x3', 'nor_conv_1x1'],
            ['avg_pool_3x3', 'none', 'skip_connect'],
        ]


def test_exhaustive_counts_and_score():
    sim = planted_sim()
    res = split_ops(sim, k=2, return_result=True)
    assert isinstance(res, SplitResult)
    assert res.n_candidates == 15 == len(list(enumerate_partitions(OPS, 2)))
    assert res.groups == PLANTED
    assert res.score == pytest.approx(split_score(sim, PLANTED))
    assert res.between == pytest.approx(split_between(sim, PLANTED))
    # the reported best really is the maximum over all 15 cuts
    assert res.score == pytest.approx(max(split_score(sim, g) for g in enumerate_partitions(OPS, 2)))
    assert split_ops(sim, k=3, return_result=True).n_candidates == 25
    assert split_ops(sim, k=2, balanced=True, return_result=True).n_candidates == 10  # 2+3 only


def test_split_score_definition():
    S = np.array([[1, 0.8, 0.2], [0.8, 1, 0.4], [0.2, 0.4, 1]])
    assert split_score(S, [[0, 1], [2]]) == pytest.approx(0.8)
    assert split_score(S, [[0, 1, 2]]) == pytest.approx((0.8 + 0.2 + 0.4) / 3)
    assert np.isnan(split_score(S, [[0], [1], [2]]))
    assert split_between(S, [[0, 1], [2]]) == pytest.approx(0.3)
    with pytest.raises(ValueError, match='cover'):
        split_score(S, [[0, 1]])
    with pytest.raises(ValueError, match='more than one'):
        split_score(S, [[0, 1], [1, 2]])


def test_k3_and_edge_cases():
    rng = np.random.default_rng(3)
    S = np.full((6, 6), 0.1) + rng.normal(scale=0.02, size=(6, 6))
    for blk in ([0, 1], [2, 3], [4, 5]):
        S[np.ix_(blk, blk)] = 0.9
    labels = list('abcdef')
    for method in ('exhaustive', 'spectral', 'agglomerative'):
        assert split_ops(S, k=3, method=method, labels=labels) == [['a', 'b'], ['c', 'd'], ['e', 'f']]
    assert split_ops(S, k=1, labels=labels) == [labels]
    assert split_ops(S, k=6, labels=labels) == [[lab] for lab in labels]
    assert split_ops(S, k=3) == [[0, 1], [2, 3], [4, 5]]  # ndarray without labels: 0..n-1


def test_random_split_balanced_and_deterministic():
    sim = planted_sim()
    a = split_ops(sim, k=2, method='random', random_state=5)
    assert a == split_ops(sim, k=2, method='random', random_state=5)
    assert sorted(len(g) for g in a) == [2, 3]
    assert sorted(o for g in a for o in g) == sorted(OPS)
    draws = {str(split_ops(sim, k=2, method='random', random_state=s)) for s in range(20)}
    assert len(draws) > 1
    assert split_ops(sim, method='spectral', random_state=3) == split_ops(sim, method='spectral', random_state=3)


def test_bad_inputs():
    sim = planted_sim()
    with pytest.raises(ValueError, match='k=6'):
        split_ops(sim, k=6)
    with pytest.raises(ValueError, match='k=0'):
        split_ops(sim, k=0)
    with pytest.raises(ValueError, match='square'):
        split_ops(np.ones((3, 4)))
    with pytest.raises(ValueError, match='square'):
        split_ops(sim.iloc[:, :4])
    bad = sim.copy()
    bad.iloc[0, 1] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        split_ops(bad)
    bad.iloc[0, 1] = np.inf
    with pytest.raises(ValueError, match='NaN or inf'):
        split_ops(bad)
    with pytest.raises(ValueError, match='labels'):
        split_ops(sim.to_numpy(), labels=['a', 'b'])
    with pytest.raises(ValueError, match='labels'):
        split_ops(sim.rename(columns={'none': 'zero'}))
    with pytest.raises(ValueError, match='exhaustive, spectral, agglomerative, random'):
        split_ops(sim, method='kmeans')
    with pytest.raises(ValueError, match='too large'):
        split_ops(np.eye(11), k=2, method='exhaustive')
    assert len(split_ops(np.eye(11) + 0.1, k=2, method='agglomerative')) == 2


# -- choose_edge -----------------------------------------------------------------------------------
def edge_sims(planted_edge: int = 3) -> dict[int, pd.DataFrame]:
    return {e: planted_sim(seed=e) if e == planted_edge else noise_sim(seed=10 + e) for e in range(6)}


@pytest.mark.parametrize('method', ['exhaustive', 'spectral', 'agglomerative'])
def test_choose_edge_picks_planted(method):
    edge, groups, scores = choose_edge(edge_sims(3), k=2, method=method, space='nb201')
    assert edge == 3 and groups == PLANTED
    assert list(scores.index) == list(range(6))
    assert scores['chosen'].sum() == 1 and scores.loc[3, 'chosen']
    assert {'edge_name', 'n_ops', 'within', 'between', 'n_candidates', 'groups', 'groups_str'} <= set(scores.columns)
    assert scores.loc[3, 'edge_name'] == '0->3'


def test_choose_edge_criteria():
    sims = edge_sims(3)
    edge_min, _, scores = choose_edge(sims, criterion='min_within')
    assert edge_min != 3
    assert edge_min == scores['within'].idxmin()
    edge_cut, groups, _ = choose_edge(sims, criterion='min_between', balanced=True)
    assert edge_cut == 3 and groups == PLANTED
    with pytest.raises(ValueError, match='max_within, min_within, min_between'):
        choose_edge(sims, criterion='best')


def test_choose_edge_skips_unsplittable_edges():
    sims = edge_sims(3)
    sims[3] = sims[3].loc[['nor_conv_3x3'], ['nor_conv_3x3']]  # edge already fixed to one op
    edge, _, scores = choose_edge(sims)
    assert edge != 3 and np.isnan(scores.loc[3, 'within'])
    with pytest.raises(ValueError, match='no edge'):
        choose_edge({0: sims[3]})


# -- PartitionTree -----------------------------------------------------------------------------------
def two_level_tree() -> PartitionTree:
    tree = PartitionTree.root()
    left, right = tree.split('0', 3, PLANTED, info={'score': 0.9})
    tree.split(left, 0, [['none'], ['skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']])
    tree.split(right, 5, [['skip', 'pool'], ['c1x1', 'c3x3', 'none']])  # abbreviations accepted
    return tree


def test_two_level_tree_covers_space_exactly_once():
    tree = two_level_tree()
    leaves = tree.leaves()
    assert tree.n_leaves == len(leaves) == 4 and tree.depth == 2
    assert sum(leaf.mask.size for leaf in leaves) == NUM_ARCHS == 15625
    for arch in sample_archs(300, rng=0) + [Arch.from_index(0), Arch.from_index(NUM_ARCHS - 1)]:
        hits = [leaf for leaf in leaves if leaf.mask.contains(arch)]
        assert len(hits) == 1
        assert tree.leaf_for(arch) is hits[0]
        assert tree.leaf_for(str(arch)) is hits[0]


def test_tree_nodes_and_frame():
    tree = two_level_tree()
    child = tree['0.1']
    assert child.parent_id == '0' and child.depth == 1 and child.split_edge == 3
    assert child.group == ('nor_conv_1x1', 'nor_conv_3x3')
    assert child.mask == OpMask.full().restrict(3, BLOCK_B)
    assert tree.root_node.info == {'score': 0.9} and tree.root_node.split_edge is None
    df = tree.to_frame()
    assert list(df.columns[:7]) == ['node_id', 'parent_id', 'depth', 'mask', 'size', 'split_edge', 'group']
    assert 'is_leaf' in df and df['is_leaf'].sum() == 4 and len(df) == 7
    assert df.loc[df.node_id == '0', 'mask'].item() == 'full'
    assert df.loc[df.node_id == '0.0', 'size'].item() == 3 * 5**5


def test_tree_split_validation():
    tree = PartitionTree.root()
    with pytest.raises(ValueError, match='missing'):
        tree.split('0', 1, [['none'], ['skip_connect']])
    with pytest.raises(ValueError, match='more than one group'):
        tree.split('0', 1, [list(OPS), ['none']])
    with pytest.raises(ValueError, match='at least 2 groups'):
        tree.split('0', 1, [list(OPS)])
    with pytest.raises(ValueError, match='out of range'):
        tree.split('0', 6, PLANTED)
    with pytest.raises(KeyError):
        tree.split('9', 1, PLANTED)
    left, _ = tree.split('0', 1, PLANTED)
    with pytest.raises(ValueError, match='already split'):
        tree.split('0', 2, PLANTED)
    with pytest.raises(ValueError, match='not allowed'):
        tree.split(left, 1, [['none'], ['nor_conv_1x1']])
    small = PartitionTree.root(OpMask.full().restrict(0, ['none']))
    with pytest.raises(ValueError, match='outside the root mask'):
        small.leaf_for(Arch.from_ops(['skip_connect'] * 6))


def test_tree_json_round_trip(tmp_path):
    tree = two_level_tree()
    path = tree.save(tmp_path / 'sub' / 'tree.json')
    assert json.loads(path.read_text())['format'] == 'nasviz.PartitionTree'
    back = PartitionTree.load(path)
    assert back.to_dict() == tree.to_dict()
    pd.testing.assert_frame_equal(back.to_frame(), tree.to_frame())
    arch = Arch.from_ops(['skip_connect', 'none', 'none', 'nor_conv_3x3', 'none', 'avg_pool_3x3'])
    assert back.leaf_for(arch).node_id == tree.leaf_for(arch).node_id
    d = tree.to_dict()
    d['nodes'][1]['mask'][0] = ['none']  # tampered mask no longer matches its split
    with pytest.raises(ValueError, match='does not match'):
        PartitionTree.from_dict(d)


def test_tree_to_networkx():
    g = two_level_tree().to_networkx()
    assert isinstance(g, nx.DiGraph) and nx.is_arborescence(g)
    assert g.number_of_nodes() == 7 and g.number_of_edges() == 6
    assert g.edges['0', '0.1']['edge'] == 3 and g.edges['0', '0.1']['group'] == 'c1x1,c3x3'
    assert g.nodes['0.1.0']['is_leaf'] and g.nodes['0.1.0']['size'] == 2 * 2 * 5**4


def test_max_gap_prefers_clear_groups_over_uniformly_alike_ops():
    ops = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']

    def blocks(within: float, between: float) -> pd.DataFrame:
        S = np.full((5, 5), between)
        S[:2, :2] = S[2:, 2:] = within
        np.fill_diagonal(S, 1.0)
        return pd.DataFrame(S, index=ops, columns=ops)

    sims = {0: blocks(0.999, 0.995), 1: blocks(0.9, 0.1)}  # 0: saturated cosine, like LID profiles
    assert choose_edge(sims, criterion='max_within')[0] == 0  # the edge whose ops differ least
    edge, groups, scores = choose_edge(sims, criterion='max_gap')
    assert edge == 1 and sorted(map(sorted, groups)) == sorted([sorted(ops[:2]), sorted(ops[2:])])
    assert scores['chosen'].tolist() == [False, True]
