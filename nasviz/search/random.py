"""Sampling baselines at the same budget as the relaxed searches.

* ``spos-rs``: a single-path one-shot supernet (SPOS, uniform sampling) trained for the search's
  epochs on the search-train half, then random search over its scores: ``n_candidates`` cells
  scored with BN-recalibrated shared weights on the held-out half; the best is returned.
* ``random``: the same ``n_candidates`` cells, each trained standalone on an equal share of the
  same training steps and scored on the held-out half; the best is returned.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from nasviz.data import ImageData
from nasviz.search.base import SearchConfig, SearchResult
from nasviz.search.groups import search_groups
from nasviz.supernet.evaluate import accuracy, evaluate_archs
from nasviz.supernet.train import TrainConfig, train_supernet


def candidate_cells(n: int, seed: int, pool: Sequence | None = None, space: str = 'nb201') -> list:
    """``n`` distinct non-degenerate cells of ``space`` drawn with ``seed``: from ``pool`` when
    given (e.g. the micro benchmark's cells, so their ground truth is known), else from the whole
    space (``space.sample``)."""
    return search_groups(space).candidates(n, seed, pool)


def _train_config(cfg: SearchConfig, epochs: int) -> TrainConfig:
    return TrainConfig(
        epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay, seed=cfg.seed
    )


def _best(frame: pd.DataFrame, space: str):
    # ties (same score) go to the first cell in candidate order
    return search_groups(space).to_arch(frame['arch_str'].iloc[int(np.argmax(frame['score'].to_numpy()))])


def spos_rs_search(
    cfg: SearchConfig, data: ImageData, candidates: Sequence, progress: bool = True, checkpoint_dir=None
) -> SearchResult:
    """SPOS supernet + random search over its scores (held-out half, ``cfg.score``); the
    supernet's training resumes from ``checkpoint_dir`` (per-epoch checkpoints)."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    model = search_groups(cfg.space).spos_supernet(cfg.C, cfg.N, data.num_classes, data.in_channels)
    hist = train_supernet(model, data, _train_config(cfg, cfg.epochs), progress=progress, checkpoint_dir=checkpoint_dir)
    ev = evaluate_archs(
        model, candidates, data, recal_batches=cfg.recal_batches, split='test', progress=progress, score=cfg.score
    )
    steps = math.ceil(data.x_train.shape[0] / cfg.batch_size)
    history = pd.DataFrame(dict(epoch=hist['epoch'], train_loss=hist['train_loss'], train_acc=hist['train_acc']))
    step = dict(w_step_s=float(hist['seconds'].median() / steps))
    cand = ev.drop(columns='arch')
    return SearchResult(
        'spos-rs', _best(cand, cfg.space), cfg, time.perf_counter() - t0, history, candidates=cand, step=step
    )


def random_search(cfg: SearchConfig, data: ImageData, candidates: Sequence, progress: bool = True) -> SearchResult:
    """Random search: every candidate trained standalone for ``epochs * n_train / n_candidates``
    training images (the same total as one search), scored on the held-out half."""
    from tqdm.auto import tqdm

    groups = search_groups(cfg.space)
    t0 = time.perf_counter()
    n_train = int(data.x_train.shape[0])
    share = max(cfg.batch_size, int(round(cfg.epochs * n_train / len(candidates))))
    rows, secs = [], []
    for i, arch in enumerate(tqdm(candidates, desc='random search', disable=not progress, leave=False)):
        if share >= n_train:
            sub, epochs = data, max(1, int(round(share / n_train)))
        else:
            # a contiguous slice of a seeded permutation, a different slice per candidate
            perm = torch.from_numpy(np.random.default_rng([cfg.seed, 17]).permutation(n_train))
            idx = perm[(np.arange(share) + i * share) % n_train]
            sub = ImageData(
                data.name,
                data.x_train[idx],
                data.y_train[idx],
                data.x_test,
                data.y_test,
                data.num_classes,
                f'{data.data_id}-rs{i}',
                data.augment,
                dict(data.info),
            )
            epochs = 1
        torch.manual_seed(cfg.seed * 7919 + i)
        net = groups.standalone(arch, cfg.C, cfg.N, data.num_classes, data.in_channels)
        h = train_supernet(net, sub, _train_config(cfg, epochs), progress=False)
        secs.append(float(h['seconds'].sum()) / (epochs * math.ceil(sub.x_train.shape[0] / cfg.batch_size)))
        acc, loss = accuracy(net, arch, data.x_test, data.y_test)
        rows.append(
            dict(
                arch_str=groups.space.to_str(arch),
                score=acc if cfg.score == 'accuracy' else -loss,
                accuracy=acc,
                loss=loss,
                train_images=int(sub.x_train.shape[0]) * epochs,
            )
        )
    cand = pd.DataFrame(rows)
    return SearchResult(
        'random',
        _best(cand, cfg.space),
        cfg,
        time.perf_counter() - t0,
        pd.DataFrame(),
        candidates=cand,
        step=dict(w_step_s=float(np.median(secs))),
    )


__all__ = ['candidate_cells', 'spos_rs_search', 'random_search']
