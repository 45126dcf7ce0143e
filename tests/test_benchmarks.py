"""The benchmark scripts run and end in their ratio line (small settings; no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_out(script: str, *args: str) -> str:
    res = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip()


def _run(script: str, *args: str) -> str:
    return _run_out(script, *args).splitlines()[-1]


@pytest.mark.slow
def test_lid_vs_grad_prints_ratios():
    out = _run_out(
        'lid_vs_grad.py',
        '--dataset',
        'digits',
        '--C',
        '4',
        '--N',
        '1',
        '--batch',
        '64',
        '--k',
        '10',
        '--repeats',
        '1',
        '--edge',
        '2',
    )
    last = out.splitlines()[-1]
    m = re.fullmatch(r'memory_ratio=(\d+\.\d{3}) time_ratio=(\d+\.\d{3})', last)
    assert m, last
    # one row per method, each with the features it extracted: LID one value per block (3N + 2 = 5)
    # for the 5 ops and the 1 repeat, GM-NAS the mean gradient over every weight outside edge 2
    rows = {
        r.group(1): r
        for r in re.finditer(r'^(lid|grad)\s+([0-9.]+)\s+([0-9.]+)(?:\s+([0-9.]+))?\s+\((.*)\)$', out, re.MULTILINE)
    }
    assert set(rows) == {'lid', 'grad'}, out
    assert rows['lid'].group(5) == '5, 1, 5', out
    n_ops, one, n_weights = map(int, rows['grad'].group(5).split(','))
    assert (n_ops, one) == (5, 1) and n_weights > 100, out
    # the time ratio on the last line is the rows' own seconds divided (up to their 2-decimal rounding)
    t_lid, t_grad = float(rows['lid'].group(2)), float(rows['grad'].group(2))
    ratio = float(m.group(2))
    assert (t_lid - 0.005) / (t_grad + 0.005) - 1e-3 <= ratio <= (t_lid + 0.005) / max(t_grad - 0.005, 1e-9) + 1e-3, out
    # the memory ratio is the rows' own memory (live MiB where measured, else peak) divided, up to
    # their 1-decimal rounding
    col = 4 if rows['lid'].group(4) else 3
    m_lid, m_grad = float(rows['lid'].group(col)), float(rows['grad'].group(col))
    mem = float(m.group(1))
    assert (
        mem > 0 and (m_lid - 0.05) / (m_grad + 0.05) - 1e-3 <= mem <= (m_lid + 0.05) / max(m_grad - 0.05, 1e-9) + 1e-3
    ), out


@pytest.mark.slow
def test_supernet_step_prints_ratio():
    last = _run(
        'supernet_step.py', '--C', '4', '--N', '1', '--batch', '16', '--cells', '2', '--steps', '2', '--rounds', '1'
    )
    assert re.fullmatch(r'step_ratio=\d+\.\d{3}', last), last


def test_tiny_signal_frontier_reads_the_shipped_ground_truth():
    """The frontier form trains nothing: reliability by seeds per half (measured for 1 and 2 on
    the shipped 4-seed micro benchmark, projected beyond) and the seeds a target SE needs."""
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / 'benchmarks' / 'tiny_signal.py'),
            '--frontier',
            '--gt',
            'data/microbench_digits.csv',
            '--compare',
            'data/partition_comparison_tiny.csv',
            '--ks',
            '1',
            '2',
            '4',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout
    rows = {int(m.group(1)): m for m in re.finditer(r'^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+(\S+)$', out, re.M)}
    assert sorted(rows) == [1, 2, 4], out
    assert rows[4].group(3) == 'NaN' and float(rows[4].group(4)) > float(rows[2].group(4))
    # the measured 2-vs-2 split-half tau is the benchmark's reliability (0.67 on any split, +-0.02)
    assert abs(float(rows[2].group(3)) - 0.67) < 0.03, out
    assert 'seeds_for_target' in out and re.search(r'^\s*naslid\s+5\s', out, re.M), out


@pytest.mark.slow
def test_small_curve_tracks_tau_by_training_set_size(tmp_path, shared_file, nb201_table_path):
    """The small-profile curve trains a real supernet on a CIFAR-10 subset and ranks the same
    cells against the NB201 table at every tracked epoch; a too-small training set is refused."""
    import os

    npz = shared_file('NASVIZ_CIFAR10_NPZ', 'cifar10/cifar10_jpeg.npz', 'CIFAR-10 images')
    env = dict(
        os.environ,
        NASVIZ_CACHE=str(tmp_path / 'cache'),
        NASVIZ_CIFAR10_NPZ=str(npz),
        NASVIZ_NB201_TABLE=str(nb201_table_path),
        OMP_NUM_THREADS='1',
    )
    out = tmp_path / 'curve.csv'
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / 'benchmarks' / 'small_curve.py'),
            '--n-train',
            '1000',
            '--epochs',
            '2',
            '--track-every',
            '1',
            '--n-eval',
            '12',
            '--n-test',
            '200',
            '--out',
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    import pandas as pd

    t = pd.read_csv(out)
    assert list(t['epoch']) == [1, 2] and list(t['sample_passes']) == [1000, 2000]
    assert (t['n'] == 12).all() and t['kendall_tau'].between(-1, 1).all()
    assert (t['low'] <= t['kendall_tau']).all() and (t['kendall_tau'] <= t['high']).all()
    assert t['params_tau'].nunique() == 1 and t['train_seconds'].is_monotonic_increasing
    bad = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'small_curve.py'), '--n-train', '500'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert 'n_train=500' in bad.stderr and '1,000 to 50,000' in bad.stderr, bad.stderr[-2000:]


def test_spearman_bootstrap_prints_the_engines_ratio():
    out = _run_out('spearman_bootstrap.py', '--n', '500', '--resamples', '100')
    assert re.search(r'ratio counts / sort = \d+\.\d+', out)
    diff = float(re.search(r'largest difference (\S+)', out).group(1))
    assert diff < 1e-12  # the two engines compute the same statistic
