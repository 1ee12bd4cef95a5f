"""The landscape atlas: grid and classification against the core, the process pool's rules, the pictures,
links to the Race page, and the Atlas page through AppTest (bad URLs warn, plotted data equal the core)."""

from __future__ import annotations

import base64
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from figures import atlas as atlas_figures
from lab import atlas, jobs, urlstate
from lab.presets import surface_presets
from tests.app_helpers import component_data, open_container, url_params

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HIMMELBLAU = atlas.catalogue_spec("himmelblau")


# --- grid ---------------------------------------------------------------------------------------------------
def test_grid_cells_tile_the_bounds_row_major():
    bounds = ((-5.0, 5.0), (-2.0, 6.0))
    xs, ys = atlas.grid_axes(bounds, 4)
    np.testing.assert_allclose(xs, [-3.75, -1.25, 1.25, 3.75])
    np.testing.assert_allclose(ys, [-1.0, 1.0, 3.0, 5.0])
    starts = atlas.grid_starts(bounds, 4)
    assert starts.shape == (16, 2)
    assert tuple(starts[1 * 4 + 2]) == (xs[2], ys[1])  # row i = y index, column j = x index
    np.testing.assert_array_equal(atlas.grid_starts(bounds, 4, (1, 3)), starts[4:12])


@pytest.mark.parametrize("size", [0, 1, 257, 3.5, True])
def test_bad_grid_sizes_are_refused(size):
    with pytest.raises(ValueError, match="grid size"):
        atlas.grid_axes(((0, 1), (0, 1)), size)


def test_surface_specs():
    assert atlas.surface_from_spec(HIMMELBLAU) is surfaces.get("himmelblau")
    for bad in [("catalogue",), ("nope", "x"), "himmelblau", ("catalogue", "nope")]:
        with pytest.raises(ValueError):
            atlas.surface_from_spec(bad)


# --- classification against hand-made cases and the core ----------------------------------------------------
def test_classify_hand_made_cases():
    himmelblau = surfaces.get("himmelblau")
    minima = himmelblau.all_minima
    starts = np.array([minima[2], minima[0] + [5e-4, 0.0], [0.0, 0.0], [1e5, 1e5]])
    sw = optimizers.sweep("sgd", himmelblau, starts, 1, lr=1e-9)
    codes = atlas.classify(himmelblau, sw)
    # At a minimum: that minimum's index, arrived at step 0. A start 5e-4 away is within tolerance too.
    assert codes[0] == 2 and codes[1] == 0 and sw.converged_at[0] == 0 and sw.converged_at[1] == 0
    assert codes[2] == atlas.NOT_YET  # one tiny step from the origin gets nowhere
    assert codes[3] == atlas.DIVERGED and sw.diverged_at[3] == 0  # |f| > 1e6 at the start


def test_classify_flat_point_that_is_no_listed_minimum():
    # Himmelblau's local maximum near (-0.270845, -0.923039): the gradient vanishes, no minimum is there.
    himmelblau = surfaces.get("himmelblau")
    top = np.array([-0.270845, -0.923039])
    assert np.hypot(*himmelblau.gradient(top)) < 1e-3
    sw = optimizers.sweep("sgd", himmelblau, [top], 3, lr=1e-6)
    assert atlas.classify(himmelblau, sw)[0] == atlas.FLAT


def _classes_by_definition(surface, sweep, tol=atlas.TOLERANCE) -> list[int]:
    """Each start's class as ``classify`` defines it, one start at a time with Python floats, the gradient
    taken at every final point (``classify`` computes it only where it can matter)."""
    gradients = optimizers.evaluate(surface, sweep.final_points)[:, 1:3].tolist()
    classes = []
    for (x, y), (gx, gy), diverged in zip(sweep.final_points.tolist(), gradients, sweep.diverged_at.tolist(),
                                          strict=True):
        d2 = [(x - mx) * (x - mx) + (y - my) * (y - my) for mx, my in surface.all_minima.tolist()]
        if diverged >= 0:
            classes.append(atlas.DIVERGED)
        elif d2 and min(d2) <= tol * tol:
            classes.append(d2.index(min(d2)))
        elif gx * gx + gy * gy <= tol * tol:
            classes.append(atlas.FLAT)
        else:
            classes.append(atlas.NOT_YET)
    return classes


