"""The NAS-Bench-101 network and its single-path weight-sharing supernet (one class).

The network is the benchmark's (Ying et al. 2019): a 3x3 conv-BN-ReLU stem of ``C`` channels
(128), ``stacks`` stacks (3) of ``N`` cells (3) with a 2x2 max-pool between stacks that halves
the resolution while the channels double, global average pooling and a linear classifier. BN uses
the benchmark's settings (decay 0.997, i.e. torch momentum 0.003; epsilon 1e-5).

Inside a cell, channels follow the benchmark's rule (:func:`nasviz.spaces.nb101.vertex_channels`):
the output concatenates the interior nodes that feed it, whose widths split the cell's output
channels; other interior nodes take the widest of the nodes they feed; an edge between interior
nodes truncates channels; an edge from the input is a 1x1 conv-BN-ReLU projection to the target
node's width; an input -> output edge adds a projection of the input to the concatenation.

Weight sharing. The supernet holds, per cell position, one weight per (node, op) and one per
input projection, so a (node, op) is trained by every sampled cell that puts that op on that
node. How a cell lays out its channels is the ``design``:

- ``'benchmark'``: the single path is exactly the benchmark's network of the cell. Node widths
  depend on the cell (an interior node of a 128-channel cell is 128, 64, 43, 42, 32, 26 or 25
  channels wide, depending on how many nodes feed the output and which of them it feeds), so
  weights are allocated at the widest width (the cell's output channels) and a cell uses their
  leading slice (output and input channels, and BN statistics). A node's channels then land at a
  cell-dependent offset of the output concatenation, and the next cell and the classifier see a
  different channel layout on every path: this supernet hardly trains on sampled paths.
- ``'fixed'``: every interior node is ``c_out`` wide in every cell (no slicing, and an edge
  between interior nodes no longer truncates), so a (node, op) weight always sees the same input
  channels and fills the same output channels. The output node averages the nodes feeding it
  (and the input projection, when the cell has that edge) instead of concatenating them, so its
  width is fixed too, and a BN of the cell position normalises it: its scale otherwise varies
  about tenfold between cells (sums through chains of max-pools grow; at initialisation a cell's
  loss correlated 0.98 with the scale of the last cell's output).
- ``'fixed_shortcut'`` (the default of :meth:`NB101Space.build_supernet`): ``'fixed'`` plus a
  shortcut every cell shares, from the cell input to its output (identity, or a 1x1 conv-BN
  where the channels double), as NB201's skip-connect ops carry a cell's input through. Without
  it every path is a deep chain of convolutions with no identity path; with it the supernet
  trains and ranks clearly better (README). The mechanism is not pinned down: the shared
  classifier's gradients from two sampled cells agree no more with the shortcut than without
  (cosine 0.16 against 0.10 at initialisation, 0.20 against 0.21 after 120 steps).

The fixed designs are this package's own (after the idea of NAS-Bench-1Shot1, Zela et al. 2020,
to give each node of the one-shot model a fixed width): a single path is no longer the
benchmark's network of the cell (node widths, output aggregation, the output BN and the
shortcut differ), so a supernet ranks cells by a proxy of their benchmark networks;
:meth:`NB101Space.single_path_network` builds the standalone network a single path equals.
Measured figures and the sharing benchmark are in the README ("NAS-Bench-101 space").

A standalone network is the same class restricted to one cell. With ``alloc='shared'`` it holds
the supernet's tensor shapes (so supernet weights load by name; unused slices stay at their
initial values and take no part in the computation); with ``alloc='exact'`` (the default of
:meth:`NB101Space.build_network`) every tensor has exactly the width the cell uses, which is the
benchmark's network tensor by tensor: its parameter count is the table's ``params_m``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasviz.spaces.base import ArchInput, SlotMask
from nasviz.spaces.nb101 import (
    EDGE_SLOTS,
    MAX_NODES,
    NODE_SLOTS,
    OPS,
    NB101Arch,
    frame_mask,
    full_mask,
    to_arch,
    vertex_channels,
)
from nasviz.validate import short_repr

#: the benchmark's batch-norm decay 0.997 in torch's convention (1 - decay), and epsilon
BN_MOMENTUM = 0.003
BN_EPS = 1e-5
#: op name -> (module key, kernel size); max-pooling has no weights
CONV_OPS = {'conv1x1-bn-relu': ('conv1x1', 1), 'conv3x3-bn-relu': ('conv3x3', 3)}
ALLOC = ('shared', 'exact')
#: how a cell lays out its channels: the benchmark's rule, or fixed widths and positions (without
#: and with a shortcut from the cell input to its output); see the module docstring
DESIGNS = ('benchmark', 'fixed', 'fixed_shortcut')


class SlicedConvBNReLU(nn.Module):
    """Conv (no bias) - BN - ReLU allocated at ``c_in x c_out`` that runs on the leading
    ``x.shape[1]`` input and ``width`` output channels."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        affine: bool,
        track_running_stats: bool,
        bn_momentum: float = BN_MOMENTUM,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(
            c_out, eps=BN_EPS, momentum=bn_momentum, affine=affine, track_running_stats=track_running_stats
        )

    def forward(self, x: torch.Tensor, width: int) -> torch.Tensor:
        w = self.conv.weight
        if w.shape[0] != width or w.shape[1] != x.shape[1]:
            w = w[:width, : x.shape[1]]
        y = F.conv2d(x, w, None, 1, self.conv.padding)
        bn = self.bn
        if bn.num_features == width:
            return F.relu(bn(y))
        # the leading entries of the BN statistics and affine parameters (views: updates land in place)
        training = bn.training or bn.running_mean is None
        factor = 0.0 if bn.momentum is None else bn.momentum
        if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
            bn.num_batches_tracked.add_(1)
            if bn.momentum is None:  # cumulative average, as nn.BatchNorm2d does
                factor = 1.0 / float(bn.num_batches_tracked)
        rm = bn.running_mean[:width] if bn.running_mean is not None else None
        rv = bn.running_var[:width] if bn.running_var is not None else None
        wt = bn.weight[:width] if bn.weight is not None else None
        bs = bn.bias[:width] if bn.bias is not None else None
        return F.relu(F.batch_norm(y, rm, rv, wt, bs, training, factor, bn.eps))


