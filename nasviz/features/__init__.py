"""Features of trained supernets: layer-wise local intrinsic dimension (LID) and friends."""

from nasviz.features.lid import (
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

__all__ = [
    'LIDMLE',
    'TwoNN',
    'knn_distances',
    'layerwise_lid',
    'lid_mle',
    'lid_mle_from_knn',
    'lid_mle_mean',
    'lid_twonn',
    'twonn_from_knn',
]
from nasviz.features.ops import (
    FeatureConfig,
    OpFeatures,
    edge_similarities,
    edge_similarity,
    grad_features,
    lid_features,
    op_similarity,
    subnet_grad_vectors,
    subnet_lid_vectors,
)

__all__ += [
    'FeatureConfig',
    'OpFeatures',
    'edge_similarities',
    'edge_similarity',
    'grad_features',
    'lid_features',
    'op_similarity',
    'subnet_grad_vectors',
    'subnet_lid_vectors',
]
