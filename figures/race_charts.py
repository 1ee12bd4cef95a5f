"""Static charts of a finished race: loss and distance to the nearest minimum against the step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures.palette import color_for

# The legend sits under the axis title, so it never covers the chart's title.
_LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=20, t=40, b=110),
               legend=dict(orientation="h", yanchor="top", y=-0.22, x=0), hovermode="x unified")


def _line(name: str, title: str, ys: np.ndarray, diverged_at: int | None) -> list[go.Scatter]:
    """One optimizer's series, cut at its divergence step, with an ✕ where it stopped."""
    end = len(ys) if diverged_at is None else max(diverged_at, 1)
    steps = np.arange(end)
    traces = [go.Scatter(x=steps, y=ys[:end], mode="lines", name=title, legendgroup=name,
                         line=dict(color=color_for(name), width=2))]
    if diverged_at is not None:
        traces.append(go.Scatter(x=[end - 1], y=[ys[end - 1]], mode="markers", legendgroup=name,
                                 showlegend=False, hovertext=f"{title} diverged at step {diverged_at}",
                                 marker=dict(symbol="x", size=11, color=color_for(name))))
    return traces


def loss_figure(series: dict[str, tuple[str, np.ndarray, int | None]], fmin: float | None) -> go.Figure:
    """f − f* against the step on a log axis (f* the known minimum; the raw loss when unknown or
    when some losses are not positive)."""
    fig = go.Figure()
    offset = fmin if fmin is not None else 0.0
    all_positive = all((v[~np.isnan(v)] - offset > 0).all() for _, v, _ in series.values())
    for name, (title, values, diverged_at) in series.items():
        ys = values - offset if all_positive else values
        for trace in _line(name, title, ys, diverged_at):
            fig.add_trace(trace)
    label = "f − f*" if fmin is not None else "f"
    fig.update_layout(title="Loss", xaxis_title="step", yaxis_title=label if all_positive else "f", **_LAYOUT)
    fig.update_yaxes(type="log" if all_positive else "linear", exponentformat="power")
    return fig


def distance_figure(series: dict[str, tuple[str, np.ndarray, int | None]]) -> go.Figure:
    """Distance to the nearest known minimum against the step (log axis)."""
    fig = go.Figure()
    for name, (title, distances, diverged_at) in series.items():
        for trace in _line(name, title, np.maximum(distances, 1e-16), diverged_at):
            fig.add_trace(trace)
    fig.update_layout(title="Distance to the nearest minimum", xaxis_title="step", yaxis_title="distance",
                      **_LAYOUT)
    fig.update_yaxes(type="log", exponentformat="power")
    return fig
