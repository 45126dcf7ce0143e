"""ISTA-NAS against DARTS, SPOS + random search and random search at equal budget.

Every method gets the same data (search-train / held-out halves of the training split), the same
epochs and the same seeds; each found cell is judged by its true accuracy (tiny: the micro
benchmark, cells it lacks trained with its recipe; small: the space's table). Prints mean +- SE
over seeds per method, search time and the cost of one step, the trivial baselines (a random cell
of the space with the central 95% of its accuracies, the largest cell, the best cell), each
method's paired difference to ISTA-NAS over seeds (95% t interval) and where each found cell falls
in the space's distribution. Runs are cached (a killed comparison resumes: searches that finished
load from the cache, ISTA-NAS / DARTS / the SPOS supernet resume from their last epoch); the table
is rewritten after every run.

    python benchmarks/search_compare.py --profile tiny --seeds 0 1 2 --out data/search_comparison_tiny.csv \\
        --extend-truth
    python benchmarks/search_compare.py --space darts --profile tiny --seeds 0 1 2 --extend-truth
    python benchmarks/search_compare.py --methods ista --one-stage --seeds 0 1 2 \\
        --out data/search_comparison_tiny_one_stage.csv

``--space darts`` writes ``data/search_comparison_<profile>_darts.csv`` unless ``--out`` says otherwise
(``--out`` is optional for NB201, as before). ``--one-stage`` (with ``--methods ista`` only) runs the
one-stage variant and prints the trained network's own test accuracy beside its cell's true accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from nasviz.analysis.seeds import seed_summary  # noqa: E402
from nasviz.experiment import load_bench, settings_for  # noqa: E402
from nasviz.io import atomic_write_text  # noqa: E402
from nasviz.search import SEARCH_METHODS, run_search  # noqa: E402
from nasviz.search.base import extend_truth  # noqa: E402
from nasviz.search.compare import (  # noqa: E402
    comparison_path,
    comparison_rows,
    percentile_in_space,
    space_baselines,
    summarize_comparison,
)
from nasviz.search.groups import search_spaces  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument(
        '--space',
        default='nb201',
        choices=search_spaces(),
        help='search space (default nb201; darts writes data/search_comparison_<profile>_darts.csv '
        'unless --out is given)',
    )
    p.add_argument('--profile', default='tiny')
    p.add_argument('--methods', nargs='+', default=list(SEARCH_METHODS), choices=SEARCH_METHODS)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--epochs', type=int, help="search epochs (default: the profile's)")
    p.add_argument('--n-candidates', type=int, default=None)
    p.add_argument('--lam', type=float, default=None, help="ISTA-NAS lambda (default: SearchConfig's)")
    p.add_argument('--m', type=int, default=None, help="ISTA-NAS compressed dimension (default: SearchConfig's)")
    p.add_argument(
        '--one-stage',
        action='store_true',
        help='ISTA-NAS one-stage variant (needs --methods ista): after the search, the same weights '
        'train on the fixed support for --final-epochs more epochs',
    )
    p.add_argument('--final-epochs', type=int, default=None, help='with --one-stage (default: as many as --epochs)')
    p.add_argument('--out', help='CSV of every run (method, seed, cell, true accuracy, costs)')
    p.add_argument(
        '--extend-truth',
        action='store_true',
        help='tiny: add found cells the micro benchmark lacks to data/microbench_search_cells.csv '
        '(darts: data/microbench_search_cells_darts.csv)',
    )
    a = p.parse_args(argv)
    if len(set(a.seeds)) < len(a.seeds):
        p.error('--seeds: a seed is repeated')
    if a.one_stage and a.methods != ['ista']:
        p.error('--one-stage is an ISTA-NAS option: give --methods ista')
    if a.final_epochs is not None and not a.one_stage:
        p.error('--final-epochs needs --one-stage')
    if a.out is None and a.space != 'nb201' and not a.one_stage:
        a.out = str(comparison_path(a.profile, a.space))
    torch.set_num_threads(1)
    s = settings_for(a.profile, space=a.space)
    bench = load_bench(s)
    results = []
    t0 = time.perf_counter()
    for seed in a.seeds:
        for method in a.methods:
            r = run_search(
                method,
                space=a.space,
                profile=a.profile,
                seed=seed,
                epochs=a.epochs,
                n_candidates=a.n_candidates,
                bench=bench,
                progress=False,
                lam=a.lam if method == 'ista' else None,
                m=a.m if method == 'ista' else None,
                one_stage=a.one_stage or None,
                final_epochs=a.final_epochs,
            )
            results.append(r)
            print(
                f'[{time.perf_counter() - t0:6.0f} s] {method:8s} seed {seed}: {r.true_accuracy:6.2f}%  '
                f'{r.arch}  ({r.truth_source}; search {r.search_seconds:.1f} s)'
                + (f'; one-stage network {r.network_accuracy:.2f}%' if a.one_stage else ''),
                flush=True,
            )
            if a.out:
                atomic_write_text(a.out, comparison_rows(results).to_csv(index=False))
    runs = comparison_rows(results)
    if a.extend_truth and a.profile == 'tiny':
        path = extend_truth(runs['arch'], bench)
        print(f'extension truth table: {path}')
    pd.set_option('display.width', 200)
    if a.out:
        print(f'runs: {a.out}')
    print(
        f'\nspace {a.space}, profile {a.profile}, epochs {results[0].config.epochs}, seeds {a.seeds}; '
        f'true accuracy (%) of the found cell: mean +- SE over seeds (95% t interval); '
        f'costs: median seconds of one step, activation memory autograd saves for one weight step (MiB)'
    )
    print(summarize_comparison(runs, reference='ista').round(3).to_string())
    print("\ntrivial baselines (the space's accuracy distribution):")
    print(space_baselines(bench, runs).round(3).to_string(index=False))
    if a.one_stage:
        d = seed_summary((runs['network_accuracy'] - runs['true_accuracy']).to_numpy())
        net = seed_summary(runs['network_accuracy'].to_numpy())
        print(
            f"\none-stage: the trained network's own test accuracy {net.mean:.2f} +- {net.se:.2f} (SE over "
            f"{net.n} seeds) after {int(runs['final_epochs'].iloc[0])} final epochs; minus the cell's true "
            f'accuracy, paired by seed: {d.mean:+.2f} (95% t interval {d.ci.low:+.2f} to {d.ci.high:+.2f}); '
            f'final training {runs["final_seconds"].mean():.0f} s on average'
        )
    pct = runs.assign(percentile=percentile_in_space(runs['true_accuracy'], bench))
    print("\nwhere each found cell falls in the space (% of the benchmark's non-degenerate cells below it):")
    print(pct.pivot(index='seed', columns='method', values='percentile').round(1).to_string())
    return 0


if __name__ == '__main__':
    sys.exit(main())
