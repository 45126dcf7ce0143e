"""Cell search spaces behind one interface (:class:`~nasviz.spaces.base.SearchSpace`).

``get_space('nb201')`` (NAS-Bench-201), ``get_space('nb101')`` (NAS-Bench-101),
``get_space('darts')`` (the DARTS / NAS-Bench-301 space), and the spaces of installed plug-ins
(the ``nasviz.spaces`` entry-point group); ``list_spaces()`` names them. Each space module owns its
vocabulary (slots, choices, strings, networks); the rest of nasviz speaks of slots and choices.

A space module is imported when the space is first asked for, so importing the registry (and the
statistics that name spaces) needs no torch.
"""

from collections.abc import Callable
from importlib import import_module
from typing import Any

from nasviz.spaces.base import (
    ENTRY_POINT_GROUP,
    Architecture,
    SearchSpace,
    SlotMask,
    check_assignment,
    get_space,
    list_spaces,
    parse_archs,
    register_space,
    registered_spaces,
    space_key,
    space_of,
)

#: the spaces nasviz itself provides: registry name -> (module, class)
BUILTIN_SPACES = {
    'nb201': ('nasviz.spaces.nb201_space', 'NB201Space'),
    'nb101': ('nasviz.spaces.nb101_space', 'NB101Space'),
    'darts': ('nasviz.spaces.darts_space', 'DartsSpace'),
}


def _builtin(module: str, cls: str) -> Callable[[], SearchSpace]:
    def factory() -> SearchSpace:
        return getattr(import_module(module), cls)()

    return factory


for _name, (_module, _cls) in BUILTIN_SPACES.items():
    register_space(_name, _builtin(_module, _cls))


def __getattr__(name: str) -> Any:
    """``nasviz.spaces.NB201Space`` and the other built-in space classes, imported on first use."""
    for module, cls in BUILTIN_SPACES.values():
        if name == cls:
            return getattr(import_module(module), cls)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'Architecture',
    'SearchSpace',
    'SlotMask',
    'check_assignment',
    'get_space',
    'list_spaces',
    'registered_spaces',
    'register_space',
    'space_key',
    'space_of',
    'parse_archs',
    'ENTRY_POINT_GROUP',
    'BUILTIN_SPACES',
    'NB201Space',
]