@pytest.mark.parametrize("surface_name, name, hyper, starts", [
    ("himmelblau", "sgd", {"lr": 1e-6}, [[-0.270845, -0.923039], [3.0, 2.0], [3.0005, 2.0], [0.0, 0.0],
                                         [1e5, 1e5], [-2.805118, 3.131313]]),
    ("himmelblau", "adam", {"lr": 0.1}, 32),  # all four minima, and starts not there yet
    ("rosenbrock", "sgd", {"lr": 0.002}, 24),  # some starts diverge
    ("saddle", "sgd", {"lr": 0.5}, 9),  # no listed minimum: flat points only
])
def test_classify_follows_its_definition(surface_name, name, hyper, starts):
    """Every class (a minimum, FLAT, NOT_YET, DIVERGED) is what its definition says, start by start."""
    surface = surfaces.get(surface_name)
    if isinstance(starts, int):
        starts = atlas.grid_starts(surface.bounds, starts)
    sw = optimizers.sweep(name, surface, starts, 150, **hyper)
    codes = atlas.classify(surface, sw)
    assert codes.tolist() == _classes_by_definition(surface, sw)
    if surface_name == "himmelblau" and name == "sgd":
        assert codes.tolist() == [atlas.FLAT, 0, 0, atlas.NOT_YET, atlas.DIVERGED, 1]


def test_basin_map_equals_the_core_sweep():
    himmelblau = surfaces.get("himmelblau")
    presets = surface_presets("himmelblau")
    maps = atlas.basin_maps(HIMMELBLAU, ["adam", "nag"], presets, 32, 150)
    starts = atlas.grid_starts(himmelblau.bounds, 32)
    for name, m in maps.items():
        sw = optimizers.sweep(name, himmelblau, starts, 150, **presets[name])
        np.testing.assert_array_equal(m.codes.ravel(), atlas.classify(himmelblau, sw))
        np.testing.assert_array_equal(m.converged_at.ravel(), sw.converged_at)
        np.testing.assert_array_equal(m.diverged_at.ravel(), sw.diverged_at)
        assert m.hyperparameters == {**optimizers.defaults(name), **presets[name]}
        assert math.isclose(sum(m.shares().values()), 1.0)


@pytest.mark.parametrize("name", optimizers.available())
def test_basin_cells_match_single_runs(name):
    """A cell's class is where ``optimizers.run`` from that start ends (sweep equals run)."""
    himmelblau = surfaces.get("himmelblau")
    hyper = surface_presets("himmelblau")[name]
    m = atlas.basin_maps(HIMMELBLAU, [name], {name: hyper}, 16, 120)[name]
    for i, j in [(0, 0), (3, 11), (8, 8), (15, 2)]:
        path = optimizers.run(name, himmelblau, m.start(i, j), 120, **hyper)
        final = path.points[-1]
        d = np.hypot(*(himmelblau.all_minima - final).T)
        if path.diverged_at is not None:
            assert m.codes[i, j] == atlas.DIVERGED and m.diverged_at[i, j] == path.diverged_at
        elif d.min() <= atlas.TOLERANCE:
            assert m.codes[i, j] == int(np.argmin(d))
        else:
            assert m.codes[i, j] in (atlas.NOT_YET, atlas.FLAT)
        assert m.converged_at[i, j] == atlas.arrival_step(himmelblau, path.points)


def test_divergence_shows_in_the_map():
    maps = atlas.basin_maps(atlas.catalogue_spec("rosenbrock"), ["sgd"], {"sgd": {"lr": 0.5}}, 8, 50)
    assert (maps["sgd"].codes == atlas.DIVERGED).all()
    assert (maps["sgd"].diverged_at > 0).all()


