"""Small shared helpers: seeding, atomic writes, parameter-keyed on-disk cache.

Stored state is checked on load, never trusted blindly: cache entries carry a header with the
checksum of their payload and the hash of their key, checkpoints written by
:func:`atomic_torch_save` a ``.sha256`` side file, and either may get a content check. An entry
that fails is reported (``RuntimeWarning`` with its path), renamed aside to
``<name>.corrupt-<time>-<pid>`` (kept for inspection, never deleted) and recomputed.
Temporary files of an atomic write killed half-way are removed by the next write into the same
folder (once their writer is dead, or after a day when it ran on another host).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import random
import re
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import numpy as np

T = TypeVar('T')


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) at once."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def _host_tag() -> str:
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


def clean_stale_temps(directory: str | os.PathLike, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove temporary files left in ``directory`` by atomic writes that were killed: those
    whose writer (same host) is no longer running, and any older than ``max_age`` seconds.
    Returns what was removed. A temp file of a write still in progress is never touched."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    host, now = _host_tag(), time.time()
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
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=f'.{os.getpid()}@{_host_tag()}.tmp',
                               dir=path.parent)
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + '.sha256')


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` through a temporary file and a rename, with a checksum side file
    ``<path>.sha256`` that :func:`load_checked` verifies (torch itself does not notice a
    damaged tensor). The side file is written first and lists the new and the previous
    checksum, so a kill between the two writes leaves a pair that still verifies."""
    import io

    import torch

    path = Path(path)
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    side = _checksum_path(path)
    prev: list[str] = []
    if path.exists():
        try:
            prev = [_sha256(path.read_bytes())]
        except OSError:
            prev = []
    atomic_write_text(side, json.dumps({'sha256': [_sha256(data)] + prev}))
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
    if _sha256(path.read_bytes()) not in want:
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


def load_checked(path: str | os.PathLike, loader: Callable[[Path], T],
                 validate: Optional[Callable[[T], Any]] = None,
                 intact: Optional[Callable[[Path], bool]] = None) -> Optional[T]:
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
    warnings.warn(f'{side}: {err}; {path.name} itself is intact (its own checksums match, it loads and passes '
                  f'its content check), so it is kept; the side file was moved aside to {dest.name}',
                  RuntimeWarning, stacklevel=3)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)  # Arch, OpMask and other small values print stably


def param_hash(*parts: Any, length: int = 16) -> str:
    """Stable hash of parameters (dataclasses, dicts, lists, scalars, objects with a stable str)."""
    from nasviz import __version__

    blob = json.dumps([_jsonable(p) for p in parts] + [__version__], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def cache_dir() -> Path:
    """``$NASVIZ_CACHE`` if set, else ``~/.cache/nasviz``. An empty setting is an error (it
    would put the cache in the current folder), and so is one naming a file."""
    env = os.environ.get('NASVIZ_CACHE')
    if env is None:
        return Path.home() / '.cache' / 'nasviz'
    if not env.strip():
        raise ValueError('NASVIZ_CACHE is set but empty; unset it (the cache then lives in '
                         '~/.cache/nasviz) or set it to a writable folder')
    p = Path(env).expanduser()
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f'NASVIZ_CACHE={p} is not a directory')
    return p


def check_cache_dir() -> Path:
    """The cache directory, checked to be usable before work starts: created if missing and a
    file written and removed there (a folder the permission bits allow but the file system
    refuses, e.g. under /proc, fails here). Errors name the setting (``NASVIZ_CACHE``)."""
    from nasviz.validate import check_writable_dir, short_path

    p = check_writable_dir(cache_dir(), 'NASVIZ_CACHE', create=True)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix='.probe.', suffix=f'.{os.getpid()}@{_host_tag()}.tmp', dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        what = 'NASVIZ_CACHE' if os.environ.get('NASVIZ_CACHE') is not None else 'the cache (~/.cache/nasviz)'
        raise PermissionError(f'{what}: cannot write in {short_path(p)} ({err.strerror or err}); set NASVIZ_CACHE '
                              'to a writable folder') from None
    return p


_CACHE_MAGIC = b'NASVIZCACHE1\n'


def _encode_entry(value: Any, key: str) -> bytes:
    payload = pickle.dumps(value)
    header = json.dumps({'key': key, 'sha256': _sha256(payload), 'size': len(payload)}).encode()
    return _CACHE_MAGIC + header + b'\n' + payload


def _decode_entry(blob: bytes, key: str) -> Any:
    """The value stored in a cache entry, or ``ValueError`` saying what is wrong with it."""
    if not blob.startswith(_CACHE_MAGIC):
        # an entry written before entries carried a header: trusted only if it unpickles
        return pickle.loads(blob)
    head, sep, payload = blob[len(_CACHE_MAGIC):].partition(b'\n')
    if not sep:
        raise ValueError('truncated header')
    meta = json.loads(head)
    if meta.get('key') != key:
        raise ValueError('the entry belongs to other parameters (key mismatch)')
    if len(payload) != meta.get('size'):
        raise ValueError(f'truncated: {len(payload)} of {meta.get("size")} bytes')
    if _sha256(payload) != meta.get('sha256'):
        raise ValueError('checksum mismatch')
    return pickle.loads(payload)


def cached(kind: str, key_parts: tuple, compute: Callable[[], T], cache: bool | str | os.PathLike = True,
           validate: Optional[Callable[[T], Any]] = None) -> T:
    """Return ``compute()``, stored on disk under ``<cache>/<kind>/<hash(key_parts)>.pkl``.

    ``cache=False`` disables the cache; a path overrides the default directory. Writes are
    atomic. An entry is checked on load (header, size, checksum, key) and by ``validate(value)``
    if given (raise ``ValueError`` or return False for content of the wrong shape or for the
    wrong architectures); a damaged or wrong entry is set aside with a warning (see
    :func:`load_checked`) and recomputed.
    """
    if cache is False:
        return compute()
    root = cache_dir() if cache is True else Path(cache)
    key = param_hash(*key_parts, length=64)
    path = root / kind / f'{key[:16]}.pkl'
    # boxed in a tuple, so a cached None is a hit
    check = None if validate is None else (lambda box: validate(box[0]))
    hit = load_checked(path, lambda p: (_decode_entry(p.read_bytes(), key),), check)
    if hit is not None:
        return hit[0]
    value = compute()
    atomic_write_bytes(path, _encode_entry(value, key))
    return value


def check_choice(value: Any, valid: Any, what: str) -> None:
    """``ValueError`` naming ``what`` and listing the valid values when ``value`` is not one."""
    if value not in valid:
        from nasviz.validate import short_repr  # validate imports nothing of nasviz: no cycle

        raise ValueError(f'unknown {what} {short_repr(value)}; valid: {", ".join(map(str, valid))}')


def proc_status_kib(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` in KiB (``VmRSS``: resident now;
    ``VmHWM``: the resident peak). Linux only; a field the kernel does not report raises KeyError."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(f'{field} not in /proc/self/status')


def reset_peak_rss() -> bool:
    """Reset the kernel's resident-peak counter (``VmHWM``) of this process by writing 5 to
    ``/proc/self/clear_refs``; False where that is not allowed (then ``VmHWM`` is the peak since start)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False
