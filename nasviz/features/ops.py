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
import os
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasviz.cache import cached
from nasviz.data import ImageData
from nasviz.features.config import BN_MODES, ESTIMATORS, KINDS, SIMILARITIES, FeatureConfig, OpFeatures
from nasviz.features.probe import (
    check_probe_setting,
    effective_batch_size,
    grad_parameters,
    lid_profile,
    model_mode,
    model_space,
    move_to_device,
    path_gradient_into,
    progress_bar,
    random_batches,
    random_paths,
    slot_candidates,
    slot_index,
)
from nasviz.features.similarity import finish_similarity, op_similarity, similarity_matrix
from nasviz.features.subnets import subnet_grad_vectors, subnet_lid_vectors
from nasviz.spaces import SlotMask
from nasviz.supernet.train import model_size

__all__ = [
    'KINDS',
    'SIMILARITIES',
    'ESTIMATORS',
    'BN_MODES',
    'FeatureConfig',
    'OpFeatures',
    'op_similarity',
    'lid_features',
    'grad_features',
    'edge_similarity',
    'edge_similarities',
    'subnet_lid_vectors',
    'subnet_grad_vectors',
    'grad_parameters',
    'model_fingerprint',
    'model_space',
    'slot_index',
]


def lid_features(
    model: nn.Module,
    data: ImageData,
    edge: int | str,
    mask: SlotMask | None = None,
    config: FeatureConfig = FeatureConfig(kind='lid'),
    device: str | torch.device | None = None,
    progress: bool = True,
    *,
    stream: bool = True,
) -> OpFeatures:
    """NAS-LID features of every allowed op of ``edge``: layer-wise LID profiles.

    See the module docstring for the protocol. ``features`` is ``(n_ops, R, 3N + 2)``; the
    similarity (``config.similarity``) is between the profiles averaged over the R repeats.
    ``stream`` only changes memory use (see :func:`lid_profile`), not the result. The model's
    mode and BN running statistics are left as they were.
    """
    mask = check_probe_setting(model, data, edge, mask)
    space = model_space(model)
    edge = slot_index(space, edge)
    config = replace(config, kind='lid')  # a shared config may say 'grad'; the result must not
    dev = move_to_device(model, device)
    bs = effective_batch_size(data, config.batch_size, config.n_neighbors if config.estimator == 'mle' else None)
    ops = list(mask.choices_at(edge))
    paths = random_paths(mask, config.repeats, config.seed, space, edge)
    cands = slot_candidates(space, mask, paths, edge, ops, config.seed)
    feats = np.zeros((len(ops), config.repeats, len(model.block_names)))
    t0 = time.perf_counter()
    with (
        model_mode(model, train=config.bn == 'batch'),
        progress_bar(len(ops) * config.repeats, f'LID features, edge {space.slots[edge]}', progress) as bar,
    ):
        for r, (xb, _) in enumerate(random_batches(data, bs, config.repeats, config.seed, dev)):
            for i in range(len(ops)):
                feats[i, r] = lid_profile(model, xb, cands[r][i], config.n_neighbors, config.estimator, stream)
                bar.update()
    sim = op_similarity(feats.mean(axis=1), ops, config.similarity)
    return OpFeatures(
        edge,
        ops,
        feats,
        sim,
        config,
        time.perf_counter() - t0,
        info=dict(
            kind='lid',
            space=space.name,
            feature_names=model.block_names,
            mask=mask.to_list(),
            paths=[space.to_str(row[0]) for row in cands],
            batch_size=bs,
            device=str(dev),
        ),
    )