def _maybe_live(mask: SlotMask, t: int) -> bool:
    """Whether frame node ``t`` can be on an input-output path in some cell of ``mask``."""
    into = any('1' in mask.allowed_for(f'{a}->{t}') for a in range(t))
    out = any('1' in mask.allowed_for(f'{t}->{b}') for b in range(t + 1, MAX_NODES))
    return into and out


class NB101Cell(nn.Module):
    """One cell position: weights for every (node, op) and input projection the mask allows."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        mask: SlotMask,
        affine: bool,
        track_running_stats: bool,
        widths: Sequence[int] | None = None,
        bn_momentum: float = BN_MOMENTUM,
        design: str = 'benchmark',
    ) -> None:
        super().__init__()
        self.c_in, self.c_out, self.design = c_in, c_out, design
        # widths: exact per-node widths of a fixed cell (alloc='exact'), else the widest (c_out);
        # with design='fixed' every interior node is c_out wide (widths is None)
        width = (lambda t: widths[t]) if widths is not None else (lambda t: c_out)
        self.ops = nn.ModuleDict()
        self.proj = nn.ModuleDict()
        for t in range(1, MAX_NODES - 1):
            if not _maybe_live(mask, t):
                continue
            convs = nn.ModuleDict(
                {
                    CONV_OPS[o][0]: SlicedConvBNReLU(
                        width(t), width(t), CONV_OPS[o][1], affine, track_running_stats, bn_momentum
                    )
                    for o in mask.allowed_for(f'node{t}')
                    if o in CONV_OPS
                }
            )
            if len(convs):
                self.ops[f'n{t}'] = convs
            if '1' in mask.allowed_for(f'0->{t}'):
                self.proj[f'n{t}'] = SlicedConvBNReLU(c_in, width(t), 1, affine, track_running_stats, bn_momentum)
        if '1' in mask.allowed_for(f'0->{MAX_NODES - 1}'):
            self.proj['out'] = SlicedConvBNReLU(c_in, c_out, 1, affine, track_running_stats, bn_momentum)
        if design != 'benchmark':
            # the output's scale varies ~10x between cells (sums through chains of max-pools grow):
            # one BN of the cell position normalises whatever path ran
            self.out_bn = nn.BatchNorm2d(
                c_out, eps=BN_EPS, momentum=bn_momentum, affine=affine, track_running_stats=track_running_stats
            )
        if design == 'fixed_shortcut':
            # a path every cell shares: the cell input itself, or a 1x1 conv-BN where the channels double
            self.shortcut = (
                nn.Identity()
                if c_in == c_out
                else nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, bias=False),
                    nn.BatchNorm2d(
                        c_out, eps=BN_EPS, momentum=bn_momentum, affine=affine, track_running_stats=track_running_stats
                    ),
                )
            )

    def forward(self, x: torch.Tensor, arch: NB101Arch) -> torch.Tensor:
        if self.design != 'benchmark':
            return self._forward_fixed(x, arch)
        m, ops = arch.matrix, arch.ops
        k = len(ops)
        ch = vertex_channels(m, self.c_in, self.c_out)
        concat = self._interior(x, arch, ch)
        out = None
        if concat:
            out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if m[0][k - 1]:
            p = self.proj['out'](x, self.c_out)
            out = p if out is None else out + p
        return out

    def _interior(self, x: torch.Tensor, arch: NB101Arch, widths: Sequence[int]) -> list[torch.Tensor]:
        """Run the interior nodes of ``arch`` on the cell input ``x``, node ``t`` at ``widths[t]``
        channels (a wider predecessor is truncated to its leading channels; the input reaches a node
        through its 1x1 projection); returns the outputs of the nodes that feed the output node."""
        m, ops = arch.matrix, arch.ops
        k = len(ops)
        nodes: list[torch.Tensor] = [x]
        feeding: list[torch.Tensor] = []
        for t in range(1, k - 1):
            w = widths[t]
            terms = [nodes[s] if nodes[s].shape[1] == w else nodes[s][:, :w] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                terms.append(self.proj[f'n{t}'](x, w))
            h = terms[0]
            for extra in terms[1:]:
                h = h + extra
            if ops[t] in CONV_OPS:
                h = self.ops[f'n{t}'][CONV_OPS[ops[t]][0]](h, w)
            else:
                h = F.max_pool2d(h, 3, stride=1, padding=1)
            nodes.append(h)
            if m[t][k - 1]:
                feeding.append(h)
        return feeding

    def _forward_fixed(self, x: torch.Tensor, arch: NB101Arch) -> torch.Tensor:
        """Every interior node ``c_out`` wide (no slicing, no truncation); the output is the mean
        of the nodes feeding it and of the input projection (see the module docstring)."""
        m, k = arch.matrix, len(arch.ops)
        w = self.c_out
        terms_out = self._interior(x, arch, [w] * k)  # every node c_out wide: nothing is sliced
        if m[0][k - 1]:
            terms_out.append(self.proj['out'](x, w))
        out = terms_out[0]
        for extra in terms_out[1:]:
            out = out + extra
        out = self.out_bn(out if len(terms_out) == 1 else out / len(terms_out))
        return out + self.shortcut(x) if self.design == 'fixed_shortcut' else out


class NB101Network(ArchInput, nn.Module):
    """The NAS-Bench-101 network over ``mask`` (a supernet) or for one ``arch`` (standalone).

    BN is non-affine by default in the supernet (as NB201's weight-sharing baselines) and affine,
    as in the benchmark, in a standalone network. ``alloc`` is ``'shared'`` (tensors at the
    supernet's widths) or ``'exact'`` (only for one ``arch``: the widths its cells use).
    """

    _coerce_arch = staticmethod(to_arch)

    #: the search space this network belongs to
    space = 'nb101'

    def __init__(
        self,
        C: int = 128,
        N: int = 3,
        stacks: int = 3,
        num_classes: int = 10,
        in_channels: int = 3,
        mask: SlotMask | None = None,
        arch: NB101Arch | str | None = None,
        affine: bool | None = None,
        track_running_stats: bool = True,
        alloc: str = 'shared',
        bn_momentum: float = BN_MOMENTUM,
        design: str = 'benchmark',
    ) -> None:
        super().__init__()
        if isinstance(bn_momentum, bool) or not isinstance(bn_momentum, (int, float)) or not 0 < bn_momentum <= 1:
            raise ValueError(f'NB101Network: bn_momentum must be in (0, 1], got {short_repr(bn_momentum)}')
        for name, v, low in (
            ('C', C, 1),
            ('N', N, 1),
            ('stacks', stacks, 1),
            ('num_classes', num_classes, 2),
            ('in_channels', in_channels, 1),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f'NB101Network: {name} must be an integer >= {low}, got {short_repr(v)}')
        if alloc not in ALLOC:
            raise ValueError(f'NB101Network: alloc must be one of {ALLOC}, got {short_repr(alloc)}')
        if design not in DESIGNS:
            raise ValueError(f'NB101Network: design must be one of {DESIGNS}, got {short_repr(design)}')
        if arch is not None:
            if mask is not None:
                raise ValueError('give either mask or arch, not both')
            arch = to_arch(arch)
            mask = frame_mask(arch)
        elif alloc == 'exact':
            raise ValueError("alloc='exact' needs one arch: a supernet's widths vary with the sampled cell")
        if mask is not None and (not isinstance(mask, SlotMask) or mask.space != 'nb101'):
            raise ValueError(f'mask must be an nb101 SlotMask, got {short_repr(mask)}')
        self.fixed_arch: NB101Arch | None = arch
        self.mask = mask or full_mask()
        self.C, self.N, self.stacks, self.num_classes, self.in_channels = C, N, stacks, num_classes, in_channels
        self.alloc, self.design = alloc, design
        self.size: dict[str, Any] = dict(C=C, N=N, stacks=stacks, num_classes=num_classes, in_channels=in_channels)
        if design != 'benchmark':
            self.size['design'] = design
        affine = (arch is not None) if affine is None else affine
        self.stem = SlicedConvBNReLU(in_channels, C, 3, affine, track_running_stats, bn_momentum)
        cells: list[nn.Module] = []
        self._cell_names: list[str] = []
        self._pool_before: list[bool] = []
        c_in = c = C
        for s in range(stacks):
            if s > 0:
                c *= 2
            for j in range(N):
                # fixed design: every node is c wide in every cell, so 'exact' allocation is the shared one
                widths = vertex_channels(arch.matrix, c_in, c) if alloc == 'exact' and design == 'benchmark' else None
                widths = None if widths is None else _frame_widths(arch, widths)
                cells.append(NB101Cell(c_in, c, self.mask, affine, track_running_stats, widths, bn_momentum, design))
                self._cell_names.append(f's{s}c{j}')
                self._pool_before.append(s > 0 and j == 0)
                c_in = c
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c, num_classes)
        # channels-last convolutions are faster on CPU (as in NB201's networks)
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stub omits memory_format

    @property
    def block_names(self) -> list[str]:
        """``s<stack>c<cell>`` for every cell, in order."""
        return list(self._cell_names)

    def _describe_mask(self) -> str:
        return self.mask.describe(full_mask())

    def forward_intermediates(
        self,
        x: torch.Tensor,
        arch: NB101Arch | str | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the output of every cell, in :attr:`block_names` order."""
        arch = self._arch(arch)
        feats = []
        h = self.stem(x.contiguous(memory_format=torch.channels_last), self.C)
        for pool, cell in zip(self._pool_before, self.cells):
            if pool:
                h = F.max_pool2d(h, 2, stride=2)
            h = cell(h, arch)
            feats.append(h)
        return self._head(h), feats

    forward_features = forward_intermediates

    def forward(self, x: torch.Tensor, arch: NB101Arch | str | None = None) -> torch.Tensor:
        arch = self._arch(arch)
        h = self.stem(x.contiguous(memory_format=torch.channels_last), self.C)
        for pool, cell in zip(self._pool_before, self.cells):
            if pool:
                h = F.max_pool2d(h, 2, stride=2)
            h = cell(h, arch)
        return self._head(h)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every subnet uses: the stem, the classifier and, in the fixed designs, each
        cell's output BN (affine only in a standalone network) and shortcut projection."""
        params = list(self.stem.parameters())
        for cell in self.cells:
            for name in ('out_bn', 'shortcut'):
                if hasattr(cell, name):
                    params += list(getattr(cell, name).parameters())
        return params + list(self.classifier.parameters())

    def choice_parameters(self, slot: str, choice: str | None = None) -> list[nn.Parameter]:
        """Parameters owned by ``choice`` on ``slot`` in every cell: a node slot's conv op, or the
        input projection of an edge ``'0->t'`` taking ``'1'``; other edges own none."""
        if slot in NODE_SLOTS:
            valid = OPS
        elif slot in EDGE_SLOTS:
            valid = ('0', '1')
        else:
            raise ValueError(f'unknown nb101 slot {short_repr(slot)}; slots are node1..node5 and "i->j" edges')
        if choice is not None and choice not in valid:
            raise ValueError(f'unknown nb101 choice {short_repr(choice)} for slot {slot!r}; choices are {valid}')
        params: list[nn.Parameter] = []
        for cell in self.cells:
            if slot in NODE_SLOTS:
                convs = cell.ops[f'n{slot[4:]}'] if f'n{slot[4:]}' in cell.ops else {}
                for op in valid if choice is None else (choice,):
                    if op in CONV_OPS and CONV_OPS[op][0] in convs:
                        params += list(convs[CONV_OPS[op][0]].parameters())
            else:
                a, b = slot.split('->')
                if a == '0' and choice in (None, '1'):
                    key = 'out' if int(b) == MAX_NODES - 1 else f'n{b}'
                    if key in cell.proj:
                        params += list(cell.proj[key].parameters())
        return params


def _frame_widths(arch: NB101Arch, widths: list[int]) -> list[int]:
    """Per-node widths of a pruned cell laid out on the 7-node frame (absent nodes: 0)."""
    out = [0] * MAX_NODES
    for t in range(MAX_NODES):
        c = arch.frame_node(t)
        if c is not None:
            out[t] = widths[c]
    return out


def count_parameters(model: nn.Module) -> int:
    """Number of parameters a module holds: the benchmark's count (the table's ``params_m`` times
    1e6) for a standalone network built with ``alloc='exact'``; an ``alloc='shared'`` network holds
    more than its cell uses (use :func:`arch_param_count` for the cell's size)."""
    return sum(p.numel() for p in model.parameters())


def arch_param_count(
    arch: NB101Arch | str, C: int = 128, N: int = 3, stacks: int = 3, num_classes: int = 10, in_channels: int = 3
) -> int:
    """Parameters of the benchmark network of ``arch`` at this size (affine BN, exact widths),
    counted on the ``meta`` device: no weights are allocated."""
    with torch.device('meta'):
        net = NB101Network(C, N, stacks, num_classes, in_channels, arch=to_arch(arch), affine=True, alloc='exact')
    return count_parameters(net)


__all__ = [
    'NB101Network',
    'NB101Cell',
    'SlicedConvBNReLU',
    'count_parameters',
    'arch_param_count',
    'BN_MOMENTUM',
    'BN_EPS',
    'DESIGNS',
]
