"""The race UI shared by the Race and Custom-surface pages: controls, URL state, player, charts, table.

Every control mirrors into the query string (``ui.urlsync``), so a link reproduces the race exactly. The
controls other pages share (optimizers, steps, start, hyperparameters, presets) are ``ui.controls``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import optimizers
from figures import background, palette, race_charts
from lab import overlays, urlstate
from lab.race import (
    CONVERGENCE_TOLERANCE,
    DEFAULT_OPTIMIZERS,
    MAX_STEPS,
    Race,
    distance_to_minimum,
    formula_text,
    has_minimum,
    outcome,
    results_rows,
    run_race,
    settings_lines,
    trajectories_csv,
)
from optimizers.schedules import RUN_OPTIONS
from ui import a11y, animation, gif_export, links, present, urlsync
from ui.controls import (
    apply_surface,
    hyperparameter_panel,
    optimizer_picker,
    restore,
    start_inputs,
    steps_slider,
)
from ui.fields import accepted_value, number_field
from ui.surfaces import surface_header
from ui.urlsync import PageState

RACE_OPTIONS = ("lr_schedule", "momentum_schedule", "noise", "seed")  # run options offered in the UI
DEFAULT_STEPS = 500


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
    return {**_race_parsers(), **extra}


@functools.cache  # built once (~1 ms: a parser per hyperparameter of every optimizer), then only read
def _race_parsers() -> dict[str, Callable[[str], object]]:
    parsers: dict[str, Callable[[str], object]] = {
        **urlstate.run_parsers(MAX_STEPS),
        "speed": urlstate.parse_speed,
        "view": lambda t: urlstate.parse_choice(t, urlstate.VIEWS),
        "overlays": urlstate.parse_overlays,
    }
    for name in RACE_OPTIONS:
        parsers[name] = lambda t, n=name: urlstate.parse_run_option(n, t)
    parsers.update(present.URL_PARSERS)
    return parsers


def read_url(state: PageState, extra: dict[str, Callable[[str], object]]) -> None:
    """Apply a new URL to the page's state (the race parameters plus the page's own ``extra`` ones)."""
    urlsync.read_url(state, _parsers(extra))


url_value = urlsync.url_value
mark_written = urlsync.mark_written


def write_url(state: PageState, controls: RaceControls, extra: dict[str, str]) -> None:
    params = dict(extra)
    params.update(urlstate.run_params(controls.names, controls.steps, controls.start,
                                      controls.hyperparameters))
    for key, value in controls.options.items():
        if value != RUN_OPTIONS[key].default:
            params[key] = value if isinstance(value, str) else urlstate.format_number(value)
    if controls.speed != 1.0:
        params["speed"] = urlstate.format_number(controls.speed)
    if controls.view != "both":
        params["view"] = controls.view
    urlsync.write_url(state, params)


# --- controls ------------------------------------------------------------------------------------------
def race_controls(state: PageState, surface, surface_key: tuple, surface_presets: dict,
                  extra_url: dict[str, str], bar: present.Bar | None = None,
                  tools: DeltaGenerator | None = None) -> RaceControls:
    """Draw the sidebar controls and return the visitor's choices (after applying a new URL).

    The Hyperparameters and Schedules expanders go into ``tools`` (the row above the player), else below
    whatever the page drew last. In the presenter view (``bar``) the same controls sit in the bar's
    Optimizers and Settings pop-overs.
    """
    apply_surface(state, surface, surface_key, surface_presets)
    for key, default in (("speed", 1.0), ("view", "both")):
        restore(state, key, default)
    for name in RACE_OPTIONS:
        restore(state, name, RUN_OPTIONS[name].default, "option", name)

    side = bar.settings if bar else st.sidebar
    picker = bar.optimizers if bar else side
    names = optimizer_picker(state, picker, DEFAULT_OPTIMIZERS, "Radford's + Adam",
                             "SGD, Momentum, NAG, Adagrad, Adadelta, RMSprop (the six of Radford's "
                             "animations) and Adam")
    warnings = urlsync.url_warnings(state)
    if not names:
        st.info("Choose at least one optimizer in the sidebar to start a race.")

    steps = steps_slider(state, side, MAX_STEPS, DEFAULT_STEPS)
    start = start_inputs(state, side, surface)
    side.select_slider("Playback speed", urlstate.SPEEDS, key=state.key("speed"),
                       format_func=lambda s: f"{s:g}×", persist_state="session")
    side.radio("Pictures", urlstate.VIEWS, key=state.key("view"), horizontal=True, persist_state="session",
               format_func={"both": "Contour + 3-D", "contour": "Contour", "3d": "3-D"}.get)

    panels = bar.settings if bar else tools or contextlib.nullcontext()
    with panels:
        hyper = hyperparameter_panel(
            state, names, surface_presets, "Learning rates start from a per-surface preset tuned so every "
            "method makes visible progress; the rest are the published defaults.")
    with panels:
        # Drawn only while open (like the hyperparameters): the values come from the session either way.
        more = st.expander("Schedules and gradient noise", expanded=False, key=state.key("options_open"),
                           on_change="rerun")
        with more:
            options = _option_inputs(state) if more.open else _option_values(state)

    return RaceControls(surface_key, names, steps, start, {n: hyper[n] for n in names}, options,
                        float(state.get("speed")), str(state.get("view")), warnings)


_NOISE = {"low": 0.0, "high": 10.0, "fallback": RUN_OPTIONS["noise"].default}
_SEED = {"low": 0, "high": 2**31 - 1, "fallback": RUN_OPTIONS["seed"].default, "valid": lambda v: v == int(v)}


def _option_values(state: PageState) -> dict[str, object]:
    """The options as the session holds them (the expander is closed: its fields are not drawn)."""
    chosen = {name: state.get("option", name) for name in RACE_OPTIONS}
    for name, spec in (("noise", _NOISE), ("seed", _SEED)):
        key = state.key("option", name)
        chosen[name] = accepted_value(key, st.session_state.get(key), **spec)[0]
    chosen.update(noise=float(chosen["noise"]), seed=int(chosen["seed"]))
    return chosen


def _option_inputs(state: PageState) -> dict[str, object]:
    cols = st.columns(4)
    cols[0].selectbox("Learning-rate schedule", RUN_OPTIONS["lr_schedule"].choices,
                      key=state.key("option", "lr_schedule"), persist_state="session",
                      help="step: ×0.5 every 100 steps; exponential: smooth ×0.5 per 100 steps; "
                           "inverse_time: η/(1 + 0.5 t/100); cosine: η → 0 over the run.")
    cols[1].selectbox("Momentum schedule", RUN_OPTIONS["momentum_schedule"].choices,
                      key=state.key("option", "momentum_schedule"), persist_state="session",
                      help="rising: γ grows from 0.5 to 0.99 over the run (Momentum and NAG).")
    noise = number_field(cols[2], "Gradient noise η", state.key("option", "noise"), **_NOISE, step=0.05,
                         fmt="%.4g", reason="the noise scale η is a number from 0 to 10",
                         help="Adds N(0, η/(1+t)^0.55) to each gradient (Neelakantan et al. 2015).")
    seed = number_field(cols[3], "Noise seed", state.key("option", "seed"), **_SEED, step=1, fmt="%d",
                        reason=f"the seed is a whole number from 0 to {2**31 - 1}")
    chosen = {name: state.get("option", name) for name in RACE_OPTIONS}
    chosen.update(noise=float(noise), seed=int(seed))
    return chosen


# --- computation (cached, bounded) -------------------------------------------------------------------
# A race is keyed by its one string (``Race.cache_key``), not by Streamlit's deep copy of the dataclass.
RACE_HASH = {Race: lambda race: race.cache_key}


# Shared objects (cache_resource), not per-run copies (cache_data unpickles every hit): every run of a race
# then hands the player the same path and background objects, whose typed arrays' chunks the transport has
# already cut and named (ui.animation). Nobody changes them: the arrays are read-only, the payloads are
# only read (their dicts go into the player's data as they are).
@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=RACE_HASH)
def _race_paths(surface_key: tuple, race: Race, _surface) -> dict[str, optimizers.Path]:
    paths = run_race(_surface, race)
    for p in paths.values():
        p.points.flags.writeable = False
        p.values.flags.writeable = False
    return paths


@st.cache_resource(max_entries=32, ttl=3600, show_spinner=False)
def _backgrounds(surface_key: tuple, _surface) -> tuple[dict, dict]:
    return (background.contour_payload(_surface),
            background.surface3d_payload(_surface))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=RACE_HASH)
def _plain_paths_payload(surface_key: tuple, race: Race, contrast: bool, _surface, _paths) -> list[dict]:
    """``paths_payload`` without overlays (nearly every run), once per race and colour scheme."""
    return paths_payload(_surface, _paths, None, contrast)


def paths_payload(surface, paths: dict[str, optimizers.Path], overlay_arrays: dict | None = None,
                  contrast: bool = False) -> list[dict]:
    """The player's paths; with ``overlay_arrays`` (name -> ``lab.overlays.overlay_arrays``) each carries
    its overlay arrays too (only when an overlay is shown: the default payload stays small). ``contrast``:
    the high-contrast colours and line styles of the presenter view (``figures.palette``). A run that
    escaped (``lab.race.outcome``) is no diverged run: it carries ``escaped_at`` and its note instead."""
    extra = overlay_arrays or {}
    out = []
    for n, p in paths.items():
        title, end = optimizers.get(n).title, outcome(surface, p)
        escaped = end.kind == "escaped"
        out.append(animation.path_payload(
            title, n, palette.high_contrast_color(n) if contrast else None, p.points, p.values,
            None if escaped else p.diverged_at, note=end.note(title) or "", overlay=extra.get(n),
            dash=palette.line_dash(n, contrast), escaped_at=end.step if escaped else None))
    return out


# --- overlays and click-to-start ------------------------------------------------------------------------
OVERLAY_LABELS = {"gradient": "Gradient", "step": "Step", "lookahead": "Look-ahead (NAG)",
                  "effective": "Effective step"}


def _overlay_toggles(state: PageState, where=st) -> list[str]:
    """The overlay pills above the player (``keep.<page>.overlays``, URL ``overlays=``)."""
    if url_value(state, "overlays") is not None:
        state.set(list(url_value(state, "overlays")), "overlays")
    state.init([], "overlays")
    # wrap: in the tools row (a horizontal container) pills would keep to one line and hide what a
    # phone's width cuts off.
    where.pills("Overlays", urlstate.OVERLAYS, selection_mode="multi", key=state.key("overlays"),
             format_func=OVERLAY_LABELS.get, persist_state="session", wrap=True,
             help="Drawn at the current step of the animation: −∇f where the gradient was measured (scaled, "
                  "one scale for the whole race), the step Δθ actually taken, NAG's look-ahead point "
                  "θ − γv, and the per-coordinate step |Δx| × |Δy| with the effective learning rates "
                  "−Δθᵢ/gᵢ.")
    chosen = state.get("overlays") or []
    return [o for o in urlstate.OVERLAYS if o in chosen]


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False, hash_funcs=RACE_HASH)
def _overlay_arrays(surface_key: tuple, race: Race, _surface) -> dict[str, dict]:
    return {n: overlays.overlay_arrays(n, _surface, race.start, race.steps, **race.hyperparameters_of(n))
            for n in race.optimizers}


def _speed_from_player(state: PageState) -> None:
    """The player's Speed menu (or + / −) changed the speed: the sidebar's "Playback speed" follows."""
    speed, _ = animation.player_speed(st.session_state.get(state.key("player")))
    if speed is not None and speed in urlstate.SPEEDS:
        state.set(speed, "speed")


def player_links(surface_key: tuple, race: Race) -> dict:
    """What the player's "Copy link" and "Explain this step" need: the explainer's address (its path from
    ``app.py``'s table, its host the visitor's own: ``ui.links``) and each optimizer's settings as the
    explainer's query (``lab.urlstate``). The explainer knows the catalogue's surfaces only, so a formula's
    race gets "Copy link" alone."""
    base = links.page_url("pages/explain.py", {}) if surface_key[0] == "catalogue" else None
    return _player_links(surface_key=surface_key, race=race, base=base)


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=RACE_HASH)
def _player_links(surface_key: tuple, race: Race, base: str | None) -> dict:
    """``player_links`` once per race and address, shared (nobody changes it: it only goes into the
    player's data), as the player's other parts are: the same object on every rerun lets ``ui.animation``
    reuse the data's walk too. Keyed by the address: visitors of one race through a proxy and on the
    server's own port each get their own host."""
    out: dict = {"copy": True}
    if base is not None:
        out["explain"] = {"base": base, "queries": [
            urlstate.query_string(urlstate.explain_params(n, surface_key[1], race.steps, race.start,
                                                          race.hyperparameters_of(n)))
            for n in race.optimizers]}
    return out


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
    if all(abs(v) <= optimizers.LIMIT for v in (x, y)):  # NaN fails this too
        state.set(x, "start", "x")
        state.set(y, "start", "y")


# --- the whole race ------------------------------------------------------------------------------------
@dataclass
class Head:
    """A race page's head (``page_head``): where ``show_race`` puts the Present button and its tools row."""

    title_row: DeltaGenerator  # the title, with room at its right for the Present button
    rows: DeltaGenerator  # the head's rows, half the page's spacing apart; the tools row goes last


def page_head(title: str, surface) -> Head:
    """A race page's head in the normal view, compact so that a 1280 × 720 projector shows the player's
    picture and its Play button without scrolling: the title in a row with the Present button at its
    right, then the formula with the surface's description beside it (below it where the row is too
    narrow), its rows half the page's spacing apart. The CSS is ``ui.a11y``'s."""
    rows = st.container(gap="xsmall")
    title_row = rows.container(horizontal=True, vertical_alignment="center", key=a11y.RACE_HEAD_KEY)
    title_row.title(title)
    with rows.container(horizontal=True, vertical_alignment="center", gap="xsmall",
                        key=a11y.RACE_FORMULA_KEY):
        surface_header(surface, formula_width="content")
    return Head(title_row, rows)


def show_race(state: PageState, surface, surface_key: tuple, extra_url: dict[str, str],
              surface_presets: dict, bar: present.Bar | None = None,
              head: Head | None = None) -> None:
    """The race below the page's header; ``bar`` (``ui.present.bar``): the presenter view.

    In the normal view the settings that are not in the sidebar (Hyperparameters, Schedules and gradient
    noise, Overlays, and Present unless the page's ``head`` takes it) share one row above the player
    instead of four stacked rows: on a projector the player's picture and Play come first, the settings
    stay one click away. An opened panel takes the whole row (``ui.a11y``'s CSS), so its fields are as wide
    as before.
    """
    tools = None if bar else (head.rows if head else st).container(
        horizontal=True, vertical_alignment="bottom", key=a11y.RACE_TOOLS_KEY)
    controls = race_controls(state, surface, surface_key, surface_presets, extra_url, bar, tools)
    if bar is None:
        present.present_button(state, head.title_row if head else tools)
    shown = _overlay_toggles(state, bar.settings if bar else tools)
    for message in controls.warnings:
        st.warning(message)
    url_extra = dict(extra_url)
    if shown:
        url_extra["overlays"] = urlstate.format_overlays(shown)
    url_extra.update(present.url_params(state))
    write_url(state, controls, url_extra)
    if not controls.names:
        return
    race = controls.race()
    # Cached functions are called by keyword: Streamlit then needs no inspect.signature per positional
    # argument to tell hashed from unhashed ones (~3 % of a run's server time under a crowd, measured).
    paths = _race_paths(surface_key=surface_key, race=race, _surface=surface)
    contour, surface3d = _backgrounds(surface_key=surface_key, _surface=surface)
    extra, gscale, sscale = None, None, None
    if shown:
        extra = _overlay_arrays(surface_key=surface_key, race=race, _surface=surface)
        (x0, x1), (y0, y1) = surface.bounds
        span = max(x1 - x0, y1 - y0)
        gscale = overlays.gradient_scale(list(extra.values()), span)
        sscale = overlays.step_scale(list(extra.values()), span)
    charts = _charts(surface_key=surface_key, race=race, _surface=surface, _paths=paths)
    contrast = bar is not None and bar.contrast
    shown_in_room = (present.player_options(surface.title, st.query_params.to_dict(), contrast)
                     if bar is not None else None)
    moving = (paths_payload(surface, paths, extra, contrast) if extra else
              _plain_paths_payload(surface_key=surface_key, race=race, contrast=contrast, _surface=surface,
                                   _paths=paths))
    animation.race_animation(contour, surface3d if controls.view != "contour" else None, moving,
                             steps=race.steps,
                             key=state.key("player"),
                             speed=controls.speed, overlays=shown, gradient_scale=gscale,
                             step_scale=sscale, charts=charts,
                             on_start=lambda: _start_from_click(state), present=shown_in_room,
                             links=player_links(surface_key, race),
                             on_speed=lambda: _speed_from_player(state),
                             # The caches' objects, unless overlays or the presenter view build them anew.
                             shared=not extra and shown_in_room is None)
    _results(surface_key, race, surface, paths)
    if bar is None:
        _downloads(surface, race, paths, contour, surface3d, charts)
        gif_export.gif_download(surface, paths, key=(surface_key, race))


def _results(surface_key: tuple, race: Race, surface, paths: dict[str, optimizers.Path]) -> None:
    """The notes (escaped / diverged / stopped) and the results table (``lab.race.results_rows``)."""
    notes, table, no_arrival = _results_parts(surface_key=surface_key, race=race, _surface=surface,
                                              _paths=paths)
    if notes:
        st.caption(notes)
    st.table(table, hide_index=True)
    if no_arrival:
        st.caption(no_arrival)


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=RACE_HASH)
def _results_parts(surface_key: tuple, race: Race, _surface, _paths) -> tuple[str, pa.Table, str]:
    """What ``_results`` draws, once per race (shared and only read, like the player's parts): the notes'
    caption, the table, and the caption under it ("" where there is none)."""
    ends = {n: outcome(_surface, p) for n, p in _paths.items()}
    notes = [note for n, end in ends.items() if (note := end.note(optimizers.get(n).title))]
    kinds = {end.kind for end in ends.values()}
    explain = []
    if "escaped" in kinds:
        explain.append("This surface has no minimum: a run that leaves the picture downhill has escaped, "
                       "which is the point, not a failure.")
    if "diverged" in kinds:
        explain.append(f"A diverged run stops where it blew up (|θ| or |f| above {optimizers.LIMIT:.0e}, or "
                       "outside the formula's domain).")
    caption = " · ".join(notes) + ". " + " ".join(explain) if notes else ""
    rows = results_rows(_surface, _paths, ends)
    no_arrival = ""
    if has_minimum(_surface) and rows and not any(k.startswith("Within") for k in rows[0]):
        steps = max(p.steps for p in _paths.values())
        no_arrival = f"No run came within {CONVERGENCE_TOLERANCE:g} of a minimum in {steps} steps."
    # An Arrow table goes to the browser as it is; a list of dicts would go through pandas first (6 % of
    # the server's time under a crowd, for a dozen rows of text).
    return caption, pa.Table.from_pylist(rows), no_arrival


