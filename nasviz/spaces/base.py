"""What every search space provides: the plug-in interface and a registry.

Over 500 lines on purpose: this is the whole contract a plug-in space implements (the
:class:`SearchSpace` base with its documented defaults, :class:`SlotMask`, the registry and its
entry-point discovery), kept in one place so a space author reads one file.

A search space owns its vocabulary. Everything outside a space module speaks of *slots* (the
decisions an architecture makes: an NB201 edge, an NB101 node op or edge, a DARTS node input or
op) and *choices* (the values a slot can take, as strings). An architecture value knows its space
(``arch.space`` is the space's name) and answers ``arch.choice(slot)``.

A :class:`SlotMask` allows a subset of choices per slot; it generalises NB201's ``OpMask``: a
sub-supernet is a mask in any space. In spaces with constraints across slots (NB101's edge budget,
DARTS's distinct inputs) a mask is a product set intersected with the valid architectures.

A new space subclasses :class:`SearchSpace` and is registered with :func:`register_space` or,
from an installed package, through the ``nasviz.spaces`` entry-point group (``name =
"module:factory"``, the factory returning the space); it is admitted once
``tests/test_space_conformance.py`` passes for it.
"""

from __future__ import annotations

import itertools
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # the interface names torch types; importing a space's vocabulary needs no torch
    from torch import nn

from nasviz.profiles import Profile
from nasviz.validate import check_count, short_repr


