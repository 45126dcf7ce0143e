"""Datasets as in-memory tensors.

- ``digits``: the embedded default. scikit-learn's handwritten digits (shipped inside the
  package, no download) made harder on purpose: each 8x8 digit is scaled, rotated and shifted
  onto a 16x16 canvas with pixel noise, and only a few hundred samples are used for training,
  so architectures differ measurably (plain digits give almost every cell ~98%).
- ``cifar10``: from the offline ``cifar10_jpeg.npz`` (path setting ``NASVIZ_CIFAR10_NPZ``),
  decoded once and cached, or through torchvision for users with internet.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from nasviz.cache import cache_dir, param_hash
from nasviz.io import atomic_write_bytes
from nasviz.profiles import DATASETS

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


@dataclass
class ImageData:
    """Train/test tensors (N, C, H, W) float32, labels int64, plus an id for cache keys."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    data_id: str
    augment: bool = False  # random crop + flip during training (CIFAR)
    info: dict = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])

    def to(self, device: str | torch.device) -> ImageData:
        """Copy with every tensor on ``device`` (so batching never leaves the GPU)."""
        return ImageData(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.num_classes,
            self.data_id,
            self.augment,
            dict(self.info),
        )

    def __repr__(self) -> str:
        return (
            f'ImageData({self.name!r}, train={tuple(self.x_train.shape)}, '
            f'test={tuple(self.x_test.shape)}, classes={self.num_classes})'
        )