NO_MINIMUM_NOTE = "This surface has no minimum (it is unbounded below), so there is no distance to show."


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False, hash_funcs=RACE_HASH)
def _charts(surface_key: tuple, race: Race, _surface, _paths) -> tuple[dict, ...]:
    """The loss and distance charts of a race (the player draws them, with a cursor at the shown step).

    Built once per race and shared, so a rerun that changes nothing about the race (speed, view, another
    visitor with the same link) reuses them. Nobody mutates them (they only go into the player's ``data``).
    """
    ends = {n: outcome(_surface, p) for n, p in _paths.items()}
    loss_series = {n: (optimizers.get(n).title, p.values, ends[n].step, ends[n].kind)
                   for n, p in _paths.items()}
    fmin = float(_surface.minimum_values.min()) if len(_surface.minima) else None
    _, _, z = _surface.grid(60)
    view = (float(np.nanmin(z)), float(np.nanmax(z))) if np.isfinite(z).any() else None
    loss = {"kind": "loss", "figure": race_charts.loss_figure(loss_series, fmin, view)}
    distances = {}
    for n, p in _paths.items():
        d = distance_to_minimum(_surface, p.points)
        if d is not None:
            distances[n] = (optimizers.get(n).title, d, ends[n].step, ends[n].kind)
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
        data=lambda: animation.standalone_html(contour, surface3d, paths_payload(surface, paths), race.steps,
                                               f"Descent Lab — {surface.title}", charts,
                                               [formula_text(surface), *settings_lines(race)]),
        file_name=f"descent-lab-{surface.name}.html", mime="text/html", on_click="ignore")
