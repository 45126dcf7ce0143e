"""Run profiles: one frozen, checked :class:`~nasviz.profiles.Profile` per scale, and the cache
keys built from its settings (a changed key retrains every cached supernet, so they are pinned)."""

from __future__ import annotations

import dataclasses
import types

import pytest

import nasviz
from nasviz.cache import param_hash
from nasviz.experiment import network_size, partition_config, settings_for, train_config
from nasviz.profiles import PROFILES, SETTINGS, Profile, profile_settings
from nasviz.search.run import search_config

#: the settings' fields in order: the keys (and key order) of the settings a run is keyed by
ORDER = [
    'dataset',
    'data',
    'C',
    'N',
    'bench',
    'epochs',
    'batch_size',
    'lr',
    'n_eval',
    'recal_batches',
    'eval_samples',
    'score',
    'track_every',
    'feature_repeats',
    'feature_batch',
    'n_neighbors',
    'warmup_fraction',
    'device',
    'space',
    'size',
    'profile',
]

#: param_hash (at version 'golden') of, per profile and space: the whole settings (without a size),
#: the TrainConfig, the PartitionConfig, the network size, the evaluation settings and the
#: SearchConfig; per profile with a size given: the whole settings and the network size. Recorded
#: from the settings as plain dicts; a changed value here means cached runs are no longer found.
GOLDEN = {
    'tiny/nb201': [
        '043b1da97bc4a2fd',
        'ea26b12919e82bf7',
        'b017bb2853ea4a7e',
        '55d05a76f32e8cb0',
        '4950e30b454c1b8b',
        '2b68c8d16651d155',
    ],
    'tiny/nb101': ['bec87cc599c8d2d2', 'ea26b12919e82bf7', 'dd756d4a23ea2d37', 'c39f3ffcd356cca9', '4950e30b454c1b8b'],
    'tiny/darts': [
        'd13235abe606a6a7',
        'ea26b12919e82bf7',
        '221b9c3a58887ea9',
        '80f88234b7ad1849',
        '4950e30b454c1b8b',
        '027919d01750dbf0',
    ],
    'tiny/size': ['24664df4aa87dd89', '8bb016745ca74af7'],
    'small/nb201': [
        '2082b07605100077',
        'cd5f6858e9f46d39',
        '2c8d94c9ad0bce41',
        '5dbe56ada6af12a2',
        '83f4b69aa0f2bf30',
        '5bbe22ce4ed169f7',
    ],
    'small/nb101': ['70f76e7115d38bf5', 'cd5f6858e9f46d39', 'af6ffe83938c1744', 'c39f3ffcd356cca9', '83f4b69aa0f2bf30'],
    'small/darts': [
        '668ed2c1b852869e',
        'cd5f6858e9f46d39',
        'c595c8c773f705b8',
        '80f88234b7ad1849',
        '83f4b69aa0f2bf30',
        'a8831ce7a8a7cc81',
    ],
    'small/size': ['b944ff0465197ef3', '8bb016745ca74af7'],
    'paper/nb201': [
        '3ec09c160b582763',
        '90d1de720bc78da1',
        '708e5f77fccbf373',
        '23f94b18e4a17c7a',
        '59be12df7290f040',
        'bddee0ee9ec4421f',
    ],
    'paper/nb101': ['92d354395e3bb4a2', '90d1de720bc78da1', '176c0a36968dc047', 'c39f3ffcd356cca9', '59be12df7290f040'],
    'paper/darts': [
        '18c2b2fe7e3137e7',
        '90d1de720bc78da1',
        '7c643aa9142a54f2',
        '80f88234b7ad1849',
        '59be12df7290f040',
        '2ffd3f72f8a53990',
    ],
    'paper/size': ['31f0ba07115da2fe', '8bb016745ca74af7'],
}


def _plain(s: Profile) -> dict:
    return {k: v for k, v in dataclasses.asdict(s).items() if not (k == 'size' and v is None)}


@pytest.fixture
def golden_version(monkeypatch):
    monkeypatch.setattr(nasviz, '__version__', 'golden')


