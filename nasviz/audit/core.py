"""Audit any performance estimator against a ground truth: :func:`audit` and its :class:`Audit`.

An estimator is anything that gives each architecture a score (a one-shot or few-shot
supernet, a zero-cost proxy, a predictor, short training). :func:`audit` aligns one or many
estimators with the truth on the same architectures, adds the trivial baselines (parameter
count, FLOPs where known, random scores), draws one seeded bootstrap over architectures
(:mod:`nasviz.audit.engine`) and returns every metric with its interval and ``n``, every paired
comparison with its verdict and detectable difference, the ground truth's own ceiling, and what
was dropped and why.

Over 500 lines on purpose: :class:`Audit` (the result, its tables and JSON schema) and
:func:`audit` (alignment, baselines, one shared bootstrap) change together; resampling, readers,
comparisons and the ceiling live in their own modules.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.baselines import ceiling_scores
from nasviz.analysis.uncertainty import Estimate
from nasviz.audit import engine
from nasviz.audit.ceiling import Ceiling, spearman_brown
from nasviz.audit.compare import Comparison, compare_seeds, estimate_of, from_distributions
from nasviz.audit.readers import DROP_KINDS, parse_arch, read_scores
from nasviz.bench import load_benchmark
from nasviz.bench.nb201 import NB201Table
from nasviz.io import atomic_write_text
from nasviz.spaces import get_space
from nasviz.validate import short_repr

__all__ = ['COMPARISON_COLUMNS', 'DEFAULT_BASELINES', 'DEFAULT_KS', 'METRIC_COLUMNS', 'Audit', 'audit']

DEFAULT_KS: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.2, 0.5)
DEFAULT_BASELINES: tuple[str, ...] = ('params', 'flops', 'random')
#: columns of :attr:`Audit.metrics`
METRIC_COLUMNS = ['estimator', 'kind', 'metric', 'k', 'estimate', 'low', 'high', 'n']
#: columns of :attr:`Audit.comparisons`
COMPARISON_COLUMNS = [
    'estimator',
    'other',
    'metric',
    'k',
    'diff',
    'low',
    'high',
    'p',
    'verdict',
    'detectable',
    'n',
    'a',
    'b',
]
#: metrics compared pairwise (the biases have no better or worse)
_COMPARED = [m for m in engine.METRICS if engine.HIGHER_IS_BETTER[m] is not None]


@dataclass
class Audit:
    """The audit of one or more estimators on the same ``n`` architectures (see :func:`audit`).

    ``metrics``: long table (:data:`METRIC_COLUMNS`; ``kind`` is ``'estimator'``,
    ``'baseline'`` or ``'ceiling'``; ``k`` a K label, an op-bias choice, or ``''``);
    ``comparisons``: every estimator against every baseline and every other estimator
    (:data:`COMPARISON_COLUMNS`); ``op_bias``: per (slot, choice) Kendall tau of using it with
    the score and with the truth, and their difference with its interval; ``dropped``: per
    estimator, rows dropped as ``nan``, ``inf``, ``unknown_arch`` or ``duplicate``; ``ceiling``:
    the truth's own reliability (None when the truth offers none); ``merged``: architectures
    folded into an isomorphic one (0 without ``merge_isomorphic``); ``scores``: the aligned table
    used (index ``arch``; each estimator, ``truth``, ``params`` where known); ``notes``: what the
    audit did that a reader must know; ``settings``: its parameters and sources."""

    n: int
    space: str
    estimators: list[str]
    baselines: list[str]
    metrics: pd.DataFrame
    comparisons: pd.DataFrame
    op_bias: pd.DataFrame
    dropped: dict[str, dict[str, int]]
    ceiling: Ceiling | None
    merged: int
    scores: pd.DataFrame
    seed_comparisons: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    distributions: engine.Distributions | None = field(default=None, repr=False)

    # -- lookups ---------------------------------------------------------------------------
    def estimate(self, estimator: str, metric: str, k: Any = None) -> Estimate:
        """One metric of one estimator (or baseline) as an :class:`Estimate`."""
        key = engine.k_label(k) if k is not None and metric in engine.K_METRICS else ('' if k is None else str(k))
        row = self.metrics[
            (self.metrics['estimator'] == estimator) & (self.metrics['metric'] == metric) & (self.metrics['k'] == key)
        ]
        if row.empty:
            raise KeyError(
                f'no {metric}{"@" + key if key else ""} for {estimator!r}; estimators: '
                f'{self.estimators + self.baselines}'
            )
        r = row.iloc[0]
        return Estimate(
            r.estimate,
            r.low,
            r.high,
            int(r.n),
            self.settings.get('level', 0.95),
            f'bootstrap percentile, {self.settings.get("n_resamples")} resamples',
        )

    def comparison(self, estimator: str, other: str, metric: str = 'kendall_tau', k: Any = None) -> Comparison:
        """The paired comparison ``estimator - other`` (either order; computed on demand when absent)."""
        key = engine.k_label(k) if k is not None else ''
        d = self.distributions
        if d is None or (estimator, metric, key) not in d.point or (other, metric, key) not in d.point:
            raise KeyError(f'no {metric}{"@" + key if key else ""} distribution for {estimator!r} and {other!r}')
        return from_distributions(estimator, other, metric, key, d)

    # -- tables ----------------------------------------------------------------------------
    def summary(self, digits: int = 3, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Estimator x metric table, each cell ``estimate [low, high]``; ``n`` and the dropped
        counts beside. Rows: estimators, then baselines, then the ceiling."""
        m = self.metrics[self.metrics['metric'] != 'op_bias']
        if metrics is not None:
            m = m[m['metric'].isin(metrics)]
        f = f'.{digits}f'

        def cell(r: Any) -> str:
            if not np.isfinite(r.estimate):
                return 'n/a'
            if not (np.isfinite(r.low) and np.isfinite(r.high)):
                return f'{r.estimate:{f}} [no CI]'
            return f'{r.estimate:{f}} [{r.low:{f}}, {r.high:{f}}]'

        rows: dict[str, dict[str, Any]] = {}
        for r in m.itertuples(index=False):
            label = r.metric + (f'@{r.k}' if r.k else '')
            rows.setdefault(r.estimator, {'kind': r.kind, 'n': int(r.n) if r.metric == 'kendall_tau' else None})
            rows[r.estimator][label] = cell(r)
        out = pd.DataFrame.from_dict(rows, orient='index')
        out['n'] = out['n'].fillna(self.n).astype(int)
        for kind in DROP_KINDS:
            out[f'dropped {kind}'] = [self.dropped.get(e, {}).get(kind, 0) for e in out.index]
        out.index.name = 'estimator'
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``audit.json`` schema: ``estimators`` (name -> metric -> Estimate dict, or
        K label / choice -> Estimate dict), ``baselines`` (the same), ``ceiling``,
        ``comparisons`` (list of :meth:`Comparison.to_dict`), ``dropped``, ``n``, ``merged``,
        ``space``, ``notes``, ``settings``."""

        def est_dict(r: Any) -> dict[str, Any]:
            e = Estimate(r.estimate, r.low, r.high, int(r.n), self.settings.get('level', 0.95))
            return e.to_dict()

        groups: dict[str, dict[str, dict[str, Any]]] = {'estimator': {}, 'baseline': {}, 'ceiling': {}}
        for r in self.metrics.itertuples(index=False):
            tgt = groups[r.kind].setdefault(r.estimator, {})
            if r.metric in engine.K_METRICS or r.metric == 'op_bias':
                tgt.setdefault(r.metric, {})[r.k] = est_dict(r)
            else:
                tgt[r.metric] = est_dict(r)
        return {
            'estimators': groups['estimator'],
            'baselines': groups['baseline'],
            'ceiling': None if self.ceiling is None else self.ceiling.to_dict(),
            'comparisons': [_cmp_row_dict(r) for r in self.comparisons.to_dict('records')],
            'seed_comparisons': [_cmp_row_dict(r) for r in self.seed_comparisons.to_dict('records')],
            'dropped': self.dropped,
            'n': int(self.n),
            'merged': int(self.merged),
            'space': self.space,
            'notes': list(self.notes),
            'settings': _jsonable(self.settings),
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` as JSON (atomically: a temporary file renamed into place)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False))


def _cmp_row_dict(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and not np.isfinite(v) else (int(v) if isinstance(v, np.integer) else v))
        for k, v in r.items()
    }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------
def _scores_frame(scores: Any, space: str, estimators: Sequence[str] | None) -> pd.DataFrame:
    if isinstance(scores, (str, os.PathLike)) or (
        isinstance(scores, (list, tuple)) and scores and all(isinstance(s, (str, os.PathLike)) for s in scores)
    ):
        return read_scores(scores, space=space, estimators=estimators)
    if isinstance(scores, pd.Series):
        scores = scores.to_frame(scores.name or 'score')
    if not isinstance(scores, pd.DataFrame):
        raise ValueError(f'scores must be a DataFrame, a file path or a list of paths, got {type(scores).__name__}')
    df = scores
    if df.index.name != 'arch' or 'arch' in df.columns:
        col = next((c for c in ('arch', 'arch_str', 'architecture') if c in df.columns), None)
        if col is None:
            if df.index.dtype == object:
                df = df.copy()
            else:
                raise ValueError(
                    'scores: no architecture column (arch, arch_str or architecture) and the index '
                    'holds no architectures'
                )
        else:
            df = df.set_index(col)
    sp = get_space(space)
    keys: list[str | None] = []
    unknown = 0
    for a in df.index:
        try:
            keys.append(sp.to_str(a) if not isinstance(a, str) else sp.to_str(parse_arch(a, space)))
        except (ValueError, TypeError, KeyError):
            keys.append(None)
            unknown += 1
    if keys and unknown == len(keys):
        raise ValueError(f'scores: no row holds a {space} architecture (first index value {short_repr(df.index[0])})')
    cols = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    out = pd.DataFrame({str(c): df[c].to_numpy(dtype=np.float64) for c in cols}, index=pd.Index(keys, name='arch'))
    keep = np.array([k is not None for k in keys])
    dup = out.index.duplicated() & keep
    out = out[keep & ~dup]
    prior = df.attrs.get('dropped', {})
    out.attrs['dropped'] = {
        c: {
            'nan': int(np.isnan(out[c]).sum()),
            'inf': int(np.isinf(out[c]).sum()),
            'unknown_arch': int(unknown) + prior.get(c, {}).get('unknown_arch', 0),
            'duplicate': int(dup.sum()) + prior.get(c, {}).get('duplicate', 0),
        }
        for c in out.columns
    }
    out.attrs['not_estimators'] = list(df.attrs.get('not_estimators', []))
    out.attrs['source'] = df.attrs.get('source', 'a DataFrame')
    return out


def _truth_values(
    truth: Any, archs: list[str], space: str, truth_column: str | None, scores: pd.DataFrame
) -> tuple[np.ndarray, Any, str]:
    """Truth per arch (NaN where unknown), the benchmark (or None) and a description."""
    if isinstance(truth, str) and truth in scores.columns:
        return scores[truth].to_numpy(dtype=np.float64), None, f'column {truth!r} of the score file'
    if truth_column is not None and truth is None and truth_column in scores.columns:
        return scores[truth_column].to_numpy(dtype=np.float64), None, f'column {truth_column!r} of the score file'
    if isinstance(truth, (pd.Series, pd.DataFrame)):
        if isinstance(truth, pd.DataFrame):
            col = truth_column or next((c for c in truth.columns if pd.api.types.is_numeric_dtype(truth[c])), None)
            if col is None or col not in truth.columns:
                raise ValueError(f'truth: no column {truth_column!r}; columns {list(truth.columns)}')
            frame = truth
            if 'arch' in frame.columns or 'arch_str' in frame.columns:
                frame = frame.set_index('arch' if 'arch' in frame.columns else 'arch_str')
            truth = frame[col]
        keyed = {}
        for a, v in truth.items():
            try:
                keyed[parse_arch(a, space) if isinstance(a, str) else a] = float(v)
            except (ValueError, TypeError):
                continue
            sp = get_space(space)
        m = {sp.to_str(a): v for a, v in keyed.items()}
        return np.array([m.get(a, np.nan) for a in archs]), None, f'a user table ({truth.name or "truth"})'
    bench = load_benchmark(truth if truth is not None else space)
    kw: dict[str, str] = {}
    if truth_column is not None:
        if isinstance(bench, NB201Table):
            cols = [f'{d}_{m}' for d, ms in bench.available().items() for m in ms]
            if truth_column not in cols:
                raise ValueError(f'truth column {truth_column!r} is not in {bench.path.name}; it holds {cols}')
            kw = dict(zip(('dataset', 'metric'), truth_column.split('_', 1)))
        else:
            kw = {'metric': truth_column}
    vals = np.full(len(archs), np.nan)
    try:
        vals = np.asarray(bench.accuracies(archs, **kw), dtype=np.float64)
    except KeyError:
        for i, a in enumerate(archs):
            try:
                vals[i] = float(bench.accuracies([a], **kw)[0])
            except KeyError:
                pass
    desc = f'{type(bench).__name__} {getattr(bench, "path", "")} ({truth_column or "its default accuracy"})'
    return vals, bench, desc


def _bench_sizes(bench: Any, archs: list[str], which: str) -> np.ndarray | None:
    if bench is None:
        return None
    try:
        if which == 'params':
            if hasattr(bench, 'params_many'):
                return np.asarray(bench.params_many(archs), dtype=np.float64)
            return np.array([bench.params(a) for a in archs], dtype=np.float64)
        if hasattr(bench, 'flops'):
            return np.array([bench.flops(a) for a in archs], dtype=np.float64)
    except (ValueError, KeyError, AttributeError, NotImplementedError):
        return None
    return None


def _choice_matrix(space: Any, archs: list[str]) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """0/1 usage of every (slot, choice) used by some but not all architectures."""
    use: list[dict[tuple[str, str], int]] = [space.choice_usage(parse_arch(a, space.name)) for a in archs]
    feats = sorted(
        {f for u in use for f in u},
        key=lambda f: (space.slots.index(f[0]) if f[0] in space.slots else len(space.slots), f[1]),
    )
    X = np.zeros((len(archs), len(feats)))
    col = {f: j for j, f in enumerate(feats)}
    for i, u in enumerate(use):
        for f in u:
            X[i, col[f]] = 1.0
    keep = (X.sum(axis=0) > 0) & (X.sum(axis=0) < len(archs))
    return X[:, keep], [f for f, k in zip(feats, keep) if k]


# ---------------------------------------------------------------------------------------------
# The audit
# ---------------------------------------------------------------------------------------------
def audit(
    scores: Any,
    truth: Any = None,
    space: str = 'nb201',
    estimators: Sequence[str] | None = None,
    baselines: Iterable[str] = DEFAULT_BASELINES,
    ks: Sequence[float | int] = DEFAULT_KS,
    n_resamples: int = 2000,
    level: float = 0.95,
    random_state: int = 0,
    merge_isomorphic: bool = False,
    truth_column: str | None = None,
    seed_runs: Mapping[str, Sequence[str]] | None = None,
    progress: bool = False,
    n_jobs: int | None = None,
) -> Audit:
    """Audit one or many estimators against a ground truth on the same architectures.

    ``scores``: a DataFrame (architectures in an ``arch`` / ``arch_str`` column or the index,
    one numeric column per estimator), a score file or a list of files (:func:`read_scores`).
    ``truth``: a benchmark (``nasviz.bench.load_benchmark`` spec or handle: the NB201 table,
    NB101 / DARTS subsets, a micro benchmark), a Series / DataFrame keyed by architecture, the
    name of a column of ``scores``, or None for the space's benchmark. ``truth_column`` picks
    the benchmark column (NB201: e.g. ``'cifar10_test_200ep'``, the default).

    Rows where any selected estimator or the truth is NaN / infinite are dropped (counted per
    estimator in ``dropped``); the audit runs on the rows left (``n``, at least 3). An estimator
    that is constant there is dropped with a note. ``merge_isomorphic`` keeps one architecture
    per isomorphism class (``space.canonical``; the first in table order) and counts the others
    in ``merged``. ``seed_runs`` maps a name to the columns holding several runs of one
    estimator (seeds): each is compared over seeds with every baseline.

    Every metric gets a percentile interval at ``level`` from ``n_resamples`` bootstrap
    resamples of the architectures drawn once with ``random_state``; comparisons are paired on
    those same resamples. ``n_jobs`` threads share the work (default up to 2; same result).
    """
    sp = get_space(space)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 100:
        raise ValueError(f'n_resamples must be an int >= 100, got {short_repr(n_resamples)}')
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f'level must be a number in (0, 1), got {short_repr(level)}')
    baselines = list(baselines)
    bad = [b for b in baselines if b not in DEFAULT_BASELINES]
    if bad:
        raise ValueError(f'unknown baseline(s) {bad}; known: {list(DEFAULT_BASELINES)}')
    df = _scores_frame(scores, sp.name, estimators)
    notes: list[str] = []
    not_est = set(df.attrs.get('not_estimators', []))
    seed_cols = [c for cols in (seed_runs or {}).values() for c in cols]
    if estimators is None:
        estimators = [
            c
            for c in df.columns
            if c not in not_est
            and c not in seed_cols
            and not ((isinstance(truth, str) and c == truth) or c == truth_column)
            and not (c == 'flops' and 'flops' in baselines)
            and not (c == 'params' and 'params' in baselines)
        ]
    missing = [e for e in estimators if e not in df.columns]
    if missing:
        raise ValueError(f'no score column(s) {missing}; the scores hold {list(df.columns)}')
    for c in seed_cols:
        if c not in df.columns:
            raise ValueError(f'seed_runs names column {c!r}, which the scores do not hold ({list(df.columns)})')
    if not estimators:
        raise ValueError(f'no estimator to audit: the scores hold {list(df.columns)}')
    dropped = {e: dict(df.attrs.get('dropped', {}).get(e, dict.fromkeys(DROP_KINDS, 0))) for e in estimators}
    archs = list(df.index)
    tvals, bench, truth_desc = _truth_values(truth, archs, sp.name, truth_column, df)
    unknown_truth = ~np.isfinite(tvals)
    if unknown_truth.all():
        raise ValueError(
            f'no architecture of the scores ({df.attrs.get("source")}) has a ground truth in '
            f'{truth_desc}: a file of another space, or the wrong benchmark?'
        )
    if unknown_truth.any():
        notes.append(f'{int(unknown_truth.sum())} architecture(s) have no ground truth in {truth_desc}; dropped')
        for e in estimators:
            dropped[e]['unknown_arch'] += int(unknown_truth.sum())
    finite = ~unknown_truth
    for e in estimators:
        v = df[e].to_numpy(dtype=np.float64)
        finite &= np.isfinite(v)
    # params / flops from the benchmark, else from the score table
    sizes = {}
    for b in ('params', 'flops'):
        v = _bench_sizes(bench, archs, b)
        if v is None and b in df.columns:
            v = df[b].to_numpy(dtype=np.float64)
            notes.append(f'{b} read from the score file ({df.attrs.get("source")})')
        if v is not None:
            sizes[b] = v
    merged = 0
    rows = np.flatnonzero(finite)
    if merge_isomorphic:
        seen: set[str] = set()
        keep = []
        for r in rows:
            canon = sp.canonical(parse_arch(archs[r], sp.name))
            if canon in seen:
                merged += 1
                continue
            seen.add(canon)
            keep.append(r)
        rows = np.array(keep, dtype=np.int64)
        if merged:
            notes.append(
                f'{merged} architecture(s) compute the same function as an earlier one '
                '(space.canonical) and were merged into it (the first in table order is kept)'
            )
            for e in estimators:
                dropped[e]['duplicate'] += merged
    if rows.size < 3:
        raise ValueError(
            f'fewer than 3 architectures ({rows.size}) have a finite score for every estimator '
            f'{list(estimators)} and a ground truth ({truth_desc}); '
            f'per estimator: {dropped}. Pick estimators with --estimators / estimators='
        )
    truth_v = tvals[rows]
    vectors = {e: df[e].to_numpy(dtype=np.float64)[rows] for e in estimators}
    constant = [e for e, v in vectors.items() if np.ptp(v) == 0]
    for e in constant:
        notes.append(f'{e} gives every one of the {rows.size} architectures the same score: it cannot rank; left out')
        del vectors[e]
    if not vectors:
        raise ValueError(f'every estimator is constant on the {rows.size} architectures: nothing to rank')
    if np.ptp(truth_v) == 0:
        raise ValueError(f'the ground truth ({truth_desc}) is constant on the {rows.size} architectures')
    est_names = list(vectors)
    base_vectors: dict[str, np.ndarray] = {}
    for b in baselines:
        if b in vectors:
            notes.append(f'{b} is audited as an estimator here; it is not repeated as a baseline')
        elif b == 'random':
            base_vectors['random'] = np.random.default_rng([int(random_state), 1]).random(rows.size)
        elif b in sizes:
            v = sizes[b][rows]
            if np.isfinite(v).all() and np.ptp(v) > 0:
                base_vectors[b] = v
            else:
                notes.append(f'baseline {b} is not finite or constant on these architectures; left out')
        else:
            notes.append(f'baseline {b}: not known for this truth ({truth_desc}); left out')
    params = sizes.get('params')
    params_v = params[rows] if params is not None and np.isfinite(params[rows]).all() else None
    if params_v is None:
        notes.append('no parameter count: size bias not computed')
    X, feats = _choice_matrix(sp, [archs[i] for i in rows])
    all_vectors = {**vectors, **base_vectors}
    ceiling_vec = None
    if bench is not None and truth_column is None:
        try:
            cs = ceiling_scores(bench, [archs[i] for i in rows])
        except (ValueError, KeyError):
            cs = None
        if cs is not None:
            ceiling_vec = cs
    d = engine.bootstrap_metrics(
        all_vectors,
        truth_v,
        ks=ks,
        params=params_v,
        choices=(X, feats) if feats else None,
        full=est_names,
        n_resamples=n_resamples,
        level=level,
        random_state=random_state,
        progress=progress,
        n_jobs=n_jobs,
    )
    metrics_rows = []
    for name in all_vectors:
        kind = 'estimator' if name in vectors else 'baseline'
        for key in d.keys_of(name):
            if key[1] == 'op_tau':
                continue
            est = estimate_of(d, key)
            metrics_rows.append(
                dict(
                    estimator=name,
                    kind=kind,
                    metric=key[1],
                    k=key[2],
                    estimate=est.estimate,
                    low=est.low,
                    high=est.high,
                    n=est.n,
                )
            )
    # op bias per choice: the mean over the op slots offering it of the per-slot bias
    op_rows = []
    for name in est_names:
        by_choice: dict[str, list[str]] = {}
        for slot, choice in feats:
            lab = f'{slot}={choice}'
            est = estimate_of(d, (name, 'op_bias', lab))
            op_rows.append(
                dict(
                    estimator=name,
                    slot=slot,
                    choice=choice,
                    tau_score=d.point[(name, 'op_tau', lab)],
                    tau_truth=d.point[(engine.TRUTH, 'op_tau', lab)],
                    bias=est.estimate,
                    low=est.low,
                    high=est.high,
                    n=est.n,
                )
            )
            if slot in sp.op_slots():
                by_choice.setdefault(choice, []).append(lab)
        metrics_rows = [r for r in metrics_rows if not (r['estimator'] == name and r['metric'] == 'op_bias')]
        for choice, labs in by_choice.items():
            pt = float(np.mean([d.point[(name, 'op_bias', lab)] for lab in labs]))
            dist = np.mean([d.dist[(name, 'op_bias', lab)] for lab in labs], axis=0)
            lo, hi = engine.percentile_ci(dist, level)
            metrics_rows.append(
                dict(
                    estimator=name,
                    kind='estimator',
                    metric='op_bias',
                    k=choice,
                    estimate=pt,
                    low=lo,
                    high=hi,
                    n=rows.size,
                )
            )
    ceiling = None
    if ceiling_vec is not None:
        kind, pred_c, truth_c = ceiling_vec
        ok = np.isfinite(pred_c) & np.isfinite(truth_c)
        if ok.sum() >= 3:
            dc = engine.bootstrap_metrics(
                {'ceiling': pred_c[ok]},
                truth_c[ok],
                ks=[],
                n_resamples=n_resamples,
                level=level,
                random_state=random_state,
            )
            meas = estimate_of(dc, ('ceiling', 'kendall_tau', ''))
            seeds = list(getattr(bench, 'seeds', []) or [])
            per_half: int | None
            total: int | None
            if kind == 'reliability':
                per_half, total = len(seeds) // 2, len(seeds)
            elif kind == 'seed-to-seed':
                per_half, total = 1, len(seeds)
            else:
                per_half = total = None
            ceiling = Ceiling.from_measured(kind, meas, per_half, total)
            # the ceiling's rank correlations, projected like its Kendall tau (Spearman-Brown on
            # Pearson and Spearman directly); its top-K figures are no ceiling and are left out
            for m in ('kendall_tau', 'spearman', 'pearson'):
                if m == 'kendall_tau':
                    est = ceiling.corrected
                else:
                    raw = estimate_of(dc, ('ceiling', m, ''))
                    lo_hi = [
                        spearman_brown(v, ceiling.factor) if np.isfinite(v) else v
                        for v in (raw.estimate, raw.low, raw.high)
                    ]
                    est = Estimate(float(lo_hi[0]), float(lo_hi[1]), float(lo_hi[2]), raw.n, raw.level)
                metrics_rows.append(
                    dict(
                        estimator=f'ceiling ({kind})',
                        kind='ceiling',
                        metric=m,
                        k='',
                        estimate=est.estimate,
                        low=est.low,
                        high=est.high,
                        n=est.n,
                    )
                )
    metrics = pd.DataFrame(metrics_rows, columns=METRIC_COLUMNS)
    cmp_rows = []
    for i, name in enumerate(est_names):
        others = list(base_vectors) + est_names[i + 1 :]
        for other in others:
            for key in d.keys_of(name):
                if key[1] in _COMPARED and (other, key[1], key[2]) in d.point:
                    cmp = from_distributions(name, other, key[1], key[2], d)
                    cmp_rows.append({col: getattr(cmp, col) for col in COMPARISON_COLUMNS})
    comparisons = pd.DataFrame(cmp_rows, columns=COMPARISON_COLUMNS)
    seed_rows = []
    for name, cols in (seed_runs or {}).items():
        runs = [df[c].to_numpy(dtype=np.float64)[rows] for c in cols]
        for other, bv in base_vectors.items():
            cmp = compare_seeds(runs, bv, truth_v, 'kendall_tau', level=level, names=(name, other))
            seed_rows.append({col: getattr(cmp, col) for col in COMPARISON_COLUMNS})
    seed_comparisons = pd.DataFrame(seed_rows, columns=COMPARISON_COLUMNS)
    table = pd.DataFrame(
        {**{e: df[e].to_numpy(dtype=np.float64)[rows] for e in est_names}, 'truth': truth_v},
        index=pd.Index([archs[i] for i in rows], name='arch'),
    )
    for b, v in sizes.items():
        table[b] = v[rows]
    settings = dict(
        n_resamples=int(n_resamples),
        level=float(level),
        random_state=random_state,
        ks=[engine.k_label(k) for k in ks],
        baselines=list(base_vectors),
        truth=truth_desc,
        source=df.attrs.get('source'),
        merge_isomorphic=bool(merge_isomorphic),
        space=sp.name,
        computed='in this run',
    )
    return Audit(
        n=int(rows.size),
        space=sp.name,
        estimators=est_names,
        baselines=list(base_vectors),
        metrics=metrics,
        comparisons=comparisons,
        op_bias=pd.DataFrame(op_rows),
        dropped=dropped,
        ceiling=ceiling,
        merged=merged,
        scores=table,
        seed_comparisons=seed_comparisons,
        notes=notes,
        settings=settings,
        distributions=d,
    )
