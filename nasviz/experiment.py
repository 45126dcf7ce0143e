"""One-call building blocks for notebooks and the command line: the data, ground truth and
trained supernet of a profile, with training checkpointed under the cache directory keyed by
its parameters (so a second notebook, or a re-run after a kill, reuses or resumes it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.analysis.seeds import levels_sweep
from nasviz.cache import cache_dir, cached, param_hash
from nasviz.executor import Task, get_executor, task_resources
from nasviz.profiles import SETTINGS, Profile, profile_settings, resolve_device
from nasviz.spaces import Architecture, SearchSpace, SlotMask, get_space
from nasviz.supernet.evaluate import BN_MODES


def settings_for(profile: str, **overrides: Any) -> Profile:
    """The :class:`~nasviz.profiles.Profile` ``profile`` with overrides of its fields (None values
    are ignored, so notebook parameters can default to None meaning 'the profile's value'), checked
    again; the space by its registered name, the device resolved (``auto``: a GPU when present)."""
    s = profile_settings(profile)
    unknown = [k for k in overrides if k not in SETTINGS]
    if unknown:
        raise ValueError(f'unknown setting(s) {unknown}; known: {sorted(SETTINGS)}')
    s = replace(s, **{k: v for k, v in overrides.items() if v is not None})
    # an unknown space fails here, naming the known ones
    return replace(s, space=get_space(s.space).name, device=resolve_device(s.device))


def load_data(settings: Profile):
    """The profile's dataset (``digits`` uses the micro benchmark's recipe so ground truth and
    supernet see the same task)."""
    from nasviz.data import load_dataset

    kw = dict(settings.data)
    if settings.dataset == 'digits' and not kw:
        from nasviz.bench.micro import MicroBench, default_path

        if default_path().is_file():  # the data the ground truth was trained on, from its header
            kw = dict(MicroBench.load().recipe['data'])
        else:
            from nasviz.bench.build import MicroBenchRecipe

            kw = dict(MicroBenchRecipe().data)
    return load_dataset(settings.dataset, **kw)


def settings_space(settings: Profile) -> SearchSpace:
    return get_space(settings.space)


def network_size(settings: Profile, data) -> dict[str, Any]:
    """Size arguments of the profile's supernet for ``data``: the space's
    :meth:`~nasviz.spaces.base.SearchSpace.profile_size` (the settings' ``size`` when given),
    with the data's classes and channels."""
    size = settings_space(settings).profile_size(settings)
    size.update(num_classes=data.num_classes, in_channels=data.in_channels)
    return size


def load_bench(settings: Profile):
    """The profile's ground truth: ``micro`` reads the space's micro benchmark on the embedded
    data (``data/microbench_<space>.csv``; NB201's is ``data/microbench_digits.csv``); a table or
    file path is read as given; any other name (the CIFAR-10 profiles' ``nb201``) means the
    space's own benchmark table."""
    from nasviz.bench import load_benchmark
    from nasviz.bench.micro import MicroBench, microbench_path

    space = settings_space(settings)
    spec = settings.bench
    if spec == 'micro':
        path = microbench_path(space)
        if not path.is_file():
            raise ValueError(
                f'no micro benchmark of the {space.name} space on the embedded data ({path} is '
                f'missing): build it with `nasviz build-microbench --space {space.name} --out {path}`, '
                f'or use --profile small to rank against the {space.name} table on CIFAR-10'
            )
        return MicroBench.load(path)
    if spec.lower().endswith(('.csv', '.pth')):
        return load_benchmark(spec)
    return load_benchmark(space.name)


def eval_archs(settings: Profile, bench, n: int | None = None, seed: int = 0) -> list[Architecture]:
    """Cells to rank: for the micro benchmark its own cells; for NB201 a seeded sample of
    distinct non-degenerate cells."""
    n = n or settings.n_eval
    archs = list(bench.archs())
    rng = np.random.default_rng(seed)
    if settings.bench != 'micro':
        space = settings_space(settings)
        archs = [a for a in archs if not space.is_degenerate(a)]
    if n < len(archs):
        archs = [archs[i] for i in sorted(rng.choice(len(archs), n, replace=False))]
    return archs


def train_config(settings: Profile, seed: int = 0, epochs: int | None = None):
    from nasviz.supernet.train import TrainConfig

    return TrainConfig(epochs=epochs or settings.epochs, batch_size=settings.batch_size, lr=settings.lr, seed=seed)


def trained_supernet(
    settings: Profile,
    data,
    seed: int = 0,
    epochs: int | None = None,
    mask: SlotMask | None = None,
    progress: bool = True,
    callback: Callable | None = None,
    run_dir: str | Path | None = None,
):
    """A supernet trained by single-path uniform sampling; returns ``(model, history)``.

    Checkpoints live in ``run_dir`` (default: ``<cache>/supernet/<hash of settings, seed, data>``),
    so a finished run is loaded instead of retrained and a killed one resumes.
    """
    import torch

    from nasviz.supernet.train import train_supernet

    space = settings_space(settings)
    cfg = train_config(settings, seed, epochs)
    mask = mask or space.root_mask()
    size = network_size(settings, data)
    # a callback that adds columns to the history is part of what the run produced; a space whose
    # supernet design changed tags it, so checkpoints of an earlier design are not loaded
    key = param_hash(
        cfg,
        mask.to_list(),
        data.data_id,
        space.name,
        size,
        getattr(space, 'supernet_tag', None),
        getattr(callback, 'key', None),
    )
    run_dir = Path(run_dir) if run_dir else cache_dir() / 'supernet' / key
    torch.manual_seed(seed)
    model = space.build_supernet(**size)
    hist = train_supernet(
        model,
        data,
        cfg,
        mask=mask,
        checkpoint_dir=run_dir,
        progress=progress,
        device=settings.device,
        callback=callback,
    )
    return model, hist


def evaluate_cached(
    model, archs: list[Architecture], data, settings: Profile, progress: bool = True, bn: str = 'recalibrate'
) -> pd.DataFrame:
    """``evaluate_archs`` cached on disk, keyed by the model's weights, the cells and the data
    (``bn``: how BN normalises, see ``nasviz.supernet.evaluate.BN_MODES``)."""
    from nasviz.features.ops import model_fingerprint
    from nasviz.supernet.evaluate import evaluate_archs

    score = settings.score
    space = settings_space(settings)
    names = [space.to_str(a) for a in archs]
    key = (model_fingerprint(model), names, data.data_id, settings.recal_batches, settings.eval_samples, space.name) + (
        (score,) if score != 'accuracy' else ()
    )
    if bn != 'recalibrate':
        key += (('bn', bn),)

    def compute() -> pd.DataFrame:
        return evaluate_archs(
            model,
            archs,
            data,
            recal_batches=settings.recal_batches,
            max_samples=settings.eval_samples,
            progress=progress,
            device=settings.device,
            score=score,
            bn=bn,
        )

    # an entry that holds other cells is rejected (set aside and recomputed), never trusted
    return cached('evaluation', key, compute, validate=lambda df: list(df['arch_str']) == names)


def spos_supernet(
    settings: Profile,
    data,
    seed: int = 0,
    n_track: int = 8,
    progress: bool = True,
    score_archs: list[Architecture] | None = None,
):
    """The profile's single-path one-shot supernet, trained while tracking the gradient
    interference of ``n_track`` fixed subnets after every epoch and, given ``score_archs``, their
    BN-recalibrated scores every ``settings.track_every`` epochs (ranking over training);
    shared by all notebooks (trained once, then loaded from its checkpoint). Returns
    ``(model, history)``; the history has a ``scores`` column on tracked epochs."""
    from nasviz.features.interference import InterferenceTracker
    from nasviz.supernet.evaluate import ScoreTracker, chain_callbacks

    tracked = settings_space(settings).sample_distinct(n_track, rng=seed, exclude_degenerate=True)
    tracker = InterferenceTracker(data, tracked, batch_size=settings.feature_batch, seed=seed)
    scorer = None
    if score_archs is not None:
        # the last epoch's scores go through the evaluation cache: scoring the finished supernet
        # (notebooks, bias_inputs) then reads them instead of running every cell again
        scorer = ScoreTracker(
            data,
            score_archs,
            every=settings.track_every,
            epochs=settings.epochs,
            recal_batches=settings.recal_batches,
            max_samples=settings.eval_samples,
            score=settings.score,
            final_evaluate=lambda m: evaluate_cached(m, score_archs, data, settings, progress=False),
        )
    callback = tracker if scorer is None else chain_callbacks(tracker, scorer)
    return trained_supernet(settings, data, seed=seed, progress=progress, callback=callback)


def partition_config(settings: Profile, method: str, n_splits: int = 1, seed: int = 0, **kw: Any):
    """A :class:`~nasviz.partition.pipeline.PartitionConfig` sized by the profile."""
    from nasviz.partition.pipeline import PartitionConfig

    # the root trains for a share of the budget before the first split
    warmup = min(settings.epochs - n_splits, max(1, round(settings.epochs * settings.warmup_fraction)))
    return PartitionConfig(
        method=method,
        n_splits=n_splits,
        total_epochs=settings.epochs,
        warmup_epochs=warmup,
        repeats=settings.feature_repeats,
        batch_size=settings.feature_batch,
        n_neighbors=settings.n_neighbors,
        recal_batches=settings.recal_batches,
        eval_samples=settings.eval_samples,
        score=settings.score,
        seed=seed,
        space=settings.space,
        **kw,
    )


def partition_key(
    config, train_config, data, size: dict[str, Any], space: SearchSpace, archs: list[Architecture]
) -> str:
    """The cache key of partition runs: a hash of the partition config, the training config, the
    data, the network size and the ranked cells, which together determine every run (so
    ``nasviz partition`` and the notebooks find each other's runs)."""
    return param_hash(config, train_config, data.data_id, size, [space.to_str(a) for a in archs])


def ranking_vs_partitions(
    settings: Profile,
    data,
    bench,
    methods=('naslid', 'gmnas', 'random'),
    levels=(1, 2),
    seed: int = 0,
    n_eval: int | None = None,
    progress: bool = True,
    **config_kw: Any,
) -> tuple[pd.DataFrame, dict]:
    """Kendall tau (and the other rank metrics) of SPOS and of each split method at each number
    of split levels, at equal total epochs, plus the trivial baselines as ``kind='baseline'`` rows.

    Every run is resumable and cached under ``<cache>/partition/<hash>``. Returns the table (one
    row per run: ``method``, ``levels``, ``n_partitions``, ``label``, metrics) and the
    :class:`PartitionResult` of each run keyed by ``(method, levels)``.
    """
    from dataclasses import replace

    from nasviz.analysis.baselines import baseline_metrics
    from nasviz.partition.pipeline import run_partition

    archs = eval_archs(settings, bench, n=n_eval, seed=seed)
    tc = train_config(settings, seed)
    base = partition_config(settings, 'spos', seed=seed, **config_kw)
    runs = [('spos', 0)] + [(m, int(lv)) for m in methods if m != 'spos' for lv in levels]
    rows, results = [], {}
    for method, lv in runs:
        cfg = replace(base, method=method, n_splits=max(lv, 1))
        size = network_size(settings, data)
        work = cache_dir() / 'partition' / partition_key(cfg, tc, data, size, settings_space(settings), archs)
        res = run_partition(
            cfg,
            data,
            size,
            train_config=tc,
            archs=archs,
            bench=bench,
            work_dir=work,
            progress=progress,
            device=settings.device,
        )
        results[(method, lv)] = res
        n_parts = res.tree.n_leaves
        rows.append(
            dict(
                method=method,
                kind='method',
                levels=lv,
                n_partitions=n_parts,
                label=f'{method} ({n_parts} sub-supernets)',
                **res.metrics,
                epochs=res.total_epochs,
                seconds=res.seconds['total'],
            )
        )
    base_rows = baseline_metrics(bench, archs, random_state=seed).reset_index()
    base_rows['label'] = base_rows['method']
    return pd.concat([pd.DataFrame(rows), base_rows], ignore_index=True), results


# ---------------------------------------------------------------------------------------------
# Report building blocks (notebooks 01 and 03): the published reference, the comparison over levels
# ---------------------------------------------------------------------------------------------
def published_reference(
    n_resamples: int = 500, n_draws: int = 200, random_state: int = 0, space: Any = None
) -> tuple[pd.DataFrame | None, str]:
    """The published paper-scale NB201 one-shot and few-shot supernets
    (:class:`~nasviz.bench.published.PublishedSupernets`, ``$NASVIZ_NB201_SUPERNETS``) ranked
    against the NB201 table (``$NASVIZ_NB201_TABLE``, ``cifar10_test_200ep``: CIFAR-10 test
    accuracy after 200 epochs) on every non-degenerate cell, beside params, random scores and the ceiling: the long
    table of :func:`~nasviz.analysis.baselines.ranking_with_baselines_ci` (Kendall and Spearman).

    Returns ``(table, description)``, or ``(None, reason)`` when either file is not configured
    or not readable, or ``space`` (default: the table's) is another space, whose cells the
    published supernets never scored: a report then says so and skips the section. Nothing is cached (about 10-20 s
    on 2 CPU cores with the defaults)."""

    from nasviz.analysis.baselines import ranking_with_baselines_ci
    from nasviz.bench import NB201Table
    from nasviz.bench.published import ENV_SUPERNETS, PublishedSupernets

    if space is not None and get_space(space).name != get_space(PublishedSupernets.space).name:
        return None, (
            f'published paper-scale supernets exist for {PublishedSupernets.space} only, '
            f'not for {get_space(space).name}'
        )
    missing = [v for v in ('NASVIZ_NB201_TABLE', ENV_SUPERNETS) if not os.environ.get(v)]
    if missing:
        return None, (
            f'paper-scale reference skipped: {" and ".join(missing)} not set (point them at '
            'nb201_accuracy.csv and nb201_published_supernets.csv, as the Makefile does)'
        )
    try:
        bench, pub = NB201Table(), PublishedSupernets.load()
    except (OSError, ValueError) as err:
        return None, f'paper-scale reference skipped: {err}'
    archs = [a for a in bench.archs() if not a.is_degenerate]
    scores = {
        'one-shot supernet (published)': pub.scores(archs, 'oneshot'),
        'few-shot supernet (published)': pub.scores(archs, 'fewshot'),
    }
    table = ranking_with_baselines_ci(
        scores, bench, archs, ks=(), n_resamples=n_resamples, n_draws=n_draws, random_state=random_state
    )
    # files by name only: a page must not carry this machine's absolute paths
    return table, (
        f'{len(archs):,} non-degenerate NAS-Bench-201 cells, ground truth {bench.column()}'
        f' (read from {Path(bench.path).name}); supernet scores read from {Path(pub.name).name}'
    )


def compare_over_levels(
    settings: Profile,
    data,
    bench,
    archs: list[Architecture],
    methods=('spos', 'fewshot', 'random', 'gmnas', 'naslid'),
    seeds=(0, 1, 2),
    levels=(1,),
    progress: bool = True,
    **config_kw: Any,
) -> tuple[dict[int, Any], pd.DataFrame, dict]:
    """:func:`~nasviz.partition.compare.run_comparison` of ``methods`` over ``seeds`` on the same
    ``archs``, at each number of split ``levels`` (SPOS, which never splits, only at the first).
    Runs live under ``<cache>/compare/<hash>`` keyed as ``nasviz partition`` keys them, so a rerun
    (or the CLI with the same settings) reloads them.

    Returns ``({level: Comparison}, sweep, trees)``; ``sweep`` is
    :func:`~nasviz.analysis.seeds.levels_sweep` of the comparisons (one row per method and
    level, Kendall tau as mean ± SE over seeds); ``trees[(method, level, seed)]`` is the
    :class:`~nasviz.partition.tree.PartitionTree` of that run."""
    from dataclasses import replace

    from nasviz.partition.compare import run_comparison
    from nasviz.partition.pipeline import PartitionResult

    tc = train_config(settings)
    comps, trees = {}, {}
    for i, lv in enumerate(int(v) for v in levels):
        here = [m for m in methods if i == 0 or m != 'spos']
        if not here:
            continue
        base = partition_config(settings, 'spos', n_splits=lv, **config_kw)
        size = network_size(settings, data)
        work = cache_dir() / 'compare' / partition_key(base, tc, data, size, settings_space(settings), archs)
        comp = run_comparison(
            here,
            seeds,
            data,
            size,
            bench,
            archs,
            replace(base, seed=0),
            tc,
            work_dir=work,
            progress=progress,
            device=settings.device,
        )
        comps[lv] = comp
        for m in here:
            for sd in seeds:
                trees[(m, lv, int(sd))] = PartitionResult.load(work / f'{m}-seed{int(sd)}').tree
    return comps, levels_sweep(comps), trees


#: the data sets of the bias supernets this process trains, by their settings (one load per
#: data set and run: the driver's, or a worker's for the run's tasks)
_BIAS_DATA: dict[str, Any] = {}


def _bias_data(settings: Profile):
    key = repr((settings.dataset, settings.data))
    if key not in _BIAS_DATA:
        _BIAS_DATA[key] = load_data(settings)
    return _BIAS_DATA[key]


def _bias_supernet(
    settings: Profile, archs: list[Architecture], seed: int, first: bool, progress: bool
) -> dict[str, Any]:
    """One task of :func:`bias_inputs`: the SPOS supernet of (space, ``seed``), trained or loaded
    from its checkpoint in the cache, and its scores of ``archs``; for the ``first`` seed also
    the scores over training (``history``) and with each BN handling (``bn_scores``)."""
    data = _bias_data(settings)
    if not first:
        model, _ = spos_supernet(settings, data, seed=seed, progress=progress)
        return dict(
            scores=evaluate_cached(model, archs, data, settings, progress=progress)['score'].to_numpy(dtype=np.float64)
        )
    model, history = spos_supernet(settings, data, seed=seed, score_archs=archs, progress=progress)
    scores = evaluate_cached(model, archs, data, settings, progress=progress)['score'].to_numpy(dtype=np.float64)
    bn_scores = {'recalibrate': scores}
    for mode in BN_MODES:
        if mode != 'recalibrate':
            bn_scores[mode] = evaluate_cached(model, archs, data, settings, progress=progress, bn=mode)[
                'score'
            ].to_numpy(dtype=np.float64)
    return dict(scores=scores, bn_scores=bn_scores, history=history)


def _forget_bias_data() -> None:
    _BIAS_DATA.clear()


def bias_inputs(
    profile: str,
    spaces=('nb201', 'nb101', 'darts'),
    seed: int = 0,
    published: bool = True,
    progress: bool = True,
    epochs: int | None = None,
    n_eval: int | None = None,
    n_seeds: int = 1,
    track_every: int | None = None,
    other_spaces: dict[str, Any] | None = None,
    *,
    backend: str | None = None,
    workers: int | None = 1,
    address: str | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Predictors whose weight-sharing biases notebook 04 compares, with their cells and truth.

    For each space, the profile's SPOS supernet (``'<space>/spos'``; notebook 01's supernet for
    NB201, loaded from its checkpoint) scoring the profile's cells against the space's ground
    truth; with ``published`` and NB201 among the spaces, the paper-scale published NB201 one-shot
    and few-shot supernets over all 15,625 cells (``'published/oneshot'``, ``'published/fewshot'``).
    ``epochs``, ``n_eval`` and ``track_every`` (epochs between the checkpoints at which the cells
    are scored during training) override the profile's (None: the profile's, as notebook 01 uses);
    ``other_spaces`` (e.g. ``{'n_eval': 60, 'track_every': 5}``) overrides settings further for
    spaces other than NB201 only (whose supernets, unlike NB201's, no other notebook has trained).
    Returns ``(inputs, unavailable)``: ``inputs[name]`` holds ``archs``, ``scores``, ``truth``,
    ``params``, ``space`` (and, for our supernets, ``history`` and ``bn_scores``: the same cells
    scored with each BN handling of ``BN_MODES``, recalibration being ``scores``; with
    ``n_seeds`` > 1 also ``seed_scores``, seeds x cells, from supernets of seeds ``seed``,
    ``seed + 1``, ...: the first row is ``scores``); ``unavailable[name]`` says why an
    input could not be built (e.g. no micro benchmark of that space on the embedded data).

    Each (space, seed) supernet is one :mod:`nasviz.executor` task (train, or load from its
    checkpoint in the cache, then score the cells): ``backend`` (``None``: ``$NASVIZ_BACKEND``,
    else local), ``workers`` and ``address`` as for the other sweeps. The default, the local
    backend with one worker, trains them one after another in this process; otherwise each
    worker loads the data itself, trains with one torch thread and no bar of its own, and writes
    checkpoints and scores to its own cache (on several nodes: put ``$NASVIZ_CACHE`` on a shared
    file system, or a rerun trains again). The scores do not depend on where they ran (at equal
    torch thread counts: a worker uses one)."""
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 1:
        raise ValueError(f'n_seeds must be an integer >= 1, got {n_seeds!r}')
    ex = get_executor(backend, workers, address)  # a bad backend or a missing ray fails before any training
    in_process = ex.backend == 'local' and ex.workers == 1
    inputs: dict[str, dict[str, Any]] = {}
    unavailable: dict[str, str] = {}
    tasks: list[Task] = []
    found: dict[str, tuple[Profile, Any, list[Architecture]]] = {}
    for name in spaces:
        key = f'{get_space(name).name}/spos'
        try:
            extra = dict(other_spaces or {}) if get_space(name).name != 'nb201' else {}
            s = settings_for(
                profile,
                space=name,
                **{
                    'epochs': epochs,
                    'n_eval': n_eval,
                    'track_every': track_every,
                    **{k: v for k, v in extra.items() if v is not None},
                },
            )
            _bias_data(s)  # a data set that cannot be loaded makes the space unavailable
            bench = load_bench(s)
        except (ValueError, FileNotFoundError) as e:
            unavailable[key] = str(e)
            continue
        archs = eval_archs(s, bench, seed=seed)
        found[key] = (s, bench, archs)
        tasks += [
            Task((key, sd), (s, archs, sd, sd == seed, progress and in_process), **task_resources(s.device))
            for sd in range(seed, seed + int(n_seeds))
        ]
    got: dict[tuple[str, int], dict[str, Any]] = {}
    if not in_process:
        _forget_bias_data()  # loaded to check it; the workers load their own
    try:
        if in_process:  # one after another here, with this process's data and bars, as before executors
            ex.run(_bias_supernet, tasks, got.__setitem__, progress=False)
        else:
            ex.run(
                _bias_supernet,
                tasks,
                got.__setitem__,
                initializer=_forget_bias_data,
                progress=progress,
                desc='bias supernets',
                unit='supernet',
            )
    finally:
        _forget_bias_data()  # the data need not outlive the trainings
    for key, (s, bench, archs) in found.items():
        first = got[(key, seed)]
        seed_scores = [got[(key, sd)]['scores'] for sd in range(seed, seed + int(n_seeds))]
        inputs[key] = dict(
            archs=archs,
            scores=first['scores'],
            truth=bench.accuracies(archs),
            bn_scores=first['bn_scores'],
            params=bench.params_many(archs),
            space=s.space,
            history=first['history'],
            **({'seed_scores': np.stack(seed_scores)} if len(seed_scores) > 1 else {}),
            truth_name=('the micro benchmark' if s.bench == 'micro' else f'the {s.space} table'),
        )
    if published and 'nb201' in [get_space(n).name for n in spaces]:
        from nasviz.bench import NB201Table
        from nasviz.bench.published import ENV_SUPERNETS, PublishedSupernets

        missing = [v for v in ('NASVIZ_NB201_TABLE', ENV_SUPERNETS) if not os.environ.get(v)]
        if missing:
            for which in ('oneshot', 'fewshot'):
                unavailable[f'published/{which}'] = (
                    f'set {" and ".join(missing)} (the Makefile points them at ../shared/data/nb201/)'
                )
        else:
            bench, pub = NB201Table(), PublishedSupernets.load()
            cells = list(bench.archs())
            truth, params = bench.accuracies(cells), bench.params_many(cells)
            for which in ('oneshot', 'fewshot'):
                inputs[f'published/{which}'] = dict(
                    archs=cells,
                    scores=pub.scores(cells, which),
                    truth=truth,
                    params=params,
                    space='nb201',
                    truth_name='the NB201 table (CIFAR-10 test accuracy after 200 epochs)',
                )
    return inputs, unavailable
