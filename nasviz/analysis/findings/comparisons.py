"""Sentences on paired comparisons: *better*, *worse* or *level with* from a paired difference's
interval on the same cells (or seeds), with the smallest difference the design could detect.

Pure computation: no plotting imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from nasviz.analysis.findings.wording import check_name, detectable_text, format_ci, format_number, metric_label
from nasviz.analysis.uncertainty import Estimate, PairedDifference, level_label

__all__ = [
    'detectable_from_interval',
    'paired_estimate',
    'paired_parts',
    'paired_verdict',
    'describe_paired',
    'describe_difference',
    'describe_change_over_training',
]


def detectable_from_interval(diff: Estimate, power: float = 0.8, alpha: float = 0.05, df: int | None = None) -> float:
    """The smallest true difference a paired comparison with ``diff``'s interval would detect with
    ``power`` at two-sided level ``alpha``: ``(z_{1-alpha/2} + z_power) * SE``, the SE read from
    the interval's width (``half-width / z_{(1+level)/2}``; Student t with ``df`` degrees of
    freedom for an interval over seeds). NaN without an interval. (The audit engine's
    ``detectable_difference`` is the same rule from a bootstrap SE.)"""
    if not diff.has_interval:
        return float('nan')
    q = (lambda p: float(stats.t.ppf(p, df))) if df else (lambda p: float(stats.norm.ppf(p)))
    se = (diff.high - diff.low) / 2 / q((1 + diff.level) / 2)
    return (q(1 - alpha / 2) + q(power)) * se


def paired_estimate(diff: Any) -> Estimate:
    """The paired difference of a PairedDifference, an Estimate or a comparison (the audit engine's
    ``Comparison`` or its dict) as an Estimate, for a metrics file."""
    return paired_parts(diff)[0]


def paired_parts(diff: Any) -> tuple[Estimate, float | None, float | None]:
    """(difference, p, detectable) of a PairedDifference, an Estimate or a mapping
    ``{"diff", "low", "high", "n", "p", "detectable"}`` (the audit engine's comparison row)."""
    if isinstance(diff, PairedDifference):
        return diff.diff, diff.p_value, None
    if isinstance(diff, Estimate):
        return diff, None, None
    if isinstance(diff, Mapping):
        # an undefined statistic (a constant score, a cell count too small) is stored as None: no claim
        def num(v: Any) -> float:
            return float('nan') if v is None else float(v)

        est = Estimate(
            num(diff.get('diff', diff.get('estimate'))),
            num(diff.get('low')),
            num(diff.get('high')),
            int(diff.get('n', 0) or 0),
            float(diff.get('level', 0.95) or 0.95),
        )
        p = diff.get('p')
        det = diff.get('detectable')
        return (
            est,
            None if p is None else float(p),
            None if det is None or not np.isfinite(float(det)) else float(det),
        )
    if hasattr(diff, 'to_dict') or hasattr(diff, '_asdict'):  # a dataclass / namedtuple comparison result
        d = diff._asdict() if hasattr(diff, '_asdict') else diff.to_dict()
        return paired_parts(d)
    raise ValueError(f'diff must be a PairedDifference, an Estimate or a comparison mapping, got {type(diff).__name__}')


def paired_verdict(diff: Any, digits: int, df: int | None = None) -> tuple[str, str]:
    """('better' | 'worse' | 'level with' | 'no claim', the paired difference in words)."""
    est, p, det = paired_parts(diff)
    if det is None:
        det = detectable_from_interval(est, df=df)
    tail = f'paired difference {format_ci(est, digits)}' + (f', p={p:.2g}' if p is not None and np.isfinite(p) else '')
    if not est.has_interval:
        return 'no claim', tail + ', no interval'
    if est.covers(0.0):
        return 'level with', f'{tail}, covers 0; {detectable_text(det, digits)}'
    return ('better' if est.low > 0 else 'worse'), tail


def describe_paired(
    name_a: str,
    name_b: str,
    diff: Any,
    metric: str = 'kendall_tau',
    what: str = 'cells',
    digits: int = 2,
    df: int | None = None,
) -> str:
    """One sentence on a paired comparison of ``a`` and ``b`` on the same cells (or seeds):
    *"A ranks better than B in Kendall tau (paired difference 0.12 [95% CI 0.05, 0.19] over 120
    cells, p=0.002)"*, or *"level with"* when the paired CI covers 0, with the smallest detectable
    difference. ``diff`` is a PairedDifference, an Estimate of ``a - b`` or the audit engine's
    comparison mapping (``diff, low, high, n, p, detectable``)."""
    name_a, name_b = check_name(name_a, 'name_a'), check_name(name_b, 'name_b')
    est, _, _ = paired_parts(diff)
    word, tail = paired_verdict(diff, digits, df)
    label = metric_label(metric)
    where = f'over {est.n} {what}' if est.n else f'on the same {what}'
    if word == 'no claim':
        return f'{name_a} against {name_b} in {label}: {tail} {where}, so no claim.'
    verb = 'ranks level with' if word == 'level with' else f'ranks {word} than'
    return f'{name_a} {verb} {name_b} in {label} ({tail}; {where}).'


def describe_difference(
    name_a: str,
    name_b: str,
    diff: PairedDifference | Estimate,
    metric: str | None = None,
    what: str = 'cells',
    digits: int = 2,
) -> str:
    """One sentence on ``a - b``: *"within noise"* when the difference's CI covers zero,
    otherwise *"A ranks better (worse) than B by x [CI]"*. ``diff`` is a
    :class:`~nasviz.analysis.uncertainty.PairedDifference` (its p-value is quoted) or an Estimate
    of the difference (``metric`` then names it; default Kendall tau)."""
    name_a, name_b = check_name(name_a, 'name_a'), check_name(name_b, 'name_b')
    if isinstance(diff, PairedDifference):
        est, p, metric = diff.diff, diff.p_value, metric or diff.metric
    elif isinstance(diff, Estimate):
        est, p = diff, None
    else:
        raise ValueError(f'diff must be a PairedDifference or an Estimate, got {type(diff).__name__}')
    label = metric_label(metric or 'kendall_tau')
    tail = f'paired over {est.n} {what}' + (f', p={p:.2g}' if p is not None and np.isfinite(p) else '')
    signed = f'{name_a} - {name_b} = {format_ci(est, digits)}'
    if not est.has_interval:
        return f'{name_a} vs {name_b} in {label}: {signed} ({tail}); no interval, so no claim.'
    if est.covers(0.0):
        det = detectable_from_interval(est)
        return (
            f'{name_a} vs {name_b} in {label} is within noise: {signed} ({tail}); the CI covers 0, '
            f'{detectable_text(det, digits)}.'
        )
    better = est.low > 0
    mag = (
        f'{format_number(abs(est.estimate), digits)} [{level_label(est.level)} CI '
        f'{format_number(min(abs(est.low), abs(est.high)), digits)}, '
        f'{format_number(max(abs(est.low), abs(est.high)), digits)}]'
    )
    return f'{name_a} ranks {"better" if better else "worse"} than {name_b} by {mag} in {label} ({tail}).'


def describe_change_over_training(
    name: str,
    diff: Any,
    first_epoch: int,
    last_epoch: int,
    metric: str = 'kendall_tau',
    what: str = 'cells',
    digits: int = 2,
) -> str:
    """The one sentence on whether a supernet's ranking changed over training: the paired
    difference of ``metric`` between its scores after ``last_epoch`` and after ``first_epoch``
    on the same cells (``diff``: a PairedDifference, an Estimate or a comparison mapping).
    *Improved* / *worsened* when its CI excludes 0, else *no detectable change* with the
    smallest difference the design could detect."""
    name = check_name(name, 'name')
    est, p, det = paired_parts(diff)
    if det is None:
        det = detectable_from_interval(est)
    label = metric_label(metric)
    pt = f', p={p:.2g}' if p is not None and np.isfinite(p) else ''
    head = (
        f'{name}: {label} after epoch {last_epoch} minus after epoch {first_epoch} = {format_ci(est, digits)} '
        f'(paired over the same {est.n} {what}{pt})'
    )
    if not est.has_interval:
        return head + '; no interval, so no claim.'
    if est.covers(0.0):
        return head + f': no detectable change over training (the CI covers 0; {detectable_text(det, digits)}).'
    return head + f': the ranking {"improved" if est.low > 0 else "worsened"} over training.'
