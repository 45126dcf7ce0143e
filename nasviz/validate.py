"""Checks of user-supplied arguments, shared by every public entry point.

One place decides what a valid count, index, probability, percentage or path is, and every
message names the offending argument and shows its value (shortened when it is enormous), so a
mistake fails early and clearly instead of being truncated, wrapped or discovered after the work:

* :func:`check_int` -- an integer, never silently truncated (``1.7`` is refused, ``2.0`` and
  NumPy integers are accepted), never a ``bool``; optional bounds;
* :func:`check_count` -- a positive (or at least ``minimum``) integer count;
* :func:`check_positive` -- a number > 0 (a learning rate);
* :func:`check_fraction`, :func:`check_percent` -- numbers in [0, 1] / [0, 100];
* :func:`check_input_file`, :func:`check_output_file`, :func:`check_output_dir` -- paths checked
  before work starts (missing, a directory where a file is expected, a missing parent folder,
  no write permission);
* :func:`check_text_size`, :func:`parse_json` -- the input size every parser accepts (an
  architecture string or a table cell is a few hundred characters), and JSON whose nesting or
  length would exhaust the parser (``RecursionError``) refused as a ``ValueError``;
* :func:`check_choice` -- one of a fixed set of names (a method, a distance ...);
* :func:`short_repr` -- ``repr`` cut to a readable length for messages.

Type mistakes (a string where a number belongs) raise ``TypeError``; wrong values raise
``ValueError``; path problems raise the matching ``OSError`` subclass (``FileNotFoundError``,
``IsADirectoryError``, ``NotADirectoryError``, ``PermissionError``). Nothing here imports torch.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

__all__ = [
    'short_repr',
    'short_path',
    'check_choice',
    'check_int',
    'check_count',
    'check_positive',
    'check_fraction',
    'check_percent',
    'check_input_file',
    'check_output_file',
    'check_output_dir',
    'check_writable_dir',
    'check_text_size',
    'parse_json',
    'MAX_PARSE_CHARS',
]

#: longest repr of an argument shown in an error message
MAX_REPR = 80


def short_repr(value: Any, limit: int = MAX_REPR) -> str:
    """``repr(value)``, cut in the middle to at most ``limit`` characters."""
    try:
        if isinstance(value, (list, tuple)) and len(value) > limit:
            # a huge list: the repr of its ends only (a 10^6-element repr alone takes 0.3 s)
            o, c = ('[', ']') if isinstance(value, list) else ('(', ')')
            budget = max((limit - 30) // 2, 10)
            head = ', '.join(_ends(value[:budget], budget))
            tail = ', '.join(reversed(_ends(value[-budget:][::-1], budget)))
            return f'{o}{head}, ...<{len(value)} items>..., {tail}{c}'
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f'<{type(value).__name__}>'
    return short_repr_text(text, limit)


def _ends(items: Any, budget: int) -> list[str]:
    """Reprs of the first ``items`` that fit in about ``budget`` characters (at least one)."""
    out: list[str] = []
    used = 0
    for x in items:
        r = short_repr_text(repr(x), budget)
        if out and used + len(r) > budget:
            break
        out.append(r)
        used += len(r) + 2
    return out


def short_repr_text(text: str, limit: int = MAX_REPR) -> str:
    """``text`` cut in the middle to at most about ``limit`` characters."""
    if len(text) <= limit:
        return text
    keep = max(limit - 25, 10)
    return f'{text[: keep // 2 + keep % 2]}...<{len(text)} chars>...{text[-(keep // 2) :]}'


#: longest text any parser of nasviz reads as one value (an architecture string, a table cell)
MAX_PARSE_CHARS = 10_000


def check_text_size(text: str, name: str, limit: int = MAX_PARSE_CHARS) -> str:
    """``text`` if at most ``limit`` characters long, else ``ValueError`` naming ``name``."""
    if len(text) > limit:
        raise ValueError(
            f'{name} is {len(text):,} characters long ({short_repr(text)}); at most {limit:,} are read '
            '(a real one is a few hundred)'
        )
    return text


def parse_json(text: str, name: str, limit: int = MAX_PARSE_CHARS) -> Any:
    """``json.loads(text)``, or ``ValueError`` naming ``name`` when the text is longer than
    ``limit``, not JSON, or nested too deeply for the parser."""
    check_text_size(text, name, limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f'{name} {short_repr(text)} is not a JSON text (not valid JSON: {err.msg} at character {err.pos})'
        ) from None
    except RecursionError:
        raise ValueError(f'{name} {short_repr(text)} is nested too deeply to be read') from None


def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python ``int``, refusing anything that would be truncated or reinterpreted.

    Accepts ints, NumPy/torch integer scalars and integral floats (``3.0``); refuses ``bool``,
    strings and other non-numbers (``TypeError``) and non-integral or non-finite numbers
    (``ValueError``). ``minimum``/``maximum`` are inclusive bounds.
    """
    if isinstance(value, bool) or type(value).__name__ == 'bool_':
        raise TypeError(f'{name} must be an integer, got the boolean {value!r}')
    if isinstance(value, (str, bytes)):
        raise TypeError(f'{name} must be an integer, got the string {short_repr(value)}')
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif hasattr(value, '__index__') and not isinstance(value, numbers.Real):
        out = int(value.__index__())  # e.g. a 0-d integer tensor
    elif isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise ValueError(f'{name} must be an integer, got {short_repr(value)} (it would be truncated)')
        out = int(f)
    else:
        # 0-d arrays/tensors of integer dtype expose item()
        item = getattr(value, 'item', None)
        if callable(item) and getattr(value, 'ndim', None) == 0:
            return check_int(item(), name, minimum, maximum)
        raise TypeError(f'{name} must be an integer, got {type(value).__name__} {short_repr(value)}')
    if minimum is not None and out < minimum:
        rng = f'>= {minimum}' if maximum is None else f'in {minimum}..{maximum}'
        raise ValueError(f'{name} must be {rng}, got {out}')
    if maximum is not None and out > maximum:
        rng = f'<= {maximum}' if minimum is None else f'in {minimum}..{maximum}'
        raise ValueError(f'{name} must be {rng}, got {short_repr(out)}')
    return out


