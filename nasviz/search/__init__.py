"""Architecture search on NAS-Bench-201 and the DARTS cell space: ISTA-NAS (sparse coding), the
DARTS relaxation, SPOS + random search over supernet scores, and plain random search, at one
budget (:func:`run_search`; results as :class:`SearchResult`). What a method needs from a space
lives in :mod:`nasviz.search.groups`.

Importing the package is light (torch loads on first use of a search function)."""

from nasviz.search.names import SEARCH_METHODS

__all__ = [
    'SEARCH_METHODS',
    'SEARCH_SPACES',
    'SearchConfig',
    'SearchResult',
    'run_search',
    'search_config',
    'split_for_search',
    'true_accuracy',
]

_LAZY = {
    'SearchConfig': 'base',
    'SearchResult': 'base',
    'split_for_search': 'base',
    'true_accuracy': 'base',
    'run_search': 'run',
    'search_config': 'run',
}


def __getattr__(name: str):
    if name == 'SEARCH_SPACES':  # the registered spaces with a search implementation, at the time asked
        from nasviz.search.groups import search_spaces

        return tuple(search_spaces())
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f'nasviz.search.{_LAZY[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
