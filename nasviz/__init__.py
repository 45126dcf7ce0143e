"""nasviz: make the hidden behaviour of weight-sharing NAS supernets visible and measurable.

``import nasviz`` stays light: plotting, widgets and UMAP load only from ``nasviz.viz``.
"""

from nasviz.seeding import set_seed

__version__ = '0.1.0'
__all__ = ['set_seed', '__version__']
