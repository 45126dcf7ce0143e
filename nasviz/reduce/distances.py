"""Distances between architectures: divergences between op-usage distributions (symmetric KL,
Jensen-Shannon, Hellinger) and a graph edit distance with per-operation costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasviz.reduce.encodings import edge_nodes, op_vocabulary


def _check_dist(P: Any, name: str) -> np.ndarray:
    P = np.atleast_2d(np.asarray(P, dtype=np.float64))
    if (P < 0).any() or not np.isfinite(P).all():
        raise ValueError(f'{name}: a distribution must hold finite non-negative values')
    s = P.sum(axis=1, keepdims=True)
    if (s <= 0).any():
        raise ValueError(f'{name}: a distribution must have a positive sum')
    return P / s


def _pairwise(P: Any, Q: Any | None) -> tuple[np.ndarray, np.ndarray, bool]:
    single = np.ndim(P) == 1 and (Q is None or np.ndim(Q) == 1)
    P = _check_dist(P, 'P')
    Q = P if Q is None else _check_dist(Q, 'Q')
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f'P and Q have {P.shape[1]} and {Q.shape[1]} categories')
    return P[:, None, :], Q[None, :, :], single


def _out(D: np.ndarray, single: bool) -> Any:
    return float(D[0, 0]) if single and D.shape == (1, 1) else D


def symmetric_kl(P: Any, Q: Any | None = None, eps: float = 1e-6) -> Any:
    """``KL(p||q) + KL(q||p)`` (nats) between distributions; ``eps`` is added to every category and
    renormalised first, so an operation one cell lacks gives a large finite value, not infinity.
    Two 1-D distributions give a float; matrices give the pairwise ``(n, m)`` matrix (``Q=None``:
    ``P`` against itself)."""
    single = np.ndim(P) == 1 and (Q is None or np.ndim(Q) == 1)
    a = _check_dist(P, 'P')
    b = a if Q is None else _check_dist(Q, 'Q')
    if a.shape[1] != b.shape[1]:
        raise ValueError(f'P and Q have {a.shape[1]} and {b.shape[1]} categories')
    a = (a + eps) / (1 + eps * a.shape[-1])
    b = (b + eps) / (1 + eps * b.shape[-1])
    la, lb = np.log(a), np.log(b)
    # sum (a - b)(log a - log b) = sum a log a + sum b log b - a . log b - b . log a, as matrix products
    D = (a * la).sum(1)[:, None] + (b * lb).sum(1)[None, :] - a @ lb.T - la @ b.T
    return _out(np.maximum(D, 0.0), single)


def jensen_shannon(P: Any, Q: Any | None = None) -> Any:
    """Jensen-Shannon divergence in bits: symmetric, in ``[0, 1]``, zero only for equal
    distributions (its square root is a metric)."""
    a, b, single = _pairwise(P, Q)
    m = 0.5 * (a + b)

    def kl(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide='ignore', invalid='ignore'):
            t = np.where(x > 0, x * np.log2(np.where(x > 0, x, 1) / np.where(m > 0, m, 1)), 0.0)
        return t.sum(-1)

    D = 0.5 * kl(np.broadcast_to(a, m.shape)) + 0.5 * kl(np.broadcast_to(b, m.shape))
    return _out(np.clip(D, 0.0, 1.0), single)


def hellinger(P: Any, Q: Any | None = None) -> Any:
    """Hellinger distance ``sqrt(1 - sum sqrt(p q))``, in ``[0, 1]`` (the Bhattacharyya sums of
    all pairs as one matrix product of the square roots)."""
    single = np.ndim(P) == 1 and (Q is None or np.ndim(Q) == 1)
    a = np.sqrt(_check_dist(P, 'P'))
    b = a if Q is None else np.sqrt(_check_dist(Q, 'Q'))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f'P and Q have {a.shape[1]} and {b.shape[1]} categories')
    gap = 1.0 - a @ b.T
    gap[gap < 1e-12] = 0.0  # round-off of the product for equal rows
    D = np.sqrt(np.clip(gap, 0.0, 1.0))
    return float(D[0, 0]) if single else D


#: default per-operation costs of :func:`graph_edit_distance` for NB201 (symmetric). Turning an
#: edge on or off (``none`` <-> an op) costs 1; swapping two convolutions 0.5, a parameter-free op
#: for another 0.5, a convolution for a parameter-free op 1.
NB201_OP_COSTS: dict[tuple[str, str], float] = {
    ('nor_conv_1x1', 'nor_conv_3x3'): 0.5,
    ('skip_connect', 'avg_pool_3x3'): 0.5,
}


def op_cost_matrix(
    ops: Sequence[str], costs: Mapping[tuple[str, str], float] | None = None, default: float = 1.0
) -> np.ndarray:
    """Symmetric substitution-cost matrix over ``ops``, zero on the diagonal, ``default`` where
    ``costs`` says nothing."""
    C = np.full((len(ops), len(ops)), float(default))
    np.fill_diagonal(C, 0.0)
    idx = {o: i for i, o in enumerate(ops)}
    for (a, b), c in (costs or {}).items():
        if a in idx and b in idx:
            if c < 0:
                raise ValueError(f'cost of {a}<->{b} must be >= 0, got {c}')
            C[idx[a], idx[b]] = C[idx[b], idx[a]] = float(c)
    return C


def graph_edit_distance(
    archs_a: Sequence[Any],
    archs_b: Sequence[Any] | None,
    space: Any,
    costs: Mapping[tuple[str, str], float] | None = None,
) -> np.ndarray:
    """Graph edit distance between cells with the same nodes (a cell-based space, nodes labelled by
    their position): the sum over edges of the cost of turning one edge's operation into the
    other's (adding or removing an edge = changing to or from ``none``). Node positions are not
    permuted (isomorphic cells may be at a positive distance; use the space's ``canonical`` to
    merge them first). ``(n, m)`` matrix."""
    edge_nodes(space)  # the slots must be edges
    ops = op_vocabulary(space)
    C = op_cost_matrix(ops, NB201_OP_COSTS if costs is None else costs)
    idx = {o: i for i, o in enumerate(ops)}

    def codes(archs: Sequence[Any]) -> np.ndarray:
        return np.array([[idx[space.check(a).choice(s)] for s in space.slots] for a in archs], dtype=np.int64)

    A = codes(archs_a)
    B = A if archs_b is None else codes(archs_b)
    D = np.zeros((len(A), len(B)))
    for e in range(A.shape[1]):
        D += C[A[:, e][:, None], B[:, e][None, :]]
    return D


def _blocked(fn: Any, rows: int = 64) -> Any:
    """``fn(P, Q)`` computed on blocks of ``rows`` rows of ``P`` (the divergences broadcast to
    ``(n, m, d)``: blocks keep memory at ``rows * m * d`` floats)."""

    def run(P: Any, Q: Any | None = None) -> np.ndarray:
        P = np.atleast_2d(np.asarray(P, dtype=np.float64))
        Q = P if Q is None else np.atleast_2d(np.asarray(Q, dtype=np.float64))
        return np.vstack([np.atleast_2d(fn(P[i : i + rows], Q)) for i in range(0, len(P), rows)])

    return run


def cosine_distance(X: Any, Y: Any | None = None) -> np.ndarray:
    """``sqrt(2 - 2 cos)`` between rows (dense or ``scipy.sparse``): on count features of a graph
    kernel's feature map (e.g. Weisfeiler-Lehman subtree counts) the distance the normalised
    kernel ``k(x, y) / sqrt(k(x, x) k(y, y))`` induces. A zero row is at distance ``sqrt(2)``
    from every other row (and 0 from itself)."""
    import scipy.sparse as sp

    Y = X if Y is None else Y
    G = X @ Y.T
    G = G.toarray() if sp.issparse(G) else np.asarray(G, dtype=np.float64)

    def norms(A: Any) -> np.ndarray:
        sq = A.multiply(A).sum(1) if sp.issparse(A) else (np.asarray(A, dtype=np.float64) ** 2).sum(1)
        return np.sqrt(np.asarray(sq, dtype=np.float64).reshape(-1))

    nx_, ny = norms(X), norms(Y)
    with np.errstate(divide='ignore', invalid='ignore'):
        c = G / (nx_[:, None] * ny[None, :])
    c = np.where(np.isfinite(c), c, 0.0)
    return np.sqrt(np.clip(2.0 - 2.0 * c, 0.0, 4.0))


DISTANCE_FUNCTIONS = {
    'kl': symmetric_kl,
    'js': _blocked(jensen_shannon),
    'hellinger': hellinger,
    'cosine': cosine_distance,
}
