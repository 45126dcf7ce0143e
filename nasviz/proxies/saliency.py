"""Gradient-saliency proxies (as benchmarked by Abdelfattah et al. 2021, "Zero-Cost Proxies for
Lightweight NAS"): synflow, snip, grasp, fisher, grad_norm. Scores sum over the weights of
convolution and linear layers. Each function takes a freshly initialised network and a batch;
higher = better after the sign it applies."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from torch import nn

from nasviz.proxies._common import cross_entropy, restore, snapshot, weighted_layers, weights


def synflow(net: nn.Module, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> float:
    """SynFlow (Tanaka et al. 2020): with every parameter replaced by its absolute value, BN
    bypassed (identity) and an all-ones input of ``x``'s image shape, in float64,
    ``R = sum(net(1))`` and the score is ``sum |theta * dR/dtheta|``. Returned as ``log`` (the
    values span tens of decades). Data-independent by construction. Sign +. The network is
    changed in place and restored before returning (cheaper than a deep copy of the module)."""
    state = snapshot(net)
    bypass = [
        m.register_forward_hook(lambda _m, i, _o: i[0])
        for m in net.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    try:
        net.double()
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        shape = (1,) + tuple(x.shape[1:]) if x is not None else (1, 3, 32, 32)
        ones = torch.ones(shape, dtype=torch.float64)
        net.zero_grad(set_to_none=True)
        net(ones).sum().backward()
        total = 0.0
        for w in weights(net):
            if w.grad is not None:
                total += float((w.detach() * w.grad).abs().sum())
    finally:
        for h in bypass:
            h.remove()
        restore(state)
    return float(np.log(total)) if total > 0 else float('-inf')


def _grads(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor | None]:
    W = weights(net)
    net.zero_grad(set_to_none=True)
    cross_entropy(net, x, y).backward()
    return [w.grad for w in W]


def snip(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """SNIP (Lee et al. 2019) summed over weights: ``sum |theta * dL/dtheta|`` of the
    cross-entropy loss on the batch. Sign +."""
    W = weights(net)
    G = _grads(net, x, y)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(W, G) if g is not None))


def grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum over conv/linear layers of the L2 norm of the loss gradient of their weights. Sign +."""
    return float(sum(g.norm() for g in _grads(net, x, y) if g is not None))


def snip_and_grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Both scores from ONE forward and backward of the loss (they read the same gradient; the
    values equal :func:`snip` and :func:`grad_norm` computed apart)."""
    W = weights(net)
    G = _grads(net, x, y)
    s = float(sum((w.detach() * g).abs().sum() for w, g in zip(W, G) if g is not None))
    return s, float(sum(g.norm() for g in G if g is not None))


def grasp(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """GraSP (Wang et al. 2020) summed over weights: ``sum(-theta * H g)`` with ``g`` the loss
    gradient and ``H`` the Hessian, by one double backward (the gradient is taken with its graph,
    then ``g . stop_grad(g)`` is differentiated again). Sign + (as reported by Abdelfattah et al.)."""
    W = weights(net)
    loss = cross_entropy(net, x, y)
    G = torch.autograd.grad(loss, W, create_graph=True, allow_unused=True)
    pairs = [(w, g) for w, g in zip(W, G) if g is not None]
    z = cast(torch.Tensor, sum((g * g.detach()).sum() for _, g in pairs))
    Hg = torch.autograd.grad(z, [w for w, _ in pairs], allow_unused=True)
    return float(sum((-w.detach() * h).sum() for (w, _), h in zip(pairs, Hg) if h is not None))


def fisher(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fisher information of the channels (Theis et al. 2018; Turner et al. 2020): for the output
    ``a`` of each conv/linear layer and its loss gradient ``g``, ``0.5 * mean_batch(sum_space(a * g))^2``
    per channel, summed over channels and layers. Sign +."""
    acts: list[torch.Tensor] = []

    def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        if out.requires_grad:
            out.retain_grad()
            acts.append(out)

    handles = [m.register_forward_hook(hook) for m in weighted_layers(net)]
    try:
        net.zero_grad(set_to_none=True)
        cross_entropy(net, x, y).backward()
    finally:
        for h in handles:
            h.remove()
    total = 0.0
    for a in acts:
        if a.grad is None:
            continue
        prod = a.detach() * a.grad
        per = prod.flatten(2).sum(-1) if prod.dim() == 4 else prod
        total += float((0.5 * per.pow(2).mean(0)).sum())
    return total
