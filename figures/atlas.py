"""Pictures of the landscape atlas: basin maps, sensitivity maps, learning-rate comparison.

Basin maps are plain data (``basin_payload``) for the Atlas's own map component (``ui.basins``), which
draws them with plotly.js and reports a click on any cell: redrawn on every step of the learning-rate
slider, they must be light to build, to send and to draw.

Sensitivity maps are ``go.Figure``s for ``st.plotly_chart``. Plotly heatmaps report no clicks to Streamlit
(streamlit/streamlit#8760), so that map carries an invisible scatter layer of cell centres on top of its
heatmap: hovering shows the cell's numbers, clicking selects it (``st.plotly_chart(on_select="rerun")``),
and each point's ``customdata`` says which cell it is.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

import optimizers
from figures.background import grid_array, typed_array
from figures.palette import color_for
from lab.atlas import DIVERGED, FLAT, NOT_YET, TOLERANCE, BasinMap, SensitivityMap, quantity

# Up to this grid the hover text names each cell's step of arrival (or divergence); a 256 × 256 map would
# more than double its bytes for it, so there the hover names the outcome and a click tells the step.
HOVER_STEPS_MAX_GRID = 128
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=15, color="#1f2328")

# Paul Tol's "light" scheme (colour-blind safe, light enough for black stars on top): one per minimum.
MINIMUM_COLORS = ("#77AADD", "#EE8866", "#44BB99", "#EEDD88", "#FFAABB", "#99DDFF", "#BBCC33", "#AAAA00")
FLAT_COLOR = "#B9A3DB"  # lavender: a flat point that is not a listed minimum
NOT_YET_COLOR = "#CFCFCF"  # grey
DIVERGED_COLOR = "#222222"  # near black
SELECTED_COLOR = "#ffffff"


def _point(p) -> str:
    return f"({p[0]:.3g}, {p[1]:.3g})"


def class_styles(surface) -> dict[int, tuple[str, str]]:
    """{class code: (label, colour)} for a surface: its minima, then the three other outcomes."""
    styles = {}
    n_global = len(surface.minima)
    for k, p in enumerate(surface.all_minima):
        kind = "global min" if k < n_global else "local min"
        styles[k] = (f"{kind} {_point(p)}", MINIMUM_COLORS[k % len(MINIMUM_COLORS)])
    styles[FLAT] = ("flat point, not a listed minimum", FLAT_COLOR)
    styles[NOT_YET] = ("not there yet", NOT_YET_COLOR)
    styles[DIVERGED] = ("diverged", DIVERGED_COLOR)
    return styles


def class_order(surface) -> list[int]:
    """Class codes in colour-scale order: the minima, then FLAT, NOT_YET, DIVERGED."""
    return [*range(len(surface.all_minima)), FLAT, NOT_YET, DIVERGED]


def class_index(surface, codes: np.ndarray) -> np.ndarray:
    """The heatmap's z: each class code's position in ``class_order`` (int8, same shape)."""
    lookup = np.zeros(256, dtype=np.int8)  # int8 code, read as uint8 → position
    for k, c in enumerate(class_order(surface)):
        lookup[c & 0xFF] = k
    return lookup[np.asarray(codes, dtype=np.int8).view(np.uint8)]


def _discrete_scale(colors: list[str]) -> list:
    n = len(colors)
    scale = []
    for k, c in enumerate(colors):
        scale += [[k / n, c], [(k + 1) / n, c]]
    return scale


def _layout(**extra) -> dict:
    return dict(template="plotly_white", font=FONT, hoverlabel=dict(font=dict(size=14)),
                margin=dict(l=60, r=20, t=70, b=50), **extra)


def _columns(n: int) -> int:
    return {1: 1, 2: 2, 3: 3, 4: 4, 5: 3, 6: 3, 7: 4, 8: 4}.get(n, 5)


def _grid(count: int, cols: int, h_space: float, v_space: float) -> list[tuple[list[float], list[float]]]:
    """(x domain, y domain) of each panel of a grid filled row by row from the top, as make_subplots lays
    them out."""
    rows = math.ceil(count / cols)
    width = (1.0 - h_space * (cols - 1)) / cols
    height = (1.0 - v_space * (rows - 1)) / rows
    cells = []
    for k in range(count):
        r, c = divmod(k, cols)
        x0 = c * (width + h_space)
        y1 = 1.0 - r * (height + v_space)
        cells.append(([x0, min(1.0, x0 + width)], [max(0.0, y1 - height), y1]))
    return cells


def _axis_names(k: int) -> tuple[str, str, str, str]:
    """(x ref, y ref, x layout key, y layout key) of panel k (0-based): x, y, xaxis, yaxis for the first."""
    n = "" if k == 0 else str(k + 1)
    return f"x{n}", f"y{n}", f"xaxis{n}", f"yaxis{n}"


def basin_payload(surface, maps: dict[str, BasinMap], columns: int | None = None) -> dict:
    """The basin maps as plain data for the Atlas's map component (``ui.basins``): a figure dict (one
    heatmap per optimizer, side by side with shared zoom, minima as stars, suggested starts as rings, a
    legend of the outcomes that occur) and, per panel, what the browser needs for hover text and clicks.

    No plotly object is built: the figure is a few dicts around base64 typed arrays (the classes as int8,
    the step of arrival or divergence as int16/int32 up to ``HOVER_STEPS_MAX_GRID``), fewer bytes than the
    figure with clickable point layers took, and the browser draws heatmaps only (no WebGL). ``columns``:
    panels per row (default: by their number; 1 on a phone, one readable map per row).
    """
    names = list(maps)
    cols = max(1, min(int(columns), len(names))) if columns else _columns(len(names))
    rows = math.ceil(len(names) / cols)
    styles = class_styles(surface)
    order = class_order(surface)
    colors = [styles[c][1] for c in order]
    data, panels, annotations, layout = [], [], [], {}
    present: set[int] = set()
    cells = _grid(len(names), cols, 0.03, 0.08 if rows > 1 else 0.0)
    (x0, x1), (y0, y1) = surface.bounds
    for k, name in enumerate(names):
        m = maps[name]
        xref, yref, xkey, ykey = _axis_names(k)
        present.update(np.unique(m.codes).tolist())
        title = optimizers.get(name).title
        panel = {"optimizer": name, "title": title, "trace": len(data), "xaxis": xref}
        if m.size <= HOVER_STEPS_MAX_GRID:
            steps_at = np.where(m.codes == DIVERGED, m.diverged_at, m.converged_at)
            wide = "i2" if int(np.abs(steps_at).max(initial=0)) < 32767 else "i4"
            panel["steps_at"] = typed_array(steps_at, wide)
        panels.append(panel)
        z = grid_array(class_index(surface, m.codes), "i1")
        data.append({"type": "heatmap", "x": typed_array(m.xs, "f8"), "y": typed_array(m.ys, "f8"), "z": z,
                     "zmin": -0.5, "zmax": len(colors) - 0.5, "showscale": False, "name": title,
                     "colorscale": _discrete_scale(colors), "xaxis": xref, "yaxis": yref,
                     "meta": {"optimizer": name, "grid": m.size}})
        data.extend(_marker_traces(surface, xref, yref))
        xdomain, ydomain = cells[k]
        layout[xkey] = {"domain": xdomain, "anchor": yref, "range": [x0, x1], "constrain": "domain",
                        "showgrid": False, "zeroline": False, "tickfont": {"size": 12}}
        layout[ykey] = {"domain": ydomain, "anchor": xref, "range": [y0, y1], "constrain": "domain",
                        "constraintoward": "top", "showgrid": False, "zeroline": False,
                        "tickfont": {"size": 12}, "scaleanchor": "x", "scaleratio": 1}
        if k:
            layout[xkey]["matches"] = "x"
            layout[ykey]["matches"] = "y"
        annotations.append({"text": title, "x": sum(xdomain) / 2, "y": ydomain[1], "xref": "paper",
                            "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 17}})
    for code in order:  # legend: only the outcomes that occur
        if code in present:
            data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                         "name": styles[code][0], "showlegend": True, "hoverinfo": "skip",
                         "marker": {"symbol": "square", "size": 16, "color": styles[code][1],
                                    "line": {"color": "#555", "width": 1}}})
    # Rows about as tall as a panel is wide in a ~850 px main column, or a ~360 px phone when the caller
    # chose the columns (the aspect is fixed to 1:1).
    aspect = (y1 - y0) / (x1 - x0)
    main = 340 if columns else 800
    row_height = int(min(max(main / cols, 160) * aspect, 520) + 60)
    layout.update(_layout(height=rows * row_height + 120, showlegend=True, dragmode="zoom",
                          hovermode="closest", annotations=annotations,
                          legend=dict(orientation="h", yanchor="bottom", y=1.0 + 40 / (rows * row_height),
                                      x=0, itemclick=False, itemdoubleclick=False, font=dict(size=14))))
    del layout["template"]  # a plotly.py template name means nothing to plotly.js: its look, written out
    layout.update(paper_bgcolor="#ffffff", plot_bgcolor="#ffffff")
    return {
        "figure": {"data": data, "layout": layout},
        "panels": panels,
        "grid": int(maps[names[0]].size) if names else 0,
        "steps": int(maps[names[0]].steps) if names else 0,
        "tolerance": TOLERANCE,
        "classes": [{"label": styles[c][0], "color": styles[c][1],
                     "kind": "minimum" if c >= 0 else {FLAT: "flat", NOT_YET: "not_yet"}.get(c, "diverged")}
                    for c in order],
        "has_minima": bool(len(surface.all_minima)),
    }


def _marker_traces(surface, xref: str, yref: str) -> list[dict]:
    """Minima (stars: black global, white local) and suggested starts (rings) of one panel."""
    n_global = len(surface.minima)
    traces = []
    groups = [(surface.all_minima[:n_global], "global minimum", "#000000"),
              (surface.all_minima[n_global:], "local minimum", "#ffffff")]
    for pts, label, color in groups:
        if len(pts):
            traces.append({"type": "scatter", "x": np.asarray(pts)[:, 0].tolist(),
                           "y": np.asarray(pts)[:, 1].tolist(), "mode": "markers", "showlegend": False,
                           "name": label, "xaxis": xref, "yaxis": yref,
                           "marker": {"symbol": "star", "size": 15, "color": color,
                                      "line": {"color": "#000000", "width": 1.2}},
                           "hovertemplate": f"{label} (%{{x:.4g}}, %{{y:.4g}})<extra></extra>"})
    if surface.starts:
        s = np.asarray(surface.starts, dtype=float)
        traces.append({"type": "scatter", "x": s[:, 0].tolist(), "y": s[:, 1].tolist(), "mode": "markers",
                       "showlegend": False, "name": "suggested start", "xaxis": xref, "yaxis": yref,
                       "marker": {"symbol": "circle-open", "size": 11, "color": "#000000",
                                  "line": {"width": 2}},
                       "hovertemplate": "suggested start (%{x:.4g}, %{y:.4g})<extra></extra>"})
    return traces


# --- sensitivity map -------------------------------------------------------------------------------------
GOOD_TO_BAD = [[0.0, "#FDE725"], [0.35, "#5EC962"], [0.7, "#21918C"], [1.0, "#3B528B"]]  # viridis, no black


def _edges_log(values: np.ndarray) -> np.ndarray:
    lv = np.log10(values)
    if len(lv) == 1:
        return 10.0 ** np.array([lv[0] - 0.5, lv[0] + 0.5])
    mid = (lv[:-1] + lv[1:]) / 2
    return 10.0 ** np.concatenate([[lv[0] - (mid[0] - lv[0])], mid, [lv[-1] + (lv[-1] - mid[-1])]])


def value_label(parameter: str | None, value: float) -> str:
    if parameter is None:
        return "—"
    return f"{value:.4g}" if parameter != "eps" else f"{value:.0e}"


def sensitivity_figure(smap: SensitivityMap, metric: str, fmin: float | None) -> go.Figure:
    """Learning rate (log x) × second hyperparameter (rows), coloured by final loss or steps to arrive.

    Diverged cells are near black; with ``metric="steps"``, cells that never arrive are grey. ``fmin``
    is the surface's minimum value (the loss is shown as log₁₀(f − f*) when every value allows it).
    """
    title = optimizers.get(smap.optimizer).title
    diverged = smap.diverged_at >= 0
    if metric == "steps":
        z = smap.converged_at.astype(float)
        z[(smap.converged_at < 0) | diverged] = np.nan
        bar = "steps to arrive"
    else:
        offset = fmin if fmin is not None else 0.0
        gap = smap.final_values - offset
        finite = gap[~diverged & np.isfinite(gap)]
        if fmin is not None and (finite > -1e-12).all():
            z = np.log10(np.maximum(gap, 1e-16))
            bar = "log₁₀(f − f*)"
        else:
            z = smap.final_values.copy()
            bar = "final loss"
        z[diverged] = np.nan
    ylabels = [value_label(smap.parameter, v) for v in smap.values]
    xedges = _edges_log(smap.lrs)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=xedges, y=ylabels, z=z, colorscale=GOOD_TO_BAD, hoverinfo="skip",
                             colorbar=dict(title=dict(text=bar, side="right"), thickness=18)))
    layers = [(diverged, DIVERGED_COLOR, "diverged")]
    if metric == "steps":
        layers.append(((smap.converged_at < 0) & ~diverged, NOT_YET_COLOR, "never within tolerance"))
    for mask, color, label in layers:
        if mask.any():
            fig.add_trace(go.Heatmap(x=xedges, y=ylabels, z=np.where(mask, 1.0, np.nan), showscale=False,
                                     colorscale=[[0, color], [1, color]], hoverinfo="skip", name=label))
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label, showlegend=True,
                                     marker=dict(symbol="square", size=16, color=color)))
    rr, cc = np.meshgrid(np.arange(len(smap.values)), np.arange(len(smap.lrs)), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    texts = []
    param = smap.parameter or ""
    for r, c in zip(rr.tolist(), cc.tolist(), strict=True):
        line = f"<b>{title}</b><br>η = {smap.lrs[c]:.3g}"
        if smap.parameter:
            line += f", {param} = {value_label(param, smap.values[r])}"
        if smap.diverged_at[r, c] >= 0:
            line += f"<br>diverges at step {smap.diverged_at[r, c]}"
        else:
            line += f"<br>final loss {smap.final_values[r, c]:.6g}"
            arrive = smap.converged_at[r, c]
            line += f"<br>arrives at step {arrive}" if arrive >= 0 else "<br>never within tolerance"
        texts.append(line + "<br><i>click: replay this run</i>")
    fig.add_trace(go.Scatter(
        x=smap.lrs[cc], y=[ylabels[r] for r in rr], mode="markers", customdata=np.column_stack([rr, cc]),
        hovertext=texts, hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
        meta={"optimizer": smap.optimizer}, name=title,
        marker=dict(size=14, symbol="square", color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(color=SELECTED_COLOR, opacity=1, size=12)),
        unselected=dict(marker=dict(opacity=0))))
    fig.update_xaxes(type="log", title="learning rate η", exponentformat="power", showgrid=False)
    fig.update_yaxes(title=param or "(no second hyperparameter)", type="category", showgrid=False)
    start = f"({smap.start[0]:.4g}, {smap.start[1]:.4g})"
    fig.update_layout(**_layout(
        title=dict(text=f"{title} from {start}, {smap.steps} steps", x=0.01, font=dict(size=18)),
        height=max(320, 26 * len(smap.values) + 200), clickmode="event+select", hovermode="closest",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0.5, font=dict(size=14),
                    itemclick=False, itemdoubleclick=False)))
    return fig


# --- learning-rate comparison ------------------------------------------------------------------------------
QUANTITY_LABELS = {"x": "x", "y": "y", "loss": "loss f(x, y)"}


def lr_comparison_figure(surface, runs: dict[float, dict[str, optimizers.Path]], which: str,
                         columns: int | None = None) -> go.Figure:
    """Small multiples, one per learning rate: the chosen quantity against the iteration per optimizer.

    ``columns``: panels per row (default: all in one row; 1 on a phone, one panel per row).
    """
    lrs = list(runs)
    cols = max(1, min(int(columns), len(lrs))) if columns else max(1, len(lrs))
    rows = math.ceil(len(lrs) / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes="all" if rows > 1 else True,
                        horizontal_spacing=0.04, vertical_spacing=0.12 if rows > 1 else 0.0,
                        subplot_titles=[f"η = {lr:g}" for lr in lrs])
    for k, lr in enumerate(lrs):
        r, c = divmod(k, cols)
        r, c = r + 1, c + 1
        for name, path in runs[lr].items():
            ys = quantity(surface, path, which)
            end = len(ys) if path.diverged_at is None else max(path.diverged_at, 1)
            title = optimizers.get(name).title
            fig.add_trace(go.Scatter(
                x=np.arange(end), y=ys[:end], mode="lines", name=title, legendgroup=name,
                showlegend=k == 0, line=dict(color=color_for(name), width=2.5),
                hovertemplate=f"{title}<br>step %{{x}}: %{{y:.5g}}<extra></extra>"), row=r, col=c)
            if path.diverged_at is not None:
                fig.add_trace(go.Scatter(
                    x=[end - 1], y=[ys[end - 1]], mode="markers", legendgroup=name, showlegend=False,
                    marker=dict(symbol="x", size=12, color=color_for(name)),
                    hovertemplate=f"{title} diverged at step {path.diverged_at}<extra></extra>"),
                    row=r, col=c)
        fig.update_xaxes(title_text="iteration", row=r, col=c)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=QUANTITY_LABELS[which], row=r, col=1)
    height = 460 if rows == 1 else 300 * rows + 160
    fig.update_layout(**_layout(height=height, hovermode="closest",
                                legend=dict(orientation="h", yanchor="top", y=-0.18 * 460 / height, x=0,
                                            font=dict(size=14))))
    fig.update_annotations(font=dict(size=17))
    return fig


# --- clicks and their words --------------------------------------------------------------------------------
def _trace_point(fig: go.Figure, point: dict):
    """(trace, point index) of a selection point from ``st.plotly_chart(..., on_select=...)``, or None."""
    try:
        curve = int(point.get("curve_number", point.get("curveNumber")))
        index = int(point.get("point_index", point.get("point_number", point.get("pointIndex"))))
    except (TypeError, ValueError, AttributeError):
        return None
    if not 0 <= curve < len(fig.data):
        return None
    trace = fig.data[curve]
    custom = trace.customdata
    if not isinstance(trace.meta, dict) or custom is None or not 0 <= index < len(custom):
        return None
    return trace, index


def clicked_sensitivity_cell(fig: go.Figure, point: dict) -> tuple[int, int] | None:
    """(row, column) of a clicked sensitivity-map cell, or None."""
    found = _trace_point(fig, point)
    if found is None:
        return None
    trace, index = found
    row, col = trace.customdata[index]
    return int(row), int(col)


def outcome_text(surface, m: BasinMap, i: int, j: int) -> str:
    """What happens from cell (i, j), in words (for the line under a clicked map)."""
    code = int(m.codes[i, j])
    if code >= 0:
        label = class_styles(surface)[code][0]
        return f"reaches the {label} (within {TOLERANCE:g} at step {int(m.converged_at[i, j])})."
    if code == DIVERGED:
        return f"diverges at step {int(m.diverged_at[i, j])}."
    if code == FLAT:
        return "stops where the gradient vanishes, not at a listed minimum."
    return f"is not within {TOLERANCE:g} of a minimum after {m.steps} steps."


def sensitivity_text(smap: SensitivityMap, row: int, col: int) -> str:
    title = optimizers.get(smap.optimizer).title
    text = f"**{title}** with η = {smap.lrs[col]:.4g}"
    if smap.parameter:
        text += f", {smap.parameter} = {value_label(smap.parameter, smap.values[row])}"
    if smap.diverged_at[row, col] >= 0:
        return text + f": diverges at step {int(smap.diverged_at[row, col])}."
    text += f": final loss {smap.final_values[row, col]:.6g}"
    arrive = int(smap.converged_at[row, col])
    return text + (f", within {TOLERANCE:g} of a minimum at step {arrive}." if arrive >= 0 else
                   f", never within {TOLERANCE:g} of a minimum.")
