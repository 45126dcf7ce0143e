"""The one-stage variant of ISTA-NAS: search and final training in one run, keeping the weights.

After the search epochs (:func:`nasviz.search.ista.ista_search`), the support is fixed at the
cell the search returns, and the network trained during the search (the weighted supernet run
sparse, so only that cell's ops are ever in the graph) keeps training on the *whole* training
split (search-train and held-out halves together; the test split is still unseen) for
``cfg.n_final_epochs`` epochs. The trained network is then scored on the profile's test split:
its own accuracy, reported beside the ground-truth accuracy of the cell it found.

Choices (ISTA-NAS leaves them open for this setting):

* **The code values on the support are fixed scales.** Each supported op's output stays
  multiplied by the ``z`` it had at the end of the search; ``b`` takes no more steps (no
  held-out batches remain), so the code, and with it the support, cannot change. Keeping the
  scales rather than resetting them to 1 keeps the function the search trained: the final
  training continues from the network the search ended with, not from a rescaled one.
* **A fresh weight schedule.** The search's cosine schedule has decayed to 0 at its end; the
  final training restarts SGD (same ``lr``, momentum, weight decay, clip) with its own cosine
  schedule over the final epochs (momentum buffers start empty).
* Parameters of ops off the support get no gradient and no weight decay, so they stay as the
  search left them (tested).

Resumable: with ``checkpoint_dir`` the network, optimizer, schedule and history are saved
atomically after every final epoch; batches come from generators seeded by (seed, epoch).

Pure computation: no plotting.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from nasviz.data import ImageData, iterate_batches
from nasviz.io import atomic_torch_save
from nasviz.search.base import SearchConfig, clip_step, config_key, epoch_generator, resume_checkpoint, weight_optimizer

FINAL_CKPT_NAME = 'final_checkpoint.pt'
#: batch streams of the final training (the search uses 0 for weights and 1 for held-out batches)
_FINAL_STREAM = 2


@torch.no_grad()
def weighted_accuracy(
    model: nn.Module, weights: torch.Tensor, arch: Any, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512
) -> tuple[float, float]:
    """Top-1 accuracy (%) and mean cross-entropy of the weighted network running ``arch`` (sparse
    forward, each op scaled by ``weights``), in eval mode (BN running statistics)."""
    model.eval()
    correct, loss, n = 0, 0.0, 0
    for s in range(0, x.shape[0], batch_size):
        logits = model.forward_weighted(x[s : s + batch_size], weights, 'sparse', support=arch)
        yb = y[s : s + batch_size]
        loss += nn.functional.cross_entropy(logits, yb, reduction='sum').item()
        correct += (logits.argmax(1) == yb).sum().item()
        n += len(yb)
    return 100.0 * correct / n, loss / n


def train_fixed_support(
    model: nn.Module,
    weights_fn,
    select,
    data: ImageData,
    cfg: SearchConfig,
    progress: bool = True,
    checkpoint_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, float, float]:
    """Train ``model`` on its fixed support for ``cfg.n_final_epochs`` epochs on ``data.x_train``,
    then score it on ``data.x_test``. Returns ``(history, test accuracy %, test loss)``.

    ``weights_fn()``: the code's network weights (read once at the start, then held fixed: the
    scales of the support); ``select(weights)``: the cell they support. Each final epoch's row
    records the cell the code supports at its end (``weights_fn`` is called again), so a change
    of the code would show; ``support_changes`` counts epochs whose cell differs from the start.
    """
    from tqdm.auto import tqdm

    epochs = cfg.n_final_epochs
    if epochs < 1:
        raise ValueError('train_fixed_support needs cfg.one_stage with final_epochs >= 1')
    with torch.no_grad():
        w = weights_fn().detach().clone()
    arch = select(w)
    loss_fn = nn.CrossEntropyLoss()
    steps_total = epochs * math.ceil(data.x_train.shape[0] / cfg.batch_size)
    opt, sched = weight_optimizer(model.parameters(), cfg, steps_total)
    rows: list[dict] = []
    start = 0
    ckpt = Path(checkpoint_dir) / FINAL_CKPT_NAME if checkpoint_dir is not None else None
    state = resume_checkpoint(
        ckpt, cfg, dict(model=model, opt=opt, sched=sched), keys=('weights',), what='final training'
    )
    if state is not None:
        w, rows, start = state['weights'], state['rows'], state['epoch'] + 1
        arch = select(w)
    bar = tqdm(
        range(start, epochs),
        desc='one-stage: final training',
        disable=not progress,
        leave=False,
        initial=start,
        total=epochs,
    )
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        g = epoch_generator(cfg.seed, cfg.epochs + epoch, stream=_FINAL_STREAM)
        tot, correct, seen = 0.0, 0, 0
        for xb, yb in iterate_batches(data.x_train, data.y_train, cfg.batch_size, g, augment=data.augment):
            opt.zero_grad(set_to_none=True)
            logits = model.forward_weighted(xb, w, 'sparse', support=arch)
            loss = loss_fn(logits, yb)
            loss.backward()
            clip_step(model, opt, sched)
            tot += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        with torch.no_grad():
            now = select(weights_fn().detach())
        rows.append(
            dict(
                epoch=cfg.epochs + epoch,
                arch=now,
                support_changes=int(now != arch),
                train_loss=tot / seen,
                train_acc=100.0 * correct / seen,
                seconds=time.perf_counter() - t0,
            )
        )
        if ckpt is not None:
            atomic_torch_save(
                dict(
                    model=model.state_dict(),
                    opt=opt.state_dict(),
                    sched=sched.state_dict(),
                    epoch=epoch,
                    rows=rows,
                    config=config_key(cfg),
                    weights=w,
                ),
                ckpt,
            )
        bar.set_postfix(loss=f'{rows[-1]["train_loss"]:.3f}')
    acc, loss = weighted_accuracy(model, w, arch, data.x_test, data.y_test)
    return pd.DataFrame(rows), acc, loss


__all__ = ['train_fixed_support', 'weighted_accuracy', 'FINAL_CKPT_NAME']
