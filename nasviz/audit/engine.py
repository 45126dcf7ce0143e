"""One bootstrap over architectures for every metric of every estimator of one table.

:func:`bootstrap_metrics` draws ``n_resamples`` resamples of the rows once, seeded, and
computes every requested statistic of every score vector on each (``nasviz.audit.resample``),
so the distribution of a paired difference is the difference of two stored distributions. The
result keeps those distributions (:class:`Distributions`) so intervals, paired comparisons and
detectable differences all come from the same draws.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from nasviz.analysis.metrics import resolve_k
from nasviz.audit import resample as rs

__all__ = [
    'HIGHER_IS_BETTER',
    'METRICS',
    'Distributions',
    'bootstrap_metrics',
    'bootstrap_p',
    'detectable_difference',
    'k_label',
    'percentile_ci',
]

#: metrics with one value per K (the rest are single numbers)
K_METRICS = ('precision_top', 'precision_bottom', 'best_rank', 'worst_rank', 'tau_in_true_top')
#: every metric the engine computes for each score vector, in display order
METRICS = ('kendall_tau', 'spearman', 'pearson', *K_METRICS, 'regret', 'size_bias', 'op_bias')
#: direction of "better" for the paired verdicts (None: a bias, no better or worse)
HIGHER_IS_BETTER: dict[str, bool | None] = {
    'kendall_tau': True,
    'spearman': True,
    'pearson': True,
    'precision_top': True,
    'precision_bottom': True,
    'best_rank': False,
    'worst_rank': False,
    'tau_in_true_top': True,
    'regret': False,
    'size_bias': None,
    'op_bias': None,
}
#: the vector name under which statistics of the truth itself are stored
TRUTH = '(truth)'
#: resamples per block (memory: rows x block float32 numbers per matrix)
_BLOCK = 100


def k_label(k: float) -> str:
    """``'0.01'`` for a fraction, ``'10'`` for a count (the keys of ``audit.json``)."""
    if isinstance(k, (float, np.floating)) and 0 < k < 1:
        return f'{float(k):g}'
    return str(int(k))


@dataclass
class Distributions:
    """Point estimates and bootstrap distributions, keyed ``(vector, metric, k)`` (``k`` is a
    K label, a choice for ``op_bias``, or ``''``)."""

    n: int
    n_resamples: int
    level: float
    point: dict[tuple[str, str, str], float] = field(default_factory=dict)
    dist: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    sizes: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def keys_of(self, vector: str) -> list[tuple[str, str, str]]:
        return [key for key in self.point if key[0] == vector]


def percentile_ci(dist: np.ndarray, level: float) -> tuple[float, float]:
    """Central ``level`` percentile interval; NaN when more than 10% of the resamples are undefined."""
    d = dist[np.isfinite(dist)]
    if d.size == 0 or d.size < 0.9 * dist.size:
        return float('nan'), float('nan')
    alpha = (1 - level) / 2
    lo, hi = np.quantile(d, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_p(dist: np.ndarray) -> float:
    """Two-sided bootstrap p-value of 'no difference' (twice the smaller tail share around 0)."""
    d = dist[np.isfinite(dist)]
    if d.size == 0:
        return float('nan')
    below, above = int((d <= 0).sum()), int((d >= 0).sum())
    return float(min(1.0, 2 * (1 + min(below, above)) / (d.size + 1)))


def detectable_difference(se: float, level: float = 0.95, power: float = 0.8) -> float:
    """Smallest true paired difference a two-sided test at ``1 - level`` detects with
    probability ``power``, given the difference's standard error: ``(z_{1-a/2} + z_power) se``
    (2.80 se at 5% and 80%)."""
    z = stats.norm.ppf(1 - (1 - level) / 2) + stats.norm.ppf(power)
    return float(z * se)


class _Shared:
    """What every score vector of one block needs about the truth and the parameter count."""

    def __init__(
        self, C: np.ndarray, truth: rs.Ranked, neg_truth: rs.Ranked, ks: list[int], params: rs.Ranked | None
    ) -> None:
        self.C = C
        self.Ct = C.T.astype(np.float64)
        G = truth.group_sums(C)
        self.truth_ties = truth.tie_pairs(C, G)
        self.truth_mid = rs.midranks(truth, C, G)
        self.ranks = rs.true_ranks(C, truth, G).astype(np.float32)  # exact: integers <= n
        self.neg_ranks = rs.true_ranks(C, neg_truth)
        self.tops = _tops_of(C, self.ranks, ks)
        self.bottoms = _tops_of(C, self.neg_ranks, ks)
        self.params_mid = rs.midranks(params, C) if params is not None else None
        self.truth_sq = rs.rank_square(C, self.truth_mid)
        self.best = rs.best_drawn(C, truth.values)
        self.r_pt = rs.corr(C, self.params_mid, self.truth_mid, self.truth_sq) if self.params_mid is not None else None


def _tops_of(C: np.ndarray, ranks: np.ndarray, ks: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    best = ranks.min(axis=1)
    out = []
    for k in ks:
        rows = np.flatnonzero(best <= k)
        out.append((rows, C[rows] * (ranks[rows] <= k)))
    return out


def _precision(pred: rs.Ranked, C: np.ndarray, tops: list[tuple[np.ndarray, np.ndarray]], ks: list[int]) -> np.ndarray:
    """Precision at each k. ``tops[j]`` holds the rows that are in the true top k on some
    resample and their drawn units that are (``C`` masked by true rank <= k): the tie groups fully
    inside the predicted top k count whole, the straddling group in proportion."""
    G = pred.group_sums(C)[::-1]  # tie groups by decreasing score
    before = np.cumsum(G, axis=0) - G
    last = rs.cut_rows(before, ks)  # the group holding the k-th unit, per k and resample
    cols = np.arange(C.shape[1])
    gdesc = pred.starts.size - 1 - pred.group  # each row's group in decreasing order
    out = np.empty((len(ks), C.shape[1]))
    for j, (k, (rows, M)) in enumerate(zip(ks, tops)):
        g = last[j]
        gr = gdesc[rows][:, None]
        frac = (k - before[g, cols]) / np.where(G[g, cols] > 0, G[g, cols], 1.0)
        out[j] = ((M * (gr < g)).sum(axis=0) + frac * (M * (gr == g)).sum(axis=0)) / k
    return out


def _partial(r_xy: np.ndarray, r_xz: np.ndarray, r_yz: np.ndarray) -> np.ndarray:
    with np.errstate(invalid='ignore', divide='ignore'):
        den = np.sqrt((1 - r_xz**2) * (1 - r_yz**2))
        return np.where(den > 1e-6, (r_xy - r_xz * r_yz) / np.where(den > 0, den, 1.0), np.nan)


def _collect(res: dict[tuple[str, str, str], np.ndarray], acc: dict[tuple[str, str, str], list[np.ndarray]]) -> None:
    for key, v in res.items():
        acc.setdefault(key, []).append(np.asarray(v, dtype=np.float64))


def bootstrap_metrics(
    vectors: Mapping[str, np.ndarray],
    truth: np.ndarray,
    ks: Sequence[float | int] = (),
    params: np.ndarray | None = None,
    choices: tuple[np.ndarray, list[tuple[str, str]]] | None = None,
    full: Sequence[str] = (),
    n_resamples: int = 2000,
    level: float = 0.95,
    random_state: Any = 0,
    progress: bool = False,
    n_jobs: int | None = None,
) -> Distributions:
    """Every metric of every vector in ``vectors`` (name -> scores, higher = better, finite,
    aligned with ``truth``) on one seeded set of bootstrap resamples.

    All vectors get Kendall, Spearman, Pearson, precision at top / bottom K, best / worst true
    rank of the predicted top K, Kendall inside the true top K (a fixed set of rows: the table's
    true top K) and regret. The vectors named in ``full`` also get the size bias (partial
    Spearman of score and ``params`` given the truth) and, given ``choices`` (a rows x features
    0/1 matrix and the ``(slot, choice)`` of each column), the op bias of each feature (Kendall
    of the feature with the score minus with the truth). ``n_jobs`` threads score the resample
    blocks (default: up to 2); the result is the same for any ``n_jobs``.
    """
    truth = np.asarray(truth, dtype=np.float64)
    n = truth.size
    kk = [resolve_k(k, n) for k in ks]
    labels = [k_label(k) for k in ks]
    out = Distributions(n=n, n_resamples=int(n_resamples), level=float(level))
    tr, neg_tr = rs.Ranked(truth), rs.Ranked(-truth)
    pr = rs.Ranked(params) if params is not None else None
    ranked = {name: rs.Ranked(v) for name, v in vectors.items()}
    plans = {name: rs.KendallPlan(r, tr) for name, r in ranked.items()}
    neg = {name: rs.Ranked(-np.asarray(v, dtype=np.float64)) for name, v in vectors.items()}
    # Kendall inside the true top K: the rows of the table's true top K (ties at the cut kept)
    ranks0 = rs.true_ranks(rs.ones(n), tr)[:, 0]
    top_sets = {lab: np.flatnonzero(ranks0 <= k) for lab, k in zip(labels, kk)}
    top_plans = {}
    for lab, rows in top_sets.items():
        if rows.size >= 3:
            t_sub = rs.Ranked(truth[rows])
            top_plans[lab] = (
                rows,
                {
                    name: rs.KendallPlan(rs.Ranked(np.asarray(v, dtype=np.float64)[rows]), t_sub)
                    for name, v in vectors.items()
                },
            )
    X, feats = choices if choices is not None else (None, [])
    full_set = set(full)

    def run(C: np.ndarray) -> dict[tuple[str, str, str], np.ndarray]:
        sh = _Shared(C, tr, neg_tr, kk, pr)
        res: dict[tuple[str, str, str], np.ndarray] = {}
        truth_tau_feats = None
        if X is not None and full_set:
            truth_tau_feats = rs.binary_kendall(C, X, sh.truth_mid, sh.truth_ties, sh.Ct)
        for name, r in ranked.items():
            G = r.group_sums(C)
            ties = r.tie_pairs(C, G)
            res[(name, 'kendall_tau', '')] = plans[name](C, pred_ties=ties, truth_ties=sh.truth_ties)
            mid = rs.midranks(r, C, G)
            r_st = rs.corr(C, mid, sh.truth_mid, sh.truth_sq)
            res[(name, 'spearman', '')] = r_st
            res[(name, 'pearson', '')] = rs.pearson(C, r.values, truth, sh.Ct)
            if kk:
                top = _precision(r, C, sh.tops, kk)
                bot = _precision(neg[name], C, sh.bottoms, kk)
                br, wr = rs.best_worst_rank(C, r, sh.ranks, kk)
                for j, lab in enumerate(labels):
                    res[(name, 'precision_top', lab)] = top[j]
                    res[(name, 'precision_bottom', lab)] = bot[j]
                    res[(name, 'best_rank', lab)] = br[j]
                    res[(name, 'worst_rank', lab)] = wr[j]
                for lab, (rows, sub) in top_plans.items():
                    res[(name, 'tau_in_true_top', lab)] = sub[name](C[rows])
            res[(name, 'regret', '')] = rs.regret(C, r, truth, sh.best)
            if name in full_set and sh.params_mid is not None and sh.r_pt is not None:
                r_sp = rs.corr(C, mid, sh.params_mid)
                res[(name, 'size_bias', '')] = _partial(r_sp, r_st, sh.r_pt)
            if name in full_set and truth_tau_feats is not None and X is not None:
                tau_f = rs.binary_kendall(C, X, mid, ties, sh.Ct)
                for j, (slot, choice) in enumerate(feats):
                    res[(name, 'op_bias', f'{slot}={choice}')] = tau_f[j] - truth_tau_feats[j]
                    res[(name, 'op_tau', f'{slot}={choice}')] = tau_f[j]
        if truth_tau_feats is not None:
            for j, (slot, choice) in enumerate(feats):
                res[(TRUTH, 'op_tau', f'{slot}={choice}')] = truth_tau_feats[j]
        return res

    for key, v in run(rs.ones(n)).items():
        out.point[key] = float(v[0])
        out.sizes[key] = int(top_sets[key[2]].size) if key[1] == 'tau_in_true_top' else n
    for lab in labels:  # K too small for a Kendall inside the true top: record it, undefined
        if lab not in top_plans:
            for name in vectors:
                out.point[(name, 'tau_in_true_top', lab)] = float('nan')
                out.sizes[(name, 'tau_in_true_top', lab)] = int(top_sets[lab].size)
    rng = np.random.default_rng(random_state)
    blocks = [min(_BLOCK, n_resamples - s) for s in range(0, n_resamples, _BLOCK)]
    acc: dict[tuple[str, str, str], list[np.ndarray]] = {}
    bar = tqdm(
        total=len(blocks),
        desc=f'bootstrap ({n_resamples} resamples of {n} architectures)',
        unit='block',
        disable=not progress,
    )
    # the resamples are drawn in order from one generator (the result does not depend on
    # n_jobs); blocks are scored in threads (NumPy releases the GIL in its loops)
    jobs = max(1, int(n_jobs if n_jobs is not None else min(2, os.cpu_count() or 1)))
    # one BLAS thread per block thread: BLAS's own threads on top of ours (and of a busy
    # machine) spin and thrash; the many small matrix products here gain nothing from them
    with threadpool_limits(limits=1, user_api='blas'), ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = []
        for b in blocks:
            pending.append(pool.submit(run, rs.draw_counts(rng, n, b)))
            while len(pending) > jobs:  # bounded memory: at most `jobs` blocks waiting
                _collect(pending.pop(0).result(), acc)
                bar.update()
        for f in pending:
            _collect(f.result(), acc)
            bar.update()
    bar.close()
    for key, parts in acc.items():
        out.dist[key] = np.concatenate(parts)
    for key in out.point:
        out.dist.setdefault(key, np.full(n_resamples, np.nan))
    return out
