"""Findings written from the numbers: plain sentences that say what the statistics support.

Every sentence carries its numbers (estimate, interval, n) and follows fixed rules:

* a ranking is *better* / *worse than random scores* only when its estimate lies above / below
  the central range of random scores (the metric's null distribution,
  :func:`~nasviz.analysis.ranking.random_null`: a permutation test at that level) and its own
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

Pure computation: no plotting imports.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
from scipy import stats

from nasviz.analysis.ranking import Estimate, PairedDifference, SeedSummary, _json_float, _level_label

__all__ = ['describe_bn_handling', 'METRIC_LABELS', 'CEILING_LABELS', 'metric_label', 'describe_ranking', 'describe_difference',
           'describe_paired', 'describe_change_over_training', 'paired_estimate', 'detectable_from_interval', 'describe_seed_comparison',
           'Findings', 'to_jsonable', 'metrics_payload', 'write_metrics', 'THIS_RUN', 'describe_audit', 'BASELINE_NAMES']

#: how metric column names read in a sentence
METRIC_LABELS = {'kendall_tau': 'Kendall tau', 'spearman': 'Spearman rho', 'regret': 'regret'}
#: how each ceiling of :func:`nasviz.analysis.ranking.ceiling_scores` reads in a sentence
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


def _check_estimate(x: Any, name: str, optional: bool = True) -> None:
    if x is None and optional:
        return
    if not isinstance(x, Estimate):
        raise ValueError(f'{name} must be an Estimate{" or None" if optional else ""}, got {type(x).__name__}')


def _check_name(x: Any, name: str) -> str:
    if not isinstance(x, str) or not x.strip():
        raise ValueError(f'{name} must be a non-empty string, got {x!r}')
    return x.strip()


def _num(x: float, digits: int) -> str:
    return 'n/a' if not np.isfinite(x) else f'{x:.{digits}f}'


def _ci(e: Estimate, digits: int) -> str:
    """``0.13 [95% CI -0.01, 0.25]`` (or ``0.13 (no CI)``)."""
    if not e.has_interval:
        return f'{_num(e.estimate, digits)} (no CI)'
    return f'{_num(e.estimate, digits)} [{_level_label(e.level)} CI {_num(e.low, digits)}, {_num(e.high, digits)}]'


def _range(e: Estimate, digits: int) -> str:
    """``0.00, 95% range -0.06 to 0.06``: a null distribution's mean and central range."""
    if not e.has_interval:
        return _num(e.estimate, digits)
    return f'{_num(e.estimate, digits)}, {_level_label(e.level)} range {_num(e.low, digits)} to {_num(e.high, digits)}'


def _vs_random(est: Estimate, random: Estimate | None, digits: int) -> str:
    if random is None:
        if not est.has_interval:
            return 'no interval, so no claim against zero'
        if est.covers(0.0):
            return 'within noise of zero (the CI covers 0)'
        return 'above zero' if est.low > 0 else 'below zero'
    ref = f'random scores ({_range(random, digits)})'
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


def _detectable_text(d: float, digits: int) -> str:
    return f'smallest detectable difference {_num(d, digits)} (80% power, 5% two-sided)'


def paired_estimate(diff: Any) -> Estimate:
    """The paired difference of a PairedDifference, an Estimate or a comparison (the audit engine's
    ``Comparison`` or its dict) as an Estimate, for a metrics file."""
    return _paired_parts(diff)[0]


def _paired_parts(diff: Any) -> tuple[Estimate, float | None, float | None]:
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

        est = Estimate(num(diff.get('diff', diff.get('estimate'))), num(diff.get('low')), num(diff.get('high')),
                       int(diff.get('n', 0) or 0), float(diff.get('level', 0.95) or 0.95))
        p = diff.get('p')
        det = diff.get('detectable')
        return (est, None if p is None else float(p),
                None if det is None or not np.isfinite(float(det)) else float(det))
    if hasattr(diff, 'to_dict') or hasattr(diff, '_asdict'):  # a dataclass / namedtuple comparison result
        d = diff._asdict() if hasattr(diff, '_asdict') else diff.to_dict()
        return _paired_parts(d)
    raise ValueError(f'diff must be a PairedDifference, an Estimate or a comparison mapping, got {type(diff).__name__}')


