"""C-BRED against the trivial selections on NAS-Bench-201 (CIFAR-10, CIFAR-100, ImageNet16-120
truth), the NAS-Bench-101 subset and the DARTS (NAS-Bench-301) subset: per data set and space, the
selected size, its mean accuracy over clustering seeds (mean +- SE), and paired on equal subset
size (per seed) the top-N by parameter count, by NASWOT, by synflow, and random subsets.

NB201: every cell is clustered; clusters are scored with our proxies computed on CIFAR-10 images
(the shipped table, or ``--proxies-table``); top-N by NASWOT is given twice, by our values and by
the published NASWOT scores of the original implementation (BayesWatch, every cell). NB101 and
DARTS: the cells of their benchmark tables are clustered and clusters are scored with the tables'
FLOPs and parameter counts (no proxies of ours on those cells), so there C-BRED is compared with
size only. ``--grid`` adds the robustness grid (k x distance) on NB201 CIFAR-100.

    OMP_NUM_THREADS=1 python benchmarks/cbred_table.py                 # the table, 5 seeds
    python benchmarks/cbred_table.py --seeds 2 --datasets cifar100 --spaces nb201
    python benchmarks/cbred_table.py --grid --grid-html grid.html --json cbred.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

from nasviz.reduce.evaluate import cbred_grid, evaluate_seeds, proxy_baselines, summarize_seeds

#: the defaults of the C-BRED settings this table reports (and the grid marks)
DEFAULTS = dict(
    k=64,
    encoding='path',
    distance='hellinger',
    clustering='spectral',
    score=('naswot', 'synflow'),
    quantile=0.5,
    min_size=156,
)


def nb201_inputs(table: str | None) -> dict:
    from nasviz.bench.nb201 import NB201Table
    from nasviz.reduce.run import SHIPPED_TABLE, read_proxy_table
    from nasviz.spaces import get_space

    space = get_space('nb201')
    archs = list(space.enumerate())
    strs = [space.to_str(a) for a in archs]
    bench = NB201Table()
    path = table or SHIPPED_TABLE
    prox = read_proxy_table(path)
    params = dict(zip(strs, bench.params_many(strs) * 1e6))
    base = {'params': params}
    base.update(proxy_baselines(prox, ('naswot', 'synflow')))
    pub = os.path.join(os.environ.get('NASVIZ_NB201_PROXIES', '/work/shared/data/nb201/nb201_proxies.csv'))
    if os.path.isfile(pub):
        p = pd.read_csv(pub)  # empty for degenerate cells: they rank last, so the column covers the space
        base['naswot_published'] = dict(zip(p['arch_str'], p['naswot_cifar10'].astype(float).fillna(-np.inf)))
    truth = {
        ds: dict(zip(strs, bench.accuracies(strs, ds, 'test_200ep'))) for ds in ('cifar10', 'cifar100', 'imagenet16')
    }
    cover = {p: int(prox[p].notna().sum()) for p in DEFAULTS['score'] if p in prox.columns}
    return dict(
        space=space,
        archs=archs,
        proxies=prox,
        baselines=base,
        truth=truth,
        source=f'{path} ({len(prox)} cells; values per scoring proxy {cover}; computed on CIFAR-10 images)',
    )


def subset_inputs(name: str) -> dict:
    from nasviz.bench import load_benchmark
    from nasviz.spaces import get_space

    bench = load_benchmark(name)
    space = get_space(bench.space) if isinstance(bench.space, str) else bench.space
    archs = list(dict.fromkeys(bench.archs()))
    strs = [space.to_str(a) for a in archs]
    acc = dict(zip(strs, bench.accuracies(strs)))
    params = dict(zip(strs, np.asarray(bench.params_many(strs), dtype=float)))
    flops = {s: float(bench.flops(s)) for s in strs}
    prox = pd.DataFrame({'arch_str': strs, 'flops': [flops[s] for s in strs], 'params': [params[s] for s in strs]})
    return dict(
        space=space,
        archs=archs,
        proxies=prox,
        baselines={'params': params, 'flops': flops},
        truth={bench.DATASET: acc},
        source=f"{bench.path} ({len(strs)} cells; scored by the table's flops and params)",
    )


def run(a: argparse.Namespace) -> dict:
    rows, per_seed_all, out = [], [], {}
    seeds = list(range(a.seeds))
    for sp in a.spaces:
        inp = nb201_inputs(a.proxies_table) if sp == 'nb201' else subset_inputs(sp)
        print(f'{sp}: {inp["source"]}', flush=True)
        cfg = dict(DEFAULTS, k=a.k, encoding=a.encoding, distance=a.distance)
        if sp != 'nb201':  # scored by size; 1% of the subset as the smallest selectable cluster
            cfg.update(
                score=('flops', 'params'),
                min_size=max(1, len(inp['archs']) // 100),
                k=min(a.k, max(2, len(inp['archs']) // 20)),
            )
        models: dict = {}  # one fit per seed, shared by the ground truths
        for ds, truth in inp['truth'].items():
            if sp == 'nb201' and ds not in a.datasets:
                continue
            t0 = time.perf_counter()
            per = evaluate_seeds(
                inp['archs'], inp['space'], inp['proxies'], truth, inp['baselines'], seeds, models=models, **cfg
            )
            summ = summarize_seeds(per)
            whole = float(np.mean(list(truth.values())))
            for r in summ.to_dict('records'):
                rows.append(dict(space=sp, dataset=ds, whole=whole, **r))
            per_seed_all.append(per.assign(space=sp, dataset=ds))
            print(f'  {ds}: {time.perf_counter() - t0:.0f} s', flush=True)
            print(summ.round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    pd.set_option('display.width', 220)
    pd.set_option('display.max_columns', 30)
    print(
        '\nC-BRED '
        + ', '.join(f'{k}={v}' for k, v in DEFAULTS.items() if k not in ('k', 'encoding', 'distance'))
        + f', k={a.k}, encoding={a.encoding}, distance={a.distance}; {a.seeds} clustering seeds; '
        'mean accuracy (%) of the selected cells (all cells of the chosen cluster); baselines at the same size '
        'per seed; diff = C-BRED minus baseline (paired over seeds), SE over seeds; exact=False: the baseline '
        'covers part of the space, its top cells are the same fraction of the covered cells'
    )
    print(table.round(3).to_string(index=False))
    out['table'] = table.to_dict('records')
    out['per_seed'] = pd.concat(per_seed_all).to_dict('records')
    if a.grid:
        inp = nb201_inputs(a.proxies_table)
        cfg = dict(DEFAULTS, encoding=a.encoding)
        cfg.pop('k'), cfg.pop('distance')
        g = cbred_grid(
            inp['archs'],
            inp['space'],
            inp['proxies'],
            inp['truth']['cifar100'],
            ks=a.grid_k,
            distances=a.grid_distances,
            seeds=list(range(a.grid_seeds)),
            **cfg,
        )
        print(
            f'\ngrid on NB201 CIFAR-100 (encoding {a.encoding}, {a.grid_seeds} seed(s); default k={a.k}, {a.distance}):'
        )
        print(g.round(3).to_string(index=False))
        ok = g.dropna(subset=['mean'])
        if len(ok):
            lo, hi = ok.loc[ok['mean'].idxmin()], ok.loc[ok['mean'].idxmax()]
            print(
                f'grid extremes: lowest {lo["mean"]:.2f}% (k={lo.k}, {lo.distance}, n={lo.n:.0f}), highest '
                f'{hi["mean"]:.2f}% (k={hi.k}, {hi.distance}, n={hi.n:.0f})'
            )
        out['grid'] = g.to_dict('records')
        if a.grid_html:
            from nasviz.viz.reduce_figures import plot_cbred_grid

            whole = float(np.mean(list(inp['truth']['cifar100'].values())))
            plot_cbred_grid(g, default=(a.k, a.distance), reference=whole).write_html(a.grid_html)
            print(f'wrote {a.grid_html}')
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(out, f, indent=1, default=float)
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seeds', type=int, default=5, help='clustering seeds')
    ap.add_argument('--spaces', nargs='+', default=['nb201', 'nb101', 'darts'], choices=['nb201', 'nb101', 'darts'])
    ap.add_argument(
        '--datasets',
        nargs='+',
        default=['cifar10', 'cifar100', 'imagenet16'],
        choices=['cifar10', 'cifar100', 'imagenet16'],
        help='NB201 ground truth',
    )
    ap.add_argument('--proxies-table', help='NB201 proxy table (default: the shipped data/nb201_proxies_cifar10.csv)')
    ap.add_argument('--k', type=int, default=DEFAULTS['k'])
    ap.add_argument('--encoding', default=DEFAULTS['encoding'], choices=['histogram', 'adjacency', 'wl', 'path'])
    ap.add_argument('--distance', default=DEFAULTS['distance'])
    ap.add_argument('--grid', action='store_true', help='add the k x distance grid on NB201 CIFAR-100')
    ap.add_argument('--grid-k', type=int, nargs='+', default=[16, 32, 64, 128])
    ap.add_argument('--grid-distances', nargs='+', default=['hellinger', 'js', 'cosine'])
    ap.add_argument('--grid-seeds', type=int, default=1)
    ap.add_argument('--grid-html', help='write the grid figure (plotly HTML) here')
    ap.add_argument('--json', help='write the table (and grid) here')
    return run(ap.parse_args(argv))


if __name__ == '__main__':
    main()
