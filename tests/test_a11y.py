"""Accessibility in Chromium: axe-core (pinned, ui.assets.AXE_CORE) finds no serious or critical violation
on any page, on a desktop and on a phone; no page scrolls sideways on a phone; every control of the race
player is reachable with Tab and has an accessible name; the scrubber follows a finger.

axe-core comes from the npm registry like the plotly bundles (``make test`` fetches it into tests/assets;
this module fetches it itself when it is missing, and fails when it cannot).
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import wait_for_app
from ui import assets

pytestmark = pytest.mark.browser

PAGES = ["/", "/custom", "/atlas", "/explain", "/moving_averages", "/classics",
         "/?surface=beale&optimizers=all&steps=1000&present=1"]
DESKTOP = {"viewport": {"width": 1400, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
BLOCKING = ("serious", "critical")
PLAYER_CONTROLS = [("button", "Play"), ("slider", "Step"), ("combobox", "Speed"),
                   ("button", "Keyboard shortcuts"), ("button", "Full screen")]


@pytest.fixture(scope="module")
def axe_script() -> str:
    try:
        return assets.fetch_axe().read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        pytest.fail(f"axe-core {assets.AXE_CORE.version} is missing and could not be fetched: {exc}")


@pytest.fixture(scope="module", params=["desktop", "phone"])
def device(request, chromium):
    context = chromium.new_context(**(DESKTOP if request.param == "desktop" else PHONE))
    yield request.param, context
    context.close()


def open_page(context, url: str):
    page = context.new_page()
    page.goto(url)
    wait_for_app(page)
    if page.locator(".dl-race").count():  # a race page: wait until the player has drawn everything
        page.wait_for_function("() => window.__descentLabPlayers && window.__descentLabPlayers.length &&"
                               " window.__descentLabPlayers.at(-1).stats.settled", timeout=60_000)
    page.wait_for_timeout(500)
    return page


def blocking_violations(page, axe_script: str) -> list[str]:
    page.add_script_tag(content=axe_script)
    found = page.evaluate("""async () => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact,
          nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + ": " + n.failureSummary) })); }""")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_axe_violation_and_no_sideways_scroll(device, app_server, axe_script, path):
    kind, context = device
    page = open_page(context, app_server + path)
    try:
        assert page.locator("[data-testid='stException']").count() == 0
        assert blocking_violations(page, axe_script) == [], f"{kind} {path}"
        if kind == "phone":
            widths = page.evaluate("() => { const d = document.documentElement;"
                                   " return [d.scrollWidth, d.clientWidth, document.body.scrollWidth]; }")
            assert widths[0] <= widths[1] and widths[2] <= widths[1], f"{path} scrolls sideways: {widths}"
    finally:
        page.close()


def test_every_player_control_is_reachable_by_tab_and_named(page, app_server):
    page.goto(app_server + "/?surface=beale&optimizers=sgd,adam&steps=200&present=1")
    wait_for_app(page)
    page.wait_for_function("() => window.__descentLabPlayers && "
                           "window.__descentLabPlayers.at(-1).stats.settled", timeout=60_000)
    controls = PLAYER_CONTROLS + [("button", "QR code")]
    for role, name in controls:  # the accessible names
        assert page.get_by_role(role, name=name, exact=True).count() == 1, (role, name)
    wanted = {"dl-play", "dl-scrub", "dl-speed", "dl-help-button", "dl-full-button", "dl-qr-button"}
    reached = set()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # Tab from the top
    for _ in range(60):
        page.keyboard.press("Tab")
        classes = page.evaluate("() => String((document.activeElement || {}).className || '')")
        reached |= {c for c in classes.split() if c in wanted}
        if reached == wanted:
            break
    assert reached == wanted, f"not reached by Tab: {sorted(wanted - reached)}"


def test_the_scrubber_follows_a_finger_on_a_phone(chromium, app_server):
    context = chromium.new_context(**PHONE)
    try:
        page = open_page(context, app_server + "/?surface=beale&optimizers=sgd,adam&steps=200")
        scrub = page.get_by_role("slider", name="Step", exact=True)
        scrub.scroll_into_view_if_needed()
        box = scrub.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
        page.wait_for_function("() => Number(document.querySelector('.dl-race').dataset.step) > 100",
                               timeout=10_000)
        step = int(page.locator(".dl-race").get_attribute("data-step"))
        assert 120 <= step <= 180, step
    finally:
        context.close()


def test_atlas_panels_stack_one_per_row_on_a_phone(chromium, app_server):
    """Basin maps and learning-rate panels: one readable panel per row on a phone, side by side otherwise."""
    def panels(context, tab: str | None) -> list[tuple[int, int]]:
        page = open_page(context, app_server + "/atlas")
        wait_for_app(page, timeout=120_000)  # the phone's width reaches Python: one more run
        if tab:
            page.get_by_role("tab", name=tab).click(timeout=90_000)
            wait_for_app(page, timeout=120_000)
        # The panels are drawn after the run ends (plotly loads first): on a busy machine later than 0.5 s.
        page.wait_for_function("""() => { const gd = document.querySelector('.js-plotly-plot');
            return !!(gd && gd._fullLayout); }""", timeout=90_000)
        page.wait_for_timeout(500)
        found = page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
            return Object.keys(gd._fullLayout).filter(k => /^xaxis\\d*$/.test(k))
              .map(k => [Math.round(gd._fullLayout[k]._length), Math.round(gd._fullLayout[k]._offset)]); }""")
        page.close()
        return found

    for kind, options in (("phone", PHONE), ("desktop", DESKTOP)):
        context = chromium.new_context(**options)
        try:
            for tab in (None, "Learning rates"):
                found = panels(context, tab)
                assert len(found) >= 3, (kind, tab, found)
                lefts = {left for _, left in found}
                if kind == "phone":
                    assert len(lefts) == 1 and min(w for w, _ in found) >= 250, (tab, found)  # one column
                else:
                    assert len(lefts) == len(found), (tab, found)  # side by side
        finally:
            context.close()
