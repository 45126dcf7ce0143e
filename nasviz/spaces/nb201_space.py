"""NAS-Bench-201 behind the search-space interface (:class:`nasviz.spaces.base.SearchSpace`).

Slots are the 6 edges (``'0->1'`` ... ``'2->3'``), choices the 5 operations; strings are the
official cell strings; the space is small enough to enumerate (15,625 cells).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from nasviz.profiles import Profile
from nasviz.spaces.base import SearchSpace, SlotMask, check_assignment
from nasviz.spaces.nb201 import EDGE_NAMES, OP_ABBREV, OP_COLOURS, OPS, Arch, OpMask, all_archs, canonical, sample_archs
from nasviz.spaces.nb201_formats import parse_nb201_spelling, to_naslib_nb201
from nasviz.spaces.nb201_network import NB201Supernet, arch_param_count
from nasviz.validate import check_count, short_repr

#: the network NAS-Bench-201 trained (CIFAR-10)
BENCHMARK_SIZE = dict(C=16, N=5, num_classes=10, in_channels=3)


class NB201Space(SearchSpace):
    name = 'nb201'
    slots = EDGE_NAMES
    arch_type = Arch
    slot_kind = 'edge'
    #: the project's first micro benchmark (``data/microbench_digits.csv``)
    micro_benchmark_file = 'microbench_digits.csv'
    #: how the micro benchmark's header names its networks
    micro_benchmark_model = 'NB201 standalone (affine BN)'
    # by run profile (nasviz.profiles): tiny C=8 N=1, small C=8 N=2, paper = the benchmark's network
    sizes = {
        'benchmark': BENCHMARK_SIZE,
        'tiny': dict(C=8, N=1, num_classes=10, in_channels=3),
        'small': dict(C=8, N=2, num_classes=10, in_channels=3),
        'paper': BENCHMARK_SIZE,
    }

    def choices(self, slot: str) -> tuple[str, ...]:
        if slot not in EDGE_NAMES:
            raise ValueError(f'unknown nb201 slot {short_repr(slot)}; slots are {EDGE_NAMES}')
        return OPS

    def to_str(self, arch: Any) -> str:
        return str(self.check(arch))

    def from_str(self, s: str) -> Arch:
        return Arch.from_str(s)

    def from_assignment(self, assignment: Mapping[str, str]) -> Arch:
        check_assignment('nb201', assignment, EDGE_NAMES)
        return Arch.from_ops([assignment[s] for s in EDGE_NAMES])

    def with_choice(self, arch: Any, slot: str, choice: str) -> Arch:
        arch = self.check(arch)
        if slot not in EDGE_NAMES:
            raise ValueError(f'unknown nb201 slot {short_repr(slot)}; slots are {EDGE_NAMES}')
        return arch.with_op(EDGE_NAMES.index(slot), choice)

    def check_mask(self, mask: SlotMask | OpMask | None) -> SlotMask | OpMask:  # type: ignore[override]  # NB201's own OpMask form is kept
        """The mask as given when it is an :class:`OpMask` (NB201's own form), else checked as a
        :class:`SlotMask` of this space."""
        return mask if isinstance(mask, OpMask) else super().check_mask(mask)

    def describe_mask(self, mask: SlotMask | OpMask) -> str:
        return mask.describe() if isinstance(mask, OpMask) else super().describe_mask(mask)

    def mask_from_list(self, allowed) -> OpMask:
        return OpMask.from_list(allowed)

    def root_mask(self) -> OpMask:
        return OpMask.full()

    def abbrev(self, choice: str) -> str:
        return OP_ABBREV.get(choice, choice)

    def slot_label(self, slot: str) -> str:
        return f'edge {slot}'

    def parse_spelling(self, text: str) -> Arch:
        return parse_nb201_spelling(text)

    def foreign_key(self, arch: Any, fmt: str) -> Any:
        if fmt != 'naslib':
            return super().foreign_key(arch, fmt)
        return to_naslib_nb201(arch)

    def op_colours(self) -> dict[str, str]:
        return dict(OP_COLOURS)

    def canonical(self, arch: Any) -> str:
        return canonical(self.check(arch))

    def is_degenerate(self, arch: Any) -> bool:
        return self.check(arch).is_degenerate

    def sample(
        self, n: int, mask: SlotMask | OpMask | None = None, rng: np.random.Generator | int | None = None
    ) -> list[Arch]:
        if isinstance(mask, SlotMask):
            self.check_mask(mask)
        op_mask = OpMask.from_slot_mask(mask) if mask is not None else OpMask.full()
        n = check_count(n, 'n')
        rng = np.random.default_rng(rng)
        return [op_mask.sample(rng) for _ in range(n)]

    def enumerate(self) -> Iterator[Arch]:
        return all_archs()

    def sample_distinct(
        self,
        n: int,
        mask: SlotMask | OpMask | None = None,
        rng: np.random.Generator | int | None = None,
        exclude_degenerate: bool = True,
    ) -> list[Arch]:
        """``n`` pairwise non-isomorphic cells (a ground-truth sample)."""
        return sample_archs(n, mask, rng, unique=True, exclude_degenerate=exclude_degenerate)

    def search_groups(self) -> Any:
        # imported here: the search implementation sits above the spaces (it imports nasviz.search)
        from nasviz.spaces.nb201_search import NB201Groups

        return NB201Groups()

    def build_supernet(self, mask: SlotMask | OpMask | None = None, **size: Any) -> NB201Supernet:
        kw = {**BENCHMARK_SIZE, **size}
        op_mask = OpMask.from_slot_mask(mask) if mask is not None else None
        return NB201Supernet(mask=op_mask, **kw)

    def build_network(self, arch: Any, **size: Any) -> NB201Supernet:
        kw = {**BENCHMARK_SIZE, **size}
        return NB201Supernet(arch=self.check(arch), **kw)

    def profile_size(self, settings: Profile) -> dict[str, Any]:
        """A run's ``size``, else the profile's ``C`` and ``N`` (the profiles are sized in NB201's
        terms)."""
        if settings.size:
            return self.check_size(settings.size)
        return dict(C=settings.C, N=settings.N)

    def param_count(self, arch: Any, **size: Any) -> int:
        """Parameters of ``arch``'s standalone network at ``size`` (default: the benchmark's),
        counting only the edges on a path from input to output."""
        return arch_param_count(self.check(arch), **{**BENCHMARK_SIZE, **size})
