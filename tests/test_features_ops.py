"""Tests for nasviz.features.ops: NAS-LID and GM-NAS op features on a tiny supernet."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import nasviz.cache
import nasviz.features.ops as fops
import nasviz.features.subnets as fsubnets
from nasviz.data import load_digits
from nasviz.features.lid import layerwise_lid
from nasviz.features.ops import (
    FeatureConfig,
    OpFeatures,
    edge_similarities,
    edge_similarity,
    grad_features,
    grad_parameters,
    lid_features,
    model_fingerprint,
    op_similarity,
    subnet_grad_vectors,
    subnet_lid_vectors,
)
from nasviz.features.probe import lid_profile
from nasviz.spaces.nb201 import OPS, Arch, OpMask
from nasviz.spaces.nb201_network import NB201Supernet

LID = FeatureConfig(kind='lid', repeats=2, batch_size=64, n_neighbors=10)
GRAD = dataclasses.replace(LID, kind='grad')


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    # the test machine's cores are shared: extra intra-op threads only add contention
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def data():
    return load_digits()


@pytest.fixture()
def model() -> NB201Supernet:
    torch.manual_seed(0)
    return NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)


def degenerate_mask() -> OpMask:
    """Edge 0 (0->1) is the only way out of the input node: 'none' there kills the cell."""
    full = list(range(len(OPS)))
    return OpMask(((0, 1, 3), (0,), full, (0,), full, full))


# -- config -------------------------------------------------------------------------------------
def test_config_validation():
    with pytest.raises(ValueError, match='lid, grad'):
        FeatureConfig(kind='hessian')
    with pytest.raises(ValueError, match='cosine, pearson, l2'):
        FeatureConfig(similarity='kl')
    with pytest.raises(ValueError, match='n_neighbors'):
        FeatureConfig(n_neighbors=64, batch_size=64)
    with pytest.raises(ValueError, match='repeats'):
        FeatureConfig(repeats=0)


# -- similarity ---------------------------------------------------------------------------------
def test_op_similarity_metrics_and_zero_vectors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 30))
    ops = ['a', 'b', 'c', 'd']
    cos = op_similarity(X, ops, 'cosine').to_numpy()
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(cos, U @ U.T, atol=1e-12)
    np.testing.assert_allclose(op_similarity(X, ops, 'pearson').to_numpy(), np.corrcoef(X), atol=1e-12)
    dist = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.testing.assert_allclose(op_similarity(X, ops, 'l2').to_numpy(), 1 / (1 + dist), atol=1e-12)

    Z = np.vstack([np.zeros(5), np.full(5, 3.0), np.arange(5.0)])
    for metric in ('cosine', 'pearson', 'l2'):
        S = op_similarity(Z, ['zero', 'const', 'ramp'], metric)
        assert list(S.index) == list(S.columns) == ['zero', 'const', 'ramp']
        assert np.isfinite(S.to_numpy()).all()
        np.testing.assert_array_equal(np.diag(S), 1.0)
    assert op_similarity(Z, list('xyz'), 'cosine').loc['x', 'y'] == 0.0
    assert op_similarity(Z, list('xyz'), 'pearson').loc['y', 'z'] == 0.0


def test_op_similarity_planted_blocks_and_bad_input():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(50), rng.standard_normal(50)
    X = np.stack([a, a + 0.05 * rng.standard_normal(50), b, b + 0.05 * rng.standard_normal(50)])
    S = op_similarity(X, list('abcd')).to_numpy()
    assert S[0, 1] > 0.95 and S[2, 3] > 0.95 and abs(S[0, 2]) < 0.6
    with pytest.raises(ValueError, match='unknown similarity'):
        op_similarity(X, list('abcd'), 'kl')
    with pytest.raises(ValueError, match='labels'):
        op_similarity(X, list('abc'))
    with pytest.raises(ValueError, match='NaN'):
        op_similarity(np.array([[np.nan, 1.0], [1.0, 2.0]]), list('ab'))


# -- LID features -------------------------------------------------------------------------------
def test_lid_shapes_and_similarity(model, data):
    res = lid_features(model, data, 2, config=LID, progress=False)
    assert isinstance(res, OpFeatures) and res.edge == 2
    assert res.ops == list(OPS)
    assert res.features.shape == (5, 2, 3 * model.N + 2)
    assert res.mean_features().shape == (5, 3 * model.N + 2)
    assert np.isfinite(res.features).all() and (res.features >= 0).all()
    S = res.similarity
    assert list(S.index) == list(S.columns) == list(OPS)
    np.testing.assert_array_equal(np.diag(S), 1.0)
    np.testing.assert_allclose(S.to_numpy(), S.to_numpy().T)
    # the similarity is the configured metric between the repeat-averaged profiles
    pd.testing.assert_frame_equal(S, op_similarity(res.mean_features(), res.ops, LID.similarity))
    assert res.info['feature_names'] == model.block_names
    assert res.seconds > 0


def test_lid_streaming_matches_forward_features(model, data):
    x = data.x_train[:64]
    arch = Arch.from_str('|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|')
    model.train()
    with torch.no_grad():
        _, feats = model.forward_features(x, arch)
        want = layerwise_lid(feats, k=10)
    got = lid_profile(model, x, arch, 10, 'mle', stream=True)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-10)
    res = lid_features(model, data, 0, config=LID, progress=False, stream=False)
    np.testing.assert_allclose(
        res.features, lid_features(model, data, 0, config=LID, progress=False).features, rtol=1e-10
    )


def test_mask_restricts_candidates(model, data):
    mask = model.mask.restrict(1, ['skip_connect', 'nor_conv_3x3', 'avg_pool_3x3'])
    for fn, cfg in ((lid_features, LID), (grad_features, GRAD)):
        res = fn(model, data, 1, mask, config=dataclasses.replace(cfg, repeats=1), progress=False)
        assert res.ops == ['skip_connect', 'nor_conv_3x3', 'avg_pool_3x3']
        assert res.features.shape[0] == 3 and list(res.similarity.index) == res.ops
        for path in res.info['paths']:
            assert mask.contains(Arch.from_str(path))


def test_determinism_and_state_untouched(model, data):
    bn = model.stem[1]
    before = (bn.running_mean.clone(), bn.running_var.clone(), model.training)
    a = lid_features(model, data, 3, config=LID, progress=False)
    b = lid_features(model, data, 3, config=LID, progress=False)
    np.testing.assert_array_equal(a.features, b.features)
    pd.testing.assert_frame_equal(a.similarity, b.similarity)
    c = lid_features(model, data, 3, config=dataclasses.replace(LID, seed=1), progress=False)
    assert not np.array_equal(a.features, c.features)
    g1 = grad_features(model, data, 3, config=GRAD, progress=False)
    g2 = grad_features(model, data, 3, config=GRAD, progress=False)
    np.testing.assert_array_equal(g1.features, g2.features)
    pd.testing.assert_frame_equal(g1.similarity, g2.similarity)
    assert g1.info['paths'] == a.info['paths']  # both methods see the same paths
    assert torch.equal(bn.running_mean, before[0]) and torch.equal(bn.running_var, before[1])
    assert model.training == before[2]
    assert all(p.grad is None for p in model.parameters())


# -- gradient features --------------------------------------------------------------------------
def test_grad_excludes_split_edge(model, data):
    res = grad_features(model, data, 4, config=GRAD, progress=False)
    total = sum(p.numel() for p in model.parameters())
    own = sum(p.numel() for p in model.edge_parameters(4))
    assert own > 0
    assert res.info['n_params'] == total - own
    assert res.features.shape == (5, 1, total - own)
    assert not any('.edges.4.' in n for n in res.info['param_names'])
    assert res.info['similarity_per_repeat'].shape == (2, 5, 5)
    S = res.similarity.to_numpy()
    np.testing.assert_allclose(S, res.info['similarity_per_repeat'].mean(axis=0))
    np.testing.assert_array_equal(np.diag(S), 1.0)
    # with one repeat, the similarity is the configured metric between the stored gradients
    one = grad_features(model, data, 4, config=dataclasses.replace(GRAD, repeats=1), progress=False)
    np.testing.assert_allclose(
        one.similarity.to_numpy(), op_similarity(one.features[:, 0], one.ops, GRAD.similarity).to_numpy(), atol=1e-5
    )
    # a mask that drops ops elsewhere drops their (always zero) weights too
    mask = model.mask.restrict(0, ['skip_connect', 'nor_conv_1x1'])
    names, params = grad_parameters(model, 4, mask)
    dropped = sum(p.numel() for p in model.edge_parameters(0, 'nor_conv_3x3'))
    assert sum(p.numel() for p in params) == total - own - dropped


def test_degenerate_candidate_is_finite(model, data):
    mask = degenerate_mask()
    names, _ = grad_parameters(model, 0, mask)
    res = grad_features(model, data, 0, mask, config=GRAD, progress=False)
    assert res.ops == ['none', 'skip_connect', 'nor_conv_3x3']
    assert all(Arch.from_str(p).with_op(0, 'none').is_degenerate for p in res.info['paths'])
    grad_none = res.mean_features()[0]
    # no path from input to output: only the classifier bias still receives a gradient
    offsets = np.cumsum([0] + res.info['param_sizes'])
    bias = names.index('classifier.bias')
    outside = np.ones(grad_none.size, bool)
    outside[offsets[bias] : offsets[bias + 1]] = False
    assert np.all(grad_none[outside] == 0)
    # skip_connect does connect input to output: weights beyond the classifier bias get a gradient
    assert np.abs(res.mean_features()[1][outside]).sum() > 0
    assert np.isfinite(res.similarity.to_numpy()).all()
    lid = lid_features(model, data, 0, mask, config=LID, progress=False)
    np.testing.assert_array_equal(lid.features[0], 0.0)
    assert np.isfinite(lid.similarity.to_numpy()).all()


# -- bad input ----------------------------------------------------------------------------------
def test_bad_input(model, data):
    for edge in (6, -1, True, 1.5):
        with pytest.raises(ValueError, match='edge'):
            lid_features(model, data, edge, config=LID, progress=False)
    with pytest.raises(ValueError, match='unknown feature kind'):
        edge_similarity(model, data, 0, config=FeatureConfig(kind='jacobian'), cache=False)
    single = model.mask.restrict(2, ['nor_conv_3x3'])
    for fn in (lid_features, grad_features):
        with pytest.raises(ValueError, match='single op'):
            fn(model, data, 2, single, progress=False)
    small = NB201Supernet(4, 1, 10, 1, mask=OpMask.full().restrict(0, ['none', 'skip_connect']))
    with pytest.raises(ValueError, match='does not build'):
        lid_features(small, data, 1, OpMask.full(), config=LID, progress=False)
    rgb = NB201Supernet(4, 1, 10, in_channels=3)
    with pytest.raises(ValueError, match='channels'):
        grad_features(rgb, data, 0, config=GRAD, progress=False)


# -- dispatch and cache -------------------------------------------------------------------------
def test_cache_hit_and_atomic_write(model, data, tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path))
    calls = []
    real = fops.lid_features
    monkeypatch.setattr(fops, 'lid_features', lambda *a, **k: calls.append(1) or real(*a, **k))
    writes = []
    real_write = nasviz.cache.atomic_write_bytes
    monkeypatch.setattr(nasviz.cache, 'atomic_write_bytes', lambda p, b: writes.append(p) or real_write(p, b))

    a = edge_similarity(model, data, 1, config=LID, progress=False)
    b = edge_similarity(model, data, 1, config=LID, progress=False)
    assert len(calls) == 1 and len(writes) == 1
    assert not a.info['from_cache'] and b.info['from_cache']
    np.testing.assert_array_equal(a.features, b.features)
    pd.testing.assert_frame_equal(a.similarity, b.similarity)
    assert (b.edge, b.ops, b.config, b.seconds) == (a.edge, a.ops, a.config, a.seconds)
    files = [p for p in (tmp_path / 'op_features').iterdir()]
    assert [p.suffix for p in files] == ['.pkl'] and files[0] == writes[0]

    # other weights, config or cache directory: a new entry
    with torch.no_grad():
        model.classifier.bias.add_(1.0)
    edge_similarity(model, data, 1, config=LID, progress=False)
    edge_similarity(model, data, 1, config=dataclasses.replace(LID, similarity='pearson'), progress=False)
    other = tmp_path / 'elsewhere'
    edge_similarity(model, data, 1, config=LID, cache=other, progress=False)
    assert len(calls) == 4
    assert len(list((tmp_path / 'op_features').glob('*.pkl'))) == 3
    assert len(list((other / 'op_features').glob('*.pkl'))) == 1
    assert not list(tmp_path.rglob('*.tmp'))


def test_edge_similarities_dispatch(model, data, monkeypatch):
    mask = OpMask(((1, 3), (0, 1, 4), (3,), (2,), (1,), (0,)))
    net = NB201Supernet(4, 1, 10, 1, mask=mask)
    res = edge_similarities(net, data, config=dataclasses.replace(GRAD, repeats=1), cache=False, progress=False)
    assert sorted(res) == [0, 1]
    assert res[0].ops == ['skip_connect', 'nor_conv_3x3'] and res[1].config.kind == 'grad'
    one = edge_similarities(
        model, data, config=dataclasses.replace(LID, repeats=1), edges=[5], cache=False, progress=False
    )
    assert list(one) == [5] and one[5].features.shape == (5, 1, 5)


def test_model_fingerprint(model):
    fp = model_fingerprint(model)
    assert fp == model_fingerprint(model)
    with torch.no_grad():
        next(model.parameters())[0].view(-1)[0] += 1e-3
    assert model_fingerprint(model) != fp


# -- many subnets -------------------------------------------------------------------------------
def test_subnet_vectors(model, data):
    archs = [Arch.from_index(i) for i in (7, 1234, 9999)]
    v = subnet_lid_vectors(model, data, archs, n_neighbors=10, batch_size=64)
    assert v.shape == (3, 3 * model.N + 2) and np.isfinite(v).all()
    np.testing.assert_array_equal(
        v, subnet_lid_vectors(model, data, [str(a) for a in archs], n_neighbors=10, batch_size=64, progress=False)
    )
    g = subnet_grad_vectors(model, data, archs, batch_size=64, progress=False)
    assert g.shape == (3, sum(p.numel() for p in model.parameters())) and g.dtype == np.float32
    shared = subnet_grad_vectors(model, data, archs, batch_size=64, params='shared', progress=False)
    assert shared.shape[1] == sum(p.numel() for p in model.shared_parameters())
    p1 = subnet_grad_vectors(model, data, archs, batch_size=64, max_dim=32, progress=False)
    p2 = subnet_grad_vectors(model, data, archs, batch_size=64, max_dim=32, progress=False)
    assert p1.shape == (3, 32)
    np.testing.assert_array_equal(p1, p2)
    # the projection is linear: it commutes with the gradient
    proj = fsubnets._project(torch.from_numpy(g), 32, 0).numpy()
    np.testing.assert_allclose(p1, proj, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match='n_neighbors'):
        subnet_lid_vectors(model, data, archs, n_neighbors=64, batch_size=64)


def test_config_kind_follows_the_function_and_bn_modes(model, data):
    res = lid_features(model, data, 0, config=dataclasses.replace(GRAD, repeats=1), progress=False)
    assert res.config.kind == 'lid' and res.features.shape == (5, 1, 5)
    running = lid_features(model, data, 0, config=dataclasses.replace(LID, repeats=1, bn='running'), progress=False)
    assert np.isfinite(running.features).all()
    assert not np.array_equal(running.features, res.features)
    with pytest.raises(ValueError, match='batch, running'):
        FeatureConfig(bn='frozen')
