"""Plotly figures and ipywidgets for nasviz results.

Importing this package loads plotly (and ipywidgets on first use of a widget) but never umap:
embeddings are computed in the analysis code and only drawn here.
"""
from nasviz.viz.figures import (
    DEFAULT_BASELINES,
    op_abbrev,
    op_colour,
    plot_bars,
    plot_cost_bars,
    plot_embedding,
    plot_interval_bars,
    plot_lid_curves,
    plot_metric_vs,
    plot_over_training,
    plot_partition_tree,
    plot_ranking,
    plot_ranking_baselines,
    plot_ranking_ci,
    plot_seed_comparison,
    plot_similarity,
    plot_similarity_grid,
    plot_subnet_similarity,
    plot_tau_vs_partitions,
    subnet_ids,
    trim_table,
)

__all__ = [
    'DEFAULT_BASELINES', 'op_abbrev', 'op_colour', 'plot_bars', 'plot_cost_bars', 'plot_embedding', 'plot_interval_bars',
    'plot_lid_curves', 'plot_metric_vs', 'plot_over_training', 'plot_partition_tree', 'plot_ranking',
    'plot_ranking_baselines', 'plot_ranking_ci', 'plot_seed_comparison', 'plot_similarity',
    'plot_similarity_grid', 'plot_subnet_similarity', 'plot_tau_vs_partitions', 'subnet_ids', 'trim_table',
    'partition_explorer', 'PartitionExplorer',
]


def __getattr__(name: str):
    # ipywidgets is slow to import and unneeded for static figures: load it on first use
    if name in ('partition_explorer', 'PartitionExplorer'):
        from nasviz.viz import widgets

        return getattr(widgets, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
