"""Search-space reduction: C-BRED (cluster the graphs, score clusters with proxies, keep the best).

``encodings`` (op-usage histogram, nodes x nodes x ops adjacency tensor, and the topology-aware
cell graph, Weisfeiler-Lehman subtree counts and path encoding), ``distances`` (symmetric KL,
Jensen-Shannon, Hellinger, graph edit distance with per-op costs, the cosine / normalised-kernel
distance), ``cbred`` (:class:`CBRED`, :func:`compare_selection`), ``evaluate`` (the selection over
clustering seeds paired with the trivial selections, and the grid of settings), ``run`` (the
``nasviz reduce`` command's work).
"""

from nasviz.reduce.cbred import (
    CBRED,
    CLUSTERINGS,
    DISTANCES,
    ENCODINGS,
    REDUCE_DATASETS,
    cluster_distances,
    compare_selection,
    mean_ci,
    pairwise_distances,
)
from nasviz.reduce.distances import cosine_distance, graph_edit_distance, hellinger, jensen_shannon, symmetric_kl
from nasviz.reduce.encodings import adjacency_tensor, cell_graph, encode, op_histogram, path_encoding, wl_features
from nasviz.reduce.evaluate import cbred_grid, evaluate_seeds, proxy_baselines, summarize_seeds, top_fraction_mean
from nasviz.reduce.run import ReduceResult, StudyData, load_study, read_proxy_table, reduce_cli, reduce_space

__all__ = [
    'CBRED',
    'compare_selection',
    'mean_ci',
    'cluster_distances',
    'pairwise_distances',
    'ENCODINGS',
    'DISTANCES',
    'CLUSTERINGS',
    'REDUCE_DATASETS',
    'op_histogram',
    'adjacency_tensor',
    'encode',
    'symmetric_kl',
    'jensen_shannon',
    'hellinger',
    'graph_edit_distance',
    'reduce_space',
    'reduce_cli',
    'ReduceResult',
    'StudyData',
    'load_study',
    'read_proxy_table',
    'cell_graph',
    'wl_features',
    'path_encoding',
    'cosine_distance',
    'evaluate_seeds',
    'summarize_seeds',
    'cbred_grid',
    'top_fraction_mean',
    'proxy_baselines',
]
