"""What a report folder records about its run: the files it holds, each notebook's metrics
file, paths kept relative to the folder, and where and with what the report ran (package
versions, git commit, CPU/GPU, threads)."""

from __future__ import annotations

import json
import numbers
import os
import re
from pathlib import Path
from typing import Any

from nasviz.io import atomic_write_text

__all__ = ['VERSION_PACKAGES', 'INDEX_FILE', 'JSON_FILE', 'metrics_path_for', 'run_metadata', 'without_paths']

INDEX_FILE = 'index.html'
JSON_FILE = 'report.json'

#: Packages whose versions every report records.
VERSION_PACKAGES: tuple[str, ...] = (
    'nasviz',
    'torch',
    'numpy',
    'scipy',
    'pandas',
    'scikit-learn',
    'umap-learn',
    'plotly',
    'papermill',
    'nbconvert',
    'ipywidgets',
)


def metrics_path_for(out_dir: str | Path, notebook_name: str) -> Path:
    """Where notebook ``NN_name.ipynb`` writes its metrics: ``out_dir/metrics_NN.json``."""
    return Path(out_dir) / f'metrics_{Path(notebook_name).name[:2]}.json'


def read_metrics(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
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


def relative_paths(obj: Any, out: Path) -> Any:
    """``obj`` with absolute paths made relative to ``out``: a string that is a path becomes a
    relative one ('.' for ``out`` itself), and ``out``'s prefix is removed inside longer text
    (error messages)."""
    root = str(out)
    if isinstance(obj, dict):
        return {k: relative_paths(v, out) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [relative_paths(v, out) for v in obj]
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


def json_default(obj: Any) -> Any:
    """``json.dumps`` ``default``: NumPy integers and reals as plain numbers, anything else as its repr."""
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    return repr(obj)


def write_report_file(path: str | Path, text: str) -> Path:
    """Write a report file atomically, readable by others (mode 0644); returns its path."""
    # atomic writes come from mkstemp, which creates 0600 files; a report is meant to be read
    # by others (a shared web directory, a CI artifact), so open it up like a normal file
    path = atomic_write_text(path, text)
    os.chmod(path, 0o644)
    return path


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
    cpus_usable: int | None
    try:
        cpus_usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus_usable = os.cpu_count()
    hw: dict[str, Any] = dict(
        cpu=_cpu_model(),
        cpu_count=os.cpu_count(),
        cpus_usable=cpus_usable,
        platform=platform.platform(),
        gpu=None,
        torch_threads=None,
        thread_env={k: os.environ[k] for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS') if k in os.environ},
    )
    try:
        import torch

        hw['torch_threads'] = torch.get_num_threads()
        if torch.cuda.is_available():
            hw['gpu'] = ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # noqa: BLE001 - a broken torch must not break the report's metadata
        pass
    return dict(versions=versions, git_commit=commit, git_dirty=dirty, host=hw)
