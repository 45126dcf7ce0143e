"""DARTS networks: the evaluation network of DARTS / NAS-Bench-301 and its single-path supernet.

One class, :class:`DartsSupernet`, serves both. Every cell holds, on each of its 14 candidate
edges ``j -> i``, one module per allowed operation (weights per (candidate edge, op), per cell);
``forward(x, arch)`` runs the 8 edges the genotype picks in each cell. A standalone network is the
same class restricted to one genotype (``arch=``), so its parameter and buffer names are a subset
of the supernet's and the single path through the supernet equals it with the same weights.

The macro skeleton is the DARTS CIFAR network as NAS-Bench-301 trained it (see
``shared/data/nb301/SOURCES.md``, and the parameter-count check in ``tests/test_space_darts.py``):
a stem (3x3 conv to ``stem_multiplier * C`` channels + BN), ``layers`` cells with reduction cells at
``layers // 3`` and ``2 * layers // 3`` (channels doubled there), cell inputs preprocessed by
ReLU-conv1x1-BN (a factorized reduction when the previous cell reduced) with affine BN, BN without
affine parameters inside the candidate operations, global average pooling and a linear classifier.
Left out: the auxiliary head and drop-path, which are training regularisers and hold no
parameters that NAS-Bench-301 counts.

Supernet design (``design``). ``'benchmark'`` (the class default, and every standalone network
``build_network`` gives) is the NAS-Bench-301 cell: the concatenation of the 4 intermediate nodes.
As a single-path supernet it hardly trains on the tiny profile: each sampled path is a different
chain of randomly initialised depthwise-separable convolutions, the scale of a cell's output
varies from path to path (at initialisation a path's loss ranges 2.31-3.02 and correlates 0.83
with the scale of its last cell's output), and the loss on sampled paths rises above chance in the
first epoch while a fixed cell trains. Two designs of this package fix that for the supernet:

- ``'out_bn'``: a BatchNorm (no affine parameters) of the cell position on the concatenated
  output, so whatever path ran, the next cell and the classifier see unit-scale features.
- ``'out_bn_shortcut'``: ``'out_bn'`` plus a shortcut every path shares, from the cell's previous
  input ``s1`` to its output (identity where the shapes agree, a 1x1 conv-BN where only the
  channels differ, a factorized reduction in a reduction cell), after the idea of the NB101
  supernet's shortcut (README, 'NAS-Bench-101 space').

A single path of a non-benchmark design is no longer the NAS-Bench-301 network of the genotype;
``DartsSpace.single_path_network`` builds the standalone network it equals, and
``DartsSpace.build_network`` stays the benchmark's network (parameter counts exact). Which design
is the space's supernet default, and the measurements behind it: ``nasviz.spaces.darts_space`` and
the README ('DARTS / NAS-Bench-301 space').
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from nasviz.spaces.base import ArchInput, SlotMask
from nasviz.spaces.darts import CELL_TYPES, EDGES, NODES, OPS, SLOTS, DartsArch, parse_slot, slot_choices, to_arch
from nasviz.validate import short_repr

#: how a cell's output is formed: the benchmark's concatenation, with a BN of the cell position,
#: and with that BN plus a shortcut every path shares (module docstring)
DESIGNS = ('benchmark', 'out_bn', 'out_bn_shortcut')


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------
class ReLUConvBN(nn.Sequential):
    """ReLU, convolution (no bias), BatchNorm."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU, depthwise (dilated) convolution, pointwise convolution, BatchNorm."""

    def __init__(
        self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, dilation: int, affine: bool
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two depthwise-separable blocks (the first carries the stride), as in DARTS."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(
            DilConv(C_in, C_in, kernel, stride, padding, 1, affine), DilConv(C_in, C_out, kernel, 1, padding, 1, affine)
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two 1x1 stride-2 convolutions on grids offset by one pixel,
    concatenated (``C_out`` must be even), then BatchNorm."""

    def __init__(self, C_in: int, C_out: int, affine: bool) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f'FactorizedReduce needs an even number of output channels, got {C_out}')
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_b = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        a = self.conv_a(x)
        b = self.conv_b(x[:, :, 1:, 1:])
        if b.shape[-2:] != a.shape[-2:]:  # odd sizes: pad the offset grid to the first one's size
            b = nn.functional.pad(b, (0, a.shape[-1] - b.shape[-1], 0, a.shape[-2] - b.shape[-2]))
        return self.bn(torch.cat([a, b], dim=1))


def make_op(name: str, C: int, stride: int, affine: bool = False) -> nn.Module:
    """The candidate operation ``name`` on ``C`` channels (``stride`` 1, or 2 on a reduction cell's
    input edges). ``skip_connect`` is the identity, or a factorized reduction at stride 2."""
    if stride not in (1, 2):
        raise ValueError(f'stride must be 1 or 2, got {short_repr(stride)}')
    if name == 'max_pool_3x3':
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == 'skip_connect':
        return nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine)
    if name == 'sep_conv_3x3':
        return SepConv(C, C, 3, stride, 1, affine)
    if name == 'sep_conv_5x5':
        return SepConv(C, C, 5, stride, 2, affine)
    if name == 'dil_conv_3x3':
        return DilConv(C, C, 3, stride, 2, 2, affine)
    if name == 'dil_conv_5x5':
        return DilConv(C, C, 5, stride, 4, 2, affine)
    raise ValueError(f'unknown darts op {short_repr(name)}; ops are {list(OPS)}')


def edge_key(j: int, i: int) -> str:
    """The ``ModuleDict`` key of the edge from state ``j`` into node ``i`` of a cell."""
    return f'e{j}_{i}'


# ---------------------------------------------------------------------------------------------
# Cell and network
# ---------------------------------------------------------------------------------------------
class DartsCell(nn.Module):
    """One cell: preprocessing of its two inputs and, on each candidate edge, the allowed ops.

    ``edge_ops`` maps ``(j, i)`` to the op names built on that edge; ``forward(s0, s1, pairs)``
    runs the 8 ``(op, input)`` pairs of one cell of a genotype.
    """

    def __init__(
        self,
        C_pp: int,
        C_p: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
        edge_ops: dict[tuple[int, int], list[str]],
        ops_affine: bool = False,
        pre_affine: bool = True,
        design: str = 'benchmark',
    ) -> None:
        super().__init__()
        self.reduction, self.design = reduction, design
        self.preprocess0 = (
            FactorizedReduce(C_pp, C, pre_affine) if reduction_prev else ReLUConvBN(C_pp, C, 1, 1, 0, pre_affine)
        )
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0, pre_affine)
        self.edges = nn.ModuleDict()
        for j, i in EDGES:
            ops = edge_ops.get((j, i), [])
            if ops:
                stride = 2 if reduction and j < 2 else 1
                self.edges[edge_key(j, i)] = nn.ModuleDict({o: make_op(o, C, stride, ops_affine) for o in ops})
        self.out_channels = len(NODES) * C
        if design != 'benchmark':
            # one BN of the cell position: the output's scale otherwise varies from path to path
            self.out_bn = nn.BatchNorm2d(self.out_channels, affine=False)
        if design == 'out_bn_shortcut':
            # a path every genotype shares, from the previous cell's output to this one's
            C_out = self.out_channels
            if reduction:
                self.shortcut: nn.Module = FactorizedReduce(C_p, C_out, affine=False)
            elif C_p == C_out:
                self.shortcut = nn.Identity()
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(C_p, C_out, 1, bias=False), nn.BatchNorm2d(C_out, affine=False))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, pairs: Iterable[tuple[str, int]]) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        pairs = list(pairs)
        for k, node in enumerate(NODES):
            (op_a, in_a), (op_b, in_b) = pairs[2 * k], pairs[2 * k + 1]
            h = self.edges[edge_key(in_a, node)][op_a](states[in_a]) + self.edges[edge_key(in_b, node)][op_b](
                states[in_b]
            )
            states.append(h)
        return self.combine(torch.cat(states[2:], dim=1), s1)

    def combine(self, out: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        """The cell's output from the concatenation of its nodes ``out`` and its input ``s1``, as
        the design forms it (the benchmark's: ``out`` itself)."""
        if self.design == 'benchmark':
            return out
        out = self.out_bn(out)
        return out + self.shortcut(s1) if self.design == 'out_bn_shortcut' else out

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every path through this cell uses: input preprocessing, and the design's
        output BN and shortcut."""
        params = list(self.preprocess0.parameters()) + list(self.preprocess1.parameters())
        for name in ('out_bn', 'shortcut'):
            if hasattr(self, name):
                params += list(getattr(self, name).parameters())
        return params

    def op_parameters(self, edges: Iterable[tuple[int, int]], op: str | None) -> list[nn.Parameter]:
        out = []
        for j, i in edges:
            key = edge_key(j, i)
            if key not in self.edges:
                continue
            for name, mod in self.edges[key].items():
                if op is None or name == op:
                    out += list(mod.parameters())
        return out


def edge_ops_of(mask: SlotMask, cell_type: str) -> dict[tuple[int, int], list[str]]:
    """Ops to build per candidate edge of one cell type: op ``o`` on edge ``j -> i`` when some pair
    of node ``i`` may take input ``j`` with op ``o`` under ``mask``."""
    allowed = dict(zip(mask.slots, mask.allowed))
    out: dict[tuple[int, int], list[str]] = {}
    for j, i in EDGES:
        ops: set[str] = set()
        for p in (0, 1):
            if str(j) in allowed[f'{cell_type}.n{i}.in{p}']:
                ops |= set(allowed[f'{cell_type}.n{i}.op{p}'])
        if ops:
            out[(j, i)] = [o for o in OPS if o in ops]
    return out


def full_mask() -> SlotMask:
    return SlotMask(DartsArch.space, SLOTS, tuple(slot_choices(s) for s in SLOTS))


def single_mask(arch: DartsArch) -> SlotMask:
    return SlotMask(DartsArch.space, SLOTS, tuple((arch.choice(s),) for s in SLOTS))


class DartsSupernet(ArchInput, nn.Module):
    """The DARTS evaluation network's skeleton with, in every cell, one module per (candidate
    edge, op) allowed by ``mask`` (default: all 14 edges x 7 ops); ``arch`` instead builds the
    standalone network of one genotype (``forward(x)`` then needs no arch).

    Sizes: ``C`` initial channels (cells of the first stage have ``C`` channels per node),
    ``layers`` cells, ``stem_multiplier``; the defaults are the NAS-Bench-301 network (C=32, 8 cells,
    10 classes). ``ops_affine`` gives the candidate ops' BN affine parameters (NAS-Bench-301: no);
    the preprocessing and stem BN are affine.
    """

    _coerce_arch = staticmethod(to_arch)

    #: the search space this network belongs to
    space = 'darts'

    def __init__(
        self,
        C: int = 32,
        layers: int = 8,
        num_classes: int = 10,
        in_channels: int = 3,
        mask: SlotMask | None = None,
        arch: DartsArch | str | None = None,
        stem_multiplier: int = 3,
        ops_affine: bool = False,
        design: str = 'benchmark',
    ) -> None:
        super().__init__()
        for name, v, low in (
            ('C', C, 2),
            ('layers', layers, 3),
            ('num_classes', num_classes, 2),
            ('in_channels', in_channels, 1),
            ('stem_multiplier', stem_multiplier, 1),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f'darts network: {name} must be an integer >= {low}, got {short_repr(v)}')
        if design not in DESIGNS:
            raise ValueError(f'darts network: design must be one of {DESIGNS}, got {short_repr(design)}')
        if C % 2:
            raise ValueError(f'darts network: C must be even (factorized reductions halve it), got {C}')
        if arch is not None:
            if mask is not None:
                raise ValueError('give either mask or arch, not both')
            arch = to_arch(arch)
            mask = single_mask(arch)
        elif mask is not None:
            if not isinstance(mask, SlotMask) or mask.space != 'darts' or tuple(mask.slots) != SLOTS:
                raise ValueError(f'mask must be a darts SlotMask, got {short_repr(mask)}')
        self.fixed_arch: DartsArch | None = arch
        self.mask = mask if mask is not None else full_mask()
        self.C, self.layers, self.num_classes, self.in_channels = C, layers, num_classes, in_channels
        #: the size arguments this network was built with (``build_supernet(**size)`` rebuilds it)
        self.size: dict[str, Any] = dict(C=C, layers=layers, num_classes=num_classes, in_channels=in_channels)
        if stem_multiplier != 3:
            self.size['stem_multiplier'] = stem_multiplier
        if ops_affine:
            self.size['ops_affine'] = True
        self.design = design
        if design != 'benchmark':
            self.size['design'] = design
        edge_ops = {t: edge_ops_of(self.mask, t) for t in CELL_TYPES}
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        self.reductions = (layers // 3, 2 * layers // 3)
        self.cells = nn.ModuleList()
        self.cell_types: list[str] = []
        reduction_prev = False
        for i in range(layers):
            reduction = i in self.reductions
            if reduction:
                C_curr *= 2
            kind = 'reduce' if reduction else 'normal'
            cell = DartsCell(C_pp, C_p, C_curr, reduction, reduction_prev, edge_ops[kind], ops_affine, design=design)
            self.cells.append(cell)
            self.cell_types.append(kind)
            reduction_prev = reduction
            C_pp, C_p = C_p, cell.out_channels
        self.classifier = nn.Linear(C_p, num_classes)
        # channels-last: a training step of the tiny network is ~1.8x faster on CPU (depthwise
        # convolutions' backward dominates), as for the NB201 networks
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stub omits memory_format

    @property
    def block_names(self) -> list[str]:
        """``normal0``, ``normal1``, ``reduce2``, ...: each cell with its position."""
        return [f'{t}{i}' for i, t in enumerate(self.cell_types)]

    @property
    def num_blocks(self) -> int:
        return len(self.cells)

    def _describe_mask(self) -> str:
        return self.mask.describe(full_mask())

    def forward_intermediates(
        self,
        x: torch.Tensor,
        arch: DartsArch | str | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the output of every cell, in :attr:`block_names` order."""
        arch = self._arch(arch)
        feats = []
        s0 = s1 = self.stem(x.contiguous(memory_format=torch.channels_last))
        for kind, cell in zip(self.cell_types, self.cells):
            s0, s1 = s1, cell(s0, s1, arch.normal if kind == 'normal' else arch.reduce)
            feats.append(s1)
        return self._head(s1), feats

    forward_features = forward_intermediates

    def forward(self, x: torch.Tensor, arch: DartsArch | str | None = None) -> torch.Tensor:
        arch = self._arch(arch)
        s0 = s1 = self.stem(x.contiguous(memory_format=torch.channels_last))
        for kind, cell in zip(self.cell_types, self.cells):
            s0, s1 = s1, cell(s0, s1, arch.normal if kind == 'normal' else arch.reduce)
        return self._head(s1)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every subnet uses: stem, each cell's input preprocessing (and the design's
        output BN and shortcut, see :meth:`DartsCell.shared_parameters`), classifier."""
        params = list(self.stem.parameters()) + list(self.classifier.parameters())
        for cell in self.cells:
            params += cell.shared_parameters()
        return params

    def choice_parameters(self, slot: str, choice: str | None = None) -> list[nn.Parameter]:
        """Parameters owned by ``choice`` on ``slot`` in every cell of the slot's type; every choice
        of the slot when ``choice`` is None.

        An op slot ``'<cell>.n<i>.op<p>'`` with op ``o`` owns ``o`` on every candidate edge into node
        ``i``; an input slot ``'<cell>.n<i>.in<p>'`` with input ``j`` owns every op on edge ``j -> i``.
        (Weights belong to (edge, op), so one parameter is owned by an input choice and an op
        choice at once, and by both pairs of its node: it is used only when they are taken.)
        """
        cell_type, node, _p, kind = parse_slot(slot)
        if choice is not None and choice not in slot_choices(slot):
            raise ValueError(
                f'unknown choice {short_repr(choice)} for darts slot {slot!r}; choices are {list(slot_choices(slot))}'
            )
        choices = slot_choices(slot) if choice is None else (choice,)
        out: list[nn.Parameter] = []
        seen: set[int] = set()
        for kind_i, cell in zip(self.cell_types, self.cells):
            if kind_i != cell_type:
                continue
            for c in choices:
                if kind == 'op':
                    params = cell.op_parameters([(j, node) for j in range(node)], c)
                else:
                    params = cell.op_parameters([(int(c), node)], None)
                for p in params:
                    if id(p) not in seen:
                        seen.add(id(p))
                        out.append(p)
        return out


def standalone(arch: DartsArch | str, **size: Any) -> DartsSupernet:
    """The standalone network of one genotype (defaults: the NAS-Bench-301 network)."""
    return DartsSupernet(arch=arch, **size)


def count_parameters(arch: DartsArch | str, **size: Any) -> int:
    """Parameters of the standalone network of ``arch``, counted on the ``meta`` device (no memory
    is allocated, ~10 ms for the NAS-Bench-301 size)."""
    with torch.device('meta'):
        net = DartsSupernet(arch=arch, **size)
    return sum(p.numel() for p in net.parameters())
