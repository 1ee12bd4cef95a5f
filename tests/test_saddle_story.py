"""The saddle tells the classic story (issue 18): every racer starts visibly at the saddle, the adaptive
methods escape within tens of steps while SGD, Momentum and NAG dawdle; an escape is not a divergence;
the loss chart shows the plateau and the drop; the results table is for people."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from figures import race_charts
from lab import classics, numbers, presets, race
from tests.app_helpers import component_data, open_app
from ui import animation

ADAPTIVE = ("adagrad", "adadelta", "rmsprop", "adam", "adamax", "nadam", "amsgrad")
SLOW = ("sgd", "momentum", "nag")
NUMBER = r"[-+−]?\d[\d.]*(?:e[-+]?\d+)?"


def race_app(**query) -> AppTest:
    return open_app(None, **query)


def player_data(at: AppTest) -> dict:
    """The ``data`` the race player component received (AppTest runs no JavaScript)."""
    return component_data(at, animation.COMPONENT_NAME)


def _span(surface) -> float:
    (x0, x1), (y0, y1) = surface.bounds
    return max(x1 - x0, y1 - y0)


def _first_step(surface, name, hyper, start=None) -> float:
    path = optimizers.run(name, surface, start or surface.start, 1, **hyper)
    return float(np.hypot(*(path.points[1] - path.points[0])))


@pytest.mark.parametrize("surface_name", ["saddle", "monkey_saddle"])
def test_every_preset_first_step_moves_less_than_a_tenth_of_the_view(surface_name):
    surface = surfaces.get(surface_name)
    for name, hyper in presets.surface_presets(surface_name).items():
        assert _first_step(surface, name, hyper) < 0.1 * _span(surface), name


def test_at_the_saddle_adaptive_methods_escape_within_tens_of_steps_and_sgd_family_dawdles():
    surface = surfaces.get("saddle")
    p = presets.surface_presets("saddle")
    escaped = {n: race.outcome(surface, optimizers.run(n, surface, surface.start, 500, **p[n]))
               for n in ADAPTIVE + SLOW}
    assert all(e.kind == "escaped" for e in escaped.values()), escaped
    assert max(escaped[n].step for n in ADAPTIVE) < 50
    assert min(escaped[n].step for n in SLOW) > max(escaped[n].step for n in ADAPTIVE)


def test_escape_is_not_divergence_but_a_blow_up_on_a_bounded_surface_is():
    saddle = surfaces.get("saddle")
    # Momentum runs long enough for the engine to stop it at |f| > LIMIT: still an escape.
    path = optimizers.run("momentum", saddle, saddle.start, 600, lr=0.003)
    assert path.diverged_at is not None
    end = race.outcome(saddle, path)
    assert end.kind == "escaped" and end.step < path.diverged_at
    assert end.note("Momentum") == f"Momentum escaped at step {end.step}"
    # Too large a step along the saddle's upward x direction blows up: diverged, even without a minimum.
    up = optimizers.run("sgd", saddle, (1.0, 0.0), 100, lr=1.5)
    assert race.outcome(saddle, up).kind == "diverged"
    rosen = surfaces.get("rosenbrock")
    blow = optimizers.run("sgd", rosen, rosen.start, 100, lr=1.0)
    assert race.outcome(rosen, blow) == race.Outcome("diverged", blow.diverged_at)


def test_the_saddle_race_at_its_default_link_shows_escapes_not_divergence():
    at = race_app(surface="saddle", optimizers="all", steps="500")
    assert not at.exception and not at.error and not at.warning
    text = " ".join(c.value for c in at.caption)
    assert "diverged" not in text
    assert "Adam escaped at step" in text and "SGD escaped at step" in text
    table = at.table[0].value
    assert "Escaped (left the view) at step" in table.columns
    adam = table[table["Optimizer"] == "Adam"].iloc[0]
    assert int(adam["Escaped (left the view) at step"]) < 50
    data = player_data(at)
    by_slug = {p["slug"]: p for p in data["paths"]}
    assert by_slug["adam"]["diverged_at"] is None and by_slug["adam"]["escaped_at"] < 50
    assert by_slug["adam"]["note"].startswith("Adam escaped at step")
    for p in data["paths"]:
        assert "diverged" not in p["note"]


def _linear_span(fig) -> float:
    yaxis = fig["layout"]["yaxis"]
    if yaxis["type"] == "log":
        return 0.0
    if "range" in yaxis:
        return yaxis["range"][1] - yaxis["range"][0]
    ys = np.concatenate([animation.decode_array(t["y"]) for t in fig["data"]])
    ys = ys[np.isfinite(ys)]
    return float(ys.max() - ys.min())


@pytest.mark.parametrize("query", [
    {"surface": "saddle", "optimizers": "all", "steps": "800"},
    {"surface": "saddle", "optimizers": "momentum,adam", "steps": "800", "lr_momentum": "0.003"},
    {"surface": "monkey_saddle", "optimizers": "all", "steps": "800"},
    {"surface": "rosenbrock", "optimizers": "sgd,adam", "steps": "100", "lr_sgd": "1"},
])
def test_the_loss_axis_is_never_linear_over_more_than_1e4(query):
    data = player_data(race_app(**query))
    loss = next(c["figure"] for c in data["charts"] if c["kind"] == "loss")
    assert _linear_span(loss) <= race_charts.LINEAR_SPAN


def test_a_loss_that_falls_off_the_picture_is_clipped_with_a_mark():
    values = np.concatenate([np.linspace(1.0, -2.0, 50), -np.logspace(1, 6, 50)])
    fig = race_charts.loss_figure({"momentum": ("Momentum", values, None)}, None, (-2.25, 2.25))
    assert fig["layout"]["yaxis"]["type"] == "linear" and fig["layout"]["yaxis"]["autorange"] is False
    marks = [t for t in fig["data"] if t.get("mode") == "markers"]
    assert len(marks) == 1 and marks[0]["marker"]["symbol"] == "triangle-down"
    assert marks[0]["x"] == [int(np.flatnonzero(values < -2.25 - 0.225)[0])]


@pytest.mark.parametrize("query", [
    {"surface": "saddle", "optimizers": "all", "steps": "800"},
    {"surface": "beale", "optimizers": "all", "steps": "1000"},
    {"surface": "rosenbrock", "optimizers": "sgd,adam,newton", "steps": "100", "lr_sgd": "1"},
])
def test_results_tables_show_no_none_and_at_most_8_significant_digits(query):
    at = race_app(**query)
    assert not at.exception
    table = at.table[0].value
    for column in table.columns:
        cells = [str(v) for v in table[column]]
        assert "None" not in cells and "nan" not in cells, column
        assert any(c != numbers.NONE for c in cells), f"column {column} is empty"
        for cell in cells:
            for match in re.findall(NUMBER, cell):
                assert numbers.significant_digits(match) <= 8, (column, cell)


@pytest.mark.parametrize(("value", "text"), [
    (None, "—"), (float("nan"), "—"), (3, "3"), (0.0, "0"), (-987654.3210987, "-987654"),
    (1.2345678901234567e-30, "1.23457e-30"), (2.5, "2.5"), (float("inf"), "∞"),
])
def test_human_numbers(value, text):
    assert numbers.human(value) == text


def test_radford_saddle_classic_races_the_adam_family_from_the_saddle():
    link = classics.classic("radford-saddle").links[0]
    assert {"adam", "adamax", "nadam", "amsgrad"} <= set(link.optimizers)
    surface = surfaces.get(link.surface)
    ends = {}
    for name in link.optimizers:
        hyper = link.hyperparameters_of(name)
        assert _first_step(surface, name, hyper, link.start) < 0.1 * _span(surface), name
        ends[name] = race.outcome(surface, optimizers.run(name, surface, link.start, link.steps, **hyper))
    assert all(e.kind == "escaped" for e in ends.values()), ends
    adaptive = [n for n in link.optimizers if n in ADAPTIVE]
    assert max(ends[n].step for n in adaptive) < min(ends[n].step for n in SLOW)


def test_the_monkey_saddle_classic_sgd_lingers_longest_and_momentum_coasts_through_the_centre():
    link = classics.classic("monkey-saddle").links[0]
    surface = surfaces.get(link.surface)
    ends, paths = {}, {}
    for name in link.optimizers:
        hyper = link.hyperparameters_of(name)
        assert _first_step(surface, name, hyper, link.start) < 0.1 * _span(surface), name
        paths[name] = optimizers.run(name, surface, link.start, link.steps, **hyper)
        ends[name] = race.outcome(surface, paths[name])
    assert all(e.kind == "escaped" for e in ends.values()), ends
    assert ends["sgd"].step == max(e.step for e in ends.values())
    assert max(ends[n].step for n in ADAPTIVE) <= 40
    for name in ("momentum", "nag"):  # through the flat centre into the valley behind it (x -> -inf)
        assert paths[name].points[ends[name].step, 0] < surface.bounds[0][0]
