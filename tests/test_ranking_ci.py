"""Confidence intervals of ranking metrics: exact engines, honest coverage, paired tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasviz.analysis.baselines import baseline_metrics_ci, ceiling_scores, ranking_with_baselines_ci
from nasviz.analysis.ci_tables import CI_COLUMNS, ci_wide, ranking_table_ci, table_estimates
from nasviz.analysis.metrics import kendall_tau, rank_metrics, topk_precision
from nasviz.analysis.seeds import SeedSummary, paired_seed_difference, seed_summary
from nasviz.analysis.uncertainty import (
    Estimate,
    PairedDifference,
    _kendall_rows,
    _PairedStat,
    _spearman_rows,
    kendall_ci,
    metric_ci,
    paired_difference,
    random_null,
    spearman_ci,
    topk_precision_ci,
)
from nasviz.bench import MicroBench, NB201Table
from nasviz.spaces.nb201 import sample_archs


def _bivariate(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded draw from a standard bivariate normal: population tau = 2/pi * asin(rho)."""
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], size=n)
    return x[:, 0], x[:, 1]


# ---------------------------------------------------------------------------------------------
# Estimate
# ---------------------------------------------------------------------------------------------
def test_estimate_plain_data_and_json_round_trip() -> None:
    e = Estimate(0.1349, -0.0123, 0.2512, 120, method='bootstrap percentile')
    assert str(e) == '0.13 [95% CI -0.01, 0.25], n=120'
    assert format(e, '.3f') == '0.135 [95% CI -0.012, 0.251], n=120'
    assert e.covers(0.0) and not e.excludes_zero and e.covers(0.2512) and not e.covers(0.26)
    d = e.to_dict()
    assert set(d) == {'estimate', 'low', 'high', 'n', 'level'}
    back = Estimate.from_dict(json.loads(json.dumps(d)))
    assert back.to_dict() == d and isinstance(back.n, int)
    # NaN bounds (no interval) become null, and come back as NaN
    none = Estimate(0.5, float('nan'), float('nan'), 1)
    text = json.dumps(none.to_dict(), allow_nan=False)
    assert json.loads(text)['low'] is None
    again = Estimate.from_dict(json.loads(text))
    assert np.isnan(again.low) and not again.has_interval and not again.covers(0.5) and not again.excludes_zero
    assert str(none) == '0.50 [no CI], n=1'
    assert Estimate(-0.3, -0.4, -0.2, 50).excludes_zero
    assert Estimate(-0.3, -0.4, -0.2, 50).below(Estimate(0.0, -0.1, 0.1, 50))
    assert str(Estimate(0.5, 0.4, 0.6, 10, level=0.9)) == '0.50 [90% CI 0.40, 0.60], n=10'


@pytest.mark.parametrize(
    'kw, match',
    [(dict(level=1.0), 'level'), (dict(level=0), 'level'), (dict(n=-1), 'n'), (dict(low=0.3, high=0.1), 'low')],
)
def test_estimate_validation(kw, match) -> None:  # noqa: ANN001
    args = dict(estimate=0.2, low=0.1, high=0.3, n=10) | kw
    with pytest.raises(ValueError, match=match):
        Estimate(**args)
    with pytest.raises(ValueError, match='missing'):
        Estimate.from_dict({'estimate': 0.1})


# ---------------------------------------------------------------------------------------------
# The resampling engines equal the plain metrics on every resample
# ---------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore::scipy.stats.ConstantInputWarning')  # scipy's reference on a constant resample
@pytest.mark.parametrize('n, ties', [(7, True), (40, False), (40, True), (300, True)])
def test_resampled_metrics_equal_scipy(n: int, ties: bool) -> None:
    rng = np.random.default_rng(n)
    t = rng.normal(size=n)
    p = t + rng.normal(size=n)
    if ties:
        p, t = np.round(p), np.round(2 * t)
    idx = rng.integers(0, n, size=(25, n))  # bootstrap resamples: duplicates everywhere
    tau = _PairedStat('kendall_tau', p, t)(idx)
    ref = np.array([stats.kendalltau(p[i], t[i], variant='b').statistic for i in idx])
    np.testing.assert_allclose(tau, ref, atol=1e-12)
    np.testing.assert_allclose(_kendall_rows(p[idx], t[idx]), ref, atol=1e-12)  # the per-row engine
    rho = _PairedStat('spearman', p, t)(idx)  # ranks from cumulative counts, no sort per resample
    ref = np.array([stats.spearmanr(p[i], t[i]).statistic for i in idx])
    np.testing.assert_allclose(rho, ref, atol=1e-12)
    np.testing.assert_allclose(_spearman_rows(p[idx], t[idx]), ref, atol=1e-12)  # the per-row engine
    k = min(5, n)
    top = _PairedStat(f'topk_precision@{k}', p, t)(idx)
    np.testing.assert_allclose(top, [topk_precision(p[i], t[i], k) for i in idx], atol=1e-12)
    # the estimate is the metric on the data as given
    assert _PairedStat('kendall_tau', p, t).value() == pytest.approx(kendall_tau(p, t), abs=1e-12)


