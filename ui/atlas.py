"""The Atlas page's own parts: its URL parameters, the surface from a formula, and its three views.

The controls it shares with the race pages (surface, optimizers, steps, start, hyperparameters, presets)
are ``ui.controls``; the maps are ``lab.atlas``, their pictures ``figures.atlas``. The maps are computed in
this process by the compiled engine (about a second for the largest; a progress bar for several) and cached
per optimizer and settings. Each view returns its URL parameters.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitAPIException

import optimizers
import surfaces
from figures import atlas as atlas_figures
from lab import atlas, literal, urlstate
from surfaces.spec import SurfaceSpec, Unavailable, resolve
from ui import a11y, controls, links, urlsync
from ui import basins as basins_ui
from ui.surfaces import catalogue_surface
from ui.urlsync import PageState

DEFAULT_SURFACE = "himmelblau"
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
DEFAULT_GRID = 128
DEFAULT_STEPS = 500
VIEWS = {"basins": "Basin maps", "sensitivity": "Sensitivity", "rates": "Learning rates"}
METRICS = {"loss": "final loss", "steps": "steps to arrive"}
QUANTITIES = {"x": "x", "y": "y", "loss": "loss"}
SENS_LRS = 32  # learning rates per sensitivity map (columns)
SENS_VALUES = 16  # values of the second hyperparameter (rows)
# The live slider of the basin view: every shown optimizer's learning rate times this factor.
LR_SCALES = tuple(float(f"{10 ** (k / 8):.3g}") for k in range(-16, 17))  # 0.01 … 100, 8 per decade
FAILED = "The computation failed. Try fewer steps or another setting."
_LOGGER = logging.getLogger("pages.atlas")  # the page's log: its failures are the page's


@dataclass(frozen=True)
class Settings:
    """What the sidebar and the hyperparameter panel chose; every view draws from it."""

    surface: surfaces.Surface
    spec: SurfaceSpec  # the surface's one name (surfaces.spec): what caches and links key on
    names: list[str]
    grid: int
    steps: int
    start: tuple[float, float]
    hyperparameters: dict[str, dict[str, float]]  # every optimizer's, not only the shown ones'


# --- URL --------------------------------------------------------------------------------------------------
def parse_formula(text: str) -> str:
    if not text.strip():
        raise ValueError("empty formula")
    return text.strip()


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


def parse_scale(text: str) -> float:
    """The nearest of ``LR_SCALES``."""
    value = urlstate.parse_float(text, LR_SCALES[0], LR_SCALES[-1])
    return min(LR_SCALES, key=lambda s: abs(math.log(s / value)))


def url_parsers() -> dict:
    """The shared run parameters (``lab.urlstate.run_parsers``) and the Atlas page's own."""
    return {
        **urlstate.run_parsers(atlas.MAX_STEPS),
        "surface": urlstate.parse_surface,
        "expr": parse_formula,
        "bounds": urlstate.parse_bounds,
        "grid": parse_grid,
        "view": lambda t: urlstate.parse_choice(t, VIEWS),
        "sens": lambda t: urlstate.parse_choice(t, optimizers.available()),
        "param": lambda t: urlstate.parse_choice(t, atlas.SECOND_AXES),
        "metric": lambda t: urlstate.parse_choice(t, METRICS),
        "lrs": parse_lrs,
        "quantity": lambda t: urlstate.parse_choice(t, QUANTITIES),
        "lr_scale": parse_scale,
    }


def url_params(settings: Settings) -> dict[str, str]:
    """The surface (``surface``, or ``expr`` and ``bounds``), the shared run parameters and ``grid``."""
    spec = settings.spec
    if spec[0] == "catalogue":
        params = {"surface": spec[1]}
    else:
        params = {"expr": spec[1], "bounds": urlstate.format_bounds(spec[2])}
    hyper = {n: settings.hyperparameters[n] for n in settings.names}
    params.update(urlstate.run_params(settings.names, settings.steps, settings.start, hyper))
    if not settings.names:
        del params["optimizers"]  # the default set again on a reload
    params["grid"] = str(settings.grid)
    return params


