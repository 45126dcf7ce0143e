"""Redraw cost of notebook 03's partition-count explorer in the kernel (no browser).

    python benchmarks/explorer_redraw.py [--repeats 3]

The explorer's callback runs the same library calls as notebook 03 (a split of a similarity
matrix, its heatmap and a one-level sub-supernet tree) on a planted similarity matrix of NB201's five ops, with
the splits cached as the notebook's static sweep leaves them. Prints, measured side by side in one
run: the slowest redraw of a new selection, the slowest re-selection served from the widget's
cache, and their ratio. Targets: a new selection under 1 s, a cached one under 0.2 s.
"""

from __future__ import annotations

import argparse
from functools import cache

import numpy as np
import pandas as pd

from nasviz.partition.split import METHODS, split_ops, split_quality
from nasviz.partition.tree import PartitionTree
from nasviz.spaces import get_space
from nasviz.viz import partition_explorer, plot_partition_tree, plot_similarity


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repeats', type=int, default=3, help='sweeps over every count x method')
    args = ap.parse_args(argv)
    space = get_space('nb201')
    ops = list(space.choices(space.slots[0]))  # the five ops of a NAS-Bench-201 edge
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(ops), 8))
    x[:2] += 3
    sim = pd.DataFrame(np.corrcoef(x), index=ops, columns=ops)
    counts, methods = range(2, len(ops) + 1), METHODS[:3]

    @cache
    def split_of(n, method):
        groups = split_ops(sim, k=n, method=method, random_state=0)
        return groups, split_quality(sim, groups)

    def compute(n, method):
        groups, q = split_of(n, method)
        tree = PartitionTree.root()
        tree.split(tree.root_id, 0, groups)
        return {
            'similarity': plot_similarity(sim, title=f'{n} groups by {method} (gap {q["gap"]:.2g})'),
            'tree': plot_partition_tree(tree.to_frame(), title=f'Sub-supernets for {n} groups'),
        }

    for n in counts:
        for m in methods:
            split_of(n, m)
    new, cached = [], []
    for _ in range(args.repeats):
        w = partition_explorer(compute, counts=counts, methods=methods)
        if w.seconds is None:
            raise SystemExit(f'the explorer failed to draw: {w.status.value}')
        for _sweep in range(2):  # the first sweep computes every selection, the second finds them cached
            for m in methods:
                for n in counts:
                    for control, value in ((w.count, n), (w.method, m)):
                        if control.value == value:
                            continue
                        control.value = value
                        (cached if 'cached in' in w.status.value else new).append(w.seconds)
    worst_new, worst_cached = max(new), max(cached)
    print(
        f'new_selection_max_s={worst_new:.3f} cached_max_s={worst_cached:.4f} '
        f'ratio={worst_cached / worst_new:.3f} ({len(new)} new, {len(cached)} cached redraws)'
    )


if __name__ == '__main__':
    main()
