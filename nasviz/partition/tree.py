"""The tree of sub-supernets produced by successive slot splits.

The root holds a mask of one search space (by default the whole NB201 space). Splitting a leaf
at a slot (an NB201 edge, an NB101 node op, a DARTS node input...) into groups of choices creates
one child per group, each with the parent's mask restricted on that slot, so the leaves always
partition the root's architectures: every architecture lies in exactly one leaf. ``split_edge``
is the split slot's position in ``space.slots`` (the name kept from the NB201-only days).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from nasviz.io import atomic_write_text
from nasviz.spaces import Architecture, SearchSpace, SlotMask, get_space

__all__ = ['PartitionNode', 'PartitionTree']

_FORMAT = 'nasviz.PartitionTree'
_VERSION = 1


def _choice_name(space: SearchSpace, slot: str, op: int | str) -> str:
    """A choice of ``slot`` from its name, its abbreviation (NB201: ``c3x3``) or its index in
    ``space.choices(slot)``."""
    choices = space.choices(slot)
    if isinstance(op, str):
        return space.parse_choice(slot, op)
    if isinstance(op, bool) or not 0 <= int(op) < len(choices):
        raise ValueError(f'op index {op!r} out of range 0..{len(choices) - 1}')
    return choices[int(op)]


def _edge_idx(space: SearchSpace, edge: int | str) -> int:
    slots = space.slots
    if isinstance(edge, str):
        if edge not in slots:
            raise ValueError(f'unknown edge {edge!r}; expected one of {slots} or 0..{len(slots) - 1}')
        return slots.index(edge)
    if isinstance(edge, bool) or not 0 <= int(edge) < len(slots):
        raise ValueError(f'edge {edge!r} out of range 0..{len(slots) - 1}')
    return int(edge)


@dataclass
class PartitionNode:
    """One sub-supernet.

    ``split_edge`` and ``group`` say how this node was made: its parent was split at
    ``split_edge`` and this child keeps the ops ``group`` there (both None for the root).
    ``children`` lists child ids once the node itself is split; ``info`` holds free,
    JSON-serialisable notes (e.g. the split scores).
    """

    node_id: str
    parent_id: str | None
    depth: int
    mask: SlotMask
    split_edge: int | None = None
    group: tuple[str, ...] | None = None
    children: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def size(self) -> int:
        """Number of cells in the sub-supernet."""
        return self.mask.size

    def to_dict(self) -> dict[str, Any]:
        return dict(
            node_id=self.node_id,
            parent_id=self.parent_id,
            depth=self.depth,
            mask=self.mask.to_list(),
            split_edge=self.split_edge,
            group=None if self.group is None else list(self.group),
            children=list(self.children),
            info=self.info,
        )


class PartitionTree:
    """A tree of sub-supernets; build with :meth:`root`, grow with :meth:`split`."""

    def __init__(
        self, mask: SlotMask | None = None, root_id: str = '0', space: str | SearchSpace | None = None
    ) -> None:
        if mask is None:
            self.space = get_space(space or 'nb201')
            mask = self.space.root_mask()
        else:
            if not isinstance(getattr(mask, 'space', None), str):
                raise ValueError(f'mask must be a mask of a search space (a SlotMask), got {type(mask).__name__}')
            self.space = get_space(mask.space)
            mask = self.space.check_mask(mask)
            if space is not None and get_space(space).name != self.space.name:
                raise ValueError(f'mask of space {mask.space!r} given for a tree of space {get_space(space).name!r}')
        self.root_id = str(root_id)
        self.nodes: dict[str, PartitionNode] = {self.root_id: PartitionNode(self.root_id, None, 0, mask)}

    @classmethod
    def root(cls, mask: SlotMask | None = None, space: str | SearchSpace | None = None) -> PartitionTree:
        """A tree holding only its root, over ``mask`` (default: the whole ``space``, NB201)."""
        return cls(mask, space=space)

    # -- access ---------------------------------------------------------------------------
    def __getitem__(self, node_id: str) -> PartitionNode:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise KeyError(f'no node {node_id!r} in the tree (nodes: {list(self.nodes)})') from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[PartitionNode]:
        """Nodes in depth-first order, children in split order."""
        stack = [self.root_id]
        while stack:
            node = self.nodes[stack.pop()]
            yield node
            stack.extend(reversed(node.children))

    def __repr__(self) -> str:
        return f'PartitionTree(n_nodes={len(self)}, n_leaves={self.n_leaves}, depth={self.depth})'

    @property
    def root_node(self) -> PartitionNode:
        return self.nodes[self.root_id]

    @property
    def n_leaves(self) -> int:
        return sum(1 for n in self.nodes.values() if n.is_leaf)

    @property
    def depth(self) -> int:
        return max(n.depth for n in self.nodes.values())

    def leaves(self) -> list[PartitionNode]:
        """Leaves in depth-first order."""
        return [n for n in self if n.is_leaf]

    def children(self, node_id: str) -> list[PartitionNode]:
        return [self.nodes[c] for c in self[node_id].children]

    # -- growth ---------------------------------------------------------------------------
    def split(
        self,
        node_id: str,
        edge: int | str,
        groups: Sequence[Iterable[int | str]],
        info: Mapping[str, Any] | None = None,
        child_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Split leaf ``node_id`` at ``edge`` into one child per group of ops.

        Ops may be indices, names or abbreviations. The groups must partition the ops the
        node allows on ``edge`` exactly, with at least two groups; else ``ValueError``.
        ``info`` is stored on the parent. Child ids default to ``f'{node_id}.{i}'``.
        Returns the child ids.
        """
        node = self[node_id]
        if not node.is_leaf:
            raise ValueError(f'node {node_id!r} is already split (children {node.children})')
        space = self.space
        e = _edge_idx(space, edge)
        slot = space.slots[e]
        order = {c: i for i, c in enumerate(space.choices(slot))}
        rank: Callable[[str], Any] = order.get  # the slot's choice order
        allowed = set(node.mask.choices_at(e))
        idx_groups: list[tuple[str, ...]] = []
        seen: set[str] = set()
        for g in groups:
            if isinstance(g, (str, int)):
                raise ValueError(f'each group must be a collection of ops, got {g!r}')
            ops = [_choice_name(space, slot, o) for o in g]
            if not ops:
                raise ValueError('split groups must be non-empty')
            dup = seen.intersection(ops) | {o for o in ops if ops.count(o) > 1}
            if dup:
                raise ValueError(f'ops {sorted(dup, key=rank)} appear in more than one group')
            seen.update(ops)
            idx_groups.append(tuple(sorted(ops, key=rank)))
        if len(idx_groups) < 2:
            raise ValueError(f'a split needs at least 2 groups, got {len(idx_groups)}')
        if seen != allowed:
            extra, missing = seen - allowed, allowed - seen
            raise ValueError(
                f'groups must partition the ops allowed on edge {e} ({slot}) of node '
                f'{node_id!r}: {sorted(allowed, key=rank)}'
                + (f'; not allowed there: {sorted(extra, key=rank)}' if extra else '')
                + (f'; missing: {sorted(missing, key=rank)}' if missing else '')
            )
        ids = [f'{node_id}.{i}' for i in range(len(idx_groups))] if child_ids is None else [str(c) for c in child_ids]
        if len(ids) != len(idx_groups) or len(set(ids)) != len(ids):
            raise ValueError(f'need {len(idx_groups)} distinct child ids, got {list(ids)}')
        clash = [c for c in ids if c in self.nodes]
        if clash:
            raise ValueError(f'node ids {clash} already exist')
        for cid, g in zip(ids, idx_groups):
            self.nodes[cid] = PartitionNode(
                cid, node_id, node.depth + 1, node.mask.restrict_at(e, g), split_edge=e, group=tuple(g)
            )
        node.children = list(ids)
        if info:
            node.info.update(dict(info))
        return list(ids)

    # -- lookup ---------------------------------------------------------------------------
    def leaf_for(self, arch: Architecture | str) -> PartitionNode:
        """The unique leaf whose mask contains ``arch`` (an architecture of the tree's space or
        its string)."""
        a = self.space.check(arch)
        node = self.root_node
        if not node.mask.contains(a):
            raise ValueError(f'{a} is outside the root mask ({self.describe(node.mask)})')
        while not node.is_leaf:
            hits = [c for c in self.children(node.node_id) if c.mask.contains(a)]
            if len(hits) != 1:  # impossible for trees built by split(); guards hand-made dicts
                raise ValueError(f'{a} lies in {len(hits)} children of node {node.node_id!r}, expected 1')
            node = hits[0]
        return node

    def describe(self, mask: SlotMask) -> str:
        """Compact text of a mask: its restricted slots (``full`` for the whole space)."""
        return self.space.describe_mask(mask)

    # -- export ---------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per node (depth-first): node_id, parent_id, depth, mask (describe string),
        size (#cells), split_edge, group, is_leaf."""
        rows = [
            dict(
                node_id=n.node_id,
                parent_id=n.parent_id,
                depth=n.depth,
                mask=self.describe(n.mask),
                size=n.size,
                split_edge=n.split_edge,
                group=None if n.group is None else ','.join(self.space.abbrev(o) for o in n.group),
                is_leaf=n.is_leaf,
            )
            for n in self
        ]
        df = pd.DataFrame(rows)
        df['split_edge'] = df['split_edge'].astype('Int64')
        df.attrs['space'] = self.space.name  # figures name the split slots by it
        return df

    def to_dict(self) -> dict[str, Any]:
        return dict(
            format=_FORMAT,
            version=_VERSION,
            root_id=self.root_id,
            space=self.space.name,
            nodes=[n.to_dict() for n in self],
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PartitionTree:
        """Rebuild by replaying the splits, so a stored tree is re-validated on load."""
        if d.get('format', _FORMAT) != _FORMAT:
            raise ValueError(f'not a PartitionTree dict (format {d.get("format")!r})')
        if int(d.get('version', _VERSION)) > _VERSION:
            raise ValueError(f'PartitionTree format version {d["version"]} is newer than {_VERSION}')
        stored = {n['node_id']: n for n in d['nodes']}
        if len(stored) != len(d['nodes']):
            raise ValueError('duplicate node ids in PartitionTree dict')
        root_id = d.get('root_id', '0')
        if root_id not in stored:
            raise ValueError(f'root {root_id!r} missing from the nodes')
        space = get_space(d.get('space', 'nb201'))
        tree = cls(space.mask_from_list(stored[root_id]['mask']), root_id=root_id)
        tree.root_node.info = dict(stored[root_id].get('info') or {})
        queue = [root_id]
        while queue:
            pid = queue.pop(0)
            kids = stored[pid].get('children') or []
            if not kids:
                continue
            missing = [c for c in kids if c not in stored]
            if missing:
                raise ValueError(f'children {missing} of node {pid!r} are missing')
            edges = {stored[c]['split_edge'] for c in kids}
            if len(edges) != 1:
                raise ValueError(f'children of node {pid!r} disagree on the split edge: {edges}')
            tree.split(pid, edges.pop(), [stored[c]['group'] for c in kids], child_ids=kids)
            for c in kids:
                if space.mask_from_list(stored[c]['mask']) != tree.nodes[c].mask:
                    raise ValueError(f'stored mask of node {c!r} does not match its split')
                tree.nodes[c].info = dict(stored[c].get('info') or {})
            queue.extend(kids)
        orphans = set(stored) - set(tree.nodes)
        if orphans:
            raise ValueError(f'nodes {sorted(orphans)} are not reachable from the root')
        return tree

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically (temp file + rename)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, default=str))

    @classmethod
    def load(cls, path: str | os.PathLike) -> PartitionTree:
        with open(path, encoding='utf-8') as f:
            return cls.from_dict(json.load(f))

    def to_networkx(self):
        """``networkx.DiGraph``: parent -> child, node attributes from :meth:`to_frame`, edge
        attributes ``edge`` (split edge index), ``edge_name`` and ``group``."""
        import networkx as nx

        g = nx.DiGraph()
        for row in self.to_frame().to_dict('records'):
            nid = row.pop('node_id')
            row['split_edge'] = None if pd.isna(row['split_edge']) else int(row['split_edge'])
            g.add_node(nid, **row)
        for n in self:
            if n.parent_id is not None:
                g.add_edge(
                    n.parent_id,
                    n.node_id,
                    edge=n.split_edge,
                    edge_name=self.space.slots[n.split_edge],
                    group=','.join(self.space.abbrev(o) for o in n.group),
                )
        return g
