"""Run the numbered notebooks through papermill and collect them into an HTML report.

``run_report`` executes every ``notebooks/NN_*.ipynb`` in order with the same parameters, writes
the executed notebook and an HTML export of each into ``out_dir``, plus an ``index.html`` and a
``report.json``; :class:`NotebookRun` and :class:`ReportResult` are its records. The ``nasviz
report`` command is a thin wrapper over it.

Importing this module is cheap: papermill, nbconvert and plotly load only when a report runs.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from nasviz.executor import (
    ENV_BACKEND,
    Executor,
    LocalExecutor,
    RayExecutor,
    Task,
    get_executor,
    resolve_backend,
    task_resources,
)
from nasviz.ownership import claim
from nasviz.profiles import profile_settings, resolve_device
from nasviz.report.export import PLOTLYJS_FILE, export_html, relativize_papermill_paths, write_plotlyjs
from nasviz.report.index import index_html
from nasviz.report.metadata import (
    INDEX_FILE,
    JSON_FILE,
    json_default,
    metrics_path_for,
    read_metrics,
    relative_paths,
    run_metadata,
    write_report_file,
)
from nasviz.report.params import check_parameters, notebook_defaults
from nasviz.validate import check_count, short_repr

__all__ = ['NotebookRun', 'ReportResult', 'ReportError', 'find_notebooks', 'run_report', 'run_notebook']

NOTEBOOK_GLOB = '[0-9][0-9]_*.ipynb'


@dataclass(frozen=True)
class NotebookRun:
    """What happened to one notebook.

    Paths are absolute strings here (for Python callers); :meth:`ReportResult.to_dict` and
    ``report.json`` give them relative to the report folder. ``parameters`` are the resolved
    values the notebook ran with: its ``parameters`` cell defaults overridden by the injected
    ones (``injected``); ``defaults`` are the cell's own values.
    """

    name: str  # file name, e.g. '01_supernet.ipynb'
    input_path: str
    output_path: str | None  # executed notebook (written even when a cell failed)
    html_path: str | None
    status: Literal['ok', 'failed', 'skipped']
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # one-line summary naming the notebook and the cell
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
    metadata: dict[str, Any] = field(default_factory=dict)  # versions, git, hardware
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
        return relative_paths(d, Path(self.out_dir))

    def to_frame(self):
        """One row per notebook (pandas is imported lazily)."""
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.runs])


class ReportError(RuntimeError):
    """At least one notebook failed; ``result`` holds the full record (index.html is written)."""

    def __init__(self, result: ReportResult):
        self.result = result
        super().__init__(result.summary())


def find_notebooks(notebooks_dir: str | Path = 'notebooks', notebooks: Sequence[str] | None = None) -> list[Path]:
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
            f'`python -m ipykernel install --sys-prefix` or pass kernel_name='
        ) from None


def run_report(
    notebooks_dir: str | Path = 'notebooks',
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
    address: str | None = None,
) -> ReportResult:
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
    names = [INDEX_FILE, JSON_FILE, PLOTLYJS_FILE] + [
        n for p in paths for n in (p.name, f'{p.stem}.html', metrics_path_for(out, p.name).name)
    ]
    claim(out, names, 'out_dir', vouched_by=JSON_FILE)
    out.mkdir(parents=True, exist_ok=True)
    if plotlyjs == 'local':
        write_plotlyjs(out)
    try:
        from nasviz.profiles import describe_profile

        profile_info = describe_profile(params['profile'])
    except Exception as e:  # noqa: BLE001 - the description is a courtesy, never a failure
        profile_info = {'profile': params['profile'], 'error': f'{type(e).__name__}: {e}'}

    started = _dt.datetime.now().astimezone().isoformat(timespec='seconds')
    t_all = time.perf_counter()
    job: dict[str, Any] = dict(
        out_dir=str(out),
        params=params,
        kernel_name=kernel_name,
        plotlyjs=plotlyjs,
        show_code=show_code,
        caveat=profile_info.get('caveat'),
    )
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
        metadata['executor'] = {'backend': ex.backend, 'workers': ex.workers, 'address': getattr(ex, 'address', None)}

    result = ReportResult(
        runs=tuple(runs),
        out_dir=str(out),
        index_path=str(out / INDEX_FILE),
        json_path=str(out / JSON_FILE),
        profile=params['profile'],
        parameters=params,
        started=started,
        seconds=round(time.perf_counter() - t_all, 3),
        metadata=metadata,
        profile_info=profile_info,
        show_code=show_code,
    )
    write_report_file(result.json_path, json.dumps(result.to_dict(), indent=2, default=json_default) + '\n')
    write_report_file(result.index_path, index_html(result))
    if not result.ok and raise_on_error:
        raise ReportError(result)
    return result


def run_notebook(
    path: str | Path,
    out_dir: str | Path,
    params: Mapping[str, Any],
    kernel_name: str = 'python3',
    *,
    plotlyjs: Literal['local', 'inline'] = 'local',
    show_code: bool = False,
    caveat: str | None = None,
    progress_bar: bool = True,
) -> NotebookRun:
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
        pm.execute_notebook(
            str(path.resolve()),
            str(out_nb),
            parameters=params,
            kernel_name=kernel_name,
            language=_notebook_language(path),
            cwd=str(out),
            progress_bar=progress_bar,
        )
    except pm.PapermillExecutionError as e:
        failure = _describe_cell_error(path, e)
    except Exception as e:  # dead kernel, timeout, unreadable notebook: no cell to blame
        failure = {
            'error': f'{path.name}: {type(e).__name__}: {_first_line(str(e))}',
            'ename': type(e).__name__,
            'evalue': str(e),
        }
    seconds = time.perf_counter() - t0
    metrics, findings = read_metrics(metrics_file)
    html_path: Path | None = None
    if out_nb.exists():
        try:
            relativize_papermill_paths(out_nb, out)
            page = dict(
                name=path.name,
                profile=params['profile'],
                seconds=seconds,
                metrics=metrics_file.name if metrics is not None else None,
                caveat=caveat,
                parameters=resolved,
            )
            export_html(out_nb, out_html, plotlyjs, show_code=show_code, page=page)
            html_path = out_html
        except Exception as e:  # a broken export must not hide the notebook's own result
            if not failure:
                failure = {
                    'error': f'{path.name}: HTML export failed: {type(e).__name__}: {e}',
                    'ename': type(e).__name__,
                    'evalue': str(e),
                }
    return NotebookRun(
        name=path.name,
        input_path=str(path.resolve()),
        output_path=str(out_nb) if out_nb.exists() else None,
        html_path=str(html_path) if html_path else None,
        status='failed' if failure else 'ok',
        seconds=round(seconds, 3),
        parameters=resolved,
        injected=params,
        defaults=defaults,
        metrics_path=str(metrics_file) if metrics is not None else None,
        metrics=metrics,
        findings=tuple(findings),
        **failure,
    )


def _skipped_run(path: Path, params: Mapping[str, Any]) -> NotebookRun:
    """The record of a notebook not run after an earlier failure (``keep_going=False``)."""
    defaults = notebook_defaults(path)
    return NotebookRun(
        path.name,
        str(path.resolve()),
        None,
        None,
        'skipped',
        0.0,
        {**defaults, **params},
        injected=dict(params),
        defaults=defaults,
    )


def _report_executor(backend: str | None, workers: int | None, address: str | None) -> Executor | None:
    """The executor of a report's notebooks, or ``None`` for the default (the local backend with
    one worker): run them one after another in this process, each kernel started by papermill."""
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
    device = resolve_device(profile_settings(job['params']['profile']).device)
    resources = task_resources(device)  # a notebook on CUDA asks Ray for a GPU
    stop_file = Path(job['out_dir']) / f'.stop-{uuid.uuid4().hex}'
    got: dict[str, NotebookRun] = {}

    def record(name: str, run: NotebookRun) -> None:
        got[name] = run
        if run.status == 'failed' and not keep_going:
            stop_file.touch()

    def tasks(chunk: Sequence[Path]) -> list[Task]:
        return [
            Task(p.name, (str(p.resolve()), job, int(resources['num_cpus']), str(stop_file)), **resources)
            for p in chunk
        ]

    bar: dict[str, Any] = dict(desc='notebooks', unit='notebook', total=len(paths))
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
    return {'error': error, 'cell_index': cell, 'exec_count': e.exec_count, 'ename': e.ename, 'evalue': e.evalue}
