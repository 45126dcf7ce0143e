"""Our proxies against NASLib's implementations (automl/NASLib,
``naslib/predictors/utils/pruners/measures``) on the same NB201 networks, the same seeded
initial weights and the same CIFAR-10 probe batch: per proxy, Spearman between ours and theirs.

NASLib is not a dependency: pass a git directory of the NASLib repository (``--naslib``); the
measure files and ``p_utils.py`` are written from it into a temporary folder (``models`` stubbed,
nothing else of NASLib imported) and called directly on our ``nn.Module`` networks, bypassing
NASLib's graph wrapper (its ``get_prunable_copy``), each on a freshly built network. Per-layer
arrays are summed as NASLib's predictor does. Our values come from the proxy cache where it holds
them (the whole-space sweep), else are computed here.

    python benchmarks/proxies_external.py --naslib /path/to/NASLib/.git --cells 60
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from nasviz.proxies import ProxySweep, SweepConfig, compute_proxies, probe_batch
from nasviz.proxies.sweep import get_space

MEASURES = (
    '__init__',
    'synflow',
    'snip',
    'grad_norm',
    'jacov',
    'nwot',
    'fisher',
    'grasp',
    'plain',
    'epe_nas',
    'zen',
    'l2_norm',
)
#: our name -> (NASLib measure, what their function returns)
PAIRS = {'synflow': 'synflow', 'snip': 'snip', 'grad_norm': 'grad_norm', 'jacob_cov': 'jacov', 'naswot': 'nwot'}


def load_naslib(git_dir: str) -> dict:
    """NASLib's measure functions, from the files of ``git_dir`` written into a temporary package."""
    root = Path(tempfile.mkdtemp(prefix='naslib_measures-'))
    pkg = root / 'naslib_ext'
    (pkg / 'pruners' / 'measures').mkdir(parents=True)
    (pkg / '__init__.py').write_text('')
    (pkg / 'models.py').write_text('')  # p_utils does `from ..models import *`
    (pkg / 'pruners' / '__init__.py').write_text('')

    def show(path: str) -> str:
        return subprocess.run(
            ['git', '--git-dir', git_dir, 'show', f'HEAD:{path}'], check=True, capture_output=True, text=True
        ).stdout

    base = 'naslib/predictors/utils/pruners'
    (pkg / 'pruners' / 'p_utils.py').write_text(
        show(f'{base}/p_utils.py').replace('from ..models import *', 'from ..models import *  # noqa')
    )
    for m in MEASURES:
        (pkg / 'pruners' / 'measures' / f'{m}.py').write_text(show(f'{base}/measures/{m}.py'))
    sys.path.insert(0, str(root))
    mod = {
        m: importlib.import_module(f'naslib_ext.pruners.measures.{m}')
        for m in ('synflow', 'snip', 'grad_norm', 'jacov', 'nwot')
    }
    return dict(
        synflow=mod['synflow'].compute_synflow_per_weight,
        snip=mod['snip'].compute_snip_per_weight,
        grad_norm=mod['grad_norm'].get_grad_norm_arr,
        jacov=mod['jacov'].compute_jacob_cov,
        nwot=mod['nwot'].compute_nwot,
    )


def _total(v) -> float:
    if isinstance(v, (list, tuple)):
        return float(sum(float(t.sum()) for t in v))
    return float(np.real(v))


def theirs(fns: dict, space, arch, x, y) -> dict[str, float]:
    out = {}
    loss = torch.nn.CrossEntropyLoss()
    for ours, name in PAIRS.items():
        torch.manual_seed(0)
        net = space.build_network(arch)
        net.train()
        if name == 'synflow':  # NASLib copies the network without BN for synflow (bn=False)
            for m in net.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.forward = lambda t: t
            v = fns[name](net, x[:1], y[:1], mode='param')
            out[ours] = float(np.log(_total(v))) if _total(v) > 0 else float('-inf')  # ours is the log
        elif name in ('snip', 'grad_norm'):
            v = (
                fns[name](net, x[:64], y[:64], mode='param', loss_fn=loss)
                if name == 'snip'
                else fns[name](net, x[:64], y[:64], loss_fn=loss)
            )
            out[ours] = _total(v)
        else:
            if name == 'nwot':  # its hook calls .view on the ReLU input: hand it a contiguous copy (same values)
                for m in net.modules():
                    if 'ReLU' in str(type(m)):
                        m.register_forward_pre_hook(lambda _m, i: tuple(t.contiguous() for t in i))
            out[ours] = _total(fns[name](net, x[:128].clone(), y[:128]))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--naslib', required=True, help='git directory of automl/NASLib')
    ap.add_argument('--cells', type=int, default=60)
    ap.add_argument('--offset', type=int, default=1725, help='first position in the sweep order')
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(__file__).parent))
    from proxies import sweep_order

    space = get_space('nb201')
    order = [s for s in sweep_order()[a.offset :] if not space.is_degenerate(space.from_str(s))][: a.cells]
    ours_t = ProxySweep(list(PAIRS), SweepConfig(), progress=False).run(order, compute=False).set_index('arch_str')
    x, y, _ = probe_batch('cifar10', 128, 0)
    fns = load_naslib(a.naslib)
    rows = []
    for i, s in enumerate(order):
        arch = space.from_str(s)
        mine = ours_t.loc[s].to_dict()
        if any(not np.isfinite(v) for v in mine.values()):
            torch.manual_seed(0)
            mine = compute_proxies(space.build_network(arch), x, y, list(PAIRS))
        rows.append((s, mine, theirs(fns, space, arch, x, y)))
        print(f'{i + 1}/{len(order)}', end='\r', flush=True)
    res = {}
    print(
        f'\n{len(rows)} non-degenerate NB201 cells (positions {a.offset}.. of the sweep order), seed 0, '
        'CIFAR-10 probe batch; Spearman ours vs NASLib, max relative difference:'
    )
    for p in PAIRS:
        u = np.array([r[1][p] for r in rows])
        v = np.array([r[2][p] for r in rows])
        ok = np.isfinite(u) & np.isfinite(v)
        rho = spearmanr(u[ok], v[ok]).statistic
        rel = float(np.max(np.abs(u[ok] - v[ok]) / np.maximum(np.abs(v[ok]), 1e-12)))
        res[p] = dict(n=int(ok.sum()), spearman=float(rho), max_rel_diff=rel)
        print(f'  {p:10s} vs NASLib {PAIRS[p]:9s}: n={ok.sum()}, Spearman {rho:.4f}, max relative difference {rel:.2e}')
    return res


if __name__ == '__main__':
    main()
