"""Decision groups of a search space: what a search method needs to know about the space.

The search methods (:mod:`nasviz.search.ista`, :mod:`nasviz.search.darts`,
:mod:`nasviz.search.random`) only talk to a :class:`SearchGroups` object
(:func:`search_groups`), which says, for one space:

* the decision groups and each group's coded dimension (ISTA-NAS: one sensing matrix, one ``b``
  and one code ``z`` per group);
* how a code becomes the weights of the weighted supernet (:meth:`SearchGroups.expand`) and which
  cell a code supports (:meth:`SearchGroups.support`);
* DARTS' architecture parameters (:attr:`SearchGroups.alpha_shape`) and its derivation rule
  (:meth:`SearchGroups.derive`);
* the networks: weighted supernet, SPOS supernet, standalone network, at the search's size;
* names of the weight entries (for per-epoch tables and heatmaps).

A space provides its groups through ``space.search_groups()``. NAS-Bench-201
(:class:`nasviz.spaces.nb201_search.NB201Groups`): a group is an edge, one op out of 5; the code covers the 4
ops that are not ``none`` (an all-zero code means ``none``). DARTS (:class:`DartsGroups`): a group
is an intermediate node of the normal or the reduction cell (8 groups); its code covers every
(candidate input, op) pair, ``n = inputs x 7`` (14, 21, 28, 35 for nodes 2..5; shorter codes are
padded with coordinates whose sensing column is zero, so they stay zero); the support keeps the
2 strongest inputs of each node (an input's strength is its largest ``|z|`` over ops) with the
op of largest ``|z|`` on each, so every node takes 2 distinct inputs: always a valid genotype.

Pure computation: no plotting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nasviz.search.darts_network import WEIGHT_SHAPE, WeightedDartsSupernet, edge_index
from nasviz.spaces import darts as D
from nasviz.spaces import get_space, list_spaces


def block_gap(z: torch.Tensor) -> float:
    """Mean over groups of the share of ``|z|`` mass outside the chosen op (0: every group is
    exactly one-sparse, so the searched and the returned cell coincide)."""
    a = z.abs()
    tot = a.sum(-1)
    top = a.max(-1).values
    share = torch.where(tot > 0, 1 - top / tot.clamp_min(1e-30), torch.zeros_like(tot))
    return float(share.mean())


def top2_cells(weights: torch.Tensor) -> D.DartsArch:
    """The DARTS genotype of a ``(2, 14, 7)`` weight tensor by DARTS' derivation rule: per node,
    the 2 candidate inputs of largest strength (the largest ``|weight|`` over the input's ops;
    ties go to the lower input), each with its op of largest ``|weight|`` (ties: the first op);
    a node's two pairs are written in input order. Always a valid genotype."""
    w = torch.as_tensor(weights).detach()
    if tuple(w.shape) != WEIGHT_SHAPE:
        raise ValueError(
            f'weights must have shape {WEIGHT_SHAPE} (cell type x candidate edge x op), got {tuple(w.shape)}'
        )
    a = w.abs().double().numpy()
    cells = []
    for t in range(len(D.CELL_TYPES)):
        pairs = []
        for node in D.NODES:
            rows = a[t, [edge_index(j, node) for j in range(node)]]  # (inputs, ops)
            strength = rows.max(1)
            top = sorted(sorted(range(node), key=lambda j: (-strength[j], j))[:2])
            pairs += [(D.OPS[int(np.argmax(rows[j]))], j) for j in top]
        cells.append(tuple(pairs))
    return D.DartsArch(cells[0], cells[1])


