"""How well do predicted scores rank architectures? Rank correlations, top-k hits, regret, and
the baselines that give those numbers a meaning; with uncertainty: bootstrap CIs over
architectures (:func:`kendall_ci`, :func:`metric_ci`, :func:`ranking_table_ci`), paired
comparisons of two rankings (:func:`paired_difference`), summaries over seeds
(:func:`seed_summary`, :func:`paired_seed_difference`) and baselines with intervals
(:func:`baseline_metrics_ci`). Results are plain data (:class:`Estimate`, DataFrames).

Higher is better for both ``pred`` and ``truth`` everywhere (negate a loss before passing it).
Ties are handled without favouring any item: Kendall is tau-b, Spearman uses average ranks,
and top-k precision and regret take the expectation over random tie breaking.
"""
from __future__ import annotations

import decimal
import fractions
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nasviz.spaces import get_space, space_of
from nasviz.validate import short_repr

__all__ = ['kendall_tau', 'spearman', 'topk_precision', 'regret', 'rank_metrics', 'random_baseline',
           'ranking_table', 'baseline_scores', 'baseline_metrics', 'ranking_with_baselines', 'op_preference',
           # uncertainty
           'Estimate', 'metric_ci', 'kendall_ci', 'spearman_ci', 'topk_precision_ci', 'PairedDifference',
           'paired_difference', 'SeedSummary', 'seed_summary', 'paired_seed_difference', 'CI_COLUMNS', 'ci_metrics',
           'ranking_table_ci', 'ci_wide', 'table_estimates', 'random_null', 'ceiling_scores', 'baseline_metrics_ci',
           'ranking_with_baselines_ci', 'reliability_frontier']

K = int | float


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
#: integers up to this magnitude convert to float64 exactly
_EXACT_INT = 2 ** 53
#: what a score may be (bool and NumPy scalars included; Decimal is not a numbers.Real)
_NUMBER = (numbers.Real, decimal.Decimal)


