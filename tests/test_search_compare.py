"""benchmarks/search_compare.py: one comparison per space (--space nb201|darts), its CSV and the
printed table (mean +- SE, paired differences, trivial baselines, percentiles). The searches are
replaced by cells drawn from the real benchmark, so the test checks the script, not a search."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasviz.search import SEARCH_METHODS, SearchConfig
from nasviz.search.base import SearchResult
from nasviz.search.compare import comparison_path, load_comparison

SCRIPT = Path(__file__).resolve().parents[1] / 'benchmarks' / 'search_compare.py'


def load_script():
    spec = importlib.util.spec_from_file_location('search_compare_script', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_comparison_path_per_space():
    assert comparison_path('tiny').name == 'search_comparison_tiny.csv'
    assert comparison_path('tiny', 'darts').name == 'search_comparison_tiny_darts.csv'
    assert comparison_path('small', 'darts').parent == comparison_path('tiny').parent


@pytest.mark.parametrize('space', ['nb201', 'darts'])
def test_script_compares_on_each_space(space, tmp_path, monkeypatch, capsys):
    mod = load_script()
    calls = []

    def fake_run_search(method, space, profile, seed, bench, **kw):
        calls.append((method, space, seed, kw.get('epochs')))
        archs = bench.archs()
        arch = archs[(7 * seed + SEARCH_METHODS.index(method)) % len(archs)]
        return SearchResult(
            method,
            arch,
            SearchConfig(method=method, space=space, seed=seed, epochs=kw['epochs']),
            1.0 + seed,
            true_accuracy=float(bench.accuracy(arch)),
            truth_source='benchmark',
        )

    monkeypatch.setattr(mod, 'run_search', fake_run_search)
    out = tmp_path / 'cmp.csv'
    assert mod.main(['--space', space, '--seeds', '0', '1', '2', '--epochs', '2', '--out', str(out)]) == 0
    assert {c[1] for c in calls} == {space} and {c[3] for c in calls} == {2} and len(calls) == 12
    runs = load_comparison(out)
    assert len(runs) == 12 and set(runs['method']) == set(SEARCH_METHODS)
    text = capsys.readouterr().out
    assert f'space {space}' in text and 'diff_low' in text and 'random cell (mean of the space)' in text
    assert 'best cell in the table (oracle)' in text and 'where each found cell falls' in text
    # the printed means are those of the CSV
    ista = runs.loc[runs.method == 'ista', 'true_accuracy'].to_numpy()
    assert f'{np.mean(ista):.3f}' in text
    if space == 'darts':  # darts cells really are DARTS genotypes
        assert runs['arch'].str.startswith('normal=').all()


def test_script_rejects_repeated_seeds(capsys):
    mod = load_script()
    with pytest.raises(SystemExit) as e:
        mod.main(['--seeds', '0', '0'])
    assert e.value.code == 2 and 'repeated' in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        mod.main(['--space', 'nb101'])
    assert e.value.code == 2 and '--space' in capsys.readouterr().err


def test_script_one_stage(tmp_path, monkeypatch, capsys):
    mod = load_script()

    def fake_run_search(method, space, profile, seed, bench, **kw):
        assert kw['one_stage'] is True and method == 'ista'
        arch = bench.archs()[seed]
        c = SearchConfig(
            method=method, space=space, seed=seed, epochs=2, one_stage=True, final_epochs=kw['final_epochs']
        )
        return SearchResult(
            method,
            arch,
            c,
            1.0,
            true_accuracy=float(bench.accuracy(arch)),
            truth_source='benchmark',
            final_history=pd.DataFrame(dict(epoch=[2], arch=[arch], train_loss=[1.0], train_acc=[50.0], seconds=[3.0])),
            network_accuracy=float(bench.accuracy(arch)) - 1 - seed,
            network_loss=1.0,
        )

    monkeypatch.setattr(mod, 'run_search', fake_run_search)
    out = tmp_path / 'one.csv'
    assert (
        mod.main(
            ['--methods', 'ista', '--one-stage', '--final-epochs', '1', '--seeds', '0', '1', '2', '--out', str(out)]
        )
        == 0
    )
    runs = pd.read_csv(out)
    assert {'network_accuracy', 'final_epochs', 'final_seconds'} <= set(runs.columns)
    text = capsys.readouterr().out
    # network minus truth is -1, -2, -3 by construction: mean -2.00
    assert "one-stage: the trained network's own test accuracy" in text and '-2.00 (95% t interval' in text
    with pytest.raises(SystemExit) as e:
        mod.main(['--methods', 'ista', 'darts', '--one-stage'])
    assert e.value.code == 2 and 'ISTA-NAS option' in capsys.readouterr().err


def test_shipped_small_comparison_matches_the_nb201_table(nb201_table_path):
    """The shipped NB201 `small` comparison holds every method on the same 3 seeds, at the
    profile's 30 epochs, and each found cell's true accuracy is the real table's value."""
    from nasviz.bench import load_benchmark
    from nasviz.spaces import get_space

    runs = load_comparison(comparison_path('small'))
    assert sorted(runs.groupby('method')['seed'].apply(sorted).apply(tuple).unique()) == [(0, 1, 2)]
    assert set(runs['method']) == set(SEARCH_METHODS) and (runs['epochs'] == 30).all()
    assert (runs['truth_source'] == 'benchmark').all()
    bench = load_benchmark('nb201')
    space = get_space('nb201')
    table = np.array([bench.accuracy(space.from_str(a)) for a in runs['arch']])
    np.testing.assert_allclose(runs['true_accuracy'].to_numpy(), table, atol=1e-6)
