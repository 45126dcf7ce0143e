"""Running a supernet to measure it: checked settings, seeded batches and paths, BN modes, block
hooks and per-path gradients -- shared by the per-op features (:mod:`nasviz.features.ops`) and
the per-subnet vectors (:mod:`nasviz.features.subnets`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from nasviz.data import ImageData
from nasviz.features.lid import layerwise_lid
from nasviz.spaces import SearchSpace, SlotMask, get_space
from nasviz.spaces.base import Architecture
from nasviz.supernet.evaluate import preserved_bn_stats
from nasviz.supernet.train import model_size

__all__ = ['model_space', 'slot_index', 'grad_parameters']


# ---------------------------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------------------------
def model_space(model: nn.Module) -> SearchSpace:
    """The search space a supernet belongs to (NB201 for supernets that do not say)."""
    return get_space(getattr(model, 'space', 'nb201'))


def slot_index(space: SearchSpace, edge: int | str) -> int:
    """A slot given by its index or name (NB201: an edge index 0..5 or an edge name)."""
    if isinstance(edge, str):
        if edge not in space.slots:
            raise ValueError(f'unknown slot {edge!r} of space {space.name}; slots are {space.slots}')
        return space.slots.index(edge)
    n = len(space.slots)
    if isinstance(edge, bool) or not isinstance(edge, (int, np.integer)) or not 0 <= int(edge) < n:
        raise ValueError(f'edge must be an integer in 0..{n - 1} or a slot name, got {edge!r}')
    return int(edge)


def check_probe_setting(model: nn.Module, data: ImageData, edge: int | str, mask: SlotMask | None) -> SlotMask:
    """The mask to use, after checking edge (slot), mask and data against the model."""
    space = model_space(model)
    e_idx = slot_index(space, edge)
    mask = model.mask if mask is None else mask
    if getattr(mask, 'space', None) != space.name:
        raise ValueError(f'mask must be a mask of space {space.name}, got {type(mask).__name__}')
    mask = space.check_mask(mask)
    for e, slot in enumerate(space.slots):
        extra = set(mask.choices_at(e)) - set(model.mask.choices_at(e))
        if extra:
            raise ValueError(f'mask allows {sorted(extra)} on slot {e} ({slot}), which this supernet does not build')
    if len(mask.choices_at(e_idx)) < 2:
        raise ValueError(
            f'edge {e_idx} ({space.slots[e_idx]}) allows a single op '
            f'({mask.choices_at(e_idx)[0]}) in this mask: nothing to split'
        )
    check_probe_data(model, data)
    return mask


def check_probe_data(model: nn.Module, data: ImageData) -> None:
    """``ValueError`` when ``data``'s channels differ from the supernet's input or it has more classes
    than the supernet's head."""
    size = model_size(model)
    if 'in_channels' in size and data.in_channels != size['in_channels']:
        raise ValueError(f'data has {data.in_channels} channels, the supernet expects {size["in_channels"]}')
    if 'num_classes' in size and data.num_classes > size['num_classes']:
        raise ValueError(f'data has {data.num_classes} classes, the supernet only {size["num_classes"]}')


def move_to_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """Target device; the model is moved there (as :func:`evaluate_archs` does)."""
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(dev)
    return dev


def effective_batch_size(data: ImageData, batch_size: int, n_neighbors: int | None) -> int:
    """``batch_size`` capped by the training set, checked against the LID neighbour count."""
    bs = min(int(batch_size), int(data.x_train.shape[0]))
    if n_neighbors is not None and n_neighbors >= bs:
        raise ValueError(
            f'n_neighbors={n_neighbors} must be smaller than the batch size, which is '
            f'{bs} here (training set of {data.x_train.shape[0]} images)'
        )
    return bs


