"""Optimizers explained: each update rule from the table, then one step of a real run with its numbers."""

from __future__ import annotations

import logging

import plotly.graph_objects as go
import streamlit as st

import optimizers
import surfaces
from figures import background
from figures.palette import color_for
from lab import explain, presets, urlstate
from ui import urlsync
from ui.controls import restore
from ui.fields import number_field
from ui.page import use_app_navigation
from ui.surfaces import catalogue_surface
from ui.urlsync import PageState, url_value

use_app_navigation()

TRACE_STEPS = 300  # steps explained when the link names none
MAX_STEPS = 5000  # the Race page's longest race
DEFAULT_SURFACE = "ravine"  # f = x²/20 + 5y²: gradients (x/10, 10y) that can be checked by hand
DEFAULT_OPTIMIZER = "adam"
_LOGGER = logging.getLogger("pages.explain")  # a page runs as __main__: name it

# Every setting is in the URL (lab.urlstate.explain_params), so an explanation is a link too; the Race
# page's "Explain this step" opens one at the paused step.
state = PageState("explain")
urlsync.read_url(state, urlstate.explain_parsers(MAX_STEPS))
for message in urlsync.url_warnings(state):
    st.warning(message)


def _title(name: str) -> str:
    opt = optimizers.get(name)
    return f"{opt.title} (2nd order)" if opt.second_order else opt.title


@st.cache_data(max_entries=len(surfaces.available()), show_spinner=False)
def _contour(surface_name: str) -> go.Figure:
    return background.contour_figure(catalogue_surface(surface_name))


def _trace(name: str, surface_name: str, start, steps: int, settings: tuple) -> tuple[list, optimizers.Path]:
    """The run's step records and its Path. Not cached: 300 steps take about 10 ms, the longest race
    (5000 steps) about 0.6 s; a schedule (cosine, …) depends on the run's length, so the whole run is
    traced even to explain an early step."""
    surface = catalogue_surface(surface_name)
    hyper = dict(settings)
    return (optimizers.trace(name, surface, start, steps, **hyper),
            optimizers.run(name, surface, start, steps, **hyper))


# --- the rule -------------------------------------------------------------------------------------------
st.title("Optimizers explained")
st.markdown("Each optimizer's update rule as Ruder's overview writes it, what it is for, and then one step "
            "of a real run with every number filled in.")

names = optimizers.available()
restore(state, "optimizer", DEFAULT_OPTIMIZER)
name = st.segmented_control("Optimizer", names, format_func=_title, key=state.key("optimizer"), required=True,
                            persist_state="session") or DEFAULT_OPTIMIZER
opt = optimizers.get(name)

rule, facts = st.columns([1.15, 1], gap="large")
with rule:
    st.subheader(f"{opt.title}: the update rule")
    st.latex(explain.rule_latex(opt.latex))
    st.markdown(opt.summary)
    hessian = " and Hₜ = ∇²f(θₜ) the Hessian (the curvature)" if opt.second_order else ""
    st.caption(f"A {opt.family} method. Notation: gₜ = ∇f(θₜ) is the gradient at step t{hessian}. "
               f"Paper: {opt.paper}")
with facts:
    st.subheader("Hyperparameters")
    st.table([{"Name": p.name, "Default": f"{p.default:g}", "Valid range": p.valid_range,
               "What it does": p.help} for p in opt.hyperparameters], hide_index=True)
    st.markdown(f"**torch.optim:** {opt.torch_note}")

# --- explain this step -------------------------------------------------------------------------------------
st.divider()
st.header(f"Explain this step: {opt.title}")

all_surfaces = surfaces.available()
restore(state, "surface", DEFAULT_SURFACE)
c_surface, c_x, c_y, c_steps = st.columns([2, 1, 1, 1])
surface_name = c_surface.selectbox("Surface", all_surfaces, key=state.key("surface"), persist_state="session",
                                   format_func=lambda s: catalogue_surface(s).title)
surface = catalogue_surface(surface_name)
span = max(b[1] - b[0] for b in surface.bounds)
url_start = url_value(state, "start")
for axis, default, key in zip("xy", surface.start, ("x", "y"), strict=True):
    if url_start is not None:
        state.set(float(url_start["xy".index(axis)]), "start", surface_name, key)
    state.init(float(default), "start", surface_name, key)
