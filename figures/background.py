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


def _minima_traces(surface: Surface, *, three_d: bool = False, z_of=None) -> list:
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
            traces.append(
                go.Scatter3d(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    z=z_of(pts),
                    mode="markers",
                    name=name,
                    showlegend=False,
                    hoverinfo="skip",
                    marker=dict(
                        symbol="diamond" if symbol == "star" else "circle",
                        size=6 if symbol == "star" else 4,
                        color=color,
                    ),
                )
            )
        else:
            traces.append(
                go.Scatter(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    mode="markers",
                    name=name,
                    legendrank=2000,
                    hovertemplate=f"{name}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
                    marker=dict(symbol=symbol, size=size, color=color, line=dict(color="#ffffff", width=1.5)),
                )
            )
    return traces


def _base_layout(**extra) -> dict:
    return dict(
        template=go.layout.Template(),
        uirevision=UIREVISION,
        font=FONT,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        hoverlabel=dict(font=dict(size=13)),
        **extra,
    )


def contour_figure(surface: Surface, resolution: int = 160) -> go.Figure:
    """Filled contour map of f over the surface's bounds, with the known minima marked."""
    xs, ys, z = surface.grid(resolution)
    mapping = color_mapping(surface, z)
    t = mapping.transform(z)
    levels = LOG_DECADES * LEVELS_PER_DECADE if mapping.log else LINEAR_LEVELS
    size = (mapping.hi - mapping.lo) / levels
    (x0, x1), (y0, y1) = surface.bounds
    contour = go.Contour(
        x=xs.astype(np.float32),
        y=ys.astype(np.float32),
        z=t.astype(np.float32),
        customdata=z.astype(np.float32),
        name="f(x, y)",
        showlegend=False,
        colorscale=COLORSCALE,
        zmin=mapping.lo,
        zmax=mapping.hi,
        autocontour=False,
        # "heatmap" colouring: plotly's band filling leaves white gaps along Beale's saddle lines.
        contours=dict(start=mapping.lo, end=mapping.hi, size=size, coloring="heatmap", showlines=True),
        line=dict(width=0.6, color=LINE_COLOR),
        connectgaps=False,
        colorbar=_colorbar(mapping),
        hovertemplate="x = %{x:.3f}<br>y = %{y:.3f}<br>f = %{customdata:.4g}<extra></extra>",
    )
    fig = go.Figure([contour, *_minima_traces(surface)])
    fig.update_layout(
        _base_layout(
            margin=dict(l=45, r=10, t=36, b=20),
            title=dict(text=surface.title, x=0.01, y=0.985, font=dict(size=16)),
            legend=dict(
                orientation="h",
                x=0.0,
                xanchor="left",
                y=-0.08,
                yanchor="top",
                font=dict(size=13),
                itemwidth=30,
            ),
            meta=dict(log=mapping.log, fmin=mapping.fmin, eps=mapping.eps, cmin=mapping.lo, cmax=mapping.hi),
        )
    )
    fig.update_xaxes(
        range=[x0, x1], autorange=False, constrain="domain", showgrid=False, zeroline=False, ticks="outside"
    )
    fig.update_yaxes(
        range=[y0, y1],
        autorange=False,
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
        showgrid=False,
        zeroline=False,
        ticks="outside",
    )
    return fig


def surface3d_figure(surface: Surface, resolution: int = 80, clip_quantile: float = 0.95) -> go.Figure:
    """3-D surface of f with the contour's colours; its height clipped at ``clip_quantile`` of the grid.

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
    surf = go.Surface(
        x=xs.astype(np.float32),
        y=ys.astype(np.float32),
        z=height.astype(np.float32),
        surfacecolor=t.astype(np.float32),
        cmin=mapping.lo,
        cmax=mapping.hi,
        colorscale=COLORSCALE,
        showscale=False,
        name="f(x, y)",
        hoverinfo="skip",
        contours=dict(
            x=dict(highlight=False), y=dict(highlight=False), z=dict(show=False, highlight=False)
        ),
        lighting=dict(ambient=0.75, diffuse=0.5, specular=0.05, roughness=0.9),
    )

    def lifted(points: np.ndarray) -> np.ndarray:
        return np.minimum(mapping.transform(surface.value(points)), zclip) + zoffset

    fig = go.Figure([surf, *_minima_traces(surface, three_d=True, z_of=lifted)])
    span_x, span_y = x1 - x0, y1 - y0
    longest = max(span_x, span_y)
    axis = dict(showbackground=False, gridcolor="#d0d7de", zerolinecolor="#d0d7de", title_font=dict(size=13))
    zaxis = dict(axis, range=[zfloor, zclip + 2 * zoffset], autorange=False, title="f")
    if mapping.log:
        vals, text = log_ticks(mapping)
        keep = [(v, s) for v, s in zip(vals, text, strict=True) if zfloor <= v <= zclip]
        if len(keep) > 6:  # every other decade: the 3-D axis is short
            keep = keep[len(keep) % 2 :: 2]
        zaxis.update(tickvals=[v for v, _ in keep], ticktext=[s for _, s in keep], title="f (log scale)")
    fig.update_layout(
        _base_layout(
            margin=dict(l=0, r=0, t=36, b=0),
            title=dict(text=f"{surface.title} in 3-D", x=0.01, y=0.985, font=dict(size=16)),
            showlegend=False,
            scene=dict(
                uirevision=UIREVISION,
                xaxis=dict(axis, range=[x0, x1], autorange=False, title="x"),
                yaxis=dict(axis, range=[y0, y1], autorange=False, title="y"),
                zaxis=zaxis,
                aspectmode="manual",
                aspectratio=dict(x=span_x / longest, y=span_y / longest, z=0.6),
                camera=dict(eye=dict(x=0.5, y=-1.25, z=1.45)),
            ),
            meta=dict(
                zmode="log" if mapping.log else "linear",
                fmin=mapping.fmin,
                eps=mapping.eps,
                zclip=zclip,
                zoffset=zoffset,
                zfloor=zfloor,
            ),
        )
    )
    return fig


def typed_array(values, dtype: str = "f8") -> dict:
    """A 1-D array as a plotly.js typed array (``{"dtype", "bdata"}``, what plotly.py sends for NumPy
    arrays); NaN stays NaN (a gap), never invalid JSON."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.dtype(dtype).newbyteorder("<")).ravel())
    return {"dtype": dtype, "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


def figure_payload(fig: go.Figure) -> dict:
    """A JSON-ready dict of ``fig``; NumPy arrays travel as base64 typed arrays ("bdata")."""
    return json.loads(pio.to_json(fig, validate=False))
