"""A space and a supernet from outside nasviz: the registry (case-insensitive names, checked
factories), the command line reaching a registered space, a hand-written module wrapped with
``nasviz.supernet.wrap`` going through evaluation, features, interference and a partition split,
and ``nasviz.supernet.load`` of nasviz's checkpoints (a foreign file refused and left as it was)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from nasviz.spaces import SearchSpace, SlotMask, get_space, list_spaces, register_space
from nasviz.spaces import base as space_base

# ---------------------------------------------------------------------------------------------
# a space and a supernet written as a user would
# ---------------------------------------------------------------------------------------------
SLOTS = ('l0', 'l1')
CHOICES = ('conv', 'wide', 'id')


@dataclass(frozen=True)
class TwoLayerArch:
    ops: tuple[str, str]
    space: ClassVar[str] = 'myspace'

    def choice(self, slot: str) -> str:
        return self.ops[SLOTS.index(slot)]

    def __str__(self) -> str:
        return '-'.join(self.ops)


class Layer(nn.Module):
    """A 3x3 conv, a 5x5 conv or identity, by name."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.ops = nn.ModuleDict(
            {
                'conv': nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()),
                'wide': nn.Sequential(nn.Conv2d(width, width, 5, padding=2), nn.BatchNorm2d(width), nn.ReLU()),
            }
        )

    def forward(self, x: torch.Tensor, choice: str) -> torch.Tensor:
        return x if choice == 'id' else self.ops[choice](x)


class TwoLayerNet(nn.Module):
    """Stem, two searchable layers, then a linear head."""

    def __init__(self, width: int = 6, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.layers = nn.ModuleList(Layer(width) for _ in SLOTS)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor, arch: Any) -> torch.Tensor:
        h = self.stem(x)
        for slot, layer in zip(SLOTS, self.layers):
            h = layer(h, arch.choice(slot))
        return self.head(h.mean((2, 3)))


class MySpace(SearchSpace):
    name = 'MySpace'
    slots = SLOTS
    arch_type = TwoLayerArch
    sizes = {
        'benchmark': dict(width=6, num_classes=10, in_channels=1),
        'tiny': dict(width=6, num_classes=10, in_channels=1),
    }

    def choices(self, slot: str) -> tuple[str, ...]:
        if slot not in SLOTS:
            raise ValueError(f'unknown slot {slot!r}')
        return CHOICES

    def to_str(self, arch: Any) -> str:
        return str(self.check(arch))

    def from_str(self, s: str) -> TwoLayerArch:
        parts = tuple(s.split('-')) if isinstance(s, str) else ()
        if len(parts) != 2 or any(p not in CHOICES for p in parts):
            raise ValueError(f'not a MySpace architecture: {s!r}')
        return TwoLayerArch(parts)

    def from_assignment(self, assignment: Mapping[str, str]) -> TwoLayerArch:
        return self.from_str('-'.join(assignment[s] for s in SLOTS))

    def canonical(self, arch: Any) -> str:
        return self.to_str(arch)

    def sample(self, n: int, mask: SlotMask | None = None, rng=None) -> list:
        mask = self.check_mask(mask)
        rng = np.random.default_rng(rng)
        return [TwoLayerArch(tuple(a[int(rng.integers(len(a)))] for a in mask.allowed)) for _ in range(n)]

    def build_supernet(self, mask=None, **size):
        return wrapped(TwoLayerNet(**{**self.sizes['tiny'], **size}))

    def build_network(self, arch, **size):
        return self.build_supernet(**size)


def owner(name: str):
    """``layers.<i>.ops.<choice>.…`` belongs to choice ``<choice>`` of slot ``l<i>``."""
    parts = name.split('.')
    return (SLOTS[int(parts[1])], parts[3]) if parts[0] == 'layers' else None


def wrapped(module: nn.Module, **kw: Any):
    from nasviz.supernet import wrap

    return wrap(module, 'myspace', block_names=['stem', 'layers.0', 'layers.1'], owned_by=owner, **kw)


@pytest.fixture
def myspace():
    register_space('MySpace', MySpace)
    try:
        yield get_space('MySpace')
    finally:
        space_base._REGISTRY.pop('myspace', None)
        space_base._INSTANCES.pop('myspace', None)


# ---------------------------------------------------------------------------------------------
# registry and command line
# ---------------------------------------------------------------------------------------------
def test_register_space_is_case_insensitive(myspace):
    assert get_space('myspace') is myspace and get_space('MySpace') is myspace and get_space(' MYSPACE ') is myspace
    assert 'myspace' in list_spaces()
    arch = myspace.from_str('conv-id')
    assert myspace.check(arch) is arch and get_space(arch.space) is myspace


def test_register_space_checks_the_factory():
    with pytest.raises(ValueError, match='callable'):
        register_space('broken', None)
    register_space('nothing', lambda: None)
    register_space('misnamed', MySpace)
    try:
        with pytest.raises(ValueError, match='not a SearchSpace'):
            get_space('nothing')
        with pytest.raises(ValueError, match="named 'MySpace'"):
            get_space('misnamed')
        with pytest.raises(ValueError, match='non-empty'):
            register_space('  ', MySpace)
    finally:
        for k in ('nothing', 'misnamed'):
            space_base._REGISTRY.pop(k, None)
            space_base._INSTANCES.pop(k, None)


