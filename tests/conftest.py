"""Shared pytest fixtures."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

# Under pytest-xdist each worker is one of several processes sharing the cores: one thread each, in
# the worker and in the notebook kernels and subprocesses it starts (they inherit the environment),
# else their thread pools oversubscribe the cores and wait on each other. A value set by the caller
# is kept.
if os.environ.get('PYTEST_XDIST_WORKER'):
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(_var, '1')
    if 'torch' in sys.modules:
        sys.modules['torch'].set_num_threads(int(os.environ['OMP_NUM_THREADS']))

REPO_ROOT = Path(__file__).resolve().parents[1]
#: where the shared data sit beside the checkout (``<repo>/../shared/data``)
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


def _in_ci() -> bool:
    return os.environ.get('CI', '').strip().lower() == 'true'


def skip_or_fail(msg: str):
    """Skip a test whose data or tool is missing here; fail it in CI (``CI=true``), where
    everything it needs must be installed, so it can never pass silently there."""
    if _in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


def find_shared_file(env_var: str, relative: str, what: str) -> Path:
    """``$<env_var>``, else ``<repo>/../shared/data/<relative>``; otherwise :func:`skip_or_fail`
    with a message naming both places tried. A variable that points to a missing file warns."""
    tried = []
    env = os.environ.get(env_var)
    if env:
        p = Path(env)
        if p.is_file():
            return p
        tried.append(f'${env_var}={p}')
        warnings.warn(f'{env_var} points to a missing file: {p}', stacklevel=2)
    shared = SHARED_DATA / relative
    if shared.is_file():
        return shared
    tried.append(str(shared))
    skip_or_fail(f'{what} not found (tried {", ".join(tried)}); set {env_var}')


@pytest.fixture(scope='session')
def shared_file():
    """:func:`find_shared_file` for fixtures of other test modules: ``shared_file(env_var,
    relative_path, what)``."""
    return find_shared_file


@pytest.fixture(scope='session')
def nb201_table_path() -> Path:
    """Path of the real NAS-Bench-201 accuracy table: ``$NASVIZ_NB201_TABLE``, else the shared copy.

    When neither exists the test is skipped locally but fails in CI (``CI=true``), so tests that
    need the real table can never pass silently there.
    """
    return find_shared_file('NASVIZ_NB201_TABLE', 'nb201/nb201_accuracy.csv', 'real NAS-Bench-201 table')


@pytest.fixture(scope='session')
def nb201_table(nb201_table_path):  # noqa: ANN001, ANN201
    """The real table, loaded once per session (``nasviz.bench.NB201Table``)."""
    from nasviz.bench import NB201Table

    return NB201Table(nb201_table_path)


def _ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope='session')
def ray_local():
    """One local Ray instance for the whole session (2 CPUs, services on 127.0.0.1): starting Ray
    costs ~25 s here, so every test file that needs it shares this one. Ray's workers import task
    functions from test files: tests/ is put on their ``PYTHONPATH``. Ray is in the test extra, so
    with ``CI=true`` a missing Ray fails instead of skipping."""
    if not _ray_available():
        msg = "ray is not installed: `pip install -e '.[test]'` installs it"
        if _in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    import ray

    from nasviz.executor import start_local_ray

    if ray.is_initialized():
        ray.shutdown()
    here = Path(__file__).resolve().parent
    path = os.pathsep.join([str(here)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
    start_local_ray(num_cpus=2, runtime_env={'env_vars': {'PYTHONPATH': path, 'OMP_NUM_THREADS': '1'}})
    nodes = ray.nodes()
    assert [n['NodeManagerAddress'] for n in nodes] == ['127.0.0.1'], 'Ray must stay on the loopback address'
    yield ray
    ray.shutdown()


#: where ``make report`` writes the full report (``$NASVIZ_REPORT_DIR``, else ``<repo>/reports``)
REPORT_DIR = Path(os.environ.get('NASVIZ_REPORT_DIR', REPO_ROOT / 'reports'))

#: the small report built when no full one exists: notebook 01 (it draws the subnet x subnet
#: heatmap the Chromium checks read) with few epochs, cells and resamples
SMALL_REPORT_NOTEBOOKS = ['01']
SMALL_REPORT_PARAMETERS = {
    'seed': 1,
    'epochs': 3,
    'n_eval': 20,
    'n_subnets': 5,
    'grad_repeats': 2,
    'n_resamples': 200,
    'paper_resamples': 100,
}


@pytest.fixture(scope='session')
def small_report(tmp_path_factory) -> Path:
    """The small report, built once per session into a temporary folder by the public
    :func:`nasviz.report.run_report`: notebook 01 on the tiny profile with
    ``SMALL_REPORT_PARAMETERS``, in a cache of its own (so its supernet is trained here, not
    loaded). Its executed notebook and ``metrics_01.json`` also serve the test of notebook 01 run
    with non-default parameters, so that notebook runs once per session, not twice."""
    from nasviz.report import run_report

    out = tmp_path_factory.mktemp('small_report')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('NASVIZ_CACHE', str(tmp_path_factory.mktemp('small_report_cache')))
        result = run_report(
            REPO_ROOT / 'notebooks',
            out,
            profile='tiny',
            parameters=SMALL_REPORT_PARAMETERS,
            notebooks=SMALL_REPORT_NOTEBOOKS,
        )
    assert result.ok and (out / 'index.html').is_file(), result
    return out


@pytest.fixture(scope='session')
def report_dir(request) -> Path:
    """A built report folder: the full one ``make report`` wrote when it is there (CI runs it
    first, so CI pays nothing here), else the ``small_report`` (notebook 01 on the tiny profile
    with small parameters), so no test depends on an earlier command having been run."""
    if (REPORT_DIR / 'index.html').exists():
        return REPORT_DIR
    return request.getfixturevalue('small_report')
