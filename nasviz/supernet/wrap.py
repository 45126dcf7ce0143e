"""Bring your own supernet: any ``torch.nn.Module`` with ``forward(x, arch)`` made into a
supernet the rest of nasviz measures (BN-recalibrated evaluation, LID and gradient features,
interference, partition splits).

What nasviz needs from a supernet, and where :func:`wrap` takes it from:

* the search space (``space``) and the mask the module covers (default: the whole space);
* ``forward(x, arch)``: the module's own, called with the architecture value (not its string);
* the output of every block for layer-wise LID: the module's ``forward_intermediates(x, arch)``
  when it has one, else forward hooks on the submodules named in ``block_names``;
* which parameters every path shares (``shared``) and which belong to a choice of a slot
  (``owned_by``), for gradient features and interference.

>>> net = wrap(MyChain(), 'nb201', block_names=['cells.0', 'cells.1'],
...            owned_by=lambda name: my_slot_and_choice(name))
>>> evaluate_archs(net, archs, data)        # BN recalibrated per cell
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nasviz.spaces import SearchSpace, SlotMask, get_space
from nasviz.validate import short_repr

#: ``owned_by`` as a callable: a parameter name -> the ``(slot, choice)`` owning it, or None (shared)
OwnerFn = Callable[[str], 'tuple[str, str] | None']

__all__ = ['WrappedSupernet', 'wrap']


class WrappedSupernet(nn.Module):
    """A user module behind the interface of nasviz's supernets (see :func:`wrap`). The module is
    held as ``self.module`` (its tensors are named ``module.<name>``)."""

    def __init__(
        self,
        module: nn.Module,
        space: str | SearchSpace,
        block_names: Sequence[str] | None = None,
        shared: Iterable[str] | None = None,
        owned_by: Mapping[tuple[str, str], Iterable[str]] | OwnerFn | None = None,
        mask: SlotMask | None = None,
        size: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise ValueError(f'wrap: module must be a torch.nn.Module, got {type(module).__name__}')
        if not callable(getattr(module, 'forward', None)):
            raise ValueError(f'wrap: {type(module).__name__} has no forward(x, arch)')
        sp = get_space(space)
        self.module = module
        #: the search space's name, as every nasviz supernet states it
        self.space = sp.name
        self.mask = sp.check_mask(mask) if mask is not None else sp.root_mask()
        self.fixed_arch = None
        #: size arguments recorded beside checkpoints (the module's own, when it has them)
        self.size = dict(size) if size is not None else dict(getattr(module, 'size', {}) or {})
        self._space_obj = sp
        names = dict(module.named_parameters())
        self._owner = self._owners(sp, names, owned_by)
        if shared is None:
            self._shared = [n for n in names if n not in self._owner]
        else:
            shared = [str(s) for s in shared]
            unknown = [s for s in shared if not any(n == s or n.startswith(s + '.') for n in names)]
            if unknown:
                raise ValueError(f'wrap: shared names {unknown[:5]} match no parameter of {type(module).__name__}')
            self._shared = [n for n in names if any(n == s or n.startswith(s + '.') for s in shared)]
            both = [n for n in self._shared if n in self._owner]
            if both:
                raise ValueError(f'wrap: parameters {both[:5]} are both shared and owned by a choice')
        self._own_intermediates = callable(getattr(module, 'forward_intermediates', None))
        if block_names is None:
            block_names = list(getattr(module, 'block_names', []) or [])
        self._block_names = [str(b) for b in block_names]
        if not self._own_intermediates and self._block_names:
            mods = dict(module.named_modules())
            missing = [b for b in self._block_names if b not in mods]
            if missing:
                raise ValueError(
                    f'wrap: block_names {missing[:5]} are not submodules of {type(module).__name__} '
                    f'(submodules: {short_repr(list(mods)[1:20])})'
                )

    @staticmethod
    def _owners(sp: SearchSpace, names: Mapping[str, nn.Parameter], owned_by: Any) -> dict[str, tuple[str, str]]:
        owner: dict[str, tuple[str, str]] = {}
        if owned_by is None:
            return owner
        if callable(owned_by):
            for n in names:
                got = owned_by(n)
                if got is not None:
                    owner[n] = (str(got[0]), str(got[1]))
        elif isinstance(owned_by, Mapping):
            for key, prefixes in owned_by.items():
                if not (isinstance(key, tuple) and len(key) == 2):
                    raise ValueError(f'wrap: owned_by keys must be (slot, choice) pairs, got {short_repr(key)}')
                prefixes = [prefixes] if isinstance(prefixes, str) else list(prefixes)
                hit = [n for n in names if any(n == p or n.startswith(p + '.') for p in prefixes)]
                if not hit:
                    raise ValueError(f'wrap: owned_by[{key!r}] = {short_repr(prefixes)} matches no parameter')
                for n in hit:
                    owner[n] = (str(key[0]), str(key[1]))
        else:
            raise ValueError(
                'wrap: owned_by must be a mapping (slot, choice) -> parameter names, or a function '
                f'parameter name -> (slot, choice) or None; got {type(owned_by).__name__}'
            )
        for n, (slot, choice) in owner.items():
            if slot not in sp.slots:
                raise ValueError(f'wrap: parameter {n!r} is owned by unknown slot {slot!r} of {sp.name}')
            if choice not in sp.choices(slot):
                raise ValueError(f'wrap: parameter {n!r} is owned by unknown choice {choice!r} of slot {slot!r}')
        return owner

    # -- the supernet interface -----------------------------------------------------------
    def _arch(self, arch: Any) -> Any:
        if arch is None:
            raise ValueError(f'this wrapped {type(self.module).__name__} needs an arch: forward(x, arch)')
        a = self._space_obj.check(arch)
        if not self.mask.contains(a):
            raise ValueError(f"{a} is outside this supernet's mask ({self._space_obj.describe_mask(self.mask)})")
        return a

    def forward(self, x: torch.Tensor, arch: Any = None) -> torch.Tensor:
        return self.module(x, self._arch(arch))

    @property
    def block_names(self) -> list[str]:
        return list(self._block_names)

    def forward_intermediates(self, x: torch.Tensor, arch: Any = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and every block's output: the module's own ``forward_intermediates``, else the
        outputs of the ``block_names`` submodules (the last call of each, in block order)."""
        a = self._arch(arch)
        if self._own_intermediates:
            return self.module.forward_intermediates(x, a)
        if not self._block_names:
            raise ValueError(
                f'wrapped {type(self.module).__name__} has no forward_intermediates and no block_names: '
                'layer-wise features need one of them'
            )
        mods = dict(self.module.named_modules())
        out: dict[str, torch.Tensor] = {}
        hooks = [mods[b].register_forward_hook(lambda _m, _i, o, b=b: out.__setitem__(b, o)) for b in self._block_names]
        try:
            logits = self.module(x, a)
        finally:
            for h in hooks:
                h.remove()
        missing = [b for b in self._block_names if b not in out]
        if missing:
            raise ValueError(
                f'blocks {missing} did not run on {a}; forward_intermediates needs every block to run '
                '(give the module a forward_intermediates of its own)'
            )
        return logits, [out[b] for b in self._block_names]

    def shared_parameters(self) -> list[nn.Parameter]:
        names = dict(self.module.named_parameters())
        return [names[n] for n in self._shared]

    def choice_parameters(self, slot: str, choice: str | None = None) -> list[nn.Parameter]:
        sp = self._space_obj
        if slot not in sp.slots:
            raise ValueError(f'unknown slot {short_repr(slot)} for space {sp.name}; slots are {sp.slots}')
        if choice is not None and choice not in sp.choices(slot):
            raise ValueError(f'unknown choice {short_repr(choice)} for slot {slot!r}; choices are {sp.choices(slot)}')
        names = dict(self.module.named_parameters())
        return [names[n] for n, (s, c) in self._owner.items() if s == slot and (choice is None or c == choice)]

    def parameter_layer(self, name: str) -> str:
        """The layer a parameter (named as in ``named_parameters()``) belongs to: the block whose
        submodule holds it, else ``'stem'`` before the first block's parameters and ``'head'``
        after them (for per-layer interference)."""
        rel = name[len('module.') :] if name.startswith('module.') else name
        for b in self._block_names:
            if rel.startswith(b + '.'):
                return b
        order = [n for n, _ in self.module.named_parameters()]
        first = next(
            (i for i, n in enumerate(order) if any(n.startswith(b + '.') for b in self._block_names)), len(order)
        )
        return 'stem' if rel in order and order.index(rel) < first else 'head'

    def extra_repr(self) -> str:
        return f'space={self.space!r}, blocks={len(self._block_names)}, owned={len(self._owner)} tensors'


def wrap(
    module: nn.Module,
    space: str | SearchSpace,
    block_names: Sequence[str] | None = None,
    shared: Iterable[str] | None = None,
    owned_by: Mapping[tuple[str, str], Iterable[str]] | OwnerFn | None = None,
    mask: SlotMask | None = None,
    size: Mapping[str, Any] | None = None,
) -> WrappedSupernet:
    """Make ``module`` (``forward(x, arch)``, optionally ``forward_intermediates(x, arch)``) a
    supernet of ``space`` for nasviz's evaluation, features, interference and partition code.

    ``block_names``: submodules whose outputs are the blocks for layer-wise LID (unless the module
    has ``forward_intermediates``). ``owned_by``: which parameters belong to a choice of a slot, as
    ``{(slot, choice): [parameter or submodule names]}`` or a function ``name -> (slot, choice)``
    or None. ``shared``: parameter or submodule names every path uses (default: every parameter no
    choice owns). ``mask``: the choices the module holds (default: the whole space)."""
    return WrappedSupernet(
        module, space, block_names=block_names, shared=shared, owned_by=owned_by, mask=mask, size=size
    )
