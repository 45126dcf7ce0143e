"""A catalogue of bad inputs across the public entry points.

Every case asserts the error type AND that the message names the offending argument, file,
column or row, in under 600 characters; the estimator cases assert that tied data gives a
plausible, bounded estimate instead of a number of order 1e15, and the ranking cases that
numbers beyond float64's precision or range give the answer their order defines. Classes follow
these classes: 1 silent wrong numbers in estimators, 2 silent coercion (including float overflow in
ranking metrics), 3 tables trusted blindly, 4 command line, 5 corrupted state, 6 lost work
(tests/test_microbench_build.py, tests/test_kill_resume.py); 7 marks the "messages stay
short" cases (an enormous argument is shortened). :func:`catalogue` counts them.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest

from nasviz import validate
from nasviz.analysis import ci_tables, metrics, seeds, uncertainty
from nasviz.analysis.preference import choice_preference
from nasviz.bench import NB201Official, NB201Table, load_benchmark
from nasviz.cache import cache_dir, cached
from nasviz.cli import main
from nasviz.features.lid import knn_distances, lid_mle, lid_mle_from_knn, lid_mle_mean, lid_twonn, twonn_from_knn
from nasviz.io import atomic_torch_save, atomic_write_text, load_checked
from nasviz.partition.pipeline import PartitionConfig
from nasviz.profiles import profile_settings
from nasviz.spaces.nb201 import Arch, OpMask, sample_archs, to_arch

A0 = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'
A1 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
A2 = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
BASE = Arch.from_str(A1)


class Case(NamedTuple):
    cls: int  # issue class
    fn: Callable[[Path], object]  # gets a fresh tmp_path
    exc: type | tuple
    match: str  # regex the message must contain: the argument, file, column or row


def _raise(case: Case, tmp_path: Path) -> None:
    with pytest.raises(case.exc) as info:
        case.fn(tmp_path)
    msg = str(info.value.args[0]) if isinstance(info.value, KeyError) else str(info.value)
    assert re.search(case.match, msg), f'message does not name the culprit: {msg!r}'
    assert len(msg) < 600, f'message too long ({len(msg)} chars)'


# ---------------------------------------------------------------------------------------------
# class 2: NB201 space values (silent coercion)
# ---------------------------------------------------------------------------------------------
SPACE = {
    'arch float op': Case(2, lambda p: Arch((0, 1.7, 0, 0, 0, 0)), ValueError, r'op_idx\[1\].*1\.7.*truncated'),
    'arch bool op': Case(2, lambda p: Arch((0, True, 0, 0, 0, 0)), TypeError, r'op_idx\[1\].*boolean'),
    'arch str op': Case(2, lambda p: Arch((0, '1', 0, 0, 0, 0)), TypeError, r"op_idx\[1\].*string '1'"),
    'arch negative op': Case(2, lambda p: Arch((0, -1, 0, 0, 0, 0)), ValueError, r'op_idx\[1\].*0\.\.4.*-1'),
    'arch op too big': Case(2, lambda p: Arch((0, 5, 0, 0, 0, 0)), ValueError, r'op_idx\[1\].*0\.\.4.*5'),
    'arch nan op': Case(2, lambda p: Arch((0, float('nan'), 0, 0, 0, 0)), ValueError, r'op_idx\[1\].*nan'),
    'arch 5 edges': Case(2, lambda p: Arch((0, 0, 0, 0, 0)), ValueError, r'6 edges, got 5'),
    'arch not a sequence': Case(2, lambda p: Arch(7), TypeError, r'op_idx.*int 7'),
    'arch string op_idx': Case(2, lambda p: Arch('000000'), TypeError, r'op_idx.*sequence'),
    'from_index float': Case(2, lambda p: Arch.from_index(1.9), ValueError, r'arch number i.*1\.9'),
    'from_index bool': Case(2, lambda p: Arch.from_index(True), TypeError, r'arch number i.*boolean'),
    'from_index negative': Case(2, lambda p: Arch.from_index(-1), ValueError, r'arch number i.*0\.\.15624'),
    'from_index too big': Case(2, lambda p: Arch.from_index(15625), ValueError, r'arch number i.*15625'),
    'from_index string': Case(2, lambda p: Arch.from_index('12'), TypeError, r'arch number i.*string'),
    'with_op negative edge': Case(2, lambda p: BASE.with_op(-1, 0), ValueError, r'edge must be in 0\.\.5, got -1'),
    'with_op edge 6': Case(2, lambda p: BASE.with_op(6, 0), ValueError, r'edge.*got 6'),
    'with_op float edge': Case(2, lambda p: BASE.with_op(1.5, 0), ValueError, r'edge.*1\.5'),
    'with_op bool edge': Case(2, lambda p: BASE.with_op(False, 0), TypeError, r'edge.*boolean'),
    'with_op float op': Case(2, lambda p: BASE.with_op(0, 2.5), ValueError, r'\bop\b.*2\.5'),
    'with_op unknown name': Case(2, lambda p: BASE.with_op(0, 'conv_5x5'), ValueError, r"unknown.*'conv_5x5'"),
    'with_op negative op': Case(2, lambda p: BASE.with_op(0, -1), ValueError, r'\bop\b.*-1'),
    'mask float op': Case(2, lambda p: OpMask(((0, 1.5),) + ((0,),) * 5), ValueError, r'allowed\[0\].*1\.5'),
    'mask negative op': Case(2, lambda p: OpMask(((-1,),) + ((0,),) * 5), ValueError, r'allowed\[0\].*-1'),
    'mask 5 edges': Case(2, lambda p: OpMask(((0,),) * 5), ValueError, r'6 edges, got 5'),
    'restrict negative edge': Case(2, lambda p: OpMask.full().restrict(-1, [0]), ValueError, r'edge.*-1'),
    'restrict empty': Case(2, lambda p: OpMask.full().restrict(0, []), ValueError, r'edge 0 is empty'),
    'contains non-arch': Case(2, lambda p: OpMask.full().contains(A1), TypeError, r'needs an Arch.*str'),
    'from_str enormous': Case(2, lambda p: Arch.from_str('|x~0|' * 10000), ValueError, r'chars'),
    'sample n float': Case(2, lambda p: sample_archs(2.5), ValueError, r'\bn\b.*2\.5'),
    'sample n zero': Case(2, lambda p: sample_archs(0), ValueError, r'\bn must be >= 1, got 0'),
}


# ---------------------------------------------------------------------------------------------
# class 1: estimator inputs that must raise
# ---------------------------------------------------------------------------------------------
_X = np.random.default_rng(0).standard_normal((40, 3))
LID = {
    'lid k float': Case(1, lambda p: lid_mle(_X, k=5.5), ValueError, r'\bk\b.*5\.5'),
    'lid k bool': Case(1, lambda p: lid_mle(_X, k=True), ValueError, r'\bk\b.*True'),
    'lid k too big': Case(1, lambda p: lid_mle(_X, k=40), ValueError, r'k=40.*n=40'),
    'lid nan data': Case(1, lambda p: lid_mle(np.where(_X > 2, np.nan, _X)), ValueError, r'\bX\b.*NaN'),
    'lid 1-d data': Case(1, lambda p: lid_mle(_X[:, 0]), ValueError, r'\bX\b.*shape'),
    'knn k zero': Case(1, lambda p: knn_distances(_X, 0), ValueError, r'k=0'),
    'from_knn unsorted': Case(1, lambda p: lid_mle_from_knn(np.array([[2.0, 1.0]])), ValueError, r'dists.*sorted'),
    'from_knn negative': Case(
        1, lambda p: lid_mle_from_knn(np.array([[-1.0, 1.0]])), ValueError, r'dists.*non-negative'
    ),
    'twonn unsorted': Case(1, lambda p: twonn_from_knn(np.array([[2.0, 1.0]] * 5)), ValueError, r'dists.*sorted'),
    'twonn discard 1': Case(
        1, lambda p: twonn_from_knn(np.ones((5, 2)), discard_fraction=1.0), ValueError, r'discard_fraction'
    ),
}


# ---------------------------------------------------------------------------------------------
# class 3: NB201 tables and benchmark files
# ---------------------------------------------------------------------------------------------
def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            'index': [0, 1, 2],
            'arch_str': [A0, A1, A2],
            'cifar10_test_200ep': [85.9, 93.7, 10.0],
            'cifar10valid_valid_200ep': [82.0, 90.8, 10.0],
            'params_mb': [0.13, 0.80, 0.07],
        }
    )


def _table(edit: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None, text: str | None = None):
    def build(tmp: Path):
        path = tmp / 'nb201.csv'
        if text is not None:
            path.write_text(text)
        else:
            df = _frame().astype(object)
            df = edit(df) if edit is not None else df
            df.to_csv(path, index=False)
        return NB201Table(path)

    return build


def _set(col: str, row: int, value):
    def edit(df):
        df.loc[row, col] = value
        return df

    return edit


def _pth(obj=None, raw: bytes | None = None):
    def build(tmp: Path):
        path = tmp / 'bench.pth'
        if raw is not None:
            path.write_bytes(raw)
        else:
            import torch

            torch.save(obj, path)
        return NB201Official(path)

    return build


def _mkdir(name: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).mkdir()
        return tmp / name

    return make


TABLES = {
    'index duplicated': Case(3, _table(_set('index', 2, 1)), ValueError, r"nb201\.csv, column 'index'.*rows 1 and 2"),
    'index blank': Case(
        3, _table(_set('index', 1, None)), ValueError, r"nb201\.csv, column 'index', row 1 \(line 3\).*blank"
    ),
    'index fractional': Case(3, _table(_set('index', 2, 1.5)), ValueError, r"column 'index', row 2.*1\.5"),
    'index word': Case(3, _table(_set('index', 0, 'seven')), ValueError, r"column 'index', row 0.*'seven'"),
    'index negative': Case(3, _table(_set('index', 1, -3)), ValueError, r"column 'index', row 1.*non-negative"),
    'accuracy above 100': Case(
        3,
        _table(_set('cifar10_test_200ep', 1, 937.0)),
        ValueError,
        r"column 'cifar10_test_200ep', row 1.*937.*\[0, 100\]",
    ),
    'accuracy negative': Case(
        3,
        _table(_set('cifar10valid_valid_200ep', 2, -1.0)),
        ValueError,
        r"column 'cifar10valid_valid_200ep', row 2.*outside",
    ),
    'accuracy as fraction string': Case(
        3,
        _table(_set('cifar10_test_200ep', 0, '85.9%')),
        ValueError,
        r"column 'cifar10_test_200ep', row 0 \(line 2\).*'85\.9%'.*percent",
    ),
    'accuracy word': Case(
        3,
        _table(_set('cifar10_test_200ep', 2, 'n/a?')),
        ValueError,
        r"column 'cifar10_test_200ep', row 2.*not a number",
    ),
    'params negative': Case(3, _table(_set('params_mb', 0, -0.5)), ValueError, r"column 'params_mb', row 0"),
    'arch blank': Case(3, _table(_set('arch_str', 1, '')), ValueError, r"column 'arch_str', row 1.*blank"),
    'arch malformed': Case(
        3, _table(_set('arch_str', 2, '|conv~0|+|')), ValueError, r"column 'arch_str', row 2.*node groups"
    ),
    'arch duplicated': Case(3, _table(_set('arch_str', 2, A0)), ValueError, r"column 'arch_str'.*rows 0 and 2"),
    'header only': Case(3, _table(text='index,arch_str,cifar10_test_200ep\n'), ValueError, r'nb201\.csv.*no rows'),
    'empty file': Case(3, _table(text=''), ValueError, r'nb201\.csv.*empty'),
    'missing column': Case(3, _table(lambda df: df.drop(columns='arch_str')), ValueError, r"nb201\.csv.*'arch_str'"),
    'table is a directory': Case(
        3, lambda p: NB201Table(_mkdir('tables.csv')(p)), IsADirectoryError, r'tables\.csv.*directory'
    ),
    'table missing': Case(3, lambda p: NB201Table(p / 'nope.csv'), FileNotFoundError, r'nope\.csv'),
    'table path not a path': Case(3, lambda p: NB201Table(42), TypeError, r'table.*path.*int'),
    'pth garbage': Case(3, _pth(raw=b'hello, not a benchmark'), ValueError, r'bench\.pth.*cannot read'),
    'pth empty': Case(3, _pth(raw=b''), ValueError, r'bench\.pth.*empty'),
    'pth a list': Case(3, _pth([1, 2, 3]), ValueError, r'bench\.pth.*not a NAS-Bench-201'),
    'pth wrong dict': Case(3, _pth({'foo': 1}), ValueError, r'bench\.pth.*not a NAS-Bench-201'),
    'pth directory': Case(3, lambda p: NB201Official(_mkdir('b.pth')(p)), IsADirectoryError, r'b\.pth.*directory'),
    'spec unknown suffix': Case(3, lambda p: load_benchmark(str(p / 'x.json')), ValueError, r'x\.json'),
}


# ---------------------------------------------------------------------------------------------
# class 4: the command line (argparse errors exit with SystemExit(2); checks before work
# return 2 with the message on stderr)
# ---------------------------------------------------------------------------------------------
def _argv(*args: str | Callable[[Path], str]) -> Callable[[Path], list[str]]:
    return lambda tmp: [a(tmp) if callable(a) else a for a in args]


def _file(name: str) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_text('x')
        return str(tmp / name)

    return make


def _dir(name: str) -> Callable[[Path], str]:
    return lambda tmp: str(_mkdir(name)(tmp))


CLI_USAGE = {  # argv -> what stderr must name
    'evaluate --n 0': (_argv('evaluate', '--n', '0'), r'--n.*>= 2'),
    'evaluate --n 1': (_argv('evaluate', '--n', '1'), r'--n.*>= 2'),
    'evaluate --n -5': (_argv('evaluate', '--n', '-5'), r'--n'),
    'evaluate --n 2.5': (_argv('evaluate', '--n', '2.5'), r"--n.*'2\.5'"),
    'evaluate --eval-samples 0': (_argv('evaluate', '--eval-samples', '0'), r'--eval-samples.*>= 1'),
    'evaluate --epochs 0': (_argv('evaluate', '--epochs', '0'), r'--epochs'),
    'train --seed -1': (_argv('train', '--seed', '-1'), r'--seed'),
    'train --seed huge': (_argv('train', '--seed', '9' * 300), r'--seed.*chars'),
    'build --workers 0': (_argv('build-microbench', '--workers', '0'), r'--workers'),
    'build --workers -2': (_argv('build-microbench', '--workers', '-2'), r'--workers'),
    'build --workers 100000': (_argv('build-microbench', '--workers', '100000'), r'--workers'),
    'build --n-cells 1': (_argv('build-microbench', '--n-cells', '1'), r'--n-cells'),
    'build --seeds -1': (_argv('build-microbench', '--seeds', '-1'), r'--seeds'),
    'partition --seeds -1': (_argv('partition', '--seeds', '0', '-1'), r'--seeds'),
    'partition --levels 0': (_argv('partition', '--levels', '0'), r'--levels'),
    'partition --n 0': (_argv('partition', '--n', '0'), r'--n'),
    'partition --eval-samples -1': (_argv('partition', '--eval-samples', '-1'), r'--eval-samples'),
    'partition --methods enormous': (
        _argv('partition', '--methods', 'x' * 10**5),
        r"--methods: invalid choice: 'x+\.\.\.<100002 chars>\.\.\.x+' \(choose from",
    ),
}

CLI_PREFLIGHT = {  # argv, environment -> what stderr must name
    'evaluate --out is a directory': (
        _argv('evaluate', '--out', _dir('outdir')),
        {},
        r'--out: .*outdir is a directory',
    ),
    'evaluate --out in missing folder': (
        _argv('evaluate', '--out', lambda t: str(t / 'nope' / 'x.csv')),
        {},
        r'--out: folder .*nope.*does not exist',
    ),
    'partition --out in missing folder': (
        _argv('partition', '--out', lambda t: str(t / 'no' / 'p.csv')),
        {},
        r'--out: folder .*no',
    ),
    'build --out is a directory': (_argv('build-microbench', '--out', _dir('d')), {}, r'--out: .*is a directory'),
    'train --out is a file': (_argv('train', '--out', _file('ckpt')), {}, r'--out: .*ckpt.*not a directory'),
    'train --out in missing folder': (_argv('train', '--out', lambda t: str(t / 'a' / 'b')), {}, r'--out: folder'),
    'partition --work-dir is a file': (
        _argv('partition', '--work-dir', _file('w')),
        {},
        r'--work-dir: .*not a directory',
    ),
    'report --out is a file': (_argv('report', '--out', _file('rep')), {}, r'--out: .*rep.*not a directory'),
    'evaluate --run typo': (
        _argv('evaluate', '--run', lambda t: str(t / 'runs' / 'exp1')),
        {},
        r'--run: .*exp1 does not exist.*nasviz train --out',
    ),
    'evaluate --run without checkpoint': (
        _argv('evaluate', '--run', _dir('empty_run')),
        {},
        r'--run: .*empty_run holds no checkpoint\.pt',
    ),
    'partition repeated seeds': (_argv('partition', '--seeds', '0', '1', '0'), {}, r'--seeds: seed\(s\) \[0\]'),
    'build repeated seeds': (_argv('build-microbench', '--seeds', '3', '3'), {}, r'--seeds: seed\(s\) \[3\]'),
    'unknown profile': (_argv('evaluate', '--profile', 'huge'), {}, r"unknown profile 'huge'"),
    'empty NASVIZ_CACHE': (_argv('evaluate'), {'NASVIZ_CACHE': ''}, r'NASVIZ_CACHE is set but empty'),
    'NASVIZ_CACHE is a file': (
        _argv('train'),
        {'NASVIZ_CACHE': _file('cachefile')},
        r'NASVIZ_CACHE=.*cachefile.*not a directory',
    ),
    'NASVIZ_CACHE under a file': (
        _argv('evaluate'),
        {'NASVIZ_CACHE': lambda t: _file('f')(t) + '/cache'},
        r'NASVIZ_CACHE: cannot create .*f is not a directory',
    ),
    'evaluate --out name too long': (
        _argv('evaluate', '--out', lambda t: str(t / ('y' * 5000))),
        {},
        r'--out: unusable path .*chars>.*too long',
    ),
    'report --out path too long': (
        _argv('report', '--out', lambda t: str(t) + '/d' * 3000),
        {},
        r'--out: unusable path .*chars>',
    ),
}


# ---------------------------------------------------------------------------------------------
# class 5: corrupted state, and the shared validation helpers
# ---------------------------------------------------------------------------------------------
VALIDATE = {
    'check_int float': Case(2, lambda p: validate.check_int(3.2, 'n_cells'), ValueError, r'n_cells.*3\.2.*truncated'),
    'check_int inf': Case(2, lambda p: validate.check_int(float('inf'), 'n'), ValueError, r'\bn\b.*inf'),
    'check_int numpy bool': Case(2, lambda p: validate.check_int(np.bool_(True), 'k'), TypeError, r'\bk\b.*boolean'),
    'check_int None': Case(2, lambda p: validate.check_int(None, 'seed'), TypeError, r'seed.*NoneType'),
    'check_count zero': Case(
        4, lambda p: validate.check_count(0, 'workers'), ValueError, r'workers must be >= 1, got 0'
    ),
    'check_count enormous list': Case(
        4, lambda p: validate.check_count(list(range(10**5)), 'n'), TypeError, r'\bn\b.*<100000 items>'
    ),
    'check_fraction above 1': Case(
        2,
        lambda p: validate.check_fraction(1.5, 'discard_fraction'),
        ValueError,
        r'discard_fraction must be in \[0, 1\], got 1\.5',
    ),
    'check_fraction nan': Case(2, lambda p: validate.check_fraction(float('nan'), 'p'), ValueError, r'\bp\b.*NaN'),
    'check_percent 101': Case(
        3, lambda p: validate.check_percent(101, 'accuracy'), ValueError, r'accuracy.*\[0, 100\]'
    ),
    'check_percent string': Case(3, lambda p: validate.check_percent('93%', 'accuracy'), TypeError, r"accuracy.*'93%'"),
    'check_input_file dir': Case(
        5, lambda p: validate.check_input_file(p, 'table'), IsADirectoryError, r'table: .*directory'
    ),
    'check_output_file empty': Case(
        4, lambda p: validate.check_output_file('  ', '--out'), ValueError, r'--out is empty'
    ),
    'empty NASVIZ_CACHE': Case(5, lambda p: _with_env('NASVIZ_CACHE', '', cache_dir), ValueError, r'NASVIZ_CACHE'),
}


def _with_env(name: str, value: str, fn: Callable[[], object]) -> object:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        return fn()
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


# ---------------------------------------------------------------------------------------------
# class 2: ranking metrics on numbers beyond float64 (raise, naming the argument)
# ---------------------------------------------------------------------------------------------
_INF = float('inf')
_HUGE_LD = np.array([1, 2, 3], dtype=np.longdouble) * np.longdouble('1e4000')
RANKING = {
    'rank pred not a number': Case(
        2, lambda p: metrics.kendall_tau([1, 'x', 2], [1, 2, 3]), ValueError, r"pred\[1\] must be a number, got str 'x'"
    ),
    'rank truth strings': Case(2, lambda p: metrics.spearman([1, 2, 3], ['a', 'b', 'c']), ValueError, r'truth\[0\]'),
    'rank truth object': Case(
        2,
        lambda p: metrics.rank_metrics([1, 2, 3], [1, {}, 2], ks=()),
        ValueError,
        r'truth\[1\] must be a number, got dict',
    ),
    'rank truth None': Case(
        2, lambda p: metrics.rank_metrics([1, 2, 3], [1, None, 2], ks=()), ValueError, r'truth holds 1 NaN.*position 1'
    ),
    'rank truth infinite': Case(
        2,
        lambda p: metrics.rank_metrics([1, 2, 3], [1, _INF, 2], ks=()),
        ValueError,
        r'truth holds 1 infinite.*position 1',
    ),
    'regret overflows float64': Case(
        2, lambda p: metrics.regret([1, 3, 2], [1.7e308, -1.7e308, 0]), ValueError, r'truth: the regret.*float64 range'
    ),
    'regret overflows huge ints': Case(
        2, lambda p: metrics.regret([1, 3, 2], [10**400, -(10**400), 0]), ValueError, r'truth: the regret'
    ),
    'regret overflows long double': Case(
        2, lambda p: metrics.rank_metrics([3, 2, 1], _HUGE_LD, ks=()), ValueError, r'truth: the regret'
    ),
    'seed_summary interval overflows': Case(
        2, lambda p: seeds.seed_summary([1e308, 1.7e308]), ValueError, r'values: the 95% interval.*float64'
    ),
    'seed_summary huge int': Case(
        2, lambda p: seeds.seed_summary([10**400, 1]), ValueError, r'values holds a number beyond the float64 range'
    ),
    'ranking_table_ci names the method': Case(
        2,
        lambda p: ci_tables.ranking_table_ci({'supernet': [1, 'x', 3]}, [1, 2, 3]),
        ValueError,
        r"scores\['supernet'\]\[1\]",
    ),
    'paired_difference pred_b': Case(
        2, lambda p: uncertainty.paired_difference([1, 2, 3], [1, 'x', 3], [1, 2, 3]), ValueError, r'pred_b\[1\]'
    ),
    'rank random_state': Case(
        2,
        lambda p: uncertainty.kendall_ci([1, 2, 3, 4], [1, 2, 4, 3], random_state='s'),
        ValueError,
        r"random_state.*'s'",
    ),
}


# ---------------------------------------------------------------------------------------------
# 7: an enormous argument is shortened in the message (1 MB strings, 10^6-element lists)
# ---------------------------------------------------------------------------------------------
_MB = 'x' * 10**6
_LIST = list(range(10**6))
SHORT = {
    'arch 1 MB string': Case(7, lambda p: Arch.from_str(_MB), ValueError, r'arch string.*<1000002 chars>'),
    'arch 10^6 ops': Case(7, lambda p: Arch(_LIST), ValueError, r'6 edges, got 1000000.*<1000000 items>'),
    'to_arch 10^6 list': Case(7, lambda p: to_arch(_LIST), ValueError, r'arch string must be a str.*<1000000 items>'),
    'with_op 1 MB op name': Case(7, lambda p: BASE.with_op(0, _MB), ValueError, r'unknown.*operation.*chars>'),
    'ranking k 10^6 list': Case(
        7, lambda p: metrics.topk_precision([1, 2, 3], [1, 2, 3], _LIST), ValueError, r'\bk\b.*<1000000 items>'
    ),
    'ranking 1 MB metric name': Case(
        7, lambda p: uncertainty.metric_ci(_MB, [1, 2, 3], [1, 2, 3]), ValueError, r'unknown metric.*chars>'
    ),
    'ranking 1 MB score': Case(7, lambda p: metrics.kendall_tau([_MB, 'b'], [1, 2]), ValueError, r'pred\[0\].*chars>'),
    'seed_summary 10^5 NaN': Case(
        7, lambda p: seeds.seed_summary([float('nan')] * 10**5), ValueError, r'values must be finite.*<100000 items>'
    ),
    'profile 1 MB name': Case(7, lambda p: profile_settings(_MB), ValueError, r'unknown profile.*chars>'),
    'partition method 1 MB': Case(7, lambda p: PartitionConfig(method=_MB), ValueError, r'partition method.*chars>'),
    'partition k 10^6 list': Case(
        7, lambda p: PartitionConfig(k=_LIST), ValueError, r'PartitionConfig\.k.*<1000000 items>'
    ),
    'benchmark spec 1 MB': Case(7, lambda p: load_benchmark(_MB), ValueError, r'benchmark spec.*chars>'),
    'output path 1 MB': Case(
        7, lambda p: validate.check_output_file(_MB, '--out'), ValueError, r'--out: unusable path.*chars>.*too long'
    ),
    'input path over PATH_MAX': Case(
        7,
        lambda p: validate.check_input_file(str(p) + '/y' * 3000, 'table'),
        ValueError,
        r'table: unusable path.*chars>',
    ),
    'output dir NUL byte': Case(
        4,
        lambda p: validate.check_output_dir(str(p / 'a\x00b'), '--out'),
        ValueError,
        r'--out: path .* holds a NUL byte',
    ),
}


ALL = {**SPACE, **LID, **TABLES, **VALIDATE, **RANKING, **SHORT}


# ---------------------------------------------------------------------------------------------
# class 2: ranking metrics on numbers beyond float64 give the answer their order defines (rank
# metrics depend only on order); each used to be NaN, an OverflowError or a wrong tie
# ---------------------------------------------------------------------------------------------
_EPS_LD = np.finfo(np.longdouble).eps
RANK_DEFINED = {  # name -> (call, exact answer, what it returned before)
    'ints beyond 2**53': (lambda: metrics.kendall_tau([2**53, 2**53 + 1, 2**53 + 2], [1, 2, 3]), 1.0, '0.816'),
    'int64 beyond 2**53': (lambda: metrics.spearman(np.array([2**60, 2**60 + 1, 2**60 + 2]), [1, 2, 3]), 1.0, 'NaN'),
    'uint64 near 2**64': (
        lambda: metrics.kendall_tau(np.array([2**64 - 3, 2**64 - 2, 2**64 - 1], dtype=np.uint64), [1, 2, 3]),
        1.0,
        'NaN',
    ),
    'python ints beyond float64': (
        lambda: metrics.kendall_tau([10**400, 10**400 + 1, 1], [2, 3, 1]),
        1.0,
        'OverflowError',
    ),
    'huge int truth, exact regret': (
        lambda: metrics.regret([3, 1, 2], [10**400, 10**400 + 1, 10**400 + 7]),
        7.0,
        'OverflowError',
    ),
    'long double beyond float64 precision': (
        lambda: metrics.spearman(np.array([1, 1 + 4 * _EPS_LD, 2], dtype=np.longdouble), [1, 2, 3]),
        1.0,
        '0.866 (a false tie)',
    ),
    'long double beyond float64 range': (lambda: metrics.kendall_tau(_HUGE_LD, [1, 2, 3]), 1.0, 'NaN'),
    'top-k on ints beyond 2**53': (
        lambda: metrics.topk_precision([2**60 + 1, 2**60, 2**60 + 2], [2, 1, 3], 2),
        1.0,
        '0.667 (a three-way false tie)',
    ),
    'infinite scores, bootstrap CI': (
        lambda: (
            uncertainty.kendall_ci([_INF, _INF, 1, 2, 3, -_INF, 5, 6], [8, 7, 1, 2, 3, 0, 5, 6], n_resamples=200).low
        ),
        uncertainty.kendall_ci([9, 9, 1, 2, 3, 0, 5, 6], [8, 7, 1, 2, 3, 0, 5, 6], n_resamples=200).low,
        'NaN',
    ),
    'scores spanning +-1.7e308, bootstrap CI': (
        lambda: uncertainty.kendall_ci([1.7e308, -1.7e308, 1e308, 0, 1, 2], [6, 1, 5, 2, 3, 4], n_resamples=200).low,
        uncertainty.kendall_ci([6, 1, 5, 2, 3, 4], [6, 1, 5, 2, 3, 4], n_resamples=200).low,
        'right, through an overflow RuntimeWarning',
    ),
    'regret of tied 1.7e308': (lambda: metrics.regret([3, 3, 1], [1.7e308, 1.7e308, -1.7e308]), 0.0, '-inf'),
    'Fractions and Decimals beyond float64': (
        lambda: metrics.kendall_tau(
            [
                __import__('fractions').Fraction(1, 3),
                __import__('decimal').Decimal('1e500'),
                __import__('decimal').Decimal('2e500'),
            ],
            [1, 2, 3],
        ),
        1.0,
        '0.816 (both became inf)',
    ),
    'seed_summary of 1e308 x 3': (lambda: seeds.seed_summary([1e308] * 3).mean, 1e308, 'inf, silently'),
}


@pytest.mark.parametrize('name', list(RANK_DEFINED))
def test_ranking_beyond_float64_gives_the_defined_answer(name: str) -> None:
    fn, want, _before = RANK_DEFINED[name]
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no overflow or invalid-value warning on the way
        got = fn()
    assert got == want, (got, want)


@pytest.mark.parametrize('name', list(ALL))
def test_bad_input_is_named(name: str, tmp_path: Path) -> None:
    _raise(ALL[name], tmp_path)


@pytest.mark.parametrize('name', list(CLI_USAGE))
def test_cli_usage_error(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv, match = CLI_USAGE[name]
    with pytest.raises(SystemExit) as exc:
        main(argv(tmp_path))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err[:2000]
    assert 'Traceback' not in err and len(err) < 2000, f'{len(err)} chars'  # usage text included


@pytest.mark.parametrize('name', list(CLI_PREFLIGHT))
def test_cli_checks_before_work(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv, env, match = CLI_PREFLIGHT[name]
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    for k, v in env.items():
        monkeypatch.setenv(k, v(tmp_path) if callable(v) else v)
    # the work itself must never start: any data loading would be a failure of the check
    import nasviz.experiment as ex

    monkeypatch.setattr(ex, 'load_data', lambda *a, **k: pytest.fail('work started before the check'))
    import nasviz.bench.build as build

    monkeypatch.setattr(build, 'build_microbench', lambda *a, **k: pytest.fail('work started before the check'))
    assert main(argv(tmp_path)) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert err.startswith('nasviz ') and 'Traceback' not in err
    assert len(err) < 800, f'message too long ({len(err)} chars)'


def test_train_says_when_a_run_dir_starts_fresh(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    import nasviz.experiment as ex

    monkeypatch.setattr(ex, 'load_data', lambda *a, **k: (_ for _ in ()).throw(ValueError('stop here')))
    assert main(['train', '--out', str(tmp_path / 'run_typo')]) == 2
    err = capsys.readouterr().err
    assert 'run_typo holds no earlier run: starting a fresh one' in err


def test_evaluate_topk_fits_few_cells() -> None:
    """`--n 5` used to end, after training, in 'k=10 needs 1 <= k <= n'; the CLI now asks
    for the top half when there are fewer than 20 cells."""
    import inspect

    import nasviz.cli as cli

    src = inspect.getsource(cli._cmd_evaluate)
    assert 'ks=ks' in src and 'len(archs) // 2' in src


# ---------------------------------------------------------------------------------------------
# class 1: tied distances give plausible estimates, never ~1e15
# ---------------------------------------------------------------------------------------------
def _grid(d: int, m: int) -> np.ndarray:
    return np.array(list(itertools.product(range(m), repeat=d)), dtype=np.float64)


TIES = {
    'grid 2d mle': (lambda: lid_mle_mean(_grid(2, 10), k=20), 1.5, 3.5),
    'grid 3d mle': (lambda: lid_mle_mean(_grid(3, 6), k=20), 2.0, 4.5),
    'grid 2d float32': (lambda: lid_mle_mean(_grid(2, 10).astype(np.float32), k=20), 1.5, 3.5),
    'grid 2d scaled and shifted': (lambda: lid_mle_mean(_grid(2, 10) * 0.1 + 3.3, k=20), 1.5, 3.5),
    'grid 2d pointwise k=4 max': (lambda: lid_mle(_grid(2, 10) * 0.1 + 3.3, k=4).max(), 0.0, 10.0),
    'grid float32 pointwise k=4 max': (
        lambda: lid_mle((_grid(2, 10) * 0.1 + 3.3).astype(np.float32), k=4).max(),
        0.0,
        10.0,
    ),
    'binary 0/1 data mle max': (
        lambda: lid_mle((np.random.default_rng(0).random((300, 12)) < 0.5).astype(float), k=20).max(),
        0.0,
        200.0,
    ),
    'precomputed tied dists': (lambda: lid_mle_from_knn(np.array([[1.0, 1.0 + 1e-13, 1.0 + 2e-13]])).max(), 0.0, 0.0),
}


@pytest.mark.parametrize('name', list(TIES))
def test_ties_give_plausible_estimates(name: str) -> None:
    fn, low, high = TIES[name]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        value = float(fn())
    assert np.isfinite(value) and low <= value <= high, value


def test_twonn_on_a_lattice_is_undefined_not_huge() -> None:
    for X in (_grid(2, 10), _grid(2, 10) * 0.1 + 3.3, _grid(2, 10).astype(np.float32)):
        with pytest.warns(RuntimeWarning, match='ratios equal 1'):
            assert np.isnan(lid_twonn(X))
    with pytest.warns(RuntimeWarning, match='same distance'):
        v = lid_twonn((np.random.default_rng(0).random((300, 40)) < 0.5).astype(float))
    assert 1 <= v <= 40


# ---------------------------------------------------------------------------------------------
# class 5: cache entries and checkpoints
# ---------------------------------------------------------------------------------------------
def _entry(tmp: Path) -> tuple[Path, list]:
    calls: list = []
    cached('kind', ('key',), lambda: calls.append(1) or {'v': np.arange(4)}, cache=tmp)
    return next((tmp / 'kind').glob('*.pkl')), calls


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'flip', 'empty', 'wrong key'])
def test_damaged_cache_entry_is_set_aside_and_recomputed(damage: str, tmp_path: Path) -> None:
    path, calls = _entry(tmp_path)
    blob = path.read_bytes()
    if damage == 'truncate':
        path.write_bytes(blob[: len(blob) - 7])
    elif damage == 'garbage':
        path.write_bytes(b'\x00garbage' * 10)
    elif damage == 'flip':
        path.write_bytes(blob[:-3] + bytes([blob[-3] ^ 1]) + blob[-2:])
    elif damage == 'empty':
        path.write_bytes(b'')
    else:  # a valid entry copied under another key's name
        other = tmp_path / 'other'
        cached('kind', ('other key',), lambda: {'v': 'other'}, cache=other)
        path.write_bytes(next((other / 'kind').glob('*.pkl')).read_bytes())
    with pytest.warns(RuntimeWarning, match=re.escape(str(path))):
        value = cached('kind', ('key',), lambda: calls.append(1) or {'v': np.arange(4)}, cache=tmp_path)
    assert np.array_equal(value['v'], np.arange(4)) and len(calls) == 2
    aside = list((tmp_path / 'kind').glob('*.corrupt-*'))
    assert len(aside) == 1  # kept for inspection, not deleted
    # the recomputed entry is good again
    assert cached('kind', ('key',), lambda: pytest.fail('recomputed twice'), cache=tmp_path)['v'][3] == 3


def test_cache_entry_with_wrong_content_is_rejected(tmp_path: Path) -> None:
    cached('ev', (1,), lambda: pd.DataFrame({'arch': ['a', 'b'], 'score': [1.0, 2.0]}), cache=tmp_path)

    def right_archs(df: pd.DataFrame) -> None:
        if list(df['arch']) != ['a', 'b', 'c']:
            raise ValueError(f'entry holds archs {list(df["arch"])}')

    with pytest.warns(RuntimeWarning, match=r'content check failed.*entry holds archs'):
        df = cached(
            'ev',
            (1,),
            lambda: pd.DataFrame({'arch': ['a', 'b', 'c'], 'score': [1.0, 2, 3]}),
            cache=tmp_path,
            validate=right_archs,
        )
    assert len(df) == 3


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'flip'])
def test_damaged_checkpoint_detected(damage: str, tmp_path: Path) -> None:
    import torch

    ck = tmp_path / 'checkpoint.pt'
    atomic_torch_save({'w': torch.arange(256.0), 'epoch': 1}, ck)
    atomic_torch_save({'w': torch.arange(256.0) + 1, 'epoch': 2}, ck)
    load = lambda p: torch.load(p, map_location='cpu', weights_only=False)  # noqa: E731
    assert load_checked(ck, load)['epoch'] == 2
    blob = bytearray(ck.read_bytes())
    if damage == 'truncate':
        blob = blob[: len(blob) // 2]
    elif damage == 'garbage':
        blob = bytearray(b'not a checkpoint' * 8)
    else:  # one bit of a tensor: torch would load it without a word
        blob[blob.find(b'\x00\x00\x80?') + 64] ^= 1
    ck.write_bytes(bytes(blob))
    with pytest.warns(RuntimeWarning, match=re.escape(str(ck))):
        assert load_checked(ck, load) is None
    assert not ck.exists() and len(list(tmp_path.glob('checkpoint.pt.corrupt-*'))) == 2  # file + its .sha256


def test_checkpoint_content_check(tmp_path: Path) -> None:
    import torch

    ck = tmp_path / 'checkpoint.pt'
    atomic_torch_save({'epoch': 3}, ck)
    load = lambda p: torch.load(p, weights_only=False)  # noqa: E731
    with pytest.warns(RuntimeWarning, match=r"checkpoint\.pt: content check failed.*'model'"):
        assert load_checked(ck, load, validate=lambda s: s['model']) is None


def test_stale_temp_files_cleaned_on_next_write(tmp_path: Path) -> None:
    host = re.sub(r'[^A-Za-z0-9-]', '-', __import__('socket').gethostname())[:40]
    dead = tmp_path / f'.entry.pkl.abc123.{2**22 + 12345}@{host}.tmp'  # pid beyond pid_max: dead
    alive = tmp_path / f'.entry.pkl.def456.{os.getpid()}@{host}.tmp'  # a write in progress
    old = tmp_path / '.entry.pkl.ghi789.tmp'  # old naming, a day old
    for p in (dead, alive, old):
        p.write_bytes(b'half a file')
    os.utime(old, (0, 0))
    atomic_write_text(tmp_path / 'entry.pkl', 'done')
    assert not dead.exists() and not old.exists() and alive.exists()
    assert (tmp_path / 'entry.pkl').read_text() == 'done'


#: entry point of each message-length case (the other tables hold one entry point each)
_SHORT_ENTRY = {
    'arch 1 MB string': 'spaces',
    'arch 10^6 ops': 'spaces',
    'to_arch 10^6 list': 'spaces',
    'with_op 1 MB op name': 'spaces',
    'profile 1 MB name': 'profiles',
    'partition method 1 MB': 'partition',
    'partition k 10^6 list': 'partition',
    'benchmark spec 1 MB': 'bench',
    'output path 1 MB': 'validate',
    'input path over PATH_MAX': 'validate',
    'output dir NUL byte': 'validate',
}
#: the tests below that are one case each: (entry point, class, count)
_SINGLE_TESTS = [
    ('cache', 5, 5),
    ('cache', 5, 1),
    ('checkpoints', 5, 3),
    ('checkpoints', 5, 1),
    ('cache', 5, 1),
    ('features.lid', 1, 1),
    ('cli', 4, 1),
    ('cli', 4, 1),
]


def catalogue() -> pd.DataFrame:
    """Size of this catalogue: cases by entry point (rows) and issue class (columns, see the
    module docstring), with totals. Class 6 (lost work) lives in test_microbench_build.py and
    test_kill_resume.py."""
    rows: list[tuple[str, int]] = []
    for entry, table in (('spaces', SPACE), ('features.lid', LID), ('bench', TABLES), ('analysis', RANKING)):
        rows += [(entry, c.cls) for c in table.values()]
    rows += [('validate' if k.startswith('check_') else 'cache', c.cls) for k, c in VALIDATE.items()]
    rows += [(_SHORT_ENTRY.get(k, 'analysis'), c.cls) for k, c in SHORT.items()]
    long = ('enormous', 'too long', 'huge')  # cases about the message's length
    rows += [('cli', 7 if any(w in k for w in long) else 4) for k in CLI_USAGE]
    rows += [('cli', 5 if 'NASVIZ_CACHE' in k else 7 if any(w in k for w in long) else 4) for k in CLI_PREFLIGHT]
    rows += [('features.lid', 1)] * len(TIES) + [('analysis', 2)] * len(RANK_DEFINED)
    rows += [(e, c) for e, c, n in _SINGLE_TESTS for _ in range(n)]
    df = pd.crosstab(
        pd.Series([e for e, _ in rows], name='entry point'),
        pd.Series([c for _, c in rows], name='class'),
        margins=True,
        margins_name='total',
    )
    return df


def test_catalogue_size() -> None:
    """The catalogue holds at least 60 cases across the entry points; every class 1-5 and the
    message-length cases are present."""
    df = catalogue()
    assert df.loc['total', 'total'] >= 60, df
    assert {1, 2, 3, 4, 5, 7} <= set(df.columns) - {'total'}, df


# =============================================================================================
# Reliability catalogue: a user's files are never touched unasked, no silent wrong number, no
# traceback, errors that say what and where. Each case names its class (what it would be if it
# failed): 'data loss', 'silent wrong', 'traceback' or 'unclear'. :func:`reliability_outcome`
# runs one case and says 'ok' or the class it fell into; benchmarks/reliability_catalogue.py
# runs the same cases on any checkout and counts them per class.
# =============================================================================================
class CliError(ValueError):
    """``nasviz ...`` exited 2; the message is its stderr."""


class Rel(NamedTuple):
    cls: str  # 'data loss' | 'silent wrong' | 'traceback' | 'unclear'
    fn: Callable[[Path], object]  # gets a fresh folder
    match: str | None = None  # the error must match this; None: fn must return a value passing `check`
    check: Callable[[object], bool] | None = None
    untouched: Callable[[Path], list[Path]] | None = None  # user files that must keep their bytes


def _hashes(paths: list[Path]) -> dict[Path, str | None]:
    import hashlib

    return {p: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None for p in paths}


def reliability_outcome(case: Rel, tmp: Path) -> str:
    """'ok', or the class the case fell into ('traceback' for an exception that is no error)."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = case.untouched(tmp) if case.untouched else []
    before = _hashes(files)
    try:
        got = case.fn(tmp)
        kind, msg = 'value', ''
    except (ValueError, TypeError, KeyError, OSError) as err:
        kind, msg = 'error', str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        got = None
    except Exception:  # noqa: BLE001 - any other exception reaches the user as a traceback
        return 'traceback'
    if files and _hashes(files) != before:
        return 'data loss'
    if 'Traceback' in msg or 'RecursionError' in msg:
        return 'traceback'
    if kind == 'error':
        return (
            'ok'
            if case.match is not None and re.search(case.match, msg) and len(msg) < 800
            else ('unclear' if case.cls != 'data loss' else 'data loss')
        )
    if case.match is None and case.check is not None and case.check(got):
        return 'ok'
    return case.cls  # accepted in silence, or a wrong value


