"""Static background pictures of a surface: a contour map and a 3-D surface (plotly only, no streamlit).

These figures are drawn once in the browser; the race player (``ui.animation``) adds the moving trails on
top of them. Both share one colour mapping (``color_mapping``) so a colour means the same height in both.

Layout choices:

* light, low-chroma fill with dark labels: readable on a classroom projector, and the saturated trail
  colours of ``figures.palette`` stand out on it;
* fixed axis ranges (the surface's bounds) and a constant ``uirevision``: adding or moving trails never
  rescales the axes or resets a zoom or a rotated camera;
* undefined values (NaN) are left blank;
* arrays travel as float32 ("f4" typed arrays): half the bytes of float64 and plenty for a picture.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from lab.colors import (  # the colour scale and mapping, shared with lab/gif.py (plotly-free)
    COLORSCALE,
    LEVELS_PER_DECADE,
    LINE_COLOR,
    LINEAR_LEVELS,
    LOG_DECADES,
    ColorMapping,
    color_mapping,
    finite_values,
)
from surfaces.base import Surface

UIREVISION = "descent-lab"
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=14, color="#1f2328")
def _fmt(value: float) -> str:
    """Short tick label: 0.01, 0.5, 12.3, 1000, 1e4, 2e-5."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def log_ticks(mapping: ColorMapping) -> tuple[list[float], list[str]]:
    """Tick positions (in colour coordinates) and labels (real values of f) for a log mapping.

    Ticks sit where f - fmin is a power of ten, plus one at the bottom for fmin itself.
    """
    vals, text = [mapping.lo], [_fmt(mapping.fmin)]
    for k in range(math.ceil(mapping.lo) + 1, math.floor(mapping.hi) + 1):
        vals.append(math.log10(10.0**k + mapping.eps))
        text.append(_fmt(mapping.fmin + 10.0**k))
    return vals, text


def _colorbar(mapping: ColorMapping) -> dict:
    # Vertical and thin at the right; the legend sits under the plot, so a narrow column keeps a big map.
    bar = dict(
        thickness=12,
        len=0.85,
        x=1.01,
        xanchor="left",
        y=0.5,
        title=dict(text="f", side="top"),
        outlinewidth=0,
        tickfont=dict(size=11),
    )
    if mapping.log:
        bar["tickvals"], bar["ticktext"] = log_ticks(mapping)
    return bar


def grid_array(values: np.ndarray, dtype: str = "f4") -> dict:
    """A 2-D grid as a typed array with its shape, as plotly.py would send a NumPy array (float32 by
    default: plenty for a picture)."""
    arr = np.asarray(values, dtype=np.dtype(dtype))
    return {**typed_array(arr, dtype), "shape": ", ".join(str(n) for n in arr.shape)}


def _minima_traces(surface: Surface, *, three_d: bool = False, z_of=None) -> list[dict]:
    traces = []
    groups = [
        (surface.minima, "Global minimum", "star", 17, "#111111"),
        (surface.local_minima, "Local minimum", "diamond", 9, "#555555"),
    ]
    for points, name, symbol, size, color in groups:
        if not len(points):
            continue
        pts = np.asarray(points, dtype=float)
        if three_d:
            traces.append(dict(
                type="scatter3d", x=pts[:, 0].tolist(), y=pts[:, 1].tolist(),
                z=[float(v) for v in z_of(pts)], mode="markers", name=name, showlegend=False,
                hoverinfo="skip",
                marker=dict(symbol="diamond" if symbol == "star" else "circle",
                            size=6 if symbol == "star" else 4, color=color),
            ))
        else:
            traces.append(dict(
                type="scatter", x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), mode="markers", name=name,
                legendrank=2000, hovertemplate=f"{name}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
                marker=dict(symbol=symbol, size=size, color=color, line=dict(color="#ffffff", width=1.5)),
            ))
    return traces


def _base_layout(**extra) -> dict:
    return dict(
        template={},  # no template: every style is written out here
        uirevision=UIREVISION,
        font=FONT,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        hoverlabel=dict(font=dict(size=13)),
        **extra,
    )


