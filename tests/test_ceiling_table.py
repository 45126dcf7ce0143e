"""The ceiling the notebooks print: split-half reliability corrected to the seeds the truth averages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasviz.audit.ceiling import corrected_ceiling_table, tau_spearman_brown


class _Bench:
    seeds = (0, 1, 2, 3)


def test_corrected_split_half_matches_a_full_seed_copy() -> None:
    # simulated cells: two 2-seed half-means, and two independent 4-seed means of the same cells
    rng = np.random.default_rng(0)
    true = rng.standard_normal(4000)
    seeds = true[:, None] + 1.2 * rng.standard_normal((4000, 8))
    half = stats.kendalltau(seeds[:, :2].mean(1), seeds[:, 2:4].mean(1))[0]
    full = stats.kendalltau(seeds[:, :4].mean(1), seeds[:, 4:].mean(1))[0]
    assert tau_spearman_brown(half, 2) == pytest.approx(full, abs=0.02)


def test_table_rows_become_the_corrected_ceiling() -> None:
    table = pd.DataFrame(
        [
            dict(
                method='reliability',
                metric=m,
                estimate=0.67,
                low=0.6,
                high=0.74,
                n=120,
                level=0.95,
                ci_method='bootstrap',
            )
            for m in ('kendall_tau', 'spearman', 'topk_precision@10')
        ]
        + [
            dict(
                method='params',
                metric='kendall_tau',
                estimate=0.4,
                low=0.3,
                high=0.5,
                n=120,
                level=0.95,
                ci_method='bootstrap',
            )
        ]
    )
    out = corrected_ceiling_table(table, _Bench())
    assert sorted(out['method']) == ['params', 'reliability (Spearman-Brown)'] and len(out) == 2
    row = out[out['method'] == 'reliability (Spearman-Brown)'].iloc[0]
    assert row['estimate'] == pytest.approx(tau_spearman_brown(0.67, 2)) and row['low'] < row['estimate'] < row['high']
    assert 'Spearman-Brown' in row['ci_method']
    plain = table[table['method'] == 'params']
    assert corrected_ceiling_table(plain, _Bench()) is plain
