"""The documentation site builds offline with warnings as errors, and covers the package."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_site_builds_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING='1')
    out = subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir', str(tmp_path / 'site')],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    site = tmp_path / 'site'
    # every page of the nav is there, and the API reference rendered real docstrings
    for page in ('index.html', 'guide/install.html', 'guide/spaces.html', 'results/measured.html', 'api/analysis.html'):
        assert (site / page).is_file(), page
    api = (site / 'api' / 'analysis.html').read_text()
    assert 'kendall_ci' in api and 'paired_difference' in api


def test_every_subpackage_has_an_api_page():
    pages = {p.stem for p in (ROOT / 'docs' / 'api').glob('*.md')}
    packages = {p.parent.name for p in (ROOT / 'nasviz').glob('*/__init__.py')}
    assert packages <= pages, packages - pages
    nav = (ROOT / 'mkdocs.yml').read_text()
    for name in pages:
        assert f'api/{name}.md' in nav, name


def test_readme_images_are_committed_and_small():
    readme = (ROOT / 'README.md').read_text()
    images = re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)', readme)
    assert images, 'README.md shows no figure'
    for src in images:
        assert '://' not in src, f'README image {src} is not in the repository'
        path = ROOT / src
        assert path.is_file(), f'README image {src} is missing (scripts/readme_figure.py draws it)'
        assert path.stat().st_size < 200_000, f'README image {src} is {path.stat().st_size} bytes'
