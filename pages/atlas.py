"""Atlas: from which starts does each optimizer reach which minimum, and for which settings does it work?

Three views in lazy tabs (only the open one computes): basin maps (a G × G grid of starts per optimizer),
a sensitivity map (learning rate × a second hyperparameter for one start) and the learning-rate
comparison of the advanced-gradient-descent notes. Clicking a cell offers its run on the Race page.

State lives under ``keep.atlas.*`` and mirrors into the URL after every run (formats as on the Race page:
``surface``, ``optimizers``, ``steps``, ``start``, ``lr_<optimizer>``, ``<param>_<optimizer>``; plus
``grid``, ``view``, ``sens``, ``param``, ``metric``, ``lrs``, ``quantity``, and ``expr`` for a custom
formula). A URL is read when it differs from the one this session last wrote; each bad parameter gives
one warning and the default is kept. The maps are computed in this process by the compiled engine (about
a second for the largest; a progress bar for several) and cached per optimizer and settings.
"""

from __future__ import annotations

import hashlib
import logging
import math

import streamlit as st
from streamlit.errors import StreamlitAPIException

import optimizers
import surfaces
from figures import atlas as atlas_figures
from lab import atlas, literal, presets, urlstate
from ui import urlsync
from ui.page import use_app_navigation
from ui.surfaces import catalogue_surface, surface_header
from ui.urlsync import PageState

use_app_navigation()

PAGE = "atlas"
DEFAULT_SURFACE = "himmelblau"
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
DEFAULT_GRID = 128
DEFAULT_STEPS = 500
VIEWS = {"basins": "Basin maps", "sensitivity": "Sensitivity", "rates": "Learning rates"}
METRICS = {"loss": "final loss", "steps": "steps to arrive"}
QUANTITIES = {"x": "x", "y": "y", "loss": "loss"}
SENS_LRS = 32  # learning rates per sensitivity map (columns)
SENS_VALUES = 16  # values of the second hyperparameter (rows)
FAILED = "The computation failed. Try fewer steps or another setting."
_LOGGER = logging.getLogger("pages.atlas")  # a page runs as __main__: name it


state = PageState(PAGE)
key, get, put, init = state.key, state.get, state.set, state.init


def parse_grid(text: str) -> int:
    value = urlstate.parse_int(text, min(atlas.GRID_SIZES), max(atlas.GRID_SIZES))
    if value not in atlas.GRID_SIZES:
        raise ValueError(f"{value} is not one of {', '.join(map(str, atlas.GRID_SIZES))}")
    return value


def parse_lrs(text: str) -> tuple[float, float, float]:
    parts = [p for p in text.split(",") if p.strip()]
    if len(parts) != 3:
        raise ValueError(f"'{text}' is not three comma-separated learning rates")
    values = tuple(urlstate.parse_float(p, 1e-6, 10.0) for p in parts)
    if any(v <= 0 for v in values):
        raise ValueError("learning rates must be positive")
    return values


