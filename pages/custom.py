"""Custom surface: the visitor types f(x, y) and races the optimizers on it.

The formula is parsed by a whitelist (never eval'd) in a sandboxed worker with a time limit — see
``surfaces.expression``. It rides in the URL as ``expr`` (and the window as ``bounds``) so a teacher can
share it.
"""

import contextlib

import streamlit as st
import sympy as sp

import surfaces
from lab import literal, urlstate
from surfaces.expression import ALLOWED_FUNCTIONS, MAX_LENGTH
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


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def custom_surface(text: str, bounds: tuple[float, float, float, float]) -> surfaces.Surface:
    return surfaces.from_expression(text, ((bounds[0], bounds[1]), (bounds[2], bounds[3])))


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
        col.number_input(name, key=state.key("bound", name), min_value=-1e6, max_value=1e6, format="%.4g",
                         persist_state="session")
bounds = tuple(float(state.get("bound", n)) for n in BOUND_NAMES)
typed = state.get("expr")

text = typed.strip() or DEFAULT_EXPRESSION
if not (bounds[0] < bounds[1] and bounds[2] < bounds[3]):
    st.warning("Each minimum of the window must be below its maximum; using the default window.")
    bounds = DEFAULT_BOUNDS
try:
    with st.spinner("Reading the formula…"):
        surface = custom_surface(text, bounds)
except ValueError as exc:
    st.error(literal.text(exc))  # the parser's reason, which may quote the formula
    st.info(f"Showing the default surface `{DEFAULT_EXPRESSION}` instead — fix the formula above to race "
            "on it.")
    text, bounds = DEFAULT_EXPRESSION, DEFAULT_BOUNDS
    surface = custom_surface(text, bounds)

if bar is None:
    surface_header(surface)
    gx, gy = surface.gradient_expressions
    st.latex(r"\nabla f = \left(" + sp.latex(gx) + r",\; " + sp.latex(gy) + r"\right)")
    if len(surface.all_minima):
        found = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in surface.minima) or "none inside the window"
        local = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in surface.local_minima)
        local_text = f"; local minima: {local}" if local else ""
        st.caption(f"Global minima found in the window: {found}{local_text}"
                   + ". Found numerically: Newton steps on the exact Hessian from a 25 × 25 grid of starts.")
    else:
        st.caption("No minimum inside the window (the surface may be unbounded below, like a saddle).")

surface_key = ("custom", text, bounds)
# The URL keeps what the visitor typed (even a refused formula), so a reload shows the same page.
typed_bounds = tuple(float(state.get("bound", n)) for n in BOUND_NAMES)
race_ui.show_race(state, surface, surface_key,
                  {"expr": typed, "bounds": ",".join(urlstate.format_number(b) for b in typed_bounds)},
                  controls.presets_cached(surface_key, surface), bar=bar)
