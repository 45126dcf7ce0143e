"""Few-shot NAS end to end: train a supernet, split it into sub-supernets, rank cells.

Five methods share one code path (:func:`run_partition`):

* ``'spos'``    -- no split: one supernet trained for the whole budget (Guo et al. 2020);
* ``'fewshot'`` -- one child per op of one edge (Zhao et al. 2021);
* ``'random'``  -- a random balanced split into ``k`` groups on a random edge (the control);
* ``'gmnas'``   -- groups of ops whose gradients on the shared weights agree (GM-NAS, Hu et al.
  2022), edge chosen by ``criterion``;
* ``'naslid'``  -- groups of ops with similar layer-wise LID profiles (NAS-LID, He et al. 2023),
  edge chosen by ``criterion``.

Which edge is split
    ``gmnas``/``naslid`` compute the op x op similarity of every edge that still has at least
    ``k`` ops (on the parent, within its mask, right after it trained) and let
    :func:`~nasviz.partition.split.choose_edge` pick edge and groups. ``fewshot`` splits the
    lowest-index edge that still has two or more ops (edge 0, ``0->1``, at the root; the next edge
    one level down, since edge 0 is then down to one op). ``random`` draws the edge uniformly,
    seeded by ``(seed, node id)``, among edges with at least ``k`` ops. ``PartitionConfig.edge``
    fixes the edge of the *root* split for every method (deeper levels use the rules above);
    only the groups are then computed.

Budget (fair comparison)
    ``total_epochs`` supernet-epochs per method. SPOS trains its one supernet for all of them.
    Split methods train the root for ``warmup_epochs``; the rest, ``R = total - warmup``, is
    divided evenly over the ``n_splits`` levels (earlier levels take the remainder), and a
    level's share evenly over the nodes that level creates, in depth-first order, the first
    nodes taking the remainder. Every node trains at least one epoch; a configuration that
    cannot give that raises ``ValueError`` before training. So the epochs summed over all tree
    nodes equal ``total_epochs`` exactly. With ``equal_per_child=True`` every node of a level
    trains the level's whole share instead (the papers' setting, where compute grows with the
    number of children): each root-to-leaf path then sees ``total_epochs``. Each node's epochs
    are stored in ``tree[node].info['epochs']``.

Training a child
    A child starts from a copy of its parent's weights taken right after the parent trained
    (before features are measured, so measuring cannot leak into the child), gets a fresh
    optimizer and its own cosine schedule, and samples paths only inside its mask. Seeds are
    derived from ``(PartitionConfig.seed, TrainConfig.seed, node id)``.

Resume
    With ``work_dir`` each node trains with ``checkpoint_dir=work_dir/<node_id>``, writes its
    split decision to ``split.json`` there and each leaf its scores to ``eval.csv``, so a killed
    run restarts where it stopped and a finished one reloads in seconds with the same frame.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nasviz.io import atomic_write_text
from nasviz.ownership import claim
from nasviz.partition.budget import check_budget, expected_level_sizes, level_budgets, share_epochs
from nasviz.partition.config import FEATURE_KIND, PARTITION_METHODS, SPLIT_METHODS, PartitionConfig
from nasviz.partition.result import PartitionResult
from nasviz.partition.rules import candidate_edges, min_ops, seed_for, structural_split
from nasviz.partition.split import choose_edge
from nasviz.partition.tree import PartitionTree
from nasviz.spaces import Architecture, SlotMask, get_space

if TYPE_CHECKING:  # torch loads only when a pipeline actually runs
    import torch

    from nasviz.data import ImageData
    from nasviz.supernet.train import TrainConfig

__all__ = [
    'PARTITION_METHODS',
    'SPLIT_METHODS',
    'FEATURE_KIND',
    'PartitionConfig',
    'PartitionResult',
    'run_partition',
    'level_budgets',
    'share_epochs',
]


# ---------------------------------------------------------------------------------------------
# helpers of run_partition
# ---------------------------------------------------------------------------------------------
def prepare_archs(archs: Iterable[Architecture | str] | None, bench: Any, mask: SlotMask, seed: int) -> list:
    """The cells to partition: ``archs`` checked (no duplicates, all inside ``mask``), or, when None,
    the benchmark's own cells inside ``mask`` (else 100 seeded samples of it)."""
    space = get_space(mask.space)
    if archs is None:
        if bench is not None:
            # a benchmark's own cells inside the mask: every one has a ground truth
            out = [a for a in bench.archs() if mask.contains(a)]
        else:
            out = space.sample(min(100, mask.size), mask, rng=seed)
    else:
        if isinstance(archs, str) or hasattr(archs, 'space'):
            raise ValueError('archs must be a collection of cells, not a single cell')
        out = [space.check(a, 'archs') for a in archs]
    if not out:
        raise ValueError('archs is empty: nothing to evaluate')
    strs = [space.to_str(a) for a in out]
    if len(set(strs)) != len(strs):
        dup = next(s for s in strs if strs.count(s) > 1)
        raise ValueError(f'archs holds duplicates (e.g. {dup})')
    outside = [a for a in out if not mask.contains(a)]
    if outside:
        raise ValueError(f'{len(outside)} arch(s) lie outside the root mask ({mask.describe()}), e.g. {outside[0]}')
    return out


