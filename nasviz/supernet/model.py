"""The NAS-Bench-201 networks, re-exported where earlier code and notebooks import them.

The network code belongs to the NAS-Bench-201 space (:mod:`nasviz.spaces.nb201_network`); other
spaces' supernets come from ``nasviz.spaces.get_space(name).build_supernet()``.
"""
from nasviz.spaces.nb201_network import (NB201Supernet, SearchCell, arch_param_count, count_parameters,
                                         standalone)

__all__ = ['NB201Supernet', 'SearchCell', 'standalone', 'count_parameters', 'arch_param_count']
