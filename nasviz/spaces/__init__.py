"""Cell search spaces behind one interface (:class:`~nasviz.spaces.base.SearchSpace`).

``get_space('nb201')`` (NAS-Bench-201), ``get_space('nb101')`` (NAS-Bench-101) and
``get_space('darts')`` (the DARTS / NAS-Bench-301 space); ``list_spaces()`` names them. Each space
module owns its vocabulary (slots, choices, strings, networks); the rest of nasviz speaks of slots
and choices.
"""
from nasviz.spaces.base import (SearchSpace, SlotMask, get_space, list_spaces, parse_archs, register_space,
                                space_of)
from nasviz.spaces.nb201_space import NB201Space
from nasviz.spaces.nb101_space import NB101Space
from nasviz.spaces.darts_space import DartsSpace

register_space('nb201', NB201Space)
register_space('nb101', NB101Space)
register_space('darts', DartsSpace)

__all__ = ['SearchSpace', 'SlotMask', 'get_space', 'list_spaces', 'register_space', 'space_of', 'parse_archs',
           'NB201Space']
