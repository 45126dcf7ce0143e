"""The real notebooks: run through papermill with non-default parameters, a bad parameter must
fail clearly, and the report built by ``make report`` renders its plotly figures in Chromium."""

from __future__ import annotations

import json
import os
from pathlib import Path

import papermill as pm
import pytest

from nasviz.report import run_report

try:
    import browser
    from conftest import SMALL_REPORT_NOTEBOOKS, SMALL_REPORT_PARAMETERS
except ImportError:  # pragma: no cover
    from tests import browser
    from tests.conftest import SMALL_REPORT_NOTEBOOKS, SMALL_REPORT_PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / 'notebooks'

# small but not default: fewer epochs and cells, another seed, another edge
FAST = {
    '00_estimator_audit.ipynb': dict(seed=1, ks=[0.01, 0.1], n_resamples=200, merge_isomorphic=False),
    '01_supernet_interference.ipynb': dict(
        seed=1, epochs=3, n_eval=20, n_subnets=5, grad_repeats=2, n_resamples=200, paper_resamples=100
    ),
    '02_lid_embeddings.ipynb': dict(
        seed=1, epochs=2, edge=3, n_subnets=20, lid_repeats=2, n_neighbors=10, umap_neighbors=8, n_resamples=200
    ),
    '03_partition_quality.ipynb': dict(
        seed=1,
        epochs=4,
        n_eval=20,
        n_partitions=3,
        split_method='agglomerative',
        methods=['naslid', 'random'],
        levels=[1],
        n_subnets=24,
        seeds=[0, 1],
        n_resamples=200,
    ),
    '04_weight_sharing_bias.ipynb': dict(
        seed=1, epochs=2, n_eval=20, spaces=['nb201'], prune=[0.0, 0.5], budget=5, n_resamples=200
    ),
    '05_space_reduction.ipynb': dict(
        seed=1, k=5, distance='hellinger', clustering='kmeans', n_umap=150, n_resamples=200
    ),
    '06_sparse_coding_search.ipynb': dict(seeds=[1], epochs=2, lam=0.2, m=2, cost_steps=2),
}


def _is_estimate(v):
    return isinstance(v, dict) and {'estimate', 'low', 'high', 'n'} <= set(v)


def test_notebooks_are_clean_and_parameterised():
    import nbformat

    names = sorted(p.name for p in NB.glob('[0-9][0-9]_*.ipynb'))
    assert names == sorted(FAST)
    for name in names:
        nb = nbformat.read(NB / name, as_version=4)
        tagged = [c for c in nb.cells if 'parameters' in c.metadata.get('tags', [])]
        assert len(tagged) == 1 and 'profile' in tagged[0].source
        assert all(not c.get('outputs') for c in nb.cells if c.cell_type == 'code'), f'{name} has outputs'
        params = pm.inspect_notebook(str(NB / name))
        for p in FAST[name]:
            assert p in params, f'{name} lacks parameter {p}'
            assert params[p]['help'], f'parameter {p} of {name} has no comment'


