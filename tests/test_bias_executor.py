"""Bias sweeps on an executor: ``bias_inputs`` trains each (space, seed) SPOS supernet
as one executor task, and two worker processes of the local pool give exactly the scores of the
default in-process run (the smallest real training: tiny profile, 1 epoch, 12 cells, 2 seeds).

Each run gets its own cache, so the workers really train instead of loading the in-process
run's checkpoints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from nasviz.experiment import bias_inputs

torch.set_num_threads(1)  # the workers' thread count: the same arithmetic in both runs
SMALLEST = dict(spaces=('nb201',), published=False, progress=False, epochs=1, n_eval=12, n_seeds=2)


@pytest.mark.slow
def test_bias_inputs_on_a_local_pool_equal_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'here'))
    here, missing = bias_inputs('tiny', **SMALLEST)
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'pool'))  # the spawned workers inherit it
    there, missing_there = bias_inputs('tiny', backend='local', workers=2, **SMALLEST)
    assert missing == missing_there == {} and list(here) == list(there) == ['nb201/spos']
    a, b = here['nb201/spos'], there['nb201/spos']
    assert a['seed_scores'].shape == (2, 12) and not np.array_equal(a['seed_scores'][0], a['seed_scores'][1])
    for name in ('scores', 'seed_scores', 'truth', 'params'):
        assert np.array_equal(a[name], b[name]), name
    assert a['bn_scores'].keys() == b['bn_scores'].keys()
    for mode in a['bn_scores']:
        assert np.array_equal(a['bn_scores'][mode], b['bn_scores'][mode]), mode
    assert [str(x) for x in a['archs']] == [str(x) for x in b['archs']]
    timeless = ['scores', 'seconds']  # the scores are lists (compared below), the seconds wall time
    pd.testing.assert_frame_equal(
        a['history'].drop(columns=timeless), b['history'].drop(columns=timeless), check_exact=True
    )
    assert [list(s) for s in a['history']['scores']] == [list(s) for s in b['history']['scores']]
    # the pool's workers trained both supernets into their own cache
    assert len(list((tmp_path / 'pool' / 'supernet').glob('*/checkpoint.pt'))) == 2


def test_bias_inputs_backend_is_checked_before_any_training(monkeypatch):
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        bias_inputs('tiny', backend='spark', **SMALLEST)
    monkeypatch.setenv('NASVIZ_BACKEND', 'spark')
    with pytest.raises(ValueError, match="NASVIZ_BACKEND: unknown backend 'spark'"):
        bias_inputs('tiny', **SMALLEST)
    with pytest.raises(ValueError, match='workers'):
        bias_inputs('tiny', backend='local', workers=0, **SMALLEST)


def test_the_last_tracked_epoch_fills_the_evaluation_cache(tmp_path, monkeypatch):
    """Scoring the finished supernet reads the last tracked epoch's evaluation from the cache:
    every cell is evaluated once for the tracked epochs plus once per other BN mode, never twice
    for recalibrated BN, and the scores are the tracked ones (which the history rounds to 4 places)."""
    import nasviz.supernet.evaluate as ev

    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    calls = []
    real = ev.evaluate_archs

    def counted(model, archs, data, **kw):
        calls.append(kw.get('bn', 'recalibrate'))
        return real(model, archs, data, **kw)

    monkeypatch.setattr(ev, 'evaluate_archs', counted)
    got, _ = bias_inputs('tiny', spaces=('nb201',), published=False, progress=False, epochs=2, n_eval=12, track_every=1)
    d = got['nb201/spos']
    # epochs 1 and 2 tracked, then running and batch statistics: 4 evaluations, not 5
    assert sorted(calls) == ['batch', 'recalibrate', 'recalibrate', 'running'], calls
    assert np.allclose(d['history']['scores'].iloc[-1], d['scores'], atol=5e-5)
