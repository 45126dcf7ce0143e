"""The NAS-Bench-201 cell search space.

A cell is a DAG on 4 nodes; each of its 6 edges (0->1, 0->2, 1->2, 0->3, 1->3, 2->3) carries
one of 5 operations, so the space holds 5**6 = 15,625 cells. An :class:`Arch` is a small
hashable value (a tuple of op indices) kept apart from any network code. An :class:`OpMask`
restricts each edge to a subset of operations: a sub-supernet in few-shot NAS is one mask.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from nasviz.spaces.base import SlotMask
from nasviz.validate import check_count, check_int, short_repr

OPS: tuple[str, ...] = ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3')
#: (source node, target node) of each edge, in the order of the official cell string.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_NODES = 4
NUM_ARCHS = len(OPS) ** NUM_EDGES
#: short names, handy for plot labels
OP_ABBREV = {
    'none': 'none',
    'skip_connect': 'skip',
    'nor_conv_1x1': 'c1x1',
    'nor_conv_3x3': 'c3x3',
    'avg_pool_3x3': 'pool',
}
EDGE_NAMES: tuple[str, ...] = tuple(f'{a}->{b}' for a, b in EDGES)
#: One colour per operation for every figure that colours by op (Okabe-Ito colours,
#: distinguishable with the common colour-vision deficiencies). Keys: full op names.
OP_COLOURS: dict[str, str] = {
    'none': '#999999',  # grey: the zero op
    'skip_connect': '#0072B2',  # blue
    'nor_conv_1x1': '#E69F00',  # orange
    'nor_conv_3x3': '#D55E00',  # vermillion
    'avg_pool_3x3': '#009E73',  # green
}

_TOKEN = re.compile(r'^([A-Za-z0-9_]+)~(\d+)$')


def op_index(name: str) -> int:
    """Index of an operation name in :data:`OPS`; ``ValueError`` for an unknown name."""
    if not isinstance(name, str):
        raise TypeError(f'operation name must be a str, got {type(name).__name__} {short_repr(name)}')
    try:
        return OPS.index(name)
    except ValueError:
        raise ValueError(f'unknown NAS-Bench-201 operation {short_repr(name)}; expected one of {OPS}') from None


def _op(value: int | str, name: str) -> int:
    """An op given by index or name, checked: never truncated, never wrapped around."""
    if isinstance(value, str):
        return op_index(value)
    return check_int(value, name, 0, len(OPS) - 1)


def _edge(value: int, name: str = 'edge') -> int:
    """An edge index 0..5; negative indices are refused, not wrapped around."""
    return check_int(value, name, 0, NUM_EDGES - 1)


def _ops_tuple(value: object, name: str) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, '__iter__'):
        raise TypeError(
            f'{name} must be a sequence of {NUM_EDGES} op indices, got {type(value).__name__} {short_repr(value)}'
        )
    return tuple(value)


@dataclass(frozen=True, order=True)
class Arch:
    """One NAS-Bench-201 cell: the op index of each of the 6 edges, in :data:`EDGES` order."""

    op_idx: tuple[int, ...]
    #: the search space this architecture belongs to
    space: ClassVar[str] = 'nb201'

    def __post_init__(self) -> None:
        raw = _ops_tuple(self.op_idx, 'Arch op_idx')
        if len(raw) != NUM_EDGES:
            raise ValueError(
                f'Arch op_idx: a NAS-Bench-201 cell has {NUM_EDGES} edges, got {len(raw)} ops {short_repr(raw)}'
            )
        if all(type(i) is int and 0 <= i < len(OPS) for i in raw):  # the common case, fast
            idx = raw
        else:
            idx = tuple(
                check_int(i, f'Arch op_idx[{e}] (edge {EDGE_NAMES[e]})', 0, len(OPS) - 1) for e, i in enumerate(raw)
            )
        object.__setattr__(self, 'op_idx', idx)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_str(cls, s: str) -> Arch:
        """Parse the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        if not isinstance(s, str):
            raise ValueError(f'arch string must be a str, got {type(s).__name__}: {short_repr(s)}')
        text = s.strip()
        shown = short_repr(s)  # messages quote the argument, shortened when enormous
        nodes = text.split('+')
        if len(nodes) != NUM_NODES - 1:
            raise ValueError(
                f'arch string {shown} has {len(nodes)} node groups separated by "+", expected {NUM_NODES - 1}'
            )
        ops: list[int] = []
        for node, group in enumerate(nodes, start=1):
            if not (group.startswith('|') and group.endswith('|')) or len(group) < 2:
                raise ValueError(f'arch string {shown}: node {node} group {group!r} must look like |op~i|...|')
            tokens = group[1:-1].split('|')
            if len(tokens) != node:
                raise ValueError(
                    f'arch string {shown}: node {node} must have {node} incoming edge(s), got {len(tokens)} ({group!r})'
                )
            for expected_src, tok in enumerate(tokens):
                m = _TOKEN.match(tok)
                if m is None:
                    raise ValueError(f'arch string {shown}: malformed edge {tok!r}, expected op~input')
                name, src = m.group(1), int(m.group(2))
                if src != expected_src:
                    raise ValueError(
                        f'arch string {shown}: edge {tok!r} into node {node} must read from '
                        f'node {expected_src}, not {src}'
                    )
                ops.append(op_index(name))
        return cls(tuple(ops))

    @classmethod
    def from_ops(cls, names: Sequence[str]) -> Arch:
        """Build from 6 op names in edge order."""
        return cls(tuple(op_index(n) for n in names))

    @classmethod
    def from_index(cls, i: int) -> Arch:
        """The i-th cell of :func:`all_archs` (base-5 digits, edge 0 most significant)."""
        i = check_int(i, 'arch number i', 0, NUM_ARCHS - 1)
        digits = np.base_repr(i, base=len(OPS)).rjust(NUM_EDGES, '0')
        return cls(tuple(int(d) for d in digits))

    # -- views ----------------------------------------------------------------------------
    @property
    def ops(self) -> tuple[str, ...]:
        """The 6 op names in edge order."""
        return tuple(OPS[i] for i in self.op_idx)

    @property
    def number(self) -> int:
        """Position in :func:`all_archs` (not the official benchmark index)."""
        n = 0
        for i in self.op_idx:
            n = n * len(OPS) + i
        return n

    def __str__(self) -> str:
        groups, e = [], 0
        for node in range(1, NUM_NODES):
            toks = []
            for src in range(node):
                toks.append(f'{OPS[self.op_idx[e]]}~{src}')
                e += 1
            groups.append('|' + '|'.join(toks) + '|')
        return '+'.join(groups)

    def __repr__(self) -> str:
        return f"Arch('{self}')"

    def choice(self, slot: str) -> str:
        """The op on edge ``slot`` (an edge name such as ``'0->1'``)."""
        try:
            return OPS[self.op_idx[EDGE_NAMES.index(slot)]]
        except ValueError:
            raise ValueError(f'unknown nb201 slot {short_repr(slot)}; slots are {EDGE_NAMES}') from None

    def with_op(self, edge: int, op: int | str) -> Arch:
        """Copy with edge ``edge`` set to ``op`` (index or name)."""
        o = _op(op, 'op')
        idx = list(self.op_idx)
        idx[_edge(edge)] = o
        return Arch(tuple(idx))

    def live_edges(self) -> tuple[bool, ...]:
        """Which edges influence the cell output (not ``none`` and on a path 0 -> 3)."""
        return _live_edges(self.op_idx)

    @property
    def is_degenerate(self) -> bool:
        """True when no path carries the input to the output: the cell outputs zeros."""
        return not any(self.live_edges())

    def count(self, op: str) -> int:
        """How many edges carry ``op``."""
        return self.op_idx.count(op_index(op))