def _verdict(diff: Any, digits: int, df: int | None = None) -> tuple[str, str]:
    """('better' | 'worse' | 'level with' | 'no claim', the paired difference in words)."""
    est, p, det = _paired_parts(diff)
    if det is None:
        det = detectable_from_interval(est, df=df)
    tail = f'paired difference {_ci(est, digits)}' + (f', p={p:.2g}' if p is not None and np.isfinite(p) else '')
    if not est.has_interval:
        return 'no claim', tail + ', no interval'
    if est.covers(0.0):
        return 'level with', f'{tail}, covers 0; {_detectable_text(det, digits)}'
    return ('better' if est.low > 0 else 'worse'), tail


def describe_paired(name_a: str, name_b: str, diff: Any, metric: str = 'kendall_tau', what: str = 'cells',
                    digits: int = 2, df: int | None = None) -> str:
    """One sentence on a paired comparison of ``a`` and ``b`` on the same cells (or seeds):
    *"A ranks better than B in Kendall tau (paired difference 0.12 [95% CI 0.05, 0.19] over 120
    cells, p=0.002)"*, or *"level with"* when the paired CI covers 0, with the smallest detectable
    difference. ``diff`` is a PairedDifference, an Estimate of ``a - b`` or the audit engine's
    comparison mapping (``diff, low, high, n, p, detectable``)."""
    name_a, name_b = _check_name(name_a, 'name_a'), _check_name(name_b, 'name_b')
    est, _, _ = _paired_parts(diff)
    word, tail = _verdict(diff, digits, df)
    label = metric_label(metric)
    where = f'over {est.n} {what}' if est.n else f'on the same {what}'
    if word == 'no claim':
        return f'{name_a} against {name_b} in {label}: {tail} {where}, so no claim.'
    verb = 'ranks level with' if word == 'level with' else f'ranks {word} than'
    return f'{name_a} {verb} {name_b} in {label} ({tail}; {where}).'


def _vs_params(params: Estimate | None, params_diff: Any, digits: int) -> str:
    ref = 'the parameter-count baseline'
    own = f'{_ci(params, digits)}; ' if params is not None else ''
    if params_diff is None:
        return f'not tested against {ref}' + (f' ({_ci(params, digits)})' if params is not None else '') + \
            ' (no paired difference given, so no claim)'
    word, tail = _verdict(params_diff, digits)
    if word == 'no claim':
        return f'no claim against {ref} ({own}{tail})'
    return f'{"level with" if word == "level with" else word + " than"} {ref} ({own}{tail})'


def _vs_ceiling(est: Estimate, base: Estimate, label: str, digits: int, note: str | None = None) -> str:
    inner = _ci(base, digits) + (f'; {note}' if note else '')
    if est.below(base):
        # 'far below' only when the estimate is under half of a positive ceiling
        far = base.estimate > 0 and est.estimate < base.estimate / 2
        return f'{"far " if far else ""}below {label} ({inner}; the intervals disjoint)'
    if est.above(base):
        return f'above {label} ({inner}; the intervals disjoint)'
    if not (est.has_interval and base.has_interval):
        return f'not comparable with {label} ({inner}; an interval is missing)'
    return (f'not separable from {label} ({inner}): the intervals overlap, and the ceiling rests on other '
            'truths, so no paired test and no claim')


