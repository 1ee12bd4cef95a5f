"""The shared controls (``ui.controls``) on a page of their own: a URL sets them, the session keeps them, a
new surface brings its presets, the buttons choose optimizers, and the hyperparameter panel shows one
optimizer's inputs at a time while returning every optimizer's values."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import optimizers
from lab import presets
from tests.app_helpers import open_container


def controls_page():
    """A page made of the shared controls only (what the Race and Atlas pages compose)."""
    import streamlit as st

    from lab import urlstate
    from ui import controls, urlsync
    from ui.surfaces import catalogue_surface
    from ui.urlsync import PageState

    state = PageState("t")
    urlsync.read_url(state, {**urlstate.run_parsers(100), "surface": urlstate.parse_surface})
    for message in urlsync.url_warnings(state):
        st.warning(message)
    name = controls.surface_picker(state, "beale")
    surface = catalogue_surface(name)
    surface_presets = controls.presets_cached(("catalogue", name), surface)
    controls.apply_surface(state, surface, ("catalogue", name), surface_presets)
    names = controls.optimizer_picker(state, st.sidebar, ("sgd", "adam"), "Two", "SGD and Adam")
    steps = controls.steps_slider(state, st.sidebar, 100, 40)
    start = controls.start_inputs(state, st.sidebar, surface)
    hyper = controls.hyperparameter_panel(state, names, surface_presets, "Presets.")
    st.session_state["t.result"] = {"names": names, "steps": steps, "start": start, "hyper": hyper}
    urlsync.write_url(state, {"surface": name, **urlstate.run_params(names, steps, start,
                                                                     {n: hyper[n] for n in names})})


def page(**query) -> AppTest:
    at = AppTest.from_function(controls_page, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def result(at: AppTest) -> dict:
    return at.session_state["t.result"]


def flat_url(at: AppTest) -> dict:
    pairs = ((k, at.query_params[k]) for k in at.query_params)
    return {k: (v[0] if isinstance(v, list) else v) for k, v in pairs}


def test_defaults_and_the_surfaces_presets():
    at = page()
    assert not at.exception and not at.warning
    r = result(at)
    beale = presets.surface_presets("beale")
    assert r["names"] == ["sgd", "adam"] and r["steps"] == 40 and r["start"] == (1.0, 1.5)
    assert set(r["hyper"]) == set(optimizers.available())  # every optimizer's values, not only the shown
    assert all(r["hyper"][n]["lr"] == beale[n]["lr"] for n in optimizers.available())
    assert flat_url(at) == {"surface": "beale", "optimizers": "sgd,adam", "steps": "40", "start": "1,1.5",
                            "lr_sgd": repr(beale["sgd"]["lr"]), "lr_adam": repr(beale["adam"]["lr"])}


def test_the_url_wins_over_the_presets_and_a_new_surface_brings_its_own():
    at = page(surface="himmelblau", optimizers="nag", steps="77", start="0.5,-1", lr_nag="0.003",
              momentum_nag="0.5")
    assert not at.exception and not at.warning
    r = result(at)
    assert r["names"] == ["nag"] and r["steps"] == 77 and r["start"] == (0.5, -1.0)
    assert r["hyper"]["nag"] == {"lr": 0.003, "momentum": 0.5}
    assert r["hyper"]["adam"]["lr"] == presets.surface_presets("himmelblau")["adam"]["lr"]
    # The visitor changes a value: the session keeps it over the next runs.
    open_container(at, "keep.t.hp_open")
    at.number_input(key="keep.t.hp.nag.lr").set_value(0.01).run()
    assert result(at)["hyper"]["nag"]["lr"] == 0.01 and flat_url(at)["lr_nag"] == "0.01"
    # Another surface: its presets and its start.
    at.selectbox(key="keep.t.surface").set_value("rosenbrock").run()
    r = result(at)
    rosenbrock = presets.surface_presets("rosenbrock")
    assert r["hyper"]["nag"]["lr"] == rosenbrock["nag"]["lr"] and r["start"] == (-1.5, 2.0)
    assert r["steps"] == 77 and r["names"] == ["nag"]


def test_bad_url_values_warn_and_keep_the_defaults():
    at = page(steps="101", lr_adam="-1", optimizers="sgd,lbfgs")
    assert not at.exception
    messages = [w.value for w in at.warning]
    for key in ("steps", "lr_adam", "optimizers"):
        assert any(f"`{key}`" in m for m in messages), messages
    r = result(at)
    assert r["steps"] == 40 and r["names"] == ["sgd", "adam"]
    assert r["hyper"]["adam"]["lr"] == presets.surface_presets("beale")["adam"]["lr"]


def test_the_optimizer_buttons_and_the_reset():
    at = page(optimizers="adam", lr_adam="0.5")
    at.button(key="keep.t.btn_all").click().run()
    assert result(at)["names"] == optimizers.available() and flat_url(at)["optimizers"] == "all"
    at.button(key="keep.t.btn_default").click().run()
    assert result(at)["names"] == ["sgd", "adam"]
    assert result(at)["hyper"]["adam"]["lr"] == 0.5
    open_container(at, "keep.t.hp_open")
    at.button(key="keep.t.btn_reset").click().run()
    assert result(at)["hyper"]["adam"]["lr"] == presets.surface_presets("beale")["adam"]["lr"]


def test_one_optimizers_inputs_at_a_time_and_every_value_in_one_line():
    at = page(optimizers="sgd,adam")
    assert not [n for n in at.number_input if n.key.startswith("keep.t.hp.")]  # closed: nothing drawn
    open_container(at, "keep.t.hp_open")
    shown = {n.key for n in at.number_input if n.key.startswith("keep.t.hp.")}
    assert shown == {"keep.t.hp.sgd.lr"}
    at.segmented_control(key="keep.t.hp_focus").set_value("adam").run()
    shown = {n.key for n in at.number_input if n.key.startswith("keep.t.hp.")}
    assert shown == {f"keep.t.hp.adam.{k}" for k in optimizers.defaults("adam")}
    summary = [c.value for c in at.caption if c.value.startswith("**SGD**")]
    assert len(summary) == 1 and "**Adam** lr" in summary[0]


def test_a_suggested_start_sets_the_start():
    at = page(surface="himmelblau")
    box = at.selectbox(key="keep.t.suggested")
    at = box.set_value(len(box.options) - 1).run()
    from surfaces import get

    assert result(at)["start"] == tuple(float(v) for v in get("himmelblau").starts[-1])
