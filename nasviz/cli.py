"""The ``nasviz`` command line: train, evaluate, audit, build-microbench, partition, proxies,
reduce, search, report, lab.

One module on purpose (over 500 lines): every subcommand's parser sits beside its handler and the
shared preflight (output paths, cache directory, backend) checks them all before any work starts;
the handlers only parse options and call the library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from nasviz.validate import check_int, check_output_dir, check_output_file, short_repr

#: a user's mistake ends with a message and exit code 2, never a traceback
USER_ERRORS = (
    ValueError,
    KeyError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
#: more worker processes than this is a typo, not a plan
MAX_WORKERS = max(64, 4 * (os.cpu_count() or 1))


def _cmd_train(a: argparse.Namespace) -> int:
    from nasviz.experiment import load_data, settings_for, trained_supernet

    s = settings_for(a.profile, epochs=a.epochs, space=a.space)
    data = load_data(s)
    model, hist = trained_supernet(s, data, seed=a.seed, run_dir=a.out)
    print(hist.tail(3).to_string(index=False))
    print(f'checkpoint: {Path(a.out) / "checkpoint.pt" if a.out else "(cache)"}')
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from nasviz.analysis.baselines import ranking_with_baselines_ci
    from nasviz.analysis.preference import choice_preference
    from nasviz.experiment import eval_archs, evaluate_cached, load_bench, load_data, settings_for, trained_supernet

    s = settings_for(a.profile, epochs=a.epochs, n_eval=a.n, eval_samples=a.eval_samples, space=a.space)
    bench = load_bench(s)
    archs = _check_n(a.n, eval_archs(s, bench, seed=a.seed), bench)  # before any training
    data = load_data(s)
    model, _ = trained_supernet(s, data, seed=a.seed, run_dir=a.run)
    df = evaluate_cached(model, archs, data, s)
    df['truth'] = bench.accuracies(archs)
    # top-10 by default; with fewer cells, the top half (a top-k over every cell says nothing)
    ks = (10 if len(archs) >= 20 else max(1, len(archs) // 2),)
    print(
        f'supernet scores: {s.score} on the test split; {len(archs)} cells; '
        f"95% bootstrap CIs; ceiling = the ground truth's own reliability"
    )
    table = ranking_with_baselines_ci({'supernet': df['score'].to_numpy()}, bench, archs, ks=ks, random_state=a.seed)
    print(table.round(4).to_string(index=False))
    print('\nwhich ops each ranking rewards (Kendall tau of op count per cell):')
    prefs = choice_preference(archs, df['score'], df['truth'], space=s.space, per_slot=False)
    print(prefs.set_index('choice')[['mean_count', 'tau_score', 'tau_truth', 'bias']].round(3).to_string())
    if a.out:
        df.drop(columns='arch').to_csv(a.out, index=False)
        print(f'wrote {a.out}')
    return 0


def _check_n(n: int | None, archs: list, bench) -> list:
    """``archs``, or ``ValueError`` when ``--n`` asked for more cells than the benchmark offers
    (a request is never reduced in silence)."""
    if n is not None and len(archs) < n:
        raise ValueError(
            f'--n {n}: the ground truth ({type(bench).__name__}, {getattr(bench, "path", "")}) holds '
            f'only {len(archs)} cells to rank; ask for --n {len(archs)} or fewer'
        )
    return archs


def _cmd_build_microbench(a: argparse.Namespace) -> int:
    from dataclasses import replace

    from nasviz.bench.build import MicroBenchRecipe, build_microbench

    r = MicroBenchRecipe()
    changes = {
        k: v
        for k, v in dict(
            n_cells=a.n_cells, epochs=a.epochs, space=a.space, seeds=tuple(a.seeds) if a.seeds else None
        ).items()
        if v is not None
    }
    views = {k: v for k, v in dict(train_views=a.train_views, test_views=a.test_views).items() if v is not None}
    if views:  # fewer warped views of the same digits: a cheaper benchmark (recorded in its recipe)
        changes['data'] = {**r.data, **views}
    ex = _executor(a, local_workers=2)
    mb = build_microbench(replace(r, **changes), out=a.out, executor=ex, force=a.force)
    print(json.dumps(mb.summary, indent=1))
    return 0


def _cmd_partition(a: argparse.Namespace) -> int:
    from nasviz.analysis.baselines import baseline_metrics_ci
    from nasviz.cache import cache_dir
    from nasviz.experiment import (
        eval_archs,
        load_bench,
        load_data,
        network_size,
        partition_config,
        partition_key,
        settings_for,
        settings_space,
        train_config,
    )
    from nasviz.partition.compare import run_comparison, summarize

    ex = _executor(a, local_workers=1)  # a missing backend fails before any work
    s = settings_for(a.profile, epochs=a.epochs, n_eval=a.n, eval_samples=a.eval_samples, space=a.space)
    bench = load_bench(s)
    archs = _check_n(a.n, eval_archs(s, bench), bench)
    data = load_data(s)
    base = partition_config(s, 'spos', n_splits=a.levels, criterion=a.criterion)
    tc = train_config(s)
    # every run is resumable: by default under the cache, keyed by what determines it
    space, size = settings_space(s), network_size(s, data)
    work = a.work_dir or cache_dir() / 'compare' / partition_key(base, tc, data, size, space, archs)
    comp = run_comparison(a.methods, a.seeds, data, size, bench, archs, base, tc, work_dir=work, executor=ex)
    df = comp.to_frame()
    print(summarize(df).to_string())
    summ = comp.summary()
    print(
        f'\nKendall tau over {len(archs)} cells, mean over {len(a.seeds)} seed(s) with SE over seeds and '
        f'95% t interval:'
    )
    print(summ.round(4).to_string())
    print(
        '\nbaselines on the same cells (95% bootstrap CIs; random: central range of random scores; '
        "the ceiling is the ground truth's own reliability):"
    )
    print(
        baseline_metrics_ci(bench, archs, random_state=0)[['method', 'metric', 'estimate', 'low', 'high', 'n']]
        .query("metric == 'kendall_tau'")
        .round(4)
        .to_string(index=False)
    )
    if 'spos' in comp.methods and len(comp.methods) > 1:
        diffs = comp.differences('spos')
        print('\ndifference to SPOS (paired over seeds and cells; SE and 95% CI from a two-level bootstrap):')
        print(diffs.drop(columns='reference').round(4).to_string())
    if a.out:
        df.to_csv(a.out, index=False)
        print(f'wrote {a.out}')
    return 0


def _cmd_report(a: argparse.Namespace) -> int:
    from nasviz.report import ReportError, run_report

    try:
        res = run_report(
            notebooks_dir=a.notebooks,
            out_dir=a.out,
            profile=a.profile,
            notebooks=a.only or None,
            show_code=a.show_code,
            backend=a.backend,
            workers=a.workers,
            address=a.address,
        )
    except ReportError as e:
        print(f'report failed: {e}', file=sys.stderr)
        return 1
    print(res.summary())
    return 0


def _read_arch_file(path: str) -> list[str]:
    """One architecture string per line (blank lines and ``#`` comments skipped)."""
    from nasviz.validate import check_input_file

    f = check_input_file(path, '--archs', 'architecture list')
    try:
        lines = [ln.strip() for ln in f.read_text(encoding='utf-8').splitlines()]
    except UnicodeDecodeError as err:
        raise ValueError(
            f'--archs {f}: not a text file (byte {err.start} is not UTF-8 text); expected one '
            'architecture string per line'
        ) from None
    archs = [ln for ln in lines if ln and not ln.startswith('#')]
    if not archs:
        raise ValueError(f'--archs {f}: the file lists no architecture (one string per line)')
    return archs


def _cmd_proxies(a: argparse.Namespace) -> int:
    from nasviz.proxies import ProxySweep, SweepConfig
    from nasviz.proxies.sweep import get_space

    ex = _executor(a, local_workers=1)  # a missing backend fails before any work
    space = get_space(a.space)
    if a.archs:
        raw = _read_arch_file(a.archs)
        archs = []
        for i, s in enumerate(raw):
            try:
                archs.append(space.from_str(s))
            except ValueError as err:
                raise ValueError(f'--archs {a.archs}, line {i + 1}: {err}') from None
    else:
        try:
            archs = list(space.enumerate())
        except ValueError:  # too large to list: the architectures of the space's benchmark table
            from nasviz.bench import load_benchmark

            archs = list(dict.fromkeys(load_benchmark(a.space).archs()))
    if a.sample is not None:
        import numpy as np

        if a.sample > len(archs):
            raise ValueError(f'--sample {a.sample} exceeds the {len(archs)} architectures')
        pick = np.sort(np.random.default_rng(a.sample_seed).choice(len(archs), a.sample, replace=False))
        archs = [archs[i] for i in pick]
    size = dict(in_channels=1, C=8, N=1) if a.data == 'digits' else {}
    cfg = SweepConfig(space=a.space, data=a.data, seed=a.seed, size=tuple(size.items()))
    sweep = ProxySweep(a.proxy, cfg, workers=ex.workers or 1, executor=ex, per_class=a.per_class)
    table = sweep.run(archs, compute=not a.cached_only)
    from nasviz.io import atomic_write_text

    atomic_write_text(a.out, table.to_csv(index=False))
    n = len(table)
    print(
        f'{n} architectures, proxies {", ".join(sweep.proxies)}: {sweep.computed_} values computed, '
        f'the rest from the cache, in {sweep.seconds_:.1f} s; wrote {a.out}'
    )
    return 0


def _cmd_reduce(a: argparse.Namespace) -> int:
    from nasviz.reduce import reduce_cli

    return reduce_cli(a)


def _cmd_lab(a: argparse.Namespace) -> int:
    from nasviz.lab import run_lab

    return run_lab(notebooks_dir=a.notebooks, port=a.port, token=a.token)


def _cmd_search(a: argparse.Namespace) -> int:
    from nasviz.io import atomic_write_text
    from nasviz.search import run_search
    from nasviz.search.names import METHOD_OPTIONS, METHOD_TITLES

    for option, methods in METHOD_OPTIONS.items():  # one rule: an option that does not apply is refused
        value = getattr(a, option[2:].replace('-', '_'))
        if value not in (None, False) and a.method not in methods:
            raise ValueError(
                f'{option}: an {" / ".join(METHOD_TITLES[m] for m in methods)} option '
                f'(--method {" or ".join(methods)}); --method {a.method} does not use it'
            )
    if a.final_epochs is not None and not a.one_stage:
        raise ValueError('--final-epochs needs --one-stage')
    res = run_search(
        a.method,
        space=a.space,
        profile=a.profile,
        seed=a.seed,
        epochs=a.epochs,
        lam=a.lam,
        m=a.m,
        n_candidates=a.n_candidates,
        arch_lr=a.arch_lr,
        one_stage=a.one_stage or None,
        final_epochs=a.final_epochs,
    )
    out = res.to_dict()
    print(
        f'{a.method} on {a.space} ({a.profile}, seed {a.seed}): {out["arch"]}\n'
        f'true accuracy {out["true_accuracy"]:.2f}% ({out["ground_truth"]}; {out["truth_source"]}); '
        f'search {out["search_seconds"]:.1f} s'
    )
    if out.get('one_stage'):
        print(
            f"one-stage: after {out['final_epochs']} epochs on the fixed support, the network's own test "
            f'accuracy is {out["network_test_accuracy"]:.2f}%'
        )
    if a.out:
        atomic_write_text(a.out, json.dumps(out, indent=1) + '\n')
        print(f'wrote {a.out}')
    return 0


def _add_backend_args(p: argparse.ArgumentParser) -> None:
    from nasviz.executor import BACKENDS, ENV_BACKEND

    p.add_argument(
        '--backend',
        choices=BACKENDS,
        help=f'where the tasks run: local process pool or a Ray cluster (default: ${ENV_BACKEND}, else local)',
    )
    p.add_argument(
        '--address',
        help="Ray cluster: 'auto' (the one this node joined) or HOST:PORT of its head "
        '(default: start a local Ray instance)',
    )


def _executor(a: argparse.Namespace, local_workers: int):
    """The executor of ``--backend``/``--address``/``--workers`` (``--workers`` unset: ``local_workers``
    processes on the local pool, no cap on Ray)."""
    from nasviz.executor import get_executor, resolve_backend

    backend = resolve_backend(a.backend)
    if a.address is not None and backend != 'ray':
        raise ValueError(f'--address {short_repr(a.address)} needs --backend ray')
    workers = a.workers if a.workers is not None else (local_workers if backend == 'local' else None)
    ex = get_executor(backend, workers, a.address)
    if hasattr(ex, 'check_address'):  # an unreachable --address fails now, even when all is cached
        ex.check_address()
    return ex


def _positive_float(text: str) -> float:
    """argparse ``type=``: a finite number > 0 (a usage error, exit code 2, otherwise)."""
    import math

    try:
        v = float(text)
    except ValueError:
        v = float('nan')
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f'expected a number > 0, got {short_repr(text)}')
    return v