def check_choice(value: Any, valid: Any, what: str) -> None:
    """``ValueError`` naming ``what`` and listing the valid values when ``value`` is not one."""
    if value not in valid:
        raise ValueError(f'unknown {what} {short_repr(value)}; valid: {", ".join(map(str, valid))}')


def check_count(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """A count: an integer ``>= minimum`` (default 1)."""
    return check_int(value, name, minimum=minimum, maximum=maximum)


def _check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or type(value).__name__ == 'bool_':
        raise TypeError(f'{name} must be a number, got the boolean {value!r}')
    if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
        item = getattr(value, 'item', None)
        if callable(item) and getattr(value, 'ndim', None) == 0:
            return _check_real(item(), name)
        raise TypeError(f'{name} must be a number, got {type(value).__name__} {short_repr(value)}')
    f = float(value)
    if math.isnan(f):
        raise ValueError(f'{name} must be a number, got NaN')
    return f


def check_positive(value: Any, name: str) -> float:
    """A finite number > 0 (e.g. a learning rate)."""
    f = _check_real(value, name)
    if not (math.isfinite(f) and f > 0):
        raise ValueError(f'{name} must be a finite number > 0, got {short_repr(value)}')
    return f


def check_fraction(value: Any, name: str, low_open: bool = False, high_open: bool = False) -> float:
    """A number in [0, 1] (either end open on request), e.g. a probability."""
    f = _check_real(value, name)
    ok = (0.0 < f if low_open else 0.0 <= f) and (f < 1.0 if high_open else f <= 1.0)
    if not ok:
        rng = f'{"(" if low_open else "["}0, 1{")" if high_open else "]"}'
        raise ValueError(f'{name} must be in {rng}, got {short_repr(value)}')
    return f


def check_percent(value: Any, name: str) -> float:
    """A percentage in [0, 100] (an accuracy)."""
    f = _check_real(value, name)
    if not 0.0 <= f <= 100.0:
        raise ValueError(f'{name} must be a percentage in [0, 100], got {short_repr(value)}')
    return f


# ---------------------------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------------------------
#: longest path shown in a message (longer ones are cut in the middle)
MAX_PATH_SHOWN = 160


def short_path(path: Any, limit: int = MAX_PATH_SHOWN) -> str:
    """``str(path)``, cut in the middle to at most about ``limit`` characters."""
    text = str(path)
    if len(text) <= limit:
        return text
    keep = max(limit - 25, 10)
    return f'{text[: keep // 2 + keep % 2]}...<{len(text)} chars>...{text[-(keep // 2) :]}'


def _as_path(path: Any, name: str) -> Path:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f'{name} must be a path, got {type(path).__name__} {short_repr(path)}')
    if not str(path).strip():
        raise ValueError(f'{name} is empty; give a path')
    text = os.fspath(path)
    if ('\x00' if isinstance(text, str) else b'\x00') in text:
        raise ValueError(f'{name}: path {short_repr(text)} holds a NUL byte')
    p = Path(path).expanduser()
    try:
        p.exists()  # a name too long or a symlink loop raises here, not as a clear error later
        p.parent.exists()
    except (OSError, ValueError) as err:  # ValueError: an embedded NUL byte
        why = getattr(err, 'strerror', None) or str(err)
        raise ValueError(f'{name}: unusable path {short_path(p)} ({why})') from None
    return p


