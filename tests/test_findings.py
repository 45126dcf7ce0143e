"""Findings follow the statistics: no claim the intervals do not support."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasviz.analysis.findings import (
    THIS_RUN,
    Findings,
    describe_change_over_training,
    describe_difference,
    describe_paired,
    describe_ranking,
    describe_seed_comparison,
    detectable_from_interval,
    metric_label,
    metrics_payload,
    write_metrics,
)
from nasviz.analysis.seeds import paired_seed_difference, seed_summary
from nasviz.analysis.uncertainty import Estimate, paired_difference

RANDOM = Estimate(0.0, -0.06, 0.06, 120, method='null distribution of 1000 random score draws')
CEILING = Estimate(0.63, 0.58, 0.68, 120)
PARAMS = Estimate(0.04, -0.03, 0.11, 120)


def test_the_issue_example_reads_worse_than_random() -> None:
    est = Estimate(-0.13, -0.25, -0.08, 120)
    s = describe_ranking('SPOS', est, random=RANDOM, ceiling=CEILING)
    assert s.startswith('SPOS ranks 120 cells at Kendall tau -0.13 [95% CI -0.25, -0.08]: ')
    assert 'worse than random scores (0.00, 95% range -0.06 to 0.06)' in s
    assert (
        "far below the ground truth's own split-half reliability (0.63 [95% CI 0.58, 0.68]; the intervals disjoint)"
        in s
    )
    assert s.endswith('.')


@pytest.mark.parametrize(
    'est, low, high, verdict',
    [
        (-0.16, -0.25, -0.07, 'worse than random'),  # entirely below the random range
        (-0.13, -0.25, -0.01, 'worse than random'),  # the documented example: outside the null, CI < 0
        (-0.05, -0.25, 0.10, 'indistinguishable from random'),  # inside the null range
        (0.05, -0.10, 0.20, 'indistinguishable from random'),
        (0.16, 0.02, 0.30, 'better than random'),  # outside the null range, CI above 0
        (0.10, -0.01, 0.25, 'indistinguishable from random'),  # outside the null range, but the CI covers 0
        (0.18, 0.07, 0.30, 'better than random'),
    ],
)
def test_random_comparison_follows_the_null_and_the_ci(est: float, low: float, high: float, verdict: str) -> None:
    s = describe_ranking('M', Estimate(est, low, high, 120), random=RANDOM)
    assert verdict in s
    others = {'worse than random', 'better than random', 'indistinguishable from random'} - {verdict}
    assert not any(o in s for o in others)


def test_within_noise_when_the_ci_covers_zero() -> None:
    s = describe_ranking('few-shot', Estimate(0.05, -0.02, 0.12, 60))
    assert 'within noise of zero' in s and 'better' not in s and 'worse' not in s
    assert 'above zero' in describe_ranking('X', Estimate(0.2, 0.1, 0.3, 60))
    assert 'below zero' in describe_ranking('X', Estimate(-0.2, -0.3, -0.1, 60))
    assert 'no claim' in describe_ranking('X', Estimate(0.2, float('nan'), float('nan'), 1))


def test_baseline_comparisons_need_a_paired_difference() -> None:
    # without a paired difference, overlapping (or even disjoint) intervals make no claim
    s = describe_ranking(
        'NAS-LID', Estimate(0.09, 0.01, 0.17, 120), params=PARAMS, ceiling=CEILING, ceiling_name='seed-to-seed'
    )
    assert 'no paired difference given, so no claim' in s and 'level with' not in s
    assert "far below the ground truth's own seed-to-seed agreement" in s and 'intervals disjoint' in s
    # the paired difference alone decides: overlapping intervals, yet a paired CI below 0 reads 'worse'
    s = describe_ranking(
        'SPOS',
        Estimate(0.13, -0.01, 0.25, 120),
        params=Estimate(0.33, 0.20, 0.45, 120),
        params_diff=Estimate(-0.20, -0.35, -0.05, 120),
    )
    assert 'worse than the parameter-count baseline' in s and 'paired difference -0.20 [95% CI -0.35, -0.05]' in s
    s = describe_ranking(
        'SPOS', Estimate(0.13, -0.01, 0.25, 120), params=PARAMS, params_diff=Estimate(0.09, -0.05, 0.23, 120)
    )
    assert 'level with the parameter-count baseline' in s and 'smallest detectable difference' in s
    assert 'CIs overlap' not in s
    # the audit engine's comparison rows are read as they are (its detectable difference quoted)
    s = describe_ranking(
        'X',
        Estimate(0.5, 0.45, 0.55, 500),
        params_diff={'diff': 0.1, 'low': 0.05, 'high': 0.15, 'n': 500, 'p': 0.001, 'detectable': 0.07},
    )
    assert 'better than the parameter-count baseline' in s and 'p=0.001' in s
    s = describe_ranking(
        'NB201',
        Estimate(0.58, 0.56, 0.60, 15625),
        ceiling=Estimate(0.62, 0.59, 0.65, 15625),
        ceiling_name='valid-as-predictor',
        what='NAS-Bench-201 cells',
    )
    assert 'ranks 15625 NAS-Bench-201 cells' in s and 'not separable from a separate training run' in s
    assert 'level with' not in s
    # a clear but not halving gap reads 'below', not 'far below'
    assert ' below the ground' in describe_ranking('X', Estimate(0.45, 0.40, 0.50, 100), ceiling=CEILING)
    assert 'far below' not in describe_ranking('X', Estimate(0.45, 0.40, 0.50, 100), ceiling=CEILING)


def test_detectable_difference_and_paired_sentences() -> None:
    # SE from a 95% normal interval of half-width 1.96: SE 1, detectable (1.96 + 0.84) = 2.80
    assert detectable_from_interval(Estimate(0.0, -1.96, 1.96, 100)) == pytest.approx(2.8016, abs=1e-3)
    assert np.isnan(detectable_from_interval(Estimate(0.1, float('nan'), float('nan'), 1)))
    # over seeds: Student t quantiles, 3 seeds (2 degrees of freedom): (4.303 + 1.061) / 4.303 per half-width
    assert detectable_from_interval(Estimate(0, -1, 1, 3), df=2) == pytest.approx(1.2465, abs=1e-3)
    s = describe_paired('SPOS', 'parameter count', Estimate(-0.2, -0.35, -0.05, 120))
    assert s.startswith('SPOS ranks worse than parameter count in Kendall tau (paired difference -0.20')
    s = describe_paired('LID', 'parameter count', Estimate(0.02, -0.1, 0.14, 60), metric='spearman')
    assert 'ranks level with parameter count in Spearman rho' in s and 'smallest detectable difference 0.17' in s
    s = describe_change_over_training('SPOS', Estimate(0.1, 0.01, 0.2, 40), 2, 10)
    assert 'after epoch 10 minus after epoch 2 = 0.10' in s and 'improved over training' in s
    s = describe_change_over_training('SPOS', Estimate(0.05, -0.05, 0.15, 40), 2, 10)
    assert 'no detectable change over training' in s and 'smallest detectable difference' in s
    assert 'within noise' in describe_difference('A', 'B', Estimate(0.05, -0.05, 0.15, 40))
    assert 'smallest detectable difference' in describe_difference('A', 'B', Estimate(0.05, -0.05, 0.15, 40))


def test_difference_sentences() -> None:
    assert 'within noise' in describe_difference('SPOS', 'few-shot', Estimate(-0.03, -0.10, 0.04, 120))
    s = describe_difference('few-shot', 'SPOS', Estimate(0.08, 0.02, 0.14, 120))
    assert s.startswith('few-shot ranks better than SPOS by 0.08 [95% CI 0.02, 0.14] in Kendall tau')
    s = describe_difference('SPOS', 'few-shot', Estimate(-0.08, -0.14, -0.02, 120), metric='spearman')
    assert s.startswith('SPOS ranks worse than few-shot by 0.08 [95% CI 0.02, 0.14] in Spearman rho')
    # from a real paired bootstrap: the p-value is quoted, the verdict follows the CI
    rng = np.random.default_rng(0)
    t = rng.normal(size=100)
    d = paired_difference(t + rng.normal(scale=0.5, size=100), t + rng.normal(scale=2, size=100), t, n_resamples=500)
    s = describe_difference('A', 'B', d)
    assert s.startswith('A ranks better than B by') and 'p=' in s and 'paired over 100 cells' in s
    null = paired_difference(t + rng.normal(size=100), t + rng.normal(size=100), t, n_resamples=500)
    assert ('within noise' in describe_difference('A', 'B', null)) == null.diff.covers(0.0)
    with pytest.raises(ValueError, match='diff'):
        describe_difference('A', 'B', 0.1)


def test_seed_comparison_says_se() -> None:
    s = describe_seed_comparison('few-shot', seed_summary([0.176, 0.14, 0.21]))
    assert s.startswith('Over 3 seeds, few-shot reaches Kendall tau 0.175 ± 0.020 (mean ± SE; std 0.035)')
    assert 'within noise' in describe_seed_comparison(
        'few-shot', seed_summary([0.2, 0.1, 0.15]), 'SPOS', seed_summary([0.05, -0.04, 0.02])
    )
    s = describe_seed_comparison('few-shot', seed_summary([0.2, 0.1, 0.15]), 'SPOS', seed_summary([0.06, 0.05, 0.07]))
    assert 'ranks better than SPOS by 0.060 ± 0.006 (mean ± SE of the per-seed paired differences' in s
    assert 'no SE' in describe_seed_comparison('SPOS', seed_summary([0.1]))
    rng = np.random.default_rng(1)
    t = rng.normal(size=50)
    d = paired_seed_difference(
        [t + rng.normal(size=50) for _ in range(3)], [t + rng.normal(size=50) for _ in range(3)], t
    )
    assert 'SE' in describe_seed_comparison('A', seed_summary([0.3, 0.31, 0.32]), 'B', d)
    with pytest.raises(ValueError, match='reference and diff'):
        describe_seed_comparison('A', seed_summary([0.1, 0.2]), 'B')


@pytest.mark.parametrize(
    'call, match',
    [
        (lambda: describe_ranking('', Estimate(0, -1, 1, 5)), 'name'),
        (lambda: describe_ranking('A', 0.1), 'est'),
        (lambda: describe_ranking('A', Estimate(0, -1, 1, 5), random=0.0), 'random'),
        (lambda: describe_seed_comparison('A', 0.1), 'summary'),
    ],
)
def test_validation(call, match) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        call()


def test_metric_labels() -> None:
    assert metric_label('topk_precision@10') == 'top-10 precision'
    assert metric_label('topk_precision@5%') == 'top-5% precision'
    s = describe_ranking('A', Estimate(0.3, 0.1, 0.5, 50), metric='topk_precision@5')
    assert 'at top-5 precision 0.30' in s


def test_findings_collector_and_metrics_file(tmp_path) -> None:  # noqa: ANN001
    f = Findings()
    spos = Estimate(-0.13, -0.25, -0.08, 120)
    f.ranking('SPOS', spos, random=RANDOM, ceiling=CEILING)
    f.difference('SPOS', 'few-shot', Estimate(-0.03, -0.10, 0.04, 120))
    f.add('  A note.  ')
    f.metric('spos_kendall_tau', spos)
    f.metric('spos_over_seeds', seed_summary([0.1, 0.2, 0.15]))
    f.metric('n_cells', np.int64(120))
    f.metric('undefined', float('nan'))
    assert len(f) == 3 and f.to_list()[2] == 'A note.' and list(f) == f.to_list()
    md = f.to_markdown()
    assert md.count('\n- ') == 2 and md.startswith('- SPOS ranks 120 cells')
    payload = json.loads(json.dumps(f.payload(), allow_nan=False))
    assert payload['spos_kendall_tau'] == spos.to_dict() and payload['n_cells'] == 120
    assert payload['undefined'] is None and payload['findings'] == f.to_list()
    assert Estimate.from_dict(payload['spos_kendall_tau']) == Estimate(-0.13, -0.25, -0.08, 120)
    assert payload['spos_over_seeds']['ci']['n'] == 3
    # every number says where it comes from: this run by default, or a shipped file by name
    f.metric('ista_accuracy', 90.1, source='read from search_comparison_tiny.csv')
    sources = f.payload()['sources']
    assert sources['spos_kendall_tau'] == THIS_RUN and sources['ista_accuracy'].endswith('search_comparison_tiny.csv')
    with pytest.raises(ValueError, match='absolute path'):
        f.metric('x', 1.0, source='read from /work/shared/data/x.csv')
    with pytest.raises(ValueError, match='reserved'):
        f.metric('sources', 1.0)
    path = f.write(tmp_path / 'metrics_01.json', wall_s=12.5)
    back = json.loads(path.read_text())
    assert back['wall_s'] == 12.5 and back['findings'] == f.to_list()
    assert write_metrics(tmp_path / 'm.json', {'tau': spos}, ['one']).is_file()
    with pytest.raises(ValueError, match='findings'):
        f.metric('findings', 1.0)
    with pytest.raises(ValueError, match='findings'):
        metrics_payload({'findings': 1}, [])
    with pytest.raises(ValueError, match='cannot store'):
        f.metric('bad', object())
    with pytest.raises(ValueError, match='sentence'):
        f.add('')
    assert Findings()._repr_markdown_() == '*no findings*'


def test_describe_audit_words_come_from_the_paired_rows() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from nasviz.analysis.findings import describe_audit

    m = pd.DataFrame(
        [
            dict(
                estimator='sn', kind='estimator', metric='kendall_tau', k='', estimate=0.30, low=0.20, high=0.40, n=200
            ),
            dict(
                estimator='zc', kind='estimator', metric='kendall_tau', k='', estimate=0.35, low=0.25, high=0.45, n=200
            ),
            dict(
                estimator='params',
                kind='baseline',
                metric='kendall_tau',
                k='',
                estimate=0.33,
                low=0.23,
                high=0.43,
                n=200,
            ),
            dict(
                estimator='sn',
                kind='estimator',
                metric='precision_top',
                k='0.1',
                estimate=0.2,
                low=0.1,
                high=0.3,
                n=200,
            ),
            dict(
                estimator='sn',
                kind='estimator',
                metric='best_rank',
                k='0.1',
                estimate=0.01,
                low=0.005,
                high=0.05,
                n=200,
            ),
            dict(
                estimator='sn',
                kind='estimator',
                metric='op_bias',
                k='skip_connect',
                estimate=0.2,
                low=0.1,
                high=0.3,
                n=200,
            ),
        ]
    )
    c = pd.DataFrame(
        [  # overlapping separate intervals everywhere; only these paired rows decide
            dict(
                estimator='sn',
                other='params',
                metric='kendall_tau',
                k='',
                diff=-0.03,
                low=-0.05,
                high=-0.01,
                p=0.01,
                verdict='worse',
                detectable=0.03,
                n=200,
            ),
            dict(
                estimator='zc',
                other='params',
                metric='kendall_tau',
                k='',
                diff=0.02,
                low=-0.02,
                high=0.06,
                p=0.3,
                verdict='level with',
                detectable=0.06,
                n=200,
            ),
            dict(
                estimator='sn',
                other='zc',
                metric='kendall_tau',
                k='',
                diff=-0.05,
                low=-0.08,
                high=-0.02,
                p=0.002,
                verdict='worse',
                detectable=0.04,
                n=200,
            ),
        ]
    )
    res = SimpleNamespace(
        metrics=m,
        comparisons=c,
        estimators=['sn', 'zc'],
        baselines=['params'],
        n=200,
        merged=3,
        dropped={'sn': {'nan': 2}},
        ceiling=None,
        settings={'n_resamples': 500, 'level': 0.95},
    )
    text = describe_audit(res, names={'sn': 'the supernet', 'zc': 'the proxy'}, top_k='0.1')
    assert text[0].startswith(
        '200 architectures audited (3 isomorphic duplicates merged first; dropped as unusable: the supernet 2)'
    )
    sn = next(t for t in text if t.startswith('The supernet ranks 200'))
    assert 'worse than parameter count' in sn and 'worse than the proxy' in sn
    zc = next(t for t in text if t.startswith('The proxy ranks 200'))
    # the stored row is supernet - proxy: read from the proxy's side it is turned round
    assert 'level with parameter count' in zc and 'smallest detectable difference 0.06' in zc
    assert 'better than the supernet (paired difference 0.05 [95% CI 0.02, 0.08]' in zc
    assert any('predicted top 10% (20 architectures)' in t for t in text)
    assert any('rewards skip_connect beyond the truth' in t for t in text)
    assert not any('CIs overlap' in t for t in text)


def test_an_undefined_paired_difference_makes_no_claim():
    # the audit engine stores an undefined statistic (a constant score, too few cells) as None
    from nasviz.analysis.findings import describe_paired

    text = describe_paired('A', 'B', {'diff': None, 'low': None, 'high': None, 'n': 40, 'p': None, 'detectable': None})
    assert 'no claim' in text and 'better' not in text and 'worse' not in text and 'level with' not in text
