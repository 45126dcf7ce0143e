"""Tests for nasviz.partition.pipeline: five few-shot methods on one code path, at a tiny size."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from nasviz.bench import MicroBench
from nasviz.data import ImageData, load_digits
from nasviz.partition import pipeline as P
from nasviz.partition.compare import compare_methods, summarize
from nasviz.partition.pipeline import (
    PARTITION_METHODS,
    PartitionConfig,
    PartitionResult,
    level_budgets,
    run_partition,
    share_epochs,
)
from nasviz.spaces.nb201 import NUM_ARCHS, OPS, OpMask, canonical, sample_archs
from nasviz.supernet.train import TrainConfig

torch.set_num_threads(1)

SIZE = dict(C=4, N=1)
TRAIN = TrainConfig(batch_size=64, lr=0.05)
#: tiny feature settings shared by every run
TINY = dict(repeats=2, batch_size=64, n_neighbors=10, recal_batches=1)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def data() -> ImageData:
    d = load_digits(n_train=300, test_views=1)
    # 300 test images keep scoring 30 cells well under a second
    return ImageData(d.name, d.x_train, d.y_train, d.x_test[:300], d.y_test[:300], d.num_classes, d.data_id + '-t300')


@pytest.fixture(scope='module')
def archs() -> list:
    return sample_archs(30, rng=0, unique=True)


@pytest.fixture(scope='module')
def bench(archs) -> MicroBench:  # noqa: ANN001
    """A fake benchmark: accuracy grows with the number of convolutions, plus seed noise."""
    rng = np.random.default_rng(1)
    conv = np.array([a.count('nor_conv_3x3') * 2 + a.count('nor_conv_1x1') for a in archs], dtype=float)
    df = pd.DataFrame(
        dict(
            arch_str=[str(a) for a in archs],
            params=1000 + 100 * conv,
            acc_seed0=60 + 3 * conv + rng.normal(0, 1, len(archs)),
            acc_seed1=60 + 3 * conv + rng.normal(0, 1, len(archs)),
        )
    )
    return MicroBench.from_frame(df, recipe=dict(dataset='digits', epochs=1))


def config(method: str, **kw) -> PartitionConfig:  # noqa: ANN003
    # fewshot needs 1 + 5 epochs (5 children of one epoch); k=2 methods 1 + (2 + 1)
    base = dict(method=method, total_epochs=6 if method == 'fewshot' else 4, warmup_epochs=1, k=2)
    base.update(TINY)
    base.update(kw)
    return PartitionConfig(**base)


@pytest.fixture(scope='module')
def runs(data, archs, bench) -> dict:  # noqa: ANN001
    """One run per method: warm-up 1 epoch, then k=2 children of 2 + 1 epochs (fewshot: 5 of 1).
    naslid and gmnas use the real features of nasviz.features.ops."""
    return {
        m: run_partition(config(m), data, SIZE, train_config=TRAIN, archs=archs, bench=bench, progress=False)
        for m in PARTITION_METHODS
    }


def check_partition(res: PartitionResult, archs: list) -> None:  # noqa: ANN001
    """Every arch in exactly one leaf; the leaves' masks tile the root mask."""
    tree, frame = res.tree, res.frame
    assert list(frame['arch_str']) == [str(a) for a in archs]
    leaves = tree.leaves()
    ids = {n.node_id for n in leaves}
    assert set(frame['partition']) <= ids
    for a, nid in zip(archs, frame['partition']):
        hits = [n.node_id for n in leaves if n.mask.contains(a)]
        assert hits == [nid]
    assert sum(n.size for n in leaves) == tree.root_node.size == NUM_ARCHS
    for a in sample_archs(300, rng=5):  # cells beyond the evaluated ones: one leaf each
        assert sum(n.mask.contains(a) for n in leaves) == 1


# -- the five methods ------------------------------------------------------------------------
@pytest.mark.parametrize('method', PARTITION_METHODS)
def test_method_runs_end_to_end(runs, archs, bench, method):  # noqa: ANN001
    res = runs[method]
    check_partition(res, archs)
    f = res.frame
    assert list(f.columns) == ['arch_str', 'partition', 'score', 'loss', 'truth', 'params']
    assert f['score'].between(0, 100).all() and np.isfinite(f['loss']).all()
    np.testing.assert_allclose(f['truth'], bench.accuracies(archs))
    assert {'kendall_tau', 'spearman', 'topk_precision@10', 'regret'} <= set(res.metrics)
    assert res.metrics['n'] == len(archs)
    assert set(res.histories) == {n.node_id for n in res.tree}
    assert {'train', 'features', 'eval', 'total'} <= set(res.seconds)


