"""The NAS-Bench-201 weight-sharing supernet; a standalone network is the same class
restricted to one cell, so both share one code path."""

from __future__ import annotations

import torch
from torch import nn

from nasviz.spaces.base import ArchInput
from nasviz.spaces.nb201 import EDGE_NAMES, EDGES, NUM_EDGES, NUM_NODES, OPS, Arch, OpMask, to_arch
from nasviz.spaces.nb201_ops import ResNetBasicBlock, get_op


class SearchCell(nn.Module):
    """A cell holding every allowed op on every edge; ``forward(x, arch)`` runs one path."""

    def __init__(self, C: int, mask: OpMask, affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.mask = mask
        # edges[e][op_name]; 'none' has no module: it contributes nothing to the sum
        self.edges = nn.ModuleList()
        for e in range(NUM_EDGES):
            self.edges.append(
                nn.ModuleDict(
                    {
                        OPS[o]: get_op(OPS[o], C, affine, track_running_stats)
                        for o in mask.allowed[e]
                        if OPS[o] != 'none'
                    }
                )
            )

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        live = arch.live_edges()
        nodes: list[torch.Tensor | None] = [x]
        for node in range(1, NUM_NODES):
            acc = None
            for e, (src, dst) in enumerate(EDGES):
                if dst != node or not live[e]:
                    continue
                out = self.edges[e][OPS[arch.op_idx[e]]](nodes[src])
                acc = out if acc is None else acc + out
            nodes.append(acc)
        # a degenerate cell outputs zeros (no path from input to output)
        return nodes[-1] if nodes[-1] is not None else x.mul(0.0)


class NB201Supernet(ArchInput, nn.Module):
    """NAS-Bench-201 macro skeleton: stem, 3 stages of ``N`` cells with a residual reduction
    block between stages, global average pooling and a linear classifier.

    Blocks are numbered 0..3N+1 (cells and the two reduction blocks, in order); layer-wise
    analysis hooks their outputs through :meth:`forward_features`.

    ``mask`` restricts the ops built on each edge (a sub-supernet); ``arch`` builds a
    standalone network for one cell. BN is non-affine by default in the supernet, as in the
    NAS-Bench-201 weight-sharing baselines, and affine for standalone networks.
    """

    _coerce_arch = staticmethod(to_arch)

    def __init__(
        self,
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        mask: OpMask | None = None,
        arch: Arch | str | None = None,
        affine: bool | None = None,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        if C < 1 or N < 1 or num_classes < 2 or in_channels < 1:
            raise ValueError(f'bad supernet size: C={C}, N={N}, num_classes={num_classes}, in_channels={in_channels}')
        if arch is not None:
            if mask is not None:
                raise ValueError('give either mask or arch, not both')
            arch = to_arch(arch)
            mask = OpMask.single(arch)
        self.fixed_arch: Arch | None = arch
        self.mask = mask or OpMask.full()
        self.C, self.N, self.num_classes, self.in_channels = C, N, num_classes, in_channels
        affine = (arch is not None) if affine is None else affine
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, 3, padding=1, bias=False),
            nn.BatchNorm2d(C, affine=affine, track_running_stats=track_running_stats),
        )
        blocks: list[nn.Module] = []
        self.block_kinds: list[str] = []
        c = C
        for stage in range(3):
            if stage > 0:
                blocks.append(ResNetBasicBlock(c, 2 * c, 2, affine, track_running_stats))
                self.block_kinds.append('reduction')
                c *= 2
            for _ in range(N):
                blocks.append(SearchCell(c, self.mask, affine, track_running_stats))
                self.block_kinds.append('cell')
        self.blocks = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(
            nn.BatchNorm2d(c, affine=affine, track_running_stats=track_running_stats), nn.ReLU(inplace=False)
        )
        self.classifier = nn.Linear(c, num_classes)
        # channels-last convolutions are 1.4x (training) to 2x (inference) faster on CPU at these
        # sizes, and no slower on GPU; results agree with the default layout to float tolerance
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stub omits memory_format

    #: the search space this supernet belongs to
    space = 'nb201'

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def block_names(self) -> list[str]:
        """Labels like ``s1c0`` (stage 1, cell 0) and ``red1`` for each block."""
        names, stage, cell = [], 1, 0
        for kind in self.block_kinds:
            if kind == 'reduction':
                names.append(f'red{stage}')
                stage, cell = stage + 1, 0
            else:
                names.append(f's{stage}c{cell}')
                cell += 1
        return names

    def forward_intermediates(
        self,
        x: torch.Tensor,
        arch: Arch | str | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the output of every block (cells and reductions), in :attr:`block_names` order."""
        arch = self._arch(arch)
        feats = []
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        for kind, block in zip(self.block_kinds, self.blocks):
            h = block(h, arch) if kind == 'cell' else block(h)
            feats.append(h)
        return self._head(h), feats

    forward_features = forward_intermediates

    def forward(self, x: torch.Tensor, arch: Arch | str | None = None) -> torch.Tensor:
        arch = self._arch(arch)
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        for kind, block in zip(self.block_kinds, self.blocks):
            h = block(h, arch) if kind == 'cell' else block(h)
        return self._head(h)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        h = self.lastact(h)
        h = torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1)
        return self.classifier(h)

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every subnet uses: stem, reduction blocks and head (not cell ops)."""
        params = list(self.stem.parameters()) + list(self.lastact.parameters()) + list(self.classifier.parameters())
        for kind, block in zip(self.block_kinds, self.blocks):
            if kind == 'reduction':
                params += list(block.parameters())
        return params

    def choice_parameters(self, slot: str, choice: str | None = None) -> list[nn.Parameter]:
        """Parameters owned by ``choice`` on ``slot`` (an edge name such as ``'0->1'``) in every
        cell; every choice of the slot when ``choice`` is None."""
        if slot not in EDGE_NAMES:
            raise ValueError(f'unknown nb201 slot {slot!r}; slots are {EDGE_NAMES}')
        if choice is not None and choice not in OPS:
            raise ValueError(f'unknown nb201 choice {choice!r} for slot {slot!r}; choices are {OPS}')
        return self.edge_parameters(EDGE_NAMES.index(slot), choice)

    def edge_parameters(self, edge: int, op: str | None = None) -> list[nn.Parameter]:
        """Parameters of edge ``edge`` in every cell (optionally of one op only)."""
        params = []
        for kind, block in zip(self.block_kinds, self.blocks):
            if kind == 'cell':
                for name, mod in block.edges[edge].items():
                    if op is None or name == op:
                        params += list(mod.parameters())
        return params


def count_parameters(model: nn.Module, arch: Arch | str | None = None) -> int:
    """Trainable parameters a subnet uses (the whole model if ``arch`` is None and it is a
    standalone network)."""
    if arch is None:
        return sum(p.numel() for p in model.parameters())
    arch = to_arch(arch)
    live = arch.live_edges()
    total = 0
    for name, p in model.named_parameters():
        parts = name.split('.')
        # cell op parameters look like blocks.<b>.edges.<e>.<op>....
        if len(parts) > 4 and parts[0] == 'blocks' and parts[2] == 'edges':
            e, op = int(parts[3]), parts[4]
            if not (live[e] and OPS[arch.op_idx[e]] == op):
                continue
        total += p.numel()
    return total


def arch_param_count(arch: Arch | str, C: int, N: int, num_classes: int = 10, in_channels: int = 3) -> int:
    """Parameters of the standalone network of ``arch`` (affine BN), counting only live edges."""
    arch = to_arch(arch)
    net = NB201Supernet(C, N, num_classes, in_channels, arch=arch)
    return count_parameters(net, arch)


def standalone(arch: Arch | str, C: int, N: int, num_classes: int = 10, in_channels: int = 3) -> NB201Supernet:
    """A standalone network for one cell (the supernet restricted to that cell)."""
    return NB201Supernet(C, N, num_classes, in_channels, arch=arch)
