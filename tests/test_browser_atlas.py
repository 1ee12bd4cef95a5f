"""The Atlas page in a real browser: basin maps draw, hover explains a cell, a click opens its run on the
Race page; the sensitivity map draws; no exceptions and no console errors."""

from __future__ import annotations

import re

import pytest

from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser

BASINS = "/atlas?surface=himmelblau&grid=32&steps=120&optimizers=sgd,adam"
SENSITIVITY = "/atlas?surface=himmelblau&view=sensitivity&sens=nag&param=momentum&steps=80&optimizers=sgd"
# Opening a page below the root, Streamlit's frontend first probes <page>/_stcore/health and
# <page>/_stcore/host-config for a base path (404) and then uses the root: not an error of the app.
BASE_PATH_PROBE = re.compile(r"/atlas/_stcore/(health|host-config)")


def _errors(console_errors: list[str]) -> list[str]:
    return [e for e in console_errors if not BASE_PATH_PROBE.search(e)]


def _open(page, app_server: str, path: str) -> None:
    # The root first: until some session has run app.py (and its st.navigation), a fresh server serves
    # pages/*.py as Streamlit's old pages-directory app (see the report on pages/ and st.navigation).
    page.goto(app_server + "/")
    wait_for_app(page)
    page.goto(app_server + path)
    wait_for_app(page, timeout=120_000)
    page.wait_for_selector(".js-plotly-plot .heatmaplayer image", state="attached", timeout=120_000)


def _trace_types(page) -> list[str]:
    return page.evaluate("""() => {
        const plot = document.querySelector('.js-plotly-plot');
        return plot && plot.data ? plot.data.map(t => t.type) : [];
    }""")


def test_basin_maps_draw_hover_and_click_to_the_race_page(page, app_server, console_errors):
    _open(page, app_server, BASINS)
    assert page.locator(EXCEPTION).count() == 0
    types = _trace_types(page)
    assert types.count("heatmap") == 2, types
    assert "scattergl" not in types, types  # the map component reports clicks on cells itself
    assert page.locator(".js-plotly-plot .heatmaplayer image").count() == 2
    assert page.get_by_role("figure", name=re.compile(r"Basin maps of SGD, Adam")).count() == 1

    # Hover over the middle of the second panel (Adam): the tooltip names the start and its outcome.
    drag = page.locator(".js-plotly-plot .nsewdrag").nth(1)
    box = drag.bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.35
    page.mouse.move(x, y)
    page.wait_for_selector(".js-plotly-plot .hoverlayer .hovertext", timeout=10_000)
    tip = page.locator(".js-plotly-plot .hoverlayer .hovertext").first.text_content()
    assert "Adam" in tip and "start (" in tip and ("reaches the" in tip or "not within" in tip), tip

    page.mouse.click(x, y)
    link = page.get_by_test_id("stPageLink-NavLink").filter(has_text="Open this run on the Race page")
    link.wait_for(timeout=60_000)
    wait_for_app(page)
    code = page.locator("code", has_text="/?surface=himmelblau&optimizers=adam").first.inner_text()
    assert "start=" in code and "lr_adam=" in code and "steps=120" in code, code
    # The clicked start is ringed on its panel, at the start the link replays.
    ring = page.evaluate("""() => { const d = document.querySelector('.js-plotly-plot').data;
        const t = d.find(t => t.name === 'chosen start'); return t ? [t.x[0], t.y[0], t.xaxis] : null; }""")
    assert ring is not None and ring[2] == "x2", ring
    assert f"start={ring[0]:.6g}".rstrip("0") in code or f"{ring[0]:g}" in code, (ring, code)

    link.click()
    page.wait_for_url(re.compile(r"optimizers=adam"), timeout=60_000)
    wait_for_app(page)
    assert "/atlas" not in page.url
    assert page.locator(EXCEPTION).count() == 0
    assert not _errors(console_errors), console_errors


def test_sensitivity_map_draws_and_explains_a_click(page, app_server, console_errors):
    _open(page, app_server, SENSITIVITY)
    assert page.locator(EXCEPTION).count() == 0
    types = _trace_types(page)
    assert "heatmap" in types, types
    axis = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.xaxis.type")
    assert axis == "log"
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.5)
    page.get_by_test_id("stPageLink-NavLink").filter(has_text="Replay this run on the Race page").wait_for(
        timeout=60_000)
    assert page.get_by_text(re.compile(r"NAG with η = ")).count() >= 1
    assert page.locator(EXCEPTION).count() == 0
    assert not _errors(console_errors), console_errors


LIVE = "/atlas?surface=himmelblau&grid=128&steps=500&optimizers=sgd,momentum,rmsprop,adam"


def _images(page) -> list[str]:
    """The four heatmaps' pixels (plotly draws each as an <image> with a data URL)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot .heatmaplayer image'))
        .map(img => img.getAttribute('href') || img.getAttribute('xlink:href') || '')""")


def test_dragging_the_learning_rate_redraws_the_basin_maps(page, app_server, console_errors):
    """The live Atlas: a step of the learning-rate slider gives new 128 × 128 maps for four optimizers;
    the time from the key press to the redrawn maps is printed (README: "Atlas redraw")."""
    import time

    _open(page, app_server, LIVE)
    before = _images(page)
    assert len(before) == 4
    thumb = page.get_by_test_id("stSlider").filter(has_text="Learning rates ×").get_by_role("slider")
    timings = []
    for press in ("ArrowRight", "ArrowRight", "ArrowLeft"):
        seen = _images(page)
        thumb.focus()
        t0 = time.perf_counter()
        page.keyboard.press(press)
        page.wait_for_function("""old => {
            const now = Array.from(document.querySelectorAll('.js-plotly-plot .heatmaplayer image'))
                .map(img => img.getAttribute('href') || img.getAttribute('xlink:href') || '');
            return now.length === 4 && now.some((h, k) => h !== old[k]);
        }""", arg=seen, timeout=60_000)
        timings.append(time.perf_counter() - t0)
        wait_for_app(page)
    assert "lr_scale=1.33" in page.url  # right, right, left: one step above 1
    assert _images(page) != before
    print("\nAtlas redraw after a learning-rate step (128x128x500 steps x 4 optimizers): "
          + ", ".join(f"{t:.2f} s" for t in timings))
    assert page.locator(EXCEPTION).count() == 0
    assert not _errors(console_errors), console_errors
