"""The loss and distance charts: plain plotly.js figure dicts with the core's exact values."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from figures import background, race_charts
from lab.race import distance_to_minimum
from ui.animation import decode_array


def _series(surface, names, steps, **hyper):
    runs = {n: optimizers.run(n, surface, surface.start, steps, **hyper.get(n, {})) for n in names}
    return runs, {n: (optimizers.get(n).title, p.values, p.diverged_at) for n, p in runs.items()}


def _lines(fig) -> dict[str, dict]:
    return {t["name"]: t for t in fig["data"] if t["mode"] == "lines"}


@pytest.mark.parametrize("name", surfaces.available())
def test_every_surface_gives_valid_json_figures_with_exact_values(name):
    surface = surfaces.get(name)
    runs, series = _series(surface, ["sgd", "adam"], 60)
    fmin = float(surface.minimum_values.min()) if len(surface.minima) else None
    loss = race_charts.loss_figure(series, fmin)
    json.dumps(loss, allow_nan=False)  # what Streamlit sends is strict JSON
    go.Figure(loss)  # plotly.py's own validation accepts it: a well-formed plotly figure
    log = loss["layout"]["yaxis"]["type"] == "log"
    for slug, path in runs.items():
        trace = _lines(loss)[optimizers.get(slug).title]
        end = len(path.values) if path.diverged_at is None else max(path.diverged_at, 1)
        expected = path.values[:end] - (fmin if log and fmin is not None else 0.0)
        np.testing.assert_array_equal(decode_array(trace["y"]), expected)
        np.testing.assert_array_equal(decode_array(trace["x"]), np.arange(end))
    distances = {n: (optimizers.get(n).title, d, p.diverged_at) for n, p in runs.items()
                 if (d := distance_to_minimum(surface, p.points)) is not None}
    if distances:
        dist = race_charts.distance_figure(distances)
        json.dumps(dist, allow_nan=False)
        go.Figure(dist)
        assert dist["layout"]["yaxis"]["type"] == "log"


def test_the_template_covers_every_drawn_trace_and_axis_and_nothing_else():
    """The charts carry plotly_white cut to what they draw: each trace type they use and the 2-D axes keep
    their exact plotly_white look; the colour scales and scenes of other trace types stay out (they
    travelled with every race run)."""
    import plotly.io as pio

    surface = surfaces.get("beale")
    runs, series = _series(surface, ["sgd", "adam"], 40, sgd={"lr": 1.0})
    whole = pio.templates["plotly_white"].to_plotly_json()
    fig = race_charts.loss_figure(series, 0.0)
    template = fig["layout"]["template"]
    assert {t["type"] for t in fig["data"]} == {"scatter"}
    assert template["data"]["scatter"] == whole["data"]["scatter"]
    for key in ("xaxis", "yaxis", "font", "plot_bgcolor", "paper_bgcolor", "colorway"):
        assert template["layout"][key] == whole["layout"][key]
    assert "colorscale" not in template["layout"] and "scene" not in template["layout"]
    assert len(json.dumps(template)) < 1200  # the whole template: 7.2 kB


def test_a_diverged_run_is_cut_and_marked():
    surface = surfaces.get("rosenbrock")
    runs, series = _series(surface, ["sgd"], 100, sgd={"lr": 1.0})
    path = runs["sgd"]
    assert path.diverged_at is not None
    fig = race_charts.loss_figure(series, 0.0)
    line, mark = fig["data"]
    assert len(decode_array(line["y"])) == max(path.diverged_at, 1)
    assert mark["marker"]["symbol"] == "x" and mark["hovertext"] == f"SGD diverged at step {path.diverged_at}"


def test_non_positive_losses_use_a_linear_axis_of_raw_values():
    values = np.array([1.0, 0.0, -2.0])
    fig = race_charts.loss_figure({"sgd": ("SGD", values, None)}, None)
    assert fig["layout"]["yaxis"]["type"] == "linear" and fig["layout"]["yaxis"]["title"]["text"] == "f"
    np.testing.assert_array_equal(decode_array(fig["data"][0]["y"]), values)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(float("nan"))),
                min_size=1, max_size=40))
def test_typed_arrays_round_trip_any_floats(values):
    encoded = background.typed_array(values)
    decoded = decode_array(encoded)
    np.testing.assert_array_equal(decoded, np.asarray(values, dtype=np.float64))
    json.dumps(encoded, allow_nan=False)
