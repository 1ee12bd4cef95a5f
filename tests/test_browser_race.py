"""The Race page in a real browser: the example URL draws, Play animates, the payload stays small."""

from __future__ import annotations

import pytest

import optimizers
from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser

EXAMPLE = "/?surface=beale&optimizers=all&steps=1000"
BYTE_BUDGET = 2_000_000  # the whole page over the websocket, for 10 optimizers × 1000 steps


def _trail_lengths(page) -> list[int]:
    """Points currently drawn in each optimizer's trail on the contour (line traces with a legend group)."""
    return page.evaluate("""() => {
        const plot = document.querySelector('.dl-race .js-plotly-plot');
        if (!plot || !plot.data) return [];
        return plot.data.filter(t => t.type === 'scatter' && t.mode === 'lines' && t.legendgroup)
                        .map(t => (t.x && t.x.length) || 0);
    }""")


def _step(page) -> int:
    return int(page.locator(".dl-race").first.get_attribute("data-step") or 0)


def test_example_url_plays_within_the_byte_budget(page, app_server, console_errors):
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived",
                                          lambda payload: received.append(len(payload))))
    page.goto(app_server + EXAMPLE)
    wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    play = page.get_by_role("button", name="Play")
    assert play.count() == 1
    before = _trail_lengths(page)
    assert len(before) == len(optimizers.available())  # optimizers=all: the ten rules and Newton's two
    play.click()
    page.get_by_role("button", name="Pause").wait_for(timeout=10_000)
    page.wait_for_timeout(1500)
    after = _trail_lengths(page)
    assert sum(after) > sum(before), (before, after)
    assert _step(page) > 0
    assert sum(received) < BYTE_BUDGET, f"{sum(received)} bytes over the websocket"
    assert not console_errors


def test_bad_url_shows_a_warning_not_an_exception(page, app_server, console_errors):
    page.goto(app_server + "/?surface=nope&steps=abc&lr_adam=1e9")
    wait_for_app(page)
    page.wait_for_selector("[data-testid='stAlertContentWarning']", timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
    text = page.locator("[data-testid='stAlertContentWarning']").all_inner_texts()
    assert any("surface" in t for t in text) and any("lr_adam" in t for t in text)
    assert not console_errors


def _overlay_ds(page, cls: str) -> list[str]:
    return page.eval_on_selector_all(f".dl-race .dl-overlays path.{cls}",
                                     "els => els.map(e => e.getAttribute('d'))")


def _start_param(page) -> str:
    return page.evaluate("() => new URLSearchParams(window.location.search).get('start')")


def test_overlay_toggle_draws_arrows_that_move(page, app_server, console_errors):
    page.goto(app_server + "/?surface=beale&optimizers=sgd,momentum,nag&steps=300")
    wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=60_000)
    assert page.locator(".dl-race .dl-overlays").count() == 0
    for label in ("Gradient", "Step", "Look-ahead (NAG)", "Effective step"):
        page.get_by_role("button", name=label, exact=True).click()
        wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .dl-overlays path.dl-ov-step", timeout=60_000)
    assert "overlays=gradient%2Cstep%2Clookahead%2Ceffective" in page.url or \
        "overlays=gradient,step,lookahead,effective" in page.url
    assert len(_overlay_ds(page, "dl-ov-gradient")) == 3
    assert len(_overlay_ds(page, "dl-ov-step")) == 3
    assert len(_overlay_ds(page, "dl-ov-effective")) == 3
    assert len(_overlay_ds(page, "dl-ov-lookahead")) == 1  # NAG only
    before = _overlay_ds(page, "dl-ov-gradient") + _overlay_ds(page, "dl-ov-step")
    assert all(before[:3]), before  # every gradient arrow is drawn at step 0
    assert "scaled" in page.locator(".dl-race .dl-ov-legend").inner_text()
    readout = page.locator(".dl-race .dl-readout").inner_text()
    assert "effective η" in readout
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(1200)
    page.get_by_role("button", name="Pause").click()
    assert _step(page) > 0
    after = _overlay_ds(page, "dl-ov-gradient") + _overlay_ds(page, "dl-ov-step")
    assert after != before
    assert page.locator(".dl-race .dl-readout").inner_text() != readout
    page.screenshot(path="/tmp/dl/overlays.png", full_page=False)
    assert not console_errors


