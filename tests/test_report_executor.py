"""The report's notebooks on an executor: with several workers on the local pool or on
Ray, notebook 01 runs alone first and the others after it in worker processes, and the report
records the same statuses, metrics and notebook order as the default in-process run.

Three small notebooks (no nasviz import, so kernels start fast): 01 writes a marker file that 02
and 03 read, 03 then fails. Each writes where it ran (the kernel's parent process and its
``OMP_NUM_THREADS``) and when it started and finished.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from nasviz.cli import main
from nasviz.report import run_report

PARAMS = "profile = 'tiny'\nx: int = 1"
WHERE = (
    'import json, os, time\n'
    't_start = time.time()\n'
    "where = {'ppid': os.getppid(), 'omp': os.environ.get('OMP_NUM_THREADS'),\n"
    "         'backend': os.environ.get('NASVIZ_BACKEND')}"
)
DONE = "json.dump({**where, 'start': t_start, 'end': time.time()}, open(f'where_{NN}.json', 'w'))"


def _notebook(nn: str, body: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata['tags'] = ['parameters']
    cells = [WHERE.replace('NN', nn)] + body + [DONE.replace('{NN}', nn)]
    nb.cells = [params] + [nbformat.v4.new_code_cell(src) for src in cells]
    return nb


def _metrics(nn: str, value: str) -> str:
    return (
        f"json.dump({{'value': {value}, 'profile': profile, 'findings': ['notebook {nn} saw x = ' + str(x)]}}, "
        f"open('metrics_{nn}.json', 'w'))"
    )


FIRST = [
    "time.sleep(0.5)  # the others must wait for this one\nopen('first_done.txt', 'w').write('01')",
    _metrics('01', 'x'),
]
SECOND = ["assert open('first_done.txt').read() == '01', 'notebook 01 has not run'", _metrics('02', '2 * x')]
THIRD = ["assert open('first_done.txt').read() == '01'", "raise ValueError('notebook 03 fails on purpose')"]


@pytest.fixture(scope='module')
def nb_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp('notebooks')
    nbformat.write(_notebook('01', FIRST), d / '01_first.ipynb')
    nbformat.write(_notebook('02', SECOND), d / '02_second.ipynb')
    nbformat.write(_notebook('03', THIRD), d / '03_fail.ipynb')
    return d


def _report(nb_dir: Path, out: Path, **kw):
    return run_report(nb_dir, out, parameters={'x': 5}, raise_on_error=False, **kw)


def _summary(result) -> list[tuple]:
    return [(r.name, r.status, r.metrics, r.findings, r.ename, r.cell_index) for r in result.runs]


def _where(out: Path, nn: str) -> dict:
    return json.loads((out / f'where_{nn}.json').read_text())


@pytest.fixture(scope='module')
def in_process(nb_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp('serial')
    return _report(nb_dir, out), out


def test_default_runs_in_this_process_one_after_another(in_process):
    result, out = in_process
    assert [r.status for r in result.runs] == ['ok', 'ok', 'failed']
    assert result.runs[1].metrics['value'] == 10 and result.runs[2].ename == 'ValueError'
    assert 'executor' not in result.metadata  # the report records no executor when none ran
    for nn in ('01', '02'):
        assert _where(out, nn)['ppid'] == os.getpid()  # the kernels are this process's children
    assert _where(out, '01')['end'] <= _where(out, '02')['start']


@pytest.mark.parametrize('backend', ['local', pytest.param('ray', marks=pytest.mark.slow)])
def test_parallel_report_equals_in_process(backend, in_process, nb_dir, tmp_path, request):
    if backend == 'ray':
        request.getfixturevalue('ray_local')
    serial, _ = in_process
    result = _report(nb_dir, tmp_path, backend=backend, workers=2)
    assert _summary(result) == _summary(serial)
    assert [r.name for r in result.runs] == ['01_first.ipynb', '02_second.ipynb', '03_fail.ipynb']
    assert 'notebook 03 fails on purpose' in result.runs[2].evalue
    assert result.metadata['executor'] == {'backend': backend, 'workers': 2, 'address': None}
    data = json.loads((tmp_path / 'report.json').read_text())
    assert [r['status'] for r in data['runs']] == ['ok', 'ok', 'failed']
    assert all((tmp_path / f'{s}.html').exists() for s in ('01_first', '02_second', '03_fail'))
    first = _where(tmp_path, '01')
    for nn in ('01', '02'):
        where = _where(tmp_path, nn)
        assert where['ppid'] != os.getpid() and where['omp'] == '1'  # a worker started the kernel, one thread
        assert where['backend'] == 'local'  # a notebook's own sweeps stay in its kernel
        assert nn == '01' or first['end'] <= where['start']  # 02 started after 01 had finished
    assert not list(tmp_path.glob('.stop-*'))
    index = (tmp_path / 'index.html').read_text()
    assert '<th scope="row">notebooks ran on</th>' in index and 'the first notebook alone' in index


@pytest.mark.slow
def test_parallel_keep_going_false_starts_nothing_after_a_failed_first(ray_local, tmp_path):
    # on Ray, whose workers are up by now (the same code path as the local pool's, without its start-up)
    nbs = tmp_path / 'nbs'
    nbs.mkdir()
    nbformat.write(_notebook('01', THIRD[1:]), nbs / '01_fail.ipynb')  # fails before any marker
    nbformat.write(_notebook('02', SECOND), nbs / '02_second.ipynb')
    nbformat.write(_notebook('03', SECOND), nbs / '03_second.ipynb')
    result = _report(nbs, tmp_path / 'out', backend='ray', workers=2, keep_going=False)
    assert [r.status for r in result.runs] == ['failed', 'skipped', 'skipped']
    assert not (tmp_path / 'out' / '02_second.ipynb').exists()
    assert 'not run after the failure: 02_second.ipynb, 03_second.ipynb' in result.summary()


def test_bad_backend_workers_or_address_exit_2(nb_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'never'
    args = ['report', '--notebooks', str(nb_dir), '--out', str(out)]
    with pytest.raises(SystemExit) as info:
        main(args + ['--backend', 'spark'])
    assert info.value.code == 2 and "invalid choice: 'spark'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(args + ['--workers', '0'])
    assert info.value.code == 2
    assert main(args + ['--address', '127.0.0.1:1']) == 2
    assert 'is for the ray backend' in capsys.readouterr().err
    monkeypatch.setenv('NASVIZ_BACKEND', 'spark')
    assert main(args) == 2
    assert "NASVIZ_BACKEND: unknown backend 'spark'; valid: local, ray" in capsys.readouterr().err
    with pytest.raises(ValueError, match='workers'):
        run_report(nb_dir, out, backend='local', workers=0)
    assert not out.exists()  # nothing ran, nothing was written
