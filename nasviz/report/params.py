"""Notebook parameters: the checks a notebook runs on its own parameters, and the defaults its
``parameters`` cell declares.

Notebooks call :func:`check_parameters` in the cell after their ``parameters`` cell, so that a
bad value fails in the first cells with a clear message instead of deep inside a training loop.
"""

from __future__ import annotations

import ast
import numbers
import re
from pathlib import Path
from typing import Any

from nasviz.profiles import PROFILES as _PROFILE_SETTINGS

__all__ = ['PROFILES', 'check_parameters', 'notebook_defaults']

#: Run sizes, smallest first: ``tiny`` for unit tests, ``small`` for smoke runs on a CPU,
#: ``paper`` for the full experiments on a GPU. What each one means is set by the notebooks'
#: library calls; this module only checks the name.
PROFILES: tuple[str, ...] = tuple(_PROFILE_SETTINGS)

# Parameters that count things (epochs, n_partitions, num_workers, batch_size, ...): a negative
# or fractional count is always a typo, and catching it in the parameters cell saves a run.
_COUNT_NAME = re.compile(r'^(epochs|.*_epochs|n_.+|num_.+|.+_size|steps|.*_steps)$')
_SEED_NAMES = frozenset({'seed', 'random_state'})


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
    # bool is an int subclass, but `epochs=True` is certainly a mistake
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 0


def notebook_defaults(path: str | Path) -> dict[str, Any]:
    """Values of the notebook's ``parameters``-tagged cell, as papermill reads them.

    Literals (numbers, strings, lists, ``None``) come back as Python values; an expression that
    is not a literal is kept as its source text. An unreadable notebook gives ``{}``.
    """
    try:
        import nbformat
        from papermill.translators import papermill_translators

        nb = nbformat.read(str(path), as_version=4)
        cell = next((c for c in nb.cells if 'parameters' in c.get('metadata', {}).get('tags', [])), None)
        if cell is None:
            return {}
        meta = nb.metadata
        language = (
            meta.get('kernelspec', {}).get('language') or meta.get('language_info', {}).get('name') or 'python'
        )  # nasviz notebooks are Python
        translator = papermill_translators.find_translator(meta.get('kernelspec', {}).get('name', 'python3'), language)
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
