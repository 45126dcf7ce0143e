"""Audit any performance estimator: bring per-architecture scores, get every ranking metric with
its interval and ``n``, paired comparisons against the trivial baselines and each other, and the
ground truth's own ceiling -- one statistics engine for every ranking statement.

>>> from nasviz.audit import audit, read_scores
>>> res = audit('supernet_scores.csv', 'nb201', space='nb201')
>>> res.summary(); res.comparisons; res.to_json('audit.json')
"""

from nasviz.audit.ceiling import Ceiling, spearman_brown, tau_spearman_brown
from nasviz.audit.compare import (
    VERDICTS,
    Comparison,
    changed_over_training,
    compare,
    compare_seeds,
    verdict,
)
from nasviz.audit.core import DEFAULT_BASELINES, DEFAULT_KS, Audit, audit
from nasviz.audit.engine import detectable_difference
from nasviz.audit.readers import parse_arch, read_scores, to_naslib_nb201

__all__ = [
    'DEFAULT_BASELINES',
    'DEFAULT_KS',
    'VERDICTS',
    'Audit',
    'Ceiling',
    'Comparison',
    'audit',
    'changed_over_training',
    'compare',
    'compare_seeds',
    'detectable_difference',
    'parse_arch',
    'read_scores',
    'spearman_brown',
    'tau_spearman_brown',
    'to_naslib_nb201',
    'verdict',
]
