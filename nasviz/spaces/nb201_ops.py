"""Operations and blocks of the NAS-Bench-201 macro skeleton, built by name."""

from __future__ import annotations

import torch
from torch import nn

from nasviz.spaces.nb201 import OPS


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv -> BN, the 'nor_conv' ops of NAS-Bench-201."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The 'none' op; cells skip it, so it only runs when called directly."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def get_op(name: str, C: int, affine: bool = True, track_running_stats: bool = True) -> nn.Module:
    """Build one cell operation (stride 1, C -> C channels) by its NAS-Bench-201 name."""
    if name == 'none':
        return Zero()
    if name == 'skip_connect':
        return nn.Identity()
    if name == 'nor_conv_1x1':
        return ReLUConvBN(C, C, 1, 1, 0, affine, track_running_stats)
    if name == 'nor_conv_3x3':
        return ReLUConvBN(C, C, 3, 1, 1, affine, track_running_stats)
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f'unknown operation {name!r}; expected one of {OPS}')


class ResNetBasicBlock(nn.Module):
    """The fixed reduction block between stages: two 3x3 ReLUConvBN (stride 2, then 1)
    plus an avg-pool + 1x1 conv shortcut, halving resolution and doubling channels."""

    def __init__(
        self, c_in: int, c_out: int, stride: int = 2, affine: bool = True, track_running_stats: bool = True
    ) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, affine, track_running_stats)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)
