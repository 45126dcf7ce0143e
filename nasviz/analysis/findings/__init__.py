"""Findings written from the numbers: plain sentences that say what the statistics support.

Every sentence carries its numbers (estimate, interval, n) and follows fixed rules:

* a ranking is *better* / *worse than random scores* only when its estimate lies above / below
  the central range of random scores (the metric's null distribution,
  :func:`~nasviz.analysis.uncertainty.random_null`: a permutation test at that level) and its own
  CI excludes the random mean; otherwise *indistinguishable from random*; with no random
  baseline it is compared with zero (*within noise* when its CI covers zero);
* *better*, *worse* or *level with* another predictor (parameter count, another estimator) come
  only from a paired test on the same cells (or seeds): the paired difference's CI excludes zero
  (better / worse) or covers it (level with, printed with the smallest difference the design
  could detect); two overlapping intervals decide nothing, so without a paired difference no
  claim is made;
* against the ground truth's own reliability (the ceiling, measured on other truths than the
  ranking so it cannot be paired) a ranking is *below* it only when the two intervals are
  disjoint; otherwise no claim;
* a difference is *within noise* when its CI covers zero, and the sentence gives the smallest
  difference the design could detect (80% power, 5% two-sided, from the interval's width);
* a result over seeds is reported as mean ± SE, with the SE named as such.

Modules by concept: ``wording`` (labels, numbers with their intervals), ``comparisons`` (paired
differences), ``ranking``, ``seeds``, ``bias`` (weight-sharing biases), ``preference`` (choice
preference), ``audit`` (an estimator audit) and ``record`` (:class:`Findings` and the metrics file).

Pure computation: no plotting imports.
"""

from __future__ import annotations

from nasviz.analysis.findings.audit import BASELINE_NAMES, describe_audit
from nasviz.analysis.findings.bias import (
    describe_bn_handling,
    describe_picking_pruning,
    describe_pruned_search,
    describe_size_bias,
)
from nasviz.analysis.findings.comparisons import (
    describe_change_over_training,
    describe_difference,
    describe_paired,
    detectable_from_interval,
    paired_estimate,
)
from nasviz.analysis.findings.preference import describe_choice_preference
from nasviz.analysis.findings.ranking import describe_ranking
from nasviz.analysis.findings.record import THIS_RUN, Findings, metrics_payload, to_jsonable, write_metrics
from nasviz.analysis.findings.seeds import describe_run_vs_seeds, describe_seed_comparison
from nasviz.analysis.findings.wording import CEILING_LABELS, CEILING_NOTES, METRIC_LABELS, metric_label

__all__ = [
    'METRIC_LABELS',
    'CEILING_LABELS',
    'CEILING_NOTES',
    'metric_label',
    'describe_ranking',
    'describe_difference',
    'describe_paired',
    'describe_change_over_training',
    'paired_estimate',
    'detectable_from_interval',
    'describe_seed_comparison',
    'describe_run_vs_seeds',
    'describe_choice_preference',
    'describe_picking_pruning',
    'describe_size_bias',
    'describe_bn_handling',
    'describe_pruned_search',
    'describe_audit',
    'BASELINE_NAMES',
    'Findings',
    'to_jsonable',
    'metrics_payload',
    'write_metrics',
    'THIS_RUN',
]
