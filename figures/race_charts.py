"""Static charts of a finished race: loss and distance to the nearest minimum against the step.

They are built as plain plotly.js figure dicts (``{"data": [...], "layout": {...}}``), not ``go.Figure``
objects: the race player draws them in the browser, so nothing needs plotly.py's validation, and that
validation (the template is deep-copied and checked for every figure) was about a quarter of the server's
busy time under a classroom's load (py-spy on the load test). Arrays travel as plotly.js typed arrays
(``{"dtype", "bdata"}``), exactly as plotly.py would send them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import plotly.io as pio

from figures.background import typed_array
from figures.palette import color_for

# The legend sits under the axis title, so it never covers the chart's title.
_LAYOUT = dict(height=380, margin=dict(l=60, r=20, t=40, b=110),
               legend=dict(orientation="h", yanchor="top", y=-0.22, x=0), hovermode="x unified")


@lru_cache(maxsize=1)
def _template() -> dict:
    """plotly's "plotly_white" template as JSON, built once per process (it is the same every time)."""
    return pio.templates["plotly_white"].to_plotly_json()


def _line(name: str, title: str, ys: np.ndarray, diverged_at: int | None) -> list[dict]:
    """One optimizer's series, cut at its divergence step, with an ✕ where it stopped."""
    end = len(ys) if diverged_at is None else max(diverged_at, 1)
    traces = [dict(type="scatter", x=typed_array(np.arange(end), "i4"), y=typed_array(ys[:end]), mode="lines",
                   name=title, legendgroup=name, line=dict(color=color_for(name), width=2))]
    last = float(ys[end - 1]) if end <= len(ys) else float("nan")
    if diverged_at is not None and np.isfinite(last):
        traces.append(dict(type="scatter", x=[end - 1], y=[last], mode="markers", legendgroup=name,
                           showlegend=False, hovertext=f"{title} diverged at step {diverged_at}",
                           marker=dict(symbol="x", size=11, color=color_for(name))))
    return traces


def _figure(traces: list[dict], title: str, ytitle: str, log: bool) -> dict:
    yaxis = dict(title=dict(text=ytitle), type="log" if log else "linear", exponentformat="power")
    layout = dict(_LAYOUT, template=_template(), title=dict(text=title), xaxis=dict(title=dict(text="step")),
                  yaxis=yaxis)
    return {"data": traces, "layout": layout}


def loss_figure(series: dict[str, tuple[str, np.ndarray, int | None]], fmin: float | None) -> dict:
    """f − f* against the step on a log axis (f* the known minimum; the raw loss when unknown or
    when some losses are not positive)."""
    offset = fmin if fmin is not None else 0.0
    all_positive = all((v[~np.isnan(v)] - offset > 0).all() for _, v, _ in series.values())
    traces = []
    for name, (title, values, diverged_at) in series.items():
        ys = np.asarray(values, dtype=np.float64)
        traces += _line(name, title, ys - offset if all_positive else ys, diverged_at)
    label = "f − f*" if fmin is not None else "f"
    return _figure(traces, "Loss", label if all_positive else "f", all_positive)


def distance_figure(series: dict[str, tuple[str, np.ndarray, int | None]]) -> dict:
    """Distance to the nearest known minimum against the step (log axis)."""
    traces = []
    for name, (title, distances, diverged_at) in series.items():
        traces += _line(name, title, np.maximum(np.asarray(distances, dtype=np.float64), 1e-16), diverged_at)
    return _figure(traces, "Distance to the nearest minimum", "distance", True)
