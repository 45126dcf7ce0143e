"""The DARTS baseline on NB201 (Liu et al. 2019, first-order): every edge computes the softmax
mixture of all its ops (``alpha`` per edge), weights and ``alpha`` alternate (SGD on training
batches, Adam on held-out batches), and the returned cell takes the largest ``alpha`` per edge.
Unlike ISTA-NAS, the network trained is the dense mixture, not the cell returned."""
from __future__ import annotations

import time

import torch
from torch import nn

from nasviz.search.base import SearchConfig, SearchResult
from nasviz.search.bilevel import alternate
from nasviz.search.network import WeightedSupernet, mixture_weights
from nasviz.spaces.nb201 import NUM_EDGES, OPS, Arch


class Alpha(nn.Module):
    """DARTS' architecture parameters, ``(6, 5)``, initialised at ``1e-3 * N(0, 1)`` (seeded)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(int(seed) + 7)
        self.alpha = nn.Parameter(1e-3 * torch.randn(NUM_EDGES, len(OPS), generator=g))

    def forward(self) -> torch.Tensor:
        return mixture_weights(self.alpha)


def argmax_cell(weights: torch.Tensor) -> Arch:
    """The discretised DARTS cell: per edge the op of largest weight."""
    return Arch(tuple(int(i) for i in weights.argmax(1).tolist()))


def darts_search(cfg: SearchConfig, data, progress: bool = True, checkpoint_dir=None) -> SearchResult:
    """DARTS (first order) on NB201; history ``weights`` = softmax(alpha) per epoch."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    model = WeightedSupernet(cfg.C, cfg.N, data.num_classes, data.in_channels)
    alpha = Alpha(cfg.seed)

    def on_epoch(epoch: int) -> dict:
        with torch.no_grad():
            return dict(weights=alpha().tolist())

    hist, step = alternate(model, alpha, alpha, argmax_cell, 'mixture', data, cfg, on_epoch=on_epoch,
                           progress=progress, desc='DARTS search', checkpoint_dir=checkpoint_dir)
    return SearchResult('darts', hist['arch'].iloc[-1], cfg, time.perf_counter() - t0, hist, step=step)


__all__ = ['darts_search', 'argmax_cell', 'Alpha']
