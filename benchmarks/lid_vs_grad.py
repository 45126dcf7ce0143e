"""Cost of NAS-LID (layer-wise LID) against GM-NAS (gradient matching) feature extraction.

Both run on the same supernet weights, edge, batches, paths and repeats (same seed), through
:func:`nasviz.features.ops.lid_features` and :func:`~nasviz.features.ops.grad_features`.

Memory. On CPU each extraction runs in a fresh process (multiprocessing spawn) that loads the
same weights and data, warms up with a small run of the same extraction, then resets the
kernel's peak-RSS counter (``/proc/self/clear_refs`` = 5) and reports ``VmHWM`` after the call
minus ``VmRSS`` before it: the resident memory the call added, allocator overhead included.
Where the reset is not allowed it falls back to ``ru_maxrss`` (then the setup peak can hide a
smaller call peak). On CUDA: ``max_memory_allocated()`` minus ``memory_allocated()`` before.

Rows: ``lid`` streams (each block's LID is estimated from a forward hook, so block outputs are
freed as the forward goes), ``lid_keep`` keeps all block outputs through ``forward_features``
and estimates afterwards (same numbers), ``grad`` is GM-NAS. The ratios on the last line use
``lid`` (the library default) over ``grad``.

    python benchmarks/lid_vs_grad.py                       # paper setting: C=16 N=5 batch 128
    python benchmarks/lid_vs_grad.py --C 8 --N 2 --batch 64 --in-size 16
    python benchmarks/lid_vs_grad.py --dataset digits --C 4 --N 1 --batch 64 --k 10
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from nasviz.memory import proc_status_kib, reset_peak_rss  # noqa: E402

MiB = 2**20


# ---------------------------------------------------------------------------------------------
# setup shared by the parent and the workers
# ---------------------------------------------------------------------------------------------
def make_data(spec: dict):  # noqa: ANN201 - ImageData, imported lazily
    from nasviz.data import ImageData, load_digits

    if spec['dataset'] == 'digits':
        return load_digits()
    g = torch.Generator().manual_seed(spec['seed'])
    n, s = spec['n_train'], spec['in_size']
    x = torch.randn(n, 3, s, s, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return ImageData('random', x, y, x[:8], y[:8], 10, data_id=f'random-{n}-{s}-{spec["seed"]}')


def make_model(spec: dict, in_channels: int):  # noqa: ANN201
    from nasviz.spaces.nb201_network import NB201Supernet

    return NB201Supernet(spec['C'], spec['N'], num_classes=10, in_channels=in_channels)


def make_config(spec: dict, kind: str):  # noqa: ANN201
    from nasviz.features.ops import FeatureConfig

    return FeatureConfig(
        kind=kind, repeats=spec['repeats'], batch_size=spec['batch'], n_neighbors=spec['k'], seed=spec['seed']
    )


def run_method(model, data, spec: dict, method: str, device: torch.device, warmup: bool = False):  # noqa: ANN001, ANN201
    from nasviz.features.ops import grad_features, lid_features

    cfg = make_config(spec, 'grad' if method == 'grad' else 'lid')
    if warmup:  # same code path, one small repeat: library start-up is not what we measure
        cfg = replace(cfg, repeats=1, batch_size=min(cfg.batch_size, cfg.n_neighbors + 4))
    if method == 'grad':
        return grad_features(model, data, spec['edge'], config=cfg, device=device, progress=False)
    return lid_features(model, data, spec['edge'], config=cfg, device=device, progress=False, stream=method == 'lid')


# ---------------------------------------------------------------------------------------------
# CPU: one fresh process per method
# ---------------------------------------------------------------------------------------------


def cpu_worker(spec: dict, method: str, state_path: str) -> dict:
    """Run one extraction in this (fresh) process and report its time and resident peak."""
    torch.set_num_threads(spec['threads'])
    data = make_data(spec)
    model = make_model(spec, data.in_channels)
    model.load_state_dict(torch.load(state_path, weights_only=True))
    dev = torch.device('cpu')
    run_method(model, data, spec, method, dev, warmup=True)
    gc.collect()
    base = proc_status_kib('VmRSS')
    reset = reset_peak_rss()
    t0 = time.perf_counter()
    res = run_method(model, data, spec, method, dev)
    seconds = time.perf_counter() - t0
    peak = proc_status_kib('VmHWM') if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(
        method=method,
        seconds=seconds,
        peak_bytes=max(0, peak - base) * 1024,
        base_bytes=base * 1024,
        how='VmHWM after a clear_refs reset' if reset else 'ru_maxrss',
        shape=tuple(res.features.shape),
    )


def _spawned(spec: dict, method: str, state_path: str, mmap_threshold: int | None) -> dict:
    """:func:`cpu_worker` in a fresh spawned interpreter, optionally with a fixed glibc mmap threshold."""
    old = os.environ.pop('MALLOC_MMAP_THRESHOLD_', None)
    try:
        if mmap_threshold:
            # glibc reads it at start-up. A fixed threshold turns off its dynamic growth (up to
            # 32 MiB), so every tensor above it is mmapped and returned to the kernel when freed:
            # the resident peak then follows live tensors instead of heap the allocator retains
            os.environ['MALLOC_MMAP_THRESHOLD_'] = str(mmap_threshold)
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context('spawn')) as ex:
            return ex.submit(cpu_worker, spec, method, state_path).result()
    finally:
        os.environ.pop('MALLOC_MMAP_THRESHOLD_', None)
        if old is not None:
            os.environ['MALLOC_MMAP_THRESHOLD_'] = old


def measure_cpu(
    spec: dict, state_path: str, methods: list[str], trials: int = 1, mmap_threshold: int = 0
) -> list[dict]:
    """Time and resident peak of every method, each run in a fresh process.

    ``peak_bytes`` comes from the default allocator, in the same run as ``seconds``;
    ``live_bytes`` (when ``mmap_threshold``) from a second run with a fixed mmap threshold,
    whose page faults slow it down, so its time is not used. Methods alternate within a trial
    so a slow spell of a shared machine hits all of them; the fastest time, the largest peaks
    are kept.
    """
    best: dict[str, dict] = {}
    for _ in range(trials):
        for m in methods:
            r = _spawned(spec, m, state_path, None)
            if mmap_threshold:
                r['live_bytes'] = _spawned(spec, m, state_path, mmap_threshold)['peak_bytes']
            if m in best:
                for key, pick in (('seconds', min), ('peak_bytes', max), ('live_bytes', max)):
                    if key in r:
                        r[key] = pick(r[key], best[m][key])
            best[m] = r
    return [best[m] for m in methods]


# ---------------------------------------------------------------------------------------------
# CUDA: one process, allocator statistics
# ---------------------------------------------------------------------------------------------
def measure_cuda(
    spec: dict,
    model,
    data,
    device: torch.device,
    methods: list[str],  # noqa: ANN001
    trials: int = 1,
) -> list[dict]:
    data = data.to(device)
    model.to(device)
    out = []
    for m in [m for _ in range(trials) for m in methods]:
        run_method(model, data, spec, m, device, warmup=True)
        torch.cuda.synchronize(device)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        t0 = time.perf_counter()
        res = run_method(model, data, spec, m, device)
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated(device) - base
        out.append(
            dict(
                method=m,
                seconds=seconds,
                peak_bytes=peak,
                base_bytes=base,
                how='torch.cuda.max_memory_allocated',
                shape=tuple(res.features.shape),
            )
        )
        del res
    return [
        dict(min(rs, key=lambda r: r['seconds']), peak_bytes=max(r['peak_bytes'] for r in rs))
        for rs in ([r for r in out if r['method'] == m] for m in methods)
    ]


# ---------------------------------------------------------------------------------------------
# what the memory is made of (analytic, from tensor sizes)
# ---------------------------------------------------------------------------------------------
def breakdown(model, data, spec: dict) -> dict:  # noqa: ANN001
    """Bytes of the main consumers, from tensor sizes, largest over every (repeat, candidate) path."""
    from nasviz.features.probe import grad_parameters, random_batches, random_paths
    from nasviz.spaces.nb201 import OPS

    model.train()
    mask, edge = model.mask, spec['edge']
    bs = min(spec['batch'], data.x_train.shape[0])
    x, y = next(random_batches(data, bs, 1, spec['seed'], torch.device('cpu')))
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved_max = blocks_max = largest_block = 0
    for path in random_paths(mask, spec['repeats'], spec['seed']):
        for o in mask.allowed[edge]:
            arch = path.with_op(edge, OPS[o])
            seen: dict[int, int] = {}

            def pack(t: torch.Tensor) -> torch.Tensor:
                st = t.untyped_storage()
                if st.data_ptr() not in weights:  # activations only, each storage once
                    seen[st.data_ptr()] = st.nbytes()  # noqa: B023 (the hook runs in this iteration)
                return t

            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                loss = torch.nn.functional.cross_entropy(model(x, arch), y)
            saved_max = max(saved_max, sum(seen.values()))
            del loss
            with torch.no_grad():
                _, feats = model.forward_features(x, arch)
            blocks_max = max(blocks_max, sum(f.numel() * f.element_size() for f in feats))
            largest_block = max(largest_block, max(f.numel() for f in feats))
    n_ops = len(mask.allowed[edge])
    D = sum(p.numel() for p in grad_parameters(model, edge, mask)[1])
    return dict(
        saved_for_backward=saved_max,
        grad_buffers=2 * n_ops * D * 4,
        param_grads=D * 4,
        all_block_outputs=blocks_max,
        largest_block_copy=largest_block * 4,
        n_params=D,
        n_ops=n_ops,
    )


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--C', type=int, default=16, help='channels of the first stage')
    ap.add_argument('--N', type=int, default=5, help='cells per stage')
    ap.add_argument('--batch', type=int, default=128, help='images per batch')
    ap.add_argument('--repeats', type=int, default=2, help='batches/paths (R)')
    ap.add_argument('--edge', type=int, default=0, help='edge to split (0..5)')
    ap.add_argument('--device', default='auto', help="'auto', 'cpu' or a CUDA device")
    ap.add_argument('--in-size', type=int, default=32, help='image side for random data')
    ap.add_argument(
        '--dataset',
        default='random',
        choices=('random', 'digits'),
        help='random CIFAR-shaped tensors, or the embedded digits (1x16x16)',
    )
    ap.add_argument('--n-train', type=int, default=None, help='random images (default 4 x batch)')
    ap.add_argument('--k', type=int, default=20, help='LID neighbours')
    ap.add_argument('--threads', type=int, default=1, help='torch CPU threads, the same for both methods')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--trials', type=int, default=1, help='runs per method; fastest time, largest peak')
    ap.add_argument(
        '--mmap-threshold',
        type=int,
        default=65536,
        help='CPU: also measure with this fixed glibc MALLOC_MMAP_THRESHOLD_ (bytes; 0: skip)',
    )
    ap.add_argument(
        '--keep', action='store_true', help='also measure LID through forward_features (all block outputs kept)'
    )
    ap.add_argument('--no-breakdown', action='store_true', help='skip the tensor-size breakdown')
    args = ap.parse_args(argv)

    from nasviz.seeding import set_seed
    from nasviz.spaces.nb201 import EDGE_NAMES

    spec = dict(
        C=args.C,
        N=args.N,
        batch=args.batch,
        repeats=args.repeats,
        edge=args.edge,
        k=args.k,
        dataset=args.dataset,
        in_size=args.in_size,
        n_train=args.n_train or 4 * args.batch,
        seed=args.seed,
        threads=args.threads,
    )
    dev = torch.device(
        'cuda'
        if args.device == 'auto' and torch.cuda.is_available()
        else 'cpu'
        if args.device == 'auto'
        else args.device
    )
    methods = ['lid', 'lid_keep', 'grad'] if args.keep else ['lid', 'grad']
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    data = make_data(spec)
    model = make_model(spec, data.in_channels)
    make_config(spec, 'lid')  # fail early on a bad k / batch
    cpu = dev.type == 'cpu'
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, 'supernet.pt')
        torch.save(model.state_dict(), state)
        rows = (
            measure_cpu(spec, state, methods, args.trials, args.mmap_threshold)
            if cpu
            else measure_cuda(spec, model, data, dev, methods, args.trials)
        )
    live = cpu and args.mmap_threshold > 0

    print(
        f'NAS-LID vs GM-NAS feature extraction: C={args.C} N={args.N} batch={args.batch} R={args.repeats} '
        f'edge={args.edge} ({EDGE_NAMES[args.edge]}), data={data.name} {tuple(data.x_train.shape[1:])}, '
        f'device={dev}, threads={args.threads}, fastest of {args.trials} trial(s)'
    )
    if cpu:
        print(
            f'memory: {rows[0]["how"]} minus VmRSS before the call, one fresh spawned process per run; '
            f'"peak" with the default allocator (same run as the time)'
            + (
                f', "live" with MALLOC_MMAP_THRESHOLD_={args.mmap_threshold} (freed tensors leave the resident set)'
                if live
                else ''
            )
        )
    else:
        print(f'memory: {rows[0]["how"]} minus memory_allocated before the call')
    print(f'{"method":<9} {"seconds":>8} {"peak MiB":>9}' + (f' {"live MiB":>9}' if live else '') + '  features')
    for r in rows:
        print(
            f'{r["method"]:<9} {r["seconds"]:8.2f} {r["peak_bytes"] / MiB:9.1f}'
            + (f' {r["live_bytes"] / MiB:9.1f}' if live else '')
            + f'  {r["shape"]}'
        )
    if not args.no_breakdown:
        model.to('cpu')
        parts = breakdown(model, data.to('cpu'), spec)
        print(
            'breakdown (tensor sizes, largest path): GM-NAS: activations saved for backward '
            f'{parts["saved_for_backward"] / MiB:.1f} MiB, gradient buffers 2 x n_ops x D '
            f'{parts["grad_buffers"] / MiB:.1f} MiB (n_ops={parts["n_ops"]}, D={parts["n_params"]:,}), weight '
            f'grads {parts["param_grads"] / MiB:.1f} MiB; NAS-LID: all block outputs '
            f'{parts["all_block_outputs"] / MiB:.1f} MiB, centred float32 copy of the largest block '
            f'{parts["largest_block_copy"] / MiB:.1f} MiB'
        )
    lid, grad = rows[0], rows[-1]
    key = 'live_bytes' if live else 'peak_bytes'
    if live:
        print(f'default-allocator peak ratio: {lid["peak_bytes"] / max(grad["peak_bytes"], 1):.3f}')
    mem = lid[key] / grad[key] if grad[key] else float('nan')
    print(f'memory_ratio={mem:.3f} time_ratio={lid["seconds"] / grad["seconds"]:.3f}')


if __name__ == '__main__':
    main()
