"""Cluster quality: how well features (LID or gradient) separate groups of subnets or ops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cluster_quality(
    X: np.ndarray, labels: Sequence, standardize: bool = True, cv: int = 5, random_state: int = 0
) -> dict[str, float]:
    """Indices of how well ``labels`` group the rows of ``X``.

    - ``silhouette`` (-1..1, higher = tighter, better separated groups);
    - ``davies_bouldin`` (>= 0, lower is better);
    - ``calinski_harabasz`` (higher is better);
    - ``separability``: cross-validated accuracy of a k-nearest-neighbour classifier predicting
      the label from the features, beside ``chance`` (share of the largest group).
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(labels)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f'X must be 2-D with one row per label: got {X.shape} and {len(y)} labels')
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or len(classes) >= len(y):
        raise ValueError(
            f'need 2 <= number of groups < number of samples, got {len(classes)} groups for {len(y)} samples'
        )
    if standardize:
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    folds = int(min(cv, counts.min()))
    sep = np.nan
    if folds >= 2:
        knn = KNeighborsClassifier(n_neighbors=min(5, len(y) - len(y) // folds - 1))
        cv = StratifiedKFold(folds, shuffle=True, random_state=random_state)
        sep = float(cross_val_score(knn, X, y, cv=cv).mean())
    return dict(
        silhouette=float(silhouette_score(X, y)),
        davies_bouldin=float(davies_bouldin_score(X, y)),
        calinski_harabasz=float(calinski_harabasz_score(X, y)),
        separability=sep,
        chance=float(counts.max() / counts.sum()),
        n=len(y),
        n_groups=len(classes),
    )
