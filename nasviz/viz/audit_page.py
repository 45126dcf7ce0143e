"""The audit as one offline HTML page (``audit.html``): tables and the figures of
:mod:`nasviz.viz.audit`, plotly.js inlined once, rendered with a Jinja2 template."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import plotly.offline
from markupsafe import Markup

from nasviz.audit.compare import verdict_sentence
from nasviz.io import atomic_write_text
from nasviz.viz.audit import audit_figures

__all__ = ['render_audit_html', 'write_audit_html']

_TEMPLATE = jinja2.Template(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nasviz estimator audit</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #555; font-size: 0.9rem; }
.better { color: #2ca02c; } .worse { color: #d62728; } .level { color: #555; }
</style>
<script type="text/javascript">{{ plotly_js }}</script>
</head><body>
<h1>Estimator audit: {{ estimators|join(', ') }}</h1>
<p class="note">Computed in this run by <code>nasviz audit</code> from {{ source }}; ground truth: {{ truth }};
{{ n }} architectures of the {{ space }} space; {{ level }} bootstrap intervals from {{ n_resamples }} resamples of
the architectures (seed {{ seed }}), every estimator and baseline scored on the same resamples.
{% if merged %}{{ merged }} isomorphic architecture(s) merged.{% endif %}</p>
{% if notes %}<ul class="note">{% for t in notes %}<li>{{ t }}</li>{% endfor %}</ul>{% endif %}
<h2>Metrics (estimate [{{ level }} CI])</h2>
{{ summary_html }}
{% if ceiling %}<p class="note">Ceiling: {{ ceiling }}</p>{% endif %}
<h2>Paired verdicts on Kendall tau</h2>
<p class="note">"better", "worse" and "level with" come only from the paired interval of the difference on the same
architectures; beside "level with" stands the smallest difference this design detects (80% power, 5% two-sided).</p>
<ul>{% for s in verdicts %}<li class="{{ s[0] }}">{{ s[1] }}</li>{% endfor %}</ul>
<h2>Dropped rows</h2>
{{ dropped_html }}
{% for title, fig in figures %}<h2>{{ title }}</h2>
{{ fig }}
{% endfor %}
</body></html>
""",
    autoescape=jinja2.select_autoescape(default=True),
)


def render_audit_html(res: Any) -> str:
    """The page as a string (self-contained: no network access needed to view it)."""
    figs = [(t, Markup(f.to_html(full_html=False, include_plotlyjs=False))) for t, f in audit_figures(res).items()]
    summ = res.summary(
        metrics=[
            'kendall_tau',
            'spearman',
            'pearson',
            'precision_top',
            'best_rank',
            'worst_rank',
            'regret',
            'size_bias',
        ]
    )
    summ = summ[[c for c in summ.columns if not c.startswith('dropped')]].fillna('n/a (not computed for a baseline)')
    cmp = res.comparisons[(res.comparisons['metric'] == 'kendall_tau')]
    verdicts = [
        ('level' if r['verdict'] == 'level with' else r['verdict'], verdict_sentence(r)) for r in cmp.to_dict('records')
    ]
    dropped = pd.DataFrame(res.dropped).T
    dropped.index.name = 'estimator'
    return _TEMPLATE.render(
        plotly_js=Markup(plotly.offline.get_plotlyjs()),
        estimators=res.estimators,
        source=res.settings.get('source'),
        truth=res.settings.get('truth'),
        n=res.n,
        space=res.space,
        level=f'{res.settings.get("level", 0.95):.0%}',
        n_resamples=res.settings.get('n_resamples'),
        seed=res.settings.get('random_state'),
        merged=res.merged,
        notes=res.notes,
        summary_html=Markup(summ.to_html(border=0)),
        ceiling=str(res.ceiling) if res.ceiling is not None else '',
        verdicts=verdicts,
        dropped_html=Markup(dropped.to_html(border=0)),
        figures=figs,
    )


def write_audit_html(res: Any, path: str | os.PathLike) -> Path:
    """Write :func:`render_audit_html` to ``path`` (atomically)."""
    return atomic_write_text(path, render_audit_html(res))
