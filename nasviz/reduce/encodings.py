"""Encodings of an architecture's computational graph, for any space whose slots are edges
named ``'a->b'`` (NB201) or, for the histogram, any space with slots and choices.

- :func:`op_histogram`: how often each operation is used (a distribution over operations);
- :func:`adjacency_tensor`: ``T[i, j, o] = 1`` when edge ``i -> j`` carries operation ``o``
  (nodes x nodes x ops).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

_EDGE = re.compile(r'^(\d+)->(\d+)$')


def _vocabulary(space: Any) -> tuple[str, ...]:
    ops: dict[str, None] = {}
    for s in space.slots:
        ops.update(dict.fromkeys(space.choices(s)))
    return tuple(ops)


def op_histogram(archs: Sequence[Any], space: Any, normalize: bool = True) -> np.ndarray:
    """``(n, n_ops)``: per architecture, how many slots take each operation (rows sum to 1 when
    ``normalize``). Columns follow :func:`op_vocabulary`."""
    ops = _vocabulary(space)
    col = {o: i for i, o in enumerate(ops)}
    H = np.zeros((len(archs), len(ops)))
    for r, a in enumerate(archs):
        a = space.check(a)
        for s in space.slots:
            H[r, col[a.choice(s)]] += 1
    if normalize:
        H /= H.sum(axis=1, keepdims=True)
    return H


def op_vocabulary(space: Any) -> tuple[str, ...]:
    """The operations of a space, in the column order of the encodings."""
    return _vocabulary(space)


def edge_nodes(space: Any) -> tuple[int, list[tuple[int, int]]]:
    """Number of nodes and the ``(source, target)`` of every slot; ``ValueError`` when the slots
    are not edges named ``'a->b'``."""
    pairs = []
    for s in space.slots:
        m = _EDGE.match(str(s))
        if m is None:
            raise ValueError(f'the adjacency encoding needs edge slots named "a->b"; space {space.name!r} has '
                             f'slot {s!r}')
        pairs.append((int(m.group(1)), int(m.group(2))))
    return 1 + max(max(p) for p in pairs), pairs


def adjacency_tensor(archs: Sequence[Any], space: Any) -> np.ndarray:
    """``(n, nodes, nodes, n_ops)`` one-hot tensors: edge ``i -> j`` carries op ``o``."""
    ops = _vocabulary(space)
    col = {o: i for i, o in enumerate(ops)}
    n_nodes, pairs = edge_nodes(space)
    T = np.zeros((len(archs), n_nodes, n_nodes, len(ops)), dtype=np.float32)
    for r, a in enumerate(archs):
        a = space.check(a)
        for s, (i, j) in zip(space.slots, pairs):
            T[r, i, j, col[a.choice(s)]] = 1.0
    return T


def encode(archs: Sequence[Any], space: Any, kind: str = 'histogram') -> np.ndarray:
    """2-D feature matrix: ``'histogram'`` (:func:`op_histogram`) or ``'adjacency'`` (the flattened
    :func:`adjacency_tensor`)."""
    if kind == 'histogram':
        return op_histogram(archs, space)
    if kind == 'adjacency':
        T = adjacency_tensor(archs, space)
        return T.reshape(len(archs), -1)
    raise ValueError(f'unknown encoding {kind!r}; valid: histogram, adjacency')
