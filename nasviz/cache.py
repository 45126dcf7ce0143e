"""The parameter-keyed on-disk cache: :func:`cached` stores a computed value under
``<cache>/<kind>/<hash of its parameters>.pkl`` (:func:`param_hash`, :func:`cache_dir`).

Entries carry a header with the checksum of their payload and the hash of their key and are
checked on load: a damaged or wrong entry is set aside with a warning
(:func:`nasviz.io.load_checked`) and recomputed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from nasviz.io import atomic_write_bytes, host_tag, load_checked, sha256_hex
from nasviz.validate import check_writable_dir, short_path

T = TypeVar('T')


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
        raise ValueError(
            'NASVIZ_CACHE is set but empty; unset it (the cache then lives in '
            '~/.cache/nasviz) or set it to a writable folder'
        )
    p = Path(env).expanduser()
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f'NASVIZ_CACHE={p} is not a directory')
    return p


def check_cache_dir() -> Path:
    """The cache directory, checked to be usable before work starts: created if missing and a
    file written and removed there (a folder the permission bits allow but the file system
    refuses, e.g. under /proc, fails here). Errors name the setting (``NASVIZ_CACHE``)."""
    p = check_writable_dir(cache_dir(), 'NASVIZ_CACHE', create=True)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix='.probe.', suffix=f'.{os.getpid()}@{host_tag()}.tmp', dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        what = 'NASVIZ_CACHE' if os.environ.get('NASVIZ_CACHE') is not None else 'the cache (~/.cache/nasviz)'
        raise PermissionError(
            f'{what}: cannot write in {short_path(p)} ({err.strerror or err}); set NASVIZ_CACHE to a writable folder'
        ) from None
    return p


_CACHE_MAGIC = b'NASVIZCACHE1\n'


def _encode_entry(value: Any, key: str) -> bytes:
    payload = pickle.dumps(value)
    header = json.dumps({'key': key, 'sha256': sha256_hex(payload), 'size': len(payload)}).encode()
    return _CACHE_MAGIC + header + b'\n' + payload


def _decode_entry(blob: bytes, key: str) -> Any:
    """The value stored in a cache entry, or ``ValueError`` saying what is wrong with it."""
    if not blob.startswith(_CACHE_MAGIC):
        # an entry written before entries carried a header: trusted only if it unpickles
        return pickle.loads(blob)
    head, sep, payload = blob[len(_CACHE_MAGIC) :].partition(b'\n')
    if not sep:
        raise ValueError('truncated header')
    meta = json.loads(head)
    if meta.get('key') != key:
        raise ValueError('the entry belongs to other parameters (key mismatch)')
    if len(payload) != meta.get('size'):
        raise ValueError(f'truncated: {len(payload)} of {meta.get("size")} bytes')
    if sha256_hex(payload) != meta.get('sha256'):
        raise ValueError('checksum mismatch')
    return pickle.loads(payload)


def cached(
    kind: str,
    key_parts: tuple,
    compute: Callable[[], T],
    cache: bool | str | os.PathLike = True,
    validate: Callable[[T], Any] | None = None,
) -> T:
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
