"""Training-free proxies: known answers on hand-built networks, the sweep's cache and resume."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nasviz.cli import main
from nasviz.proxies import PROXIES, PROXY_NAMES, ProxySweep, SweepConfig, compute_proxies
from nasviz.proxies.activations import hamming_kernel, naswot, naswot_from_codes
from nasviz.proxies.counts import flops, params
from nasviz.proxies.saliency import synflow
from nasviz.proxies.sweep import get_space

torch.set_num_threads(1)

DEGENERATE = '|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|'
TINY = dict(C=4, N=1, in_channels=1)  # small NB201 networks on the embedded 16x16 digits
ARCHS = [
    '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
    '|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|',
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|',
    DEGENERATE,
    '|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|',
    '|none~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
]


def _small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )


def test_params_and_flops_of_a_hand_built_network():
    net = _small_net()
    # conv 3*4*3*3 = 108, BN 2*4 = 8, linear 4*2 + 2 = 10
    assert params(net) == 126
    x = torch.randn(5, 3, 8, 8)
    # conv: 2 FLOPs x (4 out channels x 8 x 8 positions) x (3 x 3 x 3) = 13,824; linear: 2 x 4 x 2 = 16
    assert flops(net, x) == 13_824 + 16
    assert net.training  # the mode is restored


def test_naswot_kernel_on_hand_made_codes():
    c = [torch.tensor([[1, 0, 1], [1, 1, 0]], dtype=torch.bool)]
    K = hamming_kernel(c)
    np.testing.assert_array_equal(K, [[3, 1], [1, 3]])  # agreements: N_A - Hamming distance
    assert naswot_from_codes(c) == pytest.approx(math.log(8))
    # two layers add up; identical codes make K singular
    assert hamming_kernel(c + c)[0, 1] == 2
    assert naswot_from_codes([torch.tensor([[1, 0], [1, 0]], dtype=torch.bool)]) == -math.inf


def test_naswot_kernel_counts_repeated_codes_exactly():
    """Codes computed once and repeated (a node feeding several ReLU consumers) give the same kernel
    as the plain sum over layers; codes that agree on the fingerprint's sample of units but differ
    elsewhere are not merged."""
    g = torch.Generator().manual_seed(0)
    a = torch.rand(6, 200, generator=g) > 0.5
    b = a.clone()
    b[:, 1] = ~b[:, 1]  # differs from a only off the sampled units (every 61st: 0, 61, 122, 183)
    c = torch.rand(6, 50, generator=g) > 0.5
    codes = [a, c, a.clone(), b, a, c.clone()]

    def plain(codes):
        n = sum(x.shape[1] for x in codes)
        agree = sum((x[:, None, :] == x[None, :, :]).sum(-1) for x in codes)
        assert agree.max() <= n
        return agree.numpy().astype(float)

    np.testing.assert_array_equal(hamming_kernel(codes), plain(codes))
    np.testing.assert_array_equal(hamming_kernel([b, a]), plain([a, b]))


def test_naswot_on_a_hand_made_batch():
    lin = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    net = nn.Sequential(lin, nn.ReLU())
    x = torch.tensor([[1.0, -2.0], [1.0, 2.0], [-1.0, -1.0]])
    # codes of (x W^T > 0): [1,0,0], [1,1,1], [0,0,0]  ->  K = 3 - Hamming
    K = np.array([[3, 1, 2], [1, 3, 0], [2, 0, 3]], dtype=float)
    assert naswot(net, x) == pytest.approx(np.linalg.slogdet(K)[1])

    class Functional(nn.Module):  # ReLU as a function (as NAS-Bench-101's network writes it)
        def forward(self, t):
            return torch.nn.functional.relu(lin(t))

    assert naswot(Functional(), x) == pytest.approx(np.linalg.slogdet(K)[1])


def test_synflow_known_value_and_invariant_to_the_input_data():
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-3.0, 2.0]]))
    # |w| . 1 = 5; d/dw = 1 per weight, so sum |w * grad| = 5
    assert synflow(nn.Sequential(lin), torch.randn(4, 2)) == pytest.approx(math.log(5.0))
    net = _small_net()
    a, b = synflow(net, torch.randn(8, 3, 8, 8)), synflow(net, 100 * torch.rand(3, 3, 8, 8))
    assert a == b and math.isfinite(a)
    assert (net[0].weight < 0).any()  # the network itself was not changed (a copy is made)


def test_every_proxy_on_a_small_nb201_network_restores_its_state():
    space = get_space('nb201')
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(128, 1, 16, 16, generator=g), torch.randint(0, 10, (128,), generator=g)
    torch.manual_seed(0)
    net = space.build_network(space.from_str(ARCHS[0]), **TINY)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    vals = compute_proxies(net, x, y, PROXY_NAMES)
    assert list(vals) == list(PROXY_NAMES) == list(PROXIES)
    assert all(math.isfinite(v) for v in vals.values()), vals
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    # shared forward (naswot + jacob_cov) gives what each alone gives
    alone = compute_proxies(net, x, y, ['naswot'])['naswot']
    assert alone == pytest.approx(vals['naswot'], rel=1e-9)
    assert PROXIES['ntk_cond'].sign == -1 and vals['ntk_cond'] <= 0


def test_bad_proxy_names_and_batches_are_refused():
    with pytest.raises(ValueError, match='unknown proxy'):
        compute_proxies(_small_net(), torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.long), ['nope'])
    with pytest.raises(ValueError, match='more than once'):
        compute_proxies(_small_net(), torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.long), ['params', 'params'])
    with pytest.raises(ValueError, match='need 128'):
        compute_proxies(_small_net(), torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.long), ['naswot'])


def _sweep(tmp, **kw):
    cfg = SweepConfig(data='digits', size=tuple(TINY.items()), chunk_size=2)
    return ProxySweep(['params', 'synflow', 'naswot'], cfg, cache=tmp, progress=False, **kw)


def test_resumed_sweep_equals_uninterrupted(tmp_path):
    full = _sweep(tmp_path / 'a').run(ARCHS)
    assert list(full.columns) == ['arch_str', 'params', 'synflow', 'naswot']
    deg = full.set_index('arch_str').loc[DEGENERATE]
    # input-reading proxies are not computed for a degenerate cell; synflow is, and no signal reaches the
    # output (every path is cut), so its score is log(0)
    assert np.isnan(deg['naswot']) and deg['synflow'] == -np.inf and deg['params'] > 0

    class Killed(Exception):
        pass

    def kill(_n):
        raise Killed

    with pytest.raises(Killed):
        _sweep(tmp_path / 'b', on_chunk=kill).run(ARCHS)
    resumed = _sweep(tmp_path / 'b')
    table = resumed.run(ARCHS)
    assert resumed.computed_ == (len(ARCHS) - 2) * 3  # the first chunk (2 cells x 3 proxies) was kept
    pd.testing.assert_frame_equal(table, full)
    again = _sweep(tmp_path / 'b')
    again.run(ARCHS[::-1])
    assert again.computed_ == 0
    # a damaged chunk is set aside and recomputed
    chunk = sorted((tmp_path / 'b' / 'proxies').glob('*naswot*/chunk-*.csv'))[0]
    chunk.write_text('garbage')
    with pytest.warns(RuntimeWarning, match='moved aside'):
        fixed = _sweep(tmp_path / 'b')
        pd.testing.assert_frame_equal(fixed.run(ARCHS), full)
    assert fixed.computed_ == 2


def test_per_class_sweep_computes_one_member_per_function_class(tmp_path):
    """Two cells that differ only on a dead edge are one function class: with ``per_class`` the
    input-reading proxy is computed on the smaller string (b) only and given to both, the data-free ones
    stay per cell, and the representative's value is its own per-cell value."""
    a = '|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|'
    b = '|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|'  # node 1 is dead in both
    space = get_space('nb201')
    assert space.canonical(space.from_str(a)) == space.canonical(space.from_str(b))
    cells = [a, b, ARCHS[0], DEGENERATE]
    per_cell = _sweep(tmp_path / 'a').run(cells).set_index('arch_str')
    sweep = _sweep(tmp_path / 'b', per_class=True)
    t = sweep.run(cells).set_index('arch_str')
    # params, synflow on every cell; naswot on b, ARCHS[0] and (NaN, not run) the degenerate cell, not on a
    assert sweep.computed_ == 4 * 2 + 3
    assert b < a and t.loc[a, 'computed_on'] == t.loc[b, 'computed_on'] == b  # the smaller string
    assert t.loc[ARCHS[0], 'computed_on'] == ARCHS[0]
    assert t.loc[a, 'naswot'] == t.loc[b, 'naswot'] == per_cell.loc[b, 'naswot']
    assert t.loc[a, 'naswot'] != per_cell.loc[a, 'naswot']  # a's own value: a different initialisation
    pd.testing.assert_series_equal(t['params'], per_cell['params'])
    pd.testing.assert_series_equal(t['synflow'], per_cell['synflow'])
    assert np.isnan(t.loc[DEGENERATE, 'naswot'])
    # the order of the request does not change the representatives
    again = _sweep(tmp_path / 'b', per_class=True).run(cells[::-1]).set_index('arch_str')
    assert again.loc[a, 'computed_on'] == b


