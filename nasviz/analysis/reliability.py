"""How reliable a ground truth is for the seeds it averages, against what those seeds cost:
:func:`reliability_frontier` (split-half Kendall tau measured, and projected by a Gaussian noise
model fitted to the seeds)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.metrics import make_rng, tau_b
from nasviz.analysis.uncertainty import check_resamples

__all__ = ['reliability_frontier']


def reliability_frontier(
    acc: Any, ks: Iterable[int] = (1, 2, 3, 4, 6, 8), n_sims: int = 200, max_splits: int = 50, random_state: Any = 0
) -> pd.DataFrame:
    """Split-half reliability of a ground truth as a function of the seeds averaged per half.

    ``acc`` is a cells x seeds array of one ground truth's accuracies (every cell trained with
    every seed). For each ``k`` in ``ks`` the table gives:

    - ``measured``: the mean Kendall tau between the mean of ``k`` seeds and the mean of ``k``
      other seeds, over the ways of drawing two disjoint ``k``-seed halves from the seeds (at most
      ``max_splits`` of them, drawn at random); NaN where ``2k`` exceeds the seeds there are;
    - ``projected`` (and ``projected_sd`` over ``n_sims`` simulations): the same under a Gaussian
      model fitted to the seeds: cell ``i``'s accuracy with one seed is its true accuracy plus
      noise of cell ``i``'s own seed-to-seed variance; the true accuracies are the cell means
      shrunk towards the grand mean so that their variance is the between-cell variance less the
      noise the means still hold. Where both exist, ``projected`` against ``measured`` checks the
      model.

    ``seeds_total`` (= ``2k``) is the build cost in units of one seed of every cell."""
    a = np.asarray(acc, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 3 or a.shape[1] < 2:
        raise ValueError(f'acc must be a cells x seeds array with >= 3 cells and >= 2 seeds, got shape {a.shape}')
    if not np.isfinite(a).all():
        raise ValueError('acc holds NaN or infinite accuracies; drop cells lacking a seed first')
    ks = [int(k) for k in ks]
    if not ks or any(k < 1 for k in ks):
        raise ValueError(f'ks must be integers >= 1, got {ks!r}')
    n_sims = check_resamples(n_sims)
    rng = make_rng(random_state)
    n_cells, n_seeds = a.shape
    noise_var = a.var(axis=1, ddof=1)  # per cell, one seed's noise
    means = a.mean(axis=1)
    between = means.var(ddof=1)
    true_var = max(between - noise_var.mean() / n_seeds, 0.0)
    shrink = np.sqrt(true_var / between) if between > 0 else 0.0
    truth = means.mean() + (means - means.mean()) * shrink
    rows = []
    for k in ks:
        measured = np.nan
        if 2 * k <= n_seeds:
            taus = []
            for _ in range(max_splits):
                perm = rng.permutation(n_seeds)
                taus.append(tau_b(a[:, perm[:k]].mean(axis=1), a[:, perm[k : 2 * k]].mean(axis=1)))
            measured = float(np.mean(taus))
        sd = np.sqrt(noise_var / k)
        sims = [
            tau_b(truth + rng.standard_normal(n_cells) * sd, truth + rng.standard_normal(n_cells) * sd)
            for _ in range(n_sims)
        ]
        rows.append(
            dict(
                k=k,
                seeds_total=2 * k,
                measured=measured,
                projected=float(np.mean(sims)),
                projected_sd=float(np.std(sims, ddof=1)),
            )
        )
    out = pd.DataFrame(rows)
    out.attrs.update(
        noise_sd=float(np.sqrt(noise_var.mean())), true_sd=float(np.sqrt(true_var)), n_cells=n_cells, n_seeds=n_seeds
    )
    return out
