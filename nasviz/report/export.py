"""Static, offline HTML pages of executed notebooks (nbconvert's lab template, adjusted).

plotly.js is written locally (or inlined), require.js, MathJax, mermaid and the ipywidgets
manager (all CDN scripts) are left out, stored widget state (progress bars, the partition
explorer) is stripped, and code cells are hidden unless ``show_code=True``. Each page carries a
navigation bar linking back to the index. The page chrome is Jinja2 templates shipped in
``nasviz/report/templates/``.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasviz.report.metadata import INDEX_FILE, relative_paths, write_report_file

__all__ = ['PLOTLYJS_FILE', 'export_html']

PLOTLY_MIME = 'application/vnd.plotly.v1+json'
WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json'
PLOTLYJS_FILE = 'plotly.min.js'

_OFFLINE_TEMPLATE_NAME = 'nbconvert_offline.html.j2'

# text/plain of progress bars: tqdm's own text ("40%|####  | 2/5 [...]") or an ipywidgets repr
_PROGRESS_TEXT = re.compile(r'(\d+%\||FloatProgress\(|IntProgress\()')

_REMOTE_SCRIPT = re.compile(
    r'<script\b[^>]*\bsrc\s*=\s*["\'](?:https?:)?//[^"\']*["\'][^>]*>\s*</script>', re.IGNORECASE
)
_REMOTE_LINK = re.compile(r'<link\b[^>]*\bhref\s*=\s*["\'](?:https?:)?//[^"\']*["\'][^>]*>', re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def templates() -> Any:
    """The Jinja2 environment of the report's own templates (autoescaping HTML)."""
    from jinja2 import Environment, PackageLoader
    from markupsafe import Markup

    def escape(value: Any) -> Markup:
        # the entities of html.escape (&quot;, &#x27;), as every other page nasviz writes
        return value if isinstance(value, Markup) else Markup(html.escape(str(value)))

    return Environment(
        loader=PackageLoader('nasviz.report', 'templates'),
        autoescape=True,
        finalize=escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def write_plotlyjs(out: Path) -> Path:
    """The installed plotly.js as :data:`PLOTLYJS_FILE` in the report folder ``out`` (rewritten only
    when its size differs); returns its path."""
    from plotly.offline import get_plotlyjs

    target = out / PLOTLYJS_FILE
    js = get_plotlyjs()
    # skip the 5 MB rewrite when the same plotly.js is already there
    if not target.exists() or target.stat().st_size != len(js.encode('utf-8')):
        write_report_file(target, js)
    return target


def _page_head(plotlyjs: str) -> str:
    """What goes first in a page's ``<head>``: script tags that make a global ``Plotly`` before
    any other script of the page, and the navigation bar's styles.

    plotly.js is a UMD bundle: if require.js (which the nbconvert template loads) had already
    defined ``define``, it would register as an anonymous AMD module and no ``Plotly`` global
    would exist. Hiding ``define`` around it keeps the global in every case.
    """
    from markupsafe import Markup

    inline = None
    if plotlyjs == 'inline':
        from plotly.offline import get_plotlyjs

        # "</script" inside the bundle would end the tag early
        inline = Markup(get_plotlyjs().replace('</script', '<\\/script'))
    return templates().get_template('page_head.html.j2').render(plotly_js=inline, plotly_src=PLOTLYJS_FILE)


def _plotly_output_html(spec: Mapping[str, Any]) -> str:
    import plotly.io as pio

    fig = {'data': spec.get('data', []), 'layout': spec.get('layout', {})}
    config = dict(spec.get('config') or {})
    # 525 px is the notebook renderer's default; a '100%' height collapses in a static page
    return pio.to_html(
        fig,
        config=config,
        include_plotlyjs=False,
        full_html=False,
        validate=False,
        default_height='525px',
        default_width='100%',
    )


def _add_plotly_html(nb: Any) -> int:
    """Give every plotly output a ``text/html`` rendering (a div and a ``Plotly.newPlot``).

    In a papermill kernel plotly's default renderer emits only the plotly JSON MIME type, which
    nbconvert's templates do not know, so figures would vanish from the HTML. The JSON is
    rendered here instead, overriding any ``text/html`` another renderer left (those expect
    require.js or a CDN). Returns the number of figures converted.
    """
    count = 0
    for cell in nb.cells:
        for output in cell.get('outputs', []):
            data = output.get('data') or {}
            spec = data.get(PLOTLY_MIME)
            if output.get('output_type') not in ('display_data', 'execute_result') or not spec:
                continue
            if isinstance(spec, str):
                spec = json.loads(spec)
            data['text/html'] = _plotly_output_html(spec)
            count += 1
    return count


def _is_progress_widget(model_id: str, state: Mapping[str, Any], plain: str) -> bool:
    """A progress bar, or a box holding one (tqdm.auto draws an HBox of a label, a
    FloatProgress and a label), judged from the stored widget state, else from its text."""
    model = state.get(model_id) or {}
    names = [str(model.get('model_name', ''))]
    for child in (model.get('state') or {}).get('children') or []:
        names.append(str((state.get(str(child).replace('IPY_MODEL_', '')) or {}).get('model_name', '')))
    return any('Progress' in n for n in names) or bool(_PROGRESS_TEXT.search(plain))


def _strip_widgets(nb: Any) -> int:
    """Remove stored ipywidgets state from ``nb`` in place; return how many outputs changed.

    The notebook-level widget state goes, so no widget manager is loaded; progress-bar outputs
    are dropped; other widget outputs (e.g. the partition explorer) become a one-line note,
    since a static page cannot run them (the notebook shows a static sweep beside them).
    Carriage-return progress text in streams is reduced to its final state.
    """
    stored = nb.metadata.pop('widgets', None) or {}
    state = (stored.get(WIDGET_STATE_MIME) or {}).get('state') or {}
    changed = 0
    for cell in nb.cells:
        outputs = cell.get('outputs')
        if not outputs:
            continue
        kept = []
        for output in outputs:
            data = output.get('data') or {}
            if output.get('output_type') == 'stream' and '\r' in output.get('text', ''):
                output['text'] = _final_progress_text(output['text'])
                changed += 1
            if WIDGET_VIEW_MIME not in data:
                kept.append(output)
                continue
            changed += 1
            plain = str(data.get('text/plain', ''))
            model = str((data.get(WIDGET_VIEW_MIME) or {}).get('model_id', ''))
            if _is_progress_widget(model, state, plain):
                continue  # a progress bar: its final state is meaningless on a static page
            kind = plain.split('(', 1)[0].strip() or 'widget'
            note = (
                f'[interactive {kind}: it runs in JupyterLab, not in this static page; '
                'open the executed notebook to use it]'
            )
            kept.append(
                {
                    'output_type': 'display_data',
                    'metadata': {},
                    'data': {
                        'text/html': f'<p class="nasviz-widget-note"><i>{html.escape(note)}</i></p>',
                        'text/plain': note,
                    },
                }
            )
        cell['outputs'] = kept
    return changed


def _final_progress_text(text: str) -> str:
    """What a terminal would show for text redrawn with carriage returns."""
    lines = []
    for line in text.split('\n'):
        parts = [p for p in line.split('\r') if p]
        lines.append(parts[-1] if parts else '')
    return '\n'.join(lines)


def relativize_papermill_paths(nb_path: Path, out: Path) -> None:
    """papermill records absolute input/output paths in the executed notebook; keep them
    relative to the report folder so the folder carries no stale temp paths."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    meta = nb.metadata.get('papermill')
    if not meta:
        return
    changed = False
    for key in ('input_path', 'output_path'):
        value = meta.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            meta[key] = relative_paths(value, out)
            changed = True
    if changed:
        write_report_file(nb_path, nbformat.writes(nb))


def export_html(
    nb_path: Path, html_path: Path, plotlyjs: str, *, show_code: bool = False, page: Mapping[str, Any] | None = None
) -> Path:
    """Export an executed notebook to a static, offline HTML page (see the module docstring).

    ``page`` (name, profile, seconds, metrics file, caveat, parameters) fills the navigation
    bar at the top: a link back to the index and the run's facts.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    _add_plotly_html(nb)
    _strip_widgets(nb)
    offline = templates().loader.get_source(templates(), _OFFLINE_TEMPLATE_NAME)[0]
    exporter = HTMLExporter(
        template_name='lab',
        template_file=_OFFLINE_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: offline})],
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=not show_code,
    )
    body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'name': nb_path.stem}})
    body = _drop_remote_scripts(body)
    body = _inject_head(body, _page_head(plotlyjs))
    body = _inject_body_top(body, _page_nav(nb_path, page or {}))
    write_report_file(html_path, body)
    return html_path