def _int_arg(minimum: int, maximum: int | None = None):
    """argparse ``type=``: an integer ``>= minimum`` (a usage error, exit code 2, otherwise)."""

    def parse(text: str) -> int:
        try:
            return check_int(int(text), 'value', minimum, maximum)
        except (ValueError, TypeError):
            rng = f'>= {minimum}' if maximum is None else f'in {minimum}..{maximum}'
            raise argparse.ArgumentTypeError(f'expected an integer {rng}, got {short_repr(text)}') from None

    parse.__name__ = 'integer'
    return parse


_seed = _int_arg(0, 2**32 - 1)


def _space_arg(text: str) -> str:
    """argparse ``type=``: any registered search space (plug-ins included), looked up when the
    command runs; an unknown name is a usage error listing the known ones."""
    from nasviz.spaces import get_space

    try:
        return get_space(text).name
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


_space_arg.__name__ = 'space'


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors stay short: an enormous quoted argument shows its ends only."""

    def error(self, message: str):  # noqa: ANN201 - exits
        super().error(re.sub(r"'[^']{100,}'", lambda m: short_repr(m.group(0)[1:-1]), message))


def _cmd_audit(a: argparse.Namespace) -> int:
    from nasviz.audit import audit, read_scores
    from nasviz.audit.compare import verdict_sentence
    from nasviz.audit.core import DEFAULT_KS

    out = check_output_dir(a.out, '--out') if a.out is not None else None
    ks = DEFAULT_KS if not a.k else tuple(a.k)
    # every column is read (a parameter or FLOPs column then serves as a baseline); the audit
    # picks the estimators and names any that no file holds
    scores = read_scores(a.scores, space=a.space, format=a.format, arch_column=a.arch_column)
    truth = a.bench
    if a.truth is not None and a.truth in scores.columns:
        truth, column = a.truth, None
    else:
        column = a.truth
    res = audit(
        scores,
        truth,
        space=a.space,
        estimators=a.estimators,
        ks=ks,
        n_resamples=a.n_resamples,
        random_state=a.seed,
        merge_isomorphic=a.merge_isomorphic,
        truth_column=column,
        progress=True,
    )
    print(
        f'audit of {", ".join(res.estimators)} on {res.n} {res.space} architectures; truth: '
        f'{res.settings["truth"]}; {res.settings["level"]:.0%} bootstrap CIs, {a.n_resamples} resamples, '
        f'seed {a.seed}; computed in this run'
    )
    for note in res.notes:
        print(f'note: {note}')
    for problem in scores.attrs.get('problems', [])[:5]:
        print(f'dropped: {problem}')
    for dup in scores.attrs.get('duplicates', [])[:5]:
        print(f'dropped: {dup}')
    with pd_options():
        print(res.summary(metrics=['kendall_tau', 'spearman', 'pearson', 'regret', 'size_bias']).to_string())
        print()
        top = res.summary(metrics=['precision_top', 'best_rank', 'worst_rank'])
        print(top[[c for c in top.columns if c not in ('kind', 'n') and not c.startswith('dropped')]].to_string())
    if res.ceiling is not None:
        print(f'\n{res.ceiling}')
    print('\npaired verdicts (Kendall tau, same architectures):')
    for c in res.comparisons[res.comparisons['metric'] == 'kendall_tau'].itertuples(index=False):
        print(f'  {verdict_sentence(c)}')
    if out is not None:
        from nasviz.viz.audit_page import write_audit_html

        out.mkdir(parents=True, exist_ok=True)
        res.to_json(out / 'audit.json')
        write_audit_html(res, out / 'audit.html')
        print(f'\nwrote {out / "audit.json"} and {out / "audit.html"}')
    return 0


def pd_options():
    import pandas as pd

    return pd.option_context('display.width', 200, 'display.max_columns', 50, 'display.max_colwidth', 40)


def build_parser() -> argparse.ArgumentParser:
    # the valid names come from the library, so the CLI cannot drift from it (no torch import)
    from nasviz.partition.pipeline import PARTITION_METHODS
    from nasviz.partition.split import CRITERIA

    p = _Parser(prog='nasviz', description=__doc__)
    sub = p.add_subparsers(dest='command', required=True)

    t = sub.add_parser('train', help='train a supernet (single-path uniform sampling), checkpointed')
    t.add_argument('--profile', default='tiny')
    t.add_argument(
        '--space',
        default='nb201',
        type=_space_arg,
        help='search space: any registered name, plug-ins included (default: nb201)',
    )
    t.add_argument('--epochs', type=_int_arg(1))
    t.add_argument('--seed', type=_seed, default=0)
    t.add_argument('--out', help='checkpoint directory (default: the cache, keyed by parameters)')
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser('evaluate', help='rank subnets of a trained supernet against ground truth')
    e.add_argument('--profile', default='tiny')
    e.add_argument(
        '--space',
        default='nb201',
        type=_space_arg,
        help='search space: any registered name, plug-ins included (default: nb201)',
    )
    e.add_argument('--epochs', type=_int_arg(1))
    e.add_argument('--seed', type=_seed, default=0)
    e.add_argument('--n', type=_int_arg(2), help='number of cells to evaluate (>= 2)')
    e.add_argument('--eval-samples', type=_int_arg(1), help='test images each cell is scored on')
    e.add_argument('--run', help='checkpoint directory of the training run (default: the cache)')
    e.add_argument('--out', help='CSV of per-cell scores')
    e.set_defaults(func=_cmd_evaluate)

    b = sub.add_parser('build-microbench', help='train sampled cells standalone on the embedded dataset')
    b.add_argument('--out', help='CSV path (default: data/microbench_digits.csv)')
    b.add_argument(
        '--space',
        default='nb201',
        type=_space_arg,
        help='search space of the cells: any registered name (default: nb201)',
    )
    b.add_argument(
        '--workers',
        type=_int_arg(1, MAX_WORKERS),
        help='local pool processes (default 2); with --backend ray, the most jobs in flight (default: no cap)',
    )
    _add_backend_args(b)
    b.add_argument('--n-cells', type=_int_arg(2))
    b.add_argument('--epochs', type=_int_arg(1))
    b.add_argument('--seeds', type=_seed, nargs='+')
    b.add_argument(
        '--force',
        action='store_true',
        help='replace a finished benchmark of another recipe at --out (default: refuse, exit 2)',
    )
    b.add_argument('--train-views', type=_int_arg(1), help='warped training views of each digit (default 4)')
    b.add_argument('--test-views', type=_int_arg(1), help='warped test views of each digit (default 4)')
    b.set_defaults(func=_cmd_build_microbench)

    q = sub.add_parser('partition', help='compare SPOS, few-shot, random, GM-NAS and NAS-LID splits')
    q.add_argument('--profile', default='tiny')
    q.add_argument(
        '--space',
        default='nb201',
        type=_space_arg,
        help='search space: any registered name, plug-ins included (default: nb201)',
    )
    q.add_argument('--methods', nargs='+', default=list(PARTITION_METHODS), choices=PARTITION_METHODS)
    q.add_argument('--seeds', type=_seed, nargs='+', default=[0, 1, 2])
    q.add_argument('--epochs', type=_int_arg(1))
    q.add_argument('--n', type=_int_arg(2), help="number of cells to rank (default: the profile's n_eval)")
    q.add_argument('--eval-samples', type=_int_arg(1), help='test images each cell is scored on')
    q.add_argument('--levels', type=_int_arg(1), default=1)
    q.add_argument('--criterion', default='max_within', choices=CRITERIA, help='which edge to split')
    q.add_argument('--work-dir')
    q.add_argument('--out')
    q.add_argument(
        '--workers',
        type=_int_arg(1, MAX_WORKERS),
        help='(method, seed) runs at once: local pool processes (default 1: one after another in this '
        'process); with --backend ray, the most runs in flight (default: no cap)',
    )
    _add_backend_args(q)
    q.set_defaults(func=_cmd_partition)

    r = sub.add_parser('report', help='run every notebook through papermill into an HTML report')
    r.add_argument('--profile', default='tiny')
    r.add_argument('--out', default='reports')
    r.add_argument('--notebooks', default='notebooks')
    r.add_argument('--only', nargs='*', help='notebook names or number prefixes')
    r.add_argument('--show-code', action='store_true', help='keep code cells in the HTML pages (hidden by default)')
    r.add_argument(
        '--workers',
        type=_int_arg(1, MAX_WORKERS),
        help='notebooks at once after the first (default 1: one after another in this process); '
        'with --backend ray, the most in flight (default: no cap)',
    )
    _add_backend_args(r)
    r.set_defaults(func=_cmd_report)

    lab = sub.add_parser(
        'lab',
        help="JupyterLab on 127.0.0.1 with the notebooks, this environment's kernel "
        'and the widget extensions (offline); prints the URL with its token',
    )
    lab.add_argument('--notebooks', default='notebooks')
    lab.add_argument('--port', type=_int_arg(1, 65535), help='default: the first free port from 8888')
    lab.add_argument('--token', help='default: a random one')
    lab.set_defaults(func=_cmd_lab)

    from nasviz.proxies import PROXY_NAMES
    from nasviz.reduce.cbred import CBRED, CLUSTERINGS, DISTANCES, ENCODINGS, REDUCE_DATASETS

    x = sub.add_parser('proxies', help='training-free proxies over a search space (cached, resumable)')
    x.add_argument('--space', default='nb201')
    x.add_argument('--proxy', nargs='+', required=True, choices=PROXY_NAMES)
    x.add_argument('--archs', help='file with one architecture string per line (default: the whole space)')
    x.add_argument('--sample', type=_int_arg(1), help='a seeded uniform sample of this many architectures')
    x.add_argument('--sample-seed', type=_seed, default=0)
    x.add_argument('--data', default='cifar10', choices=('cifar10', 'digits'), help='probe images')
    x.add_argument('--seed', type=_seed, default=0, help='initialisation and probe-batch seed')
    x.add_argument(
        '--workers',
        type=_int_arg(1, MAX_WORKERS),
        help='local pool processes (default 1: this process); with --backend ray, the most chunks in '
        'flight (default: no cap)',
    )
    _add_backend_args(x)
    x.add_argument('--cached-only', action='store_true', help='compute nothing: cached values, NaN elsewhere')
    x.add_argument(
        '--per-class',
        action='store_true',
        help='input-reading proxies once per function class (an approximation: members of a class get '
        "their representative's value, column computed_on; about 3x fewer networks on NB201)",
    )
    x.add_argument('--out', required=True, help='CSV: arch_str and one column per proxy')
    x.set_defaults(func=_cmd_proxies)

    c = sub.add_parser('reduce', help='C-BRED: cluster the space, keep the most promising cluster')
    c.add_argument('--space', default='nb201')
    c.add_argument('--dataset', default='cifar100', choices=REDUCE_DATASETS)
    c.add_argument(
        '--proxies-table',
        help='CSV from `nasviz proxies` (default: $NASVIZ_PROXIES_TABLE, '
        'else the shipped data/nb201_proxies_cifar10.csv, else the sweep cache)',
    )
    c.add_argument('--score', nargs='+', default=['naswot', 'synflow'], help='proxies scoring a cluster')
    c.add_argument('--k', type=_int_arg(2), default=CBRED.k, help='number of clusters')
    c.add_argument('--distance', default=CBRED.distance, choices=DISTANCES)
    c.add_argument(
        '--encoding', default=CBRED.encoding, choices=ENCODINGS, help='path and wl see the topology; histogram does not'
    )
    c.add_argument('--clustering', default=CBRED.clustering, choices=CLUSTERINGS)
    c.add_argument(
        '--min-size',
        type=_int_arg(1),
        help='smallest selectable cluster, in cells (default: 1%% of the clustered cells, 156 on NB201)',
    )
    c.add_argument(
        '--quantile', type=float, default=0.5, help="cluster score: this quantile of each proxy's cell ranks"
    )
    c.add_argument('--max-params', type=_int_arg(1), help='keep only cells with at most this many parameters')
    c.add_argument('--seed', type=_seed, default=0)
    c.add_argument('--out', required=True, help='CSV of the selected architectures (arch_str column)')
    c.set_defaults(func=_cmd_reduce)

    from nasviz.search.names import SEARCH_METHODS

    se = sub.add_parser(
        'search',
        help='one architecture search (ISTA-NAS, DARTS, SPOS + random search, random) '
        'and the true accuracy of the cell it finds',
    )
    se.add_argument('--method', required=True, choices=SEARCH_METHODS)
    se.add_argument(
        '--space',
        default='nb201',
        type=_space_arg,
        help='a space with a search implementation, checked when the search starts: nb201 | darts '
        "(tiny: the space's micro benchmark; small: its table, and a found "
        'cell the NAS-Bench-301 sample lacks has no ground truth: exit 2)',
    )
    se.add_argument('--profile', default='tiny', help='tiny (micro benchmark) | small (NB201 table)')
    se.add_argument('--seed', type=_seed, default=0)
    se.add_argument('--epochs', type=_int_arg(1), help="search epochs (default: the profile's)")
    se.add_argument('--lam', type=_positive_float, help='ISTA-NAS: LASSO weight lambda (> 0)')
    se.add_argument(
        '--m',
        type=_int_arg(1),
        help='ISTA-NAS: compressed dimension per decision group (>= 1; default 3 on nb201, 8 on darts)',
    )
    se.add_argument('--n-candidates', type=_int_arg(1), help='spos-rs / random: cells evaluated')
    se.add_argument('--arch-lr', type=_positive_float, help='Adam learning rate of b (ISTA) / alpha (DARTS)')
    se.add_argument(
        '--one-stage',
        action='store_true',
        help='ISTA-NAS only: after the search, fix the support and keep training the same weights on '
        "the whole training split; the JSON adds the network's own test accuracy",
    )
    se.add_argument(
        '--final-epochs',
        type=_int_arg(1),
        help='with --one-stage: epochs of that final training (default: as many as --epochs)',
    )
    se.add_argument('--out', help='JSON: arch, true_accuracy, ground_truth, search_seconds, support history, ...')
    se.set_defaults(func=_cmd_search)

    au = sub.add_parser(
        'audit',
        help="audit any estimator's per-architecture scores (supernets, proxies, "
        'predictors) against a benchmark: every metric with CIs, paired verdicts',
    )
    au.add_argument(
        'scores',
        nargs='+',
        help='score file(s): CSV/TSV/parquet with an architecture column, '
        "NASLib zero-cost JSON, or the few-shot NAS release's JSON",
    )
    au.add_argument('--space', required=True, type=_space_arg, help='search space of the architectures')
    au.add_argument(
        '--truth',
        help='ground-truth column: of the benchmark (NB201: e.g. cifar10_test_200ep, '
        'the default) or of the score file (e.g. val_accuracy)',
    )
    au.add_argument('--bench', help="benchmark spec or file (default: the space's table from its environment variable)")
    au.add_argument('--arch-column', help='the architecture column (default: found by name)')
    au.add_argument('--format', default='auto', choices=('auto', 'csv', 'naslib-zc', 'fewshot'))
    au.add_argument('--estimators', nargs='+', help='score columns / proxies to audit (default: every one)')
    au.add_argument('--out', help='folder for audit.json and audit.html')
    au.add_argument('--n-resamples', type=_int_arg(100), default=2000, help='bootstrap resamples (>= 100)')
    au.add_argument('--seed', type=_seed, default=0)
    au.add_argument(
        '--k',
        nargs='+',
        type=_k_arg,
        help='K values: fractions in (0, 1) or counts (default: 0.001 0.01 0.05 0.1 0.2 0.5)',
    )
    au.add_argument(
        '--merge-isomorphic',
        action='store_true',
        help='keep one architecture per isomorphism class (counted in the output)',
    )
    au.set_defaults(func=_cmd_audit)
    return p


def _k_arg(text: str) -> float | int:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'K must be a fraction in (0, 1) or a count >= 1, got {text!r}') from None
    if 0 < v < 1:
        return v
    if v >= 1 and v.is_integer():
        return int(v)
    raise argparse.ArgumentTypeError(f'K must be a fraction in (0, 1) or a count >= 1, got {text!r}')


#: output arguments checked before any work starts: (command, attribute, option, kind)
_OUTPUTS = (
    ('evaluate', 'out', '--out', 'file'),
    ('partition', 'out', '--out', 'file'),
    ('build-microbench', 'out', '--out', 'file'),
    ('train', 'out', '--out', 'dir'),
    ('partition', 'work_dir', '--work-dir', 'dir'),
    ('report', 'out', '--out', 'dir'),
    ('proxies', 'out', '--out', 'file'),
    ('reduce', 'out', '--out', 'file'),
    ('search', 'out', '--out', 'file'),
)
#: commands that read or write the cache
_USES_CACHE = ('train', 'evaluate', 'partition', 'report', 'proxies', 'reduce', 'search')


def _preflight(args: argparse.Namespace) -> None:
    """Every check that does not need the work done: paths, cache, repeated seeds, run dirs.
    Raises one of :data:`USER_ERRORS`; prints a note when a run directory starts fresh."""
    from nasviz.cache import check_cache_dir

    cmd = args.command
    if cmd in ('train', 'evaluate', 'partition'):
        from nasviz.profiles import profile_settings

        profile_settings(args.profile)  # ValueError listing the profiles
    for command, attr, option, kind in _OUTPUTS:
        value = getattr(args, attr, None)
        if command == cmd and value is not None:
            (check_output_file if kind == 'file' else check_output_dir)(value, option)
    seeds = getattr(args, 'seeds', None)
    if seeds:
        dup = sorted({s for s in seeds if seeds.count(s) > 1})
        if dup:
            raise ValueError(
                f'--seeds: seed(s) {dup} given more than once; each seed is one run, '
                'a repeat would count twice in the mean'
            )
    if cmd in _USES_CACHE:
        check_cache_dir()
    if cmd == 'evaluate' and args.run is not None:
        from nasviz.supernet.train import CKPT_NAME

        run = Path(args.run)
        if not (run / CKPT_NAME).is_file():
            why = 'does not exist' if not run.exists() else f'holds no {CKPT_NAME}'
            raise FileNotFoundError(
                f'--run: {run} {why}, so there is no training run to evaluate; '
                f'train one with `nasviz train --out {run}`, or leave --run out '
                'to use the cache'
            )
    for option, directory in (
        ('--run', args.run if cmd == 'evaluate' else None),
        ('--out', args.out if cmd == 'train' else None),
    ):
        if directory is not None:  # a file there that nasviz did not write: exit 2 before any work
            from nasviz.ownership import claim
            from nasviz.supernet.train import RUN_FILES

            claim(directory, RUN_FILES, option, record=False)
    fresh = []
    if cmd == 'train' and args.out is not None:
        from nasviz.supernet.train import CKPT_NAME

        if not (Path(args.out) / CKPT_NAME).is_file():
            fresh.append(('--out', args.out))
    if cmd == 'partition' and args.work_dir is not None and not Path(args.work_dir).exists():
        fresh.append(('--work-dir', args.work_dir))
    for option, path in fresh:
        print(
            f'nasviz {cmd}: {option} {path} holds no earlier run: starting a fresh one there '
            '(check the path if you meant to resume)',
            file=sys.stderr,
        )


def _message(exc: BaseException) -> str:
    # a KeyError's str() is the repr of its argument; show the text
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return str(text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _preflight(args)
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        print(f'nasviz {args.command}: error: {_message(exc)}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
