"""Tests for nasviz.features.lid on seeded synthetic data of known intrinsic dimension."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from nasviz.features import (
    LIDMLE,
    TwoNN,
    knn_distances,
    layerwise_lid,
    lid_mle,
    lid_mle_from_knn,
    lid_mle_mean,
    lid_twonn,
    twonn_from_knn,
)


def embedded_cube(n: int = 2000, d: int = 5, D: int = 50, seed: int = 0) -> np.ndarray:
    """n points uniform in [0, 1]^d, mapped into R^D by a random orthonormal D x d matrix."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, d)))
    return rng.uniform(size=(n, d)) @ Q.T


@pytest.fixture(scope='module')
def cube5() -> np.ndarray:
    return embedded_cube()


# -- known answers ------------------------------------------------------------------------------
def test_cube5_mle_and_twonn_near_5(cube5):
    assert 4.0 <= lid_mle_mean(cube5, k=20) <= 6.0
    assert 4.0 <= lid_twonn(cube5) <= 6.0
    assert 4.0 <= lid_twonn(cube5, method='mle') <= 6.0


def test_plane_in_10d_gives_2():
    X = embedded_cube(n=1000, d=2, D=10, seed=1)
    assert abs(lid_mle_mean(X, k=20) - 2.0) < 0.3
    assert abs(lid_twonn(X) - 2.0) < 0.3


# -- agreement with scikit-dimension -----------------------------------------------------------
def test_matches_skdim_mle(cube5):
    """skdim.id.MLE() defaults (dnoise=None, sigma=0, unbiased=False, n_neighbors=20) give the
    pointwise Levina-Bickel estimate (k-1) / sum_j log(r_k / r_j) and aggregate with
    comb='mle', the harmonic mean. Ours with normalization='k-1' and aggregate='harmonic' is the
    same estimator, so they agree to rounding; our default ('k', mean) is k/(k-1) times the
    pointwise values."""
    skdim = pytest.importorskip('skdim')
    ref = skdim.id.MLE().fit(cube5)
    pw = lid_mle(cube5, k=20, normalization='k-1')
    np.testing.assert_allclose(pw, ref.dimension_pw_, rtol=1e-8)
    ours = lid_mle_mean(cube5, k=20, aggregate='harmonic', normalization='k-1')
    assert ours == pytest.approx(ref.dimension_, rel=1e-8)
    np.testing.assert_allclose(lid_mle(cube5, k=20), pw * 20 / 19, rtol=1e-10)


def test_matches_skdim_twonn(cube5):
    """skdim.id.TwoNN() defaults (discard_fraction=0.1, method='linear') fit the same line
    through the origin on the same 90% smallest ratios, so the estimates agree to rounding.
    skdim's method='mle' uses the unbiased (n_keep - 1) numerator where ours uses n_keep,
    a relative gap of 1 / (n_keep - 1)."""
    skdim = pytest.importorskip('skdim')
    ref = skdim.id.TwoNN().fit(cube5).dimension_
    assert lid_twonn(cube5) == pytest.approx(ref, rel=1e-8)
    n_keep = int(len(cube5) * 0.9)
    ref_mle = skdim.id.TwoNN(method='mle').fit(cube5).dimension_
    assert lid_twonn(cube5, method='mle') == pytest.approx(ref_mle * n_keep / (n_keep - 1), rel=1e-8)


# -- robustness ----------------------------------------------------------------------------------
def test_duplicates_stay_finite(cube5):
    X = cube5.copy()
    X[100:150] = X[7]  # 51 copies of one point
    pw = lid_mle(X, k=20)
    assert np.isfinite(pw).all()
    assert (pw[100:150] == 0).all() and pw[7] == 0  # a point mass is 0-dimensional
    assert 4.0 <= lid_mle_mean(X, k=20) <= 6.0
    # the harmonic mean leaves the zero estimates out: the inverse of the mean inverse of the others
    pos = pw[pw > 0]
    assert lid_mle_mean(X, k=20, aggregate='harmonic') == pytest.approx(1 / np.mean(1 / pos), rel=1e-10)
    assert 4.0 <= lid_twonn(X) <= 6.0
    assert 4.0 <= TwoNN().fit(X).dimension_ <= 6.0
    assert TwoNN().fit(X).n_duplicates_ == 51


def test_all_identical_points_give_zero():
    X = np.ones((30, 4))
    assert lid_mle_mean(X, k=5) == 0.0
    assert lid_twonn(X) == 0.0


def test_float32_duplicates_recognised():
    X = torch.from_numpy(embedded_cube(n=300, seed=3)).float() * 100 + 1000  # large offset
    X[:10] = X[0]
    d = knn_distances(X, 3)
    assert (d[:10, :3] == 0).all()


