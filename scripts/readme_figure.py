"""Draw the README's figure: the audit of the published NAS-Bench-201 supernets.

The one-shot and few-shot supernet scores of all 15,625 NB201 cells (the published table,
``$NASVIZ_NB201_SUPERNETS``) are audited against NB201's 200-epoch CIFAR-10 test accuracy
(``$NASVIZ_NB201_TABLE``) by :func:`nasviz.audit.audit` (2,000 bootstrap resamples, seed 0, as in
docs/results/audit.md), and their Kendall tau and top-10% precision with 95% CIs are drawn beside
parameter count, random scores and the ground truth's ceiling by
:func:`nasviz.viz.plot_ranking_ci`. Every number in the figure is computed by this run.

The PNG is rendered by headless Chromium (the one the report tests use, ``scripts/install_chromium.sh``)
from the figure's offline HTML, so no static-export package is needed::

    python scripts/readme_figure.py                      # -> docs/assets/nb201_supernet_audit.png
    python scripts/readme_figure.py --out /tmp/fig.png   # anywhere else

An existing PNG is replaced only when ``--out`` is the default (the committed figure) or
``--force`` is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from nasviz.audit import audit
from nasviz.viz import plot_ranking_ci

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / 'docs' / 'assets' / 'nb201_supernet_audit.png'
ESTIMATORS = {'oneshot_supernet': 'one-shot supernet', 'fewshot_supernet': 'few-shot supernet'}
BASELINE_NAMES = {'params': 'parameter count', 'random': 'random scores'}
# (audit metric, its K, the figure's metric name: nasviz's axis titles know these)
METRICS = (('kendall_tau', '', 'kendall_tau'), ('precision_top', '0.1', 'top10_precision'))
WIDTH, HEIGHT = 900, 640
CHROMIUM_NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')


def data_path(var: str) -> str:
    path = os.environ.get(var)
    if not path:
        sys.exit(f'readme_figure: set ${var} (see docs/guide/data.md)')
    if not Path(path).is_file():
        sys.exit(f'readme_figure: ${var} names {path}, which is not a file')
    return path


def ranking_table(res) -> pd.DataFrame:
    """The long table :func:`plot_ranking_ci` draws, from the audit's metrics: one row per
    estimator, baseline and ceiling and per metric of :data:`METRICS`."""
    m = res.metrics
    rows = []
    for metric, k, name in METRICS:
        part = m[(m['metric'] == metric) & (m['k'] == k)]
        for _, r in part.iterrows():
            who = r['estimator']
            kind = 'method' if r['kind'] == 'estimator' else r['kind']
            # the ceiling is the truth's own second run (its validation accuracy) as a predictor
            label = (
                ESTIMATORS.get(who) or BASELINE_NAMES.get(who) or ('valid-as-predictor' if kind == 'ceiling' else who)
            )
            rows.append(
                dict(
                    method=label,
                    kind=kind,
                    metric=name,
                    estimate=r['estimate'],
                    low=r['low'],
                    high=r['high'],
                    n=r['n'],
                    level=res.settings['level'],
                )
            )
    return pd.DataFrame(rows)


def figure(res) -> go.Figure:
    table = ranking_table(res)
    fig = plot_ranking_ci(
        table,
        metrics=[name for _, _, name in METRICS],
        title=f'Published NAS-Bench-201 supernets against ground truth ({res.n:,} cells)',
    )
    fig.update_layout(width=WIDTH, height=HEIGHT, margin=dict(l=70, r=30, t=90, b=60))
    return fig


def find_chromium() -> str:
    explicit = os.environ.get('CHROMIUM')
    for name in ((explicit,) if explicit else ()) + CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    sys.exit('readme_figure: chromium not found on PATH ($CHROMIUM wins); run `bash scripts/install_chromium.sh`')


def render_png(fig: go.Figure, out: Path, width: int = WIDTH, height: int = HEIGHT) -> None:
    """``fig`` as a PNG of ``width`` x ``height`` pixels, drawn by headless Chromium from the
    figure's offline HTML (plotly.js inline; no network)."""
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix='nasviz-readme-figure-') as tmp:
        html = Path(tmp) / 'figure.html'
        body = fig.to_html(full_html=False, include_plotlyjs=True, config={'staticPlot': True, 'displayModeBar': False})
        html.write_text(
            '<!doctype html><html><head><meta charset="utf-8">'
            '<style>html,body{margin:0;padding:0;background:white;overflow:hidden}</style></head>'
            f'<body>{body}</body></html>',
            encoding='utf-8',
        )
        png = Path(tmp) / 'figure.png'
        cmd = [
            chromium,
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--disable-dev-shm-usage',
            '--hide-scrollbars',
            '--force-device-scale-factor=1',
            f'--user-data-dir={Path(tmp) / "profile"}',
            f'--window-size={width},{height}',
            '--virtual-time-budget=10000',
            f'--screenshot={png}',
            html.as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0 or not png.is_file():
            sys.exit(f'readme_figure: chromium --screenshot failed (rc={proc.returncode}): {proc.stderr[-2000:]}')
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument(
        '--out', type=Path, default=DEFAULT_OUT, help=f'PNG to write (default: {DEFAULT_OUT.relative_to(ROOT)})'
    )
    ap.add_argument('--resamples', type=int, default=2000, help='bootstrap resamples (default 2000)')
    ap.add_argument('--force', action='store_true', help='replace an existing --out file')
    args = ap.parse_args(argv)
    out = args.out.resolve()
    if out.exists() and out != DEFAULT_OUT and not args.force:
        sys.exit(f'readme_figure: {out} exists; pass --force to replace it')
    scores, truth = data_path('NASVIZ_NB201_SUPERNETS'), data_path('NASVIZ_NB201_TABLE')
    t0 = time.perf_counter()
    res = audit(scores, truth, space='nb201', estimators=list(ESTIMATORS), n_resamples=args.resamples, random_state=0)
    t_audit = time.perf_counter() - t0
    print(ranking_table(res).round(3).to_string(index=False))
    render_png(figure(res), out)
    print(f'audit {t_audit:.1f} s; wrote {out} ({out.stat().st_size / 1024:.0f} KB)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
