"""A NAS-Bench-201 supernet whose edges are weighted: the network every relaxed search trains.

:class:`WeightedSupernet` is :class:`~nasviz.supernet.model.NB201Supernet` (same stem, cells,
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

import torch

from nasviz.spaces.nb201 import EDGES, NUM_EDGES, NUM_NODES, OPS, Arch
from nasviz.supernet.model import NB201Supernet, SearchCell

NONE = OPS.index('none')


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

    def forward_weighted(self, x: torch.Tensor, weights: torch.Tensor, mode: str = 'sparse',
                         support: Arch | None = None) -> torch.Tensor:
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


def mixture_weights(alpha: torch.Tensor) -> torch.Tensor:
    """DARTS' mixture weights: softmax over the ops of each edge."""
    return torch.softmax(alpha, dim=-1)


def count_saved_bytes(fn) -> tuple[object, int]:
    """Run ``fn()`` and count the bytes of tensors autograd saves for the backward pass (the
    activation memory of one training step, independent of the allocator). Returns
    ``(fn(), bytes)``; tensors saved twice (same storage) count once."""
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor):
        try:
            key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            seen[key] = t.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):  # pragma: no cover - exotic tensor kinds
            seen[(id(t), 0)] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, int(sum(seen.values()))


__all__ = ['WeightedSupernet', 'mixture_weights', 'count_saved_bytes', 'NONE']
