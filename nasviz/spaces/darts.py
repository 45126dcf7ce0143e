"""The DARTS cell search space (Liu et al. 2019), as benchmarked by NAS-Bench-301.

An architecture is a *genotype*: a normal cell and a reduction cell. Each cell has two inputs
(node 0 and node 1: the outputs of the two previous cells) and four intermediate nodes 2..5. Node
``i`` sums two operations, each applied to an earlier node (an input index in ``0..i-1``); the two
inputs of a node are distinct (as in every DARTS genotype: the two strongest incoming edges) and
the cell's output concatenates nodes 2..5. A cell is written as DARTS writes it, 8 ``(op, input)``
pairs, pairs 1-2 feeding node 2, 3-4 node 3, and so on::

    [('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ...]

Slots (the decisions) are ``'<cell>.n<node>.in<p>'`` (the input of pair ``p`` of a node: choices
``'0'`` .. ``str(node - 1)``) and ``'<cell>.n<node>.op<p>'`` (its operation: one of :data:`OPS`;
DARTS's ``'none'`` is not a choice of a genotype), for ``cell`` in ``normal``/``reduce``, ``node``
in 2..5 and ``p`` in 0, 1: 32 slots.

The two pairs of a node are summed, so swapping them computes the same function:
:meth:`DartsArch.canonical` orders them (by input, then op). A cell has
``prod_i 49 * i * (i - 1)`` over nodes i = 2..5, about 1.7e10 ordered choices, so a genotype is one
of about 2.8e20: the space is sampled, never listed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasviz.spaces.base import SlotMask, check_assignment
from nasviz.validate import check_count, short_repr

#: the candidate operations of a genotype (DARTS's search space without ``'none'``)
OPS: tuple[str, ...] = (
    'max_pool_3x3',
    'avg_pool_3x3',
    'skip_connect',
    'sep_conv_3x3',
    'sep_conv_5x5',
    'dil_conv_3x3',
    'dil_conv_5x5',
)
OP_ABBREV: dict[str, str] = {
    'max_pool_3x3': 'max',
    'avg_pool_3x3': 'avg',
    'skip_connect': 'skip',
    'sep_conv_3x3': 'sep3',
    'sep_conv_5x5': 'sep5',
    'dil_conv_3x3': 'dil3',
    'dil_conv_5x5': 'dil5',
}
#: the two cell types of a genotype
CELL_TYPES: tuple[str, ...] = ('normal', 'reduce')
#: intermediate nodes (0 and 1 are the cell's inputs)
NODES: tuple[int, ...] = (2, 3, 4, 5)
#: (op, input) pairs per cell
NUM_PAIRS = 2 * len(NODES)
#: the 14 candidate edges of a cell, ``(input, node)``, in DARTS's order (node by node)
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for i in NODES for j in range(i))
EDGE_NAMES: tuple[str, ...] = tuple(f'{j}->{i}' for j, i in EDGES)
#: longest genotype string parsed (a real one is ~400 characters)
MAX_STR = 10_000


def _slot_names() -> tuple[str, ...]:
    out = []
    for cell in CELL_TYPES:
        for node in NODES:
            for p in (0, 1):
                out += [f'{cell}.n{node}.in{p}', f'{cell}.n{node}.op{p}']
    return tuple(out)


#: every slot, in a fixed order (cell, node, pair, input before op)
SLOTS: tuple[str, ...] = _slot_names()
#: slot -> (cell type, pair index 0..7, 'in' or 'op')
_SLOT_INFO: dict[str, tuple[str, int, str]] = {}
for _s in SLOTS:
    _cell, _node, _kind = _s.split('.')
    _SLOT_INFO[_s] = (_cell, 2 * (int(_node[1:]) - 2) + int(_kind[-1]), _kind[:2])
#: slot -> its choices
_CHOICES: dict[str, tuple[str, ...]] = {
    s: (OPS if kind == 'op' else tuple(str(j) for j in range(pair // 2 + 2)))
    for s, (_c, pair, kind) in _SLOT_INFO.items()
}


def parse_slot(slot: str) -> tuple[str, int, int, str]:
    """``(cell, node, pair-of-node, 'in'|'op')`` of a slot name; ``ValueError`` for an unknown one."""
    info = _SLOT_INFO.get(slot) if isinstance(slot, str) else None
    if info is None:
        raise ValueError(
            f'unknown darts slot {short_repr(slot)}; slots look like "normal.n2.in0", '
            f'"reduce.n5.op1" (cell normal/reduce, node 2-5, pair 0/1)'
        )
    cell, pair, kind = info
    return cell, pair // 2 + 2, pair % 2, kind


def slot_choices(slot: str) -> tuple[str, ...]:
    """The choices of one slot (input indices as strings, or op names)."""
    parse_slot(slot)
    return _CHOICES[slot]


Cell = tuple[tuple[str, int], ...]


def check_cell(pairs: Any, name: str = 'cell') -> Cell:
    """A cell as 8 ``(op, input)`` tuples, or ``ValueError`` naming the first problem: the wrong
    number of pairs, a pair that is not ``(op, input)``, an unknown op (``'none'`` included), an
    input index out of range for its node, or a node taking the same input twice."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise ValueError(
            f'{name} must be a list of {NUM_PAIRS} (op, input) pairs, got {type(pairs).__name__} {short_repr(pairs)}'
        )
    if len(pairs) != NUM_PAIRS:
        raise ValueError(
            f'{name} has {len(pairs)} (op, input) pairs, expected {NUM_PAIRS} (two per intermediate '
            f'node 2-5): {short_repr(pairs)}'
        )
    out = []
    for k, pair in enumerate(pairs):
        node = k // 2 + 2
        where = f'{name} pair {k + 1} (node {node})'
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f'{where} must be an (op, input) pair, got {short_repr(pair)}')
        op, inp = pair
        if not isinstance(op, str) or op not in OPS:
            hint = " ('none' is a DARTS search-time op, never part of a genotype)" if op == 'none' else ''
            raise ValueError(f'{where}: unknown op {short_repr(op)}{hint}; ops are {list(OPS)}')
        if isinstance(inp, (bool, np.bool_)) or not isinstance(inp, (int, np.integer)):
            raise ValueError(
                f'{where}: input must be an integer node index, got {type(inp).__name__} {short_repr(inp)}'
            )
        inp = int(inp)
        if not 0 <= inp < node:
            raise ValueError(f'{where}: input index {inp} is out of range; node {node} takes inputs 0..{node - 1}')
        out.append((op, inp))
    for node in NODES:
        a, b = out[2 * (node - 2)], out[2 * (node - 2) + 1]
        if a[1] == b[1]:
            raise ValueError(
                f'{name}: node {node} takes input {a[1]} twice ({a} and {b}); the two inputs of a '
                'node must be distinct, as in DARTS genotypes'
            )
    return tuple(out)