def describe_ranking(name: str, est: Estimate, random: Estimate | None = None, ceiling: Estimate | None = None,
                     params: Estimate | None = None, what: str = 'cells', metric: str = 'kendall_tau',
                     ceiling_name: str = 'reliability', digits: int = 2, params_diff: Any = None) -> str:
    """One sentence on how well ``name`` ranks, e.g. *"SPOS ranks 120 cells at Kendall tau -0.13
    [95% CI -0.25, -0.01]: worse than random scores (0.00, 95% range -0.06 to 0.06), worse than
    the parameter-count baseline (...; paired difference -0.20 [...]) and far below the ground
    truth's own reliability (0.63 [...], the intervals disjoint)."*

    ``random`` is :func:`~nasviz.analysis.ranking.random_null` (a range, not a CI), ``params``
    and ``ceiling`` bootstrap estimates; ``params_diff`` the paired difference ``name - params``
    on the same cells (a PairedDifference, an Estimate or the audit engine's comparison mapping):
    only it decides *better*, *worse* or *level with* the parameter count. ``ceiling_name`` a key
    of :data:`CEILING_LABELS` (or any phrase).
    """
    name = _check_name(name, 'name')
    _check_estimate(est, 'est', optional=False)
    for arg, val in (('random', random), ('ceiling', ceiling), ('params', params)):
        _check_estimate(val, arg)
    clauses = [_vs_random(est, random, digits)]
    if params is not None or params_diff is not None:
        clauses.append(_vs_params(params, params_diff, digits))
    if ceiling is not None:
        label = CEILING_LABELS.get(ceiling_name, ceiling_name)
        clauses.append(_vs_ceiling(est, ceiling, label, digits, CEILING_NOTES.get(ceiling_name)))
    body = clauses[0] if len(clauses) == 1 else '; '.join(clauses[:-1]) + '; and ' + clauses[-1]
    return f'{name} ranks {est.n} {what} at {metric_label(metric)} {_ci(est, digits)}: {body}.'


def describe_difference(name_a: str, name_b: str, diff: PairedDifference | Estimate, metric: str | None = None,
                        what: str = 'cells', digits: int = 2) -> str:
    """One sentence on ``a - b``: *"within noise"* when the difference's CI covers zero,
    otherwise *"A ranks better (worse) than B by x [CI]"*. ``diff`` is a
    :class:`~nasviz.analysis.ranking.PairedDifference` (its p-value is quoted) or an Estimate
    of the difference (``metric`` then names it; default Kendall tau)."""
    name_a, name_b = _check_name(name_a, 'name_a'), _check_name(name_b, 'name_b')
    if isinstance(diff, PairedDifference):
        est, p, metric = diff.diff, diff.p_value, metric or diff.metric
    elif isinstance(diff, Estimate):
        est, p = diff, None
    else:
        raise ValueError(f'diff must be a PairedDifference or an Estimate, got {type(diff).__name__}')
    label = metric_label(metric or 'kendall_tau')
    tail = f'paired over {est.n} {what}' + (f', p={p:.2g}' if p is not None and np.isfinite(p) else '')
    signed = f'{name_a} - {name_b} = {_ci(est, digits)}'
    if not est.has_interval:
        return f'{name_a} vs {name_b} in {label}: {signed} ({tail}); no interval, so no claim.'
    if est.covers(0.0):
        det = detectable_from_interval(est)
        return (f'{name_a} vs {name_b} in {label} is within noise: {signed} ({tail}); the CI covers 0, '
                f'{_detectable_text(det, digits)}.')
    better = est.low > 0
    mag = f'{_num(abs(est.estimate), digits)} [{_level_label(est.level)} CI ' \
          f'{_num(min(abs(est.low), abs(est.high)), digits)}, {_num(max(abs(est.low), abs(est.high)), digits)}]'
    return (f'{name_a} ranks {"better" if better else "worse"} than {name_b} by {mag} in {label} '
            f'({tail}).')