def _truth(bench: Any, archs: Sequence[Architecture], dataset: str | None, metric: str | None) -> np.ndarray:
    kw = {k: v for k, v in (('dataset', dataset), ('metric', metric)) if v is not None}
    try:
        vals = np.asarray(bench.accuracies(archs, **kw), dtype=np.float64)
    except KeyError as err:
        # find the first missing cell so the message names it
        for a in archs:
            try:
                bench.accuracy(a, **kw)
            except KeyError:
                raise ValueError(f'the benchmark has no accuracy for {a}: every arch needs a ground truth') from err
        raise ValueError(f'benchmark lookup failed: {err}') from err
    if np.isnan(vals).any():
        bad = archs[int(np.argmax(np.isnan(vals)))]
        raise ValueError(f'the benchmark has no accuracy for {bad} (NaN)')
    return vals


def _params(bench: Any, archs: Sequence[Architecture]) -> np.ndarray | None:
    try:
        if hasattr(bench, 'params_many'):
            return np.asarray(bench.params_many(archs), dtype=np.float64)
        return np.array([bench.params(a) for a in archs], dtype=np.float64)
    except (KeyError, ValueError, AttributeError, NotImplementedError):
        return None  # params are extra information; a benchmark without them is fine


def usable_ks(n: int, ks: Sequence[int | float]) -> tuple[int | float, ...]:
    """Drop integer k larger than the number of cells (rank_metrics would refuse them)."""
    return tuple(k for k in ks if not (isinstance(k, (int, np.integer)) and k > n))


def _edge_similarities(
    model: torch.nn.Module,
    data: ImageData,
    mask: SlotMask,
    config: PartitionConfig,
    edges: Sequence[int],
    device: Any,
    progress: bool,
) -> dict[int, pd.DataFrame]:
    """Op x op similarity of each edge, from ``nasviz.features.ops`` (one seam for tests)."""
    from nasviz.features.ops import edge_similarities

    feats = edge_similarities(
        model,
        data,
        mask=mask,
        config=config.feature_config(),
        edges=list(edges),
        cache=False,
        device=device,
        progress=progress,
    )
    return {int(e): f.similarity for e, f in feats.items()}