def _cli(tmp: Path, *argv: str, env: dict | None = None) -> int:
    """``nasviz argv`` in this process with its cache under ``tmp``; exit 2 raises CliError(stderr)."""
    import contextlib
    import io

    env = {'NASVIZ_CACHE': str(tmp / 'cache'), **(env or {})}
    old = {k: os.environ.get(k) for k in env}
    err = io.StringIO()
    try:
        os.environ.update(env)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main(list(argv))
            except SystemExit as e:  # argparse usage error
                rc = e.code
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if rc == 2:
        raise CliError(err.getvalue())
    return rc


# -- data loss ---------------------------------------------------------------------------------
def _user_run_dir(tmp: Path) -> list[Path]:
    """A folder of the user's: a checkpoint.pt of another program, a config.json, notes."""
    import torch

    d = tmp / 'mine'
    d.mkdir(exist_ok=True)
    torch.save({'weights': torch.arange(8.0)}, d / 'checkpoint.pt')
    (d / 'config.json').write_text('{"lr": 0.1, "note": "my own experiment"}')
    (d / 'notes.txt').write_text('do not lose')
    return [d / 'checkpoint.pt', d / 'config.json', d / 'notes.txt']


def _tiny_data():
    import torch

    from nasviz.data import ImageData

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 1, 8, 8, generator=g), torch.randint(0, 3, (32,), generator=g)
    return ImageData('tiny', x, y, x[:8], y[:8], 3, 'tiny-fake')


