"""The baselines that give a ranking's numbers a meaning, read from a benchmark: trivial
predictors (parameter count, random scores), the ground truth's own ceiling
(:func:`ceiling_scores`: split-half reliability, seed-to-seed agreement or a separate run's
validation accuracy), their rank metrics (:func:`baseline_metrics`, with intervals
:func:`baseline_metrics_ci`) and a method's table beside them (:func:`ranking_with_baselines`,
:func:`ranking_with_baselines_ci`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.ci_tables import CI_COLUMNS, ci_metrics, ci_row, ranking_table_ci
from nasviz.analysis.metrics import K, check_pair, random_baseline, rank_metrics, ranking_table
from nasviz.analysis.uncertainty import metric_ci, random_null

__all__ = [
    'baseline_scores',
    'baseline_metrics',
    'ranking_with_baselines',
    'ceiling_scores',
    'baseline_metrics_ci',
    'ranking_with_baselines_ci',
]


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


def baseline_metrics(
    bench: Any,
    archs: Iterable[Any],
    ks: Iterable[K] = (10,),
    random_state: int | None = 0,
    dataset: str | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
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


def ranking_with_baselines(
    scores: dict[str, Any], bench: Any, archs: Iterable[Any], ks: Iterable[K] = (10,), random_state: int | None = 0
) -> pd.DataFrame:
    """Rank metrics of each predictor in ``scores`` against ``bench`` (``kind='method'``),
    followed by the rows of :func:`baseline_metrics` (``kind='baseline'``); index ``method``."""
    archs = list(archs)
    truth = np.asarray(bench.accuracies(archs), dtype=np.float64)
    methods = ranking_table(scores, truth, ks=ks)
    methods.insert(0, 'kind', 'method')
    return pd.concat([methods, baseline_metrics(bench, archs, ks=ks, random_state=random_state)])


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
        return 'valid-as-predictor', scores['valid-as-predictor'], np.asarray(bench.accuracies(archs), dtype=np.float64)
    return None


def baseline_metrics_ci(
    bench: Any,
    archs: Iterable[Any],
    ks: Iterable[K] = (10,),
    level: float = 0.95,
    n_resamples: int = 2000,
    n_draws: int = 1000,
    random_state: int | None = 0,
    dataset: str | None = None,
    metric: str | None = None,
    method: str = 'percentile',
) -> pd.DataFrame:
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
    boot: dict[str, Any] = dict(level=level, n_resamples=n_resamples, random_state=random_state, method=method)
    preds = {'params': (baseline_scores(bench, archs)['params'], truth)}
    ceiling = ceiling_scores(bench, archs)
    rows = []
    for name, (pred, t) in preds.items():
        p, tt = check_pair(pred, t, 'omit')
        rows += [ci_row(name, m, metric_ci(m, p, tt, **boot)) for m in ci_metrics(ks)]
    t_ok = truth[~np.isnan(truth)]
    rows += [ci_row('random-scores', m, random_null(t_ok, m, n_draws, level, random_state)) for m in ci_metrics(ks)]
    if ceiling is not None:
        name, pred, t = ceiling
        p, tt = check_pair(pred, t, 'omit')
        rows += [ci_row(name, m, metric_ci(m, p, tt, **boot)) for m in ci_metrics(ks)]
    df = pd.DataFrame(rows, columns=CI_COLUMNS)
    df.insert(1, 'kind', 'baseline')
    return df


def ranking_with_baselines_ci(
    scores: Mapping[str, Any],
    bench: Any,
    archs: Iterable[Any],
    ks: Iterable[K] = (10,),
    level: float = 0.95,
    n_resamples: int = 2000,
    n_draws: int = 1000,
    random_state: int | None = 0,
    method: str = 'percentile',
) -> pd.DataFrame:
    """:func:`ranking_table_ci` of each predictor in ``scores`` against ``bench``
    (``kind='method'``) followed by :func:`baseline_metrics_ci` (``kind='baseline'``): one long
    table to draw with error bars or to pass to :func:`ci_wide`."""
    archs = list(archs)
    truth = np.asarray(bench.accuracies(archs), dtype=np.float64)
    methods = ranking_table_ci(
        scores, truth, ks=ks, level=level, n_resamples=n_resamples, random_state=random_state, method=method
    )
    methods.insert(1, 'kind', 'method')
    base = baseline_metrics_ci(
        bench,
        archs,
        ks=ks,
        level=level,
        n_resamples=n_resamples,
        n_draws=n_draws,
        random_state=random_state,
        method=method,
    )
    return pd.concat([methods, base], ignore_index=True)
