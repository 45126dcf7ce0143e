"""Splitting a supernet into sub-supernets: per-edge op splits and the tree they grow.

scikit-learn loads only when a clustering split method is used; torch only when a pipeline
(:func:`run_partition`, :func:`run_comparison`) actually runs.
"""

from nasviz.partition.compare import Comparison, compare_methods, run_comparison, summarize
from nasviz.partition.pipeline import PARTITION_METHODS, PartitionConfig, PartitionResult, run_partition
from nasviz.partition.split import (
    CRITERIA,
    MAX_EXHAUSTIVE_OPS,
    METHODS,
    SplitResult,
    choose_edge,
    enumerate_partitions,
    split_between,
    split_ops,
    split_score,
)
from nasviz.partition.tree import PartitionNode, PartitionTree

__all__ = [
    'CRITERIA',
    'MAX_EXHAUSTIVE_OPS',
    'METHODS',
    'SplitResult',
    'choose_edge',
    'enumerate_partitions',
    'split_between',
    'split_ops',
    'split_score',
    'PartitionNode',
    'PartitionTree',
    'PARTITION_METHODS',
    'PartitionConfig',
    'PartitionResult',
    'run_partition',
    'Comparison',
    'compare_methods',
    'run_comparison',
    'summarize',
]