def parse_bounds(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    x0, x1, y0, y1 = urlstate.parse_bounds(text)
    return (x0, x1), (y0, y1)


def parse_sens(text: str) -> str:
    return urlstate.parse_choice(text, optimizers.available())


def parse_param(text: str) -> str:
    return urlstate.parse_choice(text, atlas.SECOND_AXES)


# The live slider of the basin view: every shown optimizer's learning rate times this factor.
LR_SCALES = tuple(float(f"{10 ** (k / 8):.3g}") for k in range(-16, 17))  # 0.01 … 100, 8 per decade


def parse_scale(text: str) -> float:
    value = urlstate.parse_float(text, LR_SCALES[0], LR_SCALES[-1])
    return min(LR_SCALES, key=lambda s: abs(math.log(s / value)))


def parsers() -> dict:
    table = {
        "surface": lambda t: urlstate.parse_choice(t, surfaces.available()),
        "expr": lambda t: t.strip() or _raise("empty formula"),
        "bounds": parse_bounds,
        "optimizers": urlstate.parse_optimizers,
        "grid": parse_grid,
        "steps": lambda t: urlstate.parse_int(t, 1, atlas.MAX_STEPS),
        "start": urlstate.parse_point,
        "view": lambda t: urlstate.parse_choice(t, VIEWS),
        "sens": parse_sens,
        "param": parse_param,
        "metric": lambda t: urlstate.parse_choice(t, METRICS),
        "lrs": parse_lrs,
        "quantity": lambda t: urlstate.parse_choice(t, QUANTITIES),
        "lr_scale": parse_scale,
    }
    for opt in optimizers.available():
        for p in optimizers.get(opt).hyperparameters:
            table[urlstate.hyperparameter_key(opt, p.name)] = (
                lambda t, o=opt, n=p.name: urlstate.parse_hyperparameter(o, n, t))
    return table


def _raise(message: str):
    raise ValueError(message)


def read_url() -> None:
    urlsync.read_url(state, parsers())


def url_value(name: str, default=None):
    return urlsync.url_value(state, name, default)


def write_url(params: dict[str, str]) -> None:
    urlsync.write_url(state, params)


# --- surfaces -------------------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, ttl=3600, show_spinner=False)
def default_bounds(text: str):
    """The window ``surfaces.from_expression`` picks for a formula given without one."""
    return surfaces.from_expression(text).bounds


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def tuned_presets(spec: tuple) -> dict:
    if spec[0] == "catalogue":
        return presets.surface_presets(spec[1])
    return presets.presets_for(atlas.surface_from_spec(spec))


def choose_surface(warnings: list[str]):
    """(surface, spec) from the URL's ``expr`` or the catalogue selectbox."""
    if url_value("surface") is not None:
        put(url_value("surface"), "surface")
        put(None, "expr")
        put(None, "bounds")
    if url_value("expr") is not None:
        put(url_value("expr"), "expr")
        put(url_value("bounds"), "bounds")
    init(DEFAULT_SURFACE, "surface")
    text = get("expr")
    if text:
        try:
            # The workers rebuild the surface from (text, bounds): build it the same way here.
            spec = atlas.custom_spec(text, get("bounds") or default_bounds(text))
            surface = atlas.surface_from_spec(spec)
            st.sidebar.caption("Custom formula from the URL: " + literal.code(text, limit=10_000))
            if st.sidebar.button("Back to the catalogue", key=key("btn_catalogue")):
                put(None, "expr")
                st.rerun()
            return surface, spec
        except Exception as exc:  # noqa: BLE001 - any refusal of a visitor's formula becomes a warning
            if isinstance(exc, ValueError):  # the parser's reason, written for the visitor
                reason = f" ({literal.text(exc)})"
            else:  # anything else is ours: logged, not shown
                _LOGGER.error("Atlas: building the formula from the URL failed", exc_info=exc)
                reason = ""
            warnings.append(f"URL parameter `expr`: the formula was not accepted{reason}. "
                            "Showing a catalogue surface instead.")
            put(None, "expr")
    st.sidebar.selectbox("Surface", surfaces.available(), key=key("surface"), persist_state="session",
                         format_func=lambda n: catalogue_surface(n).title)
    name = get("surface")
    return catalogue_surface(name), atlas.catalogue_spec(name)


# --- controls -------------------------------------------------------------------------------------------
def apply_presets(surface, spec: tuple, tuned: dict) -> None:
    """A new surface: presets and start, then whatever the URL says; or only the URL's new values."""
    values = get("url", "values", default={}) if get("url", "pending") else {}
    if get("surface_applied") != spec:
        start = values.get("start", surface.start)
        put(float(start[0]), "start", "x")
        put(float(start[1]), "start", "y")
        for name, hyper in tuned.items():
            for p, value in hyper.items():
                put(values.get(urlstate.hyperparameter_key(name, p), value), "hp", name, p)
        put(spec, "surface_applied")
        put(tuned, "presets")
        return
    if "start" in values:
        put(values["start"][0], "start", "x")
        put(values["start"][1], "start", "y")
    for name in optimizers.available():
        for p in optimizers.get(name).hyperparameters:
            k = urlstate.hyperparameter_key(name, p.name)
            if k in values:
                put(values[k], "hp", name, p.name)


def _set_optimizers(names) -> None:
    put(list(names), "optimizers")


def _reset_hyperparameters() -> None:
    for name, hyper in (get("presets") or {}).items():
        for p, value in hyper.items():
            put(value, "hp", name, p)


def sidebar_controls(surface) -> dict:
    for name, default in (("optimizers", list(DEFAULT_OPTIMIZERS)), ("grid", DEFAULT_GRID),
                          ("steps", DEFAULT_STEPS)):
        if url_value(name) is not None:
            put(list(url_value(name)) if name == "optimizers" else url_value(name), name)
        init(default, name)
    side = st.sidebar
    all_names = optimizers.available()
    side.multiselect("Optimizers", all_names, key=key("optimizers"), persist_state="session",
                     format_func=lambda n: optimizers.get(n).title)
    c1, c2 = side.columns(2)
    c1.button("All ten", on_click=_set_optimizers, args=(all_names,), key=key("btn_all"), width="stretch")
    c2.button("Four classics", on_click=_set_optimizers, args=(DEFAULT_OPTIMIZERS,), key=key("btn_four"),
              width="stretch", help="SGD, Momentum, RMSprop and Adam")
    side.select_slider("Grid of starts (G × G)", atlas.GRID_SIZES, key=key("grid"), persist_state="session",
                       format_func=lambda g: f"{g} × {g}",
                       help="Basin maps run every start of a G × G grid over the picture.")
    side.slider("Steps", 1, atlas.MAX_STEPS, key=key("steps"), persist_state="session")
    side.markdown("**Start** (sensitivity and learning-rate views)")
    sx, sy = side.columns(2)
    (x0, x1), (y0, y1) = surface.bounds
    span = max(x1 - x0, y1 - y0)
    sx.number_input("x", key=key("start", "x"), step=span / 100, format="%.4g", min_value=-1e6,
                    max_value=1e6, persist_state="session")
    sy.number_input("y", key=key("start", "y"), step=span / 100, format="%.4g", min_value=-1e6,
                    max_value=1e6, persist_state="session")
    names = [n for n in get("optimizers") if n in all_names]
    return {"names": names, "grid": int(get("grid")), "steps": int(get("steps")),
            "start": (float(get("start", "x")), float(get("start", "y")))}


def hyperparameter_inputs(names: list[str]) -> dict[str, dict[str, float]]:
    chosen = {}
    with st.expander("Hyperparameters (per-surface presets)", expanded=False):
        st.caption("Learning rates start from a preset tuned for this surface, the rest from the papers; "
                   "the maps use exactly these values.")
        st.button("Reset to this surface's presets", on_click=_reset_hyperparameters, key=key("btn_reset"))
        for name in optimizers.available():
            opt = optimizers.get(name)
            shown = name in names
            cols = st.columns([1.1] + [1] * len(opt.hyperparameters)) if shown else None
            if shown:
                cols[0].markdown(f"**{opt.title}**")
            values = {}
            for k, p in enumerate(opt.hyperparameters):
                init(p.default, "hp", name, p.name)
                if shown:
                    cols[k + 1].number_input(
                        f"{p.name} ({opt.title})", min_value=float(p.ui_min), max_value=float(p.ui_max),
                        step=float(p.ui_min) if p.log else (0.01 if p.name != "beta2" else 0.001),
                        format="%.6g", key=key("hp", name, p.name), help=p.help, persist_state="session")
                value = float(get("hp", name, p.name))
                values[p.name] = value if p.is_valid(value) else p.default
            chosen[name] = values
    return chosen


# --- the computations, cached ----------------------------------------------------------------------------
# They run in this process: the compiled engine releases Python's lock while it sweeps (other visitors'
# pages keep running) and a 128 × 128 map of 500 steps takes about 0.05 s per optimizer, so the map follows
# a slider as it moves. Cached per surface, optimizer and settings.
@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def cached_basin(spec: tuple, name: str, hyper: tuple, grid: int, steps: int) -> atlas.BasinMap:
    return atlas.basin_map(atlas.surface_from_spec(spec), name, dict(hyper), grid, steps)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def cached_sensitivity(spec: tuple, name: str, hyper: tuple, parameter, steps: int,
                       start: tuple) -> atlas.SensitivityMap:
    lrs = atlas.lr_values(*atlas.lr_range(name), SENS_LRS)
    values = atlas.second_values(parameter, SENS_VALUES)
    return atlas.sensitivity_map(spec, name, dict(hyper), parameter, lrs, values, start, steps)


def basin_maps(surface, spec: tuple, names: list[str], hyper: dict, grid: int, steps: int):
    """{name: BasinMap}; a progress bar while more than one map is computed."""
    bar = st.empty() if len(names) > 1 else None
    maps = {}
    for k, name in enumerate(names):
        maps[name] = cached_basin(spec, name, atlas.hyper_items(hyper[name]), grid, steps)
        if bar is not None and k + 1 < len(names):
            bar.progress((k + 1) / len(names), text=f"Basin maps: {k + 1} of {len(names)} optimizers")
    if bar is not None:
        bar.empty()
    return maps


def sensitivity_map(spec: tuple, name: str, hyper: dict, parameter, steps: int, start: tuple):
    items = atlas.hyper_items({k: v for k, v in hyper.items() if k not in ("lr", parameter)})
    return cached_sensitivity(spec, name, items, parameter, steps, start)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def cached_lr_comparison(spec: tuple, names: tuple, lrs: tuple, start: tuple, steps: int, hyper: tuple):
    surface = atlas.surface_from_spec(spec)
    return atlas.lr_comparison(surface, names, lrs, start, steps, {n: dict(h) for n, h in hyper})


@st.cache_resource(max_entries=12, ttl=3600, show_spinner=False)
def cached_basin_figure(spec: tuple, keys: tuple, _surface, _maps):
    """The figure is cached as an object (building 100 traces costs about a second)."""
    return atlas_figures.basin_figure(_surface, _maps)


# --- views -------------------------------------------------------------------------------------------------
def run_heavy(fn, *args):
    """Run a computation; a failure becomes a plain message (the detail goes to the log), no traceback."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - anything the engine or a formula throws; the visitor sees a message
        _LOGGER.exception("Atlas: %s failed", getattr(fn, "__name__", fn))
        st.error(FAILED)
    return None


def race_link(surface, spec: tuple, name: str, start, steps: int, hyper: dict, label: str) -> None:
    """A link that replays one run: the Race page for catalogue surfaces, the Custom page for formulas."""
    if spec[0] == "catalogue":
        page, base = "pages/race.py", "/"
        query = atlas.race_query(spec[1], name, start, steps, hyper)
    else:
        page, base = "pages/custom.py", "/custom"
        query = atlas.custom_query(spec[1], spec[2], name, start, steps, hyper)
    try:
        st.page_link(page, label=label, icon="🏁", query_params=query)
    except StreamlitAPIException:  # the Custom page is not in this app's navigation
        st.caption("The page that replays runs of custom formulas is not available here.")
        return
    st.caption("Link: " + literal.code(atlas.race_url(query, base), limit=10_000))


def selected_point(event) -> dict | None:
    try:
        points = event.selection["points"]
    except (AttributeError, KeyError, TypeError):
        return None
    return points[0] if points else None


def basins_view(surface, spec: tuple, settings: dict, hyper: dict) -> None:
    names, grid, steps = settings["names"], settings["grid"], settings["steps"]
    st.caption(f"Every start of a {grid} × {grid} grid runs {steps} steps. Colour: the minimum where the "
               f"run ends (within {atlas.TOLERANCE:g}); grey: not there yet; black: diverged. ★ minima, "
               "○ suggested starts. Hover for the steps to arrive; click a cell to open its run on the Race "
               "page.")
    if not names:
        st.info("Choose at least one optimizer in the sidebar.")
        return
    if url_value("lr_scale") is not None:
        put(url_value("lr_scale"), "lr_scale")
    init(1.0, "lr_scale")
    scale = st.select_slider(
        "Learning rates × (drag: the maps follow)", LR_SCALES, key=key("lr_scale"), persist_state="session",
        format_func=lambda v: f"× {v:g}",
        help="Multiplies the learning rate of every optimizer shown (as set under Hyperparameters). Drag "
             "it to see the basins change: small rates leave many starts on the way, large ones scatter "
             "or diverge.")
    hyper = {n: {**hyper[n], "lr": hyper[n]["lr"] * scale} for n in names}
    maps = run_heavy(basin_maps, surface, spec, names, hyper, grid, steps)
    if maps is None:
        return
    keys = tuple((n, atlas.hyper_items(hyper[n])) for n in names) + ((grid, steps),)
    fig = cached_basin_figure(spec, keys, surface, maps)
    digest = hashlib.sha1(repr((spec, keys)).encode()).hexdigest()[:12]
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=key("basin_chart", digest),
                            config={"displaylogo": False})
    point = selected_point(event)
    cell = atlas_figures.clicked_cell(fig, point) if point else None
    if cell is not None:
        name, index = cell
        m = maps.get(name)
        if m is not None and index < m.size * m.size:
            i, j = divmod(index, m.size)
            start = m.start(i, j)
            st.markdown(f"**{optimizers.get(name).title}** from ({start[0]:.4g}, {start[1]:.4g}): "
                        + atlas_figures.outcome_text(surface, m, i, j))
            race_link(surface, spec, name, start, steps, hyper[name], "Open this run on the Race page")
    rows = []
    styles = atlas_figures.class_styles(surface)
    for name, m in maps.items():
        shares = m.shares()
        row = {"Optimizer": optimizers.get(name).title}
        for code, (label, _) in styles.items():
            if any(mm.shares().get(code) for mm in maps.values()):
                row[label] = f"{shares.get(code, 0.0):.1%}"
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")


def sensitivity_view(surface, spec: tuple, settings: dict, hyper: dict) -> None:
    names = settings["names"] or list(DEFAULT_OPTIMIZERS)
    default = url_value("sens") or ("nag" if "nag" in names else ("momentum" if "momentum" in names
                                                                    else names[0]))
    if url_value("sens") is not None:
        put(url_value("sens"), "sens")
    init(default, "sens")
    c1, c2, c3 = st.columns(3)
    c1.selectbox("Optimizer", optimizers.available(), key=key("sens"), persist_state="session",
                 format_func=lambda n: optimizers.get(n).title)
    name = get("sens")
    axes = atlas.second_axes(name)
    wanted = url_value("param")
    if wanted is not None:
        put(wanted, "param")
    if get("param") not in axes:
        if wanted is not None and wanted not in axes:
            st.warning(f"URL parameter `param`: {optimizers.get(name).title} has no {literal.code(wanted)}. "
                       "Using the default instead.")
        put(axes[0] if axes else None, "param")
    if axes:
        c2.selectbox("Second hyperparameter", axes, key=key("param"))
    else:
        c2.caption(f"{optimizers.get(name).title} has only a learning rate: one row.")
    if url_value("metric") is not None:
        put(url_value("metric"), "metric")
    init("loss", "metric")
    c3.radio("Colour", list(METRICS), key=key("metric"), format_func=METRICS.get, horizontal=True,
             persist_state="session")
    parameter = get("param") if axes else None
    start, steps = settings["start"], settings["steps"]
    smap = run_heavy(sensitivity_map, spec, name, hyper[name], parameter, steps, start)
    if smap is None:
        return
    fmin = float(surface.minimum_values.min()) if len(surface.minima) else None
    fig = atlas_figures.sensitivity_figure(smap, get("metric"), fmin)
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=key("sens_chart"),
                            config={"displaylogo": False})
    point = selected_point(event)
    cell = atlas_figures.clicked_sensitivity_cell(fig, point) if point else None
    if cell is not None and cell[0] < len(smap.values) and cell[1] < len(smap.lrs):
        run_hyper = {**hyper[name], **smap.cell_hyperparameters(*cell)}
        st.markdown(atlas_figures.sensitivity_text(smap, *cell))
        race_link(surface, spec, name, start, steps, run_hyper, "Replay this run on the Race page")
    st.caption(f"{len(smap.lrs)} learning rates × {len(smap.values)} values, each one run from "
               f"({start[0]:.4g}, {start[1]:.4g}); the other hyperparameters as set above. Black: diverged.")
    return None


def rates_view(surface, spec: tuple, settings: dict, hyper: dict) -> dict:
    names = settings["names"] or list(DEFAULT_OPTIMIZERS)
    if url_value("lrs") is not None:
        put(", ".join(urlstate.format_number(v) for v in url_value("lrs")), "lrs")
    init(", ".join(urlstate.format_number(v) for v in atlas.REFERENCE_LEARNING_RATES), "lrs")
    if url_value("quantity") is not None:
        put(url_value("quantity"), "quantity")
    init("x", "quantity")
    c1, c2 = st.columns([2, 1])
    c1.text_input("Three learning rates", key=key("lrs"), persist_state="session",
                  help="Comma-separated, e.g. 0.001, 0.01, 0.1 (the reference's comparison).")
    c2.radio("Plot", list(QUANTITIES), key=key("quantity"), horizontal=True, persist_state="session",
             format_func=lambda q: {"x": "x", "y": "y", "loss": "loss"}[q])
    try:
        lrs = parse_lrs(get("lrs"))
    except ValueError as exc:
        st.warning(f"Learning rates: {literal.text(exc)}. "
                   f"Using {', '.join(map(str, atlas.REFERENCE_LEARNING_RATES))}.")
        lrs = atlas.REFERENCE_LEARNING_RATES
    start, steps = settings["start"], settings["steps"]
    items = tuple((n, atlas.hyper_items(hyper[n])) for n in names)
    runs = cached_lr_comparison(spec, tuple(names), tuple(lrs), start, steps, items)
    st.plotly_chart(atlas_figures.lr_comparison_figure(surface, runs, get("quantity")),
                    key=key("rates_chart"), config={"displaylogo": False})
    st.caption(f"Each panel: every optimizer from ({start[0]:.4g}, {start[1]:.4g}) with that global learning "
               "rate, the other hyperparameters as set above. Adadelta's rule has no learning rate, so it "
               "keeps its own setting in every panel (as in the reference). ✕ marks a divergence.")
    return {"lrs": lrs}


# --- the page -------------------------------------------------------------------------------------------
read_url()
warnings = urlsync.url_warnings(state)
surface, spec = choose_surface(warnings)
tuned = tuned_presets(spec)
apply_presets(surface, spec, tuned)
settings = sidebar_controls(surface)

st.title("Landscape atlas of " + literal.text(surface.title))
surface_header(surface)
for message in warnings:
    st.warning(message)
hyper = hyperparameter_inputs(settings["names"])

if url_value("view") is not None:
    put(VIEWS[url_value("view")], "view")
init(VIEWS["basins"], "view")
tabs = st.tabs(list(VIEWS.values()), key=key("view"), on_change="rerun")
view = next((v for v, label in VIEWS.items() if label == get("view")), "basins")
extra: dict = {}
with tabs[0]:
    if tabs[0].open is not False:
        basins_view(surface, spec, settings, hyper)
with tabs[1]:
    if tabs[1].open:
        sensitivity_view(surface, spec, settings, hyper)
with tabs[2]:
    if tabs[2].open:
        extra = rates_view(surface, spec, settings, hyper) or {}

# Mirror the state into the URL.
params: dict[str, str] = {}
if spec[0] == "catalogue":
    params["surface"] = spec[1]
else:
    params["expr"] = spec[1]
    params["bounds"] = ",".join(urlstate.format_number(v) for pair in spec[2] for v in pair)
if settings["names"]:
    params["optimizers"] = urlstate.format_optimizers(settings["names"])
params["grid"] = str(settings["grid"])
params["steps"] = str(settings["steps"])
params["start"] = urlstate.format_point(settings["start"])
if view != "basins":
    params["view"] = view
elif get("lr_scale") not in (None, 1.0):
    params["lr_scale"] = urlstate.format_number(get("lr_scale"))
shown = list(settings["names"])
if view == "sensitivity" and get("sens") not in shown:
    shown.append(get("sens"))
for name in shown:
    for p, value in hyper[name].items():
        if p == "lr" or value != optimizers.defaults(name)[p]:
            params[urlstate.hyperparameter_key(name, p)] = urlstate.format_number(value)
if view == "sensitivity":
    params["sens"] = get("sens")
    if get("param"):
        params["param"] = get("param")
    params["metric"] = get("metric")
if view == "rates":
    chosen_lrs = extra.get("lrs", atlas.REFERENCE_LEARNING_RATES)
    params["lrs"] = ",".join(urlstate.format_number(v) for v in chosen_lrs)
    params["quantity"] = get("quantity")
write_url(params)
