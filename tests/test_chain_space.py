"""The chain space of ``examples/chain_space`` (installed as its own package, found through the
``nasviz.spaces`` entry point) and the boundaries that make it possible: nothing in nasviz
imports the plug-in or an NB201 name outside the NB201 files, and the statistics import no torch.
The conformance test (tests/test_space_conformance.py) runs the space like every other."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from nasviz.spaces import ENTRY_POINT_GROUP, get_space, list_spaces

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'nasviz'
#: the files that may import NB201 names: the space, its network and search code, its table reader
NB201_HOME = ('spaces/nb201', 'bench/nb201.py')


def _installed() -> bool:
    return any(ep.name == 'chain' for ep in entry_points(group=ENTRY_POINT_GROUP))


@pytest.fixture(scope='module')
def chain():
    if not _installed():
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail('the chain space plug-in is not installed: pip install -e examples/chain_space')
        pytest.skip('the chain space plug-in is not installed (pip install -e examples/chain_space)')
    return get_space('chain')


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
            out += [f'{node.module}.{a.name}' for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_no_nb201_name_imported_outside_the_nb201_files():
    bad = []
    for f in PACKAGE.rglob('*.py'):
        rel = f.relative_to(PACKAGE).as_posix()
        if rel.startswith(NB201_HOME):
            continue
        bad += [f'{rel}: {m}' for m in _imports(f) if m.startswith('nasviz.spaces.nb201')]
    assert not bad, bad


def test_nasviz_never_imports_the_plugin():
    bad = [
        f'{f.relative_to(PACKAGE)}: {m}'
        for f in PACKAGE.rglob('*.py')
        for m in _imports(f)
        if m.split('.')[0] == 'nasviz_chain'
    ]
    assert not bad, bad


def test_statistics_import_no_torch():
    code = (
        'import sys, nasviz.analysis.metrics, nasviz.analysis.uncertainty, nasviz.analysis.baselines, '
        'nasviz.analysis.reliability, nasviz.analysis.preference, nasviz.analysis.bias, nasviz.audit, nasviz.bench; '
        'print("torch" in sys.modules)'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, 'PYTHONPATH': str(ROOT)},
    )
    assert out.stdout.strip() == 'False'


def test_found_through_the_entry_point(chain):
    assert 'chain' in list_spaces() and type(chain).__module__.startswith('nasviz_chain')
    assert get_space('CHAIN') is chain
    assert chain.slots == ('b0', 'b1', 'b2', 'b3', 'b4', 'b5')
    # the first block of a stage changes the shape, so it cannot be skipped
    assert [('skip' in chain.choices(s)) for s in chain.slots] == [False, True] * 3
    assert chain.choices('b0') == ('k3_e3', 'k3_e6', 'k5_e3', 'k5_e6', 'k7_e3', 'k7_e6')
    assert sum(1 for _ in chain.enumerate()) == 6**3 * 7**3


def test_supernet_holds_weights_per_block_and_choice(chain):
    net = chain.build_supernet(**chain.sizes['tiny'])
    for slot in chain.slots:
        per = [{id(p) for p in net.choice_parameters(slot, c)} for c in chain.choices(slot)]
        assert all(a.isdisjoint(b) for i, a in enumerate(per) for b in per[i + 1 :])
        assert all(per[i] for i, c in enumerate(chain.choices(slot)) if c != 'skip')
    assert net.choice_parameters('b1', 'skip') == []
    small = chain.param_count(chain.from_str('k3_e3|skip|k3_e3|skip|k3_e3|skip'))
    big = chain.param_count(chain.from_str('k7_e6|k7_e6|k7_e6|k7_e6|k7_e6|k7_e6'))
    assert 10_000 < small < big


def test_shipped_micro_benchmark(chain):
    """data/microbench_chain.csv: built by `nasviz build-microbench --space chain`, >= 200 valid,
    distinct cells, >= 4 seeds, with the split-half reliability and spread of its rows."""
    from nasviz.bench.micro import MicroBench, microbench_path

    path = microbench_path(chain)
    assert path.name == 'microbench_chain.csv'
    mb = MicroBench.load(path)
    assert mb.space is chain and mb.recipe['space'] == 'chain' and mb.recipe['builder'] == 'nasviz build-microbench'
    assert len(mb) >= 200 and len(mb.seeds) >= 4
    archs = mb.archs()
    assert all(chain.is_valid(a) for a in archs) and len({chain.canonical(a) for a in archs}) == len(archs)
    acc = mb.accuracies(archs)
    assert np.all((acc > 10) & (acc <= 100))
    assert mb.summary['split_half_reliability'] == pytest.approx(mb.reliability(), abs=1e-3)
    assert mb.summary['spread']['iqr'] == pytest.approx(mb.spread()['iqr'], abs=1e-3)
    params = mb.params_many(archs)
    assert np.allclose(
        params,
        [chain.param_count(a, **mb.recipe['size'], num_classes=10, in_channels=1) for a in archs[:5]]
        + list(params[5:]),
    )
