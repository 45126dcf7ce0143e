"""Proxies read from activations and input Jacobians: NASWOT, jacob_cov, Zen-score, linear regions.

Each function takes a network in its freshly (seeded) initialised state and a batch; it may
change the network's weights or BN statistics (the caller restores them). Every value is
"higher = better" after the sign the function applies.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasviz.proxies._common import relu_codes, restore, snapshot


def hamming_kernel(codes: list[torch.Tensor]) -> np.ndarray:
    """NASWOT's kernel ``K[i, j] = N_A - d_H(c_i, c_j)``: for each pair of inputs, the number of
    ReLU units (over all layers) on which the two binary codes agree. Computed as
    ``2 C C^T - s_i - s_j + N_A`` (``s``: ones per input), one matrix product per distinct layer
    code: a ReLU applied to the same tensor by several consumers (an NB201 or DARTS node feeding
    several convolution edges) gives identical codes, whose product is computed once and counted
    as often as it occurs (exact: the codes are compared in full, after a cheap fingerprint)."""
    if not codes:
        raise ValueError('hamming_kernel: no ReLU codes (the network ran no nn.ReLU)')
    b = codes[0].shape[0]
    both = torch.zeros(b, b, dtype=torch.float64)
    ones = torch.zeros(b, dtype=torch.float64)
    n_units = 0
    seen: dict[tuple, list[list]] = {}  # fingerprint -> [[code, multiplicity], ...]
    for c in codes:
        key = (tuple(c.shape), c[:, ::61].contiguous().numpy().tobytes())  # a sample of units
        for entry in seen.setdefault(key, []):
            if torch.equal(entry[0], c):
                entry[1] += 1
                break
        else:
            seen[key].append([c, 1])
    for group in seen.values():
        for c, mult in group:
            both += mult * agreement_counts(c).to(torch.float64)
            ones += mult * c.sum(1, dtype=torch.float64)
            n_units += mult * c.shape[1]
    K = 2 * both - ones[:, None] - ones[None, :] + n_units
    return K.numpy()


def agreement_counts(c: torch.Tensor) -> torch.Tensor:
    """``C C^T`` of a boolean code matrix ``C`` (batch x units): for each pair of inputs, the units
    active in both. An int8 product with int32 accumulation (exact, and about three times faster on
    CPU than float32), falling back to float32 (exact below 2**24 units) where the int8 kernel is
    unavailable for the shape or the build."""
    c8 = c.to(torch.int8)
    try:
        return torch._int_mm(c8, c8.T.contiguous())
    except (RuntimeError, AttributeError):
        f = c.to(torch.float32)
        return f @ f.T


def naswot_from_codes(codes: list[torch.Tensor]) -> float:
    """``log |K|`` of :func:`hamming_kernel` (Mellor et al. 2021). ``-inf`` when ``K`` is
    singular (e.g. two inputs with identical codes everywhere)."""
    sign, logdet = np.linalg.slogdet(hamming_kernel(codes))
    return float(logdet) if sign > 0 else float('-inf')


def naswot(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """NASWOT (Mellor et al. 2021, "Neural Architecture Search without Training"): log-determinant
    of the Hamming kernel of the ReLU activation codes of a batch (paper: 128 images). One forward
    pass in inference mode, BN in training mode (batch statistics). Sign +: a network that
    separates the inputs better scores higher."""
    with torch.inference_mode(), relu_codes(net) as codes:
        net(x)
    return naswot_from_codes(codes)


def jacob_cov_from_jacobian(J: torch.Tensor, k: float = 1e-5) -> float:
    """Mellor et al. (2020, v1) score of an input-Jacobian matrix ``J`` (batch x input size):
    ``-sum(log(v + k) + 1 / (v + k))`` over the eigenvalues ``v`` of the correlation matrix of the
    rows. Sign +: less correlated per-input Jacobians score higher."""
    j = J.detach().reshape(J.shape[0], -1).to(torch.float64).numpy()
    corr = np.corrcoef(j)
    if not np.isfinite(corr).all():
        return float('nan')
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def jacob_cov(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> float:
    """jacob_cov (Mellor et al. 2020, as benchmarked by Abdelfattah et al. 2021): correlation of the
    input Jacobians (gradient of the summed logits w.r.t. each image). Sign +."""
    return naswot_and_jacob_cov(net, x)[1]


def naswot_and_jacob_cov(net: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Both scores from ONE forward pass (the ReLU codes are recorded on the way to the Jacobian).
    The weights are frozen for the pass, so the backward computes the input gradient only (the
    same values, bitwise, as with weight gradients; about 1.2x faster on CPU)."""
    xg = x.detach().clone().requires_grad_(True)
    trainable = [p for p in net.parameters() if p.requires_grad]
    try:
        for p in trainable:
            p.requires_grad_(False)
        with relu_codes(net) as codes:
            out = net(xg)
        out.backward(torch.ones_like(out))
    finally:
        for p in trainable:
            p.requires_grad_(True)
    assert xg.grad is not None  # xg requires grad and the output depends on it
    return naswot_from_codes(codes), jacob_cov_from_jacobian(xg.grad)