def _train_tiny(run_dir: Path):
    from nasviz.seeding import set_seed
    from nasviz.spaces.nb201_network import NB201Supernet
    from nasviz.supernet.train import TrainConfig, train_supernet

    set_seed(0)
    return train_supernet(
        NB201Supernet(4, 1, 3, 1),
        _tiny_data(),
        TrainConfig(epochs=1, batch_size=16),
        checkpoint_dir=run_dir,
        progress=False,
    )


def _garbled_side_file(tmp: Path) -> bool:
    """An intact checkpoint whose .sha256 side file is garbled resumes (nothing retrained)."""
    import warnings as w

    d = tmp / 'run'
    _train_tiny(d)
    blob = (d / 'checkpoint.pt').read_bytes()
    (d / 'checkpoint.pt.sha256').write_text('garbled')
    with w.catch_warnings():
        w.simplefilter('ignore')
        hist = _train_tiny(d)
    return (d / 'checkpoint.pt').read_bytes() == blob and len(hist) == 1


def _fake_build(recipe, out: Path, kill_after: int | None = None, **kw):
    """build_microbench with a fake job (accuracy 50 + job number); KeyboardInterrupt after
    ``kill_after`` finished jobs."""
    import nasviz.bench.build as build

    calls: list = []

    def job(rdict: dict, arch_str: str, seed: int) -> dict:
        calls.append(arch_str)
        if kill_after is not None and len(calls) > kill_after:
            raise KeyboardInterrupt
        return dict(arch_str=arch_str, seed=seed, accuracy=50.0 + len(calls), train_acc=50.0, params=1, seconds=0.1)

    import inspect

    if 'force' not in inspect.signature(build.build_microbench).parameters:
        kw.pop('force', None)  # a version without the option
    saved = build._train_one, build._init_worker
    build._train_one, build._init_worker = job, (lambda rdict: None)
    try:
        return build.build_microbench(recipe, out, workers=1, progress=False, **kw)
    except KeyboardInterrupt:
        return None
    finally:
        build._train_one, build._init_worker = saved


