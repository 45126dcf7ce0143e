"""One entry point for every search method: :func:`run_search`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nasviz.bench.micro import MicroBench
from nasviz.cache import cache_dir, cached, param_hash
from nasviz.experiment import load_bench, load_data, settings_for
from nasviz.profiles import profile_settings
from nasviz.search.base import SEARCH_METHODS, SearchConfig, SearchResult, config_key, split_for_search, true_accuracy
from nasviz.search.darts import darts_search
from nasviz.search.groups import search_groups
from nasviz.search.ista import ista_search
from nasviz.search.random import candidate_cells, random_search, spos_rs_search
from nasviz.validate import check_choice


def search_config(
    method: str, profile: str = 'tiny', seed: int = 0, space: str = 'nb201', **overrides: Any
) -> SearchConfig:
    """A :class:`SearchConfig` sized by ``profile`` (its C, N, epochs, batch size, learning
    rate, BN recalibration and held-out score), then the space's own defaults (DARTS: ``m=8``),
    then ``overrides`` (None values ignored)."""
    check_choice(method, SEARCH_METHODS, 'method')
    search_groups(space)  # names the spaces searches run on when this one has none
    s = profile_settings(profile)
    base: dict[str, Any] = dict(
        method=method,
        space=space,
        C=s.C,
        N=s.N,
        epochs=s.epochs,
        batch_size=s.batch_size,
        lr=s.lr,
        recal_batches=s.recal_batches,
        score=s.score,
        seed=seed,
    )
    base.update(search_groups(space).defaults)
    known = set(SearchConfig.__dataclass_fields__)
    unknown = sorted(k for k in overrides if k not in known)
    if unknown:
        raise ValueError(f'unknown search setting(s) {unknown}; known: {sorted(known)}')
    base.update({k: v for k, v in overrides.items() if v is not None})
    return SearchConfig(**base)


def run_search(
    method: str,
    space: str = 'nb201',
    profile: str = 'tiny',
    seed: int = 0,
    *,
    data=None,
    bench=None,
    cache: bool = True,
    progress: bool = True,
    truth: bool = True,
    **overrides: Any,
) -> SearchResult:
    """Run one search (or load it from the cache) and look up its cell's true accuracy.

    ``method``: ``'ista'`` | ``'darts'`` | ``'spos-rs'`` | ``'random'``; ``space``: ``'nb201'`` |
    ``'darts'``; ``profile``: ``'tiny'`` (digits, the space's micro benchmark) | ``'small'``
    (CIFAR-10 subset, the space's table: NAS-Bench-201, or the NAS-Bench-301 sample);
    ``overrides``: :class:`SearchConfig` fields (``epochs``, ``lam``, ``m``, ``n_candidates``,
    ``arch_lr`` ...; ``one_stage=True`` with ``final_epochs``: ISTA-NAS's one-stage variant, the
    support fixed after the search and the same weights trained on the whole training split, the
    result carrying the network's own test accuracy, :mod:`nasviz.search.one_stage`; other methods
    reject it with a ``ValueError``). ``data``/``bench`` default to the profile's. The candidates of ``spos-rs``
    and ``random`` are drawn from the benchmark's cells when it does not hold the whole space (a
    micro benchmark, the NAS-Bench-301 sample), so each has a real truth; ISTA-NAS and DARTS may
    return any cell: on a micro benchmark its truth is then trained with the benchmark's recipe
    (:func:`~nasviz.search.base.true_accuracy`); a table that lacks it raises
    :class:`~nasviz.search.base.NoGroundTruth` (a ``ValueError``: nothing is invented).
    """
    check_choice(method, SEARCH_METHODS, 'method')
    search_groups(space)  # names the spaces searches run on when this one has none
    cfg = search_config(method, profile, seed, space=space, **overrides)
    groups = search_groups(space)
    s = settings_for(profile, space=space)
    if bench is None and (truth or method in ('spos-rs', 'random')):
        bench = load_bench(s)
    data = data if data is not None else load_data(s)
    view = split_for_search(data)
    candidates = None
    if method in ('spos-rs', 'random'):
        partial = isinstance(bench, MicroBench) or not groups.table_is_complete
        candidates = candidate_cells(cfg.n_candidates, cfg.seed, bench.archs() if partial else None, space=space)

    key = (config_key(cfg), view.data_id, [str(a) for a in candidates] if candidates else None)
    # per-epoch checkpoints of the search itself, so a killed search resumes (random search is a
    # sequence of short standalone runs and restarts)
    run_dir = cache_dir() / 'search_runs' / param_hash(*key) if cache else None

    def compute() -> SearchResult:
        # searches run on the CPU tensors of ``data`` (the tiny and small profiles' sizes)
        if method == 'ista':
            return ista_search(cfg, view, progress=progress, checkpoint_dir=run_dir, full_data=data)
        if method == 'darts':
            return darts_search(cfg, view, progress=progress, checkpoint_dir=run_dir)
        assert candidates is not None  # drawn above for spos-rs and random
        if method == 'spos-rs':
            return spos_rs_search(cfg, view, candidates, progress=progress, checkpoint_dir=run_dir)
        return random_search(cfg, view, candidates, progress=progress)

    result = cached(
        'search', key, compute, cache=cache, validate=lambda r: isinstance(r, SearchResult) and r.config == cfg
    )
    result = replace(result)  # a copy: the truth below never changes a cached object
    if truth:
        result.true_accuracy, result.ground_truth, result.truth_source = true_accuracy(result.arch, bench, cache=cache)
    return result


__all__ = ['run_search', 'search_config']
