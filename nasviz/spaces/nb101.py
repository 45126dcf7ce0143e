"""The NAS-Bench-101 cell search space (Ying et al. 2019): vocabulary only, no network code.

A cell is a DAG on at most 7 nodes: node 0 is the input, the last node the output, and each
interior node applies one of :data:`OPS`. The adjacency matrix is upper triangular (nodes are
numbered in topological order) with at most 9 edges. Nodes that lie on no path from input to
output are *pruned* (the benchmark's own rule): they cannot change the output.

An :class:`NB101Arch` is the pruned cell: a ``k x k`` adjacency matrix (``2 <= k <= 7``) and its
``k`` node labels, kept as tuples. It is built from any spec (pruned or not, e.g. the shared
table's 7-node matrices with up to 16 edges before pruning), so two specs that differ only in
dead nodes give equal values. Invalid specs are a ``ValueError`` that names the problem.

Slots (for masks, sub-supernets and per-choice analysis) view a cell in the fixed 7-node frame:
``node1``..``node5`` (choices :data:`OPS`) and the 21 edges ``'i->j'`` (choices ``'0'``, ``'1'``).
A pruned cell of ``k`` nodes occupies frame nodes ``1..k-2`` and the output ``6``; frame nodes
``k-1..5`` are absent: no edges, and their op slot reads :data:`ABSENT_OP` (a slot must name a
choice; an absent node computes nothing, see :func:`live_nodes`). Each cell therefore has
exactly one frame assignment, which is what lets rejection sampling be uniform over cells.

:func:`canonical` is an isomorphism-invariant hash of the pruned labelled graph: an iterated
refinement of node labels by their in- and out-neighbours' labels (Weisfeiler-Lehman style, the
kind of hash the benchmark uses to identify cells), written here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nasviz.spaces.base import SlotMask, check_assignment
from nasviz.validate import check_count, check_text_size, parse_json, short_repr

INPUT, OUTPUT = 'input', 'output'
OPS: tuple[str, ...] = ('conv1x1-bn-relu', 'conv3x3-bn-relu', 'maxpool3x3')
OP_ABBREV = {'conv1x1-bn-relu': 'c1x1', 'conv3x3-bn-relu': 'c3x3', 'maxpool3x3': 'pool'}
MAX_NODES = 7
MAX_EDGES = 9
#: interior node positions of the 7-node frame
INTERIOR = tuple(range(1, MAX_NODES - 1))
NODE_SLOTS: tuple[str, ...] = tuple(f'node{t}' for t in INTERIOR)
#: (source, target) of every edge of the 7-node frame, row-major
FRAME_EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(MAX_NODES) for j in range(i + 1, MAX_NODES))
EDGE_SLOTS: tuple[str, ...] = tuple(f'{i}->{j}' for i, j in FRAME_EDGES)
SLOTS: tuple[str, ...] = NODE_SLOTS + EDGE_SLOTS
EDGE_CHOICES: tuple[str, ...] = ('0', '1')
#: what the op slot of a frame node absent from the pruned cell reads
ABSENT_OP = OPS[1]

_STR_RE = re.compile(r'^\s*(\[.*\])\s*\|\s*([A-Za-z0-9_,\- ]+?)\s*$')


# ---------------------------------------------------------------------------------------------
# Checks and pruning on plain matrices
# ---------------------------------------------------------------------------------------------
def _find_cycle(m: np.ndarray) -> list[int] | None:
    """A directed cycle of adjacency matrix ``m`` as a node list, or None."""
    n = len(m)
    state = [0] * n  # 0 new, 1 on stack, 2 done
    stack: list[int] = []

    def visit(u: int) -> list[int] | None:
        state[u] = 1
        stack.append(u)
        for v in np.flatnonzero(m[u]).tolist():
            if state[v] == 1:
                return stack[stack.index(v) :] + [v]
            if state[v] == 0:
                found = visit(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for u in range(n):
        if state[u] == 0:
            found = visit(u)
            if found:
                return found
    return None


def _as_matrix(matrix: Any, name: str = 'matrix') -> np.ndarray:
    """``matrix`` as a square 0/1 int array of 2..7 nodes; ``ValueError`` naming what is wrong."""
    if isinstance(matrix, str):
        matrix = parse_json(matrix, f'{name} (a JSON list of rows)')
    try:
        m = np.asarray(matrix, dtype=object)
    except ValueError:  # ragged rows
        raise ValueError(f'{name} must be a square matrix (a list of equal rows), got {short_repr(matrix)}') from None
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f'{name} must be a square matrix, got shape {m.shape}: {short_repr(matrix)}')
    n = m.shape[0]
    if not 2 <= n <= MAX_NODES:
        raise ValueError(f'{name}: wrong size: a NAS-Bench-101 cell has 2 to {MAX_NODES} nodes, got a {n}x{n} matrix')
    flat = m.ravel().tolist()
    bad = [v for v in flat if not (isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1))]
    if bad:
        raise ValueError(f'{name}: entries must be 0 or 1, got {short_repr(bad[0])}')
    return np.array(flat, dtype=np.int64).reshape(n, n)


def _check_ops(ops: Any, n: int, name: str = 'ops') -> tuple[str, ...]:
    if isinstance(ops, str):
        ops = [o.strip() for o in ops.split(',')]
    if not hasattr(ops, '__iter__'):
        raise ValueError(f'{name} must be a sequence of node labels, got {short_repr(ops)}')
    ops = tuple(str(o).strip() if isinstance(o, str) else o for o in ops)
    if len(ops) != n:
        raise ValueError(f'{name}: wrong size: {len(ops)} node labels for a {n}-node matrix ({short_repr(ops)})')
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(
            f'{name}: the first label must be {INPUT!r} and the last {OUTPUT!r}, got '
            f'{short_repr(ops[0])} and {short_repr(ops[-1])}'
        )
    for t, o in enumerate(ops[1:-1], start=1):
        if o not in OPS:
            raise ValueError(f'{name}: unknown op {short_repr(o)} at node {t}; NAS-Bench-101 ops are {OPS}')
    return ops


def live_nodes(m: np.ndarray) -> list[int]:
    """Nodes on some path from the input (0) to the output (last), in order; ``[]`` when no
    path exists. ``m`` must be upper triangular."""
    n = len(m)
    fwd = np.zeros(n, bool)
    fwd[0] = True
    for j in range(1, n):
        fwd[j] = bool((m[:j, j].astype(bool) & fwd[:j]).any())
    bwd = np.zeros(n, bool)
    bwd[n - 1] = True
    for i in range(n - 2, -1, -1):
        bwd[i] = bool((m[i, i + 1 :].astype(bool) & bwd[i + 1 :]).any())
    return np.flatnonzero(fwd & bwd).tolist()


def prune(matrix: Any, ops: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Check a spec and return the pruned ``(matrix, ops)`` (nodes off every input-output path
    removed). ``ValueError`` for a wrong size, entries other than 0/1, a cycle, a matrix that is
    not upper triangular, an unknown op, no path from input to output, or more than 9 edges
    after pruning (a spec may hold more edges before pruning)."""
    m = _as_matrix(matrix)
    n = len(m)
    ops = _check_ops(ops, n)
    low = np.tril(m)
    if low.any():
        cyc = _find_cycle(m)
        if cyc is not None:
            raise ValueError('matrix has a cycle ' + ' -> '.join(map(str, cyc)) + '; a cell is a DAG')
        i, j = (int(v) for v in np.argwhere(low)[0])
        raise ValueError(
            f'matrix is not upper triangular: edge {i}->{j} points backwards '
            '(NAS-Bench-101 numbers nodes in topological order)'
        )
    keep = live_nodes(m)
    if not keep:
        raise ValueError(f'matrix has no path from the input (node 0) to the output (node {n - 1})')
    pm = m[np.ix_(keep, keep)]
    edges = int(pm.sum())
    if edges > MAX_EDGES:
        raise ValueError(f'matrix has {edges} edges after pruning; NAS-Bench-101 allows at most {MAX_EDGES}')
    return pm, tuple(ops[k] for k in keep)


