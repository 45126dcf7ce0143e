"""Run the numbered notebooks through papermill and collect them into an HTML report.

``run_report`` executes every ``notebooks/NN_*.ipynb`` in order with the same parameters, writes
the executed notebook and an HTML export of each into ``out_dir``, plus an ``index.html`` and a
``report.json``. The ``nasviz report`` command is a thin wrapper over it.

The index is the report's summary: for every notebook its headline metrics (with confidence
intervals) and findings, read from the ``metrics_NN.json`` the notebook writes beside itself;
the resolved parameters of every notebook; what the profile measures (dataset, ground truth,
a caveat banner for small-scale runs); and run metadata (package versions, git commit, CPU/GPU,
threads, wall times). ``report.json`` holds the same facts, with paths relative to the report
folder.

Metrics file shape (``metrics_NN.json``, written by notebook ``NN_*.ipynb`` into its working
directory, which is the report folder)::

    {"kendall_tau": {"estimate": 0.13, "low": -0.01, "high": 0.25, "n": 120, "level": 0.95},
     "params_tau": 0.04,                      # plain numbers are fine too
     "kendall_tau_by_method": {"SPOS": {"estimate": ...}, "NAS-LID": {...}},   # one level of nesting
     "findings": ["SPOS ranks 120 cells at tau 0.13 [95% CI -0.01, 0.25]: within noise of ..."],
     "headline": ["kendall_tau", "params_tau"],   # optional: which keys the index shows, in order
     "labels": {"params_tau": "parameter count, Kendall tau"},    # optional: how a key reads on the index
     "sources": {"kendall_tau": "computed in this run",           # optional: each number's provenance,
                 "params_tau": "read from shipped_table.csv"}}    # shown beside it on the index

Exported pages are static and offline: plotly.js is written locally (or inlined), require.js,
MathJax, mermaid and the ipywidgets manager (all CDN scripts) are left out, stored widget state
(progress bars, the partition explorer) is stripped, and code cells are hidden unless
``show_code=True``. Each page links back to the index.

Notebooks validate their own parameters with :func:`check_parameters`, so that a bad value
fails in the first cells with a clear message instead of deep inside a training loop.

Importing this module is cheap: papermill, nbconvert and plotly load only when a report runs.
"""
from __future__ import annotations

from nasviz.profiles import PROFILES as _PROFILE_SETTINGS

import datetime as _dt
import html
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from nasviz.executor import (ENV_BACKEND, Executor, LocalExecutor, RayExecutor, Task, get_executor, resolve_backend,
                             task_resources)
from nasviz.profiles import profile_settings, resolve_device
from nasviz.ownership import claim
from nasviz.utils import atomic_write_text
from nasviz.validate import check_count, short_repr

__all__ = [
    'PROFILES', 'NotebookRun', 'ReportResult', 'ReportError', 'check_parameters', 'run_report',
    'find_notebooks', 'notebook_defaults', 'run_metadata', 'format_value', 'metric_rows',
    'metrics_path_for', 'run_notebook', 'without_paths',
]

#: Run sizes, smallest first: ``tiny`` for unit tests, ``small`` for smoke runs on a CPU,
#: ``paper`` for the full experiments on a GPU. What each one means is set by the notebooks'
#: library calls; this module only checks the name.
PROFILES: tuple[str, ...] = tuple(_PROFILE_SETTINGS)

NOTEBOOK_GLOB = '[0-9][0-9]_*.ipynb'
PLOTLY_MIME = 'application/vnd.plotly.v1+json'
WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json'
PLOTLYJS_FILE = 'plotly.min.js'
INDEX_FILE = 'index.html'
JSON_FILE = 'report.json'

#: Packages whose versions every report records.
VERSION_PACKAGES: tuple[str, ...] = (
    'nasviz', 'torch', 'numpy', 'scipy', 'pandas', 'scikit-learn', 'umap-learn', 'plotly', 'papermill',
    'nbconvert', 'ipywidgets',
)

# Parameters that count things (epochs, n_partitions, num_workers, batch_size, ...): a negative
# or fractional count is always a typo, and catching it in the parameters cell saves a run.
_COUNT_NAME = re.compile(r'^(epochs|.*_epochs|n_.+|num_.+|.+_size|steps|.*_steps)$')
_SEED_NAMES = frozenset({'seed', 'random_state'})


# --------------------------------------------------------------------------------------------
# parameter checks
# --------------------------------------------------------------------------------------------
def _check_profile(profile: Any) -> str:
    if profile not in PROFILES:
        raise ValueError(f'unknown profile {profile!r}; expected one of {", ".join(PROFILES)}')
    return profile


def check_parameters(profile: str = 'tiny', **kw: Any) -> dict[str, Any]:
    """Validate notebook parameters and return them as a dict (``profile`` included).

    Call it in the cell after the ``parameters`` cell::

        nasviz.report.check_parameters(profile=profile, epochs=epochs, seed=seed)

    Checks: ``profile`` is one of :data:`PROFILES`; counts (``epochs``, ``n_*``, ``num_*``,
    ``*_size``, ``*_steps``) are non-negative integers; ``seed``/``random_state`` are
    non-negative integers. Other names pass through unchecked. Raises ``ValueError`` naming the
    parameter and the value.
    """
    _check_profile(profile)
    for name, value in kw.items():
        if name in _SEED_NAMES:
            if value is not None and not _is_nonneg_int(value):
                raise ValueError(f'parameter {name}={value!r} must be a non-negative integer (or None)')
        elif _COUNT_NAME.match(name):
            # None means 'the profile's default'
            if value is not None and not _is_nonneg_int(value):
                raise ValueError(f'parameter {name}={value!r} must be a non-negative integer (or None)')
    return {'profile': profile, **kw}


