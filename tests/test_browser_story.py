"""Issue 18 in a real browser: the saddle race shows escapes, "Explain this step" opens the explainer at
the paused step with the race's settings, "Copy link" holds the page's absolute address, one speed
setting, and on a phone a vertical swipe over the contour scrolls the page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser

SADDLE = "/?surface=saddle&optimizers=sgd,momentum,adam&steps=200"
READY = ".dl-race[data-ready='true'] .js-plotly-plot"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.wait_for_selector(READY, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_the_saddle_race_shows_escape_steps_and_no_divergence(page, app_server, console_errors):
    _open(page, app_server + SADDLE)
    page.locator(".dl-race .dl-scrub").focus()
    page.keyboard.press("End")
    notes = page.locator(".dl-race .dl-notes")
    notes.get_by_text("Adam escaped at step").wait_for(timeout=10_000)
    text = notes.inner_text()
    assert "SGD escaped at step" in text and "Momentum escaped at step" in text
    captions = " ".join(page.locator("[data-testid='stCaptionContainer']").all_inner_texts())
    assert "diverged" not in text and "diverged" not in captions and "escaped at step" in captions
    assert not console_errors


def test_explain_this_step_opens_the_explainer_at_the_paused_step_with_the_races_settings(page, app_server):
    _open(page, app_server + SADDLE + "&lr_adam=0.05&beta1_adam=0.8")
    race_url = page.url
    page.locator(".dl-race .dl-scrub").focus()
    for _ in range(17):
        page.keyboard.press("ArrowRight")
    assert page.locator(".dl-race").first.get_attribute("data-step") == "17"
    page.get_by_role("button", name="Explain this step").click()
    link = page.locator(".dl-race .dl-explain-link", has_text="Adam")
    href = link.get_attribute("href")
    assert href.startswith(app_server + "/explain?")
    link.click()
    page.wait_for_url("**/explain?**", timeout=30_000)
    wait_for_app(page)
    page.get_by_text("Step 17 of Adam on Saddle point").first.wait_for(timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    race, landed = _query(race_url), _query(page.url)
    assert landed["optimizer"] == "adam" and landed["t"] == "17"
    for key in ("surface", "steps", "start", "lr_adam", "beta1_adam"):
        assert landed[key] == race[key], key
    assert landed["beta1_adam"] == "0.8" and landed["lr_adam"] == "0.05"
    page.get_by_text("effective learning rate", exact=False).first.wait_for()  # the one-line takeaway


def test_copy_link_holds_the_absolute_url_that_reproduces_the_race(page, app_server, chromium):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _open(page, app_server + SADDLE + "&speed=2")
    page.get_by_role("button", name="Copy link").click()
    field = page.locator(".dl-race .dl-share-url")
    url = field.input_value()
    assert url.startswith(app_server + "/?") and "surface=saddle" in url
    assert _query(url) == _query(page.url)
    assert page.evaluate("navigator.clipboard.readText()") == url
    other = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        fresh = other.new_page()
        _open(fresh, url)
        assert _query(fresh.url) == _query(url)  # the same race: nothing was added or dropped
        assert fresh.locator(".dl-race .dl-counter").inner_text() == "step 0 / 200"
        assert fresh.locator(".dl-race .dl-speed").input_value() == "2"
    finally:
        other.close()


def test_the_players_speed_menu_and_the_sidebars_playback_speed_are_one_setting(page, app_server):
    _open(page, app_server + SADDLE)
    page.locator(".dl-race .dl-speed").select_option("4")
    page.wait_for_url("**speed=4**", timeout=30_000)
    wait_for_app(page)
    slider = page.locator("[data-testid='stSidebar'] [data-testid='stSlider']", has_text="Playback speed")
    assert "4×" in slider.inner_text()


def test_quick_speed_keys_never_fall_back_to_an_older_speed(page, app_server):
    """+, −, − send 2, 1, 0.5 to Python; the reruns for 2 and 1 arrive later and must not reset the menu."""
    _open(page, app_server + SADDLE)
    # Every speed the menu shows, in order (each shown speed goes through a player's setSpeed; wrapped on the
    # class, so a player rebuilt meanwhile is watched too, and its number tells which player showed it).
    page.evaluate("""() => { const first = window.__descentLabPlayers.at(-1);
        const proto = Object.getPrototypeOf(first), set = proto.setSpeed;
        window.__seen = [first.select.value]; window.__who = [];
        proto.setSpeed = function (speed) { set.call(this, speed);
            if (this.select.value !== window.__seen.at(-1)) {
                window.__seen.push(this.select.value);
                window.__who.push(window.__descentLabPlayers.indexOf(this)); }
        }; }""")
    page.locator(".dl-race .dl-scrub").focus()
    page.keyboard.press("+")
    page.wait_for_timeout(100)  # Python is rerunning for 2 while − − are pressed (50–150 ms showed it)
    page.keyboard.press("-")
    page.keyboard.press("-")
    try:
        page.wait_for_url("**speed=0.5**", timeout=30_000)
    except Exception as err:
        state = page.evaluate("""() => [location.href, window.__seen, window.__who,
            window.__descentLabPlayers.map(p => [p.alive, p.speed, p.speedSeq, p.reportedSpeed])]""")
        raise AssertionError(state) from err
    wait_for_app(page)
    page.wait_for_timeout(1_000)
    seen = page.evaluate("() => [window.__seen, window.__who, window.__descentLabPlayers.length]")
    assert seen[0] == ["1", "2", "1", "0.5"], seen
    slider = page.locator("[data-testid='stSidebar'] [data-testid='stSlider']", has_text="Playback speed")
    assert "0.5×" in slider.inner_text()


def _swipe(page, x: float, y: float, dy: float) -> None:
    """A one-finger vertical swipe (Chrome's own touch input, as a phone would send it)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, 11):
        point = {"x": x, "y": y + dy * k / 10}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(600)


def test_on_a_phone_a_vertical_swipe_over_the_contour_scrolls_the_page(chromium, app_server):
    context = chromium.new_context(**PHONE)
    try:
        page = context.new_page()
        _open(page, app_server + "/?surface=saddle&optimizers=sgd,adam&steps=100")
        contour = page.locator(".dl-race .dl-plot-2d")
        contour.scroll_into_view_if_needed()
        box = contour.bounding_box()
        assert box["width"] <= 390
        _swipe(page, box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.7, -300)
        after = contour.bounding_box()
        assert after["y"] < box["y"] - 100, (box, after)  # the page moved under the finger
        # Play and the scrubber stay on the screen next to the chart.
        for selector in (".dl-race .dl-play", ".dl-race .dl-scrub"):
            b = page.locator(selector).bounding_box()
            assert b and 0 <= b["y"] and b["y"] + b["height"] <= 844, selector
        # The Zoom switch gives the drag back to the picture.
        page.get_by_role("button", name="Zoom: off").click()
        assert page.evaluate("document.querySelector('.dl-race .dl-plot-2d')._fullLayout.dragmode") == "pan"
        contour.scroll_into_view_if_needed()
        box = contour.bounding_box()
        _swipe(page, box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.7, -300)
        assert abs(contour.bounding_box()["y"] - box["y"]) < 20  # now the drag pans the map instead
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1400])
def test_the_3d_toolbar_never_covers_its_title(chromium, app_server, width):
    desktop = {"viewport": {"width": 1400, "height": 1000}}
    context = chromium.new_context(**(PHONE if width == 390 else desktop))
    try:
        page = context.new_page()
        _open(page, app_server + "/?surface=goldstein_price&optimizers=adam&steps=50")
        page.wait_for_selector(".dl-race .dl-plot-3d .gtitle", timeout=60_000)
        page.locator(".dl-race .dl-plot-3d").hover()
        title = page.locator(".dl-race .dl-plot-3d .gtitle").bounding_box()
        bar = page.locator(".dl-race .dl-plot-3d .modebar").bounding_box()
        assert title and bar
        overlap_x = min(title["x"] + title["width"], bar["x"] + bar["width"]) - max(title["x"], bar["x"])
        overlap_y = min(title["y"] + title["height"], bar["y"] + bar["height"]) - max(title["y"], bar["y"])
        assert overlap_x <= 0 or overlap_y <= 0, (title, bar)
    finally:
        context.close()
