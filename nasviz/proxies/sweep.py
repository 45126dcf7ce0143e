"""Proxy sweeps over many architectures: seeded, cached per (space, arch, proxy, data, batch,
seed), resumable after a kill, optionally over worker processes, with a progress bar.

Cache layout: ``<cache>/proxies/<key>/chunk-<hash>.csv``, one directory per (space, network
size, proxy, probe data, batch size, seed) and one small CSV (``arch_str,value``) per finished
chunk of cells, each written atomically, its first line the SHA-256 of the rest: a chunk that
fails the check (truncated, or edited to a wrong but well-formed value) is set aside with a
warning and its cells recomputed. A sweep reads every chunk of the directories it needs,
computes only the cells missing there, and writes new chunks as they finish: a killed sweep loses
at most the chunks in flight. Chunks run through :mod:`nasviz.executor` (this process, a local
process pool, or Ray); the driver writes each chunk as its task finishes.

Degenerate cells (the output does not depend on the input: no path carries the input to the
output) get NaN for every proxy that reads the input images; they are not computed. ``params``,
``flops`` and the data-free ``synflow`` are computed for them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from nasviz.cache import cache_dir, cached, param_hash
from nasviz.executor import Executor, Task, get_executor
from nasviz.io import atomic_write_text, load_checked
from nasviz.proxies.registry import PROXIES, check_proxies, compute_proxies
from nasviz.spaces import get_space as _registry_get_space
from nasviz.validate import check_count, check_int, short_repr

DATASETS = ('cifar10', 'digits')


def get_space(name: Any) -> Any:
    """The search space ``name`` (any registered one; a space object is returned as is)."""
    if not isinstance(name, str):
        return name
    return _registry_get_space(name)


def probe_batch(data: str = 'cifar10', n: int = 128, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``n`` training images and labels drawn with ``seed`` from ``data`` (``'cifar10'``: the offline
    npz through ``NASVIZ_CIFAR10_NPZ``; ``'digits'``: the embedded dataset), normalised as for
    training, plus an id naming the batch for cache keys."""
    from nasviz.data import load_cifar10, load_digits

    if data not in DATASETS:
        raise ValueError(f'unknown probe data {short_repr(data)}; valid: {", ".join(DATASETS)}')
    n = check_count(n, 'n')
    key = (data, n, seed, os.environ.get('NASVIZ_CIFAR10_NPZ', '') if data == 'cifar10' else '')
    if key in _PROBES:
        return _PROBES[key]

    def load() -> tuple[torch.Tensor, torch.Tensor, str]:
        try:
            d = load_cifar10() if data == 'cifar10' else load_digits()
        except ImportError as err:  # no offline npz and no torchvision: a setup problem, said plainly
            raise ValueError(f'no CIFAR-10 images: set NASVIZ_CIFAR10_NPZ to cifar10_jpeg.npz ({err})') from err
        if n > len(d.y_train):
            raise ValueError(f'n={n} exceeds the {len(d.y_train)} training images of {data}')
        idx = torch.from_numpy(np.random.default_rng(seed).choice(len(d.y_train), n, replace=False))
        return d.x_train[idx].contiguous(), d.y_train[idx].contiguous(), f'{d.data_id}-n{n}-s{seed}'

    if data == 'digits':  # the embedded data is rebuilt (warped) on each load: keep the batch on disk
        _PROBES[key] = cached('proxy_probe', key, load)
    else:  # the decoded CIFAR-10 arrays are cached by nasviz.data already
        _PROBES[key] = load()
    return _PROBES[key]


#: probe batches already loaded in this process (loading the data set costs seconds)
_PROBES: dict[tuple, tuple[torch.Tensor, torch.Tensor, str]] = {}


@dataclass(frozen=True)
class SweepConfig:
    """What a proxy value depends on, besides the architecture and the proxy.

    ``size``: keyword arguments of the space's network builder as sorted ``(name, value)`` pairs
    (empty = the benchmark's network; the embedded digits need ``in_channels=1``). ``batch_sizes``
    overrides a proxy's paper batch size, as ``(proxy, size)`` pairs."""

    space: str = 'nb201'
    data: str = 'cifar10'
    seed: int = 0
    size: tuple[tuple[str, Any], ...] = ()
    batch_sizes: tuple[tuple[str, int], ...] = ()
    chunk_size: int = 25

    def __post_init__(self) -> None:
        if self.data not in DATASETS:
            raise ValueError(f'unknown probe data {short_repr(self.data)}; valid: {", ".join(DATASETS)}')
        check_int(self.seed, 'seed', 0)
        check_count(self.chunk_size, 'chunk_size')
        object.__setattr__(self, 'size', tuple(sorted(dict(self.size).items())))
        bs = dict(self.batch_sizes)
        check_proxies(list(bs)) if bs else None
        for k, v in bs.items():
            check_count(v, f'batch size of {k}')
        object.__setattr__(self, 'batch_sizes', tuple(sorted(bs.items())))

    def batch_size(self, proxy: str) -> int:
        return int(dict(self.batch_sizes).get(proxy, PROXIES[proxy].batch_size))

    @property
    def probe_size(self) -> int:
        """Images in the probe batch: the largest batch any proxy uses."""
        return max(self.batch_size(p) for p in PROXIES)


