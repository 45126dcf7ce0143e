"""Cost of one supernet training step against the same cell built as a standalone network.

Same batch, same cells, interleaved in one run so both see the same machine load. Single-path
sampling should cost what the sampled subnet costs: the target is step_ratio <= 1.10.

    python benchmarks/supernet_step.py                 # CPU-sized default
    python benchmarks/supernet_step.py --C 16 --N 5 --size 32 --batch 256 --device cuda
    python benchmarks/supernet_step.py --space nb101   # another space at its 'tiny' size

For a space other than NB201 the supernet is ``space.build_supernet(**space.sizes['tiny'])`` and
the standalone network ``space.single_path_network(cell, ...)`` at the same size (the network a
single path computes: the benchmark's network except where the supernet has a design of its own,
as NB101's fixed widths), with exact widths where a space allocates shared-width weights.

It also prints the training throughput (images/s of a full SPOS step: sample a path, forward,
backward, clip, SGD) at the CPU profiles' sizes (``tiny``: C=8, N=1, 1x16x16, batch 64; ``small``:
C=8, N=2, 3x32x32, batch 128), unless ``--no-throughput``.

Last line: ``step_ratio=<median over cells of supernet step time / standalone step time>``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from nasviz.spaces import get_space, list_spaces
from nasviz.spaces.nb201 import OP_ABBREV, OpMask, sample_archs
from nasviz.spaces.nb201_network import NB201Supernet, standalone


class _SpaceSampler:
    """Draws a path of a non-NB201 space the way training does (one uniform draw per step)."""

    def __init__(self, space):
        self.space = space

    def sample(self, rng):
        return self.space.sample(1, rng=rng)[0]


def _timed_steps(model, arch, x, y, steps: int, sample_mask: OpMask | None, rng, device) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    times = []
    for _ in range(steps):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t = time.perf_counter()
        # the supernet pays for drawing a path (it discards the draw to time the same cell)
        if sample_mask is not None:
            sample_mask.sample(rng)
        loss = torch.nn.functional.cross_entropy(model(x, arch), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


THROUGHPUT_SIZES = {'tiny': (8, 1, 1, 16, 64), 'small': (8, 2, 3, 32, 128)}


def throughput(C: int, N: int, channels: int, size: int, batch: int, steps: int, device, seed: int) -> float:
    """Images per second of SPOS training steps (each step draws a path, as training does),
    timed with :func:`_timed_steps` over a few sampled cells."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.randn(batch, channels, size, size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    sup = NB201Supernet(C, N, 10, channels).to(device)
    full = OpMask.full()
    cells = sample_archs(3, rng=seed, unique=True, exclude_degenerate=True)
    _timed_steps(sup, cells[0], x, y, 3, full, rng, device)  # warm-up
    return batch / statistics.median(_timed_steps(sup, a, x, y, steps, full, rng, device) for a in cells)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--C', type=int, default=8)
    p.add_argument('--N', type=int, default=2)
    p.add_argument('--size', type=int, default=16)
    p.add_argument('--channels', type=int, default=3)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--cells', type=int, default=8)
    p.add_argument('--steps', type=int, default=15)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--device', default='cpu')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-throughput', action='store_true', help='skip the per-profile images/s lines')
    p.add_argument(
        '--space',
        default='nb201',
        choices=list_spaces(),
        help="search space; other than nb201 the networks take the space's tiny size",
    )
    a = p.parse_args()
    if a.space != 'nb201':
        return main_space(a)
    device = torch.device(
        'cuda' if a.device == 'auto' and torch.cuda.is_available() else ('cpu' if a.device == 'auto' else a.device)
    )
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    x = torch.randn(a.batch, a.channels, a.size, a.size, device=device)
    y = torch.randint(0, 10, (a.batch,), device=device)
    sup = NB201Supernet(a.C, a.N, 10, a.channels).to(device)
    full = OpMask.full()
    ratios = []
    print(
        f'device={device} C={a.C} N={a.N} input={a.channels}x{a.size}x{a.size} batch={a.batch} '
        f'threads={torch.get_num_threads()}'
    )
    print(f'{"cell":<40} {"supernet ms":>12} {"standalone ms":>14} {"ratio":>6}')
    for arch in sample_archs(a.cells, rng=a.seed, unique=True, exclude_degenerate=True):
        net = standalone(arch, a.C, a.N, 10, a.channels).to(device)
        _timed_steps(sup, arch, x, y, 3, full, rng, device)  # warm-up
        _timed_steps(net, arch, x, y, 3, None, rng, device)
        ts, tn = [], []
        for _ in range(a.rounds):  # interleave so drifts in machine load hit both sides
            ts.append(_timed_steps(sup, arch, x, y, a.steps, full, rng, device))
            tn.append(_timed_steps(net, arch, x, y, a.steps, None, rng, device))
        s, n = statistics.median(ts), statistics.median(tn)
        ratios.append(s / n)
        print(f'{"|".join(OP_ABBREV[op] for op in arch.ops):<40} {1000 * s:12.2f} {1000 * n:14.2f} {s / n:6.3f}')
    if not a.no_throughput:
        for name, (C, N, ch, size, batch) in THROUGHPUT_SIZES.items():
            ips = throughput(C, N, ch, size, batch, a.steps, device, a.seed)
            print(
                f'throughput profile={name} C={C} N={N} input={ch}x{size}x{size} batch={batch}: '
                f'{ips:.0f} images/s (SPOS training step, median of {a.steps} steps)'
            )
    print(f'step_ratio={statistics.median(ratios):.3f}')


def main_space(a: argparse.Namespace) -> None:
    """step_ratio of a space other than NB201, at its tiny size."""
    space = get_space(a.space)
    device = torch.device(
        'cuda' if a.device == 'auto' and torch.cuda.is_available() else ('cpu' if a.device == 'auto' else a.device)
    )
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    size = dict(space.sizes['tiny'], in_channels=a.channels, num_classes=10)
    exact = dict(size, alloc='exact') if 'alloc' in size else size
    x = torch.randn(a.batch, a.channels, a.size, a.size, device=device)
    y = torch.randint(0, 10, (a.batch,), device=device)
    sup = space.build_supernet(**size).to(device)
    sampler = _SpaceSampler(space)
    print(
        f'space={space.name} device={device} size={size} input={a.channels}x{a.size}x{a.size} batch={a.batch} '
        f'threads={torch.get_num_threads()}'
    )
    print(f'{"cell":<40} {"supernet ms":>12} {"standalone ms":>14} {"ratio":>6}')
    ratios = []
    for arch in space.sample_distinct(a.cells, rng=a.seed):
        net = space.single_path_network(arch, **exact).to(device)
        _timed_steps(sup, arch, x, y, 3, sampler, rng, device)  # warm-up
        _timed_steps(net, arch, x, y, 3, None, rng, device)
        ts, tn = [], []
        for _ in range(a.rounds):
            ts.append(_timed_steps(sup, arch, x, y, a.steps, sampler, rng, device))
            tn.append(_timed_steps(net, arch, x, y, a.steps, None, rng, device))
        s, n = statistics.median(ts), statistics.median(tn)
        ratios.append(s / n)
        print(f'{space.to_str(arch)[:40]:<40} {1000 * s:12.2f} {1000 * n:14.2f} {s / n:6.3f}')
    print(f'step_ratio={statistics.median(ratios):.3f}')


if __name__ == '__main__':
    main()
