"""Comparing partition methods over seeds on the same cells, with the uncertainty a reader needs.

:func:`run_comparison` runs every method for every seed (each run resumable and cached when a
``work_dir`` is given) and keeps the per-cell scores, so that besides mean +- SE over seeds it can
test a method against a reference (SPOS) *paired over seeds and cells*: the same seeds and the
same cells enter both sides of every difference (:meth:`Comparison.differences`). The runs are
independent tasks for :mod:`nasviz.executor` (in this process by default; a local process pool
or Ray with ``executor=``), each resumable in its own ``work_dir/<method>-seed<seed>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from nasviz.analysis.baselines import baseline_metrics
from nasviz.analysis.metrics import kendall_tau
from nasviz.audit.resample import KendallPlan, Ranked
from nasviz.executor import Executor, LocalExecutor, Task, task_resources
from nasviz.partition.pipeline import PARTITION_METHODS, PartitionConfig, prepare_archs, run_partition, usable_ks
from nasviz.spaces import Architecture, get_space

if TYPE_CHECKING:
    from nasviz.data import ImageData
    from nasviz.supernet.train import TrainConfig

__all__ = ['Comparison', 'run_comparison', 'compare_methods', 'summarize', 'hierarchical_difference']


def _resampled_tau(scores: np.ndarray, truth: Ranked, counts: np.ndarray) -> np.ndarray:
    """Kendall tau-b of ``scores`` against ``truth`` on every resample (``counts``: cells x
    resamples, how often each cell is drawn), to the bit as ``scipy.stats.kendalltau`` gives it on
    the resampled cells (the same whole-number pair counts, divided as scipy divides them; NaN
    where a side is constant), without sorting every resample."""
    S, untied_scores, untied_truth = KendallPlan(Ranked(scores), truth).terms(counts)
    with np.errstate(invalid='ignore', divide='ignore'):
        tau = np.minimum(1.0, np.maximum(-1.0, S / np.sqrt(untied_scores) / np.sqrt(untied_truth)))
    tau[(untied_scores == 0) | (untied_truth == 0)] = np.nan
    return tau


def hierarchical_difference(
    scores_a: Sequence[np.ndarray],
    scores_b: Sequence[np.ndarray],
    truth: np.ndarray,
    n_resamples: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> dict[str, float]:
    """Mean over seeds of Kendall tau(a) - tau(b), with its uncertainty from a two-level bootstrap:
    seeds drawn with replacement, then cells drawn with replacement (the same cells for a and b
    and for every seed in a replicate). ``scores_a[i]`` and ``scores_b[i]`` come from the same
    seed. Returns ``diff`` (estimate), ``se`` (bootstrap SE), ``low``/``high`` (percentile CI),
    ``p_value`` (two-sided, share of replicates on the other side of 0, doubled), ``n_seeds``,
    ``n_cells`` and ``se_seeds`` (the plain SE over seeds with the cells fixed)."""
    a = np.asarray([np.asarray(x, dtype=np.float64) for x in scores_a])
    b = np.asarray([np.asarray(x, dtype=np.float64) for x in scores_b])
    t = np.asarray(truth, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape or a.shape[1] != t.size:
        raise ValueError(
            f'scores_a {a.shape} and scores_b {b.shape} must be (seeds, cells) with cells = len(truth) = {t.size}'
        )
    n_seeds, n_cells = a.shape
    if n_cells < 3:
        raise ValueError(f'need at least 3 cells, got {n_cells}')
    per_seed = np.array([kendall_tau(a[i], t) - kendall_tau(b[i], t) for i in range(n_seeds)])
    rng = np.random.default_rng(random_state)
    n_res = int(n_resamples)
    drawn_seeds = np.empty((n_res, n_seeds), dtype=np.intp)
    counts = np.empty((n_cells, n_res), dtype=np.float32)  # cells x replicates: how often each is drawn
    for r in range(n_res):  # seeds, then cells, replicate after replicate
        drawn_seeds[r] = rng.integers(0, n_seeds, n_seeds)
        counts[:, r] = np.bincount(rng.integers(0, n_cells, n_cells), minlength=n_cells)
    truth_ranked = Ranked(t)
    tau_a = np.array([_resampled_tau(a[i], truth_ranked, counts) for i in range(n_seeds)]).T
    tau_b = np.array([_resampled_tau(b[i], truth_ranked, counts) for i in range(n_seeds)]).T
    rows = np.arange(n_res)[:, None]
    reps = (tau_a[rows, drawn_seeds] - tau_b[rows, drawn_seeds]).mean(axis=1)
    reps = reps[np.isfinite(reps)]
    alpha = (1 - level) / 2
    diff = float(per_seed.mean())
    p = 2 * min(np.mean(reps <= 0), np.mean(reps >= 0)) if reps.size else np.nan
    return dict(
        diff=diff,
        se=float(reps.std(ddof=1)),
        low=float(np.quantile(reps, alpha)),
        high=float(np.quantile(reps, 1 - alpha)),
        p_value=float(min(1.0, p)),
        n_seeds=n_seeds,
        n_cells=n_cells,
        se_seeds=float(per_seed.std(ddof=1) / np.sqrt(n_seeds)) if n_seeds > 1 else np.nan,
    )


@dataclass
class Comparison:
    """Every (method, seed) run on the same cells: ``runs`` (one row each, rank metrics and
    costs), ``scores[(method, seed)]`` (per-cell supernet scores in the order of ``archs``),
    ``truth`` and the trivial ``baselines`` (rows of
    :func:`~nasviz.analysis.baselines.baseline_metrics`)."""

    runs: pd.DataFrame
    scores: dict[tuple[str, int], np.ndarray]
    truth: np.ndarray
    archs: list[str]
    baselines: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.runs['method']))

    @property
    def seeds(self) -> list[int]:
        return sorted({int(s) for s in self.runs['seed']})

    def to_frame(self) -> pd.DataFrame:
        """Runs followed by the baseline rows (``kind='baseline'``, ``seed`` NaN)."""
        if self.baselines.empty:
            return self.runs.copy()
        base = self.baselines.reset_index()
        base = base.assign(seed=np.nan).drop(columns=[c for c in base if c.endswith('_std')])
        df = pd.concat([self.runs, base], ignore_index=True)
        df['n'] = df['n'].astype(int)
        return df

    def summary(self, metric: str = 'kendall_tau', level: float = 0.95) -> pd.DataFrame:
        """Per method: ``n_runs``, ``mean``, ``std`` and ``se`` over seeds, and a t interval
        (``low``, ``high``) of the mean; index ``method``."""
        rows = []
        for m in self.methods:
            v = self.runs.loc[self.runs['method'] == m, metric].to_numpy(dtype=np.float64)
            n = v.size
            se = v.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
            half = stats.t.ppf(0.5 + level / 2, n - 1) * se if n > 1 else np.nan
            rows.append(
                dict(
                    method=m,
                    n_runs=n,
                    n_cells=len(self.archs),
                    mean=float(v.mean()),
                    std=float(v.std(ddof=1)) if n > 1 else np.nan,
                    se=float(se),
                    low=float(v.mean() - half),
                    high=float(v.mean() + half),
                )
            )
        return pd.DataFrame(rows).set_index('method')

    def differences(
        self, reference: str = 'spos', n_resamples: int = 1000, level: float = 0.95, random_state: int = 0
    ) -> pd.DataFrame:
        """Kendall tau of each method minus the reference's, paired over seeds and cells
        (:func:`hierarchical_difference`); index ``method``."""
        if reference not in self.methods:
            raise ValueError(f'reference {reference!r} was not run; methods: {self.methods}')
        seeds = [s for s in self.seeds if all((m, s) in self.scores for m in (reference,))]
        rows = []
        for m in self.methods:
            if m == reference:
                continue
            common = [s for s in seeds if (m, s) in self.scores]
            d = hierarchical_difference(
                [self.scores[(m, s)] for s in common],
                [self.scores[(reference, s)] for s in common],
                self.truth,
                n_resamples=n_resamples,
                level=level,
                random_state=random_state,
            )
            rows.append(dict(method=m, reference=reference, **d))
        return pd.DataFrame(rows).set_index('method')


_WORKER: dict[str, Any] = {}


def _init_worker(shared: dict[str, Any]) -> None:
    """What every (method, seed) run of a comparison shares, loaded once per worker process."""
    _WORKER.clear()
    _WORKER.update(shared)


def _run_one(method: str, seed: int, work_dir: str | None) -> dict[str, Any]:
    """One (method, seed) run (resumable in ``work_dir``): its per-cell scores and truth, and its row."""
    w = dict(_WORKER)
    cfg = replace(w.pop('base'), method=method, seed=seed)
    res = run_partition(
        cfg,
        w.pop('data'),
        w.pop('size'),
        archs=w.pop('archs'),
        bench=w.pop('bench'),
        work_dir=None if work_dir is None else Path(work_dir),
        **w,
    )
    row = dict(
        method=method,
        seed=seed,
        kind='method',
        **res.metrics,
        n_leaves=res.tree.n_leaves,
        epochs=res.total_epochs,
        budget=res.info['budget'],
        train_s=res.seconds['train'],
        features_s=res.seconds['features'],
        eval_s=res.seconds['eval'],
        total_s=res.seconds['total'],
    )
    return dict(
        row=row,
        score=res.frame['score'].to_numpy(dtype=np.float64),
        truth=res.frame['truth'].to_numpy(dtype=np.float64),
    )


def run_comparison(
    methods: Sequence[str],
    seeds: Sequence[int],
    data: ImageData,
    size: dict[str, Any] | None,
    bench: Any,
    archs: Iterable[Architecture | str] | None = None,
    base_config: PartitionConfig | None = None,
    train_config: TrainConfig | None = None,
    work_dir: str | Path | None = None,
    progress: bool = True,
    device: Any = None,
    *,
    baselines: bool = True,
    ks: Sequence[int | float] = (10, 0.1),
    dataset: str | None = None,
    metric: str | None = None,
    executor: Executor | None = None,
) -> Comparison:
    """Run every method for every seed on the same cells and rank them against ``bench``.

    ``size``: the network size of the space (``space.default_size(profile)``; None: the
    benchmark's network), as :func:`~nasviz.partition.pipeline.run_partition` takes it.

    Runs go to ``work_dir/<method>-seed<seed>`` when ``work_dir`` is given (resumable; a finished
    run reloads). Baselines: every entry of :func:`~nasviz.analysis.baselines.baseline_scores` and
    ``'random-scores'`` (not ``'random'``, which is the random-split method).

    ``executor`` runs the (method, seed) runs (default: one after another in this process); in
    worker processes each run uses one torch thread and shows no bar of its own, and a run on
    CUDA asks Ray for a GPU. The result does not depend on the order the runs finish in."""
    if bench is None:
        raise ValueError('run_comparison needs a benchmark for the ground truth')
    methods = list(methods)
    bad = [m for m in methods if m not in PARTITION_METHODS]
    if bad or not methods:
        raise ValueError(f'unknown or no methods {bad}; valid methods: {", ".join(PARTITION_METHODS)}')
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError('run_comparison needs at least one seed')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds repeat: {seeds}')
    base = base_config or PartitionConfig()
    space = get_space(base.space)
    archs = prepare_archs(archs, bench, space.root_mask(), base.seed)
    ex = executor if executor is not None else LocalExecutor(1)
    in_process = ex.backend == 'local' and ex.workers == 1
    shared = dict(
        base=base,
        data=data,
        size=size,
        archs=archs,
        bench=bench,
        train_config=train_config,
        progress=progress and in_process,
        device=device,
        dataset=dataset,
        metric=metric,
        ks=ks,
    )
    resources = task_resources(device if device is not None else 'cpu')
    tasks = [
        Task((m, s), (m, s, None if work_dir is None else str(Path(work_dir) / f'{m}-seed{s}')), **resources)
        for m in methods
        for s in seeds
    ]
    got: dict[tuple[str, int], dict[str, Any]] = {}
    ex.run(
        _run_one,
        tasks,
        got.__setitem__,
        initializer=_init_worker,
        initargs=(shared,),
        progress=progress,
        desc='partition runs',
        unit='run',
    )
    rows = [got[(m, s)]['row'] for m in methods for s in seeds]  # the order of the loops, whatever finished first
    scores = {(m, s): got[(m, s)]['score'] for m in methods for s in seeds}
    truth = got[(methods[-1], seeds[-1])]['truth']
    if in_process:
        _WORKER.clear()  # the data and bench need not outlive the runs
    runs = pd.DataFrame(rows)
    runs['n'] = runs['n'].astype(int)
    base_rows = pd.DataFrame()
    if baselines:
        base_rows = baseline_metrics(bench, archs, ks=usable_ks(len(archs), ks), dataset=dataset, metric=metric)
    return Comparison(
        runs=runs, scores=scores, truth=truth, archs=[space.to_str(a) for a in archs], baselines=base_rows
    )


def compare_methods(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`run_comparison` as one frame: one row per method x seed (``kind='method'``), then
    the baseline rows (``kind='baseline'``, ``seed`` NaN)."""
    return run_comparison(*args, **kwargs).to_frame()


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each numeric column, one row per method (in
    first-seen order, index ``method``): ``<col>`` the mean, ``<col>_std`` the std (ddof=1, NaN
    for a single run), ``n_runs``."""
    if 'method' not in df.columns:
        raise ValueError('summarize needs a frame with a method column (from compare_methods)')
    skip = {'seed', 'n'}
    num = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    order = list(dict.fromkeys(df['method']))
    g = df.groupby('method', sort=False)
    mean, std = g[num].mean(), g[num].std(ddof=1)
    out = pd.DataFrame(index=pd.Index(order, name='method'))
    if 'kind' in df.columns:
        out['kind'] = g['kind'].first()
    out['n_runs'] = g.size()
    for c in num:
        out[c] = mean[c]
        out[f'{c}_std'] = std[c]
    return out