def _chunk_name(arch_strs: Sequence[str]) -> str:
    return 'chunk-' + hashlib.sha256('\n'.join(arch_strs).encode()).hexdigest()[:16] + '.csv'


_CHECK = '# sha256='


def _chunk_text(arch_strs: Sequence[str], values: Sequence[float]) -> str:
    """A chunk's file: a first line ``# sha256=<hex>`` of the CSV body that follows it, so an edit that
    leaves a well-formed but wrong value is detected on load (the cache's other entries carry theirs)."""
    body = pd.DataFrame({'arch_str': list(arch_strs), 'value': list(values)}).to_csv(index=False)
    return f'{_CHECK}{hashlib.sha256(body.encode()).hexdigest()}\n{body}'


def _read_chunk(path: Path) -> pd.DataFrame:
    import io

    text = path.read_text()
    first, _, body = text.partition('\n')
    if not first.startswith(_CHECK):
        raise ValueError('no checksum line (a chunk starts with "# sha256=<hex>")')
    if hashlib.sha256(body.encode()).hexdigest() != first[len(_CHECK) :].strip():
        raise ValueError('checksum mismatch: the chunk was changed after it was written')
    df = pd.read_csv(io.StringIO(body), dtype={'arch_str': str})
    if list(df.columns) != ['arch_str', 'value']:
        raise ValueError(f'expected columns arch_str,value, got {list(df.columns)}')
    df['value'] = pd.to_numeric(df['value'], errors='raise')
    return df


# -- worker side ------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(config: SweepConfig, x: torch.Tensor, y: torch.Tensor, threads: int = 1) -> None:
    torch.set_num_threads(threads)
    _WORKER.update(config=config, x=x, y=y, space=get_space(config.space))


def proxies_for_arch(
    space: Any,
    arch: Any,
    proxies: Sequence[str],
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int = 0,
    size: dict | None = None,
    batch_sizes: dict | None = None,
) -> dict[str, float]:
    """The proxies of one architecture: its network built by the space with ``torch.manual_seed(seed)``
    (the same initial weights whichever process or order computes it), degenerate cells given NaN
    for proxies that read the input."""
    space = get_space(space)
    arch = space.from_str(arch) if isinstance(arch, str) else arch
    degenerate = bool(getattr(space, 'is_degenerate', lambda a: False)(arch))
    run = [p for p in proxies if not (degenerate and PROXIES[p].uses_input)]
    out = {p: float('nan') for p in proxies}
    if run:
        torch.manual_seed(seed)
        net = space.build_network(arch, **(size or {}))
        out.update(compute_proxies(net, x, y, run, batch_sizes))
    return out


def _work(arch_strs: list[str], proxies: list[str]) -> dict[str, list[float]]:
    c: SweepConfig = _WORKER['config']
    res: dict[str, list[float]] = {p: [] for p in proxies}
    sizes = {p: c.batch_size(p) for p in proxies}
    for s in arch_strs:
        vals = proxies_for_arch(_WORKER['space'], s, proxies, _WORKER['x'], _WORKER['y'], c.seed, dict(c.size), sizes)
        for p in proxies:
            res[p].append(vals[p])
    return res


