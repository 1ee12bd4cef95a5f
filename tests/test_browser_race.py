"""The Race page in a real browser: the example URL draws, Play animates, the payload stays small."""

from __future__ import annotations

import pytest

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
    assert len(before) == 10
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
