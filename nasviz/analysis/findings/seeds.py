"""Sentences on results over seeds: mean ± SE (said as such), paired differences over seeds, and
whether one run lies within a method's seed spread.

Pure computation: no plotting imports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from nasviz.analysis.findings.comparisons import detectable_from_interval
from nasviz.analysis.findings.wording import check_name, detectable_text, format_ci, format_number, metric_label
from nasviz.analysis.seeds import SeedSummary

__all__ = ['describe_run_vs_seeds', 'describe_seed_comparison']


def describe_run_vs_seeds(
    run_name: str, run: Any, seeds_name: str, summary: Any, level: float = 0.95, digits: int = 3
) -> str:
    """Is one training run's result (``run``, an Estimate) consistent with a method's results over
    seeds (``summary``, a :class:`~nasviz.analysis.seeds.SeedSummary`)? The sentence quotes both
    and the ``level`` prediction interval for one more seed, ``mean ± t * std * sqrt(1 + 1/n)``:
    *within the seed spread* when the run lies inside it, *outside* otherwise (no claim with one
    seed)."""
    one = f'{run.estimate:.{digits}f} [{level * 100:g}% CI {run.low:.{digits}f}, {run.high:.{digits}f}]'
    many = (
        f'{summary.mean:.{digits}f} ± {summary.se:.{digits}f} (mean ± SE over {summary.n} seeds, '
        f'std {summary.std:.{digits}f})'
    )
    head = f'{run_name} reaches Kendall tau {one}; {seeds_name} {many}'
    if summary.n < 2 or not np.isfinite(summary.std):
        return head + '; with one seed there is no seed spread to compare with.'
    half = float(stats.t.ppf((1 + level) / 2, summary.n - 1)) * summary.std * np.sqrt(1 + 1 / summary.n)
    lo, hi = summary.mean - half, summary.mean + half
    inside = lo <= run.estimate <= hi
    verdict = 'within the seed spread' if inside else 'outside the seed spread'
    return (
        f'{head}. The difference, {run.estimate - summary.mean:+.{digits}f}, is {verdict}: '
        f'the {level * 100:g}% prediction interval for one more seed is [{lo:.{digits}f}, {hi:.{digits}f}].'
    )


def describe_seed_comparison(
    name: str,
    summary: SeedSummary,
    reference: str | None = None,
    diff: SeedSummary | None = None,
    metric: str = 'kendall_tau',
    digits: int = 3,
) -> str:
    """A result over seeds as mean ± SE (said explicitly), e.g. *"Over 3 seeds, few-shot reaches
    Kendall tau 0.176 ± 0.020 (mean ± SE; std 0.034)"*; with ``reference`` and ``diff`` (from
    :func:`~nasviz.analysis.seeds.paired_seed_difference`), the paired difference as well,
    *within noise* when its t-CI covers zero."""
    name = check_name(name, 'name')
    if not isinstance(summary, SeedSummary):
        raise ValueError(f'summary must be a SeedSummary, got {type(summary).__name__}')
    if (reference is None) != (diff is None):
        raise ValueError('reference and diff go together: give both or neither')
    if diff is not None and not isinstance(diff, SeedSummary):
        raise ValueError(f'diff must be a SeedSummary, got {type(diff).__name__}')
    label = metric_label(metric)
    if summary.n < 2:
        head = (
            f'With one seed, {name} reaches {label} {format_number(summary.mean, digits)} '
            '(no SE: one seed cannot show how much seeds vary)'
        )
    else:
        head = (
            f'Over {summary.n} seeds, {name} reaches {label} {format_number(summary.mean, digits)} ± '
            f'{format_number(summary.se, digits)} (mean ± SE; std {format_number(summary.std, digits)})'
        )
    if diff is None:
        return head + '.'
    reference = check_name(reference, 'reference')
    d = (
        f'{format_number(diff.mean, digits)} ± {format_number(diff.se, digits)} '
        '(mean ± SE of the per-seed paired differences, '
        f'{format_ci(diff.ci, digits)})'
    )
    if diff.n < 2 or not diff.ci.has_interval:
        verdict = (
            f'; the difference from {reference} is {format_number(diff.mean, digits)} on one seed (no SE, no claim)'
        )
    elif diff.ci.covers(0.0):
        det = detectable_from_interval(diff.ci, df=diff.n - 1)
        verdict = f'; its difference from {reference}, {d}, is within noise ({detectable_text(det, digits)})'
    else:
        verdict = f'; it ranks {"better" if diff.ci.low > 0 else "worse"} than {reference} by {d}'
    return head + verdict + '.'
