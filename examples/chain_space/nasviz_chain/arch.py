"""The chain space's vocabulary: blocks (slots), their choices, and the architecture value.

A network is a stem, :data:`NUM_BLOCKS` searchable blocks in :data:`STAGES` stages, and a
classifier. Each block (slot ``'b0'`` ... ``'b5'``) is a MobileNetV2 inverted residual with a
depthwise kernel of 3, 5 or 7 and an expansion ratio of 3 or 6 (choice ``'k5_e6'``), or
``'skip'``. The first block of a stage changes the shape (stride or width), so only the later
blocks of a stage may be skipped, as in ProxylessNAS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from nasviz.spaces import check_assignment

#: blocks per stage and each stage's stride (the first block of a stage applies it)
STAGES: tuple[tuple[int, int], ...] = ((2, 1), (2, 2), (2, 2))
NUM_BLOCKS = sum(n for n, _ in STAGES)
SLOTS: tuple[str, ...] = tuple(f'b{i}' for i in range(NUM_BLOCKS))
KERNELS: tuple[int, ...] = (3, 5, 7)
EXPANSIONS: tuple[int, ...] = (3, 6)
MBCONV: tuple[str, ...] = tuple(f'k{k}_e{e}' for k in KERNELS for e in EXPANSIONS)
SKIP = 'skip'


def _stage_layout() -> tuple[tuple[int, int, bool], ...]:
    """``(stage, stride, first_of_stage)`` of every block."""
    out = []
    for s, (n, stride) in enumerate(STAGES):
        for j in range(n):
            out.append((s, stride if j == 0 else 1, j == 0))
    return tuple(out)


LAYOUT = _stage_layout()
#: the choices of every block: MBConv variants, plus ``'skip'`` where the block keeps its shape
BLOCK_CHOICES: dict[str, tuple[str, ...]] = {
    slot: MBCONV if first else MBCONV + (SKIP,) for slot, (_s, _st, first) in zip(SLOTS, LAYOUT)
}


def parse_choice(choice: str) -> tuple[int, int] | None:
    """``(kernel, expansion)`` of an MBConv choice; None for ``'skip'``."""
    if choice == SKIP:
        return None
    k, e = choice.split('_')
    return int(k[1:]), int(e[1:])


def check_slot(slot: Any) -> str:
    if slot not in BLOCK_CHOICES:
        raise ValueError(f'unknown chain slot {slot!r}; slots are {SLOTS}')
    return slot


@dataclass(frozen=True)
class ChainArch:
    """One choice per block, in block order (a small hashable value)."""

    ops: tuple[str, ...]
    space: ClassVar[str] = 'chain'

    def __post_init__(self) -> None:
        ops = self.ops
        if isinstance(ops, str) or not isinstance(ops, Sequence):
            raise ValueError(f'a chain architecture needs {NUM_BLOCKS} block choices, got {ops!r:.80}')
        ops = tuple(ops)
        if len(ops) != NUM_BLOCKS:
            raise ValueError(f'a chain architecture needs {NUM_BLOCKS} block choices, got {len(ops)}: {ops!r:.200}')
        for slot, c in zip(SLOTS, ops):
            if c not in BLOCK_CHOICES[slot]:
                raise ValueError(f'block {slot} cannot take {c!r:.40}; its choices are {BLOCK_CHOICES[slot]}')
        object.__setattr__(self, 'ops', ops)

    def choice(self, slot: str) -> str:
        return self.ops[SLOTS.index(check_slot(slot))]

    def __str__(self) -> str:
        return '|'.join(self.ops)

    @classmethod
    def from_str(cls, s: str) -> ChainArch:
        """Parse ``'k3_e6|k5_e3|...'`` (one choice per block, ``|``-separated)."""
        if not isinstance(s, str):
            raise ValueError(f'a chain architecture string must be a str, got {type(s).__name__}')
        if len(s) > 1000:
            raise ValueError(f'chain architecture string too long ({len(s)} characters)')
        parts = [p.strip() for p in s.strip().split('|')]
        if len(parts) != NUM_BLOCKS:
            raise ValueError(
                f'chain architecture string {s!r:.80} has {len(parts)} parts, expected '
                f'{NUM_BLOCKS} block choices separated by "|" '
                f'(e.g. {"|".join(MBCONV[:1] * NUM_BLOCKS)!r})'
            )
        return cls(tuple(parts))

    @classmethod
    def from_assignment(cls, assignment: Mapping[str, str]) -> ChainArch:
        check_assignment('chain', assignment, SLOTS)
        return cls(tuple(str(assignment[s]) for s in SLOTS))


def to_arch(arch: Any, name: str = 'arch') -> ChainArch:
    """``arch`` as a :class:`ChainArch` (a string is parsed; another space's value is refused)."""
    if isinstance(arch, ChainArch):
        return arch
    if isinstance(arch, str):
        return ChainArch.from_str(arch)
    space = getattr(arch, 'space', None)
    if space is not None and space != ChainArch.space:
        raise ValueError(f"{name} {arch!s:.80} belongs to space {space!r}, not 'chain'")
    raise ValueError(f'{name} must be a chain architecture or its string, got {type(arch).__name__}')
