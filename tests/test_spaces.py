from collections import Counter

import numpy as np
import pytest

from nasviz.spaces.nb201 import NUM_ARCHS, OPS, Arch, OpMask, all_archs, canonical, sample_archs

BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'


def test_ops_contract():
    assert OPS == ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3')


def test_round_trip_and_edge_order():
    a = Arch.from_str(BEST)
    assert str(a) == BEST
    assert a.ops == ('nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_3x3', 'nor_conv_3x3')
    assert hash(a) == hash(Arch.from_str(BEST)) and a == Arch.from_ops(a.ops)
    with pytest.raises(AttributeError):  # frozen dataclass: FrozenInstanceError
        a.op_idx = (0,) * 6  # immutable


def test_all_archs():
    archs = list(all_archs())
    assert len(archs) == NUM_ARCHS == 15625
    assert len(set(archs)) == 15625
    assert all(Arch.from_str(str(a)) == a for a in archs[::97])
    assert Arch.from_index(archs[1234].number) == archs[1234]


@pytest.mark.parametrize(
    'bad, words',
    [
        ('|conv~0|+|', 'node groups'),
        ('|conv~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|', 'unknown'),
        ('|none~0|+|none~0|+|none~0|none~1|none~2|', 'incoming edge'),
        ('|none~1|+|none~0|none~1|+|none~0|none~1|none~2|', 'must read from node 0'),
        ('|none~0|+|none~0|none~1|+|none~0|none~1|none-2|', 'malformed edge'),
        (12, 'must be a str'),
        (None, 'must be a str'),
    ],
)
def test_malformed_strings(bad, words):
    with pytest.raises(ValueError, match=words):
        Arch.from_str(bad)


def test_canonical_collapses_isomorphic_cells():
    keys = Counter(canonical(a) for a in all_archs())
    # 341 cells have no path from input to output: they all output zeros
    assert keys['0'] == 341
    # far fewer function families than cells; NB201's own unique-str (which keeps zero
    # terms) reports 6,466; ours also drops zeros and flattens identity sums
    assert 4000 < len(keys) < 6466


def test_canonical_examples():
    f = Arch.from_ops
    # an edge into a node that never reaches the output leaves no trace: 0->1 conv is dead
    # when node 1 feeds nothing ('none' on 1->2 and 1->3)
    dead = f(['nor_conv_3x3', 'nor_conv_3x3', 'none', 'none', 'none', 'skip_connect'])
    same = f(['avg_pool_3x3', 'nor_conv_3x3', 'none', 'none', 'none', 'skip_connect'])
    assert canonical(dead) == canonical(same) == 'c3x3(x)'
    assert dead.live_edges() == (False, True, False, False, False, True)
    # skip chains are the identity: x -> 1 -> 3 by skips equals the direct 0->3 skip
    chain = f(['skip_connect', 'none', 'none', 'none', 'skip_connect', 'none'])
    direct = f(['none', 'none', 'none', 'skip_connect', 'none', 'none'])
    assert canonical(chain) == canonical(direct) == 'x'
    # sums are commutative: conv on 0->3 plus pool via node 2 equals the mirrored cell
    a = f(['none', 'avg_pool_3x3', 'none', 'nor_conv_3x3', 'none', 'skip_connect'])
    b = f(['none', 'nor_conv_3x3', 'none', 'avg_pool_3x3', 'none', 'skip_connect'])
    assert canonical(a) == canonical(b)
    # but order of ops along a path matters
    c = f(['nor_conv_3x3', 'none', 'none', 'none', 'avg_pool_3x3', 'none'])
    d = f(['avg_pool_3x3', 'none', 'none', 'none', 'nor_conv_3x3', 'none'])
    assert canonical(c) != canonical(d)
    degenerate = f(['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'none', 'none', 'none'])
    assert degenerate.is_degenerate and canonical(degenerate) == '0'


def test_masks_and_sampling():
    m = OpMask.full().restrict(0, ['nor_conv_3x3', 'avg_pool_3x3']).restrict(5, [1])
    assert m.size == 2 * 5**4 * 1
    archs = list(m.archs())
    assert len(archs) == m.size and all(m.contains(a) for a in archs)
    rng = np.random.default_rng(0)
    draws = [m.sample(rng) for _ in range(500)]
    assert all(a in m for a in draws)
    assert {a.ops[0] for a in draws} == {'nor_conv_3x3', 'avg_pool_3x3'}
    assert m.sample(3) == m.sample(3)
    with pytest.raises(ValueError, match='not allowed'):
        m.restrict(0, ['none'])
    with pytest.raises(ValueError, match='allows no operation'):
        OpMask(((),) * 6)
    assert OpMask.from_list(m.to_list()) == m


def test_sample_archs_unique_and_errors():
    s = sample_archs(200, rng=1, unique=True, exclude_degenerate=True)
    assert len({canonical(a) for a in s}) == 200 and not any(a.is_degenerate for a in s)
    assert sample_archs(5, rng=2) == sample_archs(5, rng=2)
    with pytest.raises(ValueError, match='holds only'):
        sample_archs(10, mask=OpMask.single(s[0]))
