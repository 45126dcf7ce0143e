"""Plotly figures and ipywidgets for nasviz results.

Importing this package loads plotly (and ipywidgets on first use of a widget) but never umap:
embeddings are computed in the analysis code and only drawn here. One module per kind of figure
(:mod:`~nasviz.viz.ranking`, :mod:`~nasviz.viz.similarity`, :mod:`~nasviz.viz.curves`,
:mod:`~nasviz.viz.embedding`, :mod:`~nasviz.viz.partition_tree`, :mod:`~nasviz.viz.bars`), what they
share (axis titles, op colours, reference lines) in :mod:`~nasviz.viz.common`, display tables in
:mod:`~nasviz.viz.tables`.
"""

from nasviz.viz.bars import plot_bars, plot_cost_bars, plot_interval_bars
from nasviz.viz.common import DEFAULT_BASELINES, op_abbrev, op_colour
from nasviz.viz.curves import plot_lid_curves, plot_metric_vs, plot_tau_vs_partitions
from nasviz.viz.embedding import plot_embedding
from nasviz.viz.partition_tree import plot_partition_tree
from nasviz.viz.ranking import (
    plot_over_training,
    plot_ranking,
    plot_ranking_baselines,
    plot_ranking_ci,
    plot_seed_comparison,
)
from nasviz.viz.similarity import plot_similarity, plot_similarity_grid, plot_subnet_similarity, subnet_ids
from nasviz.viz.tables import trim_table

__all__ = [
    'DEFAULT_BASELINES',
    'op_abbrev',
    'op_colour',
    'plot_bars',
    'plot_cost_bars',
    'plot_embedding',
    'plot_interval_bars',
    'plot_lid_curves',
    'plot_metric_vs',
    'plot_over_training',
    'plot_partition_tree',
    'plot_ranking',
    'plot_ranking_baselines',
    'plot_ranking_ci',
    'plot_seed_comparison',
    'plot_similarity',
    'plot_similarity_grid',
    'plot_subnet_similarity',
    'plot_tau_vs_partitions',
    'subnet_ids',
    'trim_table',
    'partition_explorer',
    'PartitionExplorer',
]


def __getattr__(name: str):
    # ipywidgets is slow to import and unneeded for static figures: load it on first use
    if name in ('partition_explorer', 'PartitionExplorer'):
        from nasviz.viz import widgets

        return getattr(widgets, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
