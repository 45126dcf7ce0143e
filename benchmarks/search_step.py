"""Cost of one search step: ISTA-NAS's sparse network against DARTS' mixture and a SPOS path.

Each kind runs in a fresh subprocess (one torch thread) on the same batches and network size:

* ``ista``: one ISTA-NAS step = a ``b`` step on a held-out batch (FISTA solve, sparse forward,
  backward to ``b`` through the LASSO Jacobian) + a weight step on a training batch on the
  support (the seeded initial code's cell);
* ``ista-conv``: the same with every edge on ``nor_conv_3x3`` (the dearest support there is);
* ``darts``: one first-order DARTS step = an ``alpha`` step + a weight step, both on the full
  softmax mixture;
* ``spos``: one SPOS weight step on a uniformly sampled path (no architecture step).

Reported per kind: median seconds of a full search step (over ``--steps`` after ``--warmup``),
the activation memory autograd saves for the backward of one weight step (allocator-independent,
summed tensor storage), and the peak resident memory the steps add over the memory held before
the first one (VmHWM after a ``clear_refs`` reset; includes optimizer state and allocator slack). Then ratios against DARTS, side by side.

    python benchmarks/search_step.py                 # tiny size: C=8, N=1, 16x16 digits, batch 64
    python benchmarks/search_step.py --size small    # C=8, N=2, 32x32x3, batch 128
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SIZES = {'tiny': dict(C=8, N=1, in_channels=1, image=16, batch=64),
         'small': dict(C=8, N=2, in_channels=3, image=32, batch=128),
         'paper': dict(C=16, N=5, in_channels=3, image=32, batch=256)}
KINDS = ('ista', 'ista-conv', 'darts', 'spos')


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def worker(kind: str, size: str, steps: int, warmup: int, seed: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    from nasviz.search.base import SearchConfig, arch_optimizer, weight_optimizer
    from nasviz.search.darts import Alpha, argmax_cell
    from nasviz.search.ista import SparseCode, block_support
    from nasviz.search.network import WeightedSupernet, count_saved_bytes
    from nasviz.spaces.nb201 import NUM_EDGES, OPS, Arch, OpMask

    torch.set_num_threads(1)
    z = SIZES[size]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n_batches = 8
    xs = torch.randn(n_batches, z['batch'], z['in_channels'], z['image'], z['image'], generator=g)
    ys = torch.randint(0, 10, (n_batches, z['batch']), generator=g)
    model = WeightedSupernet(z['C'], z['N'], 10, z['in_channels'])
    cfg = SearchConfig(method='ista' if kind.startswith('ista') else 'darts', C=z['C'], N=z['N'], seed=seed)
    opt_w, sched = weight_optimizer(model.parameters(), cfg, 10 ** 6)
    loss_fn = nn.CrossEntropyLoss()
    mask, rng = OpMask.full(), np.random.default_rng(seed)
    conv = Arch((OPS.index('nor_conv_3x3'),) * NUM_EDGES)
    if kind.startswith('ista'):
        arch_vars = SparseCode(NUM_EDGES, cfg.m, cfg.lam, seed=seed)
        select = (lambda w: conv) if kind == 'ista-conv' else block_support
        mode = 'sparse'
    elif kind == 'darts':
        arch_vars, select, mode = Alpha(seed), argmax_cell, 'mixture'
    else:
        arch_vars, select, mode = None, None, None
    opt_a = arch_optimizer(arch_vars.parameters(), cfg, 0.0) if arch_vars is not None else None

    def one_step(i: int, count: bool = False) -> int:
        x, y = xs[i % n_batches], ys[i % n_batches]
        xv, yv = xs[(i + 1) % n_batches], ys[(i + 1) % n_batches]
        saved = 0
        if kind == 'spos':
            arch = mask.sample(rng)
            opt_w.zero_grad(set_to_none=True)
            fwd = lambda: loss_fn(model(x, arch), y)  # noqa: E731
            loss, saved = count_saved_bytes(fwd) if count else (fwd(), 0)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt_w.step()
            return saved
        model.requires_grad_(False)
        opt_a.zero_grad(set_to_none=True)
        w = arch_vars()
        loss_v = loss_fn(model.forward_weighted(xv, w, mode, support=select(w.detach()) if mode == 'sparse' else None), yv)
        loss_v.backward()
        opt_a.step()
        model.requires_grad_(True)
        with torch.no_grad():
            w = arch_vars().detach()
        sup = select(w) if mode == 'sparse' else None
        opt_w.zero_grad(set_to_none=True)
        fwd = lambda: loss_fn(model.forward_weighted(x, w, mode, support=sup), y)  # noqa: E731
        loss, saved = count_saved_bytes(fwd) if count else (fwd(), 0)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt_w.step()
        return saved

    # resident memory before the first step (model, optimizers, batches); the peak over all steps
    # minus it is what the steps add (activations, gradients, optimizer state, allocator slack)
    rss0 = _status_kib('VmRSS')
    reset = _reset_peak()
    for i in range(warmup):
        one_step(i)
    saved = one_step(warmup, count=True)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        one_step(warmup + 1 + i)
        times.append(time.perf_counter() - t0)
    peak = _status_kib('VmHWM') if reset else None
    out = dict(kind=kind, size=size, step_s=float(np.median(times)), saved_mib=saved / 2 ** 20,
               peak_rss_delta_mib=None if peak is None else (peak - rss0) / 1024,
               params=int(sum(p.numel() for p in model.parameters())))
    if mode == 'sparse':
        out['support'] = str(select(arch_vars.weights() if kind == 'ista' else None))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--size', default='tiny', choices=sorted(SIZES))
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--kinds', nargs='+', default=list(KINDS), choices=KINDS)
    p.add_argument('--worker', choices=KINDS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.steps < 1 or a.warmup < 0:
        p.error('--steps must be >= 1 and --warmup >= 0')
    if a.worker:
        print(json.dumps(worker(a.worker, a.size, a.steps, a.warmup, a.seed)))
        return 0
    env = dict(os.environ, OMP_NUM_THREADS='1')
    rows = []
    for kind in a.kinds:
        cmd = [sys.executable, __file__, '--worker', kind, '--size', a.size, '--steps', str(a.steps),
               '--warmup', str(a.warmup), '--seed', str(a.seed)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            return res.returncode
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    z = SIZES[a.size]
    print(f'one search step, size {a.size} (C={z["C"]}, N={z["N"]}, {z["image"]}x{z["image"]}x{z["in_channels"]}, '
          f'batch {z["batch"]}), 1 thread, median of {a.steps} steps after {a.warmup} warm-up')
    ref = next((r for r in rows if r['kind'] == 'darts'), None)
    head = f'{"kind":10s} {"step s":>9s} {"saved MiB":>10s} {"peak RSS +MiB":>14s}'
    if ref:
        head += f' {"time/DARTS":>11s} {"saved/DARTS":>12s} {"RSS/DARTS":>10s}'
    print(head)
    for r in rows:
        line = f'{r["kind"]:10s} {r["step_s"]:9.4f} {r["saved_mib"]:10.2f} {r["peak_rss_delta_mib"] or float("nan"):14.1f}'
        if ref:
            rss = (r['peak_rss_delta_mib'] / ref['peak_rss_delta_mib']
                   if r['peak_rss_delta_mib'] and ref['peak_rss_delta_mib'] else float('nan'))
            line += f' {r["step_s"] / ref["step_s"]:11.3f} {r["saved_mib"] / ref["saved_mib"]:12.3f} {rss:10.3f}'
        print(line)
    for r in rows:
        if 'support' in r:
            print(f'{r["kind"]} support: {r["support"]}')
    for r in rows:
        if ref and r['kind'] != 'darts':
            print(f'{r["kind"]}_vs_darts: time_ratio={r["step_s"] / ref["step_s"]:.3f} '
                  f'memory_ratio={r["saved_mib"] / ref["saved_mib"]:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
