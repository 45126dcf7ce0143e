"""Does a single-path supernet train when its paths vary? (README, 'NAS-Bench-101 space' and
'DARTS / NAS-Bench-301 space')

Trains the tiny supernet of a space (``--space nb101|darts``) for each of its designs
(``nasviz.spaces.nb101_network.DESIGNS``, ``nasviz.spaces.darts_network.DESIGNS``) for one epoch
on the embedded digits, cycling through k fixed cells (k = 1, 2, 8 by default) and then on
uniformly sampled cells, and prints the training loss and accuracy of each run. On a supernet
whose shared weights serve every path, accuracy should not collapse as k grows; with NB101's
benchmark channel rule (design ``'benchmark'``: node outputs at cell-dependent offsets of the
output concatenation) it does, and with the NAS-Bench-301 cell (DARTS design ``'benchmark'``) the
loss on sampled cells rises above chance.

    python benchmarks/supernet_sharing.py --space nb101 [--ks 1 2 8] [--epochs 1] [--lr 0.05]
                                          [--designs benchmark fixed fixed_shortcut] [--seeds 0 1 2]
    python benchmarks/supernet_sharing.py --space darts --tau [--cells 120] [--designs ...] [--seeds 0 1 2]

``--tau`` instead trains the tiny profile's SPOS supernet of each design and seed (10 epochs, as
notebook 04) and prints Kendall tau of its scores against ``data/microbench_<space>.csv`` with 95%
bootstrap CIs, the parameter-count baseline, the size bias, the agreement between seeds, and
paired differences over the same cells (the first design against the others and parameters).
``benchmarks/nb101_sharing.py`` is this script with ``--space nb101``.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace

import numpy as np
import torch

from nasviz.analysis.bias import size_bias
from nasviz.analysis.metrics import kendall_tau
from nasviz.analysis.uncertainty import kendall_ci, paired_difference
from nasviz.data import iterate_batches
from nasviz.experiment import (
    eval_archs,
    evaluate_cached,
    load_bench,
    load_data,
    network_size,
    settings_for,
    trained_supernet,
)
from nasviz.spaces import darts_network, get_space, nb101_network

#: each space's supernet designs, the space's default supernet design last
DESIGNS = {'nb101': nb101_network.DESIGNS, 'darts': darts_network.DESIGNS}


def run(
    k: int | None, epochs: int, lr: float, seed: int = 0, design: str = 'fixed_shortcut', space: str = 'nb101'
) -> tuple[float, float, float]:
    """Train loss of the first and last 10 steps, and training accuracy (%), cycling through
    ``k`` fixed cells (``None``: a uniformly sampled cell every step), for the tiny supernet of
    ``space`` and ``design`` (``'benchmark'``: the earlier supernet of either space)."""
    s = settings_for('tiny', space=space)
    data = load_data(s)
    space = get_space(space)
    rng = np.random.default_rng(seed + 1)
    fixed = space.sample(k, rng=rng) if k else None
    torch.manual_seed(seed)
    net = space.build_supernet(**network_size(s, data), design=design).train()
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


def spos_tau(design: str, seed: int, n_eval: int, epochs: int | None = None, space: str = 'nb101'):
    """Kendall tau (with its 95% bootstrap CI over cells) of the tiny profile's SPOS supernet of
    ``space`` and ``design`` against the space's micro benchmark on ``n_eval`` of its cells (scored as the
    profile scores: minus the BN-recalibrated test loss), and its last-epoch training accuracy.
    The supernet is trained (or loaded: checkpoints in the cache, keyed by the design) exactly as
    notebook 04 trains it."""
    s = settings_for('tiny', space=space, n_eval=n_eval, epochs=epochs)
    data = load_data(s)
    s = replace(s, size=dict(network_size(s, data), design=design))
    bench = load_bench(s)
    archs = eval_archs(s, bench)
    model, hist = trained_supernet(s, data, seed=seed, progress=False)
    scores = evaluate_cached(model, archs, data, s, progress=False)['score'].to_numpy()
    return kendall_ci(scores, bench.accuracies(archs)), float(hist['train_acc'].iloc[-1]), scores


def truth_and_params(n_eval: int, space: str = 'nb101') -> tuple[np.ndarray, np.ndarray]:
    """Ground truth and parameter counts (benchmark networks at the tiny size) of the cells
    :func:`spos_tau` ranks."""
    s = settings_for('tiny', space=space, n_eval=n_eval)
    bench = load_bench(s)
    archs = eval_archs(s, bench)
    return bench.accuracies(archs), bench.params_many(archs)


def main(argv: list[str] | None = None, space: str | None = None) -> None:
    """The command line; ``space`` fixes ``--space`` (``benchmarks/nb101_sharing.py``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if space is None:
        ap.add_argument('--space', choices=sorted(DESIGNS), required=True)
    ap.add_argument('--ks', type=int, nargs='+', default=[1, 2, 8])
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--lr', type=float, default=0.05)
    ap.add_argument(
        '--designs',
        nargs='+',
        default=None,
        help="supernet designs (default: all of the space's: nb101 benchmark fixed fixed_shortcut, "
        'darts benchmark out_bn out_bn_shortcut)',
    )
    ap.add_argument('--seeds', type=int, nargs='+', default=[0])
    ap.add_argument(
        '--tau',
        action='store_true',
        help='instead: SPOS Kendall tau of the tiny profile against data/microbench_nb101.csv',
    )
    ap.add_argument('--cells', type=int, default=120, help='cells ranked with --tau')
    a = ap.parse_args(argv)
    a.space = space or a.space
    designs = DESIGNS[a.space]
    a.designs = a.designs or list(designs)
    bad = [d for d in a.designs if d not in designs]
    if bad:
        ap.error(f'--designs: {bad} not designs of the {a.space} supernet; choose from {list(designs)}')
    torch.set_num_threads(1)
    if a.tau:
        truth, params = truth_and_params(a.cells, a.space)
        print(f'parameter count baseline: tau {kendall_ci(params, truth):.3f}', flush=True)
        scores: dict[tuple[str, int], np.ndarray] = {}
        for design in a.designs:
            taus, accs = [], []
            for seed in a.seeds:
                est, acc, scores[design, seed] = spos_tau(design, seed, a.cells, space=a.space)
                taus.append(est.estimate)
                accs.append(acc)
                print(
                    f'{design:>15} seed {seed}: tau {est.estimate:.3f} [{est.low:.3f}, {est.high:.3f}] '
                    f'(n={a.cells}), '
                    f'supernet train accuracy {acc:.1f}%; size bias (partial Spearman with parameters given '
                    f'the truth) {size_bias(scores[design, seed], truth, params):.3f}',
                    flush=True,
                )
            if len(taus) > 1:
                pairs = [
                    kendall_tau(scores[design, i], scores[design, j]) for i, j in itertools.combinations(a.seeds, 2)
                ]
                print(
                    f'{design:>15} over {len(taus)} seeds: tau {np.mean(taus):.3f} +- {np.std(taus, ddof=1):.3f}, '
                    f"train accuracy {np.mean(accs):.1f} +- {np.std(accs, ddof=1):.1f}%, tau between two seeds' "
                    f'rankings {min(pairs):.3f}-{max(pairs):.3f}',
                    flush=True,
                )
        first = a.designs[0]
        for seed in a.seeds:  # paired over the same cells: the first design against each other one and params
            for other in a.designs[1:]:
                d = paired_difference(scores[first, seed], scores[other, seed], truth)
                print(f'seed {seed}: tau({first}) - tau({other}) = {d.diff:.3f}', flush=True)
            d = paired_difference(scores[first, seed], params, truth)
            print(f'seed {seed}: tau({first}) - tau(parameter count) = {d.diff:.3f}', flush=True)
        return
    for design in a.designs:
        for k in [*a.ks, None]:
            res = np.array([run(k, a.epochs, a.lr, seed, design, a.space) for seed in a.seeds])
            first, last, acc = res.mean(0)
            sd = f' (sd {res[:, 2].std(ddof=1):.1f} over {len(a.seeds)} seeds)' if len(a.seeds) > 1 else ''
            what = f'{k} fixed cell(s)' if k else 'uniformly sampled cells'
            print(
                f'{design:>15} {what:>24}: loss first 10 steps {first:.3f}, last 10 steps {last:.3f}, '
                f'train accuracy {acc:.1f}%{sd}',
                flush=True,
            )


if __name__ == '__main__':
    main()
