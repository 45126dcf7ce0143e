"""The partition tree figure: root on top, sub-supernets as leaves, split slots named by the
search space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.spaces import SearchSpace, get_space
from nasviz.viz.common import require

__all__ = ['plot_partition_tree']


def _is_root(parent: Any) -> bool:
    # to_frame() may mark the root with None, NaN (an int column with a gap) or -1
    return parent is None or pd.isna(parent) or parent == -1 or parent == ''


def _tree_layout(frame: pd.DataFrame) -> dict[Any, tuple[float, float]]:
    """(x, depth) per node: leaves on consecutive x in depth-first order, parents centred."""
    ids = list(frame['node_id'])
    if len(set(ids)) != len(ids):
        raise ValueError('plot_partition_tree: node_id values are not unique')
    children: dict[Any, list[Any]] = {i: [] for i in ids}
    roots = []
    for nid, parent in zip(frame['node_id'], frame['parent_id']):
        if _is_root(parent):
            roots.append(nid)
        elif parent not in children:
            raise ValueError(f'plot_partition_tree: node {nid!r} has unknown parent_id {parent!r}')
        else:
            children[parent].append(nid)
    if not roots:
        raise ValueError('plot_partition_tree: no root (a row with empty parent_id)')
    depth = dict(zip(frame['node_id'], frame['depth']))
    pos: dict[Any, tuple[float, float]] = {}
    next_leaf = 0.0
    # iterative post-order walk: deep trees must not hit the recursion limit
    for root in roots:
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            nid, expanded = stack.pop()
            if nid in pos:
                raise ValueError(f'plot_partition_tree: node {nid!r} is reached twice (cycle?)')
            kids = children[nid]
            if not kids:
                pos[nid] = (next_leaf, float(depth[nid]))
                next_leaf += 1
            elif expanded:
                pos[nid] = (float(np.mean([pos[k][0] for k in kids])), float(depth[nid]))
            else:
                stack.append((nid, True))
                stack.extend((k, False) for k in reversed(kids))
    if len(pos) != len(ids):
        raise ValueError('plot_partition_tree: some nodes are not connected to a root (cycle?)')
    return pos


def _edge_name(v: Any, slots: Sequence[str] = ()) -> str:
    """A slot index to its name in ``slots`` (the tree's space's slots; NB201: ``2`` ->
    ``'1->2'``); names and empty values pass through."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ''
    if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
        i = int(v)
        return slots[i] if 0 <= i < len(slots) else str(i)
    return str(v)


def plot_partition_tree(
    tree_frame: pd.DataFrame, title: str | None = None, space: str | SearchSpace | None = None
) -> go.Figure:
    """Draw a partition tree (``PartitionTree.to_frame()``) of ``space`` (default: the space the
    frame records, else NB201): root on top, leaves spread out; split slots are named by the space.

    Columns: ``node_id``, ``parent_id`` (empty/NaN/-1 for the root), ``depth``, ``mask`` (text),
    ``size`` (number of cells), ``split_edge``, ``is_leaf``. Marker area grows with size;
    leaves (the sub-supernets) and internal nodes get different colours; hover shows the mask.
    """
    where = 'plot_partition_tree'
    cols = ['node_id', 'parent_id', 'depth', 'mask', 'size', 'split_edge', 'is_leaf']
    require(tree_frame, cols, where)
    if tree_frame.empty:
        raise ValueError(f'{where}: the tree frame is empty')
    frame = tree_frame.sort_values(['depth', 'node_id'], kind='stable')
    pos = _tree_layout(frame)

    ex, ey = [], []
    for nid, parent in zip(frame['node_id'], frame['parent_id']):
        if not _is_root(parent):
            (x0, y0), (x1, y1) = pos[parent], pos[nid]
            ex += [x0, x1, None]
            ey += [y0, y1, None]
    fig = go.Figure(
        go.Scatter(
            x=ex,
            y=ey,
            mode='lines',
            line=dict(color='#b0b0b0', width=1.5),
            hoverinfo='skip',
            showlegend=False,
            name='edges',
        )
    )

    sizes = pd.to_numeric(frame['size']).to_numpy(dtype=float)
    # marker area ~ number of cells, clipped so a 15,625-cell root does not swamp its leaves
    scale = 40 / np.sqrt(max(sizes.max(), 1.0))
    marker_px = np.clip(np.sqrt(np.maximum(sizes, 0)) * scale, 8, 40)
    leaf = frame['is_leaf'].astype(bool).to_numpy()
    for flag, name, colour in ((False, 'split node', '#7f7f7f'), (True, 'sub-supernet (leaf)', '#d62728')):
        sel = leaf == flag
        if not sel.any():
            continue
        part = frame[sel]
        xs = [pos[n][0] for n in part['node_id']]
        ys = [pos[n][1] for n in part['node_id']]
        mask_txt = part['mask'].astype(str).str.replace('\n', '<br>', regex=False)
        slots = get_space(space or tree_frame.attrs.get('space', 'nb201')).slots
        split = part['split_edge'].map(lambda v, slots=slots: _edge_name(v, slots))
        custom = np.column_stack([part['node_id'].astype(str), part['size'].astype(int), split, mask_txt]).astype(
            object
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode='markers+text',
                name=name,
                marker=dict(size=marker_px[sel], color=colour, line=dict(color='white', width=1)),
                text=[
                    f'{n} cells · split edge {e}' if e else f'{n} cells'
                    for n, e in zip(part['size'].astype(int), split)
                ],
                textposition='bottom center',
                customdata=custom,
                hovertemplate=(
                    'node %{customdata[0]}<br>size: %{customdata[1]} cells'
                    '<br>split edge: %{customdata[2]}<br>%{customdata[3]}<extra></extra>'
                ),
            )
        )
    n_leaves = int(leaf.sum())
    fig.update_layout(
        title_text=title or f'Partition tree: {n_leaves} sub-supernet{"s" if n_leaves != 1 else ""}',
        xaxis_title='leaf order (sub-supernets, left to right)',
        yaxis_title='depth (number of splits)',
        hovermode='closest',
        legend_title_text='node',
    )
    max_depth = int(pd.to_numeric(frame['depth']).max())
    fig.update_layout(height=max(350, 130 * (max_depth + 1) + 150))
    # room around the outermost nodes, so their labels ("6250 cells · split edge 0->1") are not
    # cut at the plot's edges; the y axis runs downwards with room below the deepest level's text
    x_all = [p_[0] for p_ in pos.values()]
    pad = 0.5 + 0.1 * max(1.0, max(x_all) - min(x_all))
    fig.update_yaxes(range=[max_depth + 0.6, -0.4], dtick=1, zeroline=False)
    fig.update_xaxes(range=[min(x_all) - pad, max(x_all) + pad], showticklabels=False, zeroline=False, showgrid=False)
    return fig
