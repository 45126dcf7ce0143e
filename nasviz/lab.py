"""JupyterLab for exploring the notebooks: started from this Python environment, on a loopback
address, with the widget and plotly extensions served by the server itself (nothing from a CDN).

``nasviz lab`` / ``make lab`` use :func:`run_lab`; the browser test drives a :class:`LabServer`
(isolated config, data, runtime, settings and workspace dirs, so no user setting leaks in).

What keeps JupyterLab off the network: no announcements feed (``news_url=None``), no update
check, the read-only extension manager (the default one lists PyPI), and no browser opened by
the server. The plotly and ipywidgets front-ends are prebuilt lab extensions shipped inside the
``plotly`` and ``jupyterlab_widgets`` wheels and served from ``<prefix>/share/jupyter``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

__all__ = [
    'OFFLINE_ARGS',
    'REQUIRED_EXTENSIONS',
    'KERNEL_NAME',
    'LabServer',
    'check_lab_environment',
    'free_port',
    'lab_command',
    'lab_env',
    'run_lab',
]

#: JupyterLab options that keep the server from fetching anything on its own
OFFLINE_ARGS: tuple[str, ...] = (
    '--LabApp.news_url=None',
    '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
    '--LabApp.extension_manager=readonly',
    '--ServerApp.open_browser=False',
)
#: lab extension -> the Python package that ships it (prebuilt, so no node/npm at run time)
REQUIRED_EXTENSIONS: dict[str, str] = {
    '@jupyter-widgets/jupyterlab-manager': 'jupyterlab_widgets',
    'jupyterlab-plotly': 'plotly',
}
#: the kernel the notebooks name in their metadata; `make setup` installs it into the venv
KERNEL_NAME = 'python3'
LOOPBACK = '127.0.0.1'


def _share(prefix: str | os.PathLike | None = None) -> Path:
    return Path(prefix or sys.prefix) / 'share' / 'jupyter'


def free_port(ip: str = LOOPBACK, start: int | None = None, tries: int = 100) -> int:
    """A TCP port free on ``ip``: the first free one from ``start`` on, or any (``start=None``)."""
    candidates = [0] if start is None else range(start, min(start + tries, 65536))
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((ip, port))
            except OSError:
                continue
            return s.getsockname()[1]
    where = 'any port' if start is None else f'{start}..{start + tries - 1}'
    raise ValueError(f'no free port on {ip} in {where}; pass another --port')


def check_lab_environment(prefix: str | os.PathLike | None = None) -> list[str]:
    """What would stop JupyterLab from working offline with this environment's kernel, as
    sentences (empty when fine): a missing widget/plotly lab extension, or a ``python3``
    kernelspec in the environment that runs another Python."""
    share = _share(prefix)
    problems = []
    for ext, package in REQUIRED_EXTENSIONS.items():
        if not (share / 'labextensions' / ext / 'package.json').is_file():
            problems.append(
                f'lab extension {ext} is missing under {share / "labextensions"}: '
                f'install the Python package {package} into this environment'
            )
    spec = share / 'kernels' / KERNEL_NAME / 'kernel.json'
    if spec.is_file():
        try:
            argv0 = json.loads(spec.read_text())['argv'][0]
        except (ValueError, KeyError, IndexError) as e:
            problems.append(
                f'kernelspec {spec} is unreadable ({e}); reinstall it with '
                f'`{sys.executable} -m ipykernel install --sys-prefix --name {KERNEL_NAME}`'
            )
        else:
            exe = Path(argv0)
            here = Path(prefix or sys.prefix).resolve()
            if (
                exe.is_absolute()
                and here not in exe.resolve().parents
                and exe.resolve() != Path(sys.executable).resolve()
            ):
                problems.append(
                    f"kernelspec {spec} runs {argv0}, not this environment's Python "
                    f'({sys.executable}); reinstall it with `{sys.executable} -m ipykernel '
                    f'install --sys-prefix --name {KERNEL_NAME}`'
                )
    return problems


def lab_command(
    notebooks_dir: str | os.PathLike, port: int, token: str, ip: str = LOOPBACK, extra: Sequence[str] = ()
) -> list[str]:
    """The ``jupyter lab`` command line (this interpreter's JupyterLab, ``port_retries=0`` so the
    printed URL is the one served)."""
    return [
        sys.executable,
        '-m',
        'jupyterlab',
        f'--ServerApp.ip={ip}',
        f'--ServerApp.port={port}',
        '--ServerApp.port_retries=0',
        f'--ServerApp.root_dir={Path(notebooks_dir).resolve()}',
        f'--IdentityProvider.token={token}',
        *OFFLINE_ARGS,
        *_root_args(),
        *extra,
    ]


def _root_args() -> list[str]:
    # containers and CI images often run as root, which jupyter refuses without this flag
    return ['--ServerApp.allow_root=True'] if hasattr(os, 'geteuid') and os.geteuid() == 0 else []


def lab_env(
    base: Mapping[str, str] | None = None,
    isolated_dir: str | os.PathLike | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for the server (and its kernels): this environment's ``share/jupyter`` first
    on the Jupyter path, so its kernelspec and lab extensions win over user-level ones.

    ``isolated_dir``: put config, data, runtime and IPython dirs under it (no user config,
    settings or kernels read; used by tests)."""
    env = dict(os.environ if base is None else base)
    env['JUPYTER_PATH'] = os.pathsep.join([str(_share()), *filter(None, [env.get('JUPYTER_PATH')])])
    env['JUPYTER_PREFER_ENV_PATH'] = '1'
    env['PYTHONUNBUFFERED'] = '1'
    if isolated_dir is not None:
        root = Path(isolated_dir)
        for var, sub in (
            ('JUPYTER_CONFIG_DIR', 'config'),
            ('JUPYTER_DATA_DIR', 'data'),
            ('JUPYTER_RUNTIME_DIR', 'runtime'),
            ('IPYTHONDIR', 'ipython'),
        ):
            (root / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(root / sub)
        env['JUPYTER_PATH'] = str(_share())  # only this environment's kernels and extensions
    env.update(extra or {})
    return env


@dataclass
class LabServer:
    """A JupyterLab server process on a loopback port, stopped by :meth:`stop` or on leaving a
    ``with`` block (also when the block raised).

    ``isolated=True`` gives it throw-away config/data/runtime/settings/workspace dirs under
    ``work_dir`` (a new temp dir when None); the server log goes to ``work_dir/lab.log``.
    """

    notebooks_dir: str | os.PathLike
    port: int | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    isolated: bool = False
    work_dir: str | os.PathLike | None = None
    env: Mapping[str, str] | None = None
    ip: str = LOOPBACK
    proc: subprocess.Popen | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        nb = Path(self.notebooks_dir)
        if not nb.is_dir():
            raise NotADirectoryError(f'notebooks folder {nb} does not exist or is not a folder')
        self.notebooks_dir = nb.resolve()
        if self.ip not in (LOOPBACK, 'localhost', '::1'):
            raise ValueError(f'ip must be a loopback address, got {self.ip!r}')
        if not self.token or not self.token.isalnum():
            raise ValueError('token must be a non-empty string of letters and digits')
        self.work_dir = (
            Path(self.work_dir) if self.work_dir is not None else Path(tempfile.mkdtemp(prefix='nasviz-lab-'))
        )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(self.ip) if self.port is None else self.port

    @property
    def base_url(self) -> str:
        return f'http://{self.ip}:{self.port}'

    @property
    def url(self) -> str:
        """The URL to open, token included."""
        return f'{self.base_url}/lab?token={self.token}'

    @property
    def _work(self) -> Path:
        """``work_dir``, a folder once ``__post_init__`` has run."""
        assert self.work_dir is not None
        return Path(self.work_dir)

    @property
    def log_path(self) -> Path:
        return self._work / 'lab.log'

    def command(self) -> list[str]:
        extra: list[str] = []
        if self.isolated:
            extra = [
                f'--LabApp.user_settings_dir={self._work / "settings"}',
                f'--LabApp.workspaces_dir={self._work / "workspaces"}',
            ]
        assert self.port is not None  # chosen in __post_init__
        return lab_command(self.notebooks_dir, self.port, self.token, ip=self.ip, extra=extra)

    def start(self, timeout: float = 120) -> LabServer:
        """Start the server and wait until its API answers (raises RuntimeError with the log's
        tail if it exits or does not answer within ``timeout`` seconds)."""
        if self.proc is not None:
            raise RuntimeError('server already started')
        env = lab_env(self.env, self._work / 'jupyter' if self.isolated else None)
        if self.isolated:
            # a fresh user would be asked whether to fetch Jupyter news; answer 'never' up front
            # (nothing would be fetched anyway with news_url=None, but the toast covers the page)
            notes = self._work / 'settings' / '@jupyterlab' / 'apputils-extension'
            notes.mkdir(parents=True, exist_ok=True)
            (notes / 'notification.jupyterlab-settings').write_text(
                json.dumps({'fetchNews': 'false', 'checkForUpdates': False})
            )
        self._log: BinaryIO | None = open(self.log_path, 'ab')
        # own session: stop() can signal the server and everything it spawned as one group
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.notebooks_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f'jupyter lab exited with code {self.proc.returncode}:\n{self.log_tail()}')
            if self.api('status') is not None:
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f'jupyter lab did not answer on {self.base_url} within {timeout:.0f} s:\n{self.log_tail()}')

    def api(self, path: str, method: str = 'GET', timeout: float = 5):
        """JSON answer of ``/api/<path>``, or None when the server does not answer."""
        req = urllib.request.Request(
            f'{self.base_url}/api/{path}', method=method, headers={'Authorization': f'token {self.token}'}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = r.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return None
        return json.loads(body) if body else {}

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors='replace')[-n:]
        except OSError:
            return ''

    def kernel_pids(self) -> list[int]:
        """Processes whose command line names a connection file in this server's runtime dir
        (its kernels; Linux ``/proc`` only, empty elsewhere)."""
        marker = str(self._work / 'jupyter' / 'runtime') if self.isolated else None
        kernels = {k['id'] for k in (self.api('kernels') or [])} if self.proc and self.proc.poll() is None else set()
        pids = []
        for d in Path('/proc').glob('[0-9]*'):
            try:
                cmd = (d / 'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
            except OSError:
                continue
            if (marker and marker in cmd and 'kernel' in cmd) or any(f'kernel-{k}.json' in cmd for k in kernels):
                pids.append(int(d.name))
        return pids

    def stop(self, timeout: float = 20) -> None:
        """Shut the server down with its kernels: ``/api/shutdown``, then SIGTERM, then SIGKILL
        to its process group; kernels of an isolated server that outlive it are killed by pid."""
        if self.proc is None:
            return
        kernels = self.kernel_pids() if self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.api('shutdown', method='POST')
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(self.proc.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        self.proc.wait(5)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        for pid in kernels + (self.kernel_pids() if self.isolated else []):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        log = getattr(self, '_log', None)
        if log is not None:
            log.close()
            self._log = None

    def __enter__(self) -> LabServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_lab(
    notebooks_dir: str | os.PathLike = 'notebooks', port: int | None = None, token: str | None = None, out=sys.stdout
) -> int:
    """Run JupyterLab in the foreground until Ctrl-C (``nasviz lab``); prints the URL with its
    token. ``port=None``: the first free port from 8888. Returns the server's exit code."""
    nb = Path(notebooks_dir)
    if not nb.is_dir():
        raise NotADirectoryError(f'--notebooks: {nb} does not exist or is not a folder')
    problems = check_lab_environment()
    if problems:
        raise ValueError('JupyterLab would not work offline here:\n  ' + '\n  '.join(problems))
    if port is None:
        port = free_port(LOOPBACK, start=8888)
    else:
        try:
            free_port(LOOPBACK, start=port, tries=1)
        except ValueError:
            raise ValueError(f'--port: port {port} on {LOOPBACK} is in use; pick another') from None
    token = token or secrets.token_hex(24)
    server = LabServer(nb, port=port, token=token, work_dir=tempfile.mkdtemp(prefix='nasviz-lab-'))
    print(f'starting JupyterLab ({sys.executable}) on {server.base_url}, notebooks in {nb.resolve()}', file=out)
    server.start()
    print(
        f'\n    open {server.url}\n\n(server log: {server.log_path}; Ctrl-C stops the server and its kernels)',
        file=out,
        flush=True,
    )
    try:
        assert server.proc is not None  # started above
        return server.proc.wait()
    except KeyboardInterrupt:
        print('stopping JupyterLab', file=out)
        return 0
    finally:
        server.stop()
