"""Running many independent, idempotent tasks: a local process pool or a Ray cluster.

Every sweep in nasviz (micro-benchmark builds, proxy sweeps, partition comparisons over methods
and seeds) is a list of :class:`Task` values, each with a stable ``key``, run through one interface::

    ex = get_executor('ray', workers=None, address='auto')   # or 'local' (default), NASVIZ_BACKEND
    ex.run(fn, tasks, on_result, initializer=init, initargs=(...,), desc='proxies', unit='cell')

* ``fn(*task.args)`` runs in a worker process; ``fn``, ``initializer`` and the arguments must be
  picklable (module-level functions), and on a cluster nasviz must be installed on every node.
* ``initializer(*initargs)`` runs once per worker process before its first task of a run (it
  loads data into the worker). Ray ships ``initargs`` through its object store once per run; the
  local pool sends them with each task (a probe batch or a recipe: small), so a pool kept between
  runs (``keep_workers``) serves runs with different initializers.
* ``on_result(key, result)`` is called **on the driver** as each task finishes, in completion
  order: the caller writes the result to its cache there (atomically), so a rerun skips finished
  keys and an interrupted driver loses only the tasks in flight. The executor keeps no state of
  its own between runs; skipping finished keys is the caller's (it knows its cache).
* A worker process that dies mid-task (killed, out of memory) is retried, at most
  ``max_retries`` times per task: Ray retries the task itself; the local pool re-creates its
  broken pool and resubmits every unfinished task, charging one attempt to each task that was in
  flight when the pool broke (at most ``workers`` tasks run at once, so the culprit is among them).
  An exception raised by the task itself is not retried: it ends the run.
* Threads: a task runs with ``torch.set_num_threads(task.num_cpus)`` in a worker (default 1, the
  CPUs Ray reserves for it), so workers do not oversubscribe the cores. ``task.num_gpus`` is
  asked of Ray's scheduler (:func:`task_resources` gives 1 for a CUDA device); the local pool
  ignores it.
* One tqdm bar (done / total, ETA) for the run, whichever backend.

Results do not depend on the backend: a task seeds itself from its arguments, and every worker
runs with the same thread count.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from nasviz.validate import check_count, short_repr

__all__ = [
    'BACKENDS',
    'ENV_BACKEND',
    'RAY_INSTALL',
    'Task',
    'TaskFailed',
    'MissingBackend',
    'Executor',
    'LocalExecutor',
    'RayExecutor',
    'get_executor',
    'resolve_backend',
    'start_local_ray',
    'task_resources',
]

BACKENDS = ('local', 'ray')
#: environment variable naming the default backend
ENV_BACKEND = 'NASVIZ_BACKEND'
#: how a user gets the Ray backend
RAY_INSTALL = "pip install 'nasviz[ray]'"


@dataclass(frozen=True)
class Task:
    """One unit of work: ``key`` (stable across runs, names the result in the caller's cache),
    ``args`` for the task function, ``weight`` (progress units, e.g. cells in a chunk) and the
    resources it asks for."""

    key: Hashable
    args: tuple = ()
    weight: int = 1
    num_cpus: int = 1
    num_gpus: float = 0.0


def task_resources(device: Any = 'cpu', num_cpus: int = 1) -> dict[str, Any]:
    """``num_cpus``/``num_gpus`` for a task on ``device``: one GPU when it is CUDA."""
    dev = str(device)
    return dict(num_cpus=check_count(num_cpus, 'num_cpus'), num_gpus=1.0 if dev.startswith('cuda') else 0.0)


class TaskFailed(RuntimeError):
    """A task whose worker process died more than ``max_retries`` times."""


class MissingBackend(ImportError, ValueError):
    """The backend's package is not installed (a ``ValueError`` too, so the CLI exits 2)."""


# -- worker side ----------------------------------------------------------------------------------
#: which run's initializer this worker process has run (a token per run)
_STATE: dict[str, Any] = {}


def _set_threads(n: int) -> None:
    import torch  # heavy; only workers that run a task need it

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _call(token: str, init: Any, fn: Callable, args: tuple, threads: int) -> Any:
    """A task's body in a worker. ``init``: ``(initializer, initargs)`` (local pool), or a list
    holding the Ray object ref of that pair (in a list, so Ray does not fetch it for every task:
    only a worker that has not yet run this run's initializer gets it)."""
    if _STATE.get('token') != token:
        if isinstance(init, list):
            import ray

            init = ray.get(init[0])
        initializer, initargs = init
        if initializer is not None:
            initializer(*initargs)
        _STATE['token'] = token
    _set_threads(threads)
    return fn(*args)


# -- driver side ----------------------------------------------------------------------------------
class Executor:
    """What both backends share: argument checks, the progress bar, the run statistics
    (``tasks_``, ``seconds_`` of the last :meth:`run`, and ``retries_``: tasks the local pool
    resubmitted after a worker died; Ray retries inside and reports none)."""

    backend = ''

    def __init__(self, workers: int | None = None, max_retries: int = 2) -> None:
        self.workers = None if workers is None else check_count(workers, 'workers')
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(f'max_retries must be an integer >= 0, got {short_repr(max_retries)}')
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f'{type(self).__name__}(workers={self.workers}, max_retries={self.max_retries})'

    def run(
        self,
        fn: Callable,
        tasks: Iterable[Task],
        on_result: Callable[[Any, Any], None],
        *,
        initializer: Callable | None = None,
        initargs: tuple = (),
        progress: bool = True,
        desc: str = 'tasks',
        unit: str = 'task',
        total: int | None = None,
        initial: int = 0,
    ) -> int:
        """Run ``fn(*task.args)`` for every task; ``on_result(task.key, result)`` on the driver as
        each finishes. The bar counts task weights from ``initial`` (work already in the cache) to
        ``total`` (default: ``initial`` + the tasks' weights). Returns the number of tasks run."""
        from tqdm.auto import tqdm

        tasks = list(tasks)
        keys = [t.key for t in tasks]
        if len(set(keys)) != len(keys):
            dup = [k for k, n in Counter(keys).items() if n > 1]
            raise ValueError(f'task keys repeat: {short_repr(dup)}')
        weight = sum(t.weight for t in tasks)
        if tasks:
            self._prepare()  # e.g. connect to the cluster: its errors come before the bar
        bar = tqdm(
            total=initial + weight if total is None else total,
            initial=initial,
            desc=desc,
            unit=unit,
            disable=not progress,
        )
        t0 = time.perf_counter()
        self.retries_ = 0

        def done(task: Task, result: Any) -> None:
            on_result(task.key, result)
            bar.update(task.weight)

        try:
            if tasks:
                self._run(fn, tasks, done, initializer, tuple(initargs))
        finally:
            bar.close()
            self.tasks_ = len(tasks)
            self.seconds_ = time.perf_counter() - t0
        return len(tasks)

    def _prepare(self) -> None:
        pass

    def _run(
        self,
        fn: Callable,
        tasks: list[Task],
        done: Callable[[Task, Any], None],
        initializer: Callable | None,
        initargs: tuple,
    ) -> None:
        raise NotImplementedError

    def _charge(self, attempts: Counter, task: Task, why: str) -> None:
        attempts[task.key] += 1
        self.retries_ += 1
        if attempts[task.key] > self.max_retries:
            raise TaskFailed(
                f'task {short_repr(task.key)}: {why} {attempts[task.key]} times (max_retries={self.max_retries})'
            )


class LocalExecutor(Executor):
    """A process pool on this machine (``spawn`` context: workers start clean, no inherited
    thread pools). ``workers`` = 1 runs the tasks in this process, as before the pool existed,
    with this process's thread count. ``keep_workers``: keep the worker processes between runs
    (as Ray keeps its workers) until :meth:`close` or the end of a ``with`` block; by default
    they end with each run."""

    backend = 'local'
    workers: int

    def __init__(self, workers: int | None = 1, max_retries: int = 2, keep_workers: bool = False) -> None:
        super().__init__(1 if workers is None else workers, max_retries)
        self.keep_workers = bool(keep_workers)
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """End the worker processes (after their tasks)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _discard_pool(self) -> None:
        """Stop the workers now (an error, an interrupt or a broken pool): tasks in flight are lost."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.shutdown(wait=False, cancel_futures=True)
        for p in list((getattr(pool, '_processes', None) or {}).values()):
            if p.is_alive():
                p.terminate()

    def _run(
        self,
        fn: Callable,
        tasks: list[Task],
        done: Callable[[Task, Any], None],
        initializer: Callable | None,
        initargs: tuple,
    ) -> None:
        if self.workers == 1:
            if initializer is not None:
                initializer(*initargs)
            for t in tasks:
                done(t, fn(*t.args))
            return
        token = uuid.uuid4().hex
        init = (initializer, initargs)
        pending = deque(tasks)
        attempts: Counter = Counter()
        running: dict[cf.Future, Task] = {}
        try:
            while pending:
                if self._pool is None:
                    self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context('spawn'))
                pool = self._pool
                running.clear()
                broken = False
                while (pending or running) and not broken:
                    while pending and len(running) < self.workers:
                        t = pending.popleft()
                        running[pool.submit(_call, token, init, fn, t.args, t.num_cpus)] = t
                    finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                    for f in finished:
                        t = running.pop(f)
                        try:
                            result = f.result()
                        except BrokenProcessPool:
                            broken = True
                            self._charge(attempts, t, 'its worker process died')
                            pending.appendleft(t)
                            continue
                        done(t, result)
                if broken:  # every task still in flight went down with the pool
                    for t in running.values():
                        self._charge(attempts, t, 'its worker process died')
                        pending.appendleft(t)
                    running.clear()
                    self._discard_pool()
        except Exception:
            if self.keep_workers and self._pool is not None:
                for f in running:  # the queued ones; tasks running now finish unheard
                    f.cancel()
            else:
                self._discard_pool()
            raise
        except BaseException:  # an interrupt: stop the workers now
            self._discard_pool()
            raise
        if not self.keep_workers:
            self.close()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise MissingBackend(
            f'the ray backend needs the ray package, which is not installed ({err}); install it with: {RAY_INSTALL}'
        ) from None
    return ray