def contour_payload(surface: Surface, resolution: int = 160) -> dict:
    """Filled contour map of f over the surface's bounds, with the known minima marked: a plain figure dict
    (JSON-ready, arrays as float32 typed arrays) for the race player. No plotly object is built, so a new
    formula's picture costs the grid's evaluation and little more."""
    xs, ys, z = surface.grid(resolution)
    mapping = color_mapping(surface, z)
    t = mapping.transform(z)
    levels = LOG_DECADES * LEVELS_PER_DECADE if mapping.log else LINEAR_LEVELS
    size = (mapping.hi - mapping.lo) / levels
    (x0, x1), (y0, y1) = surface.bounds
    contour = dict(
        type="contour",
        x=typed_array(xs, "f4"),
        y=typed_array(ys, "f4"),
        z=grid_array(t),
        customdata=grid_array(z),
        name="f(x, y)",
        showlegend=False,
        colorscale=[list(pair) for pair in COLORSCALE],
        zmin=float(mapping.lo),
        zmax=float(mapping.hi),
        autocontour=False,
        # "heatmap" colouring: plotly's band filling leaves white gaps along Beale's saddle lines.
        contours=dict(start=float(mapping.lo), end=float(mapping.hi), size=float(size), coloring="heatmap",
                      showlines=True),
        line=dict(width=0.6, color=LINE_COLOR),
        connectgaps=False,
        colorbar=_colorbar(mapping),
        hovertemplate="x = %{x:.3f}<br>y = %{y:.3f}<br>f = %{customdata:.4g}<extra></extra>",
    )
    axis = dict(autorange=False, constrain="domain", showgrid=False, zeroline=False, ticks="outside")
    layout = _base_layout(
        margin=dict(l=45, r=10, t=36, b=20),
        title=dict(text=surface.title, x=0.01, y=0.985, font=dict(size=16)),
        legend=dict(orientation="h", x=0.0, xanchor="left", y=-0.08, yanchor="top", font=dict(size=13),
                    itemwidth=30),
        meta=dict(log=bool(mapping.log), fmin=float(mapping.fmin), eps=float(mapping.eps),
                  cmin=float(mapping.lo), cmax=float(mapping.hi)),
        xaxis=dict(axis, range=[float(x0), float(x1)]),
        # A picture wider than tall (the saddle's 4 × 3) shrinks its height to keep x and y at one scale:
        # toward the top, under its title, not centred with a gap above that pushed the plot ~45 px lower,
        # past a 1280 × 720 projector's edge (tests/test_browser_layout.py).
        yaxis=dict(axis, range=[float(y0), float(y1)], scaleanchor="x", scaleratio=1, constraintoward="top"),
    )
    return {"data": [contour, *_minima_traces(surface)], "layout": layout}


def contour_figure(surface: Surface, resolution: int = 160) -> go.Figure:
    """``contour_payload`` as a plotly Figure (for ``st.plotly_chart``)."""
    return go.Figure(contour_payload(surface, resolution))