def check_input_file(path: Any, name: str, what: str = 'file') -> Path:
    """An existing, readable regular file."""
    p = _as_path(path, name)
    if p.is_dir():
        raise IsADirectoryError(f'{name}: {short_path(p)} is a directory, expected a {what}')
    if not p.exists():
        raise FileNotFoundError(f'{name}: {what} not found: {short_path(p)}')
    if not os.access(p, os.R_OK):
        raise PermissionError(f'{name}: {short_path(p)} is not readable')
    return p


def check_writable_dir(path: Any, name: str, create: bool = False) -> Path:
    """A directory that exists (or, with ``create``, whose nearest existing ancestor is a
    directory) and that this process may write in. Nothing is created."""
    p = _as_path(path, name)
    if p.exists():
        if not p.is_dir():
            raise NotADirectoryError(f'{name}: {short_path(p)} exists and is not a directory')
        if not os.access(p, os.W_OK | os.X_OK):
            raise PermissionError(f'{name}: directory {short_path(p)} is not writable')
        return p
    if not create:
        raise FileNotFoundError(f'{name}: directory {short_path(p)} does not exist')
    anc = p.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise NotADirectoryError(f'{name}: cannot create {short_path(p)}: {short_path(anc)} is not a directory')
    if not os.access(anc, os.W_OK | os.X_OK):
        raise PermissionError(f'{name}: cannot create {short_path(p)}: {short_path(anc)} is not writable')
    return p


def check_output_file(path: Any, name: str) -> Path:
    """A file path that can be written: not a directory, its folder exists and is writable,
    and an existing file there is writable. Checked before any work starts."""
    p = _as_path(path, name)
    if p.is_dir() or str(path).endswith(('/', os.sep)):
        raise IsADirectoryError(f'{name}: {short_path(p)} is a directory, expected a file name')
    parent = p.parent if str(p.parent) else Path('.')
    if not parent.exists():
        raise FileNotFoundError(
            f'{name}: folder {short_path(parent)} of {short_path(p.name)} does not exist; create it first'
        )
    if not parent.is_dir():
        raise NotADirectoryError(f'{name}: {short_path(parent)} is not a directory')
    if p.exists() and not os.access(p, os.W_OK):
        raise PermissionError(f'{name}: {short_path(p)} exists and is not writable')
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f'{name}: folder {short_path(parent)} is not writable')
    return p


def check_output_dir(path: Any, name: str) -> Path:
    """A directory to write into: an existing writable directory, or a new one whose parent
    exists (a missing parent usually means a typo, so it is refused). Nothing is created."""
    p = _as_path(path, name)
    if p.exists():
        return check_writable_dir(p, name)
    parent = p.parent if str(p.parent) else Path('.')
    if not parent.exists():
        raise FileNotFoundError(
            f'{name}: folder {short_path(parent)} (parent of {short_path(p.name)}) does not exist; create it first'
        )
    return check_writable_dir(p, name, create=True)