def test_metric_ci_estimates_match_rank_metrics() -> None:
    p, t = _bivariate(80, 0.5, 1)
    m = rank_metrics(p, t, ks=(10, 0.05))
    assert kendall_ci(p, t).estimate == pytest.approx(m['kendall_tau'])
    assert spearman_ci(p, t).estimate == pytest.approx(m['spearman'])
    top = topk_precision_ci(p, t, 0.05)
    assert top.estimate == pytest.approx(m['topk_precision@5%']) == pytest.approx(topk_precision(p, t, 0.05))
    assert 0 <= top.low <= top.high <= 1
    e = metric_ci('kendall_tau', p, t, n_resamples=500)
    assert e.low < e.estimate < e.high and e.n == 80 and e.level == 0.95 and 'percentile' in e.method
    # seeded: the same seed gives the same interval, another seed a slightly different one
    assert metric_ci('kendall_tau', p, t, n_resamples=500) == e
    assert metric_ci('kendall_tau', p, t, n_resamples=500, random_state=1) != e
    # a wider level gives a wider interval
    assert kendall_ci(p, t, level=0.99).width > kendall_ci(p, t, level=0.8).width


def test_bca_falls_back_to_percentile_when_degenerate() -> None:
    x = np.arange(30.0)
    e = kendall_ci(x, x, method='BCa', n_resamples=200)  # tau is 1 on every resample
    assert (e.estimate, e.low, e.high) == (1.0, 1.0, 1.0)
    assert 'percentile' in e.method and 'BCa degenerate' in e.method
    p, t = _bivariate(60, 0.4, 2)
    bca = kendall_ci(p, t, method='BCa', n_resamples=500)
    assert bca.method.startswith('bootstrap BCa') and bca.covers(bca.estimate)


@pytest.mark.parametrize(
    'call, match',
    [
        (lambda p, t: metric_ci('kendall', p, t), 'metric'),
        (lambda p, t: metric_ci('topk_precision@', p, t), 'metric'),
        (lambda p, t: kendall_ci(p, t, level=95), 'level'),
        (lambda p, t: kendall_ci(p, t, n_resamples=10), 'n_resamples'),
        (lambda p, t: kendall_ci(p[:-1], t), 'equal lengths'),
        (lambda p, t: kendall_ci(p, t, method='bca'), 'method'),
        (lambda p, t: topk_precision_ci(p, t, 0), 'k'),
        (lambda p, t: paired_difference(p, p[:-1], t), 'pred_b'),
        (lambda p, t: paired_difference(p, p, t, test='t'), 'test'),
    ],
)
def test_validation(call, match) -> None:  # noqa: ANN001
    p, t = _bivariate(20, 0.3, 0)
    with pytest.raises(ValueError, match=match):
        call(p, t)


# ---------------------------------------------------------------------------------------------
# Coverage: the 95% interval covers the population tau about 95% of the time
# ---------------------------------------------------------------------------------------------
def test_bootstrap_ci_coverage_in_simulation() -> None:
    """200 seeded samples of 60 cells from a bivariate normal with rho = 0.5, whose population
    Kendall tau is 2/pi * asin(rho) = 0.333: the 95% percentile interval must cover it in
    90-99% of the samples (binomial SE of the rate at 0.95 is 0.015), and a 50% interval in
    38-62% of them (so an interval of the wrong width fails one of the two)."""
    rho, n, draws = 0.5, 60, 200
    tau = 2 / np.pi * np.arcsin(rho)
    hits95 = hits50 = 0
    for d in range(draws):
        p, t = _bivariate(n, rho, 10_000 + d)
        hits95 += kendall_ci(p, t, n_resamples=400, random_state=d).covers(tau)
        hits50 += kendall_ci(p, t, level=0.5, n_resamples=400, random_state=d).covers(tau)
    assert 0.90 <= hits95 / draws <= 0.99, hits95 / draws
    assert 0.38 <= hits50 / draws <= 0.62, hits50 / draws