class SearchGroups:
    """What a search needs from a space (see the module docstring). Subclasses fill it in."""

    #: the space's registered name
    name: str = ''
    #: a readable name per decision group, and each group's coded dimension
    group_names: tuple[str, ...] = ()
    group_sizes: tuple[int, ...] = ()
    #: shape of the weights the weighted supernet takes (and of DARTS' alpha)
    alpha_shape: tuple[int, ...] = ()
    #: search settings this space changes from the profile's (overrides still win)
    defaults: dict = {}
    #: whether the space's benchmark table holds every cell (else sampling baselines draw their
    #: candidates from the table's cells, so each has a real ground truth)
    table_is_complete: bool = False

    @property
    def space(self):
        return get_space(self.name)

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    # -- codes and cells ------------------------------------------------------------------------
    def expand(self, z: torch.Tensor) -> torch.Tensor:
        """``(groups, n)`` code -> the weighted supernet's weights (:attr:`alpha_shape`)."""
        raise NotImplementedError

    def support(self, weights: torch.Tensor) -> Any:
        """The cell ISTA-NAS runs and returns for expanded code weights."""
        raise NotImplementedError

    def derive(self, weights: torch.Tensor) -> Any:
        """DARTS' discrete cell from its mixture weights."""
        raise NotImplementedError

    def gap(self, z: torch.Tensor) -> float:
        """Mean over groups of the share of ``|z|`` mass outside the support (0: the code is
        exactly as sparse as the cell, so the searched and the returned cell coincide)."""
        raise NotImplementedError

    def weight_labels(self) -> list[tuple[str, str]]:
        """``(group, choice)`` names of the weight entries, in flattened :attr:`alpha_shape` order."""
        raise NotImplementedError

    def dearest_cell(self) -> Any:
        """The support with the most compute (cost benchmarks)."""
        raise NotImplementedError

    def chosen_labels(self, arch: Any) -> list[tuple[str, str]]:
        """The :meth:`weight_labels` entries ``arch`` uses (its support: one per decision)."""
        raise NotImplementedError

    # -- networks -------------------------------------------------------------------------------
    def size(self, C: int, N: int) -> dict:
        raise NotImplementedError

    def weighted_supernet(self, C: int, N: int, num_classes: int, in_channels: int) -> nn.Module:
        raise NotImplementedError

    def spos_supernet(self, C: int, N: int, num_classes: int, in_channels: int) -> nn.Module:
        raise NotImplementedError

    def standalone(self, arch: Any, C: int, N: int, num_classes: int, in_channels: int) -> nn.Module:
        raise NotImplementedError

    def recipe_network(self, recipe: dict, arch: Any, num_classes: int, in_channels: int) -> nn.Module:
        """The standalone network a micro benchmark's recipe trains for ``arch``."""
        raise NotImplementedError

    def recipe_params(self, recipe: dict, arch: Any, num_classes: int = 10, in_channels: int = 1) -> int:
        net = self.recipe_network(recipe, arch, num_classes, in_channels)
        return int(sum(p.numel() for p in net.parameters()))

    # -- cells ---------------------------------------------------------------------------------
    def to_arch(self, arch: Any) -> Any:
        return self.space.check(arch)

    def candidates(self, n: int, seed: int, pool: Sequence[Any] | None = None) -> list:
        """``n`` distinct non-degenerate cells drawn with ``seed``: from ``pool`` when given (e.g.
        a micro benchmark's cells, whose truth is known), else uniformly from the space."""
        if pool is None:
            return self.space.sample_distinct(n, rng=seed, exclude_degenerate=True)
        space = self.space
        pool = [a for a in (space.check(p) for p in pool) if not space.is_degenerate(a)]
        if n > len(pool):
            raise ValueError(f'n_candidates={n} exceeds the {len(pool)} cells of the candidate pool')
        idx = np.random.default_rng(seed).choice(len(pool), n, replace=False)
        return [pool[i] for i in sorted(idx)]


