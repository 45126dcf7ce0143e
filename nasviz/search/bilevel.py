"""The alternating optimisation shared by ISTA-NAS and the DARTS relaxation: one architecture
step on a held-out batch, then one weight step on a training batch, over ``epochs`` passes of
the search-train half. Only the weighted network and the architecture variables differ."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasviz.data import ImageData, iterate_batches
from nasviz.io import atomic_torch_save
from nasviz.search.base import (
    SearchConfig,
    arch_optimizer,
    clip_step,
    config_key,
    cycle_batches,
    epoch_generator,
    resume_checkpoint,
    weight_optimizer,
)
from nasviz.search.network import count_saved_bytes

CKPT_NAME = 'search_checkpoint.pt'


def alternate(
    model: nn.Module,
    arch_vars: nn.Module,
    weights_fn: Callable[[], torch.Tensor],
    select: Callable[[torch.Tensor], Any],
    mode: str,
    data: ImageData,
    cfg: SearchConfig,
    on_epoch: Callable[[int], dict] | None = None,
    progress: bool = True,
    desc: str = 'search',
    arch_weight_decay: float | None = None,
    checkpoint_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Run the search; returns the per-epoch history and the step costs.

    ``model`` is a weighted supernet of the space (``forward_weighted(x, weights, mode,
    support=...)``, see :mod:`nasviz.search.groups`); ``weights_fn()`` gives its weights (NB201
    ``(6, 5)``, DARTS ``(2, 14, 7)``; attached to ``arch_vars``' parameters), ``select(weights)``
    the cell they stand for. Each step: architecture variables by Adam on a
    held-out batch (network weights frozen), then network weights by SGD on a training batch
    with the architecture weights detached. ``on_epoch(epoch)`` adds columns to an epoch's row;
    ``arch_weight_decay`` overrides ``cfg.arch_weight_decay``.

    With ``checkpoint_dir``, everything the next epoch depends on (network, architecture
    variables and their solver state, both optimizers, the schedule, history, the last selected
    cell) is saved atomically after every epoch, and a run finding a checkpoint of the same
    config resumes after its last epoch; batches come from generators seeded by (seed, epoch), so
    a resumed search ends where an uninterrupted one does.
    """
    from tqdm.auto import tqdm

    loss_fn = nn.CrossEntropyLoss()
    n = data.x_train.shape[0]
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    opt_w, sched = weight_optimizer(model.parameters(), cfg, cfg.epochs * steps_per_epoch)
    opt_a = arch_optimizer(arch_vars.parameters(), cfg, arch_weight_decay)
    model.train()
    rows, w_times, a_times, saved_w, saved_a = [], [], [], [], []
    prev: Any = None
    start = 0
    ckpt = Path(checkpoint_dir) / CKPT_NAME if checkpoint_dir is not None else None
    state = resume_checkpoint(
        ckpt, cfg, dict(model=model, arch_vars=arch_vars, opt_w=opt_w, opt_a=opt_a, sched=sched), keys=('prev', 'costs')
    )
    if state is not None:
        rows, prev, start = state['rows'], state['prev'], state['epoch'] + 1
        w_times, a_times, saved_w, saved_a = state['costs']
    bar = tqdm(range(start, cfg.epochs), desc=desc, disable=not progress, leave=False, initial=start, total=cfg.epochs)
    for epoch in bar:
        held = cycle_batches(data, cfg.batch_size, cfg.seed, epoch)
        g = epoch_generator(cfg.seed, epoch)
        changes, tot_loss, correct, seen = 0, 0.0, 0, 0
        for i, (xb, yb) in enumerate(
            iterate_batches(data.x_train, data.y_train, cfg.batch_size, g, augment=data.augment)
        ):
            # architecture step (held-out batch); the network weights take no gradient here
            xv, yv = next(held)
            t0 = time.perf_counter()
            model.requires_grad_(False)
            opt_a.zero_grad(set_to_none=True)

            def arch_forward():
                w = weights_fn()
                sup = select(w.detach()) if mode == 'sparse' else None
                return loss_fn(model.forward_weighted(xv, w, mode, support=sup), yv)  # noqa: B023 (called in this iteration)

            if i == 0:
                loss_v, nbytes = count_saved_bytes(arch_forward)
                saved_a.append(nbytes)
            else:
                loss_v = arch_forward()
            loss_v.backward()
            opt_a.step()
            model.requires_grad_(True)
            a_times.append(time.perf_counter() - t0)
            # weight step (training batch) on the network the architecture variables select now
            t0 = time.perf_counter()
            with torch.no_grad():
                w = weights_fn().detach()
            arch = select(w)
            changes += int(prev is not None and arch != prev)
            prev = arch
            opt_w.zero_grad(set_to_none=True)

            def weight_forward():
                return model.forward_weighted(xb, w, mode, support=arch if mode == 'sparse' else None)  # noqa: B023 (called in this iteration)

            if i == 0:
                logits, nbytes = count_saved_bytes(weight_forward)
                saved_w.append(nbytes)
            else:
                logits = weight_forward()
            loss = loss_fn(logits, yb)
            loss.backward()
            clip_step(model, opt_w, sched)
            w_times.append(time.perf_counter() - t0)
            tot_loss += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        with torch.no_grad():
            w = weights_fn().detach()
        row = dict(
            epoch=epoch,
            arch=select(w),
            support_changes=changes,
            train_loss=tot_loss / seen,
            train_acc=100.0 * correct / seen,
        )
        if on_epoch is not None:
            row.update(on_epoch(epoch) or {})
        rows.append(row)
        if ckpt is not None:
            atomic_torch_save(
                dict(
                    model=model.state_dict(),
                    arch_vars=arch_vars.state_dict(),
                    opt_w=opt_w.state_dict(),
                    opt_a=opt_a.state_dict(),
                    sched=sched.state_dict(),
                    epoch=epoch,
                    rows=rows,
                    prev=prev,
                    config=config_key(cfg),
                    costs=(w_times, a_times, saved_w, saved_a),
                ),
                ckpt,
            )
        bar.set_postfix(loss=f'{row["train_loss"]:.3f}', cell=str(row['arch'])[:24])
    # the first steps pay one-off warm-up costs; the median is the steady step
    step = dict(
        w_step_s=float(np.median(w_times)),
        arch_step_s=float(np.median(a_times)),
        saved_mib=float(np.mean(saved_w)) / 2**20,
        arch_saved_mib=float(np.mean(saved_a)) / 2**20,
    )
    return pd.DataFrame(rows), step


__all__ = ['alternate', 'CKPT_NAME']
