"""Training-free proxies of architecture quality, and resumable sweeps over a search space.

Proxies (``PROXY_NAMES``; higher = better after each one's sign): ``params``, ``flops``,
``synflow`` (log), ``snip``, ``grasp``, ``fisher``, ``grad_norm``, ``jacob_cov``, ``naswot``,
``zen``, ``ntk_cond`` (negated log condition number), ``linear_regions``. Each is a function of a
plain ``nn.Module`` and a batch (:mod:`nasviz.proxies.registry`); :func:`sweep_proxies` runs them
over many architectures of a space with a per-(space, arch, proxy, data, batch, seed) cache,
resumable after a kill, with worker processes (:mod:`nasviz.proxies.sweep`).

Importing this package is light (no torch) until a proxy function or the sweep is used, so the
command line can list the names.
"""

from __future__ import annotations

import importlib
from typing import Any

#: every proxy, in the order tables list them (checked against the registry in the tests)
PROXY_NAMES: tuple[str, ...] = (
    'params',
    'flops',
    'synflow',
    'snip',
    'grasp',
    'fisher',
    'grad_norm',
    'jacob_cov',
    'naswot',
    'zen',
    'ntk_cond',
    'linear_regions',
)

_LAZY = {
    'PROXIES': 'registry',
    'ProxySpec': 'registry',
    'batch_size_needed': 'registry',
    'check_proxies': 'registry',
    'compute_proxies': 'registry',
    'SweepConfig': 'sweep',
    'ProxySweep': 'sweep',
    'sweep_proxies': 'sweep',
    'probe_batch': 'sweep',
    'proxies_for_arch': 'sweep',
}

__all__ = ['PROXY_NAMES', *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f'nasviz.proxies.{_LAZY[name]}'), name)
    raise AttributeError(f'module nasviz.proxies has no attribute {name!r}')
