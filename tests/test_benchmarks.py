"""The benchmark scripts run and end in their ratio line (small settings; no timing asserted)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str) -> str:
    res = subprocess.run([sys.executable, str(ROOT / 'benchmarks' / script), *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_lid_vs_grad_prints_ratios():
    last = _run('lid_vs_grad.py', '--dataset', 'digits', '--C', '4', '--N', '1', '--batch', '64', '--k', '10',
                '--repeats', '1', '--edge', '2')
    m = re.fullmatch(r'memory_ratio=(\d+\.\d{3}) time_ratio=(\d+\.\d{3})', last)
    assert m, last
    assert float(m.group(1)) > 0 and float(m.group(2)) > 0


@pytest.mark.slow
def test_supernet_step_prints_ratio():
    last = _run('supernet_step.py', '--C', '4', '--N', '1', '--batch', '16', '--cells', '2', '--steps', '2',
                '--rounds', '1')
    assert re.fullmatch(r'step_ratio=\d+\.\d{3}', last), last
