"""Local and global intrinsic dimension (LID / ID) estimators, in torch.

NAS-LID characterises a sub-network by the intrinsic dimension of the features each layer
produces on one batch of images; the estimates here work on a single point cloud ``(n, d)`` or
on a stack of same-shaped layers ``(L, n, d)`` at once.

Conventions shared by every function:

* **Input kind.** NumPy in, NumPy out; torch in, torch out (on the input's device). Estimates
  are returned in float64.
* **Neighbours.** k nearest neighbours within the batch, self excluded, Euclidean distance from
  the Gram matrix of mean-centred data (centring reduces cancellation in the
  ``|x|^2 + |y|^2 - 2 x.y`` formula without changing any distance).
* **Precision.** float64 input is searched in float64. float32 input (feature maps) is searched
  in float32, which is 2-3x faster on CPU: its Gram-matrix error on a squared distance is of
  order ``1e-6`` of the squared data radius, negligible for neighbours further than
  ``FAST_RTOL`` (0.1) radius away. A layer in which any point has a neighbour closer than that
  (duplicates, near-duplicates, a collapsed layer) is searched again in float64, so duplicate
  handling below is the same in both precisions. Other dtypes are converted to float64.
* **Duplicates.** Distances below ``1e-6 *`` (largest distance of a point to the batch mean)
  are rounding noise of that formula; :func:`knn_distances` snaps them to exactly 0, and the
  estimators treat a neighbour at distance 0 as *the same point*: it is dropped. A point whose
  k neighbours are all duplicates has no local scale; its LID is defined as 0 (a point mass is
  zero-dimensional). The same holds when all its other neighbours sit at one distance (say
  its k nearest are copies of one other point): the log-ratios are all 0, the MLE would be
  infinite, and 0 is returned instead. So every estimate stays finite however many duplicates a batch holds, and
  a layer whose output is constant (a ``none`` path) gets LID 0.
* **Ties.** By the same rule, when all of a point's non-duplicate neighbour distances lie within
  ``1e-6 *`` the radius of each other they are equal up to rounding (data on an integer grid,
  0/1 features, a float32 feature map cast to float64): :func:`knn_distances` makes them exactly
  equal, so their log-ratios are exactly 0 (LID 0 as above) instead of rounding noise of order
  1e-16 whose inverse would be an estimate of ~1e15. Rows with a real spread are untouched. The
  float32 search is redone in float64 for a layer in which a point's k neighbours lie within
  ``FAST_SPREAD_RTOL`` of each other (there float32 rounding could decide the estimate).
  :func:`lid_mle_from_knn` and :func:`twonn_from_knn`, which may get distances from elsewhere,
  treat a point whose non-zero distances all lie within ``TIE_RTOL * r_k`` as such a tie.
  TwoNN on data where many points have their two nearest neighbours at one distance (a
  lattice) warns: its model assumes continuous data.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal, cast, overload

import numpy as np
import torch
from sklearn.base import BaseEstimator

__all__ = [
    'knn_distances',
    'lid_mle',
    'lid_mle_from_knn',
    'lid_mle_mean',
    'lid_twonn',
    'twonn_from_knn',
    'layerwise_lid',
    'LIDMLE',
    'TwoNN',
]

Normalization = Literal['k', 'k-1']
Aggregate = Literal['mean', 'harmonic', 'median']

#: relative size (to the data radius) below which a distance counts as zero
DUPLICATE_RTOL = 1e-6
#: float32 search: a neighbour closer than this (relative to the radius) sends the layer to float64
FAST_RTOL = 0.1
#: float32 search: a point whose k neighbours all lie within this relative spread sends the layer
#: to float64 (near-ties: the estimate would hinge on float32 rounding)
FAST_SPREAD_RTOL = 1e-2
#: precomputed distances: a point whose non-zero distances all lie within TIE_RTOL * r_k is tied
TIE_RTOL = 1e-6
#: TwoNN warns when at least this share of points have tied first and second neighbours
TWONN_TIE_WARN = 0.05
#: elements of one (layers x rows x n) distance block; bounds memory to ~128 MiB in float64
_BLOCK_ELEMS = 2**24


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------
def _to_tensor(X: np.ndarray | torch.Tensor, name: str = 'X', keep_float32: bool = False) -> tuple[torch.Tensor, bool]:
    """Tensor view of ``X`` (float64, or float32 if it is float32 and ``keep_float32``) and
    whether ``X`` was NumPy (or another array-like)."""
    if isinstance(X, torch.Tensor):
        X = X.detach()
        return (X if keep_float32 and X.dtype == torch.float32 else X.to(torch.float64)), False
    arr = np.asarray(X)
    if arr.dtype == object:
        raise ValueError(f'{name} must be a numeric array, got dtype object')
    dtype = np.float32 if keep_float32 and arr.dtype == np.float32 else np.float64
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=dtype)), True


def _points(X: np.ndarray | torch.Tensor, name: str = 'X') -> tuple[torch.Tensor, bool]:
    """Checked point cloud(s) for a neighbour search, float32 kept (see Precision above)."""
    T, numpy = _to_tensor(X, name, keep_float32=True)
    _check_points(T, name)
    return T, numpy


def _owned(T: torch.Tensor, X: np.ndarray | torch.Tensor) -> bool:
    """True when ``_to_tensor`` made ``T`` a private copy of ``X`` (so it may be changed in place)."""
    ptr = X.data_ptr() if isinstance(X, torch.Tensor) else np.asarray(X).__array_interface__['data'][0]
    return T.data_ptr() != ptr


def _out(t: torch.Tensor, numpy: bool) -> np.ndarray | torch.Tensor:
    return t.cpu().numpy() if numpy else t


def _check_points(X: torch.Tensor, name: str = 'X') -> None:
    if X.ndim not in (2, 3):
        raise ValueError(
            f'{name} must be (n_samples, n_features) or (n_layers, n_samples, n_features); got shape {tuple(X.shape)}'
        )
    if X.shape[-2] < 2 or X.shape[-1] < 1:
        raise ValueError(f'{name} needs at least 2 samples and 1 feature; got shape {tuple(X.shape)}')
    # one cheap pass: NaN/inf make the sum non-finite; the exact test only runs when it is
    # (a finite float32 sum can still overflow)
    if not torch.isfinite(X.sum()) and not torch.isfinite(X).all():
        raise ValueError(f'{name} contains NaN or inf values')


def _check_k(k: int, n: int, name: str = 'k') -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f'{name} must be an integer, got {k!r}')
    k = int(k)
    if k < 2:
        raise ValueError(f'{name}={k}: the MLE needs at least 2 neighbours')
    if k >= n:
        raise ValueError(
            f'{name}={k} must be smaller than the number of samples n={n} '
            f'(a point has only n-1 neighbours in the batch)'
        )
    return k


# ---------------------------------------------------------------------------------------------
# neighbours
# ---------------------------------------------------------------------------------------------
def knn_distances(X: np.ndarray | torch.Tensor, k: int) -> np.ndarray | torch.Tensor:
    """Sorted distances of each sample to its ``k`` nearest neighbours in the batch.

    ``X`` is ``(n, d)`` or ``(L, n, d)``; returns ``(n, k)`` or ``(L, n, k)`` in float64, self
    excluded, ascending. Distances that are rounding noise (below ``DUPLICATE_RTOL`` times the
    layer's radius) are set to exactly 0, so duplicates are recognisable downstream. Rows are
    processed in blocks to bound memory.
    """
    T, numpy = _points(X)
    n = T.shape[-2]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) < n:
        raise ValueError(f'k={k!r} must be an integer in 1..n-1 = 1..{n - 1}')
    return _out(_knn(T, int(k), owned=_owned(T, X)), numpy)


def _knn(T: torch.Tensor, k: int, owned: bool = False) -> torch.Tensor:
    """Sorted float64 neighbour distances ``(L, n, k)`` (or ``(n, k)``) of ``T``.

    float32 ``T`` is searched in float32, and every layer with a neighbour closer than
    ``FAST_RTOL`` radius is searched again in float64 (module docstring). ``owned``: ``T`` is a
    private copy that may be centred in place (saves one copy of a feature map, which is what
    dominates LID's memory at paper scale).
    """
    squeeze = T.ndim == 2
    if squeeze:
        T = T.unsqueeze(0)
    if T.dtype != torch.float32:
        T = T.to(torch.float64)
        T = T.sub_(T.mean(dim=1, keepdim=True)) if owned else T - T.mean(dim=1, keepdim=True)
        out = _knn_centred(T, k, DUPLICATE_RTOL)
    else:
        C = T - T.mean(dim=1, keepdim=True)  # T itself is kept for an exact second pass
        sq = torch.linalg.vector_norm(C, dim=2).square_()
        out = _knn_centred(C, k, None, sq)
        radius = sq.amax(dim=1).to(torch.float64).sqrt()
        del C, sq
        # float32 rounding is a fixed fraction of the radius: trust it only for far neighbours,
        # and only where the neighbours' spread is far above that rounding (else ties decide)
        near = (out[:, :, 0] < FAST_RTOL * radius[:, None]).any(dim=1)
        tied = (out[:, :, -1] - out[:, :, 0] <= FAST_SPREAD_RTOL * out[:, :, -1]).any(dim=1)
        redo = (near | tied).nonzero().flatten()
        for i in redo.tolist():
            # exactly what float64 input would give
            Ti = T[i : i + 1].to(torch.float64)
            out[i] = _knn_centred(Ti.sub_(Ti.mean(dim=1, keepdim=True)), k, DUPLICATE_RTOL)[0]
    return out[0] if squeeze else out


def _knn_centred(T: torch.Tensor, k: int, rtol: float | None, sq: torch.Tensor | None = None) -> torch.Tensor:
    """Neighbour distances of centred ``(L, n, d)`` data in its own dtype, returned as float64.

    Distances below ``rtol`` times the layer radius are snapped to 0 (``None``: no snapping).
    ``sq``: the rows' squared norms ``(L, n)``, if already known.
    """
    L, n, _ = T.shape
    if sq is None:
        sq = torch.linalg.vector_norm(T, dim=2).square_()
    rows = max(1, _BLOCK_ELEMS // max(1, L * n))
    out = torch.empty(L, n, k, dtype=torch.float64, device=T.device)
    for s in range(0, n, rows):
        e = min(n, s + rows)
        # squared distances from the Gram matrix: only (rows x n) extra memory per layer, unlike
        # cdist, which copies the whole feature map with norms appended
        G = torch.baddbmm(sq[:, s:e, None] + sq[:, None, :], T[:, s:e], T.transpose(1, 2), alpha=-2.0)
        G.clamp_(min=0.0)
        idx = torch.arange(s, e, device=T.device)
        G[:, idx - s, idx] = math.inf  # exclude self (a duplicate may tie with it at 0)
        # squaring is monotone: select on squared distances, take roots of the k kept only
        out[:, s:e] = torch.topk(G, k, dim=2, largest=False, sorted=True).values.to(torch.float64).sqrt_()
    if rtol is not None:
        tol = (rtol * sq.amax(dim=1).to(torch.float64).sqrt()).view(L, 1, 1)
        out = torch.where(out <= tol, torch.zeros_like(out), out)
        out = _snap_ties(out, tol.view(L, 1))
    return out


def _snap_ties(out: torch.Tensor, tol: torch.Tensor) -> torch.Tensor:
    """Rows of sorted distances ``(L, n, k)`` whose positive distances all lie within ``tol``
    ``(L, 1)`` of each other are made exactly equal (to their largest), in place: those
    neighbours sit at one distance up to rounding. Zeros (duplicates) are left alone, and rows
    with a real spread are not touched, so continuous data gives bit-identical estimates."""
    rk = out[..., -1]
    first = torch.where(out > 0, out, torch.full_like(out, math.inf)).amin(dim=-1)
    same = (rk - first <= tol) & (rk > 0)
    out.copy_(torch.where(same.unsqueeze(-1) & (out > 0), rk.unsqueeze(-1), out))
    return out


# ---------------------------------------------------------------------------------------------
# Levina-Bickel MLE
# ---------------------------------------------------------------------------------------------
@overload
def lid_mle_from_knn(dists: torch.Tensor, normalization: Normalization = 'k') -> torch.Tensor: ...
@overload
def lid_mle_from_knn(dists: np.ndarray, normalization: Normalization = 'k') -> np.ndarray: ...
def lid_mle_from_knn(dists: np.ndarray | torch.Tensor, normalization: Normalization = 'k') -> np.ndarray | torch.Tensor:
    """Pointwise MLE from precomputed sorted neighbour distances ``(..., n, k)``.

    Lets several estimators share one neighbour pass. With ``r_1 <= ... <= r_k`` the distances
    of a point's neighbours, the estimate is ``m / sum_j log(r_k / r_j)``, i.e.
    ``-1 / ((1/m) sum_j log(r_j / r_k))``, over the ``m`` neighbours at non-zero distance
    (``m = k`` without duplicates; the ``j = k`` term is 0 but counts in ``m``).

    ``normalization='k'`` (default) is that form, the one of Amsaleg et al. 2015 / Ma et al.
    2018 used in deep-learning LID work and in the NAS-LID code. ``'k-1'`` uses ``m - 1`` in
    the numerator: Levina & Bickel's 2005 estimator and scikit-dimension's ``MLE``; it is the
    ``'k'`` value times ``(k-1)/k``. A point with no informative neighbour (all at distance 0,
    or all at the same distance) gets 0.
    """
    if normalization not in ('k', 'k-1'):
        raise ValueError(f"normalization must be 'k' or 'k-1', got {normalization!r}")
    D, numpy = _to_tensor(dists, 'dists')
    if D.ndim < 1 or D.shape[-1] < 2:
        raise ValueError(f'dists must end in a neighbour axis of length >= 2; got {tuple(D.shape)}')
    if not torch.isfinite(D).all() or (D < 0).any():
        raise ValueError('dists must be finite and non-negative')
    if (D[..., 1:] < D[..., :-1]).any():
        raise ValueError('dists must be sorted ascending along the last (neighbour) axis')
    rk = D[..., -1:]
    valid = D > 0
    tiny = torch.finfo(D.dtype).tiny
    # zero distances would give log(0); they are duplicates and take no part in the sum.
    # neighbours all within TIE_RTOL of r_k sit at one distance up to rounding: their
    # log-ratios are exactly 0 (the rounding noise would give an estimate of ~1e15)
    first = torch.where(valid, D, torch.full_like(D, math.inf)).amin(dim=-1, keepdim=True)
    tied = rk - first <= TIE_RTOL * rk
    logs = torch.where(valid & ~tied, torch.log(rk.clamp_min(tiny)) - torch.log(D.clamp_min(tiny)), torch.zeros_like(D))
    S = logs.sum(dim=-1)
    m = valid.sum(dim=-1).to(D.dtype)
    num = m if normalization == 'k' else m - 1
    est = torch.where(S > 0, num / torch.where(S > 0, S, torch.ones_like(S)), torch.zeros_like(S))
    return _out(est, numpy)


def lid_mle(X: np.ndarray | torch.Tensor, k: int = 20, normalization: Normalization = 'k') -> np.ndarray | torch.Tensor:
    """Levina-Bickel maximum-likelihood LID of every sample from its ``k`` nearest neighbours.

    ``X`` is ``(n, d)`` -> ``(n,)``, or a batch of layers ``(L, n, d)`` -> ``(L, n)`` computed in
    one pass. Same kind as the input (NumPy or torch), float64. ``2 <= k < n`` else
    ``ValueError``. See :func:`lid_mle_from_knn` for the formula and the ``normalization``
    choice, and the module docstring for how duplicates keep it finite.
    """
    T, numpy = _points(X)
    k = _check_k(k, T.shape[-2])
    return _out(lid_mle_from_knn(_knn(T, k, owned=_owned(T, X)), normalization), numpy)


def _aggregate(pw: torch.Tensor, aggregate: Aggregate) -> torch.Tensor:
    """Reduce pointwise estimates along the last axis."""
    if aggregate == 'mean':
        return pw.mean(dim=-1)
    if aggregate == 'median':
        return pw.median(dim=-1).values
    if aggregate == 'harmonic':
        # a point-mass estimate (0) has infinite inverse; it would force the result to 0
        pos = pw > 0
        inv = torch.where(pos, 1.0 / torch.where(pos, pw, torch.ones_like(pw)), torch.zeros_like(pw))
        cnt = pos.sum(dim=-1)
        mean_inv = inv.sum(dim=-1) / cnt.clamp_min(1)
        return torch.where(
            cnt > 0, 1.0 / torch.where(cnt > 0, mean_inv, torch.ones_like(mean_inv)), torch.zeros_like(mean_inv)
        )
    raise ValueError(f"aggregate must be one of 'mean', 'harmonic', 'median'; got {aggregate!r}")


def lid_mle_mean(
    X: np.ndarray | torch.Tensor, k: int = 20, aggregate: Aggregate = 'mean', normalization: Normalization = 'k'
) -> float | np.ndarray | torch.Tensor:
    """Batch-level MLE estimate: a float for ``(n, d)``, one value per layer for ``(L, n, d)``.

    ``aggregate='mean'`` (default, NAS-LID's choice) averages the pointwise estimates.
    ``'harmonic'`` is MacKay & Ghahramani's correction, the inverse of the mean inverse
    estimate; with ``normalization='k-1'`` it is scikit-dimension's ``MLE`` default
    (``comb='mle'``). Points with estimate 0 (all neighbours duplicates) are left out of the
    harmonic mean. ``'median'`` is also offered.
    """
    T, numpy = _points(X)
    k = _check_k(k, T.shape[-2])
    agg = _aggregate(lid_mle_from_knn(_knn(T, k, owned=_owned(T, X)), normalization), aggregate)
    if agg.ndim == 0:
        return float(agg)
    return _out(agg, numpy)


# ---------------------------------------------------------------------------------------------
# TwoNN
# ---------------------------------------------------------------------------------------------
def twonn_from_knn(
    dists: np.ndarray | torch.Tensor, discard_fraction: float = 0.1, method: Literal['linear', 'mle'] = 'linear'
) -> float:
    """TwoNN estimate from precomputed first and second neighbour distances ``(n, >=2)``.

    Points with ``r1 == 0`` (a duplicate) give no ratio and are dropped; if every point is a
    duplicate the data is a point mass and the estimate is 0. Of the ``N`` remaining ratios
    ``mu = r2 / r1``, the ``int(N * (1 - discard_fraction))`` smallest are kept.

    ``method='linear'`` (Facco et al. 2017): slope of the least-squares line through the origin
    of ``-log(1 - i/N)`` against ``log mu_(i)``, ``i = 1..n_keep`` (``n_keep <= N - 1`` so the
    empirical CDF stays below 1). ``method='mle'``: ``log mu`` is exponential with rate ``d``
    (``mu`` is Pareto(1, d)); with the largest ratios censored at ``mu_(n_keep)`` the MLE is
    ``n_keep / (sum_{i<=n_keep} log mu_(i) + (N - n_keep) log mu_(n_keep))``, which is
    ``N / sum log mu`` when nothing is discarded. Returns NaN (with a warning) when fewer
    than 3 ratios remain or all kept ratios equal 1.
    """
    if method not in ('linear', 'mle'):
        raise ValueError(f"method must be 'linear' or 'mle', got {method!r}")
    if not 0.0 <= float(discard_fraction) < 1.0:
        raise ValueError(f'discard_fraction must be in [0, 1), got {discard_fraction}')
    D, _ = _to_tensor(dists, 'dists')
    if D.ndim != 2 or D.shape[1] < 2:
        raise ValueError(f'dists must be (n, >=2) sorted neighbour distances; got {tuple(D.shape)}')
    r = D[:, :2].cpu().numpy()
    if not np.isfinite(r).all() or (r < 0).any():
        raise ValueError('dists must be finite and non-negative')
    if (r[:, 1] < r[:, 0]).any():
        raise ValueError('dists must be sorted ascending along the neighbour axis (r2 >= r1)')
    keep = r[:, 0] > 0
    if not keep.any():
        return 0.0
    mu = np.sort(r[keep, 1] / r[keep, 0])
    mu[mu <= 1.0 + TIE_RTOL] = 1.0  # r2 == r1 up to rounding: a tie, log(mu) exactly 0
    N = mu.size
    n_tied = int((mu == 1.0).sum())
    if 0 < n_tied < N and n_tied >= TWONN_TIE_WARN * N:
        warnings.warn(
            f'TwoNN: {n_tied} of {N} points have their two nearest neighbours at the same '
            'distance (lattice or discrete data); TwoNN assumes continuous data, so the '
            'estimate is unreliable',
            RuntimeWarning,
            stacklevel=2,
        )
    if N < 3:
        warnings.warn(f'TwoNN: only {N} non-duplicate points; the estimate is undefined', RuntimeWarning, stacklevel=2)
        return float('nan')
    n_keep = max(2, min(int(N * (1.0 - float(discard_fraction))), N - 1))
    log_mu = np.log(mu[:n_keep])
    if method == 'mle':
        denom = log_mu.sum() + (N - n_keep) * log_mu[-1]
        if denom <= 0:
            warnings.warn('TwoNN: all distance ratios equal 1; the estimate is undefined', RuntimeWarning, stacklevel=2)
            return float('nan')
        return float(n_keep / denom)
    y = -np.log1p(-np.arange(1, n_keep + 1) / N)
    sxx = float(log_mu @ log_mu)
    if sxx <= 0:
        warnings.warn('TwoNN: all distance ratios equal 1; the estimate is undefined', RuntimeWarning, stacklevel=2)
        return float('nan')
    return float(log_mu @ y / sxx)


def lid_twonn(
    X: np.ndarray | torch.Tensor, discard_fraction: float = 0.1, method: Literal['linear', 'mle'] = 'linear'
) -> float | np.ndarray | torch.Tensor:
    """Global TwoNN intrinsic dimension (Facco et al. 2017) of a point cloud.

    ``(n, d)`` -> float; ``(L, n, d)`` -> one value per layer (NumPy or torch like the input).
    Finite with duplicates: see :func:`twonn_from_knn`.
    """
    T, numpy = _points(X)
    if T.shape[-2] < 3:
        raise ValueError(f'TwoNN needs at least 3 samples, got {T.shape[-2]}')
    d = _knn(T, 2)
    if d.ndim == 2:
        return twonn_from_knn(d, discard_fraction, method)
    vals = torch.tensor([twonn_from_knn(dl, discard_fraction, method) for dl in d], dtype=torch.float64)
    return _out(vals.to(T.device), numpy)


# ---------------------------------------------------------------------------------------------
# layer-wise profile
# ---------------------------------------------------------------------------------------------
def layerwise_lid(
    features: Sequence[np.ndarray | torch.Tensor], k: int = 20, estimator: Literal['mle', 'twonn'] = 'mle', **kwargs
) -> np.ndarray | torch.Tensor:
    """One ID estimate per layer: the LID profile NAS-LID compares across sub-networks.

    Each feature tensor ``(n, ...)`` is flattened per sample. ``estimator='mle'`` gives
    :func:`lid_mle_mean` (``k`` neighbours; ``aggregate``/``normalization`` pass through
    ``kwargs``); ``'twonn'`` gives :func:`lid_twonn` (``discard_fraction``/``method`` through
    ``kwargs``; ``k`` unused). Layers whose flattened shapes agree are stacked and estimated in
    one batched pass. Returns a float64 array of length ``len(features)``; a torch tensor
    (on CPU) if any input is a torch tensor, else NumPy.
    """
    if estimator not in ('mle', 'twonn'):
        raise ValueError(f"estimator must be 'mle' or 'twonn', got {estimator!r}")
    flat: list[torch.Tensor] = []
    any_torch = False
    for i, f in enumerate(features):
        any_torch |= isinstance(f, torch.Tensor)
        t, _ = _to_tensor(f, f'features[{i}]', keep_float32=True)
        if t.ndim < 2:
            raise ValueError(
                f'features[{i}] must be (n_samples, ...) with at least one feature axis; got shape {tuple(t.shape)}'
            )
        flat.append(t.reshape(t.shape[0], -1))
    out = torch.full((len(flat),), float('nan'), dtype=torch.float64)
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(flat):
        groups.setdefault((tuple(t.shape), t.device), []).append(i)
    for idx in groups.values():
        stack = torch.stack([flat[i] for i in idx]) if len(idx) > 1 else flat[idx[0]].unsqueeze(0)
        if estimator == 'mle':
            vals = lid_mle_mean(stack, k=k, **kwargs)
        else:
            vals = lid_twonn(stack, **kwargs)
        out[idx] = cast(torch.Tensor, vals).detach().cpu()  # a tensor in, a tensor out
    return out if any_torch else out.numpy()


# ---------------------------------------------------------------------------------------------
# scikit-learn style estimators
# ---------------------------------------------------------------------------------------------
class LIDMLE(BaseEstimator):
    """Levina-Bickel MLE as an estimator.

    ``fit(X)`` sets ``dimension_pw_`` (pointwise estimates, NumPy ``(n,)``), ``dimension_``
    (their ``aggregate``: see :func:`lid_mle_mean`) and ``n_neighbors_``. ``knn_dists``
    (sorted neighbour distances, e.g. from :func:`knn_distances`) skips the neighbour search.
    """

    def __init__(
        self, n_neighbors: int = 20, normalization: Normalization = 'k', aggregate: Aggregate = 'mean'
    ) -> None:
        self.n_neighbors = n_neighbors
        self.normalization = normalization
        self.aggregate = aggregate

    def fit(
        self, X: np.ndarray | torch.Tensor | None, y: None = None, knn_dists: np.ndarray | torch.Tensor | None = None
    ) -> LIDMLE:
        if knn_dists is None:
            T, _ = _points(X)  # type: ignore[arg-type]  # None is refused there: not a numeric array
            if T.ndim != 2:
                raise ValueError(f'LIDMLE.fit expects (n_samples, n_features); got {tuple(T.shape)}')
            k = _check_k(self.n_neighbors, T.shape[0], 'n_neighbors')
            D = _knn(T, k)
        else:
            D, _ = _to_tensor(knn_dists, 'knn_dists')
            if D.ndim != 2:
                raise ValueError(f'knn_dists must be (n_samples, k); got {tuple(D.shape)}')
            k = D.shape[1]
        pw = lid_mle_from_knn(D, self.normalization)
        self.n_neighbors_ = k
        self.dimension_pw_ = pw.cpu().numpy()
        self.dimension_ = float(_aggregate(pw, self.aggregate))
        return self

    def fit_transform(self, X: np.ndarray | torch.Tensor, y: None = None) -> np.ndarray:
        return self.fit(X).dimension_pw_


class TwoNN(BaseEstimator):
    """TwoNN global estimator: ``fit(X)`` sets ``dimension_`` and ``n_duplicates_`` (points left
    out because their nearest neighbour is at distance 0). See :func:`twonn_from_knn`."""

    def __init__(self, discard_fraction: float = 0.1, method: Literal['linear', 'mle'] = 'linear') -> None:
        self.discard_fraction = discard_fraction
        self.method = method

    def fit(self, X: np.ndarray | torch.Tensor, y: None = None) -> TwoNN:
        T, _ = _points(X)
        if T.ndim != 2 or T.shape[0] < 3:
            raise ValueError(f'TwoNN.fit expects (n_samples >= 3, n_features); got {tuple(T.shape)}')
        D = _knn(T, 2)
        self.n_duplicates_ = int((D[:, 0] == 0).sum())
        self.dimension_ = twonn_from_knn(D, self.discard_fraction, self.method)
        return self
