"""Rank statistics of one table under many bootstrap resamples at once.

A bootstrap resample of ``n`` architectures is a vector of multiplicities ``c`` (how often each
row was drawn; ``sum(c) == n``). The statistics here take a block of such vectors as an
``n x b`` matrix ``C`` (one column per resample, so gathering rows in a sorted order copies
contiguous memory) and return one value per resample. All estimators of one audit see the same
resamples, so a paired difference is the difference of two distributions computed here, and
the sorting work is done once per score vector (:class:`Ranked`); a resample then costs a few
passes over ``n`` numbers per statistic:

* Kendall tau-b: the discordant pairs are the weighted inversions of a fixed permutation,
  counted in blocks with batched matrix products plus a block x value-bin grid
  (:class:`Inversions`); the tie terms come from group sums;
* Spearman: the Pearson correlation of the resample's mid-ranks;
* precision at top / bottom K, best and worst true rank of the predicted top K, regret: one
  cumulative sum in score order;
* a 0/1 feature against a score (op bias): the Mann-Whitney form of Kendall tau from the same
  mid-ranks, one matrix product for every feature at once.

Copies of one row tie on both sides and drop out of Kendall's pairs, as in tau-b on the
resampled table. With ``C`` a column of ones each statistic is the statistic of the table itself.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = [
    'Inversions',
    'KendallPlan',
    'Ranked',
    'best_worst_rank',
    'binary_kendall',
    'corr',
    'draw_counts',
    'midranks',
    'ones',
    'pearson',
    'precision_top',
    'cut_rows',
    'rank_square',
    'regret',
    'true_ranks',
]


def draw_counts(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """``b`` bootstrap resamples of ``n`` rows as multiplicities (``n x b`` float32)."""
    idx = rng.integers(0, n, size=(b, n))
    flat = (idx + n * np.arange(b)[:, None]).ravel()
    counts = np.bincount(flat, minlength=b * n).reshape(b, n)
    return np.ascontiguousarray(counts.T, dtype=np.float32)


def ones(n: int) -> np.ndarray:
    """The table itself as one 'resample' (``n x 1``)."""
    return np.ones((n, 1), dtype=np.float32)


def _groups(sorted_vals: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted vector."""
    if sorted_vals.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])


def _summer(group: np.ndarray, n_groups: int) -> sparse.csr_matrix:
    """A sparse ``groups x rows`` 0/1 matrix: ``S @ C`` sums ``C``'s rows per group."""
    n = group.size
    return sparse.csr_matrix((np.ones(n, dtype=np.float32), (group, np.arange(n))), shape=(n_groups, n))