def test_notebook_01_parameters_are_those_of_the_small_report():
    """Notebook 01 with other parameters is the small report's run (``small_report``), not a
    second run of the same notebook with the same parameters."""
    assert SMALL_REPORT_NOTEBOOKS == ['01'] and SMALL_REPORT_PARAMETERS == FAST['01_supernet_interference.ipynb']


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(FAST))
def test_notebook_runs_with_other_parameters(name, tmp_path, monkeypatch, request):
    if name.startswith('01'):  # run once per session by the small_report fixture, into a cache of its own
        ran = request.getfixturevalue('small_report')
        out = ran / name
    else:
        monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
        ran, out = tmp_path, tmp_path / name
        pm.execute_notebook(
            str(NB / name),
            str(out),
            parameters=dict(profile='tiny', **FAST[name]),
            cwd=str(tmp_path),
            progress_bar=False,
            kernel_name='python3',
        )
    metrics = json.loads((ran / f'metrics_{name[:2]}.json').read_text())
    assert metrics['seed'] == 1 and metrics['profile'] == 'tiny'
    # the index's rows: headline numbers with CIs, and findings written by the library
    assert metrics['headline'] and all(k in metrics for k in metrics['headline'])
    # the first headline number is an estimate with its CI; the others either carry one or are
    # exact quantities of this run (a split's within-minus-between gap has no sampling interval)
    assert _is_estimate(metrics[metrics['headline'][0]]), metrics['headline']
    assert all(_is_estimate(metrics[k]) or isinstance(metrics[k], (int, float)) for k in metrics['headline'])
    assert metrics['findings'] and all(isinstance(f, str) and f for f in metrics['findings'])
    if name.startswith('00'):
        assert metrics['absent'] is None and metrics['files'] == ['nb201_published_supernets.csv']
        assert metrics['n'] == 15625 and metrics['oneshot_supernet/kendall_tau']['n'] == 15625
        assert set(metrics['estimators']) == {'oneshot_supernet', 'fewshot_supernet', 'cifar10valid_valid_12ep'}
        assert _is_estimate(metrics['oneshot_supernet_minus_params'])
        assert any(
            f.startswith('The one-shot supernet ranks 15,625 NAS-Bench-201 cells') and 'parameter count' in f
            for f in metrics['findings']
        )
        assert all(
            src.startswith('computed in this run from nb201_published_supernets.csv')
            for src in metrics['sources'].values()
        )
        assert not any('CIs overlap' in f or '/work/' in f for f in metrics['findings'])
    if name.startswith('01'):
        assert metrics['n_eval'] == 20 and metrics['kendall_tau']['n'] == 20
        assert any(f.startswith('The SPOS supernet ranks 20 cells') for f in metrics['findings'])
    if name.startswith('02'):
        assert metrics['edge'] == 3
        assert metrics['last_block_lid_spearman']['n'] == 20
    if name.startswith('06'):
        assert metrics['seeds'] == [1] and metrics['epochs'] == 2 and metrics['lam'] == 0.2
        assert _is_estimate(metrics['ista_true_accuracy']) and 0 < metrics['ista_step_memory_vs_darts'] < 1
        assert any(f.startswith('Live ISTA-NAS (seed 1, 2 epochs') for f in metrics['findings'])
    if name.startswith('03'):
        # SPOS always runs as the reference; every method over both seeds, paired differences to SPOS
        assert metrics['methods'] == ['spos', 'naslid', 'random'] and metrics['seeds'] == [0, 1]
        assert {(r['method'], r['seed']) for r in metrics['runs']} == {
            (m, sd) for m in ('spos', 'naslid', 'random') for sd in (0, 1)
        }
        assert _is_estimate(metrics['naslid_minus_spos']) and _is_estimate(metrics['spos_01_tau'])
        assert any("Notebook 01's SPOS supernet" in f and 'seed spread' in f for f in metrics['findings'])
    if name.startswith('04'):
        assert metrics['spaces'] == ['nb201'] and metrics['inputs']['nb201/spos']['n'] == 20
        entry = metrics['inputs']['nb201/spos']
        assert set(entry['top_precision']) == {'0.001', '0.01', '0.1'} and set(entry['bottom_precision']) == {
            '0.1',
            '0.5',
        }
        assert _is_estimate(entry['kendall_tau']) and _is_estimate(entry['regret']) and entry['op_bias']
        if os.environ.get('NASVIZ_NB201_SUPERNETS'):
            assert metrics['inputs']['published/oneshot']['n'] == 15625
        assert any('precision of its predicted top' in f for f in metrics['findings'])
    if name.startswith('05'):
        assert metrics['k'] == 5 and metrics['distance'] == 'hellinger' and metrics['n_selected'] > 0
        assert {r['method'] for r in metrics['comparison']} >= {'whole set', 'C-BRED', 'random subsets'}
        assert any(f.startswith('C-BRED keeps cluster') for f in metrics['findings'])
    text = out.read_text()
    assert 'application/vnd.plotly.v1+json' in text


@pytest.mark.slow
def test_audit_notebook_says_when_the_published_file_is_absent(tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_NB201_SUPERNETS', str(tmp_path / 'gone' / 'nb201_published_supernets.csv'))
    out = tmp_path / '00.ipynb'
    pm.execute_notebook(
        str(NB / '00_estimator_audit.ipynb'),
        str(out),
        parameters=dict(profile='tiny', n_resamples=200),
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name='python3',
    )
    metrics = json.loads((tmp_path / 'metrics_00.json').read_text())
    assert 'nb201_published_supernets.csv is absent' in metrics['absent'] and metrics['n'] is None
    assert metrics['findings'] == [f'Nothing was audited: {metrics["absent"]}.']
    import nbformat

    shown = json.dumps([c.get('outputs', []) for c in nbformat.read(out, as_version=4).cells])
    assert 'Nothing to audit' in shown and str(tmp_path) not in shown  # the file by name, no absolute path


@pytest.mark.slow
def test_unknown_profile_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        run_report(notebooks_dir=NB, out_dir=tmp_path, profile='huge')
    # papermill bypassing the runner: the notebook's own check names the problem and the cell
    with pytest.raises(pm.PapermillExecutionError, match="unknown profile 'huge'"):
        pm.execute_notebook(
            str(NB / '01_supernet_interference.ipynb'),
            str(tmp_path / 'bad.ipynb'),
            parameters=dict(profile='huge'),
            cwd=str(tmp_path),
            progress_bar=False,
            kernel_name='python3',
        )


@pytest.mark.slow
def test_report_renders_in_chromium(report_dir, tmp_path):
    """Checks the report ``make report`` wrote (CI runs it before this test), else the small one
    the ``report_dir`` fixture builds."""
    summary = json.loads((report_dir / 'report.json').read_text())
    assert summary['ok'], summary
    browser.require_chromium()
    assert browser.report_problems(report_dir) == []
    for page in sorted(report_dir.glob('[0-9][0-9]_*.html')):
        assert browser.plotly_rendered(browser.dump_dom(page)), f'plotly did not render in {page.name}'
        png = tmp_path / f'{page.stem}.png'
        browser.screenshot(page, png)
        assert browser.non_white_fraction(png) > 0.05, page.name
    # the subnet x subnet heatmap of page 01 has short ids (s0, s1, ...) on its axes, not cell strings
    page01 = next(report_dir.glob('01_*.html'))
    dom = browser.dump_dom(page01)
    ticks = browser.tick_labels(dom, 'x') + browser.tick_labels(dom, 'y')
    assert 's0' in ticks and 's1' in ticks, ticks
    assert not [t for t in ticks if '|' in t], [t for t in ticks if '|' in t]
