"""Cost of one search step: ISTA-NAS's sparse network against DARTS' mixture and a SPOS path.

Each kind runs in a fresh subprocess (one torch thread) on the same batches and network size:

* ``ista``: one ISTA-NAS step = a ``b`` step on a held-out batch (FISTA solve, sparse forward,
  backward to ``b`` through the LASSO Jacobian) + a weight step on a training batch on the
  support (the seeded initial code's cell);
* ``ista-conv``: the same on the dearest support there is (NB201: every edge ``nor_conv_3x3``;
  DARTS: ``sep_conv_5x5`` on both cell inputs of every node);
* ``darts``: one first-order DARTS step = an ``alpha`` step + a weight step, both on the full
  softmax mixture;
* ``spos``: one SPOS weight step on a uniformly sampled path (no architecture step).

Reported per kind: median and fastest seconds of a full search step (over ``--steps`` after
``--warmup``; ratios use the fastest, the least disturbed on a shared machine),
the activation memory autograd saves for the backward of one weight step (allocator-independent,
summed tensor storage), and the peak resident memory the steps add over the memory held before
the first one (VmHWM after a ``clear_refs`` reset; includes optimizer state and allocator slack).
Then ratios against DARTS, side by side.

    python benchmarks/search_step.py                 # tiny size: C=8, N=1, 16x16 digits, batch 64
    python benchmarks/search_step.py --size small    # C=8, N=2, 32x32x3, batch 128
    python benchmarks/search_step.py --space darts   # the DARTS cell space (tiny: C=8, 3 cells)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from nasviz.search.cost import SIZES, measure_step  # noqa: E402
from nasviz.search.cost import STEP_KINDS as KINDS
from nasviz.search.groups import search_spaces  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--size', default='tiny', choices=sorted(SIZES))
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--kinds', nargs='+', default=list(KINDS), choices=KINDS)
    p.add_argument('--space', default='nb201', choices=search_spaces())
    p.add_argument('--worker', choices=KINDS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.steps < 1 or a.warmup < 0:
        p.error('--steps must be >= 1 and --warmup >= 0')
    if a.worker:
        print(json.dumps(measure_step(a.worker, a.size, a.steps, a.warmup, a.seed, track_rss=True, space=a.space)))
        return 0
    env = dict(os.environ, OMP_NUM_THREADS='1')
    rows = []
    for kind in a.kinds:
        cmd = [
            sys.executable,
            __file__,
            '--worker',
            kind,
            '--size',
            a.size,
            '--steps',
            str(a.steps),
            '--warmup',
            str(a.warmup),
            '--seed',
            str(a.seed),
            '--space',
            a.space,
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(res.stderr, file=sys.stderr)
            return res.returncode
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    z = dict(SIZES[a.size], C=rows[0]['C'], N=rows[0]['N'])
    print(
        f'one search step, {a.space} space, size {a.size} (C={z["C"]}, N={z["N"]}, '
        f'{z["image"]}x{z["image"]}x{z["in_channels"]}, '
        f'batch {z["batch"]}), 1 thread, median of {a.steps} steps after {a.warmup} warm-up'
    )
    ref = next((r for r in rows if r['kind'] == 'darts'), None)
    head = f'{"kind":10s} {"median s":>9s} {"min s":>8s} {"saved MiB":>10s} {"peak RSS +MiB":>14s}'
    if ref:
        head += f' {"time/DARTS":>11s} {"saved/DARTS":>12s} {"RSS/DARTS":>10s}'
    print(head)
    for r in rows:
        line = (
            f'{r["kind"]:10s} {r["step_s"]:9.4f} {r["step_min_s"]:8.4f} {r["saved_mib"]:10.2f} '
            f'{r["peak_rss_delta_mib"] or float("nan"):14.1f}'
        )
        if ref:
            rss = (
                r['peak_rss_delta_mib'] / ref['peak_rss_delta_mib']
                if r['peak_rss_delta_mib'] and ref['peak_rss_delta_mib']
                else float('nan')
            )
            line += (
                f' {r["step_min_s"] / ref["step_min_s"]:11.3f} {r["saved_mib"] / ref["saved_mib"]:12.3f} {rss:10.3f}'
            )
        print(line)
    for r in rows:
        if 'support' in r:
            print(f'{r["kind"]} support: {r["support"]}')
    for r in rows:
        if ref and r['kind'] != 'darts':
            print(
                f'{r["kind"]}_vs_darts: time_ratio={r["step_min_s"] / ref["step_min_s"]:.3f} '
                f'memory_ratio={r["saved_mib"] / ref["saved_mib"]:.3f}'
            )
    return 0


if __name__ == '__main__':
    sys.exit(main())
