"""The controls every page with optimizers shares: surface, optimizers, steps, start, hyperparameters.

The Race, Custom-surface and Atlas pages compose these, each under its own ``PageState`` (``keep.<page>.*``)
and with its own URL parameters on top (``lab.urlstate.run_parsers`` reads the shared ones,
``lab.urlstate.run_params`` writes them). Each control starts from the URL being applied, else from what
the session holds, else from its default (``restore``); a new surface brings its per-surface presets
(``apply_surface``). Where a control is drawn is the caller's: the sidebar, or a presenter bar's pop-over.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import streamlit as st

import optimizers
import surfaces
from lab import jobs, presets, urlstate
from surfaces import expression
from ui import urlsync
from ui.fields import accepted_value, number_field
from ui.surfaces import catalogue_surface
from ui.urlsync import PageState

_LOGGER = logging.getLogger(__name__)


def restore(state: PageState, url_key: str, default, *parts: str, convert: Callable | None = None):
    """Start a control: the URL's ``url_key`` while a URL is applied, else the session's value, else
    ``default``. The control's state key is ``parts`` (``url_key`` when none); returns its value."""
    parts = parts or (url_key,)
    value = urlsync.url_value(state, url_key)
    if value is not None:
        state.set(convert(value) if convert else value, *parts)
    state.init(default, *parts)
    return state.get(*parts)


# --- surface and presets ----------------------------------------------------------------------------------
def surface_picker(state: PageState, default: str, where=None, label_visibility: str = "visible") -> str:
    """The catalogue's selectbox (URL ``surface``); the chosen surface's name."""
    restore(state, "surface", default)
    (where or st.sidebar).selectbox(
        "Surface", surfaces.available(), key=state.key("surface"), persist_state="session",
        format_func=lambda name: catalogue_surface(name).title, label_visibility=label_visibility)
    return state.get("surface")


def apply_surface(state: PageState, surface, surface_key: tuple, surface_presets: dict) -> None:
    """A new surface: start and hyperparameters from its presets, then whatever the URL says; the same
    surface: only what a new URL says."""
    if state.get("surface_applied") != surface_key:
        start = urlsync.url_value(state, "start", surface.start)
        state.set(float(start[0]), "start", "x")
        state.set(float(start[1]), "start", "y")
        for name, hyper in surface_presets.items():
            for key, value in hyper.items():
                url_key = urlstate.hyperparameter_key(name, key)
                state.set(urlsync.url_value(state, url_key, value), "hp", name, key)
        state.set(surface_key, "surface_applied")
        return
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


PRESET_WAIT = 3.0  # seconds a page waits for a formula's tuned learning rates before racing without them
TUNING = "Tuning the learning rates for this formula…"
PENDING = ("The learning rates for this formula are still being tuned (many formulas are waiting); the race "
           "uses the published defaults for now.")
READY = "The learning rates tuned for this formula are ready."
FAILED_TUNING = "The learning rates could not be tuned for this formula; using the published defaults."
_TUNED_SIZE = 256
_tuned: OrderedDict = OrderedDict()  # spec -> presets (or None: tuning failed), most recent last
_tuned_lock = threading.Lock()


def _published_defaults() -> dict:
    return {name: optimizers.defaults(name) for name in optimizers.available()}


def _checked_presets(result) -> dict:
    """The worker's answer as presets, or ValueError: every optimizer, every value valid."""
    presets = {}
    for name in optimizers.available():
        values = dict(optimizers.defaults(name))
        for p in optimizers.get(name).hyperparameters:
            value = float(result[name][p.name])
            if not p.is_valid(value):
                raise ValueError(f"invalid {p.name} for {name}: {value}")
            values[p.name] = value
        presets[name] = values
    return presets


def formula_presets(spec, surface, wait: float = PRESET_WAIT) -> tuple[dict, str | None]:
    """(presets, None) when a formula's tuned presets are known or arrive within ``wait`` seconds; else
    (the published defaults, why): "pending" (still queued or tuning: a later run picks them up), "busy"
    (the queue is full) or "failed". Tuning runs once per spec in ``lab.jobs``' workers, however many
    sessions ask; the results are kept for ``_TUNED_SIZE`` specs."""
    with _tuned_lock:
        if spec in _tuned:
            _tuned.move_to_end(spec)
            known = _tuned[spec]
            return (known, None) if known is not None else (_published_defaults(), "failed")
    try:
        job = jobs.default_pool().shared(("presets", spec), [(jobs.tune_presets, (surface,))])
    except jobs.Busy:
        return _published_defaults(), "busy"
    if not job.wait(wait):
        return _published_defaults(), "pending"
    try:
        presets = _checked_presets(job.results()[0])
    except Exception as exc:  # noqa: BLE001 - a task error, a cancelled job, a bad answer: logged, not shown
        _LOGGER.warning("Tuning the presets of %r failed", spec, exc_info=exc.__cause__ or exc)
        presets = None
    with _tuned_lock:
        _tuned[spec] = presets
        while len(_tuned) > _TUNED_SIZE:
            _tuned.popitem(last=False)
    return (presets, None) if presets is not None else (_published_defaults(), "failed")


