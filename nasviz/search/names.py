"""The names the search commands accept (no heavy imports: the command line reads them)."""

#: the search methods, by their command-line names
SEARCH_METHODS: tuple[str, ...] = ('ista', 'darts', 'spos-rs', 'random')
# the spaces a search runs on are those whose ``search_groups()`` gives an implementation, plug-ins
# included: :func:`nasviz.search.groups.search_spaces` lists them, checked when a search starts
#: the method-specific command-line options, each with the methods that use it (any other method
#: refuses it: an option that does not apply is an error, never silently ignored)
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    '--lam': ('ista',),
    '--m': ('ista',),
    '--one-stage': ('ista',),
    '--final-epochs': ('ista',),
    '--arch-lr': ('ista', 'darts'),
    '--n-candidates': ('spos-rs', 'random'),
}
#: how messages name each method
METHOD_TITLES: dict[str, str] = {
    'ista': 'ISTA-NAS',
    'darts': 'DARTS',
    'spos-rs': 'SPOS + random search',
    'random': 'random search',
}
