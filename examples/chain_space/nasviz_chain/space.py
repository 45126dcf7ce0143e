"""The chain space behind nasviz's search-space interface."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from nasviz.spaces.base import SearchSpace, SlotMask
from nasviz_chain.arch import BLOCK_CHOICES, SLOTS, ChainArch, check_slot
from nasviz_chain.network import ChainSupernet, count_parameters

#: a MobileNetV2-like CIFAR network (32x32 inputs)
BENCHMARK_SIZE = dict(stem=16, widths=(24, 40, 80), num_classes=10, in_channels=3)
_SIZE_KEYS = set(BENCHMARK_SIZE) | {'stem_stride'}

_ABBREV = {'skip': 'skip', **{f'k{k}_e{e}': f'{k}x{k}e{e}' for k in (3, 5, 7) for e in (3, 6)}}


class ChainSpace(SearchSpace):
    """A ProxylessNAS-like chain of inverted-residual blocks (:mod:`nasviz_chain.arch`)."""

    name = 'chain'
    slots = SLOTS
    arch_type = ChainArch
    # tiny: 16x16 digits, a stride-2 stem, stages of 8, 12 and 16 channels (8x8, 4x4, 2x2): a
    # training step of 64 images takes ~33 CPU-ms on average over sampled architectures (the
    # depthwise convolutions' backward dominates; narrower stages hardly save time, and a stride-1
    # stem costs 2.5x)
    sizes = {
        'benchmark': BENCHMARK_SIZE,
        'tiny': dict(stem=8, widths=(8, 12, 16), stem_stride=2, num_classes=10, in_channels=3),
        'small': dict(stem=16, widths=(16, 24, 48), num_classes=10, in_channels=3),
    }

    def choices(self, slot: str) -> tuple[str, ...]:
        return BLOCK_CHOICES[check_slot(slot)]

    def to_str(self, arch: Any) -> str:
        return str(self.check(arch))

    def from_str(self, s: str) -> ChainArch:
        return ChainArch.from_str(s)

    def from_assignment(self, assignment: Mapping[str, str]) -> ChainArch:
        return ChainArch.from_assignment(assignment)

    def canonical(self, arch: Any) -> str:
        """Every architecture computes its own function (a chain has no isomorphic twins)."""
        return str(self.check(arch))

    def abbrev(self, choice: str) -> str:
        return _ABBREV.get(choice, choice)

    def sample(
        self, n: int, mask: SlotMask | None = None, rng: np.random.Generator | int | None = None
    ) -> list[ChainArch]:
        mask = self.check_mask(mask)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f'n must be a non-negative integer, got {n!r:.40}')
        rng = np.random.default_rng(rng)
        return [ChainArch(tuple(a[int(rng.integers(len(a)))] for a in mask.allowed)) for _ in range(int(n))]

    def enumerate(self) -> Iterator[ChainArch]:
        return (ChainArch(ops) for ops in itertools.product(*(BLOCK_CHOICES[s] for s in SLOTS)))

    def _size(self, size: Mapping[str, Any], what: str) -> dict[str, Any]:
        extra = sorted(set(size) - _SIZE_KEYS)
        if extra:
            raise ValueError(f'chain {what}: unknown size argument(s) {extra}; known: {sorted(_SIZE_KEYS)}')
        return {**BENCHMARK_SIZE, **size}

    def build_supernet(self, mask: SlotMask | None = None, **size: Any) -> ChainSupernet:
        return ChainSupernet(mask=None if mask is None else self.check_mask(mask), **self._size(size, 'build_supernet'))

    def build_network(self, arch: Any, **size: Any) -> ChainSupernet:
        return ChainSupernet(arch=self.check(arch), **self._size(size, 'build_network'))

    def param_count(self, arch: Any, **size: Any) -> int:
        """Parameters of ``arch``'s standalone network at ``size`` (default: the benchmark's)."""
        return count_parameters(self.check(arch), **self._size(size, 'param_count'))
