"""The Data page's figures as plain plotly dicts: the data scatter with each racer's fit, and the loss per
step and per epoch (drawn by the race player with a cursor at the shown step, like ``figures.race_charts``).
"""

from __future__ import annotations

import numpy as np

from figures.background import typed_array
from figures.palette import PALETTE
from figures.race_charts import _LAYOUT, _template

FIT_POINTS = 120  # x values each fitted curve is drawn at
MAX_SHOWN = 2000  # data points drawn in the scatter (every k-th beyond that; the loss uses them all)
MAX_BATCH_SHOWN = 2000  # the current batch is marked on data sets up to this size


def racer_colors(count: int) -> list[str]:
    """One colour per racer, in order (one optimizer's colour cannot tell SGD, B = 1 from SGD, B = 32)."""
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def _series(title: str, color: str, xs, ys, *, width: float = 2, opacity: float = 1.0, mode: str = "lines",
            group: str = "", legend: bool = True, hover: str | None = None) -> dict:
    # x is the step: whole numbers, sent as int32 (half the bytes of float64, as figures.race_charts does).
    trace = dict(type="scatter", x=typed_array(xs, "i4"), y=typed_array(ys), mode=mode, name=title,
                 legendgroup=group or title, showlegend=legend, opacity=opacity,
                 line=dict(color=color, width=width), marker=dict(color=color, size=6))
    if hover:
        trace["hovertemplate"] = hover
    return trace


def _chart(traces: list[dict], title: str, ytitle: str, log: bool) -> dict:
    yaxis = dict(title=dict(text=ytitle), type="log" if log else "linear", exponentformat="power")
    layout = dict(_LAYOUT, template=_template(), title=dict(text=title), xaxis=dict(title=dict(text="step")),
                  yaxis=yaxis)
    return {"data": traces, "layout": layout}


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _end(path) -> int:
    return len(path.values) if path.diverged_at is None else max(int(path.diverged_at), 1)


def loss_per_step_figure(labels: list[str], colors: list[str], paths: list, fmin: float | None) -> dict:
    """The full-data loss at each step (thick) and the loss of the step's own mini-batch (thin, faint):
    f − f* on a log axis when the minimum is known and every value is above it."""
    offset = fmin if fmin is not None else 0.0
    log = fmin is not None and all((_finite(p.values[: _end(p)]) - offset > 0).all() for p in paths)
    shift = offset if log else 0.0
    traces = []
    for label, color, path in zip(labels, colors, paths, strict=True):
        end = _end(path)
        steps = np.arange(end)
        known = np.isfinite(path.values[:end])  # every step, or every k-th (``loss_every``)
        traces.append(_series(label, color, steps[known], path.values[:end][known] - shift,
                              mode="lines" if known.all() else "lines+markers"))
        if path.steps_per_epoch > 1:  # a mini-batch run: its batches' own losses too
            batch = np.asarray(path.batch_losses[: end - 1]) - shift
            if log:
                batch = np.where(batch > 0, batch, np.nan)
            traces.append(_series(f"{label}: its batch", color, steps[1:], batch, width=1, opacity=0.35,
                                  group=label, legend=False))
    ytitle = ("L − L*" if log else "L") + " (full data; faint: the step's batch)"
    return _chart(traces, "Loss per step", ytitle, log)


def loss_per_epoch_figure(labels: list[str], colors: list[str], paths: list, fmin: float | None) -> dict:
    """The full-data loss after each whole epoch, at the step that ends it (the player's cursor lines up)."""
    offset = fmin if fmin is not None else 0.0
    log = fmin is not None and all((p.epoch_losses - offset > 0).all() for p in paths)
    shift = offset if log else 0.0
    traces = []
    for label, color, path in zip(labels, colors, paths, strict=True):
        ends = path.epoch_ends
        ends = ends[ends < _end(path)]
        epochs = ends // path.steps_per_epoch
        trace = _series(label, color, ends, path.values[ends] - shift, mode="lines+markers",
                        hover="epoch %{customdata}<br>step %{x}<br>%{y:.4g}<extra>" + label + "</extra>")
        trace["customdata"] = epochs.tolist()
        traces.append(trace)
    return _chart(traces, "Loss per epoch (one point per pass over the data)",
                  "L − L* (full data)" if log else "L (full data)", log)


