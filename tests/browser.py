"""Headless-Chromium helpers for checking that generated HTML really renders (JS included).

Used by ``tests/test_report.py``; importable from any test as ``from browser import ...``
(pytest puts ``tests/`` on ``sys.path`` with its default rootdir-based import mode).
Chromium comes from ``scripts/install_chromium.sh``. Flags keep it offline and quiet: no
background networking, no component updates, a throw-away profile dir.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')

_BASE_FLAGS = (
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    '--hide-scrollbars',
)


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary on PATH (``$CHROMIUM`` wins), or None."""
    explicit = os.environ.get('CHROMIUM')
    if explicit and shutil.which(explicit):
        return shutil.which(explicit)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium path; otherwise fail on CI (where it must be installed) or skip locally."""
    path = find_chromium()
    if path:
        return path
    msg = 'chromium not found on PATH; run `bash scripts/install_chromium.sh`'
    if os.environ.get('CI') == 'true':
        pytest.fail(msg)
    pytest.skip(msg)


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    chromium = require_chromium()
    # A fresh profile per call: a shared one can be locked by a concurrent run and hang.
    with tempfile.TemporaryDirectory(prefix='nasviz-chromium-') as profile:
        cmd = [chromium, *_BASE_FLAGS, f'--user-data-dir={profile}', *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(html_path: str | os.PathLike, budget_ms: int = 10_000, timeout: float = 90) -> str:
    """The DOM after scripts ran (``--dump-dom``), as HTML text.

    ``--virtual-time-budget`` lets timers and deferred scripts finish before the dump without
    waiting the budget in real time.
    """
    url = Path(html_path).resolve().as_uri()
    proc = _run([f'--virtual-time-budget={budget_ms}', '--dump-dom', url], timeout)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f'chromium --dump-dom failed (rc={proc.returncode}): {proc.stderr[-2000:]}')
    return proc.stdout


def screenshot(
    html_path: str | os.PathLike,
    png_path: str | os.PathLike,
    size: tuple[int, int] = (1200, 2000),
    budget_ms: int = 10_000,
    timeout: float = 90,
) -> Path:
    """Render ``html_path`` to ``png_path`` at ``size`` (width, height) pixels."""
    png_path = Path(png_path).resolve()
    url = Path(html_path).resolve().as_uri()
    proc = _run(
        [f'--virtual-time-budget={budget_ms}', f'--screenshot={png_path}', f'--window-size={size[0]},{size[1]}', url],
        timeout,
    )
    if proc.returncode != 0 or not png_path.exists():
        raise RuntimeError(f'chromium --screenshot failed (rc={proc.returncode}): {proc.stderr[-2000:]}')
    return png_path


def non_white_fraction(png_path: str | os.PathLike, threshold: int = 245) -> float:
    """Share of pixels that are not (near) white: 0 for a blank page."""
    from PIL import Image

    with Image.open(png_path) as img:
        grey = img.convert('L')
        hist = grey.histogram()
    total = sum(hist)
    return sum(hist[:threshold]) / total if total else 0.0


def plotly_rendered(dom: str) -> bool:
    """True when plotly.js drew at least one figure (these classes exist only after JS ran)."""
    return 'main-svg' in dom and 'plot-container' in dom


_TICK = re.compile(r'<g class="(?P<axis>[xy])\d*tick"[^>]*>\s*<text[^>]*>(?P<label>.*?)</text>', re.DOTALL)


def tick_labels(dom: str, axis: str = 'x') -> list[str]:
    """Tick label texts of every ``axis`` ('x' or 'y') axis plotly drew in ``dom`` (tags inside
    a label, such as ``<tspan>`` line breaks, are removed)."""
    return [re.sub(r'<[^>]+>', ' ', m.group('label')).strip() for m in _TICK.finditer(dom) if m.group('axis') == axis]


def visible_text(dom: str) -> str:
    """The text a reader sees (scripts, styles and tags removed), for checks like 'Traceback'."""
    body = re.sub(r'<(script|style)\b.*?</\1>', ' ', dom, flags=re.DOTALL | re.IGNORECASE)
    return re.sub(r'<[^>]+>', ' ', body)


def report_problems(report_dir: str | os.PathLike, pages: list[str] | None = None) -> list[str]:
    """What is wrong with a rendered report, as sentences (empty when it is fine).

    Checks in Chromium: the index shows a metrics table (rows of ``table.metrics``) and links
    every page; each notebook page (``NN_*.html``, or ``pages``) draws its plotly figures,
    shows no 'Traceback' and links back to the index. Usable on the report ``make report``
    writes as well as on a test's report.
    """
    root = Path(report_dir)
    problems = []
    index_dom = dump_dom(root / 'index.html')
    if not re.search(r'<table class="metrics">.*?<th scope="row">', index_dom, re.DOTALL):
        problems.append('index.html shows no metrics table')
    names = pages if pages is not None else sorted(p.name for p in root.glob('[0-9][0-9]_*.html'))
    for name in names:
        if f'href="{name}"' not in index_dom:
            problems.append(f'index.html does not link {name}')
        dom = dump_dom(root / name)
        if 'Traceback' in visible_text(dom):
            problems.append(f'{name} shows a Traceback')
        if 'class="plotly-graph-div' in dom and not plotly_rendered(dom):
            problems.append(f'plotly did not render in {name}')
        if 'href="index.html"' not in dom:
            problems.append(f'{name} has no link back to the index')
    return problems


# -- driving Chromium with Playwright (tests/test_lab_browser.py) --------------------------------
#: the same offline/quiet flags as the --dump-dom calls, for a Playwright-launched Chromium
PLAYWRIGHT_FLAGS = (
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
)


def require_playwright():
    """``playwright.sync_api.sync_playwright``; fail on CI (the test extra installs it), else skip.

    Only the Python package is used: the browser is the system Chromium (``require_chromium``),
    never one downloaded by ``playwright install``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        msg = "playwright is not installed: pip install -e '.[test]'"
        if os.environ.get('CI') == 'true':
            pytest.fail(msg)
        pytest.skip(msg)
    return sync_playwright


def launch_chromium(playwright, **kwargs):
    """The system Chromium, headless, through Playwright (``executable_path``; no download)."""
    return playwright.chromium.launch(
        executable_path=require_chromium(), headless=True, args=list(PLAYWRIGHT_FLAGS), **kwargs
    )
