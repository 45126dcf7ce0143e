"""The DARTS baseline (Liu et al. 2019, first-order) on NB201 and the DARTS cell space: every
candidate edge computes the softmax mixture of all its ops (``alpha`` per edge), weights and
``alpha`` alternate (SGD on training batches, Adam on held-out batches), and the returned cell is
DARTS' derivation: NB201 the largest ``alpha`` per edge; the DARTS space, per node, the 2 incoming
edges of strongest op weight, each with that op (the space has no ``none`` op to leave out).
Unlike ISTA-NAS, the network trained is the dense mixture, not the cell returned."""

from __future__ import annotations

import time

import torch
from torch import nn

from nasviz.search.base import SearchConfig, SearchResult
from nasviz.search.bilevel import alternate
from nasviz.search.groups import search_groups
from nasviz.search.network import mixture_weights
from nasviz.spaces.base import Architecture


class Alpha(nn.Module):
    """DARTS' architecture parameters of ``shape`` (default NAS-Bench-201's ``(6, 5)``; the DARTS
    space: ``(2, 14, 7)``), initialised at ``1e-3 * N(0, 1)`` (seeded); ``forward()`` is the
    softmax over the last axis (the ops of each edge)."""

    def __init__(self, seed: int = 0, shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        shape = tuple(shape) if shape is not None else search_groups('nb201').alpha_shape
        g = torch.Generator().manual_seed(int(seed) + 7)
        self.alpha = nn.Parameter(1e-3 * torch.randn(*shape, generator=g))

    def forward(self) -> torch.Tensor:
        return mixture_weights(self.alpha)


def argmax_cell(weights: torch.Tensor, space: str = 'nb201') -> Architecture:
    """The discretised cell of ``space`` (NB201: per edge the op of largest weight)."""
    return search_groups(space).derive(weights)


def darts_search(cfg: SearchConfig, data, progress: bool = True, checkpoint_dir=None) -> SearchResult:
    """DARTS (first order) on ``cfg.space``; history ``weights`` = softmax(alpha) per epoch."""
    groups = search_groups(cfg.space)
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    model = groups.weighted_supernet(cfg.C, cfg.N, data.num_classes, data.in_channels)
    alpha = Alpha(cfg.seed, groups.alpha_shape)

    def on_epoch(epoch: int) -> dict:
        with torch.no_grad():
            return dict(weights=alpha().tolist())

    hist, step = alternate(
        model,
        alpha,
        alpha,
        groups.derive,
        'mixture',
        data,
        cfg,
        on_epoch=on_epoch,
        progress=progress,
        desc='DARTS search',
        checkpoint_dir=checkpoint_dir,
    )
    return SearchResult('darts', hist['arch'].iloc[-1], cfg, time.perf_counter() - t0, hist, step=step)


__all__ = ['darts_search', 'argmax_cell', 'Alpha']
