"""The DARTS-space supernet with weighted edges: the network ISTA-NAS and the DARTS relaxation
train on the DARTS / NAS-Bench-301 cell space.

:class:`WeightedDartsSupernet` is the space's own supernet
(:class:`~nasviz.spaces.darts_network.DartsSupernet`: stem, cells, preprocessing, the 14 candidate
edges x 7 ops of every cell, classifier; nothing copied) with one more forward,
:meth:`WeightedDartsSupernet.forward_weighted`, driven by a weight tensor of shape
``(2, 14, 7)``: cell type (:data:`~nasviz.spaces.darts.CELL_TYPES`) x candidate edge
(:data:`~nasviz.spaces.darts.EDGES`, node by node) x op (:data:`~nasviz.spaces.darts.OPS`).

* ``sparse``: each node runs only the two ``(input, op)`` pairs of a genotype (the support), each
  output scaled by its weight. This is the ISTA-NAS search network; with unit weights it is the
  single path of that genotype, i.e. the standalone network with the same weights.
* ``mixture``: each node sums every op on every candidate edge into it, weighted (DARTS'
  continuous relaxation over all 14 edges of a cell).
"""

from __future__ import annotations

import torch

from nasviz.spaces.darts import CELL_TYPES, EDGES, NODES, OPS, DartsArch, to_arch
from nasviz.spaces.darts_network import DartsCell, DartsSupernet, edge_key

#: shape of the weights of :meth:`WeightedDartsSupernet.forward_weighted`
WEIGHT_SHAPE: tuple[int, int, int] = (len(CELL_TYPES), len(EDGES), len(OPS))
_EDGE_INDEX = {e: k for k, e in enumerate(EDGES)}
_OP_INDEX = {o: k for k, o in enumerate(OPS)}


def edge_index(j: int, i: int) -> int:
    """Position of candidate edge ``j -> i`` in :data:`~nasviz.spaces.darts.EDGES`."""
    return _EDGE_INDEX[(j, i)]


def _cell_weighted(cell: DartsCell, s0: torch.Tensor, s1: torch.Tensor, w: torch.Tensor, pairs) -> torch.Tensor:
    """One cell with ``w`` (``(14, 7)``): ``pairs`` given -> sparse (each pair's op times its
    weight); ``pairs`` None -> the weighted mixture of every op on every candidate edge."""
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    for k, node in enumerate(NODES):
        h = None
        if pairs is not None:
            for op, inp in (pairs[2 * k], pairs[2 * k + 1]):
                term = cell.edges[edge_key(inp, node)][op](states[inp]) * w[edge_index(inp, node), _OP_INDEX[op]]
                h = term if h is None else h + term
        else:
            for j in range(node):
                e = edge_index(j, node)
                mods = cell.edges[edge_key(j, node)]
                for o, name in enumerate(OPS):
                    term = mods[name](states[j]) * w[e, o]
                    h = term if h is None else h + term
        states.append(h)
    return torch.cat(states[2:], dim=1)


class WeightedDartsSupernet(DartsSupernet):
    """The full DARTS supernet (all 14 edges x 7 ops in every cell) with a weighted forward.

    Built as ``DartsSupernet(C, layers, num_classes, in_channels)`` (the space's
    ``build_supernet``; non-affine BN in the ops, as NAS-Bench-301); ``forward(x, arch)`` still
    runs one plain path.
    """

    def forward_weighted(
        self, x: torch.Tensor, weights: torch.Tensor, mode: str = 'sparse', support: DartsArch | str | None = None
    ) -> torch.Tensor:
        """Logits of the weighted network.

        ``weights``: ``(2, 14, 7)`` (cell type x candidate edge x op), may carry gradients.
        ``mode='sparse'`` runs the genotype ``support`` (required), each pair's output times its
        weight; ``mode='mixture'`` runs every op of every candidate edge, weighted.
        """
        if mode not in ('sparse', 'mixture'):
            raise ValueError(f"mode must be 'sparse' or 'mixture', got {mode!r}")
        if tuple(weights.shape) != WEIGHT_SHAPE:
            raise ValueError(
                f'weights must have shape {WEIGHT_SHAPE} (cell type x candidate edge x op), got {tuple(weights.shape)}'
            )
        if mode == 'sparse':
            if support is None:
                raise ValueError('the sparse forward needs a support genotype (support=...)')
            support = to_arch(support, 'support')
        s0 = s1 = self.stem(x.contiguous(memory_format=torch.channels_last))
        for kind, cell in zip(self.cell_types, self.cells):
            t = CELL_TYPES.index(kind)
            pairs = None if support is None else support.cell(kind)
            s0, s1 = s1, _cell_weighted(cell, s0, s1, weights[t], pairs)
        return self._head(s1)


__all__ = ['WeightedDartsSupernet', 'WEIGHT_SHAPE', 'edge_index']