# --- surface and grid -------------------------------------------------------------------------------------
def choose_surface(state: PageState, warnings: list[str]) -> tuple[surfaces.Surface, SurfaceSpec]:
    """(surface, spec): the formula of the URL's ``expr`` (with its ``bounds``) until the visitor goes
    back to the catalogue, else the catalogue's choice (``surface``). A refused formula adds a warning and
    the catalogue's surface is shown; a formula the checker could not judge in time (busy, too slow) is
    kept in the session and the URL with a "Try again" button, and the page stops there (no other surface
    is mapped in its place)."""
    controls.restore(state, "surface", DEFAULT_SURFACE)
    if urlsync.url_value(state, "surface") is not None:
        state.set(None, "expr")
    if urlsync.url_value(state, "expr") is not None:
        state.set(urlsync.url_value(state, "expr"), "expr")
        state.set(urlsync.url_value(state, "bounds"), "bounds")
    text = state.get("expr")
    if text:
        bounds = state.get("bounds")
        try:
            # The one spec the page, its caches, its links and the resolver share (surfaces.spec).
            spec = SurfaceSpec.formula(text, ((bounds[0], bounds[1]), (bounds[2], bounds[3])) if bounds
                                       else None)
            with st.spinner("Reading the formula…", show_time=True):
                surface = resolve(spec)
        except Unavailable as exc:
            st.warning(literal.text(exc) + ". The formula from the link is kept; nothing else is mapped in "
                       "its place.")
            st.button("Try again", key=state.key("btn_retry_formula"), type="primary")
            st.stop()
        except Exception as exc:  # noqa: BLE001 - any refusal of a visitor's formula becomes a warning
            if isinstance(exc, ValueError):  # the parser's reason, written for the visitor
                reason = f" ({literal.text(exc)})"
            else:  # anything else is ours: logged, not shown
                _LOGGER.error("Atlas: building the formula from the URL failed", exc_info=exc)
                reason = ""
            warnings.append(f"URL parameter `expr`: the formula was not accepted{reason}. "
                            "Showing a catalogue surface instead.")
            state.set(None, "expr")
        else:
            st.sidebar.caption("Custom formula from the URL: " + literal.code(text, limit=10_000))
            if st.sidebar.button("Back to the catalogue", key=state.key("btn_catalogue")):
                state.set(None, "expr")
                st.rerun()
            return surface, spec
    name = controls.surface_picker(state, DEFAULT_SURFACE)
    return catalogue_surface(name), SurfaceSpec.catalogue(name)


def grid_slider(state: PageState, where) -> int:
    """The basin maps' grid of starts (URL ``grid``)."""
    controls.restore(state, "grid", DEFAULT_GRID)
    where.select_slider("Grid of starts (G × G)", atlas.GRID_SIZES, key=state.key("grid"),
                        persist_state="session", format_func=lambda g: f"{g} × {g}",
                        help="Basin maps run every start of a G × G grid over the picture.")
    return int(state.get("grid"))


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


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def cached_lr_comparison(spec: tuple, names: tuple, lrs: tuple, start: tuple, steps: int, hyper: tuple):
    surface = atlas.surface_from_spec(spec)
    return atlas.lr_comparison(surface, names, lrs, start, steps, {n: dict(h) for n, h in hyper})


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def cached_basin_payload(spec: SurfaceSpec, keys: tuple, _surface, _maps, columns: int | None = None) -> dict:
    """The maps as the map component's plain data, with an ``id`` naming their content (the browser keeps
    its figure while the id stays). ``columns``: 1 on a phone (``ui.a11y.narrow_screen``), one readable
    map per row."""
    payload = atlas_figures.basin_payload(_surface, _maps, columns=columns)
    payload["id"] = hashlib.sha1(repr((spec, keys, columns)).encode()).hexdigest()[:16]
    return payload


def basin_maps(spec: tuple, names: list[str], hyper: dict, grid: int, steps: int):
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