def warm_formula_workers() -> None:
    """Start the formula sandbox's and ``lab.jobs``' workers if they are not running (returns at once): a
    page that takes formulas calls it first, so its first visitor does not wait for their imports."""
    expression.warm_up()
    jobs.default_pool().warm_up(0)


def _apply_tuned(state: PageState) -> None:
    state.set(None, "surface_applied")  # apply_surface applies the (now tuned) presets on this run
    state.set(None, "presets_waiting")


def presets_cached(surface_key: tuple, surface, retry_key: str = "keep.custom.btn_retry_presets",
                   state: PageState | None = None) -> dict:
    """The surface's presets. A formula's are tuned in ``lab.jobs``' worker processes (a fraction of a
    second of CPU each, which would hold every other visitor's run up here), queued with everyone else's:
    the page waits up to ``PRESET_WAIT`` seconds with a spinner, then races with the published defaults and
    offers the tuned rates when they are ready (the button ``retry_key``). Busy is never "no": the race
    always runs on the visitor's own surface."""
    if not (isinstance(surface_key, tuple) and surface_key and surface_key[0] == "custom"):
        return _presets(surface_key=surface_key, _surface=surface)  # by keyword: see ui/race.show_race
    with st.spinner(TUNING, show_time=True):
        surface_presets, why = formula_presets(surface_key, surface)
    waiting = state is not None and state.get("presets_waiting") == surface_key
    if why == "failed":
        st.warning(FAILED_TUNING)
    elif why is not None:  # pending or busy: the race runs now, the tuned rates later
        st.info(PENDING)
        st.button("Use the tuned learning rates", key=retry_key, help="Applies them once they are ready "
                  "(start and hyperparameters go back to this surface's presets).",
                  on_click=_apply_tuned if state is not None else None, args=(state,) if state else ())
        if state is not None and state.get("surface_applied") != surface_key:
            state.set(surface_key, "presets_waiting")
    elif waiting:
        st.info(READY)
        st.button("Use the tuned learning rates", key=retry_key, on_click=_apply_tuned, args=(state,))
    return surface_presets


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _presets(surface_key: tuple, _surface) -> dict:
    return presets.presets_for(_surface)


# --- optimizers, steps, start -----------------------------------------------------------------------------
def optimizer_label(name: str) -> str:
    """The optimizer's title, with its family when it is not a first-order rule: "Newton (2nd order)"."""
    optimizer = optimizers.get(name)
    return f"{optimizer.title} (2nd order)" if optimizer.second_order else optimizer.title


def _set_optimizers(state: PageState, names) -> None:
    state.set(list(names), "optimizers")


def optimizer_picker(state: PageState, where, default: Sequence[str], default_label: str,
                     default_help: str) -> list[str]:
    """The optimizers multiselect (URL ``optimizers``) with an "All" button and one for the page's
    ``default`` set; the chosen names."""
    restore(state, "optimizers", list(default), convert=list)
    all_names = optimizers.available()
    where.multiselect("Optimizers", all_names, key=state.key("optimizers"), format_func=optimizer_label,
                      persist_state="session", help="First-order rules use the gradient only; second-order "
                      "ones (Newton's) also use the curvature, the Hessian.")
    c1, c2 = where.columns(2)
    c1.button(f"All {len(all_names)}", on_click=_set_optimizers, args=(state, all_names),
              key=state.key("btn_all"), width="stretch")
    c2.button(default_label, on_click=_set_optimizers, args=(state, default), key=state.key("btn_default"),
              width="stretch", help=default_help)
    return [n for n in state.get("optimizers") if n in all_names]


def steps_slider(state: PageState, where, max_steps: int, default: int) -> int:
    """The steps slider (URL ``steps``)."""
    restore(state, "steps", default)
    return int(where.slider("Steps", 1, max_steps, key=state.key("steps"), persist_state="session"))


def _use_suggested_start(state: PageState, starts) -> None:
    choice = state.get("suggested")
    if choice is not None and 0 <= choice < len(starts):
        state.set(starts[choice][0], "start", "x")
        state.set(starts[choice][1], "start", "y")