def _feature_like(n: int = 128, d: int = 12, D: int = 4096, seed: int = 0) -> np.ndarray:
    """float32 cloud like a feature map: d latent factors through a random ReLU layer."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d))
    return np.maximum(Z @ rng.standard_normal((d, D)), 0).astype(np.float32)


def test_float32_search_agrees_with_float64():
    X = _feature_like()
    d = knn_distances(X, 20)
    radius = np.linalg.norm(X - X.mean(0), axis=1).max()
    assert d[:, 0].min() > 0.1 * radius  # the float32 search is trusted for this cloud
    np.testing.assert_allclose(d, knn_distances(X.astype(np.float64), 20), rtol=1e-4)
    np.testing.assert_allclose(
        lid_mle(torch.from_numpy(X), k=20).numpy(), lid_mle(X.astype(np.float64), k=20), rtol=1e-4
    )


def test_float32_near_duplicates_searched_again_in_float64():
    far = _feature_like(seed=1)
    near = _feature_like(seed=2)
    near[1] = near[0] + 1e-4 * np.abs(near[0]).max()  # float32 rounding would blur this pair
    near[2] = near[0]  # and an exact duplicate
    both = lid_mle(np.stack([far, near]), k=10)
    np.testing.assert_array_equal(both[1], lid_mle(near.astype(np.float64), k=10))
    np.testing.assert_allclose(both[0], lid_mle(far.astype(np.float64), k=10), rtol=1e-4)
    d = knn_distances(near, 2)
    assert d[0, 0] == 0 and d[2, 0] == 0 and 0 < d[1, 0] < 1e-2 * d[5, 0]


@pytest.mark.parametrize('k', [1, 0, 30, 31])
def test_bad_k_raises(k):
    X = embedded_cube(n=30, seed=2)
    with pytest.raises(ValueError, match='k='):
        lid_mle(X, k=k)


def test_bad_input_raises():
    with pytest.raises(ValueError, match='NaN'):
        lid_mle(np.full((10, 3), np.nan), k=3)
    with pytest.raises(ValueError, match='shape'):
        lid_mle(np.zeros(10), k=3)
    with pytest.raises(ValueError, match='normalization'):
        lid_mle(np.random.default_rng(0).random((10, 3)), k=3, normalization='n')
    with pytest.raises(ValueError, match='aggregate'):
        lid_mle_mean(np.random.default_rng(0).random((10, 3)), k=3, aggregate='max')


# -- batching and kinds --------------------------------------------------------------------------
def test_batched_equals_loop():
    rng = np.random.default_rng(4)
    Xs = np.stack([embedded_cube(n=400, d=d, D=20, seed=s) for s, d in enumerate([2, 4, 6])])
    Xs[1] += rng.normal(scale=0.01, size=Xs[1].shape)
    batched = lid_mle(torch.from_numpy(Xs), k=15)
    assert isinstance(batched, torch.Tensor) and batched.shape == (3, 400)
    for i in range(3):
        torch.testing.assert_close(batched[i], lid_mle(torch.from_numpy(Xs[i]), k=15))
    np.testing.assert_allclose(lid_mle_mean(Xs, k=15), [lid_mle_mean(x, k=15) for x in Xs])
    np.testing.assert_allclose(lid_twonn(Xs), [lid_twonn(x) for x in Xs])


def test_numpy_in_numpy_out_torch_in_torch_out():
    X = embedded_cube(n=200, seed=5)
    assert isinstance(lid_mle(X, k=10), np.ndarray)
    out = lid_mle(torch.from_numpy(X).float(), k=10)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), lid_mle(X, k=10), rtol=1e-5)
    assert isinstance(lid_mle_mean(X, k=10), float)


def test_layerwise_lid_flattens_and_groups_shapes():
    np.random.default_rng(6)
    a = torch.from_numpy(embedded_cube(n=300, d=3, D=2 * 4 * 4, seed=7)).reshape(300, 2, 4, 4)
    b = torch.from_numpy(embedded_cube(n=300, d=6, D=32, seed=8)).reshape(300, 2, 4, 4)
    c = torch.from_numpy(embedded_cube(n=300, d=2, D=10, seed=9))  # different shape
    prof = layerwise_lid([a, b, c], k=20)
    assert isinstance(prof, torch.Tensor) and prof.shape == (3,)
    expected = [lid_mle_mean(x.reshape(300, -1), k=20) for x in (a, b, c)]
    np.testing.assert_allclose(prof.numpy(), expected, rtol=1e-10)
    assert prof[0] < prof[2] + 2 and prof[1] > prof[0]
    tw = layerwise_lid([a.numpy(), c.numpy()], estimator='twonn', discard_fraction=0.1)
    assert isinstance(tw, np.ndarray)
    np.testing.assert_allclose(tw, [lid_twonn(a.reshape(300, -1).numpy()), lid_twonn(c.numpy())])
    with pytest.raises(ValueError, match='estimator'):
        layerwise_lid([a], estimator='pca')
    assert layerwise_lid([], k=5).shape == (0,)


# -- estimators and precomputed neighbours -------------------------------------------------------
def test_estimators(cube5):
    est = LIDMLE(n_neighbors=20).fit(cube5)
    assert est.dimension_pw_.shape == (len(cube5),)
    assert est.dimension_ == pytest.approx(lid_mle_mean(cube5, k=20))
    assert est.get_params() == {'n_neighbors': 20, 'normalization': 'k', 'aggregate': 'mean'}
    d = knn_distances(cube5, 20)
    shared = LIDMLE().fit(None, knn_dists=d)
    np.testing.assert_allclose(shared.dimension_pw_, est.dimension_pw_)
    np.testing.assert_allclose(lid_mle_from_knn(d), est.dimension_pw_)
    assert twonn_from_knn(d) == pytest.approx(TwoNN().fit(cube5).dimension_)
    with pytest.raises(ValueError, match='n_neighbors'):
        LIDMLE(n_neighbors=5000).fit(cube5)


def test_twonn_warns_when_undefined():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with pytest.raises(RuntimeWarning):
            twonn_from_knn(np.array([[1.0, 1.0]] * 10))