def run_heavy(fn, *args):
    """Run a computation; a failure becomes a plain message (the detail goes to the log), no traceback."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - anything the engine or a formula throws; the visitor sees a message
        _LOGGER.exception("Atlas: %s failed", getattr(fn, "__name__", fn))
        st.error(FAILED)
    return None


# --- clicks and links -------------------------------------------------------------------------------------
def race_link(spec: tuple, name: str, start, steps: int, hyper: dict, label: str) -> None:
    """A link that replays one run: the Race page for catalogue surfaces, the Custom page for formulas."""
    if spec[0] == "catalogue":
        page = "pages/race.py"
        query = atlas.race_query(spec[1], name, start, steps, hyper)
    else:
        page = "pages/custom.py"
        query = atlas.custom_query(spec[1], spec[2], name, start, steps, hyper)
    url = links.page_url(page, query)  # the page's path from app.py's table, the query from lab.urlstate
    try:
        st.page_link(page, label=label, icon="🏁", query_params=query)
    except StreamlitAPIException:
        url = None
    if url is None:  # the page is not in this app's navigation
        st.caption("The page that replays this run is not available here.")
        return
    st.caption("Link: " + literal.code(url, limit=10_000))


def selected_point(event) -> dict | None:
    try:
        points = event.selection["points"]
    except (AttributeError, KeyError, TypeError):
        return None
    return points[0] if points else None


def _cell_value(key: str):
    """The clicked cell the map component just sent (inside its callback)."""
    value = st.session_state.get(key)
    try:
        return dict(value["cell"])
    except (KeyError, TypeError, ValueError):
        return None


def _chosen_cell(state: PageState, maps_id: str, maps: dict) -> tuple[str, int, int] | None:
    """(optimizer, i, j) of the cell clicked on these very maps, or None (a click on older maps, or a
    value that names no cell of them)."""
    value = state.get("basin_cell")
    if not isinstance(value, dict) or value.get("id") != maps_id:
        return None
    name, index = value.get("optimizer"), value.get("index")
    m = maps.get(name) if isinstance(name, str) else None
    if m is None or not isinstance(index, int) or not 0 <= index < m.size * m.size:
        return None
    i, j = divmod(index, m.size)
    return name, i, j


# --- the views --------------------------------------------------------------------------------------------
def basins_view(state: PageState, run: Settings) -> dict[str, str]:
    """Basin maps of the shown optimizers with the live learning-rate slider (URL ``lr_scale``)."""
    surface, spec, names, grid, steps = run.surface, run.spec, run.names, run.grid, run.steps
    st.caption(f"Every start of a {grid} × {grid} grid runs {steps} steps. Colour: the minimum where the "
               f"run ends (within {atlas.TOLERANCE:g}); grey: not there yet; black: diverged. ★ minima, "
               "○ suggested starts. Hover for the steps to arrive; click a cell to open its run on the Race "
               "page.")
    if not names:
        st.info("Choose at least one optimizer in the sidebar.")
        return {}
    controls.restore(state, "lr_scale", 1.0)
    scale = st.select_slider(
        "Learning rates × (drag: the maps follow)", LR_SCALES, key=state.key("lr_scale"),
        persist_state="session", format_func=lambda v: f"× {v:g}",
        help="Multiplies the learning rate of every optimizer shown (as set under Hyperparameters). Drag "
             "it to see the basins change: small rates leave many starts on the way, large ones scatter "
             "or diverge.")
    params = {} if scale == 1.0 else {"lr_scale": urlstate.format_number(scale)}
    hyper = {n: {**run.hyperparameters[n], "lr": run.hyperparameters[n]["lr"] * scale} for n in names}
    maps = run_heavy(basin_maps, spec, names, hyper, grid, steps)
    if maps is None:
        return params
    keys = tuple((n, atlas.hyper_items(hyper[n])) for n in names) + ((grid, steps),)
    payload = cached_basin_payload(spec, keys, surface, maps, 1 if a11y.narrow_screen() else None)
    cell = _chosen_cell(state, payload["id"], maps)
    highlight = None
    if cell is not None:
        name, i, j = cell
        highlight = (name, *maps[name].start(i, j))
    titles = ", ".join(optimizers.get(n).title for n in names)
    chart_key = state.key("basin_chart")
    basins_ui.basin_maps(payload, key=chart_key, highlight=highlight,
                         label=f"Basin maps of {titles}, {grid} × {grid} starts, {steps} steps",
                         on_cell=lambda: state.set(_cell_value(chart_key), "basin_cell"))
    if cell is not None:
        name, i, j = cell
        start = maps[name].start(i, j)
        st.markdown(f"**{optimizers.get(name).title}** from ({start[0]:.4g}, {start[1]:.4g}): "
                    + atlas_figures.outcome_text(surface, maps[name], i, j))
        race_link(spec, name, start, steps, hyper[name], "Open this run on the Race page")
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
    return params


def sensitivity_view(state: PageState, run: Settings) -> dict[str, str]:
    """Learning rate × a second hyperparameter for one optimizer from the start (URL ``sens``, ``param``,
    ``metric``, and that optimizer's hyperparameters)."""
    names = run.names or list(DEFAULT_OPTIMIZERS)
    default = "nag" if "nag" in names else ("momentum" if "momentum" in names else names[0])
    controls.restore(state, "sens", default)
    c1, c2, c3 = st.columns(3)
    c1.selectbox("Optimizer", optimizers.available(), key=state.key("sens"), persist_state="session",
                 format_func=lambda n: optimizers.get(n).title)
    name = state.get("sens")
    axes = atlas.second_axes(name)
    wanted = urlsync.url_value(state, "param")
    if wanted is not None:
        state.set(wanted, "param")
    if state.get("param") not in axes:
        if wanted is not None and wanted not in axes:
            st.warning(f"URL parameter `param`: {optimizers.get(name).title} has no {literal.code(wanted)}. "
                       "Using the default instead.")
        state.set(axes[0] if axes else None, "param")
    if axes:
        c2.selectbox("Second hyperparameter", axes, key=state.key("param"))
    else:
        c2.caption(f"{optimizers.get(name).title} has only a learning rate: one row.")
    controls.restore(state, "metric", "loss")
    c3.radio("Colour", list(METRICS), key=state.key("metric"), format_func=METRICS.get, horizontal=True,
             persist_state="session")
    parameter = state.get("param") if axes else None
    hyper = run.hyperparameters[name]
    params = {**urlstate.hyperparameter_params({name: hyper}), "sens": name, "metric": state.get("metric")}
    if parameter:
        params["param"] = parameter
    smap = run_heavy(sensitivity_map, run.spec, name, hyper, parameter, run.steps, run.start)
    if smap is None:
        return params
    fmin = float(run.surface.minimum_values.min()) if len(run.surface.minima) else None
    fig = atlas_figures.sensitivity_figure(smap, state.get("metric"), fmin)
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key=state.key("sens_chart"),
                            config={"displaylogo": False})
    point = selected_point(event)
    cell = atlas_figures.clicked_sensitivity_cell(fig, point) if point else None
    if cell is not None and cell[0] < len(smap.values) and cell[1] < len(smap.lrs):
        st.markdown(atlas_figures.sensitivity_text(smap, *cell))
        race_link(run.spec, name, run.start, run.steps, {**hyper, **smap.cell_hyperparameters(*cell)},
                  "Replay this run on the Race page")
    st.caption(f"{len(smap.lrs)} learning rates × {len(smap.values)} values, each one run from "
               f"({run.start[0]:.4g}, {run.start[1]:.4g}); the other hyperparameters as set above. "
               "Black: diverged.")
    return params


