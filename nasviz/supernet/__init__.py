"""Weight-sharing supernets of any space: single-path training (:mod:`nasviz.supernet.train`),
BN-recalibrated evaluation (:mod:`nasviz.supernet.evaluate`), a user's own supernet made usable
(:func:`wrap`) and nasviz's checkpoints loaded with their space (:func:`load`). The networks
themselves belong to the spaces (``get_space(name).build_supernet()``)."""

from nasviz.supernet.checkpoint import LoadedSupernet, checkpoint_problem, load
from nasviz.supernet.wrap import WrappedSupernet, wrap

__all__ = ['wrap', 'WrappedSupernet', 'load', 'LoadedSupernet', 'checkpoint_problem']
