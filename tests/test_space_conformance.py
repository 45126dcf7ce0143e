"""The conformance test a search space passes to be admitted.

Every registered space: strings round-trip, sampling draws valid architectures (also inside a
mask), masks are enforced, a sub-supernet's weights come from its parent, the single path through
the supernet equals the standalone network of that architecture with the same weights, block
outputs and per-choice parameters are consistent, and bad input is a ValueError naming the
problem.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasviz.spaces import get_space, list_spaces

SPACES = list_spaces()


@pytest.fixture(params=SPACES)
def space(request):
    return get_space(request.param)


def _size(space):
    return dict(space.sizes['tiny'])


def _x(space, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    size = _size(space)
    return torch.randn(n, size.get('in_channels', 3), 16, 16, generator=g)


def test_registry_has_the_three_spaces():
    assert {'nb201', 'nb101', 'darts'} <= set(SPACES) or pytest.skip('not all spaces registered yet')


def test_unknown_space_is_a_value_error():
    with pytest.raises(ValueError, match='unknown search space'):
        get_space('nb999')


def test_vocabulary(space):
    assert space.name in SPACES and space.slots
    assert len(set(space.slots)) == len(space.slots)
    for slot in space.slots:
        ch = space.choices(slot)
        assert ch and all(isinstance(c, str) for c in ch)
    assert {'benchmark', 'tiny'} <= set(space.sizes)
    with pytest.raises(ValueError):
        space.choices('no such slot')


def test_sampling_is_valid_and_round_trips(space):
    archs = space.sample(200, rng=np.random.default_rng(0))
    assert len(archs) == 200
    for a in archs:
        assert a.space == space.name
        assert space.is_valid(a)
        s = space.to_str(a)
        b = space.from_str(s)
        assert b == a and space.to_str(b) == s
        assert space.canonical(b) == space.canonical(a)
        assert all(a.choice(slot) in space.choices(slot) for slot in space.slots)
        assert space.from_assignment(space.assignment(a)) == a
    # seeded: the same draws again
    again = space.sample(200, rng=np.random.default_rng(0))
    assert [space.to_str(a) for a in again] == [space.to_str(a) for a in archs]
    # more than a handful of distinct functions
    assert len({space.canonical(a) for a in archs}) > 50


def test_sampling_inside_a_mask(space):
    full = space.full_mask()
    slot = next(s for s in space.slots if len(space.choices(s)) > 1)
    keep = space.choices(slot)[:1]
    mask = full.restrict(slot, keep)
    archs = space.sample(50, mask=mask, rng=1)
    assert all(mask.contains(a) and a.choice(slot) in keep for a in archs)
    assert all(space.is_valid(a) for a in archs)


def test_bad_strings_and_foreign_archs_are_value_errors(space):
    for bad in ['', 'garbage', '|x~0|', '[[1]]']:
        with pytest.raises(ValueError):
            space.from_str(bad)
    for other in SPACES:
        if other == space.name:
            continue
        foreign = get_space(other).sample(1, rng=0)[0]
        with pytest.raises(ValueError, match=other):
            space.check(foreign)
        assert not space.is_valid(foreign)


def test_sub_supernet_copies_parent_and_equals_parent_on_its_path(space):
    torch.manual_seed(0)
    size = _size(space)
    parent = space.build_supernet(**size).eval()
    arch = space.sample(1, rng=3)[0]
    child = space.build_supernet(mask=space.mask_of(arch), **size).eval()
    pstate = parent.state_dict()
    cstate = child.state_dict()
    assert set(cstate) <= set(pstate), 'a child holds only weights its parent has'
    assert all(cstate[k].shape == pstate[k].shape for k in cstate)
    assert len(cstate) < len(pstate)
    child.load_state_dict({k: pstate[k] for k in cstate})
    x = _x(space)
    with torch.no_grad():
        torch.testing.assert_close(child(x, arch), parent(x, arch))
    # masks are enforced: an architecture outside the child's mask is refused
    other = next(a for a in space.sample(50, rng=4) if not child_mask_contains(space, arch, a))
    with pytest.raises(ValueError):
        child(x, other)


def child_mask_contains(space, arch, other):
    return space.mask_of(arch).contains(other)


def test_single_path_equals_standalone_network(space):
    torch.manual_seed(1)
    size = _size(space)
    supernet = space.build_supernet(**size).eval()
    arch = space.sample(1, rng=5)[0]
    net = space.single_path_network(arch, **size).eval()
    sstate = supernet.state_dict()
    nstate = net.state_dict()
    shared = {k: sstate[k] for k in nstate if k in sstate and sstate[k].shape == nstate[k].shape}
    missing = [k for k in nstate if k not in shared]
    # only the standalone network's affine BN parameters (weight 1, bias 0 at init) may be extra
    assert all(k.endswith(('.weight', '.bias')) and nstate[k].dim() == 1 for k in missing), missing[:5]
    net.load_state_dict(shared, strict=False)
    x = _x(space)
    with torch.no_grad():
        torch.testing.assert_close(net(x), supernet(x, arch), rtol=1e-4, atol=1e-5)


def test_intermediates_and_choice_parameters(space):
    size = _size(space)
    supernet = space.build_supernet(**size).eval()
    arch = space.sample(1, rng=6)[0]
    x = _x(space)
    with torch.no_grad():
        logits, blocks = supernet.forward_intermediates(x, arch)
    assert logits.shape == (x.shape[0], size['num_classes'])
    assert len(blocks) == len(supernet.block_names) > 0
    assert all(b.shape[0] == x.shape[0] for b in blocks)
    shared = {id(p) for p in supernet.shared_parameters()}
    assert shared
    owned_total = 0
    for slot in space.slots:
        per_choice = [{id(p) for p in supernet.choice_parameters(slot, c)} for c in space.choices(slot)]
        for ids in per_choice:
            assert not ids & shared
        owned_total += sum(len(i) for i in per_choice)
        assert {id(p) for p in supernet.choice_parameters(slot)} == set().union(*per_choice)
    assert owned_total > 0
    with pytest.raises(ValueError):
        supernet.choice_parameters('no such slot')


def test_benchmark_network_builds_by_default(space):
    arch = space.sample(1, rng=7)[0]
    net = space.build_network(arch)
    n = sum(p.numel() for p in net.parameters())
    assert n > 10_000


def _digits(space):
    from nasviz.data import load_digits

    return load_digits(n_train=32)


def _tiny_supernet(space, data):
    size = dict(_size(space), num_classes=data.num_classes, in_channels=data.in_channels)
    torch.manual_seed(0)
    return space.build_supernet(**size), size


def test_lid_and_gradient_features_and_one_split_step(space):
    """LID and gradient features of one slot have the documented shapes; a split of that slot
    gives children whose masks partition the parent's and whose weights come from it."""
    from nasviz.features.ops import FeatureConfig, grad_features, lid_features
    from nasviz.partition.split import split_ops
    from nasviz.partition.tree import PartitionTree

    data = _digits(space)
    model, size = _tiny_supernet(space, data)
    slot = next(i for i, s in enumerate(space.slots) if len(space.choices(s)) >= 3)
    n_ops = len(space.choices(space.slots[slot]))
    lf = lid_features(
        model, data, slot, config=FeatureConfig(kind='lid', repeats=2, batch_size=16, n_neighbors=5), progress=False
    )
    assert lf.features.shape == (n_ops, 2, len(model.block_names))
    assert np.isfinite(lf.features).all() and lf.similarity.shape == (n_ops, n_ops)
    assert lf.edge_name == space.slots[slot]
    gf = grad_features(
        model, data, slot, config=FeatureConfig(kind='grad', repeats=2, batch_size=16, n_neighbors=5), progress=False
    )
    assert gf.features.shape[0] == n_ops and gf.features.shape[1] == 1
    assert gf.features.shape[2] == gf.info['n_params'] > 0
    # every slot can be measured, also where the space's rules tie slots together (a DARTS node's
    # two inputs must differ, so some candidates need a path of their own)
    for other in {0, len(space.slots) - 1} - {slot}:
        lf0 = lid_features(
            model,
            data,
            other,
            config=FeatureConfig(kind='lid', repeats=1, batch_size=16, n_neighbors=5),
            progress=False,
        )
        assert np.isfinite(lf0.features).all()
        assert all(space.is_valid(space.from_str(p)) for p in lf0.info['paths'])
    groups = split_ops(lf.similarity, k=2, method='exhaustive')
    tree = PartitionTree.root(model.mask)
    kids = tree.split(tree.root_id, slot, groups)
    assert len(kids) == 2
    archs = space.sample(40, rng=2)
    for a in archs:  # every architecture lies in exactly one child
        assert sum(tree[c].mask.contains(a) for c in kids) == 1
        assert tree.leaf_for(a).node_id in kids
    parent_state = model.state_dict()
    for c in kids:
        child = space.build_supernet(mask=tree[c].mask, **size)
        own = child.state_dict()
        child.load_state_dict({k: parent_state[k].clone() for k in own})
        # a child never holds weights its parent lacks (a DARTS child keeps them all: restricting one
        # op slot of a node leaves every (edge, op) reachable through the node's other input)
        assert set(own) <= set(parent_state)
    # the tree round-trips through its dict, space included
    again = PartitionTree.from_dict(tree.to_dict())
    assert again.space.name == space.name and [n.node_id for n in again] == [n.node_id for n in tree]


