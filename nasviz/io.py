"""Atomic writes and checked loads of stored state.

Stored state is checked on load, never trusted blindly: checkpoints written by
:func:`atomic_torch_save` carry a ``.sha256`` side file, and a load may add a content check. A
file that fails is reported (``RuntimeWarning`` with its path), renamed aside to
``<name>.corrupt-<time>-<pid>`` (kept for inspection, never deleted) and recomputed by its caller.
Temporary files of an atomic write killed half-way are removed by the next write into the same
folder (once their writer is dead, or after a day when it ran on another host).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import tempfile
import time
import warnings
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar('T')


def host_tag() -> str:
    """This host's name as it appears in temporary-file names (letters, digits and dashes)."""
    return re.sub(r'[^A-Za-z0-9-]', '-', socket.gethostname())[:40] or 'host'


#: temporary files: ``.<name>.<random>.<pid>@<host>.tmp`` (older versions: ``.<name>.<random>.tmp``)
_TMP_RE = re.compile(r'^\..+?\.(?:(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)\.)?tmp$')
#: a temporary file whose writer cannot be checked (another host, old name) is stale after this
STALE_TMP_SECONDS = 24 * 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def clean_stale_temps(directory: str | os.PathLike[str], max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove temporary files left in ``directory`` by atomic writes that were killed: those
    whose writer (same host) is no longer running, and any older than ``max_age`` seconds.
    Returns what was removed. A temp file of a write still in progress is never touched."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    host, now = host_tag(), time.time()
    for ent in entries:
        m = _TMP_RE.match(ent.name)
        if m is None or not ent.is_file(follow_symlinks=False):
            continue
        try:
            age = now - ent.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = m.group('pid')
        dead = pid is not None and m.group('host') == host and not _pid_alive(int(pid))
        if dead or age > max_age:
            try:
                os.unlink(ent.path)
                removed.append(Path(ent.path))
            except OSError:
                pass
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename, so a reader never
    sees half a file and a kill mid-write keeps the previous version. Temporary files of
    earlier killed writes in the same folder are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=f'.{os.getpid()}@{host_tag()}.tmp', dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode('utf-8'))


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as hex, as checksum side files and cache headers store it."""
    return hashlib.sha256(data).hexdigest()


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + '.sha256')


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` through a temporary file and a rename, with a checksum side file
    ``<path>.sha256`` that :func:`load_checked` verifies (torch itself does not notice a
    damaged tensor). The side file is written first and lists the new and the previous
    checksum, so a kill between the two writes leaves a pair that still verifies."""
    import torch

    path = Path(path)
    buf = BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    side = _checksum_path(path)
    prev: list[str] = []
    if path.exists():
        try:
            prev = [sha256_hex(path.read_bytes())]
        except OSError:
            prev = []
    atomic_write_text(side, json.dumps({'sha256': [sha256_hex(data)] + prev}))
    return atomic_write_bytes(path, data)


def verify_checksum(path: str | os.PathLike) -> None:
    """``ValueError`` when ``path`` has a ``.sha256`` side file that does not match it
    (nothing to check without one)."""
    path = Path(path)
    side = _checksum_path(path)
    if not side.exists():
        return
    try:
        want = json.loads(side.read_text())['sha256']
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f'unreadable checksum file {side} ({err})') from err
    if sha256_hex(path.read_bytes()) not in want:
        raise ValueError('checksum mismatch: the file was damaged after it was written')


def set_aside(path: str | os.PathLike, reason: str) -> Path | None:
    """Rename a damaged file to ``<name>.corrupt-<time>-<pid>`` (kept, not deleted), warn with
    both paths and the reason, and return the new path (None if it vanished meanwhile, e.g.
    another process set it aside first)."""
    path = Path(path)
    stem = f'{path.name}.corrupt-{time.strftime("%Y%m%d-%H%M%S")}-{os.getpid()}'
    dest, n = path.with_name(stem), 1
    while dest.exists():  # never overwrite an earlier one
        dest, n = path.with_name(f'{stem}.{n}'), n + 1
    try:
        os.replace(path, dest)
    except FileNotFoundError:
        return None
    side = _checksum_path(path)
    if side.exists():
        try:
            os.replace(side, dest.with_name(dest.name + '.sha256'))
        except OSError:
            pass
    warnings.warn(f'{path}: {reason}; moved aside to {dest.name} and recomputing', RuntimeWarning, stacklevel=3)
    return dest


def load_checked(
    path: str | os.PathLike,
    loader: Callable[[Path], T],
    validate: Callable[[T], Any] | None = None,
    intact: Callable[[Path], bool] | None = None,
) -> T | None:
    """``loader(path)``, or None when there is nothing usable at ``path``.

    None when the file does not exist, and also when it is damaged: its checksum side file
    (see :func:`atomic_torch_save`) does not match, ``loader`` fails on it (truncated, garbage),
    or ``validate(obj)`` raises ``ValueError``/``KeyError``/``TypeError`` or returns False
    (valid-looking content of the wrong kind). A damaged file is renamed aside with a
    ``RuntimeWarning`` naming it, so the caller recomputes. Permission and memory errors
    propagate: they say nothing about the file.

    ``intact(path)`` is a check of the file that needs no side file (a torch checkpoint's zip
    CRCs, :func:`nasviz.checkpoint.zip_intact`). When only the side file fails (unreadable or
    not matching) but the file passes ``intact``, loads and passes ``validate``, the side file is
    the damaged one: it is set aside with a warning and the file is kept.
    """
    path = Path(path)
    if not path.exists():
        return None
    side_error = None
    try:
        verify_checksum(path)
    except ValueError as err:
        if intact is None or not intact(path):
            set_aside(path, f'unreadable ({type(err).__name__}: {str(err)[:200]})')
            return None
        side_error = err
    try:
        obj = loader(path)
    except (PermissionError, IsADirectoryError, MemoryError, KeyboardInterrupt):
        raise
    except FileNotFoundError:
        return None
    except Exception as err:  # noqa: BLE001 - any failure to read the file means it is damaged
        set_aside(path, f'unreadable ({type(err).__name__}: {str(err)[:200]})')
        return None
    if validate is not None:
        try:
            ok = validate(obj)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            set_aside(path, f'content check failed ({type(err).__name__}: {str(err)[:200]})')
            return None
        if ok is False:
            set_aside(path, 'content check failed')
            return None
    if side_error is not None:
        _set_aside_side_file(path, side_error)
    return obj


def _set_aside_side_file(path: Path, err: Exception) -> None:
    """The checksum side file of an intact ``path`` failed: keep ``path``, move the side file aside."""
    side = _checksum_path(path)
    dest = side.with_name(f'{side.name}.corrupt-{time.strftime("%Y%m%d-%H%M%S")}-{os.getpid()}')
    try:
        os.replace(side, dest)
    except OSError:
        dest = side
    warnings.warn(
        f'{side}: {err}; {path.name} itself is intact (its own checksums match, it loads and passes '
        f'its content check), so it is kept; the side file was moved aside to {dest.name}',
        RuntimeWarning,
        stacklevel=3,
    )