def _recipes():
    from nasviz.bench.build import MicroBenchRecipe

    return MicroBenchRecipe(n_cells=3, seeds=(0, 1), C=4, epochs=1), MicroBenchRecipe(
        n_cells=3, seeds=(0,), C=4, epochs=2
    )


def _aside_jobs_kept(tmp: Path) -> bool:
    """A killed after 2 jobs, B built, A again (replacing B's result: --force) killed after 1
    more, B again: A's 3 finished jobs are all still on disk."""
    a, b = _recipes()
    out = tmp / 'mb.csv'
    _fake_build(a, out, kill_after=2)
    _fake_build(b, out)
    _fake_build(a, out, kill_after=1, force=True)
    _fake_build(b, out, force=True)
    jobs = set()
    for p in tmp.glob('mb.csv.partial.jsonl*'):
        for line in p.read_text().splitlines()[1:]:
            r = json.loads(line)
            jobs.add((r['arch_str'], r['seed']))
    return len(jobs) == 3


def _finished_of_other_recipe(tmp: Path) -> list[Path]:
    a, b = _recipes()
    _fake_build(b, tmp / 'mb.csv')
    return [tmp / 'mb.csv']


def _user_site(tmp: Path) -> list[Path]:
    (tmp / 'site').mkdir()
    (tmp / 'site' / 'index.html').write_text('<html>my own page</html>')
    return [tmp / 'site' / 'index.html']


