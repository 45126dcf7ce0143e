"""The ground truth's ceiling, Spearman-Brown-corrected for the seeds it averages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasviz.analysis.ceiling import CORRECTED_NAME, corrected_ceiling, corrected_ceiling_table, corrected_rank_correlation, spearman_brown
from nasviz.analysis.ranking import Estimate


class _Bench:
    seeds = (0, 1, 2, 3)


def test_spearman_brown_closed_form() -> None:
    assert spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert spearman_brown(0.0, 2) == 0 and spearman_brown(1.0, 4) == pytest.approx(1.0)
    # doubling then halving comes back
    assert spearman_brown(spearman_brown(0.3, 2), 0.5) == pytest.approx(0.3)
    with pytest.raises(ValueError, match='factor'):
        spearman_brown(0.5, 0)


def test_rank_correlations_go_through_pearson() -> None:
    tau = 0.5  # Pearson r = sin(pi/4) = 0.7071, corrected 0.8284, back to tau 0.6217
    assert corrected_rank_correlation(tau, 2) == pytest.approx(2 / np.pi * np.arcsin(2 * 0.70710678 / 1.70710678), abs=1e-6)
    assert corrected_rank_correlation(0.6, 2, 'spearman') > 0.6
    # simulated: two 2-seed half-means vs two independent 4-seed means of the same cells
    rng = np.random.default_rng(0)
    true = rng.standard_normal(4000)
    seeds = true[:, None] + 1.2 * rng.standard_normal((4000, 8))
    from scipy import stats
    half = stats.kendalltau(seeds[:, :2].mean(1), seeds[:, 2:4].mean(1))[0]
    full = stats.kendalltau(seeds[:, :4].mean(1), seeds[:, 4:].mean(1))[0]
    assert corrected_rank_correlation(half, 2) == pytest.approx(full, abs=0.02)


def test_corrected_ceiling_and_table() -> None:
    est = corrected_ceiling(Estimate(0.67, 0.60, 0.74, 120), _Bench())
    assert 0.67 < est.estimate < 1 and est.low < est.estimate < est.high and 'Spearman-Brown' in est.method
    table = pd.DataFrame([dict(method='reliability', metric=m, estimate=0.67, low=0.6, high=0.74, n=120)
                          for m in ('kendall_tau', 'spearman', 'topk_precision@10')]
                         + [dict(method='params', metric='kendall_tau', estimate=0.4, low=0.3, high=0.5, n=120)])
    out = corrected_ceiling_table(table, _Bench())
    assert set(out['method']) == {CORRECTED_NAME, 'params'} and len(out) == 3
    assert out.loc[out['metric'] == 'kendall_tau', 'estimate'].max() == pytest.approx(est.estimate)
    with pytest.raises(ValueError, match='4 seeds'):
        corrected_ceiling(Estimate(0.5, 0.4, 0.6, 10), type('B', (), {'seeds': (0, 1)})())
