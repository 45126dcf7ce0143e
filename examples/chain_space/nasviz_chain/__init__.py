"""A ProxylessNAS-like chain search space for nasviz (a plug-in, registered through the
``nasviz.spaces`` entry point as ``'chain'``)."""

from nasviz_chain.arch import ChainArch
from nasviz_chain.network import ChainSupernet
from nasviz_chain.space import ChainSpace

__all__ = ['ChainArch', 'ChainSpace', 'ChainSupernet']
