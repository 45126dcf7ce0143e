"""NB201 numbers stay those of the NB201-only code.

``tests/data/nb201_regression_637f870.jsonl`` was written by this very run at commit 637f870, the
last commit before search spaces were plug-ins (NB201 hard-wired everywhere): a seeded tiny
supernet trained for 2 epochs, 6 cells scored with recalibrated BN, NAS-LID and GM-NAS features
of one edge each, and three partition methods end to end. Cells, paths, trees and groups must
come out the same; trained floats (losses, accuracies, features, similarities, scores) within a
tolerance that allows a different summation order, not a different computation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nasviz.data import load_digits
from nasviz.features.ops import FeatureConfig, grad_features, lid_features
from nasviz.partition.pipeline import PartitionConfig, run_partition
from nasviz.spaces import get_space
from nasviz.spaces.nb201 import sample_archs
from nasviz.supernet.evaluate import evaluate_archs
from nasviz.supernet.train import TrainConfig, train_supernet

GOLDEN = Path(__file__).parent / 'data' / 'nb201_regression_637f870.jsonl'


@pytest.fixture(scope='module')
def golden():
    return [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]


@pytest.fixture(scope='module')
def run():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        data = load_digits(n_train=256)
        space = get_space('nb201')
        m = space.build_supernet(C=4, N=1, num_classes=data.num_classes, in_channels=data.in_channels)
        h = train_supernet(m, data, TrainConfig(epochs=2, batch_size=32, seed=0), progress=False)
        archs = sample_archs(6, rng=0)
        df = evaluate_archs(m, archs, data, recal_batches=2, recal_batch_size=32, progress=False, score='loss')
        out = [
            dict(
                train_loss=[float(x) for x in h.train_loss],
                archs=list(df.arch_str),
                loss=[float(x) for x in df.loss],
                accuracy=[float(x) for x in df.accuracy],
            )
        ]
        lf = lid_features(
            m, data, 2, config=FeatureConfig(kind='lid', repeats=2, batch_size=32, n_neighbors=8), progress=False
        )
        gf = grad_features(m, data, 4, config=FeatureConfig(kind='grad', repeats=2, batch_size=32), progress=False)
        out.append(
            dict(
                lid=lf.features.round(10).tolist(),
                lid_sim=lf.similarity.values.round(10).tolist(),
                grad_sim=gf.similarity.values.round(10).tolist(),
                grad_sum=float(gf.features.sum()),
                paths=lf.info['paths'],
            )
        )
        for method in ['naslid', 'gmnas', 'fewshot']:
            cfg = PartitionConfig(
                method=method,
                total_epochs=2,
                warmup_epochs=1,
                equal_per_child=True,
                repeats=2,
                batch_size=32,
                n_neighbors=8,
                recal_batches=2,
                eval_samples=64,
                seed=0,
            )
            r = run_partition(
                cfg, data, dict(C=4, N=1), train_config=TrainConfig(batch_size=32), archs=archs, progress=False
            )
            out.append(
                json.loads(
                    json.dumps(
                        dict(
                            method=method,
                            scores=r.frame.score.round(10).tolist(),
                            part=r.frame.partition.tolist(),
                            tree=[(n.node_id, n.split_edge, n.group) for n in r.tree],
                        )
                    )
                )
            )
        return out
    finally:
        torch.set_num_threads(threads)


#: relative and absolute tolerance on trained floats
RTOL, ATOL = 1e-5, 1e-6


def assert_close(got, want, path='run'):
    """Equal structure and strings; floats within RTOL/ATOL."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f'{path}: keys {sorted(got)} != {sorted(want)}'
        for k in want:
            assert_close(got[k], want[k], f'{path}.{k}')
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f'{path}: length {len(got)} != {len(want)}'
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f'{path}[{i}]')
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=RTOL, abs=ATOL), f'{path}: {got} != {want}'
    else:
        assert got == want, f'{path}: {got!r} != {want!r}'


def test_training_and_scores_identical(run, golden):
    assert_close(run[0], golden[0])


def test_features_identical(run, golden):
    assert_close(run[1], golden[1])


#: a partition run scores cells by accuracy (%) on 64 test images: a step of 100/64 points
ONE_IMAGE = 100 / 64


@pytest.mark.parametrize('i', [2, 3, 4])
def test_partitions_identical(run, golden, i):
    """Trees, groups and cells exactly; scores within a tolerance. The scores are accuracies over
    64 images of near-chance 2-epoch supernets, so a different summation order in a library can
    flip one borderline prediction: at most one cell may move, by at most one image."""
    assert_partition_close(run[i], golden[i], f'partition {i}')


def assert_partition_close(got, want, path='partition'):
    """A partition run equal to ``want``: everything but the scores as :func:`assert_close`; the
    scores with at most one cell moved, by at most one image."""
    got, want = dict(got), dict(want)
    gs, ws = got.pop('scores'), want.pop('scores')
    assert_close(got, want, path)
    assert len(gs) == len(ws), f'{path}.scores: length {len(gs)} != {len(ws)}'
    moved = [(k, g, w) for k, (g, w) in enumerate(zip(gs, ws)) if g != pytest.approx(w, rel=RTOL, abs=ATOL)]
    assert len(moved) <= 1 and all(abs(g - w) <= ONE_IMAGE + 1e-9 for _, g, w in moved), f'{path}.scores moved: {moved}'


def test_partition_tolerance_is_one_image_in_one_cell(golden):
    """One cell moved by one image passes; by two images, or two cells moved, fails; so does a
    changed partition."""
    want = golden[2]
    one = json.loads(json.dumps(want))
    one['scores'][0] += ONE_IMAGE
    assert_partition_close(one, want)
    for cell, step in [(0, 2 * ONE_IMAGE), (None, ONE_IMAGE)]:
        bad = json.loads(json.dumps(want))
        for c in [cell] if cell is not None else [0, 1]:
            bad['scores'][c] += step
        with pytest.raises(AssertionError):
            assert_partition_close(bad, want)
    other = json.loads(json.dumps(want))
    other['part'][0] = other['part'][0] + '_moved' if isinstance(other['part'][0], str) else -1
    with pytest.raises(AssertionError):
        assert_partition_close(other, want)


def test_tolerance_catches_a_changed_number(golden):
    """The comparison fails on a trained float moved beyond the tolerance, and on a changed cell."""
    moved = json.loads(json.dumps(golden[0]))
    moved['loss'][0] *= 1.001
    with pytest.raises(AssertionError):
        assert_close(moved, golden[0])
    other = json.loads(json.dumps(golden[0]))
    other['archs'][0] = other['archs'][1]
    with pytest.raises(AssertionError):
        assert_close(other, golden[0])