class Ranked:
    """Everything about one score vector that does not depend on the resample.

    ``order`` sorts the rows by increasing value (ties in row order) and ``starts`` marks the tie
    groups in it; ``group`` is each row's tie group (0 = lowest); ``desc`` sorts by decreasing
    value with ties in row order (the table's order breaks predicted ties)."""

    def __init__(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        self.values = v
        self.order = np.argsort(v, kind='stable')
        self.starts = _groups(v[self.order])
        self.sizes = np.diff(np.r_[self.starts, v.size])
        gid = np.zeros(v.size, dtype=np.int64)
        gid[self.starts[1:]] = 1
        self.group = np.empty(v.size, dtype=np.int64)
        self.group[self.order] = np.cumsum(gid)
        self.desc = np.lexsort((np.arange(v.size), -self.group))
        self.summer = _summer(self.group, self.starts.size)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def constant(self) -> bool:
        return self.starts.size <= 1

    def group_sums(self, C: np.ndarray) -> np.ndarray:
        """Drawn units per tie group (groups x resamples, increasing value)."""
        return np.asarray(self.summer @ C, dtype=np.float64)

    def tie_pairs(self, C: np.ndarray, G: np.ndarray | None = None) -> np.ndarray:
        """Pairs of drawn units tied on this vector, per resample: sum over groups of G(G-1)/2."""
        N = C.sum(axis=0, dtype=np.float64)
        if G is None and self.starts.size == self.n:  # no ties: each row is its own group
            return (np.einsum('ib,ib->b', C, C, dtype=np.float64) - N) / 2
        G = self.group_sums(C) if G is None else G
        return (np.einsum('ib,ib->b', G, G) - N) / 2


def midranks(r: Ranked, C: np.ndarray, G: np.ndarray | None = None) -> np.ndarray:
    """Mid-rank (1-based, ties averaged) of each row among the drawn units, per resample
    (``n x b``). Rows not drawn get the rank they would have; they carry weight 0."""
    G = r.group_sums(C) if G is None else G
    mid_g = np.cumsum(G, axis=0) - G + (G + 1) / 2
    return mid_g[r.group]


def corr(C: np.ndarray, ra: np.ndarray, rb: np.ndarray, bb: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation of two ``n x b`` matrices of mid-ranks weighted by ``C`` (their
    weighted mean is ``(N + 1) / 2``; NaN where constant). ``bb``: ``sum c rb^2`` if known."""
    N = C.sum(axis=0, dtype=np.float64)
    mean2 = N * ((N + 1) / 2) ** 2
    Ca = C * ra
    num = np.einsum('ib,ib->b', Ca, rb) - mean2
    va = np.einsum('ib,ib->b', Ca, ra) - mean2
    vb = (rank_square(C, rb) if bb is None else bb) - mean2
    den = np.sqrt(np.clip(va, 0, None) * np.clip(vb, 0, None))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(den > 1e-9 * N * N, num / np.where(den > 0, den, 1.0), np.nan)


def rank_square(C: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``sum_i c_i r_i^2`` per resample (to reuse one side of :func:`corr`)."""
    return np.einsum('ib,ib->b', C * r, r)


def pearson(C: np.ndarray, a: np.ndarray, b: np.ndarray, Ct: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation of the values ``a`` and ``b`` on each resample (``Ct``: ``C.T`` as
    float64, if already made)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = (a - a.mean()) / (a.std() or 1.0)
    b = (b - b.mean()) / (b.std() or 1.0)
    Ct = C.T.astype(np.float64) if Ct is None else Ct
    N = Ct.sum(axis=1)
    sa, sb = Ct @ a, Ct @ b
    saa, sbb, sab = Ct @ (a * a), Ct @ (b * b), Ct @ (a * b)
    cov = sab - sa * sb / N
    va, vb = saa - sa * sa / N, sbb - sb * sb / N
    with np.errstate(invalid='ignore', divide='ignore'):
        den = np.sqrt(np.clip(va, 0, None) * np.clip(vb, 0, None))
        return np.where(den > 1e-9 * N, cov / np.where(den > 0, den, 1.0), np.nan)


class Inversions:
    """Weighted count of the pairs ``i < j`` (positions of ``perm``) with ``key[perm[i]] >
    key[perm[j]]``, for many weight vectors at once.

    The positions are cut into blocks of ``m`` and the key values into bins of consecutive tie
    groups (a tie group is never split; one larger than ``m`` is a bin of its own, whose inner
    pairs are ties and count nothing). A pair falls in exactly one of three classes: the same
    block (a dense ``m x m`` 0/1 matrix per block), different blocks but the same bin (a dense
    matrix per bin), or different blocks and bins (decided by block and bin alone: a 2-D
    cumulative sum over the block x bin grid of weights). The dense parts are batched matrix
    products: a resample costs O(n m) multiply-adds plus O((n / m)^2) for the grid.
    """

    def __init__(self, perm: np.ndarray, key: np.ndarray, m: int = 256) -> None:
        n = perm.size
        self.n, self.m, self.perm = n, m, perm
        k = np.asarray(key, dtype=np.float64)[perm]
        self.n_blocks = max(1, -(-n // m))
        blk = np.arange(n) // m
        kp = np.full(self.n_blocks * m, np.inf)
        kp[:n] = k
        kb = kp.reshape(self.n_blocks, m)
        i_lt_j = np.triu(np.ones((m, m), dtype=bool), 1)
        self.U_T = np.ascontiguousarray(
            ((kb[:, :, None] > kb[:, None, :]) & i_lt_j).transpose(0, 2, 1), dtype=np.float32
        )
        # bins of consecutive tie groups holding at most m positions
        order = np.argsort(k, kind='stable')
        starts = _groups(k[order])
        sizes = np.diff(np.r_[starts, n])
        bin_of_group = np.empty(starts.size, dtype=np.int64)
        q, fill = 0, 0
        for g, sz in enumerate(sizes.tolist()):
            if fill and fill + sz > m:
                q, fill = q + 1, 0
            bin_of_group[g] = q
            fill += sz
        n_bins = int(bin_of_group.max()) + 1 if n else 1
        bin_of_pos = np.empty(n, dtype=np.int64)
        bin_of_pos[order] = np.repeat(bin_of_group, sizes)
        self.n_bins = n_bins
        groups_in_bin = np.bincount(bin_of_group, minlength=n_bins)
        by_bin = np.argsort(bin_of_pos, kind='stable')
        cuts = np.searchsorted(bin_of_pos[by_bin], np.arange(n_bins + 1))
        multi = np.flatnonzero(groups_in_bin > 1)  # a bin of one tie group has no inversion
        members = np.zeros((multi.size, m), dtype=np.int64)
        valid = np.zeros((multi.size, m), dtype=bool)
        V = np.zeros((multi.size, m, m), dtype=np.float32)
        for r, qq in enumerate(multi.tolist()):
            mem = by_bin[cuts[qq] : cuts[qq + 1]]
            members[r, : mem.size] = mem
            valid[r, : mem.size] = True
            kk, bb = k[mem], blk[mem]
            V[r, : mem.size, : mem.size] = (kk[:, None] > kk[None, :]) & (bb[:, None] < bb[None, :])
        self.members = np.where(valid, perm[members], n)  # rows of C; n: the zero row appended
        self.V_T = np.ascontiguousarray(V.transpose(0, 2, 1))
        self.perm_padded = np.r_[perm, np.full(self.n_blocks * m - n, n, dtype=np.int64)]
        self._grid = _summer(blk * n_bins + bin_of_pos, self.n_blocks * n_bins)
        self._upper = np.triu(np.ones((n_bins, n_bins)), 1)  # [q' > q]

    def __call__(self, C: np.ndarray) -> np.ndarray:
        b, m = C.shape[1], self.m
        Cz = np.vstack([C, np.zeros((1, b), dtype=C.dtype)])
        Wb = Cz[self.perm_padded].reshape(self.n_blocks, m, b)
        Cp = Wb.reshape(-1, b)[: self.n]
        # sum_ij w_i U_ij w_j per block: (U^T w) . w, exact in float32 within a block
        d1 = np.einsum('tmb,tmb->tb', np.matmul(self.U_T, Wb), Wb).sum(axis=0, dtype=np.float64)
        d2 = np.zeros(b)
        if self.members.size:
            Wm = Cz[self.members]  # bins x m x b
            d2 = np.einsum('tmb,tmb->tb', np.matmul(self.V_T, Wm), Wm).sum(axis=0, dtype=np.float64)
        H = np.asarray(self._grid @ Cp, dtype=np.float64).reshape(self.n_blocks, self.n_bins, b)
        prev = np.cumsum(H, axis=0) - H  # weight in earlier blocks, per bin
        later_bins = np.matmul(self._upper, prev)  # ... summed over the higher bins
        d3 = np.einsum('tqb,tqb->b', H, later_bins)
        return d1 + d2 + d3


class KendallPlan:
    """Kendall tau-b of ``pred`` against ``truth`` on resamples (see the module docstring)."""

    def __init__(self, pred: Ranked, truth: Ranked) -> None:
        self.pred, self.truth = pred, truth
        # rows by increasing truth, ties by increasing prediction: a strict inversion in the
        # prediction is then a pair with t_i < t_j and p_i > p_j, a discordant pair
        perm = np.lexsort((pred.group, truth.group))
        self.inv = Inversions(perm, pred.group.astype(np.float64))
        self.joint = Ranked((truth.group * (int(pred.group.max()) + 1) + pred.group).astype(np.float64))

    def terms(
        self, C: np.ndarray, pred_ties: np.ndarray | None = None, truth_ties: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per resample, the pair counts tau-b is made of (whole numbers, exact in float64):
        concordant minus discordant pairs, pairs not tied on the prediction, pairs not tied on
        the truth."""
        N = C.sum(axis=0, dtype=np.float64)
        n0 = N * (N - 1) / 2
        n1 = self.pred.tie_pairs(C) if pred_ties is None else pred_ties
        n2 = self.truth.tie_pairs(C) if truth_ties is None else truth_ties
        n3 = self.joint.tie_pairs(C)
        return n0 - n1 - n2 + n3 - 2 * self.inv(C), n0 - n1, n0 - n2

    def __call__(
        self, C: np.ndarray, pred_ties: np.ndarray | None = None, truth_ties: np.ndarray | None = None
    ) -> np.ndarray:
        S, untied_pred, untied_truth = self.terms(C, pred_ties, truth_ties)
        den = untied_pred * untied_truth
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(den > 0, S / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)


def true_ranks(C: np.ndarray, truth: Ranked, G: np.ndarray | None = None) -> np.ndarray:
    """Rank of each row's truth among the drawn units: 1 + units with a strictly higher truth
    (tied truths share the best rank), per resample (``n x b``)."""
    G = truth.group_sums(C) if G is None else G
    above = G.sum(axis=0) - np.cumsum(G, axis=0)
    return (above + 1)[truth.group]


def precision_top(C: np.ndarray, pred: Ranked, ranks: np.ndarray, ks: list[int]) -> np.ndarray:
    """Share of the true top-k units among the predicted top-k units, per k and resample
    (``len(ks) x b``). ``ranks`` are :func:`true_ranks` (a unit is in the true top-k when its
    rank is at most k, so units tied with the k-th best truth all count); predicted ties
    straddling the cut fill the remaining places in proportion (the expectation over random
    tie breaking). For the bottom, pass the negated scores and the ranks of the negated truth."""
    G = pred.group_sums(C)[::-1]  # tie groups by decreasing value
    before = np.cumsum(G, axis=0) - G
    out = np.empty((len(ks), C.shape[1]))
    for j, k in enumerate(ks):
        Hg = pred.group_sums(C * (ranks <= k))[::-1]
        take = np.clip((k - before) / np.where(G > 0, G, 1.0), 0.0, 1.0)
        out[j] = (Hg * take).sum(axis=0) / k
    return out


def best_worst_rank(C: np.ndarray, pred: Ranked, ranks: np.ndarray, ks: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst true rank among the predicted top-k units, as a fraction of the units
    (``len(ks) x b`` each). Predicted ties are broken by the table's row order."""
    order = pred.desc
    Cs = C[order]
    R = ranks[order]
    present = Cs > 0
    run_min = np.minimum.accumulate(np.where(present, R, np.inf), axis=0)
    run_max = np.maximum.accumulate(np.where(present, R, -np.inf), axis=0)
    last = cut_rows(np.cumsum(Cs, axis=0, dtype=np.float64) - Cs, ks)  # the row holding the k-th unit
    N = C.sum(axis=0, dtype=np.float64)
    cols = np.arange(C.shape[1])
    return run_min[last, cols] / N, run_max[last, cols] / N


def cut_rows(before: np.ndarray, ks: list[int]) -> np.ndarray:
    """For each k and column, the last row whose units-ahead count ``before`` (non-decreasing
    down each column) is below k: the row holding the k-th unit (``len(ks) x b``)."""
    kk = np.asarray(ks, dtype=np.float64)
    return np.stack([np.searchsorted(before[:, j], kk, side='left') - 1 for j in range(before.shape[1])], axis=1)


def regret(C: np.ndarray, pred: Ranked, truth_values: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
    """Best drawn truth minus the truth of the predicted best drawn row (ties: row order);
    ``best``: the best drawn truth per resample, if already known (:func:`best_drawn`)."""
    order = pred.desc
    first = np.argmax(C[order] > 0, axis=0)
    chosen = np.asarray(truth_values, dtype=np.float64)[order][first]
    return (best_drawn(C, truth_values) if best is None else best) - chosen


def best_drawn(C: np.ndarray, truth_values: np.ndarray) -> np.ndarray:
    """The highest truth among the drawn rows, per resample."""
    tv = np.asarray(truth_values, dtype=np.float64)
    by_truth = np.argsort(-tv, kind='stable')
    return tv[by_truth][np.argmax(C[by_truth] > 0, axis=0)]


def binary_kendall(
    C: np.ndarray, X: np.ndarray, ranks: np.ndarray, score_ties: np.ndarray, Ct: np.ndarray | None = None
) -> np.ndarray:
    """Kendall tau-b between each 0/1 column of ``X`` (rows x features) and a score, per feature
    and resample (``features x b``). ``ranks`` are the score's :func:`midranks`, ``score_ties``
    its tied unit pairs (:meth:`Ranked.tie_pairs`), ``Ct`` ``C.T`` as float64 if already made.

    With ``W1`` drawn units having the feature and ``W0`` not,
    ``S = 2 (sum_{x=1} c R - W1 (W1 + 1) / 2) - W1 W0`` (the Mann-Whitney form) and
    ``tau_b = S / sqrt((n0 - ties_x) (n0 - ties_score))``."""
    Ct = C.T.astype(np.float64) if Ct is None else Ct
    N = Ct.sum(axis=1)
    n0 = N * (N - 1) / 2
    W1 = Ct @ X
    W0 = N[:, None] - W1
    SR = (Ct * ranks.T) @ X
    S = 2 * (SR - W1 * (W1 + 1) / 2) - W1 * W0
    tx = (W1 * (W1 - 1) + W0 * (W0 - 1)) / 2
    den = (n0[:, None] - tx) * (n0 - score_ties)[:, None]
    with np.errstate(invalid='ignore', divide='ignore'):
        tau = np.where(den > 0, S / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)
    return tau.T