def _drop_remote_scripts(page: str) -> str:
    """Remove any ``<script src=...>``/``<link href=...>`` that would fetch from the network
    (a template update could add one back; this keeps the page offline regardless)."""
    return _REMOTE_LINK.sub('', _REMOTE_SCRIPT.sub('', page))


def _page_nav(nb_path: Path, page: Mapping[str, Any]) -> str:
    params = page.get('parameters')
    return (
        templates()
        .get_template('page_nav.html.j2')
        .render(
            index_file=INDEX_FILE,
            name=str(page.get('name') or nb_path.name),
            profile=str(page['profile']) if page.get('profile') else None,
            seconds=float(page['seconds']) if page.get('seconds') is not None else None,
            metrics=str(page['metrics']) if page.get('metrics') else None,
            notebook=nb_path.name,
            parameters=', '.join(f'{k}={v!r}' for k, v in params.items()) if params else None,
            caveat=str(page['caveat']) if page.get('caveat') else None,
        )
    )


def _inject_body_top(page: str, snippet: str) -> str:
    m = re.search(r'<body[^>]*>', page, flags=re.IGNORECASE)
    return page[: m.end()] + '\n' + snippet + page[m.end() :] if m else snippet + page


def _inject_head(page: str, snippet: str) -> str:
    """Insert ``snippet`` as early in ``<head>`` as possible (after the charset meta)."""
    for pattern in (r'<meta\s+charset=[^>]*>', r'<head[^>]*>'):
        m = re.search(pattern, page, flags=re.IGNORECASE)
        if m:
            return page[: m.end()] + '\n' + snippet + page[m.end() :]
    return snippet + page
