"""Sentences on which operations a ranking rewards or punishes, from a
:func:`~nasviz.analysis.preference.choice_preference` table.

Pure computation: no plotting imports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ['describe_choice_preference']


def describe_choice_preference(table: Any, name: str = 'the supernet', digits: int = 2) -> list[str]:
    """Sentences on the operation rows (``slot='*'``) of a
    :func:`~nasviz.analysis.preference.choice_preference` table.

    With intervals: which ops ``name`` and the ground truth each reward or punish (only where the
    op's CI excludes 0, the others listed as within noise), then the ops where the two disagree
    in sign with both CIs excluding 0, else that no op does. Without intervals: the ops ``name``
    rewards most and least beyond the truth (the largest and smallest ``bias``, point values).
    """
    ops = table[table['slot'] == '*'] if 'slot' in table.columns else table
    ops = ops.set_index('choice') if 'choice' in ops.columns else ops

    def ci(est: float, lo: float, hi: float) -> str:
        return f'{est:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]'

    def op_label(op: Any) -> str:
        return 'none (the zero op)' if op == 'none' else str(op)

    if 'score_low' not in ops.columns:
        if 'bias' not in ops.columns:
            raise ValueError(
                'table has neither intervals (score_low, score_high) nor a bias column: '
                'pass truth, or intervals=True, to choice_preference'
            )
        bias = {str(op): float(b) for op, b in ops['bias'].items()}
        if not bias:
            return [f'{name}: no operation varies over these cells.']
        hi, lo = max(bias, key=bias.__getitem__), min(bias, key=bias.__getitem__)
        return [
            f'{name} rewards {hi} more than the truth does (tau gap {bias[hi]:+.{digits}f}) and {lo} less '
            f'({bias[lo]:+.{digits}f}); a gap of 0 means no bias.'
        ]

    def side(prefix: str, col: str) -> tuple[list[str], list[str], list[str]]:
        up: list[str] = []
        down: list[str] = []
        flat: list[str] = []
        for op, r in ops.iterrows():
            lo, hi, est = r[f'{prefix}_low'], r[f'{prefix}_high'], r[col]
            if not (np.isfinite(lo) and np.isfinite(hi)):
                continue
            label = op_label(op)
            text = f'{label} ({ci(est, lo, hi)})'
            (up if lo > 0 else down if hi < 0 else flat).append(text if lo > 0 or hi < 0 else label)
        return up, down, flat

    n = int(ops['n'].iloc[0]) if 'n' in ops.columns and len(ops) else 0
    level = "Kendall tau between an op's count per cell and the ranking, 95% CI"
    with_truth = 'truth_low' in ops.columns
    out = []
    for who, prefix, col in ((name, 'score', 'tau_score'), ('the ground truth', 'truth', 'tau_truth'))[
        : 1 + with_truth
    ]:
        up, down, flat = side(prefix, col)
        parts = [
            f'rewards {", ".join(up)}' if up else 'rewards no op clearly',
            f'punishes {", ".join(down)}' if down else 'punishes no op clearly',
        ]
        tail = f'; within noise of 0: {", ".join(flat)}' if flat else ''
        out.append(f'Over {n} cells, {who} {parts[0]} and {parts[1]}{tail} ({level}).')
    if not with_truth:
        return out
    opposite = []
    for op, r in ops.iterrows():
        p = int(r['score_low'] > 0) - int(r['score_high'] < 0)
        t = int(r['truth_low'] > 0) - int(r['truth_high'] < 0)
        if p and t and p != t:
            opposite.append(
                f'{op_label(op)} ({name} {ci(r["tau_score"], r["score_low"], r["score_high"])}, '
                f'ground truth {ci(r["tau_truth"], r["truth_low"], r["truth_high"])})'
            )
    if opposite:
        out.append(f'Opposite signs, both CIs excluding 0: {"; ".join(opposite)}.')
    else:
        out.append(
            f'No op is rewarded by one of {name} and the ground truth and punished by the other with '
            'both CIs excluding 0.'
        )
    return out
