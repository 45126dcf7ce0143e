"""Ground-truth handles: the NB201 CSV table, the official .pth file, and MicroBench."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nasviz.bench.micro as micro_mod
from nasviz.bench import MicroBench, NB201Official, NB201Table, load_benchmark
from nasviz.spaces.nb201 import Arch, all_archs, canonical, sample_archs

BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
A1 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
A0 = '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'
EMPTY = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'


# ---------------------------------------------------------------------------------------------
# A tiny fabricated table (runs without the real data)
# ---------------------------------------------------------------------------------------------
def _tiny_table_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            'index': [0, 1, 2],
            'arch_str': [A0, A1, EMPTY],
            'cifar10_test_200ep': [85.9, 93.7, 10.0],
            'cifar10valid_valid_200ep': [82.0, 90.8, 10.0],
            'imagenet16_test_200ep': [26.6, 44.0, 0.8],
            'params_mb': [0.13, 0.80, 0.07],
        }
    )


@pytest.fixture
def tiny_table_csv(tmp_path: Path) -> Path:
    path = tmp_path / 'tiny_nb201.csv'
    _tiny_table_frame().to_csv(path, index=False)
    return path


def test_tiny_table_lookups(tiny_table_csv: Path) -> None:
    t = NB201Table(tiny_table_csv)
    assert len(t) == 3
    assert t.accuracy(A1) == pytest.approx(93.7)
    assert t.accuracy(Arch.from_str(A1)) == pytest.approx(93.7)
    assert t.accuracy(' ' + A1 + ' ') == pytest.approx(93.7)
    assert t.accuracy(A1, 'cifar10-valid', 'valid_200ep') == pytest.approx(90.8)
    assert t.accuracy(A0, 'ImageNet16-120') == pytest.approx(26.6)
    np.testing.assert_allclose(t.accuracies([EMPTY, A0]), [10.0, 85.9])
    assert t.index_of(EMPTY) == 2 and str(t.arch(1)) == A1
    assert t.params(A0) == pytest.approx(0.13)
    assert t.archs() == [Arch.from_str(s) for s in (A0, A1, EMPTY)]
    df = t.to_frame()
    assert isinstance(df['arch'].iloc[0], Arch) and list(df['arch_str']) == [A0, A1, EMPTY]
    assert A1 in t and BEST not in t


def test_table_errors(tiny_table_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = NB201Table(tiny_table_csv)
    with pytest.raises(ValueError, match=r"unknown dataset 'svhn'.*cifar10"):
        t.accuracy(A1, 'svhn')
    with pytest.raises(ValueError, match=r"dataset 'cifar100' is not in.*available"):
        t.accuracy(A1, 'cifar100')
    with pytest.raises(ValueError, match=r"unknown metric 'test_12ep'.*test_200ep"):
        t.accuracy(A1, 'cifar10', 'test_12ep')
    with pytest.raises(KeyError, match='not in the NAS-Bench-201 table'):
        t.accuracy(BEST)
    with pytest.raises(ValueError, match='node groups'):
        t.accuracy('not an arch')
    with pytest.raises(KeyError):
        t.arch(99)

    missing = tmp_path / 'nope.csv'
    with pytest.raises(FileNotFoundError, match='nope.csv'):
        NB201Table(missing)

    bad = tmp_path / 'bad_schema.csv'
    _tiny_table_frame().drop(columns=['arch_str', 'cifar10_test_200ep']).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"bad_schema\.csv.*\['arch_str', 'cifar10_test_200ep'\]"):
        NB201Table(bad)

    dup = tmp_path / 'dup.csv'
    pd.concat([_tiny_table_frame(), _tiny_table_frame().iloc[:1]]).to_csv(dup, index=False)
    with pytest.raises(ValueError, match='appears twice'):
        NB201Table(dup)

    monkeypatch.delenv('NASVIZ_NB201_TABLE', raising=False)
    with pytest.raises(ValueError, match='NASVIZ_NB201_TABLE'):
        NB201Table()
    monkeypatch.setenv('NASVIZ_NB201_TABLE', str(tiny_table_csv))
    assert len(NB201Table()) == 3


# ---------------------------------------------------------------------------------------------
# The real table
# ---------------------------------------------------------------------------------------------
def test_real_table_facts(nb201_table_path: Path) -> None:
    t = NB201Table(nb201_table_path)  # its load time is measured by benchmarks/table_load.py
    assert len(t) == 15625
    df = t._df
    best_row = int(np.argmax(df['cifar10_test_200ep'].to_numpy()))
    assert int(df['index'].iloc[best_row]) == 6111
    assert t.accuracy(t.arch(6111)) == pytest.approx(94.3733)
    assert str(t.arch(6111)) == BEST and t.index_of(BEST) == 6111
    assert float(df['cifar10_test_200ep'].mean()) == pytest.approx(87.06, abs=0.01)
    assert t.params(BEST) == pytest.approx(1.0735)


def test_real_table_round_trip(nb201_table: NB201Table) -> None:
    t = nb201_table
    archs = t.archs()
    assert len(archs) == 15625 and len(set(archs)) == 15625
    assert set(archs) == set(all_archs())  # the table covers the whole space
    for a in sample_archs(50, rng=0):
        assert Arch.from_str(str(a)) == a
        assert t.arch(t.index_of(a)) == a
        assert t.accuracy(a) == t.accuracy(str(a))
    some = archs[::997]
    np.testing.assert_array_equal(
        t.accuracies(some, 'cifar100'), [t.accuracy(a, 'cifar100', 'test_200ep') for a in some]
    )
    frame = t.to_frame()
    assert [str(a) for a in frame['arch'].iloc[:20]] == list(frame['arch_str'].iloc[:20])
    with pytest.raises(ValueError, match='available'):
        t.accuracy(some[0], 'cifar10', 'valid_200ep')


def test_real_table_dataset_aliases(nb201_table: NB201Table) -> None:
    t = nb201_table
    assert t.accuracy(A1, 'cifar10-valid', 'valid_200ep') == pytest.approx(90.7693)
    assert t.accuracy(A1, 'ImageNet16-120') == t.accuracy(A1, 'imagenet16')
    assert t.column('cifar10-valid', 'valid_200ep') == 'cifar10valid_valid_200ep'
    assert 'valid_200ep_1seed' in t.available()['cifar100']


# ---------------------------------------------------------------------------------------------
# The official .pth format, written tiny through the package's own classes
# ---------------------------------------------------------------------------------------------
# eval sets each dataset carries in the official file (see nas_201_api.api_201.get_more_info)
_EVAL_SETS = {
    'cifar10-valid': ('x-valid', 'ori-test'),
    'cifar10': ('ori-test',),
    'cifar100': ('x-valid', 'x-test', 'ori-test'),
    'ImageNet16-120': ('x-valid', 'x-test', 'ori-test'),
}
_BASE = {'cifar10-valid': 90.0, 'cifar10': 93.0, 'cifar100': 70.0, 'ImageNet16-120': 44.0}
# (arch, accuracy offset, seeds) -- the third cell has one seed only, as many do in v1_1
_OFFICIAL_CELLS = [(A1, 0.5, (777, 888, 999)), (A0, -7.0, (777, 888)), (EMPTY, -80.0, (777,))]


def _final_acc(ds: str, eval_set: str, offset: float, seed: int, epochs: int) -> float:
    acc = _BASE[ds] + offset + (seed - 888) / 100.0  # seeds differ by +-1.11 points
    if eval_set == 'x-valid':
        acc -= 0.25
    return acc - (3.0 if epochs == 12 else 0.0)


def _results_count(arch: str, ds: str, seed: int, epochs: int, offset: float, params: float):
    from nas_201_api import ResultsCount

    final = {s: _final_acc(ds, s, offset, seed, epochs) for s in _EVAL_SETS[ds]}
    train = {e: min(99.9, final[_EVAL_SETS[ds][0]] * (e + 1) / epochs + 5) for e in range(epochs)}
    config = {
        'name': 'infer.tiny',
        'channel': 16,
        'num_cells': 5,
        'arch_str': arch,
        'class_num': {'cifar100': 100, 'ImageNet16-120': 120}.get(ds, 10),
    }
    rc = ResultsCount(
        ds, None, train, {e: 2.0 / (e + 1) for e in range(epochs)}, params, 100.0 * params, config, seed, epochs, [0.01]
    )
    accs, losses, times = {}, {}, {}
    for s, acc in final.items():
        for e in range(epochs):
            # a rising curve that ends at the final value: only the last epoch is read
            accs[f'{s}@{e}'] = acc - (epochs - 1 - e) * 0.01
            losses[f'{s}@{e}'] = 1.0 / (e + 1)
            times[f'{s}@{e}'] = 0.5
    rc.update_eval(accs, losses, times)
    return rc


def write_tiny_official(path: Path) -> Path:
    """Write a 3-cell benchmark file in the official NAS-Bench-201 (v1_1) format."""
    import torch
    from nas_201_api import ArchResults

    arch2infos = {}
    for index, (arch, offset, seeds) in enumerate(_OFFICIAL_CELLS):
        params = round(0.1 + 0.3 * index, 4)
        per_hp = {}
        for key, epochs in (('less', 12), ('full', 200)):
            res = ArchResults(index, arch)
            for ds in _EVAL_SETS:
                for seed in seeds:
                    res.update(ds, seed, _results_count(arch, ds, seed, epochs, offset, params))
            per_hp[key] = res.state_dict()
        arch2infos[index] = per_hp
    torch.save(
        {
            'meta_archs': [c[0] for c in _OFFICIAL_CELLS],
            'arch2infos': arch2infos,
            'evaluated_indexes': set(range(len(_OFFICIAL_CELLS))),
        },
        path,
    )
    return path


@pytest.fixture(scope='module')
def tiny_official(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_official(tmp_path_factory.mktemp('official') / 'NAS-Bench-201-tiny.pth')


def test_official_file_lookups(tiny_official: Path) -> None:
    b = NB201Official(tiny_official)
    assert len(b) == 3
    assert b.archs() == [Arch.from_str(c[0]) for c in _OFFICIAL_CELLS]
    for index, (arch, offset, seeds) in enumerate(_OFFICIAL_CELLS):
        assert b.index_of(arch) == index and b.index_of(Arch.from_str(arch)) == index
        assert str(b.arch(index)) == arch
        want = np.mean([_final_acc('cifar10', 'ori-test', offset, s, 200) for s in seeds])
        assert b.accuracy(arch) == pytest.approx(want)
        want = np.mean([_final_acc('cifar10-valid', 'x-valid', offset, s, 200) for s in seeds])
        assert b.accuracy(arch, 'cifar10-valid', 'valid_200ep') == pytest.approx(want)
        want = np.mean([_final_acc('ImageNet16-120', 'x-test', offset, s, 12) for s in seeds])
        assert b.accuracy(arch, 'imagenet16', 'test_12ep') == pytest.approx(want)
    np.testing.assert_allclose(b.accuracies([EMPTY, A1]), [b.accuracy(EMPTY), b.accuracy(A1)])
    assert b.accuracy(A1) == pytest.approx(93.5)  # mean of 92.39, 93.5, 94.61
    assert b.params(A0) == pytest.approx(0.4)
    frame = b.to_frame()
    assert list(frame['index']) == [0, 1, 2] and isinstance(frame['arch'].iloc[0], Arch)
    assert frame['cifar10_test_200ep'].iloc[0] == pytest.approx(93.5)
    assert 'cifar10valid_valid_200ep' in frame and 'cifar10_valid_200ep' not in frame


def test_official_file_errors(tiny_official: Path, tmp_path: Path) -> None:
    b = NB201Official(tiny_official)
    with pytest.raises(ValueError, match=r"unknown metric 'valid_200ep'.*test_200ep"):
        b.accuracy(A1, 'cifar10', 'valid_200ep')  # cifar10 (train+valid) has no validation set
    with pytest.raises(ValueError, match='unknown dataset'):
        b.accuracy(A1, 'mnist')
    with pytest.raises(KeyError, match='not in'):
        b.index_of(BEST)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        NB201Official(tmp_path / 'missing.pth')

    import torch

    torch.save({'foo': 1}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='not a NAS-Bench-201 benchmark'):
        NB201Official(tmp_path / 'other.pth')
    (tmp_path / 'garbage.pth').write_text('hello')
    with pytest.raises(ValueError, match='cannot read'):
        NB201Official(tmp_path / 'garbage.pth')
    # numpy scalars are outside torch's weights_only allowlist: refuse unless trusted
    torch.save({'meta_archs': [A1], 'arch2infos': {}, 'evaluated_indexes': [], 'x': np.float64(1)}, tmp_path / 'np.pth')
    with pytest.raises(ValueError, match='trust_pickle'):
        NB201Official(tmp_path / 'np.pth')
    assert len(NB201Official(tmp_path / 'np.pth', trust_pickle=True)) == 0


# ---------------------------------------------------------------------------------------------
# MicroBench
# ---------------------------------------------------------------------------------------------
RECIPE = {'dataset': 'digits', 'epochs': 3, 'seeds': [0, 1], 'lr': 0.05, 'note': 'tiny, "quoted"\nline'}


def _micro_frame(n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    archs = sample_archs(n - 1, rng=1, unique=True, exclude_degenerate=True) + [Arch.from_str(EMPTY)]
    quality = rng.uniform(80, 98, size=n)
    quality[-1] = 10.0
    return pd.DataFrame(
        {
            'arch_str': [str(a) for a in archs],
            'params': [1000 + 500 * a.count('nor_conv_3x3') + 100 * a.count('nor_conv_1x1') for a in archs],
            'acc_seed0': quality + rng.normal(0, 1, n),
            'acc_seed1': quality + rng.normal(0, 1, n) + 1 / 3,  # a third: floats that print long
        }
    )


def test_microbench_round_trip(tmp_path: Path) -> None:
    mb = MicroBench.from_frame(_micro_frame(), RECIPE, summary={'n_cells': 24})
    assert mb.seeds == [0, 1] and len(mb) == 24
    df = mb.to_frame()
    assert list(df.columns[:6]) == ['arch_str', 'arch', 'canonical', 'degenerate', 'params', 'acc_seed0']
    assert df['degenerate'].tolist() == [False] * 23 + [True]
    np.testing.assert_allclose(df['accuracy'], (df['acc_seed0'] + df['acc_seed1']) / 2)

    path = mb.save(tmp_path / 'sub' / 'micro.csv')
    first = path.read_text().splitlines()[:3]
    assert first[0].startswith('# recipe: ') and first[1].startswith('# summary: ')
    assert json.loads(first[0][len('# recipe: ') :]) == RECIPE
    assert first[2].startswith('arch_str,canonical,degenerate,params,acc_seed0,acc_seed1,accuracy')

    back = MicroBench.load(path)
    assert back.recipe == RECIPE and back.summary == {'n_cells': 24} and back.seeds == [0, 1]
    pd.testing.assert_frame_equal(back.to_frame(), mb.to_frame())
    a = back.archs()[3]
    assert back.accuracy(a) == mb.accuracy(str(a))
    assert back.accuracy(a, metric='seed1') == pytest.approx(df['acc_seed1'].iloc[3])
    np.testing.assert_array_equal(back.accuracies(back.archs()), df['accuracy'].to_numpy())
    assert back.params(a) == df['params'].iloc[3]
    assert load_benchmark(path).recipe == RECIPE

    no_summary = MicroBench.from_frame(_micro_frame(), {'dataset': 'digits'})
    p2 = no_summary.save(tmp_path / 'ns.csv')
    assert not p2.read_text().splitlines()[1].startswith('#')
    assert MicroBench.load(p2).summary == {}


def test_microbench_isomorphic_lookup() -> None:
    frame = _micro_frame()
    shortcut = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'  # output = x
    frame.loc[0, 'arch_str'] = shortcut
    mb = MicroBench.from_frame(frame, RECIPE)
    # node 2 gains a conv but still cannot reach the output: same function, same numbers
    twin = '|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|'
    assert canonical(Arch.from_str(twin)) == canonical(Arch.from_str(shortcut))
    expected = (frame['acc_seed0'].iloc[0] + frame['acc_seed1'].iloc[0]) / 2
    assert mb.accuracy(twin) == mb.accuracy(shortcut) == pytest.approx(expected)
    other_degenerate = Arch.from_str('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|')
    assert mb.accuracy(other_degenerate) == mb.accuracy(EMPTY)
    assert len(mb) == len(frame)  # fallbacks answer lookups, they add no rows


def test_microbench_summaries() -> None:
    frame = _micro_frame()
    mb = MicroBench.from_frame(frame, RECIPE)
    from scipy.stats import kendalltau

    live = frame.iloc[:-1]
    assert mb.seed_to_seed_tau() == pytest.approx(kendalltau(live['acc_seed1'], live['acc_seed0']).statistic)
    assert mb.seed_to_seed_tau() > 0.6  # the planted quality dominates the seed noise
    s = mb.spread()
    acc = mb.to_frame()['accuracy'].iloc[:-1]
    assert s['median'] == pytest.approx(acc.median()) and s['min'] == pytest.approx(acc.min())
    assert s['iqr'] == pytest.approx(s['q75'] - s['q25']) and s['min'] > 10.0  # degenerate cell left out
    one_seed = MicroBench.from_frame(frame.drop(columns=['acc_seed1']), RECIPE)
    with pytest.raises(ValueError, match='two seeds'):
        one_seed.seed_to_seed_tau()


def test_microbench_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mb = MicroBench.from_frame(_micro_frame(), RECIPE)
    with pytest.raises(ValueError, match=r"unknown metric 'seed7'.*seed0"):
        mb.accuracy(EMPTY, metric='seed7')
    with pytest.raises(ValueError, match='unknown dataset'):
        mb.accuracy(EMPTY, dataset='cifar10')
    held = set(mb.to_frame()['canonical'])
    absent = next(a for a in sample_archs(200, rng=3) if canonical(a) not in held)
    with pytest.raises(KeyError, match='isomorphic'):
        mb.accuracy(absent)

    path = mb.save(tmp_path / 'm.csv')
    lines = path.read_text().splitlines()
    header = lines[1].split(',')
    bad = tmp_path / 'bad.csv'
    bad_header = ','.join(h for h in header if h not in ('params', 'acc_seed0', 'acc_seed1'))
    rows = [
        ','.join(v for h, v in zip(header, ln.split(',')) if h not in ('params', 'acc_seed0', 'acc_seed1'))
        for ln in lines[2:]
    ]
    bad.write_text('\n'.join([lines[0], bad_header, *rows]) + '\n')
    with pytest.raises(ValueError, match=r"bad\.csv.*'params'.*acc_seed"):
        MicroBench.load(bad)
    plain = tmp_path / 'plain.csv'
    plain.write_text('\n'.join(lines[1:]) + '\n')
    with pytest.raises(ValueError, match='recipe'):
        MicroBench.load(plain)
    broken = tmp_path / 'broken.csv'
    broken.write_text('# recipe: {not json\n' + '\n'.join(lines[1:]) + '\n')
    with pytest.raises(ValueError, match='not valid JSON'):
        MicroBench.load(broken)

    missing = tmp_path / 'data' / 'microbench_digits.csv'
    monkeypatch.setattr(micro_mod, 'default_path', lambda: missing)
    with pytest.raises(FileNotFoundError, match=r'microbench_digits\.csv.*nasviz build-microbench'):
        MicroBench.load()
    with pytest.raises(FileNotFoundError, match='build-microbench'):
        load_benchmark('micro')


def test_microbench_default_path() -> None:
    p = micro_mod.default_path()
    assert p.name == 'microbench_digits.csv' and p.parent.name == 'data'
    assert (p.parent.parent / 'nasviz' / 'bench' / 'micro.py').is_file()


# ---------------------------------------------------------------------------------------------
# load_benchmark
# ---------------------------------------------------------------------------------------------
def test_load_benchmark_dispatch(tiny_table_csv: Path, tiny_official: Path, tmp_path: Path) -> None:
    assert isinstance(load_benchmark(tiny_table_csv), NB201Table)
    assert isinstance(load_benchmark(str(tiny_official)), NB201Official)
    mb = MicroBench.from_frame(_micro_frame(), RECIPE)
    assert isinstance(load_benchmark(mb.save(tmp_path / 'mb.csv')), MicroBench)
    assert load_benchmark(mb) is mb
    with pytest.raises(ValueError, match='unknown benchmark spec'):
        load_benchmark(tmp_path / 'table.parquet')
    with pytest.raises(FileNotFoundError, match='nothing.csv'):
        load_benchmark(tmp_path / 'nothing.csv')
    with pytest.raises(ValueError, match='name or a path'):
        load_benchmark(42)  # type: ignore[arg-type]


@pytest.mark.parametrize('space', ['nb101', 'darts'])
def test_shipped_micro_benchmark_of_each_space(space: str) -> None:
    """The micro benchmarks shipped in data/ for the NB101 and DARTS spaces: built by
    `nasviz build-microbench --space S` (its recipe says so), >= 200 valid cells of that space,
    >= 2 seeds with a measured seed-to-seed tau, and summary figures that match the rows."""
    from nasviz.spaces import get_space

    path = micro_mod.microbench_path(space)
    assert path == micro_mod.default_path().parent / f'microbench_{space}.csv'
    mb = MicroBench.load(path)
    sp = get_space(space)
    assert mb.space is sp and mb.recipe['space'] == space and mb.recipe['builder'] == 'nasviz build-microbench'
    assert len(mb) >= 200 and len(mb.seeds) >= 2
    archs = mb.archs()
    assert all(sp.is_valid(a) for a in archs) and len({sp.canonical(a) for a in archs}) == len(archs)
    acc = mb.accuracies(archs)
    assert np.all((acc > 10) & (acc <= 100))  # every cell learned (10% is chance on 10 classes)
    assert mb.summary['seed_to_seed_kendall_tau'] == pytest.approx(mb.seed_to_seed_tau(), abs=1e-3)
    assert mb.summary['spread']['iqr'] == pytest.approx(mb.spread()['iqr'], abs=1e-3)