def _user_csv(tmp: Path) -> list[Path]:
    (tmp / 'mb.csv').write_text('my,own\n1,2\n')
    return [tmp / 'mb.csv']


DATA_LOSS = {
    'train --out on a folder of the user': Rel(
        'data loss',
        lambda t: _cli(t, 'train', '--epochs', '1', '--out', str(t / 'mine')),
        r'--out: .*mine/checkpoint\.pt was not written by nasviz',
        untouched=_user_run_dir,
    ),
    'evaluate --run on a foreign checkpoint': Rel(
        'data loss',
        lambda t: _cli(t, 'evaluate', '--epochs', '1', '--n', '5', '--run', str(t / 'mine')),
        r'--run: .*mine/checkpoint\.pt was not written by nasviz',
        untouched=_user_run_dir,
    ),
    'train_supernet into a folder of the user': Rel(
        'data loss',
        lambda t: _train_tiny(t / 'mine'),
        r'mine/checkpoint\.pt was not written by nasviz',
        untouched=_user_run_dir,
    ),
    'microbench: set-aside jobs of a returning recipe': Rel('data loss', _aside_jobs_kept, check=bool),
    'microbench: --out is a finished benchmark of another recipe': Rel(
        'data loss',
        lambda t: _fake_build(_recipes()[0], t / 'mb.csv'),
        r'mb\.csv holds a finished micro benchmark '
        r'of another recipe.*--force',
        untouched=_finished_of_other_recipe,
    ),
    'microbench: --out is a file of the user': Rel(
        'data loss',
        lambda t: _fake_build(_recipes()[0], t / 'mb.csv'),
        r'mb\.csv exists and is not a micro benchmark',
        untouched=_user_csv,
    ),
    'garbled checkpoint.pt.sha256 keeps the intact checkpoint': Rel('data loss', _garbled_side_file, check=bool),
    "report --out on a folder with the user's index.html": Rel(
        'data loss',
        lambda t: _cli(t, 'report', '--out', str(t / 'site'), '--only', '01'),
        r'site/index\.html was not written by nasviz',
        untouched=_user_site,
    ),
}


