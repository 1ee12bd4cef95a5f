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


# The parts of plotly_white that a chart of lines and markers on one pair of axes reads. The whole template
# (7.2 kB of JSON: colour scales for 24 trace types, 3-D scenes, maps, polar axes) travelled in every chart
# of every race run, and the server walked, hashed and wrote it twice a run (py-spy, the crowd at once).
_TEMPLATE_LAYOUT = ("annotationdefaults", "autotypenumbers", "colorway", "font", "hoverlabel", "hovermode",
                    "paper_bgcolor", "plot_bgcolor", "shapedefaults", "title", "xaxis", "yaxis")
_TEMPLATE_TRACES = ("scatter",)


@lru_cache(maxsize=1)
def _template() -> dict:
    """plotly's "plotly_white" template as JSON, cut to what the charts' traces (scatter) and their 2-D
    axes use, built once per process (it is the same every time)."""
    whole = pio.templates["plotly_white"].to_plotly_json()
    return {"data": {k: whole["data"][k] for k in _TEMPLATE_TRACES},
            "layout": {k: whole["layout"][k] for k in _TEMPLATE_LAYOUT if k in whole["layout"]}}


LINEAR_SPAN = 1e4  # a linear loss axis spans at most this much; wider data is clipped to the view's range
_MARKS = {"diverged": ("x", "diverged"), "stopped": ("x", "stopped"), "escaped": ("triangle-down", "escaped")}


def _line(name: str, title: str, ys: np.ndarray, end_step: int | None, kind: str | None = None) -> list[dict]:
    """One optimizer's series up to where its run ended, with a mark there: ✕ where it diverged or
    stopped (the series is cut before that step), ▼ where it escaped (left the view downhill; the series
    ends at that step)."""
    if end_step is None:
        kind, end = None, len(ys)
    else:
        kind = kind or "diverged"
        end = min(len(ys), end_step + 1) if kind == "escaped" else max(end_step, 1)
    traces = [dict(type="scatter", x=typed_array(np.arange(end), "i4"), y=typed_array(ys[:end]), mode="lines",
                   name=title, legendgroup=name, line=dict(color=color_for(name), width=2))]
    last = float(ys[end - 1]) if end <= len(ys) else float("nan")
    if kind is not None and np.isfinite(last):
        symbol, verb = _MARKS[kind]
        traces.append(dict(type="scatter", x=[end - 1], y=[last], mode="markers", legendgroup=name,
                           showlegend=False, hovertext=f"{title} {verb} at step {end_step}",
                           marker=dict(symbol=symbol, size=11, color=color_for(name))))
    return traces


def _figure(traces: list[dict], title: str, ytitle: str, log: bool, yrange=None) -> dict:
    yaxis = dict(title=dict(text=ytitle), type="log" if log else "linear", exponentformat="power")
    if yrange is not None:
        yaxis["range"] = [float(yrange[0]), float(yrange[1])]
        yaxis["autorange"] = False
    layout = dict(_LAYOUT, template=_template(), title=dict(text=title), xaxis=dict(title=dict(text="step")),
                  yaxis=yaxis)
    return {"data": traces, "layout": layout}


def _drawn(values: np.ndarray, end_step: int | None, kind: str | None) -> np.ndarray:
    """The finite values of the part of a series that ``_line`` draws."""
    values = _drawn_values(values, end_step, kind)
    return values[np.isfinite(values)]


def _leaves(name: str, title: str, ys: np.ndarray, lo: float, hi: float) -> list[dict]:
    """A mark on the chart's edge at the first step where the loss leaves [lo, hi]."""
    with np.errstate(invalid="ignore"):
        out = np.flatnonzero((ys < lo) | (ys > hi))
    if not len(out):
        return []
    t = int(out[0])
    below = ys[t] < lo
    return [dict(type="scatter", x=[t], y=[lo if below else hi], mode="markers", legendgroup=name,
                 showlegend=False, cliponaxis=False,
                 hovertext=f"{title}: f = {ys[t]:.4g} at step {t}, off the chart",
                 marker=dict(symbol="triangle-down" if below else "triangle-up", size=11,
                             color=color_for(name), line=dict(color="#1f2328", width=1)))]


def loss_figure(series: dict[str, tuple], fmin: float | None, view_range=None) -> dict:
    """The loss against the step, on an axis that shows both a plateau and a drop.

    ``series``: ``{slug: (title, values, end_step[, kind])}``, ``kind`` one of diverged / stopped / escaped
    (``lab.race.Outcome``; diverged when left out). f − f* on a log axis when the minimum f* is known and
    every drawn loss is above it; otherwise the raw f on a linear axis when the drawn values span at most
    ``LINEAR_SPAN``, else a linear axis clipped to ``view_range`` (f's range over the picture; by default
    around the starting losses), with a mark on the edge where a path leaves it — never a linear axis
    over a range wider than ``LINEAR_SPAN``.
    """
    items = {n: (s[0], np.asarray(s[1], dtype=np.float64), s[2], s[3] if len(s) > 3 else None)
             for n, s in series.items()}
    drawn = {n: _drawn(v, e, k) for n, (_, v, e, k) in items.items()}
    offset = fmin if fmin is not None else 0.0
    log = fmin is not None and all((d - offset > 0).all() for d in drawn.values())
    traces = []
    for name, (title, values, end_step, kind) in items.items():
        traces += _line(name, title, values - offset if log else values, end_step, kind)
    if log:
        return _figure(traces, "Loss", "f − f*", True)
    finite = np.concatenate([*drawn.values(), np.zeros(0)])
    if not len(finite) or float(finite.max() - finite.min()) <= LINEAR_SPAN:
        return _figure(traces, "Loss", "f", False)
    if view_range is None:
        starts = np.array([v[0] for _, v, _, _ in items.values() if len(v) and np.isfinite(v[0])] or [0.0])
        view_range = (float(starts.min()) - 1.0, float(starts.max()) + 1.0)
    lo, hi = float(view_range[0]), float(view_range[1])
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    lo, hi = lo - pad, hi + pad
    for name, (title, values, end_step, kind) in items.items():
        traces += _leaves(name, title, _drawn_values(values, end_step, kind), lo, hi)
    return _figure(traces, "Loss (clipped to the picture's range of f; ▼ ▲: off the chart)", "f", False,
                   (lo, hi))


def _drawn_values(values: np.ndarray, end_step: int | None, kind: str | None) -> np.ndarray:
    """The part of a series that ``_line`` draws: up to its escape step, or before its divergence."""
    if end_step is None:
        return values
    return values[:min(len(values), end_step + 1)] if kind == "escaped" else values[:max(end_step, 1)]


def distance_figure(series: dict[str, tuple[str, np.ndarray, int | None]]) -> dict:
    """Distance to the nearest known minimum against the step (log axis)."""
    traces = []
    for name, (title, distances, end_step, *kind) in series.items():
        traces += _line(name, title, np.maximum(np.asarray(distances, dtype=np.float64), 1e-16), end_step,
                        *kind)
    return _figure(traces, "Distance to the nearest minimum", "distance", True)