def describe_seed_comparison(name: str, summary: SeedSummary, reference: str | None = None,
                             diff: SeedSummary | None = None, metric: str = 'kendall_tau',
                             digits: int = 3) -> str:
    """A result over seeds as mean ± SE (said explicitly), e.g. *"Over 3 seeds, few-shot reaches
    Kendall tau 0.176 ± 0.020 (mean ± SE; std 0.034)"*; with ``reference`` and ``diff`` (from
    :func:`~nasviz.analysis.ranking.paired_seed_difference`), the paired difference as well,
    *within noise* when its t-CI covers zero."""
    name = _check_name(name, 'name')
    if not isinstance(summary, SeedSummary):
        raise ValueError(f'summary must be a SeedSummary, got {type(summary).__name__}')
    if (reference is None) != (diff is None):
        raise ValueError('reference and diff go together: give both or neither')
    if diff is not None and not isinstance(diff, SeedSummary):
        raise ValueError(f'diff must be a SeedSummary, got {type(diff).__name__}')
    label = metric_label(metric)
    if summary.n < 2:
        head = (f'With one seed, {name} reaches {label} {_num(summary.mean, digits)} '
                '(no SE: one seed cannot show how much seeds vary)')
    else:
        head = (f'Over {summary.n} seeds, {name} reaches {label} {_num(summary.mean, digits)} ± '
                f'{_num(summary.se, digits)} (mean ± SE; std {_num(summary.std, digits)})')
    if diff is None:
        return head + '.'
    reference = _check_name(reference, 'reference')
    d = f'{_num(diff.mean, digits)} ± {_num(diff.se, digits)} (mean ± SE of the per-seed paired differences, ' \
        f'{_ci(diff.ci, digits)})'
    if diff.n < 2 or not diff.ci.has_interval:
        verdict = f'; the difference from {reference} is {_num(diff.mean, digits)} on one seed (no SE, no claim)'
    elif diff.ci.covers(0.0):
        det = detectable_from_interval(diff.ci, df=diff.n - 1)
        verdict = f'; its difference from {reference}, {d}, is within noise ({_detectable_text(det, digits)})'
    else:
        verdict = f'; it ranks {"better" if diff.ci.low > 0 else "worse"} than {reference} by {d}'
    return head + verdict + '.'


def describe_change_over_training(name: str, diff: Any, first_epoch: int, last_epoch: int,
                                  metric: str = 'kendall_tau', what: str = 'cells', digits: int = 2) -> str:
    """The one sentence on whether a supernet's ranking changed over training: the paired
    difference of ``metric`` between its scores after ``last_epoch`` and after ``first_epoch``
    on the same cells (``diff``: a PairedDifference, an Estimate or a comparison mapping).
    *Improved* / *worsened* when its CI excludes 0, else *no detectable change* with the
    smallest difference the design could detect."""
    name = _check_name(name, 'name')
    est, p, det = _paired_parts(diff)
    if det is None:
        det = detectable_from_interval(est)
    label = metric_label(metric)
    pt = f', p={p:.2g}' if p is not None and np.isfinite(p) else ''
    head = (f'{name}: {label} after epoch {last_epoch} minus after epoch {first_epoch} = {_ci(est, digits)} '
            f'(paired over the same {est.n} {what}{pt})')
    if not est.has_interval:
        return head + '; no interval, so no claim.'
    if est.covers(0.0):
        return head + f': no detectable change over training (the CI covers 0; {_detectable_text(det, digits)}).'
    return head + f': the ranking {"improved" if est.low > 0 else "worsened"} over training.'


# ---------------------------------------------------------------------------------------------
# Collecting findings and headline numbers
# ---------------------------------------------------------------------------------------------
def _vs_chance(e: Estimate, chance: float, digits: int) -> str:
    """'above chance' / 'at chance' / 'below chance' for a precision against its random value."""
    if not e.has_interval or e.low == e.high:
        return f'no usable interval; chance {chance:.{digits}g}'
    if e.low > chance:
        return f'above chance ({chance:.{digits}g})'
    if e.high < chance:
        return f'below chance ({chance:.{digits}g})'
    return f'indistinguishable from chance ({chance:.{digits}g})'


