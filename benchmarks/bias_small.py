"""Weight-sharing bias on the ``small`` profile: our SPOS supernets trained on a CIFAR-10
subset and ranked against each space's real ground truth (NB201 table, the NAS-Bench-101 500-row
subset, the NAS-Bench-301 725-genotype sample), beside the paper-scale published NB201 supernets;
the "where weight sharing works" summary across spaces, plus tau over training and BN handling.
Supernets and scores are cached (a rerun loads them; a killed run resumes from the last epoch).

    OMP_NUM_THREADS=1 python benchmarks/bias_small.py --spaces nb201 darts --out bias_small.csv
    python benchmarks/bias_small.py --spaces nb101 --epochs 10 --n-eval 150
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from nasviz.analysis.bias import analyse, bn_handling, ranking_over_training, summary_table
from nasviz.experiment import bias_inputs


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--spaces', nargs='+', default=['nb201', 'nb101', 'darts'])
    ap.add_argument('--epochs', type=int, help="supernet epochs (default: the small profile's)")
    ap.add_argument('--n-eval', type=int, help="cells ranked per space (default: the small profile's)")
    ap.add_argument('--track-every', type=int, help='epochs between the checkpoints scored during training')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no-published', action='store_true', help='leave out the published NB201 supernets')
    ap.add_argument('--out', help='write the summary table (CSV) here')
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    inputs, unavailable = bias_inputs(
        'small',
        spaces=a.spaces,
        seed=a.seed,
        published=not a.no_published,
        epochs=a.epochs,
        n_eval=a.n_eval,
        track_every=a.track_every,
    )
    for k, why in unavailable.items():
        print(f'{k}: unavailable ({why})')
    results = []
    for k, d in inputs.items():
        results.append(analyse(k, d['archs'], d['scores'], d['truth'], d['params'], space=d['space']))
        if not k.startswith('published/'):  # the trivial baseline on the same cells: parameter count
            results.append(
                analyse(k.split('/')[0] + '/params', d['archs'], d['params'], d['truth'], None, space=d['space'])
            )
    pd.set_option('display.width', 250)
    pd.set_option('display.max_columns', 30)
    summ = summary_table(results)
    print(summ.round(3).to_string())
    for k, d in inputs.items():
        if 'history' in d and d['history'] is not None:
            over = ranking_over_training(d['history'], d['truth'])
            print(f'\n{k}: ranking over training ({d["truth_name"]})')
            print(over.round(3).to_string(index=False))
        if 'bn_scores' in d:
            print(f'\n{k}: BN handling')
            print(bn_handling(d['bn_scores'], d['truth']).round(3).to_string())
    print(f'\n{time.perf_counter() - t0:.0f} s in all')
    if a.out:
        summ.to_csv(a.out)
    return summ


if __name__ == '__main__':
    main()
