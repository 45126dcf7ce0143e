"""Size proxies: parameter count and FLOPs. Neither looks at the data's content."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def params(net: nn.Module, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> float:
    """Trainable parameters of ``net`` (every module it holds, as NAS-Bench-201's ``params``
    counts them, dead edges included). Sign +: bigger networks rank higher."""
    return float(sum(p.numel() for p in net.parameters() if p.requires_grad))


def flops(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """FLOPs of one forward pass on ONE image of ``x``'s shape, counted by torch's own
    ``FlopCounterMode`` (matrix multiplies and convolutions, 2 FLOPs per multiply-add; pooling,
    BN and additions are not counted). Sign +."""
    was = net.training
    net.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(x[:1])
    finally:
        net.train(was)
    return float(counter.get_total_flops())
