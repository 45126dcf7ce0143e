"""Interference between subnets that share weights: where their gradients agree or fight.

Two subnets interfere on a weight they both use when their loss gradients on it point in
different directions; the cosine of the two gradients measures it (1: they pull together,
0: unrelated or disjoint weights, < 0: one subnet's step undoes the other's).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from nasviz.features.probe import grad_parameters, model_space
from nasviz.features.subnets import subnet_grad_vectors
from nasviz.spaces import Architecture, get_space, space_of


def cosine_matrix(G: np.ndarray) -> np.ndarray:
    """Pairwise cosine of the rows of ``G``; a zero row has cosine 0 with others, 1 with itself."""
    G = np.asarray(G, dtype=np.float64)
    norms = np.linalg.norm(G, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    S = (G / safe[:, None]) @ (G / safe[:, None]).T
    S[norms == 0, :] = 0.0
    S[:, norms == 0] = 0.0
    np.fill_diagonal(S, 1.0)
    return np.clip(S, -1.0, 1.0)


def parameter_groups(model) -> list[tuple[str, slice]]:
    """Slices of the flat gradient (as laid out by ``features.probe.grad_parameters``) per layer:
    ``stem``, each block by the supernet's ``block_names`` (its ``blocks`` or ``cells``, in
    order, or what its ``parameter_layer(name)`` says), and ``head`` (everything after the last
    block)."""
    names, params = grad_parameters(model)
    block_names = model.block_names
    container = 'blocks' if hasattr(model, 'blocks') else 'cells'
    layer_of = getattr(model, 'parameter_layer', None)
    groups: dict[str, list[int]] = {}
    off = 0
    for name, p in zip(names, params):
        parts = name.split('.')
        if layer_of is not None:
            layer = layer_of(name)
        else:
            layer = block_names[int(parts[1])] if parts[0] == container else ('stem' if parts[0] == 'stem' else 'head')
        groups.setdefault(layer, [off, off])
        groups[layer][1] = off + p.numel()
        off += p.numel()
    order = ['stem', *block_names, 'head']
    return [(k, slice(*groups[k])) for k in order if k in groups]


def subnet_gradients(
    model, data, archs: Sequence[Architecture | str], batch_size: int = 128, seed: int = 0, progress: bool = False
) -> np.ndarray:
    """Flat gradient of every supernet weight for each subnet, on one seeded batch."""
    return subnet_grad_vectors(model, data, archs, batch_size=batch_size, seed=seed, params='all', progress=progress)


def subnet_similarity(
    model, data, archs: Sequence[Architecture | str], batch_size: int = 128, seed: int = 0, layer: str | None = None
) -> pd.DataFrame:
    """Gradient cosine between subnets (all weights, or one ``layer`` from :func:`parameter_groups`),
    labelled by cell string."""
    space = model_space(model)
    archs = [space.check(a, 'archs') for a in archs]
    G = subnet_gradients(model, data, archs, batch_size, seed)
    if layer is not None:
        groups = dict(parameter_groups(model))
        if layer not in groups:
            raise ValueError(f'unknown layer {layer!r}; layers: {list(groups)}')
        G = G[:, groups[layer]]
    labels = [space.to_str(a) for a in archs]
    return pd.DataFrame(cosine_matrix(G), index=labels, columns=labels)


def interference_by_layer(
    model, data, archs: Sequence[Architecture | str], batch_size: int = 128, seed: int = 0
) -> pd.DataFrame:
    """For every layer, statistics of the gradient cosine over all pairs of ``archs`` that both
    use weights of that layer: mean, std, share of pairs in conflict (cosine < 0), and the share
    of pairs that share any weight there at all."""
    archs = [model_space(model).check(a, 'archs') for a in archs]
    if len(archs) < 2:
        raise ValueError('interference needs at least 2 subnets')
    G = subnet_gradients(model, data, archs, batch_size, seed)
    rows = []
    for layer, sl in parameter_groups(model):
        g = G[:, sl].astype(np.float64)
        used = np.abs(g) > 0
        cos, shared = [], 0
        for i, j in combinations(range(len(archs)), 2):
            both = used[i] & used[j]
            if not both.any():
                continue
            shared += 1
            a, b = g[i, both], g[j, both]
            cos.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
        n_pairs = len(archs) * (len(archs) - 1) // 2
        cos_arr = np.array(cos) if cos else np.array([np.nan])
        rows.append(
            dict(
                layer=layer,
                mean_cosine=float(np.nanmean(cos_arr)),
                std_cosine=float(np.nanstd(cos_arr)),
                conflict_share=float(np.mean(cos_arr < 0)) if cos else np.nan,
                shared_pairs=shared / n_pairs,
                n_params=sl.stop - sl.start,
            )
        )
    return pd.DataFrame(rows)


class InterferenceTracker:
    """A ``train_supernet`` callback: after each epoch, the mean gradient cosine between a fixed
    set of subnets on a fixed batch (all weights, and the stem/reduction/head weights every
    subnet shares), so interference can be followed over training."""

    def __init__(self, data, archs: Sequence[Architecture | str], batch_size: int = 128, seed: int = 0) -> None:
        archs = list(archs)
        # strings are NB201 cells; architecture values know their space
        self.space = get_space('nb201') if not archs or isinstance(archs[0], str) else space_of(archs[0])
        self.data, self.archs = data, [self.space.check(a, 'archs') for a in archs]
        self.batch_size, self.seed = batch_size, seed

    @property
    def key(self) -> tuple:
        """What makes two trackers record the same numbers (used in cache keys)."""
        return (
            'interference',
            [self.space.to_str(a) for a in self.archs],
            self.batch_size,
            self.seed,
            self.data.data_id,
        )

    def __call__(self, epoch: int, model) -> dict:
        out = {}
        for params in ('all', 'shared'):
            G = subnet_grad_vectors(
                model, self.data, self.archs, batch_size=self.batch_size, seed=self.seed, params=params, progress=False
            )
            S = cosine_matrix(G)
            off = S[np.triu_indices(len(self.archs), 1)]
            out[f'cosine_{params}'] = float(off.mean())
            out[f'conflict_{params}'] = float((off < 0).mean())
        return out
