"""Run sizes: the same code at three scales, chosen by name only.

- ``tiny``: embedded digits, C=8, N=1, CPU minutes; ground truth = the micro benchmark.
- ``small``: a CIFAR-10 subset (offline npz), C=8, N=2; ground truth = the NB201 table.
- ``paper``: full CIFAR-10, C=16, N=5 as in NAS-Bench-201 / NAS-LID; GPU hours.

A profile is a :class:`Profile`, frozen and checked once when it is made (every field's type and
range, the dataset, ground truth, score and device by name): a changed copy is
``dataclasses.replace(profile, epochs=3)`` (checked again) or
:func:`nasviz.experiment.settings_for`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from nasviz.validate import check_choice, check_count, check_fraction, check_positive, short_repr

#: the data sets a run trains on (:func:`nasviz.data.load_dataset`)
DATASETS: tuple[str, ...] = ('digits', 'cifar10')
#: what a subnet's score is (:func:`nasviz.supernet.evaluate.evaluate_archs`): its test accuracy (%),
#: or minus its mean test cross-entropy (less noisy on a finite test set: every sample counts by how
#: confident the subnet is, not 0/1)
SCORES: tuple[str, ...] = ('accuracy', 'loss')
#: ground truths by name (:func:`nasviz.bench.load_benchmark`); a ``.csv`` or ``.pth`` path is one too
BENCHMARKS: tuple[str, ...] = ('micro', 'nb201', 'nb101', 'darts')
#: devices by name; ``cuda:<index>`` names one GPU, ``auto`` a GPU when there is one
DEVICES: tuple[str, ...] = ('auto', 'cpu', 'cuda')


@dataclasses.dataclass(frozen=True, kw_only=True)
class Profile:
    """The settings of a run: data, supernet size, training, evaluation and feature sizes.

    Every field is checked when the profile is made (``TypeError`` for a wrong type,
    ``ValueError`` for a wrong value, each naming the field); ``data`` and ``size`` are copied, so a
    profile never shares them with its caller.
    """

    dataset: str  #: :data:`DATASETS`
    data: Mapping[str, Any]  #: keyword arguments of the dataset's loader (empty: its defaults)
    C: int  #: supernet channels of the first stage
    N: int  #: cells per stage
    bench: str  #: the ground truth: :data:`BENCHMARKS` or a .csv/.pth path
    epochs: int  #: supernet training epochs
    batch_size: int
    lr: float
    n_eval: int  #: cells ranked
    recal_batches: int  #: batches of BN recalibration before scoring a cell (0: none)
    eval_samples: int | None  #: test images a cell is scored on (None: all)
    score: str  #: :data:`SCORES`
    track_every: int  #: epochs between the scorings of the cells during training
    feature_repeats: int  #: sampled paths per operation feature
    feature_batch: int  #: batch size of feature extraction
    n_neighbors: int  #: neighbours of the LID estimate
    warmup_fraction: float  #: share of the epochs the root trains before a split
    device: str  #: :data:`DEVICES` or ``cuda:<index>``
    space: str = 'nb201'  #: the search space's name
    size: Mapping[str, Any] | None = None  #: network size (None: the space's size of the profile)
    profile: str  #: the profile's name (``tiny``, ``small``, ``paper``)

    def __post_init__(self) -> None:
        def name(field: str) -> str:
            return f'profile {self.profile!r} setting {field}' if isinstance(self.profile, str) else field

        for field in ('profile', 'dataset', 'bench', 'score', 'device', 'space'):
            value = getattr(self, field)
            if not isinstance(value, str):
                raise TypeError(f'{name(field)} must be a string, got {type(value).__name__} {short_repr(value)}')
        check_choice(self.dataset, DATASETS, f'{name("dataset")}:')
        check_choice(self.score, SCORES, f'{name("score")}:')
        if self.bench.lower() not in BENCHMARKS and not self.bench.lower().endswith(('.csv', '.pth')):
            raise ValueError(
                f'unknown {name("bench")}: {short_repr(self.bench)}; valid: {", ".join(BENCHMARKS)} '
                'or the path of a .csv table or an official NAS-Bench-201 .pth file'
            )
        if self.device not in DEVICES and not re.fullmatch(r'cuda:\d+', self.device):
            raise ValueError(
                f'unknown {name("device")}: {short_repr(self.device)}; valid: {", ".join(DEVICES)} or cuda:<index>'
            )
        for field in (
            'C',
            'N',
            'epochs',
            'batch_size',
            'n_eval',
            'track_every',
            'feature_repeats',
            'feature_batch',
            'n_neighbors',
        ):
            object.__setattr__(self, field, check_count(getattr(self, field), name(field)))
        object.__setattr__(self, 'recal_batches', check_count(self.recal_batches, name('recal_batches'), minimum=0))
        if self.eval_samples is not None:
            object.__setattr__(self, 'eval_samples', check_count(self.eval_samples, name('eval_samples')))
        check_positive(self.lr, name('lr'))
        check_fraction(self.warmup_fraction, name('warmup_fraction'))
        for field in ('data', 'size'):
            value = getattr(self, field)
            if value is None and field == 'size':
                continue
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise TypeError(
                    f'{name(field)} must be a mapping of argument names to values, got '
                    f'{type(value).__name__} {short_repr(value)}'
                )
            object.__setattr__(self, field, dict(value))


#: the fields a run may override (:func:`nasviz.experiment.settings_for`); the name is not one
SETTINGS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Profile) if f.name != 'profile')

PROFILES: dict[str, Profile] = {
    # tiny: the data recipe is the micro benchmark's own (4,000 training views of 1,000 digits), so
    # the supernet and its ground truth see one task; 10 epochs = 40,000 sample-passes. Cells are
    # scored by minus their test loss: on 1,000 test images accuracy is too coarse to rank by
    # (benchmarks/tiny_signal.py measured the difference; README 'Default profile study').
    'tiny': Profile(
        profile='tiny',
        dataset='digits',
        data={},
        C=8,
        N=1,
        bench='micro',
        epochs=10,
        batch_size=64,
        lr=0.05,
        n_eval=120,
        recal_batches=4,
        eval_samples=1000,
        score='loss',
        track_every=2,
        feature_repeats=4,
        feature_batch=128,
        n_neighbors=20,
        warmup_fraction=0.5,
        device='cpu',
    ),
    'small': Profile(
        profile='small',
        dataset='cifar10',
        data=dict(n_train=10000, n_test=2000),
        C=8,
        N=2,
        bench='nb201',
        epochs=30,
        batch_size=128,
        lr=0.05,
        n_eval=200,
        recal_batches=8,
        eval_samples=2000,
        score='accuracy',
        track_every=5,
        feature_repeats=8,
        feature_batch=128,
        n_neighbors=20,
        warmup_fraction=0.5,
        device='auto',
    ),
    'paper': Profile(
        profile='paper',
        dataset='cifar10',
        data={},
        C=16,
        N=5,
        bench='nb201',
        epochs=100,
        batch_size=256,
        lr=0.05,
        n_eval=1000,
        recal_batches=20,
        eval_samples=None,
        score='accuracy',
        track_every=10,
        feature_repeats=16,
        feature_batch=128,
        n_neighbors=20,
        warmup_fraction=0.5,
        device='auto',
    ),
}


def profile_settings(profile: str) -> Profile:
    """The settings of ``profile`` (``tiny``, ``small`` or ``paper``), as a copy of its own."""
    if profile not in PROFILES:
        raise ValueError(f'unknown profile {short_repr(profile)}; expected one of {", ".join(PROFILES)}')
    return dataclasses.replace(PROFILES[profile])


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is present, else 'cpu'."""
    import torch

    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    return device


