"""The names the search commands accept (no heavy imports: the command line reads them)."""

#: the search methods, by their command-line names
SEARCH_METHODS: tuple[str, ...] = ('ista', 'darts', 'spos-rs', 'random')
# the spaces a search runs on are those whose ``search_groups()`` gives an implementation, plug-ins
# included: :func:`nasviz.search.groups.search_spaces` lists them, checked when a search starts
