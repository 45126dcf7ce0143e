"""Write a nasviz proxy table as a NASLib zero-cost benchmark file (``zc_nasbench201.json`` layout).

    python scripts/proxies_to_naslib_zc.py OUT.json [--proxies data/nb201_proxies_cifar10.csv]

The file maps ``dataset -> str(NASLib op-index tuple) -> proxy -> {"score", "time"}`` plus each
architecture's ``val_accuracy`` (NB201's CIFAR-10 validation accuracy at 200 epochs, as NASLib's
benchmark stores it), so ``nasviz audit OUT.json --space nb201 --format naslib-zc`` reads it as it
reads NASLib's own files. It refuses to overwrite an existing file.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from nasviz.audit import to_naslib_nb201
from nasviz.bench import NB201Table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out', type=Path, help='the JSON file to write (must not exist)')
    ap.add_argument(
        '--proxies',
        type=Path,
        default=Path('data/nb201_proxies_cifar10.csv'),
        help='a nasviz proxy table with an arch_str column',
    )
    args = ap.parse_args(argv)
    if args.out.exists():
        ap.error(f'{args.out} exists: choose another name')
    df = pd.read_csv(args.proxies, comment='#')
    if 'arch_str' not in df.columns:
        ap.error(f'{args.proxies} has no arch_str column')
    acc = NB201Table().accuracies(df['arch_str'], 'cifar10valid', 'valid_200ep')
    proxies = [c for c in df.columns if c != 'arch_str' and pd.api.types.is_numeric_dtype(df[c])]
    out = {}
    for (_, row), a in zip(df.iterrows(), acc):
        entry = {
            p: {'score': float(row[p]), 'time': None}
            for p in proxies
            if not (isinstance(row[p], float) and math.isnan(row[p]))
        }
        entry['val_accuracy'] = float(a)
        out[str(to_naslib_nb201(row['arch_str']))] = entry
    tmp = args.out.with_suffix(args.out.suffix + '.tmp')
    tmp.write_text(json.dumps({'cifar10': out}))
    tmp.replace(args.out)
    print(f'{len(out)} architectures, {len(proxies)} proxies written to {args.out}')


if __name__ == '__main__':
    main()
