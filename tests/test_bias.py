"""Weight-sharing bias analyses on planted cases with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasviz.analysis.bias import (
    bn_handling,
    expected_best_of_random,
    picking_vs_pruning,
    pruned_search_curve,
    seed_stability,
    size_bias,
)
from nasviz.analysis.preference import choice_preference
from nasviz.spaces import get_space


@pytest.fixture(scope='module')
def cells():
    space = get_space('nb201')
    archs = space.sample_distinct(400, rng=0)
    rng = np.random.default_rng(1)
    # a truth that rewards 3x3 convolutions, plus noise
    truth = np.array([3.0 * a.count('nor_conv_3x3') for a in archs]) + rng.normal(0, 1.0, len(archs))
    return space, archs, truth


def test_scores_equal_to_truth_pick_and_prune_perfectly(cells):
    _, _, truth = cells
    r = picking_vs_pruning(truth, truth, n_resamples=200)
    assert all(e.estimate == 1.0 for e in r['top_precision'].values())
    assert all(e.estimate == 1.0 for e in r['bottom_precision'].values())
    assert r['regret'].estimate == 0.0 and all(v == 0.0 for v in r['regret_top'].values())
    assert r['tau_in_true_top'].estimate == pytest.approx(1.0)


def test_random_scores_sit_at_the_random_expectation(cells):
    _, _, truth = cells
    rng = np.random.default_rng(3)
    means = {f: [] for f in (0.1, 0.5)}
    for _ in range(30):
        r = picking_vs_pruning(rng.permutation(truth), truth, top=(0.1,), bottom=(0.1, 0.5), n_resamples=100)
        for f in means:
            means[f].append(r['bottom_precision'][f].estimate)
    assert np.mean(means[0.5]) == pytest.approx(0.5, abs=0.05)
    assert np.mean(means[0.1]) == pytest.approx(0.1, abs=0.04)


def test_a_pruner_that_cannot_pick(cells):
    """Scores that know only who is bad (truth clipped from above) prune well and pick at random."""
    _, _, truth = cells
    rng = np.random.default_rng(4)
    clipped = np.minimum(truth, np.quantile(truth, 0.5)) + rng.normal(0, 1e-6, truth.size)
    r = picking_vs_pruning(clipped, truth, n_resamples=200)
    assert r['bottom_precision'][0.5].estimate > 0.95
    assert r['top_precision'][0.1].low < 0.35  # near random (0.1) up to noise, far below 1


def test_planted_op_preference_is_found_and_nothing_else(cells):
    space, archs, truth = cells
    # the predictor = truth + a strong preference for pooling that the truth does not have
    scores = truth + 4.0 * np.array([a.count('avg_pool_3x3') for a in archs])
    df = choice_preference(archs, scores, truth, intervals=True, n_resamples=100).set_index(['slot', 'choice'])
    ops = df.loc['*']
    assert ops['bias'].idxmax() == 'avg_pool_3x3'
    assert ops.loc['avg_pool_3x3', 'score_low'] > ops.loc['avg_pool_3x3', 'truth_high']
    # every single edge carries the same planted preference
    per_slot = df.drop(index='*', level='slot').xs('avg_pool_3x3', level='choice')
    assert (per_slot['bias'] > 0.1).all()
    # scores equal to the truth: no bias at all
    none = choice_preference(archs, truth, truth)
    assert np.allclose(none['bias'], 0.0)


def test_size_bias_planted_and_absent(cells):
    space, archs, truth = cells
    rng = np.random.default_rng(5)
    params = np.array([a.count('nor_conv_3x3') * 9 + a.count('nor_conv_1x1') for a in archs]) + rng.normal(
        0, 0.1, len(archs)
    )
    assert np.isnan(size_bias(truth, truth, params, n_resamples=200).estimate)  # nothing left to explain
    planted = size_bias(truth + 0.5 * params, truth, params, n_resamples=200)
    assert planted.low > 0.2
    # sizes unrelated to the cells: no size bias, whatever the scores
    null = size_bias(truth + 0.5 * params, truth, rng.permutation(params), n_resamples=200)
    assert null.covers(0.0)


def test_seed_stability(cells):
    _, _, truth = cells
    rng = np.random.default_rng(6)
    runs = np.stack([truth + rng.normal(0, 2, truth.size) for _ in range(3)])
    r = seed_stability(runs, truth, n_resamples=200)
    assert len(r['per_seed']) == 3 and r['tau_sd'] >= 0
    assert set(r['between_seeds']) == {(0, 1), (0, 2), (1, 2)}
    assert 0 < r['between_mean'] < 1
    with pytest.raises(ValueError, match='seeds x cells'):
        seed_stability(truth, truth)


def test_bn_handling_compares_each_mode_to_recalibration(cells):
    _, _, truth = cells
    rng = np.random.default_rng(7)
    good = truth + rng.normal(0, 1, truth.size)
    bad = rng.normal(0, 1, truth.size)  # e.g. running statistics that do not fit any path
    t = bn_handling({'recalibrate': good, 'running': bad, 'batch': good}, truth, n_resamples=200)
    assert list(t.index) == ['recalibrate', 'running', 'batch'] and (t['n'] == truth.size).all()
    assert t.loc['recalibrate', 'diff'] == 0 and t.loc['batch', 'diff'] == pytest.approx(0)
    assert t.loc['running', 'diff_high'] < 0 < t.loc['recalibrate', 'tau_low']
    assert t.loc['running', 'tau_low'] < 0.1 < t.loc['recalibrate', 'kendall_tau']
    with pytest.raises(ValueError, match="reference 'recalibrate'"):
        bn_handling({'batch': good}, truth)
    with pytest.raises(ValueError, match='has 3 scores'):
        bn_handling({'recalibrate': good[:3]}, truth)


def test_expected_best_matches_enumeration():
    values = np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6])
    for b in range(1, 7):
        exact = np.mean([max(c) for c in itertools.combinations(values, b)])
        assert expected_best_of_random(values, b) == pytest.approx(exact)
    with pytest.raises(ValueError, match='budget'):
        expected_best_of_random(values, 7)


def test_pruned_search_curve_closed_form(cells):
    _, _, truth = cells
    curve = pruned_search_curve(truth, truth, prune=(0.0, 0.5, 0.9), budget=5)
    # perfect scores: pruning only removes bad cells, so the expected best rises with X
    assert curve['expected_best'].is_monotonic_increasing
    assert curve.loc[0, 'gain'] == pytest.approx(0.0)
    keep = np.sort(truth)[len(truth) // 2 :]
    assert curve.loc[1, 'expected_best'] == pytest.approx(expected_best_of_random(keep, 5))
    assert (curve['best_left'] == truth.max()).all()


def test_bad_inputs_name_the_problem(cells):
    _, archs, truth = cells
    with pytest.raises(ValueError, match='pair'):
        picking_vs_pruning(truth[:10], truth)
    with pytest.raises(ValueError, match='fractions'):
        picking_vs_pruning(truth, truth, top=(1.5,))
    with pytest.raises(ValueError, match='architectures'):
        choice_preference(archs[:5], truth, truth)
    with pytest.raises(ValueError, match='prune'):
        pruned_search_curve(truth, truth, prune=(1.0,))


def test_bias_inputs_checks_the_number_of_seeds():
    from nasviz.experiment import bias_inputs

    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match='n_seeds must be an integer >= 1'):
            bias_inputs('tiny', spaces=(), published=False, n_seeds=bad)
