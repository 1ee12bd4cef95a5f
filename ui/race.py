"""The race UI shared by the Race and Custom-surface pages: controls, URL state, player, charts, table.

Every control mirrors into the query string (``ui.urlsync``), so a link reproduces the race exactly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import streamlit as st

import optimizers
from figures import background, palette, race_charts
from lab import jobs, overlays, presets, urlstate
from lab.race import (
    DEFAULT_OPTIMIZERS,
    MAX_STEPS,
    Race,
    distance_to_minimum,
    divergence_note,
    results_rows,
    run_race,
    trajectories_csv,
)
from optimizers.schedules import RUN_OPTIONS
from ui import animation, gif_export, present, urlsync
from ui.urlsync import PageState

RACE_OPTIONS = ("lr_schedule", "momentum_schedule", "noise", "seed")  # run options offered in the UI
DEFAULT_STEPS = 500
_LOGGER = logging.getLogger(__name__)


@dataclass
class RaceControls:
    """Everything the visitor chose; ``surface_key`` identifies the surface for caching."""

    surface_key: tuple
    names: list[str]
    steps: int
    start: tuple[float, float]
    hyperparameters: dict[str, dict[str, float]]
    options: dict[str, object]
    speed: float
    view: str
    warnings: list[str] = field(default_factory=list)

    def race(self) -> Race:
        merged = {n: {**self.hyperparameters[n], **self._options_for(n)} for n in self.names}
        return Race.make(self.names, self.steps, self.start, merged)

    def _options_for(self, name: str) -> dict:
        opts = {k: v for k, v in self.options.items() if v != RUN_OPTIONS[k].default}
        if "momentum" not in optimizers.defaults(name):
            opts.pop("momentum_schedule", None)
        return opts


# --- URL --------------------------------------------------------------------------------------------
def _parsers(extra: dict[str, Callable[[str], object]]) -> dict[str, Callable[[str], object]]:
    parsers: dict[str, Callable[[str], object]] = {
        "optimizers": urlstate.parse_optimizers,
        "steps": lambda t: urlstate.parse_int(t, 1, MAX_STEPS),
        "start": urlstate.parse_point,
        "speed": urlstate.parse_speed,
        "view": lambda t: urlstate.parse_choice(t, urlstate.VIEWS),
        "overlays": urlstate.parse_overlays,
    }
    for name in RACE_OPTIONS:
        parsers[name] = lambda t, n=name: urlstate.parse_run_option(n, t)
    for opt in optimizers.available():
        for p in optimizers.get(opt).hyperparameters:
            parsers[urlstate.hyperparameter_key(opt, p.name)] = (
                lambda t, o=opt, n=p.name: urlstate.parse_hyperparameter(o, n, t))
    parsers.update(present.URL_PARSERS)
    parsers.update(extra)
    return parsers


def read_url(state: PageState, extra: dict[str, Callable[[str], object]]) -> None:
    """Apply a new URL to the page's state (the race parameters plus the page's own ``extra`` ones)."""
    urlsync.read_url(state, _parsers(extra))


url_value = urlsync.url_value


def write_url(state: PageState, controls: RaceControls, extra: dict[str, str]) -> None:
    params = dict(extra)
    params["optimizers"] = urlstate.format_optimizers(controls.names)
    params["steps"] = str(controls.steps)
    params["start"] = urlstate.format_point(controls.start)
    for name in controls.names:
        for key, value in controls.hyperparameters[name].items():
            if key == "lr" or value != optimizers.defaults(name)[key]:
                params[urlstate.hyperparameter_key(name, key)] = urlstate.format_number(value)
    for key, value in controls.options.items():
        if value != RUN_OPTIONS[key].default:
            params[key] = value if isinstance(value, str) else urlstate.format_number(value)
    if controls.speed != 1.0:
        params["speed"] = urlstate.format_number(controls.speed)
    if controls.view != "both":
        params["view"] = controls.view
    urlsync.write_url(state, params)


# --- controls ------------------------------------------------------------------------------------------
def _apply_surface(state: PageState, surface, surface_presets: dict[str, dict[str, float]]) -> None:
    """A new surface: start and hyperparameters from its presets, then whatever the URL says."""
    start = url_value(state, "start", surface.start)
    state.set(float(start[0]), "start", "x")
    state.set(float(start[1]), "start", "y")
    for name, hyper in surface_presets.items():
        for key, value in hyper.items():
            state.set(url_value(state, urlstate.hyperparameter_key(name, key), value), "hp", name, key)


def _apply_url_without_surface_change(state: PageState) -> None:
    if not state.get("url", "pending"):
        return
    values = state.get("url", "values", default={})
    if "start" in values:
        state.set(values["start"][0], "start", "x")
        state.set(values["start"][1], "start", "y")
    for name in optimizers.available():
        for p in optimizers.get(name).hyperparameters:
            key = urlstate.hyperparameter_key(name, p.name)
            if key in values:
                state.set(values[key], "hp", name, p.name)


def _set_optimizers(state: PageState, names) -> None:
    state.set(list(names), "optimizers")


def _use_suggested_start(state: PageState, starts) -> None:
    choice = state.get("suggested")
    if choice is not None and 0 <= choice < len(starts):
        state.set(starts[choice][0], "start", "x")
        state.set(starts[choice][1], "start", "y")


def _reset_hyperparameters(state: PageState, surface_presets: dict[str, dict[str, float]]) -> None:
    for name, hyper in surface_presets.items():
        for key, value in hyper.items():
            state.set(value, "hp", name, key)


def _hyperparameter_inputs(state: PageState, names: list[str]) -> dict[str, dict[str, float]]:
    """One optimizer's inputs at a time (picked above them), and every optimizer's values in one line.

    Ten optimizers' inputs at once were 32 number fields: a wall to read, and about a quarter of a second
    of the browser's work before the race could draw. The values of the optimizers not shown stay in the
    session (and the URL) as they are.
    """
    if not names:
        return {}
    focus_key = state.key("hp_focus")
    if st.session_state.get(focus_key) not in names:
        st.session_state[focus_key] = names[0]
    if len(names) > 1:
        st.segmented_control("Optimizer", names, key=focus_key, required=True, persist_state="session",
                             format_func=lambda n: optimizers.get(n).title)
    focus = st.session_state[focus_key]  # one of names: set above, and the picker requires a choice
    chosen = {}
    for name in names:
        opt = optimizers.get(name)
        keys = {p.name: state.key("hp", name, p.name) for p in opt.hyperparameters}
        for p in opt.hyperparameters:
            if keys[p.name] not in st.session_state:
                st.session_state[keys[p.name]] = p.default
        if name == focus:
            cols = st.columns(max(4, len(opt.hyperparameters)))
            for col, p in zip(cols, opt.hyperparameters, strict=False):
                col.number_input(
                    f"{p.name} ({opt.title})", min_value=float(p.ui_min), max_value=float(p.ui_max),
                    step=_step_for(p), format="%.6g", key=keys[p.name], help=p.help, persist_state="session")
        values = {}
        for p in opt.hyperparameters:
            value = float(st.session_state[keys[p.name]])
            values[p.name] = value if p.is_valid(value) else p.default
        chosen[name] = values
    st.caption(" · ".join(f"**{optimizers.get(n).title}** " + ", ".join(f"{k} {v:.4g}" for k, v in hp.items())
                          for n, hp in chosen.items()))
    return chosen


def optimizer_label(name: str) -> str:
    """The optimizer's title, with its family when it is not a first-order rule: "Newton (2nd order)"."""
    optimizer = optimizers.get(name)
    return f"{optimizer.title} (2nd order)" if optimizer.second_order else optimizer.title


