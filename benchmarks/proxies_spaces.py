"""Training-free proxies on the NAS-Bench-101 and DARTS (NAS-Bench-301) benchmark subsets: Kendall
tau and Spearman (95% bootstrap CIs, n) of each proxy with the table's CIFAR-10 validation
accuracy, beside parameter count on the same cells (paired difference), at the benchmark's
network size (NB101: 128-channel stem, 3 stacks of 3 cells; DARTS: the NAS-Bench-301 training
network), on CIFAR-10 probe images, seed 0. Cells: the table's architectures in a seeded random
order (numpy ``default_rng(seed)`` permutation), the first ``--cells``. Values are cached per cell
(``ProxySweep``): an interrupted run resumes, and a larger ``--cells`` extends the same order.

    OMP_NUM_THREADS=1 python benchmarks/proxies_spaces.py --space nb101 --cells 292
    OMP_NUM_THREADS=1 python benchmarks/proxies_spaces.py --space darts --cells 200 --out darts.csv
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from nasviz.analysis.uncertainty import kendall_ci, paired_difference, spearman_ci
from nasviz.bench import load_benchmark
from nasviz.proxies import ProxySweep, SweepConfig

#: published parameter-count Kendall tau with validation accuracy on these subsets
PUBLISHED_PARAMS_TAU = {'nb101': 0.52, 'darts': 0.37}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--space', choices=sorted(PUBLISHED_PARAMS_TAU), required=True)
    ap.add_argument('--cells', type=int, default=100, help='cells of the seeded order swept')
    ap.add_argument('--proxies', nargs='+', default=['params', 'synflow', 'naswot'])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--workers', type=int, default=1)
    ap.add_argument('--out', help='write the per-cell table (arch_str, proxies, val_accuracy) here')
    a = ap.parse_args(argv)
    bench = load_benchmark(a.space)
    archs = list(bench.archs())
    if not 3 <= a.cells <= len(archs):
        raise SystemExit(f"--cells must be between 3 and {len(archs)} (the table's architectures)")
    order = np.random.default_rng(a.seed).permutation(len(archs))[: a.cells]
    chosen = [archs[i] for i in order]
    sweep = ProxySweep(a.proxies, SweepConfig(space=a.space, seed=a.seed), workers=a.workers)
    t0 = time.perf_counter()
    table = sweep.run(chosen)
    wall = time.perf_counter() - t0
    table['val_accuracy'] = bench.accuracies(chosen)
    params = bench.params_many(chosen)
    truth = table['val_accuracy'].to_numpy(float)
    print(
        f'{a.space}: {a.cells} cells of {len(archs)}, proxies {a.proxies}; '
        f'{sweep.computed_} values computed in {wall:.0f} s '
        f'({sweep.computed_ and wall / max(1, sweep.computed_):.2f} s a value), '
        f'the rest cached'
    )
    rows = []
    for p in a.proxies:
        v = table[p].to_numpy(float)
        ok = np.isfinite(v) & np.isfinite(truth)
        tau = kendall_ci(v[ok], truth[ok], n_resamples=1000, random_state=0)
        rho = spearman_ci(v[ok], truth[ok], n_resamples=1000, random_state=0)
        row = dict(
            proxy=p,
            n=int(ok.sum()),
            tau=tau.estimate,
            tau_low=tau.low,
            tau_high=tau.high,
            spearman=rho.estimate,
            spearman_low=rho.low,
            spearman_high=rho.high,
        )
        if p != 'params':
            d = paired_difference(
                v[ok], params[ok], truth[ok], metric='kendall_tau', n_resamples=1000, random_state=0
            ).diff
            row.update(tau_minus_params=d.estimate, low=d.low, high=d.high)
        rows.append(row)
    res = pd.DataFrame(rows)
    pd.set_option('display.width', 200)
    print(res.round(3).to_string(index=False))
    print(
        f'published parameter-count tau on the whole subset: {PUBLISHED_PARAMS_TAU[a.space]}; '
        f'a random ranking: 0 (95% of random rankings of {a.cells} cells within about '
        f'+-{1.96 * np.sqrt(2 * (2 * a.cells + 5) / (9 * a.cells * (a.cells - 1))):.2f})'
    )
    if a.out:
        table.to_csv(a.out, index=False, float_format='%.6g')
    return res


if __name__ == '__main__':
    main()
