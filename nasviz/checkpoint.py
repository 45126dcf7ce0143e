"""nasviz's training checkpoint format, and how to recognise one.

A training checkpoint (``checkpoint.pt``, written by :func:`nasviz.io.atomic_torch_save` after
every epoch) is a torch zip file holding one dict with the keys :data:`CHECKPOINT_KEYS`, beside a
``checkpoint.pt.sha256`` side file (JSON ``{"sha256": [digest, ...]}``). Nothing here executes a
pickle: recognition reads the file with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

#: file name of a training run's checkpoint inside its run directory
CKPT_NAME = 'checkpoint.pt'
#: what every training checkpoint holds
CHECKPOINT_KEYS = frozenset({'model', 'optimizer', 'scheduler', 'epoch', 'history', 'config'})
#: what every checkpoint nasviz writes holds (training, search and final-training checkpoints)
COMMON_KEYS = frozenset({'epoch', 'config'})


def zip_intact(path: str | os.PathLike) -> bool:
    """True when ``path`` is a zip file (torch's format) whose every member matches its CRC-32:
    a check of the file that needs no side file."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError):
        return False


def is_checksum_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is a checksum side file in nasviz's format (``{"sha256": [...]}``)."""
    try:
        obj = json.loads(Path(path).read_text(encoding='utf-8'))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and set(obj) == {'sha256'} and isinstance(obj['sha256'], list)


def is_nasviz_checkpoint(path: str | os.PathLike) -> bool:
    """True when ``path`` is an intact nasviz checkpoint: a torch zip file whose CRCs match and
    that holds a dict with :data:`COMMON_KEYS` (a training checkpoint holds :data:`CHECKPOINT_KEYS`).
    A damaged checkpoint, another program's ``.pt`` file or anything else gives False (never
    raises for a bad file)."""
    path = Path(path)
    if not path.is_file() or not zip_intact(path):
        return False
    import torch

    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 - any failure to read means: not a checkpoint of ours
        return False
    return isinstance(state, dict) and COMMON_KEYS <= set(state)