def describe_picking_pruning(name: str, picking: Mapping[str, Any], digits: int = 2) -> str:
    """One sentence: does ``name`` pick the best cells or only prune the worst? ``picking`` is
    :func:`nasviz.analysis.bias.picking_vs_pruning`'s result."""
    def k_of(chance: float) -> str:
        k = max(1, int(round(chance * picking['n'])))
        return f'{k:,} cell{"s" if k != 1 else ""}'

    tops = [f'top {f:.1%} ({k_of(picking["random_top"][f])}): {_ci(e, digits)}, '
            f'{_vs_chance(e, picking["random_top"][f], digits)}' for f, e in picking['top_precision'].items()]
    bots = [f'bottom {f:.0%} ({k_of(picking["random_bottom"][f])}): {_ci(e, digits)}, '
            f'{_vs_chance(e, picking["random_bottom"][f], digits)}' for f, e in picking['bottom_precision'].items()]
    pick = max(e.estimate - picking['random_top'][f] for f, e in picking['top_precision'].items())
    prune = max(e.estimate - picking['random_bottom'][f] for f, e in picking['bottom_precision'].items())
    picks = any(e.has_interval and e.low > picking['random_top'][f] for f, e in picking['top_precision'].items())
    prunes = any(e.has_interval and e.low > picking['random_bottom'][f]
                 for f, e in picking['bottom_precision'].items())
    if not picks and not prunes:
        verdict = 'neither its picks nor its prunes beat chance (within noise)'
    elif prunes and not picks:
        verdict = 'it prunes the worst better than chance but does not pick the best'
    elif picks and not prunes:
        verdict = 'it picks the best better than chance but does not prune the worst'
    else:
        verdict = ('better at pruning the worst than at picking the best' if prune > pick
                   else 'better at picking the best than at pruning the worst')
    t10 = picking['tau_in_true_top']
    return (f'{name} over {picking["n"]:,} cells, precision of its predicted top ({"; ".join(tops)}) and bottom '
            f'({"; ".join(bots)}): {verdict} (largest gain over chance {prune:+.{digits}f} pruning vs '
            f'{pick:+.{digits}f} picking). Inside the true top 10% its Kendall tau is {_ci(t10, digits)}; '
            f'taking its best cell loses {_ci(picking["regret"], digits)} accuracy points against the true best.')


def describe_op_bias(name: str, op_bias: Mapping[str, float], digits: int = 2) -> str:
    """Which operations ``name`` rewards more (and less) than the ground truth does."""
    if not op_bias:
        return f'{name}: no operation varies over these cells.'
    hi = max(op_bias, key=op_bias.get)
    lo = min(op_bias, key=op_bias.get)
    return (f'{name} rewards {hi} more than the truth does (tau gap {op_bias[hi]:+.{digits}f}) and {lo} less '
            f'({op_bias[lo]:+.{digits}f}); a gap of 0 means no bias.')


def describe_size_bias(name: str, est: Estimate, digits: int = 2) -> str:
    """Partial Spearman of score with parameter count given the truth, in words."""
    if not np.isfinite(est.estimate):
        return f'{name}: size bias undefined (the scores follow the truth exactly).'
    det = detectable_from_interval(est)
    verdict = (f'within noise (the CI covers 0; {_detectable_text(det, digits)})' if est.covers(0) else
               'it rewards size beyond what size buys in accuracy' if est.low > 0 else
               'it penalises size beyond what the truth does')
    return f'{name}: size bias (partial Spearman of score with parameters given the truth) {_ci(est, digits)}: {verdict}.'


def describe_bn_handling(name: str, table: Any, reference: str = 'recalibrate', digits: int = 2) -> str:
    """How ``name``'s ranking changes with BN handling, from a :func:`nasviz.analysis.bias.bn_handling`
    table (one row per mode): each other mode's tau and its paired difference to ``reference``."""
    ref = table.loc[reference]
    parts = []
    for mode, r in table.iterrows():
        if mode == reference:
            continue
        covers = r['diff_low'] <= 0 <= r['diff_high']
        det = detectable_from_interval(Estimate(r['diff'], r['diff_low'], r['diff_high'], int(r['n'])))
        verdict = (f'within noise ({_detectable_text(det, digits)})' if covers
                   else 'better' if r['diff_low'] > 0 else 'worse')
        parts.append(f'{mode} statistics give tau {r["kendall_tau"]:.{digits}f} [{r["tau_low"]:.{digits}f}, '
                     f'{r["tau_high"]:.{digits}f}] (mean score {r["mean_score"]:.1f}), '
                     f'{r["diff"]:+.{digits}f} [{r["diff_low"]:+.{digits}f}, {r["diff_high"]:+.{digits}f}] '
                     f'against {reference}: {verdict}')
    word = {'recalibrate': 'recalibrated'}.get(reference, reference)
    head = (f'{name}, BN handling on the same {int(ref["n"])} cells: {word} statistics give tau '
            f'{ref["kendall_tau"]:.{digits}f} [{ref["tau_low"]:.{digits}f}, {ref["tau_high"]:.{digits}f}] '
            f'(mean score {ref["mean_score"]:.1f})')
    return head + ('; ' + '; '.join(parts) if parts else '') + '.'


