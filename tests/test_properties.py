"""Property-based tests (hypothesis): NB201 architecture strings, ranking metrics against
scipy (also on integers beyond float64, and the bootstrap's vectorised statistic), top-k
precision against brute force over tie breaks, and the partition invariants (every
architecture in exactly one sub-supernet, for random trees and for trees grown by split_ops)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from scipy import stats

from nasviz.analysis.metrics import kendall_tau, regret, spearman, topk_precision
from nasviz.analysis.uncertainty import metric_ci
from nasviz.partition.split import split_ops
from nasviz.partition.tree import PartitionTree
from nasviz.spaces.nb201 import NUM_ARCHS, NUM_EDGES, OPS, Arch, OpMask, canonical

# derandomized: the suite gives the same examples on every run (a failure is reproducible, never flaky)
FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

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
        bad = s[:i] + s[i + 1 :]
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
    return st.integers(2, 40).flatmap(
        lambda n: st.tuples(st.lists(values, min_size=n, max_size=n), st.lists(values, min_size=n, max_size=n))
    )


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


# ---------------------------------------------------------------------------------------------
# ranking metrics beyond float64, the bootstrap's statistic, top-k and regret
# ---------------------------------------------------------------------------------------------
def _exact_ranks(values: list) -> np.ndarray:
    """Average ranks computed by Python comparisons (exact for ints of any size)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = np.empty(len(values))
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


# integers that float64 cannot tell apart (2**60 + small offsets) and beyond its range
big_ints = st.sampled_from([2**60, 2**64, 10**400]).flatmap(lambda base: st.integers(-6, 6).map(lambda d: base + d))


@FAST
@given(_pairs(big_ints), st.booleans())
def test_rank_metrics_on_huge_integers_match_scipy_on_exact_ranks(pt, as_truth: bool) -> None:
    ints, other = pt[0], [float(v % 7) for v in pt[1]]
    pred, truth = (other, ints) if as_truth else (ints, other)
    rp, rt = _exact_ranks(pred), _exact_ranks(truth)
    if np.ptp(rp) == 0 or np.ptp(rt) == 0:
        assert np.isnan(kendall_tau(pred, truth)) and np.isnan(spearman(pred, truth))
        return
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref_k = stats.kendalltau(rp, rt, variant='b').statistic
        ref_s = stats.spearmanr(rp, rt).statistic
    assert kendall_tau(pred, truth) == pytest.approx(ref_k, abs=1e-12)
    assert spearman(pred, truth) == pytest.approx(ref_s, abs=1e-12)


@FAST
@given(st.one_of(_pairs(tied), _pairs(wide)), st.sampled_from(['kendall_tau', 'spearman']))
def test_bootstrap_statistic_matches_scipy(pt, metric: str) -> None:
    """metric_ci's estimate comes from the vectorised resampling statistic (pairwise sign
    matrices for Kendall): on the data as given it must equal scipy's value."""
    p, t = np.array(pt[0]), np.array(pt[1])
    assume(p.size >= 3 and np.ptp(p) > 0 and np.ptp(t) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref = (stats.kendalltau(p, t, variant='b') if metric == 'kendall_tau' else stats.spearmanr(p, t)).statistic
    est = metric_ci(metric, p, t, n_resamples=100, random_state=0)
    assert est.estimate == pytest.approx(ref, abs=1e-9)
    assert est.n == p.size
    if est.has_interval:
        assert -1 - 1e-9 <= est.low <= est.high <= 1 + 1e-9


def _topk_brute(p: np.ndarray, t: np.ndarray, k: int) -> float:
    """Expected top-k precision over every order of the predictions tied at the cut."""
    good = t >= np.sort(t)[::-1][k - 1]
    hits = []
    for perm in itertools.permutations(range(p.size)):
        # rank by score, ties broken by this permutation: every tie-break equally likely
        order = sorted(range(p.size), key=lambda i: (-p[i], perm[i]))
        hits.append(good[order[:k]].sum() / k)
    return float(np.mean(hits))


@FAST
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
            st.integers(1, n),
        )
    )
)
def test_topk_precision_is_the_expectation_over_tie_breaks(case) -> None:
    p, t, k = np.array(case[0], float), np.array(case[1], float), case[2]
    assert topk_precision(p, t, k) == pytest.approx(_topk_brute(p, t, k), abs=1e-12)