def _step_for(p: optimizers.Hyperparameter) -> float:
    if p.log:
        return float(p.ui_min)
    return 0.01 if p.name in ("momentum", "beta1", "rho") else 0.001


def race_controls(state: PageState, surface, surface_key: tuple, surface_presets: dict,
                  extra_url: dict[str, str], bar: present.Bar | None = None) -> RaceControls:
    """Draw the sidebar controls and return the visitor's choices (after applying a new URL).

    In the presenter view (``bar``) the same controls sit in the bar's Optimizers and Settings pop-overs.
    """
    if state.get("surface_applied") != surface_key:
        _apply_surface(state, surface, surface_presets)
        state.set(surface_key, "surface_applied")
    else:
        _apply_url_without_surface_change(state)
    url_names = url_value(state, "optimizers")
    if url_names is not None:
        _set_optimizers(state, url_names)
    for key, default in (("steps", DEFAULT_STEPS), ("speed", 1.0), ("view", "both")):
        if url_value(state, key) is not None:
            state.set(url_value(state, key), key)
        state.init(default, key)
    for name in RACE_OPTIONS:
        if url_value(state, name) is not None:
            state.set(url_value(state, name), "option", name)
        state.init(RUN_OPTIONS[name].default, "option", name)
    state.init(list(DEFAULT_OPTIMIZERS), "optimizers")
    all_names = optimizers.available()

    side = bar.settings if bar else st.sidebar
    picker = bar.optimizers if bar else side
    picker.multiselect("Optimizers", all_names, key=state.key("optimizers"), format_func=optimizer_label,
                     persist_state="session", help="First-order rules use the gradient only; second-order "
                     "ones (Newton's) also use the curvature, the Hessian.")
    c1, c2 = picker.columns(2)
    c1.button(f"All {len(all_names)}", on_click=_set_optimizers, args=(state, all_names),
              key=state.key("btn_all"), width="stretch")
    c2.button("Radford's + Adam", on_click=_set_optimizers, args=(state, DEFAULT_OPTIMIZERS),
              key=state.key("btn_radford"), width="stretch", help="SGD, Momentum, NAG, Adagrad, Adadelta, "
              "RMSprop (the six of Radford's animations) and Adam")
    names = [n for n in state.get("optimizers") if n in all_names]
    warnings = urlsync.url_warnings(state)
    if not names:
        st.info("Choose at least one optimizer in the sidebar to start a race.")

    steps = side.slider("Steps", 1, MAX_STEPS, key=state.key("steps"), persist_state="session")
    side.markdown("**Start point**")
    sx, sy = side.columns(2)
    (x0, x1), (y0, y1) = surface.bounds
    span = max(x1 - x0, y1 - y0)
    sx.number_input("x", key=state.key("start", "x"), step=span / 100, format="%.4g",
                    min_value=-1e6, max_value=1e6, persist_state="session")
    sy.number_input("y", key=state.key("start", "y"), step=span / 100, format="%.4g",
                    min_value=-1e6, max_value=1e6, persist_state="session")
    if len(surface.starts) > 0:
        side.selectbox("Suggested starts", range(len(surface.starts)), index=None,
                       placeholder="Pick a suggested start…", key=state.key("suggested"),
                       format_func=lambda i: f"({surface.starts[i][0]:g}, {surface.starts[i][1]:g})",
                       on_change=_use_suggested_start, args=(state, surface.starts))
    side.select_slider("Playback speed", urlstate.SPEEDS, key=state.key("speed"),
                       format_func=lambda s: f"{s:g}×", persist_state="session")
    side.radio("Pictures", urlstate.VIEWS, key=state.key("view"), horizontal=True, persist_state="session",
               format_func={"both": "Contour + 3-D", "contour": "Contour", "3d": "3-D"}.get)

    with bar.settings if bar else contextlib.nullcontext(), st.expander("Hyperparameters", expanded=False):
        st.caption("Learning rates start from a per-surface preset tuned so every method makes visible "
                   "progress; the rest are the published defaults.")
        st.button("Reset to this surface's presets", on_click=_reset_hyperparameters,
                  args=(state, surface_presets), key=state.key("btn_reset"))
        hyper = _hyperparameter_inputs(state, names)
    with bar.settings if bar else contextlib.nullcontext(), \
            st.expander("Schedules and gradient noise", expanded=False):
        options = _option_inputs(state)

    start = (float(state.get("start", "x")), float(state.get("start", "y")))
    return RaceControls(surface_key, names, int(steps), start, hyper, options,
                        float(state.get("speed")), str(state.get("view")), warnings)


