"""The executor behind every sweep: the local process pool and Ray give the same
results, a worker killed mid-task is retried, an interrupted driver resumes computing only what is
missing, and a missing Ray is a clear error.

One local Ray instance (2 CPUs, services on 127.0.0.1, no dashboard) is shared by the whole test
session (the ``ray_local`` fixture in ``conftest.py``); the tests that start it are marked slow, as
every test that starts Ray is, so ``make test-fast`` runs the local pool's side only.
Ray is in the project's test extra, so with ``CI=true`` these tests fail rather than skip when it
is missing. Ray's workers import the task functions below from this file: the fixture puts this
folder on their ``PYTHONPATH`` (the local pool's spawned workers inherit ``sys.path``).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nasviz.bench.build import MicroBenchRecipe, build_microbench
from nasviz.cli import main
from nasviz.executor import (
    LocalExecutor,
    MissingBackend,
    RayExecutor,
    Task,
    TaskFailed,
    _check_listening,
    get_executor,
    task_resources,
)
from nasviz.io import atomic_write_text
from nasviz.proxies import ProxySweep, SweepConfig
from nasviz.spaces import get_space

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def local_pool():
    """Two local worker processes kept between runs (as Ray keeps its workers): each start costs
    a torch import per worker."""
    with LocalExecutor(workers=2, max_retries=2, keep_workers=True) as ex:
        yield ex


@pytest.fixture(params=['local', pytest.param('ray', marks=pytest.mark.slow)])
def executor(request):
    if request.param == 'ray':
        request.getfixturevalue('ray_local')
        return RayExecutor(workers=None, max_retries=2)
    return request.getfixturevalue('local_pool')


# -- task functions (module level: workers import them) ---------------------------------------------
_WORKER: dict = {}


def _init(offset: int) -> None:
    _WORKER['offset'] = offset


def _compute(key: int, marker_dir: str, die_on: int = -1, always: bool = False) -> dict:
    """``key`` squared plus the initializer's offset; writes one marker file per computation. For
    ``key == die_on`` it kills its own worker process (SIGKILL), the first time only unless ``always``."""
    d = Path(marker_dir)
    if key == die_on:
        first = d / f'died-{key}'
        if always or not first.exists():
            first.write_text('')
            os.kill(os.getpid(), 9)
    (d / f'computed-{key}-{uuid.uuid4().hex}').write_text('')
    return dict(key=key, value=key * key + _WORKER['offset'], pid=os.getpid(), threads=torch.get_num_threads())


def _computed(marker_dir: Path) -> list[int]:
    return sorted(int(p.name.split('-')[1]) for p in marker_dir.glob('computed-*'))


class Interrupted(Exception):
    pass


def _cached_sweep(ex, keys: list[int], cache: Path, marker_dir: Path, stop_after: int | None = None) -> dict[int, int]:
    """A caller of the executor as the sweeps are: skip keys in the cache, write each result there
    (atomically) as it finishes, raise after ``stop_after`` results (a driver interrupted)."""
    cache.mkdir(exist_ok=True)
    have = {int(p.stem): json.loads(p.read_text())['value'] for p in cache.glob('*.json')}
    stored = []

    def store(key: int, result: dict) -> None:
        atomic_write_text(cache / f'{key}.json', json.dumps(result))
        have[key] = result['value']
        stored.append(key)
        if stop_after is not None and len(stored) >= stop_after:
            raise Interrupted

    tasks = [Task(k, (k, str(marker_dir))) for k in keys if k not in have]
    ex.run(_compute, tasks, store, initializer=_init, initargs=(1000,), progress=False)
    return have


# -- tests ------------------------------------------------------------------------------------------
DIGITS = dict(in_channels=1, C=4, N=1)


@pytest.mark.slow
def test_proxy_sweep_on_ray_equals_local_pool_and_resumes(ray_local, local_pool, tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    archs = get_space('nb201').sample_distinct(6, rng=3)
    cfg = SweepConfig(data='digits', size=tuple(DIGITS.items()), chunk_size=2)
    local = ProxySweep(['params', 'synflow'], cfg, cache=tmp_path / 'local', progress=False, executor=local_pool)
    want = local.run(archs)
    on_ray = ProxySweep(['params', 'synflow'], cfg, cache=tmp_path / 'ray', progress=False, executor=RayExecutor())
    got = on_ray.run(archs)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert local.computed_ == on_ray.computed_ == 12 and want['synflow'].notna().all()

    # the driver interrupted once one chunk is on disk: the rerun computes the other two only
    def stop(_n):
        raise Interrupted

    with pytest.raises(Interrupted):
        ProxySweep(
            ['params', 'synflow'], cfg, cache=tmp_path / 'ray2', progress=False, on_chunk=stop, executor=RayExecutor()
        ).run(archs)
    chunks = sorted((tmp_path / 'ray2' / 'proxies').glob('*/chunk-*.csv'))
    assert len(chunks) == 2  # one chunk of 2 cells, written for each proxy
    resumed = ProxySweep(['params', 'synflow'], cfg, cache=tmp_path / 'ray2', progress=False, executor=RayExecutor())
    pd.testing.assert_frame_equal(resumed.run(archs), want, check_exact=True)
    assert resumed.computed_ == 8


@pytest.mark.slow
def test_microbench_build_on_ray_equals_local_pool(ray_local, local_pool, tmp_path):
    recipe = MicroBenchRecipe(
        data=dict(n_train=100, size=12, test_views=1), n_cells=2, seeds=(0,), C=2, N=1, epochs=1, batch_size=50
    )
    local = build_microbench(recipe, out=tmp_path / 'local.csv', progress=False, executor=local_pool)
    on_ray = build_microbench(recipe, out=tmp_path / 'ray.csv', progress=False, executor=RayExecutor())
    pd.testing.assert_frame_equal(on_ray.to_frame(), local.to_frame(), check_exact=True)
    assert on_ray.recipe == local.recipe
    assert (on_ray.summary['backend'], local.summary['backend']) == ('ray', 'local')


def test_a_task_that_kills_its_worker_is_retried(executor, tmp_path):
    markers = tmp_path / 'markers'
    markers.mkdir()
    got: dict[int, dict] = {}
    tasks = [Task(k, (k, str(markers), 2), num_cpus=1 + k % 2) for k in range(6)]
    executor.run(_compute, tasks, got.__setitem__, initializer=_init, initargs=(1000,), progress=False)
    assert {k: r['value'] for k, r in got.items()} == {k: k * k + 1000 for k in range(6)}
    assert (markers / 'died-2').exists()  # the first attempt of task 2 did die
    assert _computed(markers).count(2) == 1
    assert {k: r['threads'] for k, r in got.items()} == {k: 1 + k % 2 for k in range(6)}  # torch threads = num_cpus
    if executor.backend == 'local':  # the pool broke and was started again
        assert executor.retries_ >= 1


def test_a_task_that_always_kills_its_worker_fails_after_bounded_retries(tmp_path):
    markers = tmp_path / 'markers'
    markers.mkdir()
    ex = LocalExecutor(2, max_retries=1)
    with pytest.raises(TaskFailed, match=r'task 1: its worker process died 2 times \(max_retries=1\)'):
        ex.run(
            _compute,
            [Task(k, (k, str(markers), 1, True)) for k in range(3)],
            lambda k, r: None,
            initializer=_init,
            initargs=(0,),
            progress=False,
        )


def test_an_interrupted_driver_resumes_computing_only_the_rest(executor, tmp_path):
    keys = list(range(8))
    first, second = tmp_path / 'm1', tmp_path / 'm2'
    first.mkdir()
    second.mkdir()
    with pytest.raises(Interrupted):
        _cached_sweep(executor, keys, tmp_path / 'cache', first, stop_after=3)
    cached = sorted(int(p.stem) for p in (tmp_path / 'cache').glob('*.json'))
    assert len(cached) == 3  # each result was on disk as soon as it finished
    have = _cached_sweep(executor, keys, tmp_path / 'cache', second)
    assert have == {k: k * k + 1000 for k in keys}
    assert _computed(second) == sorted(set(keys) - set(cached))  # the rest, each once


def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'ray', None)  # `import ray` now fails as if it were not installed
    with pytest.raises(MissingBackend, match=r"pip install 'nasviz\[ray\]'") as err:
        get_executor('ray')
    assert isinstance(err.value, ValueError)
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    archs = tmp_path / 'archs.txt'
    archs.write_text(str(get_space('nb201').sample_distinct(1, rng=0)[0]) + '\n')
    out = tmp_path / 't.csv'
    assert (
        main(
            [
                'proxies',
                '--proxy',
                'params',
                '--data',
                'digits',
                '--archs',
                str(archs),
                '--backend',
                'ray',
                '--out',
                str(out),
            ]
        )
        == 2
    )
    assert "pip install 'nasviz[ray]'" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv('NASVIZ_BACKEND', 'ray')
    assert main(['build-microbench', '--n-cells', '2', '--out', str(tmp_path / 'mb.csv')]) == 2
    assert "pip install 'nasviz[ray]'" in capsys.readouterr().err


def test_backend_choice_and_resources(monkeypatch, capsys):
    monkeypatch.delenv('NASVIZ_BACKEND', raising=False)
    assert isinstance(get_executor(), LocalExecutor) and get_executor(workers=3).workers == 3
    monkeypatch.setenv('NASVIZ_BACKEND', 'spark')
    with pytest.raises(ValueError, match="NASVIZ_BACKEND: unknown backend 'spark'; valid: local, ray"):
        get_executor()
    monkeypatch.delenv('NASVIZ_BACKEND')
    with pytest.raises(ValueError, match='address .* is for the ray backend'):
        get_executor('local', address='auto')
    with pytest.raises(ValueError, match='workers must be >= 1'):
        get_executor('local', workers=0)
    with pytest.raises(ValueError, match='task keys repeat'):
        LocalExecutor(1).run(_compute, [Task(1, (1, '.')), Task(1, (1, '.'))], lambda k, r: None, progress=False)
    assert main(['proxies', '--proxy', 'params', '--address', 'auto', '--out', 'x.csv']) == 2
    assert '--address' in capsys.readouterr().err
    # a head address nothing answers on (loopback port 1) or that is no HOST:PORT fails at once
    with pytest.raises(ValueError, match='no Ray cluster answers at 127.0.0.1:1'):
        _check_listening('127.0.0.1:1')
    with pytest.raises(ValueError, match="address must be 'auto' or HOST:PORT"):
        _check_listening('head-node')
    assert task_resources('cuda:0') == dict(num_cpus=1, num_gpus=1.0)
    assert task_resources('cpu', num_cpus=2) == dict(num_cpus=2, num_gpus=0.0)


@pytest.mark.slow
def test_partition_comparison_on_ray_equals_in_process(ray_local, tmp_path):
    from nasviz.bench import MicroBench
    from nasviz.data import ImageData, load_digits
    from nasviz.partition.compare import run_comparison
    from nasviz.partition.pipeline import PartitionConfig
    from nasviz.spaces.nb201 import sample_archs
    from nasviz.supernet.train import TrainConfig

    d = load_digits(n_train=200, test_views=1)
    data = ImageData(d.name, d.x_train, d.y_train, d.x_test[:200], d.y_test[:200], d.num_classes, d.data_id + '-t200')
    archs = sample_archs(12, rng=0, unique=True)
    conv = [str(a).count('conv') for a in archs]
    bench = MicroBench.from_frame(
        pd.DataFrame(
            dict(arch_str=[str(a) for a in archs], params=[1000 + c for c in conv], acc_seed0=[60.0 + c for c in conv])
        ),
        recipe=dict(dataset='digits', epochs=1),
    )
    base = PartitionConfig(
        method='spos', total_epochs=3, warmup_epochs=1, k=2, repeats=2, batch_size=64, n_neighbors=10, recal_batches=1
    )
    args = (['spos', 'random'], [0], data, dict(C=4, N=1), bench, archs, base, TrainConfig(batch_size=64, lr=0.05))
    here = run_comparison(*args, progress=False, baselines=False)
    there = run_comparison(*args, progress=False, baselines=False, work_dir=tmp_path / 'runs', executor=RayExecutor())
    assert sorted(p.name for p in (tmp_path / 'runs').iterdir()) == ['random-seed0', 'spos-seed0']
    for key in here.scores:
        assert np.array_equal(here.scores[key], there.scores[key]), key
    cols = ['method', 'seed', 'kendall_tau', 'epochs', 'n_leaves']
    pd.testing.assert_frame_equal(here.runs[cols], there.runs[cols], check_exact=True)
