"""nasviz.search: FISTA, the LASSO Jacobian, block support, the sparse and mixture forwards,
seeded searches, ground truth of found cells, bad inputs and the CLI contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from nasviz.bench.micro import MicroBench
from nasviz.data import ImageData
from nasviz.search import SEARCH_METHODS, SearchConfig, run_search, split_for_search
from nasviz.search.base import extend_truth, true_accuracy
from nasviz.search.compare import comparison_rows, summarize_comparison
from nasviz.search.darts import argmax_cell, darts_search
from nasviz.search.ista import (
    SparseCode,
    block_gap,
    fista,
    ista_search,
    lasso_jacobian,
    lasso_objective,
    sensing_matrices,
)
from nasviz.search.network import count_saved_bytes
from nasviz.search.random import candidate_cells, random_search, spos_rs_search
from nasviz.spaces.nb201 import NUM_EDGES, OPS, Arch, canonical
from nasviz.spaces.nb201_network import NB201Supernet
from nasviz.spaces.nb201_search import CODED_OPS, NONE, WeightedSupernet, block_support

torch.set_num_threads(1)


def planted(groups=4, m=40, n=80, k=4, seed=0, nonneg=False):
    g = torch.Generator().manual_seed(seed)
    A = sensing_matrices(groups, m, n, seed=seed + 1)
    z = torch.zeros(groups, n, dtype=torch.float64)
    for i in range(groups):
        idx = torch.randperm(n, generator=g)[:k]
        mag = 1 + torch.rand(k, generator=g, dtype=torch.float64)
        sign = (
            torch.ones(k, dtype=torch.float64)
            if nonneg
            else torch.where(torch.rand(k, generator=g) < 0.5, -1.0, 1.0).double()
        )
        z[i, idx] = sign * mag
    return A, z, torch.einsum('gmn,gn->gm', A, z)


@pytest.mark.parametrize('nonneg', [False, True])
def test_fista_recovers_planted_sparse_code(nonneg):
    A, z0, b = planted(nonneg=nonneg)
    z, hist = fista(A, b, lam=1e-4, n_iter=20000, tol=1e-13, nonneg=nonneg, return_history=True)
    # exact support and values (LASSO shrinks each value by O(lam))
    assert torch.equal(z.abs() > 1e-3, z0 != 0)
    assert (z - z0).abs().max() < 5e-3
    # monotone: the objective never increases, and it ends far below where it starts
    assert (hist[1:] - hist[:-1]).max() <= 1e-12
    assert (hist[-1] < 1e-2 * hist[0]).all()
    assert torch.allclose(hist[-1], lasso_objective(A, b, z, 1e-4))


def test_fista_fails_to_recover_when_m_is_too_small():
    # the same codes seen through 6 measurements of 80 coordinates cannot be recovered: the
    # recovery test above is not passing by construction
    A, z0, b = planted(m=6)
    z = fista(A, b, lam=1e-4, n_iter=1000)
    assert not torch.equal(z.abs() > 1e-3, z0 != 0)


def test_fista_single_group_and_lasso_optimality():
    A, z0, b = planted(groups=1, m=5, n=8, k=2, seed=3)
    lam = 0.05
    z = fista(A[0], b[0], lam=lam, n_iter=5000, tol=1e-13)
    assert z.shape == (8,)
    # KKT: |A^T (b - A z)| <= lam off the support, = lam sign(z) on it
    corr = A[0].T @ (b[0] - A[0] @ z)
    on = z.abs() > 1e-9
    assert torch.allclose(corr[on], lam * torch.sign(z[on]), atol=1e-6)
    assert (corr[~on].abs() <= lam + 1e-6).all()


def test_lasso_jacobian_matches_finite_differences():
    code = SparseCode(NUM_EDGES, m=3, lam=0.1, seed=2)
    z = code.solve()
    J = lasso_jacobian(code.A, z)
    b = code.b.detach()
    db = 1e-6 * torch.randn(b.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z1 = fista(code.A, b, 0.1, n_iter=5000, tol=1e-15, nonneg=True, z0=z)
    z2 = fista(code.A, b + db, 0.1, n_iter=5000, tol=1e-15, nonneg=True, z0=z)
    assert torch.allclose(z2 - z1, torch.einsum('gnm,gm->gn', J, db), atol=1e-10)


def test_block_support_one_op_per_edge():
    z = torch.tensor(
        [
            [0.0, 0.2, 0.9, 0.1, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],  # empty code: none
            [5.0, 0.3, 0.0, -0.4, 0.0],  # the none column is never picked by size
            [0.0, 0.0, 0.0, 0.0, 1e-3],
            [0.0, 1.0, 1.0, 0.0, 0.0],  # tie: the first
            [0.0, 0.0, 0.0, 2.0, 0.0],
        ]
    )
    arch = block_support(z)
    assert isinstance(arch, Arch) and len(arch.op_idx) == NUM_EDGES
    assert arch.ops == ('nor_conv_1x1', 'none', 'nor_conv_3x3', 'avg_pool_3x3', 'skip_connect', 'nor_conv_3x3')
    assert block_gap(z[:, list(CODED_OPS)]) > 0
    with pytest.raises(ValueError, match='z must have shape'):
        block_support(torch.zeros(6, 4))


def _copy_into_standalone(super_: WeightedSupernet, arch: Arch) -> NB201Supernet:
    net = NB201Supernet(super_.C, super_.N, super_.num_classes, super_.in_channels, arch=arch, affine=False)
    own = super_.state_dict()
    missing = [k for k in net.state_dict() if k not in own]
    assert not missing
    net.load_state_dict({k: own[k] for k in net.state_dict()})
    return net


@pytest.mark.parametrize('train_mode', [True, False])
def test_sparse_forward_equals_standalone_scaled_by_z(train_mode):
    torch.manual_seed(0)
    model = WeightedSupernet(4, 1, 10, 1)
    code = SparseCode(NUM_EDGES, m=3, lam=0.1, seed=5)
    w = code()
    arch = block_support(w.detach())
    assert sum(arch.live_edges()) >= 2
    net = _copy_into_standalone(model, arch)
    # scale each live edge's op output by its z value in the standalone network
    for cell in [b for b, k in zip(net.blocks, net.block_kinds) if k == 'cell']:
        for e, o in enumerate(arch.op_idx):
            if o != NONE:
                zval = float(w[e, o].detach())
                cell.edges[e][OPS[o]].register_forward_hook(lambda mod, inp, out, zval=zval: out * zval)
    x = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    model.train(train_mode)
    net.train(train_mode)
    got = model.forward_weighted(x, w, 'sparse', support=arch)
    want = net(x, arch)
    assert torch.allclose(got, want, atol=1e-5)
    # with z = 1 on the support it is exactly the plain single path of that cell
    ones = torch.ones(NUM_EDGES, len(OPS))
    assert torch.allclose(model.forward_weighted(x, ones, 'sparse', support=arch), model(x, arch), atol=1e-6)
    # and the gradient reaches b through the LASSO Jacobian
    if train_mode:
        got.sum().backward()
        assert code.b.grad is not None and code.b.grad.abs().sum() > 0


def test_mixture_forward_with_one_hot_weights_is_the_single_path():
    torch.manual_seed(0)
    model = WeightedSupernet(4, 1, 10, 1)
    arch = Arch((3, 2, 1, 4, 3, 1))  # no none edge: every edge is live in both forwards
    onehot = torch.zeros(NUM_EDGES, len(OPS))
    onehot[range(NUM_EDGES), list(arch.op_idx)] = 1.0
    x = torch.randn(8, 1, 8, 8)
    assert torch.allclose(model.forward_weighted(x, onehot, 'mixture'), model(x, arch), atol=1e-6)
    assert argmax_cell(onehot) == arch
    # the mixture keeps more activations for backward than the sparse path
    _, dense = count_saved_bytes(lambda: model.forward_weighted(x, torch.full((6, 5), 0.2), 'mixture'))
    _, sparse = count_saved_bytes(lambda: model.forward_weighted(x, onehot, 'sparse', support=arch))
    assert sparse < dense


def tiny_data(n=192, seed=0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    # class-dependent mean so the task is learnable
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.5 + y.view(-1, 1, 1, 1).float() / 5
    return ImageData('toy', x, y, x[:64].clone(), y[:64].clone(), 10, data_id=f'toy{seed}')


def small_cfg(method, **kw):
    return SearchConfig(method=method, C=4, N=1, epochs=2, batch_size=32, n_candidates=3, recal_batches=1, **kw)


@pytest.mark.parametrize('method', SEARCH_METHODS)
def test_seeded_search_is_deterministic(method):
    view = split_for_search(tiny_data())
    cands = candidate_cells(3, seed=0)
    fn = {
        'ista': lambda c: ista_search(c, view, progress=False),
        'darts': lambda c: darts_search(c, view, progress=False),
        'spos-rs': lambda c: spos_rs_search(c, view, cands, progress=False),
        'random': lambda c: random_search(c, view, cands, progress=False),
    }[method]
    r1, r2 = fn(small_cfg(method)), fn(small_cfg(method))
    assert r1.arch == r2.arch
    if method in ('ista', 'darts'):
        assert r1.history['weights'].tolist() == r2.history['weights'].tolist()
        assert list(r1.history['arch']) == list(r2.history['arch'])
        assert len(r1.history) == 2 and r1.step['saved_mib'] > 0
    else:
        pd.testing.assert_frame_equal(r1.candidates, r2.candidates)
        assert r1.arch in cands
    if method == 'ista':
        assert (r1.history['recovery_error'] >= 0).all()
        # another seed draws another sensing matrix and code
        r3 = fn(small_cfg(method, seed=1))
        assert r3.history['weights'].tolist() != r1.history['weights'].tolist()
    d = r1.to_dict()
    json.dumps(d)
    assert {'arch', 'true_accuracy', 'ground_truth', 'search_seconds'} <= set(d)


def test_split_keeps_views_of_one_digit_together():
    n_train, views = 50, 4
    x = torch.arange(n_train * views, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()
    y = torch.zeros(n_train * views, dtype=torch.long)
    data = ImageData('digits', x, y, x[:4], y[:4], 10, 'd', info=dict(n_train=n_train, train_views=views))
    v = split_for_search(data)
    tr = set((v.x_train[:, 0, 0, 0].long() % n_train).tolist())
    ho = set((v.x_test[:, 0, 0, 0].long() % n_train).tolist())
    assert not tr & ho and len(tr | ho) == n_train
    assert v.x_train.shape[0] + v.x_test.shape[0] == n_train * views


def fake_bench(tmp_path) -> MicroBench:
    cells = candidate_cells(6, seed=0)
    recipe = dict(
        dataset='digits',
        data=dict(n_train=60, size=8, test_views=1, random_state=0),
        C=2,
        N=1,
        epochs=1,
        batch_size=32,
        lr=0.05,
        weight_decay=5e-4,
    )
    df = pd.DataFrame(
        dict(
            arch_str=[str(a) for a in cells],
            params=range(6),
            acc_seed0=np.linspace(50, 60, 6),
            acc_seed1=np.linspace(52, 62, 6),
        )
    )
    return MicroBench.from_frame(df, recipe)


def test_true_accuracy_from_table_and_trained_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('NASVIZ_SEARCH_TRUTH', str(tmp_path / 'extra.csv'))
    bench = fake_bench(tmp_path)
    a = bench.archs()[2]
    acc, name, source = true_accuracy(a, bench)
    assert acc == pytest.approx(55.0) and source == 'benchmark' and 'micro benchmark' in name
    # an off-table cell: trained with the bench's recipe for each of its seeds, then cached
    off = Arch((3, 3, 3, 3, 3, 3))
    assert off not in bench.archs()
    acc1, _, src1 = true_accuracy(off, bench)
    assert 'trained standalone' in src1 and 0 <= acc1 <= 100
    assert len(list((tmp_path / 'cache' / 'search_truth').glob('*.pkl'))) == 2
    # extend_truth stores it; the lookup then reads the table (same number)
    path = extend_truth([off, a], bench)
    ext = MicroBench.load(path)
    assert [str(x) for x in ext.archs()] == [str(off)]
    acc2, _, src2 = true_accuracy(off, bench)
    assert acc2 == pytest.approx(acc1, abs=1e-3) and 'extra.csv' in src2


def test_comparison_tables():
    cfg = small_cfg('ista')
    from nasviz.search.base import SearchResult

    rs = [
        SearchResult(m, Arch((1,) * 6), SearchConfig(method=m, seed=s), 1.0, true_accuracy=70 + s + (m == 'darts'))
        for m in ('ista', 'darts')
        for s in (0, 1, 2)
    ]
    runs = comparison_rows(rs)
    summ = summarize_comparison(runs, reference='ista')
    assert summ.loc['ista', 'true_accuracy'] == pytest.approx(71.0)
    assert summ.loc['darts', 'diff_vs_ref'] == pytest.approx(1.0) and summ.loc['darts', 'n_seeds'] == 3
    assert cfg.method == 'ista'


@pytest.mark.parametrize(
    'kw, name',
    [
        (dict(method='foo'), 'method'),
        (dict(lam=0.0), 'lam'),
        (dict(lam=-1), 'lam'),
        (dict(m=0), 'm'),
        (dict(epochs=0), 'epochs'),
        (dict(space='nb101'), 'space'),
        (dict(n_candidates=0), 'n_candidates'),
        (dict(arch_lr=0), 'arch_lr'),
        (dict(score='f1'), 'score'),
    ],
)
def test_bad_config_names_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        SearchConfig(**kw)


def test_bad_inputs_of_functions():
    with pytest.raises(ValueError, match='method'):
        run_search('foo')
    with pytest.raises(ValueError, match='space'):
        run_search('ista', space='nb101')
    with pytest.raises(ValueError, match='lam'):
        run_search('ista', lam=0, truth=False, data=tiny_data())
    with pytest.raises(ValueError, match='unknown search setting'):
        run_search('ista', epoch=3, data=tiny_data())
    A, _, b = planted(groups=1, m=4, n=6, k=1)
    with pytest.raises(ValueError, match='lam'):
        fista(A, b, lam=0)
    with pytest.raises(ValueError, match='n_iter'):
        fista(A, b, lam=0.1, n_iter=0)
    with pytest.raises(ValueError, match='m'):
        sensing_matrices(2, 0, 5)
    with pytest.raises(ValueError, match='A must be'):
        fista(A, b[:, :2], lam=0.1)
    with pytest.raises(ValueError, match='n_candidates'):
        candidate_cells(7, 0, pool=candidate_cells(6, 0))
    with pytest.raises(ValueError, match='mode'):
        WeightedSupernet(2, 1, 10, 1).forward_weighted(torch.zeros(1, 1, 8, 8), torch.zeros(6, 5), 'dense')


@pytest.mark.parametrize(
    'args',
    [
        ['--method', 'foo'],
        ['--method', 'ista', '--lam', '0'],
        ['--method', 'ista', '--lam', 'abc'],
        ['--method', 'ista', '--m', '0'],
        ['--method', 'ista', '--space', 'nb101'],
        ['--method', 'ista', '--profile', 'huge'],
        ['--method', 'ista', '--seed', '-1'],
        ['--method', 'ista', '--epochs', '0'],
    ],
)
def test_cli_bad_input_exits_2(args, tmp_path, monkeypatch, capsys):
    from nasviz.cli import main

    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    try:
        code = main(['search', *args, '--out', str(tmp_path / 'found.json')])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert 'error' in err and 'Traceback' not in err
    assert not (tmp_path / 'found.json').exists()


def test_cli_writes_the_contract_json(tmp_path, monkeypatch):
    """``nasviz search ... --out FOUND.json`` with the keys checks rely on (a cached run keeps it fast)."""
    from nasviz import search as search_mod
    from nasviz.cli import main
    from nasviz.search.base import SearchResult

    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    cell = Arch((3, 1, 2, 4, 3, 1))

    def fake_run(method, **kw):
        r = SearchResult(method, cell, SearchConfig(method=method, seed=kw['seed']), 1.5)
        r.true_accuracy, r.ground_truth, r.truth_source = 77.5, 'micro benchmark', 'benchmark'
        return r

    monkeypatch.setattr(search_mod, 'run_search', fake_run)
    out = tmp_path / 'found.json'
    assert (
        main(
            ['search', '--method', 'random', '--space', 'nb201', '--profile', 'tiny', '--seed', '3', '--out', str(out)]
        )
        == 0
    )
    d = json.loads(out.read_text())
    assert d['arch'] == str(cell) and d['true_accuracy'] == 77.5 and d['ground_truth'] == 'micro benchmark'
    assert d['search_seconds'] == 1.5 and d['seed'] == 3 and d['method'] == 'random'
    assert canonical(Arch.from_str(d['arch']))


def test_step_costs_measure_sparse_below_mixture():
    from nasviz.search.cost import measure_step, step_costs

    costs = step_costs(steps=1, warmup=0, kinds=('ista', 'darts'))
    assert list(costs['kind']) == ['ista', 'darts'] and (costs['step_s'] > 0).all()
    # the sparse network keeps less for backward than the dense mixture (measured, not assumed)
    assert 0 < costs.set_index('kind').loc['ista', 'memory_vs_darts'] < 1
    with pytest.raises(ValueError, match='kind'):
        measure_step('enas')


def test_search_figures_draw_results():
    from nasviz.viz import search_figures as sf

    view = split_for_search(tiny_data())
    r = ista_search(small_cfg('ista'), view, progress=False)
    heat = sf.plot_code_heatmap(r.weights_frame(), support=r.support_history())
    assert heat.data[0].z.shape == (NUM_EDGES * len(OPS), 2) and 'epoch' in heat.layout.xaxis.title.text
    by_labels = sf.plot_code_heatmap(r.weights_frame(), support=r.support_labels())
    assert list(by_labels.data[1].y) == list(heat.data[1].y)  # cell strings and (edge, op) pairs mark the same
    assert len(sf.plot_support_changes({'ista seed 0': r.history}).data) == 1
    assert len(sf.plot_recovery({'ista': r.history}).data) == 2
    space = pd.DataFrame({'arch': [str(a) for a in candidate_cells(10, 0)], 'true_accuracy': np.linspace(60, 80, 10)})
    found = pd.DataFrame(dict(method=['ista', 'darts'], seed=[0, 0], arch=[str(r.arch)] * 2, true_accuracy=[75, 70]))
    fig = sf.plot_found_vs_space(space, found, baselines={'random cell': 70.0})
    assert any('found by ista' == t.name for t in fig.data) and fig.layout.xaxis.title.text == 'true accuracy (%)'
    runs = found.assign(seed=[0, 0])
    assert sf.plot_search_comparison(runs).data
    costs = pd.DataFrame(dict(kind=['ista', 'darts', 'spos'], step_s=[0.1, 0.3, 0.05], saved_mib=[10, 28, 5]))
    assert len(sf.plot_step_costs(costs).data) == 2
    with pytest.raises(ValueError, match='true_accuracy'):
        sf.plot_found_vs_space(space.drop(columns='true_accuracy'), found)


@pytest.mark.parametrize('method', ['ista', 'darts'])
def test_search_resumes_after_a_kill(method, tmp_path, monkeypatch):
    import nasviz.search.bilevel as bl

    view = split_for_search(tiny_data())
    cfg = SearchConfig(method=method, C=4, N=1, epochs=3, batch_size=32, recal_batches=1)
    fn = ista_search if method == 'ista' else darts_search
    full = fn(cfg, view, progress=False, checkpoint_dir=tmp_path / 'a')
    real = bl.atomic_torch_save

    def killed_after_epoch_0(obj, path):
        real(obj, path)
        if obj['epoch'] == 0:
            raise KeyboardInterrupt('killed during epoch 1')

    monkeypatch.setattr(bl, 'atomic_torch_save', killed_after_epoch_0)
    with pytest.raises(KeyboardInterrupt):
        fn(cfg, view, progress=False, checkpoint_dir=tmp_path / 'b')
    monkeypatch.setattr(bl, 'atomic_torch_save', real)
    resumed = fn(cfg, view, progress=False, checkpoint_dir=tmp_path / 'b')
    assert resumed.arch == full.arch
    assert resumed.history['weights'].tolist() == full.history['weights'].tolist()
    assert list(resumed.history['support_changes']) == list(full.history['support_changes'])
    # a checkpoint of another config is refused, not silently mixed in
    with pytest.raises(ValueError, match='another config'):
        fn(
            SearchConfig(method=method, C=4, N=1, epochs=4, batch_size=32),
            view,
            progress=False,
            checkpoint_dir=tmp_path / 'b',
        )