@FAST
@given(_pairs(tied))
def test_regret_is_mean_loss_of_the_predicted_best(pt) -> None:
    p, t = np.array(pt[0]), np.array(pt[1])
    best = [i for i in range(p.size) if p[i] == p.max()]
    assert regret(p, t) == pytest.approx(t.max() - np.mean(t[best]), abs=1e-12)
    assert regret(p, t) >= 0


# ---------------------------------------------------------------------------------------------
# splits and trees built from them
# ---------------------------------------------------------------------------------------------
@st.composite
def similarities(draw: st.DrawFn, n: int | None = None) -> np.ndarray:
    """A symmetric op x op similarity in [-1, 1] with a unit diagonal."""
    n = draw(st.integers(2, len(OPS))) if n is None else n
    vals = draw(st.lists(st.floats(-1, 1, allow_nan=False), min_size=n * n, max_size=n * n))
    m = np.array(vals).reshape(n, n)
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return m


@FAST
@given(similarities(), st.data())
def test_split_ops_is_a_partition_into_k_groups(sim: np.ndarray, data: st.DataObject) -> None:
    n = sim.shape[0]
    k = data.draw(st.integers(1, n))
    method = data.draw(st.sampled_from(['exhaustive', 'agglomerative', 'random']))
    labels = [OPS[i] for i in range(n)]
    seed = data.draw(st.integers(0, 9))
    groups = split_ops(sim, k=k, method=method, labels=labels, random_state=seed)
    assert len(groups) == k and all(groups)
    flat = [o for g in groups for o in g]
    assert sorted(flat) == sorted(labels) and len(flat) == len(set(flat))
    assert groups == split_ops(sim, k=k, method=method, labels=labels, random_state=seed)  # deterministic


@FAST
@given(st.lists(similarities(len(OPS)), min_size=1, max_size=3), st.data())
def test_trees_grown_by_split_ops_keep_every_arch_in_one_leaf(sims: list, data: st.DataObject) -> None:
    """Grow a tree the way the pipeline does (split_ops groups on a leaf's edge), save and
    reload it: the leaves still partition the space, siblings are disjoint and cover their
    parent, and leaf_for agrees with membership."""
    tree = PartitionTree.root()
    for sim in sims:
        leaf = data.draw(st.sampled_from(tree.leaves()))
        edges = [e for e in range(NUM_EDGES) if len(leaf.mask.allowed[e]) >= 2]
        e = data.draw(st.sampled_from(edges))
        ops = list(leaf.mask.allowed[e])
        sub = sim[np.ix_(ops, ops)]
        k = data.draw(st.integers(2, len(ops)))
        groups = split_ops(sub, k=k, method='exhaustive', labels=[OPS[o] for o in ops])
        kids = tree.split(leaf.node_id, e, groups)
        assert sum(tree[c].mask.size for c in kids) == leaf.mask.size
    leaves = tree.leaves()
    assert sum(leaf.mask.size for leaf in leaves) == NUM_ARCHS
    sample = data.draw(st.lists(archs, min_size=1, max_size=20))
    for a in sample:
        assert sum(a in leaf.mask for leaf in leaves) == 1
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        again = PartitionTree.load(tree.save(Path(d) / 'tree.json'))
    assert [n.node_id for n in again.leaves()] == [n.node_id for n in leaves]
    for a in sample:
        assert again.leaf_for(a).node_id == tree.leaf_for(a).node_id


# ---------------------------------------------------------------------------------------------
# every registered search space: strings, canonical keys, bad strings, masks
# ---------------------------------------------------------------------------------------------
from nasviz.spaces import get_space, list_spaces  # noqa: E402

SPACE_FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize('name', list_spaces())
@SPACE_FAST
@given(seed=st.integers(0, 2**31 - 1), data=st.data())
def test_every_space_round_trips_and_rejects_mutated_strings(name: str, seed: int, data: st.DataObject) -> None:
    space = get_space(name)
    a = space.sample(1, rng=seed)[0]
    s = space.to_str(a)
    b = space.from_str(s)
    assert b == a and space.to_str(b) == s and space.canonical(b) == space.canonical(a)
    assert space.from_assignment(space.assignment(a)) == a
    # a string with one character dropped, doubled or replaced is either rejected with a
    # ValueError or parses to a valid architecture of the same space (never a silent garbage value)
    i = data.draw(st.integers(0, len(s) - 1))
    op = data.draw(st.sampled_from(['drop', 'double', 'replace']))
    ch = data.draw(st.sampled_from(list("|~+,[]()0129xa '")))
    bad = s[:i] + (ch if op == 'replace' else s[i] * 2 if op == 'double' else '') + s[i + 1 :]
    try:
        c = space.from_str(bad)
    except ValueError:
        return
    assert space.is_valid(c) and c.space == name


