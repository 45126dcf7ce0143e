"""How well do predicted scores rank architectures? Rank correlations, top-k hits and regret
of one predictor (:func:`rank_metrics`), a table of several (:func:`ranking_table`) and what
random scores reach (:func:`random_baseline`), with the input checks every analysis module
shares (:func:`as_numeric`, :func:`as_float_vector`, :func:`check_pair`,
:func:`check_finite_pair`, :func:`resolve_k`, :func:`make_rng`).

Higher is better for both ``pred`` and ``truth`` everywhere (negate a loss before passing it).
Ties are handled without favouring any item: Kendall is tau-b, Spearman uses average ranks,
and top-k precision and regret take the expectation over random tie breaking.
"""

from __future__ import annotations

import decimal
import fractions
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nasviz.validate import short_repr

__all__ = [
    'K',
    'as_numeric',
    'as_float_vector',
    'check_pair',
    'check_finite_pair',
    'resolve_k',
    'k_label',
    'make_rng',
    'tau_b',
    'kendall_tau',
    'spearman',
    'topk_precision',
    'regret',
    'rank_metrics',
    'random_baseline',
    'ranking_table',
]

#: a top-k size: an int count, or a float in (0, 1) for a fraction of the items
K = int | float

# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
#: integers up to this magnitude convert to float64 exactly
_EXACT_INT = 2**53
#: what a score may be (bool and NumPy scalars included; Decimal is not a numbers.Real)
_NUMBER = (numbers.Real, decimal.Decimal)


def as_numeric(x: Any, name: str) -> np.ndarray:
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


def as_float_vector(x: Any, name: str) -> np.ndarray:
    """``x`` as a 1-D float64 vector of its values (for value statistics such as a mean)."""
    raw = as_numeric(x, name)
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
    raw = as_numeric(x, name)
    kind = raw.dtype.kind
    if kind in 'bf' and raw.dtype.itemsize <= 8:
        v = raw.astype(np.float64)
    elif kind in 'iu' and (raw.size == 0 or max(abs(int(raw.max())), abs(int(raw.min()))) <= _EXACT_INT):
        v = raw.astype(np.float64)
    else:  # big integers, Python objects (ints, Fractions, Decimals), long doubles
        if kind == 'O':
            nan = np.fromiter((e != e for e in raw), dtype=bool, count=raw.size)
            raw_inf = np.fromiter(
                (not n and abs(e) == float('inf') for e, n in zip(raw, nan)), dtype=bool, count=raw.size
            )
        else:
            nan = np.isnan(raw) if kind == 'f' else np.zeros(raw.size, dtype=bool)
            raw_inf = np.isinf(raw) if kind == 'f' else np.zeros(raw.size, dtype=bool)
        try:
            with np.errstate(over='ignore'):
                v = raw.astype(np.float64)
        except OverflowError:
            v = None
        exact = False
        if v is not None and bool((np.isinf(v) == raw_inf).all()):
            # float64 must keep every order and tie of the original (finite) values
            r = _dense_ranks(raw, nan | raw_inf)
            fin = np.flatnonzero(~(nan | raw_inf))
            order = fin[np.argsort(r[fin], kind='stable')]
            exact = bool(((np.diff(r[order]) > 0) == (np.diff(v[order]) > 0)).all())
        if not exact:
            ranks = _dense_ranks(raw, nan)
            return ranks, raw.astype(object) if kind in 'iu' else raw
    assert v is not None  # every way here converted raw to float64
    finite = np.isfinite(v) | np.isnan(v)
    with np.errstate(over='ignore', invalid='ignore'):
        span = np.nanmax(v) - np.nanmin(v) if (~np.isnan(v)).any() else 0.0
    if not finite.all() or not np.isfinite(span):
        return _dense_ranks(v, np.isnan(v)), v
    return v, v