def surface3d_payload(surface: Surface, resolution: int = 80, clip_quantile: float = 0.95) -> dict:
    """3-D surface of f with the contour's colours, its height clipped at ``clip_quantile`` of the grid: a
    plain figure dict like ``contour_payload``.

    Height is the contour's colour coordinate: log10(f - fmin + eps) for log-scale surfaces (Beale's
    corners reach 10^5 while the race happens below 10), f itself otherwise. Clipping at a high quantile
    keeps a few extreme values from flattening the valley the optimizers travel in. ``layout.meta``
    tells the player how to lift a trail onto the surface: ``z = min(t(f), zclip) + zoffset``.
    """
    xs, ys, z = surface.grid(resolution)
    # The colours follow the contour's finer grid, so a colour means the same height in both pictures.
    _, _, fine = surface.grid(160)
    mapping = color_mapping(surface, fine)
    t = mapping.transform(z)
    finite = finite_values(t)
    if finite.size:
        zfloor = float(finite.min())
        zclip = float(np.quantile(finite, clip_quantile))
        if zclip <= zfloor:
            zclip = zfloor + 1.0
    else:
        zfloor, zclip = 0.0, 1.0
    height = np.minimum(t, zclip)
    zoffset = 0.03 * (zclip - zfloor)
    (x0, x1), (y0, y1) = surface.bounds
    surf = dict(
        type="surface",
        x=typed_array(xs, "f4"),
        y=typed_array(ys, "f4"),
        z=grid_array(height),
        surfacecolor=grid_array(t),
        cmin=float(mapping.lo),
        cmax=float(mapping.hi),
        colorscale=[list(pair) for pair in COLORSCALE],
        showscale=False,
        name="f(x, y)",
        hoverinfo="skip",
        contours=dict(x=dict(highlight=False), y=dict(highlight=False), z=dict(show=False, highlight=False)),
        lighting=dict(ambient=0.75, diffuse=0.5, specular=0.05, roughness=0.9),
    )

    def lifted(points: np.ndarray) -> np.ndarray:
        return np.minimum(mapping.transform(surface.value(points)), zclip) + zoffset

    span_x, span_y = x1 - x0, y1 - y0
    longest = max(span_x, span_y)
    title_font = dict(size=13)
    axis = dict(showbackground=False, gridcolor="#d0d7de", zerolinecolor="#d0d7de")
    zaxis = dict(axis, range=[zfloor, zclip + 2 * zoffset], autorange=False,
                 title=dict(text="f", font=title_font))
    if mapping.log:
        vals, text = log_ticks(mapping)
        keep = [(v, s) for v, s in zip(vals, text, strict=True) if zfloor <= v <= zclip]
        if len(keep) > 6:  # every other decade: the 3-D axis is short
            keep = keep[len(keep) % 2 :: 2]
        zaxis.update(tickvals=[float(v) for v, _ in keep], ticktext=[s for _, s in keep],
                     title=dict(text="f (log scale)", font=title_font))
    layout = _base_layout(
        margin=dict(l=0, r=0, t=36, b=0),
        title=dict(text=f"{surface.title} in 3-D", x=0.01, y=0.985, font=dict(size=16)),
        showlegend=False,
        scene=dict(
            uirevision=UIREVISION,
            xaxis=dict(axis, range=[float(x0), float(x1)], autorange=False,
                       title=dict(text="x", font=title_font)),
            yaxis=dict(axis, range=[float(y0), float(y1)], autorange=False,
                       title=dict(text="y", font=title_font)),
            zaxis=zaxis,
            aspectmode="manual",
            aspectratio=dict(x=span_x / longest, y=span_y / longest, z=0.6),
            camera=dict(eye=dict(x=0.5, y=-1.25, z=1.45)),
        ),
        meta=dict(zmode="log" if mapping.log else "linear", fmin=float(mapping.fmin), eps=float(mapping.eps),
                  zclip=zclip, zoffset=zoffset, zfloor=zfloor),
    )
    return {"data": [surf, *_minima_traces(surface, three_d=True, z_of=lifted)], "layout": layout}


def surface3d_figure(surface: Surface, resolution: int = 80, clip_quantile: float = 0.95) -> go.Figure:
    """``surface3d_payload`` as a plotly Figure."""
    return go.Figure(surface3d_payload(surface, resolution, clip_quantile))


def typed_array(values, dtype: str = "f8") -> dict:
    """A 1-D array as a plotly.js typed array (``{"dtype", "bdata"}``, what plotly.py sends for NumPy
    arrays); NaN stays NaN (a gap), never invalid JSON."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.dtype(dtype).newbyteorder("<")).ravel())
    return {"dtype": dtype, "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


def figure_payload(fig: go.Figure | dict) -> dict:
    """A JSON-ready dict of ``fig``; NumPy arrays travel as base64 typed arrays ("bdata"). A plain figure
    dict (``contour_payload``, ``surface3d_payload``) is already one and is returned as it is."""
    if isinstance(fig, dict):
        return fig
    return json.loads(pio.to_json(fig, validate=False))
