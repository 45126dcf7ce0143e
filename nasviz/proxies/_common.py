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


Snapshot = list


def snapshot(net: nn.Module) -> Snapshot:
    """Copies of every parameter and buffer of ``net``, restorable by :func:`restore` even after the
    network's dtype changed (far cheaper than ``load_state_dict`` on a network of many modules)."""
    snap = []
    for m in net.modules():
        for name, p in m._parameters.items():
            if p is not None:
                snap.append((m, 'p', name, p.detach().clone()))
        for name, b in m._buffers.items():
            if b is not None:
                snap.append((m, 'b', name, b.detach().clone()))
    return snap


def restore(snap: Snapshot) -> None:
    """Put back what :func:`snapshot` saved (values and dtypes); gradients are dropped."""
    with torch.no_grad():
        for m, kind, name, v in snap:
            if kind == 'p':
                p = m._parameters[name]
                p.grad = None
                if p.dtype == v.dtype and p.shape == v.shape:
                    p.copy_(v)
                else:
                    p.data = v.clone()
            else:
                b = m._buffers[name]
                if b is not None and b.dtype == v.dtype and b.shape == v.shape:
                    b.copy_(v)
                else:
                    m._buffers[name] = v.clone()
