"""The report's ``index.html``: for every notebook its status, headline metrics (with
confidence intervals and where each number comes from) and findings; what the profile measures;
the resolved parameters of every notebook; and the run metadata.

This module turns a :class:`~nasviz.report.run.ReportResult` into plain rows of text; the page
itself is the Jinja2 template ``templates/index.html.j2``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasviz.report.export import templates
from nasviz.report.metadata import JSON_FILE, json_default

if TYPE_CHECKING:  # the records are built by the runner, which renders this page
    from nasviz.report.run import NotebookRun, ReportResult

__all__ = ['MINUS', 'format_value', 'metric_rows', 'index_html']

_STATUS_COLOUR = {'ok': '#1a7f37', 'failed': '#cf222e', 'skipped': '#6e7781'}

# metrics keys that describe the run rather than measure anything; shown elsewhere on the index
_META_KEYS = frozenset({'notebook', 'profile', 'findings', 'headline', 'sources', 'labels'})
_MAX_METRIC_ROWS = 40
MINUS = '\u2212'
_SEP = ' \u00b7 '


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _fmt_number(v: Any) -> str:
    """A number for people: integers as they are, floats to 3 significant-ish decimals,
    a real minus sign, 'n/a' for None/NaN."""
    if v is None:
        return 'n/a'
    if isinstance(v, bool) or not _is_number(v):
        return str(v)
    if isinstance(v, int) or (float(v).is_integer() and abs(v) >= 1000):
        text = f'{int(v)}'
    else:
        x = float(v)
        if not math.isfinite(x):
            return 'n/a' if math.isnan(x) else str(x)
        a = abs(x)
        if a == 0:
            text = '0'
        elif a >= 100:
            text = f'{x:.1f}'
        elif a >= 1:
            text = f'{x:.2f}'
        elif a >= 0.001:
            text = f'{x:.3f}'
        else:
            text = f'{x:.2e}'
    return MINUS + text[1:] if text.startswith('-') else text


def _is_estimate(v: Any) -> bool:
    return isinstance(v, Mapping) and 'estimate' in v


def format_value(v: Any) -> str:
    """Text of one metric: ``0.130 [−0.010, 0.250], n=120`` for an estimate dict
    (``{"estimate", "low", "high", "n"}``; the bounds and n are optional), a formatted number
    otherwise, and compact JSON for anything else."""
    if _is_estimate(v):
        text = _fmt_number(v.get('estimate'))
        low, high = v.get('low'), v.get('high')
        if low is not None or high is not None:
            text += f' [{_fmt_number(low)}, {_fmt_number(high)}]'
        if v.get('n') is not None:
            text += f', n={_fmt_number(v["n"])}'
        return text
    if v is None or _is_number(v) or isinstance(v, bool):
        return _fmt_number(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)) and all(_is_number(x) or isinstance(x, str) for x in v):
        return ', '.join(_fmt_number(x) if _is_number(x) else str(x) for x in v)
    text = json.dumps(v, default=json_default)
    return text if len(text) <= 120 else text[:117] + '...'


def _ci_note(v: Any) -> str | None:
    if not _is_estimate(v) or v.get('low') is None:
        return None
    level = v.get('level')
    method = v.get('method') or 'bootstrap'
    pct = f'{float(level) * 100:g}% ' if _is_number(level) and level <= 1 else ''
    return f'{pct}{method} confidence interval'.strip()


def metric_rows(metrics: Mapping[str, Any] | None) -> list[tuple[str, str, str | None]]:
    """Rows ``(name, value text, CI note)`` of a notebook's metrics for the index.

    Keys listed in ``metrics['headline']`` come in that order (only those); otherwise every key
    but ``notebook``, ``profile``, ``findings``. Estimate dicts are leaves; other dicts are
    flattened one level (``kendall_tau · SPOS``). At most 40 rows.
    """
    if not metrics:
        return []
    head = metrics.get('headline')
    if isinstance(head, (list, tuple)) and head:
        keys = [k for k in head if k in metrics]
    else:
        keys = [k for k in metrics if k not in _META_KEYS]
    rows: list[tuple[str, str, str | None]] = []

    def walk(name: str, v: Any, depth: int) -> None:
        if isinstance(v, Mapping) and not _is_estimate(v) and v and depth < 2:
            for k2, v2 in v.items():
                walk(f'{name}{_SEP}{k2}', v2, depth + 1)
        else:
            rows.append((name, format_value(v), _ci_note(v)))

    for k in keys:
        walk(str(k), metrics[k], 0)
    return rows


def _metrics_table(run: NotebookRun) -> dict[str, Any]:
    """The index's table of one notebook's headline numbers: name (the metrics file's ``labels``
    entry when it gives one), value with its CI, and where the number comes from (the file's
    ``sources``: computed in this run, or read from a shipped file, by name)."""
    rows = metric_rows(run.metrics)
    metrics = run.metrics or {}
    sources = metrics['sources'] if isinstance(metrics.get('sources'), Mapping) else {}
    labels = metrics['labels'] if isinstance(metrics.get('labels'), Mapping) else {}
    more = max(len(rows) - _MAX_METRIC_ROWS, 0)
    rows = rows[:_MAX_METRIC_ROWS]
    shown = []
    for k, v, n in rows:
        top, _, rest = k.partition(_SEP)
        shown.append(
            dict(
                name=str(labels.get(top, top)) + (f'{_SEP}{rest}' if rest else ''),
                value=v,
                note=n,
                source=str(sources.get(top)),
            )
        )
    return dict(
        rows=shown,
        missing=run.metrics is None,
        more=more,
        sources=bool(sources),
        notes='; '.join(sorted({n for _, _, n in rows if n})),
    )


def _run_row(r: NotebookRun) -> dict[str, Any]:
    """One notebook as the index shows it: names of its files, status, time, error, metrics."""
    return dict(
        name=r.name,
        stem=Path(r.name).stem,
        status=r.status,
        colour=_STATUS_COLOUR[r.status],
        seconds=f'{r.seconds:.1f}',
        error=r.error,
        ok=r.ok,
        findings=list(r.findings),
        html=Path(r.html_path).name if r.html_path else None,
        notebook=Path(r.output_path).name if r.output_path else None,
        links=[
            (href, label)
            for href, label in (
                (Path(r.html_path).name if r.html_path else None, 'page'),
                (Path(r.metrics_path).name if r.metrics_path else None, 'metrics JSON'),
                (Path(r.output_path).name if r.output_path else None, 'executed notebook'),
            )
            if href
        ],
        metrics=_metrics_table(r),
    )


def _kv(items: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), v if isinstance(v, str) else format_value(v)) for k, v in items.items() if v is not None]


def _profile_rows(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows: dict[str, Any] = {}
    ds, sn, gt = info.get('dataset') or {}, info.get('supernet') or {}, info.get('ground_truth') or {}
    if ds:
        rows['dataset'] = f'{ds.get("name", "")}: {ds.get("description", "")}'
    if sn:
        rows['supernet'] = sn.get('description')
    if gt:
        text = f'{gt.get("name", "")}: {gt.get("description", "")}'
        facts = []
        if gt.get('n_cells'):
            facts.append(f'{_fmt_number(gt["n_cells"])} cells')
        if gt.get('n_seeds'):
            facts.append(f'{gt["n_seeds"]} training seeds per cell ({", ".join(map(str, gt.get("seeds", [])))})')
        if gt.get('seed_to_seed_kendall_tau') is not None:
            facts.append(f'seed-to-seed Kendall tau {_fmt_number(gt["seed_to_seed_kendall_tau"])}')
        spread = gt.get('accuracy_spread') or {}
        if spread.get('iqr') is not None:
            facts.append(
                f'accuracy IQR {_fmt_number(spread["iqr"])} points (median {_fmt_number(spread.get("median"))}%)'
            )
        if facts:
            text += ' \u2014 ' + '; '.join(facts)
        if gt.get('error'):
            text += f' (details unavailable: {gt["error"]})'
        rows['ground truth'] = text
    return _kv(rows)


def _params_tables(runs: Sequence[NotebookRun]) -> list[dict[str, Any]]:
    out = []
    for r in runs:
        if not r.parameters:
            continue
        rows = []
        for k, v in r.parameters.items():
            src = 'injected' if k in r.injected else 'default'
            if k in r.injected and k in r.defaults and r.defaults[k] != r.injected[k]:
                src += f' (default {format_value(r.defaults[k]) if r.defaults[k] is not None else "None"})'
            rows.append((str(k), 'None' if v is None else format_value(v), src))
        out.append(dict(name=r.name, rows=rows))
    return out


def _metadata_rows(result: ReportResult) -> list[tuple[str, str]]:
    meta = result.metadata or {}
    host = meta.get('host') or {}
    versions = meta.get('versions') or {}
    rows: dict[str, Any] = {
        'started': result.started,
        'total wall time': f'{result.seconds:.1f} s',
        'wall time per notebook': ', '.join(f'{r.name[:2]}: {r.seconds:.1f} s' for r in result.runs),
        'git commit': (meta.get('git_commit', 'unknown') + (' (uncommitted changes)' if meta.get('git_dirty') else '')),
        'CPU': (f'{host.get("cpu", "unknown")} ({host.get("cpus_usable")} of {host.get("cpu_count")} cores usable)'),
        'GPU': host.get('gpu') or 'none (CPU run)',
        'torch threads': host.get('torch_threads'),
        'thread settings': ', '.join(f'{k}={v}' for k, v in (host.get('thread_env') or {}).items()) or None,
        'platform': host.get('platform'),
        'code cells': 'shown' if result.show_code else 'hidden (nasviz report --show-code keeps them)',
    }
    ex = meta.get('executor')
    if ex:
        if ex.get('backend') == 'local':
            where = 'local process pool'
        else:
            where = f'Ray at {ex["address"]}' if ex.get('address') else "Ray (this process's instance)"
        cap = f'{ex["workers"]} at once' if ex.get('workers') else 'no cap'
        rows['notebooks ran on'] = (
            f'{where}, {cap}: the first notebook alone (01 where it runs), then the rest in parallel, one thread each'
        )
    rows.update({k: v if v is not None else 'not installed' for k, v in versions.items()})
    return _kv(rows)


def index_html(result: ReportResult) -> str:
    """The text of the report's ``index.html`` for ``result``."""
    from nasviz import __version__

    info = result.profile_info or {}
    profile_error = str(info['error']) if info and 'error' in info and len(info) <= 2 else None
    return (
        templates()
        .get_template('index.html.j2')
        .render(
            version=__version__,
            profile=result.profile,
            started=result.started,
            seconds=f'{result.seconds:.1f}',
            overall='all notebooks ran' if result.ok else f'{len(result.failures)} notebook(s) failed',
            caveat=str(info['caveat']) if info.get('caveat') else None,
            profile_info=bool(info),
            profile_error=profile_error,
            profile_rows=_profile_rows(info) if info and profile_error is None else [],
            runs=[_run_row(r) for r in result.runs],
            parameters=json.dumps(result.parameters, indent=2, default=repr),
            params_tables=_params_tables(result.runs),
            metadata_rows=_metadata_rows(result),
            json_file=JSON_FILE,
        )
    )