def _option_inputs(state: PageState) -> dict[str, object]:
    cols = st.columns(4)
    cols[0].selectbox("Learning-rate schedule", RUN_OPTIONS["lr_schedule"].choices,
                      key=state.key("option", "lr_schedule"), persist_state="session",
                      help="step: ×0.5 every 100 steps; exponential: smooth ×0.5 per 100 steps; "
                           "inverse_time: η/(1 + 0.5 t/100); cosine: η → 0 over the run.")
    cols[1].selectbox("Momentum schedule", RUN_OPTIONS["momentum_schedule"].choices,
                      key=state.key("option", "momentum_schedule"), persist_state="session",
                      help="rising: γ grows from 0.5 to 0.99 over the run (Momentum and NAG).")
    cols[2].number_input("Gradient noise η", min_value=0.0, max_value=10.0, step=0.05, format="%.4g",
                         key=state.key("option", "noise"), persist_state="session",
                         help="Adds N(0, η/(1+t)^0.55) to each gradient (Neelakantan et al. 2015).")
    cols[3].number_input("Noise seed", min_value=0, max_value=2**31 - 1, step=1,
                         key=state.key("option", "seed"), persist_state="session")
    return {name: state.get("option", name) for name in RACE_OPTIONS}


# --- computation (cached, bounded) -------------------------------------------------------------------
@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _race_paths(surface_key: tuple, race: Race, _surface) -> dict[str, optimizers.Path]:
    return run_race(_surface, race)


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _backgrounds(surface_key: tuple, _surface) -> tuple[dict, dict]:
    return (background.figure_payload(background.contour_figure(_surface)),
            background.figure_payload(background.surface3d_figure(_surface)))