# ---------------------------------------------------------------------------------------------
# The architecture value
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class NB101Arch:
    """One NAS-Bench-101 cell, pruned: ``matrix`` (``k x k`` 0/1 tuples) and ``ops`` (``k`` node
    labels, ``'input'`` first and ``'output'`` last). Any valid spec may be passed; it is pruned."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    #: the search space this architecture belongs to
    space: ClassVar[str] = 'nb101'

    if TYPE_CHECKING:  # the generated __init__ takes any valid spec; __post_init__ prunes it

        def __init__(self, matrix: Any, ops: Any) -> None: ...

    def __post_init__(self) -> None:
        pm, pops = prune(self.matrix, self.ops)
        object.__setattr__(self, 'matrix', tuple(tuple(int(v) for v in row) for row in pm))
        object.__setattr__(self, 'ops', pops)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_str(cls, s: str) -> NB101Arch:
        """Parse ``'<matrix as JSON rows>|<ops, comma separated>'`` (see :meth:`__str__`)."""
        if not isinstance(s, str):
            raise ValueError(f'nb101 arch string must be a str, got {type(s).__name__}: {short_repr(s)}')
        check_text_size(s, 'nb101 arch string')
        mt = _STR_RE.match(s)
        if mt is None:
            raise ValueError(
                f'nb101 arch string {short_repr(s)} must look like '
                '"[[0,1],[0,0]]|input,output" (matrix rows as JSON, "|", node labels)'
            )
        return cls(mt.group(1), mt.group(2))

    @classmethod
    def from_frame(cls, assignment: Mapping[str, str]) -> NB101Arch:
        """The cell of a 7-node frame assignment ``{slot: choice}`` (pruned)."""
        check_assignment('nb101', assignment, SLOTS)
        m = np.zeros((MAX_NODES, MAX_NODES), np.int64)
        for slot, (i, j) in zip(EDGE_SLOTS, FRAME_EDGES):
            c = assignment[slot]
            if c not in EDGE_CHOICES:
                raise ValueError(f'nb101 slot {slot!r}: choice must be "0" or "1", got {short_repr(c)}')
            m[i, j] = int(c)
        ops = (INPUT,) + tuple(assignment[s] for s in NODE_SLOTS) + (OUTPUT,)
        return cls(m, ops)

    # -- views ----------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def to_numpy(self) -> np.ndarray:
        return np.array(self.matrix, dtype=np.int64)

    def frame_node(self, t: int) -> int | None:
        """Index in the pruned cell of frame node ``t`` (``None`` when absent)."""
        k = len(self.ops)
        if t == 0:
            return 0
        if t == MAX_NODES - 1:
            return k - 1
        return t if 1 <= t <= k - 2 else None

    def choice(self, slot: str) -> str:
        """The choice on ``slot`` in the 7-node frame (see the module docstring)."""
        if slot in NODE_SLOTS:
            c = self.frame_node(int(slot[4:]))
            return ABSENT_OP if c is None else self.ops[c]
        if slot in EDGE_SLOTS:
            a, b = (self.frame_node(int(v)) for v in slot.split('->'))
            if a is None or b is None:
                return '0'
            return '1' if self.matrix[a][b] else '0'
        raise ValueError(
            f'unknown nb101 slot {short_repr(slot)}; slots are node1..node5 and edges "i->j" with 0 <= i < j <= 6'
        )

    def frame(self) -> dict[str, str]:
        """``{slot: choice}`` for every slot of the 7-node frame."""
        return {s: self.choice(s) for s in SLOTS}

    def __str__(self) -> str:
        rows = ','.join('[' + ','.join(map(str, r)) + ']' for r in self.matrix)
        return f'[{rows}]|' + ','.join(self.ops)

    def __repr__(self) -> str:
        return f"NB101Arch('{self}')"


def to_arch(a: NB101Arch | str) -> NB101Arch:
    """Accept an :class:`NB101Arch` or its string; another space's architecture is refused."""
    if isinstance(a, NB101Arch):
        return a
    if isinstance(a, str):
        return NB101Arch.from_str(a)
    space = getattr(a, 'space', None)
    if space is not None:
        raise ValueError(f"arch {short_repr(a)} belongs to space {space!r}, not 'nb101'")
    raise ValueError(f'arch must be an nb101 architecture or its string, got {type(a).__name__} {short_repr(a)}')


