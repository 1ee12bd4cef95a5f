"""Custom surface: the visitor types f(x, y) and races the optimizers on it.

The formula is parsed by a whitelist (never eval'd) in a sandboxed worker with a time limit — see
``surfaces.expression``; the page names it by a ``SurfaceSpec`` and gets it from the one resolver
(``surfaces.spec.resolve``). It rides in the URL as ``expr`` (and the window as ``bounds``) so a teacher
can share it. A refused formula shows the parser's reason and races the default surface; a formula the
checker could not judge in time (busy, too slow) is kept — in the field and in the URL — with a "Try
again" button, and no other surface is raced in its place.
"""

import contextlib

import streamlit as st

from lab import literal, urlstate
from surfaces.expression import ALLOWED_FUNCTIONS, MAX_BOUND, MAX_LENGTH
from surfaces.spec import SurfaceSpec, Unavailable, resolve
from ui import controls, present
from ui import race as race_ui
from ui.page import use_app_navigation
from ui.surfaces import surface_header

use_app_navigation()

DEFAULT_EXPRESSION = "(1 - x)^2 + 10*(y - x^2)^2"
DEFAULT_BOUNDS = (-2.0, 2.0, -1.0, 3.0)
EXAMPLES = ("x^2 + 3*y^2", "sin(x)*cos(y)", "(1 - x)^2 + 100*(y - x^2)^2",
            "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", "x^2 - y^2", "log(x) + (y - 1)^2")


def parse_expression(text: str) -> str:
    """Only the length is checked here; the parser judges the rest (its message is shown on the page)."""
    if len(text) > MAX_LENGTH:
        raise ValueError(f"the formula is longer than {MAX_LENGTH} characters")
    return text


def formula_spec(text: str, bounds: tuple[float, float, float, float]) -> SurfaceSpec:
    return SurfaceSpec.formula(text, ((bounds[0], bounds[1]), (bounds[2], bounds[3])))


def keep_formula(state, typed: str, window: str) -> None:
    """Put the typed formula and window into the URL (keeping every other parameter, which is applied once
    the formula is read), so a reload or a shared link still holds them."""
    params = {**st.query_params.to_dict(), "expr": typed, "bounds": window}
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    race_ui.mark_written(state, st.query_params.to_dict())  # ours: not a new URL to read on the next run
    values = state.get("url", "values", default={})
    values["expr"] = typed
    with contextlib.suppress(ValueError):  # a window with min >= max stays as the visitor typed it
        values["bounds"] = urlstate.parse_bounds(window)


controls.warm_formula_workers()
state = race_ui.PageState("custom")
race_ui.read_url(state, extra={"expr": parse_expression, "bounds": urlstate.parse_bounds})
BOUND_NAMES = ("xmin", "xmax", "ymin", "ymax")
if race_ui.url_value(state, "expr") is not None:
    state.set(race_ui.url_value(state, "expr"), "expr")
if state.key("expr") not in st.session_state:
    state.set(DEFAULT_EXPRESSION, "expr")
url_bounds = race_ui.url_value(state, "bounds")
for i, name in enumerate(BOUND_NAMES):
    if url_bounds is not None:
        state.set(url_bounds[i], "bound", name)
    if state.key("bound", name) not in st.session_state:
        state.set(DEFAULT_BOUNDS[i], "bound", name)

bar = present.bar(state)  # None unless the presenter view (present=1)
if bar is None:
    st.title("Race on your own surface")
(bar.surface if bar else st).text_input(
    "f(x, y) =", key=state.key("expr"), max_chars=MAX_LENGTH, persist_state="session",
    label_visibility="collapsed" if bar else "visible",
    help="Use x and y, numbers, + − * / ^ (power), parentheses, pi, e and the functions "
         + ", ".join(sorted(ALLOWED_FUNCTIONS)) + ".")
with bar.settings if bar else contextlib.nullcontext():
    st.caption("Examples: " + " · ".join(f"`{e}`" for e in EXAMPLES))
    cols = st.columns(4)
    for col, name in zip(cols, BOUND_NAMES, strict=True):
        col.number_input(name, key=state.key("bound", name), min_value=-MAX_BOUND, max_value=MAX_BOUND,
                         format="%.4g", persist_state="session")
bounds = tuple(float(state.get("bound", n)) for n in BOUND_NAMES)
typed = state.get("expr")
# The URL keeps what the visitor typed (even a refused formula), so a reload shows the same page.
typed_bounds = tuple(float(state.get("bound", n)) for n in BOUND_NAMES)
typed_window = ",".join(urlstate.format_number(b) for b in typed_bounds)

text = typed.strip() or DEFAULT_EXPRESSION
if not (bounds[0] < bounds[1] and bounds[2] < bounds[3]):
    st.warning("Each minimum of the window must be below its maximum; using the default window.")
    bounds = DEFAULT_BOUNDS
try:
    with st.spinner("Reading the formula…", show_time=True):
        try:
            spec = formula_spec(text, bounds)
            surface = resolve(spec)
        except ValueError as exc:
            st.error(literal.text(exc))  # the parser's reason, which may quote the formula
            st.info(f"Showing the default surface `{DEFAULT_EXPRESSION}` instead — fix the formula above to "
                    "race on it.")
            spec = formula_spec(DEFAULT_EXPRESSION, DEFAULT_BOUNDS)
            surface = resolve(spec)
except Unavailable as exc:  # not judged (busy, too slow): keep the visitor's formula, offer to try again
    st.warning(literal.text(exc) + ". Your formula is kept; nothing else is raced in its place.")
    st.button("Try again", key=state.key("btn_retry_formula"), type="primary")
    keep_formula(state, typed, typed_window)
    st.stop()

if bar is None:
    surface_header(surface)
    gx, gy = surface.gradient_latex
    st.latex(r"\nabla f = \left(" + gx + r",\; " + gy + r"\right)")
    if len(surface.all_minima):
        found = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in surface.minima) or "none inside the window"
        local = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in surface.local_minima)
        local_text = f"; local minima: {local}" if local else ""
        st.caption(f"Global minima found in the window: {found}{local_text}"
                   + ". Found numerically: Newton steps on the exact Hessian from a 25 × 25 grid of starts.")
    else:
        st.caption("No minimum inside the window (the surface may be unbounded below, like a saddle).")

race_ui.show_race(state, surface, spec, {"expr": typed, "bounds": typed_window},
                  controls.presets_cached(spec, surface, state.key("btn_retry_presets"), state), bar=bar)
