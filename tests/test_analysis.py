import numpy as np
import pandas as pd
import pytest
import torch

from nasviz.analysis.clusters import cluster_quality
from nasviz.analysis.embedding import embed_umap
from nasviz.data import load_digits
from nasviz.features.interference import (
    InterferenceTracker,
    cosine_matrix,
    interference_by_layer,
    parameter_groups,
    subnet_gradients,
)
from nasviz.partition.split import split_quality
from nasviz.spaces.nb201 import OPS, sample_archs
from nasviz.spaces.nb201_network import NB201Supernet


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 0.3, (30, 4)), rng.normal(3, 0.3, (30, 4))])
    return X, np.repeat(['a', 'b'], 30)


def test_cosine_matrix():
    G = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0], [2.0, 2.0]])
    S = cosine_matrix(G)
    assert S[0, 1] == pytest.approx(-1) and S[2, 2] == 1 and S[2, 0] == 0
    assert S[0, 3] == pytest.approx(np.sqrt(0.5)) and np.allclose(S, S.T)


def test_cluster_quality_separates_blobs_and_not_noise():
    X, y = _blobs()
    q = cluster_quality(X, y)
    assert q['silhouette'] > 0.7 and q['separability'] == 1.0 and q['chance'] == 0.5
    noise = cluster_quality(np.random.default_rng(1).normal(size=(60, 4)), y)
    assert noise['silhouette'] < 0.1 and noise['davies_bouldin'] > q['davies_bouldin']
    with pytest.raises(ValueError, match='groups'):
        cluster_quality(X, ['a'] * 60)


def test_split_quality_prefers_the_planted_split():
    ops = list(OPS)
    S = np.full((5, 5), 0.1)
    for g in ([0, 1, 4], [2, 3]):
        S[np.ix_(g, g)] = 0.9
    np.fill_diagonal(S, 1.0)
    sim = pd.DataFrame(S, index=ops, columns=ops)
    good = split_quality(sim, [['none', 'skip_connect', 'avg_pool_3x3'], ['nor_conv_1x1', 'nor_conv_3x3']])
    bad = split_quality(sim, [['none', 'nor_conv_1x1'], ['skip_connect', 'nor_conv_3x3', 'avg_pool_3x3']])
    assert good['silhouette'] > 0.5 > bad['silhouette'] and good['gap'] > bad['gap']
    with pytest.raises(ValueError, match='do not cover'):
        split_quality(sim, [['none'], ['skip_connect']])


@pytest.mark.slow  # the first UMAP fit in a process compiles umap-learn's numba code: ~40 s
def test_umap_is_deterministic_and_validates():
    X, _ = _blobs()
    a, b = embed_umap(X, random_state=3), embed_umap(X, random_state=3)
    assert a.shape == (60, 2) and np.allclose(a, b)
    with pytest.raises(ValueError, match='NaN'):
        embed_umap(np.full((10, 3), np.nan))


def test_interference_by_layer_and_tracker():
    torch.manual_seed(0)
    data = load_digits(n_train=100, test_views=1)
    model = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
    groups = parameter_groups(model)
    assert [g for g, _ in groups] == ['stem', *model.block_names, 'head']
    assert groups[-1][1].stop == sum(p.numel() for p in model.parameters())
    archs = sample_archs(5, rng=0, unique=True, exclude_degenerate=True)
    df = interference_by_layer(model, data, archs, batch_size=32)
    assert list(df['layer']) == [g for g, _ in groups]
    shared = df.set_index('layer')
    # stem, reductions and head are used by every subnet; cells only by pairs sharing an op
    assert shared.loc['stem', 'shared_pairs'] == 1.0 and shared.loc['head', 'shared_pairs'] == 1.0
    assert df['mean_cosine'].dropna().between(-1, 1).all()
    # the stem row is the mean over all pairs of the cosine of the subnets' stem gradients
    G = subnet_gradients(model, data, archs, 32, 0)[:, dict(groups)['stem']].astype(np.float64)
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    pairs = [G[i] @ G[j] for i in range(len(archs)) for j in range(i + 1, len(archs))]
    assert shared.loc['stem', 'mean_cosine'] == pytest.approx(np.mean(pairs), rel=1e-9)
    assert shared.loc['stem', 'conflict_share'] == np.mean(np.array(pairs) < 0)
    # a subnet paired with itself: cosine 1 and no conflict on every layer it uses
    same = interference_by_layer(model, data, [archs[0], archs[0]], batch_size=32).dropna(subset=['mean_cosine'])
    assert {'stem', 'head'} <= set(same['layer'])
    assert np.allclose(same['mean_cosine'], 1) and (same['conflict_share'] == 0).all()
    row = InterferenceTracker(data, archs, batch_size=32)(0, model)
    assert set(row) == {'cosine_all', 'conflict_all', 'cosine_shared', 'conflict_shared'}
    with pytest.raises(ValueError, match='at least 2'):
        interference_by_layer(model, data, archs[:1])