# ---------------------------------------------------------------------------------------------
# Paired comparison of two rankings on the same cells
# ---------------------------------------------------------------------------------------------
def test_paired_difference_detects_a_planted_difference() -> None:
    rng = np.random.default_rng(0)
    t = rng.normal(size=150)
    good, bad = t + rng.normal(scale=0.5, size=150), t + rng.normal(scale=2.0, size=150)
    d = paired_difference(good, bad, t, n_resamples=1000)
    assert isinstance(d, PairedDifference) and d.metric == 'kendall_tau'
    assert d.diff.estimate == pytest.approx(kendall_tau(good, t) - kendall_tau(bad, t))
    assert d.diff.low > 0 and d.significant and d.p_value < 0.01
    assert d.a.estimate == pytest.approx(kendall_tau(good, t)) and d.b.estimate == pytest.approx(kendall_tau(bad, t))
    json.dumps(d.to_dict(), allow_nan=False)
    # the other way round is the mirror image
    r = paired_difference(bad, good, t, n_resamples=1000)
    assert r.diff.estimate == pytest.approx(-d.diff.estimate) and r.diff.high < 0
    # the permutation test (swapping a's and b's ranks per cell) agrees
    perm = paired_difference(good, bad, t, n_resamples=200, test='permutation')
    assert perm.p_value < 0.05 and perm.test == 'permutation'
    # top-k and Spearman work through the same path
    assert paired_difference(good, bad, t, metric='spearman', n_resamples=500).diff.low > 0


def test_paired_difference_false_positive_rate_is_sane() -> None:
    """Two predictors of equal quality (same noise level): the CI of their difference should
    exclude zero in about 5% of 40 seeded trials; a broken test (e.g. unpaired, or too narrow)
    flags far more."""
    flagged = 0
    pvals = []
    for s in range(40):
        rng = np.random.default_rng(100 + s)
        t = rng.normal(size=80)
        a, b = t + rng.normal(size=80), t + rng.normal(size=80)
        d = paired_difference(a, b, t, n_resamples=400, random_state=s)
        flagged += d.significant
        pvals.append(d.p_value)
    assert flagged <= 6, flagged  # 15%: P(>= 7 of 40 | rate 0.05) < 0.5%
    assert np.mean(np.array(pvals) < 0.05) <= 0.15 and np.median(pvals) > 0.2


