"""The code base holds clean under the project's lint, format and type checks (pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> None:
    exe = BIN / tool
    if not exe.exists():
        pytest.fail(f'{tool} is not installed beside {sys.executable}: pip install -e ".[test]"')
    # the project's own configuration, found from the repository root, whatever the user's is
    res = subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f'{tool} {" ".join(args)} failed:\n{res.stdout}\n{res.stderr}'


def test_ruff_check():
    _run('ruff', 'check', '--no-cache', '--output-format', 'concise', '--config', 'pyproject.toml', '.')


def test_ruff_format():
    _run('ruff', 'format', '--check', '--no-cache', '--config', 'pyproject.toml', '.')


def test_mypy():
    _run('mypy', '--config-file', 'pyproject.toml', 'nasviz')
