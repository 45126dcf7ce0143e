"""nasviz.audit: planted cases with known answers, the bootstrap kernels against scipy on
expanded resamples, CI coverage, the paired test's power and null, and the ceiling's formula."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasviz.analysis.metrics import topk_precision
from nasviz.analysis.uncertainty import Estimate
from nasviz.audit import (
    Audit,
    audit,
    changed_over_training,
    compare,
    compare_seeds,
    engine,
    spearman_brown,
    tau_spearman_brown,
)
from nasviz.audit import resample as rs
from nasviz.audit.ceiling import Ceiling
from nasviz.spaces.nb201 import Arch

RNG = np.random.default_rng(12345)


def _cells(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct NB201 cells (official strings), seeded."""
    idx = np.random.default_rng(seed).choice(5**6, size=n, replace=False)
    return [str(Arch.from_index(int(i))) for i in idx]


def _frame(scores: dict[str, np.ndarray], archs: list[str]) -> pd.DataFrame:
    return pd.DataFrame(scores, index=pd.Index(archs, name='arch'))


def _expand(v: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.repeat(v, c.astype(int))


# ---------------------------------------------------------------------------------------------
# the resample kernels equal the statistics of the expanded resample
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('n,ties', [(9, False), (120, True), (700, True)])
def test_kernels_match_scipy_on_expanded_resamples(n, ties):
    rng = np.random.default_rng(n)
    t = rng.normal(size=n)
    p = t + rng.normal(size=n)
    if ties:
        t, p = np.round(t, 1), np.round(p, 1)
        p[: n // 4] = 0.0  # a big tie group, as a supernet's many equal accuracies
    C = rs.draw_counts(rng, n, 12)
    pr, tr = rs.Ranked(p), rs.Ranked(t)
    tau = rs.KendallPlan(pr, tr)(C)
    mid_p, mid_t = rs.midranks(pr, C), rs.midranks(tr, C)
    rho = rs.corr(C, mid_p, mid_t)
    r = rs.pearson(C, p, t)
    X = (rng.random((n, 2)) < 0.3).astype(float)
    bk = rs.binary_kendall(C, X, mid_p, pr.tie_pairs(C))
    ranks = rs.true_ranks(C, tr)
    ks = [1, max(2, n // 10)]
    br, wr = rs.best_worst_rank(C, pr, ranks, ks)
    for j, c in enumerate(C.T):
        pe, te = _expand(p, c), _expand(t, c)
        assert tau[j] == pytest.approx(stats.kendalltau(pe, te).statistic, abs=1e-9)
        assert rho[j] == pytest.approx(stats.spearmanr(pe, te).statistic, abs=1e-9)
        assert r[j] == pytest.approx(stats.pearsonr(pe, te).statistic, abs=1e-9)
        for f in range(2):
            assert bk[f, j] == pytest.approx(stats.kendalltau(_expand(X[:, f], c), pe).statistic, abs=1e-9, nan_ok=True)
        rows = _expand(np.arange(n), c)
        order = np.lexsort((rows, -pe))  # predicted ties broken by table order
        true_rank = 1 + (te[None, :] > te[:, None]).sum(axis=1)
        for i, k in enumerate(ks):
            assert br[i, j] == pytest.approx(true_rank[order[:k]].min() / n)
            assert wr[i, j] == pytest.approx(true_rank[order[:k]].max() / n)


def test_precision_matches_ranking_topk_on_resamples():
    n = 150
    t = np.round(RNG.normal(size=n), 1)
    p = np.round(t + RNG.normal(size=n), 1)
    d = engine.bootstrap_metrics({'p': p}, t, ks=[1, 5, 0.1, 0.5], n_resamples=100, random_state=3)
    assert d.point[('p', 'precision_top', '5')] == pytest.approx(topk_precision(p, t, 5))
    assert d.point[('p', 'precision_bottom', '0.1')] == pytest.approx(topk_precision(-p, -t, 15))
    C = rs.draw_counts(np.random.default_rng(3), n, 100)
    for j, c in enumerate(C.T[:6]):
        assert d.dist[('p', 'precision_top', '5')][j] == pytest.approx(topk_precision(_expand(p, c), _expand(t, c), 5))
        assert d.dist[('p', 'precision_bottom', '0.5')][j] == pytest.approx(
            topk_precision(-_expand(p, c), -_expand(t, c), 75)
        )


# ---------------------------------------------------------------------------------------------
# planted answers
# ---------------------------------------------------------------------------------------------
def test_scores_equal_truth():
    archs = _cells(200)
    t = np.random.default_rng(1).normal(90, 2, size=200)
    res = audit(_frame({'oracle': t}, archs), pd.Series(t, index=archs), n_resamples=200, baselines=('random',))
    assert res.n == 200
    for m in ('kendall_tau', 'spearman', 'pearson'):
        e = res.estimate('oracle', m)
        assert e.estimate == pytest.approx(1.0) and e.low == pytest.approx(1.0)
    for k in (0.01, 0.05, 0.1, 0.5):
        assert res.estimate('oracle', 'precision_top', k).estimate == pytest.approx(1.0)
        assert res.estimate('oracle', 'best_rank', k).estimate == pytest.approx(1 / 200)
        kk = max(1, round(k * 200))
        assert res.estimate('oracle', 'worst_rank', k).estimate == pytest.approx(kk / 200)
    assert res.estimate('oracle', 'regret').estimate == 0.0
    c = res.comparison('oracle', 'random')
    assert c.verdict == 'better' and c.low > 0.8


def test_scores_minus_truth():
    archs = _cells(100, seed=2)
    t = np.random.default_rng(2).normal(size=100)
    res = audit(_frame({'anti': -t}, archs), pd.Series(t, index=archs), ks=(0.1, 10), n_resamples=200, baselines=())
    assert res.estimate('anti', 'kendall_tau').estimate == pytest.approx(-1.0)
    assert res.estimate('anti', 'precision_top', 0.1).estimate == 0.0
    assert res.estimate('anti', 'precision_bottom', 10).estimate == 0.0
    # the predicted top 10 are the 10 worst: best true rank among them is 91 of 100
    assert res.estimate('anti', 'best_rank', 10).estimate == pytest.approx(91 / 100)
    assert res.estimate('anti', 'worst_rank', 10).estimate == pytest.approx(1.0)
    assert res.estimate('anti', 'regret').estimate == pytest.approx(t.max() - t.min())


def test_best_and_worst_rank_on_a_hand_made_table():
    archs = _cells(10, seed=3)
    truth = np.array([9, 8, 8, 7, 6, 5, 4, 3, 2, 1], dtype=float)  # true ranks 1, 2, 2, 4, ..., 10
    score = np.array([1, 5, 9, 9, 2, 3, 8, 4, 7, 0], dtype=float)
    # predicted order: rows 2, 3 (tie, table order), 6, 8, 1, 7, 5, 4, 0, 9
    res = audit(
        _frame({'s': score}, archs), pd.Series(truth, index=archs), ks=(1, 2, 3, 5), n_resamples=100, baselines=()
    )
    br = {k: res.estimate('s', 'best_rank', k).estimate * 10 for k in (1, 2, 3, 5)}
    wr = {k: res.estimate('s', 'worst_rank', k).estimate * 10 for k in (1, 2, 3, 5)}
    assert br == pytest.approx({1: 2, 2: 2, 3: 2, 5: 2})
    assert wr == pytest.approx({1: 2, 2: 4, 3: 7, 5: 9})
    assert res.estimate('s', 'regret').estimate == pytest.approx(1.0)


def test_planted_op_preference_recovers_that_op_only():
    archs = _cells(1500, seed=4)
    t = np.random.default_rng(4).normal(size=1500)  # truth independent of the ops
    pool = np.array([Arch.from_str(a).count('avg_pool_3x3') for a in archs], dtype=float)
    res = audit(
        _frame({'biased': t + 0.8 * pool}, archs), pd.Series(t, index=archs), n_resamples=200, baselines=(), ks=(0.1,)
    )
    ob = res.metrics[(res.metrics.estimator == 'biased') & (res.metrics.metric == 'op_bias')].set_index('k')
    assert set(ob.index) == {'none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'}
    assert ob['estimate'].idxmax() == 'avg_pool_3x3' and ob.loc['avg_pool_3x3', 'low'] > 0.1
    others = ob.drop('avg_pool_3x3')
    assert (others['low'] <= 0).all()  # no other op is rewarded
    assert (others['estimate'].abs() < ob.loc['avg_pool_3x3', 'estimate'] / 2).all()
    per_slot = res.op_bias[res.op_bias.choice == 'avg_pool_3x3']
    assert len(per_slot) == 6 and (per_slot['low'] > 0).all()


def test_ci_coverage_near_95_percent():
    rho, n, sims = 0.6, 60, 120
    true_tau = 2 / np.pi * np.arcsin(rho)
    rng = np.random.default_rng(7)
    hits = 0
    for s in range(sims):
        x = rng.normal(size=n)
        y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
        d = engine.bootstrap_metrics({'y': y}, x, n_resamples=300, random_state=s)
        lo, hi = engine.percentile_ci(d.dist[('y', 'kendall_tau', '')], 0.95)
        hits += lo <= true_tau <= hi
    assert 0.87 <= hits / sims <= 0.99


def _noisy(t: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    return t + sd * rng.normal(size=t.size)


def test_paired_test_detects_a_planted_difference_and_not_a_null_one():
    n = 2000
    rng = np.random.default_rng(11)
    t = rng.normal(size=n)
    shared = _noisy(t, 1.0, rng)  # tau about 0.5
    worse = _noisy(shared, 0.61, rng)  # extra noise on top: tau 0.45, lower by 0.05
    twin = _noisy(shared, 0.61, rng)  # the same design: no true difference
    planted = compare(shared, worse, t, n_resamples=1000, random_state=0)
    assert 0.03 < planted.diff < 0.07
    assert planted.verdict == 'better' and planted.low > 0 and planted.p < 0.05
    assert planted.detectable < 0.05
    null = compare(worse, twin, t, n_resamples=1000, random_state=0)
    assert null.verdict == 'level with' and null.low < 0 < null.high
    assert 'smallest detectable difference' in null.sentence()
    # lower is better for regret and ranks: a verdict follows the metric's direction
    top = compare(shared, -t, t, metric='best_rank', k=0.01, n_resamples=200)
    assert top.verdict == 'better' and top.diff < 0


def test_changed_over_training_and_seed_comparison():
    n = 300
    rng = np.random.default_rng(5)
    t = rng.normal(size=n)
    early, late = _noisy(t, 3.0, rng), _noisy(t, 0.5, rng)
    ch = changed_over_training(early, late, t, n_resamples=300)
    assert ch.verdict == 'better' and ch.estimator == 'after'
    runs = [_noisy(t, 0.7, rng) for _ in range(4)]
    params = _noisy(t, 2.0, rng)
    cs = compare_seeds(runs, params, t, names=('spos', 'params'))
    assert cs.over == 'seeds' and cs.n == 4 and cs.verdict == 'better'
    assert cs.detectable > 0


def test_spearman_brown_closed_form():
    assert spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert spearman_brown(0.6, 3) == pytest.approx(1.8 / 2.2)
    r = np.array([0.1, 0.5, 0.9])
    assert np.allclose(spearman_brown(r, 4), 4 * r / (1 + 3 * r))
    assert spearman_brown(spearman_brown(0.4, 2), 0.5) == pytest.approx(0.4)
    assert tau_spearman_brown(0.3, 1) == pytest.approx(0.3)
    rr = np.sin(np.pi * 0.4 / 2)
    assert tau_spearman_brown(0.4, 2) == pytest.approx(2 / np.pi * np.arcsin(2 * rr / (1 + rr)))
    with pytest.raises(ValueError, match='factor'):
        spearman_brown(0.5, 0)
    c = Ceiling.from_measured('reliability', Estimate(0.6, 0.5, 0.7, 100), 2, 4)
    assert c.factor == 2 and c.corrected.estimate == pytest.approx(tau_spearman_brown(0.6, 2))
    assert c.corrected.estimate > c.measured.estimate and 'Spearman-Brown' in c.which


# ---------------------------------------------------------------------------------------------
# bad input, isomorphism, the JSON schema
# ---------------------------------------------------------------------------------------------
def test_dropped_constant_and_too_few():
    archs = _cells(50, seed=6)
    t = np.random.default_rng(6).normal(size=50)
    s = t.copy()
    s[:3] = np.nan
    s[3] = np.inf
    df = _frame({'s': s, 'flat': np.ones(50)}, archs)
    res = audit(df, pd.Series(t, index=archs), n_resamples=100, baselines=())
    assert res.n == 46 and res.dropped['s']['nan'] == 3 and res.dropped['s']['inf'] == 1
    assert res.estimators == ['s'] and any('flat' in note for note in res.notes)
    with pytest.raises(ValueError, match='constant'):
        audit(_frame({'flat': np.ones(50)}, archs), pd.Series(t, index=archs), n_resamples=100)
    few = np.full(50, np.nan)
    few[:2] = [1.0, 2.0]
    with pytest.raises(ValueError, match='fewer than 3'):
        audit(_frame({'few': few}, archs), pd.Series(t, index=archs), n_resamples=100)
    with pytest.raises(ValueError, match='no row holds a nb201 architecture'):
        audit(_frame({'s': t}, ['not a cell'] * 50), pd.Series(t, index=archs), n_resamples=100)


def test_merge_isomorphic_counts_and_keeps_the_first():
    # node 1 reaches nothing when its only outgoing edges are none: edge 0->1 is dead in both
    a = '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|'
    b = '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|'
    archs = [a, b] + [x for x in _cells(40, seed=8) if x not in (a, b)][:38]
    t = np.random.default_rng(8).normal(size=len(archs))
    df = _frame({'s': t + np.random.default_rng(9).normal(size=len(archs))}, archs)
    res = audit(df, pd.Series(t, index=archs), n_resamples=100, baselines=(), merge_isomorphic=True)
    assert res.merged >= 1 and a in res.scores.index and b not in res.scores.index
    plain = audit(df, pd.Series(t, index=archs), n_resamples=100, baselines=())
    assert plain.merged == 0 and plain.n == res.n + res.merged


def test_to_dict_schema_and_json(tmp_path):
    archs = _cells(80, seed=10)
    rng = np.random.default_rng(10)
    t = rng.normal(size=80)
    df = _frame({'a': _noisy(t, 0.5, rng), 'b': _noisy(t, 1.0, rng), 'params': rng.random(80)}, archs)
    res = audit(df, pd.Series(t, index=archs), n_resamples=100, ks=(0.05, 0.5), baselines=('params', 'random'))
    assert isinstance(res, Audit) and res.estimators == ['a', 'b'] and res.baselines == ['params', 'random']
    path = res.to_json(tmp_path / 'audit.json')
    d = json.loads(path.read_text())
    assert d['n'] == 80 and set(d['dropped']) == {'a', 'b'}
    assert set(d['dropped']['a']) == {'nan', 'inf', 'unknown_arch', 'duplicate'}
    e = d['estimators']['a']
    for m in ('kendall_tau', 'spearman', 'pearson', 'regret', 'size_bias'):
        assert set(e[m]) >= {'estimate', 'low', 'high', 'n'}
    for m in ('precision_top', 'precision_bottom', 'best_rank', 'worst_rank', 'tau_in_true_top'):
        assert set(e[m]) == {'0.05', '0.5'}
        assert set(e[m]['0.05']) >= {'estimate', 'low', 'high', 'n'}
    assert set(e['op_bias']) == {'none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'}
    cmp = pd.DataFrame(d['comparisons'])
    assert set(cmp['verdict']) <= {'better', 'worse', 'level with'}
    assert {('a', 'params'), ('a', 'random'), ('a', 'b'), ('b', 'params')} <= set(zip(cmp.estimator, cmp.other))
    assert (cmp.loc[cmp.metric == 'kendall_tau', 'detectable'] > 0).all()
    summ = res.summary()
    assert list(summ.index) == ['a', 'b', 'params', 'random'] and 'kendall_tau' in summ.columns
    # deterministic under the seed
    again = audit(
        df, pd.Series(t, index=archs), n_resamples=200, ks=(0.05, 0.5), baselines=('params', 'random'), n_jobs=1
    )
    res = audit(
        df, pd.Series(t, index=archs), n_resamples=200, ks=(0.05, 0.5), baselines=('params', 'random'), n_jobs=3
    )  # threads score the blocks; the draws and the result do not change
    pd.testing.assert_frame_equal(res.metrics, again.metrics)


def test_op_bias_is_choice_preference_on_the_same_cells():
    """The audit's op bias is nasviz.analysis.preference.choice_preference's per-(slot, choice) definition,
    computed by the shared bootstrap engine: the point values agree."""
    from nasviz.analysis.preference import choice_preference

    archs = _cells(300, seed=12)
    rng = np.random.default_rng(12)
    t = rng.normal(size=300)
    s = t + rng.normal(size=300) + 0.5 * np.array([Arch.from_str(a).count('skip_connect') for a in archs])
    res = audit(_frame({'s': s}, archs), pd.Series(t, index=archs), n_resamples=100, baselines=(), ks=(0.1,))
    ref = choice_preference(archs, s, t)
    ref = ref[ref['slot'] != '*'].set_index(['slot', 'choice'])
    mine = res.op_bias.set_index(['slot', 'choice'])
    assert set(mine.index) == set(ref.index)
    for col, ref_col in (('tau_score', 'tau_score'), ('tau_truth', 'tau_truth'), ('bias', 'bias')):
        assert np.allclose(mine.loc[ref.index, col], ref[ref_col])


def test_seed_runs_compare_over_seeds_with_every_baseline():
    archs = _cells(120, seed=13)
    rng = np.random.default_rng(13)
    t = rng.normal(size=120)
    runs = {f'spos_s{s}': _noisy(t, 0.6, rng) for s in range(3)}
    df = _frame({**runs, 'params': _noisy(t, 3.0, rng)}, archs)
    res = audit(
        df,
        pd.Series(t, index=archs),
        n_resamples=100,
        ks=(0.1,),
        baselines=('params', 'random'),
        estimators=['spos_s0'],
        seed_runs={'spos': list(runs)},
    )
    sc = res.seed_comparisons
    assert list(sc['other']) == ['params', 'random'] and (sc['n'] == 3).all()
    assert set(sc['verdict']) == {'better'}
    assert res.to_dict()['seed_comparisons'][0]['estimator'] == 'spos'


def test_importing_the_audit_loads_no_plotting():
    """Computation never imports plotting: ``import nasviz.audit`` loads neither plotly nor umap
    (the figures live in nasviz.viz.audit)."""
    import subprocess
    import sys

    code = (
        'import sys, nasviz.audit; '
        'print(sorted({m.split(".")[0] for m in sys.modules} & {"plotly", "umap", "matplotlib"}))'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_ceiling_of_a_four_seed_benchmark_is_spearman_brown_corrected():
    from pathlib import Path

    from nasviz.bench import MicroBench

    bench = MicroBench.load(Path(__file__).resolve().parents[1] / 'data' / 'microbench_digits.csv')
    archs = [str(a) for a in bench.archs()]
    t = bench.accuracies(archs)
    scores = _frame({'noisy': t + np.random.default_rng(0).normal(0, 3, len(t))}, archs)
    res = audit(scores, bench, n_resamples=200, ks=(0.1,))
    c = res.ceiling
    assert c.kind == 'reliability' and c.seeds_measured == 2 and c.seeds_truth == 4 and c.factor == 2
    assert c.corrected.estimate == pytest.approx(tau_spearman_brown(c.measured.estimate, 2))
    row = res.metrics[(res.metrics.kind == 'ceiling') & (res.metrics.metric == 'kendall_tau')].iloc[0]
    assert row.estimate == pytest.approx(c.corrected.estimate)
    assert set(res.metrics.loc[res.metrics.kind == 'ceiling', 'metric']) == {'kendall_tau', 'spearman', 'pearson'}
