"""Kill and resume every long job: each job runs through the real command line in a
fresh process at a tiny size, is SIGKILLed once some but not all of its work is on disk (the
test polls the checkpoint and log files, it never sleeps blindly), is resumed with the same
command, and its final result is compared with an uninterrupted run of the same command.

* ``nasviz train``: checkpoint per epoch; the weights, optimizer state and per-epoch history
  must be bit-identical, and the epochs finished before the kill must be reused, not redone.
* ``nasviz build-microbench``: one line per finished (cell, seed) job; killed with its pool of
  worker processes, resumed in one process; the benchmark must be identical and the resumed
  build must train exactly the jobs that were missing.
* ``nasviz partition`` (``run_partition`` through ``run_comparison``): killed twice (while the
  root trains, then once a sub-supernet has a checkpoint); per-cell scores, the partition tree,
  metrics and training histories must be identical.

Two in-process tests cover the build's partial file directly: a job line cut by a kill, and
(class 6) finished jobs of another recipe kept aside, never discarded.

``nasviz report`` keeps no resumable state of its own (it re-executes every notebook and
deletes stale outputs first); the expensive work inside its notebooks is cached training and
evaluation, whose resume the first test covers. ``nasviz proxies``: killed once a chunk of its
sweep is on disk, resumed; the finished chunks are reused untouched and the table is identical.

Sizes: 160 training digits, C=4, N=1, a few epochs, one torch thread per process; the profile
and the micro benchmark recipe are shrunk inside the child process (``RUNNER``), everything
else is the shipped code path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

#: a warm fork server: imports torch and nasviz once (about 4 s of CPU each time otherwise),
#: then forks one child per job. A child is a real process in its own session: it gets a real
#: SIGKILL, and the process pool of a build is spawned afresh from it. Nothing is computed
#: before the fork, so no thread pool is inherited.
SERVER = r"""
import dataclasses, json, os, signal, sys, traceback
import torch
torch.set_num_threads(1)
import nasviz.bench.build as build
import nasviz.profiles as profiles
import nasviz.experiment, nasviz.partition.compare, nasviz.features.ops, nasviz.supernet.train  # warm
from nasviz.cli import main

DATA = dict(n_train=160, size=16, train_views=1, test_views=1, random_state=0)
profiles.PROFILES['tiny'] = dataclasses.replace(
    profiles.PROFILES['tiny'], data=DATA, C=4, N=1, batch_size=32, n_eval=10, eval_samples=150, recal_batches=2,
    feature_repeats=2, feature_batch=64, n_neighbors=8)
_recipe = build.MicroBenchRecipe
build.MicroBenchRecipe = lambda **kw: _recipe(**{'data': DATA, 'C': 4, **kw})
_train_one = build._train_one

# warm what every job would otherwise pay again (about 3.5 s of CPU a job): the data, built once
# and shared copy-on-write, and torch's first training step (lazy kernel set-up); one thread
import functools
import nasviz.data
from nasviz.spaces.nb201_network import NB201Supernet
from nasviz.supernet.train import TrainConfig, train_supernet

_digits = functools.lru_cache(maxsize=4)(nasviz.data.load_digits)
nasviz.data.load_digits = lambda **kw: _digits(**{k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()})
train_supernet(NB201Supernet(4, 1, 10, 1), nasviz.data.load_dataset('digits', **DATA), TrainConfig(epochs=1),
               progress=False)


def logged(recipe, arch_str, seed):  # records every job an in-process build trains
    with open(os.environ['NASVIZ_TEST_JOBLOG'], 'a') as f:
        f.write(f'{arch_str} {seed}\n')
    return _train_one(recipe, arch_str, seed)


signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        fd = os.open(req['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(req['cwd'])
        os.environ.update(req['env'])
        if 'NASVIZ_TEST_JOBLOG' in req['env']:
            build._train_one = logged
        try:
            rc = main(req['argv'])
        except SystemExit as e:
            rc = e.code
        except BaseException:
            traceback.print_exc()
            rc = 1
        sys.stdout.flush()
        sys.stderr.flush()
        import resource
        cpu = sum(getattr(resource.getrusage(w), k) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                  for k in ('ru_utime', 'ru_stime'))
        with open(req['log'] + '.rc.part', 'w') as f:
            f.write(f'{int(rc or 0)} {cpu:.2f}')  # exit status, CPU seconds of the job
        os.replace(req['log'] + '.rc.part', req['log'] + '.rc')  # never seen half written
        os._exit(0)
    print(pid, flush=True)
"""


class Job:
    """One command running in a forked child (see :data:`SERVER`)."""

    def __init__(self, pid: int, log: Path, name: str) -> None:
        self.pid, self.log, self.name = pid, log, name

    @property
    def rc_file(self) -> Path:
        return Path(f'{self.log}.rc')

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def tail(self) -> str:
        text = self.log.read_text(errors='replace').replace('\r', '\n') if self.log.exists() else ''
        return '\n'.join(text.splitlines()[-30:])

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the job and every process it started
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def finish(self, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while not self.rc_file.exists():
            if not self.alive() and not self.rc_file.exists():
                pytest.fail(f'{self.name} died without an exit status:\n{self.tail()}')
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f'{self.name} ran over {timeout} s:\n{self.tail()}')
            time.sleep(0.02)
        rc = int(self.rc_file.read_text().split()[0])
        assert rc == 0, f'{self.name} exited with {rc}:\n{self.tail()}'
        return self.tail()

    def kill_when(self, ready: Callable[[], bool], what: str, timeout: float = 240) -> None:
        """SIGKILL the job as soon as ``ready()`` (polled every 20 ms); it must still be running."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.rc_file.exists() or not self.alive():
                pytest.fail(f'{self.name} ended before {what}:\n{self.tail()}')
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f'{self.name}: no {what} after {timeout} s')
            time.sleep(0.02)
        self.kill()
        assert not self.rc_file.exists(), f'{self.name} finished before it could be killed (sizes too small?)'


@pytest.fixture(scope='module')
def server():
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', TQDM_DISABLE='1')
    proc = subprocess.Popen(
        [sys.executable, '-c', SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1
    )
    yield proc
    proc.kill()  # its jobs have all ended; a graceful exit of torch only costs time
    proc.wait()


def _start(server: subprocess.Popen, tmp: Path, name: str, args: list[str], **env: str) -> Job:
    log = tmp / f'{name}.log'
    req = dict(argv=args, log=str(log), cwd=str(tmp), env={'NASVIZ_CACHE': str(tmp / 'cache'), **env})
    server.stdin.write(json.dumps(req) + '\n')
    line = server.stdout.readline()
    assert line.strip().isdigit(), f'fork server failed: {line!r}'
    return Job(int(line), log, name)


def _load_ckpt(path: Path) -> dict:
    """A checkpoint through the product's own checked loader: it must verify (no warning)."""
    import torch

    from nasviz.io import load_checked

    with warnings.catch_warnings():
        warnings.simplefilter('error')
        state = load_checked(path, lambda p: torch.load(p, map_location='cpu', weights_only=False))
    assert state is not None, path
    return state


def _same_state(a: dict, b: dict) -> None:
    import torch

    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _no_set_aside(out: str) -> None:
    # a damaged checkpoint would have been renamed aside and recomputed: not a resume
    assert 'corrupt' not in out and 'set aside' not in out and 'renamed' not in out, out


# ---------------------------------------------------------------------------------------------
# nasviz train
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_killed_after_a_checkpoint_resumes_bit_identical(server, tmp_path: Path) -> None:
    epochs = 8
    args = lambda d: ['train', '--profile', 'tiny', '--epochs', str(epochs), '--out', str(tmp_path / d)]  # noqa: E731
    ref = _start(server, tmp_path, 'ref', args('ref'))  # the uninterrupted run, alongside
    job = _start(server, tmp_path, 'killed', args('run'))
    ck = tmp_path / 'run' / 'checkpoint.pt'
    job.kill_when(ck.exists, 'a first checkpoint')
    killed = _load_ckpt(ck)
    done = killed['epoch'] + 1
    assert 1 <= done < epochs, f'killed after {done} of {epochs} epochs: not a partial run'
    out = _start(server, tmp_path, 'resumed', args('run')).finish()
    _no_set_aside(out)
    assert 'starting a fresh one' not in out, out  # the command saw the run it resumes
    ref.finish()

    final, want = _load_ckpt(ck), _load_ckpt(tmp_path / 'ref' / 'checkpoint.pt')
    assert final['epoch'] == want['epoch'] == epochs - 1
    _same_state(final['model'], want['model'])
    assert final['optimizer']['state'].keys() == want['optimizer']['state'].keys()
    for k, st in want['optimizer']['state'].items():
        _same_state(final['optimizer']['state'][k], st)
    assert final['scheduler'] == want['scheduler']
    for key in ('train_loss', 'train_acc', 'lr'):
        assert [h[key] for h in final['history']] == [h[key] for h in want['history']], key
    # the epochs finished before the kill were reused, not retrained: their timings survive
    assert [h['seconds'] for h in final['history'][:done]] == [h['seconds'] for h in killed['history']]


# ---------------------------------------------------------------------------------------------
# nasviz build-microbench
# ---------------------------------------------------------------------------------------------
def _bench_frame(path: Path) -> tuple[pd.DataFrame, dict]:
    from nasviz.bench.micro import MicroBench

    mb = MicroBench.load(path)
    return mb.to_frame(), mb.recipe


@pytest.mark.slow
def test_build_microbench_killed_with_its_workers_resumes_identical(server, tmp_path: Path) -> None:
    n_cells, seeds = 5, ['0', '1']

    def args(out, workers):
        return [
            'build-microbench',
            '--n-cells',
            str(n_cells),
            '--epochs',
            '1',  # noqa: E731
            '--seeds',
            *seeds,
            '--workers',
            str(workers),
            '--out',
            str(tmp_path / out),
        ]

    ref = _start(server, tmp_path, 'ref', args('ref.csv', 1))
    # the killed build runs a pool of 2 workers; the kill takes the whole process group
    job = _start(server, tmp_path, 'killed', args('bench.csv', 2))
    partial = tmp_path / 'bench.csv.partial.jsonl'

    def jobs_done() -> int:
        try:
            return max(len(partial.read_text().splitlines()) - 1, 0)  # first line: recipe hash
        except FileNotFoundError:
            return 0

    total = n_cells * len(seeds)
    job.kill_when(lambda: jobs_done() >= 1, 'a finished job')
    lines = partial.read_text().splitlines()
    finished = {(r['arch_str'], r['seed']) for r in map(json.loads, lines[1:]) if r}
    assert 1 <= len(finished) < total, f'{len(finished)} of {total} jobs done at the kill'
    assert not (tmp_path / 'bench.csv').exists()
    # resume in one process, recording which jobs it trains
    joblog = tmp_path / 'jobs.txt'
    out = _start(server, tmp_path, 'resumed', args('bench.csv', 1), NASVIZ_TEST_JOBLOG=str(joblog)).finish()
    assert 'another recipe' not in out, out
    ref.finish()

    retrained = {(a, int(s)) for a, s in (ln.rsplit(' ', 1) for ln in joblog.read_text().splitlines())}
    assert not retrained & finished, 'jobs finished before the kill were trained again'
    assert len(retrained) + len(finished) == total
    got, got_recipe = _bench_frame(tmp_path / 'bench.csv')
    want, want_recipe = _bench_frame(tmp_path / 'ref.csv')
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got_recipe == want_recipe
    assert not partial.exists()  # a finished build leaves no partial file behind


# ---------------------------------------------------------------------------------------------
# nasviz partition (run_comparison -> run_partition)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_partition_killed_twice_resumes_identical(server, tmp_path: Path) -> None:
    def args(d):
        return [
            'partition',
            '--profile',
            'tiny',
            '--methods',
            'naslid',
            '--seeds',
            '0',
            '--epochs',
            '8',  # noqa: E731
            '--work-dir',
            str(tmp_path / d),
            '--out',
            str(tmp_path / f'{d}.csv'),
        ]

    ref = _start(server, tmp_path, 'ref', args('ref'))
    run = tmp_path / 'work' / 'naslid-seed0'
    ckpts = lambda: sorted(run.glob('*/checkpoint.pt'))  # noqa: E731

    # kill 1: while the root supernet trains (its first epoch is on disk; 8 epochs: the root
    # trains 4, then each of the two sub-supernets 2)
    _start(server, tmp_path, 'killed1', args('work')).kill_when(lambda: len(ckpts()) >= 1, 'the root checkpoint')
    root = _load_ckpt(run / '0' / 'checkpoint.pt')
    assert root['epoch'] < 3 or not (run / '0' / 'split.json').exists(), 'kill 1 came after the split'

    # kill 2: after the split, once a sub-supernet has a checkpoint of its own
    _start(server, tmp_path, 'killed2', args('work')).kill_when(lambda: len(ckpts()) >= 2, 'a sub-supernet checkpoint')
    assert (run / '0' / 'split.json').is_file()
    assert not (run / 'frame.csv').exists(), 'the run finished before the second kill'
    root_done = _load_ckpt(run / '0' / 'checkpoint.pt')

    _no_set_aside(_start(server, tmp_path, 'resumed', args('work')).finish())
    ref.finish()

    want = tmp_path / 'ref' / 'naslid-seed0'
    for name in ('frame.csv', 'tree.json', 'metrics.json'):
        assert (run / name).read_text() == (want / name).read_text(), name
    assert (run / '0' / 'split.json').read_text() == (want / '0' / 'split.json').read_text()
    hist, hist_ref = (pd.read_csv(d / 'histories.csv', dtype={'node_id': str}) for d in (run, want))
    cols = ['node_id', 'epoch', 'train_loss', 'train_acc', 'lr']
    pd.testing.assert_frame_equal(hist[cols], hist_ref[cols], check_exact=True)
    # the root was not retrained after the second kill: its epoch timings are the stored ones
    root_rows = hist[hist['node_id'] == '0']
    assert list(root_rows['seconds']) == [h['seconds'] for h in root_done['history']]
    # the command's own summary table agrees apart from wall-clock columns
    out, out_ref = pd.read_csv(tmp_path / 'work.csv'), pd.read_csv(tmp_path / 'ref.csv')
    keep = [c for c in out_ref.columns if not c.endswith('_s')]
    pd.testing.assert_frame_equal(out[keep], out_ref[keep], check_exact=True)


def test_build_drops_a_line_cut_by_a_kill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill in the middle of writing a job's line leaves a fragment without a newline; the
    next run must not append its first job to that fragment (the job would be lost again on
    the next resume)."""
    import nasviz.bench.build as build
    from nasviz.cache import param_hash

    recipe = build.MicroBenchRecipe(n_cells=3, seeds=(0,), C=4, epochs=1)
    out = tmp_path / 'b.csv'
    partial = tmp_path / 'b.csv.partial.jsonl'
    partial.write_text(json.dumps({'recipe_hash': param_hash(recipe.to_dict())}) + '\n{"arch_str": "|nor_con')
    calls: list = []

    def job(rdict: dict, arch_str: str, seed: int) -> dict:
        calls.append(arch_str)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the next kill, after one job
        return dict(arch_str=arch_str, seed=seed, accuracy=50.0, train_acc=50.0, params=1, seconds=0.1)

    monkeypatch.setattr(build, '_init_worker', lambda rdict: None)
    monkeypatch.setattr(build, '_train_one', job)
    with pytest.raises(KeyboardInterrupt):
        build.build_microbench(recipe, out, workers=1, progress=False)
    lines = partial.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])['arch_str'] == calls[0]


def test_build_with_another_recipe_keeps_the_earlier_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Class 6: a build interrupted under one recipe and rerun under another must not
    discard the finished jobs of the first: they are kept aside, byte for byte, and it says so."""
    import nasviz.bench.build as build
    from nasviz.cache import param_hash

    calls: list = []

    def job(rdict: dict, arch_str: str, seed: int) -> dict:
        calls.append(arch_str)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a kill after two finished jobs
        return dict(arch_str=arch_str, seed=seed, accuracy=50.0 + len(calls), train_acc=50.0, params=1, seconds=0.1)

    monkeypatch.setattr(build, '_init_worker', lambda rdict: None)
    monkeypatch.setattr(build, '_train_one', job)
    first = build.MicroBenchRecipe(n_cells=3, seeds=(0,), C=4, epochs=1)
    out, partial = tmp_path / 'b.csv', tmp_path / 'b.csv.partial.jsonl'
    with pytest.raises(KeyboardInterrupt):
        build.build_microbench(first, out, workers=1, progress=False)
    kept = partial.read_bytes()
    assert len(kept.splitlines()) == 3  # header + two jobs

    calls.clear()
    monkeypatch.setattr(
        build,
        '_train_one',
        lambda r, a, s: dict(arch_str=a, seed=s, accuracy=60.0, train_acc=60.0, params=1, seconds=0.1),
    )
    build.build_microbench(build.MicroBenchRecipe(n_cells=3, seeds=(0,), C=4, epochs=2), out, workers=1, progress=False)
    aside = tmp_path / f'b.csv.partial.jsonl.recipe-{param_hash(first.to_dict())}'
    assert aside.read_bytes() == kept
    assert f'kept aside as {aside}' in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# nasviz proxies (a resumable sweep: one atomic CSV chunk per batch of cells and proxy)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_proxy_sweep_killed_resumes_identical(server, tmp_path: Path) -> None:
    def args(out):
        return [
            'proxies',
            '--space',
            'nb201',
            '--proxy',
            'params',
            'synflow',
            'naswot',  # noqa: E731
            '--sample',
            '100',
            '--data',
            'digits',
            '--out',
            str(tmp_path / out),
        ]

    ref = _start(server, tmp_path, 'ref', args('ref.csv'), NASVIZ_CACHE=str(tmp_path / 'ref-cache'))
    job = _start(server, tmp_path, 'killed', args('table.csv'))
    chunks = lambda: sorted((tmp_path / 'cache' / 'proxies').glob('*/chunk-*.csv'))  # noqa: E731
    job.kill_when(lambda: len(chunks()) >= 1, 'a finished chunk')
    kept = {p: p.stat().st_mtime_ns for p in chunks()}
    assert kept and not (tmp_path / 'table.csv').exists()
    out = _start(server, tmp_path, 'resumed', args('table.csv')).finish()
    assert 'moved aside' not in out, out
    ref.finish()
    # the chunks finished before the kill were reused as they were, not recomputed
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    assert len(chunks()) > len(kept)
    got, want = pd.read_csv(tmp_path / 'table.csv'), pd.read_csv(tmp_path / 'ref.csv')
    pd.testing.assert_frame_equal(got, want, check_exact=True)