class DartsGroups(SearchGroups):
    """The DARTS cell space: 8 groups (normal and reduction cell x nodes 2..5), each coding all
    (candidate input, op) pairs of its node; the support keeps 2 distinct inputs per node."""

    name = 'darts'
    group_names = tuple(f'{t}.n{i}' for t in D.CELL_TYPES for i in D.NODES)
    group_sizes = tuple(i * len(D.OPS) for _t in D.CELL_TYPES for i in D.NODES)
    alpha_shape = WEIGHT_SHAPE

    @property
    def defaults(self) -> dict:  # type: ignore[override]  # derived from the space's sizes, not set
        """The network of the space's micro benchmark (its ``sizes['tiny']``: ``C`` channels, 3
        cells, i.e. ``N=1``) on every profile, as the other notebooks size DARTS supernets; codes of
        14-35 coordinates per node get 8 compressed variables each (NB201 keeps 3 for 4)."""
        tiny = self.space.sizes['tiny']
        return dict(m=8, C=int(tiny['C']), N=max(1, int(tiny['layers']) // 3))

    def expand(self, z: torch.Tensor) -> torch.Tensor:
        # a node's code lists its inputs 0..i-1, 7 ops each; the nodes' edges are contiguous in
        # EDGES (node by node), so the codes laid end to end are one cell's (14, 7) weights
        k = len(D.OPS)
        parts = [z[g, : self.group_sizes[g]] for g in range(self.n_groups)]
        return torch.cat(parts).reshape(len(D.CELL_TYPES), len(D.EDGES), k)

    def support(self, weights: torch.Tensor) -> D.DartsArch:
        return top2_cells(weights)

    def derive(self, weights: torch.Tensor) -> D.DartsArch:
        # no 'none' op in this space: the strongest op of an edge is its strength
        return top2_cells(weights)

    def gap(self, z: torch.Tensor) -> float:
        w = self.expand(z.detach()).abs().double()
        arch = top2_cells(w)
        shares = []
        for t, cell in enumerate(D.CELL_TYPES):
            pairs = arch.cell(cell)
            for k, node in enumerate(D.NODES):
                rows = w[t, [edge_index(j, node) for j in range(node)]]
                tot = float(rows.sum())
                on = sum(float(w[t, edge_index(inp, node), D.OPS.index(op)]) for op, inp in pairs[2 * k : 2 * k + 2])
                shares.append(1 - on / tot if tot > 0 else 0.0)
        return float(np.mean(shares))

    def weight_labels(self) -> list[tuple[str, str]]:
        return [(f'{t}.{j}->{i}', o) for t in D.CELL_TYPES for (j, i) in D.EDGES for o in D.OPS]

    def chosen_labels(self, arch: Any) -> list[tuple[str, str]]:
        a = self.to_arch(arch)
        return [(f'{t}.{j}->{D.NODES[k // 2]}', op) for t in D.CELL_TYPES for k, (op, j) in enumerate(getattr(a, t))]

    def dearest_cell(self) -> D.DartsArch:
        # sep_conv_5x5 on both cell inputs of every node (stride 2 on the reduction cells' inputs)
        cell = tuple(('sep_conv_5x5', j) for _ in D.NODES for j in (0, 1))
        return D.DartsArch(cell, cell)

    def size(self, C: int, N: int) -> dict:
        """``N`` cells per stage: ``3 N`` cells (N=1: the space's tiny size, C=8 and 3 cells)."""
        return dict(C=C, layers=3 * N)

    def weighted_supernet(self, C, N, num_classes, in_channels) -> WeightedDartsSupernet:
        return WeightedDartsSupernet(**self.size(C, N), num_classes=num_classes, in_channels=in_channels)

    def spos_supernet(self, C, N, num_classes, in_channels):
        # the NAS-Bench-301 cell (design 'benchmark'), as when the committed DARTS-space comparison
        # (data/search_comparison_tiny_darts.csv) was run: search cache keys do not record a design, so
        # changing it here would mix cached and new SPOS-RS runs
        return self.space.build_supernet(
            **self.size(C, N), num_classes=num_classes, in_channels=in_channels, design='benchmark'
        )

    def standalone(self, arch, C, N, num_classes, in_channels):
        return self.space.build_network(arch, **self.size(C, N), num_classes=num_classes, in_channels=in_channels)

    def recipe_network(self, recipe, arch, num_classes, in_channels):
        size = recipe.get('size') or {
            k: v for k, v in self.space.sizes['tiny'].items() if k not in ('num_classes', 'in_channels')
        }
        return self.space.build_network(arch, **size, num_classes=num_classes, in_channels=in_channels)


def search_groups(space: Any) -> SearchGroups:
    """The :class:`SearchGroups` of a space (by name or the space object): what the space's
    ``search_groups()`` gives; a ``ValueError`` naming the spaces searches run on otherwise."""
    sp = get_space(space)
    groups = sp.search_groups()
    if groups is None:
        raise ValueError(
            f'no search implementation for space {sp.name!r}; searches run on: {", ".join(search_spaces())}'
        )
    if not isinstance(groups, SearchGroups):
        raise ValueError(f'space {sp.name!r}: search_groups() returned {type(groups).__name__}, not SearchGroups')
    return groups


def search_spaces() -> list[str]:
    """The registered spaces with a search implementation (plug-ins included)."""
    return [n for n in list_spaces() if get_space(n).search_groups() is not None]


__all__ = ['block_gap', 'top2_cells', 'SearchGroups', 'DartsGroups', 'search_groups', 'search_spaces']