def describe_pruned_search(name: str, curve: Any, digits: int = 2) -> str:
    """What pruning the bottom of the space by ``name``'s score does to random search."""
    pruned = curve[curve['prune'] > 0]
    budget = int(curve['budget'].iloc[0])
    whole = float(curve['whole_space'].iloc[0])
    if pruned.empty:
        return f'{name}: no pruning share was tried.'
    best = pruned.loc[pruned['gain'].idxmax()]
    worst = pruned.loc[pruned['gain'].idxmin()]
    head = (f'Random search with {budget} draws after pruning by {name} (whole space: expected best '
            f'{whole:.{digits}f}): ')
    if best['gain'] <= 0:
        return head + (f'no pruning share helps; pruning {worst["prune"]:.0%} costs '
                       f'{-worst["gain"]:.{digits}f} points (exact expectations, no sampling noise).')
    return head + (f'pruning {best["prune"]:.0%} helps most ({best["gain"]:+.{digits}f} points); pruning '
                   f'{worst["prune"]:.0%} changes it by {worst["gain"]:+.{digits}f} (exact expectations, '
                   'no sampling noise).')


#: how the audit's baselines read in a sentence
BASELINE_NAMES = {'params': 'parameter count', 'flops': 'FLOPs', 'random': 'random scores'}


def _frac(k: str) -> str:
    """``'0.01'`` -> ``'1%'``; a count stays a count."""
    try:
        v = float(k)
    except ValueError:
        return str(k)
    return f'{v:.1%}'.replace('.0%', '%') if 0 < v < 1 else f'{int(v):,}'


