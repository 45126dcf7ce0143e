"""Which slot a partition method splits and into which groups, for the methods that need no
model (``fewshot``, ``random``); the feature-driven methods (``gmnas``, ``naslid``) choose with
:func:`nasviz.partition.split.choose_edge` on measured similarities (see
:mod:`nasviz.partition.pipeline`)."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from nasviz.partition.config import PartitionConfig
from nasviz.partition.split import split_ops
from nasviz.spaces import SlotMask, get_space

__all__ = ['seed_for', 'min_ops', 'candidate_edges', 'structural_split']


def seed_for(*parts: Any) -> int:
    """A stable 31-bit seed from parts (crc32 stays the same across Python runs, unlike hash)."""
    return zlib.crc32(':'.join(str(p) for p in parts).encode()) & 0x7FFFFFFF


def min_ops(config: PartitionConfig) -> int:
    """Ops an edge needs to be split by this method."""
    return 2 if config.method == 'fewshot' else config.k


def candidate_edges(mask: SlotMask, config: PartitionConfig, is_root: bool) -> list[int]:
    need = min_ops(config)
    slots = get_space(config.space).slots
    if is_root and config.edge is not None:
        n = len(mask.choices_at(config.edge))
        if n < need:
            raise ValueError(
                f'edge {config.edge} ({slots[config.edge]}) allows {n} op(s) in the '
                f'root mask; method {config.method!r} needs at least {need} there (k={config.k})'
            )
        return [config.edge]
    return [e for e in range(len(slots)) if len(mask.choices_at(e)) >= need]


def structural_split(
    mask: SlotMask, node_id: str, config: PartitionConfig, is_root: bool
) -> tuple[int, list[list[str]], str] | None:
    """Edge and groups of the splits that need no model ('fewshot', 'random'); None: no edge."""
    cands = candidate_edges(mask, config, is_root)
    if not cands:
        return None
    if config.method == 'fewshot':
        edge = cands[0]
        rule = 'fixed' if is_root and config.edge is not None else 'lowest'
        return edge, [[o] for o in mask.choices_at(edge)], rule
    rng = np.random.default_rng(seed_for('random-split', config.seed, node_id))
    edge = cands[0] if len(cands) == 1 else int(cands[rng.integers(len(cands))])
    names = list(mask.choices_at(edge))
    dummy = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    groups = split_ops(dummy, k=config.k, method='random', random_state=int(rng.integers(2**31)), space=mask.space)
    return edge, [[str(o) for o in g] for g in groups], 'fixed' if is_root and config.edge is not None else 'random'
