"""Cost of one search step, measured in this process: ISTA-NAS's sparse network, its dearest
support (NB201: every edge ``nor_conv_3x3``; DARTS: ``sep_conv_5x5`` on both cell inputs of every
node), DARTS' mixture and a SPOS path, on the same random batches and network size, in either
search space (``benchmarks/search_step.py`` runs each kind in a fresh process and adds the peak
resident memory)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasviz.memory import proc_status_kib, reset_peak_rss
from nasviz.search.base import SearchConfig, arch_optimizer, weight_optimizer
from nasviz.search.darts import Alpha
from nasviz.search.groups import search_groups
from nasviz.search.ista import SparseCode
from nasviz.search.network import count_saved_bytes
from nasviz.supernet.train import path_sampler

#: network and batch sizes (``N`` cells per stage; the DARTS space builds ``3 N`` cells)
SIZES = {
    'tiny': dict(C=8, N=1, in_channels=1, image=16, batch=64),
    'small': dict(C=8, N=2, in_channels=3, image=32, batch=128),
    'paper': dict(C=16, N=5, in_channels=3, image=32, batch=256),
}
#: ``ista``: a b step + a weight step on the seeded initial code's support; ``ista-conv``: the
#: same on the space's dearest cell (NB201: all ``nor_conv_3x3``); ``darts``: an alpha step + a weight step on the
#: mixture; ``spos``: one weight step on a uniformly sampled path
STEP_KINDS = ('ista', 'ista-conv', 'darts', 'spos')


def measure_step(
    kind: str,
    size: str = 'tiny',
    steps: int = 20,
    warmup: int = 3,
    seed: int = 0,
    track_rss: bool = False,
    space: str = 'nb201',
) -> dict:
    """Median (``step_s``) and fastest (``step_min_s``: the least disturbed by other processes on a
    shared machine) seconds of one search step of ``kind`` (:data:`STEP_KINDS`) over ``steps``
    after ``warmup``; ``saved_mib``: activation memory autograd keeps for one weight step (mean
    over up to 5 further steps); with
    ``track_rss`` (Linux, meaningful in a fresh process) the peak resident memory the steps add.
    ``space``: ``'nb201'`` or ``'darts'`` (its weighted supernet, code groups and settings)."""
    if kind not in STEP_KINDS:
        raise ValueError(f'unknown kind {kind!r}; valid: {", ".join(STEP_KINDS)}')
    if size not in SIZES:
        raise ValueError(f'unknown size {size!r}; valid: {", ".join(SIZES)}')
    groups = search_groups(space)
    z = dict(SIZES[size])
    if size == 'tiny':  # the space's own tiny network (DARTS: its micro benchmark's C)
        z.update({k: v for k, v in groups.defaults.items() if k in ('C', 'N')})
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n_batches = 8
    xs = torch.randn(n_batches, z['batch'], z['in_channels'], z['image'], z['image'], generator=g)
    ys = torch.randint(0, 10, (n_batches, z['batch']), generator=g)
    model = groups.weighted_supernet(z['C'], z['N'], 10, z['in_channels'])
    cfg = SearchConfig(
        **{
            **groups.defaults,
            **dict(method='ista' if kind.startswith('ista') else 'darts', space=space, C=z['C'], N=z['N'], seed=seed),
        }
    )
    opt_w, sched = weight_optimizer(model.parameters(), cfg, 10**6)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    sample_path = path_sampler(model, getattr(model, 'mask', None) or groups.space.full_mask())
    dear = groups.dearest_cell()
    if kind.startswith('ista'):
        arch_vars = SparseCode(
            groups.n_groups, cfg.m, cfg.lam, seed=seed, sizes=groups.group_sizes, expand=groups.expand
        )
        select = (lambda w: dear) if kind == 'ista-conv' else groups.support
        mode = 'sparse'
    elif kind == 'darts':
        arch_vars, select, mode = Alpha(seed, groups.alpha_shape), groups.derive, 'mixture'
    else:
        arch_vars, select, mode = None, None, None
    opt_a = arch_optimizer(arch_vars.parameters(), cfg, 0.0) if arch_vars is not None else None

    def one_step(i: int, count: bool = False) -> int:
        x, y = xs[i % n_batches], ys[i % n_batches]
        xv, yv = xs[(i + 1) % n_batches], ys[(i + 1) % n_batches]
        saved = 0
        if kind == 'spos':
            arch = sample_path(rng)
            opt_w.zero_grad(set_to_none=True)
            fwd = lambda: loss_fn(model(x, arch), y)  # noqa: E731
            loss, saved = count_saved_bytes(fwd) if count else (fwd(), 0)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt_w.step()
            return saved
        model.requires_grad_(False)
        opt_a.zero_grad(set_to_none=True)
        w = arch_vars()
        sup = select(w.detach()) if mode == 'sparse' else None
        loss_v = loss_fn(model.forward_weighted(xv, w, mode, support=sup), yv)
        loss_v.backward()
        opt_a.step()
        model.requires_grad_(True)
        with torch.no_grad():
            w = arch_vars().detach()
        sup = select(w) if mode == 'sparse' else None
        opt_w.zero_grad(set_to_none=True)
        fwd = lambda: loss_fn(model.forward_weighted(x, w, mode, support=sup), y)  # noqa: E731
        loss, saved = count_saved_bytes(fwd) if count else (fwd(), 0)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt_w.step()
        return saved

    # resident memory before the first step (model, optimizers, batches); the peak over all steps
    # minus it is what the steps add (activations, gradients, optimizer state, allocator slack)
    rss0 = proc_status_kib('VmRSS') if track_rss else 0
    reset = reset_peak_rss() if track_rss else False
    for i in range(warmup):
        one_step(i)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        one_step(warmup + i)
        times.append(time.perf_counter() - t0)
    # activation memory, averaged over a few more steps (SPOS draws another path every step)
    saved = [one_step(warmup + steps + i, count=True) for i in range(min(steps, 5))]
    peak = proc_status_kib('VmHWM') if reset else None
    out = dict(
        kind=kind,
        size=size,
        space=space,
        C=z['C'],
        N=z['N'],
        step_s=float(np.median(times)),
        step_min_s=float(np.min(times)),
        saved_mib=float(np.mean(saved)) / 2**20,
        peak_rss_delta_mib=None if peak is None else (peak - rss0) / 1024,
        params=int(sum(p.numel() for p in model.parameters())),
    )
    if mode == 'sparse':
        out['support'] = str(select(arch_vars.weights() if kind == 'ista' else None))
    return out


def step_costs(
    size: str = 'tiny', steps: int = 10, warmup: int = 2, seed: int = 0, kinds=STEP_KINDS, space: str = 'nb201'
):
    """:func:`measure_step` for every kind, as a DataFrame with ratios to DARTS (time: of the
    fastest steps; memory: of the activation memory)."""
    df = pd.DataFrame([measure_step(k, size, steps, warmup, seed, space=space) for k in kinds])
    if 'darts' in set(df['kind']):
        ref = df.set_index('kind').loc['darts']
        df['time_vs_darts'] = df['step_min_s'] / ref['step_min_s']
        df['memory_vs_darts'] = df['saved_mib'] / ref['saved_mib']
    return df


__all__ = ['SIZES', 'STEP_KINDS', 'measure_step', 'step_costs']
