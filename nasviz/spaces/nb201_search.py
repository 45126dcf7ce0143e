"""NAS-Bench-201's search implementation: its decision groups (:class:`NB201Groups`, what
:mod:`nasviz.search` asks a space) and the weighted supernet every relaxed search trains.

A NAS-Bench-201 supernet whose edges are weighted:

:class:`WeightedSupernet` is :class:`~nasviz.spaces.nb201_network.NB201Supernet` (same stem, cells,
ops and head; nothing copied) with one more forward, :meth:`WeightedSupernet.forward_weighted`,
driven by an ``(edges x ops)`` weight matrix:

* ``sparse``: each edge runs only the op its weight row selects (one op per edge, block
  sparsity), its output scaled by that weight; edges the selected cell leaves dead (no path
  0 -> 3) are skipped, as in a standalone network. This is the ISTA-NAS search network.
* ``mixture``: each edge runs every op and sums them weighted by the row (DARTS' continuous
  relaxation; ``none`` adds zero and only takes weight).

With all support weights equal to 1, the sparse forward is exactly the single-path forward of
the selected cell (tests check it against the standalone network of that cell).
"""

from __future__ import annotations

from typing import Any

import torch

from nasviz.search.groups import SearchGroups, block_gap
from nasviz.spaces.nb201 import EDGE_NAMES, EDGES, NUM_EDGES, NUM_NODES, OPS, Arch, sample_archs, to_arch
from nasviz.spaces.nb201_network import NB201Supernet, SearchCell, arch_param_count

#: NAS-Bench-201's ``none`` op, and the ops a NB201 code coordinate stands for (all others)
NONE = OPS.index('none')
CODED_OPS: tuple[int, ...] = tuple(i for i in range(len(OPS)) if i != NONE)


def block_support(z: torch.Tensor, tol: float = 0.0) -> Arch:
    """One op per NB201 edge from the code ``z`` (``(6, 5)``, columns in :data:`OPS` order): on
    each edge the op of largest ``|z|``; an edge whose code is all zero (no ``|z|`` above ``tol``)
    carries ``none``. The ``none`` column is never selected by size: ``none`` has no output to
    weight, so its code is the empty code."""
    z = torch.as_tensor(z)
    if tuple(z.shape) != (NUM_EDGES, len(OPS)):
        raise ValueError(f'z must have shape ({NUM_EDGES}, {len(OPS)}), got {tuple(z.shape)}')
    a = z.detach().abs().clone()
    a[:, NONE] = -1.0
    top = a.argmax(1)
    empty = a.max(1).values <= tol
    return Arch(tuple(NONE if bool(e) else int(i) for i, e in zip(top.tolist(), empty.tolist())))


def _cell_weighted(cell: SearchCell, x: torch.Tensor, weights: torch.Tensor, arch: Arch | None) -> torch.Tensor:
    """One cell: ``arch`` given -> sparse (its op per live edge, times ``weights[e, op]``);
    ``arch`` None -> mixture over every op of every edge."""
    live = arch.live_edges() if arch is not None else (True,) * NUM_EDGES
    nodes: list[torch.Tensor | None] = [x]
    for node in range(1, NUM_NODES):
        acc = None
        for e, (src, dst) in enumerate(EDGES):
            if dst != node or not live[e] or nodes[src] is None:
                continue
            if arch is not None:
                o = arch.op_idx[e]
                out = cell.edges[e][OPS[o]](nodes[src]) * weights[e, o]
            else:
                out = None
                for o, name in enumerate(OPS):
                    if o == NONE:
                        continue  # the zero op contributes nothing; its weight only dilutes the others
                    term = cell.edges[e][name](nodes[src]) * weights[e, o]
                    out = term if out is None else out + term
            acc = out if acc is None else acc + out
        nodes.append(acc)
    return nodes[-1] if nodes[-1] is not None else x.mul(0.0)


