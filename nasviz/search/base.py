"""What every search method shares: its config, its result, the data split it searches on,
and the ground truth its final cell is judged by.

Equal budget: every method sees the same data, split once (seeded, fixed) into a *search-train*
half (network weights) and a *held-out* half (architecture variables, or candidate scores);
the test split is never seen during a search. ``epochs`` passes over the search-train half are
the budget of every method: ISTA-NAS and DARTS interleave one held-out batch per training batch,
SPOS trains its supernet for those epochs and then scores ``n_candidates`` cells on the held-out
half, random search spends the same training steps on ``n_candidates`` standalone cells.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasviz.bench.micro import MicroBench, default_path
from nasviz.cache import cached
from nasviz.checkpoint import zip_intact
from nasviz.data import ImageData, iterate_batches, load_dataset
from nasviz.io import load_checked
from nasviz.ownership import claim
from nasviz.search.groups import search_groups
from nasviz.search.names import SEARCH_METHODS
from nasviz.supernet.evaluate import accuracy
from nasviz.supernet.train import TrainConfig, train_supernet
from nasviz.validate import check_count, check_int


def check_lambda(lam: float, name: str = 'lam') -> float:
    """``lam`` as a float > 0 (``ValueError`` naming it otherwise)."""
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating, np.integer)):
        raise ValueError(f'{name} must be a number > 0, got {lam!r}')
    lam = float(lam)
    if not math.isfinite(lam) or lam <= 0:
        raise ValueError(f'{name} must be a number > 0, got {lam!r}')
    return lam


@dataclass(frozen=True)
class SearchConfig:
    """Hyperparameters of one search (saved beside its result; part of its cache key).

    Network weights: SGD (``lr``, nesterov momentum 0.9, weight decay, cosine schedule, grad clip
    5) as in :class:`~nasviz.supernet.train.TrainConfig`. Architecture variables (ISTA's ``b``,
    DARTS' ``alpha``): Adam with ``arch_lr``, betas (0.5, 0.999), ``arch_weight_decay`` (DARTS
    only: ISTA-NAS leaves ``b`` undecayed, decay would pull every code to the empty one, ``none``).
    ISTA-NAS: ``lam`` (LASSO weight), ``m`` (compressed dimension per decision group: an NB201
    edge, a DARTS node), ``fista_iters``,
    ``nonneg`` (z >= 0: op weights stay mixing weights). SPOS-RS and random search:
    ``n_candidates`` cells evaluated.

    ``one_stage`` (ISTA-NAS only): after the ``epochs`` of search, the support is fixed and the
    same network weights train on for ``final_epochs`` more epochs (default: ``epochs``) on the
    whole training split; see :func:`nasviz.search.one_stage.train_fixed_support`. Configs without
    it keep the cache keys and checkpoints they had before the option existed (:func:`config_key`).
    """

    method: str = 'ista'
    #: the search space (``'nb201'`` or ``'darts'``; see :mod:`nasviz.search.groups`)
    space: str = 'nb201'
    C: int = 8
    N: int = 1
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    weight_decay: float = 5e-4
    arch_lr: float = 0.01
    arch_weight_decay: float = 1e-3
    lam: float = 0.1
    m: int = 3
    fista_iters: int = 200
    nonneg: bool = True
    n_candidates: int = 20
    recal_batches: int = 4
    score: str = 'accuracy'
    seed: int = 0
    #: ISTA-NAS one-stage: fix the support after search, keep training the same weights
    one_stage: bool = False
    #: epochs of that final training (None: as many as ``epochs``; only with ``one_stage``)
    final_epochs: int | None = None

    def __post_init__(self) -> None:
        if self.method not in SEARCH_METHODS:
            raise ValueError(f'unknown method {self.method!r}; valid: {", ".join(SEARCH_METHODS)}')
        search_groups(self.space)  # a space without a search implementation fails here, naming those with one
        for name in ('C', 'N', 'epochs', 'batch_size', 'fista_iters'):
            check_count(getattr(self, name), name)
        check_count(self.m, 'm')
        check_count(self.n_candidates, 'n_candidates', minimum=1)
        check_int(self.recal_batches, 'recal_batches', 0)
        check_int(self.seed, 'seed', 0)
        check_lambda(self.lam, 'lam')
        for name in ('lr', 'arch_lr'):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f'{name} must be a number > 0, got {v!r}')
        if self.score not in ('accuracy', 'loss'):
            raise ValueError(f"score must be 'accuracy' or 'loss', got {self.score!r}")
        if not isinstance(self.one_stage, bool):
            raise ValueError(f'one_stage must be True or False, got {self.one_stage!r}')
        if self.one_stage and self.method != 'ista':
            raise ValueError(
                f'one_stage is an ISTA-NAS option (method ista); method {self.method!r} has no one-stage variant'
            )
        if self.final_epochs is not None:
            if not self.one_stage:
                raise ValueError(
                    f'final_epochs={self.final_epochs!r} needs one_stage=True (the epochs of training '
                    'after the support is fixed)'
                )
            check_count(self.final_epochs, 'final_epochs')

    @property
    def n_final_epochs(self) -> int:
        """Epochs of fixed-support training after the search (0 unless ``one_stage``)."""
        if not self.one_stage:
            return 0
        return self.epochs if self.final_epochs is None else int(self.final_epochs)


def config_key(cfg: SearchConfig) -> dict[str, Any]:
    """The config as a dict for cache keys and checkpoints: ``asdict(cfg)`` without the
    one-stage fields when ``one_stage`` is off, so searches cached or checkpointed before the
    option existed are found again."""
    d = asdict(cfg)
    if not cfg.one_stage:
        d.pop('one_stage')
        d.pop('final_epochs')
    return d


def resume_checkpoint(
    ckpt: Path | None, cfg: SearchConfig, parts: dict[str, Any], keys: tuple[str, ...] = (), what: str = 'search'
) -> dict[str, Any] | None:
    """The state saved in checkpoint ``ckpt`` of a search with config ``cfg``, or None (no
    checkpoint, or one that cannot be read: :func:`nasviz.io.load_checked` sets it aside).

    A checkpoint holds ``epoch``, ``rows``, ``config`` and, for every name in ``parts``, the state
    dict of that object (a module, an optimiser, a schedule), which is loaded back into it here;
    ``keys`` names the further entries the caller restores itself. A checkpoint of another config
    is refused with an error that names it, never resumed."""
    if ckpt is None:
        return None
    claim(ckpt.parent, (ckpt.name, ckpt.name + '.sha256'), 'checkpoint_dir')  # never a user's file
    need = {'epoch', 'rows', 'config', *parts, *keys}
    state = load_checked(
        ckpt, lambda p: torch.load(p, weights_only=False), validate=lambda st: need <= set(st), intact=zip_intact
    )
    if state is None:
        return None
    if state['config'] != config_key(cfg):
        raise ValueError(f'{ckpt} holds a {what} of another config; use a fresh checkpoint_dir')
    for name, obj in parts.items():
        obj.load_state_dict(state[name])
    return state


@dataclass
class SearchResult:
    """One search: the cell it returns and how it got there.

    ``history``: one row per epoch (``epoch``, ``arch`` = the cell the search would return
    then, ``support_changes`` = steps in that epoch whose cell differed from the step before,
    ``train_loss``/``train_acc`` on search-train batches, and per method: ISTA ``weights`` (the
    code z as network weights: NB201 6 x 5, DARTS 2 x 14 x 7), ``recovery_error``, ``block_gap``;
    DARTS ``weights`` (softmax of alpha)).
    ``candidates``: for SPOS-RS and random search, every evaluated cell with its held-out score.
    ``step``: cost of one search step (``w_step_s``, ``arch_step_s`` seconds; ``saved_mib``:
    activation memory autograd keeps for the backward of one weight step).
    ``true_accuracy``/``ground_truth``/``truth_source`` are set by :func:`nasviz.search.run_search`.
    One-stage ISTA-NAS (``config.one_stage``) adds ``final_history`` (one row per epoch of
    fixed-support training: ``epoch``, ``arch`` = the cell the code supports then, which stays the
    found cell, ``train_loss``, ``train_acc``, ``seconds``) and ``network_accuracy`` /
    ``network_loss``: the trained network's own test accuracy (%) and loss on the profile's test
    split, beside the cell's ``true_accuracy`` from the ground truth.
    """

    method: str
    arch: Any
    config: SearchConfig
    search_seconds: float
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    candidates: pd.DataFrame | None = None
    step: dict[str, float] = field(default_factory=dict)
    true_accuracy: float | None = None
    ground_truth: str | None = None
    truth_source: str | None = None
    final_history: pd.DataFrame | None = None
    network_accuracy: float | None = None
    network_loss: float | None = None

    @property
    def seed(self) -> int:
        return self.config.seed

    def support_history(self) -> list[str]:
        h = self.history
        return [str(a) for a in h['arch']] if len(h) and 'arch' in h.columns else []

    def support_labels(self) -> list[list[tuple[str, str]]]:
        """Per epoch, the ``(edge, op)`` entries of :meth:`weights_frame` the selected cell uses."""
        groups = search_groups(self.config.space)
        return [groups.chosen_labels(a) for a in self.history['arch']] if len(self.history) else []

    def weights_frame(self) -> pd.DataFrame:
        """Long frame of the per-epoch weights (``epoch``, ``edge``, ``op``, ``value``; a DARTS
        edge is named ``'<cell>.<input>-><node>'``)."""
        if 'weights' not in self.history.columns:
            return pd.DataFrame(columns=['epoch', 'edge', 'op', 'value'])
        labels = search_groups(self.config.space).weight_labels()
        rows = [
            dict(epoch=int(r.epoch), edge=e, op=o, value=float(v))
            for r in self.history.itertuples()
            for (e, o), v in zip(labels, np.asarray(r.weights, dtype=np.float64).ravel())
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``nasviz search --out`` file)."""
        out: dict[str, Any] = dict(
            arch=str(self.arch),
            true_accuracy=self.true_accuracy,
            ground_truth=self.ground_truth,
            truth_source=self.truth_source,
            search_seconds=round(float(self.search_seconds), 3),
            method=self.method,
            space=self.config.space,
            seed=self.config.seed,
            config=asdict(self.config),
            step={k: float(v) for k, v in self.step.items()},
            support_history=self.support_history(),
        )
        h = self.history
        for col in ('support_changes', 'recovery_error', 'block_gap', 'train_loss', 'train_acc'):
            if col in h.columns:
                out[col] = [None if pd.isna(v) else float(v) for v in h[col]]
        if 'weights' in h.columns and len(h):
            out['final_weights'] = np.asarray(h['weights'].iloc[-1], dtype=np.float64).tolist()
        if self.candidates is not None:
            out['n_candidates'] = int(len(self.candidates))
        if self.config.one_stage:
            f = self.final_history if self.final_history is not None else pd.DataFrame()
            out.update(
                one_stage=True,
                final_epochs=self.config.n_final_epochs,
                network_test_accuracy=None if self.network_accuracy is None else float(self.network_accuracy),
                network_test_loss=None if self.network_loss is None else float(self.network_loss),
                final_support_history=[str(a) for a in f.get('arch', [])],
                final_train_loss=[float(v) for v in f.get('train_loss', [])],
                final_train_acc=[float(v) for v in f.get('train_acc', [])],
                final_seconds=float(f['seconds'].sum()) if 'seconds' in f else None,
            )
        return out


