"""The overlay arrays the race player draws equal the core's own step records."""

from __future__ import annotations

import numpy as np
import pytest

import optimizers
import surfaces
from lab import overlays, presets, urlstate


@pytest.mark.parametrize("name", ["sgd", "momentum", "nag", "adagrad", "adam"])
def test_arrays_equal_the_trace_records(name):
    beale = surfaces.get("beale")
    hyper = presets.surface_presets("beale")[name]
    records = optimizers.trace(name, beale, (1.0, 1.5), 120, **hyper)
    arrays = overlays.overlay_arrays(name, beale, (1.0, 1.5), 120, **hyper)
    assert set(arrays) == set(overlays.KEYS)
    assert optimizers.run(name, beale, (1.0, 1.5), 120, **hyper).diverged_at is None
    assert all(len(a) == len(records) == 120 for a in arrays.values())
    np.testing.assert_array_equal(arrays["px"], [r.lookahead[0] for r in records])
    np.testing.assert_array_equal(arrays["py"], [r.lookahead[1] for r in records])
    np.testing.assert_array_equal(arrays["gx"], [r.gradient[0] for r in records])
    np.testing.assert_array_equal(arrays["gy"], [r.gradient[1] for r in records])
    np.testing.assert_array_equal(arrays["dx"], [r.delta[0] for r in records])
    np.testing.assert_array_equal(arrays["dy"], [r.delta[1] for r in records])


def test_delta_is_the_path_step_and_the_gradient_is_taken_where_measured():
    beale = surfaces.get("beale")
    hyper = presets.surface_presets("beale")["nag"]
    path = optimizers.run("nag", beale, (1.0, 1.5), 80, **hyper)
    assert path.diverged_at is None
    arrays = overlays.overlay_arrays("nag", beale, (1.0, 1.5), 80, **hyper)
    steps = np.diff(path.points, axis=0)
    np.testing.assert_allclose(arrays["dx"], steps[:, 0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(arrays["dy"], steps[:, 1], rtol=1e-12, atol=1e-15)
    # NAG measures at the look-ahead point θ − γv, not at θ (after the first step, where v = 0).
    assert np.array_equal(arrays["px"][0], path.points[0, 0])
    assert not np.allclose(arrays["px"][5:], path.points[5:-1, 0])
    for k in (0, 10, 40):
        g = beale.scalar_gradient(arrays["px"][k], arrays["py"][k])
        assert (arrays["gx"][k], arrays["gy"][k]) == g  # the engine's own numbers, bit for bit
    # Plain SGD measures at θ itself.
    sgd = overlays.overlay_arrays("sgd", beale, (1.0, 1.5), 30)
    np.testing.assert_array_equal(sgd["px"], optimizers.run("sgd", beale, (1.0, 1.5), 30).points[:-1, 0])


def test_lengths_stop_at_divergence():
    rosen = surfaces.get("rosenbrock")
    path = optimizers.run("sgd", rosen, (-1.5, 2.0), 100, lr=1.0)
    assert path.diverged_at is not None
    arrays = overlays.overlay_arrays("sgd", rosen, (-1.5, 2.0), 100, lr=1.0)
    assert all(len(a) == path.diverged_at - 1 for a in arrays.values())


def test_effective_learning_rate_of_sgd_is_the_learning_rate():
    beale = surfaces.get("beale")
    arrays = overlays.overlay_arrays("sgd", beale, (1.0, 1.5), 20, lr=0.003)
    ex, ey = overlays.effective_learning_rates(arrays)
    np.testing.assert_allclose(ex, 0.003, rtol=1e-9)
    np.testing.assert_allclose(ey, 0.003, rtol=1e-9)


def test_gradient_scale_is_one_factor_for_the_race():
    a = {"gx": np.array([3.0, 0.0]), "gy": np.array([4.0, 0.0])}
    b = {"gx": np.array([30.0]), "gy": np.array([40.0])}
    scale = overlays.gradient_scale([a, b], span=10.0)
    norms = np.array([5.0, 50.0])
    assert scale == pytest.approx(overlays.GRADIENT_FRACTION * 10.0 / np.percentile(norms, 90))
    assert overlays.gradient_scale([], 10.0) == 1.0


def test_overlays_url_round_trip():
    assert urlstate.parse_overlays("step, Gradient,step") == ["gradient", "step"]
    assert urlstate.parse_overlays("") == []
    assert urlstate.format_overlays(["effective", "gradient"]) == "gradient,effective"
    with pytest.raises(ValueError, match="unknown overlay"):
        urlstate.parse_overlays("gradient,velocity")


def test_step_scale_magnifies_small_steps_only():
    tiny = {"dx": np.array([0.003, 0.0]), "dy": np.array([0.004, 0.0])}
    assert overlays.step_scale([tiny], span=10.0) == pytest.approx(overlays.STEP_FRACTION * 10.0 / 0.005)
    big = {"dx": np.array([3.0]), "dy": np.array([4.0])}
    assert overlays.step_scale([big], span=10.0) == 1.0