# -- silent wrong results ----------------------------------------------------------------------
def _nb201_text(tmp: Path, name: str = 'nb201.csv', cut: int = 0) -> Path:
    p = tmp / name
    text = _frame().to_csv(index=False)
    p.write_text(text[: len(text) - cut] if cut else text)
    return p


_NB101_ROW = '"[[0,1,0],[0,0,1],[0,0,0]]","input,conv3x3-bn-relu,output"'
_NB101_OTHER = '"[[0,1,1],[0,0,1],[0,0,0]]","input,conv3x3-bn-relu,output"'


def _nb101_table(tmp: Path, rows: list[tuple[str, float]]):
    from nasviz.bench import NB101Table

    p = tmp / 'nb101.csv'
    p.write_text('matrix,ops,val_accuracy,params_m\n' + ''.join(f'{a},{v},1.0\n' for a, v in rows))
    return NB101Table(p)


def _bias(name: str, *args, **kw):
    from nasviz.analysis import bias

    return getattr(bias, name)(*args, **kw)


def _cached_proxies_then_ray(tmp: Path) -> int:
    """Everything cached, then the same sweep with an unreachable Ray address (Ray itself is
    faked: the address check must come first)."""
    import nasviz.executor as ex

    args = ('proxies', '--proxy', 'params', '--sample', '3', '--data', 'digits', '--out', str(tmp / 'p.csv'))
    _cli(tmp, *args)
    saved = ex._import_ray
    ex._import_ray = lambda: type('FakeRay', (), {'is_initialized': staticmethod(lambda: False)})
    try:
        return _cli(tmp, *args, '--backend', 'ray', '--address', '127.0.0.1:1')
    finally:
        ex._import_ray = saved


