"""Per-operation features of one supernet edge, to decide how to split a supernet.

Both methods reduce "which ops of an edge behave alike?" to an op x op similarity matrix
(consumed by :mod:`nasviz.partition.split`), and share one protocol so their cost and their
answers are comparable on the same supernet, edge, batches and paths:

* For each of ``R`` repeats, draw a fresh training batch and ONE random single path within the
  mask for the other edges; every allowed op of the split edge is then made the only one in
  turn (``path.with_op(edge, op)``), all candidates seeing the same batch and path. Batches
  and paths depend on ``FeatureConfig.seed`` only, so both methods, and every edge, see the
  same draws.
* **NAS-LID** (:func:`lid_features`): forward only, under ``torch.no_grad()``; the feature of an
  op is its layer-wise LID profile, one MLE estimate per block output (``3N + 2`` values),
  each estimated from a forward hook as soon as the block has run, so block outputs are not
  all kept. The similarity is taken between the profiles averaged over the repeats.
* **GM-NAS** (:func:`grad_features`): forward and backward with the
  cross-entropy loss; the feature of an op is the gradient it induces on the supernet weights
  outside the split edge. The similarity (cosine: GM-NAS's gradient-matching score) is
  computed in every repeat and averaged over the repeats.

Batch norm. Features are computed with **batch statistics** (BN in train mode) and the
running statistics are restored afterwards. Running statistics of a weight-sharing supernet mix
all paths, and recalibrating them for every (candidate, path) pair would cost more than the
features themselves; batch statistics are what the supernet was trained with. GM-NAS needs
train mode anyway, so both methods see the same normalisation. ``FeatureConfig(bn='running')``
uses the stored statistics for LID instead (eval mode).

Candidates that make a cell degenerate (e.g. ``none`` on the only path) are kept: such a cell
outputs zeros, its LID and those of all later blocks are 0 (see :mod:`nasviz.features.lid`),
and its gradient vanishes everywhere except on the classifier bias. Similarities stay finite:
see :func:`op_similarity` for how zero vectors are scored.

Training data is taken without augmentation so that features depend only on the seed.
"""
from __future__ import annotations

import hashlib
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Iterator, Literal, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasviz.data import ImageData
from nasviz.features.lid import layerwise_lid
from nasviz.spaces import SearchSpace, SlotMask, get_space
from nasviz.spaces.nb201 import Arch, OpMask
from nasviz.supernet.evaluate import preserved_bn_stats
from nasviz.supernet.train import model_size
from nasviz.utils import cached, check_choice

__all__ = ['KINDS', 'SIMILARITIES', 'ESTIMATORS', 'BN_MODES', 'FeatureConfig', 'OpFeatures',
           'op_similarity', 'lid_features', 'grad_features', 'edge_similarity',
           'edge_similarities', 'subnet_lid_vectors', 'subnet_grad_vectors', 'grad_parameters',
           'model_fingerprint', 'model_space', 'slot_index']

KINDS: tuple[str, ...] = ('lid', 'grad')
SIMILARITIES: tuple[str, ...] = ('cosine', 'pearson', 'l2')
ESTIMATORS: tuple[str, ...] = ('mle', 'twonn')
BN_MODES: tuple[str, ...] = ('batch', 'running')

#: float64 elements per column chunk when reducing long (gradient) vectors: ~16 MiB
_CHUNK_ELEMS = 2 ** 21
#: rows of the seeded Gaussian projection generated at once (64 Ki x max_dim floats)
_PROJ_ROWS = 2 ** 16
#: a row whose centred norm is below this fraction of its norm counts as constant (Pearson)
_CONST_RTOL = 1e-10


# ---------------------------------------------------------------------------------------------
# config and result
# ---------------------------------------------------------------------------------------------
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
        for value, valid, what in ((self.kind, KINDS, 'feature kind'), (self.similarity, SIMILARITIES, 'similarity'),
                                    (self.estimator, ESTIMATORS, 'estimator'), (self.bn, BN_MODES, 'bn mode')):
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
            raise ValueError(f'n_neighbors={self.n_neighbors} must be smaller than batch_size={self.batch_size} '
                             f'(a sample has only batch_size - 1 neighbours)')


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
        rows = [dict(op=op, block=b, block_name=names[b], lid=float(self.features[i, :, b].mean()),
                     lid_std=float(self.features[i, :, b].std()))
                for i, op in enumerate(self.ops) for b in range(self.features.shape[2])]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f'OpFeatures(edge={self.edge} ({self.edge_name}), kind={self.config.kind!r}, ops={self.ops}, '
                f'features={tuple(self.features.shape)}, seconds={self.seconds:.2f})')


