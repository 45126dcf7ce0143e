"""C-BRED (Clustering-Based REDuction, arXiv 2204.14103): cluster the architectures of a space by
their computational graphs, score every cluster with training-free proxy statistics, keep the
best cluster.

:class:`CBRED` is estimator-like: ``CBRED(k=64, distance='hellinger').fit(archs, space, proxies)`` sets
``labels_``, ``cluster_table_``, ``best_cluster_`` and ``selected_``. :func:`compare_selection`
sets the selection beside the whole set and same-size baselines on ground truth.

Clustering works on the DISTINCT encodings (NB201's 15,625 cells have only 210 distinct op
histograms), weighted by how many cells share each; when more than ``max_points`` distinct
encodings exist, a seeded sample of them is clustered and every other point joins the cluster it
is closest to on average.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.uncertainty import Estimate
from nasviz.reduce.distances import DISTANCE_FUNCTIONS, graph_edit_distance
from nasviz.reduce.encodings import encode
from nasviz.validate import check_count, check_fraction, short_repr

ENCODINGS = ('histogram', 'adjacency', 'wl', 'path')
DISTANCES = ('js', 'kl', 'hellinger', 'ged', 'euclidean', 'cosine')
#: distances that read rows as distributions (the encoding's counts are normalised first)
_DIVERGENCES = ('js', 'kl', 'hellinger')
CLUSTERINGS = ('spectral', 'kmeans')
REDUCE_DATASETS = ('cifar10', 'cifar100', 'imagenet16')


def pairwise_distances(
    X: np.ndarray, distance: str, archs: Sequence[Any] | None = None, space: Any = None
) -> np.ndarray:
    """``(n, n)`` distances between the rows of ``X`` (encodings) or, for ``'ged'``, between ``archs``."""
    if distance == 'ged':
        if archs is None:
            raise ValueError("distance='ged' compares architectures: pass archs")
        return graph_edit_distance(archs, None, space)
    if distance == 'euclidean':
        return _euclidean(X, X)
    if distance not in DISTANCE_FUNCTIONS:
        raise ValueError(f'unknown distance {short_repr(distance)}; valid: {", ".join(DISTANCES)}')
    return DISTANCE_FUNCTIONS[distance](X)


def _euclidean(A: Any, B: Any) -> np.ndarray:
    """Euclidean distances between the rows of ``A`` and ``B`` (dense or ``scipy.sparse``)."""
    import scipy.sparse as sp

    def sq(M: Any) -> np.ndarray:
        return np.asarray(M.multiply(M).sum(1) if sp.issparse(M) else (M**2).sum(1), dtype=np.float64).reshape(-1)

    G = A @ B.T
    G = G.toarray() if sp.issparse(G) else np.asarray(G)
    return np.sqrt(np.maximum(sq(A)[:, None] + sq(B)[None, :] - 2 * G, 0.0))


def _unique_rows(X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first index, inverse, counts)`` of the distinct rows of a dense or CSR matrix."""
    import scipy.sparse as sp

    if not sp.issparse(X):
        _, idx, inv, cnt = np.unique(
            np.round(X, 12), axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        return idx, inv.reshape(-1), cnt
    X = X.tocsr()
    X.sort_indices()
    keys: dict[bytes, int] = {}
    first: list[int] = []
    inv = np.empty(X.shape[0], dtype=np.int64)
    for r in range(X.shape[0]):
        a, b = X.indptr[r], X.indptr[r + 1]
        k = X.indices[a:b].tobytes() + b'|' + np.round(X.data[a:b], 12).tobytes()
        if k not in keys:
            keys[k] = len(first)
            first.append(r)
        inv[r] = keys[k]
    return np.asarray(first), inv, np.bincount(inv)


def _normalise_rows(X: Any) -> Any:
    import scipy.sparse as sp

    if sp.issparse(X):
        s = np.asarray(X.sum(1)).reshape(-1)
        return sp.diags(1.0 / np.where(s > 0, s, 1.0)) @ X
    return X / X.sum(1, keepdims=True)


def _mds(D: np.ndarray, dims: int) -> np.ndarray:
    """Classical (Torgerson) multidimensional scaling of a distance matrix."""
    n = D.shape[0]
    J = np.eye(n) - 1.0 / n
    B = -0.5 * J @ (D**2) @ J
    w, V = np.linalg.eigh(B)
    order = np.argsort(w)[::-1][:dims]
    w = np.clip(w[order], 0, None)
    return V[:, order] * np.sqrt(w)


def cluster_distances(
    D: np.ndarray, k: int, method: str = 'spectral', weights: np.ndarray | None = None, random_state: int = 0
) -> np.ndarray:
    """Labels ``0..k-1`` for the points of distance matrix ``D``: ``'spectral'`` on the affinity
    ``exp(-D^2 / (2 s^2))`` (``s`` = median non-zero distance) or ``'kmeans'`` on a classical-MDS
    embedding of ``D`` (``weights``: points standing for several cells)."""
    from sklearn.cluster import KMeans, SpectralClustering

    n = D.shape[0]
    if k > n:
        raise ValueError(f'k={k} exceeds the {n} distinct encodings to cluster')
    if method == 'spectral':
        nz = D[D > 0]
        s = float(np.median(nz)) if nz.size else 1.0
        A = np.exp(-(D**2) / (2 * s * s))
        sc = SpectralClustering(
            n_clusters=k, affinity='precomputed', random_state=random_state, assign_labels='cluster_qr'
        )
        return sc.fit_predict(A)
    if method == 'kmeans':
        Y = _mds(D, min(10, n - 1))
        km = KMeans(n_clusters=k, n_init=10, random_state=random_state)
        return km.fit_predict(Y, sample_weight=weights)
    raise ValueError(f'unknown clustering {short_repr(method)}; valid: {", ".join(CLUSTERINGS)}')


def _rank01(v: np.ndarray) -> np.ndarray:
    """Percentile ranks in [0, 1] (ties averaged); NaN ranks lowest (0)."""
    s = pd.Series(v, dtype=float)
    r = s.rank(method='average', pct=True, na_option='keep').to_numpy()
    return np.where(np.isnan(r), 0.0, r)


def mean_ci(
    values: Sequence[float] | np.ndarray, level: float = 0.95, n_resamples: int = 2000, random_state: int = 0
) -> Estimate:
    """Mean with a percentile-bootstrap interval over the items."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Estimate(np.nan, np.nan, np.nan, 0, level, 'no values')
    if v.size == 1:
        return Estimate(float(v[0]), np.nan, np.nan, 1, level, 'one value')
    rng = np.random.default_rng(random_state)
    means = v[rng.integers(0, v.size, (n_resamples, v.size))].mean(1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return Estimate(
        float(v.mean()), float(lo), float(hi), int(v.size), level, f'bootstrap percentile, {n_resamples} resamples'
    )


@dataclass
class CBRED:
    """Clustering-based reduction of a search space (see the module docstring).

    ``encoding``: ``'path'`` (operation sequences along the cell's input-to-output paths, the
    default), ``'wl'`` (Weisfeiler-Lehman subtree counts), ``'histogram'`` (op usage, blind to
    topology) or ``'adjacency'`` (nodes x nodes x ops); ``distance``: ``'hellinger'`` (the
    default), ``'js'``, ``'kl'`` (symmetric), ``'ged'`` (graph edit distance with per-op costs),
    ``'euclidean'`` or ``'cosine'``; ``clustering``: ``'spectral'`` or ``'kmeans'``;
    ``score``: proxies whose statistics rank the clusters; a cluster's score is the mean over
    those proxies of the ``quantile`` of its cells' percentile ranks (ranks make proxies on
    different scales comparable; a cell without a value ranks lowest). ``max_params`` drops cells
    above that size before clustering (needs a ``params`` column). Clusters with fewer than
    ``min_scored`` scored cells, or fewer than ``min_size`` cells (``None``: 1% of the clustered
    cells, at least 1; 156 on NB201), are not selected; ``min_size_`` holds the value used.
    """

    k: int = 64
    encoding: str = 'path'
    distance: str = 'hellinger'
    clustering: str = 'spectral'
    score: Sequence[str] = ('naswot', 'synflow')
    quantile: float = 0.5
    max_params: float | None = None
    min_scored: int = 5
    min_size: int | None = None
    max_points: int = 1500
    random_state: int = 0

    def _check(self) -> None:
        check_count(self.k, 'k', minimum=2)
        for name, val, valid in (
            ('encoding', self.encoding, ENCODINGS),
            ('distance', self.distance, DISTANCES),
            ('clustering', self.clustering, CLUSTERINGS),
        ):
            if val not in valid:
                raise ValueError(f'unknown {name} {short_repr(val)}; valid: {", ".join(valid)}')
        if self.encoding == 'wl' and self.distance not in ('cosine', 'euclidean'):
            raise ValueError(
                f'encoding wl works with distance cosine (the normalised WL kernel) or euclidean, not {self.distance!r}'
            )
        if self.min_size is not None:
            check_count(self.min_size, 'min_size', minimum=1)
        check_fraction(self.quantile, 'quantile')
        if isinstance(self.score, str):
            self.score = (self.score,)
        if not self.score:
            raise ValueError('score: name at least one proxy column')

    def fit(
        self, archs: Sequence[Any], space: Any, proxies: pd.DataFrame, params: Mapping[str, float] | None = None
    ) -> CBRED:
        """Cluster ``archs`` (architectures or strings of ``space``) and score the clusters with
        the rows of ``proxies`` (``arch_str`` plus the ``score`` columns; cells missing there are
        clustered but not scored). ``params``: arch_str -> parameter count for ``max_params``
        (default: the ``params`` column of ``proxies``)."""
        self._check()
        if not isinstance(proxies, pd.DataFrame) or 'arch_str' not in proxies.columns:
            raise ValueError('proxies must be a DataFrame with an arch_str column (the output of `nasviz proxies`)')
        missing = [c for c in self.score if c not in proxies.columns]
        if missing:
            raise ValueError(f'proxies table lacks score column(s) {missing}; it has {list(proxies.columns)}')
        strs = [space.to_str(space.check(a)) for a in archs]
        if len(strs) < self.k:
            raise ValueError(f'{len(strs)} architectures cannot form k={self.k} clusters')
        prox = proxies.drop_duplicates('arch_str').set_index('arch_str')
        if self.max_params is not None:
            if params is None:
                if 'params' not in prox.columns:
                    raise ValueError(
                        'max_params needs parameter counts: a params column in the proxies table or the params argument'
                    )
                params = prox['params'].to_dict()
            keep = [s for s in strs if s in params and params[s] <= self.max_params]
            if len(keep) < self.k:
                raise ValueError(
                    f'max_params={self.max_params:g} leaves {len(keep)} architectures, fewer than k={self.k}'
                )
            strs = keep
        self.archs_ = strs
        self.min_size_ = max(1, len(strs) // 100) if self.min_size is None else int(self.min_size)
        objs = [space.from_str(s) for s in strs]
        X = encode(objs, space, self.encoding)
        if self.distance in _DIVERGENCES and self.encoding != 'histogram':
            X = _normalise_rows(X)  # counts -> distributions
        if self.distance == 'ged':
            uniq_idx = np.arange(len(strs))
            inverse = uniq_idx
            counts = np.ones(len(strs))
        else:
            uniq_idx, inverse, counts = _unique_rows(X)
        m = len(uniq_idx)
        rng = np.random.default_rng(self.random_state)
        core = np.sort(rng.choice(m, self.max_points, replace=False)) if m > self.max_points else np.arange(m)
        pts = uniq_idx[core]
        D = pairwise_distances(X[pts], self.distance, [objs[i] for i in pts], space)
        core_labels = cluster_distances(D, self.k, self.clustering, counts[core].astype(float), self.random_state)
        labels_u = np.full(m, -1)
        labels_u[core] = core_labels
        rest = np.setdiff1d(np.arange(m), core)
        for start in range(0, rest.size, 500):  # the others join the nearest cluster on average
            part = rest[start : start + 500]
            if self.distance == 'ged':
                Dp = graph_edit_distance([objs[uniq_idx[i]] for i in part], [objs[i] for i in pts], space)
            elif self.distance == 'euclidean':
                Dp = _euclidean(X[uniq_idx[part]], X[pts])
            else:
                Dp = DISTANCE_FUNCTIONS[self.distance](X[uniq_idx[part]], X[pts])
            means = np.stack([Dp[:, core_labels == c].mean(1) for c in range(self.k)], axis=1)
            labels_u[part] = means.argmin(1)
        labels = labels_u[inverse]
        self.labels_ = pd.Series(labels, index=pd.Index(strs, name='arch_str'), name='cluster')
        self.encodings_ = X
        # cluster statistics from the scored cells
        scored = prox.reindex(strs)
        table = pd.DataFrame({'cluster': np.arange(self.k)})
        table['size'] = np.bincount(labels, minlength=self.k)
        has = scored[list(self.score)].notna().any(axis=1).to_numpy()
        table['n_scored'] = np.bincount(labels[has], minlength=self.k)
        parts = []
        for p in self.score:
            v = scored[p].to_numpy(dtype=float)
            r = _rank01(np.where(has, v, np.nan))
            med, q = [], []
            for c in range(self.k):
                sel = (labels == c) & has
                vals = v[sel]
                med.append(np.nanmedian(vals) if np.isfinite(vals).any() else np.nan)
                q.append(np.quantile(r[sel], self.quantile) if sel.any() else np.nan)
            table[f'{p}_median'] = med
            table[f'{p}_rank_q{int(round(self.quantile * 100))}'] = q
            parts.append(np.asarray(q))
        table['score'] = np.mean(parts, axis=0)
        table.loc[table['n_scored'] < self.min_scored, 'score'] = np.nan
        table.loc[table['size'] < self.min_size_, 'score'] = np.nan
        if table['score'].notna().sum() == 0:
            raise ValueError(
                f'no cluster holds {self.min_scored} scored cells (min_scored) and {self.min_size_} cells '
                f'(min_size): the proxies table covers too few of the {len(strs)} architectures, or k '
                'is too large'
            )
        self.best_cluster_ = int(table.loc[table['score'].idxmax(), 'cluster'])
        table['selected'] = table['cluster'] == self.best_cluster_
        self.cluster_table_ = table
        self.selected_ = [s for s, c in zip(strs, labels) if c == self.best_cluster_]
        return self

    def select(self) -> list[str]:
        """The architecture strings of the best cluster (after :meth:`fit`)."""
        if not hasattr(self, 'selected_'):
            raise ValueError('call fit() before select()')
        return list(self.selected_)


def compare_selection(
    model: CBRED,
    truth: Mapping[str, float],
    proxies: pd.DataFrame,
    params: Mapping[str, float] | None = None,
    n_random: int = 1000,
    top_proxy: str = 'naswot',
    random_state: int = 0,
) -> pd.DataFrame:
    """The selection against the whole set and same-size baselines, on ground truth ``truth``
    (arch_str -> accuracy). Everything is compared on the EVALUATION SET: the fitted cells that
    have proxy values (so ``top by <proxy>`` is defined); the selection there is its scored part.
    Rows: ``whole set``, ``C-BRED``, ``random subsets`` (mean of ``n_random`` same-size subsets,
    interval = their central 95%), ``top by <top_proxy>``, ``top by params``, ``best cluster by
    params`` (the cluster with the highest median parameter count, its own size), and
    ``C-BRED cluster, all cells`` (every cell of the chosen cluster, proxy values or not) and
    ``whole space, all cells`` (every clustered cell).
    Columns: method, n, mean accuracy with a 95% interval."""
    if not hasattr(model, 'labels_'):
        raise ValueError('fit the CBRED model first')
    prox = proxies.drop_duplicates('arch_str').set_index('arch_str')
    labels = model.labels_
    scored = [s for s in labels.index if s in prox.index and prox.loc[s, list(model.score)].notna().any()]
    scored = [s for s in scored if s in truth]
    if not scored:
        raise ValueError('no fitted cell has both proxy values and ground truth')
    acc = np.array([truth[s] for s in scored], dtype=float)
    lab = labels.reindex(scored).to_numpy()
    sel = lab == model.best_cluster_
    n = int(sel.sum())
    rows = []

    def add(method: str, vals: np.ndarray, note: str = '') -> None:
        e = mean_ci(vals, random_state=random_state)
        rows.append(dict(method=method, n=e.n, mean=e.estimate, low=e.low, high=e.high, note=note))

    add('whole set', acc, 'every scored cell')
    add('C-BRED', acc[sel], f'cluster {model.best_cluster_}, scored cells')
    if n:
        rng = np.random.default_rng(random_state)
        means = np.array([acc[rng.choice(acc.size, n, replace=False)].mean() for _ in range(n_random)])
        rows.append(
            dict(
                method='random subsets',
                n=n,
                mean=float(means.mean()),
                low=float(np.quantile(means, 0.025)),
                high=float(np.quantile(means, 0.975)),
                note=f'{n_random} draws; interval = central 95%',
            )
        )
        if top_proxy in prox.columns:
            v = prox.loc[scored, top_proxy].to_numpy(dtype=float)
            order = np.argsort(-np.where(np.isfinite(v), v, -np.inf), kind='stable')[:n]
            add(f'top by {top_proxy}', acc[order], 'same size')
        pmap = params if params is not None else (prox['params'].to_dict() if 'params' in prox.columns else None)
        if pmap is not None:
            pv = np.array([pmap.get(s, np.nan) for s in scored], dtype=float)
            order = np.argsort(-np.nan_to_num(pv, nan=-np.inf), kind='stable')[:n]
            add('top by params', acc[order], 'same size')
            med = [np.nanmedian(pv[lab == c]) if (lab == c).any() else -np.inf for c in range(model.k)]
            bc = int(np.nanargmax(med))
            add('best cluster by params', acc[lab == bc], f'cluster {bc} (highest median params), its own size')
    full = [s for s, c in labels.items() if c == model.best_cluster_ and s in truth]
    add('C-BRED cluster, all cells', np.array([truth[s] for s in full]), 'every cell of the chosen cluster')
    add(
        'whole space, all cells',
        np.array([truth[s] for s in labels.index if s in truth]),
        'every clustered cell (after the size filter)',
    )
    return pd.DataFrame(rows)