@pytest.mark.parametrize('method', PARTITION_METHODS)
def test_epochs_sum_to_total(runs, method):  # noqa: ANN001
    res = runs[method]
    total = res.config.total_epochs
    assert res.total_epochs == total == res.info['epochs_used']
    for node in res.tree:
        assert node.info['epochs'] >= 1
        assert len(res.histories[node.node_id]) == node.info['epochs']
    if method == 'spos':
        assert res.tree.n_leaves == 1 and res.node_epochs == {'0': total}
    else:
        assert res.node_epochs['0'] == 1


def test_children_per_method(runs):  # noqa: ANN001
    root = lambda m: runs[m].tree.root_node  # noqa: E731
    few = runs['fewshot'].tree
    assert len(root('fewshot').children) == 5
    assert sorted(n.group for n in few.leaves()) == sorted((o,) for o in OPS)
    assert root('fewshot').info['split']['edge'] == 0  # documented rule: lowest splittable edge
    for m in ('naslid', 'gmnas', 'random'):
        assert len(root(m).children) == 2, m
        split = root(m).info['split']
        assert sorted(o for g in split['groups'] for o in g) == sorted(OPS)
        # 3 split-phase epochs over 2 children: the first takes the remainder
        assert [runs[m].tree[c].info['epochs'] for c in root(m).children] == [2, 1]
    for m in ('naslid', 'gmnas'):
        scores = root(m).info['split']['scores']
        assert len(scores) == 6 and sum(s['chosen'] for s in scores) == 1
        assert next(s for s in scores if s['chosen'])['edge'] == root(m).info['split']['edge']


def test_two_levels_make_up_to_four_leaves(data, archs, bench):  # noqa: ANN001
    # 1 warm-up + 4 + 4: level 2 has 4 children of one epoch each
    res = run_partition(
        config('naslid', n_splits=2, total_epochs=9),
        data,
        SIZE,
        train_config=TRAIN,
        archs=archs,
        bench=bench,
        progress=False,
    )
    check_partition(res, archs)
    assert res.tree.depth == 2 and 2 < res.tree.n_leaves <= 4
    assert res.total_epochs == 9
    assert res.info['level_budgets'] == [4, 4]


def test_equal_per_child_and_fixed_edge(data, archs):  # noqa: ANN001
    cfg = config('fewshot', total_epochs=2, warmup_epochs=1, equal_per_child=True, edge=3)
    res = run_partition(cfg, data, SIZE, train_config=TRAIN, archs=archs[:10], progress=False)
    assert res.tree.root_node.info['split']['edge'] == 3
    assert res.info['budget'] == 'equal_per_child'
    assert res.node_epochs == {'0': 1, **{f'0.{i}': 1 for i in range(5)}}
    assert res.total_epochs == 6 and res.metrics == {} and 'truth' not in res.frame


# -- resume ------------------------------------------------------------------------------------
def test_resume_gives_the_same_frame(data, archs, bench, tmp_path, monkeypatch):  # noqa: ANN001
    cfg = config('naslid', total_epochs=4)
    first = run_partition(
        cfg, data, SIZE, train_config=TRAIN, archs=archs, bench=bench, work_dir=tmp_path, progress=False
    )
    for name in (
        'frame.csv',
        'tree.json',
        'metrics.json',
        'run.json',
        '0/checkpoint.pt',
        '0/split.json',
        '0.0/eval.csv',
    ):
        assert (tmp_path / name).is_file(), name

    def boom(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError('features recomputed on resume')

    monkeypatch.setattr(P, '_edge_similarities', boom)
    again = run_partition(
        cfg, data, SIZE, train_config=TRAIN, archs=archs, bench=bench, work_dir=tmp_path, progress=False
    )
    pd.testing.assert_frame_equal(first.frame, again.frame, check_exact=True)
    assert again.metrics == first.metrics and again.node_epochs == first.node_epochs
    # nothing recomputed: the features are never called (boom above) and took no time; training time is
    # not compared (a wall-clock comparison of two sub-second phases fails under load)
    assert again.seconds['features'] == 0

    # a child killed before it trained: retrained from the root checkpoint, bit for bit
    shutil.rmtree(tmp_path / '0.1')
    third = run_partition(
        cfg, data, SIZE, train_config=TRAIN, archs=archs, bench=bench, work_dir=tmp_path, progress=False
    )
    pd.testing.assert_frame_equal(first.frame, third.frame, check_exact=True)

    assert third.tree.to_dict() == again.tree.to_dict() == first.tree.to_dict()

    loaded = PartitionResult.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.frame, first.frame, check_exact=True)
    assert loaded.config == cfg and loaded.train_config == TRAIN
    assert loaded.tree.to_dict() == first.tree.to_dict()
    assert loaded.metrics == pytest.approx(first.metrics)
    for nid, h in first.histories.items():
        pd.testing.assert_frame_equal(
            loaded.histories[nid].drop(columns='seconds'), h.drop(columns='seconds'), check_dtype=False
        )

    with pytest.raises(ValueError, match='another configuration'):
        run_partition(
            config('naslid', total_epochs=5),
            data,
            SIZE,
            train_config=TRAIN,
            archs=archs,
            bench=bench,
            work_dir=tmp_path,
            progress=False,
        )


