"""Single-path uniform-sampling training (SPOS) with per-epoch checkpoints and exact resume.

Every source of randomness inside an epoch (batch order, augmentation, sampled paths) is drawn
from generators seeded by ``(seed, epoch)``, so a run killed after epoch ``e`` and resumed from
its checkpoint produces the same weights as one that never stopped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasviz.checkpoint import CHECKPOINT_KEYS, CKPT_NAME, zip_intact
from nasviz.data import ImageData, iterate_batches
from nasviz.io import atomic_torch_save, atomic_write_text, load_checked
from nasviz.ownership import claim
from nasviz.spaces import SlotMask, get_space

#: what a training run writes into its checkpoint directory
RUN_FILES = (CKPT_NAME, CKPT_NAME + '.sha256', 'config.json')


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (saved beside its checkpoint)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = True
    grad_clip: float | None = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f'bad TrainConfig: epochs={self.epochs}, batch_size={self.batch_size}, lr={self.lr}')


def _epoch_generators(seed: int, epoch: int, device: torch.device) -> tuple[torch.Generator, np.random.Generator]:
    g = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
    return g, np.random.default_rng([int(seed), int(epoch)])


def _make_optimizer(model: nn.Module, cfg: TrainConfig, steps_total: int):
    opt = torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        nesterov=cfg.nesterov and cfg.momentum > 0,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps_total) / steps_total))
    )
    return opt, sched


def mask_record(mask) -> list | dict:
    """A mask as plain data for checkpoints and caches (NB201's edge lists, else a SlotMask dict)."""
    return mask.to_list() if hasattr(mask, 'to_list') else mask.to_dict()


def model_size(model: nn.Module) -> dict:
    """The size arguments a supernet was built with (recorded beside its checkpoint)."""
    size = getattr(model, 'size', None)
    if isinstance(size, dict):
        return dict(size)
    return {k: getattr(model, k) for k in ('C', 'N', 'num_classes', 'in_channels') if hasattr(model, k)}


def path_sampler(model: nn.Module, mask) -> Callable[[np.random.Generator], object]:
    """Draws one architecture uniformly inside ``mask`` with the epoch's generator, in any space."""
    if hasattr(mask, 'sample') and not isinstance(mask, SlotMask):  # NB201 OpMask: one draw per edge
        return mask.sample
    space = get_space(getattr(model, 'space', 'nb201'))
    return lambda rng: space.sample(1, mask=mask, rng=rng)[0]


def train_supernet(
    model: nn.Module,
    data: ImageData,
    config: TrainConfig = TrainConfig(),
    mask=None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
    callback: Callable[[int, nn.Module], dict | None] | None = None,
) -> pd.DataFrame:
    """Train ``model`` by uniform single-path sampling within ``mask`` (default: the model's mask).

    ``model`` is a supernet of any space (``get_space(name).build_supernet()``), ``mask`` a mask of
    that space.

    A standalone network (``model.fixed_arch``) trains its one cell. With ``checkpoint_dir`` a
    checkpoint is written atomically after every epoch and an existing one is resumed (it must
    come from the same config). ``callback(epoch, model)`` runs after each epoch; a dict it
    returns is added to that epoch's row. Returns the per-epoch history (loss, accuracy, lr, s).
    """
    from tqdm.auto import tqdm

    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    if data.x_train.device != device:
        data = data.to(device)
    fixed = getattr(model, 'fixed_arch', None)
    mask = mask or getattr(model, 'mask', None) or get_space(getattr(model, 'space', 'nb201')).full_mask()
    sample_path = path_sampler(model, mask)
    n = data.x_train.shape[0]
    steps_per_epoch = math.ceil(n / config.batch_size)
    opt, sched = _make_optimizer(model, config, config.epochs * steps_per_epoch)
    history: list[dict] = []
    start = 0
    ckpt_path = Path(checkpoint_dir) / CKPT_NAME if checkpoint_dir is not None else None
    if ckpt_path is not None:  # a file there that nasviz did not write: FileExistsError, nothing touched
        claim(ckpt_path.parent, RUN_FILES, 'checkpoint_dir')
    # a damaged checkpoint of nasviz's own is set aside (renamed, with a warning) and training
    # restarts; a damaged side file alone is not a damaged checkpoint (its zip CRCs decide)
    state = (
        None
        if ckpt_path is None
        else load_checked(
            ckpt_path,
            lambda p: torch.load(p, map_location=device, weights_only=False),
            validate=lambda st: CHECKPOINT_KEYS <= set(st),
            intact=zip_intact,
        )
    )
    if state is not None:
        if state['config'] != asdict(config) or state.get('mask') != mask_record(mask):
            raise ValueError(
                f'{ckpt_path} holds a run with another config or mask ({state["config"]}); use a fresh checkpoint_dir'
            )
        model.load_state_dict(state['model'])
        opt.load_state_dict(state['optimizer'])
        sched.load_state_dict(state['scheduler'])
        history, start = state['history'], state['epoch'] + 1
    if ckpt_path is not None:
        atomic_write_text(
            ckpt_path.with_name('config.json'),
            json.dumps(
                {
                    'train': asdict(config),
                    'mask': mask_record(mask),
                    'space': getattr(model, 'space', 'nb201'),
                    'model': model_size(model),
                    'data_id': data.data_id,
                },
                indent=1,
            ),
        )
    loss_fn = nn.CrossEntropyLoss()
    bar = tqdm(
        range(start, config.epochs),
        desc='train supernet' if fixed is None else 'train',
        disable=not progress,
        initial=start,
        total=config.epochs,
        leave=False,
    )
    for epoch in bar:
        model.train()
        g, rng = _epoch_generators(config.seed, epoch, device)
        t0, tot_loss, tot_correct, seen = time.perf_counter(), 0.0, 0, 0
        for xb, yb in iterate_batches(data.x_train, data.y_train, config.batch_size, g, augment=data.augment):
            arch = fixed if fixed is not None else sample_path(rng)
            logits = model(xb, arch)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(yb)
            tot_correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        row = dict(
            epoch=epoch,
            train_loss=tot_loss / seen,
            train_acc=100.0 * tot_correct / seen,
            lr=opt.param_groups[0]['lr'],
            seconds=time.perf_counter() - t0,
        )
        if callback is not None:
            row.update(callback(epoch, model) or {})
        history.append(row)
        bar.set_postfix(loss=f'{row["train_loss"]:.3f}', acc=f'{row["train_acc"]:.1f}')
        if ckpt_path is not None:
            atomic_torch_save(
                {
                    'model': model.state_dict(),
                    'optimizer': opt.state_dict(),
                    'scheduler': sched.state_dict(),
                    'epoch': epoch,
                    'history': history,
                    'config': asdict(config),
                    'mask': mask_record(mask),
                },
                ckpt_path,
            )
    return pd.DataFrame(history)