def test_spos_training_runs_and_resumes(space, tmp_path):
    """Single-path training of the space's supernet, checkpointed; a run stopped after its first
    epoch resumes to the very weights of an uninterrupted run."""
    from nasviz.supernet.train import TrainConfig, train_supernet

    data = _digits(space)
    cfg = TrainConfig(epochs=2, batch_size=32, seed=0)
    a, _ = _tiny_supernet(space, data)
    train_supernet(a, data, cfg, checkpoint_dir=tmp_path / 'a', progress=False)

    class Stop(Exception):
        pass

    def stop_in_second_epoch(epoch, model):
        if epoch == 1:
            raise Stop

    c, _ = _tiny_supernet(space, data)
    with pytest.raises(Stop):
        train_supernet(c, data, cfg, checkpoint_dir=tmp_path / 'c', progress=False, callback=stop_in_second_epoch)
    c, _ = _tiny_supernet(space, data)  # a fresh process would start from fresh weights
    hist = train_supernet(c, data, cfg, checkpoint_dir=tmp_path / 'c', progress=False)
    assert list(hist.epoch) == [0, 1]
    c_state = c.state_dict()
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, c_state[k])
    cfg_json = (tmp_path / 'a' / 'config.json').read_text()
    assert f'"space": "{space.name}"' in cfg_json
