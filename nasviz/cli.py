"""The ``nasviz`` command line: train, evaluate, build-microbench, partition, report."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_train(a: argparse.Namespace) -> int:
    from nasviz.experiment import load_data, settings_for, trained_supernet

    s = settings_for(a.profile, epochs=a.epochs)
    data = load_data(s)
    model, hist = trained_supernet(s, data, seed=a.seed, run_dir=a.out)
    print(hist.tail(3).to_string(index=False))
    print(f'checkpoint: {Path(a.out) / "checkpoint.pt" if a.out else "(cache)"}')
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from nasviz.analysis.ranking import op_preference, ranking_with_baselines
    from nasviz.experiment import (eval_archs, evaluate_cached, load_bench, load_data, settings_for,
                                   trained_supernet)

    s = settings_for(a.profile, epochs=a.epochs, n_eval=a.n, eval_samples=a.eval_samples)
    data, bench = load_data(s), load_bench(s)
    model, _ = trained_supernet(s, data, seed=a.seed, run_dir=a.run)
    archs = eval_archs(s, bench, seed=a.seed)
    df = evaluate_cached(model, archs, data, s)
    df['truth'] = bench.accuracies(archs)
    print(ranking_with_baselines({'supernet': df['score'].to_numpy()}, bench, archs).to_string())
    print('\nwhich ops each ranking rewards (Kendall tau of op count per cell):')
    print(op_preference(archs, df['score'], df['truth']).round(3).to_string())
    if a.out:
        df.drop(columns='arch').to_csv(a.out, index=False)
        print(f'wrote {a.out}')
    return 0


def _cmd_build_microbench(a: argparse.Namespace) -> int:
    from dataclasses import replace

    from nasviz.bench.build import MicroBenchRecipe, build_microbench

    r = MicroBenchRecipe()
    changes = {k: v for k, v in dict(n_cells=a.n_cells, epochs=a.epochs,
                                     seeds=tuple(a.seeds) if a.seeds else None).items() if v is not None}
    mb = build_microbench(replace(r, **changes), out=a.out, workers=a.workers)
    print(json.dumps(mb.summary, indent=1))
    return 0


def _cmd_partition(a: argparse.Namespace) -> int:
    from nasviz.experiment import eval_archs, load_bench, load_data, partition_config, settings_for, train_config
    from nasviz.partition.pipeline import compare_methods, summarize

    s = settings_for(a.profile, epochs=a.epochs, n_eval=a.n, eval_samples=a.eval_samples)
    data, bench = load_data(s), load_bench(s)
    archs = eval_archs(s, bench)
    base = partition_config(s, 'spos', n_splits=a.levels, criterion=a.criterion)
    df = compare_methods(a.methods, a.seeds, data, s['C'], s['N'], bench, archs, base,
                         train_config(s), work_dir=a.work_dir)
    print(summarize(df).to_string())
    if a.out:
        df.to_csv(a.out, index=False)
        print(f'wrote {a.out}')
    return 0


def _cmd_report(a: argparse.Namespace) -> int:
    from nasviz.report import ReportError, run_report

    try:
        res = run_report(notebooks_dir=a.notebooks, out_dir=a.out, profile=a.profile,
                         notebooks=a.only or None, show_code=a.show_code)
    except ReportError as e:
        print(f'report failed: {e}', file=sys.stderr)
        return 1
    print(res.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    # the valid names come from the library, so the CLI cannot drift from it (no torch import)
    from nasviz.partition.pipeline import PARTITION_METHODS
    from nasviz.partition.split import CRITERIA

    p = argparse.ArgumentParser(prog='nasviz', description=__doc__)
    sub = p.add_subparsers(dest='command', required=True)

    t = sub.add_parser('train', help='train a supernet (single-path uniform sampling), checkpointed')
    t.add_argument('--profile', default='tiny')
    t.add_argument('--epochs', type=int)
    t.add_argument('--seed', type=int, default=0)
    t.add_argument('--out', help='checkpoint directory (default: the cache, keyed by parameters)')
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser('evaluate', help='rank subnets of a trained supernet against ground truth')
    e.add_argument('--profile', default='tiny')
    e.add_argument('--epochs', type=int)
    e.add_argument('--seed', type=int, default=0)
    e.add_argument('--n', type=int, help='number of cells to evaluate')
    e.add_argument('--eval-samples', type=int, help='test images each cell is scored on')
    e.add_argument('--run', help='checkpoint directory of the training run (default: the cache)')
    e.add_argument('--out', help='CSV of per-cell scores')
    e.set_defaults(func=_cmd_evaluate)

    b = sub.add_parser('build-microbench', help='train sampled cells standalone on the embedded dataset')
    b.add_argument('--out', help='CSV path (default: data/microbench_digits.csv)')
    b.add_argument('--workers', type=int, default=2)
    b.add_argument('--n-cells', type=int)
    b.add_argument('--epochs', type=int)
    b.add_argument('--seeds', type=int, nargs='+')
    b.set_defaults(func=_cmd_build_microbench)

    q = sub.add_parser('partition', help='compare SPOS, few-shot, random, GM-NAS and NAS-LID splits')
    q.add_argument('--profile', default='tiny')
    q.add_argument('--methods', nargs='+', default=list(PARTITION_METHODS), choices=PARTITION_METHODS)
    q.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    q.add_argument('--epochs', type=int)
    q.add_argument('--n', type=int, help='number of cells to rank (default: the profile\'s n_eval)')
    q.add_argument('--eval-samples', type=int, help='test images each cell is scored on')
    q.add_argument('--levels', type=int, default=1)
    q.add_argument('--criterion', default='max_within', choices=CRITERIA, help='which edge to split')
    q.add_argument('--work-dir')
    q.add_argument('--out')
    q.set_defaults(func=_cmd_partition)

    r = sub.add_parser('report', help='run every notebook through papermill into an HTML report')
    r.add_argument('--profile', default='tiny')
    r.add_argument('--out', default='reports')
    r.add_argument('--notebooks', default='notebooks')
    r.add_argument('--only', nargs='*', help='notebook names or number prefixes')
    r.add_argument('--show-code', action='store_true',
                   help='keep code cells in the HTML pages (hidden by default)')
    r.set_defaults(func=_cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f'nasviz {args.command}: error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