limit = optimizers.LIMIT
start_reason = f"a start must lie within ±{limit:g} (where every run stops)"
x0 = number_field(c_x, "Start x", state.key("start", surface_name, "x"), low=-limit, high=limit,
                  fallback=surface.start[0], reason=start_reason, step=span / 100, fmt="%.4g")
y0 = number_field(c_y, "Start y", state.key("start", surface_name, "y"), low=-limit, high=limit,
                  fallback=surface.start[1], reason=start_reason, step=span / 100, fmt="%.4g")
restore(state, "steps", TRACE_STEPS)
steps = int(number_field(c_steps, "Steps", state.key("steps"), low=1, high=MAX_STEPS, fallback=TRACE_STEPS,
                         valid=lambda v: v == int(v), step=1, fmt="%d",
                         reason=f"the number of steps is a whole number from 1 to {MAX_STEPS}",
                         help="How many steps of the run to explain (the Race page's steps, when opened "
                              "from a race: a schedule such as cosine depends on the run's length)."))

preset = presets.surface_presets(surface_name)[name]
hp_cols = st.columns(max(len(opt.hyperparameters), 3))
hyper: dict[str, object] = {}
for col, p in zip(hp_cols, opt.hyperparameters, strict=False):
    url_key = urlstate.hyperparameter_key(name, p.name)
    if url_value(state, url_key) is not None:
        state.set(float(url_value(state, url_key)), "hp", surface_name, name, p.name)
    state.init(float(preset[p.name]), "hp", surface_name, name, p.name)
    hyper[p.name] = number_field(
        col, f"{p.name}, valid {p.valid_range}", state.key("hp", surface_name, name, p.name), low=p.ui_min,
        high=p.ui_max, fallback=float(preset[p.name]), valid=p.is_valid, help=p.help,
        step=float(p.ui_min) if p.log else 0.01,
        reason=lambda v, p=p: (f"a {p.label} must be in {p.valid_range}" if not p.is_valid(v) else
                               f"this page takes a {p.label} from {p.ui_min:g} to {p.ui_max:g}"))
# Run options (schedules, gradient noise) come with a link from a race; the page keeps them until changed.
if state.get("url", "pending"):
    state.set({k: url_value(state, k) for k in optimizers.RUN_OPTIONS if url_value(state, k) is not None},
              "options")
options = dict(state.get("options", default={}))
hyper.update(options)
st.caption(f"Learning rates start from the preset tuned for {surface.title} (as on the Race page); the other "
           "hyperparameters from the published defaults.")
if options:
    st.caption("With the race's run options: " + ", ".join(f"{k} = {v}" for k, v in options.items())
               + ". The numbers below are those of the run with them.")

start = (float(x0), float(y0))
try:
    records, stopped = _trace(name, surface_name, start, steps, tuple(sorted(hyper.items())))
except ValueError:  # the inputs are bounded, so this is a safety net, not a path
    _LOGGER.warning("Explain: %s refused %s from %s", name, hyper, start, exc_info=True)
    st.warning(f"Could not run {opt.title} with these settings. Showing the defaults instead.")
    start, hyper = surface.start, dict(preset)
    records, stopped = _trace(name, surface_name, start, steps, tuple(sorted(hyper.items())))
# The run (and the Race page) stops at the first step whose |θ| or |f| exceeds the limit; explain no further.
diverged_at = stopped.diverged_at
if diverged_at is not None:
    records = records[:diverged_at - 1]
if stopped.stopped_by:  # a second-order rule that cannot solve with its Hessian
    st.warning(f"{opt.title} stopped: {stopped.note}. Newton's step needs an invertible Hessian; try another "
               "start, or Saddle-free Newton, which only needs its curvatures to be non-zero.")
    if not records:
        st.stop()
elif not records:
    st.warning(f"{opt.title} leaves the picture on its very first step from this start (|θ| or |f| above "
               f"{limit:g}, or outside the formula's domain). Try a smaller learning rate or another start.")
    st.stop()
if len(records) < steps and not stopped.stopped_by:
    st.info(f"{opt.title} leaves the picture at step {len(records) + 1}, so only the first {len(records)} "
            "steps can be explained. A smaller learning rate keeps it on the map.")

n = len(records)
t_key = state.key("t")
restore(state, "t", 1)
st.session_state[t_key] = min(max(int(st.session_state[t_key]), 1), n)


def _move(delta: int) -> None:
    st.session_state[t_key] = min(max(int(st.session_state[t_key]) + delta, 1), n)