def test_clicking_the_contour_sets_the_start(page, app_server, console_errors):
    page.goto(app_server + "/?surface=beale&optimizers=adam&steps=100")
    wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=60_000)
    assert "Click the contour" in page.locator(".dl-race .dl-toolbar").inner_text()
    assert _start_param(page) == "1,1.5"
    box = page.locator(".dl-race .dl-plot-2d .nsewdrag").first.bounding_box()
    # A drag (a zoom) is not a click: the start stays.
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.5 * box["height"], steps=5)
    page.mouse.up()
    page.wait_for_timeout(800)
    wait_for_app(page)
    assert _start_param(page) == "1,1.5"
    page.dblclick(".dl-race .dl-plot-2d .nsewdrag")  # plotly's reset-axes double click: no new start
    page.wait_for_timeout(800)
    wait_for_app(page)
    assert _start_param(page) == "1,1.5"
    box = page.locator(".dl-race .dl-plot-2d .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
    page.wait_for_function("() => new URLSearchParams(window.location.search).get('start') !== '1,1.5'",
                           timeout=30_000)
    wait_for_app(page)
    clicked = page.locator(".dl-race").first.get_attribute("data-clicked")
    start = _start_param(page)
    x, y = (float(v) for v in start.split(","))
    inputs = page.locator("[data-testid='stSidebar'] [data-testid='stNumberInput'] input")
    assert float(inputs.nth(0).input_value()) == pytest.approx(x, abs=1e-3)
    assert float(inputs.nth(1).input_value()) == pytest.approx(y, abs=1e-3)
    assert x < 0 and y > 0, (start, clicked)  # upper left quarter of Beale's window
    assert page.locator(EXCEPTION).count() == 0
    assert not console_errors


def _cursor_x(page) -> list[float]:
    return page.eval_on_selector_all(".dl-race .dl-cursor", """els => els.map(
        e => e.hidden ? NaN : new DOMMatrix(getComputedStyle(e).transform).m41)""")


def test_first_picture_needs_only_the_cartesian_bundle_and_the_charts_follow_the_clock(
        page, app_server, console_errors):
    page.goto(app_server + "/?surface=himmelblau&optimizers=sgd,adam&steps=400")
    wait_for_app(page)
    page.wait_for_function("() => (window.__descentLabPlayers || []).some(p => p.alive && p.stats.drawn3d)",
                           timeout=90_000)
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name.split('/').pop())")
    plotly_files = [n for n in loaded if n.startswith(("plotly", "PlotlyChart"))]
    # The contour and the loss charts come from plotly's cartesian bundle, the 3-D view from its gl3d
    # bundle, fetched afterwards; Streamlit's own 4.7 MB plotly chunk is never needed on this page.
    assert plotly_files == ["plotly-cartesian.min.js", "plotly-gl3d.min.js"], plotly_files
    stats = page.evaluate("() => window.__descentLabPlayers.find(p => p.alive).stats")
    assert stats["drawn2d"] < stats["drawn3d"]
    # The partial bundles do not stay in window.Plotly, where Streamlit or a later player would take
    # them for the whole plotly.js.
    assert page.evaluate("() => typeof window.Plotly") == "undefined"
    charts = page.locator(".dl-race .dl-chart.js-plotly-plot")
    assert charts.count() == 2
    assert {charts.nth(i).get_attribute("data-chart") for i in range(2)} == {"loss", "distance"}
    assert page.eval_on_selector_all(".dl-race .dl-chart", "els => els.map(e => e.data.length)") == [2, 2]
    start = _cursor_x(page)
    assert len(start) == 2 and all(x > 0 for x in start), start
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Pause").click()
    assert _step(page) > 0
    moved = _cursor_x(page)
    assert all(b > a for a, b in zip(start, moved, strict=True)), (start, moved)
    assert page.locator(EXCEPTION).count() == 0
    assert not console_errors


