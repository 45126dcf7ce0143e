"""ISTA-NAS against DARTS, SPOS + random search and random search at equal budget.

Every method gets the same data (search-train / held-out halves of the training split), the same
epochs and the same seeds; each found cell is judged by its true accuracy (tiny: the micro
benchmark, cells it lacks trained with its recipe; small: the NB201 table). Prints mean +- SE over
seeds per method, search time and the cost of one step, the trivial baselines (a random cell of
the space, the largest cell), and each method's paired difference to ISTA-NAS over seeds.
Runs are cached (a killed comparison resumes); the table is rewritten after every run.

    python benchmarks/search_compare.py --profile tiny --seeds 0 1 2 --out data/search_comparison_tiny.csv --extend-truth
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from nasviz.experiment import load_bench, settings_for  # noqa: E402
from nasviz.search import SEARCH_METHODS, run_search  # noqa: E402
from nasviz.search.base import extend_truth  # noqa: E402
from nasviz.search.compare import comparison_rows, summarize_comparison, space_baselines  # noqa: E402
from nasviz.utils import atomic_write_text  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--profile', default='tiny')
    p.add_argument('--methods', nargs='+', default=list(SEARCH_METHODS), choices=SEARCH_METHODS)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, help="search epochs (default: the profile's)")
    p.add_argument('--n-candidates', type=int, default=None)
    p.add_argument('--lam', type=float, default=None, help='ISTA-NAS lambda (default: SearchConfig\'s)')
    p.add_argument('--m', type=int, default=None, help='ISTA-NAS compressed dimension (default: SearchConfig\'s)')
    p.add_argument('--out', help='CSV of every run (method, seed, cell, true accuracy, costs)')
    p.add_argument('--extend-truth', action='store_true',
                   help='tiny: add found cells the micro benchmark lacks to data/microbench_search_cells.csv')
    a = p.parse_args(argv)
    if len(set(a.seeds)) < len(a.seeds):
        p.error('--seeds: a seed is repeated')
    torch.set_num_threads(1)
    s = settings_for(a.profile)
    bench = load_bench(s)
    results = []
    t0 = time.perf_counter()
    for seed in a.seeds:
        for method in a.methods:
            r = run_search(method, profile=a.profile, seed=seed, epochs=a.epochs, n_candidates=a.n_candidates,
                           bench=bench, progress=False, lam=a.lam if method == 'ista' else None,
                           m=a.m if method == 'ista' else None)
            results.append(r)
            print(f'[{time.perf_counter() - t0:6.0f} s] {method:8s} seed {seed}: {r.true_accuracy:6.2f}%  '
                  f'{r.arch}  ({r.truth_source}; search {r.search_seconds:.1f} s)', flush=True)
            if a.out:
                atomic_write_text(a.out, comparison_rows(results).to_csv(index=False))
    runs = comparison_rows(results)
    if a.extend_truth and a.profile == 'tiny':
        path = extend_truth(runs['arch'], bench)
        print(f'extension truth table: {path}')
    pd.set_option('display.width', 200)
    print(f'\nprofile {a.profile}, epochs {results[0].config.epochs}, seeds {a.seeds}; true accuracy (%) of the '
          f'found cell: mean +- SE over seeds (95% t interval); costs: median seconds of one step, '
          f'activation memory autograd saves for one weight step (MiB)')
    print(summarize_comparison(runs, reference='ista').round(3).to_string())
    print('\ntrivial baselines (the space\'s accuracy distribution):')
    print(space_baselines(bench, runs).round(3).to_string(index=False))
    return 0


if __name__ == '__main__':
    sys.exit(main())