c_prev, c_slider, c_next = st.columns([1.3, 7, 1.3], vertical_alignment="bottom")
c_prev.button("◀ Back", on_click=_move, args=(-1,), key=state.key("prev"), width="stretch", disabled=n == 1)
if n > 1:
    c_slider.slider("Step t", 1, n, key=t_key)
c_next.button("Next ▶", on_click=_move, args=(1,), key=state.key("next"), width="stretch", disabled=n == 1)
t = int(st.session_state[t_key])
record = records[t - 1]
lines = explain.explain_step(name, record)

# --- the picture and the numbers ---------------------------------------------------------------------------
left, right = st.columns([1, 1], gap="large")
with left:
    restore(state, "zoom", True)
    zoom = st.toggle("Zoom in on this step", key=state.key("zoom"), persist_state="session",
                     help="Centre the map on θₜ and θₜ₊₁: steps are often too small to see on the "
                          "whole map.")
    fig = go.Figure(_contour(surface_name))
    color = color_for(name)
    path = [records[0].theta] + [r.theta_next for r in records[:t]]
    fig.add_trace(go.Scatter(x=[p[0] for p in path], y=[p[1] for p in path], mode="lines+markers",
                             name=f"{opt.title}, steps 0–{t}", line=dict(color=color, width=2.5),
                             marker=dict(size=4, color=color),
                             hovertemplate="(%{x:.4g}, %{y:.4g})<extra></extra>"))
    marks = [(record.theta, "θₜ (start of step t)", "circle", "#ffffff")]
    if record.lookahead != record.theta:
        marks.append((record.lookahead, "look-ahead θₜ − γvₜ₋₁", "circle-open", color))
    marks.append((record.theta_next, "θₜ₊₁ (end of step t)", "circle", color))
    for point, label, symbol, fill in marks:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name=label,
                                 marker=dict(size=12, symbol=symbol, color=fill,
                                             line=dict(color="#1f2328", width=2)),
                                 hovertemplate=f"{label}<br>(%{{x:.6g}}, %{{y:.6g}})<extra></extra>"))
    fig.add_annotation(x=record.theta_next[0], y=record.theta_next[1], ax=record.theta[0], ay=record.theta[1],
                       xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.4,
                       arrowwidth=2.5, arrowcolor="#1f2328", text="")
    if zoom:
        pts = [record.theta, record.theta_next, record.lookahead]
        cx = sum(p[0] for p in pts) / 3
        cy = sum(p[1] for p in pts) / 3
        reach = max(max(abs(p[0] - cx), abs(p[1] - cy)) for p in pts)
        half = max(3.0 * reach, 1e-3 * span, 1e-12)
        fig.update_xaxes(range=[cx - half, cx + half])
        fig.update_yaxes(range=[cy - half, cy + half])
    fig.update_traces(showscale=False, selector=dict(type="contour"))
    fig.update_layout(height=540, uirevision=f"explain-{surface_name}-{zoom}-{t if zoom else ''}",
                      legend=dict(x=0.0, y=-0.1, xanchor="left", yanchor="top", orientation="h"),
                      margin=dict(l=50, r=10, t=36, b=90))
    st.plotly_chart(fig, key=state.key("figure"), config={"displaylogo": False})
with right:
    st.markdown(f"**Step {t} of {opt.title} on {surface.title}**, with "
                + ", ".join(f"${symbol} = {explain.number(value)}$"
                            for symbol, value in explain.step_hyperparameters(name, record)))
    st.table([{"Quantity": line.label, "x": explain.plain(line.values[0]), "y": explain.plain(line.values[1])}
              for line in lines], hide_index=True)
    st.caption("The state starts at zero; the move and the new point are the run's own numbers, so θₜ₊₁ "
               "here is exactly the point the Race page draws for this step. η_eff = −Δθ/g is the learning "
               "rate plain SGD would have needed to make the same move (— where g = 0).")
    sgd_lr = presets.surface_presets(surface_name)["sgd"]["lr"]
    st.info(explain.takeaway(name, record, sgd_lr), icon=":material/lightbulb:")

st.subheader("The rule, filled in")
for line in lines:
    st.markdown(f"**{line.label}**")
    st.latex(explain.aligned_latex(line))

urlsync.write_url(state, {**urlstate.explain_params(name, surface_name, steps, start, hyper, t),
                          **({} if zoom else {"zoom": "0"})})