def test_cli_space_accepts_a_registered_name(myspace, capsys):
    """``--space MySpace`` is looked up when the command runs: it reaches the space (which has no
    micro benchmark, so the command stops there with exit 2 naming it), and an unknown name is a
    usage error listing the known spaces."""
    from nasviz.cli import main

    assert main(['evaluate', '--space', 'MySpace', '--epochs', '1']) == 2
    err = capsys.readouterr().err
    assert 'no micro benchmark of the myspace space' in err
    with pytest.raises(SystemExit) as e:
        main(['train', '--space', 'nospace'])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert 'unknown search space' in err and 'myspace' in err and 'nb201' in err


# ---------------------------------------------------------------------------------------------
# a wrapped user supernet through nasviz's measurements
# ---------------------------------------------------------------------------------------------
def test_wrapped_module_goes_through_evaluation_features_interference_and_a_split(myspace):
    from nasviz.data import load_digits
    from nasviz.features.interference import interference_by_layer, subnet_similarity
    from nasviz.features.ops import FeatureConfig, grad_features, lid_features
    from nasviz.partition.split import split_ops
    from nasviz.partition.tree import PartitionTree
    from nasviz.supernet.evaluate import evaluate_archs
    from nasviz.supernet.train import TrainConfig, train_supernet

    data = load_digits(n_train=96)
    torch.manual_seed(0)
    model = myspace.build_supernet(in_channels=data.in_channels, num_classes=data.num_classes)
    assert model.block_names == ['stem', 'layers.0', 'layers.1']
    assert {id(p) for p in model.shared_parameters()} == {
        id(p) for p in [*model.module.stem.parameters(), *model.module.head.parameters()]
    }
    assert model.choice_parameters('l0', 'id') == [] and len(model.choice_parameters('l1', 'wide')) == 4
    only_id = wrapped(TwoLayerNet(), mask=myspace.full_mask().restrict('l0', ['id']))
    assert only_id(torch.zeros(2, 1, 16, 16), 'id-conv').shape == (2, 10)
    with pytest.raises(ValueError, match='outside'):
        only_id(torch.zeros(1, 1, 16, 16), 'conv-id')
    train_supernet(model, data, TrainConfig(epochs=1, batch_size=32), progress=False)

    archs = myspace.sample(4, rng=0) + [myspace.from_str('conv-conv')]
    ev = evaluate_archs(model, archs, data, recal_batches=2, recal_batch_size=32, progress=False)
    assert list(ev.arch_str) == [str(a) for a in archs] and ev.accuracy.between(0, 100).all()

    cfg = FeatureConfig(kind='lid', repeats=2, batch_size=48, n_neighbors=5)
    lf = lid_features(model, data, 'l1', config=cfg, progress=False)
    assert lf.features.shape == (3, 2, 3) and np.isfinite(lf.features).all()
    gf = grad_features(model, data, 'l1', config=FeatureConfig(kind='grad', repeats=2, batch_size=32), progress=False)
    assert gf.features.shape[0] == 3 and gf.info['n_params'] > 0
    assert list(gf.similarity.index) == list(CHOICES)

    sim = subnet_similarity(model, data, archs[:3], batch_size=32)
    assert sim.shape == (3, 3) and np.allclose(np.diag(sim.to_numpy()), 1.0)
    layers = interference_by_layer(model, data, archs, batch_size=32)
    assert {'stem', 'head'} <= set(layers.index) or {'stem', 'head'} <= set(layers['layer'])

    groups = split_ops(gf.similarity, k=2, space=myspace)
    tree = PartitionTree.root(model.mask)
    kids = tree.split(tree.root_id, 'l1', groups)
    for a in myspace.sample(20, rng=1):
        assert sum(tree[c].mask.contains(a) for c in kids) == 1


# ---------------------------------------------------------------------------------------------
# loading nasviz's checkpoints; refusing others
# ---------------------------------------------------------------------------------------------
def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_rebuilds_a_trained_supernet(tmp_path):
    from nasviz.data import load_digits
    from nasviz.supernet import load
    from nasviz.supernet.train import TrainConfig, train_supernet

    data = load_digits(n_train=64)
    space = get_space('nb201')
    torch.manual_seed(0)
    model = space.build_supernet(C=4, N=1, num_classes=data.num_classes, in_channels=data.in_channels)
    train_supernet(model, data, TrainConfig(epochs=1, batch_size=32), checkpoint_dir=tmp_path, progress=False)
    got = load(tmp_path)
    assert got.space is space and got.epoch == 0 and len(got.history) == 1 and got.data_id == data.data_id
    assert got.config['epochs'] == 1
    want = model.state_dict()
    for k, v in got.model.state_dict().items():
        torch.testing.assert_close(v, want[k])
    assert load(tmp_path / 'checkpoint.pt').model.state_dict().keys() == want.keys()


@pytest.mark.parametrize('content', ['pickle', 'tensors', 'garbage'])
def test_load_refuses_a_foreign_file_and_leaves_it_alone(tmp_path, content):
    from nasviz.supernet import checkpoint_problem, load

    f = tmp_path / 'checkpoint.pt'
    if content == 'garbage':
        f.write_bytes(b'not a checkpoint at all\n' * 10)
    elif content == 'tensors':
        torch.save({'weights': torch.ones(3)}, f)
    else:
        torch.save({'model': {}, 'note': object.__new__(SlotMask)}, f)  # pickles a class: not plain data
    before = _digest(f)
    with pytest.raises(ValueError, match='is not a nasviz checkpoint'):
        load(tmp_path)
    assert checkpoint_problem(f) and 'checkpoint.pt' in checkpoint_problem(f)
    assert _digest(f) == before and sorted(p.name for p in tmp_path.iterdir()) == ['checkpoint.pt']