def describe_audit(res: Any, names: Mapping[str, str] | None = None, what: str = 'architectures',
                   top_k: str = '0.01', digits: int = 2) -> list[str]:
    """Sentences on an audit (:class:`nasviz.audit.core.Audit`, read by its attributes): for each
    estimator its Kendall tau with its interval, *better* / *worse* / *level with* each baseline
    and each other estimator from the paired comparisons only (the detectable difference beside
    every *level with*), against the ceiling when disjoint; what it finds at the top (precision and
    best true rank of its predicted top ``top_k``, regret of its pick); its largest op bias and
    its size bias. ``names`` maps column names to words (default: baselines named, underscores
    read as spaces)."""
    names = dict(names or {})
    def label(e: str) -> str:
        return names.get(e, BASELINE_NAMES.get(e, str(e).replace('_', ' ')))

    m, c = res.metrics, res.comparisons
    out: list[str] = []
    head = f'{res.n:,} {what} audited'
    extras = []
    if getattr(res, 'merged', 0):
        extras.append(f'{res.merged:,} isomorphic duplicates merged first')
    dropped = {e: sum(v.values()) for e, v in (res.dropped or {}).items() if sum(v.values())}
    if dropped:
        extras.append('dropped as unusable: ' + ', '.join(f'{label(e)} {k:,}' for e, k in dropped.items()))
    out.append(head + (f' ({"; ".join(extras)})' if extras else '') + f', {res.settings.get("n_resamples")} '
               'bootstrap resamples of the architectures shared by every interval and paired comparison.')

    def est(e: str, metric: str, k: str = '') -> Estimate | None:
        row = m[(m['estimator'] == e) & (m['metric'] == metric) & (m['k'] == k)]
        if row.empty:
            return None
        r = row.iloc[0]
        return Estimate(r['estimate'], r['low'], r['high'], int(r['n']), float(res.settings.get('level', 0.95)))

    ceiling = getattr(res, 'ceiling', None)
    for e in res.estimators:
        tau = est(e, 'kendall_tau')
        clauses = []
        for other in list(res.baselines) + [o for o in res.estimators if o != e]:
            row = c[(c['metric'] == 'kendall_tau') & (c['k'] == '')
                    & (((c['estimator'] == e) & (c['other'] == other)) | ((c['estimator'] == other) & (c['other'] == e)))]
            if row.empty:
                continue
            r = row.iloc[0].to_dict()
            if r['estimator'] != e:  # stored as other - e: turn it round
                r = {**r, 'diff': -r['diff'], 'low': -r['high'], 'high': -r['low']}
            word, tail = _verdict(r, digits)
            ref = label(other)
            clauses.append(f'{"level with" if word == "level with" else word + " than"} {ref} ({tail})')
        if ceiling is not None:
            clauses.append(_vs_ceiling(tau, ceiling.corrected, "the ground truth's own reliability", digits,
                                       'a separate training run of the truth' if ceiling.kind == 'valid-as-predictor'
                                       else CEILING_NOTES.get('reliability (Spearman-Brown)')))
        out.append(f'{label(e)[:1].upper() + label(e)[1:]} ranks {tau.n:,} {what} at Kendall tau {_ci(tau, digits)}: '
                   + '; '.join(clauses) + '.')
        prec, best, reg = est(e, 'precision_top', top_k), est(e, 'best_rank', top_k), est(e, 'regret')
        if prec is not None and best is not None:
            kk = max(1, round(float(top_k) * tau.n)) if float(top_k) < 1 else int(float(top_k))
            text = (f'In its predicted top {_frac(top_k)} ({kk:,} {what}), {label(e)} finds {_ci(prec, digits)} of the '
                    f'true top {_frac(top_k)} (chance {min(1.0, kk / tau.n):.{digits}g}); the best of them has true rank '
                    f'{_ci(best, 4)} of the space (BR@{_frac(top_k)}: the true rank as a share of the space, 1/n = the best)')
            if reg is not None:
                text += f'; taking its single best pick loses {_ci(reg, digits)} accuracy points against the true best'
            out.append(text + '.')
        ob = m[(m['estimator'] == e) & (m['metric'] == 'op_bias')]
        if not ob.empty:
            clear = ob[(ob['low'] > 0) | (ob['high'] < 0)]
            if clear.empty:
                out.append(f'{label(e)[:1].upper() + label(e)[1:]} shows no op bias whose interval excludes 0.')
            else:
                hi, lo = clear.loc[clear['estimate'].idxmax()], clear.loc[clear['estimate'].idxmin()]
                parts = []
                if hi['estimate'] > 0:
                    parts.append(f'rewards {hi["k"]} beyond the truth (tau gap {hi["estimate"]:+.{digits}f} '
                                 f'[{hi["low"]:+.{digits}f}, {hi["high"]:+.{digits}f}])')
                if lo['estimate'] < 0:
                    parts.append(f'punishes {lo["k"]} beyond it ({lo["estimate"]:+.{digits}f} '
                                 f'[{lo["low"]:+.{digits}f}, {lo["high"]:+.{digits}f}])')
                out.append(f'{label(e)[:1].upper() + label(e)[1:]} ' + ' and '.join(parts) + '.')
        sb = est(e, 'size_bias')
        if sb is not None:
            out.append(describe_size_bias(label(e)[:1].upper() + label(e)[1:], sb, digits))
    return out