# ---------------------------------------------------------------------------------------------
# Isomorphism-invariant key
# ---------------------------------------------------------------------------------------------
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def canonical(arch: NB101Arch) -> str:
    """A key equal for isomorphic pruned cells (same labelled graph up to renumbering interior
    nodes). Node labels are refined ``k`` times by the sorted labels of their in- and
    out-neighbours; the key hashes the sorted final labels. Equal keys for non-isomorphic cells
    are possible in principle for any hash of this kind; none occurs in the shared table."""
    if not isinstance(arch, NB101Arch):
        raise ValueError(f'canonical() needs an NB101Arch, got {type(arch).__name__} {short_repr(arch)}')
    return _canonical(arch)


@lru_cache(maxsize=1 << 16)
def _canonical(arch: NB101Arch) -> str:
    m = arch.matrix
    k = len(arch.ops)
    ins = [[i for i in range(k) if m[i][j]] for j in range(k)]
    outs = [[j for j in range(k) if m[i][j]] for i in range(k)]
    labels = [_digest(o) for o in arch.ops]
    for _ in range(k):
        labels = [
            _digest(
                '|'.join(sorted(labels[i] for i in ins[v]))
                + '>'
                + labels[v]
                + '>'
                + '|'.join(sorted(labels[j] for j in outs[v]))
            )
            for v in range(k)
        ]
    return _digest(','.join(sorted(labels)))


