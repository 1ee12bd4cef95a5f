"""The Data page in a real browser: a mini-batch race plays and each racer's fit on the data scatter moves
with the player's scrubber."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import numpy as np
import pytest

import optimizers
import surfaces
from lab import data as lab_data
from optimizers import data as engine_data
from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser


def _fits(page) -> dict:
    """The scatter's step, each fitted curve's (x, y) as drawn, and the marked batch's points."""
    return page.evaluate("""() => {
        const el = document.querySelector('.dl-data-scatter');
        const xy = (t) => [Array.from(t.x || []), Array.from(t.y || [])];
        return {step: Number(el.dataset.step),
                fits: el.data.filter(t => t.mode === 'lines').map(xy),
                batch: el.data.filter(t => t.mode === 'markers').slice(1).map(xy)};
    }""")


def _player_step(page) -> int:
    return int(page.locator(".dl-race").first.get_attribute("data-step") or 0)


def _open(page, app_server, query: dict) -> None:
    page.goto(f"{app_server}/data?{urlencode(query)}")
    wait_for_app(page, timeout=120_000)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=120_000)
    page.wait_for_selector(".dl-data-scatter[data-ready='true']", timeout=60_000)
    page.wait_for_function("() => document.querySelector('.dl-data-scatter').dataset.step === '0'",
                           timeout=10_000)


def _app_errors(console_errors) -> list[str]:
    # Opening /data directly, Streamlit's client first probes /data/_stcore/… for a base path.
    return [e for e in console_errors if not re.search(r"/data/_stcore/(health|host-config)", e)]


def test_the_fits_follow_the_scrubber_while_a_mini_batch_race_plays(page, app_server, console_errors):
    preset = lab_data.PRESETS[0]  # SGD at B = 1, 32 and the full batch on the iris petals
    _open(page, app_server, preset.query)
    at_start = _fits(page)
    assert len(at_start["fits"]) == 3
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => Number(document.querySelector('.dl-race').dataset.step) > 30",
                           timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    step = _player_step(page)
    page.wait_for_function(f"() => document.querySelector('.dl-data-scatter').dataset.step === '{step}'",
                           timeout=10_000)
    moved = _fits(page)
    assert moved["fits"] != at_start["fits"]
    # The ringed point is the sample SGD, B = 1 took its gradient on at this step (the engine's batch).
    iris = surfaces.get_dataset("iris")
    (sample,) = engine_data.batches(iris.n_samples, 1, step, 0)[step - 1]
    ((bx, by),) = moved["batch"]
    assert np.allclose([bx[0], by[0]], [iris.x[sample], iris.y[sample]], atol=1e-6)
    # The last frame: each drawn line is w·x + b with the racer's final parameters from the engine.
    page.locator(".dl-race").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('.dl-data-scatter').dataset.step === '300'",
                           timeout=10_000)
    final = _fits(page)
    start = tuple(float(v) for v in preset.query["start"].split(","))
    for (xs, ys), batch in zip(final["fits"], (1, 32, None), strict=True):
        w, b = optimizers.run("sgd", iris, start, 300, batch_size=batch, seed=0, lr=0.05).points[-1]
        assert np.allclose(ys, w * np.asarray(xs) + b, atol=1e-4)
    assert page.locator(EXCEPTION).count() == 0
    assert _app_errors(console_errors) == [], console_errors


def test_logistic_regression_draws_sigmoids_that_move(page, app_server, console_errors):
    _open(page, app_server, {"dataset": "breast_cancer", "racers": "sgd:1,adam:32", "steps": "200"})
    page.locator(".dl-race").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('.dl-data-scatter').dataset.step === '200'",
                           timeout=10_000)
    fits = _fits(page)["fits"]
    for _, ys in fits:
        assert 0.0 <= min(ys) < 0.5 < max(ys) <= 1.0  # a sigmoid across the data, not the flat start at θ = 0
    assert page.locator(EXCEPTION).count() == 0
    assert _app_errors(console_errors) == [], console_errors