class WeightedSupernet(NB201Supernet):
    """The full NB201 supernet (every op on every edge) with a weighted forward.

    Built exactly as ``NB201Supernet(C, N, num_classes, in_channels)`` (non-affine BN, as in
    the weight-sharing baselines); ``forward(x, arch)`` still runs one plain path.
    """

    def forward_weighted(
        self, x: torch.Tensor, weights: torch.Tensor, mode: str = 'sparse', support: Arch | None = None
    ) -> torch.Tensor:
        """Logits of the weighted network.

        ``weights``: ``(6, 5)`` tensor (edges x :data:`OPS`), may carry gradients.
        ``mode='sparse'`` runs ``support`` (default: per edge the op of largest ``|weight|``),
        each edge's output times its weight; ``mode='mixture'`` runs all ops weighted.
        """
        if mode not in ('sparse', 'mixture'):
            raise ValueError(f"mode must be 'sparse' or 'mixture', got {mode!r}")
        if tuple(weights.shape) != (NUM_EDGES, len(OPS)):
            raise ValueError(f'weights must have shape ({NUM_EDGES}, {len(OPS)}), got {tuple(weights.shape)}')
        if mode == 'sparse':
            if support is None:
                support = Arch(tuple(int(i) for i in weights.detach().abs().argmax(1).tolist()))
        else:
            support = None
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        for kind, block in zip(self.block_kinds, self.blocks):
            h = _cell_weighted(block, h, weights, support) if kind == 'cell' else block(h)
        return self._head(h)


class NB201Groups(SearchGroups):
    """NAS-Bench-201: 6 edges, one op of 5 each; codes over the 4 ops that are not ``none``."""

    name = 'nb201'
    table_is_complete = True
    group_names = EDGE_NAMES
    group_sizes = (len(CODED_OPS),) * NUM_EDGES
    alpha_shape = (NUM_EDGES, len(OPS))

    def expand(self, z: torch.Tensor) -> torch.Tensor:
        out = z.new_zeros(z.shape[0], len(OPS))
        out[:, list(CODED_OPS)] = z
        return out

    def support(self, weights: torch.Tensor) -> Arch:
        return block_support(weights)

    def derive(self, weights: torch.Tensor) -> Arch:
        return Arch(tuple(int(i) for i in weights.argmax(1).tolist()))

    def gap(self, z: torch.Tensor) -> float:
        return block_gap(z)

    def weight_labels(self) -> list[tuple[str, str]]:
        return [(e, o) for e in EDGE_NAMES for o in OPS]

    def chosen_labels(self, arch: Any) -> list[tuple[str, str]]:
        a = self.to_arch(arch)
        return [(EDGE_NAMES[e], OPS[o]) for e, o in enumerate(a.op_idx)]

    def dearest_cell(self) -> Arch:
        return Arch((OPS.index('nor_conv_3x3'),) * NUM_EDGES)

    def size(self, C: int, N: int) -> dict:
        return dict(C=C, N=N)

    def weighted_supernet(self, C, N, num_classes, in_channels) -> WeightedSupernet:
        return WeightedSupernet(C, N, num_classes, in_channels)

    def spos_supernet(self, C, N, num_classes, in_channels) -> NB201Supernet:
        return NB201Supernet(C, N, num_classes, in_channels)

    def standalone(self, arch, C, N, num_classes, in_channels) -> NB201Supernet:
        return NB201Supernet(C, N, num_classes, in_channels, arch=arch)

    def recipe_network(self, recipe, arch, num_classes, in_channels) -> NB201Supernet:
        return NB201Supernet(recipe['C'], recipe['N'], num_classes, in_channels, arch=arch)

    def recipe_params(self, recipe, arch, num_classes=10, in_channels=1) -> int:
        return arch_param_count(arch, recipe['C'], recipe['N'], num_classes, in_channels)

    def to_arch(self, arch: Any) -> Arch:
        return to_arch(arch)

    def candidates(self, n, seed, pool=None) -> list[Arch]:
        if pool is None:  # the sampler NB201 searches always used (same cells as before)
            return sample_archs(n, rng=seed, unique=True, exclude_degenerate=True)
        return super().candidates(n, seed, pool)


__all__ = ['NONE', 'CODED_OPS', 'block_support', 'WeightedSupernet', 'NB201Groups']
