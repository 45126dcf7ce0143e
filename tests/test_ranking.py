"""Ranking metrics agree with scipy, handle ties fairly, and come with baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasviz.analysis.baselines import baseline_scores
from nasviz.analysis.metrics import (
    kendall_tau,
    random_baseline,
    rank_metrics,
    ranking_table,
    regret,
    spearman,
    topk_precision,
)
from nasviz.bench import MicroBench, NB201Table
from nasviz.spaces.nb201 import sample_archs


def _pairs(n: int, seed: int, ties: bool):
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    pred = truth + rng.normal(scale=1.0, size=n)
    if ties:  # coarse rounding makes many ties on both sides
        truth, pred = np.round(truth), np.round(pred * 2) / 2
    return pred, truth


@pytest.mark.parametrize(
    'n,seed,ties', [(2, 0, False), (5, 1, True), (40, 2, False), (40, 3, True), (1000, 4, True), (1000, 5, False)]
)
def test_correlations_agree_with_scipy(n: int, seed: int, ties: bool) -> None:
    pred, truth = _pairs(n, seed, ties)
    if np.ptp(pred) == 0 or np.ptp(truth) == 0:
        pred[0] += 1.0
        truth[-1] += 1.0
    assert kendall_tau(pred, truth) == pytest.approx(stats.kendalltau(pred, truth).statistic, abs=1e-12)
    assert spearman(pred, truth) == pytest.approx(stats.spearmanr(pred, truth).statistic, abs=1e-12)
    # lists and pandas Series are accepted as well
    assert kendall_tau(list(pred), pd.Series(truth)) == pytest.approx(kendall_tau(pred, truth))


def test_correlations_known_values() -> None:
    x = np.arange(10.0)
    assert kendall_tau(x, x) == pytest.approx(1.0) and spearman(x, x**3) == pytest.approx(1.0)
    assert kendall_tau(-x, x) == pytest.approx(-1.0)
    assert np.isnan(kendall_tau(np.ones(10), x)) and np.isnan(spearman(x, np.zeros(10)))


def _brute_topk(pred: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Average over every way of breaking the prediction ties at the cut."""
    t_thr = np.sort(truth)[::-1][k - 1]
    good = truth >= t_thr
    p_thr = np.sort(pred)[::-1][k - 1]
    above = np.flatnonzero(pred > p_thr)
    tied = np.flatnonzero(pred == p_thr)
    vals = [
        good[np.concatenate([above, list(c)]).astype(int)].mean() for c in itertools.combinations(tied, k - len(above))
    ]
    return float(np.mean(vals))


def test_topk_precision() -> None:
    truth = np.array([5.0, 4, 3, 2, 1, 0])
    assert topk_precision(truth, truth, 2) == 1.0
    assert topk_precision(-truth, truth, 2) == 0.0
    assert topk_precision(np.array([5.0, 0, 4, 1, 2, 3]), truth, 2) == 0.5
    assert topk_precision(np.array([5.0, 0, 4, 1, 2, 3]), truth, 0.5) == pytest.approx(2 / 3)  # k = 3
    assert topk_precision(np.array([5.0, 0, 4, 1, 2, 3]), truth, 6) == 1.0
    # a constant predictor scores exactly the random expectation k/n
    assert topk_precision(np.zeros(6), truth, 2) == pytest.approx(2 / 6)
    assert topk_precision(np.zeros(10), np.arange(10.0), 0.1) == pytest.approx(0.1)
    # tied truth at the cut: either tied item is a true top-2 item
    assert topk_precision(np.array([3.0, 0, 2, 1]), np.array([9.0, 5, 5, 1]), 2) == 1.0
    assert topk_precision(np.array([3.0, 2, 0, 1]), np.array([9.0, 5, 5, 1]), 2) == 1.0


def test_topk_precision_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(3, 9))
        pred, truth = rng.integers(0, 3, n).astype(float), rng.integers(0, 4, n).astype(float)
        k = int(rng.integers(1, n + 1))
        assert topk_precision(pred, truth, k) == pytest.approx(_brute_topk(pred, truth, k))


def test_regret() -> None:
    truth = np.array([90.0, 94.0, 92.0])
    assert regret(np.array([0.1, 0.9, 0.5]), truth) == 0.0
    assert regret(np.array([0.9, 0.1, 0.5]), truth) == pytest.approx(4.0)
    assert regret(np.array([0.9, 0.1, 0.9]), truth) == pytest.approx(3.0)  # ties: mean of 4 and 2
    assert regret(np.zeros(3), truth) == pytest.approx(94 - truth.mean())