def test_surface_without_minima_marks_flat_points():
    saddle = surfaces.get("saddle")
    # SGD with lr 0.5 on x² − y² sends x to 0 in one step; starts with y = 0 stay at the saddle point.
    m = atlas.basin_maps(atlas.catalogue_spec("saddle"), ["sgd"], {"sgd": {"lr": 0.5}}, 3, 5)["sgd"]
    assert m.ys[1] == 0.0
    assert (m.codes[1] == atlas.FLAT).all()
    assert (m.codes[[0, 2]] != atlas.FLAT).all()
    assert len(saddle.all_minima) == 0


# --- sensitivity --------------------------------------------------------------------------------------------
def test_sensitivity_cells_equal_the_core_sweep():
    himmelblau = surfaces.get("himmelblau")
    lrs = atlas.lr_values(1e-4, 0.1, 5)
    values = atlas.second_values("momentum", 3)
    start = (-0.3, -0.9)
    smap = atlas.sensitivity_map(HIMMELBLAU, "nag", {"momentum": 0.9}, "momentum", lrs, values, start, 200)
    assert smap.final_values.shape == (3, 5)
    for r, c in [(0, 0), (1, 3), (2, 4)]:
        hyper = smap.cell_hyperparameters(r, c)
        sw = optimizers.sweep("nag", himmelblau, [start], 200, **hyper)
        assert smap.final_values[r, c] == sw.final_values[0]
        assert smap.converged_at[r, c] == sw.converged_at[0]
        assert smap.diverged_at[r, c] == sw.diverged_at[0]


def test_sensitivity_axes_and_values():
    assert atlas.second_axes("sgd") == []
    assert atlas.second_axes("nag") == ["momentum"]
    assert atlas.second_axes("adam") == ["beta1", "beta2", "eps"]
    assert atlas.second_axes("adadelta") == ["rho", "eps"]
    assert atlas.second_values("beta2", 4)[0] == pytest.approx(0.9)
    assert atlas.second_values("beta2", 4)[-1] == pytest.approx(0.9999)
    assert atlas.second_values("momentum", 3).tolist() == [0.0, 0.495, 0.99]
    with pytest.raises(ValueError, match="no hyperparameter"):
        atlas.sensitivity_map(HIMMELBLAU, "sgd", {}, "momentum", [0.1], [0.5], (0, 0), 10)
    smap = atlas.sensitivity_map(HIMMELBLAU, "sgd", {}, None, [1e-3, 1e-2], atlas.second_values(None, 5),
                                   (0.0, 0.0), 20)
    assert smap.final_values.shape == (1, 2)


# --- learning-rate comparison -------------------------------------------------------------------------------
def test_lr_comparison_uses_each_rate_but_adadelta_keeps_its_own():
    saddle = surfaces.get("saddle")
    runs = atlas.lr_comparison(saddle, ["sgd", "adadelta"], (0.001, 0.1), saddle.start, 50,
                               {"adadelta": {"lr": 2.0}})
    assert list(runs) == [0.001, 0.1]
    assert runs[0.1]["sgd"].hyperparameters["lr"] == 0.1
    assert runs[0.001]["adadelta"].hyperparameters["lr"] == 2.0 == runs[0.1]["adadelta"].hyperparameters["lr"]
    expected = optimizers.run("sgd", saddle, saddle.start, 50, lr=0.001)
    np.testing.assert_array_equal(atlas.quantity(saddle, runs[0.001]["sgd"], "x"), expected.points[:, 0])
    with pytest.raises(ValueError):
        atlas.quantity(saddle, expected, "z")


# --- links to the Race page ---------------------------------------------------------------------------------
def test_race_query_round_trips_through_the_race_url_parsers():
    hyper = {"lr": 0.0123456789, "momentum": 0.5}
    query = atlas.race_query("himmelblau", "nag", (1.0 / 3.0, -2.5), 500, hyper)
    assert query == {"surface": "himmelblau", "optimizers": "nag", "steps": "500",
                     "start": urlstate.format_point((1.0 / 3.0, -2.5)), "lr_nag": "0.0123456789",
                     "momentum_nag": "0.5"}
    assert urlstate.parse_point(query["start"]) == (1.0 / 3.0, -2.5)
    assert urlstate.parse_hyperparameter("nag", "lr", query["lr_nag"]) == hyper["lr"]
    # Defaults other than the learning rate are left out.
    assert "beta2_adam" not in atlas.race_query("beale", "adam", (0, 0), 10, {"lr": 0.01, "beta2": 0.999})
    url = atlas.race_url(query)
    assert url.startswith("/?surface=himmelblau&optimizers=nag&steps=500&start=")


