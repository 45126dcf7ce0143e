"""Throughput of the training-free proxies: seconds per cell per proxy at the NAS-Bench-201
benchmark size (C=16, N=5, CIFAR-10 32x32 images, each proxy at its paper's batch size), one
thread, on a seeded sample of non-degenerate cells; plus the whole per-cell path of a sweep for
NASWOT + synflow (network build, both proxies) and the projection for all 15,625 cells.

    OMP_NUM_THREADS=1 python benchmarks/proxies.py --cells 5
    python benchmarks/proxies.py --proxies naswot synflow --cells 10 --json out.json
    nice -n 19 python benchmarks/proxies.py --sweep --workers 2          # the whole-space sweep (resumable)
    python benchmarks/proxies.py --export data/nb201_proxies_cifar10.csv   # cached values -> shipped table
    python benchmarks/proxies.py --validate data/nb201_proxies_cifar10.csv # Spearman vs NB201 and published
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from nasviz.proxies import PROXIES, PROXY_NAMES, compute_proxies, probe_batch, proxies_for_arch
from nasviz.proxies._common import relu_codes, restore, snapshot
from nasviz.proxies.activations import (
    hamming_kernel,
    jacob_cov_from_jacobian,
    naswot_and_jacob_cov,
    naswot_from_codes,
)
from nasviz.proxies.sweep import class_representatives, get_space


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--cells', type=int, default=5, help='non-degenerate cells timed (seeded sample)')
    ap.add_argument('--proxies', nargs='+', default=list(PROXY_NAMES), choices=PROXY_NAMES)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--json', help='write the figures here')
    ap.add_argument(
        '--export',
        help='instead of timing: write every cached CIFAR-10 proxy value of NB201 cells '
        '(default sweep settings) to this CSV, with a header naming the recipe',
    )
    ap.add_argument(
        '--sweep',
        action='store_true',
        help='instead of timing: sweep SWEEP_PROXIES over every NB201 cell into the cache (resumable: '
        'a rerun computes only what is missing), the cheap data-free ones first over the whole '
        'space, then the input-reading ones, both in the seeded order of the space',
    )
    ap.add_argument('--workers', type=int, default=2, help='worker processes of --sweep')
    ap.add_argument(
        '--passes',
        type=int,
        nargs='+',
        default=[1, 2],
        choices=[1, 2],
        help='--sweep: which passes (1: data-free, 2: input-reading)',
    )
    ap.add_argument(
        '--offset',
        type=int,
        default=0,
        help='--sweep: start at this position of the seeded order (the cells before it come last)',
    )
    ap.add_argument('--merge', help='--export: an earlier table of the same recipe filling values the cache lacks')
    ap.add_argument(
        '--known',
        help='--sweep: a table of the same recipe (e.g. the shipped one); cells holding every value of a pass '
        'there are left out of that pass (export with --merge of the same table to keep them)',
    )
    ap.add_argument(
        '--validate',
        help='instead of timing: validate the proxy table in this CSV against the NB201 '
        'table (NASVIZ_NB201_TABLE) and the published per-cell scores',
    )
    ap.add_argument(
        '--per-class-check',
        help='instead of timing: how far one value per function class (ProxySweep(per_class=True), '
        'each class computed on its smallest string) moves the ranking, on the cells of this proxy table '
        "whose own value and whose representative's value it holds; paired against the per-cell values",
    )
    a = ap.parse_args(argv)
    if a.per_class_check:
        return per_class_check(a.per_class_check)
    if a.sweep:
        return sweep_space(a.workers, a.passes, a.offset, a.known)
    if a.export:
        return export(a.export, a.merge)
    if a.validate:
        return validate(a.validate)
    torch.set_num_threads(a.threads)
    space = get_space('nb201')
    rng = np.random.default_rng(a.seed)
    archs = []
    pool = list(space.enumerate())
    while len(archs) < a.cells:
        c = pool[int(rng.integers(len(pool)))]
        if not space.is_degenerate(c):
            archs.append(c)
    x, y, _ = probe_batch('cifar10', 128, a.seed)
    # warm-up (first calls pay one-off costs: allocator, FlopCounterMode set-up)
    torch.manual_seed(0)
    warm = space.build_network(archs[0])
    compute_proxies(warm, x, y, [p for p in a.proxies if p != 'ntk_cond'])
    per: dict[str, list[float]] = {p: [] for p in a.proxies}
    build, path, shared, kernel_plain, kernel_dedup, forward = [], [], [], [], [], []
    shared_grad, whole, jac_with_wgrad, jac_input_only = [], [], [], []
    seven = [p for p in ('params', 'flops', 'synflow', 'snip', 'grad_norm', 'jacob_cov', 'naswot') if p in a.proxies]
    for arch in archs:
        t = time.perf_counter()
        torch.manual_seed(a.seed)
        net = space.build_network(arch)
        build.append(time.perf_counter() - t)
        for p in a.proxies:
            t = time.perf_counter()
            compute_proxies(net, x, y, [p])
            per[p].append(time.perf_counter() - t)
        if 'naswot' in a.proxies and 'jacob_cov' in a.proxies:
            t = time.perf_counter()
            compute_proxies(net, x, y, ['naswot', 'jacob_cov'])
            shared.append(time.perf_counter() - t)
        if 'snip' in a.proxies and 'grad_norm' in a.proxies:
            t = time.perf_counter()
            compute_proxies(net, x, y, ['snip', 'grad_norm'])
            shared_grad.append(time.perf_counter() - t)
        t = time.perf_counter()
        proxies_for_arch(space, arch, ['naswot', 'synflow'], x, y, seed=a.seed)
        path.append(time.perf_counter() - t)
        t = time.perf_counter()
        proxies_for_arch(space, arch, seven, x, y, seed=a.seed)  # the whole-space sweep's per-cell path
        whole.append(time.perf_counter() - t)
        # the NASWOT kernel side by side: every layer's product vs one per distinct code
        net.train()
        t = time.perf_counter()
        with torch.inference_mode():
            net(x)
        forward.append(time.perf_counter() - t)  # the floor: one plain forward of the batch
        with torch.inference_mode(), relu_codes(net) as codes:
            net(x)
        t = time.perf_counter()
        K_plain = _plain_kernel(codes)
        kernel_plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        K = hamming_kernel(codes)
        kernel_dedup.append(time.perf_counter() - t)
        # the shared NASWOT + jacob_cov pass side by side: backward with weight gradients (as autograd
        # does by default) vs the input gradient only (the weights frozen, as the library runs it)
        if 'naswot' in a.proxies and 'jacob_cov' in a.proxies:
            restore(snapshot(net))
            xg = x.clone().requires_grad_(True)
            t = time.perf_counter()
            with relu_codes(net) as codes:
                out = net(xg)
            out.backward(torch.ones_like(out))
            ref = (naswot_from_codes(codes), jacob_cov_from_jacobian(xg.grad))
            jac_with_wgrad.append(time.perf_counter() - t)
            net.zero_grad(set_to_none=True)
            t = time.perf_counter()
            got = naswot_and_jacob_cov(net, x)
            jac_input_only.append(time.perf_counter() - t)
            if got != ref:
                raise AssertionError(f'{arch}: the input-only pass gives {got}, with weight gradients {ref}')
        if not np.array_equal(K, K_plain):
            raise AssertionError(f'{arch}: the deduplicated NASWOT kernel differs from the plain one')
    res = {
        'cells': a.cells,
        'threads': a.threads,
        'build_s': float(np.mean(build)),
        'per_proxy_s': {p: float(np.mean(v)) for p, v in per.items()},
        'batch': {p: PROXIES[p].batch_size for p in a.proxies},
        'naswot_synflow_cell_s': float(np.mean(path)),
        'kernel_plain_s': float(np.mean(kernel_plain)),
        'kernel_dedup_s': float(np.mean(kernel_dedup)),
        'forward_s': float(np.mean(forward)),
    }
    if shared:
        res['naswot_jacob_cov_shared_s'] = float(np.mean(shared))
    if jac_input_only:
        res['naswot_jacob_cov_with_weight_grads_s'] = float(np.mean(jac_with_wgrad))
        res['naswot_jacob_cov_input_grad_only_s'] = float(np.mean(jac_input_only))
    if shared_grad:
        res['snip_grad_norm_shared_s'] = float(np.mean(shared_grad))
    res['sweep_cell_s'] = float(np.mean(whole))
    res['sweep_all_cells_min_on_2_cores'] = res['sweep_cell_s'] * (15625 - 341) / 2 / 60
    n = 15625 - 341  # non-degenerate NB201 cells (degenerate ones skip the input-reading proxies)
    res['naswot_synflow_all_cells_min_on_2_cores'] = res['naswot_synflow_cell_s'] * n / 2 / 60
    print(
        f'NB201 C=16 N=5, CIFAR-10 32x32, {a.threads} thread(s), mean over {a.cells} non-degenerate cells; '
        f'load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs'
    )
    print(f'  network build: {res["build_s"]:.3f} s')
    for p in a.proxies:
        print(f'  {p:15s} batch {PROXIES[p].batch_size:4d}: {res["per_proxy_s"][p]:.3f} s/cell')
    if shared:
        print(
            f'  naswot + jacob_cov sharing one forward: {res["naswot_jacob_cov_shared_s"]:.3f} s/cell '
            f'(separately {res["per_proxy_s"]["naswot"] + res["per_proxy_s"]["jacob_cov"]:.3f})'
        )
    if jac_input_only:
        print(
            f'  naswot + jacob_cov pass with weight gradients {res["naswot_jacob_cov_with_weight_grads_s"]:.3f} '
            f's/cell, input gradient only {res["naswot_jacob_cov_input_grad_only_s"]:.3f} s/cell (ratio '
            f'{res["naswot_jacob_cov_with_weight_grads_s"] / res["naswot_jacob_cov_input_grad_only_s"]:.2f}, '
            'equal values)'
        )
    if shared_grad:
        print(
            f'  snip + grad_norm sharing one backward: {res["snip_grad_norm_shared_s"]:.3f} s/cell '
            f'(separately {res["per_proxy_s"]["snip"] + res["per_proxy_s"]["grad_norm"]:.3f})'
        )
    print(
        f"  the sweep's per-cell path, build + {','.join(seven)}: {res['sweep_cell_s']:.3f} s/cell; all "
        f'{15625 - 341:,} non-degenerate cells on 2 idle cores: {res["sweep_all_cells_min_on_2_cores"]:.0f} min '
        '(degenerate cells cost a build and the data-free proxies only)'
    )
    print(
        f'  NASWOT kernel: one product per layer {res["kernel_plain_s"]:.3f} s, one per distinct code '
        f'{res["kernel_dedup_s"]:.3f} s (ratio {res["kernel_dedup_s"] / res["kernel_plain_s"]:.2f}, equal kernels)'
    )
    print(
        f'  one plain forward of the batch (no ReLU recording): {res["forward_s"]:.3f} s/cell; for all '
        f'{15625 - 341:,} non-degenerate cells on 2 cores: {res["forward_s"] * (15625 - 341) / 2 / 60:.1f} min'
    )
    print(f'  sweep path naswot + synflow (build + both): {res["naswot_synflow_cell_s"]:.3f} s/cell')
    print(
        f'  projection, all {n:,} non-degenerate cells on 2 cores: '
        f'{res["naswot_synflow_all_cells_min_on_2_cores"]:.1f} min (target 20)'
    )
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(res, f, indent=1)
    return res


def _plain_kernel(codes: list) -> np.ndarray:
    """The NASWOT kernel with one matrix product per recorded ReLU (no deduplication)."""
    b = codes[0].shape[0]
    both = torch.zeros(b, b, dtype=torch.float64)
    ones = torch.zeros(b, dtype=torch.float64)
    n = 0
    for c in codes:
        c = c.to(torch.float32)
        both += (c @ c.T).to(torch.float64)
        ones += c.sum(1, dtype=torch.float64)
        n += c.shape[1]
    return (2 * both - ones[:, None] - ones[None, :] + n).numpy()


#: the proxies shipped for every NB201 cell, in two passes: data-free and cheap, then input-reading
SWEEP_PROXIES = (('params', 'flops', 'synflow'), ('snip', 'grad_norm', 'jacob_cov', 'naswot'))


def sweep_order() -> list[str]:
    """Every NB201 cell in the seeded order of the sweep (numpy ``default_rng(0)`` permutation), so
    an unfinished sweep covers a uniform random sample of the space."""
    space = get_space('nb201')
    strs = [space.to_str(a) for a in space.enumerate()]
    return [strs[i] for i in np.random.default_rng(0).permutation(len(strs))]


def sweep_space(workers: int, passes: tuple[int, ...] = (1, 2), offset: int = 0, known: str | None = None) -> dict:
    """The whole-space sweep of :data:`SWEEP_PROXIES` into the proxy cache, timed per pass.

    ``known``: a proxy table of the same recipe; a pass skips the cells for which it holds every
    proxy of the pass (a degenerate cell's undefined input-reading values count as held)."""
    from nasviz.proxies import ProxySweep, SweepConfig

    order = sweep_order()
    order = order[offset:] + order[:offset]
    held = None
    if known:
        import pandas as pd

        held = pd.read_csv(known, comment='#').set_index('arch_str')
    space = get_space('nb201')
    out = {}
    for group in [SWEEP_PROXIES[i - 1] for i in passes]:
        todo = order
        if held is not None:
            have = set()
            for s, row in held.reindex(columns=list(group)).iterrows():
                degenerate = space.is_degenerate(space.from_str(s))
                undefined = [degenerate and PROXIES[p].uses_input for p in row.index]
                if all(np.isfinite(v) or v == -np.inf or u for v, u in zip(row, undefined)):
                    have.add(s)
            todo = [s for s in order if s not in have]
            print(f'{",".join(group)}: {len(order) - len(todo)} cells complete in {known}, {len(todo)} to sweep')
            if not todo:
                continue
        load0 = os.getloadavg()[0]
        sw = ProxySweep(list(group), SweepConfig(), workers=workers)
        sw.run(todo)
        out[','.join(group)] = dict(
            seconds=sw.seconds_, computed=sw.computed_, load_before=load0, load_after=os.getloadavg()[0]
        )
        print(
            f'{",".join(group)}: {sw.computed_} values computed in {sw.seconds_:.0f} s with {workers} workers '
            f'(load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after)',
            flush=True,
        )
    return out


def export(path: str, merge: str | None = None) -> dict:
    """Every NB201 cell with at least one cached value of :data:`SWEEP_PROXIES` (plus any other proxy
    the cache holds for them), one column per proxy, floats to 6 significant digits, and a column
    ``undefined`` giving, for each cell, why a value is NaN or infinite there.

    ``merge``: an earlier table of the same recipe (e.g. the shipped one) fills the values the cache
    lacks; first, every value both hold must agree to 6 significant digits (else ``ValueError``)."""
    import pandas as pd

    from nasviz.io import atomic_write_text
    from nasviz.proxies import ProxySweep, SweepConfig

    space = get_space('nb201')
    order = sweep_order()
    t = ProxySweep(list(PROXY_NAMES), SweepConfig(), progress=False).run(order, compute=False)
    merged_note = ''
    if merge:
        old = pd.read_csv(merge, comment='#').set_index('arch_str')
        t = t.set_index('arch_str')
        checked = filled = 0
        for p in [c for c in old.columns if c in t.columns]:
            o = old[p].reindex(t.index).astype(float)
            both = o.notna() & t[p].notna()
            a, b = t.loc[both, p].to_numpy(float), o[both].to_numpy(float)
            with np.errstate(invalid='ignore'):  # inf - inf: equal infinities are caught by a == b
                same = (a == b) | (np.abs(a - b) <= 1e-5 * np.maximum(np.abs(a), np.abs(b)))
            if not same.all():
                bad = t.index[both][~same][0]
                raise ValueError(
                    f'{merge}: {p} of {bad} is {old.loc[bad, p]}, the cache has {t.loc[bad, p]}: '
                    'not the same recipe, not merged'
                )
            checked += int(both.sum())
            fill = o.notna() & t[p].isna()
            t.loc[fill, p] = o[fill]
            filled += int(fill.sum())
        t = t.reset_index()
        merged_note = (
            f' {filled} values come from the earlier table {Path(merge).name} of the same recipe, which '
            f'agrees with this sweep on all {checked} values both hold (6 significant digits).'
        )
    listed = [p for group in SWEEP_PROXIES for p in group]
    extra = [c for c in PROXY_NAMES if c not in listed and t[c].notna().any()]
    cols = listed + extra
    t = t[['arch_str'] + cols]
    t = t[t[cols].notna().any(axis=1)].reset_index(drop=True)
    uses_input = {p for p in cols if PROXIES[p].uses_input}
    reasons = []
    for s, row in zip(t['arch_str'], t[cols].itertuples(index=False)):
        degenerate = space.is_degenerate(space.from_str(s))
        why = []
        nan = [p for p, v in zip(cols, row) if not np.isfinite(v)]
        if degenerate and any(p in uses_input for p in nan):
            why.append(
                'degenerate cell (no path from input to output): '
                + ','.join(p for p in nan if p in uses_input)
                + ' undefined, not computed'
            )
        neg = [p for p, v in zip(cols, row) if v == -np.inf]
        if neg:
            why.append(
                ','.join(neg) + ' = -inf: log of 0 (synflow: no gradient reaches a weight; naswot: singular kernel)'
            )
        missing = [p for p, v in zip(listed, row) if np.isnan(v) and not (degenerate and p in uses_input)]
        if missing:
            why.append(','.join(missing) + ' not computed yet (sweep unfinished)')
        reasons.append('; '.join(why))
    t['undefined'] = reasons
    counts = {c: int(t[c].notna().sum()) for c in cols}
    complete = len(t) == 15625 and not any('not computed yet' in r for r in reasons)
    head = (
        '# nasviz training-free proxies on NAS-Bench-201 cells (C=16, N=5, 10 classes), CIFAR-10 training '
        'images (NASVIZ_CIFAR10_NPZ), seed 0 for initialisation and the probe batch, each proxy at its paper '
        f'batch size; {len(t)} of 15,625 cells ('
        + (
            'the whole space'
            if complete
            else 'a seeded uniform random order of the space, numpy default_rng(0) permutation, as far as the sweep got'
        )
        + f'). Values per proxy: {counts}. Column undefined: why a value of the sweep ({", ".join(listed)}) is '
        'NaN or -inf.'
        + (
            f' The other columns ({", ".join(extra)}) are outside the whole-space sweep: values on the cells '
            'where they were computed only, NaN elsewhere.'
            if extra
            else ''
        )
        + f'{merged_note}\n'
        '# made by: nice -n 19 python benchmarks/proxies.py --sweep --workers 2 --known <the previous table> '
        '(resumable; the proxy cache under '
        '$NASVIZ_CACHE/proxies); exported with: python benchmarks/proxies.py --export ' + path + '\n'
    )
    atomic_write_text(path, head + t.to_csv(index=False, float_format='%.6g'))
    print(f'wrote {len(t)} cells to {path}: {counts}')
    return counts


def per_class_check(path: str) -> dict:
    """One value per function class against each cell's own value: how many networks a whole-space
    per-class sweep builds, how well the class value agrees with the cell's own (Spearman over the
    cells that are not their class's representative), and the paired difference in Spearman with
    NB201 CIFAR-10 test accuracy (per-class minus per-cell) on the same cells."""
    import pandas as pd

    from nasviz.analysis.uncertainty import paired_difference, spearman_ci
    from nasviz.bench.nb201 import NB201Table
    from nasviz.reduce import read_proxy_table

    space = get_space('nb201')
    strs = [space.to_str(a) for a in space.enumerate()]
    rep_of = class_representatives(space, strs)
    degenerate = sum(1 for a in space.enumerate() if space.is_degenerate(a))
    networks = len({r for s, r in rep_of.items() if not space.is_degenerate(space.from_str(r))})
    print(
        f'NB201: {len(strs):,} cells, {degenerate} degenerate, {networks:,} non-degenerate function classes: a '
        f'per-class sweep builds {networks:,} networks for the input-reading proxies instead of '
        f'{len(strs) - degenerate:,} ({(len(strs) - degenerate) / networks:.2f}x fewer)'
    )
    t = read_proxy_table(path).set_index('arch_str')
    truth = pd.Series(NB201Table().accuracies(list(t.index), 'cifar10', 'test_200ep'), index=t.index)
    rows = []
    for p in [c for c in t.columns if c in PROXIES and PROXIES[c].uses_input]:
        own = t[p]
        rep = pd.Series([rep_of[s] for s in t.index], index=t.index)
        cls = own.reindex(rep.to_numpy()).to_numpy()
        ok = np.isfinite(own.to_numpy()) & np.isfinite(cls) & np.isfinite(truth.to_numpy())
        moved = ok & (rep.to_numpy() != t.index.to_numpy())
        if moved.sum() < 10:
            continue
        agree = spearman_ci(own.to_numpy()[moved], cls[moved], n_resamples=1000)
        d = paired_difference(cls[ok], own.to_numpy()[ok], truth.to_numpy()[ok], metric='spearman', n_resamples=1000)
        rows.append(
            dict(
                proxy=p,
                n=int(ok.sum()),
                not_representative=int(moved.sum()),
                agreement=agree.estimate,
                per_class=d.a.estimate,
                per_cell=d.b.estimate,
                difference=d.diff.estimate,
                low=d.diff.low,
                high=d.diff.high,
                p=d.p_value,
            )
        )
    out = pd.DataFrame(rows)
    print(
        "per-class value vs the cell's own (agreement: Spearman on cells that are not their class's "
        'representative; difference: Spearman with CIFAR-10 test accuracy, per-class minus per-cell, '
        'paired bootstrap 95% CI):'
    )
    print(out.round(4).to_string(index=False))
    return {'networks': networks, 'table': out}


def validate(path: str) -> dict:
    """Spearman (95% bootstrap CI, n) of each proxy with NB201 accuracy beside published values and
    parameter count on the same cells; agreement with published per-cell scores; how the CIFAR-10
    proxies rank CIFAR-100 and ImageNet16-120 accuracy."""
    import pandas as pd

    from nasviz.analysis.uncertainty import spearman_ci
    from nasviz.bench.nb201 import NB201Table
    from nasviz.proxies.validation import agreement_with_published, validate_proxies
    from nasviz.reduce import read_proxy_table

    pd.set_option('display.width', 200)
    t = read_proxy_table(path)
    bench = NB201Table()
    val = validate_proxies(t, bench)
    print(val.drop(columns=['source']).round(3).to_string(index=False))
    agr = agreement_with_published(t, bench=bench)
    print('\nours vs published per-cell scores:')
    print(agr.round(3).to_string(index=False))
    rows = []
    strs = t['arch_str'].tolist()
    for ds in ('cifar10', 'cifar100', 'imagenet16'):
        truth = bench.accuracies(strs, ds, 'test_200ep')
        for p in [c for c in t.columns if c not in ('arch_str', 'undefined')]:
            v = t[p].to_numpy(float)
            ok = np.isfinite(v) & np.isfinite(truth)
            if ok.sum() >= 3:
                e = spearman_ci(v[ok], truth[ok], n_resamples=1000)
                rows.append(dict(proxy=p, dataset=ds, n=e.n, spearman=e.estimate, low=e.low, high=e.high))
    cross = pd.DataFrame(rows)
    print("\nCIFAR-10 proxies against each data set's test accuracy (200 epochs):")
    print(cross.round(3).to_string(index=False))
    return {'validation': val, 'agreement': agr, 'cross': cross}


if __name__ == '__main__':
    main()
