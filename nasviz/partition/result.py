"""What a partition run produced (:class:`PartitionResult`), saved to and loaded from a folder."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nasviz.io import atomic_write_text
from nasviz.partition.config import PartitionConfig
from nasviz.partition.tree import PartitionTree

if TYPE_CHECKING:
    from nasviz.supernet.train import TrainConfig

__all__ = ['PartitionResult']


@dataclass
class PartitionResult:
    """Everything one :func:`run_partition` produced.

    ``frame``: one row per evaluated cell with ``arch_str``, ``partition`` (leaf node id),
    ``score`` (supernet accuracy, %), ``loss``, and ``truth``/``params`` when a benchmark was
    given. ``metrics``: :func:`~nasviz.analysis.metrics.rank_metrics` of score vs truth (empty
    without a benchmark). ``histories``: per-node training history. ``seconds``: wall time of
    ``train``, ``features``, ``eval`` and ``total``. ``info``: sizes, data id, budget mode, per-node
    seconds (``node_seconds``; kept out of the tree so a resumed run rebuilds it identically).
    """

    config: PartitionConfig
    tree: PartitionTree
    frame: pd.DataFrame
    metrics: dict[str, float]
    histories: dict[str, pd.DataFrame]
    seconds: dict[str, float]
    train_config: TrainConfig | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def node_epochs(self) -> dict[str, int]:
        """Epochs each node trained (depth-first)."""
        return {n.node_id: int(n.info.get('epochs', 0)) for n in self.tree}

    @property
    def total_epochs(self) -> int:
        """Supernet-epochs spent, summed over all nodes."""
        return sum(self.node_epochs.values())

    def nodes_frame(self) -> pd.DataFrame:
        """:meth:`PartitionTree.to_frame` plus ``epochs``, the split edge chosen at each node
        (``split_at``) and how many evaluated cells each leaf holds (``n_archs``)."""
        df = self.tree.to_frame()
        df['epochs'] = [self.tree[n].info.get('epochs', 0) for n in df['node_id']]
        df['split_at'] = pd.array(
            [self.tree[n].info.get('split', {}).get('edge') for n in df['node_id']], dtype='Int64'
        )
        counts = self.frame['partition'].value_counts()
        df['n_archs'] = [int(counts.get(n, 0)) for n in df['node_id']]
        return df

    def __repr__(self) -> str:
        m = ', '.join(f'{k}={v:.3f}' for k, v in self.metrics.items() if k in ('kendall_tau', 'spearman'))
        return (
            f'PartitionResult(method={self.config.method!r}, seed={self.config.seed}, '
            f'leaves={self.tree.n_leaves}, archs={len(self.frame)}, epochs={self.total_epochs}'
            + (f', {m}' if m else '')
            + ')'
        )

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``frame.csv``, ``tree.json``, ``metrics.json``, ``histories.csv`` and
        ``result.json`` (configs, seconds, info), each atomically."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        atomic_write_text(d / 'frame.csv', self.frame.to_csv(index=False, lineterminator='\n'))
        self.tree.save(d / 'tree.json')
        atomic_write_text(d / 'metrics.json', json.dumps(self.metrics, indent=1))
        hist = [h.assign(node_id=nid) for nid, h in self.histories.items() if len(h)]
        hist_df = pd.concat(hist, ignore_index=True) if hist else pd.DataFrame(columns=['node_id'])
        atomic_write_text(d / 'histories.csv', hist_df.to_csv(index=False, lineterminator='\n'))
        meta = dict(
            partition=self.config.to_dict(),
            train=None if self.train_config is None else asdict(self.train_config),
            seconds=self.seconds,
            info=self.info,
        )
        atomic_write_text(d / 'result.json', json.dumps(meta, indent=1, default=str))
        return d

    @classmethod
    def load(cls, directory: str | os.PathLike) -> PartitionResult:
        """Read what :meth:`save` wrote."""
        d = Path(directory)
        missing = [n for n in ('frame.csv', 'tree.json', 'metrics.json', 'result.json') if not (d / n).is_file()]
        if missing:
            raise FileNotFoundError(f'{d} holds no saved PartitionResult (missing {missing})')
        meta = json.loads((d / 'result.json').read_text(encoding='utf-8'))
        train = None
        if meta.get('train') is not None:
            from nasviz.supernet.train import TrainConfig

            train = TrainConfig(**meta['train'])
        frame = pd.read_csv(d / 'frame.csv', dtype={'partition': str, 'arch_str': str})
        histories: dict[str, pd.DataFrame] = {}
        if (d / 'histories.csv').is_file():
            h = pd.read_csv(d / 'histories.csv', dtype={'node_id': str})
            for nid, g in h.groupby('node_id', sort=False):
                histories[str(nid)] = g.drop(columns='node_id').reset_index(drop=True)
        return cls(
            config=PartitionConfig.from_dict(meta['partition']),
            tree=PartitionTree.load(d / 'tree.json'),
            frame=frame,
            metrics=json.loads((d / 'metrics.json').read_text(encoding='utf-8')),
            histories=histories,
            seconds=dict(meta.get('seconds') or {}),
            train_config=train,
            info=dict(meta.get('info') or {}),
        )