def test_race_page_replays_the_linked_run():
    query = atlas.race_query("himmelblau", "adam", (-2.109375, 1.015625), 300, {"lr": 0.01, "beta1": 0.8})
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.warning
    assert at.session_state["keep.race.optimizers"] == ["adam"]
    assert at.session_state["keep.race.hp.adam.beta1"] == 0.8
    start = (at.session_state["keep.race.start.x"], at.session_state["keep.race.start.y"])
    assert start == (-2.109375, 1.015625)


# --- pictures -----------------------------------------------------------------------------------------------
def test_basin_payload_carries_the_classes_steps_and_panels():
    himmelblau = surfaces.get("himmelblau")
    presets = surface_presets("himmelblau")
    maps = atlas.basin_maps(HIMMELBLAU, ["sgd", "adam"], presets, 128, 60)
    payload = atlas_figures.basin_payload(himmelblau, maps)
    json.dumps(payload)  # plain data, no plotly objects
    traces = payload["figure"]["data"]
    assert [t["type"] for t in traces].count("heatmap") == 2
    assert "scattergl" not in {t["type"] for t in traces}  # no WebGL layer for clicks any more
    for panel, (name, m) in zip(payload["panels"], maps.items(), strict=True):
        heat = traces[panel["trace"]]
        assert panel["optimizer"] == name == heat["meta"]["optimizer"] and heat["meta"]["grid"] == 128
        assert heat["z"]["shape"] == "128, 128"
        z = np.frombuffer(base64.b64decode(heat["z"]["bdata"]), dtype=np.int8).reshape(128, 128)
        np.testing.assert_array_equal(z, atlas_figures.class_index(himmelblau, m.codes))
        steps = np.frombuffer(base64.b64decode(panel["steps_at"]["bdata"]),
                              dtype=np.dtype(panel["steps_at"]["dtype"]).newbyteorder("<"))
        expected = np.where(m.codes == atlas.DIVERGED, m.diverged_at, m.converged_at).ravel()
        np.testing.assert_array_equal(steps, expected)
        xs = np.frombuffer(base64.b64decode(heat["x"]["bdata"]), dtype="<f8")
        np.testing.assert_array_equal(xs, m.xs)  # a click's (i, j) is an exact start of the grid
    layout = payload["figure"]["layout"]
    assert layout["xaxis2"]["matches"] == "x" and layout["yaxis2"]["scaleanchor"] == "x"
    assert [a["text"] for a in layout["annotations"]] == ["SGD", "Adam"]
    assert len([c for c in payload["classes"] if c["kind"] == "minimum"]) == len(himmelblau.all_minima)
    # Two 128 x 128 maps in well under the ~350 kB the clickable-point figure took.
    assert len(json.dumps(payload)) < 200_000
    i, j = divmod(5 * 128 + 7, 128)
    assert atlas_figures.outcome_text(himmelblau, maps["adam"], i, j).endswith(".")


def test_basin_payload_on_a_phone_stacks_the_panels():
    himmelblau = surfaces.get("himmelblau")
    maps = atlas.basin_maps(HIMMELBLAU, ["sgd", "adam", "rmsprop"], surface_presets("himmelblau"), 32, 20)
    layout = atlas_figures.basin_payload(himmelblau, maps, columns=1)["figure"]["layout"]
    domains = [layout[k]["domain"] for k in ("yaxis", "yaxis2", "yaxis3")]
    assert all(layout[k]["domain"] == [0.0, 1.0] for k in ("xaxis", "xaxis2", "xaxis3"))
    assert domains[0][0] > domains[1][1] > domains[1][0] > domains[2][1]  # top to bottom, no overlap