def describe_profile(profile: str) -> dict[str, Any]:
    """What a run at ``profile`` measures, for report pages: dataset, supernet size and ground
    truth (what it is, how many cells and seeds), and a ``caveat`` saying how far its numbers
    carry (set for small-scale profiles, ``None`` otherwise).

    Plain data (JSON-ready). Reading the micro benchmark's header is cheap; a missing file is
    reported in the dict instead of raised, so a report can always describe its profile.
    """
    s = profile_settings(profile)
    data = s.data
    if s.dataset == 'digits':
        dataset = dict(
            name='digits (embedded)',
            description="scikit-learn's 8x8 handwritten digits made harder (scaled, rotated, "
            'shifted onto 16x16 with noise), 1,000 training digits in 4 warped views each; '
            'shipped inside the package, no download',
        )
    else:
        size = (
            f'{data["n_train"]:,} training / {data.get("n_test", 10000):,} test images'
            if data.get('n_train')
            else 'full 50,000 training / 10,000 test images'
        )
        dataset = dict(name='CIFAR-10', description=f'CIFAR-10, {size}')
    model = dict(
        C=s.C,
        N=s.N,
        epochs=s.epochs,
        n_eval=s.n_eval,
        description=f'NAS-Bench-201 supernet, C={s.C} channels, N={s.N} cell(s) per '
        f'stage, {s.epochs} epochs by default; {s.n_eval} cells ranked',
    )
    if s.bench == 'micro':
        truth: dict[str, Any] = dict(
            name='micro benchmark (data/microbench_digits.csv)',
            description="the project's own micro benchmark: sampled NB201 cells trained standalone "
            'on the same digits task, test accuracy (%) averaged over seeds',
        )
        try:
            from nasviz.bench.micro import MicroBench

            mb = MicroBench.load()
            summ = mb.summary
            truth.update(
                n_cells=int(summ.get('n_cells') or len(list(mb.archs()))),
                seeds=list(mb.seeds),
                n_seeds=len(mb.seeds),
                seed_to_seed_kendall_tau=summ.get('seed_to_seed_kendall_tau'),
                split_half_reliability=summ.get('split_half_reliability'),
                accuracy_spread=summ.get('spread'),
                recipe={
                    k: mb.recipe.get(k) for k in ('C', 'N', 'epochs', 'batch_size', 'lr', 'model') if k in mb.recipe
                },
            )
        except Exception as e:  # noqa: BLE001 - a description must not fail a report
            truth['error'] = f'{type(e).__name__}: {e}'
        caveat = (
            'Small-scale run: a tiny supernet trained for minutes on embedded digits, ranked against '
            "the project's own micro benchmark (a few hundred cells, a handful of seeds, a narrow "
            'accuracy spread). Rankings here are a weak, noisy signal that shows the method works end '
            'to end; the numbers are not comparable with the CIFAR-10 / NAS-Bench-201 numbers of '
            'papers. Read the confidence intervals before any difference.'
        )
    else:
        truth = dict(
            name='NAS-Bench-201 table',
            description='NAS-Bench-201 CIFAR-10 test accuracy (%) of all 15,625 cells trained '
            'for 200 epochs (official release)',
            n_cells=15625,
            path_setting='NASVIZ_NB201_TABLE',
        )
        caveat = None
        if profile != 'paper':
            caveat = (
                'Reduced-scale run: a smaller supernet and a CIFAR-10 subset ranked against full '
                'NAS-Bench-201 accuracies; expect weaker rankings than published paper-scale numbers.'
            )
    return dict(
        profile=profile,
        dataset=dataset,
        supernet=model,
        ground_truth=truth,
        small_scale=profile != 'paper',
        caveat=caveat,
    )
