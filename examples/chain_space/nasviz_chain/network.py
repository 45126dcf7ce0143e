"""The chain space's networks: one class for the weight-sharing supernet and the standalone
network.

The supernet holds, in every block, one inverted-residual module per allowed choice (weights per
block and choice; ``'skip'`` holds none); a forward pass runs the chosen module of each block.
The first block of a stage (stride or width change, so no identity residual) adds a 1x1
projection of its input that every choice of the block shares, as a ResNet's downsampling
shortcut: without it no path has a trained route through those blocks early in single-path
training, and the supernet stays at chance for epochs (measured: 10.6% training accuracy after 3
epochs on 500 digits, against 43.6% for a standalone network).
``arch=`` builds the standalone network of one architecture: the same class holding only the
chosen modules, so its tensors are named as the supernet's and a single path of the supernet is
that network with the supernet's weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nasviz.spaces.base import ArchInput, SlotMask
from nasviz_chain.arch import BLOCK_CHOICES, LAYOUT, SKIP, SLOTS, ChainArch, check_slot, parse_choice, to_arch


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> list:
    layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return layers + [nn.ReLU6(inplace=True)] if act else layers


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, depthwise ``kernel`` x ``kernel`` (with the stride),
    1x1 projection; the input is added back when the shapes agree."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, stride: int) -> None:
        super().__init__()
        mid = c_in * expansion
        self.body = nn.Sequential(
            *_conv_bn(c_in, mid, 1),
            *_conv_bn(mid, mid, kernel, stride, groups=mid),
            *_conv_bn(mid, c_out, 1, act=False),
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def full_mask() -> SlotMask:
    return SlotMask('chain', SLOTS, tuple(BLOCK_CHOICES[s] for s in SLOTS))


class ChainSupernet(ArchInput, nn.Module):
    """Stem, the searchable blocks, global pooling and a linear classifier.

    Sizes: ``stem`` channels and ``stem_stride`` (2 halves the resolution before the blocks),
    ``widths`` (output channels of each stage), ``num_classes``, ``in_channels``. ``mask`` limits
    the choices each block holds (a sub-supernet); ``arch`` builds the standalone network of one
    architecture instead.
    """

    _coerce_arch = staticmethod(to_arch)
    #: the search space this network belongs to
    space = 'chain'

    def __init__(
        self,
        stem: int = 16,
        widths: tuple[int, ...] = (24, 40, 80),
        num_classes: int = 10,
        in_channels: int = 3,
        stem_stride: int = 1,
        mask: SlotMask | None = None,
        arch: ChainArch | str | None = None,
    ) -> None:
        super().__init__()
        widths = tuple(widths)
        n_stages = 1 + max(s for s, _, _ in LAYOUT)
        if len(widths) != n_stages or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f'chain network: widths must be {n_stages} positive integers, got {widths!r:.80}')
        for name, v in (
            ('stem', stem),
            ('num_classes', num_classes),
            ('in_channels', in_channels),
            ('stem_stride', stem_stride),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f'chain network: {name} must be a positive integer, got {v!r:.40}')
        if arch is not None:
            if mask is not None:
                raise ValueError('give either mask or arch, not both')
            arch = to_arch(arch)
            mask = SlotMask('chain', SLOTS, tuple((c,) for c in arch.ops))
        elif mask is not None and (not isinstance(mask, SlotMask) or mask.space != 'chain'):
            raise ValueError(f'mask must be a chain SlotMask, got {mask!r:.80}')
        self.fixed_arch = arch
        self.mask = mask if mask is not None else full_mask()
        #: the size arguments this network was built with (``build_supernet(**size)`` rebuilds it)
        self.size = dict(stem=stem, widths=list(widths), num_classes=num_classes, in_channels=in_channels)
        if stem_stride != 1:
            self.size['stem_stride'] = stem_stride
        self.stem = nn.Sequential(*_conv_bn(in_channels, stem, 3, stem_stride))
        self.blocks = nn.ModuleList()
        #: per block, a projection every path through it shares (first block of a stage), else None
        self.shortcuts = nn.ModuleList()
        c_in = stem
        for slot, (stage, stride, first) in zip(SLOTS, LAYOUT):
            c_out = widths[stage]
            choices = nn.ModuleDict()
            for c in self.mask.allowed_for(slot):
                ke = parse_choice(c)
                if ke is not None:
                    choices[c] = InvertedResidual(c_in, c_out, ke[0], ke[1], stride)
            self.blocks.append(choices)
            self.shortcuts.append(
                nn.Sequential(*_conv_bn(c_in, c_out, 1, stride, act=False)) if first else nn.Identity()
            )
            c_in = c_out
        self.classifier = nn.Linear(c_in, num_classes)
        # channels-last: depthwise convolutions run faster on CPU in this layout
        self.to(memory_format=torch.channels_last)

    @property
    def block_names(self) -> list[str]:
        return list(SLOTS)

    def _describe_mask(self) -> str:
        return self.mask.describe(full_mask())

    def forward_intermediates(
        self,
        x: torch.Tensor,
        arch: ChainArch | str | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the output of every block, in :attr:`block_names` order."""
        arch = self._arch(arch)
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        feats = []
        for choices, short, c in zip(self.blocks, self.shortcuts, arch.ops):
            h = self._block(choices, short, c, h)
            feats.append(h)
        return self._head(h), feats

    def forward(self, x: torch.Tensor, arch: ChainArch | str | None = None) -> torch.Tensor:
        arch = self._arch(arch)
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        for choices, short, c in zip(self.blocks, self.shortcuts, arch.ops):
            h = self._block(choices, short, c, h)
        return self._head(h)

    @staticmethod
    def _block(choices: nn.ModuleDict, short: nn.Module, c: str, h: torch.Tensor) -> torch.Tensor:
        if c == SKIP:
            return h
        y = choices[c](h)
        # the first block of a stage adds its shared projection of the input (the later blocks add
        # the input itself, inside InvertedResidual): every path has a trained route through it
        return y if isinstance(short, nn.Identity) else y + short(h)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))

    def shared_parameters(self) -> list[nn.Parameter]:
        """The stem, the stages' projection shortcuts and the classifier: every path uses them."""
        return list(self.stem.parameters()) + list(self.shortcuts.parameters()) + list(self.classifier.parameters())

    def choice_parameters(self, slot: str, choice: str | None = None) -> list[nn.Parameter]:
        """Parameters of ``choice``'s module in block ``slot`` (every choice's when None; ``'skip'``
        owns none)."""
        check_slot(slot)
        allowed = BLOCK_CHOICES[slot]
        if choice is not None and choice not in allowed:
            raise ValueError(f'unknown choice {choice!r:.40} for chain slot {slot!r}; choices are {allowed}')
        modules = self.blocks[SLOTS.index(slot)]
        names = allowed if choice is None else (choice,)
        return [p for c in names if c in modules for p in modules[c].parameters()]


def count_parameters(arch: ChainArch | str, **size: Any) -> int:
    """Parameters of the standalone network of ``arch`` (counted on the ``meta`` device)."""
    with torch.device('meta'):
        net = ChainSupernet(arch=arch, **size)
    return sum(p.numel() for p in net.parameters())
