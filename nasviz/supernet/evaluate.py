"""Subnet evaluation with batch-norm statistics recalibrated for each subnet."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import pandas as pd
import torch
from torch import nn

from nasviz.data import ImageData, iterate_batches
from nasviz.profiles import SCORES
from nasviz.spaces import Architecture, get_space


def _bns(model: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@contextmanager
def preserved_bn_stats(model: nn.Module) -> Iterator[None]:
    """Restore every BN layer's running statistics and momentum on exit."""
    bns = _bns(model)
    saved = [
        (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone(), bn.momentum) for bn in bns
    ]
    try:
        yield
    finally:
        for bn, (m, v, nb, mom) in zip(bns, saved):
            bn.running_mean.copy_(m)
            bn.running_var.copy_(v)
            bn.num_batches_tracked.copy_(nb)
            bn.momentum = mom


@torch.inference_mode()
def recalibrate_bn(
    model: nn.Module, arch: Architecture, data: ImageData, batches: int = 8, batch_size: int = 128, seed: int = 0
) -> None:
    """Reset BN running statistics and re-estimate them as exact averages over ``batches``
    training batches run through ``arch`` (weight sharing makes the stored ones belong to a mix
    of paths). Same batches for every arch, so scores differ only by architecture."""
    for bn in _bns(model):
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average = plain mean over the batches
    model.train()
    g = torch.Generator().manual_seed(seed)
    for i, (xb, _) in enumerate(iterate_batches(data.x_train, data.y_train, batch_size, g)):
        if i >= batches:
            break
        model(xb, arch)


@torch.inference_mode()
def accuracy(
    model: nn.Module,
    arch: Architecture | None,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 512,
    batch_stats: bool = False,
) -> tuple[float, float]:
    """Top-1 accuracy (%) and mean cross-entropy of one path, in eval mode (``batch_stats``:
    BN layers normalise with the statistics of each evaluation batch instead of their running
    ones; the running statistics are updated, so wrap the call in :func:`preserved_bn_stats`)."""
    model.eval()
    if batch_stats:
        for bn in _bns(model):
            bn.train()
    correct, loss, n = 0, 0.0, 0
    for s in range(0, x.shape[0], batch_size):
        logits = model(x[s : s + batch_size], arch)
        yb = y[s : s + batch_size]
        loss += nn.functional.cross_entropy(logits, yb, reduction='sum').item()
        correct += (logits.argmax(1) == yb).sum().item()
        n += len(yb)
    return 100.0 * correct / n, loss / n


#: how BN normalises when a subnet is scored: ``'recalibrate'`` (running statistics re-estimated
#: on training batches through the subnet, the standard), ``'running'`` (the supernet's own running
#: statistics, a mix over every path it trained) or ``'batch'`` (train-mode BN: statistics of each
#: evaluation batch of ``EVAL_BATCH`` images)
BN_MODES: tuple[str, ...] = ('recalibrate', 'running', 'batch')
EVAL_BATCH = 512


def evaluate_archs(
    model: nn.Module,
    archs: Iterable[Architecture | str],
    data: ImageData,
    recal_batches: int = 8,
    recal_batch_size: int = 128,
    split: str = 'test',
    progress: bool = True,
    device: str | torch.device | None = None,
    max_samples: int | None = None,
    score: str = 'accuracy',
    bn: str = 'recalibrate',
) -> pd.DataFrame:
    """Score each arch with the shared weights: recalibrate BN, then accuracy and loss on ``split``.

    ``bn`` (:data:`BN_MODES`) picks how BN normalises: recalibrated statistics (default, with
    ``recal_batches`` batches), the supernet's running statistics, or batch statistics.

    ``max_samples`` scores on the first samples of the split only (the same ones for every arch),
    which trades a little resolution for speed when many cells are ranked. ``score`` picks what
    the ``score`` column holds (:data:`SCORES`): ``'accuracy'`` (%) or ``'loss'`` (minus the mean
    cross-entropy, so higher is better either way).
    Returns a DataFrame with columns ``arch`` (Architecture), ``arch_str``, ``score``, ``accuracy`` (%)
    and ``loss``. The model's own BN statistics are left as they were.
    """
    from tqdm.auto import tqdm

    if split not in ('test', 'train'):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    if score not in SCORES:
        raise ValueError(f'score must be one of {SCORES}, got {score!r}')
    if bn not in BN_MODES:
        raise ValueError(f'bn must be one of {BN_MODES}, got {bn!r}')
    if bn == 'running' and not _bns(model):
        raise ValueError("bn='running' needs BN layers that track running statistics; this model keeps none")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    if data.x_train.device != device:
        data = data.to(device)
    x, y = (data.x_test, data.y_test) if split == 'test' else (data.x_train, data.y_train)
    if max_samples is not None:
        x, y = x[:max_samples], y[:max_samples]
    rows = []
    space = get_space(getattr(model, 'space', 'nb201'))
    archs = [space.check(a, 'archs') for a in archs]
    with preserved_bn_stats(model):
        for arch in tqdm(archs, desc='evaluate subnets', disable=not progress, leave=False):
            if bn == 'recalibrate' and recal_batches > 0:
                recalibrate_bn(model, arch, data, recal_batches, recal_batch_size)
            acc, loss = accuracy(model, arch, x, y, EVAL_BATCH, batch_stats=bn == 'batch')
            rows.append(
                dict(
                    arch=arch,
                    arch_str=space.to_str(arch),
                    score=acc if score == 'accuracy' else -loss,
                    accuracy=acc,
                    loss=loss,
                )
            )
    model.train()
    return pd.DataFrame(rows)


