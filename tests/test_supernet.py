import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from nasviz.data import iterate_batches, load_digits, random_crop_flip
from nasviz.spaces.nb201 import Arch, OpMask, sample_archs
from nasviz.spaces.nb201_network import NB201Supernet, count_parameters, standalone
from nasviz.supernet.evaluate import evaluate_archs, preserved_bn_stats
from nasviz.supernet.train import TrainConfig, train_supernet

TRAIN_KW = dict(n_train=200, test_views=1)


@pytest.fixture(scope='module')
def digits():
    return load_digits(**TRAIN_KW)


def test_skeleton_and_features():
    m = NB201Supernet(C=4, N=2, num_classes=10, in_channels=1)
    assert m.num_blocks == 3 * 2 + 2
    assert m.block_names == ['s1c0', 's1c1', 'red1', 's2c0', 's2c1', 'red2', 's3c0', 's3c1']
    a = sample_archs(1, rng=0, exclude_degenerate=True)[0]
    x = torch.randn(3, 1, 16, 16)
    logits, feats = m.forward_features(x, a)
    assert logits.shape == (3, 10) and len(feats) == 8
    assert feats[-1].shape == (3, 16, 4, 4)
    assert torch.allclose(m(x, a), logits)


def test_single_path_equals_standalone_with_same_weights():
    torch.manual_seed(0)
    sup = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1, affine=True)
    a = Arch.from_str('|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|')
    net = standalone(a, C=4, N=1, num_classes=10, in_channels=1)
    # the standalone net's parameters are a subset of the supernet's, under the same names
    sd = sup.state_dict()
    net.load_state_dict({k: sd[k] for k in net.state_dict()})
    sup.eval(), net.eval()
    x = torch.randn(5, 1, 16, 16)
    assert torch.allclose(sup(x, a), net(x), atol=1e-6)
    assert count_parameters(sup, a) == count_parameters(net)


def test_degenerate_cell_gives_constant_output():
    m = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1).eval()
    a = Arch.from_ops(['nor_conv_3x3'] * 3 + ['none'] * 3)
    out = m(torch.randn(4, 1, 16, 16), a)
    assert torch.allclose(out, out[0].expand_as(out))


def test_mask_is_enforced():
    mask = OpMask.full().restrict(0, ['nor_conv_3x3'])
    m = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1, mask=mask)
    with pytest.raises(ValueError, match='outside'):
        m(torch.randn(2, 1, 16, 16), Arch.from_ops(['none'] * 6))
    with pytest.raises(ValueError, match='unknown NAS-Bench-201 operation'):
        Arch.from_ops(['conv'] * 6)


def test_batches_and_augmentation_are_seeded():
    x, y = torch.arange(40.0).view(10, 1, 2, 2), torch.arange(10)
    b1 = [yb for _, yb in iterate_batches(x, y, 4, torch.Generator().manual_seed(1))]
    b2 = [yb for _, yb in iterate_batches(x, y, 4, torch.Generator().manual_seed(1))]
    assert all(torch.equal(p, q) for p, q in zip(b1, b2))
    assert sorted(torch.cat(b1).tolist()) == list(range(10))
    img = torch.randn(6, 3, 8, 8)
    a = random_crop_flip(img, torch.Generator().manual_seed(0))
    b = random_crop_flip(img, torch.Generator().manual_seed(0))
    assert a.shape == img.shape and torch.equal(a, b)


