"""The DARTS / NAS-Bench-301 space behind the search-space interface
(:class:`nasviz.spaces.base.SearchSpace`).

Slots are each intermediate node's two inputs and two ops in the normal and the reduction cell
(``'normal.n2.in0'``, ``'normal.n2.op0'``, ... ``'reduce.n5.op1'``: 32 slots); strings are
``'normal=[...];reduce=[...]'`` with each cell in the DARTS genotype format of the NAS-Bench-301
tables. The space (~2.8e20 genotypes) is sampled, never enumerated. ``build_network(arch)`` with no
size arguments is the network NAS-Bench-301 trained (C=32, 8 cells, 10 classes), whose parameter
count reproduces the table's ``params_m``. ``build_supernet()`` uses the supernet design
:data:`SUPERNET_DESIGN` (:mod:`nasviz.spaces.darts_network`: a BN of each cell position on the
cell's output and a shortcut every path shares, chosen because it trains on sampled paths where
the benchmark's cell does not; figures in the README, 'DARTS / NAS-Bench-301 space');
``single_path_network(arch)`` is the standalone network a single path of it equals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nasviz.spaces.base import SearchSpace, SlotMask
from nasviz.spaces.darts import SLOTS, DartsArch, sample_archs, slot_choices
from nasviz.spaces.darts_network import DartsSupernet

#: the network NAS-Bench-301 trained on CIFAR-10
BENCHMARK_SIZE = dict(C=32, layers=8, num_classes=10, in_channels=3)
#: the supernet's design (:data:`nasviz.spaces.darts_network.DESIGNS`), measured in the README
SUPERNET_DESIGN = 'out_bn_shortcut'


class DartsSpace(SearchSpace):
    name = 'darts'
    slots = SLOTS
    arch_type = DartsArch
    sizes = {
        'benchmark': BENCHMARK_SIZE,
        # reductions at cells 1 and 2: 16x16 inputs end at 4x4. C=4: a standalone training of the
        # micro benchmark's recipe takes ~10 CPU-s instead of ~24 at C=8 (depthwise-conv
        # backward dominates on CPU), and cells still reach 65-75% on the digits (67-72% on three
        # sampled cells, against 73-78% at C=8)
        'tiny': dict(C=4, layers=3, num_classes=10, in_channels=3),
    }
    #: the supernet's design: cache keys record it, so checkpoints of the earlier (benchmark-cell)
    #: supernet, whose tensors are a subset of this one's, are not loaded into it
    supernet_tag = f'design={SUPERNET_DESIGN}'

    def choices(self, slot: str) -> tuple[str, ...]:
        return slot_choices(slot)

    def to_str(self, arch: Any) -> str:
        return str(self.check(arch))

    def from_str(self, s: str) -> DartsArch:
        return DartsArch.from_str(s)

    def canonical(self, arch: Any) -> str:
        return str(self.check(arch).canonical())

    def sample(
        self, n: int, mask: SlotMask | None = None, rng: np.random.Generator | int | None = None
    ) -> list[DartsArch]:
        mask = self.check_mask(mask)
        return sample_archs(n, mask, rng)

    def from_assignment(self, assignment: Mapping[str, str]) -> DartsArch:
        return DartsArch.from_assignment(assignment)

    def with_choice(self, arch: Any, slot: str, choice: str) -> DartsArch:
        """Copy of ``arch`` with ``slot`` set to ``choice``; ``ValueError`` when that makes a node
        take the same input twice (the other pair of the node already reads ``choice``)."""
        return self.check(arch).with_choice(slot, choice)

    def search_groups(self) -> Any:
        # imported here: the search implementation sits above the spaces (it imports nasviz.search)
        from nasviz.search.groups import DartsGroups

        return DartsGroups()

    def build_supernet(self, mask: SlotMask | None = None, **size: Any) -> DartsSupernet:
        """The single-path supernet, by default of design :data:`SUPERNET_DESIGN`
        (``design='benchmark'``: cells as NAS-Bench-301's, the earlier supernet)."""
        mask = None if mask is None else self.check_mask(mask)
        return DartsSupernet(mask=mask, **{'design': SUPERNET_DESIGN, **BENCHMARK_SIZE, **size})

    def build_network(self, arch: Any, **size: Any) -> DartsSupernet:
        """The standalone network of ``arch``: with no size arguments the NAS-Bench-301 network
        (its parameter count is the table's ``params_m``); ``design=`` gives a supernet design's
        single path instead (:meth:`single_path_network`)."""
        return DartsSupernet(arch=self.check(arch), **{**BENCHMARK_SIZE, **size})

    def single_path_network(self, arch: Any, **size: Any) -> DartsSupernet:
        """The standalone network that computes what ``build_supernet(**size)`` computes on
        ``arch`` (the supernet's design; tensor names as in the supernet)."""
        return self.build_network(arch, **{'design': SUPERNET_DESIGN, **size})
