"""JupyterLab as a person uses it, in a real browser (the system's headless Chromium, driven by
Playwright's Python package; only loopback addresses are reached).

- ``nasviz lab``'s server (``nasviz.lab.LabServer``) starts on a free loopback port with a
  temporary token and its own config/data/runtime/settings dirs; notebook 03, with small settings
  injected the way papermill injects parameters, is opened, run with Run > Run All Cells, and the
  partition-count explorer is driven: slider 2 -> 3, method exhaustive -> spectral. Its figures
  must redraw (titles name the new count and method), the console must show no JavaScript error,
  and no request may leave 127.0.0.1. Screenshots before and after, and the measured times, are
  kept in ``nasviz_lab_screenshots/`` under the system's temp folder, never inside the report
  folder (``$NASVIZ_LAB_SCREENSHOTS`` overrides).
- The static report's pages (``make report``'s output) are opened with every non-file request
  refused: every plotly figure on them must render (no CDN).

The server is always shut down with its kernels (fixture finalizer, also when a test fails).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from nasviz.lab import OFFLINE_ARGS, LabServer, check_lab_environment, free_port, lab_command, lab_env

try:
    import browser
except ImportError:  # pragma: no cover
    from tests import browser

ROOT = Path(__file__).resolve().parents[1]
NB03 = ROOT / 'notebooks' / '03_partition_quality.ipynb'
REPORT = Path(os.environ.get('NASVIZ_REPORT_DIR', ROOT / 'reports'))
# the screenshots are a test's evidence, not part of the report a reader opens
SHOTS = Path(os.environ.get('NASVIZ_LAB_SCREENSHOTS', Path(tempfile.gettempdir()) / 'nasviz_lab_screenshots'))
#: small settings of notebook 03 so that Run All finishes in about a minute on 2 busy cores
#: (the explorer itself only needs the LID similarities of notebook 01's supernet)
SMALL = dict(
    profile='tiny',
    seed=0,
    epochs=4,
    n_eval=12,
    methods=['random'],
    seeds=[0],
    levels=[1],
    n_partitions=2,
    split_method='exhaustive',
    n_subnets=20,
    n_resamples=100,
)
RUN_ALL_TIMEOUT_S = 300
EXPLORER = '.nasviz-partition-explorer'


# -- the server and its command line, without a browser -------------------------------------------
def test_lab_command_is_loopback_offline_and_this_python(tmp_path):
    cmd = lab_command(tmp_path, 8890, 'abc123')
    assert cmd[:3] == [sys.executable, '-m', 'jupyterlab']
    assert '--ServerApp.ip=127.0.0.1' in cmd and '--ServerApp.port=8890' in cmd
    assert '--ServerApp.port_retries=0' in cmd  # the printed URL is the served one
    assert f'--ServerApp.root_dir={tmp_path.resolve()}' in cmd and '--IdentityProvider.token=abc123' in cmd
    assert set(OFFLINE_ARGS) <= set(cmd)
    assert '--LabApp.news_url=None' in OFFLINE_ARGS and '--LabApp.extension_manager=readonly' in OFFLINE_ARGS
    env = lab_env({'PATH': '/usr/bin', 'JUPYTER_PATH': '/elsewhere'}, isolated_dir=tmp_path / 'iso')
    share = str(Path(sys.prefix) / 'share' / 'jupyter')
    assert env['JUPYTER_PATH'] == share  # isolated: only this environment's kernels and extensions
    assert all(Path(env[v]).parent == tmp_path / 'iso' for v in ('JUPYTER_CONFIG_DIR', 'JUPYTER_RUNTIME_DIR'))
    assert lab_env({'JUPYTER_PATH': '/elsewhere'})['JUPYTER_PATH'].split(os.pathsep) == [share, '/elsewhere']


def test_environment_serves_widgets_and_plotly_offline_with_its_kernel():
    # the lab extensions ship inside the plotly / jupyterlab_widgets wheels; `make setup` installs
    # the python3 kernelspec into the venv
    assert check_lab_environment() == []


def test_lab_environment_problems_are_named(tmp_path):
    spec = tmp_path / 'share' / 'jupyter' / 'kernels' / 'python3'
    spec.mkdir(parents=True)
    (spec / 'kernel.json').write_text(json.dumps({'argv': ['/opt/other/bin/python', '-m', 'ipykernel_launcher']}))
    problems = check_lab_environment(tmp_path)
    assert any('jupyterlab-plotly' in p and 'plotly' in p for p in problems), problems
    assert any('@jupyter-widgets/jupyterlab-manager' in p for p in problems), problems
    assert any('/opt/other/bin/python' in p and 'ipykernel install' in p for p in problems), problems


def test_cli_lab_bad_input_exits_2(tmp_path, capsys):
    import socket

    from nasviz.cli import main

    assert main(['lab', '--notebooks', str(tmp_path / 'nope')]) == 2
    err = capsys.readouterr().err
    assert 'nope' in err and 'Traceback' not in err
    with socket.socket() as s:  # a port that is taken
        s.bind(('127.0.0.1', 0))
        s.listen()
        assert main(['lab', '--notebooks', str(tmp_path), '--port', str(s.getsockname()[1])]) == 2
    assert 'in use' in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # argparse: ports are 1..65535
        main(['lab', '--port', '0'])
    assert e.value.code == 2


@pytest.mark.slow
def test_lab_server_refuses_non_loopback_and_bad_token(tmp_path):
    with pytest.raises(ValueError, match='loopback'):
        LabServer(tmp_path, ip='0.0.0.0')
    with pytest.raises(ValueError, match='token'):
        LabServer(tmp_path, token='a b')
    with pytest.raises(NotADirectoryError, match='nope'):
        LabServer(tmp_path / 'nope')
    assert 1 <= free_port() <= 65535


# -- the explorer's redraw cost in the kernel (no browser) ----------------------------------------
def test_explorer_redraws_each_new_selection_once_and_serves_the_rest_from_cache():
    """The notebook's explorer callback (split + similarity heatmap + one-level tree, the same
    library calls as notebook 03) on a 5-op similarity matrix. As in the notebook, the splits are
    cached (``lru_cache``) and were all computed once by the static sweep, so a move of a control
    costs two figures, and a selection seen before is served from the widget's own cache without
    calling ``compute``. How long a redraw takes is measured by ``benchmarks/explorer_redraw.py``."""

    from nasviz.partition.split import METHODS, split_ops, split_quality
    from nasviz.partition.tree import PartitionTree
    from nasviz.spaces.nb201 import OPS
    from nasviz.viz import partition_explorer, plot_partition_tree, plot_similarity

    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(OPS), 8))
    x[:2] += 3  # a planted two-group structure
    sim = pd.DataFrame(np.corrcoef(x), index=list(OPS), columns=list(OPS))
    counts, methods = range(2, len(OPS) + 1), METHODS[:3]
    calls = []

    @functools.cache
    def split_of(n, method):
        groups = split_ops(sim, k=n, method=method, random_state=0)
        return groups, split_quality(sim, groups)

    def compute(n, method):
        calls.append((n, method))
        groups, q = split_of(n, method)
        tree = PartitionTree.root()
        tree.split(tree.root_id, 0, groups)
        return {
            'similarity': plot_similarity(sim, title=f'{n} groups by {method} (gap {q["gap"]:.2g})'),
            'tree': plot_partition_tree(tree.to_frame(), title=f'Sub-supernets for {n} groups'),
        }

    for n in counts:  # notebook 03's static sweep fills the split cache
        for m in methods:
            split_of(n, m)
    w = partition_explorer(compute, counts=counts, methods=methods)
    assert EXPLORER.lstrip('.') in w._dom_classes
    times = {}
    for m in methods:
        for n in counts:
            for control, value in ((w.count, n), (w.method, m)):
                n_calls = len(calls)
                control.value = value
                if len(calls) > n_calls:  # a new selection: computed, not served from the cache
                    assert 'computed in' in w.status.value
                    times[calls[-1]] = w.seconds
            assert w.figures['similarity'].layout.title.text.startswith(f'{n} groups by {m}')
    assert sorted(set(calls)) == sorted(calls) and len(calls) == len(counts) * len(methods)
    assert len(times) == len(calls) - 1  # all but the one drawn at construction
    print('explorer redraw s:', {f'{n}/{m}': round(t, 3) for (n, m), t in times.items()})
    assert all(t > 0 for t in times.values()), times  # the status line reports a measured time
    before = len(calls)
    w.count.value, w.method.value = 2, methods[0]
    w.count.value = 3
    assert len(calls) == before and 'cached in' in w.status.value  # no recomputation


# -- the real thing: JupyterLab + notebook 03 in Chromium -----------------------------------------
@pytest.fixture
def lab_server(tmp_path):
    """JupyterLab on a free loopback port serving a copy of notebook 03 with SMALL injected as
    papermill injects parameters; always stopped with its kernels."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb_dir = tmp_path / 'notebooks'
    nb_dir.mkdir()
    nb = parameterize_notebook(load_notebook_node(str(NB03)), SMALL, kernel_name='python3')
    nbformat.write(nb, nb_dir / NB03.name)
    env = dict(os.environ, NASVIZ_CACHE=str(tmp_path / 'cache'), OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    server = LabServer(nb_dir, isolated=True, work_dir=tmp_path / 'lab', env=env)
    try:
        server.start(timeout=180)
        yield server
    finally:
        server.stop()
    assert server.proc.returncode is not None, 'jupyter lab still running'
    assert server.kernel_pids() == [], 'kernels outlived the server'


def _titles(page) -> list[str]:
    return page.locator(f'{EXPLORER} .gtitle').evaluate_all('els => els.map(e => e.textContent)')


def _wait_titles(page, *parts: str, timeout_s: float = 60) -> float:
    """Seconds until the explorer shows a figure title containing every string in ``parts``."""
    t0 = time.perf_counter()
    page.wait_for_function(
        """parts => [...document.querySelectorAll('.nasviz-partition-explorer .gtitle')]
                     .some(e => parts.every(p => e.textContent.includes(p)))""",
        arg=list(parts),
        timeout=timeout_s * 1000,
        polling=20,
    )
    return time.perf_counter() - t0


def _wait_kernel_ready(page, server, timeout_s: float = 120) -> None:
    """Until the notebook's kernel runs, is connected to this page and idle (the toolbar shows
    'idle' before a kernel exists too, so the server is asked as well)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        kernels = server.api('kernels') or []
        if (
            kernels
            and all(k.get('execution_state') == 'idle' and k.get('connections', 0) >= 1 for k in kernels)
            and page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count()
        ):
            return
        page.wait_for_timeout(500)  # not time.sleep: Playwright serves the route handler meanwhile
    raise AssertionError(f'the notebook kernel was not ready within {timeout_s:.0f} s: {server.api("kernels")}')


def _show(page, locator) -> None:
    """Scroll ``locator`` into view and keep it there: JupyterLab lays out off-screen cells when
    they come near the viewport, which can move the page after a first scroll."""
    for _ in range(3):
        locator.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
        box = locator.bounding_box()
        if box and 0 <= box['y'] and box['y'] + box['height'] <= page.viewport_size['height']:
            return


def _run_all(page) -> None:
    """Run > Run All Cells, as a person does it from the menu bar."""
    page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).click()
    item = page.locator(
        '.lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')
    )
    item.wait_for(state='visible', timeout=30_000)
    item.click()


_ERROR_OUTPUT = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
    .map(e => e.textContent).filter(t => t.includes('Traceback (most recent call last)')).join('\\n')"""


@pytest.mark.slow
def test_notebook_03_explorer_redraws_in_jupyterlab(lab_server, tmp_path):
    sync_playwright = browser.require_playwright()
    browser.require_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    errors, off_host = [], []

    def route(r):
        url = r.request.url
        if url.startswith((lab_server.base_url + '/', 'data:', 'blob:')):
            r.continue_()
        else:
            off_host.append(url)
            r.abort()

    with sync_playwright() as p:
        chromium = browser.launch_chromium(p)
        try:
            ctx = chromium.new_context(viewport={'width': 1400, 'height': 1000})
            ctx.route('**/*', route)
            page = ctx.new_page()
            page.on('console', lambda m: errors.append(f'console.{m.type}: {m.text}') if m.type == 'error' else None)
            page.on('pageerror', lambda e: errors.append(f'page error: {e}'))
            try:
                page.goto(f'{lab_server.base_url}/lab/tree/{NB03.name}?token={lab_server.token}')
                _wait_kernel_ready(page, lab_server)
                t_open = time.perf_counter() - t_start
                _run_all(page)
                metrics = lab_server.notebooks_dir / 'metrics_03.json'
                deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
                while not metrics.exists():
                    failed = page.evaluate(_ERROR_OUTPUT)
                    assert not failed, f'a cell failed in JupyterLab:\n{failed[-3000:]}'
                    assert time.monotonic() < deadline, f'Run All did not finish in {RUN_ALL_TIMEOUT_S} s'
                    page.wait_for_timeout(1000)
                page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
                t_run = time.perf_counter() - t_start - t_open
                assert json.loads(metrics.read_text())['seeds'] == [0]  # the small settings ran

                explorer = page.locator(EXPLORER)
                _wait_titles(page, '2 groups by exhaustive')
                _wait_titles(page, 'Sub-supernets for 2 groups')
                assert page.locator(f'{EXPLORER} .js-plotly-plot').count() == 2
                explorer.screenshot(path=str(SHOTS / '1_explorer_before.png'))
                _show(page, explorer.locator('.noUi-handle'))
                page.screenshot(path=str(SHOTS / '1_lab_before.png'))

                # drag the slider handle from 2 to 3 (counts 2..5 on the track)
                _show(page, explorer.locator('.noUi-handle'))
                track = explorer.locator('.noUi-target').bounding_box()
                handle = explorer.locator('.noUi-handle').bounding_box()
                assert 0 <= handle['y'] <= page.viewport_size['height'], f'slider not in view: {handle}'
                y = handle['y'] + handle['height'] / 2
                page.mouse.move(handle['x'] + handle['width'] / 2, y)
                page.mouse.down()
                page.mouse.move(track['x'] + track['width'] / 3, y, steps=10)
                page.mouse.up()
                slider_s = _wait_titles(page, '3 groups by exhaustive')
                _wait_titles(page, 'Sub-supernets for 3 groups')
                assert explorer.locator('.widget-readout').first.text_content().strip() == '3'
                kernel_slider = explorer.locator('.nasviz-redraw').text_content()
                explorer.screenshot(path=str(SHOTS / '2_explorer_after_slider.png'))

                explorer.locator('select').select_option('spectral')
                method_s = _wait_titles(page, '3 groups by spectral')
                kernel_method = explorer.locator('.nasviz-redraw').text_content()
                titles = _titles(page)
                page.screenshot(path=str(SHOTS / '3_lab_after.png'))
                explorer.screenshot(path=str(SHOTS / '3_explorer_after_method.png'))
            except Exception:
                page.screenshot(path=str(SHOTS / 'failure.png'))
                raise
        finally:
            chromium.close()

    kernel_s = [float(re.search(r'in ([0-9.]+) s', t).group(1)) for t in (kernel_slider, kernel_method)]
    timings = dict(
        open_s=round(t_open, 1),
        run_all_s=round(t_run, 1),
        slider_redraw_s=round(slider_s, 3),
        method_redraw_s=round(method_s, 3),
        kernel_redraw_s=kernel_s,
        total_s=round(time.perf_counter() - t_start, 1),
        titles=titles,
    )
    (SHOTS / 'lab_timings.json').write_text(json.dumps(timings, indent=1))
    print('lab timings:', timings, '; screenshots in', SHOTS)
    assert any(t.startswith('3 groups by spectral') for t in titles), titles
    assert not errors, errors
    assert not off_host, f'requests that left 127.0.0.1: {off_host}'
    # redraw times are recorded in lab_timings.json; benchmarks/explorer_redraw.py measures them
    assert all(s > 0 for s in kernel_s), timings


# -- the static report, with the network refused ---------------------------------------------------
@pytest.mark.slow
def test_report_pages_render_every_figure_offline(report_dir):
    index = report_dir / 'index.html'
    sync_playwright = browser.require_playwright()
    browser.require_chromium()
    pages = [index, *sorted(report_dir.glob('[0-9][0-9]_*.html'))]
    assert len(pages) > 1
    refused: list[str] = []
    with sync_playwright() as p:
        chromium = browser.launch_chromium(p)
        try:
            ctx = chromium.new_context(viewport={'width': 1200, 'height': 900})

            def route(r):
                if r.request.url.startswith(('file:', 'data:', 'blob:')):
                    r.continue_()
                else:
                    refused.append(r.request.url)
                    r.abort()

            ctx.route('**/*', route)
            for html in pages:
                page = ctx.new_page()
                errors: list[str] = []
                page.on('pageerror', lambda e, errors=errors: errors.append(str(e)))
                page.on('console', lambda m, errors=errors: errors.append(m.text) if m.type == 'error' else None)
                page.goto(html.resolve().as_uri(), wait_until='load')
                n_div = page.locator('.plotly-graph-div').count()
                if n_div:
                    page.wait_for_function(
                        """() => [...document.querySelectorAll('.plotly-graph-div')]
                                 .every(d => d.querySelector('.main-svg'))""",
                        timeout=60_000,
                    )
                drawn = page.locator('.plotly-graph-div:has(.main-svg)').count()
                assert drawn == n_div, f'{html.name}: {drawn} of {n_div} plotly figures rendered'
                if html != index:
                    assert n_div > 0, f'{html.name} has no plotly figure'
                assert not errors, f'{html.name}: {errors}'
                page.close()
        finally:
            chromium.close()
    assert not refused, f'report pages asked the network for {refused}'


def test_lab_screenshots_stay_out_of_the_report_folder():
    """The report folder holds what a reader opens; the lab test's screenshots live elsewhere."""
    assert not SHOTS.resolve().is_relative_to(REPORT.resolve()), SHOTS
