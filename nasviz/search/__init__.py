"""Architecture search on NAS-Bench-201: ISTA-NAS (sparse coding), the DARTS relaxation, SPOS +
random search over supernet scores, and plain random search, at one budget
(:func:`run_search`; results as :class:`SearchResult`)."""
from nasviz.search.base import SEARCH_METHODS, SEARCH_SPACES, SearchConfig, SearchResult, split_for_search, true_accuracy
from nasviz.search.run import run_search, search_config

__all__ = ['SEARCH_METHODS', 'SEARCH_SPACES', 'SearchConfig', 'SearchResult', 'run_search', 'search_config',
           'split_for_search', 'true_accuracy']