def test_training_learns_and_bn_recalibration_restores_stats(digits):
    torch.manual_seed(0)
    m = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
    hist = train_supernet(m, digits, TrainConfig(epochs=3, batch_size=64, lr=0.1), progress=False)
    assert list(hist.columns[:5]) == ['epoch', 'train_loss', 'train_acc', 'lr', 'seconds']
    assert hist.train_loss.iloc[-1] < hist.train_loss.iloc[0]
    before = {k: v.clone() for k, v in m.state_dict().items()}
    archs = sample_archs(6, rng=0, exclude_degenerate=True)
    df = evaluate_archs(m, archs, digits, recal_batches=2, progress=False)
    assert list(df.columns) == ['arch', 'arch_str', 'score', 'accuracy', 'loss'] and len(df) == 6
    assert (df['score'] == df['accuracy']).all()  # the default score is accuracy
    by_loss = evaluate_archs(m, archs, digits, recal_batches=2, progress=False, score='loss')
    assert np.allclose(by_loss['score'], -df['loss'])
    assert df.score.between(0, 100).all() and df.score.nunique() > 1
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # recalibration matters: evaluating with the mixed stored statistics gives other scores
    df0 = evaluate_archs(m, archs, digits, recal_batches=0, progress=False)
    assert not np.allclose(df0.score, df.score)
    # BN handling: 'running' is the stored statistics (= no recalibration); 'batch' normalises with
    # each evaluation batch, computed here by hand; neither leaves a trace in the model
    run = evaluate_archs(m, archs, digits, progress=False, bn='running')
    assert np.allclose(run['loss'], df0['loss'])
    bat = evaluate_archs(m, archs, digits, progress=False, bn='batch')
    with torch.no_grad(), preserved_bn_stats(m):
        m.train()
        ce = sum(
            torch.nn.functional.cross_entropy(
                m(digits.x_test[s : s + 512], archs[0]), digits.y_test[s : s + 512], reduction='sum'
            ).item()
            for s in range(0, len(digits.y_test), 512)
        )
    assert bat['loss'].iloc[0] == pytest.approx(ce / len(digits.y_test), rel=1e-5)
    assert not np.allclose(bat['loss'], df['loss']) and not np.allclose(bat['loss'], run['loss'])
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match='bn must be one of'):
        evaluate_archs(m, archs, digits, progress=False, bn='frozen')


def test_checkpoint_mismatch_is_refused(tmp_path, digits):
    m = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
    train_supernet(m, digits, TrainConfig(epochs=1), checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match='another config'):
        train_supernet(m, digits, TrainConfig(epochs=1, lr=0.3), checkpoint_dir=tmp_path, progress=False)


# training runs in fresh processes with one thread, so the reference, the killed run and the
# resumed run all compute under the same conditions
WORKER = r"""
import sys, torch
torch.set_num_threads(1)
from nasviz.data import load_digits
from nasviz.spaces.nb201_network import NB201Supernet
from nasviz.supernet.train import TrainConfig, train_supernet
data = load_digits(n_train=200, test_views=1)
torch.manual_seed(int(sys.argv[3]))
m = NB201Supernet(C=4, N=1, num_classes=10, in_channels=1)
marker = sys.argv[4] if len(sys.argv) > 4 else None
state = {'epochs_done': 0, 'steps': 0}
def after_epoch(epoch, model):
    state['epochs_done'] = epoch + 1
def pause_mid_epoch(module, inputs):
    # with a marker: three steps into the third epoch (two checkpoints on disk), say so and wait to be killed
    if marker and state['epochs_done'] == 2 and module.training:
        state['steps'] += 1
        if state['steps'] == 3:
            open(marker, 'w').close()
            import time
            time.sleep(600)
m.register_forward_pre_hook(pause_mid_epoch)
train_supernet(m, data, TrainConfig(epochs=int(sys.argv[2]), batch_size=32), checkpoint_dir=sys.argv[1],
               progress=False, callback=after_epoch)
"""


def _train(ckdir, epochs, init_seed=0, marker=None):
    args = [sys.executable, '-c', WORKER, str(ckdir), str(epochs), str(init_seed)] + ([str(marker)] if marker else [])
    return subprocess.Popen(args)


@pytest.mark.slow
def test_killed_training_resumes_to_identical_weights(tmp_path):
    epochs = 6
    assert _train(tmp_path / 'ref', epochs).wait() == 0
    ckdir = tmp_path / 'run'
    marker = tmp_path / 'mid_epoch'
    proc = _train(ckdir, epochs, marker=marker)
    # the worker announces that it is inside its third epoch (after two checkpoints) and waits there:
    # the kill lands mid-epoch on every machine, however loaded
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert proc.poll() is None, 'worker ended before it reached its third epoch'
        assert time.monotonic() < deadline, 'worker never reached its third epoch'
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # a real kill, in the middle of an epoch
    proc.wait()
    killed_at = torch.load(ckdir / 'checkpoint.pt', weights_only=False)['epoch']
    assert killed_at == 1, killed_at
    # resume from whatever the killed run left; another init seed proves nothing comes from init
    assert _train(ckdir, epochs, init_seed=123).wait() == 0
    ref = torch.load(tmp_path / 'ref' / 'checkpoint.pt', weights_only=False)
    res = torch.load(ckdir / 'checkpoint.pt', weights_only=False)
    assert res['epoch'] == epochs - 1 and len(res['history']) == epochs
    for k, v in ref['model'].items():
        assert torch.equal(v, res['model'][k]), k
    assert [h['train_loss'] for h in res['history']] == [h['train_loss'] for h in ref['history']]