def _visible_3d(page) -> dict:
    return page.evaluate("""() => {
        const gd = document.querySelector('.dl-race .dl-plot-3d.js-plotly-plot');
        const trails = gd.data.filter(t => t.uid && t.uid.startsWith('dlt3'));
        return Object.fromEntries(trails.map(t => [t.name, t.visible]));
    }""")


def test_legend_choices_reach_the_3d_view_also_while_its_bundle_loads(page, app_server, console_errors):
    held = []
    page.route("**/plotly-gl3d.min.js", lambda route: held.append(route))  # held until the legend is used
    page.goto(app_server + "/?surface=himmelblau&optimizers=sgd,adam&steps=200")
    wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .dl-plot-2d .legend .traces", timeout=60_000)
    page.locator(".dl-race .dl-plot-2d .legend .traces", has_text="SGD").first.click()
    page.wait_for_timeout(300)
    assert held, "the 3-D bundle was not requested"
    held[0].continue_()
    page.wait_for_function("() => (window.__descentLabPlayers || []).some(p => p.alive && p.stats.drawn3d)",
                           timeout=90_000)
    assert _visible_3d(page) == {"SGD": False, "Adam": True}
    page.locator(".dl-race .dl-plot-2d .legend .traces", has_text="SGD").first.click()  # shown again
    page.wait_for_function("""() => document.querySelector('.dl-race .dl-plot-3d.js-plotly-plot').data
        .some(t => t.uid === 'dlt30' && t.visible === true)""", timeout=10_000)
    assert page.locator(EXCEPTION).count() == 0
    assert not console_errors


def test_the_closed_panels_open_with_their_fields_and_the_race_keeps_its_values(page, app_server,
                                                                                 console_errors):
    """Hyperparameters, "Schedules and gradient noise" and "GIF for slides" draw their fields only while
    open (the server skips them on every other run): a click opens each with its fields, a value typed
    there reaches the URL, and closing the panel keeps it."""
    page.goto(app_server + "/?surface=beale&optimizers=sgd,adam&steps=50&lr_adam=0.02")
    wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=60_000)
    main = page.locator("[data-testid='stMain']")  # the panels sit above the race, not in the sidebar
    assert main.locator('input[aria-label="lr (SGD)"]').count() == 0  # closed: not drawn
    main.get_by_text("Hyperparameters", exact=True).click()
    field = main.locator('input[aria-label="lr (SGD)"]')
    field.wait_for(timeout=30_000)
    field.fill("0.003")
    field.press("Enter")
    page.wait_for_function("() => location.search.includes('lr_sgd=0.003')", timeout=30_000)
    assert "lr_adam=0.02" in page.url
    main.get_by_text("Schedules and gradient noise", exact=True).click()
    main.locator('input[aria-label="Gradient noise η"]').wait_for(timeout=30_000)
    main.get_by_text("Hyperparameters", exact=True).click()  # closed again: the value stays
    page.wait_for_function("() => !document.querySelector('input[aria-label=\"lr (SGD)\"]')", timeout=30_000)
    wait_for_app(page)
    assert "lr_sgd=0.003" in page.url
    page.get_by_role("button", name="GIF for slides").click()
    page.get_by_role("button", name="Make the GIF").wait_for(timeout=30_000)
    popover = page.locator("[data-testid='stPopoverBody']")
    popover.get_by_text("Large type").wait_for(timeout=30_000)  # the picture's options are drawn too
    assert popover.locator('input[aria-label="Title"]').count() + popover.get_by_text("Title").count() >= 1
    assert page.locator(EXCEPTION).count() == 0
    assert not console_errors