def test_workers_give_the_same_table(tmp_path):
    one = _sweep(tmp_path / 'a').run(ARCHS[:4])
    two = _sweep(tmp_path / 'b', workers=2).run(ARCHS[:4])
    pd.testing.assert_frame_equal(one, two)


def test_cli_proxies(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('NASVIZ_CACHE', str(tmp_path / 'cache'))
    f = tmp_path / 'archs.txt'
    f.write_text('# cells\n' + '\n'.join(ARCHS[:3]) + '\n')
    out = tmp_path / 't.csv'
    assert (
        main(
            [
                'proxies',
                '--space',
                'nb201',
                '--proxy',
                'params',
                'flops',
                '--data',
                'digits',
                '--archs',
                str(f),
                '--out',
                str(out),
            ]
        )
        == 0
    )
    t = pd.read_csv(out)
    assert list(t.columns) == ['arch_str', 'params', 'flops'] and len(t) == 3
    assert (t['params'] > 0).all()
    cls = ['proxies', '--proxy', 'params', 'naswot', '--data', 'digits', '--archs', str(f), '--per-class']
    assert main(cls + ['--out', str(out)]) == 0
    t = pd.read_csv(out)
    assert (
        list(t.columns) == ['arch_str', 'params', 'naswot', 'computed_on'] and (t['computed_on'] == t['arch_str']).all()
    )
    f.write_text(ARCHS[0] + '\n|bogus~0|\n')
    assert main(['proxies', '--proxy', 'params', '--data', 'digits', '--archs', str(f), '--out', str(out)]) == 2
    assert 'line 2' in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(['proxies', '--proxy', 'nope', '--out', str(out)])
    assert e.value.code == 2


def test_an_edited_chunk_with_a_wrong_but_well_formed_value_is_recomputed(tmp_path):
    full = _sweep(tmp_path).run(ARCHS[:4])
    chunk = sorted((tmp_path / 'proxies').glob('*params*/chunk-*.csv'))[0]
    lines = chunk.read_text().splitlines()
    assert lines[0].startswith('# sha256=') and lines[1] == 'arch_str,value'
    arch, value = lines[2].rsplit(',', 1)
    lines[2] = f'{arch},{float(value) + 1:.1f}'  # still a number, still parses: only the checksum tells
    chunk.write_text('\n'.join(lines) + '\n')
    again = _sweep(tmp_path)
    with pytest.warns(RuntimeWarning, match='checksum mismatch'):
        table = again.run(ARCHS[:4])
    pd.testing.assert_frame_equal(table, full)
    assert again.computed_ == 2  # the edited chunk's two cells, nothing else


def test_shared_passes_give_the_values_computed_apart():
    space = get_space('nb201')
    x, y = torch.randn(8, 1, 16, 16, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 10
    sizes = dict(snip=8, grad_norm=8, naswot=8, jacob_cov=8)
    for s in ARCHS[:2]:
        torch.manual_seed(0)
        net = space.build_network(space.from_str(s), **TINY)
        together = compute_proxies(net, x, y, list(sizes), sizes)
        apart = {p: compute_proxies(net, x, y, [p], sizes)[p] for p in sizes}
        assert together == apart  # bit for bit


def test_naswot_and_jacob_cov_equal_the_pass_with_weight_gradients():
    """The shared pass freezes the weights (input gradient only) and builds the kernel from int8
    products; both must give, bit for bit, what the plain pass with weight gradients and float32
    products gives, and the weights must be trainable again afterwards."""
    from nasviz.proxies._common import relu_codes
    from nasviz.proxies.activations import agreement_counts, jacob_cov_from_jacobian, naswot_and_jacob_cov

    space = get_space('nb201')
    x = torch.randn(16, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    for s in ARCHS[:2]:
        torch.manual_seed(0)
        net = space.build_network(space.from_str(s), **TINY).train()
        xg = x.clone().requires_grad_(True)
        with relu_codes(net) as codes:
            out = net(xg)
        out.backward(torch.ones_like(out))
        assert any(p.grad is not None for p in net.parameters())  # the reference pass did compute them
        for c in codes:
            f = c.to(torch.float32)
            assert torch.equal(agreement_counts(c).to(torch.float32), f @ f.T)
        reference = (naswot_from_codes(codes), jacob_cov_from_jacobian(xg.grad))
        torch.manual_seed(0)
        fresh = space.build_network(space.from_str(s), **TINY).train()
        assert naswot_and_jacob_cov(fresh, x) == reference
        assert all(p.requires_grad and p.grad is None for p in fresh.parameters())


#: the proxies the shipped NB201 table holds for every cell
SHIPPED_PROXIES = ('params', 'flops', 'synflow', 'snip', 'grad_norm', 'jacob_cov', 'naswot')


def _shipped():
    from nasviz.reduce.run import SHIPPED_TABLE, read_proxy_table

    return read_proxy_table(SHIPPED_TABLE, SHIPPED_PROXIES), SHIPPED_TABLE.read_text().splitlines()[0]


def test_shipped_table_says_why_every_value_is_missing():
    t, head = _shipped()
    space = get_space('nb201')
    assert t['arch_str'].is_unique and len(t) <= 15625
    for p in SHIPPED_PROXIES:
        assert f"'{p}': {int(t[p].notna().sum())}" in head  # the header's coverage is the file's
    for s, why, row in zip(t['arch_str'], t['undefined'], t[list(SHIPPED_PROXIES)].itertuples(index=False)):
        bad = [p for p, v in zip(SHIPPED_PROXIES, row) if not np.isfinite(v)]
        assert all(p in why for p in bad), (s, bad, why)  # a NaN or -inf always comes with its reason
        if 'degenerate' in why:
            assert space.is_degenerate(space.from_str(s))
    assert t[['params', 'flops', 'synflow']].notna().all().all()  # data-free: defined on every cell


def test_shipped_table_covers_every_nb201_cell():
    t, _ = _shipped()
    space = get_space('nb201')
    assert set(t['arch_str']) == {space.to_str(a) for a in space.enumerate()}
    for p in SHIPPED_PROXIES:
        undefined = t[p].isna()
        assert (t.loc[undefined, 'undefined'].str.contains('degenerate')).all(), p  # NaN only where undefined
