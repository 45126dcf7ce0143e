"""Does the NB101 single-path supernet train when its paths vary? (README, 'Search spaces as plug-ins')

Trains the tiny NB101 supernet for one epoch on the embedded digits, cycling through k fixed
cells (k = 1, 2, 8 by default) and then on uniformly sampled cells, and prints the training loss
and accuracy of each run. On a supernet whose shared weights serve every path, accuracy should
not collapse as k grows; with the benchmark's channel rule (node outputs at cell-dependent offsets
of the output concatenation) it does.

    python benchmarks/nb101_sharing.py [--ks 1 2 8] [--epochs 1] [--lr 0.05]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from nasviz.data import iterate_batches
from nasviz.experiment import load_data, network_size, settings_for
from nasviz.spaces import get_space


def run(k: int | None, epochs: int, lr: float, seed: int = 0) -> tuple[float, float, float]:
    """Train loss of the first and last 10 steps, and training accuracy (%), cycling through
    ``k`` fixed cells (``None``: a uniformly sampled cell every step)."""
    s = settings_for('tiny', space='nb101')
    data = load_data(s)
    space = get_space('nb101')
    rng = np.random.default_rng(seed + 1)
    fixed = space.sample(k, rng=rng) if k else None
    torch.manual_seed(seed)
    net = space.build_supernet(**network_size(s, data)).train()
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True)
    losses, correct, n, step = [], 0, 0, 0
    for epoch in range(epochs):
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        for xb, yb in iterate_batches(data.x_train, data.y_train, 64, g):
            arch = fixed[step % k] if fixed else space.sample(1, rng=rng)[0]
            out = net(xb, arch)
            loss = torch.nn.functional.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5)
            opt.step()
            losses.append(loss.item())
            correct += (out.argmax(1) == yb).sum().item()
            n += len(yb)
            step += 1
    return float(np.mean(losses[:10])), float(np.mean(losses[-10:])), 100.0 * correct / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ks', type=int, nargs='+', default=[1, 2, 8])
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--lr', type=float, default=0.05)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for k in [*a.ks, None]:
        first, last, acc = run(k, a.epochs, a.lr)
        what = f'{k} fixed cell(s)' if k else 'uniformly sampled cells'
        print(f'{what:>26}: loss first 10 steps {first:.3f}, last 10 steps {last:.3f}, train accuracy {acc:.1f}%',
              flush=True)


if __name__ == '__main__':
    main()