def _is_nonneg_int(value: Any) -> bool:
    import numbers

    # bool is an int subclass, but `epochs=True` is certainly a mistake
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotebookRun:
    """What happened to one notebook.

    Paths are absolute strings here (for Python callers); :meth:`ReportResult.to_dict` and
    ``report.json`` give them relative to the report folder. ``parameters`` are the resolved
    values the notebook ran with: its ``parameters`` cell defaults overridden by the injected
    ones (``injected``); ``defaults`` are the cell's own values.
    """

    name: str                      # file name, e.g. '01_supernet.ipynb'
    input_path: str
    output_path: str | None        # executed notebook (written even when a cell failed)
    html_path: str | None
    status: Literal['ok', 'failed', 'skipped']
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    error: str | None = None       # one-line summary naming the notebook and the cell
    cell_index: int | None = None  # 0-based index of the failing cell in the *source* notebook
    exec_count: int | None = None  # the failing cell's "In [N]" in the executed notebook
    ename: str | None = None
    evalue: str | None = None
    injected: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    metrics_path: str | None = None  # the metrics_NN.json this run wrote, if any
    metrics: dict[str, Any] | None = None
    findings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == 'ok'


@dataclass(frozen=True)
class ReportResult:
    """All notebooks of one report run, in execution order, with run metadata."""

    runs: tuple[NotebookRun, ...]
    out_dir: str
    index_path: str
    json_path: str
    profile: str
    parameters: dict[str, Any]
    started: str
    seconds: float
    metadata: dict[str, Any] = field(default_factory=dict)      # versions, git, hardware
    profile_info: dict[str, Any] = field(default_factory=dict)  # profiles.describe_profile
    show_code: bool = False

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs)

    @property
    def failures(self) -> tuple[NotebookRun, ...]:
        return tuple(r for r in self.runs if r.status == 'failed')

    def summary(self) -> str:
        """Human-readable lines: one per failure, or a success line."""
        if self.ok:
            return f'{len(self.runs)} notebook(s) ran in {self.seconds:.1f} s; report at {self.index_path}'
        lines = [f'{len(self.failures)} of {len(self.runs)} notebook(s) failed:']
        lines += [f'  {r.error}' for r in self.failures]
        skipped = [r.name for r in self.runs if r.status == 'skipped']
        if skipped:
            lines.append(f'  not run after the failure: {", ".join(skipped)}')
        lines.append(f'executed notebooks and report at {self.out_dir} (see {Path(self.index_path).name})')
        return '\n'.join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record with every path relative to the report folder (no absolute paths:
        the folder can be moved, archived or served as is)."""
        d = asdict(self)
        d['ok'] = self.ok
        return _relative_paths(d, Path(self.out_dir))

    def to_frame(self):
        """One row per notebook (pandas is imported lazily)."""
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.runs])


def _relative_paths(obj: Any, out: Path) -> Any:
    """``obj`` with absolute paths made relative to ``out``: a string that is a path becomes a
    relative one ('.' for ``out`` itself), and ``out``'s prefix is removed inside longer text
    (error messages)."""
    import os

    root = str(out)
    if isinstance(obj, dict):
        return {k: _relative_paths(v, out) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_relative_paths(v, out) for v in obj]
    if not isinstance(obj, str) or not obj:
        return obj
    if os.path.isabs(obj) and '\n' not in obj and ' ' not in obj.strip():
        try:
            return os.path.relpath(obj, root)
        except ValueError:  # another drive on Windows
            return obj
    return obj.replace(root + os.sep, '').replace(root, '.')


_ABS_PATH = re.compile(r'(?<![\w.:/])(?:/[\w.+-]+)+/([\w.+-]+)')


def without_paths(text: str) -> str:
    """``text`` with every absolute POSIX path written as its file name: a page says which file
    a number came from, never where it sat on the machine that ran it."""
    return _ABS_PATH.sub(lambda m: m.group(1), str(text))


class ReportError(RuntimeError):
    """At least one notebook failed; ``result`` holds the full record (index.html is written)."""

    def __init__(self, result: ReportResult):
        self.result = result
        super().__init__(result.summary())


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------
def find_notebooks(notebooks_dir: str | Path = 'notebooks',
                   notebooks: Sequence[str] | None = None) -> list[Path]:
    """The ``NN_*.ipynb`` files of ``notebooks_dir`` in order, optionally restricted.

    ``notebooks`` selects by file name (``'01_supernet.ipynb'``), stem (``'01_supernet'``) or
    number prefix (``'01'``); an entry that matches nothing is a ``ValueError``.
    """
    root = Path(notebooks_dir)
    if not root.is_dir():
        raise FileNotFoundError(f'notebooks directory not found: {root.resolve()}')
    found = sorted(root.glob(NOTEBOOK_GLOB))
    if notebooks is None:
        chosen = found
    else:
        if isinstance(notebooks, str):  # a lone name, not an iterable of characters
            notebooks = [notebooks]
        chosen = []
        for want in notebooks:
            want = Path(str(want)).name
            hits = [p for p in found if want in (p.name, p.stem, p.name[:2])]
            if not hits:
                names = ', '.join(p.name for p in found) or 'none'
                raise ValueError(f'no notebook matches {want!r} in {root}; available: {names}')
            chosen += [p for p in hits if p not in chosen]
        chosen.sort()
    if not chosen:
        raise ValueError(f'no notebooks matching {NOTEBOOK_GLOB} in {root.resolve()}')
    return chosen


def _check_kernel(kernel_name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise ValueError(
            f'Jupyter kernel {kernel_name!r} not found; install one for this interpreter with '
            f'`python -m ipykernel install --sys-prefix` or pass kernel_name=') from None


def run_report(notebooks_dir: str | Path = 'notebooks',
               out_dir: str | Path = 'reports',
               profile: str = 'tiny',
               parameters: Mapping[str, Any] | None = None,
               kernel_name: str | None = None,
               notebooks: Sequence[str] | None = None,
               *,
               keep_going: bool = True,
               plotlyjs: Literal['local', 'inline'] = 'local',
               show_code: bool = False,
               raise_on_error: bool = True,
               backend: str | None = None,
               workers: int | None = 1,
               address: str | None = None) -> ReportResult:
    """Execute the numbered notebooks with papermill and write an HTML report to ``out_dir``.

    Every notebook gets ``{'profile': profile, **parameters}`` injected after its ``parameters``
    cell and runs with ``out_dir`` as working directory (so files the notebooks write, such as
    ``metrics_NN.json``, land beside the report and never in the source tree). ``kernel_name``
    defaults to ``python3``, the kernel of the interpreter that has ipykernel installed.

    Failure policy: by default (``keep_going=True``) a failing notebook is recorded and the
    others still run, because later notebooks are usually independent and one report showing
    every failure beats fixing them one by one; ``keep_going=False`` stops at the first failure
    and marks the rest ``skipped``. Either way the executed notebooks, their HTML, index.html and
    report.json are written, then :class:`ReportError` is raised naming each failing notebook
    and cell (``raise_on_error=False`` returns the result instead; check ``result.ok``).

    ``plotlyjs='local'`` writes one ``plotly.min.js`` (from the installed plotly) beside the
    HTML files and links it; ``'inline'`` embeds it in every HTML file (~5 MB each) so a single
    file can be mailed around. Neither needs network access. Code cells are hidden in the HTML
    unless ``show_code=True`` (the executed ``.ipynb`` always keeps them).

    Where the notebooks run (:mod:`nasviz.executor`): ``backend`` ``'local'`` | ``'ray'``
    (``None``: ``$NASVIZ_BACKEND``, else local), ``workers`` and ``address`` as for the other
    sweeps. The default, the local backend with one worker, runs the notebooks one after another
    in this process (papermill starts each kernel). Otherwise every notebook is one executor task
    (papermill, HTML export and metrics read in a worker, whose kernel runs with
    ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` set to the task's one CPU and ``NASVIZ_BACKEND=local``,
    so a notebook's own sweeps stay in its kernel): the first notebook runs
    alone first, because it trains the supernet that later notebooks load from the cache, then
    the others run in parallel (``workers`` at once on the local pool; on Ray at most ``workers``
    in flight, ``None``: no cap). Results are collected in notebook order. With several workers
    ``keep_going=False`` stops *starting* notebooks once a failure is reported: notebooks already
    running finish and are recorded, the rest are marked ``skipped``. Workers write into
    ``out_dir`` and the shared cache themselves, so on a cluster of several nodes both must be
    on a file system every node sees.
    """
    params = {'profile': profile, **dict(parameters or {})}
    # fail before any kernel starts: a bad profile would otherwise surface only after minutes
    check_parameters(**params)
    if plotlyjs not in ('local', 'inline'):
        raise ValueError(f"plotlyjs must be 'local' or 'inline', got {plotlyjs!r}")
    paths = find_notebooks(notebooks_dir, notebooks)
    kernel_name = kernel_name or 'python3'
    _check_kernel(kernel_name)
    resolve_backend(backend)  # a bad name fails at once, before other checks

    import papermill  # noqa: F401 - a missing papermill fails before anything is written

    out = Path(out_dir).resolve()
    if out == Path(notebooks_dir).resolve():
        # executed copies carry the same names: they would overwrite the source notebooks
        raise ValueError(f'out_dir must differ from notebooks_dir ({out})')
    ex = _report_executor(backend, workers, address)  # no Ray cluster there: an error before anything is written
    # every file the report writes there; one nasviz did not write is refused, untouched
    names = [INDEX_FILE, JSON_FILE, PLOTLYJS_FILE] + [n for p in paths for n in (
        p.name, f'{p.stem}.html', metrics_path_for(out, p.name).name)]
    claim(out, names, 'out_dir', vouched_by=JSON_FILE)
    out.mkdir(parents=True, exist_ok=True)
    if plotlyjs == 'local':
        _write_plotlyjs(out)
    try:
        from nasviz.profiles import describe_profile

        profile_info = describe_profile(params['profile'])
    except Exception as e:  # noqa: BLE001 - the description is a courtesy, never a failure
        profile_info = {'profile': params['profile'], 'error': f'{type(e).__name__}: {e}'}

    started = _dt.datetime.now().astimezone().isoformat(timespec='seconds')
    t_all = time.perf_counter()
    job = dict(out_dir=str(out), params=params, kernel_name=kernel_name, plotlyjs=plotlyjs,
               show_code=show_code, caveat=profile_info.get('caveat'))
    if ex is None:
        runs: list[NotebookRun] = []
        stop = False
        for path in paths:
            if stop:
                runs.append(_skipped_run(path, params))
                continue
            runs.append(run_notebook(path, **job))
            if not runs[-1].ok and not keep_going:
                stop = True
    else:
        runs = _run_on_executor(ex, paths, job, keep_going)
    metadata = run_metadata(notebooks_dir)
    if ex is not None:
        metadata['executor'] = {'backend': ex.backend, 'workers': ex.workers,
                                'address': getattr(ex, 'address', None)}

    result = ReportResult(
        runs=tuple(runs), out_dir=str(out), index_path=str(out / INDEX_FILE),
        json_path=str(out / JSON_FILE), profile=params['profile'], parameters=params,
        started=started, seconds=round(time.perf_counter() - t_all, 3),
        metadata=metadata, profile_info=profile_info, show_code=show_code)
    _write(result.json_path, json.dumps(result.to_dict(), indent=2, default=_json_default) + '\n')
    _write(result.index_path, _index_html(result))
    if not result.ok and raise_on_error:
        raise ReportError(result)
    return result


def run_notebook(path: str | Path, out_dir: str | Path, params: Mapping[str, Any], kernel_name: str = 'python3',
                 *, plotlyjs: Literal['local', 'inline'] = 'local', show_code: bool = False,
                 caveat: str | None = None, progress_bar: bool = True) -> NotebookRun:
    """Execute one notebook as :func:`run_report` does and return its record: papermill with
    ``params`` injected and ``out_dir`` as working directory, the executed copy's HTML page
    (``plotlyjs``, ``show_code``, the profile's ``caveat`` on the page) and the
    ``metrics_NN.json`` it wrote. A failing cell, a dead kernel or a broken export is recorded
    in the returned run (``status='failed'``), never raised. ``out_dir`` must exist (and hold
    ``plotly.min.js`` for ``plotlyjs='local'``, which :func:`run_report` writes)."""
    import papermill as pm

    path, out = Path(path), Path(out_dir).resolve()
    params = dict(params)
    defaults = notebook_defaults(path)
    resolved = {**defaults, **params}
    out_nb = out / path.name
    out_html = out / f'{path.stem}.html'
    metrics_file = metrics_path_for(out, path.name)
    # a stale copy from an earlier run must not pass for this run's output
    for stale in (out_nb, out_html, metrics_file):
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    failure: dict[str, Any] = {}
    try:
        pm.execute_notebook(str(path.resolve()), str(out_nb), parameters=params,
                            kernel_name=kernel_name, language=_notebook_language(path),
                            cwd=str(out), progress_bar=progress_bar)
    except pm.PapermillExecutionError as e:
        failure = _describe_cell_error(path, e)
    except Exception as e:  # dead kernel, timeout, unreadable notebook: no cell to blame
        failure = {'error': f'{path.name}: {type(e).__name__}: {_first_line(str(e))}',
                   'ename': type(e).__name__, 'evalue': str(e)}
    seconds = time.perf_counter() - t0
    metrics, findings = _read_metrics(metrics_file)
    html_path: Path | None = None
    if out_nb.exists():
        try:
            _relative_papermill_paths(out_nb, out)
            page = dict(name=path.name, profile=params['profile'], seconds=seconds,
                        metrics=metrics_file.name if metrics is not None else None,
                        caveat=caveat, parameters=resolved)
            _export_html(out_nb, out_html, plotlyjs, show_code=show_code, page=page)
            html_path = out_html
        except Exception as e:  # a broken export must not hide the notebook's own result
            if not failure:
                failure = {'error': f'{path.name}: HTML export failed: {type(e).__name__}: {e}',
                           'ename': type(e).__name__, 'evalue': str(e)}
    return NotebookRun(
        name=path.name, input_path=str(path.resolve()),
        output_path=str(out_nb) if out_nb.exists() else None,
        html_path=str(html_path) if html_path else None,
        status='failed' if failure else 'ok', seconds=round(seconds, 3), parameters=resolved,
        injected=params, defaults=defaults,
        metrics_path=str(metrics_file) if metrics is not None else None,
        metrics=metrics, findings=tuple(findings), **failure)


def _skipped_run(path: Path, params: Mapping[str, Any]) -> NotebookRun:
    """The record of a notebook not run after an earlier failure (``keep_going=False``)."""
    defaults = notebook_defaults(path)
    return NotebookRun(path.name, str(path.resolve()), None, None, 'skipped', 0.0, {**defaults, **params},
                       injected=dict(params), defaults=defaults)


def _report_executor(backend: str | None, workers: int | None, address: str | None) -> Executor | None:
    """The executor of a report's notebooks, or ``None`` for the default (the local backend with
    one worker): run them one after another in this process, as before executors existed."""
    backend = resolve_backend(backend)
    if address is not None and backend != 'ray':
        raise ValueError(f'address {short_repr(address)} is for the ray backend (got backend {backend!r})')
    if backend == 'local':
        if workers is None or check_count(workers, 'workers') == 1:
            return None
        # the notebooks run in two rounds (the first one alone, then the rest): keep the pool between them
        return LocalExecutor(workers, keep_workers=True)
    ex = get_executor('ray', workers, address)
    assert isinstance(ex, RayExecutor)
    ex.connect()  # no cluster at ``address``: an error before anything is written
    return ex


def _notebook_task(path: str, job: dict[str, Any], threads: int, stop_file: str) -> NotebookRun:
    """One notebook in an executor worker: skipped when the driver has asked to stop starting
    notebooks (``stop_file`` exists), else run with its kernel limited to ``threads`` threads."""
    if Path(stop_file).exists():
        return _skipped_run(Path(path), job['params'])
    # the kernel inherits this worker's environment; it is this worker's to set
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = str(threads)
    # the notebooks are the report's parallel units: their own sweeps (notebook 04's bias
    # supernets) run in their kernel, never as tasks nested in this one (which could wait forever
    # for CPUs that this task and its siblings hold)
    os.environ[ENV_BACKEND] = 'local'
    return run_notebook(path, progress_bar=False, **job)


def _run_on_executor(ex: Executor, paths: Sequence[Path], job: dict[str, Any], keep_going: bool) -> list[NotebookRun]:
    """The notebooks as executor tasks: the one the others build on alone (notebook 01, which
    trains the supernet 02-04 reuse; else the first), then the rest in parallel; the runs in
    notebook order. ``keep_going=False``: after a reported failure, tasks not yet started
    return ``skipped`` (a stop file in the report folder tells them)."""
    order = [p.name for p in paths]
    first = next((p for p in paths if p.name.startswith('01')), paths[0])
    paths = [first] + [p for p in paths if p != first]
    device = resolve_device(profile_settings(job['params']['profile']).get('device', 'cpu'))
    resources = task_resources(device)  # a notebook on CUDA asks Ray for a GPU
    stop_file = Path(job['out_dir']) / f'.stop-{uuid.uuid4().hex}'
    got: dict[str, NotebookRun] = {}

    def record(name: str, run: NotebookRun) -> None:
        got[name] = run
        if run.status == 'failed' and not keep_going:
            stop_file.touch()

    def tasks(chunk: Sequence[Path]) -> list[Task]:
        return [Task(p.name, (str(p.resolve()), job, int(resources['num_cpus']), str(stop_file)), **resources)
                for p in chunk]

    bar = dict(desc='notebooks', unit='notebook', total=len(paths))
    try:
        ex.run(_notebook_task, tasks(paths[:1]), record, **bar)
        rest = list(paths[1:])
        if rest and stop_file.exists():  # the first one failed: start no other
            got.update((p.name, _skipped_run(p, job['params'])) for p in rest)
        elif rest:
            ex.run(_notebook_task, tasks(rest), record, initial=1, **bar)
    finally:
        stop_file.unlink(missing_ok=True)
        if isinstance(ex, LocalExecutor):
            ex.close()
    return [got[name] for name in order]


def _json_default(obj: Any) -> Any:
    import numbers

    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    return repr(obj)


# --------------------------------------------------------------------------------------------
# parameters, metrics and metadata of a run
# --------------------------------------------------------------------------------------------
def notebook_defaults(path: str | Path) -> dict[str, Any]:
    """Values of the notebook's ``parameters``-tagged cell, as papermill reads them.

    Literals (numbers, strings, lists, ``None``) come back as Python values; an expression that
    is not a literal is kept as its source text. An unreadable notebook gives ``{}``.
    """
    import ast

    try:
        import nbformat
        from papermill.translators import papermill_translators

        nb = nbformat.read(str(path), as_version=4)
        cell = next((c for c in nb.cells if 'parameters' in c.get('metadata', {}).get('tags', [])), None)
        if cell is None:
            return {}
        meta = nb.metadata
        language = (meta.get('kernelspec', {}).get('language') or meta.get('language_info', {}).get('name')
                    or 'python')  # as _notebook_language: nasviz notebooks are Python
        translator = papermill_translators.find_translator(meta.get('kernelspec', {}).get('name', 'python3'),
                                                           language)
        found = {p.name: p._asdict() for p in translator.inspect(cell)}
    except Exception:  # noqa: BLE001 - unreadable notebook, no translator: nothing to report
        return {}
    out: dict[str, Any] = {}
    for name, info in found.items():
        text = str(info.get('default', ''))
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def metrics_path_for(out_dir: str | Path, notebook_name: str) -> Path:
    """Where notebook ``NN_name.ipynb`` writes its metrics: ``out_dir/metrics_NN.json``."""
    return Path(out_dir) / f'metrics_{Path(notebook_name).name[:2]}.json'


def _read_metrics(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The metrics dict and its findings sentences; (None, []) when absent or unreadable."""
    if not path.is_file():
        return None, []
    try:
        metrics = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as e:
        return {'error': f'unreadable {path.name}: {e}'}, []
    if not isinstance(metrics, dict):
        return {'value': metrics}, []
    findings = metrics.get('findings') or []
    if isinstance(findings, str):
        findings = [findings]
    return metrics, [str(f) for f in findings if str(f).strip()]


def _run_quiet(cmd: list[str], cwd: str | Path) -> str | None:
    import subprocess

    try:
        proc = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _cpu_model() -> str:
    import platform

    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.lower().startswith(('model name', 'hardware', 'cpu model')):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown'


def run_metadata(repo_dir: str | Path = '.') -> dict[str, Any]:
    """Where and with what a report ran: package versions, git commit of ``repo_dir``, CPU and
    GPU model, thread counts. Never raises; unknown facts are ``None`` or ``'unknown'``.

    torch is imported (for its thread count and CUDA device) only here, when a report runs.
    The kernels inherit this process's environment, so its thread settings apply to them.
    """
    import importlib.metadata as md
    import os
    import platform

    versions: dict[str, str | None] = {'python': platform.python_version()}
    for pkg in VERSION_PACKAGES:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    commit = _run_quiet(['git', 'rev-parse', 'HEAD'], repo_dir) or 'unknown'
    dirty = None
    if commit != 'unknown':
        status = _run_quiet(['git', 'status', '--porcelain', '--untracked-files=no'], repo_dir)
        dirty = bool(status) if status is not None else None
    try:
        cpus_usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus_usable = os.cpu_count()
    hw: dict[str, Any] = dict(cpu=_cpu_model(), cpu_count=os.cpu_count(), cpus_usable=cpus_usable,
                              platform=platform.platform(), gpu=None, torch_threads=None,
                              thread_env={k: os.environ[k] for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')
                                          if k in os.environ})
    try:
        import torch

        hw['torch_threads'] = torch.get_num_threads()
        if torch.cuda.is_available():
            hw['gpu'] = ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # noqa: BLE001 - a broken torch must not break the report's metadata
        pass
    return dict(versions=versions, git_commit=commit, git_dirty=dirty, host=hw)


def _notebook_language(path: Path) -> str | None:
    """The notebook's own language, or 'python' when its metadata names none.

    papermill refuses to inject parameters into a notebook without a language in its metadata
    (e.g. one freshly built with nbformat); every nasviz notebook is Python.
    """
    try:
        meta = json.loads(path.read_text(encoding='utf-8')).get('metadata', {})
    except (OSError, ValueError):
        return None  # let papermill report the unreadable file itself
    lang = meta.get('kernelspec', {}).get('language') or meta.get('language_info', {}).get('name')
    return None if lang else 'python'


def _write(path: str | Path, text: str) -> Path:
    # atomic writes come from mkstemp, which creates 0600 files; a report is meant to be read
    # by others (a shared web directory, a CI artifact), so open it up like a normal file
    import os

    path = atomic_write_text(path, text)
    os.chmod(path, 0o644)
    return path


def _first_line(text: str) -> str:
    text = (text or '').strip()
    return text.splitlines()[0] if text else ''


def _source_cell_index(source_nb_path: Path, executed_index: int) -> int:
    """Map papermill's cell index (in the executed notebook) back to the source notebook.

    papermill inserts one ``injected-parameters`` cell right after the ``parameters`` cell (at
    the top when there is none, in place when the source already has one), so cells after it
    are shifted by one. Users open the source notebook, so that index is the useful one.
    """
    import nbformat

    cells = nbformat.read(str(source_nb_path), as_version=4).cells
    tags = [set(c.get('metadata', {}).get('tags', [])) for c in cells]
    if any('injected-parameters' in t for t in tags):
        return executed_index
    params_at = max((i for i, t in enumerate(tags) if 'parameters' in t), default=-1)
    injected_at = params_at + 1
    return executed_index - 1 if executed_index > injected_at else executed_index


def _describe_cell_error(path: Path, e: Any) -> dict[str, Any]:
    try:
        cell = _source_cell_index(path, e.cell_index)
    except Exception:  # unreadable source: fall back to papermill's own index
        cell = e.cell_index
    first_src = _first_line(e.source)
    where = f'cell {cell} (0-based, In [{e.exec_count}])'
    error = f'{path.name}: {where} raised {e.ename}: {_first_line(str(e.evalue))}'
    if first_src:
        error += f' -- cell starts with: {first_src[:80]}'
    return {'error': error, 'cell_index': cell, 'exec_count': e.exec_count,
            'ename': e.ename, 'evalue': e.evalue}


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
def _write_plotlyjs(out: Path) -> Path:
    from plotly.offline import get_plotlyjs

    target = out / PLOTLYJS_FILE
    js = get_plotlyjs()
    # skip the 5 MB rewrite when the same plotly.js is already there
    if not target.exists() or target.stat().st_size != len(js.encode('utf-8')):
        _write(target, js)
    return target


def _plotly_head(plotlyjs: str) -> str:
    """Script tags that make a global ``Plotly`` before any other script of the page.

    plotly.js is a UMD bundle: if require.js (which the nbconvert template loads) had already
    defined ``define``, it would register as an anonymous AMD module and no ``Plotly`` global
    would exist. Hiding ``define`` around it keeps the global in every case.
    """
    if plotlyjs == 'inline':
        from plotly.offline import get_plotlyjs

        # "</script" inside the bundle would end the tag early
        body = get_plotlyjs().replace('</script', '<\\/script')
        tag = f'<script type="text/javascript">{body}</script>'
    else:
        tag = f'<script type="text/javascript" src="{PLOTLYJS_FILE}" charset="utf-8"></script>'
    return ('<script>window.__nasviz_define = window.define; window.define = undefined;</script>\n'
            f'{tag}\n<script>window.define = window.__nasviz_define;</script>\n')


def _plotly_output_html(spec: Mapping[str, Any]) -> str:
    import plotly.io as pio

    fig = {'data': spec.get('data', []), 'layout': spec.get('layout', {})}
    config = dict(spec.get('config') or {})
    # 525 px is the notebook renderer's default; a '100%' height collapses in a static page
    return pio.to_html(fig, config=config, include_plotlyjs=False, full_html=False,
                       validate=False, default_height='525px', default_width='100%')


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


# Leaves out of nbconvert's lab template every script it loads from a CDN (require.js, MathJax,
# mermaid, the ipywidgets HTML manager): a report must render with no network, and nothing in
# it needs them (plotly figures are drawn by the local plotly.js, widgets are stripped).
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_OFFLINE_TEMPLATE_NAME = 'nasviz_offline.html.j2'

# text/plain of progress bars: tqdm's own text ("40%|####  | 2/5 [...]") or an ipywidgets repr
_PROGRESS_TEXT = re.compile(r'(\d+%\||FloatProgress\(|IntProgress\()')


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
            note = (f'[interactive {kind}: it runs in JupyterLab, not in this static page; '
                    'open the executed notebook to use it]')
            kept.append({'output_type': 'display_data', 'metadata': {},
                         'data': {'text/html': f'<p class="nasviz-widget-note"><i>{html.escape(note)}</i></p>',
                                  'text/plain': note}})
        cell['outputs'] = kept
    return changed


def _final_progress_text(text: str) -> str:
    """What a terminal would show for text redrawn with carriage returns."""
    lines = []
    for line in text.split('\n'):
        parts = [p for p in line.split('\r') if p]
        lines.append(parts[-1] if parts else '')
    return '\n'.join(lines)


def _relative_papermill_paths(nb_path: Path, out: Path) -> None:
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
            meta[key] = _relative_paths(value, out)
            changed = True
    if changed:
        _write(nb_path, nbformat.writes(nb))


def _export_html(nb_path: Path, html_path: Path, plotlyjs: str, *, show_code: bool = False,
                 page: Mapping[str, Any] | None = None) -> Path:
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
    exporter = HTMLExporter(
        template_name='lab', template_file=_OFFLINE_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        exclude_input=not show_code, exclude_input_prompt=not show_code,
        exclude_output_prompt=not show_code)
    body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'name': nb_path.stem}})
    body = _drop_remote_scripts(body)
    body = _inject_head(body, _plotly_head(plotlyjs) + _PAGE_CSS)
    body = _inject_body_top(body, _page_nav(nb_path, page or {}))
    _write(html_path, body)
    return html_path


_REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc\s*=\s*["\'](?:https?:)?//[^"\']*["\'][^>]*>\s*</script>',
                            re.IGNORECASE)
_REMOTE_LINK = re.compile(r'<link\b[^>]*\bhref\s*=\s*["\'](?:https?:)?//[^"\']*["\'][^>]*>', re.IGNORECASE)


def _drop_remote_scripts(page: str) -> str:
    """Remove any ``<script src=...>``/``<link href=...>`` that would fetch from the network
    (a template update could add one back; this keeps the page offline regardless)."""
    return _REMOTE_LINK.sub('', _REMOTE_SCRIPT.sub('', page))


_PAGE_CSS = """<style>
.nasviz-nav { font-family: system-ui, sans-serif; font-size: 14px; padding: .6em 1em; margin: 0 0 1em 0;
  background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
.nasviz-nav a { font-weight: 600; }
.nasviz-caveat { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em .8em; margin-top: .5em; }
.nasviz-params { color: #57606a; margin-top: .3em; }
</style>
"""


def _page_nav(nb_path: Path, page: Mapping[str, Any]) -> str:
    esc = html.escape
    name = page.get('name') or nb_path.name
    links = [f'<a href="{INDEX_FILE}">&larr; report index</a>', f'<b>{esc(str(name))}</b>']
    if page.get('profile'):
        links.append(f'profile <b>{esc(str(page["profile"]))}</b>')
    if page.get('seconds') is not None:
        links.append(f'{float(page["seconds"]):.1f} s')
    if page.get('metrics'):
        links.append(f'<a href="{esc(str(page["metrics"]))}">metrics JSON</a>')
    links.append(f'<a href="{esc(nb_path.name)}">executed notebook</a>')
    parts = [' &middot; '.join(links)]
    params = page.get('parameters')
    if params:
        text = ', '.join(f'{k}={v!r}' for k, v in params.items())
        parts.append(f'<div class="nasviz-params">parameters: {esc(text)}</div>')
    if page.get('caveat'):
        parts.append(f'<div class="nasviz-caveat">{esc(str(page["caveat"]))}</div>')
    return '<nav class="nasviz-nav">' + ''.join(parts) + '</nav>\n'


def _inject_body_top(page: str, snippet: str) -> str:
    m = re.search(r'<body[^>]*>', page, flags=re.IGNORECASE)
    return page[:m.end()] + '\n' + snippet + page[m.end():] if m else snippet + page


def _inject_head(page: str, snippet: str) -> str:
    """Insert ``snippet`` as early in ``<head>`` as possible (after the charset meta)."""
    for pattern in (r'<meta\s+charset=[^>]*>', r'<head[^>]*>'):
        m = re.search(pattern, page, flags=re.IGNORECASE)
        if m:
            return page[:m.end()] + '\n' + snippet + page[m.end():]
    return snippet + page


_STATUS_COLOUR = {'ok': '#1a7f37', 'failed': '#cf222e', 'skipped': '#6e7781'}

# metrics keys that describe the run rather than measure anything; shown elsewhere on the index
_META_KEYS = frozenset({'notebook', 'profile', 'findings', 'headline', 'sources', 'labels'})
_MAX_METRIC_ROWS = 40
MINUS = '\u2212'


def _is_number(v: Any) -> bool:
    import numbers

    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _fmt_number(v: Any) -> str:
    """A number for people: integers as they are, floats to 3 significant-ish decimals,
    a real minus sign, 'n/a' for None/NaN."""
    import math

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
    text = json.dumps(v, default=_json_default)
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
                walk(f'{name} \u00b7 {k2}', v2, depth + 1)
        else:
            rows.append((name, format_value(v), _ci_note(v)))

    for k in keys:
        walk(str(k), metrics[k], 0)
    return rows


def _metrics_table(run: NotebookRun) -> str:
    """The index's table of one notebook's headline numbers: name (the metrics file's ``labels``
    entry when it gives one), value with its CI, and where the number comes from (the file's
    ``sources``: computed in this run, or read from a shipped file, by name)."""
    esc = html.escape
    rows = metric_rows(run.metrics)
    if not rows:
        return '<p class="none">no metrics file written</p>' if run.metrics is None else ''
    metrics = run.metrics or {}
    sources = metrics.get('sources') if isinstance(metrics.get('sources'), Mapping) else {}
    labels = metrics.get('labels') if isinstance(metrics.get('labels'), Mapping) else {}
    more = ''
    if len(rows) > _MAX_METRIC_ROWS:
        more = (f'<tr><td colspan="3"><i>{len(rows) - _MAX_METRIC_ROWS} more in the metrics '
                'JSON</i></td></tr>')
        rows = rows[:_MAX_METRIC_ROWS]
    notes = sorted({n for _, _, n in rows if n})
    body = []
    for k, v, n in rows:
        top, _, rest = k.partition(' \u00b7 ')
        shown = str(labels.get(top, top)) + (f' \u00b7 {rest}' if rest else '')
        src = sources.get(top)
        src_td = f'<td class="src">{esc(str(src))}</td>' if sources else ''
        body.append(f'<tr><th scope="row">{esc(shown)}</th><td class="num"'
                    f'{f" title={chr(34)}{esc(n)}{chr(34)}" if n else ""}>{esc(v)}</td>{src_td}</tr>')
    caption = ''
    if notes:
        caption = ('<caption>estimate [low, high] = ' + esc('; '.join(notes))
                   + ', n = cells (or runs) it rests on' + ('; the last column says whether this run computed the '
                                                             'number or read it from a shipped file' if sources else '')
                   + '</caption>')
    return f'<table class="metrics">{caption}<tbody>{"".join(body)}{more}</tbody></table>'


def _notebook_section(r: NotebookRun) -> str:
    esc = html.escape
    name = esc(r.name)
    title = f'<a href="{esc(Path(r.html_path).name)}">{name}</a>' if r.html_path else name
    links = []
    if r.html_path:
        links.append(f'<a href="{esc(Path(r.html_path).name)}">page</a>')
    if r.metrics_path:
        links.append(f'<a href="{esc(Path(r.metrics_path).name)}">metrics JSON</a>')
    if r.output_path:
        links.append(f'<a href="{esc(Path(r.output_path).name)}">executed notebook</a>')
    status = (f'<span class="status" style="color:{_STATUS_COLOUR[r.status]}">{esc(r.status)}</span>')
    error = f'<pre class="error">{esc(r.error)}</pre>' if r.error else ''
    findings = ''
    if r.findings:
        findings = ('<h4>Findings</h4><ul class="findings">'
                    + ''.join(f'<li>{esc(f)}</li>' for f in r.findings) + '</ul>')
    elif r.ok:
        findings = '<p class="none">no findings recorded</p>'
    return (f'<section class="notebook" id="{esc(Path(r.name).stem)}">'
            f'<h3>{title} {status} <small>{r.seconds:.1f} s &middot; {" &middot; ".join(links)}</small></h3>'
            f'{error}{_metrics_table(r)}{findings}</section>')


def _kv_table(items: Mapping[str, Any], cls: str = 'kv') -> str:
    esc = html.escape
    rows = ''.join(f'<tr><th scope="row">{esc(str(k))}</th><td>{esc(format_value(v) if not isinstance(v, str) else v)}</td></tr>'
                   for k, v in items.items() if v is not None)
    return f'<table class="{cls}"><tbody>{rows}</tbody></table>'


def _profile_section(info: Mapping[str, Any]) -> str:
    esc = html.escape
    if not info:
        return ''
    if 'error' in info and len(info) <= 2:
        return f'<p>Profile description unavailable: {esc(str(info["error"]))}</p>'
    parts = []
    ds, sn, gt = info.get('dataset') or {}, info.get('supernet') or {}, info.get('ground_truth') or {}
    rows: dict[str, Any] = {}
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
            facts.append(f'accuracy IQR {_fmt_number(spread["iqr"])} points '
                         f'(median {_fmt_number(spread.get("median"))}%)')
        if facts:
            text += ' \u2014 ' + '; '.join(facts)
        if gt.get('error'):
            text += f' (details unavailable: {gt["error"]})'
        rows['ground truth'] = text
    parts.append(_kv_table(rows))
    return '\n'.join(parts)


def _params_table(runs: Sequence[NotebookRun]) -> str:
    esc = html.escape
    out = []
    for r in runs:
        if not r.parameters:
            continue
        rows = []
        for k, v in r.parameters.items():
            src = 'injected' if k in r.injected else 'default'
            if k in r.injected and k in r.defaults and r.defaults[k] != r.injected[k]:
                src += f' (default {format_value(r.defaults[k]) if r.defaults[k] is not None else "None"})'
            shown = 'None' if v is None else format_value(v)
            rows.append(f'<tr><th scope="row">{esc(str(k))}</th><td><code>{esc(shown)}</code></td>'
                        f'<td class="src">{esc(src)}</td></tr>')
        out.append(f'<details><summary>{esc(r.name)}: {len(r.parameters)} parameters</summary>'
                   f'<table class="params"><tbody>{"".join(rows)}</tbody></table></details>')
    return '\n'.join(out)


def _metadata_table(result: ReportResult) -> str:
    meta = result.metadata or {}
    host = meta.get('host') or {}
    versions = meta.get('versions') or {}
    rows: dict[str, Any] = {
        'started': result.started,
        'total wall time': f'{result.seconds:.1f} s',
        'wall time per notebook': ', '.join(f'{r.name[:2]}: {r.seconds:.1f} s' for r in result.runs),
        'git commit': (meta.get('git_commit', 'unknown')
                       + (' (uncommitted changes)' if meta.get('git_dirty') else '')),
        'CPU': (f'{host.get("cpu", "unknown")} ({host.get("cpus_usable")} of {host.get("cpu_count")} '
                'cores usable)'),
        'GPU': host.get('gpu') or 'none (CPU run)',
        'torch threads': host.get('torch_threads'),
        'thread settings': ', '.join(f'{k}={v}' for k, v in (host.get('thread_env') or {}).items()) or None,
        'platform': host.get('platform'),
        'code cells': 'shown' if result.show_code else 'hidden (nasviz report --show-code keeps them)',
    }
    ex = meta.get('executor')
    if ex:
        where = 'local process pool' if ex.get('backend') == 'local' else (f'Ray at {ex["address"]}' if ex.get('address') else "Ray (this process's instance)")
        cap = f'{ex["workers"]} at once' if ex.get('workers') else 'no cap'
        rows['notebooks ran on'] = f'{where}, {cap}: the first notebook alone (01 where it runs), then the rest in parallel, one thread each'
    rows.update({k: v if v is not None else 'not installed' for k, v in versions.items()})
    return _kv_table(rows, cls='kv meta')


_INDEX_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 72em; color: #1f2328; }
table { border-collapse: collapse; margin: .4em 0 1em 0; }
td, th { border-bottom: 1px solid #ddd; padding: .3em .8em; vertical-align: top; text-align: left; }
th[scope=row] { font-weight: 500; color: #424a53; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { caption-side: bottom; text-align: left; color: #57606a; font-size: .85em; padding-top: .3em; }
pre { margin: 0; white-space: pre-wrap; }
pre.error { color: #cf222e; background: #fff5f5; padding: .5em; }
.status { font-weight: bold; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: .8em 1em; margin: 1em 0; }
section.notebook { border-top: 1px solid #d0d7de; padding-top: .3em; }
ul.findings li { margin: .3em 0; }
.none { color: #6e7781; font-style: italic; }
td.src { color: #6e7781; }
"""


def _index_html(result: ReportResult) -> str:
    esc = html.escape
    rows = []
    for r in result.runs:
        name = esc(r.name)
        link = f'<a href="{esc(Path(r.html_path).name)}">{name}</a>' if r.html_path else name
        nb_link = (f' <small>(<a href="{esc(Path(r.output_path).name)}">ipynb</a>)</small>'
                   if r.output_path else '')
        status = (f'<span class="status" style="color:{_STATUS_COLOUR[r.status]}">{esc(r.status)}</span>')
        detail = f'<pre>{esc(r.error)}</pre>' if r.error else ''
        rows.append(f'<tr><td>{link}{nb_link}</td><td>{status}</td>'
                    f'<td style="text-align:right">{r.seconds:.1f} s</td><td>{detail}</td></tr>')
    params = esc(json.dumps(result.parameters, indent=2, default=repr))
    overall = 'all notebooks ran' if result.ok else f'{len(result.failures)} notebook(s) failed'
    info = result.profile_info or {}
    banner = ''
    if info.get('caveat'):
        banner = (f'<div class="banner" role="note"><b>{esc(result.profile)} profile.</b> '
                  f'{esc(str(info["caveat"]))}</div>')
    from nasviz import __version__

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>nasviz report ({esc(result.profile)})</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>nasviz report</h1>
<p>Profile <b>{esc(result.profile)}</b>, started {esc(result.started)}, total
{result.seconds:.1f} s, nasviz {esc(__version__)}: <b>{esc(overall)}</b>.</p>
{banner}
<h2>What this profile measures</h2>
{_profile_section(info)}
<h2>Notebooks</h2>
<table class="runs">
<thead><tr><th>notebook</th><th>status</th><th>run time</th><th>error</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>Results</h2>
{chr(10).join(_notebook_section(r) for r in result.runs)}
<h2>Parameters</h2>
<p>Given to every notebook:</p>
<pre>{params}</pre>
<p>Resolved per notebook (the <code>parameters</code> cell's defaults, overridden by the given ones):</p>
{_params_table(result.runs)}
<h2>Run metadata</h2>
{_metadata_table(result)}
<p><small>Same facts as JSON: <a href="{JSON_FILE}">{JSON_FILE}</a>.</small></p>
</body>
</html>
"""
