"""The tiny profile end to end: train a supernet on the embedded data, rank >= 50 cells against
the shipped micro benchmark, through the library and through the command line."""

import re

import numpy as np
import pytest

from nasviz.analysis.baselines import baseline_metrics
from nasviz.analysis.metrics import random_baseline, rank_metrics
from nasviz.cli import main
from nasviz.experiment import eval_archs, load_bench, load_data, settings_for, trained_supernet
from nasviz.supernet.evaluate import evaluate_archs


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    # the profile's 10 epochs (SPOS tau 0.20 +- 0.03 over 5 seeds, README); n_eval above the
    # bench size: every cell
    return settings_for('tiny', epochs=10, n_eval=1000)


@pytest.mark.slow
def test_tiny_supernet_ranks_microbench(tiny, tmp_path, capsys):
    data, bench = load_data(tiny), load_bench(tiny)
    model, hist = trained_supernet(tiny, data, seed=0, progress=False)
    assert len(hist) == 10 and hist.train_loss.iloc[-1] < hist.train_loss.iloc[0]
    archs = eval_archs(tiny, bench, seed=0)
    # every cell of the micro benchmark (>= 200): random scores give tau 0.00 +- 0.05, enough
    # power to tell a short-trained supernet's weak but real signal from chance
    assert len(archs) == len(bench) >= 200
    df = evaluate_archs(
        model,
        archs,
        data,
        recal_batches=tiny.recal_batches,
        max_samples=tiny.eval_samples,
        progress=False,
        score=tiny.score,
    )
    truth = bench.accuracies(archs)
    m = rank_metrics(df['score'].to_numpy(), truth)
    rnd = random_baseline(truth, random_state=0)
    # a short-trained supernet must already rank better than chance
    assert m['kendall_tau'] > rnd['kendall_tau'] + 2 * rnd['kendall_tau_std'], (m, rnd)
    base = baseline_metrics(bench, archs)
    assert {'params', 'seed-to-seed', 'random-scores'} <= set(base.index)
    assert base.loc['seed-to-seed', 'kendall_tau'] > m['kendall_tau']  # the ceiling stays a ceiling
    # a second call reuses the finished checkpoint: no training, same weights
    again, hist2 = trained_supernet(tiny, data, seed=0, progress=False)
    assert len(hist2) == 10
    assert all(np.array_equal(a.detach(), b.detach()) for a, b in zip(model.parameters(), again.parameters()))

    # the command line reaches the same run from the cache
    import pandas as pd

    scores = tmp_path / 'cli_scores.csv'
    assert main(['evaluate', '--profile', 'tiny', '--epochs', '10', '--n', '60', '--out', str(scores)]) == 0
    out = capsys.readouterr().out
    cli = pd.read_csv(scores)
    assert len(cli) == 60 and cli['arch_str'].is_unique and '; 60 cells;' in out
    # the printed supernet tau is the rank correlation of the scores it wrote against the truth
    want = rank_metrics(cli['score'].to_numpy(), cli['truth'].to_numpy())['kendall_tau']
    row = re.search(r'^\s*supernet\s+method\s+kendall_tau\s+(\S+)\s+(\S+)\s+(\S+)\s+60\s', out, re.MULTILINE)
    assert row, out
    est, low, high = map(float, row.groups())
    assert est == pytest.approx(want, abs=1e-4) and low <= est <= high
    for baseline in ('params', 'random-scores', 'reliability'):
        assert re.search(rf'^\s*{baseline}\s+baseline\s+kendall_tau\s', out, re.MULTILINE), (baseline, out)
    assert 'tau_truth' in out


def test_cli_errors_are_clear(capsys):
    assert main(['evaluate', '--profile', 'huge']) == 2
    assert "unknown profile 'huge'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_partition_compares_methods_on_a_subset(tiny, tmp_path, capsys):
    import pandas as pd

    out = tmp_path / 'partition.csv'
    assert (
        main(
            [
                'partition',
                '--profile',
                'tiny',
                '--methods',
                'spos',
                'naslid',
                '--seeds',
                '0',
                '--epochs',
                '4',
                '--n',
                '30',
                '--eval-samples',
                '200',
                '--criterion',
                'max_gap',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    df = pd.read_csv(out)
    runs = df[df['kind'] == 'method']
    assert list(runs['method']) == ['spos', 'naslid']
    assert (runs['n'] == 30).all() and (runs['epochs'] == 4).all()
    assert {'params', 'seed-to-seed'} <= set(df.loc[df['kind'] == 'baseline', 'method'])
    assert 'kendall_tau' in capsys.readouterr().out


def test_cli_partition_rejects_unknown_names(capsys):
    for args in (['--criterion', 'best'], ['--methods', 'darts']):
        with pytest.raises(SystemExit) as exc:
            main(['partition', *args])
        assert exc.value.code == 2
        assert 'invalid choice' in capsys.readouterr().err
