"""nasviz.search on the DARTS cell space: ISTA-NAS node groups and their support, the weighted
DARTS supernet (sparse and mixture), seeded searches, ground truth from a micro benchmark of the
space, and the ``nasviz search --space darts`` contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from nasviz.bench.micro import MicroBench
from nasviz.data import ImageData
from nasviz.search import SearchConfig, run_search, split_for_search
from nasviz.search.base import NoGroundTruth, true_accuracy
from nasviz.search.darts import Alpha, darts_search
from nasviz.search.darts_network import WEIGHT_SHAPE, WeightedDartsSupernet, edge_index
from nasviz.search.groups import DartsGroups, search_groups, top2_cells
from nasviz.search.ista import SparseCode, fista, ista_search, sensing_matrices
from nasviz.search.network import count_saved_bytes
from nasviz.search.random import candidate_cells, random_search, spos_rs_search
from nasviz.spaces import get_space
from nasviz.spaces.darts import CELL_TYPES, EDGES, NODES, OPS, DartsArch

torch.set_num_threads(1)
G = DartsGroups()
SIZE = dict(C=4, layers=3, num_classes=10, in_channels=1)


def test_groups_are_the_nodes_of_both_cells():
    assert G.group_names == (
        'normal.n2',
        'normal.n3',
        'normal.n4',
        'normal.n5',
        'reduce.n2',
        'reduce.n3',
        'reduce.n4',
        'reduce.n5',
    )
    assert G.group_sizes == (14, 21, 28, 35, 14, 21, 28, 35)
    # a node's code laid out as (input, op) lands on that node's candidate edges
    z = torch.zeros(8, 35, dtype=torch.float64)
    z[3, 4 * 7 + OPS.index('dil_conv_5x5')] = 2.0  # normal node 5, input 4
    z[4, 1 * 7 + OPS.index('skip_connect')] = 3.0  # reduce node 2, input 1
    w = G.expand(z)
    assert tuple(w.shape) == WEIGHT_SHAPE and int((w != 0).sum()) == 2
    assert w[0, edge_index(4, 5), OPS.index('dil_conv_5x5')] == 2.0
    assert w[1, edge_index(1, 2), OPS.index('skip_connect')] == 3.0
    assert len(G.weight_labels()) == w.numel() and G.weight_labels()[0] == ('normal.0->2', OPS[0])


def test_support_is_a_valid_genotype_with_two_inputs_per_node():
    rng = torch.Generator().manual_seed(0)
    for trial in range(20):
        z = torch.relu(torch.randn(8, 35, generator=rng, dtype=torch.float64))
        z[:, 30:] *= trial % 2  # some codes shorter than the padding
        if trial == 3:
            z[2] = 0  # an empty node code still yields 2 distinct inputs
        arch = G.support(G.expand(z))
        assert isinstance(arch, DartsArch) and get_space('darts').is_valid(arch)
        w = G.expand(z).abs()
        for t, cell in enumerate(CELL_TYPES):
            pairs = arch.cell(cell)
            for k, node in enumerate(NODES):
                (op_a, a), (op_b, b) = pairs[2 * k], pairs[2 * k + 1]
                assert a != b and 0 <= a < node and 0 <= b < node
                rows = w[t, [edge_index(j, node) for j in range(node)]]
                strength = rows.max(1).values
                # the 2 kept inputs are the strongest; each takes its strongest op
                others = [j for j in range(node) if j not in (a, b)]
                if others:
                    assert strength[[a, b]].min() >= strength[others].max()
                for op, j in ((op_a, a), (op_b, b)):
                    assert rows[j, OPS.index(op)] == rows[j].max()
    # a planted code: the support reads it exactly
    want = DartsArch.from_str(
        "normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 0), ('dil_conv_3x3', 2), "
        "('sep_conv_5x5', 1), ('avg_pool_3x3', 3), ('dil_conv_5x5', 2), ('sep_conv_3x3', 4)];"
        "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 0), ('sep_conv_5x5', 2), "
        "('sep_conv_3x3', 0), ('dil_conv_3x3', 3), ('skip_connect', 1), ('avg_pool_3x3', 4)]"
    )
    w = torch.full(WEIGHT_SHAPE, 0.01)
    for t, cell in enumerate(CELL_TYPES):
        for inp, node, op in want.edges(cell):
            w[t, edge_index(inp, node), OPS.index(op)] = 1.0 + 0.1 * inp
    assert top2_cells(w) == want
    with pytest.raises(ValueError, match='weights must have shape'):
        top2_cells(torch.zeros(6, 5))


def test_padded_groups_keep_their_padding_at_zero():
    A = sensing_matrices(8, 8, 35, seed=3, sizes=G.group_sizes)
    for g, n in enumerate(G.group_sizes):
        assert torch.all(A[g, :, n:] == 0) and torch.allclose(A[g, :, :n].norm(dim=0), torch.ones(n, dtype=A.dtype))
    b = torch.randn(8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = fista(A, b, lam=0.05, n_iter=500, nonneg=True)
    for g, n in enumerate(G.group_sizes):
        assert torch.all(z[g, n:] == 0)
    with pytest.raises(ValueError, match='sizes'):
        sensing_matrices(2, 3, 5, sizes=(5, 6))


def _standalone_with_weights(model: WeightedDartsSupernet, arch: DartsArch):
    net = get_space('darts').build_network(arch, **SIZE)
    own = model.state_dict()
    missing = [k for k in net.state_dict() if k not in own]
    assert not missing
    net.load_state_dict({k: own[k] for k in net.state_dict()})
    return net


@pytest.mark.parametrize('train_mode', [True, False])
def test_sparse_forward_equals_standalone_network(train_mode):
    torch.manual_seed(0)
    model = WeightedDartsSupernet(**SIZE)
    code = SparseCode(G.n_groups, m=8, lam=0.1, seed=4, sizes=G.group_sizes, expand=G.expand)
    w = code()
    arch = G.support(w.detach())
    x = torch.randn(8, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    model.train(train_mode)
    # unit weights on the support: exactly the standalone network of that genotype, same weights
    net = _standalone_with_weights(model, arch)
    net.train(train_mode)
    ones = torch.ones(WEIGHT_SHAPE)
    assert torch.allclose(model.forward_weighted(x, ones, 'sparse', support=arch), net(x), atol=1e-5)
    # z on the support: the standalone network with each pair's op output scaled by its z value
    net = _standalone_with_weights(model, arch)
    net.train(train_mode)
    for kind, cell in zip(net.cell_types, net.cells):
        t = CELL_TYPES.index(kind)
        for inp, node, op in arch.edges(kind):
            zval = float(w[t, edge_index(inp, node), OPS.index(op)].detach())
            cell.edges[f'e{inp}_{node}'][op].register_forward_hook(lambda mod, i, out, zval=zval: out * zval)
    got = model.forward_weighted(x, w, 'sparse', support=arch)
    assert torch.allclose(got, net(x), atol=1e-5)
    if train_mode:  # the gradient reaches b through the LASSO Jacobian
        got.sum().backward()
        assert code.b.grad is not None and code.b.grad.abs().sum() > 0


def test_mixture_forward_and_darts_derivation():
    torch.manual_seed(0)
    model = WeightedDartsSupernet(**SIZE)
    arch = get_space('darts').sample(1, rng=3)[0].canonical()
    onehot = torch.zeros(WEIGHT_SHAPE)
    for t, cell in enumerate(CELL_TYPES):
        for inp, node, op in arch.edges(cell):
            onehot[t, edge_index(inp, node), OPS.index(op)] = 1.0
    x = torch.randn(4, 1, 8, 8)
    # weight 1 on the genotype's pairs, 0 on the other 90 (edge, op) terms of each cell: its path
    assert torch.allclose(model.forward_weighted(x, onehot, 'mixture'), model(x, arch), atol=1e-5)
    assert G.derive(onehot) == arch
    # DARTS' alpha covers all 14 edges x 7 ops of both cells; the mixture keeps far more for backward
    alpha = Alpha(0, G.alpha_shape)
    assert tuple(alpha().shape) == WEIGHT_SHAPE and torch.allclose(alpha().sum(-1), torch.ones(2, 14))
    _, dense = count_saved_bytes(lambda: model.forward_weighted(x, alpha(), 'mixture'))
    _, sparse = count_saved_bytes(lambda: model.forward_weighted(x, onehot, 'sparse', support=arch))
    assert sparse < dense / 3
    with pytest.raises(ValueError, match='support'):
        model.forward_weighted(x, onehot, 'sparse')
    with pytest.raises(ValueError, match='weights must have shape'):
        model.forward_weighted(x, torch.ones(6, 5), 'mixture')


def toy_data(n=96, seed=0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.5 + y.view(-1, 1, 1, 1).float() / 5
    return ImageData('toy', x, y, x[:32].clone(), y[:32].clone(), 10, data_id=f'toy{seed}')


def darts_cfg(method, **kw):
    return SearchConfig(
        method=method,
        space='darts',
        C=4,
        N=1,
        epochs=1,
        batch_size=24,
        n_candidates=2,
        recal_batches=1,
        m=8,
        fista_iters=100,
        **kw,
    )


def test_seeded_darts_space_ista_search_is_deterministic():
    view = split_for_search(toy_data())
    r1 = ista_search(darts_cfg('ista'), view, progress=False)
    r2 = ista_search(darts_cfg('ista'), view, progress=False)
    assert isinstance(r1.arch, DartsArch) and r1.arch == r2.arch
    assert r1.history['weights'].tolist() == r2.history['weights'].tolist()
    assert np.asarray(r1.history['weights'].iloc[0]).shape == WEIGHT_SHAPE
    assert 0 <= r1.history['block_gap'].iloc[0] < 1 and r1.history['recovery_error'].iloc[0] >= 0
    assert r1.step['saved_mib'] > 0
    wf = r1.weights_frame()
    assert len(wf) == 2 * 14 * 7 and set(wf['op']) == set(OPS)
    d = r1.to_dict()
    json.dumps(d)
    assert d['space'] == 'darts' and DartsArch.from_str(d['arch']) == r1.arch
    assert np.asarray(d['final_weights']).shape == WEIGHT_SHAPE
    # the support per epoch names entries of the weights frame: 2 per node, 8 per cell, 16 in all
    labels = r1.support_labels()
    entries = set(zip(wf['edge'], wf['op']))
    assert len(labels) == 1 and len(labels[0]) == 16 and set(labels[0]) <= entries
    from nasviz.viz import search_figures as sf

    heat = sf.plot_code_heatmap(wf, support=labels)
    assert heat.data[0].z.shape == (2 * 14 * 7, 1) and len(heat.data[1].x) == 16


def test_darts_space_baselines_run():
    view = split_for_search(toy_data())
    d = darts_search(darts_cfg('darts'), view, progress=False)
    assert isinstance(d.arch, DartsArch) and d.arch == G.derive(torch.tensor(d.history['weights'].iloc[-1]))
    cands = candidate_cells(2, seed=0, space='darts')
    assert all(isinstance(a, DartsArch) for a in cands) and cands == candidate_cells(2, seed=0, space='darts')
    s = spos_rs_search(darts_cfg('spos-rs'), view, cands, progress=False)
    r = random_search(darts_cfg('random'), view, cands, progress=False)
    assert s.arch in cands and r.arch in cands and len(s.candidates) == len(r.candidates) == 2


RECIPE = dict(
    dataset='digits',
    data=dict(n_train=60, size=8, test_views=1, random_state=0),
    C=4,
    N=1,
    epochs=1,
    batch_size=32,
    lr=0.05,
    weight_decay=5e-4,
    space='darts',
    size=dict(C=4, layers=3),
)


def darts_bench(n=4) -> MicroBench:
    cells = get_space('darts').sample_distinct(n, rng=0)
    df = pd.DataFrame(dict(arch_str=[str(a) for a in cells], params=range(n), acc_seed0=np.linspace(50, 60, n)))
    return MicroBench.from_frame(df, RECIPE)


def test_true_accuracy_of_a_darts_cell(tmp_path, monkeypatch):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    bench = darts_bench()
    assert true_accuracy(bench.archs()[1], bench)[2] == 'benchmark'
    off = get_space('darts').sample(1, rng=99)[0]
    acc, name, src = true_accuracy(off, bench)
    assert 0 <= acc <= 100 and 'trained standalone' in src
    # a table that does not hold the cell: an error naming the reason, never a made-up number
    from nasviz.bench.darts import DartsTable

    class Table:
        space = 'darts'

        def accuracy(self, arch):
            raise KeyError('not in the table')

        def archs(self):
            return bench.archs()

    with pytest.raises(NoGroundTruth, match='no ground truth'):
        true_accuracy(off, Table())
    assert issubclass(NoGroundTruth, ValueError) and DartsTable.space == 'darts'


def test_cli_darts_space_writes_the_contract_json(tmp_path, monkeypatch):
    """``nasviz search --space darts --profile tiny`` end to end on a tiny micro benchmark of the
    space (the profile's network at C=8, 3 cells; one search step; the found cell trained with the
    benchmark's recipe)."""
    from nasviz.cli import main

    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    # the tiny profile reads its data recipe from the NB201 micro benchmark and the space's bench beside it
    nb201 = MicroBench.from_frame(
        pd.DataFrame(dict(arch_str=[str(a) for a in candidate_cells(2, 0)], params=[1, 2], acc_seed0=[50.0, 60.0])),
        {k: v for k, v in RECIPE.items() if k not in ('space', 'size')},
    )
    nb201.save(tmp_path / 'microbench_digits.csv')
    darts_bench().save(tmp_path / 'microbench_darts.csv')
    monkeypatch.setenv('NASVIZ_MICROBENCH', str(tmp_path / 'microbench_digits.csv'))
    out = tmp_path / 'found.json'
    assert (
        main(
            [
                'search',
                '--method',
                'ista',
                '--space',
                'darts',
                '--profile',
                'tiny',
                '--seed',
                '1',
                '--epochs',
                '1',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(out.read_text())
    assert {
        'arch',
        'true_accuracy',
        'ground_truth',
        'truth_source',
        'search_seconds',
        'support_history',
        'recovery_error',
        'block_gap',
        'config',
    } <= set(d)
    assert d['space'] == 'darts' and d['config']['m'] == 8 and d['config']['C'] == get_space('darts').sizes['tiny']['C']
    assert d['seed'] == 1
    assert get_space('darts').is_valid(DartsArch.from_str(d['arch'])) and 0 <= d['true_accuracy'] <= 100
    assert 'micro benchmark' in d['ground_truth']
    # a bad space value is a usage error
    with pytest.raises(SystemExit):
        main(['search', '--method', 'ista', '--space', 'nb301', '--out', str(tmp_path / 'x.json')])


def test_small_profile_without_truth_exits_2(tmp_path, monkeypatch, capsys):
    from nasviz import search as search_mod
    from nasviz.cli import main

    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))

    def no_truth(method, **kw):
        raise NoGroundTruth('no ground truth for the found cell: the NAS-Bench-301 table holds 725 genotypes')

    monkeypatch.setattr(search_mod, 'run_search', no_truth)
    out = tmp_path / 'found.json'
    assert main(['search', '--method', 'ista', '--space', 'darts', '--profile', 'small', '--out', str(out)]) == 2
    assert 'no ground truth' in capsys.readouterr().err and not out.exists()


def test_space_settings():
    from nasviz.search import search_config

    assert search_config('ista', space='darts').m == 8 and search_config('ista', space='darts', m=5).m == 5
    assert search_config('ista').m == 3 and search_config('ista').space == 'nb201'
    assert search_groups('nb201').alpha_shape == (6, 5)
    with pytest.raises(ValueError, match='space'):
        search_groups('nb101')
    with pytest.raises(ValueError, match='space'):
        run_search('ista', space='nb101')
    assert len(EDGES) == 14


def test_step_costs_on_the_darts_space():
    from nasviz.search.cost import step_costs

    costs = step_costs(steps=1, warmup=0, kinds=('ista', 'darts'), space='darts').set_index('kind')
    assert (costs['space'] == 'darts').all() and (costs['C'] == get_space('darts').sizes['tiny']['C']).all()
    # ISTA-NAS's sparse node pairs keep less for backward than the 14-edge x 7-op mixture (measured)
    assert 0 < costs.loc['ista', 'memory_vs_darts'] < 1
    assert get_space('darts').is_valid(DartsArch.from_str(costs.loc['ista', 'support']))
