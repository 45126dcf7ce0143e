"""Load time of the NAS-Bench-201 table, beside a bare ``pandas.read_csv`` of the same file.

    python benchmarks/table_load.py [--path TABLE] [--repeats 5]

Prints the median seconds of ``NB201Table(path)`` and of ``pandas.read_csv(path)`` measured side
by side in one run, and their ratio (the cost of validation and the index on top of parsing).
Target: the table loads in under 1 s on 2 cores, a ratio under about 3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pandas as pd

from nasviz.bench import NB201Table


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument(
        '--path',
        default=os.environ.get('NASVIZ_NB201_TABLE'),
        help='the NB201 accuracy table (default: NASVIZ_NB201_TABLE)',
    )
    ap.add_argument('--repeats', type=int, default=5)
    args = ap.parse_args(argv)
    if not args.path:
        ap.error('no table: pass --path or set NASVIZ_NB201_TABLE')
    if args.repeats < 1:
        ap.error('--repeats must be at least 1')
    bare = _median_seconds(lambda: pd.read_csv(args.path), args.repeats)
    ours = _median_seconds(lambda: NB201Table(args.path), args.repeats)
    print(f'read_csv_s={bare:.3f} nb201table_s={ours:.3f} ratio={ours / bare:.2f} (median of {args.repeats})')


if __name__ == '__main__':
    main()