def grad_features(
    model: nn.Module,
    data: ImageData,
    edge: int | str,
    mask: SlotMask | None = None,
    config: FeatureConfig = FeatureConfig(kind='grad'),
    device: str | torch.device | None = None,
    progress: bool = True,
) -> OpFeatures:
    """GM-NAS features of every allowed op of ``edge``: gradients on the weights outside it.

    Same batches and paths as :func:`lid_features` for the same seed. Each candidate does a
    forward and backward pass (cross-entropy, batch statistics); its feature is the gradient of
    :func:`grad_parameters` (one list for every candidate, so vectors line up). The similarity
    is computed per repeat and averaged over R; ``features`` holds the mean gradient
    ``(n_ops, 1, D)`` (see :class:`OpFeatures`). Peak memory: one candidate's autograd graph
    plus two ``(n_ops, D)`` float32 buffers (this repeat's gradients and their running sum).
    """
    mask = check_probe_setting(model, data, edge, mask)
    space = model_space(model)
    edge = slot_index(space, edge)
    config = replace(config, kind='grad')
    dev = move_to_device(model, device)
    bs = effective_batch_size(data, config.batch_size, None)
    ops = list(mask.choices_at(edge))
    names, params = grad_parameters(model, edge, mask)
    sizes = [p.numel() for p in params]
    D = sum(sizes)
    paths = random_paths(mask, config.repeats, config.seed, space, edge)
    cands = slot_candidates(space, mask, paths, edge, ops, config.seed)
    cur = torch.zeros(len(ops), D, dtype=torch.float32, device=dev)
    total = torch.zeros_like(cur)
    sims = []
    t0 = time.perf_counter()
    with (
        model_mode(model, train=True),
        progress_bar(len(ops) * config.repeats, f'gradient features, edge {space.slots[edge]}', progress) as bar,
    ):
        for r, (xb, yb) in enumerate(random_batches(data, bs, config.repeats, config.seed, dev)):
            for i in range(len(ops)):
                path_gradient_into(model, params, xb, yb, cands[r][i], cur[i])
                bar.update()
            if not bool(torch.isfinite(cur).all()):
                raise ValueError(
                    f'non-finite gradients on edge {edge} in repeat {r} (path {paths[r]}): is the supernet diverged?'
                )
            sims.append(finish_similarity(similarity_matrix(cur, config.similarity)))
            total += cur
    mean = (total / config.repeats).cpu().numpy()[:, None, :]
    per_repeat = np.stack(sims)
    sim = pd.DataFrame(per_repeat.mean(axis=0), index=ops, columns=ops)
    return OpFeatures(
        edge,
        ops,
        mean,
        sim,
        config,
        time.perf_counter() - t0,
        info=dict(
            kind='grad',
            space=space.name,
            param_names=names,
            param_sizes=sizes,
            n_params=D,
            similarity_per_repeat=per_repeat,
            mask=mask.to_list(),
            paths=[space.to_str(row[0]) for row in cands],
            batch_size=bs,
            device=str(dev),
        ),
    )


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


def _cache_key(model: nn.Module, data: ImageData, edge: int | str, mask: SlotMask, config: FeatureConfig) -> tuple:
    size = dict(model_size(model), model_mask=model.mask.to_list(), space=model_space(model).name)
    return (config, int(edge), mask.to_list(), data.data_id, model_fingerprint(model), size)


def edge_similarity(
    model: nn.Module,
    data: ImageData,
    edge: int | str,
    mask: SlotMask | None = None,
    config: FeatureConfig = FeatureConfig(),
    cache: bool | str | os.PathLike = True,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> OpFeatures:
    """Features and op x op similarity of ``edge``: :func:`lid_features` or
    :func:`grad_features` after ``config.kind``.

    With ``cache`` (True: ``$NASVIZ_CACHE`` or ``~/.cache/nasviz``; a path: that directory) the
    result is stored under ``op_features/`` keyed by the config, edge, mask, data id, a hash of
    the model's weights and BN statistics, and the model size. ``info['from_cache']`` says
    whether it was loaded.
    """
    if not isinstance(config, FeatureConfig):
        raise ValueError(f'config must be a FeatureConfig, got {type(config).__name__}')
    mask = check_probe_setting(model, data, edge, mask)
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


def edge_similarities(
    model: nn.Module,
    data: ImageData,
    mask: SlotMask | None = None,
    config: FeatureConfig = FeatureConfig(),
    edges: Sequence[int] | None = None,
    cache: bool | str | os.PathLike = True,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict[int, OpFeatures]:
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
