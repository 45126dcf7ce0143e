"""One-call building blocks for notebooks and the command line: the data, ground truth and
trained supernet of a profile, with training checkpointed under the cache directory keyed by
its parameters (so a second notebook, or a re-run after a kill, reuses or resumes it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from nasviz.profiles import profile_settings, resolve_device
from nasviz.spaces.nb201 import Arch, OpMask
from nasviz.utils import cache_dir, cached, param_hash


def settings_for(profile: str, **overrides: Any) -> dict[str, Any]:
    """Profile settings with overrides (None values are ignored, so notebook parameters can
    default to None meaning 'the profile's value')."""
    s = profile_settings(profile)
    unknown = [k for k in overrides if k not in s and k not in ('seed',)]
    if unknown:
        raise ValueError(f'unknown setting(s) {unknown}; known: {sorted(s)}')
    s.update({k: v for k, v in overrides.items() if v is not None})
    s['profile'] = profile
    s['device'] = resolve_device(s.get('device', 'cpu'))
    return s


def load_data(settings: dict[str, Any]):
    """The profile's dataset (``digits`` uses the micro benchmark's recipe so ground truth and
    supernet see the same task)."""
    from nasviz.data import load_dataset

    kw = dict(settings.get('data') or {})
    if settings['dataset'] == 'digits' and not kw:
        from nasviz.bench.build import MicroBenchRecipe

        kw = dict(MicroBenchRecipe().data)
    return load_dataset(settings['dataset'], **kw)


def load_bench(settings: dict[str, Any]):
    """The profile's ground truth (``micro`` or ``nb201``)."""
    from nasviz.bench import load_benchmark

    return load_benchmark(settings['bench'])


def eval_archs(settings: dict[str, Any], bench, n: int | None = None, seed: int = 0) -> list[Arch]:
    """Cells to rank: for the micro benchmark its own cells; for NB201 a seeded sample of
    distinct non-degenerate cells."""
    n = n or settings['n_eval']
    archs = list(bench.archs())
    rng = np.random.default_rng(seed)
    if settings['bench'] != 'micro':
        archs = [a for a in archs if not a.is_degenerate]
    if n < len(archs):
        archs = [archs[i] for i in sorted(rng.choice(len(archs), n, replace=False))]
    return archs


def train_config(settings: dict[str, Any], seed: int = 0, epochs: int | None = None):
    from nasviz.supernet.train import TrainConfig

    return TrainConfig(epochs=epochs or settings['epochs'], batch_size=settings['batch_size'],
                       lr=settings['lr'], seed=seed)


def trained_supernet(settings: dict[str, Any], data, seed: int = 0, epochs: int | None = None,
                     mask: OpMask | None = None, progress: bool = True,
                     callback: Callable | None = None, run_dir: str | Path | None = None):
    """A supernet trained by single-path uniform sampling; returns ``(model, history)``.

    Checkpoints live in ``run_dir`` (default: ``<cache>/supernet/<hash of settings, seed, data>``),
    so a finished run is loaded instead of retrained and a killed one resumes.
    """
    import torch

    from nasviz.supernet.model import NB201Supernet
    from nasviz.supernet.train import train_supernet

    cfg = train_config(settings, seed, epochs)
    mask = mask or OpMask.full()
    # a callback that adds columns to the history is part of what the run produced
    key = param_hash(cfg, mask.to_list(), data.data_id, settings['C'], settings['N'],
                     getattr(callback, 'key', None))
    run_dir = Path(run_dir) if run_dir else cache_dir() / 'supernet' / key
    torch.manual_seed(seed)
    model = NB201Supernet(settings['C'], settings['N'], data.num_classes, data.in_channels)
    hist = train_supernet(model, data, cfg, mask=mask, checkpoint_dir=run_dir, progress=progress,
                          device=settings['device'], callback=callback)
    return model, hist


def evaluate_cached(model, archs: list[Arch], data, settings: dict[str, Any], progress: bool = True) -> pd.DataFrame:
    """``evaluate_archs`` cached on disk, keyed by the model's weights, the cells and the data."""
    from nasviz.features.ops import model_fingerprint
    from nasviz.supernet.evaluate import evaluate_archs

    key = (model_fingerprint(model), [str(a) for a in archs], data.data_id, settings['recal_batches'],
           settings['eval_samples'])

    def compute() -> pd.DataFrame:
        return evaluate_archs(model, archs, data, recal_batches=settings['recal_batches'],
                              max_samples=settings['eval_samples'], progress=progress, device=settings['device'])

    return cached('evaluation', key, compute)


def spos_supernet(settings: dict[str, Any], data, seed: int = 0, n_track: int = 8, progress: bool = True,
                  score_archs: list[Arch] | None = None):
    """The profile's single-path one-shot supernet, trained while tracking the gradient
    interference of ``n_track`` fixed subnets after every epoch and, given ``score_archs``, their
    BN-recalibrated scores every ``settings['track_every']`` epochs (ranking over training);
    shared by all notebooks (trained once, then loaded from its checkpoint). Returns
    ``(model, history)``; the history has a ``scores`` column on tracked epochs."""
    from nasviz.analysis.interference import InterferenceTracker
    from nasviz.spaces.nb201 import sample_archs
    from nasviz.supernet.evaluate import ScoreTracker, chain_callbacks

    tracker = InterferenceTracker(data, sample_archs(n_track, rng=seed, unique=True, exclude_degenerate=True),
                                  batch_size=settings['feature_batch'], seed=seed)
    scorer = None
    if score_archs is not None:
        scorer = ScoreTracker(data, score_archs, every=settings.get('track_every', 5), epochs=settings['epochs'],
                              recal_batches=settings['recal_batches'], max_samples=settings['eval_samples'])
    callback = tracker if scorer is None else chain_callbacks(tracker, scorer)
    return trained_supernet(settings, data, seed=seed, progress=progress, callback=callback)


def ranking_over_training(history: pd.DataFrame, truth, level: float = 0.95, random_state: int = 0) -> pd.DataFrame:
    """Kendall tau (with its bootstrap CI) and Spearman of the tracked scores against ``truth``
    at every tracked epoch of a :func:`spos_supernet` history, beside the supernet's training
    accuracy and the mean score of the tracked cells. One row per tracked epoch (1-based)."""
    from nasviz.analysis.ranking import kendall_ci, spearman

    if 'scores' not in history.columns:
        raise ValueError('history has no scores column: train with spos_supernet(..., score_archs=archs)')
    truth = np.asarray(truth, dtype=np.float64)
    rows = []
    for _, r in history.iterrows():
        if r['scores'] is None or (isinstance(r['scores'], float) and np.isnan(r['scores'])):
            continue
        sc = np.asarray(r['scores'], dtype=np.float64)
        if sc.shape != truth.shape:
            raise ValueError(f'epoch {r["epoch"]}: {sc.size} scores for {truth.size} ground-truth values')
        est = kendall_ci(sc, truth, level=level, random_state=random_state)
        rows.append(dict(epoch=int(r['epoch']) + 1, kendall_tau=est.estimate, low=est.low, high=est.high, n=est.n,
                         spearman=spearman(sc, truth), mean_score=float(sc.mean()),
                         train_acc=float(r['train_acc'])))
    return pd.DataFrame(rows)


def partition_config(settings: dict[str, Any], method: str, n_splits: int = 1, seed: int = 0, **kw: Any):
    """A :class:`~nasviz.partition.pipeline.PartitionConfig` sized by the profile."""
    from nasviz.partition.pipeline import PartitionConfig

    # the root trains for a share of the budget before the first split
    warmup = min(settings['epochs'] - n_splits, max(1, round(settings['epochs'] * settings['warmup_fraction'])))
    return PartitionConfig(method=method, n_splits=n_splits, total_epochs=settings['epochs'],
                           warmup_epochs=warmup, repeats=settings['feature_repeats'],
                           batch_size=settings['feature_batch'], n_neighbors=settings['n_neighbors'],
                           recal_batches=settings['recal_batches'], eval_samples=settings['eval_samples'],
                           seed=seed, **kw)


def ranking_vs_partitions(settings: dict[str, Any], data, bench, methods=('naslid', 'gmnas', 'random'),
                          levels=(1, 2), seed: int = 0, n_eval: int | None = None, progress: bool = True,
                          **config_kw: Any) -> tuple[pd.DataFrame, dict]:
    """Kendall tau (and the other rank metrics) of SPOS and of each split method at each number
    of split levels, at equal total epochs, plus the trivial baselines as ``kind='baseline'`` rows.

    Every run is resumable and cached under ``<cache>/partition/<hash>``. Returns the table (one
    row per run: ``method``, ``levels``, ``n_partitions``, ``label``, metrics) and the
    :class:`PartitionResult` of each run keyed by ``(method, levels)``.
    """
    from dataclasses import replace

    from nasviz.analysis.ranking import baseline_metrics
    from nasviz.partition.pipeline import run_partition

    archs = eval_archs(settings, bench, n=n_eval, seed=seed)
    tc = train_config(settings, seed)
    base = partition_config(settings, 'spos', seed=seed, **config_kw)
    runs = [('spos', 0)] + [(m, int(lv)) for m in methods if m != 'spos' for lv in levels]
    rows, results = [], {}
    for method, lv in runs:
        cfg = replace(base, method=method, n_splits=max(lv, 1))
        work = cache_dir() / 'partition' / param_hash(cfg, tc, data.data_id, settings['C'], settings['N'],
                                                      [str(a) for a in archs])
        res = run_partition(cfg, data, settings['C'], settings['N'], train_config=tc, archs=archs, bench=bench,
                            work_dir=work, progress=progress, device=settings['device'])
        results[(method, lv)] = res
        n_parts = res.tree.n_leaves
        rows.append(dict(method=method, kind='method', levels=lv, n_partitions=n_parts,
                         label=f'{method} ({n_parts} sub-supernets)', **res.metrics,
                         epochs=res.total_epochs, seconds=res.seconds['total']))
    base_rows = baseline_metrics(bench, archs, random_state=seed).reset_index()
    base_rows['label'] = base_rows['method']
    return pd.concat([pd.DataFrame(rows), base_rows], ignore_index=True), results