# ---------------------------------------------------------------------------------------------
# Data: search-train / held-out halves
# ---------------------------------------------------------------------------------------------
def split_for_search(data: ImageData, random_state: int = 0) -> ImageData:
    """The search view of ``data``: ``x_train`` = the search-train half of the training split,
    ``x_test`` = the held-out half (so evaluation helpers that score on ``test`` score on
    held-out data). Warped views of one digit stay on one side (digits data stores view ``v`` of
    digit ``i`` at row ``v * n_train + i``). The real test split is not part of it."""
    n = int(data.x_train.shape[0])
    views = int(data.info.get('train_views') or 1)
    base = n // views if views > 1 and n % views == 0 else n
    perm = np.random.default_rng(random_state).permutation(base)
    held_ids = np.zeros(base, dtype=bool)
    held_ids[perm[: base // 2]] = True
    held = held_ids[np.arange(n) % base]
    tr, ho = torch.from_numpy(np.flatnonzero(~held)), torch.from_numpy(np.flatnonzero(held))
    return ImageData(
        data.name,
        data.x_train[tr],
        data.y_train[tr],
        data.x_train[ho],
        data.y_train[ho],
        data.num_classes,
        data_id=f'{data.data_id}-search{random_state}',
        augment=data.augment,
        info=dict(data.info, search_split=random_state),
    )


def epoch_generator(seed: int, epoch: int, stream: int = 0) -> torch.Generator:
    """Batch order and augmentation of one epoch, from ``(seed, epoch, stream)`` only."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch) * 101 + int(stream))


def cycle_batches(data: ImageData, batch_size: int, seed: int, epoch: int):
    """Held-out batches without end (reshuffled each pass), for the architecture steps."""
    k = 0
    while True:
        g = epoch_generator(seed, epoch * 1000 + k, stream=1)
        yield from iterate_batches(data.x_test, data.y_test, batch_size, g, augment=data.augment)
        k += 1


def weight_optimizer(params, cfg: SearchConfig, steps_total: int):
    """SGD + cosine schedule, as :mod:`nasviz.supernet.train` uses."""
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay, nesterov=True)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1.0 + math.cos(math.pi * min(s, steps_total) / steps_total))
    )
    return opt, sched


def arch_optimizer(params, cfg: SearchConfig, weight_decay: float | None = None):
    wd = cfg.arch_weight_decay if weight_decay is None else weight_decay
    return torch.optim.Adam(params, lr=cfg.arch_lr, betas=(0.5, 0.999), weight_decay=wd)


def clip_step(model: nn.Module, opt: torch.optim.Optimizer, sched) -> None:
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    sched.step()


# ---------------------------------------------------------------------------------------------
# Ground truth of a found cell
# ---------------------------------------------------------------------------------------------
def _space_of(bench: Any) -> str:
    """The search space of a ground truth (a micro benchmark's recipe, or a table's ``space``)."""
    if isinstance(bench, MicroBench):
        return bench.space.name
    return str(getattr(bench, 'space', 'nb201'))


def _train_with_recipe(recipe: dict, arch: Any, seed: int) -> float:
    """Test accuracy (%) of ``arch`` trained standalone with the micro benchmark's recipe and
    seed (the same steps as ``nasviz build-microbench``: seeded init, the standalone network of
    the recipe's space and size, TrainConfig of the recipe, accuracy on the test split)."""

    data = load_dataset(recipe['dataset'], **recipe['data'])
    torch.manual_seed(seed)
    net = search_groups(recipe.get('space', 'nb201')).recipe_network(recipe, arch, data.num_classes, data.in_channels)
    cfg = TrainConfig(
        epochs=recipe['epochs'],
        batch_size=recipe['batch_size'],
        lr=recipe['lr'],
        weight_decay=recipe['weight_decay'],
        seed=seed,
    )
    train_supernet(net, data, cfg, progress=False)
    acc, _ = accuracy(net, arch, data.x_test, data.y_test)
    return float(acc)


#: the micro benchmark recipe keys that decide a cell's accuracy (spaces other than NB201 add
#: ``space`` and ``size``; NB201 recipes keep these keys, so their cached cells are found)
_RECIPE_KEYS = ('dataset', 'data', 'C', 'N', 'epochs', 'batch_size', 'lr', 'weight_decay')


def _recipe_key(recipe: dict) -> dict:
    rec = {k: recipe.get(k) for k in _RECIPE_KEYS}
    if recipe.get('space', 'nb201') != 'nb201':
        rec.update(space=recipe['space'], size=recipe.get('size'))
    return rec


def extra_truth_path(space: str = 'nb201') -> Path:
    """Cells found by searches that the micro benchmark does not hold, trained with its recipe
    and seeds (written by :func:`extend_truth`). NB201: ``$NASVIZ_SEARCH_TRUTH`` if set, else
    ``data/microbench_search_cells.csv`` beside the micro benchmark; another space: the same name
    with ``_<space>`` before the suffix (``microbench_search_cells_darts.csv``)."""
    env = os.environ.get('NASVIZ_SEARCH_TRUTH')
    path = Path(env) if env else default_path().with_name('microbench_search_cells.csv')
    return path if space == 'nb201' else path.with_name(f'{path.stem}_{space}{path.suffix}')


def _same_recipe(a: dict, b: dict) -> bool:
    return json.dumps(_recipe_key(a), sort_keys=True) == json.dumps(_recipe_key(b), sort_keys=True)


def _extra_bench(bench: Any):
    """The extension table when it exists and was made with ``bench``'s recipe and seeds."""
    path = extra_truth_path(_space_of(bench))
    if not path.is_file():
        return None
    extra = MicroBench.load(path)
    if not _same_recipe(extra.recipe, bench.recipe) or extra.seeds != bench.seeds:
        return None
    return extra


def _recipe_accuracies(arch: Any, bench: Any, cache: bool = True) -> list[float]:
    rec = _recipe_key(bench.recipe)
    return [
        cached(
            'search_truth',
            (rec, str(arch), int(s)),
            functools.partial(_train_with_recipe, rec, arch, int(s)),
            cache=cache,
        )
        for s in bench.seeds
    ]


#: what a benchmark table's accuracy is, per space
_TABLE_TRUTH = {
    'nb201': 'NAS-Bench-201 table (cifar10 test accuracy, 200 epochs)',
    'darts': 'NAS-Bench-301 table (cifar10 validation accuracy)',
}


class NoGroundTruth(ValueError):
    """The found cell has no real ground truth in the profile's benchmark (never invented)."""


def true_accuracy(arch: Any, bench: Any, cache: bool = True) -> tuple[float, str, str]:
    """``(accuracy %, ground-truth name, source)`` of ``arch``.

    NB201 table: CIFAR-10 test accuracy (200 epochs). NAS-Bench-301 table: its validation
    accuracy, for a genotype the table holds (a :class:`NoGroundTruth` ``ValueError`` otherwise:
    the table is a sample of the space and no accuracy is invented). Micro benchmark (any space):
    its seed mean, for the cell or an isomorphic one; a cell it does not cover comes from the
    extension table (:func:`extra_truth_path`) when that holds it, else it is trained standalone
    with the benchmark's own recipe for every one of its seeds (cached) and the mean is returned.
    """
    space = _space_of(bench)
    arch = search_groups(space).to_arch(arch)
    if not isinstance(bench, MicroBench):
        name = _TABLE_TRUTH.get(space, f'{space} benchmark table')
        try:
            return float(bench.accuracy(arch)), name, 'benchmark'
        except KeyError:
            n = len(bench.archs()) if hasattr(bench, 'archs') else None
            raise NoGroundTruth(
                f'no ground truth for the found cell {arch}: the {name} holds '
                f'{f"{n:,} " if n else ""}genotypes and not this one, and none is invented; use --profile '
                'tiny, where a found cell the micro benchmark lacks is trained with its own recipe'
            ) from None
    name = 'micro benchmark (test accuracy, mean over its seeds)'
    try:
        return bench.accuracy(arch), name, 'benchmark'
    except KeyError:
        pass
    how = f'not in the benchmark: trained standalone with its recipe, seeds {list(bench.seeds)}'
    extra = _extra_bench(bench)
    if extra is not None:
        try:
            return extra.accuracy(arch), name, f'{how} ({extra_truth_path(space).name})'
        except KeyError:
            pass
    return float(np.mean(_recipe_accuracies(arch, bench, cache))), name, how


def extend_truth(archs, bench: Any, path: str | os.PathLike | None = None, cache: bool = True) -> Path | None:
    """Train every cell of ``archs`` that neither the micro benchmark nor the extension table
    holds (recipe and seeds of ``bench``; cached), and add it to the extension table (atomic
    write). Returns the table's path (None when nothing was missing and no table exists)."""
    space = _space_of(bench)
    groups = search_groups(space)
    path = Path(path) if path is not None else extra_truth_path(space)
    old = MicroBench.load(path) if path.is_file() else None
    if old is not None and (not _same_recipe(old.recipe, bench.recipe) or old.seeds != bench.seeds):
        raise ValueError(f'{path} holds cells of another recipe or seeds; move it away first')
    rows = [] if old is None else old.to_frame().drop(columns='arch').to_dict('records')
    have = {r['arch_str'] for r in rows}
    added = 0
    for a in sorted({str(groups.to_arch(a)) for a in archs}):
        arch = groups.to_arch(a)
        try:
            bench.accuracy(arch)
            continue
        except KeyError:
            pass
        if a in have:
            continue
        accs = _recipe_accuracies(arch, bench, cache)
        rows.append(
            dict(
                arch_str=a,
                params=groups.recipe_params(bench.recipe, arch),
                **{f'acc_seed{s}': round(v, 4) for s, v in zip(bench.seeds, accs)},
            )
        )
        have.add(a)
        added += 1
    if not rows:
        return None
    if added or old is None:
        df = pd.DataFrame(rows).drop(columns=['canonical', 'degenerate', 'accuracy'], errors='ignore')
        df = df.sort_values('arch_str').reset_index(drop=True)
        recipe = dict(
            bench.recipe,
            note='cells found by nasviz.search that the micro benchmark does not hold; '
            'same recipe and seeds (nasviz.search.base.extend_truth)',
        )
        MicroBench.from_frame(df, recipe).save(path)
    return path


def timed(fn):
    """``(fn(), seconds)``."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


__all__ = [
    'check_lambda',
    'SEARCH_METHODS',
    'SearchConfig',
    'config_key',
    'SearchResult',
    'split_for_search',
    'true_accuracy',
    'NoGroundTruth',
    'extend_truth',
    'extra_truth_path',
    'epoch_generator',
    'cycle_batches',
]
