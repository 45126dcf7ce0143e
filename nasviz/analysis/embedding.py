"""Low-dimensional embeddings of subnet features (LID profiles, gradients)."""

from __future__ import annotations

import numpy as np


def embed_umap(
    X: np.ndarray,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = 'euclidean',
    standardize: bool = True,
    random_state: int = 0,
) -> np.ndarray:
    """2-D UMAP embedding of the rows of ``X`` (umap-learn), deterministic under ``random_state``.

    Features are standardised per column first (LID per layer lives on different scales);
    ``n_neighbors`` is capped below the number of rows so small sets still embed.
    """
    import umap

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 4:
        raise ValueError(f'embed_umap needs a 2-D array with at least 4 rows, got shape {X.shape}')
    if not np.isfinite(X).all():
        raise ValueError('embed_umap: X contains NaN or inf')
    if standardize:
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    reducer = umap.UMAP(
        n_neighbors=min(n_neighbors, X.shape[0] - 1),
        min_dist=min_dist,
        metric=metric,
        random_state=random_state,
        n_components=2,
        n_jobs=1,
    )  # seeded UMAP runs single-threaded anyway
    return reducer.fit_transform(X)
