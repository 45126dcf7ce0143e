"""How well do predicted scores rank architectures? Rank correlations, top-k hits, regret, and
the baselines that give those numbers a meaning.

Higher is better for both ``pred`` and ``truth`` everywhere (negate a loss before passing it).
Ties are handled without favouring any item: Kendall is tau-b, Spearman uses average ranks,
and top-k precision and regret take the expectation over random tie breaking.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ['kendall_tau', 'spearman', 'topk_precision', 'regret', 'rank_metrics', 'random_baseline',
           'ranking_table', 'baseline_scores', 'baseline_metrics', 'ranking_with_baselines', 'op_preference']

K = int | float


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def _as_vector(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f'{name} must be 1-D, got shape {arr.shape}')
    return arr


def _validate(pred: Any, truth: Any, nan_policy: str = 'raise') -> tuple[np.ndarray, np.ndarray]:
    p, t = _as_vector(pred, 'pred'), _as_vector(truth, 'truth')
    if p.shape != t.shape:
        raise ValueError(f'pred and truth must have equal lengths, got {p.size} and {t.size}')
    if nan_policy not in ('raise', 'omit'):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    p_nan, t_nan = np.isnan(p), np.isnan(t)
    if nan_policy == 'omit':
        keep = ~(p_nan | t_nan)
        p, t = p[keep], t[keep]
    else:
        for name, mask in (('pred', p_nan), ('truth', t_nan)):
            if mask.any():
                raise ValueError(f'{name} holds {int(mask.sum())} NaN value(s) (first at position '
                                 f"{int(np.argmax(mask))}); drop them or pass nan_policy='omit'")
    if np.isinf(t).any():
        raise ValueError('truth holds infinite values')
    if p.size < 2:
        raise ValueError(f'ranking metrics need at least 2 items, got {p.size}')
    return p, t


def _resolve_k(k: K, n: int) -> int:
    """Number of items for ``k``: an int count, or a float in (0, 1) meaning a fraction of n."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f'k must be an int >= 1 or a fraction in (0, 1), got {k!r}')
    if isinstance(k, (int, np.integer)):
        kk = int(k)
    elif isinstance(k, (float, np.floating)) and 0 < k < 1:
        kk = max(1, int(round(float(k) * n)))
    elif isinstance(k, (float, np.floating)) and float(k).is_integer():
        kk = int(k)
    else:
        raise ValueError(f'k must be an int >= 1 or a fraction in (0, 1), got {k!r}')
    if not 1 <= kk <= n:
        raise ValueError(f'k={k!r} needs 1 <= k <= n items, but there are {n}')
    return kk


def _k_label(k: K) -> str:
    if isinstance(k, (float, np.floating)) and 0 < k < 1:
        return f'{float(k) * 100:g}%'
    return str(int(k))


# ---------------------------------------------------------------------------------------------
# Metrics (unchecked cores take validated arrays)
# ---------------------------------------------------------------------------------------------
def _kendall(p: np.ndarray, t: np.ndarray) -> float:
    if np.ptp(p) == 0 or np.ptp(t) == 0:
        return float('nan')  # undefined for a constant ranking; scipy would warn
    return float(stats.kendalltau(p, t, variant='b').statistic)


def _spearman(p: np.ndarray, t: np.ndarray) -> float:
    if np.ptp(p) == 0 or np.ptp(t) == 0:
        return float('nan')
    rp, rt = stats.rankdata(p), stats.rankdata(t)
    rp -= rp.mean()
    rt -= rt.mean()
    return float(np.dot(rp, rt) / np.sqrt(np.dot(rp, rp) * np.dot(rt, rt)))


def _topk(p: np.ndarray, t: np.ndarray, kk: int) -> float:
    # an item ties with the k-th best truth counts as a true top-k item: ties make the set ambiguous
    t_thr = np.partition(t, t.size - kk)[t.size - kk]
    good = t >= t_thr
    p_thr = np.partition(p, p.size - kk)[p.size - kk]
    above, tied = p > p_thr, p == p_thr
    n_from_tied = kk - int(above.sum())
    # the tied predictions at the cut fill the remaining slots at random: take the expectation
    hits = good[above].sum() + n_from_tied * good[tied].mean()
    return float(hits / kk)


def _regret(p: np.ndarray, t: np.ndarray) -> float:
    chosen = p == p.max()
    return float(t.max() - t[chosen].mean())