def rates_view(state: PageState, run: Settings) -> dict[str, str]:
    """The learning-rate comparison: every shown optimizer under three learning rates (URL ``lrs``,
    ``quantity``)."""
    names = run.names or list(DEFAULT_OPTIMIZERS)
    reference = ", ".join(urlstate.format_number(v) for v in atlas.REFERENCE_LEARNING_RATES)
    controls.restore(state, "lrs", reference,
                     convert=lambda lrs: ", ".join(urlstate.format_number(v) for v in lrs))
    controls.restore(state, "quantity", "x")
    c1, c2 = st.columns([2, 1])
    c1.text_input("Three learning rates", key=state.key("lrs"), persist_state="session",
                  help="Comma-separated, e.g. 0.001, 0.01, 0.1 (the reference's comparison).")
    c2.radio("Plot", list(QUANTITIES), key=state.key("quantity"), horizontal=True, persist_state="session",
             format_func=QUANTITIES.get)
    try:
        lrs = parse_lrs(state.get("lrs"))
    except ValueError as exc:
        st.warning(f"Learning rates: {literal.text(exc)}. "
                   f"Using {', '.join(map(str, atlas.REFERENCE_LEARNING_RATES))}.")
        lrs = atlas.REFERENCE_LEARNING_RATES
    items = tuple((n, atlas.hyper_items(run.hyperparameters[n])) for n in names)
    runs = cached_lr_comparison(run.spec, tuple(names), tuple(lrs), run.start, run.steps, items)
    st.plotly_chart(atlas_figures.lr_comparison_figure(run.surface, runs, state.get("quantity"),
                                                       columns=1 if a11y.narrow_screen() else None),
                    key=state.key("rates_chart"), config={"displaylogo": False})
    st.caption(f"Each panel: every optimizer from ({run.start[0]:.4g}, {run.start[1]:.4g}) with that global "
               "learning rate, the other hyperparameters as set above. Adadelta's rule has no learning "
               "rate, so it keeps its own setting in every panel (as in the reference). ✕ marks a "
               "divergence.")
    return {"lrs": ",".join(urlstate.format_number(v) for v in lrs), "quantity": state.get("quantity")}


@st.fragment
def basins_fragment(state: PageState, run: Settings) -> dict[str, str]:
    """The basin view as a fragment: a step of its learning-rate slider (or a click on a map) reruns only
    this view, not the sidebar and the rest of the page, so the maps follow the slider sooner. It writes
    the URL itself (the page's own ``write_url`` does not run on a fragment's rerun); on a full run the
    page then writes the same parameters again, which changes nothing."""
    params = basins_view(state, run)
    urlsync.write_url(state, {**url_params(run), **params})
    return params


VIEW_FUNCTIONS = {"basins": basins_fragment, "sensitivity": sensitivity_view, "rates": rates_view}


def show_views(state: PageState, run: Settings) -> dict[str, str]:
    """The views in lazy tabs (URL ``view``): only the open one computes; returns its URL parameters."""
    controls.restore(state, "view", VIEWS["basins"], convert=VIEWS.get)
    tabs = st.tabs(list(VIEWS.values()), key=state.key("view"), on_change="rerun")
    view = next((v for v, label in VIEWS.items() if label == state.get("view")), "basins")
    params = {} if view == "basins" else {"view": view}
    for (name, show), tab in zip(VIEW_FUNCTIONS.items(), tabs, strict=True):
        with tab:
            # Before the browser has said which tab is open, the first one is.
            if tab.open or (tab.open is None and name == "basins"):
                shown = show(state, run)
                if name == view:
                    params.update(shown)
    return params