# ---------------------------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------------------------
def _mask_tables(mask: SlotMask) -> list[np.ndarray]:
    """Allowed op indices of each interior node, then allowed 0/1 values of each frame edge."""
    return [np.array([OPS.index(c) for c in mask.allowed_for(s)]) for s in NODE_SLOTS] + [
        np.array([int(c) for c in mask.allowed_for(s)]) for s in EDGE_SLOTS
    ]


_ABSENT_IDX = OPS.index(ABSENT_OP)
_EI = np.array([i for i, _ in FRAME_EDGES])
_EJ = np.array([j for _, j in FRAME_EDGES])


def _normal_form(m: np.ndarray, op_idx: np.ndarray) -> bool:
    """True when the frame proposal ``(m, op_idx)`` is the frame assignment of a valid cell:
    live interior nodes are exactly ``1..k-2``, absent nodes carry no edge and read
    :data:`ABSENT_OP`, at most 9 edges, a path from input to output."""
    if m.sum() > MAX_EDGES:
        return False
    keep = live_nodes(m)
    if not keep:
        return False
    k = len(keep)
    if keep != list(range(k - 1)) + [MAX_NODES - 1]:
        return False
    dead = range(k - 1, MAX_NODES - 1)
    for t in dead:
        if m[t].any() or m[:, t].any() or op_idx[t - 1] != _ABSENT_IDX:
            return False
    return True