def paths_payload(paths: dict[str, optimizers.Path], overlay_arrays: dict | None = None,
                  contrast: bool = False) -> list[dict]:
    """The player's paths; with ``overlay_arrays`` (name -> ``lab.overlays.overlay_arrays``) each carries
    its overlay arrays too (only when an overlay is shown: the default payload stays small). ``contrast``:
    the high-contrast colours and line styles of the presenter view (``figures.palette``)."""
    extra = overlay_arrays or {}
    return [animation.path_payload(optimizers.get(n).title, n,
                                   palette.high_contrast_color(n) if contrast else None, p.points, p.values,
                                   p.diverged_at, overlay=extra.get(n), dash=palette.line_dash(n, contrast))
            for n, p in paths.items()]


# --- overlays and click-to-start ------------------------------------------------------------------------
OVERLAY_LABELS = {"gradient": "Gradient", "step": "Step", "lookahead": "Look-ahead (NAG)",
                  "effective": "Effective step"}


def _overlay_toggles(state: PageState, where=st) -> list[str]:
    """The overlay pills above the player (``keep.<page>.overlays``, URL ``overlays=``)."""
    if url_value(state, "overlays") is not None:
        state.set(list(url_value(state, "overlays")), "overlays")
    state.init([], "overlays")
    where.pills("Overlays", urlstate.OVERLAYS, selection_mode="multi", key=state.key("overlays"),
             format_func=OVERLAY_LABELS.get, persist_state="session",
             help="Drawn at the current step of the animation: −∇f where the gradient was measured (scaled, "
                  "one scale for the whole race), the step Δθ actually taken, NAG's look-ahead point "
                  "θ − γv, and the per-coordinate step |Δx| × |Δy| with the effective learning rates "
                  "−Δθᵢ/gᵢ.")
    chosen = state.get("overlays") or []
    return [o for o in urlstate.OVERLAYS if o in chosen]


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _overlay_arrays(surface_key: tuple, race: Race, _surface) -> dict[str, dict]:
    return {n: overlays.overlay_arrays(n, _surface, race.start, race.steps, **race.hyperparameters_of(n))
            for n in race.optimizers}


def _start_from_click(state: PageState) -> None:
    """The player's ``start`` trigger (a click on the contour): the new start point, before the script."""
    value = st.session_state.get(state.key("player"))
    point = value.get("start") if value is not None else None
    if not isinstance(point, dict):
        return
    try:
        x, y = float(point["x"]), float(point["y"])
    except (KeyError, TypeError, ValueError):
        return
    if all(abs(v) <= 1e6 for v in (x, y)):  # NaN fails this too
        state.set(x, "start", "x")
        state.set(y, "start", "y")


# --- the whole race ------------------------------------------------------------------------------------
def show_race(state: PageState, surface, surface_key: tuple, extra_url: dict[str, str],
              surface_presets: dict, bar: present.Bar | None = None) -> None:
    """The race below the page's header; ``bar`` (``ui.present.bar``): the presenter view."""
    controls = race_controls(state, surface, surface_key, surface_presets, extra_url, bar)
    for message in controls.warnings:
        st.warning(message)
    if bar is None:
        present.present_button(state)
    shown = _overlay_toggles(state, bar.settings if bar else st)
    url_extra = dict(extra_url)
    if shown:
        url_extra["overlays"] = urlstate.format_overlays(shown)
    url_extra.update(present.url_params(state))
    write_url(state, controls, url_extra)
    if not controls.names:
        return
    race = controls.race()
    paths = _race_paths(surface_key, race, surface)
    contour, surface3d = _backgrounds(surface_key, surface)
    extra, gscale, sscale = None, None, None
    if shown:
        extra = _overlay_arrays(surface_key, race, surface)
        (x0, x1), (y0, y1) = surface.bounds
        span = max(x1 - x0, y1 - y0)
        gscale = overlays.gradient_scale(list(extra.values()), span)
        sscale = overlays.step_scale(list(extra.values()), span)
    charts = _charts(surface_key, race, surface, paths)
    contrast = bar is not None and bar.contrast
    shown_in_room = (present.player_options(surface.title, st.query_params.to_dict(), contrast)
                     if bar is not None else None)
    animation.race_animation(contour, surface3d if controls.view != "contour" else None,
                             paths_payload(paths, extra, contrast), steps=race.steps, key=state.key("player"),
                             speed=controls.speed, overlays=shown, gradient_scale=gscale,
                             step_scale=sscale, charts=charts,
                             on_start=lambda: _start_from_click(state), present=shown_in_room)
    notes = [note for n, p in paths.items() if (note := divergence_note(optimizers.get(n).title, p))]
    if notes:
        st.caption(" · ".join(notes) + ". A diverged path stops where it left the picture (|θ| or |f| "
                   "above 10⁶, or outside the formula's domain).")
    st.dataframe(results_rows(surface, paths), hide_index=True, width="stretch")
    if bar is None:
        _downloads(surface, race, paths, contour, surface3d, charts)
        gif_export.gif_download(surface, paths, key=(surface_key, race))


