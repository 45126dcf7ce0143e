"""Study: which default-profile setting gives a reliable ground truth and a supernet that ranks.

For every setting tried (data regime, ground-truth recipe, supernet training) it builds a pilot
ground truth (``--cells`` cells x 4 seeds, resumable, cached), trains SPOS supernets for
``--spos-seeds`` seeds, scores the same cells with BN-recalibrated shared weights and prints:

- ``reliability``: Kendall tau between the mean of seeds {0,1} and of seeds {2,3} (the ceiling),
- ``seed_tau``: Kendall tau between two single seeds, ``iqr``: accuracy IQR (points),
- ``spos_tau``: mean +- sd over supernet seeds of Kendall tau against the 4-seed mean,
- ``params_tau``: the parameter-count baseline,
- ``gt_cpu_s``: CPU seconds per ground-truth job, ``spos_s``: wall seconds per supernet
  (training + evaluation).

    python benchmarks/tiny_signal.py --settings current views4 --cells 60 --spos-seeds 3
    python benchmarks/tiny_signal.py --spos-curve --gt data/microbench_digits.csv --epochs 20 --spos-seeds 5
    python benchmarks/tiny_signal.py --frontier --gt data/microbench_digits.csv \\
        --compare data/partition_comparison_tiny.csv

The second form is the supernet half of the study on a finished ground truth: for each supernet
seed it trains one SPOS supernet, scores every cell of the ground truth every ``--every`` epochs
by accuracy and by loss, and prints Kendall tau (mean +- sd over seeds) against the number of
sample-passes: the frontier of ranking quality against training cost.

The third form trains nothing: it prints what reaching the signal targets would cost on this
recipe. Ground-truth reliability against the seeds averaged per half (measured where the seeds
allow, else projected by :func:`nasviz.analysis.reliability.reliability_frontier`'s noise model) with
the build time that many seeds take at the benchmark's measured CPU seconds per job; and, from a
method comparison over supernet seeds (``nasviz partition --seeds ... --out``), each method's
paired difference to SPOS, its SE over seeds, and the seeds an SE of ``--target-se`` needs.

Every ground-truth build and supernet lands in the cache (``NASVIZ_CACHE``), so a rerun or a
new setting only pays for what is new. The last line is a machine-readable summary of the
best setting: ``best=<name> reliability=... spos_tau=...``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from nasviz.analysis.metrics import kendall_tau
from nasviz.bench.build import MicroBenchRecipe, build_microbench
from nasviz.cache import cache_dir, param_hash
from nasviz.data import load_dataset
from nasviz.spaces.nb201_network import NB201Supernet
from nasviz.supernet.evaluate import evaluate_archs
from nasviz.supernet.train import TrainConfig, train_supernet

BASE_DATA = dict(
    n_train=1000, size=16, noise=0.3, scale=[0.55, 0.85], max_rotation=20.0, max_shift=0.3, test_views=4, random_state=0
)

# name -> (data overrides, ground-truth recipe overrides, supernet overrides)
SETTINGS: dict[str, tuple[dict, dict, dict]] = {
    # today's tiny profile
    'current': ({}, dict(epochs=10), dict(epochs=40, batch_size=64, lr=0.05)),
    # more distinct training views of the same digits (ground truth and supernet see the same set)
    'views4': (dict(train_views=4), dict(epochs=5), dict(epochs=40, batch_size=64, lr=0.05)),
    'views4_spos20': (dict(train_views=4), dict(epochs=5), dict(epochs=20, batch_size=64, lr=0.05)),
    'views4_spos80': (dict(train_views=4), dict(epochs=5), dict(epochs=80, batch_size=64, lr=0.05)),
    'views4_e3': (dict(train_views=4), dict(epochs=3), dict(epochs=40, batch_size=64, lr=0.05)),
    'views8_e3': (dict(train_views=8), dict(epochs=3), dict(epochs=30, batch_size=64, lr=0.05)),
}


def supernet_scores(
    data, cells, C: int, N: int, spos: dict, seed: int, recal_batches: int, eval_samples: int | None
) -> tuple[np.ndarray, float, float]:
    """Train one SPOS supernet (checkpointed in the cache) and score ``cells``."""
    cfg = TrainConfig(epochs=spos['epochs'], batch_size=spos['batch_size'], lr=spos['lr'], seed=seed)
    run_dir = cache_dir() / 'study' / 'supernet' / param_hash(cfg, data.data_id, C, N)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = NB201Supernet(C, N, data.num_classes, data.in_channels)
    hist = train_supernet(model, data, cfg, checkpoint_dir=run_dir, progress=False)
    ev = evaluate_archs(model, cells, data, recal_batches=recal_batches, max_samples=eval_samples, progress=False)
    return ev, float(hist['train_acc'].iloc[-1]), time.perf_counter() - t0


def run_setting(
    name: str, cells_n: int, spos_seeds: int, workers: int, recal_batches: int, eval_samples: int | None
) -> dict:
    d_over, gt_over, spos = SETTINGS[name]
    data_kw = dict(BASE_DATA, **d_over)
    recipe = replace(MicroBenchRecipe(), data=data_kw, n_cells=cells_n, seeds=(0, 1, 2, 3), **gt_over)
    out = cache_dir() / 'study' / 'gt' / f'{param_hash(recipe)}.csv'
    t0 = time.perf_counter()
    if out.exists():
        from nasviz.bench.micro import MicroBench

        mb = MicroBench.load(out)
    else:
        mb = build_microbench(recipe, out=out, workers=workers, progress=False)
    gt_wall = time.perf_counter() - t0
    cells = mb.archs()
    truth = mb.accuracies(cells)
    a, b = mb.halves(cells)
    data = load_dataset('digits', **data_kw)
    taus, ltaus, accs, secs = [], [], [], []
    for s in range(spos_seeds):
        ev, tr_acc, sec = supernet_scores(data, cells, recipe.C, recipe.N, spos, s, recal_batches, eval_samples)
        taus.append(kendall_tau(ev['score'].to_numpy(), truth))
        ltaus.append(kendall_tau(-ev['loss'].to_numpy(), truth))
        accs.append(tr_acc)
        secs.append(sec)
    return dict(
        setting=name,
        n=len(cells),
        reliability=kendall_tau(b, a),
        seed_tau=mb.seed_to_seed_tau(),
        iqr=mb.spread()['iqr'],
        params_tau=kendall_tau(mb.params_many(cells), truth),
        spos_tau=float(np.mean(taus)),
        spos_sd=float(np.std(taus, ddof=1)) if len(taus) > 1 else 0.0,
        spos_taus=[round(t, 3) for t in taus],
        spos_train_acc=float(np.mean(accs)),
        loss_tau=float(np.mean(ltaus)),
        loss_sd=float(np.std(ltaus, ddof=1)) if len(ltaus) > 1 else 0.0,
        loss_taus=[round(t, 3) for t in ltaus],
        gt_cpu_s=mb.summary.get('cpu_seconds_per_job'),
        gt_wall_s=round(gt_wall, 1),
        spos_s=float(np.mean(secs)),
        gt_epochs=recipe.epochs,
        views=data_kw.get('train_views', 1),
        spos_epochs=spos['epochs'],
    )


def curve_scores(
    cells,
    data,
    C: int,
    N: int,
    epochs: int,
    every: int,
    seed: int,
    batch_size: int,
    lr: float,
    recal_batches: int,
    eval_samples: int | None,
) -> list[dict]:
    """Train one SPOS supernet and score ``cells`` (accuracy and loss) every ``every`` epochs;
    cached in ``<cache>/study/curve`` so the ground truth can come later."""
    import json as _json

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    key = param_hash(cfg, data.data_id, C, N, [str(a) for a in cells], every, recal_batches, eval_samples)
    store = cache_dir() / 'study' / 'curve' / f'{key}.json'
    if store.exists():
        return _json.loads(store.read_text())
    t0 = time.process_time()
    found: list[dict] = []

    def track(epoch: int, model) -> dict:
        if (epoch + 1) % every == 0:
            ev = evaluate_archs(
                model, cells, data, recal_batches=recal_batches, max_samples=eval_samples, progress=False
            )
            found.append(
                dict(
                    seed=seed,
                    epoch=epoch + 1,
                    passes=(epoch + 1) * len(data.y_train),
                    acc=[round(float(v), 4) for v in ev['accuracy']],
                    loss=[round(float(v), 6) for v in ev['loss']],
                    cpu_s=time.process_time() - t0,
                )
            )
        return {}

    torch.manual_seed(seed)
    model = NB201Supernet(C, N, data.num_classes, data.in_channels)
    hist = train_supernet(model, data, cfg, progress=False, callback=track)
    for r in found:
        r['train_acc'] = float(hist['train_acc'].iloc[r['epoch'] - 1])
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(_json.dumps(found))
    return found


def spos_curve(
    gt: str,
    epochs: int,
    every: int,
    seeds: int,
    batch_size: int,
    lr: float,
    recal_batches: int,
    eval_samples: int | None,
) -> pd.DataFrame:
    """Tau of SPOS scores (accuracy and minus loss) against ``gt`` at every ``every`` epochs."""
    from nasviz.bench.micro import MicroBench

    mb = MicroBench.load(gt)
    cells = mb.archs()
    truth = mb.accuracies(cells)
    data = load_dataset(mb.recipe['dataset'], **mb.recipe['data'])
    rows = []
    for seed in range(seeds):
        for r in curve_scores(
            cells,
            data,
            mb.recipe['C'],
            mb.recipe['N'],
            epochs,
            every,
            seed,
            batch_size,
            lr,
            recal_batches,
            eval_samples,
        ):
            rows.append(
                dict(
                    seed=seed,
                    epoch=r['epoch'],
                    passes=r['passes'],
                    train_acc=r['train_acc'],
                    tau_acc=kendall_tau(np.array(r['acc']), truth),
                    tau_loss=kendall_tau(-np.array(r['loss']), truth),
                    mean_acc=float(np.mean(r['acc'])),
                    cpu_s=r['cpu_s'],
                )
            )
    df = pd.DataFrame(rows)
    return df.groupby('epoch').agg(
        passes=('passes', 'first'),
        n_seeds=('seed', 'size'),
        tau_acc=('tau_acc', 'mean'),
        tau_acc_sd=('tau_acc', 'std'),
        tau_loss=('tau_loss', 'mean'),
        tau_loss_sd=('tau_loss', 'std'),
        train_acc=('train_acc', 'mean'),
        mean_acc=('mean_acc', 'mean'),
        cpu_s=('cpu_s', 'mean'),
    )


def frontier(gt: str, compare: str | None, ks: list[int], workers: int, target_se: float) -> pd.DataFrame:
    """Reliability against build cost, and the supernet seeds a target SE needs (prints both)."""
    from nasviz.analysis.reliability import reliability_frontier
    from nasviz.bench.micro import MicroBench

    mb = MicroBench.load(gt)
    acc = mb.seed_matrix()
    job_s = float(mb.summary.get('cpu_seconds_per_job', float('nan')))
    rel = reliability_frontier(acc, ks=ks)
    rel['build_min'] = rel['seeds_total'] * acc.shape[0] * job_s / workers / 60
    print(
        f'ground truth {gt}: {acc.shape[0]} cells x {acc.shape[1]} seeds, {job_s:.2f} CPU s a job, '
        f'{workers} workers; noise sd {rel.attrs["noise_sd"]:.2f} points, true sd {rel.attrs["true_sd"]:.2f}'
    )
    print(rel.round(3).to_string(index=False))
    if compare:
        df = pd.read_csv(compare)
        df = df[df['kind'] == 'method']
        taus = df.pivot_table(index='seed', columns='method', values='kendall_tau')
        rows = []
        for m in [c for c in taus.columns if c != 'spos']:
            d = (taus[m] - taus['spos']).dropna()
            sd = float(d.std(ddof=1))
            rows.append(
                dict(
                    method=m,
                    n_seeds=len(d),
                    diff_to_spos=float(d.mean()),
                    sd_over_seeds=sd,
                    se=sd / np.sqrt(len(d)),
                    seeds_for_target=int(np.ceil((sd / target_se) ** 2)),
                )
            )
        res = pd.DataFrame(rows)
        print(
            f'\nmethod minus SPOS (Kendall tau), paired over the {len(taus)} seeds of {compare}; '
            f'seeds_for_target: seeds an SE over seeds of {target_se} needs (cells held fixed)'
        )
        print(res.round(3).to_string(index=False))
    return rel


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--settings', nargs='+', default=['current', 'views4'], choices=sorted(SETTINGS))
    p.add_argument('--cells', type=int, default=60, help='pilot cells per setting (x 4 ground-truth seeds)')
    p.add_argument('--spos-seeds', type=int, default=3)
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--recal-batches', type=int, default=4)
    p.add_argument('--eval-samples', type=int, default=1000, help='0 = the whole test split')
    p.add_argument('--out', default=None, help='append rows as JSON lines to this file')
    p.add_argument('--spos-curve', action='store_true', help='only the supernet half, on the ground truth --gt')
    p.add_argument('--gt', default=None, help='MicroBench CSV for --spos-curve (default: the shipped one)')
    p.add_argument('--epochs', type=int, default=20)
    p.add_argument('--every', type=int, default=2)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.05)
    p.add_argument(
        '--frontier',
        action='store_true',
        help='train nothing: reliability and resolving power against their cost (on --gt and --compare)',
    )
    p.add_argument('--compare', default=None, help='with --frontier: CSV of `nasviz partition --seeds ... --out`')
    p.add_argument('--ks', type=int, nargs='+', default=[1, 2, 3, 4, 5, 6, 8], help='with --frontier: seeds per half')
    p.add_argument('--target-se', type=float, default=0.03)
    a = p.parse_args()
    if a.frontier:
        from nasviz.bench.micro import default_path

        frontier(a.gt or str(default_path()), a.compare, a.ks, a.workers, a.target_se)
        return
    if a.spos_curve:
        from nasviz.bench.micro import default_path

        curve = spos_curve(
            a.gt or str(default_path()),
            a.epochs,
            a.every,
            a.spos_seeds,
            a.batch_size,
            a.lr,
            a.recal_batches,
            a.eval_samples or None,
        )
        print(curve.round(3).to_string())
        best = curve[['tau_acc', 'tau_loss']].max()
        print(f'best_tau_acc={best["tau_acc"]:.3f} best_tau_loss={best["tau_loss"]:.3f}')
        return
    rows = []
    for name in a.settings:
        r = run_setting(name, a.cells, a.spos_seeds, a.workers, a.recal_batches, a.eval_samples or None)
        rows.append(r)
        print(json.dumps(r), flush=True)
        if a.out:
            with open(a.out, 'a') as f:
                f.write(json.dumps(r) + '\n')
    df = pd.DataFrame(rows).set_index('setting')
    cols = [
        'n',
        'reliability',
        'seed_tau',
        'iqr',
        'params_tau',
        'spos_tau',
        'spos_sd',
        'loss_tau',
        'loss_sd',
        'spos_train_acc',
        'gt_cpu_s',
        'spos_s',
    ]
    print(df[cols].round(3).to_string())
    best = df['spos_tau'].idxmax()
    print(f'best={best} reliability={df.loc[best, "reliability"]:.3f} spos_tau={df.loc[best, "spos_tau"]:.3f}')


if __name__ == '__main__':
    main()
