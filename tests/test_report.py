"""nasviz.report: run notebooks with papermill, export HTML that really renders plotly, index them.

Kernel starts dominate the time (a few seconds each), so one module-scoped report run over
three notebooks feeds most tests; two more runs cover stop-at-first-failure and success.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from nasviz.report import ReportError, check_parameters, export, find_notebooks, run_report

try:  # tests/ is on sys.path under pytest's default import mode
    import browser
except ImportError:  # pragma: no cover - when tests/ is a package
    from tests import browser

PARAMS_SRC = "profile = 'tiny'\nx: int = 1  # a typed, commented parameter"


def _notebook(cells: list[str], markdown_first: bool = True) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS_SRC)
    params.metadata['tags'] = ['parameters']
    nb.cells = [nbformat.v4.new_markdown_cell('# test notebook')] if markdown_first else []
    nb.cells += [params] + [nbformat.v4.new_code_cell(src) for src in cells]
    return nb


PLOT_CELLS = [
    'import nasviz.report\nnasviz.report.check_parameters(profile=profile, x=x)',
    (
        'import pandas as pd\nfrom nasviz.viz import plot_metric_vs\n'
        "df = pd.DataFrame({'epoch': [1, 2, 3], 'interference': [0.5, 0.3, 0.2]})\n"
        "fig = plot_metric_vs(df, x='epoch', y='interference')\nfig.show()"
    ),
    "import json, pathlib\npathlib.Path(f'seen_{profile}.json').write_text(json.dumps({'x': x}))\nprint('x is', x)",
]
# what a real notebook adds: a progress bar (ipywidgets state), a subnet heatmap, the metrics file
EXTRA_CELLS = [
    'from tqdm.auto import tqdm\nfor _ in tqdm(range(3)):\n    pass',
    (
        'import numpy as np, pandas as pd\nfrom nasviz.spaces.nb201 import sample_archs\n'
        'from nasviz.viz import plot_subnet_similarity\n'
        'cells = [str(a) for a in sample_archs(12, rng=0, unique=True)]\n'
        'm = np.random.default_rng(0).uniform(-0.2, 1, (12, 12))\n'
        'plot_subnet_similarity(pd.DataFrame((m + m.T) / 2, index=cells, columns=cells))'
    ),
    (
        "import json\njson.dump({'notebook': '01_plot', 'profile': profile,\n"
        "           'kendall_tau': {'estimate': 0.13, 'low': -0.01, 'high': 0.25, 'n': 120, 'level': 0.95},\n"
        "           'params_tau': 0.04,\n"
        "           'by_method': {'SPOS': {'estimate': -0.2, 'low': -0.3, 'high': -0.1, 'n': 60}},\n"
        "           'findings': ['SPOS ranks 120 cells at tau 0.13 [95% CI -0.01, 0.25]: '\n"
        "                        'within noise of random scores.']},\n"
        "          open('metrics_01.json', 'w'))"
    ),
]
FAIL_CELLS = [
    'import nasviz.report',
    "nasviz.report.check_parameters('xyz')",  # source cell index 3: markdown, params, import, this
    "print('never reached')",
]


@pytest.fixture(scope='module')
def nb_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp('notebooks')
    nbformat.write(_notebook(PLOT_CELLS + EXTRA_CELLS), d / '01_plot.ipynb')
    nbformat.write(_notebook(FAIL_CELLS), d / '02_fail.ipynb')
    nbformat.write(_notebook(PLOT_CELLS[:2], markdown_first=False), d / '03_plot.ipynb')
    (d / 'helper.ipynb').write_text('not a numbered notebook, never run')
    return d


@pytest.fixture(scope='module')
def failed_run(nb_dir, tmp_path_factory) -> tuple[ReportError, Path]:
    out = tmp_path_factory.mktemp('reports')
    with pytest.raises(ReportError) as info:
        run_report(nb_dir, out, profile='tiny', parameters={'x': 7})
    return info.value, out


# -- parameter checks (no kernel) ---------------------------------------------------------------
def test_check_parameters():
    assert check_parameters(profile='small', epochs=3, seed=0, method='spectral') == {
        'profile': 'small',
        'epochs': 3,
        'seed': 0,
        'method': 'spectral',
    }
    with pytest.raises(ValueError, match=r"unknown profile 'xyz'; expected one of tiny, small, paper"):
        check_parameters('xyz')
    with pytest.raises(ValueError, match=r'epochs=-1'):
        check_parameters('tiny', epochs=-1)
    with pytest.raises(ValueError, match=r'n_partitions=2.5'):
        check_parameters('tiny', n_partitions=2.5)
    with pytest.raises(ValueError, match='seed'):
        check_parameters('tiny', seed='0')


def test_unknown_profile_fails_before_anything_runs(nb_dir, tmp_path):
    out = tmp_path / 'never'
    with pytest.raises(ValueError, match=r"'xyz'.*tiny, small, paper"):
        run_report(nb_dir, out, profile='xyz')
    assert not out.exists()  # nothing executed, nothing written


def test_bad_selection_and_missing_dir(nb_dir, tmp_path):
    with pytest.raises(ValueError, match="'99'"):
        run_report(nb_dir, tmp_path / 'r', notebooks=['99'])
    with pytest.raises(FileNotFoundError):
        run_report(tmp_path / 'nope', tmp_path / 'r')
    with pytest.raises(ValueError, match='out_dir must differ'):
        run_report(nb_dir, nb_dir)
    assert [p.name for p in find_notebooks(nb_dir)] == ['01_plot.ipynb', '02_fail.ipynb', '03_plot.ipynb']


# -- one run over all three notebooks ------------------------------------------------------------
def test_failure_names_notebook_cell_and_message(failed_run):
    err, out = failed_run
    msg = str(err)
    assert '02_fail.ipynb' in msg
    assert 'cell 3' in msg and 'In [4]' in msg
    assert "unknown profile 'xyz'; expected one of tiny, small, paper" in msg
    (fail,) = err.result.failures
    assert (fail.cell_index, fail.ename) == (3, 'ValueError')
    # the executed notebook with the traceback is kept for the user to open
    assert Path(fail.output_path).exists() and Path(fail.html_path).exists()
    assert 'ValueError' in Path(fail.html_path).read_text()


def test_keeps_going_and_writes_everything(failed_run):
    err, out = failed_run
    statuses = {r.name: r.status for r in err.result.runs}
    assert statuses == {'01_plot.ipynb': 'ok', '02_fail.ipynb': 'failed', '03_plot.ipynb': 'ok'}
    for stem in ('01_plot', '02_fail', '03_plot'):
        assert (out / f'{stem}.ipynb').exists() and (out / f'{stem}.html').exists()
    assert (out / export.PLOTLYJS_FILE).stat().st_size > 1_000_000
    assert not (out / 'helper.ipynb').exists()


def test_index_and_json_list_notebooks_with_times(failed_run):
    err, out = failed_run
    index = (out / 'index.html').read_text()
    for stem in ('01_plot', '02_fail', '03_plot'):
        assert f'href="{stem}.html"' in index
    runs_table = index[index.index('<table class="runs">') :]
    runs_table = runs_table[: runs_table.index('</table>')]
    assert len(re.findall(r'\d+\.\d s</td>', runs_table)) == 3
    assert '&quot;x&quot;: 7' in index  # parameters shown
    data = json.loads((out / 'report.json').read_text())
    assert data['ok'] is False and data['profile'] == 'tiny'
    assert data['parameters'] == {'profile': 'tiny', 'x': 7}
    assert [r['name'] for r in data['runs']] == ['01_plot.ipynb', '02_fail.ipynb', '03_plot.ipynb']
    assert all(r['seconds'] > 0 for r in data['runs'])
    assert data['runs'][1]['cell_index'] == 3


def test_index_shows_metrics_with_ci_and_findings(failed_run):
    _, out = failed_run
    index = (out / 'index.html').read_text()
    assert '<table class="metrics">' in index
    assert '<th scope="row">kendall_tau</th>' in index
    assert '0.130 [−0.010, 0.250], n=120' in index  # an estimate dict with its CI and n
    assert '<th scope="row">params_tau</th><td class="num">0.040</td>' in index  # a plain number
    assert 'by_method · SPOS' in index and '−0.200 [−0.300, −0.100], n=60' in index
    assert '95% bootstrap confidence interval' in index
    assert '<li>SPOS ranks 120 cells at tau 0.13 [95% CI -0.01, 0.25]: within noise of random scores.</li>' in index
    assert 'href="metrics_01.json"' in index and 'href="01_plot.html"' in index
    assert 'no metrics file written' in index  # 02 and 03 wrote none
    data = json.loads((out / 'report.json').read_text())
    first = data['runs'][0]
    assert first['metrics_path'] == 'metrics_01.json'
    assert first['metrics']['kendall_tau']['n'] == 120 and len(first['findings']) == 1


def test_index_has_profile_banner_and_run_metadata(failed_run):
    _, out = failed_run
    index = (out / 'index.html').read_text()
    assert 'class="banner"' in index and 'Small-scale run' in index
    assert 'not comparable' in index and 'micro benchmark' in index
    assert 'What this profile measures' in index and 'ground truth' in index
    for fact in (
        'git commit',
        'torch threads',
        'CPU',
        'GPU',
        'total wall time',
        'scikit-learn',
        'umap-learn',
        'papermill',
        'plotly',
        'python',
    ):
        assert f'<th scope="row">{fact}</th>' in index, fact
    data = json.loads((out / 'report.json').read_text())
    meta = data['metadata']
    assert set(meta['versions']) >= {'python', 'torch', 'numpy', 'scikit-learn', 'umap-learn', 'plotly', 'papermill'}
    assert meta['versions']['numpy'] and meta['git_commit'] == 'unknown'  # the temp dir is no git repo
    assert meta['host']['cpu'] and meta['host']['torch_threads'] >= 1
    assert data['profile_info']['dataset']['name'].startswith('digits')
    assert data['profile_info']['ground_truth']['n_cells'] > 0 and data['profile_info']['caveat']


def test_resolved_parameters_include_notebook_defaults(failed_run):
    _, out = failed_run
    data = json.loads((out / 'report.json').read_text())
    run = data['runs'][0]
    assert run['defaults'] == {'profile': 'tiny', 'x': 1}  # the parameters cell
    assert run['injected'] == {'profile': 'tiny', 'x': 7}
    assert run['parameters'] == {'profile': 'tiny', 'x': 7}
    index = (out / 'index.html').read_text()
    assert 'injected (default 1)' in index


def test_report_json_has_no_absolute_paths(failed_run):
    _, out = failed_run
    text = (out / 'report.json').read_text()
    assert str(out) not in text and str(out.parent) not in text
    data = json.loads(text)

    def strings(obj):
        if isinstance(obj, dict):
            for v in obj.values():
                yield from strings(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from strings(v)
        elif isinstance(obj, str):
            yield obj

    assert not [s for s in strings(data) if s.startswith('/')]
    run = data['runs'][0]
    assert (run['output_path'], run['html_path']) == ('01_plot.ipynb', '01_plot.html')
    assert data['out_dir'] == '.' and data['index_path'] == 'index.html'
    assert run['input_path'].endswith('01_plot.ipynb') and not run['input_path'].startswith('/')
    for page in out.glob('*.html'):
        assert str(out) not in page.read_text(), page.name
    executed = nbformat.read(out / '01_plot.ipynb', as_version=4)
    assert not executed.metadata.papermill['output_path'].startswith('/')


def test_pages_are_static_offline_and_link_the_index(failed_run):
    _, out = failed_run
    page = (out / '01_plot.html').read_text()
    assert 'href="index.html"' in page and 'href="metrics_01.json"' in page
    assert 'small-scale run' in page.lower() or 'Small-scale run' in page  # the caveat on every page
    for needle in ('widget-state+json', 'widget-view+json', 'require.min.js', 'embed-amd', 'mathjax@', 'MathJax.js'):
        assert needle not in page, needle
    assert not re.search(r'<script[^>]+src="(https?:)?//', page), 'a script from the network'
    nb = nbformat.read(out / '01_plot.ipynb', as_version=4)
    assert 'widgets' in nb.metadata  # the progress bar's state was stored ... and stripped from the HTML


def test_code_hidden_unless_show_code(failed_run, tmp_path):
    _, out = failed_run
    code = 'fig = plot_metric_vs(df, x=&#x27;epoch&#x27;'
    hidden = (out / '01_plot.html').read_text()
    assert 'plot_metric_vs(df' not in hidden and code not in hidden
    assert 'x is 7' in hidden  # outputs stay
    shown = export.export_html(out / '01_plot.ipynb', tmp_path / 'code.html', 'local', show_code=True)
    assert 'plot_metric_vs' in shown.read_text()


def test_cli_report_has_show_code_flag():
    from nasviz.cli import build_parser

    args = build_parser().parse_args(['report', '--show-code'])
    assert args.show_code is True
    assert build_parser().parse_args(['report']).show_code is False


def test_widget_outputs_become_notes_or_vanish():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('x')
    view = {'model_id': 'abc', 'version_major': 2, 'version_minor': 0}
    cell.outputs = [
        nbformat.v4.new_output('display_data', data={export.WIDGET_VIEW_MIME: view, 'text/plain': 'HBox(...)'}),
        nbformat.v4.new_output(
            'display_data',
            data={export.WIDGET_VIEW_MIME: {'model_id': 'other'}, 'text/plain': 'PartitionExplorer(children=(...))'},
        ),
        nbformat.v4.new_output('stream', name='stderr', text='10%\r50%\r100% done\n'),
    ]
    nb.cells = [cell]
    nb.metadata['widgets'] = {
        export.WIDGET_STATE_MIME: {
            'state': {
                'abc': {'model_name': 'HBoxModel', 'state': {'children': ['IPY_MODEL_bar']}},
                'bar': {'model_name': 'FloatProgressModel', 'state': {}},
            }
        }
    }
    export._strip_widgets(nb)
    assert 'widgets' not in nb.metadata
    outs = nb.cells[0].outputs
    assert len(outs) == 2  # the progress bar is gone
    assert 'PartitionExplorer' in outs[0]['data']['text/plain'] and 'JupyterLab' in outs[0]['data']['text/html']
    assert outs[1]['text'] == '100% done\n'


def test_format_value():
    from nasviz.report import format_value, metric_rows

    assert format_value({'estimate': 0.13, 'low': -0.01, 'high': 0.25, 'n': 120}) == '0.130 [−0.010, 0.250], n=120'
    assert format_value({'estimate': 0.5}) == '0.500'
    assert format_value(66.7) == '66.70' and format_value(120) == '120' and format_value(None) == 'n/a'
    assert format_value(float('nan')) == 'n/a'
    rows = metric_rows(
        {
            'notebook': 'x',
            'a': 1.5,
            'b': {'c': {'estimate': 1.0, 'low': 0.5, 'high': 2.0}},
            'findings': ['...'],
            'headline': None,
        }
    )
    assert [r[0] for r in rows] == ['a', 'b · c']
    assert [r[0] for r in metric_rows({'a': 1, 'b': 2, 'headline': ['b']})] == ['b']


def test_parameters_reach_the_notebook(failed_run):
    _, out = failed_run
    # the notebooks run with out_dir as working directory
    assert json.loads((out / 'seen_tiny.json').read_text()) == {'x': 7}
    nb = nbformat.read(out / '01_plot.ipynb', as_version=4)
    injected = [c for c in nb.cells if 'injected-parameters' in c.metadata.get('tags', [])]
    assert injected and 'x = 7' in injected[0].source
    printed = ''.join(o.get('text', '') for c in nb.cells for o in c.get('outputs', []))
    assert 'x is 7' in printed


def test_html_embeds_plotly_figure(failed_run):
    _, out = failed_run
    page = (out / '01_plot.html').read_text()
    assert 'Plotly.newPlot' in page
    assert page.index('src="plotly.min.js"') < page.index('Plotly.newPlot')
    assert 'require.min.js' not in page  # nothing needs require.js, and it came from a CDN


# -- the other failure policy and the success path -------------------------------------------------
def test_stop_at_first_failure(nb_dir, tmp_path):
    with pytest.raises(ReportError) as info:
        run_report(nb_dir, tmp_path, notebooks=['02', '03_plot'], keep_going=False)
    assert [r.status for r in info.value.result.runs] == ['failed', 'skipped']
    assert 'not run after the failure: 03_plot.ipynb' in str(info.value)
    assert not (tmp_path / '03_plot.ipynb').exists()


def test_success_returns_result(nb_dir, tmp_path):
    result = run_report(nb_dir, tmp_path, profile='small', notebooks=['01_plot.ipynb'])
    assert result.ok and [r.status for r in result.runs] == ['ok']
    assert (tmp_path / 'seen_small.json').exists()  # profile reached the notebook
    assert result.to_frame().loc[0, 'name'] == '01_plot.ipynb'


# -- headless browser: the HTML really draws the figure -----------------------------------------------
@pytest.mark.slow
def test_html_renders_plotly_in_chromium(failed_run, tmp_path):
    browser.require_chromium()
    _, out = failed_run
    html = out / '01_plot.html'
    dom = browser.dump_dom(html)
    assert browser.plotly_rendered(dom), 'plotly.js did not draw (no main-svg/plot-container in DOM)'

    # control: the same page without plotly.js draws nothing, so the checks mean something
    bare = tmp_path / 'bare.html'
    bare.write_text(html.read_text().replace('src="plotly.min.js"', 'src="missing.js"'))
    assert not browser.plotly_rendered(browser.dump_dom(bare))

    # pixels: the plot area (a filled ~700x450 px rectangle) makes the page far less blank
    drawn = browser.non_white_fraction(browser.screenshot(html, tmp_path / 'page.png', size=(1200, 1600)))
    blank = browser.non_white_fraction(browser.screenshot(bare, tmp_path / 'bare.png', size=(1200, 1600)))
    assert drawn > 0.08 and drawn > 3 * blank, (drawn, blank)


@pytest.mark.slow
def test_inline_plotlyjs_renders_without_side_file(failed_run, tmp_path):
    _, out = failed_run
    single = tmp_path / 'single.html'  # no plotly.min.js next to it
    export.export_html(out / '03_plot.ipynb', single, 'inline')
    assert single.stat().st_size > 1_000_000
    browser.require_chromium()
    assert browser.plotly_rendered(browser.dump_dom(single))


@pytest.mark.slow
def test_rendered_report_shows_metrics_no_traceback_short_ticks(failed_run):
    browser.require_chromium()
    _, out = failed_run
    # the failing notebook's page shows its traceback on purpose; the others must not
    assert browser.report_problems(out, pages=['01_plot.html', '03_plot.html']) == []
    assert any('02_fail.html shows a Traceback' in p for p in browser.report_problems(out, pages=['02_fail.html']))
    index = browser.dump_dom(out / 'index.html')
    assert '0.130 [−0.010, 0.250], n=120' in browser.visible_text(index)
    dom = browser.dump_dom(out / '01_plot.html')
    ticks = browser.tick_labels(dom, 'x') + browser.tick_labels(dom, 'y')
    subnet_ticks = [t for t in ticks if t.startswith('s') and t[1:].isdigit()]
    assert len(subnet_ticks) >= 12, ticks  # the heatmap's s0..s11 on both axes
    assert not [t for t in ticks if '|' in t or len(t) > 12], 'cell strings on an axis'


def test_index_rows_say_where_each_number_comes_from():
    from nasviz.report import NotebookRun, ReportResult, without_paths
    from nasviz.report.index import index_html

    metrics = {
        'tau': {'estimate': 0.13, 'low': -0.01, 'high': 0.25, 'n': 120},
        'acc': 77.9,
        'headline': ['tau', 'acc'],
        'labels': {'tau': 'SPOS supernet, Kendall tau'},
        'sources': {'tau': 'computed in this run', 'acc': 'read from search_comparison_tiny.csv'},
    }
    run = NotebookRun('01_x.ipynb', '/in', None, None, 'ok', 1.0, metrics=metrics)
    table = index_html(
        ReportResult(
            (run,),
            '/r',
            '/r/index.html',
            '/r/report.json',
            'tiny',
            {'profile': 'tiny'},
            '2026-01-01T00:00:00+00:00',
            1.0,
        )
    )
    assert '<th scope="row">SPOS supernet, Kendall tau</th>' in table and '<th scope="row">acc</th>' in table
    assert '<td class="src">computed in this run</td>' in table
    assert '<td class="src">read from search_comparison_tiny.csv</td>' in table
    assert (
        without_paths('truth (NB201Table /work/shared/data/nb201/nb201_accuracy.csv)')
        == 'truth (NB201Table nb201_accuracy.csv)'
    )
    assert without_paths('see https://example.org/a/b.html') == 'see https://example.org/a/b.html'