def to_jsonable(x: Any) -> Any:
    """Estimates, summaries and NumPy values as JSON-safe plain data (NaN/inf -> None)."""
    if isinstance(x, (Estimate, SeedSummary, PairedDifference)):
        return x.to_dict()
    if isinstance(x, Mapping):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [to_jsonable(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return _json_float(x)
    if x is None or isinstance(x, str):
        return x
    raise ValueError(f'cannot store a {type(x).__name__} in a metrics file: {x!r}')


#: the provenance of a number computed by the notebook run that reports it
THIS_RUN = 'computed in this run'


def metrics_payload(headline: Mapping[str, Any], findings: 'Findings | list[str] | tuple[str, ...]',
                    sources: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Content of a ``metrics_XX.json``: every headline number (an Estimate becomes
    ``{"estimate", "low", "high", "n", "level"}``), plus ``"findings"``: the sentences, and
    ``"sources"``: for each number, whether this run computed it or it was read from a shipped
    file (which one, by name)."""
    if not isinstance(headline, Mapping):
        raise ValueError(f'headline must be a mapping of name -> number, got {type(headline).__name__}')
    if 'findings' in headline:
        raise ValueError("headline must not hold a 'findings' key: the sentences go in findings")
    sentences = findings.to_list() if isinstance(findings, Findings) else list(findings)
    if not all(isinstance(s, str) for s in sentences):
        raise ValueError('findings must be sentences (strings)')
    out = to_jsonable(dict(headline))
    out['findings'] = sentences
    if sources:
        out['sources'] = {str(k): str(v) for k, v in sources.items()}
    return out


def write_metrics(path: str | os.PathLike, headline: Mapping[str, Any],
                  findings: 'Findings | list[str] | tuple[str, ...]', sources: Mapping[str, str] | None = None) -> Path:
    """Write :func:`metrics_payload` to ``path`` as JSON, atomically (temp file + rename)."""
    from nasviz.io import atomic_write_text

    text = json.dumps(metrics_payload(headline, findings, sources), indent=1, allow_nan=False)
    return atomic_write_text(path, text + '\n')


class Findings:
    """An ordered list of finding sentences, plus the headline numbers they rest on.

    >>> f = Findings()
    >>> f.ranking('SPOS', est, random=rnd, ceiling=ceil)    # describe_ranking, kept and returned
    >>> f.metric('spos_kendall_tau', est)                   # a headline number for metrics_XX.json
    >>> f.metric('ista_accuracy', est, source='read from search_comparison_tiny.csv')
    >>> f.to_markdown(); f.payload(); f.write('metrics_01.json')

    Every headline number carries its provenance (``source``; default :data:`THIS_RUN`), which
    the report's index shows beside it.
    """

    def __init__(self) -> None:
        self._sentences: list[str] = []
        self._metrics: dict[str, Any] = {}
        self._sources: dict[str, str] = {}

    def add(self, sentence: str) -> str:
        """Append one sentence (any text); returns it."""
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f'sentence must be a non-empty string, got {sentence!r}')
        self._sentences.append(sentence.strip())
        return self._sentences[-1]

    def ranking(self, *args: Any, **kw: Any) -> str:
        """:func:`describe_ranking`, appended."""
        return self.add(describe_ranking(*args, **kw))

    def difference(self, *args: Any, **kw: Any) -> str:
        """:func:`describe_difference`, appended."""
        return self.add(describe_difference(*args, **kw))

    def seeds(self, *args: Any, **kw: Any) -> str:
        """:func:`describe_seed_comparison`, appended."""
        return self.add(describe_seed_comparison(*args, **kw))

    def metric(self, key: str, value: Any, source: str = THIS_RUN) -> None:
        """Record a headline number (Estimate, SeedSummary, float, ...) under ``key``, with where
        it comes from: :data:`THIS_RUN`, or e.g. ``'read from search_comparison_tiny.csv'`` (a
        file name, never an absolute path)."""
        key = _check_name(key, 'key')
        if key in ('findings', 'sources'):
            raise ValueError(f"key {key!r} is reserved (the sentences and the numbers' provenance)")
        source = _check_name(source, 'source')
        if os.path.isabs(source.split()[-1]):
            raise ValueError(f'source must name a file, not an absolute path: {source!r}')
        to_jsonable(value)  # fail now, not when writing
        self._metrics[key] = value
        self._sources[key] = source

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._metrics)

    @property
    def sources(self) -> dict[str, str]:
        """``{key: provenance}`` of every recorded number."""
        return dict(self._sources)

    def to_list(self) -> list[str]:
        return list(self._sentences)

    def to_markdown(self) -> str:
        """A Markdown bullet list (empty string when there is nothing to say)."""
        return '\n'.join(f'- {s}' for s in self._sentences)

    def payload(self, **extra: Any) -> dict[str, Any]:
        """:func:`metrics_payload` of the recorded metrics (plus ``extra`` ones) and sentences."""
        return metrics_payload({**self._metrics, **extra}, self, self._sources)

    def write(self, path: str | os.PathLike, **extra: Any) -> Path:
        """:func:`write_metrics` of :meth:`payload`."""
        return write_metrics(path, {**self._metrics, **extra}, self, self._sources)

    def __len__(self) -> int:
        return len(self._sentences)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sentences)

    def __repr__(self) -> str:
        return f'Findings({len(self)} sentences, {len(self._metrics)} metrics)'

    def _repr_markdown_(self) -> str:  # a notebook cell ending in a Findings shows the list
        return self.to_markdown() or '*no findings*'
