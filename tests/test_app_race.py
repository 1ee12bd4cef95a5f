"""AppTest of the Race page: runs, reacts to widgets, mirrors the URL, warns on bad URL values, and
hands the player exactly the core's paths."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from lab import presets, race
from tests.app_helpers import component_data, open_app, open_container, url_params
from ui import animation


def race_app(**query) -> AppTest:
    return open_app(None, **query)


def player_data(at: AppTest) -> dict:
    """The ``data`` the race player component received (AppTest runs no JavaScript)."""
    return component_data(at, animation.COMPONENT_NAME)


def test_example_url_runs_all_optimizers_without_exception():
    at = race_app(surface="beale", optimizers="all", steps="1000")
    assert not at.exception
    assert not at.warning
    assert at.query_params["surface"] == ["beale"] or at.query_params["surface"] == "beale"
    assert at.session_state["keep.race.optimizers"] == optimizers.available()
    assert at.session_state["keep.race.steps"] == 1000


def test_default_visit_is_radford_plus_adam_on_beale():
    at = race_app()
    assert not at.exception
    assert at.session_state["keep.race.surface"] == "beale"
    assert at.session_state["keep.race.optimizers"] == ["sgd", "momentum", "nag", "adagrad", "adadelta",
                                                        "rmsprop", "adam"]
    flat = url_params(at)
    assert flat["surface"] == "beale" and flat["start"] == "1,1.5"
    for name in at.session_state["keep.race.optimizers"]:
        assert float(flat[f"lr_{name}"]) == presets.surface_presets("beale")[name]["lr"]


@pytest.mark.parametrize(("key", "value"), [
    ("surface", "nope"), ("steps", "abc"), ("steps", "999999"), ("optimizers", "sgd,lbfgs"),
    ("start", "1,nan"), ("start", "5"), ("lr_adam", "1e9"), ("lr_adam", "-1"), ("momentum_nag", "1.5"),
    ("speed", "3"), ("view", "vr"), ("noise", "x"), ("lr_schedule", "sometimes"), ("mystery", "1"),
    ("optimizers", ""), ("surface", "<script>alert(1)</script>"),
])
def test_bad_query_parameter_warns_and_falls_back(key, value):
    at = race_app(**{key: value})
    assert not at.exception
    messages = [w.value for w in at.warning]
    assert any(f"`{key}`" in m for m in messages), messages
    assert at.session_state["keep.race.surface"] in surfaces.available()


def test_changing_a_widget_changes_the_result_and_the_url():
    at = race_app(surface="rosenbrock", optimizers="adam", steps="200")
    before = at.session_state["keep.race.steps"]
    at.slider(key="keep.race.steps").set_value(300).run()
    assert not at.exception
    assert before == 200 and at.session_state["keep.race.steps"] == 300
    steps = at.query_params["steps"]
    assert (steps[0] if isinstance(steps, list) else steps) == "300"
    open_container(at, "keep.race.hp_open")
    at.number_input(key="keep.race.hp.adam.lr").set_value(0.05).run()
    lr = at.query_params["lr_adam"]
    assert float(lr[0] if isinstance(lr, list) else lr) == 0.05
    assert not at.exception


def test_changing_the_surface_applies_its_presets_and_start():
    at = race_app(surface="beale", optimizers="sgd")
    at.selectbox(key="keep.race.surface").set_value("himmelblau").run()
    assert not at.exception
    himmelblau = surfaces.get("himmelblau")
    assert at.session_state["keep.race.start.x"] == himmelblau.start[0]
    assert at.session_state["keep.race.hp.sgd.lr"] == presets.surface_presets("himmelblau")["sgd"]["lr"]


def test_url_learning_rate_overrides_the_preset():
    at = race_app(surface="beale", optimizers="adam", lr_adam="0.02", start="2,-1")
    assert not at.exception and not at.warning
    assert at.session_state["keep.race.hp.adam.lr"] == 0.02
    assert (at.session_state["keep.race.start.x"], at.session_state["keep.race.start.y"]) == (2.0, -1.0)


def test_plotted_paths_equal_the_core():
    at = race_app(surface="himmelblau", optimizers="adam,nag", steps="300", start="-0.3,-0.9",
                  lr_adam="0.01", lr_nag="0.001")
    assert not at.exception
    himmelblau = surfaces.get("himmelblau")
    expected = {
        "adam": optimizers.run("adam", himmelblau, (-0.3, -0.9), 300, lr=0.01),
        "nag": optimizers.run("nag", himmelblau, (-0.3, -0.9), 300, lr=0.001),
    }
    data = player_data(at)
    assert data["steps"] == 300
    by_slug = {p["slug"]: p for p in data["paths"]}
    assert set(by_slug) == {"adam", "nag"}
    for slug, path in expected.items():
        xs = animation.decode_array(by_slug[slug]["x"])
        ys = animation.decode_array(by_slug[slug]["y"])
        np.testing.assert_allclose(xs, path.points[:, 0].astype(np.float32), rtol=0, atol=0)
        np.testing.assert_allclose(ys, path.points[:, 1].astype(np.float32), rtol=0, atol=0)
    # The loss and distance charts travel with the player (it draws them, with a step cursor) and carry
    # the exact values.
    charts = {c["kind"]: c["figure"] for c in data["charts"]}
    assert set(charts) == {"loss", "distance"}
    fmin = float(himmelblau.minimum_values.min())
    for kind, expect in (("loss", lambda p: p.values - fmin),
                         ("distance", lambda p: race.distance_to_minimum(himmelblau, p.points))):
        traces = {t["name"]: t for t in charts[kind]["data"] if t.get("mode") == "lines"}
        for slug, path in expected.items():
            trace = traces[optimizers.get(slug).title]
            np.testing.assert_array_equal(animation.decode_array(trace["y"]), np.maximum(expect(path), 1e-16)
                                          if kind == "distance" else expect(path))
            np.testing.assert_array_equal(animation.decode_array(trace["x"]), np.arange(301))
    assert not at.get("plotly_chart")  # nothing else loads Streamlit's own 4.7 MB plotly chunk


def test_divergence_is_a_note_not_an_error():
    at = race_app(surface="rosenbrock", optimizers="sgd", steps="100", lr_sgd="1")
    assert not at.exception and not at.error and not at.warning
    captions = " ".join(c.value for c in at.caption)
    assert "SGD diverged at step" in captions


def test_no_optimizer_selected_shows_a_hint():
    at = race_app(surface="beale", optimizers="adam")
    at.multiselect(key="keep.race.optimizers").set_value([]).run()
    assert not at.exception
    assert any("Choose at least one optimizer" in i.value for i in at.info)


def test_overlays_from_the_url_send_the_core_step_records():
    hyper = {"adam": {"lr": 0.01}, "nag": {"lr": 0.001}}
    at = race_app(surface="himmelblau", optimizers="adam,nag", steps="150", start="-0.3,-0.9",
                  lr_adam="0.01", lr_nag="0.001", overlays="step,gradient,lookahead,effective")
    assert not at.exception and not at.warning
    assert at.session_state["keep.race.overlays"] == ["gradient", "step", "lookahead", "effective"]
    url = at.query_params["overlays"]
    assert (url[0] if isinstance(url, list) else url) == "gradient,step,lookahead,effective"
    data = player_data(at)
    assert data["overlays"] == ["gradient", "step", "lookahead", "effective"]
    assert data["gradient_scale"] > 0
    himmelblau = surfaces.get("himmelblau")
    by_slug = {p["slug"]: p for p in data["paths"]}
    for slug in ("adam", "nag"):
        records = optimizers.trace(slug, himmelblau, (-0.3, -0.9), 150, **hyper[slug])
        assert len(records) == 150
        ov = {k: animation.decode_array(v) for k, v in by_slug[slug]["overlay"].items()}
        for key, column in (("px", lambda r: r.lookahead[0]), ("py", lambda r: r.lookahead[1]),
                            ("gx", lambda r: r.gradient[0]), ("gy", lambda r: r.gradient[1]),
                            ("dx", lambda r: r.delta[0]), ("dy", lambda r: r.delta[1])):
            expected = np.array([column(r) for r in records]).astype(np.float32)
            np.testing.assert_array_equal(ov[key], expected)


def test_default_payload_has_no_overlay_arrays():
    at = race_app(surface="beale", optimizers="adam,nag", steps="100")
    data = player_data(at)
    assert "overlays" not in data and all("overlay" not in p for p in data["paths"])
    assert data.get("clickable") is True
    assert "overlays" not in at.query_params


def test_bad_overlays_value_warns():
    at = race_app(surface="beale", optimizers="adam", overlays="gradient,velocity")
    assert not at.exception
    assert any("`overlays`" in w.value for w in at.warning)
    assert not at.session_state["keep.race.overlays"]


def test_hyperparameters_show_one_optimizer_at_a_time_and_keep_the_others():
    at = race_app(surface="beale", optimizers="sgd,adam", lr_adam="0.02")
    assert not at.exception
    # Closed (the default), the panel draws nothing and the race still uses every value of the session.
    assert not [n for n in at.number_input if n.key.startswith("keep.race.hp.")]
    closed = player_data(at)["id"]
    assert url_params(at)["lr_adam"] == "0.02"
    open_container(at, "keep.race.hp_open")
    assert player_data(at)["id"] == closed  # the same race with its panel open
    shown = {n.key for n in at.number_input if n.key.startswith("keep.race.hp.")}
    assert shown == {"keep.race.hp.sgd.lr"}  # the first optimizer's inputs only
    summary = " ".join(c.value for c in at.caption)
    assert "**SGD** lr" in summary and "**Adam** lr 0.02" in summary
    at.number_input(key="keep.race.hp.sgd.lr").set_value(0.003).run()
    at.segmented_control(key="keep.race.hp_focus").set_value("adam").run()
    assert not at.exception
    shown = {n.key for n in at.number_input if n.key.startswith("keep.race.hp.")}
    assert shown == {f"keep.race.hp.adam.{k}" for k in optimizers.defaults("adam")}
    assert at.number_input(key="keep.race.hp.adam.lr").value == 0.02
    # SGD's value is kept while its inputs are hidden: in the session, the URL and the race.
    assert at.session_state["keep.race.hp.sgd.lr"] == 0.003
    lr = at.query_params["lr_sgd"]
    assert float(lr[0] if isinstance(lr, list) else lr) == 0.003
    sgd = next(p for p in player_data(at)["paths"] if p["slug"] == "sgd")
    expected = optimizers.run("sgd", surfaces.get("beale"), surfaces.get("beale").start, 500, lr=0.003)
    np.testing.assert_array_equal(animation.decode_array(sgd["x"]), expected.points[:, 0].astype(np.float32))


def test_the_offline_html_shows_the_formula_and_every_hyperparameter():
    surface = surfaces.get("saddle")
    r = race.Race.make(["sgd", "adam"], 50, surface.start,
                       {"sgd": {"lr": 0.03}, "adam": {**optimizers.defaults("adam"), "lr": 0.1}})
    paths = race.run_race(surface, r)
    lines = [race.formula_text(surface), *race.settings_lines(r)]
    assert lines == ["f(x, y) = x^2 - y^2", "50 steps from (1, 0.001)", "SGD: lr = 0.03",
                     "Adam: lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8"]
    page = animation.standalone_html({"data": [], "layout": {}}, None,
                                     [animation.path_payload("Adam", "adam", None, p.points, p.values, None)
                                      for p in paths.values()], 50, "Saddle", lines=lines + ["<b>x</b>"])
    for line in lines:
        assert f'<p class="dl-about">{line}</p>' in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_a_refused_noise_value_says_why_next_to_its_field_and_the_race_keeps_the_old_one():
    at = race_app(surface="beale", optimizers="sgd", steps="50", noise="0.5")
    before = player_data(at)["paths"][0]["x"]
    open_container(at, "keep.race.options_open")
    assert player_data(at)["paths"][0]["x"] == before  # opening the options changes nothing
    at.number_input(key="keep.race.option.noise").set_value(1e6).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error == "1e6 is refused: the noise scale η is a number from 0 to 10. Using 0.5."
    assert player_data(at)["paths"][0]["x"] == before  # the race still runs with η = 0.5


def test_the_players_links_carry_each_visitors_own_address(monkeypatch):
    """The links are made once per race, but their host is the visitor's: a class behind a proxy and a
    check on the server's own port (the warm-up visits it so) ask for the same race and each get their
    own address, never the one of whoever asked first."""
    from ui import links
    from ui import race as race_ui

    two = race.Race.make(["sgd", "adam"], 40, (1.0, 1.5), {"sgd": {}, "adam": {}})
    key = ("catalogue", "beale")
    seen = {}
    for host in ("http://127.0.0.1:41457/", "https://class.example/", "http://127.0.0.1:41457/"):
        monkeypatch.setattr(links, "page_url", lambda script, params, host=host: host + "explain")
        seen.setdefault(host, []).append(race_ui.player_links(key, two))
    assert seen["https://class.example/"][0]["explain"]["base"] == "https://class.example/explain"
    assert seen["http://127.0.0.1:41457/"][0]["explain"]["base"] == "http://127.0.0.1:41457/explain"
    first, again = seen["http://127.0.0.1:41457/"]
    assert again is first  # the same race and address: the shared object, so the player's walk is reused
    assert len(first["explain"]["queries"]) == 2


def test_the_players_shared_parts_are_never_changed_by_a_run():
    """The walk over the player's data is shared by every run of a race (``ui.animation._shared_parts``):
    a run's speed goes into its own copies, so the memo's entry keeps speed 1 and no speed report, and a
    visitor at speed 4 never hands another visitor of the race their speed."""
    fast = player_data(race_app(surface="booth", optimizers="sgd,adam", steps="30", speed="4"))
    slow = player_data(race_app(surface="booth", optimizers="sgd,adam", steps="30"))
    assert fast["speed"] == 4.0 and slow["speed"] == 1.0 and fast["id"] == slow["id"]
    entries = [parts for _, parts in animation._parts_memo.values() if parts[0]["id"] == fast["id"]]
    assert entries, "the race's parts were not kept"
    for data, skeleton, _ in entries:
        assert data["speed"] == skeleton["speed"] == 1.0
        assert "speed_seq" not in data and "speed_seq" not in skeleton
