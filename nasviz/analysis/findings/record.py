"""Collecting findings and the headline numbers they rest on: :class:`Findings`, and the
``metrics_XX.json`` payload that stores both, with each number's provenance.

Pure computation: no plotting imports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.analysis.findings.comparisons import describe_difference
from nasviz.analysis.findings.ranking import describe_ranking
from nasviz.analysis.findings.seeds import describe_seed_comparison
from nasviz.analysis.findings.wording import check_name
from nasviz.analysis.seeds import SeedSummary
from nasviz.analysis.uncertainty import Estimate, PairedDifference, json_float

__all__ = ['THIS_RUN', 'to_jsonable', 'metrics_payload', 'write_metrics', 'Findings']


def to_jsonable(x: Any) -> Any:
    """Estimates, summaries and NumPy values as JSON-safe plain data (NaN/inf -> None)."""
    if isinstance(x, (Estimate, SeedSummary, PairedDifference)):
        return x.to_dict()
    if isinstance(x, Mapping):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [to_jsonable(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return json_float(x)
    if x is None or isinstance(x, str):
        return x
    raise ValueError(f'cannot store a {type(x).__name__} in a metrics file: {x!r}')


#: the provenance of a number computed by the notebook run that reports it
THIS_RUN = 'computed in this run'


def metrics_payload(
    headline: Mapping[str, Any],
    findings: Findings | list[str] | tuple[str, ...],
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Content of a ``metrics_XX.json``: every headline number (an Estimate becomes
    ``{"estimate", "low", "high", "n", "level"}``), plus ``"findings"``: the sentences, and
    ``"sources"``: for each number, whether this run computed it or it was read from a shipped
    file (which one, by name)."""
    if not isinstance(headline, Mapping):
        raise ValueError(f'headline must be a mapping of name -> number, got {type(headline).__name__}')
    if 'findings' in headline:
        raise ValueError("headline must not hold a 'findings' key: the sentences go in findings")
    sentences = findings.to_list() if isinstance(findings, Findings) else list(findings)
    if not all(isinstance(s, str) for s in sentences):
        raise ValueError('findings must be sentences (strings)')
    out = to_jsonable(dict(headline))
    out['findings'] = sentences
    if sources:
        out['sources'] = {str(k): str(v) for k, v in sources.items()}
    return out


def write_metrics(
    path: str | os.PathLike,
    headline: Mapping[str, Any],
    findings: Findings | list[str] | tuple[str, ...],
    sources: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`metrics_payload` to ``path`` as JSON, atomically (temp file + rename)."""
    from nasviz.io import atomic_write_text

    text = json.dumps(metrics_payload(headline, findings, sources), indent=1, allow_nan=False)
    return atomic_write_text(path, text + '\n')


class Findings:
    """An ordered list of finding sentences, plus the headline numbers they rest on.

    >>> f = Findings()
    >>> f.ranking('SPOS', est, random=rnd, ceiling=ceil)    # describe_ranking, kept and returned
    >>> f.metric('spos_kendall_tau', est)                   # a headline number for metrics_XX.json
    >>> f.metric('ista_accuracy', est, source='read from search_comparison_tiny.csv')
    >>> f.to_markdown(); f.payload(); f.write('metrics_01.json')

    Every headline number carries its provenance (``source``; default :data:`THIS_RUN`), which
    the report's index shows beside it.
    """

    def __init__(self) -> None:
        self._sentences: list[str] = []
        self._metrics: dict[str, Any] = {}
        self._sources: dict[str, str] = {}

    def add(self, sentence: str) -> str:
        """Append one sentence (any text); returns it."""
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f'sentence must be a non-empty string, got {sentence!r}')
        self._sentences.append(sentence.strip())
        return self._sentences[-1]

    def ranking(self, *args: Any, **kw: Any) -> str:
        """:func:`describe_ranking`, appended."""
        return self.add(describe_ranking(*args, **kw))

    def difference(self, *args: Any, **kw: Any) -> str:
        """:func:`describe_difference`, appended."""
        return self.add(describe_difference(*args, **kw))

    def seeds(self, *args: Any, **kw: Any) -> str:
        """:func:`describe_seed_comparison`, appended."""
        return self.add(describe_seed_comparison(*args, **kw))

    def metric(self, key: str, value: Any, source: str = THIS_RUN) -> None:
        """Record a headline number (Estimate, SeedSummary, float, ...) under ``key``, with where
        it comes from: :data:`THIS_RUN`, or e.g. ``'read from search_comparison_tiny.csv'`` (a
        file name, never an absolute path)."""
        key = check_name(key, 'key')
        if key in ('findings', 'sources'):
            raise ValueError(f"key {key!r} is reserved (the sentences and the numbers' provenance)")
        source = check_name(source, 'source')
        if os.path.isabs(source.split()[-1]):
            raise ValueError(f'source must name a file, not an absolute path: {source!r}')
        to_jsonable(value)  # fail now, not when writing
        self._metrics[key] = value
        self._sources[key] = source

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._metrics)

    @property
    def sources(self) -> dict[str, str]:
        """``{key: provenance}`` of every recorded number."""
        return dict(self._sources)

    def to_list(self) -> list[str]:
        return list(self._sentences)

    def to_markdown(self) -> str:
        """A Markdown bullet list (empty string when there is nothing to say)."""
        return '\n'.join(f'- {s}' for s in self._sentences)

    def payload(self, **extra: Any) -> dict[str, Any]:
        """:func:`metrics_payload` of the recorded metrics (plus ``extra`` ones) and sentences."""
        return metrics_payload({**self._metrics, **extra}, self, self._sources)

    def write(self, path: str | os.PathLike, **extra: Any) -> Path:
        """:func:`write_metrics` of :meth:`payload`."""
        return write_metrics(path, {**self._metrics, **extra}, self, self._sources)

    def __len__(self) -> int:
        return len(self._sentences)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sentences)

    def __repr__(self) -> str:
        return f'Findings({len(self)} sentences, {len(self._metrics)} metrics)'

    def _repr_markdown_(self) -> str:  # a notebook cell ending in a Findings shows the list
        return self.to_markdown() or '*no findings*'