# ---------------------------------------------------------------------------------------------
# Embedded default: hard digits
# ---------------------------------------------------------------------------------------------
def _warp(
    images: torch.Tensor,
    size: int,
    g: torch.Generator,
    scale: tuple[float, float],
    max_rotation: float,
    max_shift: float,
) -> torch.Tensor:
    """Place each image on a ``size`` x ``size`` canvas with a random scale, rotation and shift."""
    n = images.shape[0]
    s = torch.empty(n).uniform_(*scale, generator=g)
    theta = torch.empty(n).uniform_(-max_rotation, max_rotation, generator=g) * np.pi / 180
    shift = torch.empty(n, 2).uniform_(-max_shift, max_shift, generator=g)
    # affine_grid maps output coords to input coords: zoom-in factor 1/s, rotation, translation
    cos, sin = torch.cos(theta) / s, torch.sin(theta) / s
    A = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = torch.nn.functional.affine_grid(A, [n, 1, size, size], align_corners=False)
    return torch.nn.functional.grid_sample(images, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


def load_digits(
    n_train: int = 500,
    size: int = 16,
    noise: float = 0.35,
    scale: tuple[float, float] = (0.55, 0.85),
    max_rotation: float = 20.0,
    max_shift: float = 0.3,
    train_views: int = 1,
    test_views: int = 2,
    random_state: int = 0,
) -> ImageData:
    """The embedded default dataset (no download): scikit-learn's 1,797 digits, made harder.

    ``n_train`` originals go to training (``train_views`` warped views each); the others form the
    test set, ``test_views`` warped views each, which lowers the noise of test accuracy. Scale is the
    digit's size relative to the canvas; shift is in canvas half-widths; ``noise`` is the std of
    Gaussian pixel noise on [0, 1] intensities. Deterministic under ``random_state``.
    """
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    if not 10 <= n_train <= len(d.target) - 10:
        raise ValueError(f'n_train={n_train} must leave at least 10 of the {len(d.target)} digits for testing')
    if test_views < 1 or train_views < 1:
        raise ValueError('train_views and test_views must be >= 1')
    g = torch.Generator().manual_seed(int(random_state))
    imgs = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(d.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=g)
    tr, te = order[:n_train], order[n_train:]

    def views(idx: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = imgs[idx].repeat(k, 1, 1, 1)
        x = _warp(x, size, g, scale, max_rotation, max_shift)
        x = x + noise * torch.randn(x.shape, generator=g)
        return x, labels[idx].repeat(k)

    x_train, y_train = views(tr, train_views)
    x_test, y_test = views(te, test_views)
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    params = dict(
        n_train=n_train,
        size=size,
        noise=noise,
        scale=list(scale),
        max_rotation=max_rotation,
        max_shift=max_shift,
        train_views=train_views,
        test_views=test_views,
        random_state=random_state,
    )
    return ImageData(
        'digits',
        x_train.contiguous(),
        y_train,
        x_test.contiguous(),
        y_test,
        10,
        data_id='digits-' + param_hash(params),
        info=params,
    )


# ---------------------------------------------------------------------------------------------
# CIFAR-10
# ---------------------------------------------------------------------------------------------
def cifar10_npz_path(path: str | os.PathLike | None = None) -> Path:
    """The offline CIFAR-10 file: argument, else ``$NASVIZ_CIFAR10_NPZ``."""
    p = path or os.environ.get('NASVIZ_CIFAR10_NPZ')
    if not p:
        raise FileNotFoundError(
            'no CIFAR-10 npz given: pass path= or set NASVIZ_CIFAR10_NPZ (e.g. ../shared/data/cifar10/cifar10_jpeg.npz)'
        )
    p = Path(p)
    if not p.exists():
        raise FileNotFoundError(f'CIFAR-10 npz not found: {p}')
    return p


def _decode_cifar_npz(path: Path) -> dict[str, np.ndarray]:
    from PIL import Image
    from tqdm.auto import tqdm

    raw = np.load(path, allow_pickle=False)
    need = {'train_jpeg', 'train_offsets', 'train_labels', 'test_jpeg', 'test_offsets', 'test_labels'}
    missing = need - set(raw.files)
    if missing:
        raise ValueError(f'{path} is not a CIFAR-10 jpeg npz: missing arrays {sorted(missing)}')
    out = {}
    for split in ('train', 'test'):
        buf, off = raw[f'{split}_jpeg'], raw[f'{split}_offsets']
        imgs = np.empty((len(off) - 1, 32, 32, 3), dtype=np.uint8)
        for i in tqdm(range(len(off) - 1), desc=f'decode CIFAR-10 {split}', leave=False):
            imgs[i] = np.asarray(Image.open(io.BytesIO(buf[off[i] : off[i + 1]].tobytes())).convert('RGB'))
        out[f'x_{split}'] = imgs
        out[f'y_{split}'] = raw[f'{split}_labels'].astype(np.int64)
    return out


def _cifar_tensors(
    arrays: dict[str, np.ndarray], n_train: int | None, n_test: int | None, random_state: int, source: str
) -> ImageData:
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)

    def prep(x: np.ndarray, y: np.ndarray, n: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        if n is not None and n < len(y):
            idx = np.random.default_rng(random_state).permutation(len(y))[:n]
            x, y = x[idx], y[idx]
        t = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div_(255.0)
        return ((t - mean) / std).contiguous(), torch.from_numpy(np.asarray(y, dtype=np.int64))

    xtr, ytr = prep(arrays['x_train'], arrays['y_train'], n_train)
    xte, yte = prep(arrays['x_test'], arrays['y_test'], n_test)
    params = dict(source=source, n_train=n_train, n_test=n_test, random_state=random_state)
    return ImageData(
        'cifar10', xtr, ytr, xte, yte, 10, data_id='cifar10-' + param_hash(params), augment=True, info=params
    )


def load_cifar10_npz(
    path: str | os.PathLike | None = None, n_train: int | None = None, n_test: int | None = None, random_state: int = 0
) -> ImageData:
    """CIFAR-10 from the offline JPEG npz; decoded once, cached as raw uint8 under the cache dir."""
    p = cifar10_npz_path(path)
    st = p.stat()
    cached = cache_dir() / 'cifar10' / f'decoded-{param_hash(str(p.resolve()), st.st_size, int(st.st_mtime))}.npz'
    if cached.exists():
        arrays = dict(np.load(cached))
    else:
        arrays = _decode_cifar_npz(p)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds like allow_pickle
        atomic_write_bytes(cached, buf.getvalue())
    return _cifar_tensors(arrays, n_train, n_test, random_state, source='npz')


def load_cifar10_torchvision(
    root: str | os.PathLike = '~/.cache/nasviz/torchvision',
    download: bool = True,
    n_train: int | None = None,
    n_test: int | None = None,
    random_state: int = 0,
) -> ImageData:
    """CIFAR-10 through torchvision (needs ``pip install nasviz[cifar]`` and internet the first time)."""
    try:
        from torchvision.datasets import CIFAR10
    except ImportError as exc:  # optional dependency
        raise ImportError('torchvision is needed for this loader: pip install "nasviz[cifar]"') from exc
    root = os.path.expanduser(str(root))
    tr, te = CIFAR10(root, train=True, download=download), CIFAR10(root, train=False, download=download)
    arrays = dict(x_train=tr.data, y_train=np.array(tr.targets), x_test=te.data, y_test=np.array(te.targets))
    return _cifar_tensors(arrays, n_train, n_test, random_state, source='torchvision')


def load_cifar10(path: str | os.PathLike | None = None, **kw) -> ImageData:
    """The offline npz when one is configured, else torchvision."""
    if path or os.environ.get('NASVIZ_CIFAR10_NPZ'):
        return load_cifar10_npz(path, **kw)
    return load_cifar10_torchvision(**kw)


def load_dataset(name: str, **kw) -> ImageData:
    """Load a dataset by name: ``digits`` (embedded) or ``cifar10``."""
    if name == 'digits':
        return load_digits(**kw)
    if name == 'cifar10':
        return load_cifar10(**kw)
    raise ValueError(f'unknown dataset {name!r}; expected one of {DATASETS}')


# ---------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------
def iterate_batches(
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
    augment: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches from in-memory tensors; order and augmentation come from ``generator`` alone,
    so a run resumed at an epoch boundary sees exactly the batches the original would have."""
    n = x.shape[0]
    idx = torch.randperm(n, generator=generator).to(x.device) if shuffle else torch.arange(n, device=x.device)
    stop = n - n % batch_size if drop_last else n
    for s in range(0, stop, batch_size):
        b = idx[s : s + batch_size]
        xb, yb = x[b], y[b]
        if augment:
            xb = random_crop_flip(xb, generator)
        yield xb, yb


def random_crop_flip(x: torch.Tensor, generator: torch.Generator | None, pad: int = 4) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip (the standard CIFAR recipe)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    rows = dy.view(n, 1) + torch.arange(h, device=x.device).view(1, h)  # (n, h)
    cols = dx.view(n, 1) + torch.arange(w, device=x.device).view(1, w)  # (n, w)
    cols = torch.where(flip.view(n, 1), cols.flip(1), cols)
    bi = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[bi, rows.view(n, h, 1), cols.view(n, 1, w)]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous()