def _live_edges(op_idx: Sequence[int]) -> tuple[bool, ...]:
    none = OPS.index('none')
    present = [o != none for o in op_idx]
    reach_from_in = {0}
    for e, (a, b) in enumerate(EDGES):  # EDGES is topologically ordered by target
        if present[e] and a in reach_from_in:
            reach_from_in.add(b)
    reach_to_out = {NUM_NODES - 1}
    for e in reversed(range(NUM_EDGES)):
        a, b = EDGES[e]
        if present[e] and b in reach_to_out:
            reach_to_out.add(a)
    return tuple(present[e] and a in reach_from_in and b in reach_to_out for e, (a, b) in enumerate(EDGES))


def all_archs() -> Iterator[Arch]:
    """All 15,625 cells, in :attr:`Arch.number` order."""
    for idx in itertools.product(range(len(OPS)), repeat=NUM_EDGES):
        yield Arch(idx)


def canonical(arch: Arch) -> str:
    """A key equal for cells that compute the same function family.

    The cell output is written as an expression: ``x`` for the input, ``op(e)`` for an op applied
    to a node, sums as sorted multisets. ``skip_connect`` is the identity; ``none`` and every op
    applied to a zero node give zero, and zero terms drop out of sums, so edges that are ``none``
    or cannot reach the output leave no trace. Two cells with the same key are isomorphic; a
    degenerate cell (output always zero) has key ``'0'``.
    """
    if not isinstance(arch, Arch):
        raise ValueError(f'canonical() needs an Arch, got {type(arch).__name__}')
    # each node is a multiset of terms; skip_connect merges its input's terms into the sum
    nodes: list[list[str]] = [['x']]
    e = 0
    for node in range(1, NUM_NODES):
        terms: list[str] = []
        for src in range(node):
            op = OPS[arch.op_idx[e]]
            e += 1
            inp = nodes[src]
            if op == 'none' or not inp:
                continue
            if op == 'skip_connect':
                terms.extend(inp)
            else:
                terms.append(f'{OP_ABBREV[op]}(' + '+'.join(sorted(inp)) + ')')
        nodes.append(terms)
    return '+'.join(sorted(nodes[-1])) if nodes[-1] else '0'