def kendall_tau(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    """Kendall rank correlation tau-b (tie-corrected); NaN when either side is constant."""
    return _kendall(*_validate(pred, truth))


def spearman(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks); NaN when either side is constant."""
    return _spearman(*_validate(pred, truth))


def topk_precision(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray, k: K) -> float:
    """Share of the true top-k (highest ``truth``) found among the predicted top-k (highest ``pred``).

    ``k`` is a count, or a float in (0, 1) for a fraction of the items (rounded, at least 1).
    Items tied with the k-th best truth all count as true top-k; predictions tied at the cut are
    broken at random in expectation, so a constant predictor scores the random baseline.
    """
    p, t = _validate(pred, truth)
    return _topk(p, t, _resolve_k(k, p.size))


def regret(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    """``max(truth) - truth[argmax(pred)]``: accuracy lost by taking the predicted best (averaged
    over ties for the predicted best)."""
    return _regret(*_validate(pred, truth))


def rank_metrics(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray,
                 ks: Iterable[K] = (10,), nan_policy: str = 'raise') -> dict[str, float]:
    """All metrics at once: ``n``, ``kendall_tau``, ``spearman``, ``topk_precision@<k>`` per k
    (``@5%`` for a fraction), ``regret``. ``nan_policy='omit'`` drops pairs with a NaN
    (e.g. a proxy undefined on degenerate cells); ``n`` says how many remained."""
    p, t = _validate(pred, truth, nan_policy)
    out: dict[str, float] = {'n': float(p.size), 'kendall_tau': _kendall(p, t), 'spearman': _spearman(p, t)}
    for k in ks:
        out[f'topk_precision@{_k_label(k)}'] = _topk(p, t, _resolve_k(k, p.size))
    out['regret'] = _regret(p, t)
    return out


# ---------------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------------
def random_baseline(truth: Sequence[float] | np.ndarray, n_repeats: int = 100, random_state: int | None = 0,
                    ks: Iterable[K] = (10,)) -> dict[str, float]:
    """Metrics of uniformly random scores: ``<metric>`` is the mean over ``n_repeats`` draws and
    ``<metric>_std`` the standard deviation (``n`` and ``n_repeats`` as given)."""
    t = _as_vector(truth, 'truth')
    _validate(t, t)
    if int(n_repeats) < 1:
        raise ValueError(f'n_repeats must be >= 1, got {n_repeats}')
    ks = tuple(ks)
    rng = np.random.default_rng(random_state)
    rows = [rank_metrics(rng.random(t.size), t, ks=ks) for _ in range(int(n_repeats))]
    out: dict[str, float] = {'n': float(t.size), 'n_repeats': float(n_repeats)}
    for key in rows[0]:
        if key == 'n':
            continue
        vals = np.array([r[key] for r in rows])
        out[key] = float(vals.mean())
        out[f'{key}_std'] = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    return out


def ranking_table(scores: Mapping[str, Sequence[float] | np.ndarray], truth: Sequence[float] | np.ndarray,
                  ks: Iterable[K] = (10,), include_random: bool = False, n_repeats: int = 100,
                  random_state: int | None = 0, nan_policy: str = 'raise') -> pd.DataFrame:
    """One row per method (index ``method``): ``n``, ``kendall_tau``, ``spearman``,
    ``topk_precision@<k>``, ``regret``. ``include_random`` adds a ``random`` row (means over
    ``n_repeats`` draws) and ``<metric>_std`` columns, filled for that row only."""
    if not scores:
        raise ValueError('ranking_table needs at least one method in scores')
    ks = tuple(ks)
    rows = {name: rank_metrics(s, truth, ks=ks, nan_policy=nan_policy) for name, s in scores.items()}
    df = pd.DataFrame.from_dict(rows, orient='index')
    if include_random:
        t = _as_vector(truth, 'truth')
        if nan_policy == 'omit':
            t = t[~np.isnan(t)]
        rb = random_baseline(t, n_repeats=n_repeats, random_state=random_state, ks=ks)
        metric_cols = [c for c in df.columns if c != 'n']
        df.loc['random'] = [rb['n']] + [rb[c] for c in metric_cols]
        for c in metric_cols:
            df[f'{c}_std'] = np.nan
            df.loc['random', f'{c}_std'] = rb[f'{c}_std']
    df['n'] = df['n'].astype(int)
    df.index.name = 'method'
    return df


def baseline_scores(bench: Any, archs: Iterable[Any]) -> dict[str, np.ndarray]:
    """Trivial predictors a benchmark offers for ``archs``, to print beside any method.

    * ``'params'`` -- parameter count from the benchmark (a classic strong baseline);
    * ``'seed-to-seed'`` (a bench with ``seeds``, i.e. MicroBench, at least two seeds) -- the
      second seed's accuracy; compare it with ``bench.accuracies(archs, metric=f'seed{seeds[0]}')``
      as truth: its score is the noise ceiling of that ground truth;
    * ``'valid-as-predictor'`` (NB201 benches holding ``cifar10-valid``/``valid_200ep``) -- the
      validation accuracy of a separate training run as predictor of ``cifar10``/``test_200ep``.
    """
    archs = list(archs)
    out: dict[str, np.ndarray] = {}
    if hasattr(bench, 'params_many'):
        out['params'] = np.asarray(bench.params_many(archs), dtype=np.float64)
    else:
        out['params'] = np.array([bench.params(a) for a in archs], dtype=np.float64)
    seeds = getattr(bench, 'seeds', None)
    if seeds is not None:
        if len(seeds) >= 2:
            out['seed-to-seed'] = np.asarray(bench.accuracies(archs, metric=f'seed{seeds[1]}'), dtype=np.float64)
    else:
        try:
            valid = bench.accuracies(archs, 'cifar10-valid', 'valid_200ep')
        except ValueError:  # this bench does not hold that metric: no ceiling to offer
            pass
        else:
            out['valid-as-predictor'] = np.asarray(valid, dtype=np.float64)
    return out


def baseline_metrics(bench: Any, archs: Iterable[Any], ks: Iterable[K] = (10,), random_state: int | None = 0,
                     dataset: str | None = None, metric: str | None = None) -> pd.DataFrame:
    """Rank metrics of every trivial predictor of :func:`baseline_scores`, each against the truth
    it is meant for (the seed-to-seed ceiling against the first seed only, since the mean
    includes the predicting seed), plus random scores (mean and std over 100 draws).

    One row per baseline, index ``method``, with ``kind='baseline'``: rows to put beside any
    ranking so a reader sees what a supernet must beat.
    """
    archs = list(archs)
    kw = {k: v for k, v in dict(dataset=dataset, metric=metric).items() if v is not None}
    truth = np.asarray(bench.accuracies(archs, **kw), dtype=np.float64)
    rows = {}
    for name, pred in baseline_scores(bench, archs).items():
        t = truth
        if name == 'seed-to-seed':
            t = np.asarray(bench.accuracies(archs, metric=f'seed{bench.seeds[0]}'), dtype=np.float64)
        rows[name] = rank_metrics(pred, t, ks=ks, nan_policy='omit')
    rb = random_baseline(truth, random_state=random_state, ks=ks)
    rows['random-scores'] = {k: v for k, v in rb.items() if k != 'n_repeats'}
    df = pd.DataFrame.from_dict(rows, orient='index')
    df.index.name = 'method'
    df.insert(0, 'kind', 'baseline')
    return df


def ranking_with_baselines(scores: dict[str, Any], bench: Any, archs: Iterable[Any], ks: Iterable[K] = (10,),
                           random_state: int | None = 0) -> pd.DataFrame:
    """Rank metrics of each predictor in ``scores`` against ``bench`` (``kind='method'``),
    followed by the rows of :func:`baseline_metrics` (``kind='baseline'``); index ``method``."""
    archs = list(archs)
    truth = np.asarray(bench.accuracies(archs), dtype=np.float64)
    methods = ranking_table(scores, truth, ks=ks)
    methods.insert(0, 'kind', 'method')
    return pd.concat([methods, baseline_metrics(bench, archs, ks=ks, random_state=random_state)])


def op_preference(archs: Iterable[Any], pred: Sequence[float] | np.ndarray,
                  truth: Sequence[float] | np.ndarray | None = None) -> pd.DataFrame:
    """Which operations a predictor rewards, beside which the ground truth rewards.

    For every NB201 operation, the Kendall tau (tau-b) between how many of a cell's 6 edges
    carry it and the cell's predicted score (``tau_pred``) and, given ``truth``, its true
    accuracy (``tau_truth``) and ``gap = tau_pred - tau_truth``. A negative ranking tau usually
    shows here first: a briefly trained supernet rewards parameter-free ops (skip, pooling)
    that the fully trained networks of the benchmark punish. Index ``op``; ``mean_count`` is
    the op's average count per cell. NaN where the count is constant over the cells.
    """
    from nasviz.spaces.nb201 import OPS, to_arch

    archs = [to_arch(a) for a in archs]
    p = _as_vector(pred, 'pred')
    if len(p) != len(archs):
        raise ValueError(f'pred has {len(p)} values for {len(archs)} architectures')
    p, t = _validate(p, p if truth is None else truth)  # NaN and length checks, also for pred alone
    counts = np.array([[a.op_idx.count(i) for i in range(len(OPS))] for a in archs], dtype=np.float64)
    rows = []
    for i, op in enumerate(OPS):
        c = counts[:, i]
        row = dict(op=op, mean_count=float(c.mean()), tau_pred=_kendall(c, p))
        if truth is not None:
            row['tau_truth'] = _kendall(c, t)
            row['gap'] = row['tau_pred'] - row['tau_truth']
        rows.append(row)
    return pd.DataFrame(rows).set_index('op')
