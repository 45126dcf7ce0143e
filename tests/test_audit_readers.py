"""Readers of other tools' score files, and the ``nasviz audit`` command: round trips on small
files made here (with NaN / inf rows, unknown and repeated architectures), NASLib's NB201 op and
edge order checked against the real NB201 table, exit code 2 on bad input, audit.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from nasviz.audit import read_scores, to_naslib_nb201
from nasviz.audit.readers import nb101_hash, parse_arch
from nasviz.cli import main
from nasviz.spaces import get_space
from nasviz.spaces.nb101 import NB101Arch
from nasviz.spaces.nb201 import Arch

# one cell of the NB201 table in three spellings (table index 1, CIFAR-10 test 93.66%)
CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
# NASLib: edges 0->1, 0->2, 0->3, 1->2, 1->3, 2->3; ops skip 0, none 1, conv3x3 2, conv1x1 3, pool 4
CELL_NASLIB = (2, 2, 0, 4, 2, 0)
CELL_FEWSHOT = (
    "[(('nor_conv_3x3', 0),), (('nor_conv_3x3', 0), ('avg_pool_3x3', 1)), "
    "(('skip_connect', 0), ('nor_conv_3x3', 1), ('skip_connect', 2))]"
)


def _cells(n: int, seed: int = 0) -> list[str]:
    idx = np.random.default_rng(seed).choice(5**6, size=n, replace=False)
    return [str(Arch.from_index(int(i))) for i in idx]


def test_the_three_nb201_spellings_name_one_cell():
    assert str(parse_arch(CELL, 'nb201')) == CELL
    assert str(parse_arch(str(CELL_NASLIB), 'nb201')) == CELL
    assert str(parse_arch(CELL_FEWSHOT, 'nb201')) == CELL
    assert to_naslib_nb201(CELL) == CELL_NASLIB
    for a in _cells(50):
        assert str(parse_arch(str(to_naslib_nb201(a)), 'nb201')) == a
    for bad in ('(1, 2, 3)', '(0, 0, 0, 0, 0, 9)', '|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|', ''):
        with pytest.raises(ValueError):
            parse_arch(bad, 'nb201')


def test_csv_round_trip_with_bad_rows(tmp_path):
    archs = _cells(30, seed=1)
    rng = np.random.default_rng(1)
    df = pd.DataFrame({'arch_str': archs, 'index': range(30), 'a': rng.normal(size=30), 'b': rng.normal(size=30)})
    df.loc[2, 'a'] = np.nan
    df.loc[3, 'a'] = np.inf
    df.loc[4, 'b'] = -np.inf
    df.loc[30] = ['not a cell', 30, 1.0, 1.0]
    df.loc[31] = [archs[0], 31, 5.0, 5.0]  # the same cell again
    path = tmp_path / 'scores.csv'
    df.to_csv(path, index=False)
    out = read_scores(path, space='nb201')
    assert list(out.columns) == ['a', 'b'] and len(out) == 30  # 'index' is not an estimator
    assert out.attrs['dropped']['a'] == {'nan': 1, 'inf': 1, 'unknown_arch': 1, 'duplicate': 1}
    assert out.attrs['dropped']['b'] == {'nan': 0, 'inf': 1, 'unknown_arch': 1, 'duplicate': 1}
    assert out.loc[archs[0], 'a'] == pytest.approx(df.loc[0, 'a'])  # the first row is kept
    assert 'row 30' in out.attrs['problems'][0]
    # TSV, another architecture spelling (NASLib tuples), a chosen estimator
    tsv = tmp_path / 'scores.tsv'
    pd.DataFrame({'arch': [str(to_naslib_nb201(a)) for a in archs], 'a': df['a'][:30]}).to_csv(
        tsv, sep='\t', index=False
    )
    back = read_scores(tsv, space='nb201', estimators=['a'])
    assert list(back.index) == archs


def test_naslib_zc_file_maps_to_the_right_nb201_cells(tmp_path, nb201_table):
    archs = [CELL] + _cells(40, seed=2)
    acc = nb201_table.accuracies(archs)
    data = {}
    for ds, shift in (('cifar10', 0.0), ('cifar100', 1.0)):
        data[ds] = {
            str(to_naslib_nb201(a)): {
                'synflow': {'score': float(v + shift), 'time': 0.1},
                'snip': {'score': float(-v), 'time': 0.2},
                'val_accuracy': float(v),
            }
            for a, v in zip(archs, acc)
        }
    data['cifar10'][str(to_naslib_nb201(archs[5]))]['snip']['score'] = float('nan')
    path = tmp_path / 'zc_nasbench201.json'
    path.write_text(json.dumps(data))  # json writes NaN as NaN, as Python's json reads it
    out = read_scores(path, space='nb201')
    assert set(out.columns) == {
        'cifar10/synflow',
        'cifar10/snip',
        'cifar10/val_accuracy',
        'cifar100/synflow',
        'cifar100/snip',
        'cifar100/val_accuracy',
    }
    assert out.attrs['not_estimators'] == ['cifar10/val_accuracy', 'cifar100/val_accuracy']
    assert out.loc[CELL, 'cifar10/val_accuracy'] == pytest.approx(93.66)
    assert np.allclose(out['cifar10/synflow'].to_numpy(), nb201_table.accuracies(list(out.index)))
    assert out.attrs['dropped']['cifar10/snip']['nan'] == 1
    one = read_scores(path, space='nb201', estimators=['cifar10/synflow'])
    assert list(one.columns) == ['cifar10/synflow']


def test_fewshot_release_file(tmp_path, nb201_table):
    archs = [CELL] + _cells(10, seed=3)
    keys = [CELL_FEWSHOT] + [
        str([tuple((op, src) for src, op in enumerate(Arch.from_str(a).ops[s:e])) for s, e in ((0, 1), (1, 3), (3, 6))])
        for a in archs[1:]
    ]
    path = tmp_path / 'few-shot-supernet'
    path.write_text(json.dumps(dict(zip(keys, nb201_table.accuracies(archs).tolist()))))
    out = read_scores(path, space='nb201')
    assert list(out.columns) == ['few_shot_supernet'] and list(out.index) == archs
    assert out.loc[CELL, 'few_shot_supernet'] == pytest.approx(93.66)


def test_the_published_supernets_table_reads_as_a_csv(shared_file):
    path = shared_file('NASVIZ_NB201_SUPERNETS', 'nb201/nb201_published_supernets.csv', 'published supernets')
    out = read_scores(path, space='nb201')
    assert list(out.columns) == ['oneshot_supernet', 'fewshot_supernet'] and len(out) == 15625


def test_nb101_and_darts_spellings(tmp_path, shared_file):
    from nasviz.bench import DartsTable, NB101Table

    nb101 = NB101Table(shared_file('NASVIZ_NB101_TABLE', 'nb101/nb101_cifar10_subset.csv', 'NB101 subset'))
    rows = nb101.rows_frame().head(8)
    df = pd.DataFrame({'matrix': rows['matrix'], 'ops': rows['ops'], 'score': np.arange(8.0)})
    df.to_csv(tmp_path / 'nb101.csv', index=False)
    out = read_scores(tmp_path / 'nb101.csv', space='nb101')
    want = list(dict.fromkeys(str(a) for a in rows['arch']))  # rows equal after pruning are one cell
    assert list(out.index) == want
    assert out.attrs['dropped']['score']['duplicate'] == len(rows) - len(want)
    # NASLib's flat tuple: 49 matrix entries, then the op indices of input, output, maxpool, conv1x1, conv3x3
    naslib_ops = ('input', 'output', 'maxpool3x3', 'conv1x1-bn-relu', 'conv3x3-bn-relu')
    a = rows['arch'].iloc[0]
    m = np.asarray(a.matrix)
    tup = tuple(int(x) for x in m.ravel()) + tuple(naslib_ops.index(o) for o in a.ops)
    assert str(parse_arch(str(tup), 'nb101')) == str(a)
    # the benchmark's module hash (the README cell of NAS-Bench-101 has this published hash)
    readme = NB101Arch(
        [
            [0, 1, 1, 1, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        'input,conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output',
    )
    assert nb101_hash(readme) == '28cfc7874f6d200472e1a9dcd8650aa0'
    assert get_space('nb101').canonical(parse_arch(nb101_hash(a), 'nb101')) == get_space('nb101').canonical(a)
    darts = DartsTable(shared_file('NASVIZ_DARTS_TABLE', 'nb301/nb301_cifar10_subset.csv', 'NB301 subset'))
    g = darts.archs()[:6]
    df = pd.DataFrame({'genotype': [str(x) for x in g], 'score': np.arange(6.0)})
    df.to_csv(tmp_path / 'darts.csv', index=False)
    assert list(read_scores(tmp_path / 'darts.csv', space='darts').index) == [str(x) for x in g]
    naslib_darts = (
        'max_pool_3x3',
        'avg_pool_3x3',
        'skip_connect',
        'sep_conv_3x3',
        'sep_conv_5x5',
        'dil_conv_3x3',
        'dil_conv_5x5',
    )
    fr = darts.to_frame().iloc[0]
    compact = tuple(
        tuple((inp, naslib_darts.index(op)) for op, inp in __import__('ast').literal_eval(fr[c]))
        for c in ('normal', 'reduce')
    )
    assert str(parse_arch(str(compact), 'darts')) == str(g[0])


def test_a_file_of_another_space_is_refused(tmp_path):
    df = pd.DataFrame({'arch_str': _cells(10), 'score': np.arange(10.0)})
    df.to_csv(tmp_path / 'nb201.csv', index=False)
    with pytest.raises(ValueError, match=r'nb201\.csv: no row holds a nb101 architecture.*row 0'):
        read_scores(tmp_path / 'nb201.csv', space='nb101')
    other = _cells(1, seed=9)[0]
    (tmp_path / 'text.csv').write_text(f'arch_str,score\n{other},1.5\n{CELL},high\n')
    with pytest.raises(ValueError, match=r"row 1 \(line 3\), column 'score': 'high' is not a number"):
        read_scores(tmp_path / 'text.csv', space='nb201')
    with pytest.raises(ValueError, match='no architecture column'):
        pd.DataFrame({'x': [1.0], 'y': [2.0]}).to_csv(tmp_path / 'noarch.csv', index=False)
        read_scores(tmp_path / 'noarch.csv', space='nb201')


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def test_cli_bad_input_exits_2(tmp_path, capsys, nb201_table_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_NB201_TABLE', str(nb201_table_path))
    assert main(['audit', str(tmp_path / 'missing.csv'), '--space', 'nb201']) == 2
    assert 'score file not found' in capsys.readouterr().err
    few = tmp_path / 'few.csv'
    pd.DataFrame({'arch_str': _cells(2), 'score': [1.0, 2.0]}).to_csv(few, index=False)
    assert main(['audit', str(few), '--space', 'nb201', '--n-resamples', '100']) == 2
    err = capsys.readouterr().err
    assert 'fewer than 3 architectures' in err and 'Traceback' not in err
    flat = tmp_path / 'flat.csv'
    pd.DataFrame({'arch_str': _cells(20), 'score': 1.0}).to_csv(flat, index=False)
    assert main(['audit', str(flat), '--space', 'nb201', '--n-resamples', '100']) == 2
    assert 'constant' in capsys.readouterr().err
    assert main(['audit', str(few), '--space', 'nb201', '--estimators', 'nope']) == 2
    assert "no score column(s) ['nope']" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # argparse: unknown format / space
        main(['audit', str(few), '--space', 'nb201', '--format', 'xml'])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(['audit', str(few), '--space', 'nb201', '--k', '0'])
    assert exc.value.code == 2


def test_cli_writes_audit_json_and_html(tmp_path, capsys, nb201_table, nb201_table_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_NB201_TABLE', str(nb201_table_path))
    archs = _cells(120, seed=5)
    rng = np.random.default_rng(5)
    t = nb201_table.accuracies(archs)
    good = t + rng.normal(0, 2, size=120)
    good[0] = np.nan
    path = tmp_path / 'mine.csv'
    pd.DataFrame({'arch_str': archs, 'good': good, 'noisy': t + rng.normal(0, 20, size=120)}).to_csv(path, index=False)
    out = tmp_path / 'out'
    assert (
        main(['audit', str(path), '--space', 'nb201', '--out', str(out), '--n-resamples', '200', '--k', '0.05', '10'])
        == 0
    )
    printed = capsys.readouterr().out
    assert 'kendall_tau' in printed and ('is better than' in printed or 'is level with' in printed)
    d = json.loads((out / 'audit.json').read_text())
    assert d['n'] == 119 and d['dropped']['good']['nan'] == 1 and d['dropped']['noisy']['nan'] == 0
    e = d['estimators']['good']
    assert set(e) >= {
        'kendall_tau',
        'spearman',
        'pearson',
        'precision_top',
        'precision_bottom',
        'best_rank',
        'worst_rank',
        'tau_in_true_top',
        'regret',
        'op_bias',
        'size_bias',
    }
    assert set(e['precision_top']) == {'0.05', '10'} and e['kendall_tau']['n'] == 119
    assert math.isfinite(e['kendall_tau']['low']) and e['kendall_tau']['low'] <= e['kendall_tau']['estimate']
    assert {c['other'] for c in d['comparisons'] if c['estimator'] == 'good'} == {'params', 'random', 'noisy'}
    assert {c['verdict'] for c in d['comparisons']} <= {'better', 'worse', 'level with'}
    assert d['ceiling']['kind'] == 'valid-as-predictor'
    html = (out / 'audit.html').read_text()
    assert 'Plotly.newPlot' in html and '<script src="http' not in html and 'Paired verdicts' in html


def test_several_files_join_on_the_architecture(tmp_path):
    archs = _cells(20, seed=7)
    rng = np.random.default_rng(7)
    pd.DataFrame({'arch_str': archs, 'x': rng.normal(size=20), 'y': rng.normal(size=20)}).to_csv(
        tmp_path / 'one.csv', index=False
    )
    pd.DataFrame({'arch': [str(to_naslib_nb201(a)) for a in archs[5:]], 'z': rng.normal(size=15)}).to_csv(
        tmp_path / 'two.csv', index=False
    )
    out = read_scores([tmp_path / 'one.csv', tmp_path / 'two.csv'], space='nb201', estimators=['x', 'z'])
    assert list(out.columns) == ['x', 'z'] and len(out) == 20 and out['z'].isna().sum() == 5
    with pytest.raises(ValueError, match=r"no score column\(s\) \['w'\]"):
        read_scores([tmp_path / 'one.csv', tmp_path / 'two.csv'], space='nb201', estimators=['x', 'w'])
    # the first file's row order is kept (it breaks predicted ties), rows only in later files follow
    pd.DataFrame({'arch_str': archs[:1] + ['|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'], 'w': [1.0, 2.0]}).to_csv(
        tmp_path / 'three.csv', index=False
    )
    both = read_scores([tmp_path / 'one.csv', tmp_path / 'three.csv'], space='nb201')
    assert list(both.index[:20]) == archs and both.index[20] == '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
