"""The proxy registry and :func:`compute_proxies`: several proxies of one network on one batch.

A proxy is ``fn(net, x, y) -> float`` on a plain ``nn.Module`` in its freshly initialised state,
so any search space plugs in through its network builder. After the sign each proxy applies,
higher = better (``sign`` records whether the raw quantity was negated).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from nasviz.proxies import activations, counts, ntk, saliency
from nasviz.proxies._common import restore, snapshot
from nasviz.validate import short_repr


@dataclass(frozen=True)
class ProxySpec:
    """One proxy: its function, the sign applied to the raw quantity (+1 kept, -1 negated), the
    batch size its paper uses, whether it is on a log scale, and whether its value depends on
    the input images at all (a data-free proxy is computed for degenerate cells too)."""

    name: str
    fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], float]
    sign: int
    batch_size: int
    log_scale: bool
    uses_input: bool
    reference: str


PROXIES: dict[str, ProxySpec] = {
    s.name: s
    for s in (
        ProxySpec('params', counts.params, +1, 1, False, False, 'parameter count'),
        ProxySpec('flops', counts.flops, +1, 1, False, False, 'torch FlopCounterMode, one image'),
        ProxySpec('synflow', saliency.synflow, +1, 1, True, False, 'Tanaka et al. 2020'),
        ProxySpec('snip', saliency.snip, +1, 64, False, True, 'Lee et al. 2019'),
        ProxySpec('grasp', saliency.grasp, +1, 64, False, True, 'Wang et al. 2020'),
        ProxySpec('fisher', saliency.fisher, +1, 64, False, True, 'Turner et al. 2020'),
        ProxySpec('grad_norm', saliency.grad_norm, +1, 64, False, True, 'Abdelfattah et al. 2021'),
        ProxySpec('jacob_cov', activations.jacob_cov, +1, 128, False, True, 'Mellor et al. 2020 (v1)'),
        ProxySpec('naswot', activations.naswot, +1, 128, True, True, 'Mellor et al. 2021'),
        ProxySpec('zen', activations.zen, +1, 64, True, True, 'Lin et al. 2021'),
        ProxySpec('ntk_cond', ntk.ntk_cond, -1, 32, True, True, 'Chen et al. 2021 (TE-NAS)'),
        ProxySpec(
            'linear_regions',
            activations.linear_regions,
            +1,
            4,
            False,
            True,
            'regions along 2 short input segments, 64 points each',
        ),
    )
}
from nasviz.proxies import PROXY_NAMES  # noqa: E402  (the torch-free list of names)

if tuple(PROXIES) != PROXY_NAMES:
    raise ImportError('nasviz.proxies.PROXY_NAMES and the registry disagree')


def check_proxies(names: Iterable[str] | str) -> tuple[str, ...]:
    """The names as a tuple, each known, none repeated; ``ValueError`` listing the valid ones."""
    if isinstance(names, str):
        names = [names]
    names = tuple(names)
    if not names:
        raise ValueError(f'no proxy given; valid: {", ".join(PROXY_NAMES)}')
    for n in names:
        if n not in PROXIES:
            raise ValueError(f'unknown proxy {short_repr(n)}; valid: {", ".join(PROXY_NAMES)}')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'proxy {dup} given more than once')
    return names


def batch_size_needed(names: Sequence[str]) -> int:
    return max(PROXIES[n].batch_size for n in check_proxies(names))


def compute_proxies(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, names: Sequence[str], batch_sizes: Mapping[str, int] | None = None
) -> dict[str, float]:
    """Each proxy in ``names`` of ``net`` on the first ``batch_size`` images of ``(x, y)``.

    ``net`` must be in its freshly initialised state; it is restored to that state before every
    proxy (a proxy may change weights or BN statistics), and is left in it. Proxies that read the
    same pass share it when asked for together with the same batch size: NASWOT and jacob_cov one
    forward (with the input Jacobian's backward), snip and grad_norm one loss backward; the values
    are those computed apart.
    """
    names = check_proxies(names)
    sizes = {n: int((batch_sizes or {}).get(n, PROXIES[n].batch_size)) for n in names}
    need = max(sizes.values())
    if x.shape[0] < need:
        raise ValueError(f'the batch holds {x.shape[0]} images; proxies {list(names)} need {need}')
    init = snapshot(net)
    was = net.training
    out: dict[str, float] = {}
    todo = list(names)
    try:
        net.train()
        if 'naswot' in todo and 'jacob_cov' in todo and sizes['naswot'] == sizes['jacob_cov']:
            b = sizes['naswot']
            out['naswot'], out['jacob_cov'] = activations.naswot_and_jacob_cov(net, x[:b])
            restore(init)
            todo = [n for n in todo if n not in ('naswot', 'jacob_cov')]
        if 'snip' in todo and 'grad_norm' in todo and sizes['snip'] == sizes['grad_norm']:
            b = sizes['snip']
            net.train()
            out['snip'], out['grad_norm'] = saliency.snip_and_grad_norm(net, x[:b], y[:b])
            restore(init)
            todo = [n for n in todo if n not in ('snip', 'grad_norm')]
        for n in todo:
            b = sizes[n]
            out[n] = float(PROXIES[n].fn(net, x[:b], y[:b]))
            restore(init)
            net.train()
    finally:
        net.train(was)
    return {n: out[n] for n in names}
