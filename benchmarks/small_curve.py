"""The ``small`` profile's SPOS curve against training-set size and epochs: one NB201
supernet per training-set size, trained on that many CIFAR-10 images (the profile's C, N, lr,
batch and 2,000 test images), its scores of the same seeded non-degenerate cells tracked every
``--track-every`` epochs and ranked against the NB201 table, beside parameter count on the same
cells. Prints one row per (training-set size, tracked epoch): Kendall tau with its 95% bootstrap
CI, the sample passes (images x epochs) behind it, the supernet's training accuracy, its training
time to that epoch and the wall time of the call. Supernets, their tracked scores and evaluations
are cached, so a rerun loads them and a killed run resumes from its last epoch; the profile's own
run (10,000 images, 30 epochs, ``--track-every 5``, as ``benchmarks/bias_small.py`` trains it) is
found in the cache.

    OMP_NUM_THREADS=1 python benchmarks/small_curve.py --n-train 5000 20000 --epochs 30 --track-every 15
    python benchmarks/small_curve.py --n-train 10000 --track-every 5 --out small_curve.csv
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from nasviz.analysis.bias import ranking_over_training  # noqa: E402
from nasviz.analysis.uncertainty import kendall_ci  # noqa: E402
from nasviz.experiment import eval_archs, load_bench, load_data, settings_for, spos_supernet  # noqa: E402
from nasviz.io import atomic_write_text  # noqa: E402


def curve_rows(
    n_train: int,
    epochs: int | None = None,
    track_every: int | None = None,
    n_eval: int | None = None,
    seed: int = 0,
    n_test: int = 2000,
    progress: bool = True,
    profile: str = 'small',
) -> pd.DataFrame:
    """Tau over training of one supernet trained on ``n_train`` images (rows as
    :func:`nasviz.analysis.bias.ranking_over_training`, plus ``n_train``, ``sample_passes``,
    ``params_tau`` with its CI, ``train_seconds`` to each tracked epoch and this call's ``run_seconds``)."""
    if not 100 <= n_test <= 10000:
        raise ValueError(f'n_test={n_test}: give 100 to 10,000 test images (CIFAR-10 has 10,000)')
    if not 1000 <= n_train <= 50000:
        raise ValueError(
            f'n_train={n_train}: give 1,000 to 50,000 training images (CIFAR-10 has 50,000; BN '
            'recalibration and the tracked interference batches draw from them)'
        )
    base = settings_for(profile)
    if base.dataset != 'cifar10':
        raise ValueError(
            f'profile {profile!r} trains on {base.dataset}: this curve is for a CIFAR-10 profile '
            '(small) ranked against the NB201 table'
        )
    s = settings_for(
        profile,
        data=dict(base.data, n_train=int(n_train), n_test=int(n_test)),
        epochs=epochs,
        track_every=track_every,
        n_eval=n_eval,
    )
    t0 = time.perf_counter()
    data = load_data(s)
    bench = load_bench(s)
    archs = eval_archs(s, bench, seed=0)  # the same cells for every training-set size
    truth = bench.accuracies(archs)
    _, hist = spos_supernet(s, data, seed=seed, score_archs=archs, progress=progress)
    over = ranking_over_training(hist, truth)
    params = kendall_ci(bench.params_many(archs), truth)
    over.insert(0, 'n_train', int(n_train))
    over.insert(2, 'sample_passes', over['epoch'] * int(n_train))
    over['params_tau'] = params.estimate
    over['params_low'] = params.low
    over['params_high'] = params.high
    # training time to each tracked epoch, as the run measured it (a cached run keeps its first times)
    cum = hist.set_index('epoch')['seconds'].cumsum()
    over['train_seconds'] = [float(cum.loc[e - 1]) for e in over['epoch']]
    over['run_seconds'] = time.perf_counter() - t0  # this call: training and scoring, or loading from the cache
    return over


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument(
        '--n-train',
        type=int,
        nargs='+',
        default=[5000, 20000],
        help='training-set sizes (CIFAR-10 images; the small profile uses 10,000)',
    )
    ap.add_argument('--epochs', type=int, help="supernet epochs (default: the profile's 30)")
    ap.add_argument('--track-every', type=int, default=15, help='epochs between the scored checkpoints')
    ap.add_argument('--n-eval', type=int, help="cells ranked (default: the profile's 200)")
    ap.add_argument(
        '--n-test',
        type=int,
        default=2000,
        help='test images the cells are scored on (default 2,000, as the small profile)',
    )
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--profile', default='small')
    ap.add_argument('--out', help='write the table (CSV) here')
    a = ap.parse_args(argv)
    if any(n <= 0 for n in a.n_train):
        ap.error('--n-train: sizes must be positive')
    torch.set_num_threads(1)
    parts = []
    for n in a.n_train:
        try:
            parts.append(
                curve_rows(
                    n,
                    epochs=a.epochs,
                    track_every=a.track_every,
                    n_eval=a.n_eval,
                    seed=a.seed,
                    n_test=a.n_test,
                    profile=a.profile,
                )
            )
        except ValueError as e:
            ap.error(str(e))
        table = pd.concat(parts, ignore_index=True)
        print(table.round(3).to_string(index=False), flush=True)
        if a.out:
            atomic_write_text(a.out, table.to_csv(index=False))
    return table


if __name__ == '__main__':
    main()
