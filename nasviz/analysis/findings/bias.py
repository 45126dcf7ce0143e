"""Sentences on weight-sharing biases (:mod:`nasviz.analysis.bias`): picking vs pruning, size bias,
BN handling and pruned random search.

Pure computation: no plotting imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nasviz.analysis.findings.comparisons import detectable_from_interval
from nasviz.analysis.findings.wording import detectable_text, format_ci
from nasviz.analysis.uncertainty import Estimate

__all__ = ['describe_picking_pruning', 'describe_size_bias', 'describe_bn_handling', 'describe_pruned_search']


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

    tops = [
        f'top {f:.1%} ({k_of(picking["random_top"][f])}): {format_ci(e, digits)}, '
        f'{_vs_chance(e, picking["random_top"][f], digits)}'
        for f, e in picking['top_precision'].items()
    ]
    bots = [
        f'bottom {f:.0%} ({k_of(picking["random_bottom"][f])}): {format_ci(e, digits)}, '
        f'{_vs_chance(e, picking["random_bottom"][f], digits)}'
        for f, e in picking['bottom_precision'].items()
    ]
    pick = max(e.estimate - picking['random_top'][f] for f, e in picking['top_precision'].items())
    prune = max(e.estimate - picking['random_bottom'][f] for f, e in picking['bottom_precision'].items())
    picks = any(e.has_interval and e.low > picking['random_top'][f] for f, e in picking['top_precision'].items())
    prunes = any(e.has_interval and e.low > picking['random_bottom'][f] for f, e in picking['bottom_precision'].items())
    if not picks and not prunes:
        verdict = 'neither its picks nor its prunes beat chance (within noise)'
    elif prunes and not picks:
        verdict = 'it prunes the worst better than chance but does not pick the best'
    elif picks and not prunes:
        verdict = 'it picks the best better than chance but does not prune the worst'
    else:
        verdict = (
            'better at pruning the worst than at picking the best'
            if prune > pick
            else 'better at picking the best than at pruning the worst'
        )
    t10 = picking['tau_in_true_top']
    return (
        f'{name} over {picking["n"]:,} cells, precision of its predicted top ({"; ".join(tops)}) and bottom '
        f'({"; ".join(bots)}): {verdict} (largest gain over chance {prune:+.{digits}f} pruning vs '
        f'{pick:+.{digits}f} picking). Inside the true top 10% its Kendall tau is {format_ci(t10, digits)}; '
        f'taking its best cell loses {format_ci(picking["regret"], digits)} accuracy points against the true best.'
    )


def describe_size_bias(name: str, est: Estimate, digits: int = 2) -> str:
    """Partial Spearman of score with parameter count given the truth, in words."""
    if not np.isfinite(est.estimate):
        return f'{name}: size bias undefined (the scores follow the truth exactly).'
    det = detectable_from_interval(est)
    verdict = (
        f'within noise (the CI covers 0; {detectable_text(det, digits)})'
        if est.covers(0)
        else 'it rewards size beyond what size buys in accuracy'
        if est.low > 0
        else 'it penalises size beyond what the truth does'
    )
    return (
        f'{name}: size bias (partial Spearman of score with parameters given the truth) '
        f'{format_ci(est, digits)}: {verdict}.'
    )


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
        verdict = (
            f'within noise ({detectable_text(det, digits)})' if covers else 'better' if r['diff_low'] > 0 else 'worse'
        )
        parts.append(
            f'{mode} statistics give tau {r["kendall_tau"]:.{digits}f} [{r["tau_low"]:.{digits}f}, '
            f'{r["tau_high"]:.{digits}f}] (mean score {r["mean_score"]:.1f}), '
            f'{r["diff"]:+.{digits}f} [{r["diff_low"]:+.{digits}f}, {r["diff_high"]:+.{digits}f}] '
            f'against {reference}: {verdict}'
        )
    word = {'recalibrate': 'recalibrated'}.get(reference, reference)
    head = (
        f'{name}, BN handling on the same {int(ref["n"])} cells: {word} statistics give tau '
        f'{ref["kendall_tau"]:.{digits}f} [{ref["tau_low"]:.{digits}f}, {ref["tau_high"]:.{digits}f}] '
        f'(mean score {ref["mean_score"]:.1f})'
    )
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
    head = (
        f'Random search with {budget} draws after pruning by {name} (whole space: expected best {whole:.{digits}f}): '
    )
    if best['gain'] <= 0:
        return head + (
            f'no pruning share helps; pruning {worst["prune"]:.0%} costs '
            f'{-worst["gain"]:.{digits}f} points (exact expectations, no sampling noise).'
        )
    return head + (
        f'pruning {best["prune"]:.0%} helps most ({best["gain"]:+.{digits}f} points); pruning '
        f'{worst["prune"]:.0%} changes it by {worst["gain"]:+.{digits}f} (exact expectations, '
        'no sampling noise).'
    )
