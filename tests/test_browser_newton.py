"""Newton's presets in a real browser: the Classic figures page opens "Newton walks into the saddle" on the
Race page, where the player draws Newton, saddle-free Newton and Adam; Newton's trail ends on the saddle."""

from __future__ import annotations

import re

import pytest

from lab import classics
from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser


def _trail_ends(page) -> dict[str, tuple[float, float]]:
    """Each optimizer's trail on the contour at the last step: name -> (x, y) of its final point."""
    return page.evaluate("""() => {
        const plot = document.querySelector('.dl-race .js-plotly-plot');
        const out = {};
        for (const t of plot.data) {
            if (t.type === 'scatter' && t.mode === 'lines' && t.legendgroup && t.x && t.x.length > 1) {
                out[t.name] = [t.x[t.x.length - 1], t.y[t.y.length - 1]];
            }
        }
        return out;
    }""")


def test_newton_saddle_preset_opens_the_race_and_newton_stops_on_the_saddle(page, app_server, console_errors):
    page.goto(app_server + "/")  # the root first (see tests/test_browser_atlas.py: a fresh server's pages)
    wait_for_app(page)
    page.goto(app_server + "/classics")
    wait_for_app(page)
    page.get_by_role("heading", name="Newton walks into the saddle").wait_for()
    (link,) = classics.classic("newton-saddle").links
    card = page.locator("[data-testid='stVerticalLayoutBlock'], [data-testid='stVerticalBlock']").filter(
        has=page.get_by_role("heading", name="Newton walks into the saddle")).last
    card.get_by_test_id("stPageLink-NavLink").first.click()
    page.wait_for_url("**surface=saddle**", timeout=60_000)
    wait_for_app(page, timeout=120_000)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=120_000)
    assert "optimizers=" in page.url and "newton" in page.url
    page.locator(".dl-race").first.click(position={"x": 5, "y": 5})  # focus the page, not a text field
    page.keyboard.press("End")  # the player's last frame
    page.wait_for_function("() => Number(document.querySelector('.dl-race').dataset.step) === 200",
                           timeout=10_000)
    ends = _trail_ends(page)
    newton = next(v for k, v in ends.items() if k.startswith("Newton"))
    assert newton == [0.0, 0.0], ends  # onto the saddle at step 1, and there for good
    assert any(k.startswith("Saddle-free Newton") for k in ends), ends
    assert page.locator(EXCEPTION).count() == 0
    # Opening /classics directly, Streamlit's client first probes /classics/_stcore/… for a base path.
    errors = [e for e in console_errors if not re.search(r"/classics/_stcore/(health|host-config)", e)]
    assert errors == [], console_errors
    assert link.steps == 200