class ScoreTracker:
    """A ``train_supernet`` callback: every ``every`` epochs (and after the last one), score a
    fixed set of cells with BN-recalibrated shared weights, so ranking quality can be followed
    over training (the standard weight-sharing diagnostic: is a better-trained supernet a better
    ranker?). Adds ``scores`` (list of per-cell accuracies, in the order of ``archs``) and
    ``mean_score`` to the history row of a tracked epoch; other rows get NaN / None.

    ``final_evaluate`` (optional, ``model -> DataFrame`` as :func:`evaluate_archs` returns for
    ``archs`` with these settings) scores the last epoch instead, e.g. through a disk cache, so
    that the caller's own scoring of the finished supernet finds it there; it must compute what
    :func:`evaluate_archs` would (it is not part of :attr:`key`)."""

    def __init__(
        self,
        data: ImageData,
        archs: Iterable[Architecture | str],
        every: int = 5,
        epochs: int | None = None,
        recal_batches: int = 4,
        max_samples: int | None = None,
        score: str = 'accuracy',
        space: str = 'nb201',
        final_evaluate: Callable[[nn.Module], pd.DataFrame] | None = None,
    ) -> None:
        if int(every) < 1:
            raise ValueError(f'every must be >= 1, got {every}')
        archs = list(archs)
        self.space = get_space(space if not archs or isinstance(archs[0], str) else archs[0].space)
        self.data, self.archs = data, [self.space.check(a, 'archs') for a in archs]
        self.every, self.epochs = int(every), epochs
        self.recal_batches, self.max_samples, self.score = recal_batches, max_samples, score
        self.final_evaluate = final_evaluate

    @property
    def key(self) -> tuple:
        """What makes two trackers record the same numbers (used in cache keys)."""
        return (
            'scores',
            [self.space.to_str(a) for a in self.archs],
            self.every,
            self.epochs,
            self.recal_batches,
            self.max_samples,
            self.score,
            self.data.data_id,
        )

    def tracks(self, epoch: int) -> bool:
        last = self.epochs is not None and epoch == self.epochs - 1
        return (epoch + 1) % self.every == 0 or last

    def __call__(self, epoch: int, model: nn.Module) -> dict:
        if not self.tracks(epoch):
            return {'scores': None, 'mean_score': float('nan')}
        if self.final_evaluate is not None and self.epochs is not None and epoch == self.epochs - 1:
            ev = self.final_evaluate(model)
        else:
            ev = evaluate_archs(
                model,
                self.archs,
                self.data,
                recal_batches=self.recal_batches,
                max_samples=self.max_samples,
                progress=False,
                score=self.score,
            )
        scores = [round(float(v), 4) for v in ev['score']]
        return {'scores': scores, 'mean_score': float(sum(scores) / len(scores))}


def chain_callbacks(*callbacks):
    """One ``train_supernet`` callback running several (their rows merged; keys joined)."""
    callbacks = [c for c in callbacks if c is not None]

    class _Chain:
        key = tuple(getattr(c, 'key', None) for c in callbacks)

        def __call__(self, epoch: int, model: nn.Module) -> dict:
            row: dict = {}
            for c in callbacks:
                row.update(c(epoch, model) or {})
            return row

    return _Chain()