def test_sensitivity_and_comparison_figures():
    himmelblau = surfaces.get("himmelblau")
    smap = atlas.sensitivity_map(HIMMELBLAU, "adam", {}, "beta1", atlas.lr_values(1e-4, 10.0, 6),
                                   atlas.second_values("beta1", 3), (-0.3, -0.9), 100)
    for metric in ("loss", "steps"):
        fig = atlas_figures.sensitivity_figure(smap, metric, 0.0)
        assert fig.layout.xaxis.type == "log"
        assert len(fig.data[0].x) == 7  # cell edges
        click = next(k for k, t in enumerate(fig.data) if t.meta)
        point = {"curve_number": click, "point_index": 8}
        assert atlas_figures.clicked_sensitivity_cell(fig, point) == (1, 2)
    assert "η =" in atlas_figures.sensitivity_text(smap, 1, 2)
    runs = atlas.lr_comparison(himmelblau, ["sgd", "adam"], (0.001, 0.01, 0.1), (-0.3, -0.9), 50, {})
    fig = atlas_figures.lr_comparison_figure(himmelblau, runs, "loss")
    assert [a.text for a in fig.layout.annotations] == ["η = 0.001", "η = 0.01", "η = 0.1"]
    assert len([t for t in fig.data if t.mode == "lines"]) == 6


# --- the process pool ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool():
    p = jobs.Pool(workers=2, max_jobs=2)
    yield p
    p.shutdown()


def test_pool_is_bounded_and_one_job_per_visitor(pool):
    a = pool.submit("a", [(time.sleep, (0.4,))] * 4)
    b = pool.submit("b", [(time.sleep, (0.4,))] * 4)
    with pytest.raises(jobs.Busy, match="busy"):
        pool.submit("c", [(time.sleep, (0.01,))])
    a2 = pool.submit("a", [(time.sleep, (0.01,))])  # the visitor's new job replaces the old one
    assert a.cancelled and a.finished and not a2.cancelled
    with pytest.raises(RuntimeError, match="cancelled"):
        a.results()
    assert a2.wait(10) and a2.results() == [None]
    b.cancel()
    assert pool.active_jobs == 0


def test_failed_task_raises_job_failed(pool):
    with pytest.raises(jobs.JobFailed) as info:
        jobs.run_tasks("visitor", [(math.sqrt, (4.0,)), (math.sqrt, (-1.0,))], pool=pool)
    assert isinstance(info.value.__cause__, ValueError)
    assert pool.active_jobs == 0


def test_interrupted_caller_cancels_its_job(pool):
    def interrupt(done, total):
        raise KeyboardInterrupt  # what a Streamlit rerun does inside st.progress

    with pytest.raises(KeyboardInterrupt):
        jobs.run_tasks("visitor", [(time.sleep, (0.3,))] * 6, on_progress=interrupt, pool=pool, poll=0.01)
    assert pool.active_jobs == 0


# --- the page through AppTest -------------------------------------------------------------------------------
def atlas_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()  # the Race page first: switching pages needs a run
    at.switch_page("pages/atlas.py")
    at.query_params.clear()
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _decode(array) -> np.ndarray:
    """A plotly array from the chart's JSON: a list, or base64 typed data ({'dtype', 'bdata', 'shape'})."""
    if isinstance(array, dict):
        out = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        if "shape" in array:
            out = out.reshape([int(s) for s in str(array["shape"]).split(",")])
        return out
    return np.asarray(array)


def _spec(at: AppTest, index: int = 0) -> dict:
    charts = at.get("plotly_chart")
    assert len(charts) > index
    return json.loads(charts[index].proto.spec)


def _basins(at: AppTest) -> dict:
    """The figure the basin-map component (``ui.basins``) received."""
    from ui import basins

    return component_data(at, basins.COMPONENT_NAME)["figure"]


