"""One-stage ISTA-NAS (nasviz.search.one_stage): search, then the same weights trained on the
fixed support; determinism, a support that no longer changes, resume after a kill, the JSON
fields and the clear refusals for other methods."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nasviz.data import ImageData
from nasviz.search import SearchConfig, split_for_search
from nasviz.search.base import config_key
from nasviz.search.groups import search_groups
from nasviz.search.ista import SparseCode, ista_search
from nasviz.search.one_stage import train_fixed_support, weighted_accuracy
from nasviz.spaces.nb201 import OPS, Arch

torch.set_num_threads(1)


def toy_data(n=192, seed=0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.5 + y.view(-1, 1, 1, 1).float() / 5
    yt = torch.randint(0, 10, (50,), generator=g)
    xt = torch.randn(50, 1, 8, 8, generator=g) * 0.5 + yt.view(-1, 1, 1, 1).float() / 5
    return ImageData('toy', x, y, xt, yt, 10, data_id=f'toy-os{seed}')


def cfg(**kw) -> SearchConfig:
    base = dict(method='ista', C=4, N=1, epochs=2, batch_size=32, one_stage=True, final_epochs=2)
    base.update(kw)
    return SearchConfig(**base)


def run(c: SearchConfig, data: ImageData, **kw):
    return ista_search(c, split_for_search(data), progress=False, full_data=data, **kw)


def test_one_stage_is_deterministic_and_its_search_phase_is_the_plain_search():
    data = toy_data()
    r1, r2 = run(cfg(), data), run(cfg(), data)
    assert r1.arch == r2.arch
    assert r1.final_history['train_loss'].tolist() == r2.final_history['train_loss'].tolist()
    assert r1.network_accuracy == r2.network_accuracy and r1.network_loss == r2.network_loss
    # the search phase is exactly the two-stage search of the same config
    plain = ista_search(cfg(one_stage=False, final_epochs=None), split_for_search(data), progress=False)
    assert plain.arch == r1.arch
    assert plain.history['weights'].tolist() == r1.history['weights'].tolist()
    # another seed: another code, another training
    r3 = run(cfg(seed=1), data)
    assert r3.final_history['train_loss'].tolist() != r1.final_history['train_loss'].tolist()


def test_after_the_switch_the_support_and_off_support_weights_do_not_change():
    data = toy_data()
    groups = search_groups('nb201')
    torch.manual_seed(0)
    model = groups.weighted_supernet(4, 1, 10, 1)
    code = SparseCode(groups.n_groups, 3, 0.1, seed=0)
    with torch.no_grad():  # a code with a clear support: the 1x1 conv on every edge but one
        code.b.mul_(0.2)
        code.b.add_(code.A[:, :, 1] * 2.0)
    with torch.no_grad():
        arch = groups.support(code())
    b0 = code.b.detach().clone()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    hist, acc, loss = train_fixed_support(model, code, groups.support, data, cfg(final_epochs=2), progress=False)
    assert list(hist['arch']) == [arch, arch] and hist['support_changes'].tolist() == [0, 0]
    assert torch.equal(code.b, b0)
    after = dict(model.named_parameters())
    live = arch.live_edges()
    changed_on, changed_off = 0, 0
    for name, p in after.items():
        parts = name.split('.')
        if 'edges' not in parts:
            continue
        e, op = int(parts[parts.index('edges') + 1]), parts[parts.index('edges') + 2]
        moved = not torch.equal(p, before[name])
        if live[e] and OPS.index(op) == arch.op_idx[e]:
            changed_on += moved
        else:
            assert not moved, f'{name} is off the support and changed'
            changed_off += moved
    assert changed_on > 0 and changed_off == 0
    # the reported accuracy is the network's own, on the test split
    with torch.no_grad():
        w = code()
    assert (acc, loss) == weighted_accuracy(model, w, arch, data.x_test, data.y_test)
    assert abs(acc * len(data.y_test) / 100 - round(acc * len(data.y_test) / 100)) < 1e-9


def test_one_stage_resumes_after_a_kill(tmp_path, monkeypatch):
    import nasviz.search.one_stage as os_mod

    data = toy_data()
    full = run(cfg(final_epochs=2), data, checkpoint_dir=tmp_path / 'a')
    real = os_mod.atomic_torch_save

    def killed_after_final_epoch_0(obj, path):
        real(obj, path)
        if obj['epoch'] == 0:
            raise KeyboardInterrupt('killed during final epoch 1')

    monkeypatch.setattr(os_mod, 'atomic_torch_save', killed_after_final_epoch_0)
    with pytest.raises(KeyboardInterrupt):
        run(cfg(final_epochs=2), data, checkpoint_dir=tmp_path / 'b')
    monkeypatch.setattr(os_mod, 'atomic_torch_save', real)
    resumed = run(cfg(final_epochs=2), data, checkpoint_dir=tmp_path / 'b')
    assert resumed.arch == full.arch
    assert resumed.final_history['train_loss'].tolist() == full.final_history['train_loss'].tolist()
    assert resumed.network_accuracy == full.network_accuracy
    with pytest.raises(ValueError, match='another config'):
        train_fixed_support(
            search_groups('nb201').weighted_supernet(4, 1, 10, 1),
            lambda: torch.zeros(6, 5),
            lambda w: Arch((1,) * 6),
            data,
            cfg(final_epochs=3),
            progress=False,
            checkpoint_dir=tmp_path / 'b',
        )


def test_json_has_the_one_stage_fields():
    r = run(cfg(final_epochs=1), toy_data())
    d = json.loads(json.dumps(r.to_dict()))
    assert d['one_stage'] is True and d['final_epochs'] == 1
    assert 0 <= d['network_test_accuracy'] <= 100 and d['network_test_loss'] > 0
    assert d['final_support_history'] == [d['arch']] and len(d['final_train_loss']) == 1
    assert d['config']['one_stage'] is True and d['final_seconds'] > 0
    # a plain search has none of them, and keeps its old cache key (no one-stage fields)
    plain = SearchConfig()
    assert 'one_stage' not in config_key(plain) and 'final_epochs' not in config_key(plain)
    assert config_key(cfg())['one_stage'] is True and cfg().n_final_epochs == 2
    assert cfg(final_epochs=None).n_final_epochs == 2 and plain.n_final_epochs == 0


@pytest.mark.parametrize('method', ['darts', 'spos-rs', 'random'])
def test_one_stage_is_refused_for_other_methods(method, tmp_path, monkeypatch, capsys):
    from nasviz.cli import main

    with pytest.raises(ValueError, match='ISTA-NAS option'):
        SearchConfig(method=method, one_stage=True)
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    code = main(['search', '--method', method, '--one-stage', '--out', str(tmp_path / 'found.json')])
    assert code == 2
    err = capsys.readouterr().err
    assert '--one-stage' in err and 'ista' in err and 'Traceback' not in err
    assert not (tmp_path / 'found.json').exists()


def test_bad_one_stage_settings():
    with pytest.raises(ValueError, match='needs one_stage'):
        SearchConfig(final_epochs=3)
    with pytest.raises(ValueError, match='final_epochs'):
        SearchConfig(one_stage=True, final_epochs=0)
    with pytest.raises(ValueError, match='one_stage'):
        SearchConfig(one_stage='yes')
    with pytest.raises(ValueError, match='full_data'):
        ista_search(cfg(), split_for_search(toy_data()), progress=False)


def test_cli_one_stage_writes_the_network_accuracy(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from nasviz import search as search_mod
    from nasviz.cli import main
    from nasviz.search.base import SearchResult

    cell = Arch((3, 1, 2, 4, 3, 1))
    seen = {}

    def fake_run(method, **kw):
        seen.update(kw)
        c = SearchConfig(method=method, seed=kw['seed'], one_stage=kw['one_stage'], final_epochs=kw['final_epochs'])
        r = SearchResult(
            method,
            cell,
            c,
            1.5,
            final_history=pd.DataFrame(
                dict(epoch=[10], arch=[cell], train_loss=[0.5], train_acc=[80.0], seconds=[2.0])
            ),
            network_accuracy=81.25,
            network_loss=0.6,
        )
        r.true_accuracy, r.ground_truth, r.truth_source = 77.5, 'micro benchmark', 'benchmark'
        return r

    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(search_mod, 'run_search', fake_run)
    out = tmp_path / 'found.json'
    assert main(['search', '--method', 'ista', '--one-stage', '--final-epochs', '1', '--out', str(out)]) == 0
    assert seen['one_stage'] is True and seen['final_epochs'] == 1
    d = json.loads(out.read_text())
    assert d['network_test_accuracy'] == 81.25 and d['true_accuracy'] == 77.5 and d['final_epochs'] == 1
    assert "network's own test accuracy is 81.25%" in capsys.readouterr().out
    # --final-epochs alone is refused
    assert main(['search', '--method', 'ista', '--final-epochs', '2']) == 2
    assert np.isfinite(d['search_seconds'])
