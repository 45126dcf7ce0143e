"""NAS-Bench-201 operations, re-exported from :mod:`nasviz.spaces.nb201_ops` (their home)."""
from nasviz.spaces.nb201_ops import ResNetBasicBlock, ReLUConvBN, Zero, get_op

__all__ = ['ReLUConvBN', 'Zero', 'get_op', 'ResNetBasicBlock']
