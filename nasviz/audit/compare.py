"""Paired comparisons: is one ranking better than another on the same architectures (or seeds)?

The verdict words come from the paired interval only: ``'better'`` when the interval of
``metric(a) - metric(b)`` lies above zero (below, for a metric where lower is better),
``'worse'`` when on the other side, else ``'level with'``, always printed with the smallest
difference the design could detect (80% power, 5% two-sided, from the bootstrap or seed SE).
Two separate intervals that overlap decide nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from nasviz.analysis.metrics import as_float_vector
from nasviz.analysis.seeds import seed_summary
from nasviz.analysis.uncertainty import Estimate
from nasviz.audit import engine
from nasviz.validate import short_repr

__all__ = [
    'VERDICTS',
    'Comparison',
    'changed_over_training',
    'compare',
    'compare_seeds',
    'metric_key',
    'verdict',
]

VERDICTS = ('better', 'worse', 'level with')


def verdict(low: float, high: float, higher_is_better: bool | None = True) -> str:
    """``'better'`` / ``'worse'`` / ``'level with'`` from a paired interval of ``a - b``."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return 'level with'
    if low > 0:
        return 'better' if higher_is_better is not False else 'worse'
    if high < 0:
        return 'worse' if higher_is_better is not False else 'better'
    return 'level with'


def verdict_phrase(word: str) -> str:
    """``'better than'``, ``'worse than'`` or ``'level with'``."""
    return word if word == 'level with' else f'{word} than'


def verdict_sentence(row: Any, digits: int = 3) -> str:
    """:meth:`Comparison.sentence` of a row of ``Audit.comparisons`` (or a Comparison)."""
    get: Callable[[str], Any] = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    f = f'.{digits}f'
    lo, hi = get('low'), get('high')
    ci = f'[{lo:{f}}, {hi:{f}}]' if lo is not None and np.isfinite(lo) else '[no CI]'
    tail = f' (smallest detectable difference {get("detectable"):{f}})' if get('verdict') == 'level with' else ''
    m = get('metric') + (f'@{get("k")}' if get('k') else '')
    return (
        f'{get("estimator")} is {verdict_phrase(get("verdict"))} {get("other")} on {m}: diff '
        f'{get("diff"):+{f}} {ci}, p={get("p"):.3g}, n={get("n")}{tail}'
    )


@dataclass(frozen=True)
class Comparison:
    """``metric(a) - metric(b)`` on the same architectures (or over seeds): ``diff`` in
    ``[low, high]`` at ``level``, two-sided ``p`` of no difference, the ``verdict`` from the
    interval, and ``detectable``: the smallest true difference this design finds with 80%
    power at 5% (two-sided). ``a``/``b`` are each side's own estimate; ``n`` architectures (or
    seeds, ``over='seeds'``)."""

    estimator: str
    other: str
    metric: str
    k: str
    diff: float
    low: float
    high: float
    p: float
    verdict: str
    detectable: float
    n: int
    a: float
    b: float
    level: float = 0.95
    over: str = 'architectures'

    def sentence(self, digits: int = 3) -> str:
        """One line a reader can sign, e.g. ``a is level with b on kendall_tau: diff -0.010 [95% CI
        -0.03, 0.01], p=0.31, n=120 (smallest detectable difference 0.028)``."""
        m = self.metric + (f'@{self.k}' if self.k else '')
        f = f'.{digits}f'
        ci = f'[{self.level:.0%} CI {self.low:{f}}, {self.high:{f}}]' if np.isfinite(self.low) else '[no CI]'
        tail = f' (smallest detectable difference {self.detectable:{f}})' if self.verdict == 'level with' else ''
        return (
            f'{self.estimator} is {verdict_phrase(self.verdict)} {self.other} on {m}: diff {self.diff:+{f}} '
            f'{ci}, p={self.p:.3g}, n={self.n} {self.over}{tail}'
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}


