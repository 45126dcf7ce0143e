"""Bootstrap Spearman engines side by side: one sort per resample against ranks from cumulative
counts over the tie groups found once (what ``spearman_ci`` and the audit use), on the same
resamples in one run.

    python benchmarks/spearman_bootstrap.py                 # 15,284 cells (NB201 minus degenerate), 200 resamples
    python benchmarks/spearman_bootstrap.py --n 1000 --resamples 100

Prints seconds per resample for each engine, their ratio, and the largest difference between
their values (the two compute the same statistic).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nasviz.analysis.uncertainty import _PairedStat, _spearman_rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--n', type=int, default=15284, help='cells')
    ap.add_argument('--resamples', type=int, default=200)
    ap.add_argument('--batch', type=int, default=50, help='resamples per call (as the bootstrap batches them)')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    truth = np.round(rng.normal(70, 10, a.n), 2)  # accuracies to 2 decimals: ties, as in the tables
    pred = np.round(truth + rng.normal(0, 10, a.n), 1)
    idx = rng.integers(0, a.n, size=(a.resamples, a.n))
    stat = _PairedStat('spearman', pred, truth)

    def timed(f) -> tuple[float, np.ndarray]:
        f(idx[: a.batch])  # warm-up
        t0 = time.perf_counter()
        out = np.concatenate([f(idx[s : s + a.batch]) for s in range(0, a.resamples, a.batch)])
        return (time.perf_counter() - t0) / a.resamples, out

    sort_s, sort_v = timed(lambda rows: _spearman_rows(pred[rows], truth[rows]))
    count_s, count_v = timed(stat)
    diff = float(np.max(np.abs(sort_v - count_v)))
    print(f'{a.n} cells, {a.resamples} resamples in batches of {a.batch}:')
    print(f'  one sort per resample:   {sort_s * 1e3:.2f} ms a resample')
    print(f'  cumulative tie counts:   {count_s * 1e3:.2f} ms a resample')
    print(
        f'  ratio counts / sort = {count_s / sort_s:.3f} ({sort_s / count_s:.1f}x faster); '
        f'largest difference {diff:.1e}'
    )
    return dict(sort_s=sort_s, count_s=count_s, ratio=count_s / sort_s, max_diff=diff)


if __name__ == '__main__':
    main()