@pytest.mark.parametrize('name', list_spaces())
@SPACE_FAST
@given(seed=st.integers(0, 2**31 - 1), data=st.data())
def test_every_space_mask_split_keeps_each_arch_in_one_child(name: str, seed: int, data: st.DataObject) -> None:
    space = get_space(name)
    slot = data.draw(st.sampled_from([s for s in space.slots if len(space.choices(s)) >= 2]))
    choices = list(space.choices(slot))
    cut = data.draw(st.integers(1, len(choices) - 1))
    tree = PartitionTree.root(space.root_mask())
    kids = tree.split(tree.root_id, slot, [choices[:cut], choices[cut:]])
    for a in space.sample(20, rng=seed):
        assert sum(tree[k].mask.contains(a) for k in kids) == 1
        assert tree.leaf_for(a).node_id in kids


# ---------------------------------------------------------------------------------------------
# every parser: random bytes and deeply nested brackets give a ValueError (or a value), never
# another exception, never a hang
# ---------------------------------------------------------------------------------------------
_CLOSE = {'[': ']', '{': '}', '(': ')'}
nested_text = st.builds(
    lambda o, n, closed, head, tail: head + o * n + (_CLOSE[o] * n if closed else '') + tail,
    st.sampled_from(sorted(_CLOSE)),
    st.integers(1, 300_000),
    st.booleans(),
    st.sampled_from(['', 'Genotype(normal=', 'normal=', '"', '[[0,1],[0,0]]|']),
    st.sampled_from(['', '|input,output', ';reduce=[]', ')', '"']),
)
random_text = st.one_of(st.binary(max_size=400).map(lambda b: b.decode('utf-8', 'replace')), nested_text)
PARSE = settings(
    max_examples=40,
    deadline=10_000,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PARSE
@given(text=random_text, name=st.sampled_from(['nb201', 'nb101', 'darts']))
@example(text='[' * 200_000 + ']' * 200_000 + '|input,output', name='nb101')
@example(text='Genotype(normal=' + '[' * 100_000, name='darts')
def test_every_from_str_refuses_junk_with_value_error(text: str, name: str) -> None:
    from nasviz.spaces import get_space

    try:
        get_space(name).from_str(text)
    except ValueError:
        pass


_HEADERS = [
    '',
    'index,arch_str,cifar10_test_200ep\n',
    'matrix,ops,val_accuracy,params_m\n',
    'normal,reduce,val_accuracy,params_m\n',
    '# recipe: ',
    '# recipe: {}\narch_str,accuracy\n',
]


@PARSE
@given(
    head=st.sampled_from(_HEADERS),
    body=st.one_of(st.binary(max_size=400), nested_text.map(str.encode)),
    reader=st.sampled_from(['NB201Table', 'NB101Table', 'DartsTable', 'MicroBench', 'load_benchmark']),
)
@example(head=_HEADERS[2], body=b'"' + b'[' * 5000 + b']' * 5000 + b'","input,output",90,1\n', reader='NB101Table')
@example(head=_HEADERS[4], body=b'[' * 100_000 + b'\narch_str,accuracy\n', reader='load_benchmark')
def test_every_table_reader_refuses_junk_with_value_error(head: str, body: bytes, reader: str) -> None:
    import tempfile
    from pathlib import Path

    from nasviz.bench import DartsTable, MicroBench, NB101Table, NB201Table, load_benchmark

    fn = dict(
        NB201Table=NB201Table,
        NB101Table=NB101Table,
        DartsTable=DartsTable,
        MicroBench=MicroBench.load,
        load_benchmark=load_benchmark,
    )[reader]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / 'table.csv'
        path.write_bytes(head.encode() + body)
        try:
            fn(path)
        except ValueError:
            pass
