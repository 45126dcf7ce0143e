"""Scaling of one proxy sweep over workers, on the local process pool and on a local Ray instance.

The same sweep (``--cells`` seeded NB201 cells, NASWOT + synflow at the tiny size: 16x16 digits,
C=8, N=1, or with ``--size benchmark`` at NAS-Bench-201's own size on CIFAR-10; chunks of
``--chunk`` cells, one torch thread per worker) runs with 1 and 2 workers on each backend, each
time into an empty cache, after a warm-up run that starts the workers (so the figures are per
sweep, not per process start; the start costs are printed apart). Ray runs on one local instance
with 2 CPUs (127.0.0.1 only); its workers are capped at 1 or 2 tasks in flight. Every run's table
must equal the first. Ray's overhead per task comes from a sweep of no-op tasks.

    OMP_NUM_THREADS=1 python benchmarks/sweep_scaling.py            # 40 cells
    python benchmarks/sweep_scaling.py --cells 12 --noop 50          # quicker
    python benchmarks/sweep_scaling.py --size benchmark --cells 24 --chunk 3 --repeats 2   # NB201's own network

Prints wall times, ``speedup=<x>`` per backend (1 worker / 2 workers; 2 is the limit on 2 idle
cores), and the per-task overheads; the load average before and after (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nasviz.executor import LocalExecutor, RayExecutor, Task, start_local_ray
from nasviz.proxies import ProxySweep, SweepConfig
from nasviz.spaces import get_space


def _sweep(ex, archs: list, cfg: SweepConfig, cache: Path) -> tuple[pd.DataFrame, float]:
    sweep = ProxySweep(['naswot', 'synflow'], cfg, cache=cache, progress=False, executor=ex)
    table = sweep.run(archs)
    return table, sweep.seconds_


def _noop_per_task(ex, n: int) -> float:
    """Seconds per no-op task (``abs``) through the executor, workers already started."""
    got = []
    t = time.perf_counter()
    ex.run(abs, [Task(i, (-i,)) for i in range(n)], lambda k, r: got.append(r), progress=False)
    assert sorted(got) == list(range(n))
    return (time.perf_counter() - t) / n


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--cells', type=int, default=40)
    ap.add_argument('--chunk', type=int, default=5, help='cells per task')
    ap.add_argument('--noop', type=int, default=200, help='no-op tasks timed for the per-task overhead')
    ap.add_argument('--repeats', type=int, default=3, help='timed sweeps per setting (the median is kept)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument(
        '--size',
        choices=('tiny', 'benchmark'),
        default='tiny',
        help="tiny: 16x16 digits, C=8, N=1 (tens of ms a cell); benchmark: NAS-Bench-201's network (C=16, N=5) "
        'on the CIFAR-10 probe batch (NASVIZ_CIFAR10_NPZ), about 0.6 s a cell',
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    load0 = os.getloadavg()
    print(f'load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} CPUs')
    archs = get_space('nb201').sample_distinct(a.cells, rng=a.seed)
    if a.size == 'tiny':
        cfg = SweepConfig(data='digits', seed=a.seed, size=(('C', 8), ('N', 1), ('in_channels', 1)), chunk_size=a.chunk)
    else:
        cfg = SweepConfig(data='cifar10', seed=a.seed, chunk_size=a.chunk)
    tmp = Path(tempfile.mkdtemp(prefix='sweep_scaling-'))
    os.environ.setdefault('NASVIZ_CACHE', str(tmp / 'cache'))  # the probe batch
    walls: dict[tuple[str, int], float] = {}
    ref = None
    out: dict = {}

    def timed(backend: str, workers: int, ex) -> None:
        nonlocal ref
        _sweep(ex, archs[: max(2 * a.chunk, 2)], cfg, tmp / f'warm-{backend}-{workers}')  # start the workers
        times = []
        for r in range(a.repeats):  # each into an empty cache
            table, secs = _sweep(ex, archs, cfg, tmp / f'{backend}-{workers}-{r}')
            if ref is None:
                ref = table
            pd.testing.assert_frame_equal(table, ref, check_exact=True)
            times.append(secs)
        secs = float(np.median(times))
        walls[(backend, workers)] = secs
        print(
            f'{backend} workers={workers}: {len(archs)} cells x 2 proxies in {secs:.2f} s, median of '
            f'{", ".join(f"{x:.2f}" for x in times)} ({secs / len(archs) * 1000:.0f} ms a cell)',
            flush=True,
        )

    timed('local', 1, LocalExecutor(1))
    t = time.perf_counter()
    with LocalExecutor(2, keep_workers=True) as pool:
        _noop_per_task(pool, 4)
        out['local_pool_start_s'] = time.perf_counter() - t
        timed('local', 2, pool)
        out['local_noop_s'] = _noop_per_task(pool, a.noop)
    t = time.perf_counter()
    ray = start_local_ray(num_cpus=2)
    out['ray_init_s'] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        _noop_per_task(RayExecutor(), 4)
        out['ray_workers_start_s'] = time.perf_counter() - t
        timed('ray', 1, RayExecutor(workers=1))
        timed('ray', 2, RayExecutor(workers=2))
        out['ray_noop_s'] = _noop_per_task(RayExecutor(), a.noop)
        out['ray_noop_serial_s'] = _noop_per_task(RayExecutor(workers=1), max(a.noop // 4, 10))
    finally:
        ray.shutdown()
    for backend in ('local', 'ray'):
        s = walls[(backend, 1)] / walls[(backend, 2)]
        out[f'{backend}_speedup'] = s
        print(
            f'{backend}: speedup={s:.2f} (1 worker {walls[(backend, 1)]:.2f} s, 2 workers {walls[(backend, 2)]:.2f} s)'
        )
    print(
        f'start-up (not in the times above): local pool of 2 workers {out["local_pool_start_s"]:.1f} s; '
        f'Ray instance {out["ray_init_s"]:.1f} s, its first 2 workers {out["ray_workers_start_s"]:.1f} s'
    )
    print(
        f'overhead per no-op task: ray {out["ray_noop_s"] * 1000:.2f} ms ({a.noop} tasks, all in flight), '
        f'{out["ray_noop_serial_s"] * 1000:.2f} ms (one at a time); local pool of 2 '
        f'{out["local_noop_s"] * 1000:.2f} ms (two in flight)'
    )
    load1 = os.getloadavg()
    print(f'load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}')
    print(
        f'speedup_local={out["local_speedup"]:.3f} speedup_ray={out["ray_speedup"]:.3f} '
        f'ray_overhead_ms={out["ray_noop_s"] * 1000:.3f}'
    )
    return out


if __name__ == '__main__':
    main()
