"""What every relaxed search's network needs, in any space: DARTS' mixture weights and the count
of activation bytes one training step saves. The weighted supernets are the spaces' own
(:class:`nasviz.spaces.nb201_search.WeightedSupernet`,
:class:`nasviz.search.darts_network.WeightedDartsSupernet`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar('T')


def mixture_weights(alpha: torch.Tensor) -> torch.Tensor:
    """DARTS' mixture weights: softmax over the ops of each edge."""
    return torch.softmax(alpha, dim=-1)


def count_saved_bytes(fn: Callable[[], T]) -> tuple[T, int]:
    """Run ``fn()`` and count the bytes of tensors autograd saves for the backward pass (the
    activation memory of one training step, independent of the allocator). Returns
    ``(fn(), bytes)``; tensors saved twice (same storage) count once."""
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor):
        try:
            key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            seen[key] = t.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):  # pragma: no cover - exotic tensor kinds
            seen[(id(t), 0)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, int(sum(seen.values()))


__all__ = ['mixture_weights', 'count_saved_bytes']
