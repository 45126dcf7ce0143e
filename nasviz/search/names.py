"""The names the search commands accept (no heavy imports: the command line reads them)."""

#: the search methods, by their command-line names
SEARCH_METHODS: tuple[str, ...] = ('ista', 'darts', 'spos-rs', 'random')
#: search spaces with a search implementation (:mod:`nasviz.search.groups`)
SEARCH_SPACES: tuple[str, ...] = ('nb201', 'darts')
#: the method-specific command-line options, each with the methods that use it (any other method
#: refuses it: an option that does not apply is an error, never silently ignored)
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    '--lam': ('ista',), '--m': ('ista',), '--one-stage': ('ista',), '--final-epochs': ('ista',),
    '--arch-lr': ('ista', 'darts'), '--n-candidates': ('spos-rs', 'random')}
#: how messages name each method
METHOD_TITLES: dict[str, str] = {'ista': 'ISTA-NAS', 'darts': 'DARTS', 'spos-rs': 'SPOS + random search',
                                 'random': 'random search'}
