"""Other tools' spellings of a NAS-Bench-201 cell: NASLib's op-index tuple and the few-shot NAS
release's node tuples (AutoDL ``tostr`` lists), beside the official cell string."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

from nasviz.spaces.nb201 import EDGES, OPS, Arch, to_arch
from nasviz.validate import short_repr

#: NASLib's NB201 op order (``naslib/search_spaces/nasbench201/conversions.py``)
NASLIB_NB201_OPS = ('skip_connect', 'none', 'nor_conv_3x3', 'nor_conv_1x1', 'avg_pool_3x3')
#: NASLib's edge order of the op-index tuple
NASLIB_NB201_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _nb201_from_naslib(idx: Sequence[int]) -> Any:
    if len(idx) != 6 or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 5 for i in idx):
        raise ValueError(f'a NASLib NB201 op-index tuple has 6 integers in 0..4, got {short_repr(tuple(idx))}')
    ops = {e: NASLIB_NB201_OPS[i] for e, i in zip(NASLIB_NB201_EDGES, idx)}
    return Arch(tuple(OPS.index(ops[e]) for e in EDGES))


def to_naslib_nb201(arch: Any) -> tuple[int, ...]:
    """NASLib's op-index tuple of an NB201 cell (the key of ``zc_nasbench201.json``)."""
    a = to_arch(arch)
    ops = dict(zip(EDGES, a.ops))
    return tuple(NASLIB_NB201_OPS.index(ops[e]) for e in NASLIB_NB201_EDGES)


def _nb201_from_nodes(nodes: Any) -> Any:
    """The few-shot release / AutoDL ``tostr`` list: node j's tuple of ``(op, input)`` pairs."""
    if not (isinstance(nodes, (list, tuple)) and len(nodes) == 3):
        raise ValueError('expected 3 node groups')
    ops = []
    for j, node in enumerate(nodes, start=1):
        if not (isinstance(node, (list, tuple)) and len(node) == j):
            raise ValueError(f'node {j} must list {j} (op, input) pair(s)')
        for src, pair in enumerate(node):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[1] == src):
                raise ValueError(f'node {j}: pair {short_repr(pair)} must read (op, {src})')
            ops.append(str(pair[0]))
    return Arch.from_ops(ops)


_OFFICIAL = re.compile(r'\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|')
_OP_INDEX = {op: i for i, op in enumerate(OPS)}


def parse_nb201_spelling(text: str) -> Any:
    """An NB201 cell from the official string, a NASLib op-index tuple or few-shot node tuples."""
    s = text.strip()
    m = _OFFICIAL.fullmatch(s)
    if m is not None and all(op in _OP_INDEX for op in m.groups()):  # the official form, fast
        return Arch(tuple(_OP_INDEX[op] for op in m.groups()))
    if s.startswith('|'):
        return Arch.from_str(s)
    lit = _literal(s)
    if isinstance(lit, (tuple, list)) and lit and all(isinstance(i, int) for i in lit):
        return _nb201_from_naslib(list(lit))
    if isinstance(lit, (tuple, list)) and lit and isinstance(lit[0], (tuple, list)):
        return _nb201_from_nodes(lit)
    return Arch.from_str(s)  # its error names the problem