# ---------------------------------------------------------------------------------------------
# Per-edge op masks (sub-supernets)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpMask:
    """Allowed op indices for each edge; the full space when every edge allows all 5 ops."""

    allowed: tuple[tuple[int, ...], ...]
    space: ClassVar[str] = 'nb201'

    def __post_init__(self) -> None:
        allowed = _ops_tuple(self.allowed, 'OpMask allowed')
        if len(allowed) != NUM_EDGES:
            raise ValueError(f'an OpMask needs {NUM_EDGES} edges, got {len(allowed)}')
        object.__setattr__(self, 'allowed', allowed)
        norm = []
        for e, ops in enumerate(self.allowed):
            name = f'OpMask allowed[{e}] (edge {EDGE_NAMES[e]})'
            ops = tuple(sorted({_op(o, name) for o in _ops_tuple(ops, name)}))
            if not ops:
                raise ValueError(f'OpMask: edge {e} ({EDGE_NAMES[e]}) allows no operation')
            norm.append(ops)
        object.__setattr__(self, 'allowed', tuple(norm))

    @classmethod
    def full(cls) -> OpMask:
        return cls(tuple(tuple(range(len(OPS))) for _ in range(NUM_EDGES)))

    @classmethod
    def single(cls, arch: Arch) -> OpMask:
        """The mask that contains exactly one cell."""
        return cls(tuple((o,) for o in arch.op_idx))

    def restrict(self, edge: int, ops: Iterable[int | str]) -> OpMask:
        """Copy with ``edge`` limited to ``ops`` (which must already be allowed)."""
        edge = _edge(edge)
        want = {_op(o, 'ops') for o in _ops_tuple(ops, 'ops')}
        if not want:
            raise ValueError(f'restrict: ops for edge {edge} is empty; a sub-supernet needs at least one op')
        extra = want - set(self.allowed[edge])
        if extra:
            raise ValueError(
                f'ops {sorted(OPS[o] for o in extra)} are not allowed on edge {edge} '
                f'of this mask ({[OPS[o] for o in self.allowed[edge]]})'
            )
        allowed = list(self.allowed)
        allowed[edge] = tuple(sorted(want))
        return OpMask(tuple(allowed))

    @property
    def size(self) -> int:
        """Number of cells inside the mask."""
        return int(np.prod([len(a) for a in self.allowed]))

    def contains(self, arch: Arch) -> bool:
        if not isinstance(arch, Arch):
            raise TypeError(f'OpMask.contains needs an Arch, got {type(arch).__name__} {short_repr(arch)}')
        return all(o in a for o, a in zip(arch.op_idx, self.allowed))

    __contains__ = contains

    def archs(self) -> Iterator[Arch]:
        for idx in itertools.product(*self.allowed):
            yield Arch(idx)

    def sample(self, rng: np.random.Generator | int | None = None) -> Arch:
        """One cell drawn uniformly from the mask."""
        rng = np.random.default_rng(rng)
        return Arch(tuple(int(a[rng.integers(len(a))]) for a in self.allowed))

    def describe(self) -> str:
        """Compact text, e.g. ``0->1:{c3x3,pool}`` for each restricted edge, or ``full``."""
        parts = [
            f'{EDGE_NAMES[e]}:{{' + ','.join(OP_ABBREV[OPS[o]] for o in a) + '}'
            for e, a in enumerate(self.allowed)
            if len(a) < len(OPS)
        ]
        return ' '.join(parts) if parts else 'full'

    def to_list(self) -> list[list[str]]:
        return [[OPS[o] for o in a] for a in self.allowed]

    def restrict_at(self, i: int, choices: Iterable[int | str]) -> OpMask:
        """:meth:`restrict` by edge position (the space-generic name)."""
        return self.restrict(i, choices)

    def choices_at(self, i: int) -> tuple[str, ...]:
        """Allowed op names of edge ``i`` (the space-generic view of ``allowed``)."""
        return tuple(OPS[o] for o in self.allowed[i])

    @classmethod
    def from_list(cls, ops: Sequence[Sequence[str]]) -> OpMask:
        return cls(tuple(tuple(op_index(o) for o in e) for e in ops))

    def to_slot_mask(self) -> SlotMask:
        """The same mask in the space-generic form (slots = edge names, choices = op names)."""
        return SlotMask('nb201', EDGE_NAMES, tuple(tuple(OPS[o] for o in a) for a in self.allowed))

    @classmethod
    def from_slot_mask(cls, mask: SlotMask | OpMask) -> OpMask:
        """An NB201 :class:`SlotMask` as an ``OpMask`` (an ``OpMask`` is returned as is)."""
        if isinstance(mask, OpMask):
            return mask
        if not isinstance(mask, SlotMask) or mask.space != 'nb201' or tuple(mask.slots) != EDGE_NAMES:
            raise ValueError(f'not a NAS-Bench-201 mask: {short_repr(mask)}')
        return cls(tuple(tuple(op_index(o) for o in a) for a in mask.allowed))