def metric_key(metric: str, k: float | str | None = None) -> tuple[str, str]:
    """``('precision_top', '0.01')`` from ``('precision_top', 0.01)`` or ``'precision_top@0.01'``."""
    if isinstance(metric, str) and '@' in metric and k is None:
        metric, k = metric.split('@', 1)
    if metric not in engine.HIGHER_IS_BETTER or metric in ('op_bias', 'size_bias'):
        allowed = [m for m in engine.METRICS if m not in ('op_bias', 'size_bias')]
        raise ValueError(f'metric must be one of {allowed}, got {short_repr(metric)}')
    if metric in engine.K_METRICS:
        if k is None:
            raise ValueError(f'metric {metric!r} needs k (a count or a fraction in (0, 1))')
        if isinstance(k, str):
            try:
                k = float(k) if ('.' in k or 'e' in k) else int(k)
            except ValueError:
                raise ValueError(f'bad k {short_repr(k)}') from None
        return metric, engine.k_label(k)
    return metric, ''


def from_distributions(name_a: str, name_b: str, metric: str, k: str, d: engine.Distributions) -> Comparison:
    """The :class:`Comparison` of ``name_a`` against ``name_b`` on one metric (``k``: its top-k
    label, or ``''``) from the bootstrap distributions ``d`` of
    :func:`nasviz.audit.engine.bootstrap_metrics`: the paired difference, its percentile CI,
    p-value, verdict and the smallest difference the design could detect."""
    ka, kb = (name_a, metric, k), (name_b, metric, k)
    dist = d.dist[ka] - d.dist[kb]
    lo, hi = engine.percentile_ci(dist, d.level)
    fin = dist[np.isfinite(dist)]
    se = float(fin.std(ddof=1)) if fin.size > 1 else float('nan')
    se = se if se > 0 else float('nan')  # a difference that never varies: no power figure to give
    diff = d.point[ka] - d.point[kb]
    return Comparison(
        name_a,
        name_b,
        metric,
        k,
        float(diff),
        lo,
        hi,
        engine.bootstrap_p(dist),
        verdict(lo, hi, engine.HIGHER_IS_BETTER[metric]),
        engine.detectable_difference(se, d.level),
        d.sizes[ka],
        d.point[ka],
        d.point[kb],
        d.level,
    )


def _clean(x: Any, name: str) -> np.ndarray:
    return as_float_vector(x, name)


def compare(
    pred_a: Any,
    pred_b: Any,
    truth: Any,
    metric: str = 'kendall_tau',
    k: float | None = None,
    n_resamples: int = 2000,
    level: float = 0.95,
    random_state: Any = 0,
    names: tuple[str, str] = ('a', 'b'),
) -> Comparison:
    """Paired bootstrap of ``metric(pred_a) - metric(pred_b)`` against ``truth`` on the same
    architectures (rows resampled together). Rows where either prediction or the truth is not
    finite are dropped first (``n`` says how many remain; at least 3)."""
    metric, klab = metric_key(metric, k)
    a, b, t = _clean(pred_a, 'pred_a'), _clean(pred_b, 'pred_b'), _clean(truth, 'truth')
    if not (a.size == b.size == t.size):
        raise ValueError(f'pred_a, pred_b and truth must have equal lengths, got {a.size}, {b.size}, {t.size}')
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(t)
    if ok.sum() < 3:
        raise ValueError(
            f'compare needs at least 3 architectures where both predictions and the truth are '
            f'finite, got {int(ok.sum())}'
        )
    ks = [] if not klab else [float(klab) if '.' in klab else int(klab)]
    d = engine.bootstrap_metrics(
        {names[0]: a[ok], names[1]: b[ok]},
        t[ok],
        ks=ks,
        n_resamples=n_resamples,
        level=level,
        random_state=random_state,
    )
    return from_distributions(names[0], names[1], metric, klab, d)