# -- the sweep --------------------------------------------------------------------------------
@dataclass
class ProxySweep:
    """A resumable, cached proxy sweep (estimator-like: configure, then :meth:`run`).

    ``run(archs)`` returns a DataFrame with ``arch_str`` and one column per proxy, in the order
    of ``archs`` (``compute=False``: only cached values, NaN for the rest); ``computed_`` counts
    the (cell, proxy) values computed by the last run (the rest came from the cache), ``seconds_``
    its wall time.

    ``executor`` runs the chunks (default: :func:`nasviz.executor.get_executor` with ``workers``:
    the local pool unless ``NASVIZ_BACKEND`` says otherwise; one worker computes in this process).

    ``per_class=True`` computes the input-reading proxies once per function class of the space
    (``space.canonical``: NB201's 15,625 cells hold 4,929 non-degenerate classes), on the member
    with the smallest string among the requested cells, and gives that value to every member; the
    data-free proxies (params, flops, synflow) stay per cell. It is an approximation, off by default:
    under seeded initialisation the members of a class get different initial weights (a dead edge
    still draws its convolution's weights), so their own values differ. The table then carries a
    column ``computed_on``: the member whose network gave the input-reading values. The cache holds
    only each representative's own (per-cell) values."""

    proxies: Sequence[str]
    config: SweepConfig = field(default_factory=SweepConfig)
    workers: int = 1
    cache: str | os.PathLike | None = None
    progress: bool = True
    #: called after each chunk is written (tests use it to simulate a kill)
    on_chunk: Callable[[int], None] | None = None
    executor: Executor | None = None
    per_class: bool = False

    def __post_init__(self) -> None:
        self.proxies = check_proxies(self.proxies)
        self.workers = check_count(self.workers, 'workers')
        self.space = get_space(self.config.space)

    def directory(self, proxy: str, data_id: str) -> Path:
        root = Path(self.cache) if self.cache is not None else cache_dir()
        c = self.config
        key = param_hash(
            dict(space=c.space, size=c.size, proxy=proxy, data=data_id, batch=c.batch_size(proxy), seed=c.seed)
        )
        return root / 'proxies' / f'{c.space}-{proxy}-{key}'

    def _load(self, directory: Path) -> dict[str, float]:
        got: dict[str, float] = {}
        if not directory.is_dir():
            return got
        for path in sorted(directory.glob('chunk-*.csv')):
            df = load_checked(path, _read_chunk)
            if df is not None:
                got.update(zip(df['arch_str'], df['value'].astype(float)))
        return got

    def run(self, archs: Iterable[Any] | None = None, compute: bool = True) -> pd.DataFrame:
        import time

        t0 = time.perf_counter()
        if archs is None:
            archs = self.space.enumerate()
        strs = [self.space.to_str(self.space.from_str(a) if isinstance(a, str) else a) for a in archs]
        if not strs:
            raise ValueError('archs is empty: nothing to sweep')
        # one probe batch whatever proxies this sweep runs (each takes its first batch_size images), so a
        # proxy's cache key and values do not depend on which other proxies were swept with it
        x, y, data_id = probe_batch(self.config.data, self.config.probe_size, self.config.seed)
        dirs = {p: self.directory(p, data_id) for p in self.proxies}
        known = {p: self._load(d) for p, d in dirs.items()}
        rep = class_representatives(self.space, strs) if self.per_class else {}
        shared = {p for p in self.proxies if PROXIES[p].uses_input} if self.per_class else set()
        # group the missing cells by which proxies they still need, then chunk each group
        missing: dict[tuple[str, ...], list[str]] = {}
        for s in dict.fromkeys(strs):
            need = tuple(p for p in self.proxies if s not in known[p] and (p not in shared or rep[s] == s))
            if need:
                missing.setdefault(need, []).append(s)
        k = self.config.chunk_size
        if not compute:  # only what the cache holds; NaN elsewhere
            missing = {}
        tasks = [(group[i : i + k], list(need)) for need, group in missing.items() for i in range(0, len(group), k)]
        self.computed_ = 0
        ex = self.executor
        if ex is None:  # a single chunk is not worth starting worker processes for
            ex = get_executor(None, self.workers if len(tasks) > 1 else 1)
        in_process = ex.backend == 'local' and ex.workers == 1

        def store(key: tuple, res: dict[str, list[float]]) -> None:  # on the driver, as each chunk finishes
            chunk, need = list(key[0]), list(key[1])
            for p in need:
                atomic_write_text(dirs[p] / _chunk_name(chunk), _chunk_text(chunk, res[p]))
                known[p].update(zip(chunk, res[p]))
                self.computed_ += len(chunk)
            if self.on_chunk is not None:
                self.on_chunk(len(chunk))

        ex.run(
            _work,
            [Task((tuple(chunk), tuple(need)), (chunk, need), weight=len(chunk)) for chunk, need in tasks],
            store,
            initializer=_init_worker,
            initargs=(self.config, x, y, torch.get_num_threads() if in_process else 1),
            progress=self.progress,
            desc=f'proxies {",".join(self.proxies)}',
            unit='cell',
        )
        self.seconds_ = time.perf_counter() - t0
        table = pd.DataFrame({'arch_str': strs})
        for p in self.proxies:
            table[p] = [known[p].get(rep[s] if p in shared else s, np.nan) for s in strs]
        if shared:
            table['computed_on'] = [rep[s] for s in strs]
        return table


def class_representatives(space: Any, strs: Iterable[str]) -> dict[str, str]:
    """Each architecture string's class representative: the smallest string among the given members
    of its ``space.canonical`` class (the same whatever order the strings come in)."""
    members: dict[str, list[str]] = {}
    for s in dict.fromkeys(strs):
        members.setdefault(space.canonical(space.from_str(s)), []).append(s)
    return {s: min(group) for group in members.values() for s in group}


def sweep_proxies(
    proxies: Sequence[str],
    archs: Iterable[Any] | None = None,
    space: str = 'nb201',
    data: str = 'cifar10',
    seed: int = 0,
    workers: int = 1,
    cache: str | os.PathLike | None = None,
    progress: bool = True,
    **size: Any,
) -> pd.DataFrame:
    """One-call :class:`ProxySweep` (``archs=None``: every architecture of the space)."""
    cfg = SweepConfig(space=space, data=data, seed=seed, size=tuple(size.items()))
    return ProxySweep(proxies, cfg, workers=workers, cache=cache, progress=progress).run(archs)