# ---------------------------------------------------------------------------------------------
# similarity
# ---------------------------------------------------------------------------------------------
def _column_chunks(D: int, n: int) -> Iterator[tuple[int, int]]:
    step = max(1, _CHUNK_ELEMS // max(1, n))
    for s in range(0, D, step):
        yield s, min(D, s + step)


def _similarity_matrix(X: torch.Tensor, metric: str) -> torch.Tensor:
    """``(n, n)`` float64 similarity of the rows of ``X`` (any device/dtype).

    Long vectors are reduced in column chunks converted to float64 one at a time, so a float32
    gradient matrix is never copied whole.
    """
    n, D = X.shape
    if metric == 'l2':
        sq = torch.zeros(n, n, dtype=torch.float64, device=X.device)
        for s, e in _column_chunks(D, n):
            # direct differences, not |a|^2 + |b|^2 - 2ab: identical rows must give exactly 1
            c = X[:, s:e].to(torch.float64)
            sq += torch.cdist(c, c, compute_mode='donot_use_mm_for_euclid_dist') ** 2
        return 1.0 / (1.0 + sq.sqrt())
    mean = torch.zeros(n, dtype=torch.float64, device=X.device)
    if metric == 'pearson':
        for s, e in _column_chunks(D, n):
            mean += X[:, s:e].to(torch.float64).sum(dim=1)
        mean /= max(D, 1)
    G = torch.zeros(n, n, dtype=torch.float64, device=X.device)
    raw = torch.zeros(n, dtype=torch.float64, device=X.device)
    for s, e in _column_chunks(D, n):
        c = X[:, s:e].to(torch.float64)
        raw += (c * c).sum(dim=1)
        c = c - mean[:, None]
        G += c @ c.T
    norm = G.diagonal().clamp_min(0).sqrt()
    # a zero vector (cosine) or a constant one (Pearson) has no direction: similarity 0 to the
    # others, 1 to itself; the relative test absorbs the rounding of the centring
    flat = norm <= _CONST_RTOL * raw.sqrt() if metric == 'pearson' else norm == 0
    safe = torch.where(flat, torch.ones_like(norm), norm)
    S = G / (safe[:, None] * safe[None, :])
    S = torch.where(flat[:, None] | flat[None, :], torch.zeros_like(S), S)
    return S.clamp(-1.0, 1.0)


def _finish(S: torch.Tensor) -> np.ndarray:
    S = S.detach().cpu().numpy()
    S = (S + S.T) / 2.0
    np.fill_diagonal(S, 1.0)
    return S


def op_similarity(features: 'np.ndarray | torch.Tensor', ops: Sequence[str],
                  metric: Literal['cosine', 'pearson', 'l2'] = 'cosine') -> pd.DataFrame:
    """Op x op similarity of feature vectors ``(n_ops, D)``, labelled with ``ops``.

    ``'cosine'``: cosine of the vectors; ``'pearson'``: their correlation (cosine of the
    centred vectors); ``'l2'``: ``1 / (1 + ||a - b||)``. Symmetric with a unit diagonal and free
    of NaN: a zero vector (cosine) or a constant one (Pearson) scores 0 against every other op
    and 1 against itself. Non-finite features raise ``ValueError``.
    """
    if metric not in SIMILARITIES:
        raise ValueError(f'unknown similarity {metric!r}; valid similarities: {", ".join(SIMILARITIES)}')
    X = features if isinstance(features, torch.Tensor) else torch.as_tensor(np.asarray(features, dtype=np.float64))
    if X.ndim != 2:
        raise ValueError(f'features must be (n_ops, D); got shape {tuple(X.shape)}')
    ops = list(ops)
    if len(ops) != X.shape[0]:
        raise ValueError(f'{len(ops)} op labels for {X.shape[0]} feature rows')
    if not bool(torch.isfinite(X).all()):
        raise ValueError('features contain NaN or inf values')
    return pd.DataFrame(_finish(_similarity_matrix(X, metric)), index=ops, columns=ops)


# ---------------------------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------------------------
def model_space(model: nn.Module) -> SearchSpace:
    """The search space a supernet belongs to (NB201 for supernets that do not say)."""
    return get_space(getattr(model, 'space', 'nb201'))


def slot_index(space: SearchSpace, edge: 'int | str') -> int:
    """A slot given by its index or name (NB201: an edge index 0..5 or an edge name)."""
    if isinstance(edge, str):
        if edge not in space.slots:
            raise ValueError(f'unknown slot {edge!r} of space {space.name}; slots are {space.slots}')
        return space.slots.index(edge)
    n = len(space.slots)
    if isinstance(edge, bool) or not isinstance(edge, (int, np.integer)) or not 0 <= int(edge) < n:
        raise ValueError(f'edge must be an integer in 0..{n - 1} or a slot name, got {edge!r}')
    return int(edge)


def _check_setting(model: nn.Module, data: ImageData, edge: 'int | str', mask: 'OpMask | SlotMask | None'
                   ) -> 'OpMask | SlotMask':
    """The mask to use, after checking edge (slot), mask and data against the model."""
    space = model_space(model)
    e_idx = slot_index(space, edge)
    mask = model.mask if mask is None else mask
    if not isinstance(mask, (OpMask, SlotMask)) or mask.space != space.name:
        raise ValueError(f'mask must be a mask of space {space.name} (OpMask or SlotMask), '
                         f'got {type(mask).__name__}')
    for e, slot in enumerate(space.slots):
        extra = set(mask.choices_at(e)) - set(model.mask.choices_at(e))
        if extra:
            raise ValueError(f'mask allows {sorted(extra)} on slot {e} ({slot}), '
                             f'which this supernet does not build')
    if len(mask.choices_at(e_idx)) < 2:
        raise ValueError(f'edge {e_idx} ({space.slots[e_idx]}) allows a single op '
                         f'({mask.choices_at(e_idx)[0]}) in this mask: nothing to split')
    _check_data(model, data)
    return mask


def _check_data(model: nn.Module, data: ImageData) -> None:
    size = model_size(model)
    if 'in_channels' in size and data.in_channels != size['in_channels']:
        raise ValueError(f'data has {data.in_channels} channels, the supernet expects {size["in_channels"]}')
    if 'num_classes' in size and data.num_classes > size['num_classes']:
        raise ValueError(f'data has {data.num_classes} classes, the supernet only {size["num_classes"]}')


def _device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """Target device; the model is moved there (as :func:`evaluate_archs` does)."""
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(dev)
    return dev


def _effective_batch(data: ImageData, batch_size: int, n_neighbors: int | None) -> int:
    """``batch_size`` capped by the training set, checked against the LID neighbour count."""
    bs = min(int(batch_size), int(data.x_train.shape[0]))
    if n_neighbors is not None and n_neighbors >= bs:
        raise ValueError(f'n_neighbors={n_neighbors} must be smaller than the batch size, which is '
                         f'{bs} here (training set of {data.x_train.shape[0]} images)')
    return bs


def _batches(data: ImageData, batch_size: int, repeats: int, seed: int, device: torch.device
             ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``repeats`` fresh random training batches (no augmentation), seeded."""
    g = torch.Generator().manual_seed(int(seed))
    n = data.x_train.shape[0]
    for _ in range(repeats):
        idx = torch.randperm(n, generator=g)[:batch_size].to(data.x_train.device)
        yield data.x_train[idx].to(device), data.y_train[idx].to(device)


def _paths(mask: 'OpMask | SlotMask', repeats: int, seed: int, space: SearchSpace | None = None,
           slot: int | None = None) -> list:
    """``repeats`` random paths inside ``mask``, seeded by the config seed only (not the slot):
    every slot sees the same paths and batches, so differences between slots do not come from
    the draw. In spaces with rules across slots (NB101, DARTS) a path is redrawn until every
    allowed choice of ``slot`` can be put on it."""
    rng = np.random.default_rng(int(seed))
    if isinstance(mask, OpMask):
        return [mask.sample(rng) for _ in range(repeats)]
    out = []
    for _ in range(repeats):
        for _try in range(10_000):
            p = space.sample(1, mask=mask, rng=rng)[0]
            if slot is None or all(space.is_valid(_with(space, p, slot, c)) for c in mask.choices_at(slot)):
                out.append(p)
                break
        else:
            raise ValueError(f'no path of this mask admits every choice of slot {space.slots[slot]}')
    return out


def _with(space: SearchSpace, path, slot: int, choice: str):
    """``path`` with slot ``slot`` set to ``choice``; None where the space's rules forbid it."""
    try:
        return space.with_choice(path, space.slots[slot], choice)
    except ValueError:
        return None


@contextmanager
def _mode(model: nn.Module, train: bool) -> Iterator[None]:
    """Train or eval mode for the duration, restoring the mode and BN running statistics."""
    was = model.training
    try:
        with preserved_bn_stats(model):
            model.train(train)
            yield
    finally:
        model.train(was)


def _progress(total: int, desc: str, enabled: bool):  # noqa: ANN202 - tqdm type
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)


# ---------------------------------------------------------------------------------------------
# LID profiles
# ---------------------------------------------------------------------------------------------
def _lid_profile(model: nn.Module, x: torch.Tensor, arch: Arch, k: int, estimator: str,
                 stream: bool = True) -> np.ndarray:
    """Layer-wise LID of every block output for one path on one batch (no grad).

    ``stream=True`` estimates each block's LID from a forward hook as soon as the block has
    run, so only a couple of block outputs are alive at once; ``stream=False`` keeps them all
    via :meth:`forward_features` and estimates them afterwards. Same numbers, less memory.
    """
    with torch.no_grad():
        if not stream or _blocks(model) is None:
            _, feats = model.forward_intermediates(x, arch)
            vals = layerwise_lid(feats, k=k, estimator=estimator)
            out = vals.numpy() if isinstance(vals, torch.Tensor) else np.asarray(vals)
        else:
            out = np.full(len(model.block_names), np.nan)

            def hook_for(i: int):  # noqa: ANN202
                def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
                    out[i] = float(layerwise_lid([output], k=k, estimator=estimator)[0])
                return hook

            handles = [b.register_forward_hook(hook_for(i)) for i, b in enumerate(_blocks(model))]
            try:
                model(x, arch)
            finally:
                for h in handles:
                    h.remove()
    # TwoNN may leave an undefined estimate (NaN) on a near-constant layer: score it as a
    # point mass, like the MLE does
    return np.nan_to_num(out.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _blocks(model: nn.Module) -> 'list[nn.Module] | None':
    """The modules whose outputs are the supernet's block outputs, when it exposes them."""
    blocks = getattr(model, 'blocks', None)
    if blocks is None or len(blocks) != len(model.block_names):
        return None
    return list(blocks)


def lid_features(model: nn.Module, data: ImageData, edge: "int | str", mask: "OpMask | SlotMask | None" = None,
                 config: FeatureConfig = FeatureConfig(kind='lid'), device: str | torch.device | None = None,
                 progress: bool = True, *, stream: bool = True) -> OpFeatures:
    """NAS-LID features of every allowed op of ``edge``: layer-wise LID profiles.

    See the module docstring for the protocol. ``features`` is ``(n_ops, R, 3N + 2)``; the
    similarity (``config.similarity``) is between the profiles averaged over the R repeats.
    ``stream`` only changes memory use (see :func:`_lid_profile`), not the result. The model's
    mode and BN running statistics are left as they were.
    """
    mask = _check_setting(model, data, edge, mask)
    space = model_space(model)
    edge = slot_index(space, edge)
    config = replace(config, kind='lid')  # a shared config may say 'grad'; the result must not
    dev = _device(model, device)
    bs = _effective_batch(data, config.batch_size, config.n_neighbors if config.estimator == 'mle' else None)
    ops = list(mask.choices_at(edge))
    paths = _paths(mask, config.repeats, config.seed, space, edge)
    feats = np.zeros((len(ops), config.repeats, len(model.block_names)))
    t0 = time.perf_counter()
    with _mode(model, train=config.bn == 'batch'), \
            _progress(len(ops) * config.repeats, f'LID features, edge {space.slots[edge]}', progress) as bar:
        for r, (xb, _) in enumerate(_batches(data, bs, config.repeats, config.seed, dev)):
            for i, op in enumerate(ops):
                feats[i, r] = _lid_profile(model, xb, _with(space, paths[r], edge, op), config.n_neighbors,
                                           config.estimator, stream)
                bar.update()
    sim = op_similarity(feats.mean(axis=1), ops, config.similarity)
    return OpFeatures(edge, ops, feats, sim, config, time.perf_counter() - t0,
                      info=dict(kind='lid', space=space.name, feature_names=model.block_names,
                                mask=mask.to_list(),
                                paths=[space.to_str(_with(space, p, edge, ops[0])) for p in paths], batch_size=bs,
                                device=str(dev)))


# ---------------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------------
def grad_parameters(model: nn.Module, edge: int | None = None, mask: "OpMask | SlotMask | None" = None,
                    ) -> tuple[list[str], list[nn.Parameter]]:
    """Names and parameters whose gradient forms a GM-NAS feature, in a fixed order.

    Every trainable supernet weight except those of ``edge`` (in every cell) and those of ops
    that ``mask`` leaves out (never used by a path of the sub-supernet, so always zero).
    ``edge=None`` keeps every edge.
    """
    mask = model.mask if mask is None else mask
    space = model_space(model)
    skip = set()
    if edge is not None:
        skip |= {id(p) for p in model.choice_parameters(space.slots[slot_index(space, edge)])}
    for e, slot in enumerate(space.slots):
        for o in model.mask.choices_at(e):
            if o not in mask.choices_at(e):
                skip |= {id(p) for p in model.choice_parameters(slot, o)}
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad and id(p) not in skip]
    return [n for n, _ in named], [p for _, p in named]


def _grad_into(model: nn.Module, params: Sequence[nn.Parameter], x: torch.Tensor, y: torch.Tensor,
               arch: Arch, out: torch.Tensor) -> None:
    """Write the flat cross-entropy gradient of ``params`` for path ``arch`` into ``out``.

    ``autograd.grad`` (not ``backward``) leaves the model's ``.grad`` untouched; weights the
    path does not use come back as None and are written as zeros.
    """
    loss = nn.functional.cross_entropy(model(x, arch), y)
    grads = torch.autograd.grad(loss, list(params), allow_unused=True) if loss.requires_grad \
        else [None] * len(params)
    off = 0
    for p, g in zip(params, grads):
        n = p.numel()
        if g is None:
            out[off:off + n].zero_()
        else:
            out[off:off + n].copy_(g.reshape(-1))
        off += n


def grad_features(model: nn.Module, data: ImageData, edge: "int | str", mask: "OpMask | SlotMask | None" = None,
                  config: FeatureConfig = FeatureConfig(kind='grad'), device: str | torch.device | None = None,
                  progress: bool = True) -> OpFeatures:
    """GM-NAS features of every allowed op of ``edge``: gradients on the weights outside it.

    Same batches and paths as :func:`lid_features` for the same seed. Each candidate does a
    forward and backward pass (cross-entropy, batch statistics); its feature is the gradient of
    :func:`grad_parameters` (one list for every candidate, so vectors line up). The similarity
    is computed per repeat and averaged over R; ``features`` holds the mean gradient
    ``(n_ops, 1, D)`` (see :class:`OpFeatures`). Peak memory: one candidate's autograd graph
    plus two ``(n_ops, D)`` float32 buffers (this repeat's gradients and their running sum).
    """
    mask = _check_setting(model, data, edge, mask)
    space = model_space(model)
    edge = slot_index(space, edge)
    config = replace(config, kind='grad')
    dev = _device(model, device)
    bs = _effective_batch(data, config.batch_size, None)
    ops = list(mask.choices_at(edge))
    names, params = grad_parameters(model, edge, mask)
    sizes = [p.numel() for p in params]
    D = sum(sizes)
    paths = _paths(mask, config.repeats, config.seed, space, edge)
    cur = torch.zeros(len(ops), D, dtype=torch.float32, device=dev)
    total = torch.zeros_like(cur)
    sims = []
    t0 = time.perf_counter()
    with _mode(model, train=True), \
            _progress(len(ops) * config.repeats, f'gradient features, edge {space.slots[edge]}', progress) as bar:
        for r, (xb, yb) in enumerate(_batches(data, bs, config.repeats, config.seed, dev)):
            for i, op in enumerate(ops):
                _grad_into(model, params, xb, yb, _with(space, paths[r], edge, op), cur[i])
                bar.update()
            if not bool(torch.isfinite(cur).all()):
                raise ValueError(f'non-finite gradients on edge {edge} in repeat {r} (path {paths[r]}): '
                                 f'is the supernet diverged?')
            sims.append(_finish(_similarity_matrix(cur, config.similarity)))
            total += cur
    mean = (total / config.repeats).cpu().numpy()[:, None, :]
    per_repeat = np.stack(sims)
    sim = pd.DataFrame(per_repeat.mean(axis=0), index=ops, columns=ops)
    return OpFeatures(edge, ops, mean, sim, config, time.perf_counter() - t0,
                      info=dict(kind='grad', space=space.name, param_names=names, param_sizes=sizes, n_params=D,
                                similarity_per_repeat=per_repeat, mask=mask.to_list(),
                                paths=[space.to_str(_with(space, p, edge, ops[0])) for p in paths], batch_size=bs,
                                device=str(dev)))


# ---------------------------------------------------------------------------------------------
# dispatch and cache
# ---------------------------------------------------------------------------------------------
def model_fingerprint(model: nn.Module) -> str:
    """Hash of every tensor of the state dict (names, dtypes, shapes and bytes).

    Hashing the raw bytes costs a few ms per million weights and, unlike sums of weights,
    changes with any single weight or BN statistic.
    """
    h = hashlib.blake2b(digest_size=16)
    for name, t in model.state_dict().items():
        t = t.detach().to('cpu').contiguous()
        h.update(f'{name}|{t.dtype}|{tuple(t.shape)}'.encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _cache_key(model: nn.Module, data: ImageData, edge: "int | str", mask: "OpMask | SlotMask", config: FeatureConfig) -> tuple:
    size = dict(model_size(model), model_mask=model.mask.to_list(), space=model_space(model).name)
    return (config, int(edge), mask.to_list(), data.data_id, model_fingerprint(model), size)


def edge_similarity(model: nn.Module, data: ImageData, edge: "int | str", mask: "OpMask | SlotMask | None" = None,
                    config: FeatureConfig = FeatureConfig(), cache: bool | str | os.PathLike = True,
                    device: str | torch.device | None = None, progress: bool = True) -> OpFeatures:
    """Features and op x op similarity of ``edge``: :func:`lid_features` or
    :func:`grad_features` after ``config.kind``.

    With ``cache`` (True: ``$NASVIZ_CACHE`` or ``~/.cache/nasviz``; a path: that directory) the
    result is stored under ``op_features/`` keyed by the config, edge, mask, data id, a hash of
    the model's weights and BN statistics, and the model size. ``info['from_cache']`` says
    whether it was loaded.
    """
    if not isinstance(config, FeatureConfig):
        raise ValueError(f'config must be a FeatureConfig, got {type(config).__name__}')
    mask = _check_setting(model, data, edge, mask)
    fn = lid_features if config.kind == 'lid' else grad_features
    computed = []

    def compute() -> OpFeatures:
        computed.append(True)
        return fn(model, data, int(edge), mask, config, device=device, progress=progress)

    if cache is False:
        res = compute()
    else:
        res = cached('op_features', _cache_key(model, data, edge, mask, config), compute, cache)
    res.info['from_cache'] = not computed
    return res


def edge_similarities(model: nn.Module, data: ImageData, mask: "OpMask | SlotMask | None" = None,
                      config: FeatureConfig = FeatureConfig(), edges: Sequence[int] | None = None,
                      cache: bool | str | os.PathLike = True, device: str | torch.device | None = None,
                      progress: bool = True) -> dict[int, OpFeatures]:
    """:func:`edge_similarity` of every edge with at least two allowed ops (or of ``edges``).

    Returns ``{edge: OpFeatures}`` in edge order; empty when no edge can be split.
    """
    from tqdm.auto import tqdm

    mask = model.mask if mask is None else mask
    if edges is None:
        edges = [e for e in range(len(model_space(model).slots)) if len(mask.choices_at(e)) >= 2]
    out: dict[int, OpFeatures] = {}
    for e in tqdm(list(edges), desc=f'{config.kind} similarity per edge', disable=not progress):
        out[int(e)] = edge_similarity(model, data, e, mask, config, cache, device, progress)
    return out


# ---------------------------------------------------------------------------------------------
# many subnets (embeddings)
# ---------------------------------------------------------------------------------------------
def _one_batch(data: ImageData, batch_size: int, seed: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return next(_batches(data, batch_size, 1, seed, device))


def subnet_lid_vectors(model: nn.Module, data: ImageData, archs: Sequence['Arch | str'],
                       n_neighbors: int = 20, batch_size: int = 256, seed: int = 0, *,
                       estimator: Literal['mle', 'twonn'] = 'mle', bn: Literal['batch', 'running'] = 'batch',
                       device: str | torch.device | None = None, progress: bool = True) -> np.ndarray:
    """Layer-wise LID profile ``(n_archs, 3N + 2)`` of each subnet, all on one seeded batch.

    BN as in :class:`FeatureConfig` (``bn``); the model's state is left as it was.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f'unknown estimator {estimator!r}; valid estimators: {", ".join(ESTIMATORS)}')
    if bn not in BN_MODES:
        raise ValueError(f'unknown bn mode {bn!r}; valid modes: {", ".join(BN_MODES)}')
    _check_data(model, data)
    archs = [model_space(model).check(a, 'archs') for a in archs]
    dev = _device(model, device)
    bs = _effective_batch(data, batch_size, n_neighbors if estimator == 'mle' else None)
    xb, _ = _one_batch(data, bs, seed, dev)
    out = np.zeros((len(archs), len(model.block_names)))
    with _mode(model, train=bn == 'batch'), _progress(len(archs), 'subnet LID', progress) as bar:
        for i, a in enumerate(archs):
            out[i] = _lid_profile(model, xb, a, n_neighbors, estimator)
            bar.update()
    return out


def _projection_chunk(seed: int, chunk: int, rows: int, max_dim: int, device: torch.device) -> torch.Tensor:
    """Rows ``chunk * _PROJ_ROWS ...`` of the fixed Gaussian projection, regenerated on demand
    (the whole ``D x max_dim`` matrix would take gigabytes)."""
    g = torch.Generator().manual_seed(int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1)[0]))
    return (torch.randn(rows, max_dim, generator=g) / math.sqrt(max_dim)).to(device)


def _project(X: torch.Tensor, max_dim: int, seed: int) -> torch.Tensor:
    out = torch.zeros(X.shape[0], max_dim, dtype=torch.float32, device=X.device)
    for c, s in enumerate(range(0, X.shape[1], _PROJ_ROWS)):
        e = min(X.shape[1], s + _PROJ_ROWS)
        out += X[:, s:e] @ _projection_chunk(seed, c, e - s, max_dim, X.device)
    return out


def subnet_grad_vectors(model: nn.Module, data: ImageData, archs: Sequence['Arch | str'],
                        batch_size: int = 256, seed: int = 0, max_dim: int | None = None, *,
                        params: Literal['all', 'shared'] = 'all', device: str | torch.device | None = None,
                        progress: bool = True) -> np.ndarray:
    """Cross-entropy gradient of each subnet on one seeded batch, float32 ``(n_archs, D)``.

    ``params='all'``: every supernet weight (ops a subnet does not use get 0);
    ``'shared'``: only :meth:`NB201Supernet.shared_parameters` (stem, reductions, head), which
    every subnet uses. ``max_dim`` multiplies by a fixed Gaussian matrix ``D x max_dim``
    (entries N(0, 1/max_dim), seeded by ``seed``), which keeps inner products in expectation;
    gradients are then projected in blocks, so memory stays bounded for many subnets.
    """
    if params not in ('all', 'shared'):
        raise ValueError(f"params must be 'all' or 'shared', got {params!r}")
    if max_dim is not None and (isinstance(max_dim, bool) or int(max_dim) < 1):
        raise ValueError(f'max_dim must be a positive integer or None, got {max_dim!r}')
    _check_data(model, data)
    archs = [model_space(model).check(a, 'archs') for a in archs]
    dev = _device(model, device)
    xb, yb = _one_batch(data, _effective_batch(data, batch_size, None), seed, dev)
    plist = grad_parameters(model)[1] if params == 'all' else \
        [p for p in model.shared_parameters() if p.requires_grad]
    D = sum(p.numel() for p in plist)
    width = D if max_dim is None else int(max_dim)
    out = np.zeros((len(archs), width), dtype=np.float32)
    # with a projection, gradients wait in a block buffer (<= 128 MiB) so that each chunk of the
    # projection is generated once per block rather than once per subnet
    block = 1 if max_dim is None else min(len(archs), 2 ** 25 // max(D, 1))
    buf = torch.zeros(max(1, block), D, dtype=torch.float32, device=dev)
    with _mode(model, train=True), _progress(len(archs), 'subnet gradients', progress) as bar:
        for s in range(0, len(archs), buf.shape[0]):
            part = archs[s:s + buf.shape[0]]
            for j, a in enumerate(part):
                _grad_into(model, plist, xb, yb, a, buf[j])
                bar.update()
            res = buf[:len(part)] if max_dim is None else _project(buf[:len(part)], width, seed)
            out[s:s + len(part)] = res.cpu().numpy()
    return out