def _validate_full(
    pred: Any, truth: Any, nan_policy: str = 'raise', names: tuple[str, str] = ('pred', 'truth')
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
                raise ValueError(
                    f'{name} holds {int(mask.sum())} NaN value(s) (first at position '
                    f"{int(np.argmax(mask))}); drop them or pass nan_policy='omit'"
                )
    t_inf = (
        np.isinf(tv)
        if tv.dtype.kind == 'f'
        else np.fromiter((abs(e) == float('inf') for e in tv), dtype=bool, count=tv.size)
    )
    if t_inf.any():
        raise ValueError(
            f'{tname} holds {int(t_inf.sum())} infinite value(s) (first at position {int(np.argmax(t_inf))})'
        )
    if p.size < 2:
        raise ValueError(f'ranking metrics need at least 2 items, got {p.size}')
    return p, t, tv


def check_pair(
    pred: Any, truth: Any, nan_policy: str = 'raise', names: tuple[str, str] = ('pred', 'truth')
) -> tuple[np.ndarray, np.ndarray]:
    """Order-exact ``(pred, truth)`` float64 arrays for rank metrics: equal lengths, NaN by
    ``nan_policy`` (``'raise'`` or ``'omit'``), finite truth, at least two items; scores that
    float64 cannot hold exactly become dense ranks with the same order and ties. ``names``
    name the two inputs in errors."""
    p, t, _ = _validate_full(pred, truth, nan_policy, names)
    return p, t


def check_finite_pair(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, truth)`` as number arrays (:func:`as_numeric`) that pair cell by cell: equal
    lengths, at least two cells, every value finite; else ``ValueError`` saying which."""
    p, t = as_numeric(scores, 'scores'), as_numeric(truth, 'truth')
    if p.shape != t.shape:
        raise ValueError(f'scores has {p.size} values, truth {t.size}: they must pair cell by cell')
    if p.size < 2:
        raise ValueError(f'need at least 2 cells, got {p.size}')
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise ValueError('scores and truth must be finite numbers (drop cells without a score first)')
    return p, t


def resolve_k(k: K, n: int) -> int:
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


def k_label(k: K) -> str:
    """How ``k`` reads in a metric name: ``'10'`` for a count, ``'5%'`` for a fraction."""
    if isinstance(k, (float, np.floating)) and 0 < k < 1:
        return f'{float(k) * 100:g}%'
    return str(int(k))


# ---------------------------------------------------------------------------------------------
# Metrics (unchecked cores take validated arrays)
# ---------------------------------------------------------------------------------------------
def tau_b(p: np.ndarray, t: np.ndarray) -> float:
    """Kendall tau-b of two arrays already checked (:func:`check_pair`: float64, equal lengths,
    no NaN); NaN when either side is constant."""
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
                r = float(
                    fractions.Fraction(total, int(chosen.sum()))
                    if isinstance(total, numbers.Integral)
                    else total / int(chosen.sum())
                )
        except OverflowError:
            r = float('inf')
    if not np.isfinite(r):
        raise ValueError(
            'truth: the regret (best truth minus the truth of the predicted best) lies beyond '
            'the float64 range (about 1.8e308); rescale truth'
        )
    return r


def kendall_tau(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    """Kendall rank correlation tau-b (tie-corrected); NaN when either side is constant."""
    return tau_b(*check_pair(pred, truth))


def spearman(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks); NaN when either side is constant."""
    return _spearman(*check_pair(pred, truth))


def topk_precision(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray, k: K) -> float:
    """Share of the true top-k (highest ``truth``) found among the predicted top-k (highest ``pred``).

    ``k`` is a count, or a float in (0, 1) for a fraction of the items (rounded, at least 1).
    Items tied with the k-th best truth all count as true top-k; predictions tied at the cut are
    broken at random in expectation, so a constant predictor scores the random baseline.
    """
    p, t = check_pair(pred, truth)
    return _topk(p, t, resolve_k(k, p.size))


def regret(pred: Sequence[float] | np.ndarray, truth: Sequence[float] | np.ndarray) -> float:
    """``max(truth) - truth[argmax(pred)]``: accuracy lost by taking the predicted best (averaged
    over ties for the predicted best)."""
    p, _, tv = _validate_full(pred, truth)
    return _regret(p, tv)


def rank_metrics(
    pred: Sequence[float] | np.ndarray,
    truth: Sequence[float] | np.ndarray,
    ks: Iterable[K] = (10,),
    nan_policy: str = 'raise',
) -> dict[str, float]:
    """All metrics at once: ``n``, ``kendall_tau``, ``spearman``, ``topk_precision@<k>`` per k
    (``@5%`` for a fraction), ``regret``. ``nan_policy='omit'`` drops pairs with a NaN
    (e.g. a proxy undefined on degenerate cells); ``n`` says how many remained."""
    p, t, tv = _validate_full(pred, truth, nan_policy)
    out: dict[str, float] = {'n': float(p.size), 'kendall_tau': tau_b(p, t), 'spearman': _spearman(p, t)}
    for k in ks:
        out[f'topk_precision@{k_label(k)}'] = _topk(p, t, resolve_k(k, p.size))
    out['regret'] = _regret(p, tv)
    return out


def make_rng(random_state: Any) -> np.random.Generator:
    """A NumPy Generator from ``random_state`` (None, a non-negative int or a Generator), or
    ``ValueError`` naming what was given."""
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError):
        raise ValueError(
            f'random_state must be None, a non-negative int or a numpy Generator, got {short_repr(random_state)}'
        ) from None


def random_baseline(
    truth: Sequence[float] | np.ndarray, n_repeats: int = 100, random_state: int | None = 0, ks: Iterable[K] = (10,)
) -> dict[str, float]:
    """Metrics of uniformly random scores: ``<metric>`` is the mean over ``n_repeats`` draws and
    ``<metric>_std`` the standard deviation (``n`` and ``n_repeats`` as given)."""
    _, _, t = _validate_full(truth, truth, names=('truth', 'truth'))
    if int(n_repeats) < 1:
        raise ValueError(f'n_repeats must be >= 1, got {n_repeats}')
    ks = tuple(ks)
    rng = make_rng(random_state)
    rows = [rank_metrics(rng.random(t.size), t, ks=ks) for _ in range(int(n_repeats))]
    out: dict[str, float] = {'n': float(t.size), 'n_repeats': float(n_repeats)}
    for key in rows[0]:
        if key == 'n':
            continue
        vals = np.array([r[key] for r in rows])
        out[key] = float(vals.mean())
        out[f'{key}_std'] = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    return out


def ranking_table(
    scores: Mapping[str, Sequence[float] | np.ndarray],
    truth: Sequence[float] | np.ndarray,
    ks: Iterable[K] = (10,),
    include_random: bool = False,
    n_repeats: int = 100,
    random_state: int | None = 0,
    nan_policy: str = 'raise',
) -> pd.DataFrame:
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