def compare_seeds(
    runs_a: Sequence[Any],
    runs_b: Sequence[Any] | Any,
    truth: Any,
    metric: str = 'kendall_tau',
    k: float | None = None,
    level: float = 0.95,
    names: tuple[str, str] = ('a', 'b'),
) -> Comparison:
    """Seed-level paired comparison: ``d_s = metric(runs_a[s]) - metric(runs_b[s])`` on the same
    cells for each seed ``s`` (``runs_b`` may be one vector shared by every seed, e.g. the
    parameter count), then the Student-t interval of the mean ``d`` over seeds. The cells are
    held fixed: the interval is over training seeds."""
    metric, klab = metric_key(metric, k)
    t = _clean(truth, 'truth')
    runs_a = [_clean(r, f'runs_a[{i}]') for i, r in enumerate(runs_a)]
    shared = np.ndim(runs_b) == 1 and not (len(runs_b) and np.ndim(runs_b[0]) == 1)
    runs_b = (
        [_clean(runs_b, 'runs_b')] * len(runs_a)
        if shared
        else [_clean(r, f'runs_b[{i}]') for i, r in enumerate(runs_b)]
    )
    if len(runs_a) != len(runs_b) or not runs_a:
        raise ValueError(
            f'runs_a and runs_b must hold the same number (>= 1) of seeds, got {len(runs_a)} and {len(runs_b)}'
        )
    ks = [] if not klab else [float(klab) if '.' in klab else int(klab)]
    da, db = [], []
    for s, (a, b) in enumerate(zip(runs_a, runs_b)):
        if not (a.size == b.size == t.size):
            raise ValueError(f'seed {s}: {a.size} and {b.size} scores for {t.size} truths')
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(t)
        d = engine.bootstrap_metrics({'a': a[ok], 'b': b[ok]}, t[ok], ks=ks, n_resamples=0)
        da.append(d.point[('a', metric, klab)])
        db.append(d.point[('b', metric, klab)])
    diffs = np.array(da) - np.array(db)
    if not np.isfinite(diffs).all():
        raise ValueError(f'{metric} is undefined (a constant score) for some seed: differences {diffs.tolist()}')
    summ = seed_summary(diffs, level)
    lo, hi = summ.ci.low, summ.ci.high
    return Comparison(
        names[0],
        names[1],
        metric,
        klab,
        float(summ.mean),
        lo,
        hi,
        _t_p(summ),
        verdict(lo, hi, engine.HIGHER_IS_BETTER[metric]),
        engine.detectable_difference(summ.se, level),
        len(diffs),
        float(np.mean(da)),
        float(np.mean(db)),
        level,
        'seeds',
    )


def _t_p(summ: Any) -> float:
    if summ.n < 2 or not np.isfinite(summ.se) or summ.se == 0:
        return float('nan')
    return float(2 * stats.t.sf(abs(summ.mean / summ.se), summ.n - 1))


def changed_over_training(
    scores_before: Any,
    scores_after: Any,
    truth: Any,
    metric: str = 'kendall_tau',
    k: float | None = None,
    n_resamples: int = 2000,
    level: float = 0.95,
    random_state: Any = 0,
    names: tuple[str, str] = ('after', 'before'),
) -> Comparison:
    """Did the ranking change between two checkpoints? The paired bootstrap of
    ``metric(after) - metric(before)`` on the same cells (:func:`compare`): ``'better'`` means it
    improved, ``'worse'`` that it got worse, ``'level with'`` that this design cannot tell
    (``detectable`` says how large a change it would have found)."""
    return compare(
        scores_after,
        scores_before,
        truth,
        metric=metric,
        k=k,
        n_resamples=n_resamples,
        level=level,
        random_state=random_state,
        names=names,
    )


def estimate_of(d: engine.Distributions, key: tuple[str, str, str]) -> Estimate:
    lo, hi = engine.percentile_ci(d.dist[key], d.level)
    return Estimate(d.point[key], lo, hi, d.sizes[key], d.level, f'bootstrap percentile, {d.n_resamples} resamples')