def _normal_forms(mats: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """:func:`_normal_form` over a batch (``mats``: ``B x 7 x 7``, ``ops``: ``B x 5``)."""
    n = MAX_NODES
    ok = mats.sum(axis=(1, 2)) <= MAX_EDGES
    adj = mats.astype(bool)
    fwd = np.zeros(mats.shape[:2], bool)
    fwd[:, 0] = True
    for j in range(1, n):
        fwd[:, j] = (adj[:, :j, j] & fwd[:, :j]).any(axis=1)
    bwd = np.zeros(mats.shape[:2], bool)
    bwd[:, n - 1] = True
    for i in range(n - 2, -1, -1):
        bwd[:, i] = (adj[:, i, i + 1 :] & bwd[:, i + 1 :]).any(axis=1)
    live = fwd & bwd
    ok &= live[:, 0] & live[:, n - 1]
    inner = live[:, 1 : n - 1]
    ok &= (inner[:, :-1] >= inner[:, 1:]).all(axis=1)  # live interior nodes come first
    deg = (adj.sum(axis=2) + adj.sum(axis=1))[:, 1 : n - 1]
    dead = ~inner
    ok &= ~(dead & (deg > 0)).any(axis=1)
    ok &= ~(dead & (ops != _ABSENT_IDX)).any(axis=1)
    return ok


def sample_archs(
    n: int, mask: SlotMask | None = None, rng: np.random.Generator | int | None = None, batch: int = 8192
) -> list[NB101Arch]:
    """``n`` valid cells drawn uniformly over the cells inside ``mask``, by rejection.

    Proposals are uniform over the product set of ``mask`` in the 7-node frame, drawn in batches
    of ``batch``; a proposal is kept when it is the frame assignment of a valid pruned cell
    (:func:`_normal_form`). Every cell has exactly one frame assignment, so the kept cells are
    uniform over the valid cells of the mask (labelled cells: isomorphic variants count
    separately). About 1 proposal in 400 is kept on the full space (2 ms a cell, vectorised).
    """
    n = check_count(n, 'n')
    batch = check_count(batch, 'batch')
    mask = full_mask() if mask is None else mask
    if not isinstance(mask, SlotMask) or mask.space != 'nb101' or tuple(mask.slots) != SLOTS:
        raise ValueError(f'not a NAS-Bench-101 mask: {short_repr(mask)}')
    possible = np.zeros((MAX_NODES, MAX_NODES), np.int64)
    for slot, (i, j) in zip(EDGE_SLOTS, FRAME_EDGES):
        possible[i, j] = int('1' in mask.allowed_for(slot))
    if not live_nodes(possible):
        raise ValueError(
            f'sample: no valid NAS-Bench-101 cell in the mask ({mask.describe()}): the edges it '
            'allows hold no path from the input to the output'
        )
    rng = np.random.default_rng(rng)
    # one table row per slot (choices padded by repetition), one draw of every slot per call
    allowed = _mask_tables(mask)
    sizes = np.array([len(a) for a in allowed])
    table = np.stack([np.resize(a, 3) for a in allowed])
    rows = np.arange(len(SLOTS))
    out: list[NB101Arch] = []
    tried = 0
    while len(out) < n:
        size = min(batch, max(1024, 600 * (n - len(out))))
        draw = table[rows, rng.integers(0, sizes, size=(size, len(SLOTS)))]
        ops = draw[:, : len(NODE_SLOTS)]
        mats = np.zeros((size, MAX_NODES, MAX_NODES), np.int8)
        mats[:, _EI, _EJ] = draw[:, len(NODE_SLOTS) :]
        for b in np.flatnonzero(_normal_forms(mats, ops)).tolist():
            out.append(NB101Arch(mats[b], (INPUT,) + tuple(OPS[o] for o in ops[b]) + (OUTPUT,)))
            if len(out) == n:
                break
        tried += size
        if not out and tried >= 2_000_000:
            raise ValueError(
                f'sample: no valid NAS-Bench-101 cell in {tried} proposals from the mask '
                f'({mask.describe()}); the mask admits (almost) no valid cell'
            )
    return out


def full_mask() -> SlotMask:
    """Every choice on every slot."""
    return SlotMask('nb101', SLOTS, tuple(OPS if s in NODE_SLOTS else EDGE_CHOICES for s in SLOTS))


def frame_mask(arch: NB101Arch) -> SlotMask:
    """The mask that holds exactly ``arch``."""
    return SlotMask('nb101', SLOTS, tuple((arch.choice(s),) for s in SLOTS))


def vertex_channels(matrix: Sequence[Sequence[int]], c_in: int, c_out: int) -> list[int]:
    """Channels of every node of a pruned cell under NAS-Bench-101's rule.

    The input has ``c_in`` channels and the output ``c_out``, the concatenation of the interior
    nodes that feed it: ``c_out`` is split evenly between them (the remainder goes one channel
    each to the first ones). Every other interior node takes the largest width among the
    interior nodes it feeds, so a width never grows along an edge and an edge between interior
    nodes only ever truncates channels.
    """
    m = matrix
    k = len(m)
    ch = [0] * k
    ch[0], ch[k - 1] = c_in, c_out
    if k == 2:
        return ch
    feeders = [v for v in range(1, k - 1) if m[v][k - 1]]
    base, extra = divmod(c_out, len(feeders))
    for rank, v in enumerate(feeders):
        ch[v] = base + (1 if rank < extra else 0)
    for v in range(k - 3, 0, -1):
        if not m[v][k - 1]:
            ch[v] = max(ch[d] for d in range(v + 1, k - 1) if m[v][d])
    if min(ch[1 : k - 1]) <= 0:
        raise ValueError(
            f'cell {short_repr(matrix)}: {c_out} output channels leave a node without channels '
            f'({ch}); use more channels'
        )
    return ch