# ---------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------
def test_seed_summary() -> None:
    s = seed_summary([1.0, 2.0, 3.0])
    assert isinstance(s, SeedSummary) and (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert s.se == pytest.approx(1 / np.sqrt(3))
    half = stats.t.ppf(0.975, 2) / np.sqrt(3)
    assert (s.ci.low, s.ci.high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert s.ci.method == 't, SE over seeds' and s.values == (1.0, 2.0, 3.0)
    assert str(s) == '2.000 ± 0.577 (mean ± SE over 3 seeds; std 1.000)'
    json.dumps(s.to_dict(), allow_nan=False)
    one = seed_summary([0.4])
    assert one.n == 1 and np.isnan(one.se) and not one.ci.has_interval and 'no SE' in str(one)
    json.dumps(one.to_dict(), allow_nan=False)
    for bad in ([], [1.0, np.nan]):
        with pytest.raises(ValueError, match='values'):
            seed_summary(bad)


def test_paired_seed_difference() -> None:
    rng = np.random.default_rng(3)
    t = rng.normal(size=100)
    a = [t + rng.normal(scale=0.7, size=100) for _ in range(4)]
    b = [t + rng.normal(scale=1.5, size=100) for _ in range(4)]
    d = paired_seed_difference(a, b, t)
    per_seed = [kendall_tau(x, t) - kendall_tau(y, t) for x, y in zip(a, b)]
    assert d.values == pytest.approx(tuple(per_seed)) and d.n == 4
    assert d.mean == pytest.approx(np.mean(per_seed)) and d.se == pytest.approx(np.std(per_seed, ddof=1) / 2)
    assert d.ci.low > 0  # the planted gap shows over 4 seeds
    # one truth per seed gives the same answer when they are equal
    assert paired_seed_difference(a, b, [t] * 4).mean == pytest.approx(d.mean)
    with pytest.raises(ValueError, match='scores_a and scores_b'):
        paired_seed_difference(a, b[:3], t)
    with pytest.raises(ValueError, match='truth'):
        paired_seed_difference(a, b, [t] * 3)
    with pytest.raises(ValueError, match='metric'):
        paired_seed_difference(a, b, t, metric='tau')


# ---------------------------------------------------------------------------------------------
# Tables and baselines
# ---------------------------------------------------------------------------------------------
def test_ranking_table_ci_long_and_wide() -> None:
    p, t = _bivariate(90, 0.6, 4)
    scores = {'good': p, 'noise': np.random.default_rng(0).normal(size=90)}
    long = ranking_table_ci(scores, t, ks=(10, 0.1), n_resamples=300)
    assert list(long.columns) == CI_COLUMNS and len(long) == 2 * 4
    assert set(long['metric']) == {'kendall_tau', 'spearman', 'topk_precision@10', 'topk_precision@10%'}
    m = rank_metrics(p, t, ks=(10, 0.1))
    for _metric, val in table_estimates(long, 'kendall_tau').items():
        assert val.low <= val.estimate <= val.high and val.n == 90
    got = long.set_index(['method', 'metric']).loc[('good', 'spearman'), 'estimate']
    assert got == pytest.approx(m['spearman'])
    wide = ci_wide(long)
    assert list(wide.index) == ['good', 'noise'] and wide.loc['good', 'n'] == 90
    assert wide.loc['good', 'kendall_tau_low'] > wide.loc['noise', 'kendall_tau_high']
    with pytest.raises(ValueError, match='at least one method'):
        ranking_table_ci({}, t)
    with pytest.raises(ValueError, match='metric'):
        table_estimates(long, 'regret')


def test_random_null_is_a_range_around_chance() -> None:
    t = np.random.default_rng(0).normal(size=100)
    r = random_null(t, n_draws=400)
    assert abs(r.estimate) < 0.02 and r.low < 0 < r.high and r.n == 100
    # the spread of one random ranking's tau is about sqrt(2(2n+5) / (9n(n-1))) = 0.068 at n=100
    assert r.high - r.low == pytest.approx(2 * 1.96 * np.sqrt(2 * 205 / (9 * 100 * 99)), rel=0.2)
    top = random_null(t, 'topk_precision@10', n_draws=400)
    assert top.estimate == pytest.approx(0.1, abs=0.02)  # chance is k/n
    with pytest.raises(ValueError, match='n_draws'):
        random_null(t, n_draws=5)


def _microbench(n_seeds: int, n: int = 40) -> tuple[MicroBench, list]:
    archs = sample_archs(n, rng=0, unique=True, exclude_degenerate=True)
    rng = np.random.default_rng(0)
    q = rng.normal(60, 5, n)
    frame = pd.DataFrame({'arch_str': [str(a) for a in archs], 'params': rng.integers(1, 100, n)})
    for s in range(n_seeds):
        frame[f'acc_seed{s}'] = q + rng.normal(0, 2, n)
    return MicroBench.from_frame(frame, {'dataset': 'digits'}), archs


def test_baselines_with_intervals_use_split_half_reliability() -> None:
    mb, archs = _microbench(4)
    name, pred, truth = ceiling_scores(mb, archs)
    first, second = mb.halves(archs)
    assert name == 'reliability'
    np.testing.assert_array_equal(pred, second) and np.testing.assert_array_equal(truth, first)
    df = baseline_metrics_ci(mb, archs, n_resamples=200, n_draws=200)
    assert list(df.columns) == ['method', 'kind', *CI_COLUMNS[1:]] and set(df['kind']) == {'baseline'}
    assert list(dict.fromkeys(df['method'])) == ['params', 'random-scores', 'reliability']
    tau = table_estimates(df)
    assert tau['reliability'].estimate == pytest.approx(kendall_tau(second, first))
    assert tau['reliability'].low > tau['random-scores'].high  # a reliable ground truth beats chance
    assert tau['params'].estimate == pytest.approx(kendall_tau(mb.params_many(archs), mb.accuracies(archs)))
    full = ranking_with_baselines_ci(
        {'mine': mb.accuracies(archs, metric='seed0')}, mb, archs, n_resamples=200, n_draws=200
    )
    assert full['kind'].tolist()[:4] == ['method'] * 3 + ['baseline'] and full['method'].iloc[0] == 'mine'
    assert ci_wide(full).loc['reliability', 'kind'] == 'baseline'


def test_baselines_with_intervals_fall_back_to_seed_to_seed_and_valid() -> None:
    mb, archs = _microbench(2)
    assert ceiling_scores(mb, archs)[0] == 'seed-to-seed'
    tau = table_estimates(baseline_metrics_ci(mb, archs, n_resamples=200, n_draws=200))
    assert tau['seed-to-seed'].estimate == pytest.approx(
        kendall_tau(mb.accuracies(archs, metric='seed1'), mb.accuracies(archs, metric='seed0'))
    )
    one, _ = _microbench(1)
    assert ceiling_scores(one, archs) is None
    assert set(baseline_metrics_ci(one, archs, n_resamples=200, n_draws=200)['method']) == {'params', 'random-scores'}
    rng = np.random.default_rng(1)
    archs = sample_archs(30, rng=1, unique=True)
    acc = rng.normal(85, 3, 30)
    table = NB201Table.from_frame(
        pd.DataFrame(
            {
                'index': range(30),
                'arch_str': [str(a) for a in archs],
                'cifar10_test_200ep': acc,
                'cifar10valid_valid_200ep': acc + rng.normal(0, 1, 30),
                'params_mb': rng.uniform(0.1, 1.5, 30),
            }
        )
    )
    name, pred, truth = ceiling_scores(table, archs)
    assert name == 'valid-as-predictor'
    np.testing.assert_array_equal(truth, acc)


def test_reliability_frontier_matches_the_gaussian_closed_form() -> None:
    """Planted ground truth: true accuracies with sd 3, one seed's noise sd 1.5, 4 seeds. The
    split-half Kendall tau of k-seed means is (2/pi) arcsin(r_k) with r_k = t^2 / (t^2 + s^2/k)
    (bivariate normal); measured (k = 1, 2) and projected (every k) must both land on it."""
    from nasviz.analysis.reliability import reliability_frontier

    rng = np.random.default_rng(3)
    t_sd, s_sd, n = 3.0, 1.5, 600
    truth = 70 + rng.standard_normal(n) * t_sd
    acc = truth[:, None] + rng.standard_normal((n, 4)) * s_sd
    f = reliability_frontier(acc, ks=(1, 2, 4, 8), n_sims=100, random_state=0)
    closed = [2 / np.pi * np.arcsin(t_sd**2 / (t_sd**2 + s_sd**2 / k)) for k in (1, 2, 4, 8)]
    assert np.allclose(f['projected'], closed, atol=0.03), (f, closed)
    assert np.allclose(f['measured'][:2], closed[:2], atol=0.03)
    assert f['measured'][2:].isna().all()  # 8 and 16 seeds are not there to measure
    assert f['projected'].is_monotonic_increasing and list(f['seeds_total']) == [2, 4, 8, 16]
    assert abs(f.attrs['noise_sd'] - s_sd) < 0.1 and abs(f.attrs['true_sd'] - t_sd) < 0.3
    # noise-free seeds are perfectly reliable at every k
    exact = reliability_frontier(np.repeat(truth[:, None], 2, axis=1), ks=(1, 3), n_sims=100)
    assert np.allclose(exact['projected'], 1.0) and exact['measured'][0] == pytest.approx(1.0)


def test_reliability_frontier_names_bad_input() -> None:
    from nasviz.analysis.reliability import reliability_frontier

    with pytest.raises(ValueError, match='cells x seeds'):
        reliability_frontier(np.ones(5))
    with pytest.raises(ValueError, match='NaN'):
        reliability_frontier(np.array([[1.0, 2.0], [np.nan, 1.0], [3.0, 3.0]]))
    with pytest.raises(ValueError, match='ks'):
        reliability_frontier(np.ones((4, 2)), ks=(0,))