def random_batches(
    data: ImageData, batch_size: int, repeats: int, seed: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``repeats`` fresh random training batches (no augmentation), seeded."""
    g = torch.Generator().manual_seed(int(seed))
    n = data.x_train.shape[0]
    for _ in range(repeats):
        idx = torch.randperm(n, generator=g)[:batch_size].to(data.x_train.device)
        yield data.x_train[idx].to(device), data.y_train[idx].to(device)


def random_paths(
    mask: SlotMask, repeats: int, seed: int, space: SearchSpace | None = None, slot: int | None = None
) -> list:
    """``repeats`` random paths inside ``mask``, seeded by the config seed only (not the slot):
    every slot sees the same paths and batches, so differences between slots do not come from
    the draw. In spaces with rules across slots (NB101, DARTS) a path is redrawn, a bounded
    number of times, until every allowed choice of ``slot`` can be put on it; where no path
    admits them all (a DARTS node input: the node's other input always holds one of the
    choices), the last draw is kept and :func:`slot_candidates` repairs it per choice."""
    rng = np.random.default_rng(int(seed))
    space = space if space is not None else get_space(mask.space)
    out = []
    for _ in range(repeats):
        for _try in range(50):
            p = space.sample(1, mask=mask, rng=rng)[0]
            if slot is None or all(_with(space, p, slot, c) is not None for c in mask.choices_at(slot)):
                break
        out.append(p)
    return out


def slot_candidates(
    space: SearchSpace, mask: SlotMask, paths: Sequence, slot: int, choices: Sequence[str], seed: int
) -> list[list]:
    """For every repeat, the path with each choice of ``slot`` put on it. A choice the space's
    rules forbid on that path gets its own path instead: a seeded draw from the mask restricted
    to that choice (so every candidate is valid; it then differs from the others in more than
    the one slot, which only happens in spaces with rules across slots)."""
    rng = np.random.default_rng([int(seed), int(slot), 1])
    out = []
    for p in paths:
        row = []
        for c in choices:
            a = _with(space, p, slot, c)
            if a is None:
                a = space.sample(1, mask=mask.restrict_at(slot, [c]), rng=rng)[0]
            row.append(a)
        out.append(row)
    return out


def _with(space: SearchSpace, path, slot: int, choice: str):
    """``path`` with slot ``slot`` set to ``choice``; None where the space's rules forbid it."""
    try:
        a = space.with_choice(path, space.slots[slot], choice)
    except ValueError:
        return None
    return a if space.is_valid(a) else None


@contextmanager
def model_mode(model: nn.Module, train: bool) -> Iterator[None]:
    """Train or eval mode for the duration, restoring the mode and BN running statistics."""
    was = model.training
    try:
        with preserved_bn_stats(model):
            model.train(train)
            yield
    finally:
        model.train(was)


def progress_bar(total: int, desc: str, enabled: bool):  # noqa: ANN202 - tqdm type
    """A tqdm bar of ``total`` steps that leaves nothing behind; shown only when ``enabled``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)


# ---------------------------------------------------------------------------------------------
# LID profiles
# ---------------------------------------------------------------------------------------------
def lid_profile(
    model: nn.Module, x: torch.Tensor, arch: Architecture, k: int, estimator: str, stream: bool = True
) -> np.ndarray:
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


def _blocks(model: nn.Module) -> list[nn.Module] | None:
    """The modules whose outputs are the supernet's block outputs, when it exposes them."""
    blocks = getattr(model, 'blocks', None)
    if blocks is None or len(blocks) != len(model.block_names):
        return None
    return list(blocks)


# ---------------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------------
def grad_parameters(
    model: nn.Module,
    edge: int | None = None,
    mask: SlotMask | None = None,
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


def path_gradient_into(
    model: nn.Module,
    params: Sequence[nn.Parameter],
    x: torch.Tensor,
    y: torch.Tensor,
    arch: Architecture,
    out: torch.Tensor,
) -> None:
    """Write the flat cross-entropy gradient of ``params`` for path ``arch`` into ``out``.

    ``autograd.grad`` (not ``backward``) leaves the model's ``.grad`` untouched; weights the
    path does not use come back as None and are written as zeros.
    """
    loss = nn.functional.cross_entropy(model(x, arch), y)
    grads = torch.autograd.grad(loss, list(params), allow_unused=True) if loss.requires_grad else [None] * len(params)
    off = 0
    for p, g in zip(params, grads):
        n = p.numel()
        if g is None:
            out[off : off + n].zero_()
        else:
            out[off : off + n].copy_(g.reshape(-1))
        off += n
