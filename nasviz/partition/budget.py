"""The epoch budget of a partition run: how ``total_epochs`` is shared between the root, the
split levels and the nodes of each level, checked before any training (the rule is in
:mod:`nasviz.partition.pipeline`'s docstring)."""

from __future__ import annotations

from collections.abc import Sequence

from nasviz.partition.config import PartitionConfig
from nasviz.partition.rules import candidate_edges, min_ops, structural_split
from nasviz.partition.tree import PartitionTree
from nasviz.spaces import SlotMask

__all__ = ['level_budgets', 'share_epochs', 'expected_level_sizes', 'check_budget']


def level_budgets(total_epochs: int, warmup_epochs: int, n_levels: int) -> list[int]:
    """Epochs of each split level: ``total - warmup`` divided evenly, earlier levels first."""
    if n_levels < 1:
        return []
    base, extra = divmod(int(total_epochs) - int(warmup_epochs), int(n_levels))
    return [base + (1 if i < extra else 0) for i in range(n_levels)]


def share_epochs(budget: int, n_nodes: int) -> list[int]:
    """``budget`` epochs over ``n_nodes`` nodes: as even as possible, first nodes take the rest."""
    base, extra = divmod(int(budget), int(n_nodes))
    return [base + (1 if i < extra else 0) for i in range(n_nodes)]


# ---------------------------------------------------------------------------------------------


def expected_level_sizes(config: PartitionConfig, root_mask: SlotMask) -> list[int]:
    """Nodes each level will create: exact for 'fewshot'/'random' (a dry run of the rule),
    an upper bound (every leaf splits into k) for the feature-driven methods."""
    if config.method == 'spos':
        return []
    sizes: list[int] = []
    if config.method in ('fewshot', 'random'):
        tree = PartitionTree.root(root_mask)
        for _ in range(config.n_splits):
            made = 0
            for leaf in tree.leaves():
                rule = structural_split(leaf.mask, leaf.node_id, config, leaf.node_id == tree.root_id)
                if rule is not None:
                    made += len(tree.split(leaf.node_id, rule[0], rule[1]))
            sizes.append(made)
    else:
        candidate_edges(root_mask, config, True)  # raises for an unusable fixed edge
        sizes = [config.k ** (level + 1) for level in range(config.n_splits)]
    return sizes


def check_budget(config: PartitionConfig, sizes: Sequence[int]) -> list[int]:
    """Per-level budgets; ValueError when a level could not give each node one epoch."""
    budgets = level_budgets(config.total_epochs, config.warmup_epochs, config.levels)
    for level, (b, m) in enumerate(zip(budgets, sizes), start=1):
        if m == 0:
            raise ValueError(
                f'split level {level} of {config.n_splits} has no leaf left with an edge of '
                f'{min_ops(config)}+ ops; lower n_splits'
            )
        if not config.equal_per_child and b < m:
            raise ValueError(
                f'level {level} gets {b} of the {config.total_epochs - config.warmup_epochs} split-phase '
                f'epochs but creates {m} sub-supernets ({config.method}, k={config.k}); each needs at '
                f'least one: raise total_epochs, lower warmup_epochs/n_splits, or set equal_per_child=True'
            )
    return budgets