NO_MINIMUM_NOTE = "This surface has no minimum (it is unbounded below), so there is no distance to show."


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def _charts(surface_key: tuple, race: Race, _surface, _paths) -> tuple[dict, ...]:
    """The loss and distance charts of a race (the player draws them, with a cursor at the shown step).

    Built once per race and shared, so a rerun that changes nothing about the race (speed, view, another
    visitor with the same link) reuses them. Nobody mutates them (they only go into the player's ``data``).
    """
    loss_series = {n: (optimizers.get(n).title, p.values, p.diverged_at) for n, p in _paths.items()}
    fmin = float(_surface.minimum_values.min()) if len(_surface.minima) else None
    loss = {"kind": "loss", "figure": race_charts.loss_figure(loss_series, fmin)}
    distances = {}
    for n, p in _paths.items():
        d = distance_to_minimum(_surface, p.points)
        if d is not None:
            distances[n] = (optimizers.get(n).title, d, p.diverged_at)
    if distances:
        distance = {"kind": "distance", "figure": race_charts.distance_figure(distances)}
    else:
        distance = {"kind": "distance", "note": NO_MINIMUM_NOTE}
    return loss, distance


def _downloads(surface, race: Race, paths, contour, surface3d, charts) -> None:
    left, right = st.columns(2)
    left.download_button("Download trajectories (CSV)", data=lambda: trajectories_csv(paths),
                         file_name=f"descent-lab-{surface.name}.csv", mime="text/csv", on_click="ignore")
    right.download_button(
        "Download the animation (offline HTML)",
        data=lambda: animation.standalone_html(contour, surface3d, paths_payload(paths), race.steps,
                                               f"Descent Lab — {surface.title}", charts),
        file_name=f"descent-lab-{surface.name}.html", mime="text/html", on_click="ignore")


def presets_cached(surface_key: tuple, surface) -> dict:
    """The surface's presets. A custom formula's are tuned in ``lab.jobs``' worker processes (about
    0.5 s of CPU that would otherwise hold every other visitor's run up); when the pool is full the
    visitor is told to try again in a moment."""
    if surface_key[0] != "custom":
        return _presets(surface_key, surface)
    try:
        return _custom_presets(surface_key, surface)
    except jobs.Busy as exc:
        st.warning(str(exc))
        st.button("Try again", key="keep.custom.btn_retry_presets")
        st.stop()
    except jobs.JobFailed as exc:  # the detail is for the log, not the visitor
        _LOGGER.warning("Tuning the presets of %r failed", surface_key, exc_info=exc.__cause__ or exc)
        st.warning("The learning rates could not be tuned for this formula; using the published defaults.")
        return {name: optimizers.defaults(name) for name in optimizers.available()}


@st.cache_data(max_entries=32, ttl=3600, show_spinner="Tuning the learning rates…")
def _custom_presets(surface_key: tuple, _surface) -> dict:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    owner = ctx.session_id if ctx is not None else "no-session"
    # The Surface's compiled functions do not pickle; its fields do, and the worker compiles them.
    data = {f.name: getattr(_surface, f.name) for f in fields(_surface) if f.init}
    return jobs.run_tasks(owner, [(jobs.tune_presets, (data,))])[0]


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _presets(surface_key: tuple, _surface) -> dict:
    return presets.presets_for(_surface)
