"""How findings read: metric and ceiling labels, numbers with their intervals, argument checks.

Pure computation: no plotting imports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasviz.analysis.uncertainty import Estimate, level_label

__all__ = [
    'METRIC_LABELS',
    'CEILING_LABELS',
    'CEILING_NOTES',
    'metric_label',
    'check_estimate',
    'check_name',
    'format_number',
    'format_ci',
    'format_range',
    'detectable_text',
]

#: how metric column names read in a sentence
METRIC_LABELS = {'kendall_tau': 'Kendall tau', 'spearman': 'Spearman rho', 'regret': 'regret'}
#: how each ceiling of :func:`nasviz.analysis.baselines.ceiling_scores` reads in a sentence
CEILING_LABELS = {
    'reliability': "the ground truth's own split-half reliability",
    'reliability (Spearman-Brown)': "the ground truth's own reliability",
    'seed-to-seed': "the ground truth's own seed-to-seed agreement",
    'valid-as-predictor': "a separate training run's validation accuracy as predictor",
}


#: what a ceiling's number is, said beside it
CEILING_NOTES = {
    'reliability (Spearman-Brown)': 'split-half, Spearman-Brown-corrected to the seeds the truth averages',
}


def metric_label(metric: str) -> str:
    """``'kendall_tau'`` -> ``'Kendall tau'``, ``'topk_precision@10'`` -> ``'top-10 precision'``."""
    if metric.startswith('topk_precision@'):
        return f'top-{metric.split("@", 1)[1]} precision'
    return METRIC_LABELS.get(metric, metric)


def check_estimate(x: Any, name: str, optional: bool = True) -> None:
    if x is None and optional:
        return
    if not isinstance(x, Estimate):
        raise ValueError(f'{name} must be an Estimate{" or None" if optional else ""}, got {type(x).__name__}')


def check_name(x: Any, name: str) -> str:
    if not isinstance(x, str) or not x.strip():
        raise ValueError(f'{name} must be a non-empty string, got {x!r}')
    return x.strip()


def format_number(x: float, digits: int) -> str:
    return 'n/a' if not np.isfinite(x) else f'{x:.{digits}f}'


def format_ci(e: Estimate, digits: int) -> str:
    """``0.13 [95% CI -0.01, 0.25]`` (or ``0.13 (no CI)``)."""
    if not e.has_interval:
        return f'{format_number(e.estimate, digits)} (no CI)'
    return (
        f'{format_number(e.estimate, digits)} [{level_label(e.level)} CI {format_number(e.low, digits)}, '
        f'{format_number(e.high, digits)}]'
    )


def format_range(e: Estimate, digits: int) -> str:
    """``0.00, 95% range -0.06 to 0.06``: a null distribution's mean and central range."""
    if not e.has_interval:
        return format_number(e.estimate, digits)
    return (
        f'{format_number(e.estimate, digits)}, {level_label(e.level)} range {format_number(e.low, digits)} to '
        f'{format_number(e.high, digits)}'
    )


def detectable_text(d: float, digits: int) -> str:
    return f'smallest detectable difference {format_number(d, digits)} (80% power, 5% two-sided)'