def _loopback_only() -> Any:
    """Keep Ray on 127.0.0.1 in this process and the processes it starts (Ray otherwise replaces a
    loopback address by the host's routable one); returns the ``ray`` module."""
    # Ray keeps 127.0.0.1 when it believes clusters are off; its processes read this at import
    os.environ['RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'] = '0'
    ray = _import_ray()
    try:  # this process may have imported ray already
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    except (ImportError, AttributeError):
        pass
    return ray


def _is_loopback(host: str) -> bool:
    return host.strip('[]') in ('localhost', '::1') or host.startswith('127.')


def start_local_ray(num_cpus: int | None = None, **kwargs: Any) -> Any:
    """Start a Ray instance on this machine only and return the ``ray`` module: every service
    listens on 127.0.0.1 (Ray otherwise binds the host's routable address), no dashboard, and
    workers at normal priority (Ray lowers them to nice 15 by default, which starves them beside
    other work on a shared machine and makes timings against the local pool unfair)."""
    ray = _loopback_only()
    options = dict(
        num_cpus=num_cpus, include_dashboard=False, logging_level='warning', _system_config={'worker_niceness': 0}
    )
    options.update(kwargs)
    ray.init(**options)
    return ray


def _check_listening(address: str, timeout: float = 5.0) -> None:
    """A ``HOST:PORT`` that nothing answers is an error now (Ray itself would retry for minutes)."""
    import socket

    host, _, port = address.rpartition(':')
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address must be 'auto' or HOST:PORT of a Ray head node, got {short_repr(address)}")
    try:
        socket.create_connection((host.strip('[]'), int(port)), timeout=timeout).close()
    except OSError as err:
        raise ValueError(
            f'no Ray cluster answers at {address} ({err}); start one there with `ray start --head --port {port}`'
        ) from None