def scatter_figure(surface, labels: list[str], colors: list[str]) -> dict:
    """The data (every k-th point beyond MAX_SHOWN) and one empty fit trace per racer, which the page's
    scatter element fills in at the shown step (``fit_payload``)."""
    every = max(1, -(-surface.n_samples // MAX_SHOWN))
    xs, ys = surface.x[::every], surface.y[::every]
    shown = "" if every == 1 else f" (every {every}th of {surface.n_samples:,} shown)"
    data = [dict(type="scatter", x=typed_array(xs), y=typed_array(ys), mode="markers", name="data" + shown,
                 marker=dict(color="rgba(90, 90, 90, 0.45)", size=6, line=dict(width=0)),
                 hovertemplate="x = %{x:.3f}<br>y = %{y:.3f}<extra>data</extra>")]
    data += [dict(type="scatter", x=[], y=[], mode="lines", name=label, line=dict(color=color, width=2.5))
             for label, color in zip(labels, colors, strict=True)]
    (mx, sx), (my, sy) = surface.standardization
    xtitle = surface.x_label + (" (standardized)" if sx != 1.0 or mx != 0.0 else "")
    ytitle = surface.y_label + (" (standardized)" if sy != 1.0 or my != 0.0 else "")
    lo, hi = float(surface.x.min()), float(surface.x.max())
    pad_x = 0.05 * (hi - lo)
    ylo, yhi = float(surface.y.min()), float(surface.y.max())
    pad_y = 0.08 * (yhi - ylo)
    layout = dict(_LAYOUT, template=_template(), height=440, title=dict(text="The data and each racer's fit"),
                  xaxis=dict(title=dict(text=xtitle), range=[lo - pad_x, hi + pad_x]),
                  yaxis=dict(title=dict(text=ytitle), range=[ylo - pad_y, yhi + pad_y]),
                  legend=dict(orientation="h", y=-0.2), margin=dict(l=55, r=10, t=40, b=40))
    return {"data": data, "layout": layout}


def batch_trace(label: str, color: str) -> dict:
    """The samples of the shown step's batch (filled in by the scatter element, ``batch_payload``)."""
    return dict(type="scatter", x=[], y=[], mode="markers", name=f"batch of the shown step ({label})",
                marker=dict(color="rgba(0, 0, 0, 0)", size=11, line=dict(color=color, width=2)),
                hoverinfo="skip")


def batch_payload(surface, path, seed: int) -> dict | None:
    """What the scatter element needs to mark the samples of any step's batch for one mini-batch racer: the
    data, B, ⌈N/B⌉ and each epoch's permutation (the engine's own, ``optimizers.data.epoch_orders``)."""
    from optimizers import data as engine_data

    n, b = surface.n_samples, path.batch_size
    if b >= n or n > MAX_BATCH_SHOWN:
        return None
    per = path.steps_per_epoch
    orders = engine_data.epoch_orders(n, -(-path.steps // per), seed)
    return {"x": typed_array(surface.x, "f4"), "y": typed_array(surface.y, "f4"), "size": b, "per": per,
            "orders": typed_array(orders.ravel(), "i4"), "n": n}


def fit_payload(surface, paths: list) -> dict:
    """What the scatter element needs to draw each racer's fit at any step: the model, the x values, and
    each racer's parameters per step (float32 arrays)."""
    lo, hi = float(surface.x.min()), float(surface.x.max())
    pad = 0.05 * (hi - lo)
    return {"model": surface.model, "grid": typed_array(np.linspace(lo - pad, hi + pad, FIT_POINTS), "f4"),
            "params": [[typed_array(p.points[:, 0], "f4"), typed_array(p.points[:, 1], "f4")] for p in paths]}
