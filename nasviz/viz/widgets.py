"""Interactive widgets that compose ``plot_*`` figures.

Figures are shown through ``ipywidgets.Output`` widgets fed plotly's JSON MIME bundle, which
JupyterLab, Notebook 7 and VS Code render with the plotly extension that ships with plotly.
This avoids ``go.FigureWidget`` (it needs the optional ``anywidget`` package) and works with no
browser or kernel attached, so tests can drive a widget directly.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio

__all__ = ['PartitionExplorer', 'partition_explorer', 'figure_output']

PLOTLY_MIME = 'application/vnd.plotly.v1+json'

ComputeFn = Callable[[int, str], 'Mapping[str, go.Figure] | go.Figure']


def _bundle(fig: go.Figure) -> dict[str, Any]:
    """A ``display_data`` output for ``fig``, as a notebook would store it."""
    spec = json.loads(pio.to_json(fig, validate=False))
    title = fig.layout.title.text or 'plotly figure'
    return {
        'output_type': 'display_data',
        'metadata': {},
        'data': {PLOTLY_MIME: spec, 'text/plain': f'<Figure: {title}>'},
    }


def figure_output(
    fig: go.Figure, out: widgets.Output | None = None, bundle: dict[str, Any] | None = None
) -> widgets.Output:
    """Show ``fig`` in an ``Output`` widget (a new one unless ``out`` is given), replacing
    whatever it showed before (``bundle``: its display_data, when already serialised)."""
    out = out if out is not None else widgets.Output()
    # assigning the outputs trait needs no kernel, unlike `with out: display(fig)`
    out.outputs = (bundle if bundle is not None else _bundle(fig),)
    return out


def _as_figures(result: Any) -> dict[str, go.Figure]:
    if isinstance(result, go.Figure):
        return {'figure': result}
    if not isinstance(result, Mapping):
        raise TypeError(f'compute must return a dict of name -> go.Figure, got {type(result).__name__}')
    bad = [k for k, v in result.items() if not isinstance(v, go.Figure)]
    if bad:
        raise TypeError(f'compute returned non-Figure values for {bad}')
    return dict(result)


class PartitionExplorer(widgets.VBox):
    """Controls (partition count, method) over the figures ``compute(n, method)`` returns.

    Attributes: ``count`` and ``method`` (the control widgets), ``figures`` (the figures now
    shown, by name), ``outputs`` (one ``Output`` widget per figure name), ``status`` (an HTML
    line with the current selection, how long the redraw took in the kernel, or the last
    error), ``seconds`` (that time of the last redraw, compute plus serialisation).

    ``cache=True`` keeps every selection's figures (serialised), so going back to a count or
    method already seen redraws without calling ``compute``. The widget carries the CSS class
    ``nasviz-partition-explorer`` (the browser test finds it by that).
    """

    CSS_CLASS = 'nasviz-partition-explorer'

    def __init__(
        self,
        compute: ComputeFn,
        counts: Sequence[int] = (2, 3, 4, 5),
        methods: Sequence[str] = ('exhaustive', 'spectral', 'agglomerative'),
        default: tuple[int, str] | None = None,
        cache: bool = True,
    ) -> None:
        counts = [int(c) for c in counts]
        methods = [str(m) for m in methods]
        if not counts or not methods:
            raise ValueError('partition_explorer needs at least one count and one method')
        if not callable(compute):
            raise TypeError('compute must be callable as compute(n, method)')
        n0, m0 = default if default is not None else (counts[0], methods[0])
        if n0 not in counts:
            raise ValueError(f'default count {n0} is not one of counts {counts}')
        if m0 not in methods:
            raise ValueError(f'default method {m0!r} is not one of methods {methods}')

        self._compute = compute
        self._cache: dict[tuple[int, str], tuple[dict[str, go.Figure], dict[str, dict[str, Any]]]] | None = (
            {} if cache else None
        )
        self.seconds: float | None = None
        step = counts[1] - counts[0] if len(counts) > 1 else 1
        evenly_spaced = step > 0 and counts == list(range(counts[0], counts[-1] + 1, step))
        # continuous_update=False: a drag recomputes once on release, not for every tick
        if evenly_spaced:
            self.count: widgets.ValueWidget = widgets.IntSlider(
                value=n0, min=counts[0], max=counts[-1], step=step, description='partitions', continuous_update=False
            )
        else:
            self.count = widgets.SelectionSlider(
                options=counts, value=n0, description='partitions', continuous_update=False
            )
        self.method = widgets.Dropdown(options=methods, value=m0, description='method')
        self.status = widgets.HTML()
        self.figure_box = widgets.VBox()
        self.outputs: dict[str, widgets.Output] = {}
        self.figures: dict[str, go.Figure] = {}
        super().__init__([widgets.HBox([self.count, self.method]), self.status, self.figure_box])
        self.add_class(self.CSS_CLASS)
        self.count.observe(self._on_change, names='value')
        self.method.observe(self._on_change, names='value')
        self.refresh()

    def _on_change(self, change: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Call ``compute`` for the current selection and redraw.

        A failing ``compute`` leaves the previous figures up and shows the error in ``status``:
        an exception raised inside a widget callback would otherwise vanish into the log.
        """
        n, method = int(self.count.value), str(self.method.value)
        t0 = time.perf_counter()
        cached = None if self._cache is None else self._cache.get((n, method))
        hit = cached is not None
        if cached is not None:
            figures, bundles = cached
        else:
            self.status.value = f'<i>computing {n} partitions with {html.escape(method)}…</i>'
            try:
                figures = _as_figures(self._compute(n, method))
            except Exception as e:  # noqa: BLE001 - shown to the user, see docstring
                self.status.value = (
                    f'<span style="color:#cf222e">{html.escape(type(e).__name__)}: {html.escape(str(e))}</span>'
                )
                return
            bundles = {name: _bundle(fig) for name, fig in figures.items()}
            if self._cache is not None:
                self._cache[(n, method)] = (figures, bundles)
        if list(figures) != list(self.outputs):
            self.outputs = {name: widgets.Output() for name in figures}
            self.figure_box.children = tuple(self.outputs.values())
        for name, fig in figures.items():
            figure_output(fig, self.outputs[name], bundle=bundles[name])
        self.figures = figures
        self.seconds = time.perf_counter() - t0
        how = 'cached' if hit else 'computed'
        self.status.value = (
            f'{n} partitions, method <b>{html.escape(method)}</b> '
            f'<span class="nasviz-redraw">({how} in {self.seconds:.2f} s)</span>'
        )


def partition_explorer(
    compute: ComputeFn,
    counts: Sequence[int] = (2, 3, 4, 5),
    methods: Sequence[str] = ('exhaustive', 'spectral', 'agglomerative'),
    default: tuple[int, str] = (2, 'exhaustive'),
    cache: bool = True,
) -> PartitionExplorer:
    """A VBox with a partition-count slider and a method dropdown over ``compute``'s figures.

    ``compute(n, method)`` returns ``{name: go.Figure}`` (a lone Figure is accepted too); it
    runs once at construction and again for every selection not seen before (``cache=True``
    keeps each selection's figures). Cache the heavy work inside ``compute`` too (e.g. with
    ``functools.lru_cache`` on the split), so a new selection costs only the figures.
    """
    return PartitionExplorer(compute, counts=counts, methods=methods, default=default, cache=cache)
