"""Which choices a ranking rewards: for every (slot, choice) of a space, the Kendall tau between
using it and a cell's score, beside the same against the ground truth
(:func:`choice_preference`). A negative ranking tau usually shows here first: a briefly trained
supernet rewards parameter-free operations (skip, pooling) that the fully trained networks of a
benchmark punish.

Nothing here trains or imports a model: the scores come in as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.metrics import as_numeric, check_finite_pair, tau_b
from nasviz.analysis.uncertainty import kendall_ci
from nasviz.spaces import get_space, list_spaces, space_of
from nasviz.validate import short_repr

__all__ = ['infer_space', 'choice_preference']


def infer_space(archs: Sequence[Any]) -> Any:
    """The space of ``archs``: an architecture's own, or the one registered space whose strings
    they are (NB201 for no architectures); ``ValueError`` asking for ``space`` when no space or
    several read ``archs[0]``."""
    if not archs or not isinstance(archs[0], str):
        return space_of(archs[0]) if archs else get_space('nb201')
    fits = []
    for name in list_spaces():
        try:
            get_space(name).from_str(archs[0])
            fits.append(name)
        except ValueError:
            continue
    if len(fits) != 1:
        raise ValueError(
            f'archs[0] {short_repr(archs[0])} is a string of {"no" if not fits else "several"} registered '
            f'space{"s" if fits else ""} ({", ".join(fits) or ", ".join(list_spaces())}): pass space='
        )
    return get_space(fits[0])


def _finite_scores(scores: Any) -> np.ndarray:
    p = as_numeric(scores, 'scores')
    if p.size < 2:
        raise ValueError(f'need at least 2 cells, got {p.size}')
    if not np.isfinite(p).all():
        raise ValueError('scores must be finite numbers (drop cells without a score first)')
    return p


def choice_preference(
    archs: Iterable[Any],
    scores: Any,
    truth: Any = None,
    space: Any = None,
    *,
    per_slot: bool = True,
    intervals: bool = False,
    level: float = 0.95,
    n_resamples: int = 1000,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Which choices ``scores`` reward, beside which the ground truth ``truth`` rewards.

    One row per (``slot``, ``choice``) used by some but not all cells (a choice every cell or
    none uses has no contrast and is left out): ``share`` of the cells using it and Kendall
    tau-b between using it (0/1) and the score, ``tau_score``. Then one row per operation over
    all op slots (``slot='*'``; NB201: the 6 edges), whose contrast is how many op slots carry
    the op (``mean_count`` per cell; ``share`` is NaN): what a supernet's op preference
    usually shows first. ``per_slot=False`` gives these operation rows only.

    Given ``truth``: ``tau_truth`` the same against the truth and ``bias = tau_score -
    tau_truth``, what the predictor rewards beyond the truth. ``intervals`` adds paired bootstrap
    CIs over cells (:func:`~nasviz.analysis.uncertainty.kendall_ci`, every row seeded by
    ``random_state``): ``score_low``, ``score_high`` (and ``truth_low``, ``truth_high``).
    ``n`` is the number of cells. ``space`` defaults to the architectures' own (strings: the one
    registered space that reads them, :func:`infer_space`).
    """
    archs = list(archs)
    if truth is None:
        p, t = _finite_scores(scores), None
    else:
        p, t = check_finite_pair(scores, truth)
    if len(archs) != p.size:
        raise ValueError(f'scores has {p.size} values for {len(archs)} architectures')
    space = get_space(infer_space(archs) if space is None else space)
    archs = [space.check(a, 'archs') for a in archs]
    boot: dict[str, Any] = dict(level=level, n_resamples=n_resamples, random_state=random_state)
    columns: dict[tuple[str, str], np.ndarray] = {}
    if per_slot:
        for slot in space.slots:
            vals = np.array([a.choice(slot) for a in archs])
            for c in space.choices(slot):
                columns[(slot, c)] = (vals == c).astype(np.float64)
    counts = np.array([list(space.op_counts(a).values()) for a in archs], dtype=np.float64)
    for i, op in enumerate(space.ops()):
        columns[('*', op)] = counts[:, i]
    sides = (('score', p),) if t is None else (('score', p), ('truth', t))
    rows = []
    for (slot, c), x in columns.items():
        if np.ptp(x) == 0:
            continue  # used by every cell or by none: no contrast
        row: dict[str, Any] = dict(
            slot=slot, choice=c, share=float(x.mean()) if slot != '*' else float('nan'), mean_count=float(x.mean())
        )
        for side, y in sides:
            row[f'tau_{side}'] = tau_b(x, y)
            if intervals:
                e = kendall_ci(x, y, **boot)
                row.update({f'{side}_low': e.low, f'{side}_high': e.high})
        if t is not None:
            row['bias'] = row['tau_score'] - row['tau_truth']
        rows.append(row)
    df = pd.DataFrame(rows)
    df['n'] = p.size
    return df
