"""NAS-Bench-101 behind the search-space interface (:class:`nasviz.spaces.base.SearchSpace`).

Slots are the 5 interior node ops (``'node1'`` ... ``'node5'``) and the 21 edges of the 7-node
frame (``'0->1'`` ... ``'5->6'``, choices ``'0'``/``'1'``); strings are ``'<pruned matrix>|<ops>'``;
:meth:`NB101Space.canonical` is an isomorphism-invariant hash of the pruned labelled cell. The
space (423k distinct cells) is not enumerated: :meth:`NB101Space.sample` draws by rejection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nasviz.spaces.base import SearchSpace, SlotMask
from nasviz.spaces.nb101 import EDGE_CHOICES, EDGE_SLOTS, NODE_SLOTS, OPS, SLOTS, NB101Arch, canonical, sample_archs
from nasviz.spaces.nb101_network import NB101Network, arch_param_count
from nasviz.validate import short_repr

#: the network NAS-Bench-101 trained (CIFAR-10): stem 128 channels, 3 stacks of 3 cells
BENCHMARK_SIZE = dict(C=128, N=3, stacks=3, num_classes=10, in_channels=3)
_SIZE_KEYS = set(BENCHMARK_SIZE) | {'affine', 'track_running_stats', 'alloc', 'bn_momentum', 'design'}
#: the supernet's channel layout (:data:`nasviz.spaces.nb101_network.DESIGNS`): fixed widths and positions
SUPERNET_DESIGN = 'fixed_shortcut'


class NB101Space(SearchSpace):
    name = 'nb101'
    slots = SLOTS
    arch_type = NB101Arch
    # the tiny standalone network keeps the supernet's tensor shapes so supernet weights load by name;
    # its BN running statistics use torch's default momentum (0.1): the benchmark's decay 0.997 suits
    # 108 epochs, but after the few hundred steps of a micro-benchmark training the running
    # statistics are still mostly their initial values and eval-mode accuracy is near chance
    sizes = {
        'benchmark': {**BENCHMARK_SIZE, 'alloc': 'exact'},
        'tiny': dict(C=16, N=1, stacks=3, num_classes=10, in_channels=3, alloc='shared', bn_momentum=0.1),
    }
    #: the supernet's design (its cache keys record it: checkpoints of the earlier, benchmark-layout
    #: supernet have the same tensor shapes and must not be loaded into this one)
    supernet_tag = f'design={SUPERNET_DESIGN}'

    def choices(self, slot: str) -> tuple[str, ...]:
        if slot in NODE_SLOTS:
            return OPS
        if slot in EDGE_SLOTS:
            return EDGE_CHOICES
        raise ValueError(
            f'unknown nb101 slot {short_repr(slot)}; slots are {NODE_SLOTS} and edges "i->j" with 0 <= i < j <= 6'
        )

    def to_str(self, arch: Any) -> str:
        return str(self.check(arch))

    def from_str(self, s: str) -> NB101Arch:
        return NB101Arch.from_str(s)

    def from_assignment(self, assignment: Mapping[str, str]) -> NB101Arch:
        return NB101Arch.from_frame(assignment)

    def from_spec(self, matrix: Any, ops: Any) -> NB101Arch:
        """The cell of a NAS-Bench-101 spec (matrix as rows or JSON; ops as a list or a comma
        separated string), pruned."""
        return NB101Arch(matrix, ops)

    def canonical(self, arch: Any) -> str:
        return canonical(self.check(arch))

    def is_degenerate(self, arch: Any) -> bool:
        """Never: every valid cell has a path from input to output."""
        self.check(arch)
        return False

    def choice_usage(self, arch: Any) -> dict[tuple[str, str], int]:
        """1 for each (slot, choice) the cell takes, leaving out the op slots of absent nodes
        (they compute nothing; their slot reads a placeholder)."""
        arch = self.check(arch)
        k = arch.num_nodes
        return {(s, arch.choice(s)): 1 for s in self.slots if not (s in NODE_SLOTS and int(s[4:]) > k - 2)}

    def sample(
        self, n: int, mask: SlotMask | None = None, rng: np.random.Generator | int | None = None
    ) -> list[NB101Arch]:
        if mask is not None:
            self.check_mask(mask)
        return sample_archs(n, mask, rng)

    def _size(self, size: dict[str, Any], what: str) -> dict[str, Any]:
        extra = sorted(set(size) - _SIZE_KEYS)
        if extra:
            raise ValueError(f'nb101 {what}: unknown size argument(s) {extra}; known: {sorted(_SIZE_KEYS)}')
        return {**BENCHMARK_SIZE, **size}

    def build_supernet(self, mask: SlotMask | None = None, **size: Any) -> NB101Network:
        """The single-path supernet: by default every node at a fixed width and channel position,
        an output BN and a shortcut every cell shares (``design='fixed_shortcut'``; ``'fixed'``
        without the shortcut); ``design='benchmark'`` gives the earlier supernet whose single
        paths are the benchmark's networks (sliced weights; it hardly trains on sampled paths).
        See :mod:`nasviz.spaces.nb101_network`."""
        kw = {'design': SUPERNET_DESIGN, **self._size(size, 'build_supernet')}
        if kw.get('alloc', 'shared') != 'shared':
            raise ValueError(
                f"nb101 build_supernet: alloc must be 'shared' (got {kw['alloc']!r}); "
                "'exact' widths exist only for one cell"
            )
        return NB101Network(mask=self.check_mask(mask) if mask is not None else None, **kw)

    def param_count(self, arch: Any, **size: Any) -> int:
        """Parameters of ``arch``'s benchmark network at ``size`` (default: the benchmark's), whatever
        ``alloc`` and ``design``: the size of the cell, not of the tensors a shared-shape network
        or a supernet's single path holds."""
        kw = self._size(size, 'param_count')
        kw = {k: v for k, v in kw.items() if k in BENCHMARK_SIZE}
        return arch_param_count(self.check(arch), **kw)

    def build_network(self, arch: Any, **size: Any) -> NB101Network:
        """The standalone network of ``arch``; with no size arguments the benchmark's network
        (exact widths: its parameter count is the table's ``params_m``). ``design='fixed_shortcut'``
        or ``'fixed'`` gives a supernet's single path instead (:meth:`single_path_network`)."""
        kw = {'alloc': 'exact', **self._size(size, 'build_network')}
        return NB101Network(arch=self.check(arch), **kw)

    def single_path_network(self, arch: Any, **size: Any) -> NB101Network:
        """The standalone network that computes what ``build_supernet(**size)`` computes on
        ``arch`` (the supernet's design, tensors named as in the supernet)."""
        return self.build_network(arch, **{'design': SUPERNET_DESIGN, **size})