@pytest.mark.parametrize('profile', ['tiny', 'small', 'paper'])
def test_cache_keys_from_settings_are_unchanged(profile, golden_version):
    data = types.SimpleNamespace(num_classes=10, in_channels=3, data_id='d')
    for space in ('nb201', 'nb101', 'darts'):
        s = settings_for(profile, space=space, device='cpu')
        assert list(dataclasses.asdict(s)) == ORDER
        row = [
            param_hash(_plain(s)),
            param_hash(train_config(s, 0)),
            param_hash(partition_config(s, 'spos', n_splits=1)),
            param_hash(network_size(s, data)),
            param_hash(s.recal_batches, s.eval_samples, s.score, s.dataset, s.data, s.bench, s.n_eval),
        ]
        if space != 'nb101':
            row.append(param_hash(search_config('ista', profile, 0, space=space)))
        assert row == GOLDEN[f'{profile}/{space}'], space
    s = settings_for(profile, device='cpu', size={'C': 4, 'N': 1})
    assert [param_hash(dataclasses.asdict(s)), param_hash(network_size(s, data))] == GOLDEN[f'{profile}/size']


def test_profiles_are_frozen_copies():
    s = profile_settings('small')
    assert isinstance(s, Profile) and s == PROFILES['small'] and s.profile == 'small'
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.epochs = 3  # type: ignore[misc]
    s.data['n_train'] = 5  # the copy's own dict: the profile keeps its value
    assert PROFILES['small'].data['n_train'] == 10000 and profile_settings('small').data['n_train'] == 10000
    assert 'profile' not in SETTINGS and set(SETTINGS) == set(ORDER) - {'profile'}


@pytest.mark.parametrize(
    'change, error, message',
    [
        (dict(epochs=0), ValueError, r"'tiny' setting epochs must be >= 1, got 0"),
        (dict(epochs='10'), TypeError, r'setting epochs must be an integer, got the string'),
        (dict(epochs=2.5), ValueError, r'setting epochs must be an integer'),
        (dict(C=True), TypeError, r'setting C must be an integer, got the boolean'),
        (dict(eval_samples=-1), ValueError, r'setting eval_samples must be >= 1'),
        (dict(recal_batches=-1), ValueError, r'setting recal_batches must be >= 0'),
        (dict(lr=0), ValueError, r'setting lr must be a finite number > 0'),
        (dict(lr='fast'), TypeError, r'setting lr must be a number'),
        (dict(warmup_fraction=1.5), ValueError, r'setting warmup_fraction must be in \[0, 1\]'),
        (dict(dataset='mnist'), ValueError, r"unknown profile 'tiny' setting dataset: 'mnist'; valid: digits, cifar10"),
        (dict(dataset=3), TypeError, r'setting dataset must be a string'),
        (dict(bench='nb999'), ValueError, r"setting bench: 'nb999'; valid: micro, nb201, nb101, darts or the path"),
        (dict(score='top1'), ValueError, r"setting score: 'top1'; valid: accuracy, loss"),
        (dict(device='gpu'), ValueError, r"setting device: 'gpu'; valid: auto, cpu, cuda or cuda:<index>"),
        (dict(data=[1, 2]), TypeError, r'setting data must be a mapping'),
        (dict(size='big'), TypeError, r'setting size must be a mapping'),
    ],
)
def test_a_bad_field_names_itself(change, error, message):
    with pytest.raises(error, match=message):
        dataclasses.replace(PROFILES['tiny'], **change)
    with pytest.raises(error, match=message):
        settings_for('tiny', **change)


def test_good_values_pass_and_are_kept():
    s = dataclasses.replace(
        PROFILES['tiny'], device='cuda:1', bench='/tmp/table.CSV', eval_samples=None, recal_batches=0, epochs=3.0
    )
    assert (s.device, s.bench, s.eval_samples, s.recal_batches) == ('cuda:1', '/tmp/table.CSV', None, 0)
    assert s.epochs == 3 and type(s.epochs) is int


def test_settings_for_overrides_and_unknown_keys():
    s = settings_for('tiny', epochs=3, n_eval=None, space='nb101')
    assert (s.epochs, s.n_eval, s.space, s.device, s.profile) == (3, 120, 'nb101', 'cpu', 'tiny')
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['epoch'\]; known: .*'epochs'"):
        settings_for('tiny', epoch=3)
    with pytest.raises(ValueError, match='unknown profile'):
        settings_for('huge')
    with pytest.raises(ValueError, match='space'):
        settings_for('tiny', space='nb999')