class RayExecutor(Executor):
    """Tasks on a Ray cluster. ``address``: ``'auto'`` (the cluster this node joined with
    ``ray start``), ``'HOST:PORT'`` (its head), or ``None``: the Ray instance this process has
    already initialised, else a new local one (``num_cpus=workers``, loopback only). ``workers``
    caps the tasks in flight (default: as many as the cluster's resources admit)."""

    backend = 'ray'

    def __init__(self, workers: int | None = None, address: str | None = None, max_retries: int = 2) -> None:
        super().__init__(workers, max_retries)
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ValueError(f"address must be 'auto' or 'HOST:PORT', got {short_repr(address)}")
        self.address = address
        self.ray = _import_ray()

    def __repr__(self) -> str:
        return f'RayExecutor(workers={self.workers}, address={self.address!r}, max_retries={self.max_retries})'

    def _prepare(self) -> None:
        self.connect()

    def check_address(self) -> None:
        """``ValueError`` now when ``address`` is a ``HOST:PORT`` nothing answers at: the check the
        first task would make, done before anything else (a fully cached run included)."""
        if self.address is not None and self.address != 'auto' and '://' not in self.address:
            _check_listening(self.address)

    def connect(self) -> Any:
        """Initialise Ray (once per process) and return the module."""
        ray = self.ray
        if ray.is_initialized():
            return ray
        if self.address is not None and self.address != 'auto' and '://' not in self.address:
            self.check_address()
            if _is_loopback(self.address.rpartition(':')[0]):  # a head started on 127.0.0.1 (tests, one machine)
                _loopback_only()
        try:
            if self.address is None:
                start_local_ray(self.workers)
            else:
                ray.init(address=self.address, logging_level='warning')
        except ConnectionError as err:
            raise ValueError(
                f'no Ray cluster at address {self.address!r} ({err}); start one with '
                '`ray start --head` (and `ray start --address HEAD:PORT` on the other nodes)'
            ) from None
        return ray

    def _run(
        self,
        fn: Callable,
        tasks: list[Task],
        done: Callable[[Task, Any], None],
        initializer: Callable | None,
        initargs: tuple,
    ) -> None:
        ray = self.connect()
        remote = ray.remote(_call)
        token = uuid.uuid4().hex
        init = [ray.put((initializer, initargs))]
        cap = self.workers or len(tasks)
        pending = deque(tasks)
        running: dict[Any, Task] = {}
        try:
            while pending or running:
                while pending and len(running) < cap:
                    t = pending.popleft()
                    ref = remote.options(
                        num_cpus=t.num_cpus, num_gpus=t.num_gpus, max_retries=self.max_retries, retry_exceptions=False
                    ).remote(token, init, fn, t.args, t.num_cpus)
                    running[ref] = t
                finished, _ = ray.wait(list(running), num_returns=1)
                for ref in finished:
                    t = running.pop(ref)
                    try:
                        result = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as err:
                        raise TaskFailed(
                            f'task {short_repr(t.key)}: its worker died more than '
                            f'max_retries={self.max_retries} times ({type(err).__name__})'
                        ) from None
                    done(t, result)
        except BaseException:
            for ref in running:  # not forced: the worker processes stay for the next run
                ray.cancel(ref)
            raise


def resolve_backend(backend: str | None = None) -> str:
    """``backend`` checked (``'local'`` | ``'ray'``), or for ``None`` ``$NASVIZ_BACKEND``, else ``'local'``."""
    source = 'backend'
    if backend is None:
        backend = os.environ.get(ENV_BACKEND, '').strip() or 'local'
        source = ENV_BACKEND
    if not isinstance(backend, str) or backend.strip().lower() not in BACKENDS:
        raise ValueError(f'{source}: unknown backend {short_repr(backend)}; valid: {", ".join(BACKENDS)}')
    return backend.strip().lower()


def get_executor(
    backend: str | None = None, workers: int | None = None, address: str | None = None, max_retries: int = 2
) -> Executor:
    """The executor of ``backend`` (``'local'`` | ``'ray'``; ``None``: ``$NASVIZ_BACKEND``, else
    ``'local'``). ``workers``: processes of the local pool (default 1), or the cap on Ray tasks in
    flight (default none). ``address`` is for Ray only."""
    backend = resolve_backend(backend)
    if backend == 'local':
        if address is not None:
            raise ValueError(f'address {short_repr(address)} is for the ray backend; the local pool has none')
        return LocalExecutor(workers, max_retries)
    return RayExecutor(workers, address, max_retries)
