"""The neural tangent kernel's condition number (TE-NAS, Chen et al. 2021)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasviz.proxies._common import weights


def ntk_matrix(net: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Empirical NTK ``J J^T`` on the batch, ``J[i]`` = gradient of the sum of sample ``i``'s logits
    w.r.t. every conv/linear weight (one forward of the whole batch, BN in training mode, then one
    backward per sample)."""
    W = [w for w in weights(net) if w.requires_grad]
    out = net(x)
    rows = []
    for i in range(out.shape[0]):
        g = torch.autograd.grad(out[i].sum(), W, retain_graph=i < out.shape[0] - 1, allow_unused=True)
        rows.append(torch.cat([(gi if gi is not None else torch.zeros_like(w)).reshape(-1) for gi, w in zip(g, W)]))
    J = torch.stack(rows).to(torch.float64)
    return (J @ J.T).numpy()


def ntk_cond(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """``-log(lambda_max / lambda_min)`` of :func:`ntk_matrix` (TE-NAS: a small condition number
    trains well; log because it spans decades). Sign -: the raw condition number is negated, so
    higher = better. ``-inf`` when the kernel is singular."""
    v = np.linalg.eigvalsh(ntk_matrix(net, x))
    if v[0] <= 0:
        return float('-inf')
    return float(-np.log(v[-1] / v[0]))
