"""Op x op similarity of feature vectors (cosine, Pearson, negative L2), memory-bounded for long
gradient vectors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch

from nasviz.features.config import SIMILARITIES

__all__ = ['op_similarity']

#: float64 elements per column chunk when reducing long (gradient) vectors: ~16 MiB
_CHUNK_ELEMS = 2**21
#: a row whose centred norm is below this fraction of its norm counts as constant (Pearson)
_CONST_RTOL = 1e-10


# ---------------------------------------------------------------------------------------------
# similarity
# ---------------------------------------------------------------------------------------------
def _column_chunks(D: int, n: int) -> Iterator[tuple[int, int]]:
    step = max(1, _CHUNK_ELEMS // max(1, n))
    for s in range(0, D, step):
        yield s, min(D, s + step)


def similarity_matrix(X: torch.Tensor, metric: str) -> torch.Tensor:
    """``(n, n)`` float64 similarity of the rows of ``X`` (any device/dtype).

    Long vectors are reduced in column chunks converted to float64 one at a time, so a float32
    gradient matrix is never copied whole.
    """
    n, D = X.shape
    if metric == 'l2':
        sq = torch.zeros(n, n, dtype=torch.float64, device=X.device)
        for s, e in _column_chunks(D, n):
            # direct differences, not |a|^2 + |b|^2 - 2ab: identical rows must give exactly 1
            c = X[:, s:e].to(torch.float64)
            sq += torch.cdist(c, c, compute_mode='donot_use_mm_for_euclid_dist') ** 2
        return 1.0 / (1.0 + sq.sqrt())
    mean = torch.zeros(n, dtype=torch.float64, device=X.device)
    if metric == 'pearson':
        for s, e in _column_chunks(D, n):
            mean += X[:, s:e].to(torch.float64).sum(dim=1)
        mean /= max(D, 1)
    G = torch.zeros(n, n, dtype=torch.float64, device=X.device)
    raw = torch.zeros(n, dtype=torch.float64, device=X.device)
    for s, e in _column_chunks(D, n):
        c = X[:, s:e].to(torch.float64)
        raw += (c * c).sum(dim=1)
        c = c - mean[:, None]
        G += c @ c.T
    norm = G.diagonal().clamp_min(0).sqrt()
    # a zero vector (cosine) or a constant one (Pearson) has no direction: similarity 0 to the
    # others, 1 to itself; the relative test absorbs the rounding of the centring
    flat = norm <= _CONST_RTOL * raw.sqrt() if metric == 'pearson' else norm == 0
    safe = torch.where(flat, torch.ones_like(norm), norm)
    S = G / (safe[:, None] * safe[None, :])
    S = torch.where(flat[:, None] | flat[None, :], torch.zeros_like(S), S)
    return S.clamp(-1.0, 1.0)


def finish_similarity(S: torch.Tensor) -> np.ndarray:
    """A similarity matrix as NumPy on the CPU, made exactly symmetric with a unit diagonal."""
    m = S.detach().cpu().numpy()
    m = (m + m.T) / 2.0
    np.fill_diagonal(m, 1.0)
    return m


def op_similarity(
    features: np.ndarray | torch.Tensor, ops: Sequence[str], metric: Literal['cosine', 'pearson', 'l2'] = 'cosine'
) -> pd.DataFrame:
    """Op x op similarity of feature vectors ``(n_ops, D)``, labelled with ``ops``.

    ``'cosine'``: cosine of the vectors; ``'pearson'``: their correlation (cosine of the
    centred vectors); ``'l2'``: ``1 / (1 + ||a - b||)``. Symmetric with a unit diagonal and free
    of NaN: a zero vector (cosine) or a constant one (Pearson) scores 0 against every other op
    and 1 against itself. Non-finite features raise ``ValueError``.
    """
    if metric not in SIMILARITIES:
        raise ValueError(f'unknown similarity {metric!r}; valid similarities: {", ".join(SIMILARITIES)}')
    X = features if isinstance(features, torch.Tensor) else torch.as_tensor(np.asarray(features, dtype=np.float64))
    if X.ndim != 2:
        raise ValueError(f'features must be (n_ops, D); got shape {tuple(X.shape)}')
    ops = list(ops)
    if len(ops) != X.shape[0]:
        raise ValueError(f'{len(ops)} op labels for {X.shape[0]} feature rows')
    if not bool(torch.isfinite(X).all()):
        raise ValueError('features contain NaN or inf values')
    return pd.DataFrame(finish_similarity(similarity_matrix(X, metric)), index=ops, columns=ops)
