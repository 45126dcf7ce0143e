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
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from nasviz.data import ImageData
from nasviz.search.base import SearchConfig, SearchResult
from nasviz.spaces.nb201 import Arch, sample_archs, to_arch
from nasviz.supernet.evaluate import accuracy, evaluate_archs
from nasviz.supernet.model import NB201Supernet
from nasviz.supernet.train import TrainConfig, train_supernet


def candidate_cells(n: int, seed: int, pool: Sequence[Arch] | None = None) -> list[Arch]:
    """``n`` distinct non-degenerate cells drawn with ``seed``: from ``pool`` when given (e.g.
    the micro benchmark's cells, so their ground truth is known), else from the whole space."""
    if pool is None:
        return sample_archs(n, rng=seed, unique=True, exclude_degenerate=True)
    pool = [to_arch(a) for a in pool if not to_arch(a).is_degenerate]
    if n > len(pool):
        raise ValueError(f'n_candidates={n} exceeds the {len(pool)} cells of the candidate pool')
    idx = np.random.default_rng(seed).choice(len(pool), n, replace=False)
    return [pool[i] for i in sorted(idx)]


def _train_config(cfg: SearchConfig, epochs: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                       seed=cfg.seed)


def _best(frame: pd.DataFrame) -> Arch:
    # ties (same score) go to the first cell in candidate order
    return to_arch(frame['arch_str'].iloc[int(np.argmax(frame['score'].to_numpy()))])


def spos_rs_search(cfg: SearchConfig, data: ImageData, candidates: Sequence[Arch], progress: bool = True,
                   checkpoint_dir=None) -> SearchResult:
    """SPOS supernet + random search over its scores (held-out half, ``cfg.score``); the
    supernet's training resumes from ``checkpoint_dir`` (per-epoch checkpoints)."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    model = NB201Supernet(cfg.C, cfg.N, data.num_classes, data.in_channels)
    hist = train_supernet(model, data, _train_config(cfg, cfg.epochs), progress=progress,
                          checkpoint_dir=checkpoint_dir)
    ev = evaluate_archs(model, candidates, data, recal_batches=cfg.recal_batches, split='test',
                        progress=progress, score=cfg.score)
    steps = math.ceil(data.x_train.shape[0] / cfg.batch_size)
    history = pd.DataFrame(dict(epoch=hist['epoch'], train_loss=hist['train_loss'], train_acc=hist['train_acc']))
    step = dict(w_step_s=float(hist['seconds'].median() / steps))
    cand = ev.drop(columns='arch')
    return SearchResult('spos-rs', _best(cand), cfg, time.perf_counter() - t0, history, candidates=cand, step=step)


def random_search(cfg: SearchConfig, data: ImageData, candidates: Sequence[Arch], progress: bool = True) -> SearchResult:
    """Random search: every candidate trained standalone for ``epochs * n_train / n_candidates``
    training images (the same total as one search), scored on the held-out half."""
    from tqdm.auto import tqdm

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
            sub = ImageData(data.name, data.x_train[idx], data.y_train[idx], data.x_test, data.y_test,
                            data.num_classes, f'{data.data_id}-rs{i}', data.augment, dict(data.info))
            epochs = 1
        torch.manual_seed(cfg.seed * 7919 + i)
        net = NB201Supernet(cfg.C, cfg.N, data.num_classes, data.in_channels, arch=arch)
        h = train_supernet(net, sub, _train_config(cfg, epochs), progress=False)
        secs.append(float(h['seconds'].sum()) / (epochs * math.ceil(sub.x_train.shape[0] / cfg.batch_size)))
        acc, loss = accuracy(net, arch, data.x_test, data.y_test)
        rows.append(dict(arch_str=str(arch), score=acc if cfg.score == 'accuracy' else -loss, accuracy=acc,
                         loss=loss, train_images=int(sub.x_train.shape[0]) * epochs))
    cand = pd.DataFrame(rows)
    return SearchResult('random', _best(cand), cfg, time.perf_counter() - t0, pd.DataFrame(), candidates=cand,
                        step=dict(w_step_s=float(np.median(secs))))


__all__ = ['candidate_cells', 'spos_rs_search', 'random_search']
