"""How a partition run is configured: the methods, and :class:`PartitionConfig` (see
:mod:`nasviz.partition.pipeline` for what each setting does)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from nasviz.partition.split import CRITERIA, Criterion, Method
from nasviz.spaces import get_space, list_spaces
from nasviz.validate import check_choice, short_repr

__all__ = ['PARTITION_METHODS', 'SPLIT_METHODS', 'FEATURE_KIND', 'PartitionConfig']

PARTITION_METHODS: tuple[str, ...] = ('spos', 'fewshot', 'random', 'gmnas', 'naslid')
#: how the groups of a split are formed from a similarity matrix (see split.split_ops)
SPLIT_METHODS: tuple[str, ...] = ('exhaustive', 'spectral', 'agglomerative')
#: feature kind measured on the parent before a split
FEATURE_KIND: dict[str, Literal['lid', 'grad']] = {'naslid': 'lid', 'gmnas': 'grad'}


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartitionConfig:
    """How to split and how to spend the epoch budget (see the module docstring).

    ``repeats``, ``batch_size``, ``n_neighbors``, ``estimator`` and ``similarity`` are passed to
    ``nasviz.features.ops.FeatureConfig`` (``batch_size`` is the feature batch size; the training
    batch size lives in ``TrainConfig``). ``k`` is ignored by ``'fewshot'`` (one child per op)
    and ``n_splits``/``warmup_epochs`` by ``'spos'``. ``recal_batches`` is the number of batches
    used to recalibrate BN before scoring each cell; ``eval_samples`` limits the test samples
    each cell is scored on (None: all).
    """

    method: str = 'naslid'
    n_splits: int = 1
    k: int = 2
    split_method: Method = 'exhaustive'
    criterion: Criterion = 'max_within'
    total_epochs: int = 20
    warmup_epochs: int = 10
    equal_per_child: bool = False
    edge: int | None = None
    repeats: int = 8
    batch_size: int = 128
    n_neighbors: int = 20
    estimator: Literal['mle', 'twonn'] = 'mle'
    similarity: Literal['cosine', 'pearson', 'l2'] = 'cosine'
    balanced: bool = False
    recal_batches: int = 8
    eval_samples: int | None = None
    score: str = 'accuracy'
    seed: int = 0
    space: str = 'nb201'

    def __post_init__(self) -> None:
        check_choice(self.space, tuple(list_spaces()), 'search space')
        space = get_space(self.space)
        max_choices = max(len(space.choices(s)) for s in space.slots)
        for value, valid, what in (
            (self.method, PARTITION_METHODS, 'partition method'),
            (self.split_method, SPLIT_METHODS, 'split_method'),
            (self.criterion, CRITERIA, 'criterion'),
            (self.score, ('accuracy', 'loss'), 'score'),
        ):
            check_choice(value, valid, what)
        for name in (
            'n_splits',
            'k',
            'total_epochs',
            'warmup_epochs',
            'repeats',
            'batch_size',
            'n_neighbors',
            'recal_batches',
            'seed',
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f'PartitionConfig.{name} must be an integer, got {short_repr(v)}')
        if self.k < 2:
            raise ValueError(f'k={self.k}: a split needs at least 2 groups')
        if self.k > max_choices:
            raise ValueError(f'k={self.k} groups is more than the {max_choices} ops of any {self.space} slot')
        if self.n_splits < 1:
            raise ValueError(f'n_splits must be >= 1, got {self.n_splits}')
        if self.total_epochs < 1:
            raise ValueError(f'total_epochs must be >= 1, got {self.total_epochs}')
        if not 0 <= self.warmup_epochs < self.total_epochs:
            raise ValueError(
                f'warmup_epochs={self.warmup_epochs} must be in [0, total_epochs='
                f'{self.total_epochs}): the split phase needs epochs of its own'
            )
        if self.method != 'spos':
            if self.warmup_epochs < 1:
                raise ValueError(
                    'warmup_epochs must be >= 1 for split methods: the root must be trained before it is split'
                )
            if self.total_epochs - self.warmup_epochs < self.n_splits:
                raise ValueError(
                    f'total_epochs - warmup_epochs = {self.total_epochs - self.warmup_epochs} '
                    f'is less than n_splits={self.n_splits}: every level needs an epoch'
                )
        if self.edge is not None:
            e = self.edge
            slots = space.slots
            if isinstance(e, str):
                if e not in slots:
                    raise ValueError(f'unknown edge {short_repr(e)}; expected one of {slots} or 0..{len(slots) - 1}')
                object.__setattr__(self, 'edge', slots.index(e))
            elif isinstance(e, bool) or not isinstance(e, (int, np.integer)) or not 0 <= e < len(slots):
                raise ValueError(f'edge must be None, an edge name or 0..{len(slots) - 1}, got {short_repr(e)}')
            else:
                object.__setattr__(self, 'edge', int(e))
        if self.recal_batches < 0:
            raise ValueError(f'recal_batches must be >= 0, got {self.recal_batches}')

    @property
    def levels(self) -> int:
        """Split levels actually made: 0 for SPOS."""
        return 0 if self.method == 'spos' else self.n_splits

    def feature_config(self, kind: Literal['lid', 'grad'] | None = None) -> Any:
        """The ``FeatureConfig`` for this method (``kind`` defaults from the method)."""
        from nasviz.features.ops import FeatureConfig

        kind = kind or FEATURE_KIND.get(self.method)
        if kind is None:
            raise ValueError(f'method {self.method!r} measures no features')
        return FeatureConfig(
            kind=kind,
            repeats=self.repeats,
            batch_size=self.batch_size,
            n_neighbors=self.n_neighbors,
            estimator=self.estimator,
            similarity=self.similarity,
            seed=self.seed,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PartitionConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f'unknown PartitionConfig fields {sorted(unknown)}')
        return cls(**dict(d))