_GN = (
    "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), "
    "('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]"
)
_GR = (
    "[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)]"
)
#: DARTS's own log line of its searched genotype
_G = f'Genotype(normal={_GN}, normal_concat=range(2, 6), reduce={_GR}, reduce_concat=range(2, 6))'


def _darts_from_str(text: str):
    from nasviz.spaces import get_space

    return get_space('darts').from_str(text)


SILENT = {
    'NB201 table cut mid-line': Rel(
        'silent wrong',
        lambda t: NB201Table(_nb201_text(t, cut=3)),
        r'nb201\.csv: the last line \(line 4\) does not end with a newline',
    ),
    'shared NB201 table with rows missing': Rel(
        'silent wrong',
        lambda t: NB201Table(_nb201_text(t, 'nb201_accuracy.csv')),
        r'nb201_accuracy\.csv holds 15,625 rows, this copy 3',
    ),
    'NB101 accuracies as fractions': Rel(
        'silent wrong',
        lambda t: _nb101_table(t, [(_NB101_ROW, 0.93), (_NB101_OTHER, 0.73)]),
        r"nb101\.csv, column 'val_accuracy'.*fractions, not percent",
    ),
    'NB101 conflicting repeats': Rel(
        'silent wrong',
        lambda t: _nb101_table(t, [(_NB101_ROW, 92.58), (_NB101_ROW, 10.0)]),
        r"nb101\.csv, column 'val_accuracy': rows 0 and 1.*92\.58 and 10",
    ),
    'NB101 close repeats are averaged': Rel(
        'silent wrong',
        lambda t: _nb101_table(t, [(_NB101_ROW, 92.5), (_NB101_ROW, 92.0), (_NB101_OTHER, 90.0)]).accuracy(
            '[[0,1,0],[0,0,1],[0,0,0]]|input,conv3x3-bn-relu,output'
        ),
        check=lambda v: abs(v - 92.25) < 1e-9,
    ),
    'Genotype with normal twice': Rel(
        'silent wrong',
        lambda t: _darts_from_str(f'Genotype(normal={_GN}, normal={_GR}, reduce={_GN})'),
        r"Genotype argument 'normal' is given twice",
    ),
    'expected_best_of_random budget 2.7': Rel(
        'silent wrong',
        lambda t: _bias('expected_best_of_random', [1, 2, 3], 2.7),
        r'budget must be an integer, got 2\.7',
    ),
    'expected_best_of_random budget True': Rel(
        'silent wrong',
        lambda t: _bias('expected_best_of_random', [1, 2, 3], True),
        r'budget must be an integer, got the boolean True',
    ),
    'pruned_search_curve budget 2.9': Rel(
        'silent wrong',
        lambda t: _bias('pruned_search_curve', [1, 2, 3, 4], [1, 2, 3, 4], budget=2.9),
        r'budget must be an integer, got 2\.9',
    ),
    'expected_best_of_random NaN': Rel(
        'silent wrong',
        lambda t: _bias('expected_best_of_random', [1, np.nan, 3], 2),
        r'values holds 1 value.*NaN.*position 1',
    ),
    'evaluate --n 100000': Rel(
        'silent wrong',
        lambda t: _cli(t, 'evaluate', '--n', '100000', '--epochs', '1', '--eval-samples', '20'),
        r'--n 100000: .*holds only 200 cells',
    ),
    'partition --n 100000': Rel(
        'silent wrong',
        lambda t: _cli(
            t,
            'partition',
            '--n',
            '100000',
            '--seeds',
            '0',
            '--methods',
            'spos',
            '--epochs',
            '1',
            '--eval-samples',
            '20',
        ),
        r'--n 100000: .*holds only 200 cells',
    ),
    'ray --address unreachable, all cached': Rel(
        'silent wrong', _cached_proxies_then_ray, r'no Ray cluster answers at 127\.0\.0\.1:1'
    ),
}


# -- tracebacks --------------------------------------------------------------------------------
_DEEP = '[' * 200_000 + ']' * 200_000


def _archs_file(tmp: Path, text: str | bytes) -> str:
    p = tmp / 'archs.txt'
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return str(p)


