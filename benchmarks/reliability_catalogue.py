"""Reliability catalogue: runs the cases of ``tests/test_bad_inputs.py`` (``RELIABILITY``: a
user's files touched unasked, silent wrong results, tracebacks, unclear errors) against the
nasviz on ``PYTHONPATH`` and counts, per class, the cases that came out right and those that
fell into the class. Run it on another checkout to compare (the cases are read from this file's
checkout; only the library under test changes):

    OMP_NUM_THREADS=1 python benchmarks/reliability_catalogue.py
    PYTHONPATH=/path/to/other/checkout python benchmarks/reliability_catalogue.py --out before.csv

Each case runs in a fresh temporary folder with its own cache; on code that does not refuse a
request, a case does the (small) work it asks for, so a run takes a few minutes there.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent.parent
CLASSES = ('data loss', 'silent wrong', 'traceback', 'unclear')


def load_cases() -> dict:
    spec = importlib.util.spec_from_file_location('catalogue_cases', HERE / 'tests' / 'test_bad_inputs.py')
    mod = importlib.util.module_from_spec(spec)
    sys.modules['catalogue_cases'] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--timeout', type=int, default=600, help='seconds per case before it counts as a hang')
    ap.add_argument('--only', nargs='*', help='case names to run (default: all)')
    ap.add_argument('--out', help='write one row per case (CSV) here')
    a = ap.parse_args(argv)
    mod = load_cases()
    import nasviz

    cases = {k: v for k, v in mod.RELIABILITY.items() if not a.only or k in a.only}
    rows = []

    def alarm(*_):
        raise TimeoutError

    signal.signal(signal.SIGALRM, alarm)
    with tempfile.TemporaryDirectory() as root:
        for i, (name, case) in enumerate(cases.items()):
            t0 = time.perf_counter()
            signal.alarm(a.timeout)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    got = mod.reliability_outcome(case, Path(root) / f'case{i}')
            except TimeoutError:
                got = 'hang'
            finally:
                signal.alarm(0)
            rows.append(dict(case=name, cls=case.cls, outcome=got, seconds=round(time.perf_counter() - t0, 1)))
            print(f'{got:>12}  {case.cls:>12}  {name}', flush=True)
    df = pd.DataFrame(rows)
    table = pd.crosstab(df['cls'], df['outcome'], margins=True, margins_name='total').reindex(list(CLASSES) + ['total'])
    print(f'\nnasviz from {Path(nasviz.__file__).parent}: cases by class (rows) and outcome (columns)')
    print(table.fillna(0).astype(int).to_string())
    if a.out:
        df.to_csv(a.out, index=False)
    return df


if __name__ == '__main__':
    main()