def _cell_str(cell: Cell) -> str:
    return '[' + ', '.join(f'({op!r}, {inp})' for op, inp in cell) + ']'


def parse_cell(s: Any, name: str = 'cell') -> Cell:
    """A cell from its DARTS string ``"[('sep_conv_3x3', 0), ...]"`` (as in the NAS-Bench-301 tables)."""
    if not isinstance(s, str):
        raise ValueError(
            f'{name} must be a string like "[(\'sep_conv_3x3\', 0), ...]", got {type(s).__name__} {short_repr(s)}'
        )
    text = s.strip()
    if not text:
        raise ValueError(f'{name} is an empty string; expected 8 (op, input) pairs like "[(\'sep_conv_3x3\', 0), ...]"')
    if len(text) > MAX_STR:
        raise ValueError(f'{name} is {len(text)} characters long; a DARTS cell string is a few hundred')
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f'{name} is not a list of (op, input) pairs: {short_repr(text)}') from None
    return check_cell(value, name)


@dataclass(frozen=True, order=True)
class DartsArch:
    """A DARTS genotype: normal and reduction cells of 8 ``(op, input)`` pairs each.

    Build it from the pairs (``DartsArch(normal=[...], reduce=[...])``; lists are accepted and
    stored as tuples), from its string (:meth:`from_str`) or from a ``{slot: choice}`` assignment
    (:meth:`from_assignment`). Every value that exists is valid; bad pairs raise ``ValueError``.
    """

    normal: Cell
    reduce: Cell
    #: the search space this architecture belongs to
    space: ClassVar[str] = 'darts'

    if TYPE_CHECKING:  # the generated __init__ takes any sequence of pairs; __post_init__ checks them

        def __init__(self, normal: Sequence[Any], reduce: Sequence[Any]) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, 'normal', check_cell(self.normal, 'normal cell'))
        object.__setattr__(self, 'reduce', check_cell(self.reduce, 'reduce cell'))

    # -- strings ------------------------------------------------------------------------------
    def __str__(self) -> str:
        return f'normal={_cell_str(self.normal)};reduce={_cell_str(self.reduce)}'

    def __repr__(self) -> str:
        return f'DartsArch({self})'

    @classmethod
    def from_str(cls, s: Any) -> DartsArch:
        """Parse ``'normal=[...];reduce=[...]'`` (:meth:`__str__`), or a DARTS ``Genotype(normal=[...],
        normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])`` string."""
        if not isinstance(s, str):
            raise ValueError(f'a darts genotype string is needed, got {type(s).__name__} {short_repr(s)}')
        text = s.strip()
        if len(text) > MAX_STR:
            raise ValueError(f'darts genotype string of {len(text)} characters; a real one is a few hundred')
        if text.startswith('Genotype('):
            return cls._from_genotype_call(text)
        m = re.fullmatch(r'normal\s*=\s*(\[.*\])\s*;\s*reduce\s*=\s*(\[.*\])', text, flags=re.S)
        if m is None:
            raise ValueError(
                f'not a darts genotype string: {short_repr(s)}; expected '
                '"normal=[(\'op\', input), ... 8 pairs];reduce=[... 8 pairs]"'
            )
        return cls(parse_cell(m.group(1), 'normal cell'), parse_cell(m.group(2), 'reduce cell'))

    @classmethod
    def _from_genotype_call(cls, text: str) -> DartsArch:
        try:
            call = ast.parse(text, mode='eval').body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise ValueError(f'not a DARTS Genotype(...) string: {short_repr(text)}') from None
        if not isinstance(call, ast.Call) or call.args:
            raise ValueError(f'a Genotype(...) string needs keyword arguments normal=, reduce=: {short_repr(text)}')
        kw: dict[str, Any] = {}
        for k in call.keywords:
            if k.arg in kw or k.arg is None:
                raise ValueError(f'Genotype argument {k.arg or "**"!r} is given twice: {short_repr(text)}')
            v = k.value
            if (
                k.arg.endswith('_concat')
                and isinstance(v, ast.Call)
                and isinstance(v.func, ast.Name)
                and v.func.id == 'range'
                and not v.keywords
                and 1 <= len(v.args) <= 2
                and all(isinstance(x, ast.Constant) and type(x.value) is int for x in v.args)
            ):
                bounds = [x.value for x in v.args if isinstance(x, ast.Constant) and isinstance(x.value, int)]
                kw[k.arg] = list(range(*bounds))  # as DARTS's own logs print it
                continue
            try:
                kw[k.arg] = ast.literal_eval(k.value)
            except (ValueError, SyntaxError, TypeError, RecursionError):
                raise ValueError(f'Genotype argument {k.arg!r} is not a literal: {short_repr(text)}') from None
        missing = [k for k in ('normal', 'reduce') if k not in kw]
        if missing:
            raise ValueError(f'Genotype string lacks {missing}: {short_repr(text)}')
        for c in ('normal_concat', 'reduce_concat'):
            if c in kw and list(kw[c]) != list(NODES):
                raise ValueError(f'{c}={kw[c]!r}: this space concatenates nodes {list(NODES)} in every cell')
        return cls(kw['normal'], kw['reduce'])

    # -- slots ---------------------------------------------------------------------------------
    def cell(self, cell_type: str) -> Cell:
        if cell_type == 'normal':
            return self.normal
        if cell_type == 'reduce':
            return self.reduce
        raise ValueError(f'unknown darts cell type {short_repr(cell_type)}; cell types are {list(CELL_TYPES)}')

    def choice(self, slot: str) -> str:
        """The choice of ``slot`` (``'normal.n3.in1'`` -> ``'2'``; ``'reduce.n2.op0'`` -> an op name)."""
        info = _SLOT_INFO.get(slot) if isinstance(slot, str) else None
        if info is None:
            parse_slot(slot)  # raises the message
        cell, pair, kind = info  # type: ignore[misc]
        op, inp = (self.normal if cell == 'normal' else self.reduce)[pair]
        return op if kind == 'op' else str(inp)

    def assignment(self) -> dict[str, str]:
        return {s: self.choice(s) for s in SLOTS}

    @classmethod
    def from_assignment(cls, choices: Mapping[str, Any]) -> DartsArch:
        """From ``{slot: choice}`` for all 32 slots (inputs as ``'0'``.. or ints)."""
        check_assignment('darts', choices, SLOTS)
        cells: dict[str, list[list[Any]]] = {c: [[None, None] for _ in range(NUM_PAIRS)] for c in CELL_TYPES}
        for s in SLOTS:
            cell, pair, kind = _SLOT_INFO[s]
            v = choices[s]
            if kind == 'in':
                text = str(v).strip()
                if isinstance(v, bool) or not (text.isascii() and text.isdigit()):
                    raise ValueError(
                        f'darts slot {s}: input must be a node index (ASCII digits 0-9), got {short_repr(v)}'
                    )
                cells[cell][pair][1] = int(text)
            else:
                cells[cell][pair][0] = v
        return cls(tuple(map(tuple, cells['normal'])), tuple(map(tuple, cells['reduce'])))

    def with_choice(self, slot: str, choice: str) -> DartsArch:
        """Copy with ``slot`` set to ``choice`` (``ValueError`` for an unknown choice, or when the
        node would take the same input twice)."""
        cell, node, p, kind = parse_slot(slot)
        if not isinstance(choice, str) or choice not in _CHOICES[slot]:
            raise ValueError(
                f'unknown choice {short_repr(choice)} for darts slot {slot!r}; choices are {list(_CHOICES[slot])}'
            )
        pairs = list(self.cell(cell))
        k = 2 * (node - 2) + p
        op, inp = pairs[k]
        pairs[k] = (choice, inp) if kind == 'op' else (op, int(choice))
        return DartsArch(pairs, self.reduce) if cell == 'normal' else DartsArch(self.normal, pairs)

    # -- structure -----------------------------------------------------------------------------
    def canonical(self) -> DartsArch:
        """The same genotype with each node's two pairs ordered (by input, then op): swapping the
        two summands of a node does not change the function."""

        def order(cell: Cell) -> Cell:
            out: list[tuple[str, int]] = []
            for k in range(0, NUM_PAIRS, 2):
                a, b = cell[k], cell[k + 1]
                out += sorted((a, b), key=lambda pr: (pr[1], OPS.index(pr[0])))
            return tuple(out)

        return DartsArch(order(self.normal), order(self.reduce))

    def edges(self, cell_type: str) -> list[tuple[int, int, str]]:
        """``(input, node, op)`` for the 8 edges the cell uses, in pair order."""
        return [(inp, k // 2 + 2, op) for k, (op, inp) in enumerate(self.cell(cell_type))]

    def op_counts(self) -> dict[str, int]:
        """How often each op occurs over both cells."""
        counts = dict.fromkeys(OPS, 0)
        for op, _ in self.normal + self.reduce:
            counts[op] += 1
        return counts


def to_arch(arch: Any, name: str = 'arch') -> DartsArch:
    """``arch`` as a :class:`DartsArch`: a string is parsed; an architecture of another space, or
    anything else, is a ``ValueError`` naming it."""
    if isinstance(arch, DartsArch):
        return arch
    if isinstance(arch, str):
        return DartsArch.from_str(arch)
    space = getattr(arch, 'space', None)
    if space is not None and space != DartsArch.space:
        raise ValueError(f"{name} {short_repr(arch)} belongs to space {space!r}, not 'darts'")
    raise ValueError(
        f'{name} must be a darts architecture (DartsArch) or its string, got {type(arch).__name__} {short_repr(arch)}'
    )


def _mask_groups(mask: SlotMask) -> list[tuple[str, int, list[int], list[str], list[int], list[str]]]:
    """Per node: (cell, node, allowed inputs of pair 0, ops of pair 0, inputs of pair 1, ops of pair 1)."""
    allowed = dict(zip(mask.slots, mask.allowed))
    out = []
    for cell in CELL_TYPES:
        for node in NODES:
            p = f'{cell}.n{node}.'
            out.append(
                (
                    cell,
                    node,
                    [int(c) for c in allowed[p + 'in0']],
                    list(allowed[p + 'op0']),
                    [int(c) for c in allowed[p + 'in1']],
                    list(allowed[p + 'op1']),
                )
            )
    return out


def sample_archs(
    n: int, mask: SlotMask | None = None, rng: np.random.Generator | int | None = None, max_tries: int = 10_000
) -> list[DartsArch]:
    """``n`` genotypes drawn uniformly from the valid ones inside ``mask`` (default: all).

    Rejection sampling: each slot draws uniformly from its allowed choices and a draw whose node
    takes the same input twice is drawn again. The only constraint is within a node, so the valid
    set is a product over nodes and redrawing one node at a time is exactly uniform over it (and
    ~25x cheaper than redrawing whole genotypes).
    """
    n = check_count(n, 'n')
    rng = np.random.default_rng(rng)
    mask = SlotMask(DartsArch.space, SLOTS, tuple(_CHOICES[s] for s in SLOTS)) if mask is None else mask
    groups = _mask_groups(mask)
    out = []
    for _ in range(n):
        cells: dict[str, list[tuple[str, int]]] = {c: [] for c in CELL_TYPES}
        for cell, node, in0, op0, in1, op1 in groups:
            for _t in range(max_tries):
                a, oa, b, ob = rng.integers([len(in0), len(op0), len(in1), len(op1)])
                if in0[a] != in1[b]:
                    break
            else:
                raise ValueError(
                    f'sample: the mask lets node {node} of the {cell} cell take no two distinct '
                    f'inputs (pair 0 from {in0}, pair 1 from {in1})'
                )
            cells[cell] += [(op0[oa], in0[a]), (op1[ob], in1[b])]
        out.append(DartsArch(tuple(cells['normal']), tuple(cells['reduce'])))
    return out
