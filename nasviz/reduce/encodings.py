"""Encodings of an architecture's computational graph, for any space whose slots are edges
named ``'a->b'`` (NB201) or, for the histogram, any space with slots and choices.

- :func:`op_histogram`: how often each operation is used (a distribution over operations);
- :func:`adjacency_tensor`: ``T[i, j, o] = 1`` when edge ``i -> j`` carries operation ``o``
  (nodes x nodes x ops);
- :func:`cell_graph`: the cell's computational graph (networkx), tensors and operations as nodes;
- :func:`wl_features`: Weisfeiler-Lehman subtree label counts of that graph (the WL kernel's
  feature map: topology and operations together, equal for isomorphic cells);
- :func:`path_encoding`: counts of the operation sequences along input-to-output paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

_EDGE = re.compile(r'^(\d+)->(\d+)$')


def _vocabulary(space: Any) -> tuple[str, ...]:
    ops: dict[str, None] = {}
    for s in space.slots:
        ops.update(dict.fromkeys(space.choices(s)))
    return tuple(ops)


def op_histogram(archs: Sequence[Any], space: Any, normalize: bool = True) -> np.ndarray:
    """``(n, n_ops)``: per architecture, how many slots take each operation (rows sum to 1 when
    ``normalize``). Columns follow :func:`op_vocabulary`."""
    ops = _vocabulary(space)
    col = {o: i for i, o in enumerate(ops)}
    H = np.zeros((len(archs), len(ops)))
    for r, a in enumerate(archs):
        a = space.check(a)
        for s in space.slots:
            H[r, col[a.choice(s)]] += 1
    if normalize:
        H /= H.sum(axis=1, keepdims=True)
    return H


def op_vocabulary(space: Any) -> tuple[str, ...]:
    """The operations of a space, in the column order of the encodings."""
    return _vocabulary(space)


def edge_nodes(space: Any) -> tuple[int, list[tuple[int, int]]]:
    """Number of nodes and the ``(source, target)`` of every slot; ``ValueError`` when the slots
    are not edges named ``'a->b'``."""
    pairs = []
    for s in space.slots:
        m = _EDGE.match(str(s))
        if m is None:
            raise ValueError(
                f'the adjacency encoding needs edge slots named "a->b"; space {space.name!r} has slot {s!r}'
            )
        pairs.append((int(m.group(1)), int(m.group(2))))
    return 1 + max(max(p) for p in pairs), pairs


def adjacency_tensor(archs: Sequence[Any], space: Any) -> np.ndarray:
    """``(n, nodes, nodes, n_ops)`` one-hot tensors: edge ``i -> j`` carries op ``o``."""
    ops = _vocabulary(space)
    col = {o: i for i, o in enumerate(ops)}
    n_nodes, pairs = edge_nodes(space)
    T = np.zeros((len(archs), n_nodes, n_nodes, len(ops)), dtype=np.float32)
    for r, a in enumerate(archs):
        a = space.check(a)
        for s, (i, j) in zip(space.slots, pairs):
            T[r, i, j, col[a.choice(s)]] = 1.0
    return T


#: the last encodings computed, keyed by (space, kind, the architectures' strings): fitting C-BRED
#: over seeds and settings encodes the same cells again and again
_ENCODED: dict[tuple, Any] = {}


def encode(archs: Sequence[Any], space: Any, kind: str = 'histogram') -> np.ndarray:
    """2-D feature matrix: ``'histogram'`` (:func:`op_histogram`), ``'adjacency'`` (the flattened
    :func:`adjacency_tensor`), ``'wl'`` (:func:`wl_features`, a sparse matrix) or ``'path'``
    (:func:`path_encoding`)."""
    import hashlib

    strs = '\n'.join(space.to_str(space.check(a)) for a in archs)
    key = (getattr(space, 'name', type(space).__name__), kind, hashlib.sha256(strs.encode()).hexdigest())
    if key not in _ENCODED:
        if len(_ENCODED) >= 8:
            _ENCODED.pop(next(iter(_ENCODED)))
        _ENCODED[key] = _encode(archs, space, kind)
    X = _ENCODED[key]
    return X.copy()


def _encode(archs: Sequence[Any], space: Any, kind: str) -> np.ndarray:
    if kind == 'histogram':
        return op_histogram(archs, space)
    if kind == 'adjacency':
        T = adjacency_tensor(archs, space)
        return T.reshape(len(archs), -1)
    if kind == 'wl':  # sparse: the WL vocabulary is large
        return wl_features(archs, space, sparse=True)
    if kind == 'path':
        return path_encoding(archs, space)
    raise ValueError(f'unknown encoding {kind!r}; valid: histogram, adjacency, wl, path')


# -- topology-aware encodings -------------------------------------------------------------------
#: choices that mean "no connection" on an edge slot (a zero operation); the space may override
#: them with a ``zero_choices`` attribute
ZERO_CHOICES = ('none',)
_DARTS_SLOT = re.compile(r'^(\w+)\.n(\d+)\.(in|op)(\d+)$')
_NODE_SLOT = re.compile(r'^node(\d+)$')


def cell_graph(arch: Any, space: Any, live_only: bool = True) -> Any:
    """The computational graph of a cell as a ``networkx.DiGraph`` whose nodes carry a ``label``:
    tensors (``'in'``, ``'out'``, ``'node'``) and the operations applied to them (the choice's
    name), so the graph's topology and its operations are both visible to a graph kernel.

    Read from the slots of three kinds of space: operations on edges ``'a->b'`` (NAS-Bench-201: a
    zero choice such as ``none`` is no connection), operations on nodes ``'nodeK'`` with edges
    ``'i->j'`` on/off (NAS-Bench-101), and ``'<cell>.n<K>.in<X>'`` / ``'<cell>.n<K>.op<X>'``
    input and operation pairs (DARTS; each cell type is its own subgraph, its intermediate nodes
    concatenated into the output). ``live_only`` keeps only what lies on a path from an input to
    an output (the rest cannot change the network's output)."""
    import networkx as nx

    arch = space.check(arch)
    zero = set(getattr(space, 'zero_choices', ZERO_CHOICES))
    slots = list(space.slots)
    G: nx.DiGraph[Any] = nx.DiGraph()
    sources: list[Any]
    sinks: list[Any]
    if all(_EDGE.match(str(s)) for s in slots):  # operations on edges
        n_nodes, pairs = edge_nodes(space)
        for v in range(n_nodes):
            G.add_node(v, label='in' if v == 0 else 'out' if v == n_nodes - 1 else 'node')
        for s, (i, j) in zip(slots, pairs):
            op = arch.choice(s)
            if op not in zero:
                G.add_node(('op', s), label=op)
                G.add_edge(i, ('op', s))
                G.add_edge(('op', s), j)
        sources, sinks = [0], [n_nodes - 1]
    elif any(_NODE_SLOT.match(str(s)) for s in slots):  # operations on nodes, edges on/off
        nodes = sorted(int(m.group(1)) for m in (_NODE_SLOT.match(str(s)) for s in slots) if m)
        last = max(int(m.group(2)) for m in (_EDGE.match(str(s)) for s in slots) if m)
        G.add_node(0, label='in')
        G.add_node(last, label='out')
        for v in nodes:
            G.add_node(v, label=arch.choice(f'node{v}'))
        for s in slots:
            m = _EDGE.match(str(s))
            if m and str(arch.choice(s)) == '1':
                G.add_edge(int(m.group(1)), int(m.group(2)))
        sources, sinks = [0], [last]
    elif all(_DARTS_SLOT.match(str(s)) for s in slots):
        parts: dict[tuple[str, int, int], dict[str, str]] = {}
        for s in slots:
            m = _DARTS_SLOT.match(str(s))
            assert m is not None  # every slot matched above
            cell, k, kind, x = m.groups()
            parts.setdefault((cell, int(k), int(x)), {})[kind] = arch.choice(s)
        sources, sinks = [], []
        for cell in dict.fromkeys(c for c, _, _ in parts):
            ks = sorted({k for c, k, _ in parts if c == cell})
            for v in range(min(ks)):
                G.add_node((cell, v), label=f'{cell}.in')
                sources.append((cell, v))
            G.add_node((cell, 'out'), label=f'{cell}.out')
            sinks.append((cell, 'out'))
            for k in ks:
                G.add_node((cell, k), label='node')
                G.add_edge((cell, k), (cell, 'out'))
            for (c, k, x), d in parts.items():
                if c != cell or d['op'] in zero:
                    continue
                G.add_node((cell, k, 'op', x), label=d['op'])
                G.add_edge((cell, int(d['in'])), (cell, k, 'op', x))
                G.add_edge((cell, k, 'op', x), (cell, k))
    else:
        raise ValueError(
            f'cell_graph: cannot read a graph from the slots of space {getattr(space, "name", space)!r} '
            f'(expected edges "a->b", nodes "nodeK", or "<cell>.n<K>.in<X>"/"op<X>")'
        )
    if live_only:
        fwd = set().union(*(nx.descendants(G, s) | {s} for s in sources))
        bwd = set().union(*(nx.ancestors(G, t) | {t} for t in sinks))
        keep = (fwd & bwd) | set(sources) | set(sinks)
        G = G.subgraph(keep).copy()
    return G


def wl_features(archs: Sequence[Any], space: Any, iterations: int = 2, sparse: bool = False) -> Any:
    """Weisfeiler-Lehman subtree features (Shervashidze et al. 2011) of each cell's
    :func:`cell_graph`: counts of every node label and of every WL label after 1..``iterations``
    refinements (networkx's ``weisfeiler_lehman_subgraph_hashes`` over successors, so a label
    describes what a tensor feeds). The dot product of two rows is the WL subtree kernel; rows of
    isomorphic graphs are equal. ``(n, vocabulary)``, columns in first-seen order; a
    ``scipy.sparse`` CSR matrix when ``sparse`` (the vocabulary grows fast with ``iterations``:
    NAS-Bench-201 has 189 labels after one refinement, 6,375 after two)."""
    import warnings

    import networkx as nx

    bags = []
    vocab: dict[str, int] = {}
    for a in archs:
        G = cell_graph(a, space)
        labels = [f'0:{d}' for _, d in G.nodes(data='label')]
        if G.number_of_nodes():
            with warnings.catch_warnings():  # networkx >= 3.5 notes that its directed hashes changed once
                warnings.simplefilter('ignore', UserWarning)
                hashes = nx.weisfeiler_lehman_subgraph_hashes(G, node_attr='label', iterations=iterations)
            for hs in hashes.values():
                labels += [f'{i + 1}:{h}' for i, h in enumerate(hs)]
        bag: dict[int, int] = {}
        for lab in labels:
            j = vocab.setdefault(lab, len(vocab))
            bag[j] = bag.get(j, 0) + 1
        bags.append(bag)
    if sparse:
        from scipy.sparse import csr_matrix

        rows = np.repeat(np.arange(len(bags)), [len(b) for b in bags])
        cols = np.fromiter((j for b in bags for j in b), dtype=np.int64, count=int(rows.size))
        vals = np.fromiter((c for b in bags for c in b.values()), dtype=np.float64, count=int(rows.size))
        return csr_matrix((vals, (rows, cols)), shape=(len(bags), len(vocab)))
    X = np.zeros((len(archs), len(vocab)))
    for r, bag in enumerate(bags):
        for j, c in bag.items():
            X[r, j] = c
    return X


def path_encoding(archs: Sequence[Any], space: Any) -> np.ndarray:
    """Path encoding (White et al. 2021, BANANAS): per cell, how many input-to-output paths of its
    :func:`cell_graph` pass each sequence of operations. A cell without any path gets one count
    in a column of its own (``no path``), so every row is a distribution. ``(n, paths)``, columns
    in first-seen order."""
    import networkx as nx

    vocab: dict[tuple, int] = {('no path',): 0}
    bags = []
    for a in archs:
        G = cell_graph(a, space)
        src = [v for v, d in G.nodes(data='label') if str(d).endswith('in')]
        dst = [v for v, d in G.nodes(data='label') if str(d).endswith('out')]
        bag: dict[int, int] = {}
        for s in src:
            for t in dst:
                for p in nx.all_simple_paths(G, s, t):
                    key = (G.nodes[s]['label'],) + tuple(
                        G.nodes[v]['label'] for v in p[1:-1] if G.nodes[v]['label'] != 'node'
                    )
                    j = vocab.setdefault(key, len(vocab))
                    bag[j] = bag.get(j, 0) + 1
        bags.append(bag or {0: 1})
    X = np.zeros((len(archs), len(vocab)))
    for r, bag in enumerate(bags):
        for j, c in bag.items():
            X[r, j] = c
    return X
