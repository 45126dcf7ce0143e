"""environment.yml (conda users) must list the same dependencies as pyproject.toml."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r'[<>=!~\[ ;]', req.strip(), maxsplit=1)[0].lower().replace('_', '-')


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']
    wanted = {_name(r): r.replace(' ', '') for r in project['dependencies'] + project['optional-dependencies']['test']}
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    pip = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict) and 'pip' in d)
    listed = {_name(r): r.replace(' ', '') for r in pip if not r.startswith('-e')}
    assert listed == wanted, set(listed.items()) ^ set(wanted.items())
    assert any(str(d).startswith('python') for d in env['dependencies'])


def test_top_level_layout():
    for name in (
        'notebooks',
        'nasviz',
        'data',
        'tests',
        'environment.yml',
        'README.md',
        'pyproject.toml',
        'benchmarks',
        '.ci/run',
        'Makefile',
    ):
        assert (ROOT / name).exists(), name
    readme = (ROOT / 'README.md').read_text()
    assert 'make report' in readme and 'make test' in readme
    assert 'make test' in (ROOT / '.ci' / 'run').read_text()
