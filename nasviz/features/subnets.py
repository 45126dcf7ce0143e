"""Feature vectors of many subnets of one supernet (for embeddings and cluster quality): their
layer-wise LID profiles and their gradients, on one seeded batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

from nasviz.data import ImageData
from nasviz.features.config import BN_MODES, ESTIMATORS
from nasviz.features.probe import (
    check_probe_data,
    effective_batch_size,
    grad_parameters,
    lid_profile,
    model_mode,
    model_space,
    move_to_device,
    path_gradient_into,
    progress_bar,
    random_batches,
)
from nasviz.spaces import Architecture

__all__ = ['subnet_lid_vectors', 'subnet_grad_vectors']

#: rows of the seeded Gaussian projection generated at once (64 Ki x max_dim floats)
_PROJ_ROWS = 2**16


# ---------------------------------------------------------------------------------------------
# many subnets (embeddings)
# ---------------------------------------------------------------------------------------------
def _one_batch(data: ImageData, batch_size: int, seed: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return next(random_batches(data, batch_size, 1, seed, device))


def subnet_lid_vectors(
    model: nn.Module,
    data: ImageData,
    archs: Sequence[Architecture | str],
    n_neighbors: int = 20,
    batch_size: int = 256,
    seed: int = 0,
    *,
    estimator: Literal['mle', 'twonn'] = 'mle',
    bn: Literal['batch', 'running'] = 'batch',
    device: str | torch.device | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Layer-wise LID profile ``(n_archs, 3N + 2)`` of each subnet, all on one seeded batch.

    BN as in :class:`FeatureConfig` (``bn``); the model's state is left as it was.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f'unknown estimator {estimator!r}; valid estimators: {", ".join(ESTIMATORS)}')
    if bn not in BN_MODES:
        raise ValueError(f'unknown bn mode {bn!r}; valid modes: {", ".join(BN_MODES)}')
    check_probe_data(model, data)
    archs = [model_space(model).check(a, 'archs') for a in archs]
    dev = move_to_device(model, device)
    bs = effective_batch_size(data, batch_size, n_neighbors if estimator == 'mle' else None)
    xb, _ = _one_batch(data, bs, seed, dev)
    out = np.zeros((len(archs), len(model.block_names)))
    with model_mode(model, train=bn == 'batch'), progress_bar(len(archs), 'subnet LID', progress) as bar:
        for i, a in enumerate(archs):
            out[i] = lid_profile(model, xb, a, n_neighbors, estimator)
            bar.update()
    return out


def _projection_chunk(seed: int, chunk: int, rows: int, max_dim: int, device: torch.device) -> torch.Tensor:
    """Rows ``chunk * _PROJ_ROWS ...`` of the fixed Gaussian projection, regenerated on demand
    (the whole ``D x max_dim`` matrix would take gigabytes)."""
    g = torch.Generator().manual_seed(int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1)[0]))
    return (torch.randn(rows, max_dim, generator=g) / math.sqrt(max_dim)).to(device)


def _project(X: torch.Tensor, max_dim: int, seed: int) -> torch.Tensor:
    out = torch.zeros(X.shape[0], max_dim, dtype=torch.float32, device=X.device)
    for c, s in enumerate(range(0, X.shape[1], _PROJ_ROWS)):
        e = min(X.shape[1], s + _PROJ_ROWS)
        out += X[:, s:e] @ _projection_chunk(seed, c, e - s, max_dim, X.device)
    return out


def subnet_grad_vectors(
    model: nn.Module,
    data: ImageData,
    archs: Sequence[Architecture | str],
    batch_size: int = 256,
    seed: int = 0,
    max_dim: int | None = None,
    *,
    params: Literal['all', 'shared'] = 'all',
    device: str | torch.device | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Cross-entropy gradient of each subnet on one seeded batch, float32 ``(n_archs, D)``.

    ``params='all'``: every supernet weight (ops a subnet does not use get 0);
    ``'shared'``: only :meth:`NB201Supernet.shared_parameters` (stem, reductions, head), which
    every subnet uses. ``max_dim`` multiplies by a fixed Gaussian matrix ``D x max_dim``
    (entries N(0, 1/max_dim), seeded by ``seed``), which keeps inner products in expectation;
    gradients are then projected in blocks, so memory stays bounded for many subnets.
    """
    if params not in ('all', 'shared'):
        raise ValueError(f"params must be 'all' or 'shared', got {params!r}")
    if max_dim is not None and (isinstance(max_dim, bool) or int(max_dim) < 1):
        raise ValueError(f'max_dim must be a positive integer or None, got {max_dim!r}')
    check_probe_data(model, data)
    archs = [model_space(model).check(a, 'archs') for a in archs]
    dev = move_to_device(model, device)
    xb, yb = _one_batch(data, effective_batch_size(data, batch_size, None), seed, dev)
    plist = grad_parameters(model)[1] if params == 'all' else [p for p in model.shared_parameters() if p.requires_grad]
    D = sum(p.numel() for p in plist)
    width = D if max_dim is None else int(max_dim)
    out = np.zeros((len(archs), width), dtype=np.float32)
    # with a projection, gradients wait in a block buffer (<= 128 MiB) so that each chunk of the
    # projection is generated once per block rather than once per subnet
    block = 1 if max_dim is None else min(len(archs), 2**25 // max(D, 1))
    buf = torch.zeros(max(1, block), D, dtype=torch.float32, device=dev)
    with model_mode(model, train=True), progress_bar(len(archs), 'subnet gradients', progress) as bar:
        for s in range(0, len(archs), buf.shape[0]):
            part = archs[s : s + buf.shape[0]]
            for j, a in enumerate(part):
                path_gradient_into(model, plist, xb, yb, a, buf[j])
                bar.update()
            res = buf[: len(part)] if max_dim is None else _project(buf[: len(part)], width, seed)
            out[s : s + len(part)] = res.cpu().numpy()
    return out
