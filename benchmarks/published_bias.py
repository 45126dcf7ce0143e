"""Weight-sharing bias of the paper-scale published NB201 supernets (the bias analyses on all
15,625 cells): picking vs pruning, op bias, size bias, pruned-space search. Needs
$NASVIZ_NB201_TABLE and $NASVIZ_NB201_SUPERNETS (the Makefile sets both).

    .venv/bin/python benchmarks/published_bias.py
"""

import time

import numpy as np

from nasviz.analysis.bias import picking_vs_pruning, pruned_search_curve, size_bias
from nasviz.analysis.preference import choice_preference
from nasviz.analysis.uncertainty import kendall_ci
from nasviz.bench import NB201Table
from nasviz.bench.published import PublishedSupernets

t0 = time.time()
bench, pub = NB201Table(), PublishedSupernets.load()
archs = list(bench.archs())
truth = bench.accuracies(archs)
params = bench.params_many(archs) if hasattr(bench, 'params_many') else np.array([bench.params(a) for a in archs])
out = {}
for which in ('oneshot', 'fewshot'):
    s = pub.scores(archs, which)
    r = picking_vs_pruning(s, truth, n_resamples=200)
    tau = kendall_ci(s, truth, n_resamples=200)
    cb = choice_preference(archs, s, truth)
    ops = cb[cb.slot == '*'].set_index('choice')[['tau_score', 'tau_truth', 'bias']].round(3)
    sb = size_bias(s, truth, params, n_resamples=200)
    curve = pruned_search_curve(s, truth, prune=(0, 0.25, 0.5, 0.75, 0.9, 0.99), budget=10)
    print(f'== {which}: tau {tau}')
    print(' top precision', {k: str(v) for k, v in r['top_precision'].items()})
    print(' random top', r['random_top'])
    print(' bottom precision', {k: str(v) for k, v in r['bottom_precision'].items()})
    print(' tau in true top10%', r['tau_in_true_top'], ' regret', r['regret'], ' regret_top', r['regret_top'])
    print(' op bias\n', ops.to_string())
    print(' size bias', sb)
    print(curve.round(3).to_string())
# params as predictor baseline
r = picking_vs_pruning(params, truth, n_resamples=200)
print(
    '== params: top',
    {k: str(v) for k, v in r['top_precision'].items()},
    'bottom',
    {k: str(v) for k, v in r['bottom_precision'].items()},
    'regret',
    r['regret'],
)
print('seconds', time.time() - t0)
