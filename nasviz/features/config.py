"""Settings and results of per-operation features (:class:`FeatureConfig`, :class:`OpFeatures`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from nasviz.spaces import get_space
from nasviz.validate import check_choice

__all__ = ['KINDS', 'SIMILARITIES', 'ESTIMATORS', 'BN_MODES', 'FeatureConfig', 'OpFeatures']

KINDS: tuple[str, ...] = ('lid', 'grad')
SIMILARITIES: tuple[str, ...] = ('cosine', 'pearson', 'l2')
ESTIMATORS: tuple[str, ...] = ('mle', 'twonn')
BN_MODES: tuple[str, ...] = ('batch', 'running')


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of one feature extraction; hashed into the cache key.

    ``repeats`` (R) batches/paths, ``batch_size`` images each, ``n_neighbors`` (k) for the LID
    MLE, ``estimator`` ('mle' or 'twonn'), ``similarity`` between op features ('cosine',
    'pearson', 'l2'), ``bn`` ('batch': batch statistics, 'running': stored statistics; LID only,
    gradients always use batch statistics) and ``seed`` (batches and paths).
    """

    kind: Literal['lid', 'grad'] = 'lid'
    repeats: int = 8
    batch_size: int = 128
    n_neighbors: int = 20
    estimator: Literal['mle', 'twonn'] = 'mle'
    similarity: Literal['cosine', 'pearson', 'l2'] = 'cosine'
    seed: int = 0
    bn: Literal['batch', 'running'] = 'batch'

    def __post_init__(self) -> None:
        for value, valid, what in (
            (self.kind, KINDS, 'feature kind'),
            (self.similarity, SIMILARITIES, 'similarity'),
            (self.estimator, ESTIMATORS, 'estimator'),
            (self.bn, BN_MODES, 'bn mode'),
        ):
            check_choice(value, valid, what)
        for name in ('repeats', 'batch_size', 'n_neighbors', 'seed'):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f'{name} must be an integer, got {v!r}')
        if self.repeats < 1:
            raise ValueError(f'repeats must be >= 1, got {self.repeats}')
        if self.batch_size < 3:
            raise ValueError(f'batch_size must be >= 3, got {self.batch_size}')
        if self.n_neighbors < 2:
            raise ValueError(f'n_neighbors must be >= 2 (the MLE needs two neighbours), got {self.n_neighbors}')
        if self.n_neighbors >= self.batch_size:
            raise ValueError(
                f'n_neighbors={self.n_neighbors} must be smaller than batch_size={self.batch_size} '
                f'(a sample has only batch_size - 1 neighbours)'
            )


@dataclass
class OpFeatures:
    """Features of every allowed op of one edge, and their op x op similarity.

    ``features`` is ``(n_ops, R, D)``. LID: ``D = 3N + 2`` (one value per block, names in
    ``info['feature_names']``). Gradients: ``D`` = number of supernet weights outside the split
    edge (names and sizes in ``info['param_names']`` / ``info['param_sizes']``); only the mean
    over the repeats is stored, so the shape is ``(n_ops, 1, D)`` float32: at the paper size the
    full tensor would take ``n_ops * R * D * 4`` bytes (~220 MB for R = 8), and the similarity,
    computed per repeat, is kept in ``info['similarity_per_repeat']`` ``(R, n_ops, n_ops)``.
    ``info['paths']`` lists the path of each repeat (the split edge shows the first op).
    """

    edge: int
    ops: list[str]
    features: np.ndarray
    similarity: pd.DataFrame
    config: FeatureConfig
    seconds: float
    info: dict = field(default_factory=dict)

    @property
    def edge_name(self) -> str:
        """The split slot's name (an NB201 edge such as ``'0->1'``, or another space's slot)."""
        return get_space(self.info.get('space', 'nb201')).slots[self.edge]

    slot = edge_name

    def mean_features(self) -> np.ndarray:
        """``(n_ops, D)``: features averaged over the repeats."""
        return self.features.mean(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """LID curves in long form: one row per op and block with ``op``, ``block`` (index),
        ``block_name``, ``lid`` (mean over repeats) and ``lid_std`` (spread over repeats)."""
        if self.config.kind != 'lid':
            raise ValueError('to_frame() draws LID curves; gradient features have no per-block form')
        names = self.info.get('feature_names') or [str(b) for b in range(self.features.shape[2])]
        rows = [
            dict(
                op=op,
                block=b,
                block_name=names[b],
                lid=float(self.features[i, :, b].mean()),
                lid_std=float(self.features[i, :, b].std()),
            )
            for i, op in enumerate(self.ops)
            for b in range(self.features.shape[2])
        ]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (
            f'OpFeatures(edge={self.edge} ({self.edge_name}), kind={self.config.kind!r}, ops={self.ops}, '
            f'features={tuple(self.features.shape)}, seconds={self.seconds:.2f})'
        )