def _space(name: str):
    from nasviz.spaces import get_space

    return get_space(name)


def _microbench_text(tmp: Path, text: str):
    from nasviz.bench.micro import MicroBench

    (tmp / 'mb.csv').write_text(text)
    return MicroBench.load(tmp / 'mb.csv')


TRACEBACK = {
    'proxies --archs with 200,000 nested brackets': Rel(
        'traceback',
        lambda t: _cli(
            t,
            'proxies',
            '--space',
            'nb101',
            '--proxy',
            'params',
            '--out',
            str(t / 'o.csv'),
            '--archs',
            _archs_file(t, _DEEP + '|input,output\n'),
        ),
        r'--archs .*archs\.txt, line 1: nb101 arch string is 400,013 characters long',
    ),
    'nb101 from_str nested brackets': Rel(
        'traceback',
        lambda t: _space('nb101').from_str('[' * 5000 + ']' * 5000 + '|input,output'),
        r'nb101 arch string .*nested too deeply|characters long',
    ),
    'NB101 table with a nested matrix cell': Rel(
        'traceback',
        lambda t: _nb101_table(t, [('"' + '[' * 5000 + ']' * 5000 + '","input,output"', 90.0)]),
        r"nb101\.csv, column 'matrix', row 0 \(line 2\): matrix .*nested too deeply",
    ),
    'micro benchmark header nested': Rel(
        'traceback',
        lambda t: _microbench_text(t, '# recipe: ' + '[' * 100_000 + '\na\n'),
        r'mb\.csv: line 1 \(# recipe:\) .*nested too deeply',
    ),
}


# -- unclear errors ----------------------------------------------------------------------------
def _darts_assignment_with(value: str):
    d = _space('darts')
    a = dict(d.sample(1, rng=0)[0].assignment())
    slot = next(s for s in a if s.endswith('in0'))
    a[slot] = value
    return type(d.sample(1, rng=0)[0]).from_assignment(a)


def _nb101_to_nb201_supernet():
    import torch

    from nasviz.spaces.nb201_network import NB201Supernet

    return NB201Supernet(4, 1, 3, 1)(torch.zeros(1, 1, 8, 8), _space('nb101').sample(1, rng=0)[0])


def _history():
    return pd.DataFrame({'epoch': [0], 'scores': [[1.0, 2.0, 3.0]], 'train_acc': [50.0]})


def _nb101_csv(tmp: Path) -> str:
    _nb101_table(tmp, [(_NB101_ROW, 92.5), (_NB101_OTHER, 90.0)])
    return str(tmp / 'nb101.csv')


def _darts_strings() -> list[str]:
    d = _space('darts')
    return [d.to_str(a) for a in d.sample(8, rng=0)]


def _unknown_csv(tmp: Path) -> str:
    (tmp / 'what.csv').write_text('a,b\n1,2\n')
    return str(tmp / 'what.csv')


UNCLEAR = {
    'DARTS input slot of a non-ASCII digit': Rel(
        'unclear', lambda t: _darts_assignment_with('\u00b2'), r'darts slot normal\.n2\.in0: input must be a node index'
    ),
    'NB101 arch to the NB201 supernet': Rel(
        'unclear', lambda t: _nb101_to_nb201_supernet(), r"belongs to space 'nb101'"
    ),
    'seed_stability with a string score': Rel(
        'unclear', lambda t: _bias('seed_stability', [[1, 'x', 3], [1, 2, 3]], [1, 2, 3]), r'score_runs\[0\]\[1\]'
    ),
    'bn_handling with a NaN score': Rel(
        'unclear',
        lambda t: _bias('bn_handling', {'recalibrate': [1, 2, 3], 'running': [1, np.nan, 3]}, [1, 2, 3]),
        r"scores_by_mode\['running'\] holds 1 value.*NaN.*position 1",
    ),
    'seed_stability with a NaN score': Rel(
        'unclear',
        lambda t: _bias('seed_stability', [[1, 2, 3], [1, np.nan, 3]], [1, 2, 3]),
        r'score_runs\[1\] holds 1 value.*NaN',
    ),
    'ranking_over_training with string truth': Rel(
        'unclear', lambda t: _bias('ranking_over_training', _history(), ['a', 'b', 'c']), r'truth\[0\]'
    ),
    'choice_preference of DARTS strings without space': Rel(
        'unclear',
        lambda t: choice_preference(_darts_strings(), np.arange(8.0), np.arange(8.0)[::-1]),
        check=lambda df: len(df) > 0 and df['slot'].str.startswith('normal').any(),
    ),
    'binary --archs file': Rel(
        'unclear',
        lambda t: _cli(
            t,
            'proxies',
            '--proxy',
            'params',
            '--out',
            str(t / 'o.csv'),
            '--archs',
            _archs_file(t, bytes(range(256)) * 4),
        ),
        r'--archs .*archs\.txt: not a text file',
    ),
    'NASVIZ_CACHE under /proc': Rel(
        'unclear',
        lambda t: _cli(t, 'evaluate', env={'NASVIZ_CACHE': '/proc/nasviz-cache'}),
        r'NASVIZ_CACHE: cannot (write in|create) /proc/nasviz-cache',
    ),
    'load_benchmark of an NB101 csv': Rel(
        'unclear', lambda t: load_benchmark(_nb101_csv(t)), check=lambda b: type(b).__name__ == 'NB101Table'
    ),
    'load_benchmark of an unknown csv': Rel(
        'unclear',
        lambda t: load_benchmark(_unknown_csv(t)),
        r'what\.csv: which benchmark table is this\?.*NB101Table: columns',
    ),
    'DARTS genotype with reduce_concat=range(2, 6)': Rel(
        'unclear', lambda t: _darts_from_str(_G), check=lambda a: str(a).startswith("normal=[('sep_conv_3x3', 0)")
    ),
    'search --method random --lam 5': Rel(
        'unclear',
        lambda t: _cli(t, 'search', '--method', 'random', '--lam', '5'),
        r'--lam: an ISTA-NAS option .*--method random does not use it',
    ),
    'search --method ista --n-candidates 3': Rel(
        'unclear',
        lambda t: _cli(t, 'search', '--method', 'ista', '--n-candidates', '3'),
        r'--n-candidates: .*--method ista does not use it',
    ),
}

RELIABILITY = {**DATA_LOSS, **SILENT, **TRACEBACK, **UNCLEAR}


@pytest.mark.parametrize('name', list(RELIABILITY))
def test_reliability_case(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case: a clear error naming the problem (exit 2 without a traceback on the command
    line), or the right value; the user's files keep their bytes."""
    import nasviz.experiment as ex

    # a refusal must come before any work: loading the training data is already too late
    monkeypatch.setattr(ex, 'load_data', lambda *a, **k: pytest.fail('work started before the check'))
    assert reliability_outcome(RELIABILITY[name], tmp_path) == 'ok'


def reliability_catalogue() -> pd.Series:
    """Cases of the reliability catalogue by class."""
    return pd.Series([c.cls for c in RELIABILITY.values()]).value_counts()


def test_reliability_catalogue_covers_every_class() -> None:
    counts = reliability_catalogue()
    assert {'data loss', 'silent wrong', 'traceback', 'unclear'} == set(counts.index) and counts.min() >= 4, counts


def test_is_nasviz_checkpoint_tells_ours_from_others(tmp_path: Path) -> None:
    import torch

    from nasviz.checkpoint import is_nasviz_checkpoint
    from nasviz.ownership import MARKER, is_owned

    _train_tiny(tmp_path / 'run')
    ours = tmp_path / 'run' / 'checkpoint.pt'
    assert is_nasviz_checkpoint(ours) and (tmp_path / 'run' / MARKER).is_file()
    torch.save({'weights': torch.arange(4.0)}, tmp_path / 'other.pt')
    damaged = tmp_path / 'damaged.pt'
    blob = bytearray(ours.read_bytes())
    blob[len(blob) // 2] ^= 1
    damaged.write_bytes(bytes(blob))
    assert not is_nasviz_checkpoint(tmp_path / 'other.pt') and not is_nasviz_checkpoint(damaged)
    assert not is_nasviz_checkpoint(tmp_path / 'missing.pt') and not is_nasviz_checkpoint(tmp_path)
    assert is_owned(ours) and not is_owned(tmp_path / 'other.pt')
