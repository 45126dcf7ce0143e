"""Helpers shared by the proxy families (not public)."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

#: layers whose weights the saliency proxies score (Abdelfattah et al. 2021: conv and linear)
WEIGHTED = (nn.Conv2d, nn.Linear)


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, WEIGHTED)]


def weights(net: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in weighted_layers(net)]


@contextlib.contextmanager
def relu_codes(net: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collect, for every ``nn.ReLU`` the forward runs, the binary code ``(input > 0)`` per
    sample, flattened to ``(batch, units)``."""
    codes: list[torch.Tensor] = []

    def hook(_m: nn.Module, inp: tuple, _out: torch.Tensor) -> None:
        t = inp[0].detach()
        codes.append((t.reshape(t.shape[0], -1) > 0))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        yield codes
    finally:
        for h in handles:
            h.remove()


def cross_entropy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(net(x), y)