def _last_feature_map(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The last 4-D tensor a leaf module produces in ``net(x)`` (the feature map before global
    pooling in a classifier network)."""
    last: list[torch.Tensor] = []

    def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        if isinstance(out, torch.Tensor) and out.dim() == 4:
            last[:] = [out]

    leaves = [m for m in net.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    if not last:
        raise ValueError('zen: the network produced no 4-D feature map')
    return last[0]


def zen(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    alpha: float = 0.01,
    repeats: int = 1,
    generator: torch.Generator | None = None,
) -> float:
    """Zen-score (Lin et al. 2021, Zen-NAS): with Gaussian weights and Gaussian inputs of ``x``'s
    shape, ``log E||f(z) - f(z + alpha * e)||_1`` of the pre-pooling feature map ``f``, plus the
    sum over BN layers of ``log sqrt(mean channel variance)`` of the batch each BN normalises.
    Uses ``x`` only for its shape (the score is data-free by design). Sign +. The weights are
    restored before returning."""
    state = snapshot(net)
    was = net.training
    g = generator or torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    net.train()
    bn_vars: list[float] = []

    def bn_hook(_m: nn.Module, inp: tuple, _o: torch.Tensor) -> None:
        t = inp[0]
        bn_vars.append(float(t.transpose(0, 1).reshape(t.shape[1], -1).var(dim=1, unbiased=False).mean()))

    scores = []
    handles = [
        m.register_forward_hook(bn_hook) for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    try:
        with torch.inference_mode():
            for _ in range(repeats):
                z = torch.randn(x.shape, generator=g)
                e = torch.randn(x.shape, generator=g)
                bn_vars.clear()
                f2 = _last_feature_map(net, z + alpha * e)
                bn_vars.clear()  # BN scales are read on the unperturbed pass
                f1 = _last_feature_map(net, z)
                delta = (f1 - f2).abs().flatten(1).sum(1).mean().item()
                bn = sum(0.5 * np.log(v) for v in bn_vars if v > 0)
                scores.append(np.log(delta) + bn if delta > 0 else float('-inf'))
    finally:
        for h in handles:
            h.remove()
        restore(state)  # the Gaussian re-initialisation is undone
        net.train(was)
    return float(np.mean(scores))


def linear_regions(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    n_points: int = 64,
    n_lines: int = 2,
    span: float = 0.001,
) -> float:
    """Linear regions crossed along short straight lines in input space: for ``n_lines`` pairs of
    images ``(a, b)`` of ``x``, ``n_points`` evenly spaced inputs on the segment from ``a`` to
    ``a + span * (b - a)``; a new region starts wherever the ReLU activation pattern changes (over
    the whole segment from a to b, patterns change at nearly every one of 64 steps: the count
    saturates, hence the short ``span``). BN in evaluation mode, so the network is one
    fixed piecewise-linear function. Mean count over the lines, at most ``n_points``. Sign +
    (more regions = more expressive; TE-NAS, Chen et al. 2021, counts distinct patterns over
    random inputs instead: ours is the 1-D count along segments, which does not saturate at the
    batch size as quickly)."""
    if x.shape[0] < 2 * n_lines:
        raise ValueError(f'linear_regions needs at least {2 * n_lines} images, got {x.shape[0]}')
    t = torch.linspace(0, span, n_points).view(-1, 1, 1, 1)
    was = net.training
    net.eval()
    counts = []
    try:
        for i in range(n_lines):
            a, b = x[2 * i], x[2 * i + 1]
            pts = a.unsqueeze(0) * (1 - t) + b.unsqueeze(0) * t
            with torch.inference_mode(), relu_codes(net) as codes:
                net(pts)
            pattern = torch.cat([c.reshape(n_points, -1) for c in codes], dim=1)
            changes = (pattern[1:] != pattern[:-1]).any(dim=1).sum().item()
            counts.append(1 + changes)
    finally:
        net.train(was)
    return float(np.mean(counts))
