"""Run the numbered notebooks through papermill and collect them into an HTML report.

:func:`run_report` executes every ``notebooks/NN_*.ipynb`` in order with the same parameters,
writes the executed notebook and an HTML export of each into ``out_dir``, plus an ``index.html``
and a ``report.json``. The ``nasviz report`` command is a thin wrapper over it.

The package, one module per job:

- :mod:`~nasviz.report.params`: what notebooks call on their own parameters
  (:func:`check_parameters`) and the defaults a ``parameters`` cell declares;
- :mod:`~nasviz.report.run`: the papermill runs, one after another or fanned out on an
  executor, and their records (:class:`NotebookRun`, :class:`ReportResult`);
- :mod:`~nasviz.report.metadata`: metrics files, paths relative to the report folder, and where
  and with what a report ran;
- :mod:`~nasviz.report.export`: the static, offline HTML page of each executed notebook;
- :mod:`~nasviz.report.index`: the index page.

The index and the page chrome are Jinja2 templates in ``nasviz/report/templates/``.

The index is the report's summary: for every notebook its headline metrics (with confidence
intervals) and findings, read from the ``metrics_NN.json`` the notebook writes beside itself;
the resolved parameters of every notebook; what the profile measures (dataset, ground truth,
a caveat banner for small-scale runs); and run metadata (package versions, git commit, CPU/GPU,
threads, wall times). ``report.json`` holds the same facts, with paths relative to the report
folder.

Metrics file shape (``metrics_NN.json``, written by notebook ``NN_*.ipynb`` into its working
directory, which is the report folder)::

    {"kendall_tau": {"estimate": 0.13, "low": -0.01, "high": 0.25, "n": 120, "level": 0.95},
     "params_tau": 0.04,                      # plain numbers are fine too
     "kendall_tau_by_method": {"SPOS": {"estimate": ...}, "NAS-LID": {...}},   # one level of nesting
     "findings": ["SPOS ranks 120 cells at tau 0.13 [95% CI -0.01, 0.25]: within noise of ..."],
     "headline": ["kendall_tau", "params_tau"],   # optional: which keys the index shows, in order
     "labels": {"params_tau": "parameter count, Kendall tau"},    # optional: how a key reads on the index
     "sources": {"kendall_tau": "computed in this run",           # optional: each number's provenance,
                 "params_tau": "read from shipped_table.csv"}}    # shown beside it on the index

Importing the package is cheap: papermill, nbconvert, jinja2 and plotly load only when a report
runs.
"""

from nasviz.report.index import format_value, metric_rows
from nasviz.report.metadata import metrics_path_for, run_metadata, without_paths
from nasviz.report.params import PROFILES, check_parameters, notebook_defaults
from nasviz.report.run import NotebookRun, ReportError, ReportResult, find_notebooks, run_notebook, run_report

__all__ = [
    'PROFILES',
    'NotebookRun',
    'ReportResult',
    'ReportError',
    'check_parameters',
    'run_report',
    'find_notebooks',
    'notebook_defaults',
    'run_metadata',
    'format_value',
    'metric_rows',
    'metrics_path_for',
    'run_notebook',
    'without_paths',
]
