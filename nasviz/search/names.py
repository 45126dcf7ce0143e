"""The names the search commands accept (no heavy imports: the command line reads them)."""

#: the search methods, by their command-line names
SEARCH_METHODS: tuple[str, ...] = ('ista', 'darts', 'spos-rs', 'random')
#: search spaces with a search implementation (:mod:`nasviz.search.groups`)
SEARCH_SPACES: tuple[str, ...] = ('nb201', 'darts')
