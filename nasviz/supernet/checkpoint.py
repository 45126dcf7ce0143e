"""Load a supernet nasviz trained, with its space and configuration.

:func:`nasviz.supernet.train.train_supernet` writes ``checkpoint.pt`` (weights, optimiser,
schedule, epoch, history, train config, mask) and ``config.json`` beside it (space, size, mask,
train config, data id). :func:`load` rebuilds the supernet from them. A file nasviz did not write
is refused with a ``ValueError`` saying what it is not; it is only read (with torch's
``weights_only`` loader, which runs no code from the file), never renamed, moved or rewritten.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from nasviz.spaces import SearchSpace, SlotMask, get_space

#: the file names a training run writes in its directory
CHECKPOINT_NAME = 'checkpoint.pt'
CONFIG_NAME = 'config.json'
#: what a nasviz checkpoint holds
CHECKPOINT_KEYS = frozenset({'model', 'optimizer', 'scheduler', 'epoch', 'history', 'config'})

__all__ = ['LoadedSupernet', 'load', 'checkpoint_problem', 'CHECKPOINT_NAME', 'CONFIG_NAME']


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    ckpt = p / CHECKPOINT_NAME if p.is_dir() else p
    return ckpt, ckpt.with_name(CONFIG_NAME)


def _read(ckpt: Path) -> tuple[dict | None, str | None]:
    """The checkpoint's content, or why it is not a nasviz checkpoint (the file is only read)."""
    import torch

    if not ckpt.is_file():
        return None, f'{ckpt} does not exist' if not ckpt.exists() else f'{ckpt} is not a file'
    if not zipfile.is_zipfile(ckpt):
        return None, f'{ckpt} is not a nasviz checkpoint: not a torch.save archive'
    try:
        state = torch.load(ckpt, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 - whatever torch says, the file is not ours
        return None, f'{ckpt} is not a nasviz checkpoint: torch cannot read it as plain tensors and data ({e})'
    if not isinstance(state, dict) or not CHECKPOINT_KEYS <= set(state):
        got = sorted(state)[:8] if isinstance(state, dict) else type(state).__name__
        return None, (
            f'{ckpt} is not a nasviz checkpoint: it lacks {sorted(CHECKPOINT_KEYS - set(state))} (holds {got})'
            if isinstance(state, dict)
            else f'{ckpt} is not a nasviz checkpoint: it holds a {got}, not a training state'
        )
    return state, None


def checkpoint_problem(path: str | os.PathLike) -> str | None:
    """None when ``path`` (a ``checkpoint.pt`` or its run directory) is a checkpoint nasviz wrote
    (a torch archive of plain data with the training state's keys, ``config.json`` beside it
    naming its space); else a sentence saying what it is not. Reads only."""
    ckpt, cfg = _paths(path)
    _state, problem = _read(ckpt)
    if problem:
        return problem
    if not cfg.is_file():
        return f'{ckpt} has no {CONFIG_NAME} beside it: not a nasviz run directory'
    try:
        meta = json.loads(cfg.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return f'{cfg} is not a nasviz run configuration (not JSON: {e})'
    if not isinstance(meta, dict) or not {'train', 'space', 'model'} <= set(meta):
        return f'{cfg} is not a nasviz run configuration (it needs "train", "space" and "model")'
    return None


@dataclass
class LoadedSupernet:
    """A supernet rebuilt from its checkpoint: ``model`` (eval mode, on the CPU), its ``space``,
    the ``mask`` it was trained in, the train ``config`` (dict), the last finished ``epoch``
    (0-based), the per-epoch ``history`` and the run's ``data_id``."""

    model: nn.Module
    space: SearchSpace
    mask: Any
    config: dict
    epoch: int
    history: pd.DataFrame
    data_id: str | None
    path: Path


def _mask(space: SearchSpace, record: Any) -> Any:
    if record is None:
        return space.root_mask()
    if isinstance(record, dict):
        return space.check_mask(SlotMask.from_dict(record))
    return space.mask_from_list(record)


def load(path: str | os.PathLike) -> LoadedSupernet:
    """The supernet a nasviz training run saved at ``path`` (its directory or ``checkpoint.pt``),
    with its space and configuration. ``ValueError`` naming the file when it is not a nasviz
    checkpoint or does not fit the network its configuration describes; the file is never
    changed."""
    ckpt, cfg = _paths(path)
    problem = checkpoint_problem(ckpt)
    if problem:
        raise ValueError(problem)
    state, _ = _read(ckpt)
    assert state is not None  # checkpoint_problem found it readable
    meta = json.loads(cfg.read_text())
    space = get_space(meta['space'])  # a space that is not installed fails here, naming the known ones
    mask = _mask(space, state.get('mask', meta.get('mask')))
    size = dict(meta.get('model') or {})
    weights = state['model']
    tried = []
    for build_mask in (None, mask):
        try:
            model = space.build_supernet(mask=build_mask, **size)
        except (TypeError, ValueError) as e:
            raise ValueError(f'{cfg}: the {space.name} supernet cannot be built at size {size} ({e})') from e
        own = model.state_dict()
        if set(own) == set(weights) and all(own[k].shape == weights[k].shape for k in own):
            model.load_state_dict(weights)
            return LoadedSupernet(
                model=model.eval(),
                space=space,
                mask=mask,
                config=dict(meta['train']),
                epoch=int(state['epoch']),
                history=pd.DataFrame(state['history']),
                data_id=meta.get('data_id'),
                path=ckpt,
            )
        tried.append(len(own))
    raise ValueError(
        f'{ckpt}: its {len(weights)} tensors do not fit the {space.name} supernet its {CONFIG_NAME} '
        f'describes (size {size}: {tried[0]} tensors, or {tried[1]} inside its mask)'
    )