# ---------------------------------------------------------------------------------------------
# Architecture values
# ---------------------------------------------------------------------------------------------
@runtime_checkable
class Architecture(Protocol):
    """What code outside a space may rely on in an architecture value of any space: the name of
    its space and the choice it takes on each slot (values are small, hashable and immutable;
    ``str(arch)`` is the space's string)."""

    space: ClassVar[str]

    def choice(self, slot: str) -> str: ...


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlotMask:
    """Allowed choices for each slot of one space (``allowed`` in the space's slot order)."""

    space: str
    slots: tuple[str, ...]
    allowed: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if len(self.slots) != len(self.allowed):
            raise ValueError(
                f'SlotMask for {self.space!r}: {len(self.slots)} slots but {len(self.allowed)} allowed-choice groups'
            )
        norm = []
        for slot, choices in zip(self.slots, self.allowed):
            if isinstance(choices, str) or not hasattr(choices, '__iter__'):
                raise ValueError(
                    f'SlotMask for {self.space!r}: allowed choices of slot {slot!r} must be a '
                    f'sequence of strings, got {short_repr(choices)}'
                )
            c = tuple(dict.fromkeys(str(x) for x in choices))
            if not c:
                raise ValueError(f'SlotMask for {self.space!r}: slot {slot!r} allows no choice')
            norm.append(c)
        object.__setattr__(self, 'allowed', tuple(norm))
        object.__setattr__(self, 'slots', tuple(self.slots))

    def choices_at(self, i: int) -> tuple[str, ...]:
        """Allowed choices of the ``i``-th slot."""
        return self.allowed[i]

    def to_list(self) -> list[list[str]]:
        """Allowed choices per slot, in slot order (plain data for cache keys and checkpoints)."""
        return [list(a) for a in self.allowed]

    def allowed_for(self, slot: str) -> tuple[str, ...]:
        try:
            return self.allowed[self.slots.index(slot)]
        except ValueError:
            raise ValueError(f'unknown slot {short_repr(slot)} for space {self.space!r}') from None

    def contains(self, arch: Any) -> bool:
        """True when every slot of ``arch`` takes an allowed choice (``arch`` from this space)."""
        space = getattr(arch, 'space', None)
        if space != self.space:
            raise ValueError(f'a {self.space} mask cannot hold an architecture of space {space!r}: {short_repr(arch)}')
        return all(arch.choice(s) in a for s, a in zip(self.slots, self.allowed))

    __contains__ = contains

    def restrict(self, slot: str, choices: Iterable[str]) -> SlotMask:
        """Copy with ``slot`` limited to ``choices`` (which must already be allowed)."""
        have = self.allowed_for(slot)
        want = tuple(dict.fromkeys(str(c) for c in choices))
        if not want:
            raise ValueError(f'restrict: choices for slot {slot!r} is empty; a sub-supernet needs at least one')
        extra = [c for c in want if c not in have]
        if extra:
            raise ValueError(f'choices {extra} are not allowed on slot {slot!r} of this mask ({list(have)})')
        i = self.slots.index(slot)
        allowed = list(self.allowed)
        allowed[i] = tuple(c for c in have if c in want)
        return SlotMask(self.space, self.slots, tuple(allowed))

    def restrict_at(self, i: int, choices: Iterable[str]) -> SlotMask:
        """:meth:`restrict` by slot position."""
        return self.restrict(self.slots[i], choices)

    @property
    def size(self) -> int:
        """Architectures in the mask's product set (an upper bound where the space has rules
        across slots, e.g. NB101's edge budget or DARTS's distinct inputs)."""
        return self.product_size

    @property
    def product_size(self) -> int:
        """Size of the product set (an upper bound where the space has cross-slot constraints)."""
        return int(np.prod([len(a) for a in self.allowed], dtype=object))

    def restricted_slots(self, full: SlotMask) -> list[str]:
        return [s for s, a, f in zip(self.slots, self.allowed, full.allowed) if len(a) < len(f)]

    def describe(self, full: SlotMask | None = None) -> str:
        """``slot:{a,b}`` for each restricted slot (relative to ``full``), or ``full``."""
        parts = []
        for i, (s, a) in enumerate(zip(self.slots, self.allowed)):
            if full is not None and len(a) == len(full.allowed[i]):
                continue
            if full is None and len(a) > 1:
                continue
            parts.append(f'{s}:{{' + ','.join(a) + '}')
        return ' '.join(parts) if parts else 'full'

    def to_dict(self) -> dict[str, Any]:
        return {'space': self.space, 'allowed': {s: list(a) for s, a in zip(self.slots, self.allowed)}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SlotMask:
        if not isinstance(d, Mapping) or 'space' not in d or 'allowed' not in d:
            raise ValueError(f'a SlotMask dict needs "space" and "allowed", got {short_repr(d)}')
        allowed = d['allowed']
        return cls(str(d['space']), tuple(allowed), tuple(tuple(v) for v in allowed.values()))


# ---------------------------------------------------------------------------------------------
# The space interface
# ---------------------------------------------------------------------------------------------
class ArchInput:
    """What a space's network runs in ``forward(x, arch)``: ``arch`` (a cell or its string) inside
    the network's ``mask``, or ``fixed_arch`` when ``arch`` is None. A network sets
    ``_coerce_arch`` (its space's ``to_arch``) and, where its mask describes itself relative to
    the full one, overrides ``_describe_mask``."""

    _coerce_arch: Callable[[Any], Any]
    mask: Any  # the space's mask type (a SlotMask, or NB201's OpMask)
    fixed_arch: Any

    def _describe_mask(self) -> str:
        return self.mask.describe()

    def _arch(self, arch: Any) -> Any:
        if arch is None:
            if self.fixed_arch is None:
                raise ValueError(f'this {type(self).__name__} needs an arch: forward(x, arch)')
            return self.fixed_arch
        arch = self._coerce_arch(arch)
        if not self.mask.contains(arch):
            raise ValueError(f"{arch} is outside this network's mask ({self._describe_mask()})")
        return arch


class SearchSpace(ABC):
    """A cell search space (see the module docstring). Subclasses fill in the abstract methods."""

    #: the registry name, e.g. ``'nb201'``
    name: str = ''
    #: the decisions, in a fixed order
    slots: tuple[str, ...] = ()
    #: the architecture class of this space
    arch_type: type = object
    #: what the space's op slots are called in sentences (NB201: ``'edge'``)
    slot_kind: str = 'op slot'
    #: the file name of the space's micro benchmark on the embedded data (under ``data/``, built by
    #: ``nasviz build-microbench --space NAME``); default ``microbench_<name>.csv``
    micro_benchmark_file: str = ''
    #: network sizes by profile name: ``'benchmark'`` is the network the space's benchmark trained
    #: (what ``build_network(arch)`` builds with no size arguments); ``'tiny'`` a network small
    #: enough for CPU minutes on 16x16 inputs (the default profile and the conformance test).
    #: Every size takes ``num_classes`` and ``in_channels``.
    sizes: dict[str, dict[str, Any]] = {}

    # -- vocabulary ---------------------------------------------------------------------------
    @abstractmethod
    def choices(self, slot: str) -> tuple[str, ...]:
        """The values slot ``slot`` can take."""

    @abstractmethod
    def to_str(self, arch: Any) -> str:
        """A stable string for ``arch`` (``from_str(to_str(a)) == a``)."""

    @abstractmethod
    def from_str(self, s: str) -> Any:
        """Parse :meth:`to_str`'s string; ``ValueError`` naming the problem otherwise."""

    def parse_spelling(self, text: str) -> Any:
        """An architecture from any spelling this space reads: its own string by default; a space
        may also read other tools' keys (NB201: NASLib's op-index tuples, few-shot NAS node tuples)."""
        return self.from_str(text)

    def foreign_key(self, arch: Any, fmt: str) -> Any:
        """``arch`` spelled as another tool keys it (``fmt``, e.g. ``'naslib'``), where the space knows it."""
        raise ValueError(f'space {self.name!r} knows no {fmt!r} spelling of its architectures')

    def is_valid(self, arch: Any) -> bool:
        """True when ``arch`` is an architecture of this space that its benchmark admits (a
        string that parses, or a value of this space: values are checked when they are made)."""
        try:
            self.check(arch)
        except ValueError:
            return False
        return True

    @abstractmethod
    def canonical(self, arch: Any) -> str:
        """A key equal for architectures that compute the same function."""

    @abstractmethod
    def sample(self, n: int, mask: SlotMask | None = None, rng: np.random.Generator | int | None = None) -> list:
        """``n`` valid architectures drawn uniformly (inside ``mask``), without enumerating."""

    def from_assignment(self, assignment: Mapping[str, str]) -> Any:
        """The architecture taking ``assignment[slot]`` on every slot; ``ValueError`` when the
        assignment misses a slot, names an unknown choice or breaks a rule of the space."""
        raise NotImplementedError(f'{type(self).__name__} does not build architectures from assignments')

    def with_choice(self, arch: Any, slot: str, choice: str) -> Any:
        """Copy of ``arch`` with ``slot`` set to ``choice`` (``ValueError`` if that is invalid)."""
        if slot not in self.slots:
            raise ValueError(f'unknown slot {short_repr(slot)} for space {self.name!r}')
        if choice not in self.choices(slot):
            raise ValueError(
                f'unknown choice {short_repr(choice)} for slot {slot!r} of {self.name}; '
                f'choices are {self.choices(slot)}'
            )
        return self.from_assignment({**self.assignment(arch), slot: choice})

    def sample_distinct(
        self,
        n: int,
        mask: SlotMask | None = None,
        rng: np.random.Generator | int | None = None,
        exclude_degenerate: bool = True,
    ) -> list:
        """``n`` pairwise non-isomorphic architectures (distinct :meth:`canonical` keys), drawn
        uniformly by rejection: a ground-truth sample should not hold one function twice."""
        n = check_count(n, 'n')
        rng = np.random.default_rng(rng)
        out: list[Any] = []
        seen: set[Any] = set()
        tries = 0
        while len(out) < n:
            a = self.sample(1, mask=mask, rng=rng)[0]
            tries += 1
            key = self.canonical(a)
            if key in seen or (exclude_degenerate and self.is_degenerate(a)):
                if tries > 1000 * n:
                    raise ValueError(
                        f'could not draw {n} distinct {self.name} architectures (found {len(out)} in {tries} draws)'
                    )
                continue
            seen.add(key)
            out.append(a)
        return out

    def enumerate(self) -> Iterator[Any]:
        """Every architecture, where the space is small enough to list."""
        raise ValueError(
            f"the {self.name} space is too large to enumerate; use sample(n) or its benchmark's architectures"
        )

    # -- networks -----------------------------------------------------------------------------
    @abstractmethod
    def build_supernet(self, mask: SlotMask | None = None, **size: Any) -> nn.Module:
        """A single-path weight-sharing supernet (optionally restricted to ``mask``)."""

    @abstractmethod
    def build_network(self, arch: Any, **size: Any) -> nn.Module:
        """A standalone network of ``arch``; no size arguments = the benchmark's network."""

    def single_path_network(self, arch: Any, **size: Any) -> nn.Module:
        """The standalone network that computes what ``build_supernet(**size)`` computes on
        ``arch`` (its tensors named as the supernet's). The benchmark's network unless a space's
        supernet has a design of its own (NB101: fixed channel widths and positions)."""
        return self.build_network(arch, **size)

    def search_groups(self) -> Any:
        """What :mod:`nasviz.search` needs to search this space (a
        :class:`nasviz.search.groups.SearchGroups`), or None where the space has no search
        implementation (the default)."""
        return None

    def micro_benchmark_name(self) -> str:
        """The file name of the space's micro benchmark (:attr:`micro_benchmark_file`)."""
        return self.micro_benchmark_file or f'microbench_{self.name}.csv'

    def default_size(self, profile: str = 'tiny') -> dict[str, Any]:
        """The network size of a run profile: ``sizes[profile]``, or ``sizes['tiny']`` for a
        profile the space does not size (``'benchmark'`` is the benchmark's network). A size is
        one value, the keyword arguments of :meth:`build_supernet` and :meth:`build_network`."""
        if not isinstance(profile, str):
            raise ValueError(f'profile must be a name, got {short_repr(profile)}')
        return self.check_size(self.sizes.get(profile, self.sizes['tiny']))

    def profile_size(self, settings: Profile) -> dict[str, Any]:
        """The network size of a run's settings (:func:`nasviz.experiment.settings_for`): their
        ``size`` when given, else :meth:`default_size` of their profile."""
        return self.check_size(settings.size) if settings.size else self.default_size(settings.profile)

    def check_size(self, size: Mapping[str, Any]) -> dict[str, Any]:
        """``size`` as a plain dict; a ``ValueError`` when it is not a mapping of argument names."""
        if not isinstance(size, Mapping) or not all(isinstance(k, str) for k in size):
            raise ValueError(
                f'a {self.name} network size must be a mapping of size-argument names to values '
                f'(e.g. {dict(self.sizes.get("tiny", {}))}), got {short_repr(size)}'
            )
        return dict(size)

    # -- helpers every space gets -------------------------------------------------------------
    def check(self, arch: Any, name: str = 'arch') -> Any:
        """``arch`` as this space's architecture value: a string is parsed, an architecture of
        another space is refused with a ``ValueError``."""
        if isinstance(arch, str):
            return self.from_str(arch)
        space = getattr(arch, 'space', None)
        if space is not None and (not isinstance(space, str) or space.strip().lower() != self.name):
            raise ValueError(f'{name} {short_repr(arch)} belongs to space {space!r}, not {self.name!r}')
        if not isinstance(arch, self.arch_type):
            raise ValueError(
                f'{name} must be a {self.name} architecture or its string, got {type(arch).__name__} {short_repr(arch)}'
            )
        return arch

    def choice(self, arch: Any, slot: str) -> str:
        return self.check(arch).choice(slot)

    def assignment(self, arch: Any) -> dict[str, str]:
        """``{slot: choice}`` for every slot."""
        arch = self.check(arch)
        return {s: arch.choice(s) for s in self.slots}

    def full_mask(self) -> SlotMask:
        return SlotMask(self.name, tuple(self.slots), tuple(self.choices(s) for s in self.slots))

    def mask_of(self, arch: Any) -> SlotMask:
        """The mask that holds exactly ``arch``'s choices."""
        arch = self.check(arch)
        return SlotMask(self.name, tuple(self.slots), tuple((arch.choice(s),) for s in self.slots))

    def check_mask(self, mask: SlotMask | None) -> SlotMask:
        if mask is None:
            return self.full_mask()
        if not isinstance(mask, SlotMask):
            raise ValueError(f'mask must be a SlotMask, got {type(mask).__name__} {short_repr(mask)}')
        if mask.space != self.name or tuple(mask.slots) != tuple(self.slots):
            raise ValueError(f'mask belongs to space {mask.space!r} with other slots, not {self.name!r}')
        for s, a in zip(mask.slots, mask.allowed):
            bad = [c for c in a if c not in self.choices(s)]
            if bad:
                raise ValueError(f'mask allows unknown choices {bad} on slot {s!r} of {self.name}')
        return mask

    def describe_mask(self, mask: Any) -> str:
        """``slot:{a,b}`` for each slot ``mask`` restricts, or ``full``."""
        return self.check_mask(mask).describe(self.full_mask())

    def mask_from_list(self, allowed: Sequence[Sequence[str]]) -> Any:
        """A mask from allowed choices per slot in slot order (what ``mask.to_list()`` gives)."""
        return self.check_mask(SlotMask(self.name, tuple(self.slots), tuple(tuple(a) for a in allowed)))

    def root_mask(self) -> Any:
        """The mask of the whole space, in the form the space's supernets use."""
        return self.full_mask()

    def abbrev(self, choice: str) -> str:
        """A short label of a choice for plots and tables (default: the choice itself)."""
        return choice

    def slot_label(self, slot: str) -> str:
        """How figures and tables name a slot (default: its name)."""
        return slot

    def op_colours(self) -> dict[str, str]:
        """A fixed colour (``'#rrggbb'``) per operation for figures that colour by op; empty (the
        default) lets figures use their palette."""
        return {}

    def parse_choice(self, slot: str, text: str) -> str:
        """The choice of ``slot`` that ``text`` names: the choice itself or its :meth:`abbrev`;
        ``ValueError`` naming the choices otherwise."""
        choices = self.choices(slot)
        if text in choices:
            return text
        by_abbrev = {self.abbrev(c): c for c in choices}
        if text in by_abbrev:
            return by_abbrev[text]
        raise ValueError(
            f'unknown choice {short_repr(text)} for slot {slot!r} of {self.name}; choices are '
            f'{choices} (or their abbreviations {tuple(by_abbrev)})'
        )

    def is_degenerate(self, arch: Any) -> bool:
        """True when the cell's output does not depend on its input (default: never)."""
        return False

    def op_slots(self) -> tuple[str, ...]:
        """The slots that choose an operation (not those choosing an input or an edge, whose
        choices are node numbers or 0/1)."""
        return tuple(s for s in self.slots if not all(c.isdigit() for c in self.choices(s)))

    def ops(self) -> tuple[str, ...]:
        """Every operation any op slot offers, in first-seen slot order."""
        return tuple(dict.fromkeys(c for s in self.op_slots() for c in self.choices(s)))

    def op_counts(self, arch: Any) -> dict[str, int]:
        """How many op slots of ``arch`` take each operation (NB201: edges carrying the op)."""
        arch = self.check(arch)
        counts = dict.fromkeys(self.ops(), 0)
        for s in self.op_slots():
            counts[arch.choice(s)] += 1
        return counts

    def choice_usage(self, arch: Any) -> dict[tuple[str, str], int]:
        """1 for each (slot, choice) the architecture takes (the generic op-usage encoding)."""
        arch = self.check(arch)
        return {(s, arch.choice(s)): 1 for s in self.slots}

    def __repr__(self) -> str:
        return f'<search space {self.name}: {len(self.slots)} slots>'


def check_assignment(space: str, assignment: Any, slots: Sequence[str]) -> Mapping[str, Any]:
    """``assignment`` as a mapping that gives a choice for every slot of ``space`` and names no other
    slot; ``ValueError`` listing the missing and the unknown slots otherwise. The check every
    ``from_assignment`` of a space starts with, plug-ins included."""
    if not isinstance(assignment, Mapping):
        raise ValueError(f'a {space} assignment must map every slot to a choice, got {short_repr(assignment)}')
    known = set(slots)
    missing = [s for s in slots if s not in assignment]
    extra = [s for s in assignment if s not in known]
    if missing or extra:
        raise ValueError(
            f'{space} assignment: missing slots {missing[:4]}{"..." if len(missing) > 4 else ""}, '
            f'unknown slots {[short_repr(e) for e in extra[:4]]}'
        )
    return assignment


def product_iter(mask: SlotMask) -> Iterator[dict[str, str]]:
    for combo in itertools.product(*mask.allowed):
        yield dict(zip(mask.slots, combo))


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
#: the entry-point group an installed package registers its spaces in
ENTRY_POINT_GROUP = 'nasviz.spaces'

_REGISTRY: dict[str, Callable[[], SearchSpace]] = {}
_INSTANCES: dict[str, SearchSpace] = {}
_ENTRY_POINTS_LOADED = False


def space_key(name: Any) -> str:
    """The registry key of a space name: names are case-insensitive and surrounding blanks are
    ignored (``'MySpace'``, ``' myspace'`` and ``'MYSPACE'`` are one space)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f'space name must be a non-empty string, got {short_repr(name)}')
    return name.strip().lower()


def register_space(name: str, factory: Callable[[], SearchSpace]) -> None:
    """Make ``get_space(name)`` return ``factory()`` (built once, on first use; the name is
    case-insensitive). A name registered again is replaced."""
    key = space_key(name)
    if not callable(factory):
        raise ValueError(
            f'register_space({name!r}, ...): the factory must be callable (a SearchSpace '
            f'subclass or a function returning an instance), got {short_repr(factory)}'
        )
    _REGISTRY[key] = factory
    _INSTANCES.pop(key, None)


def _entry_point_factory(ep: Any) -> Callable[[], SearchSpace]:
    def factory() -> SearchSpace:
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken plug-in is named, not a bare traceback
            raise ValueError(
                f'search space {ep.name!r} from entry point {ep.value!r} (group '
                f'{ENTRY_POINT_GROUP!r}) could not be imported: {type(e).__name__}: {e}'
            ) from e
        return obj() if callable(obj) and not isinstance(obj, SearchSpace) else obj

    return factory


def load_entry_points() -> None:
    """Register the spaces installed packages declare in the ``nasviz.spaces`` entry-point group
    (once per process; a name nasviz already has is kept and the plug-in's is skipped with a
    warning)."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            key = space_key(ep.name)
        except ValueError:
            warnings.warn(
                f'entry point {ep.value!r} in group {ENTRY_POINT_GROUP!r} has no usable name; skipped', stacklevel=1
            )
            continue
        if key in _REGISTRY:
            warnings.warn(
                f'search space {ep.name!r} from entry point {ep.value!r} is already registered; '
                'the registered one is kept',
                stacklevel=1,
            )
            continue
        _REGISTRY[key] = _entry_point_factory(ep)


def list_spaces() -> list[str]:
    """Names of every registered space (installed plug-ins included), sorted."""
    load_entry_points()
    return sorted(_REGISTRY)


def registered_spaces() -> list[str]:
    """Names of every registered space in the order they were registered (nasviz's own first,
    then installed plug-ins): where two spaces name an operation alike, figures take the
    vocabulary (colour, abbreviation) of the earlier one."""
    load_entry_points()
    return list(_REGISTRY)


def get_space(name: str | SearchSpace) -> SearchSpace:
    """The registered space ``name`` (``'nb201'``, ``'nb101'``, ``'darts'``, or a plug-in's; the
    name is case-insensitive)."""
    if isinstance(name, SearchSpace):
        return name
    load_entry_points()
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in _REGISTRY:
        raise ValueError(f'unknown search space {short_repr(name)}; known spaces: {", ".join(list_spaces())}')
    if key not in _INSTANCES:
        space = _REGISTRY[key]()
        if not isinstance(space, SearchSpace):
            raise ValueError(
                f'the factory registered for search space {key!r} returned '
                f'{type(space).__name__} {short_repr(space)}, not a SearchSpace instance'
            )
        if space_key(space.name or '?') != key:
            raise ValueError(
                f'the factory registered for search space {key!r} returned a space named '
                f'{space.name!r}; its name must be the registered one (case aside)'
            )
        space.name = key  # one spelling everywhere: masks, checkpoints and cache keys use the key
        _INSTANCES[key] = space
    return _INSTANCES[key]


def space_of(arch: Any) -> SearchSpace:
    """The space an architecture value belongs to."""
    name = getattr(arch, 'space', None)
    if name is None:
        raise ValueError(
            f'{short_repr(arch)} is not an architecture value (it has no .space); '
            'parse strings with get_space(name).from_str(s)'
        )
    return get_space(name)


def parse_archs(space: SearchSpace, archs: Sequence[Any], name: str = 'archs') -> list:
    """Every element of ``archs`` as an architecture of ``space`` (strings parsed)."""
    return [space.check(a, f'{name}[{i}]') for i, a in enumerate(archs)]
