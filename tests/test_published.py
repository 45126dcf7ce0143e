"""Published paper-scale NAS-Bench-201 supernets: reader, lookups, and the facts of SOURCES.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasviz.analysis.metrics import kendall_tau
from nasviz.bench.published import ENV_SUPERNETS, PublishedSupernets
from nasviz.spaces.nb201 import Arch, sample_archs


@pytest.fixture(scope='module')
def published_path(shared_file) -> Path:
    """``$NASVIZ_NB201_SUPERNETS``, else the shared copy; skipped locally when absent, failed in CI."""
    return shared_file(ENV_SUPERNETS, 'nb201/nb201_published_supernets.csv', 'published supernets file')


def _frame(n: int = 5) -> tuple[pd.DataFrame, list[Arch]]:
    archs = sample_archs(n, rng=0, unique=True)
    return pd.DataFrame(
        {
            'index': range(n),
            'arch_str': [str(a) for a in archs],
            'oneshot_supernet': np.arange(n) * 1.0,
            'fewshot_supernet': np.arange(n) * 10.0,
        }
    ), archs


def test_lookup_by_arch_and_string_in_the_order_given() -> None:
    df, archs = _frame()
    pub = PublishedSupernets(df)
    order = [3, 0, 4]
    np.testing.assert_array_equal(pub.scores([archs[i] for i in order]), [3.0, 0.0, 4.0])
    np.testing.assert_array_equal(pub.scores([str(archs[i]) for i in order], which='few-shot'), [30.0, 0.0, 40.0])
    np.testing.assert_array_equal(pub.scores([f'  {archs[1]} '], which='fewshot'), [10.0])
    assert len(pub) == 5 and archs[2] in pub and 'nonsense' not in pub and pub.archs() == archs
    assert list(pub.to_frame().columns) == list(df.columns)
    missing = next(a for a in sample_archs(20, rng=5, unique=True) if a not in archs)
    with pytest.raises(KeyError, match='not in'):
        pub.scores([missing])
    with pytest.raises(ValueError, match='which'):
        pub.scores(archs, which='twoshot')
    with pytest.raises(ValueError, match='arch string'):
        pub.scores(['|bad|'])


def test_bad_tables_and_missing_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    df, _ = _frame()
    with pytest.raises(ValueError, match='fewshot_supernet'):
        PublishedSupernets(df.drop(columns='fewshot_supernet'))
    with pytest.raises(ValueError, match='appears twice'):
        PublishedSupernets(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(ValueError, match='bad arch_str'):
        PublishedSupernets(df.assign(arch_str=df['arch_str'].str.replace('|', '| ', n=1, regex=False)))
    monkeypatch.delenv(ENV_SUPERNETS, raising=False)
    with pytest.raises(ValueError, match=ENV_SUPERNETS):
        PublishedSupernets.load()
    with pytest.raises(FileNotFoundError):
        PublishedSupernets.load(tmp_path / 'absent.csv')
    path = tmp_path / 'pub.csv'
    df.to_csv(path, index=False)
    monkeypatch.setenv(ENV_SUPERNETS, str(path))
    assert len(PublishedSupernets.load()) == 5


def test_published_supernets_match_their_sources(published_path: Path, nb201_table) -> None:  # noqa: ANN001
    """The facts stated in SOURCES.md: Kendall tau against CIFAR-10 test accuracy (200 epochs)
    over all 15,625 cells is 0.484 (one-shot) and 0.550 (few-shot), parameter count 0.577;
    30 cells tie at the one-shot maximum; the few-shot supernet ranks better than the one-shot."""
    pub = PublishedSupernets.load(published_path)
    assert len(pub) == 15625
    archs = nb201_table.archs()
    truth = nb201_table.accuracies(archs, 'cifar10', 'test_200ep')
    one, few = pub.scores(archs, 'oneshot'), pub.scores(archs, 'fewshot')
    assert np.isfinite(one).all() and np.isfinite(few).all()
    assert kendall_tau(one, truth) == pytest.approx(0.484, abs=5e-4)
    assert kendall_tau(few, truth) == pytest.approx(0.550, abs=5e-4)
    assert kendall_tau(nb201_table.params_many(archs), truth) == pytest.approx(0.577, abs=5e-4)
    assert int((one == one.max()).sum()) == 30
    # same official index order as the accuracy table
    assert pub.to_frame()['arch_str'].tolist() == [str(a) for a in archs]