# -- comparison ------------------------------------------------------------------------------
def test_compare_methods_and_summarize(data, archs, bench):  # noqa: ANN001
    base = config('spos', total_epochs=3, warmup_epochs=1)
    df = compare_methods(['spos', 'random'], [0, 1], data, SIZE, bench, archs[:20], base, TRAIN, progress=False)
    runs_ = df[df['kind'] == 'method']
    assert len(runs_) == 4 and set(runs_['epochs']) == {3}
    assert set(df.loc[df['kind'] == 'baseline', 'method']) == {'params', 'seed-to-seed', 'random-scores'}
    # params is a perfect predictor of this fake truth up to the seed noise
    assert df.set_index('method').loc['params', 'spearman'] > 0.8
    s = summarize(df)
    assert list(s.index) == ['spos', 'random', 'params', 'seed-to-seed', 'random-scores']
    assert (s.loc[['spos', 'random'], 'n_runs'] == 2).all()
    assert {'kendall_tau', 'kendall_tau_std', 'spearman_std'} <= set(s.columns)
    with pytest.raises(ValueError, match='valid methods'):
        compare_methods(['darts'], [0], data, SIZE, bench, archs, base, TRAIN)


# -- budget rule and bad input -----------------------------------------------------------------
def test_budget_helpers():
    assert level_budgets(20, 10, 1) == [10]
    assert level_budgets(10, 3, 2) == [4, 3]
    assert share_epochs(5, 2) == [3, 2] and share_epochs(7, 5) == [2, 2, 1, 1, 1]
    assert sum(share_epochs(11, 4)) == 11


@pytest.mark.parametrize(
    'kw, match',
    [
        (dict(method='darts'), 'unknown partition method .*valid: spos, fewshot, random, gmnas, naslid'),
        (dict(k=6), 'more than the 5 ops'),
        (dict(k=1), 'at least 2 groups'),
        (dict(warmup_epochs=6, total_epochs=6), 'warmup_epochs'),
        (dict(warmup_epochs=7, total_epochs=6), 'warmup_epochs'),
        (dict(n_splits=3, total_epochs=3, warmup_epochs=1), 'every level needs an epoch'),
        (dict(split_method='kmeans'), 'split_method'),
        (dict(criterion='best'), 'criterion'),
        (dict(edge=6), 'edge'),
    ],
)
def test_bad_config(kw, match):  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        config(**{'method': 'naslid', **kw})


def test_bad_run_input(data, archs, bench):  # noqa: ANN001
    def run(cfg, **kw):
        return run_partition(
            cfg,
            data,
            SIZE,
            train_config=TRAIN,
            progress=False,  # noqa: E731
            **{'archs': archs, **kw},
        )

    with pytest.raises(ValueError, match='empty'):
        run(config('spos'), archs=[])
    mask = OpMask.full().restrict(0, ['nor_conv_3x3', 'skip_connect'])
    outside = next(a for a in archs if not mask.contains(a))
    with pytest.raises(ValueError, match='outside the root mask'):
        run(config('spos'), archs=[outside], mask=mask)
    known = {canonical(a) for a in archs}  # the bench also answers for isomorphic cells
    missing = next(a for a in sample_archs(200, rng=9) if canonical(a) not in known)
    with pytest.raises(ValueError, match='no accuracy for'):
        run(config('spos'), archs=archs[:5] + [missing], bench=bench)
    # fewshot makes 5 children but only 2 split-phase epochs are left
    with pytest.raises(ValueError, match='creates 5 sub-supernets'):
        run(config('fewshot', total_epochs=3))
    with pytest.raises(ValueError, match='creates 4 sub-supernets'):
        run(config('random', n_splits=2, total_epochs=5))
    # k=3 groups on an edge that the root mask limits to 2 ops
    with pytest.raises(ValueError, match='allows 2 op'):
        run(config('naslid', k=3, edge=0), archs=[a for a in archs if mask.contains(a)], mask=mask)
    with pytest.raises(ValueError, match='duplicates'):
        run(config('spos'), archs=[archs[0], archs[0]])
