"""Method comparisons paired over seeds and cells."""

import numpy as np
import pytest

from nasviz.partition.compare import Comparison, hierarchical_difference


def _scores(truth, noise, n_seeds, rng):
    return [truth + noise * rng.standard_normal(truth.size) for _ in range(n_seeds)]


def test_planted_difference_is_detected_and_null_is_not():
    rng = np.random.default_rng(0)
    truth = rng.standard_normal(150)
    good, bad = _scores(truth, 1.0, 5, rng), _scores(truth, 2.0, 5, rng)
    d = hierarchical_difference(good, bad, truth, n_resamples=300)
    assert d['diff'] > 0.1 and d['low'] > 0 and d['p_value'] < 0.05
    assert 0 < d['se'] < 0.05 and d['n_seeds'] == 5 and d['n_cells'] == 150
    same_a, same_b = _scores(truth, 1.5, 5, rng), _scores(truth, 1.5, 5, rng)
    null = hierarchical_difference(same_a, same_b, truth, n_resamples=300)
    assert null['low'] < 0 < null['high']


def test_replicates_are_scipy_kendall_on_the_drawn_seeds_and_cells():
    """Each replicate is scipy's Kendall tau-b on the resampled cells, averaged over the drawn
    seeds (seeds, then cells, replicate after replicate from one generator): the CI and p-value
    of that loop, to the bit, with ties on both sides and a score vector shared by every seed."""
    from scipy import stats

    rng = np.random.default_rng(3)
    truth = np.round(rng.standard_normal(25), 1)
    a = [np.round(truth + rng.standard_normal(25), 1) for _ in range(3)]
    b = [np.round(3 * rng.standard_normal(25))] * 3  # like parameter counts: tied, the same every seed
    n_res = 200
    draw = np.random.default_rng(7)
    reps = []
    for _ in range(n_res):
        seeds, cells = draw.integers(0, 3, 3), draw.integers(0, 25, 25)
        reps.append(
            np.mean(
                [
                    stats.kendalltau(a[s][cells], truth[cells])[0] - stats.kendalltau(b[s][cells], truth[cells])[0]
                    for s in seeds
                ]
            )
        )
    reps = np.array(reps)
    d = hierarchical_difference(a, b, truth, n_resamples=n_res, random_state=7)
    assert d['se'] == float(reps.std(ddof=1))
    alpha = (1 - 0.95) / 2
    assert (d['low'], d['high']) == (float(np.quantile(reps, alpha)), float(np.quantile(reps, 1 - alpha)))
    assert d['p_value'] == float(min(1.0, 2 * min(np.mean(reps <= 0), np.mean(reps >= 0))))


def test_difference_needs_matching_shapes():
    t = np.arange(10.0)
    with pytest.raises(ValueError, match='scores_a'):
        hierarchical_difference([t], [t, t], t)


def test_comparison_summary_and_differences():
    rng = np.random.default_rng(1)
    truth = rng.standard_normal(60)
    import pandas as pd

    from nasviz.analysis.metrics import kendall_tau

    scores, rows = {}, []
    for m, noise in (('spos', 2.0), ('naslid', 0.7)):
        for s in range(3):
            sc = truth + noise * rng.standard_normal(60)
            scores[(m, s)] = sc
            rows.append(dict(method=m, seed=s, kind='method', n=60, kendall_tau=kendall_tau(sc, truth)))
    comp = Comparison(runs=pd.DataFrame(rows), scores=scores, truth=truth, archs=[str(i) for i in range(60)])
    summ = comp.summary()
    assert list(summ.index) == ['spos', 'naslid'] and (summ['n_runs'] == 3).all()
    assert (summ['low'] < summ['mean']).all() and (summ['mean'] < summ['high']).all()
    assert np.allclose(summ['se'], summ['std'] / np.sqrt(3))
    diffs = comp.differences('spos', n_resamples=200)
    assert diffs.loc['naslid', 'diff'] > 0
    with pytest.raises(ValueError, match='reference'):
        comp.differences('gmnas')


def test_levels_sweep_has_one_row_per_method_and_level():
    """SPOS never splits (levels 0); the others keep their level, the most common leaf count and
    the seed summary of their comparison."""
    import pandas as pd

    from nasviz.analysis.metrics import kendall_tau
    from nasviz.analysis.seeds import levels_sweep

    rng = np.random.default_rng(2)
    truth = rng.standard_normal(40)
    comps = {}
    for lv, methods in ((1, ('spos', 'naslid')), (2, ('naslid',))):
        scores, rows = {}, []
        for m in methods:
            for s in range(3):
                sc = truth + rng.standard_normal(40)
                scores[(m, s)] = sc
                rows.append(
                    dict(
                        method=m,
                        seed=s,
                        kind='method',
                        n=40,
                        n_leaves=1 if m == 'spos' else 2**lv,
                        kendall_tau=kendall_tau(sc, truth),
                    )
                )
        comps[lv] = Comparison(runs=pd.DataFrame(rows), scores=scores, truth=truth, archs=[str(i) for i in range(40)])
    sweep = levels_sweep(comps)
    assert list(zip(sweep['method'], sweep['levels'], sweep['n_partitions'])) == [
        ('spos', 0, 1),
        ('naslid', 1, 2),
        ('naslid', 2, 4),
    ]
    summ = comps[2].summary().loc['naslid']
    row = sweep.iloc[2]
    assert row['kendall_tau'] == summ['mean'] and row['se'] == summ['se'] and row['n_seeds'] == 3 and row['n'] == 40
    assert (sweep['kind'] == 'method').all()
    assert levels_sweep({}).empty