def start_inputs(state: PageState, where, surface, label: str = "**Start point**") -> tuple[float, float]:
    """The start point (URL ``start``; set by ``apply_surface``) and the surface's suggested starts."""
    where.markdown(label)
    sx, sy = where.columns(2)
    (x0, x1), (y0, y1) = surface.bounds
    span = max(x1 - x0, y1 - y0)
    limit = optimizers.LIMIT
    reason = f"a start must lie within ±{limit:g} (where every run stops)"
    x = number_field(sx, "x", state.key("start", "x"), low=-limit, high=limit, fallback=surface.start[0],
                     reason=reason, step=span / 100, fmt="%.4g")
    y = number_field(sy, "y", state.key("start", "y"), low=-limit, high=limit, fallback=surface.start[1],
                     reason=reason, step=span / 100, fmt="%.4g")
    if len(surface.starts) > 0:
        where.selectbox("Suggested starts", range(len(surface.starts)), index=None,
                        placeholder="Pick a suggested start…", key=state.key("suggested"),
                        format_func=lambda i: f"({surface.starts[i][0]:g}, {surface.starts[i][1]:g})",
                        on_change=_use_suggested_start, args=(state, surface.starts))
    return x, y


# --- hyperparameters ----------------------------------------------------------------------------------------
def _reset_hyperparameters(state: PageState, surface_presets: dict[str, dict[str, float]]) -> None:
    for name, hyper in surface_presets.items():
        for key, value in hyper.items():
            state.set(value, "hp", name, key)


def _step_for(p: optimizers.Hyperparameter) -> float:
    if p.log:
        return float(p.ui_min)
    return 0.01 if p.name in ("momentum", "beta1", "rho") else 0.001


def hyperparameters(state: PageState) -> dict[str, dict[str, float]]:
    """Every optimizer's hyperparameters as the session holds them (URL ``<param>_<optimizer>``); an
    invalid value counts as the published default."""
    chosen = {}
    for name in optimizers.available():
        values = {}
        for p in optimizers.get(name).hyperparameters:
            state.init(p.default, "hp", name, p.name)
            values[p.name] = _accepted(state.key("hp", name, p.name), p)
        chosen[name] = values
    return chosen


def _accepted(key: str, p: optimizers.Hyperparameter) -> float:
    """The value a hyperparameter field holds if the panel accepts it (within the field's range and
    valid), else the last one it accepted, else the default (``ui.fields.accepted_value``)."""
    return accepted_value(key, st.session_state.get(key), low=float(p.ui_min), high=float(p.ui_max),
                          fallback=p.default, valid=p.is_valid)[0]


def hyperparameter_panel(state: PageState, names: list[str], surface_presets: dict,
                         caption: str) -> dict[str, dict[str, float]]:
    """The "Hyperparameters" expander: one optimizer's inputs at a time (picked above them) and the shown
    optimizers' values in one line. Returns every optimizer's values (``hyperparameters``).

    Ten optimizers' inputs at once were 32 number fields: a wall to read, and about a quarter of a second
    of the browser's work before a race could draw. The values of the optimizers not shown stay in the
    session (and the URL) as they are. The expander's content runs only while it is open (opening it
    reruns the page): closed, its widgets would still cost every run ~4 ms of the server's one Python lock,
    which a class arriving at once shares; the values come from the session either way.
    """
    panel = st.expander("Hyperparameters", expanded=False, key=state.key("hp_open"), on_change="rerun")
    with panel:
        if not panel.open:
            return hyperparameters(state)
        st.caption(caption)
        st.button("Reset to this surface's presets", on_click=_reset_hyperparameters,
                  args=(state, surface_presets), key=state.key("btn_reset"))
        chosen = hyperparameters(state)
        if not names:
            return chosen
        focus_key = state.key("hp_focus")
        if st.session_state.get(focus_key) not in names:
            st.session_state[focus_key] = names[0]
        if len(names) > 1:
            st.segmented_control("Optimizer", names, key=focus_key, required=True, persist_state="session",
                                 format_func=lambda n: optimizers.get(n).title)
        focus = st.session_state[focus_key]  # one of names: set above, and the picker requires a choice
        opt = optimizers.get(focus)
        cols = st.columns(max(4, len(opt.hyperparameters)))
        for col, p in zip(cols, opt.hyperparameters, strict=False):
            # A refused value says why under its field (a learning rate of 1e6 is not silently ignored).
            chosen[focus][p.name] = number_field(
                col, f"{p.name} ({opt.title})", state.key("hp", focus, p.name), low=float(p.ui_min),
                high=float(p.ui_max), fallback=chosen[focus][p.name], valid=p.is_valid, step=_step_for(p),
                help=p.help,
                reason=lambda v, p=p: (f"a {p.label} must be in {p.valid_range}" if not p.is_valid(v) else
                                       f"this control takes a {p.label} from {p.ui_min:g} to {p.ui_max:g}"))
        st.caption(" · ".join(f"**{optimizers.get(n).title}** " + ", ".join(f"{k} {v:.4g}" for k, v in
                                                                            chosen[n].items())
                              for n in names))
    return chosen
