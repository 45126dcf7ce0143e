"""Helpers shared by the proxy families (not public)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

#: layers whose weights the saliency proxies score (Abdelfattah et al. 2021: conv and linear)
WEIGHTED = (nn.Conv2d, nn.Linear)


def weighted_layers(net: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    return [m for m in net.modules() if isinstance(m, WEIGHTED)]


def weights(net: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in weighted_layers(net)]


_RELUS = {
    torch.nn.functional.relu,
    torch.relu,
    torch.relu_,
    torch.Tensor.relu,
    torch.Tensor.relu_,
    torch.nn.functional.relu_,
}


class _ReluRecorder(torch.overrides.TorchFunctionMode):
    """Sees every ReLU a forward pass applies, as module (``nn.ReLU``) or as function (``F.relu``,
    ``torch.relu``, ``x.relu()``), and keeps ``(output > 0)`` per sample."""

    def __init__(self, codes: list) -> None:
        super().__init__()
        self.codes = codes

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in _RELUS and isinstance(out, torch.Tensor) and out.dim() >= 2:
            t = out.detach()
            self.codes.append(t.reshape(t.shape[0], -1) > 0)
        return out


@contextlib.contextmanager
def relu_codes(net: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collect, for every ReLU the forward pass runs (module or functional), the binary code
    ``(output > 0)`` per sample, flattened to ``(batch, units)``. ``net`` is unused (kept for
    symmetry with hook-based helpers): the recorder watches torch calls, so networks written with
    ``F.relu`` (NAS-Bench-101's) are covered as well as those built from ``nn.ReLU``."""
    codes: list[torch.Tensor] = []
    with _ReluRecorder(codes):
        yield codes


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
