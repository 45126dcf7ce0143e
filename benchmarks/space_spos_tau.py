"""A space's SPOS supernet against its micro benchmark, beside parameter count, paired on the
same cells.

Trains (or loads from the cache) the profile's single-path supernet of ``--space``, scores the
micro benchmark's cells with recalibrated BN (as ``nasviz evaluate`` does), and prints Kendall
tau of the supernet and of parameter count against the benchmark's accuracy, each with its 95%
bootstrap CI, the paired difference (supernet - params) with its paired-bootstrap CI and
p-value, and the ground truth's own split-half reliability (the ceiling).

    python benchmarks/space_spos_tau.py --space chain            # tiny profile, seed 0

Last line: ``spos_tau=<tau> [low, high] params_tau=<tau> [low, high] diff=<d> [low, high]``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from nasviz.analysis.uncertainty import metric_ci, paired_difference
from nasviz.experiment import eval_archs, evaluate_cached, load_bench, load_data, settings_for, trained_supernet


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--space', default='chain')
    p.add_argument('--profile', default='tiny')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--epochs', type=int, help="supernet epochs (default: the profile's)")
    p.add_argument('--n', type=int, help="cells ranked (default: the profile's n_eval)")
    p.add_argument('--resamples', type=int, default=2000)
    a = p.parse_args()
    s = settings_for(a.profile, space=a.space, epochs=a.epochs, n_eval=a.n)
    data, bench = load_data(s), load_bench(s)
    model, hist = trained_supernet(s, data, seed=a.seed)
    archs = eval_archs(s, bench, seed=a.seed)
    scores = evaluate_cached(model, archs, data, s)['score'].to_numpy()
    truth = bench.accuracies(archs)
    params = np.asarray(bench.params_many(archs), dtype=float)
    one = dict(n_resamples=a.resamples, random_state=a.seed)
    spos = metric_ci('kendall_tau', scores, truth, **one)
    par = metric_ci('kendall_tau', params, truth, **one)
    diff = paired_difference(scores, params, truth, **one)
    rel = bench.reliability() if len(bench.seeds) >= 4 else float('nan')
    print(
        f'space={s.space} profile={a.profile} supernet epochs={s.epochs} (final train loss '
        f'{hist.train_loss.iloc[-1]:.3f}), score={s.score}, n={len(archs)} cells of '
        f'{bench.path.name} (read from the shipped file: {len(bench)} cells x {len(bench.seeds)} seeds)'
    )
    print(f'ground truth split-half reliability (Spearman-Brown): {rel:.3f}')
    print(
        json.dumps(
            dict(spos=spos.to_dict(), params=par.to_dict(), paired_difference=diff.to_dict()), default=float, indent=1
        )
    )
    print(
        f'spos_tau={spos.estimate:.3f} [{spos.low:.3f}, {spos.high:.3f}] params_tau={par.estimate:.3f} '
        f'[{par.low:.3f}, {par.high:.3f}] diff={diff.diff.estimate:.3f} [{diff.diff.low:.3f}, {diff.diff.high:.3f}] '
        f'p={diff.p_value:.3g} n={len(archs)}'
    )


if __name__ == '__main__':
    main()