def _numeric(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D NumPy array of numbers in its own dtype (no conversion yet)."""
    try:
        raw = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged nested sequences
        raise ValueError(f'{name} must be a 1-D sequence of numbers: {short_repr(str(err))}') from None
    if raw.ndim != 1:
        raise ValueError(f'{name} must be 1-D, got shape {raw.shape}')
    if raw.dtype.kind not in 'biufO':
        # name the first entry that is not a number (NumPy turned the whole list into text)
        items = x if isinstance(x, (list, tuple)) else raw
        bad = ((i, e) for i, e in enumerate(items) if not isinstance(e, _NUMBER))
        i, e = next(bad, (0, raw[0] if raw.size else None))
        raise ValueError(f'{name}[{i}] must be a number, got {type(e).__name__} {short_repr(e)}')
    if raw.dtype.kind == 'O':
        if any(e is None for e in raw):  # a missing value, as NumPy's float conversion reads it
            raw = np.array([np.nan if e is None else e for e in raw], dtype=object)
        for i, e in enumerate(raw):
            if not isinstance(e, _NUMBER):
                raise ValueError(f'{name}[{i}] must be a number, got {type(e).__name__} {short_repr(e)}')
    return raw


def _as_vector(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D float64 vector of its values (for value statistics such as a mean)."""
    raw = _numeric(x, name)
    try:
        return raw.astype(np.float64)
    except OverflowError:
        raise ValueError(f'{name} holds a number beyond the float64 range (about 1.8e308)') from None


def _dense_ranks(raw: np.ndarray, nan: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... by increasing value, equal values sharing one; NaN where ``nan``."""
    out = np.full(raw.shape, np.nan)
    idx = np.flatnonzero(~nan)
    if idx.size:
        vals = raw[idx]
        order = np.argsort(vals, kind='stable')
        s = vals[order]
        if s.dtype == object:
            new = np.fromiter((a != b for a, b in zip(s[1:], s[:-1])), dtype=bool, count=s.size - 1)
        else:
            new = s[1:] != s[:-1]
        out[idx[order]] = np.concatenate([[0.0], np.cumsum(new)])
    return out


def _ordinal(x: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(order, values)`` of a score vector.

    ``order`` is float64 with exactly the order and ties of ``x`` (NaN kept): ``x`` itself when
    float64 holds it exactly and finitely, else dense ranks (integers beyond 2**53 that float64
    would merge, Python ints or long doubles beyond its range, infinities, or values spanning
    more than the float64 range, whose differences would overflow). Rank metrics depend only
    on order, so they come out exact. ``values`` are the numbers themselves (float64, or the
    original objects / long doubles where float64 could not hold them) for value statistics
    such as regret.
    """
    raw = _numeric(x, name)
    kind = raw.dtype.kind
    if kind in 'bf' and raw.dtype.itemsize <= 8:
        v = raw.astype(np.float64)
    elif kind in 'iu' and (raw.size == 0 or max(abs(int(raw.max())), abs(int(raw.min()))) <= _EXACT_INT):
        v = raw.astype(np.float64)
    else:  # big integers, Python objects (ints, Fractions, Decimals), long doubles
        if kind == 'O':
            nan = np.fromiter((e != e for e in raw), dtype=bool, count=raw.size)
            raw_inf = np.fromiter((not n and abs(e) == float('inf') for e, n in zip(raw, nan)), dtype=bool,
                                  count=raw.size)
        else:
            nan = np.isnan(raw) if kind == 'f' else np.zeros(raw.size, dtype=bool)
            raw_inf = np.isinf(raw) if kind == 'f' else np.zeros(raw.size, dtype=bool)
        try:
            with np.errstate(over='ignore'):
                v = raw.astype(np.float64)
        except OverflowError:
            v = None
        exact = v is not None and bool((np.isinf(v) == raw_inf).all())
        if exact:
            # float64 must keep every order and tie of the original (finite) values
            r = _dense_ranks(raw, nan | raw_inf)
            fin = np.flatnonzero(~(nan | raw_inf))
            order = fin[np.argsort(r[fin], kind='stable')]
            exact = bool(((np.diff(r[order]) > 0) == (np.diff(v[order]) > 0)).all())
        if not exact:
            ranks = _dense_ranks(raw, nan)
            return ranks, raw.astype(object) if kind in 'iu' else raw
    finite = np.isfinite(v) | np.isnan(v)
    with np.errstate(over='ignore', invalid='ignore'):
        span = np.nanmax(v) - np.nanmin(v) if (~np.isnan(v)).any() else 0.0
    if not finite.all() or not np.isfinite(span):
        return _dense_ranks(v, np.isnan(v)), v
    return v, v


def _validate_full(pred: Any, truth: Any, nan_policy: str = 'raise', names: tuple[str, str] = ('pred', 'truth')
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pred order, truth order, truth values)`` (see :func:`_ordinal`), checked: equal
    lengths, NaN by ``nan_policy``, finite truth, at least two items."""
    pname, tname = names
    (p, _), (t, tv) = _ordinal(pred, pname), _ordinal(truth, tname)
    if p.shape != t.shape:
        raise ValueError(f'{pname} and {tname} must have equal lengths, got {p.size} and {t.size}')
    if nan_policy not in ('raise', 'omit'):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {short_repr(nan_policy)}")
    p_nan, t_nan = np.isnan(p), np.isnan(t)
    if nan_policy == 'omit':
        keep = ~(p_nan | t_nan)
        p, t, tv = p[keep], t[keep], tv[keep]
    else:
        for name, mask in ((pname, p_nan), (tname, t_nan)):
            if mask.any():
                raise ValueError(f'{name} holds {int(mask.sum())} NaN value(s) (first at position '
                                 f"{int(np.argmax(mask))}); drop them or pass nan_policy='omit'")
    t_inf = (np.isinf(tv) if tv.dtype.kind == 'f'
             else np.fromiter((abs(e) == float('inf') for e in tv), dtype=bool, count=tv.size))
    if t_inf.any():
        raise ValueError(f'{tname} holds {int(t_inf.sum())} infinite value(s) (first at position '
                         f'{int(np.argmax(t_inf))})')
    if p.size < 2:
        raise ValueError(f'ranking metrics need at least 2 items, got {p.size}')
    return p, t, tv


def _validate(pred: Any, truth: Any, nan_policy: str = 'raise', names: tuple[str, str] = ('pred', 'truth')
              ) -> tuple[np.ndarray, np.ndarray]:
    """Order-exact ``(pred, truth)`` for rank metrics (see :func:`_validate_full`)."""
    p, t, _ = _validate_full(pred, truth, nan_policy, names)
    return p, t


def _resolve_k(k: K, n: int) -> int:
    """Number of items for ``k``: an int count, or a float in (0, 1) meaning a fraction of n."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f'k must be an int >= 1 or a fraction in (0, 1), got {short_repr(k)}')
    if isinstance(k, (int, np.integer)):
        kk = int(k)
    elif isinstance(k, (float, np.floating)) and 0 < k < 1:
        kk = max(1, int(round(float(k) * n)))
    elif isinstance(k, (float, np.floating)) and float(k).is_integer():
        kk = int(k)
    else:
        raise ValueError(f'k must be an int >= 1 or a fraction in (0, 1), got {short_repr(k)}')
    if not 1 <= kk <= n:
        raise ValueError(f'k={short_repr(k)} needs 1 <= k <= n items, but there are {n}')
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
    """``t`` holds truth *values* (float64, or Python numbers / long doubles where float64
    could not hold them: see :func:`_ordinal`); ``p`` the prediction order."""
    chosen = p == p.max()
    if t.dtype == np.float64:
        with np.errstate(over='ignore', invalid='ignore'):
            r = float(t.max() - t[chosen].mean())
            if not np.isfinite(r):  # the mean overflowed: average the gaps instead
                gaps = t.max() - t[chosen]
                r = float(np.sum(gaps / gaps.size))
    else:  # exact arithmetic on the values themselves, one rounding at the end
        best = max(t)
        total = sum((best - v for v in t[chosen]), start=0 * best)
        try:
            with np.errstate(over='ignore'):
                r = float(fractions.Fraction(total, int(chosen.sum())) if isinstance(total, numbers.Integral)
                          else total / int(chosen.sum()))
        except OverflowError:
            r = float('inf')
    if not np.isfinite(r):
        raise ValueError('truth: the regret (best truth minus the truth of the predicted best) lies beyond '
                         'the float64 range (about 1.8e308); rescale truth')
    return r


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
    p, _, tv = _validate_full(pred, truth)
    return _regret(p, tv)


def rank_metrics(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray,
                 ks: Iterable[K] = (10,), nan_policy: str = 'raise') -> dict[str, float]:
    """All metrics at once: ``n``, ``kendall_tau``, ``spearman``, ``topk_precision@<k>`` per k
    (``@5%`` for a fraction), ``regret``. ``nan_policy='omit'`` drops pairs with a NaN
    (e.g. a proxy undefined on degenerate cells); ``n`` says how many remained."""
    p, t, tv = _validate_full(pred, truth, nan_policy)
    out: dict[str, float] = {'n': float(p.size), 'kendall_tau': _kendall(p, t), 'spearman': _spearman(p, t)}
    for k in ks:
        out[f'topk_precision@{_k_label(k)}'] = _topk(p, t, _resolve_k(k, p.size))
    out['regret'] = _regret(p, tv)
    return out


# ---------------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------------
def random_baseline(truth: Sequence[float] | np.ndarray, n_repeats: int = 100, random_state: int | None = 0,
                    ks: Iterable[K] = (10,)) -> dict[str, float]:
    """Metrics of uniformly random scores: ``<metric>`` is the mean over ``n_repeats`` draws and
    ``<metric>_std`` the standard deviation (``n`` and ``n_repeats`` as given)."""
    _, _, t = _validate_full(truth, truth, names=('truth', 'truth'))
    if int(n_repeats) < 1:
        raise ValueError(f'n_repeats must be >= 1, got {n_repeats}')
    ks = tuple(ks)
    rng = _rng(random_state)
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
        _, _, t = _validate_full(truth, truth, nan_policy, names=('truth', 'truth'))
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
                  truth: Sequence[float] | np.ndarray | None = None, space: Any = None) -> pd.DataFrame:
    """Which operations a predictor rewards, beside which the ground truth rewards.

    For every operation of the space (NB201: the 5 edge ops), the Kendall tau (tau-b) between how
    many of a cell's op slots carry it (``space.op_counts``) and the cell's predicted score
    (``tau_pred``) and, given ``truth``, its true accuracy (``tau_truth``) and
    ``gap = tau_pred - tau_truth``. A negative ranking tau usually shows here first: a briefly
    trained supernet rewards parameter-free ops (skip, pooling) that the fully trained networks
    of the benchmark punish. Index ``op``; ``mean_count`` is the op's average count per cell. NaN
    where the count is constant over the cells. ``space`` defaults to the architectures' own
    (strings are read as NB201 cells).
    """
    archs = list(archs)
    if space is None:
        space = space_of(archs[0]) if archs and not isinstance(archs[0], str) else get_space('nb201')
    space = get_space(space)
    archs = [space.check(a, 'archs') for a in archs]
    p = _numeric(pred, 'pred')
    if len(p) != len(archs):
        raise ValueError(f'pred has {len(p)} values for {len(archs)} architectures')
    p, t = _validate(p, p if truth is None else truth)  # NaN and length checks, also for pred alone
    ops = space.ops()
    counts = np.array([list(space.op_counts(a).values()) for a in archs], dtype=np.float64)
    rows = []
    for i, op in enumerate(ops):
        c = counts[:, i]
        row = dict(op=op, mean_count=float(c.mean()), tau_pred=_kendall(c, p))
        if truth is not None:
            row['tau_truth'] = _kendall(c, t)
            row['gap'] = row['tau_pred'] - row['tau_truth']
        rows.append(row)
    return pd.DataFrame(rows).set_index('op')


# ---------------------------------------------------------------------------------------------
# Uncertainty: estimates with confidence intervals (plain data)
# ---------------------------------------------------------------------------------------------
def _json_float(x: Any) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else x


def _level_label(level: float) -> str:
    return f'{float(level) * 100:g}%'


@dataclass(frozen=True)
class Estimate:
    """A number with its confidence interval: ``estimate`` in ``[low, high]`` at ``level``,
    measured on ``n`` items (cells, or seeds for :func:`seed_summary`). ``method`` says how the
    interval was made (e.g. ``'bootstrap BCa, 2000 resamples'``). NaN bounds mean no interval.

    ``str(e)`` reads ``0.13 [95% CI -0.01, 0.25], n=120``; ``format(e, '.3f')`` sets the digits.
    """

    estimate: float
    low: float
    high: float
    n: int
    level: float = 0.95
    method: str = ''

    def __post_init__(self) -> None:
        if not 0 < float(self.level) < 1:
            raise ValueError(f'level must lie in (0, 1), got {self.level!r}')
        if int(self.n) < 0:
            raise ValueError(f'n must be >= 0, got {self.n!r}')
        lo, hi = float(self.low), float(self.high)
        if np.isfinite(lo) and np.isfinite(hi) and lo > hi:
            raise ValueError(f'low ({lo}) must not exceed high ({hi})')
        for name in ('estimate', 'low', 'high'):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, 'n', int(self.n))
        object.__setattr__(self, 'level', float(self.level))

    @property
    def has_interval(self) -> bool:
        """True when both bounds are finite numbers."""
        return bool(np.isfinite(self.low) and np.isfinite(self.high))

    @property
    def width(self) -> float:
        return self.high - self.low

    def covers(self, value: float) -> bool:
        """``low <= value <= high``; False when there is no interval."""
        return self.has_interval and self.low <= float(value) <= self.high

    @property
    def excludes_zero(self) -> bool:
        """The interval exists and lies entirely above or entirely below zero."""
        return self.has_interval and not self.covers(0.0)

    def below(self, other: 'Estimate') -> bool:
        """This interval lies entirely below ``other``'s (both must exist)."""
        return self.has_interval and other.has_interval and self.high < other.low

    def above(self, other: 'Estimate') -> bool:
        """This interval lies entirely above ``other``'s (both must exist)."""
        return self.has_interval and other.has_interval and self.low > other.high

    def to_dict(self) -> dict[str, float | int | None]:
        """``{"estimate", "low", "high", "n", "level"}``, JSON-safe (NaN and inf -> None)."""
        return {'estimate': _json_float(self.estimate), 'low': _json_float(self.low),
                'high': _json_float(self.high), 'n': int(self.n), 'level': float(self.level)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> 'Estimate':
        """Inverse of :meth:`to_dict` (None -> NaN; extra keys such as ``method`` are kept)."""
        missing = [k for k in ('estimate', 'low', 'high', 'n') if k not in d]
        if missing:
            raise ValueError(f'd is not an Estimate dict, missing key(s) {missing}')
        nan = float('nan')
        val = {k: nan if d[k] is None else float(d[k]) for k in ('estimate', 'low', 'high')}
        return cls(**val, n=int(d['n']), level=float(d.get('level', 0.95)), method=str(d.get('method', '')))

    def __format__(self, spec: str) -> str:
        spec = spec or '.2f'
        if not self.has_interval:
            return f'{self.estimate:{spec}} [no CI], n={self.n}'
        return f'{self.estimate:{spec}} [{_level_label(self.level)} CI {self.low:{spec}}, {self.high:{spec}}], n={self.n}'

    def __str__(self) -> str:
        return format(self, '.2f')


# ---------------------------------------------------------------------------------------------
# Metrics over many rows at once (rows = bootstrap resamples, random draws or permutations)
# ---------------------------------------------------------------------------------------------
#: largest n for which Kendall tau is computed with n x n sign matrices (else a loop over rows)
_DENSE_MAX_N = 1500
#: elements per chunk of the dense computations (bounds memory to a few hundred MB at most)
_CHUNK_ELEMENTS = 8_000_000


def _parse_metric(metric: str) -> tuple[str, str | None]:
    """``'kendall_tau'`` | ``'spearman'`` | ``'topk_precision@<k>'`` -> (kind, k label)."""
    if not isinstance(metric, str):
        raise ValueError(f'metric must be a string, got {type(metric).__name__}')
    if metric in ('kendall_tau', 'spearman'):
        return metric, None
    if metric.startswith('topk_precision@'):
        label = metric.split('@', 1)[1]
        if label:
            return 'topk', label
    raise ValueError(f"unknown metric {short_repr(metric)}: expected 'kendall_tau', 'spearman' or "
                     "'topk_precision@<k>' (e.g. 'topk_precision@10' or 'topk_precision@5%')")


def _k_from_label(label: str, n: int) -> int:
    """Item count of a top-k label as written by :func:`_k_label` (``'10'`` or ``'5%'``)."""
    try:
        k: K = float(label[:-1]) / 100 if label.endswith('%') else int(label)
    except ValueError:
        raise ValueError(f'metric: bad top-k label {short_repr(label)}; expected an int or a percentage') from None
    return _resolve_k(k, n)


def _kendall_rows(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Kendall tau-b of each row of ``P`` against the same row of ``T`` (or against ``T`` when
    it is 1-D); NaN for a row where either side is constant."""
    P = np.atleast_2d(P)
    m = P.shape[1]
    fixed = T.ndim == 1
    out = np.full(P.shape[0], np.nan)
    if m > _DENSE_MAX_N:
        for i in range(P.shape[0]):
            out[i] = _kendall(P[i], T if fixed else T[i])
        return out
    if fixed:
        st = np.sign(T[:, None] - T[None, :])
        dt_fixed = np.abs(st).sum()
    step = max(1, _CHUNK_ELEMENTS // (m * m))
    for s in range(0, P.shape[0], step):
        sp = np.sign(P[s:s + step, :, None] - P[s:s + step, None, :])
        if fixed:
            num = np.einsum('bij,ij->b', sp, st)
            dt = np.full(sp.shape[0], dt_fixed)
        else:
            stc = np.sign(T[s:s + step, :, None] - T[s:s + step, None, :])
            num = np.einsum('bij,bij->b', sp, stc)
            dt = np.abs(stc).sum(axis=(1, 2))
        dp = np.abs(sp).sum(axis=(1, 2))
        with np.errstate(invalid='ignore', divide='ignore'):
            out[s:s + step] = np.where((dp > 0) & (dt > 0), num / np.sqrt(dp * dt), np.nan)
    return out


def _spearman_rows(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Spearman (Pearson of average ranks) of each row of ``P`` against ``T`` (row-wise or fixed)."""
    rp = stats.rankdata(np.atleast_2d(P), axis=-1)
    rt = stats.rankdata(T, axis=-1)
    rp -= rp.mean(axis=-1, keepdims=True)
    rt = rt - rt.mean(axis=-1, keepdims=True)
    num = (rp * rt).sum(axis=-1)
    den = np.sqrt((rp * rp).sum(axis=-1) * (rt * rt).sum(axis=-1))
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _topk_rows(P: np.ndarray, T: np.ndarray, kk: int) -> np.ndarray:
    """:func:`_topk` for each row of ``P`` against ``T`` (row-wise or fixed), ties in expectation."""
    P = np.atleast_2d(P)
    T = np.broadcast_to(T, P.shape)
    m = P.shape[1]
    t_thr = np.partition(T, m - kk, axis=1)[:, m - kk]
    good = T >= t_thr[:, None]
    p_thr = np.partition(P, m - kk, axis=1)[:, m - kk]
    above, tied = P > p_thr[:, None], P == p_thr[:, None]
    n_from_tied = kk - above.sum(axis=1)
    return ((good & above).sum(axis=1) + n_from_tied * (good & tied).sum(axis=1) / tied.sum(axis=1)) / kk


class _PairedStat:
    """One metric of (``pred``, ``truth``) evaluated on resamples given as index arrays.

    Kendall tau on a resample with item multiplicities ``c`` is
    ``c'(Sp*St)c / sqrt(c'|Sp|c * c'|St|c)`` with ``Sp``/``St`` the pairwise sign matrices
    (copies of one item tie on both sides and drop out, as in tau-b): one matrix product per
    batch of resamples instead of one sort per resample.
    """

    def __init__(self, metric: str, pred: np.ndarray, truth: np.ndarray) -> None:
        self.kind, label = _parse_metric(metric)
        self.p, self.t = pred, truth
        n = pred.size
        self.kk = _k_from_label(label, n) if self.kind == 'topk' else 0
        self.dense = self.kind == 'kendall_tau' and n <= _DENSE_MAX_N
        if self.dense:
            sp = np.sign(pred[:, None] - pred[None, :])
            st = np.sign(truth[:, None] - truth[None, :])
            self.mats = np.concatenate([sp * st, np.abs(sp), np.abs(st)], axis=1)  # n x 3n

    def value(self) -> float:
        return float(self(np.arange(self.p.size))[()])

    def __call__(self, idx: np.ndarray, axis: int = -1) -> np.ndarray:
        """The metric on each resample ``idx[..., :]`` (item indices; ``axis`` for scipy, always -1)."""
        idx = np.asarray(idx)
        lead, m = idx.shape[:-1], idx.shape[-1]
        rows = idx.reshape(-1, m)
        if self.dense:
            out = self._kendall_counts(rows)
        elif self.kind == 'kendall_tau':
            out = _kendall_rows(self.p[rows], self.t[rows])
        elif self.kind == 'spearman':
            out = _spearman_rows(self.p[rows], self.t[rows])
        else:
            out = _topk_rows(self.p[rows], self.t[rows], min(self.kk, m))
        return out.reshape(lead)

    def _kendall_counts(self, rows: np.ndarray) -> np.ndarray:
        n, b = self.p.size, rows.shape[0]
        counts = np.bincount((rows + n * np.arange(b)[:, None]).ravel(), minlength=b * n)
        counts = counts.reshape(b, n).astype(np.float64)
        q = counts @ self.mats
        num = np.einsum('bi,bi->b', q[:, :n], counts)
        dp = np.einsum('bi,bi->b', q[:, n:2 * n], counts)
        dt = np.einsum('bi,bi->b', q[:, 2 * n:], counts)
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where((dp > 0) & (dt > 0), num / np.sqrt(dp * dt), np.nan)


def _rng(random_state: Any) -> np.random.Generator:
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError):
        raise ValueError(f'random_state must be None, a non-negative int or a numpy Generator, '
                         f'got {short_repr(random_state)}') from None


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        raise ValueError(f'level must be a number in (0, 1), got {short_repr(level)}')
    return float(level)


def _check_resamples(n_resamples: int) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 100:
        raise ValueError(f'n_resamples must be an int >= 100, got {short_repr(n_resamples)}')
    return int(n_resamples)


#: interval methods of :func:`_bootstrap_ci` ('BCa' falls back to 'percentile' when degenerate)
CI_METHODS = ('percentile', 'BCa')


def _bootstrap_ci(stat: Any, n: int, level: float, n_resamples: int, random_state: Any,
                  method: str) -> tuple[float, float, str, np.ndarray]:
    """Bootstrap over the ``n`` items with ``scipy.stats.bootstrap`` (one sample of indices, so
    every statistic sees paired rows). Returns ``(low, high, method used, distribution)``."""
    if method not in CI_METHODS:
        raise ValueError(f'method must be one of {CI_METHODS}, got {short_repr(method)}')
    batch = max(1, _CHUNK_ELEMENTS // max(n, 1) // 4)
    kw = dict(vectorized=True, batch=batch, confidence_level=level, axis=-1)
    used = method
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # degenerate resamples are handled below
        res = stats.bootstrap((np.arange(n),), stat, n_resamples=n_resamples, method=method,
                              rng=_rng(random_state), **kw)
        low, high = res.confidence_interval
        if method == 'BCa' and not (np.isfinite(low) and np.isfinite(high)):
            # BCa fails on a degenerate jackknife (e.g. constant statistic): reuse the resamples
            res = stats.bootstrap((np.arange(n),), stat, n_resamples=0, method='percentile',
                                  bootstrap_result=res, rng=np.random.default_rng(random_state), **kw)
            low, high = res.confidence_interval
            used = 'percentile (BCa degenerate)'
    dist = np.asarray(res.bootstrap_distribution, dtype=np.float64)
    if not (np.isfinite(low) and np.isfinite(high)):
        finite = dist[np.isfinite(dist)]
        if finite.size >= 0.9 * dist.size:  # a few undefined resamples (constant side): drop them
            alpha = (1 - level) / 2
            low, high = np.quantile(finite, [alpha, 1 - alpha])
            used = f'percentile over {finite.size} defined resamples'
    return float(low), float(high), f'bootstrap {used}, {n_resamples} resamples', dist


def metric_ci(metric: str, pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray,
              level: float = 0.95, n_resamples: int = 2000, random_state: int | None = 0,
              method: str = 'percentile', nan_policy: str = 'raise') -> Estimate:
    """Bootstrap confidence interval of one ranking metric, resampling architectures.

    ``metric`` is a column name of :func:`rank_metrics`: ``'kendall_tau'``, ``'spearman'`` or
    ``'topk_precision@<k>'`` (``@10``, ``@5%``). Rows (pred, truth) are resampled together
    (paired), ``n_resamples`` times, seeded by ``random_state``. ``method='percentile'``
    (default) or ``'BCa'`` (falls back to percentile when degenerate). Measured coverage of
    the 95% interval of Kendall tau, bivariate normal data, 300 samples per cell of the grid
    n = 30, 60, 120, 200 x rho = 0, 0.3, 0.6, 0.85: percentile 0.91-0.96, BCa 0.92-0.97; BCa is
    no closer to 0.95 and needs a jackknife (n extra evaluations), hence the default.
    The estimate is the metric on the data as given. Kendall tau is exact tau-b on every
    resample; up to 1,500 items it costs one matrix product per batch (200 items, 2,000
    resamples: well under 0.1 s), above that one O(n log n) call per resample (the 15,625
    NAS-Bench-201 cells: a few ms each, so prefer ``n_resamples=500`` there).
    """
    level, n_resamples = _check_level(level), _check_resamples(n_resamples)
    p, t = _validate(pred, truth, nan_policy)
    stat = _PairedStat(metric, p, t)
    low, high, used, _ = _bootstrap_ci(stat, p.size, level, n_resamples, random_state, method)
    return Estimate(stat.value(), low, high, p.size, level, used)


def kendall_ci(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray, level: float = 0.95,
               n_resamples: int = 2000, random_state: int | None = 0, **kw: Any) -> Estimate:
    """Kendall tau-b with a paired bootstrap CI over architectures (see :func:`metric_ci`)."""
    return metric_ci('kendall_tau', pred, truth, level, n_resamples, random_state, **kw)


def spearman_ci(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray, level: float = 0.95,
                n_resamples: int = 2000, random_state: int | None = 0, **kw: Any) -> Estimate:
    """Spearman correlation with a paired bootstrap CI over architectures (see :func:`metric_ci`)."""
    return metric_ci('spearman', pred, truth, level, n_resamples, random_state, **kw)


def topk_precision_ci(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray, k: K,
                      level: float = 0.95, n_resamples: int = 2000, random_state: int | None = 0,
                      **kw: Any) -> Estimate:
    """Top-k precision with a paired bootstrap CI (k fixed as a count of the given n items;
    resampled duplicates tie, broken in expectation as in :func:`topk_precision`)."""
    p = _numeric(pred, 'pred')
    _resolve_k(k, p.size)  # ValueError naming k before anything else
    return metric_ci(f'topk_precision@{_k_label(k)}', p, truth, level, n_resamples, random_state, **kw)


# ---------------------------------------------------------------------------------------------
# Comparing two rankings on the same cells
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairedDifference:
    """``metric(a) - metric(b)`` on the same cells: ``diff`` with its paired-bootstrap CI,
    ``p_value`` (two-sided, of no difference), and each side's own estimate ``a`` and ``b``."""

    metric: str
    diff: Estimate
    p_value: float
    a: Estimate
    b: Estimate
    test: str = 'bootstrap'

    @property
    def significant(self) -> bool:
        """The difference's CI excludes zero."""
        return self.diff.excludes_zero

    def to_dict(self) -> dict[str, Any]:
        return {'metric': self.metric, 'diff': self.diff.to_dict(), 'p_value': _json_float(self.p_value),
                'a': self.a.to_dict(), 'b': self.b.to_dict(), 'test': self.test}


def _bootstrap_p(dist: np.ndarray) -> float:
    """Two-sided bootstrap p-value of 'no difference': twice the smaller share of resampled
    differences on either side of zero (the level at which the percentile CI touches 0)."""
    d = dist[np.isfinite(dist)]
    if d.size == 0:
        return float('nan')
    below, above = (d <= 0).sum(), (d >= 0).sum()
    return float(min(1.0, 2 * (1 + min(below, above)) / (d.size + 1)))


def _rows_metric(metric: str, P: np.ndarray, t: np.ndarray) -> np.ndarray:
    kind, label = _parse_metric(metric)
    if kind == 'kendall_tau':
        return _kendall_rows(P, t)
    if kind == 'spearman':
        return _spearman_rows(P, t)
    return _topk_rows(P, t, _k_from_label(label, t.size))


def _permutation_p(metric: str, a: np.ndarray, b: np.ndarray, t: np.ndarray, n_resamples: int,
                   random_state: Any) -> float:
    """``scipy.stats.permutation_test`` swapping a and b within each cell. Both predictors are
    turned into ranks first: only their order matters, and a swap needs a common scale."""
    ra, rb = stats.rankdata(a), stats.rankdata(b)

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        x2, y2 = np.atleast_2d(x), np.atleast_2d(y)
        out = _rows_metric(metric, x2, t) - _rows_metric(metric, y2, t)
        return out.reshape(np.shape(x)[:-1])

    res = stats.permutation_test((ra, rb), statistic, permutation_type='samples', vectorized=True,
                                 n_resamples=n_resamples, rng=np.random.default_rng(random_state),
                                 batch=max(1, _CHUNK_ELEMENTS // (t.size * t.size) if t.size <= _DENSE_MAX_N else 1))
    return float(res.pvalue)


def paired_difference(pred_a: Sequence[float] | np.ndarray, pred_b: Sequence[float] | np.ndarray,
                      truth: Sequence[float] | np.ndarray, metric: str = 'kendall_tau', level: float = 0.95,
                      n_resamples: int = 2000, random_state: int | None = 0, method: str = 'percentile',
                      test: str = 'bootstrap') -> PairedDifference:
    """Is ranking ``a`` better than ranking ``b`` on the same cells?

    Paired bootstrap over cells of ``metric(a) - metric(b)`` (each resample scores both on the
    same cells), with its CI. ``test='bootstrap'`` (default) takes the p-value from the same
    resamples, so ``p < 1 - level`` agrees with the percentile CI excluding zero;
    ``test='permutation'`` uses ``scipy.stats.permutation_test`` swapping a's and b's ranks
    within each cell (null: the two predictors are exchangeable), ``n_resamples`` permutations.
    """
    level, n_resamples = _check_level(level), _check_resamples(n_resamples)
    if test not in ('bootstrap', 'permutation'):
        raise ValueError(f"test must be 'bootstrap' or 'permutation', got {short_repr(test)}")
    na, nb = _numeric(pred_a, 'pred_a').size, _numeric(pred_b, 'pred_b').size
    if na != nb:
        raise ValueError(f'pred_a and pred_b must have equal lengths, got {na} and {nb}')
    a, t = _validate(pred_a, truth, names=('pred_a', 'truth'))
    b, _ = _validate(pred_b, truth, names=('pred_b', 'truth'))
    sa, sb = _PairedStat(metric, a, t), _PairedStat(metric, b, t)

    def stat(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        return sa(idx) - sb(idx)

    low, high, used, dist = _bootstrap_ci(stat, a.size, level, n_resamples, random_state, method)
    diff = Estimate(sa.value() - sb.value(), low, high, a.size, level, used)
    one = dict(level=level, n_resamples=n_resamples, random_state=random_state, method=method)
    est_a, est_b = metric_ci(metric, a, t, **one), metric_ci(metric, b, t, **one)
    if test == 'bootstrap':
        p = _bootstrap_p(dist)
    else:
        p = _permutation_p(metric, a, b, t, n_resamples, random_state)
    return PairedDifference(metric, diff, p, est_a, est_b, test)


# ---------------------------------------------------------------------------------------------
# Several seeds
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedSummary:
    """Mean over seeds with its standard error (``se = std / sqrt(n)``), the standard deviation
    between seeds, a t-based CI (``ci``), and the per-seed ``values``."""

    mean: float
    se: float
    std: float
    n: int
    ci: Estimate
    values: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {'mean': _json_float(self.mean), 'se': _json_float(self.se), 'std': _json_float(self.std),
                'n': int(self.n), 'ci': self.ci.to_dict(), 'values': [_json_float(v) for v in self.values]}

    def __format__(self, spec: str) -> str:
        spec = spec or '.3f'
        if self.n < 2:
            return f'{self.mean:{spec}} (one seed: no SE)'
        return f'{self.mean:{spec}} ± {self.se:{spec}} (mean ± SE over {self.n} seeds; std {self.std:{spec}})'

    def __str__(self) -> str:
        return format(self, '.3f')


def seed_summary(values: Sequence[float] | np.ndarray, level: float = 0.95) -> SeedSummary:
    """Mean of one number over seeds, with SE, std (ddof=1) and a Student-t CI (n-1 dof).

    With one seed the SE, std and CI are NaN (nothing says how much seeds vary)."""
    level = _check_level(level)
    v = _as_vector(values, 'values')
    if v.size == 0:
        raise ValueError('values must hold at least one number')
    if not np.isfinite(v).all():
        raise ValueError(f'values must be finite, got {short_repr(v.tolist())}')
    with np.errstate(over='ignore', invalid='ignore'):
        mean = float(v.mean())
        spread = float(v.std(ddof=1)) if v.size > 1 else 0.0
        if not (np.isfinite(mean) and np.isfinite(spread)):  # sums overflowed: scale down first
            scale = float(np.abs(v).max())
            mean = scale * float((v / scale).mean())
            spread = scale * float((v / scale).std(ddof=1)) if v.size > 1 else 0.0
    if not (np.isfinite(mean) and np.isfinite(spread)):
        raise ValueError('values: their mean or spread lies beyond the float64 range (about 1.8e308); '
                         'rescale them')
    nan = float('nan')
    if v.size < 2:
        ci = Estimate(mean, nan, nan, 1, level, 't, SE over seeds (one seed: none)')
        return SeedSummary(mean, nan, nan, 1, ci, (mean,))
    std = spread
    se = std / np.sqrt(v.size)
    with np.errstate(over='ignore'):
        half = float(stats.t.ppf((1 + level) / 2, v.size - 1)) * se
        if not (np.isfinite(mean - half) and np.isfinite(mean + half)):
            raise ValueError(f'values: the {_level_label(level)} interval of their mean lies beyond the '
                             'float64 range (about 1.8e308); rescale them')
    ci = Estimate(mean, mean - half, mean + half, v.size, level, 't, SE over seeds')
    return SeedSummary(mean, float(se), std, int(v.size), ci, tuple(float(x) for x in v))


def _metric_value(metric: str, pred: Any, truth: Any, name: str) -> float:
    p, t = _validate(pred, truth, names=(name, 'truth'))
    return _PairedStat(metric, p, t).value()


def paired_seed_difference(scores_a: Sequence[Sequence[float] | np.ndarray],
                           scores_b: Sequence[Sequence[float] | np.ndarray],
                           truth: Sequence[float] | np.ndarray | Sequence[Sequence[float] | np.ndarray],
                           metric: str = 'kendall_tau', level: float = 0.95) -> SeedSummary:
    """Method-vs-reference difference over seeds: for each seed s,
    ``d_s = metric(scores_a[s], truth_s) - metric(scores_b[s], truth_s)`` on the same cells,
    then :func:`seed_summary` of the ``d_s`` (mean, SE over seeds, t CI; ``values`` = the d_s).

    ``truth`` is one array shared by all seeds or a list with one array per seed. Pairing by
    seed and by cell removes what both methods share (the cells drawn, the seed's data order),
    so this SE is usually smaller than combining the two methods' separate SEs. The cells are
    held fixed: the SE is over training seeds, not over draws of cells.
    """
    if len(scores_a) != len(scores_b):
        raise ValueError(f'scores_a and scores_b must hold one array per seed each, got {len(scores_a)} '
                         f'and {len(scores_b)}')
    if len(scores_a) == 0:
        raise ValueError('scores_a must hold at least one seed')
    per_seed = isinstance(truth, (list, tuple)) and len(truth) > 0 and np.ndim(truth[0]) == 1
    if per_seed and len(truth) != len(scores_a):
        raise ValueError(f'truth holds {len(truth)} arrays for {len(scores_a)} seeds')
    _parse_metric(metric)
    diffs = []
    for s, (a, b) in enumerate(zip(scores_a, scores_b)):
        t = truth[s] if per_seed else truth
        diffs.append(_metric_value(metric, a, t, f'scores_a[{s}]') - _metric_value(metric, b, t, f'scores_b[{s}]'))
    if not np.isfinite(diffs).all():
        raise ValueError(f'{metric} is undefined (constant scores) for some seed: differences {diffs}')
    return seed_summary(diffs, level)


# ---------------------------------------------------------------------------------------------
# Tables with intervals
# ---------------------------------------------------------------------------------------------
#: columns of every long CI table
CI_COLUMNS = ['method', 'metric', 'estimate', 'low', 'high', 'n', 'level', 'ci_method']


def ci_metrics(ks: Iterable[K] = (10,)) -> list[str]:
    """Metric names that carry a CI: Kendall, Spearman, top-k per k (regret has none: a max
    statistic is not bootstrapped reliably)."""
    return ['kendall_tau', 'spearman'] + [f'topk_precision@{_k_label(k)}' for k in ks]


def _ci_row(method: str, metric: str, est: Estimate) -> dict[str, Any]:
    return dict(method=method, metric=metric, estimate=est.estimate, low=est.low, high=est.high, n=est.n,
                level=est.level, ci_method=est.method)


def ranking_table_ci(scores: Mapping[str, Sequence[float] | np.ndarray], truth: Sequence[float] | np.ndarray,
                     ks: Iterable[K] = (10,), level: float = 0.95, n_resamples: int = 2000,
                     random_state: int | None = 0, method: str = 'percentile',
                     nan_policy: str = 'raise') -> pd.DataFrame:
    """Long table of metrics with bootstrap CIs: one row per (method, metric), columns
    ``method, metric, estimate, low, high, n, level, ci_method`` (see :data:`CI_COLUMNS`).
    Every metric of every method uses the same seed. :func:`ci_wide` pivots it."""
    if not scores:
        raise ValueError('ranking_table_ci needs at least one method in scores')
    ks = tuple(ks)
    rows = []
    for name, s in scores.items():
        p, t = _validate(s, truth, nan_policy, names=(f'scores[{short_repr(name)}]', 'truth'))
        for m in ci_metrics(ks):
            est = metric_ci(m, p, t, level=level, n_resamples=n_resamples, random_state=random_state,
                            method=method)
            rows.append(_ci_row(name, m, est))
    return pd.DataFrame(rows, columns=CI_COLUMNS)


def ci_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Pivot a long CI table to one row per method (index ``method``, in first-seen order):
    ``n``, ``kind`` when present, then ``<metric>``, ``<metric>_low``, ``<metric>_high``."""
    missing = [c for c in ('method', 'metric', 'estimate', 'low', 'high', 'n') if c not in long.columns]
    if missing:
        raise ValueError(f'long must be a long CI table, missing column(s) {missing}')
    order = list(dict.fromkeys(long['method']))
    out = pd.DataFrame(index=pd.Index(order, name='method'))
    if 'kind' in long.columns:
        out['kind'] = long.groupby('method', sort=False)['kind'].first()
    out['n'] = long.groupby('method', sort=False)['n'].max().astype(int)
    for m in dict.fromkeys(long['metric']):
        sub = long[long['metric'] == m].set_index('method')
        out[m] = sub['estimate']
        out[f'{m}_low'] = sub['low']
        out[f'{m}_high'] = sub['high']
    return out


def table_estimates(long: pd.DataFrame, metric: str = 'kendall_tau') -> dict[str, Estimate]:
    """``{method: Estimate}`` of one metric from a long CI table (for :mod:`nasviz.analysis.findings`)."""
    if 'metric' not in long.columns:
        raise ValueError('long must be a long CI table with a metric column')
    sub = long[long['metric'] == metric]
    if sub.empty:
        raise ValueError(f'metric {metric!r} not in the table; it has {sorted(set(long["metric"]))}')
    return {r.method: Estimate(r.estimate, r.low, r.high, int(r.n), float(getattr(r, 'level', 0.95)),
                               str(getattr(r, 'ci_method', ''))) for r in sub.itertuples(index=False)}


# ---------------------------------------------------------------------------------------------
# Baselines with intervals
# ---------------------------------------------------------------------------------------------
def random_null(truth: Sequence[float] | np.ndarray, metric: str = 'kendall_tau', n_draws: int = 1000,
                level: float = 0.95, random_state: int | None = 0) -> Estimate:
    """What random scores reach: the metric of ``n_draws`` uniformly random score vectors
    against ``truth``. ``estimate`` is their mean, ``low``/``high`` the central ``level`` range
    of that null distribution (not a CI of a mean: the spread one random ranking shows)."""
    level = _check_level(level)
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 20:
        raise ValueError(f'n_draws must be an int >= 20, got {short_repr(n_draws)}')
    t, _ = _validate(truth, truth, names=('truth', 'truth'))
    _parse_metric(metric)
    rng = _rng(random_state)
    vals = np.concatenate([_rows_metric(metric, rng.random((c, t.size)), t)
                           for c in np.diff(np.r_[0:n_draws:200, n_draws])])
    alpha = (1 - level) / 2
    low, high = np.nanquantile(vals, [alpha, 1 - alpha])
    return Estimate(float(np.nanmean(vals)), float(low), float(high), t.size, level,
                    f'null distribution of {n_draws} random score draws')


def ceiling_scores(bench: Any, archs: Iterable[Any]) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The ground truth's own reliability as ``(name, pred, truth)``, or None when the bench
    offers none. In order of preference:

    * ``'reliability'``: a bench with ``halves(archs)`` (MicroBench with >= 4 seeds): the
      second half's mean accuracy predicting the first half's;
    * ``'seed-to-seed'``: a bench with 2-3 ``seeds``: the second seed predicting the first;
    * ``'valid-as-predictor'``: an NB201 bench with ``cifar10-valid``/``valid_200ep``: a
      separate training run's validation accuracy predicting the CIFAR-10 test accuracy.
    """
    archs = list(archs)
    if hasattr(bench, 'halves'):
        try:
            first, second = bench.halves(archs)
        except ValueError:  # fewer than 4 seeds: fall through to seed-to-seed
            pass
        else:
            return 'reliability', np.asarray(second, dtype=np.float64), np.asarray(first, dtype=np.float64)
    scores = baseline_scores(bench, archs)
    if 'seed-to-seed' in scores:
        truth = bench.accuracies(archs, metric=f'seed{bench.seeds[0]}')
        return 'seed-to-seed', scores['seed-to-seed'], np.asarray(truth, dtype=np.float64)
    if 'valid-as-predictor' in scores:
        return 'valid-as-predictor', scores['valid-as-predictor'], np.asarray(bench.accuracies(archs),
                                                                               dtype=np.float64)
    return None


def baseline_metrics_ci(bench: Any, archs: Iterable[Any], ks: Iterable[K] = (10,), level: float = 0.95,
                        n_resamples: int = 2000, n_draws: int = 1000, random_state: int | None = 0,
                        dataset: str | None = None, metric: str | None = None,
                        method: str = 'percentile') -> pd.DataFrame:
    """Every trivial baseline with an interval, as a long table (:data:`CI_COLUMNS` plus
    ``kind='baseline'``):

    * ``params``: parameter count, paired bootstrap CI against the bench's truth;
    * ``random-scores``: mean and central ``level`` range of :func:`random_null` (``n_draws``);
    * the ceiling of :func:`ceiling_scores` (``reliability``, ``seed-to-seed`` or
      ``valid-as-predictor``) scored against its own truth, with a bootstrap CI.

    Cells where a baseline is undefined (NaN) are dropped from that baseline only (``n`` says).
    """
    archs = list(archs)
    ks = tuple(ks)
    kw = {k: v for k, v in dict(dataset=dataset, metric=metric).items() if v is not None}
    truth = np.asarray(bench.accuracies(archs, **kw), dtype=np.float64)
    boot = dict(level=level, n_resamples=n_resamples, random_state=random_state, method=method)
    preds = {'params': (baseline_scores(bench, archs)['params'], truth)}
    ceiling = ceiling_scores(bench, archs)
    rows = []
    for name, (pred, t) in preds.items():
        p, tt = _validate(pred, t, 'omit')
        rows += [_ci_row(name, m, metric_ci(m, p, tt, **boot)) for m in ci_metrics(ks)]
    t_ok = truth[~np.isnan(truth)]
    rows += [_ci_row('random-scores', m, random_null(t_ok, m, n_draws, level, random_state)) for m in ci_metrics(ks)]
    if ceiling is not None:
        name, pred, t = ceiling
        p, tt = _validate(pred, t, 'omit')
        rows += [_ci_row(name, m, metric_ci(m, p, tt, **boot)) for m in ci_metrics(ks)]
    df = pd.DataFrame(rows, columns=CI_COLUMNS)
    df.insert(1, 'kind', 'baseline')
    return df


def ranking_with_baselines_ci(scores: Mapping[str, Any], bench: Any, archs: Iterable[Any],
                              ks: Iterable[K] = (10,), level: float = 0.95, n_resamples: int = 2000,
                              n_draws: int = 1000, random_state: int | None = 0,
                              method: str = 'percentile') -> pd.DataFrame:
    """:func:`ranking_table_ci` of each predictor in ``scores`` against ``bench``
    (``kind='method'``) followed by :func:`baseline_metrics_ci` (``kind='baseline'``): one long
    table to draw with error bars or to pass to :func:`ci_wide`."""
    archs = list(archs)
    truth = np.asarray(bench.accuracies(archs), dtype=np.float64)
    methods = ranking_table_ci(scores, truth, ks=ks, level=level, n_resamples=n_resamples,
                               random_state=random_state, method=method)
    methods.insert(1, 'kind', 'method')
    base = baseline_metrics_ci(bench, archs, ks=ks, level=level, n_resamples=n_resamples, n_draws=n_draws,
                               random_state=random_state, method=method)
    return pd.concat([methods, base], ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Ground-truth reliability against its cost
# ---------------------------------------------------------------------------------------------
def reliability_frontier(acc: Any, ks: Iterable[int] = (1, 2, 3, 4, 6, 8), n_sims: int = 200,
                         max_splits: int = 50, random_state: Any = 0) -> pd.DataFrame:
    """Split-half reliability of a ground truth as a function of the seeds averaged per half.

    ``acc`` is a cells x seeds array of one ground truth's accuracies (every cell trained with
    every seed). For each ``k`` in ``ks`` the table gives:

    - ``measured``: the mean Kendall tau between the mean of ``k`` seeds and the mean of ``k``
      other seeds, over the ways of drawing two disjoint ``k``-seed halves from the seeds (at most
      ``max_splits`` of them, drawn at random); NaN where ``2k`` exceeds the seeds there are;
    - ``projected`` (and ``projected_sd`` over ``n_sims`` simulations): the same under a Gaussian
      model fitted to the seeds: cell ``i``'s accuracy with one seed is its true accuracy plus
      noise of cell ``i``'s own seed-to-seed variance; the true accuracies are the cell means
      shrunk towards the grand mean so that their variance is the between-cell variance less the
      noise the means still hold. Where both exist, ``projected`` against ``measured`` checks the
      model.

    ``seeds_total`` (= ``2k``) is the build cost in units of one seed of every cell."""
    a = np.asarray(acc, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 3 or a.shape[1] < 2:
        raise ValueError(f'acc must be a cells x seeds array with >= 3 cells and >= 2 seeds, got shape {a.shape}')
    if not np.isfinite(a).all():
        raise ValueError('acc holds NaN or infinite accuracies; drop cells lacking a seed first')
    ks = [int(k) for k in ks]
    if not ks or any(k < 1 for k in ks):
        raise ValueError(f'ks must be integers >= 1, got {ks!r}')
    n_sims = _check_resamples(n_sims)
    rng = _rng(random_state)
    n_cells, n_seeds = a.shape
    noise_var = a.var(axis=1, ddof=1)  # per cell, one seed's noise
    means = a.mean(axis=1)
    between = means.var(ddof=1)
    true_var = max(between - noise_var.mean() / n_seeds, 0.0)
    shrink = np.sqrt(true_var / between) if between > 0 else 0.0
    truth = means.mean() + (means - means.mean()) * shrink
    rows = []
    for k in ks:
        measured = np.nan
        if 2 * k <= n_seeds:
            taus = []
            for _ in range(max_splits):
                perm = rng.permutation(n_seeds)
                taus.append(_kendall(a[:, perm[:k]].mean(axis=1), a[:, perm[k:2 * k]].mean(axis=1)))
            measured = float(np.mean(taus))
        sd = np.sqrt(noise_var / k)
        sims = [_kendall(truth + rng.standard_normal(n_cells) * sd, truth + rng.standard_normal(n_cells) * sd)
                for _ in range(n_sims)]
        rows.append(dict(k=k, seeds_total=2 * k, measured=measured, projected=float(np.mean(sims)),
                         projected_sd=float(np.std(sims, ddof=1))))
    out = pd.DataFrame(rows)
    out.attrs.update(noise_sd=float(np.sqrt(noise_var.mean())), true_sd=float(np.sqrt(true_var)),
                     n_cells=n_cells, n_seeds=n_seeds)
    return out
