"""Property-based tests (hypothesis): NB201 architecture strings, ranking metrics against
scipy, and the partition invariant (every architecture in exactly one sub-supernet)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from nasviz.analysis.ranking import kendall_tau, spearman
from nasviz.partition.tree import PartitionTree
from nasviz.spaces.nb201 import NUM_ARCHS, NUM_EDGES, OPS, Arch, OpMask, canonical

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

op_idx = st.tuples(*[st.integers(0, len(OPS) - 1)] * NUM_EDGES)
archs = op_idx.map(Arch)


# ---------------------------------------------------------------------------------------------
# architecture strings
# ---------------------------------------------------------------------------------------------
@FAST
@given(archs)
def test_arch_string_round_trip(a: Arch) -> None:
    s = str(a)
    assert Arch.from_str(s) == a
    assert Arch.from_str(f'  {s}\n') == a  # surrounding whitespace is not part of the cell
    assert Arch.from_index(a.number) == a and 0 <= a.number < NUM_ARCHS
    assert Arch.from_ops(a.ops) == a and hash(Arch(a.op_idx)) == hash(a)


@FAST
@given(archs)
def test_canonical_is_stable(a: Arch) -> None:
    key = canonical(a)
    assert canonical(Arch.from_str(str(a))) == key == canonical(Arch(tuple(np.int64(i) for i in a.op_idx)))
    assert (key == '0') == a.is_degenerate


@FAST
@given(archs, st.data())
def test_canonical_ignores_dead_edges(a: Arch, data: st.DataObject) -> None:
    """An edge on no input-output path leaves no trace: any op there gives the same key."""
    live = a.live_edges()
    dead = [e for e in range(NUM_EDGES) if not live[e]]
    assume(dead)
    e = data.draw(st.sampled_from(dead))
    op = data.draw(st.integers(0, len(OPS) - 1))
    b = a.with_op(e, op)
    # a dead edge stays dead when it keeps an op, or becomes 'none'; either way the key holds
    if op == 0 or a.op_idx[e] != 0:
        assert canonical(b) == canonical(a)


@FAST
@given(archs, st.data())
def test_mutated_strings_are_rejected_with_value_error(a: Arch, data: st.DataObject) -> None:
    s = str(a)
    kind = data.draw(st.sampled_from(['drop', 'insert', 'op', 'source', 'plus']))
    if kind == 'drop':
        i = data.draw(st.integers(0, len(s) - 1))
        bad = s[:i] + s[i + 1:]
        # dropping one char of an op name can still leave a valid name only by coincidence
        assume(bad.strip() != s.strip())
    elif kind == 'insert':
        i = data.draw(st.integers(1, len(s) - 1))
        bad = s[:i] + data.draw(st.sampled_from(['|', '~', '+', 'x', '9', ' '])) + s[i:]
    elif kind == 'op':
        bad = s.replace(OPS[a.op_idx[0]], data.draw(st.sampled_from(['conv', 'none2', 'Skip', 'nor_conv_5x5'])), 1)
    elif kind == 'source':
        bad = s.replace('~0|', '~3|', 1)
    else:
        bad = s.replace('+', '', 1)
    try:
        parsed = Arch.from_str(bad)
    except ValueError:
        return
    # the only mutations that may still parse are those that spell a valid cell
    assert str(parsed) == bad.strip()


@FAST
@given(st.text(max_size=120))
def test_random_text_is_a_value_error_or_a_valid_cell(text: str) -> None:
    try:
        a = Arch.from_str(text)
    except ValueError:
        return
    assert str(a) == text.strip()


# ---------------------------------------------------------------------------------------------
# ranking metrics against scipy
# ---------------------------------------------------------------------------------------------
def _pairs(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.integers(2, 40).flatmap(lambda n: st.tuples(st.lists(values, min_size=n, max_size=n),
                                                          st.lists(values, min_size=n, max_size=n)))


# small integer sets make ties common; wide floats check scale does not matter
tied = st.integers(-3, 3).map(float)
wide = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@FAST
@given(st.one_of(_pairs(tied), _pairs(wide)))
def test_kendall_and_spearman_match_scipy(pt: tuple[list[float], list[float]]) -> None:
    p, t = np.array(pt[0]), np.array(pt[1])
    constant = np.ptp(p) == 0 or np.ptp(t) == 0
    ours_k, ours_s = kendall_tau(p, t), spearman(p, t)
    if constant:
        assert np.isnan(ours_k) and np.isnan(ours_s)
        return
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref_k = stats.kendalltau(p, t, variant='b').statistic
        ref_s = stats.spearmanr(p, t).statistic
    assert ours_k == pytest.approx(ref_k, abs=1e-9)
    assert ours_s == pytest.approx(ref_s, abs=1e-9)
    assert -1 - 1e-12 <= ours_k <= 1 + 1e-12 and -1 - 1e-12 <= ours_s <= 1 + 1e-12


@FAST
@given(_pairs(wide), st.floats(1e-3, 1e3), st.floats(-1e3, 1e3))
def test_rank_metrics_ignore_monotone_rescaling(pt, scale: float, shift: float) -> None:
    p, t = np.array(pt[0]), np.array(pt[1])
    assume(np.ptp(p) > 0 and np.ptp(t) > 0)
    q = p * scale + shift
    # the affine map must keep every order and tie of p (rounding could merge close values)
    assume((np.sign(np.subtract.outer(q, q)) == np.sign(np.subtract.outer(p, p))).all())
    assert kendall_tau(q, t) == pytest.approx(kendall_tau(p, t), abs=1e-12)
    assert spearman(q, t) == pytest.approx(spearman(p, t), abs=1e-12)
    assert kendall_tau(-p, t) == pytest.approx(-kendall_tau(p, t), abs=1e-12)


# ---------------------------------------------------------------------------------------------
# masks and partitions
# ---------------------------------------------------------------------------------------------
@st.composite
def trees(draw: st.DrawFn) -> PartitionTree:
    """A random partition tree: up to 3 splits, each of a random leaf at a random edge into a
    random set partition of the ops that leaf allows there."""
    tree = PartitionTree.root()
    for _ in range(draw(st.integers(1, 3))):
        leaf = draw(st.sampled_from(tree.leaves()))
        edges = [e for e in range(NUM_EDGES) if len(leaf.mask.allowed[e]) >= 2]
        e = draw(st.sampled_from(edges))
        ops = list(leaf.mask.allowed[e])
        labels = draw(st.lists(st.integers(0, len(ops) - 1), min_size=len(ops), max_size=len(ops)))
        groups = [[o for o, g in zip(ops, labels) if g == k] for k in sorted(set(labels))]
        assume(len(groups) >= 2)
        tree.split(leaf.node_id, e, groups)
    return tree


@FAST
@given(trees(), st.lists(archs, min_size=1, max_size=30))
def test_every_arch_in_exactly_one_sub_supernet(tree: PartitionTree, sample: list[Arch]) -> None:
    leaves = tree.leaves()
    assert sum(leaf.mask.size for leaf in leaves) == NUM_ARCHS
    for a in sample:
        hits = [leaf for leaf in leaves if a in leaf.mask]
        assert len(hits) == 1
        assert tree.leaf_for(a).node_id == hits[0].node_id
        assert hits[0].mask.sample(a.number) in hits[0].mask


@FAST
@given(st.lists(st.sets(st.integers(0, len(OPS) - 1), min_size=1), min_size=NUM_EDGES, max_size=NUM_EDGES))
def test_opmask_size_and_membership(allowed: list[set[int]]) -> None:
    m = OpMask(tuple(tuple(a) for a in allowed))
    assert m.size == int(np.prod([len(a) for a in allowed]))
    inside = list(m.archs())
    assert len(inside) == m.size == len(set(inside))
    assert all(a in m for a in inside[:50])
    assert OpMask.from_list(m.to_list()) == m
