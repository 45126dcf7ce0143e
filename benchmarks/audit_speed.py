"""Speed of ``nasviz.audit.audit`` on the whole NAS-Bench-201 space, against the naive floor.

Audits all 15,625 NB201 cells for 4 estimators (the published one-shot and few-shot supernets,
NB201's 12-epoch CIFAR-10 accuracy, and the 200-epoch CIFAR-100 accuracy as a transfer
predictor) with the baselines (parameter count, random), every metric, every paired comparison
and ``--n-resamples`` bootstrap resamples (default 2,000), and prints the seconds beside the
floor of a naive approach: one ``scipy.stats.kendalltau`` pass over the cells, timed here, times
the number of resampled statistics the audit computed. Both are measured in this run, on this
machine, side by side.

    python benchmarks/audit_speed.py [--n-resamples 2000] [--repeats 5]

Needs ``$NASVIZ_NB201_TABLE`` and ``$NASVIZ_NB201_SUPERNETS``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from scipy import stats

from nasviz.audit import audit
from nasviz.bench import NB201Table
from nasviz.bench.published import ENV_SUPERNETS


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--n-resamples', type=int, default=2000)
    p.add_argument('--repeats', type=int, default=5, help='timed scipy.stats.kendalltau passes (median)')
    p.add_argument('--n-jobs', type=int, default=2, help='threads scoring the resample blocks (2 cores: 2)')
    a = p.parse_args()
    table = NB201Table()
    pub = pd.read_csv(os.environ[ENV_SUPERNETS])
    frame = table.to_frame().set_index('arch_str')
    scores = pd.DataFrame(
        {
            'oneshot': pub.set_index('arch_str')['oneshot_supernet'],
            'fewshot': pub.set_index('arch_str')['fewshot_supernet'],
        }
    )
    scores['nb201_12ep'] = frame['cifar10_test_12ep'].reindex(scores.index)
    scores['cifar100_200ep'] = frame['cifar100_test_200ep'].reindex(scores.index)
    scores.index.name = 'arch'
    print(
        f'audit of {list(scores.columns)} on {len(scores)} NB201 cells, baselines params + random, '
        f'{a.n_resamples} resamples; OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}, '
        f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}'
    )
    t0, c0 = time.perf_counter(), time.process_time()
    res = audit(scores, table, n_resamples=a.n_resamples, baselines=('params', 'random'), n_jobs=a.n_jobs)
    audit_s, audit_cpu = time.perf_counter() - t0, time.process_time() - c0
    d = res.distributions
    n_stats = len(d.dist) * a.n_resamples
    truth = res.scores['truth'].to_numpy()
    pred = res.scores['oneshot'].to_numpy()
    times, cpu = [], []
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        stats.kendalltau(pred, truth)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    tau_s, tau_cpu = float(np.median(times)), float(np.median(cpu))
    floor = tau_s * n_stats
    kendall_only = tau_s * sum(1 for k in d.dist if k[1] == 'kendall_tau') * a.n_resamples
    print(
        f'audit: {audit_s:.1f} s for {len(d.dist)} statistics x {a.n_resamples} resamples '
        f'({n_stats:,} resampled statistics), {len(res.comparisons)} paired comparisons'
    )
    print(f'one scipy.stats.kendalltau pass over {res.n} cells: {tau_s * 1e3:.2f} ms (median of {a.repeats})')
    print(
        f'naive floor (that pass x {n_stats:,} resampled statistics): {floor:.0f} s; '
        f'ratio audit / floor = {audit_s / floor:.4f} ({floor / audit_s:.0f}x faster)'
    )
    print(
        f'Kendall tau alone, naively ({kendall_only / tau_s / a.n_resamples:.0f} vectors x {a.n_resamples}): '
        f'{kendall_only:.0f} s; ratio {audit_s / kendall_only:.3f}'
    )
    # on a shared machine the wall clock counts other processes' time too: the CPU seconds of
    # this process, divided by the threads used, is what two free cores would take at most
    print(
        f'CPU time of this process: audit {audit_cpu:.1f} s ({a.n_jobs} thread(s): '
        f'{audit_cpu / a.n_jobs:.1f} s per core), one kendalltau pass {tau_cpu * 1e3:.2f} ms; '
        f'CPU ratio audit / floor = {audit_cpu / (tau_cpu * n_stats):.4f}'
    )
    print(f'load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
    print(
        f'target: the whole audit <= 60 s on 2 cores: wall {"met" if audit_s <= 60 else "NOT met"}, '
        f'CPU per core {"met" if audit_cpu / a.n_jobs <= 60 else "NOT met"}'
    )


if __name__ == '__main__':
    main()
