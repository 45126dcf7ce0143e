"""The sentence on how well a ranking ranks: against random scores (their null range), the
parameter count (a paired difference only) and the ground truth's own ceiling (disjoint intervals only).

Pure computation: no plotting imports.
"""

from __future__ import annotations

from typing import Any

from nasviz.analysis.findings.comparisons import paired_verdict
from nasviz.analysis.findings.wording import (
    CEILING_LABELS,
    CEILING_NOTES,
    check_estimate,
    check_name,
    format_ci,
    format_range,
    metric_label,
)
from nasviz.analysis.uncertainty import Estimate

__all__ = ['describe_ranking', 'against_ceiling']


def _vs_random(est: Estimate, random: Estimate | None, digits: int) -> str:
    if random is None:
        if not est.has_interval:
            return 'no interval, so no claim against zero'
        if est.covers(0.0):
            return 'within noise of zero (the CI covers 0)'
        return 'above zero' if est.low > 0 else 'below zero'
    ref = f'random scores ({format_range(random, digits)})'
    # the random range is the null distribution of the metric: an estimate outside it is a
    # significant departure at that level (a permutation test); the claim also needs the
    # estimate's own CI to exclude the random mean, so one lucky draw of cells is not enough
    if not est.has_interval or not random.has_interval:
        return f'no interval, so no claim against {ref}'
    if est.estimate < random.low and est.high < random.estimate:
        return f'worse than {ref}'
    if est.estimate > random.high and est.low > random.estimate:
        return f'better than {ref}'
    return f'indistinguishable from {ref}'


def _vs_params(params: Estimate | None, params_diff: Any, digits: int) -> str:
    ref = 'the parameter-count baseline'
    own = f'{format_ci(params, digits)}; ' if params is not None else ''
    if params_diff is None:
        return (
            f'not tested against {ref}'
            + (f' ({format_ci(params, digits)})' if params is not None else '')
            + ' (no paired difference given, so no claim)'
        )
    word, tail = paired_verdict(params_diff, digits)
    if word == 'no claim':
        return f'no claim against {ref} ({own}{tail})'
    return f'{"level with" if word == "level with" else word + " than"} {ref} ({own}{tail})'


def against_ceiling(est: Estimate, base: Estimate, label: str, digits: int, note: str | None = None) -> str:
    inner = format_ci(base, digits) + (f'; {note}' if note else '')
    if est.below(base):
        # 'far below' only when the estimate is under half of a positive ceiling
        far = base.estimate > 0 and est.estimate < base.estimate / 2
        return f'{"far " if far else ""}below {label} ({inner}; the intervals disjoint)'
    if est.above(base):
        return f'above {label} ({inner}; the intervals disjoint)'
    if not (est.has_interval and base.has_interval):
        return f'not comparable with {label} ({inner}; an interval is missing)'
    return (
        f'not separable from {label} ({inner}): the intervals overlap, and the ceiling rests on other '
        'truths, so no paired test and no claim'
    )


def describe_ranking(
    name: str,
    est: Estimate,
    random: Estimate | None = None,
    ceiling: Estimate | None = None,
    params: Estimate | None = None,
    what: str = 'cells',
    metric: str = 'kendall_tau',
    ceiling_name: str = 'reliability',
    digits: int = 2,
    params_diff: Any = None,
) -> str:
    """One sentence on how well ``name`` ranks, e.g. *"SPOS ranks 120 cells at Kendall tau -0.13
    [95% CI -0.25, -0.01]: worse than random scores (0.00, 95% range -0.06 to 0.06), worse than
    the parameter-count baseline (...; paired difference -0.20 [...]) and far below the ground
    truth's own reliability (0.63 [...], the intervals disjoint)."*

    ``random`` is :func:`~nasviz.analysis.uncertainty.random_null` (a range, not a CI), ``params``
    and ``ceiling`` bootstrap estimates; ``params_diff`` the paired difference ``name - params``
    on the same cells (a PairedDifference, an Estimate or the audit engine's comparison mapping):
    only it decides *better*, *worse* or *level with* the parameter count. ``ceiling_name`` a key
    of :data:`CEILING_LABELS` (or any phrase).
    """
    name = check_name(name, 'name')
    check_estimate(est, 'est', optional=False)
    for arg, val in (('random', random), ('ceiling', ceiling), ('params', params)):
        check_estimate(val, arg)
    clauses = [_vs_random(est, random, digits)]
    if params is not None or params_diff is not None:
        clauses.append(_vs_params(params, params_diff, digits))
    if ceiling is not None:
        label = CEILING_LABELS.get(ceiling_name, ceiling_name)
        clauses.append(against_ceiling(est, ceiling, label, digits, CEILING_NOTES.get(ceiling_name)))
    body = clauses[0] if len(clauses) == 1 else '; '.join(clauses[:-1]) + '; and ' + clauses[-1]
    return f'{name} ranks {est.n} {what} at {metric_label(metric)} {format_ci(est, digits)}: {body}.'
