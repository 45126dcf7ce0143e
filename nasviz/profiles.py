"""Run sizes: the same code at three scales, chosen by name only.

- ``tiny``: embedded digits, C=8, N=1, CPU minutes; ground truth = the micro benchmark.
- ``small``: a CIFAR-10 subset (offline npz), C=8, N=2; ground truth = the NB201 table.
- ``paper``: full CIFAR-10, C=16, N=5 as in NAS-Bench-201 / NAS-LID; GPU hours.
"""
from __future__ import annotations

from copy import deepcopy
from typing import Any

from nasviz.validate import short_repr

PROFILES: dict[str, dict[str, Any]] = {
    # tiny: the data recipe is the micro benchmark's own (4,000 training views of 1,000 digits), so
    # the supernet and its ground truth see one task; 10 epochs = 40,000 sample-passes. Cells are
    # scored by minus their test loss: on 1,000 test images accuracy is too coarse to rank by
    # (benchmarks/tiny_signal.py measured the difference; README 'Default profile study').
    'tiny': dict(dataset='digits', data={}, C=8, N=1, bench='micro', epochs=10, batch_size=64, lr=0.05,
                 n_eval=120, recal_batches=4, eval_samples=1000, score='loss', track_every=2,
                 feature_repeats=4, feature_batch=128, n_neighbors=20, warmup_fraction=0.5, device='cpu'),
    'small': dict(dataset='cifar10', data=dict(n_train=10000, n_test=2000), C=8, N=2, bench='nb201',
                  epochs=30, batch_size=128, lr=0.05, n_eval=200, recal_batches=8, eval_samples=2000, score='accuracy',
                  track_every=5, feature_repeats=8,
                  feature_batch=128, n_neighbors=20, warmup_fraction=0.5, device='auto'),
    'paper': dict(dataset='cifar10', data={}, C=16, N=5, bench='nb201', epochs=100, batch_size=256, lr=0.05,
                  n_eval=1000, recal_batches=20, eval_samples=None, score='accuracy', track_every=10, feature_repeats=16,
                  feature_batch=128, n_neighbors=20,
                  warmup_fraction=0.5, device='auto'),
}


def profile_settings(profile: str) -> dict[str, Any]:
    """A copy of the settings of ``profile`` (``tiny``, ``small`` or ``paper``)."""
    if profile not in PROFILES:
        raise ValueError(f'unknown profile {short_repr(profile)}; expected one of {", ".join(PROFILES)}')
    return deepcopy(PROFILES[profile])


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
    data = s.get('data') or {}
    if s['dataset'] == 'digits':
        dataset = dict(name='digits (embedded)',
                       description="scikit-learn's 8x8 handwritten digits made harder (scaled, rotated, "
                                   'shifted onto 16x16 with noise), 1,000 training digits in 4 warped views each; '
                                   'shipped inside the package, no download')
    else:
        size = (f"{data['n_train']:,} training / {data.get('n_test', 10000):,} test images"
                if data.get('n_train') else 'full 50,000 training / 10,000 test images')
        dataset = dict(name='CIFAR-10', description=f'CIFAR-10, {size}')
    model = dict(C=s.get('C'), N=s.get('N'), epochs=s.get('epochs'), n_eval=s.get('n_eval'),
                 description=f"NAS-Bench-201 supernet, C={s.get('C')} channels, N={s.get('N')} cell(s) per "
                             f"stage, {s.get('epochs')} epochs by default; {s.get('n_eval')} cells ranked")
    if s['bench'] == 'micro':
        truth: dict[str, Any] = dict(
            name='micro benchmark (data/microbench_digits.csv)',
            description="the project's own micro benchmark: sampled NB201 cells trained standalone "
                        'on the same digits task, test accuracy (%) averaged over seeds')
        try:
            from nasviz.bench.micro import MicroBench

            mb = MicroBench.load()
            summ = mb.summary
            truth.update(
                n_cells=int(summ.get('n_cells') or len(list(mb.archs()))),
                seeds=list(mb.seeds), n_seeds=len(mb.seeds),
                seed_to_seed_kendall_tau=summ.get('seed_to_seed_kendall_tau'),
                split_half_reliability=summ.get('split_half_reliability'),
                accuracy_spread=summ.get('spread'),
                recipe={k: mb.recipe.get(k) for k in ('C', 'N', 'epochs', 'batch_size', 'lr', 'model')
                        if k in mb.recipe})
        except Exception as e:  # noqa: BLE001 - a description must not fail a report
            truth['error'] = f'{type(e).__name__}: {e}'
        caveat = ('Small-scale run: a tiny supernet trained for minutes on embedded digits, ranked against '
                  "the project's own micro benchmark (a few hundred cells, a handful of seeds, a narrow "
                  'accuracy spread). Rankings here are a weak, noisy signal that shows the method works end '
                  'to end; the numbers are not comparable with the CIFAR-10 / NAS-Bench-201 numbers of '
                  'papers. Read the confidence intervals before any difference.')
    else:
        truth = dict(name='NAS-Bench-201 table',
                     description='NAS-Bench-201 CIFAR-10 test accuracy (%) of all 15,625 cells trained '
                                 'for 200 epochs (official release)',
                     n_cells=15625, path_setting='NASVIZ_NB201_TABLE')
        caveat = None
        if profile != 'paper':
            caveat = ('Reduced-scale run: a smaller supernet and a CIFAR-10 subset ranked against full '
                      'NAS-Bench-201 accuracies; expect weaker rankings than published paper-scale numbers.')
    return dict(profile=profile, dataset=dataset, supernet=model, ground_truth=truth,
                small_scale=profile != 'paper', caveat=caveat)