def _jsonable_scores(scores: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for edge, r in scores.iterrows():

        def num(x: Any) -> float | None:
            return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

        rows.append(
            dict(
                edge=int(edge),
                edge_name=str(r['edge_name']),
                n_ops=int(r['n_ops']),
                within=num(r['within']),
                between=num(r['between']),
                n_candidates=int(r['n_candidates']),
                groups=None if r['groups'] is None else [[str(o) for o in g] for g in r['groups']],
                chosen=bool(r['chosen']),
            )
        )
    return rows


def _feature_split(
    model: torch.nn.Module,
    data: ImageData,
    mask: SlotMask,
    node_id: str,
    config: PartitionConfig,
    is_root: bool,
    device: Any,
    progress: bool,
) -> tuple[int, list[list[str]], str, list[dict[str, Any]]] | None:
    cands = candidate_edges(mask, config, is_root)
    if not cands:
        return None
    sims = _edge_similarities(model, data, mask, config, cands, device, progress)
    for e in cands:
        if e not in sims:
            raise RuntimeError(f'edge_similarities returned no matrix for edge {e}')
        labels = set(mask.choices_at(e))
        got = set(map(str, sims[e].index))
        if got != labels:
            raise RuntimeError(
                f'similarity of edge {e} is labelled {sorted(got)}, expected the ops allowed there {sorted(labels)}'
            )
    sims = {e: sims[e] for e in cands}
    edge, groups, scores = choose_edge(
        sims,
        k=config.k,
        method=config.split_method,
        criterion=config.criterion,
        random_state=seed_for('split', config.seed, node_id),
        balanced=config.balanced,
        space=mask.space,
    )
    rule = 'fixed' if is_root and config.edge is not None else config.criterion
    return int(edge), [[str(o) for o in g] for g in groups], rule, _jsonable_scores(scores)


def _run_guard(work_dir: Path, record: dict[str, Any]) -> None:
    """Refuse to resume a work_dir that belongs to another configuration."""
    path = work_dir / 'run.json'
    text = json.dumps(record, indent=1, sort_keys=True, default=str)
    claim(work_dir, ['run.json'], 'work_dir')  # a run.json nasviz did not write is never replaced
    if path.is_file():
        old = json.loads(path.read_text(encoding='utf-8'))
        if isinstance(old.get('partition'), dict):  # runs from before spaces were plug-ins were NB201
            old['partition'].setdefault('space', 'nb201')
        if old != json.loads(text):
            diff = sorted(k for k in set(old) | set(record) if old.get(k) != json.loads(text).get(k))
            raise ValueError(
                f'{work_dir} holds a run with another configuration (differs in {diff}); use a fresh work_dir'
            )
        return
    atomic_write_text(path, text)


def _evaluate_leaf(
    model: torch.nn.Module,
    archs: Sequence[Architecture],
    data: ImageData,
    config: PartitionConfig,
    node_dir: Path | None,
    progress: bool,
    device: Any,
) -> pd.DataFrame:
    """Scores of ``archs`` with one leaf's weights; reuses rows stored in ``node_dir/eval.csv``."""
    from nasviz.supernet.evaluate import evaluate_archs

    known = pd.DataFrame(columns=['arch_str', 'score', 'loss'])
    path = node_dir / 'eval.csv' if node_dir is not None else None
    meta: dict[str, Any] = dict(recal_batches=config.recal_batches, eval_samples=config.eval_samples)
    if config.score != 'accuracy':  # older eval.csv files (accuracy) stay valid
        meta['score'] = config.score
    if path is not None and path.is_file():
        head, _, body = path.read_text(encoding='utf-8').partition('\n')
        if head == '# ' + json.dumps(meta, sort_keys=True):
            import io

            known = pd.read_csv(io.StringIO(body), dtype={'arch_str': str})
    to_str = get_space(config.space).to_str
    have = set(known['arch_str'])
    todo = [a for a in archs if to_str(a) not in have]
    if todo:
        new = evaluate_archs(
            model,
            todo,
            data,
            recal_batches=config.recal_batches,
            max_samples=config.eval_samples,
            progress=progress,
            device=device,
            score=config.score,
        )[['arch_str', 'score', 'loss']]
        known = new if known.empty else pd.concat([known, new], ignore_index=True)
        if path is not None:
            claim(path.parent, ['eval.csv'], 'work_dir')
            atomic_write_text(
                path, '# ' + json.dumps(meta, sort_keys=True) + '\n' + known.to_csv(index=False, lineterminator='\n')
            )
    return known.set_index('arch_str').loc[[to_str(a) for a in archs]].reset_index()


# ---------------------------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------------------------
def run_partition(
    config: PartitionConfig,
    data: ImageData,
    size: dict[str, Any] | None = None,
    train_config: TrainConfig | None = None,
    archs: Iterable[Architecture | str] | None = None,
    bench: Any = None,
    work_dir: str | os.PathLike | None = None,
    progress: bool = True,
    device: Any = None,
    *,
    mask: SlotMask | None = None,
    dataset: str | None = None,
    metric: str | None = None,
    ks: Sequence[int | float] = (10, 0.1),
) -> PartitionResult:
    """Train, split and evaluate one method (see the module docstring for the rules).

    ``train_config`` gives the optimiser settings; its ``epochs`` is replaced per node by the
    budget rule. ``archs`` (Architecture or official strings) are scored, each by the leaf supernet that
    contains it; default: the benchmark's cells inside ``mask`` when ``bench`` is given, else 100
    cells sampled from ``mask`` (default: the whole space). ``bench`` supplies ``truth`` (via
    ``bench.accuracies(archs, dataset, metric)``, defaults of the bench unless given) and
    ``params``, and enables ``metrics`` (``rank_metrics`` with top-k at ``ks``; integer k larger
    than the number of cells are dropped). With ``work_dir`` the run is resumable and its result
    is saved there (:meth:`PartitionResult.save`).

    The supernets are ``get_space(config.space).build_supernet(mask=..., **size)``: ``size`` is
    the space's size arguments (``space.default_size(profile)``; default: the benchmark's
    network), with the data's classes and channels.
    """
    import torch

    from nasviz.supernet.train import TrainConfig, train_supernet

    if not isinstance(config, PartitionConfig):
        raise ValueError(f'config must be a PartitionConfig, got {type(config).__name__}')
    train_config = TrainConfig() if train_config is None else train_config
    space = get_space(config.space)
    root_mask = space.root_mask() if mask is None else mask
    if getattr(root_mask, 'space', None) != space.name:
        raise ValueError(f'mask belongs to space {getattr(root_mask, "space", None)!r}, the config to {space.name!r}')
    net_size = space.check_size(space.default_size('benchmark') if size is None else size)
    net_size.update(num_classes=data.num_classes, in_channels=data.in_channels)
    t_start = time.perf_counter()

    # -- validate everything before any training ------------------------------------------
    archs = prepare_archs(archs, bench, root_mask, config.seed)
    truth = params = None
    if bench is not None:
        if len(archs) < 2:
            raise ValueError('ranking against a benchmark needs at least 2 archs')
        truth = _truth(bench, archs, dataset, metric)
        params = _params(bench, archs)
    budgets = check_budget(config, expected_level_sizes(config, root_mask))

    device = torch.device(device) if device is not None else torch.device('cpu')
    data = data.to(device) if data.x_train.device != device else data
    wd = Path(work_dir) if work_dir is not None else None
    if wd is not None:
        wd.mkdir(parents=True, exist_ok=True)
        _run_guard(
            wd,
            dict(
                partition=config.to_dict(),
                train=asdict(train_config),
                size=net_size,
                data_id=data.data_id,
                mask=root_mask.to_list(),
            ),
        )

    def build(node_mask: SlotMask, state: dict[str, torch.Tensor] | None) -> torch.nn.Module:
        # init must not disturb (or depend on) the caller's global RNG
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed_for('init', config.seed))
            net = space.build_supernet(mask=node_mask, **net_size)
        if state is not None:
            # the child keeps only the ops of its mask: copy exactly those tensors from the parent
            own = net.state_dict()
            net.load_state_dict({k: state[k].clone() for k in own})
        return net.to(device)

    tree = PartitionTree.root(root_mask, space=space)
    histories: dict[str, pd.DataFrame] = {}
    seconds = dict(train=0.0, features=0.0, eval=0.0)
    node_seconds: dict[str, dict[str, float]] = {}

    def train(node_id: str, net: torch.nn.Module, epochs: int) -> None:
        node = tree[node_id]
        seed = seed_for('train', config.seed, train_config.seed, node_id)
        cfg = replace(train_config, epochs=int(epochs), seed=seed)
        t0 = time.perf_counter()
        hist = train_supernet(
            net,
            data,
            cfg,
            mask=node.mask,
            checkpoint_dir=None if wd is None else wd / node_id,
            progress=progress,
            device=device,
        )
        dt = time.perf_counter() - t0
        seconds['train'] += dt
        histories[node_id] = hist
        node_seconds.setdefault(node_id, {})['train'] = round(dt, 3)
        # no timings in the tree: a resumed run must rebuild the very same tree
        node.info.update(epochs=int(epochs), train_seed=seed)

    root_epochs = config.total_epochs if config.method == 'spos' else config.warmup_epochs
    models: dict[str, torch.nn.Module] = {tree.root_id: build(root_mask, None)}
    train(tree.root_id, models[tree.root_id], root_epochs)

    for level, level_budget in enumerate(budgets, start=1):
        made: list[str] = []
        for leaf in tree.leaves():
            if leaf.node_id not in models:
                continue  # a leaf left unsplit at an earlier level stays as it is
            parent = models.pop(leaf.node_id)
            # children start from the weights the parent had right after training
            state = {k: v.detach().clone() for k, v in parent.state_dict().items()}
            is_root = leaf.node_id == tree.root_id
            node_dir = None if wd is None else wd / leaf.node_id
            decision = None
            if node_dir is not None and (node_dir / 'split.json').is_file():
                decision = json.loads((node_dir / 'split.json').read_text(encoding='utf-8'))
            else:
                t0 = time.perf_counter()
                if config.method in FEATURE_KIND:
                    found = _feature_split(parent, data, leaf.mask, leaf.node_id, config, is_root, device, progress)
                    if found is not None:
                        edge, groups, rule, scores = found
                        decision = dict(edge=edge, groups=groups, rule=rule, scores=scores)
                else:
                    structural = structural_split(leaf.mask, leaf.node_id, config, is_root)
                    if structural is not None:
                        edge, groups, rule = structural
                        decision = dict(edge=edge, groups=groups, rule=rule, scores=None)
                if decision is not None:
                    decision.update(level=level, edge_name=space.slots[decision['edge']])
                    node_seconds.setdefault(leaf.node_id, {})['features'] = round(time.perf_counter() - t0, 3)
                    if node_dir is not None:
                        claim(node_dir, ['split.json'], 'work_dir')
                        atomic_write_text(node_dir / 'split.json', json.dumps(decision, indent=1))
                seconds['features'] += time.perf_counter() - t0
            if decision is None:
                models[leaf.node_id] = parent  # no edge with enough ops: it stays a leaf
                continue
            kids = tree.split(leaf.node_id, decision['edge'], decision['groups'], info=dict(split=decision))
            for cid in kids:
                models[cid] = build(tree[cid].mask, state)
            made.extend(kids)
            del parent, state
        if not made:
            raise ValueError(f'split level {level}: no leaf has an edge with {min_ops(config)}+ ops left')
        # only this level's children train now; leaves that could not split keep their weights
        epochs = [level_budget] * len(made) if config.equal_per_child else share_epochs(level_budget, len(made))
        for cid, e in zip(made, epochs):
            if e < 1:  # guarded by _check_budget; kept as a clear failure if the shape bound is ever wrong
                raise ValueError(f'node {cid} would train {e} epochs; raise total_epochs')
            train(cid, models[cid], e)

    # -- evaluation: every arch by the leaf that holds it ----------------------------------
    t0 = time.perf_counter()
    leaf_of = [tree.leaf_for(a).node_id for a in archs]
    by_leaf: dict[str, list] = {}
    for a, nid in zip(archs, leaf_of):
        by_leaf.setdefault(nid, []).append(a)
    scored: dict[str, pd.DataFrame] = {}
    for nid, leaf_archs in by_leaf.items():
        scored[nid] = _evaluate_leaf(
            models[nid], leaf_archs, data, config, None if wd is None else wd / nid, progress, device
        )
        tree[nid].info['n_archs'] = len(leaf_archs)
    seconds['eval'] = time.perf_counter() - t0
    lookup = pd.concat(scored.values(), ignore_index=True).set_index('arch_str')
    frame = pd.DataFrame({'arch_str': [space.to_str(a) for a in archs], 'partition': leaf_of})
    frame['score'] = lookup.loc[frame['arch_str'], 'score'].to_numpy(dtype=np.float64)
    frame['loss'] = lookup.loc[frame['arch_str'], 'loss'].to_numpy(dtype=np.float64)
    metrics: dict[str, float] = {}
    if truth is not None:
        from nasviz.analysis.metrics import rank_metrics

        frame['truth'] = truth
        metrics = rank_metrics(frame['score'].to_numpy(), truth, ks=usable_ks(len(frame), ks))
    if params is not None:
        frame['params'] = params
    seconds['total'] = time.perf_counter() - t_start
    seconds = {k: round(v, 3) for k, v in seconds.items()}
    info = dict(
        space=space.name,
        size=net_size,
        data_id=data.data_id,
        n_archs=len(frame),
        n_leaves=tree.n_leaves,
        budget='equal_per_child' if config.equal_per_child else 'equal_total',
        level_budgets=budgets,
        epochs_used=sum(int(n.info.get('epochs', 0)) for n in tree),
        root_mask=root_mask.to_list(),
        dataset=dataset,
        metric=metric,
        node_seconds=node_seconds,
    )
    result = PartitionResult(
        config=config,
        tree=tree,
        frame=frame,
        metrics=metrics,
        histories=histories,
        seconds=seconds,
        train_config=train_config,
        info=info,
    )
    if wd is not None:
        result.save(wd)
    return result