def sample_archs(
    n: int,
    mask: OpMask | SlotMask | None = None,
    rng: np.random.Generator | int | None = None,
    unique: bool = False,
    exclude_degenerate: bool = False,
) -> list[Arch]:
    """Draw ``n`` cells uniformly from ``mask`` (default: the whole space).

    ``unique`` draws distinct canonical cells (no two isomorphic), as a ground-truth sample
    should; ``exclude_degenerate`` drops cells whose output is always zero.
    """
    n = check_count(n, 'n')
    mask = OpMask.from_slot_mask(mask) if mask is not None else OpMask.full()
    rng = np.random.default_rng(rng)
    pool = list(mask.archs())
    if exclude_degenerate:
        pool = [a for a in pool if not a.is_degenerate]
    order = rng.permutation(len(pool))
    out, seen = [], set()
    for i in order:
        a = pool[i]
        if unique:
            key = canonical(a)
            if key in seen:
                continue
            seen.add(key)
        out.append(a)
        if len(out) == n:
            return out
    if len(out) < n:
        raise ValueError(
            f'asked for {n} cells but the mask holds only {len(out)} {"distinct " if unique else ""}candidates'
        )
    return out


def to_arch(a: Arch | str) -> Arch:
    """Accept an :class:`Arch` or an official string; another space's architecture is refused."""
    if isinstance(a, Arch):
        return a
    space = getattr(a, 'space', None)
    if isinstance(space, str) and space != 'nb201':
        raise ValueError(f"arch {short_repr(a)} belongs to space {space!r}, not 'nb201'")
    return Arch.from_str(a)