@pytest.mark.parametrize('call', [kendall_tau, spearman, regret, lambda p, t: topk_precision(p, t, 1)])
def test_validation(call) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match='equal lengths'):
        call([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match='at least 2'):
        call([1.0], [1.0])
    with pytest.raises(ValueError, match=r'pred holds 1 NaN'):
        call([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r'truth holds 2 NaN'):
        call([1.0, 2.0, 3.0], [np.nan, 2.0, np.nan])
    with pytest.raises(ValueError, match='1-D'):
        call(np.ones((2, 2)), np.ones((2, 2)))


@pytest.mark.parametrize('k', [0, 7, -1, 1.5, 0.0, 1.0 + 1e-9, True, 'ten'])
def test_bad_k(k) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match='k'):
        topk_precision(np.arange(6.0), np.arange(6.0), k)


def test_rank_metrics() -> None:
    pred, truth = _pairs(200, 9, ties=True)
    m = rank_metrics(pred, truth, ks=(10, 0.05))
    assert list(m) == ['n', 'kendall_tau', 'spearman', 'topk_precision@10', 'topk_precision@5%', 'regret']
    assert m['n'] == 200 and m['kendall_tau'] == pytest.approx(kendall_tau(pred, truth))
    assert m['topk_precision@5%'] == pytest.approx(topk_precision(pred, truth, 10))
    assert m['regret'] == pytest.approx(regret(pred, truth))
    pred[:5] = np.nan
    with pytest.raises(ValueError, match='NaN'):
        rank_metrics(pred, truth)
    omitted = rank_metrics(pred, truth, nan_policy='omit')
    assert omitted['n'] == 195
    assert omitted['kendall_tau'] == pytest.approx(kendall_tau(pred[5:], truth[5:]))
    with pytest.raises(ValueError, match='nan_policy'):
        rank_metrics(pred, truth, nan_policy='ignore')


def test_random_baseline() -> None:
    truth = np.random.default_rng(0).normal(90, 3, size=500)
    rb = random_baseline(truth, n_repeats=60, random_state=1, ks=(10, 0.1))
    assert rb == random_baseline(truth, n_repeats=60, random_state=1, ks=(10, 0.1))  # reproducible
    assert rb != random_baseline(truth, n_repeats=60, random_state=2, ks=(10, 0.1))
    assert rb['n'] == 500 and rb['n_repeats'] == 60
    se = 4 * rb['kendall_tau_std'] / np.sqrt(60)
    assert abs(rb['kendall_tau']) < se and abs(rb['spearman']) < 4 * rb['spearman_std'] / np.sqrt(60)
    assert rb['topk_precision@10%'] == pytest.approx(0.1, abs=4 * rb['topk_precision@10%_std'] / np.sqrt(60))
    assert rb['regret'] == pytest.approx(truth.max() - truth.mean(), abs=4 * rb['regret_std'] / np.sqrt(60))
    assert rb['kendall_tau_std'] == pytest.approx(np.sqrt(2 * (2 * 500 + 5) / (9 * 500 * 499)), rel=0.35)


def test_ranking_table() -> None:
    pred, truth = _pairs(300, 11, ties=False)
    scores = {'noisy': pred, 'oracle': truth, 'inverse': -truth}
    df = ranking_table(scores, truth, ks=(10,))
    assert list(df.index) == ['noisy', 'oracle', 'inverse'] and df.index.name == 'method'
    assert list(df.columns) == ['n', 'kendall_tau', 'spearman', 'topk_precision@10', 'regret']
    assert df.loc['oracle', 'kendall_tau'] == pytest.approx(1.0) and df.loc['oracle', 'regret'] == 0.0
    assert df.loc['inverse', 'topk_precision@10'] == 0.0
    assert df.loc['noisy', 'spearman'] == pytest.approx(spearman(pred, truth))
    full = ranking_table(scores, truth, include_random=True, n_repeats=20)
    assert full.index[-1] == 'random' and abs(full.loc['random', 'kendall_tau']) < 0.05
    assert np.isnan(full.loc['oracle', 'kendall_tau_std']) and full.loc['random', 'kendall_tau_std'] > 0
    with pytest.raises(ValueError, match='at least one method'):
        ranking_table({}, truth)


def test_baseline_scores_microbench() -> None:
    archs = sample_archs(30, rng=0, unique=True, exclude_degenerate=True)
    rng = np.random.default_rng(0)
    q = rng.uniform(80, 95, 30)
    frame = pd.DataFrame(
        {
            'arch_str': [str(a) for a in archs],
            'params': np.arange(30) * 10.0,
            'acc_seed0': q + rng.normal(0, 0.5, 30),
            'acc_seed1': q + rng.normal(0, 0.5, 30),
        }
    )
    mb = MicroBench.from_frame(frame, {'dataset': 'digits'})
    b = baseline_scores(mb, archs[::-1])
    assert set(b) == {'params', 'seed-to-seed'}
    np.testing.assert_array_equal(b['params'], frame['params'].to_numpy()[::-1])
    np.testing.assert_array_equal(b['seed-to-seed'], frame['acc_seed1'].to_numpy()[::-1])
    truth = mb.accuracies(archs[::-1], metric='seed0')
    assert kendall_tau(b['seed-to-seed'], truth) == pytest.approx(mb.seed_to_seed_tau())
    one = MicroBench.from_frame(frame.drop(columns='acc_seed1'), {'dataset': 'digits'})
    assert set(baseline_scores(one, archs)) == {'params'}


def test_baseline_scores_tiny_table() -> None:
    t = NB201Table.from_frame(
        pd.DataFrame(
            {
                'index': [0, 1],
                'arch_str': [str(a) for a in sample_archs(2, rng=0)],
                'cifar10_test_200ep': [90.0, 91.0],
                'params_mb': [0.5, 0.7],
            }
        )
    )
    assert set(baseline_scores(t, t.archs())) == {'params'}  # no validation column, no ceiling


def test_baselines_on_real_table(nb201_table: NB201Table) -> None:
    archs = nb201_table.archs()
    truth = nb201_table.accuracies(archs, 'cifar10', 'test_200ep')
    b = baseline_scores(nb201_table, archs)
    assert set(b) == {'params', 'valid-as-predictor'}
    tau = kendall_tau(b['params'], truth)
    assert 0.54 <= tau <= 0.62  # the published params-vs-accuracy correlation on NAS-Bench-201
    df = ranking_table(b, truth, ks=(10, 0.01))
    assert df.loc['valid-as-predictor', 'kendall_tau'] > df.loc['params', 'kendall_tau']
    assert df.loc['params', 'spearman'] == pytest.approx(stats.spearmanr(b['params'], truth).statistic)


def test_ranking_with_baselines_scores_ceiling_against_first_seed():
    import pandas as pd

    from nasviz.analysis.baselines import ranking_with_baselines
    from nasviz.bench import MicroBench
    from nasviz.spaces.nb201 import sample_archs

    archs = sample_archs(40, rng=0, unique=True, exclude_degenerate=True)
    rng = np.random.default_rng(0)
    s0 = rng.normal(60, 5, 40)
    s1 = s0 + rng.normal(0, 5, 40)
    df = pd.DataFrame(
        dict(arch_str=[str(a) for a in archs], params=rng.integers(1, 100, 40), acc_seed0=s0, acc_seed1=s1)
    )
    mb = MicroBench.from_frame(df, {'dataset': 'digits'})
    t = ranking_with_baselines({'mine': s0}, mb, archs)
    assert list(t.index[:1]) == ['mine'] and (t.loc['mine', 'kind'] == 'method')
    assert {'params', 'seed-to-seed', 'random-scores'} <= set(t.index)
    # the ceiling is seed 1 predicting seed 0, not the mean it is part of
    assert t.loc['seed-to-seed', 'kendall_tau'] == pytest.approx(kendall_tau(s1, s0))
    assert t.loc['seed-to-seed', 'kendall_tau'] < kendall_tau(s1, (s0 + s1) / 2)


def test_choice_preference_reads_which_ops_each_ranking_rewards() -> None:
    from nasviz.analysis.preference import choice_preference

    archs = sample_archs(200, rng=3)
    pred = np.array([a.ops.count('skip_connect') for a in archs], dtype=float)
    truth = np.array([a.ops.count('nor_conv_3x3') for a in archs], dtype=float)
    df = choice_preference([str(a) for a in archs], pred, truth, per_slot=False).set_index('choice')
    assert list(df.index) == ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']
    assert df.loc['skip_connect', 'tau_score'] == pytest.approx(1.0) and df.loc[
        'nor_conv_3x3', 'tau_truth'
    ] == pytest.approx(1.0)
    assert df.loc['skip_connect', 'bias'] > 0.9 and df.loc['nor_conv_3x3', 'bias'] < -0.1
    assert df['mean_count'].sum() == pytest.approx(6.0)
    assert 'tau_truth' not in choice_preference(archs, pred, per_slot=False).columns
    with pytest.raises(ValueError, match='scores has 3 values for 200 architectures'):
        choice_preference(archs, pred[:3])
    with pytest.raises(ValueError, match='registered space'):
        choice_preference(['|bad|'] * 200, pred)