def test_basin_maps_on_the_page_equal_the_core():
    at = atlas_app(surface="himmelblau", optimizers="sgd,adam", grid="32", steps="120", lr_adam="0.05")
    assert not at.exception and not at.warning and not at.error
    figure = _basins(at)
    heatmaps = [t for t in figure["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 2
    himmelblau = surfaces.get("himmelblau")
    starts = atlas.grid_starts(himmelblau.bounds, 32)
    presets = surface_presets("himmelblau")
    for trace, (name, hyper) in zip(heatmaps, [("sgd", presets["sgd"]), ("adam", {"lr": 0.05})], strict=True):
        sw = optimizers.sweep(name, himmelblau, starts, 120, **hyper)
        expected = atlas_figures.class_index(himmelblau, atlas.classify(himmelblau, sw).reshape(32, 32))
        np.testing.assert_array_equal(_decode(trace["z"]).reshape(32, 32), expected)
    url = url_params(at)
    assert url["surface"] == "himmelblau" and url["grid"] == "32" and url["steps"] == "120"
    assert url["optimizers"] == "sgd,adam" and float(url["lr_adam"]) == 0.05
    assert "view" not in url  # the default view
    assert at.dataframe  # the shares table


@pytest.mark.parametrize(("key", "value"), [
    ("surface", "nope"), ("grid", "100"), ("grid", "abc"), ("steps", "0"), ("steps", "99999"),
    ("optimizers", "sgd,lbfgs"), ("start", "1"), ("lr_adam", "-1"), ("momentum_nag", "1.5"), ("view", "vr"),
    ("metric", "speed"), ("lrs", "0.1,0.2"), ("sens", "lbfgs"), ("param", "zeta"), ("quantity", "z"),
    ("mystery", "1"), ("expr", "__import__('os')"), ("bounds", "1,0,0,1"), ("lr_scale", "1e9"),
])
def test_bad_query_parameter_warns_and_falls_back(key, value):
    at = atlas_app(**{"grid": "32", "steps": "50", "optimizers": "sgd", key: value})
    assert not at.exception
    messages = [w.value for w in at.warning]
    assert any(f"`{key}`" in m for m in messages), messages
    assert at.session_state["keep.atlas.surface"] in surfaces.available()
    assert at.session_state["keep.atlas.grid"] in atlas.GRID_SIZES


def test_sensitivity_view_from_the_url():
    at = atlas_app(surface="himmelblau", view="sensitivity", sens="nag", param="momentum", steps="60",
                   metric="steps", optimizers="sgd")
    assert not at.exception and not at.warning
    spec = _spec(at)
    assert spec["layout"]["xaxis"]["type"] == "log"
    url = url_params(at)
    assert url["view"] == "sensitivity" and url["sens"] == "nag" and url["param"] == "momentum"
    assert url["metric"] == "steps" and "lr_nag" in url


def test_learning_rate_view_from_the_url():
    at = atlas_app(surface="saddle", view="rates", lrs="0.001,0.01,0.1", quantity="x", steps="80",
                   optimizers="sgd,momentum,adadelta")
    assert not at.exception and not at.warning
    spec = _spec(at)
    assert [a["text"] for a in spec["layout"]["annotations"]] == ["η = 0.001", "η = 0.01", "η = 0.1"]
    lines = [t for t in spec["data"] if t.get("mode") == "lines"]
    assert len(lines) == 9
    saddle = surfaces.get("saddle")
    expected = optimizers.run("momentum", saddle, saddle.start, 80, lr=0.01)
    momentum_at_001 = [t for t in lines if t["name"] == "Momentum"][1]
    np.testing.assert_array_equal(_decode(momentum_at_001["y"]), expected.points[:, 0])
    assert url_params(at)["lrs"] == "0.001,0.01,0.1"


def test_widget_changes_rewrite_the_url():
    at = atlas_app(surface="himmelblau", optimizers="adam", grid="32", steps="50")
    at.select_slider(key="keep.atlas.grid").set_value(64).run()
    assert not at.exception
    assert url_params(at)["grid"] == "64"
    at.selectbox(key="keep.atlas.surface").set_value("rosenbrock").run()
    assert not at.exception
    url = url_params(at)
    assert url["surface"] == "rosenbrock"
    assert float(url["lr_adam"]) == surface_presets("rosenbrock")["adam"]["lr"]


def test_custom_formula_from_the_url():
    at = atlas_app(expr="(x**2 - 1)**2 + y**2", bounds="-2,2,-1.5,1.5", optimizers="sgd", grid="32",
                   steps="60")
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    heatmaps = [t for t in _basins(at)["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 1
    xs = _decode(heatmaps[0]["x"])
    assert xs[0] == -2 + 4 / 64 and xs[-1] == 2 - 4 / 64  # the window from the URL
    url = url_params(at)
    assert url["expr"] == "(x**2 - 1)**2 + y**2" and url["bounds"] == "-2,2,-1.5,1.5"
    assert "surface" not in url


def test_custom_query_for_the_custom_page():
    query = atlas.custom_query("x^2 + y^2", ((-2.0, 2.0), (-1.0, 3.0)), "adam", (0.5, 1.0), 300, {"lr": 0.1})
    assert query == {"expr": "x^2 + y^2", "bounds": "-2,2,-1,3", "optimizers": "adam", "steps": "300",
                     "start": "0.5,1", "lr_adam": "0.1"}
    assert atlas.race_url(query, "/custom").startswith("/custom?expr=x%5E2+%2B+y%5E2&bounds=-2,2,-1,3")


def test_the_atlas_never_answers_busy(monkeypatch):
    """Busy is not no: the maps are computed in this process by the compiled engine, so even with the
    worker pool refusing every job the visitor gets the maps they asked for."""
    def busy(*args, **kwargs):
        raise jobs.Busy()

    monkeypatch.setattr(jobs, "run_tasks", busy)
    at = atlas_app(surface="booth", optimizers="sgd", grid="32", steps="33")
    assert not at.exception and not at.warning and not at.error
    assert [t["type"] for t in _basins(at)["data"]].count("heatmap") == 1


def test_the_learning_rate_slider_scales_every_shown_optimizer():
    """The live slider (URL lr_scale): the maps are the core's sweeps at the scaled learning rates."""
    at = atlas_app(surface="himmelblau", optimizers="sgd,adam", grid="32", steps="120", lr_adam="0.05",
                   lr_scale="2.37")
    assert not at.exception and not at.warning and not at.error
    himmelblau = surfaces.get("himmelblau")
    starts = atlas.grid_starts(himmelblau.bounds, 32)
    presets = surface_presets("himmelblau")
    heatmaps = [t for t in _basins(at)["data"] if t["type"] == "heatmap"]
    for trace, (name, lr) in zip(heatmaps, [("sgd", presets["sgd"]["lr"]), ("adam", 0.05)], strict=True):
        sw = optimizers.sweep(name, himmelblau, starts, 120, lr=lr * 2.37)
        expected = atlas_figures.class_index(himmelblau, atlas.classify(himmelblau, sw).reshape(32, 32))
        np.testing.assert_array_equal(_decode(trace["z"]).reshape(32, 32), expected)
    assert url_params(at)["lr_scale"] == "2.37"
    at.select_slider(key="keep.atlas.lr_scale").set_value(1.0).run()
    assert "lr_scale" not in url_params(at)  # the default is not written


def test_the_atlas_has_the_race_pages_controls():
    """The optimizer picker and the hyperparameter panel are the Race page's (``ui.controls``): one
    optimizer's inputs at a time, every value in the URL, an "All" button."""
    at = atlas_app(surface="himmelblau", optimizers="sgd,adam", grid="32", steps="50")
    assert not at.exception and not at.warning
    open_container(at, "keep.atlas.hp_open")
    shown = {n.key for n in at.number_input if n.key.startswith("keep.atlas.hp.")}
    assert shown == {"keep.atlas.hp.sgd.lr"}
    at.segmented_control(key="keep.atlas.hp_focus").set_value("adam").run()
    at.number_input(key="keep.atlas.hp.adam.beta1").set_value(0.8).run()
    assert not at.exception
    assert url_params(at)["beta1_adam"] == "0.8"
    assert at.session_state["keep.atlas.hp.sgd.lr"] == surface_presets("himmelblau")["sgd"]["lr"]
    at.button(key="keep.atlas.btn_all").click().run()
    assert not at.exception
    assert url_params(at)["optimizers"] == "all"
    assert [t["type"] for t in _basins(at)["data"]].count("heatmap") == len(optimizers.available())
