"""The normal Race page on a classroom projector and on a phone, in Chromium.

On a 1280 × 720 projector and at 1920 × 1080 (sidebar open, default settings, nothing opened) the race
player's contour picture (its plot area) and the Play button are on screen without scrolling, below
Streamlit's header and covered by nothing; at 1920 × 1080 the whole picture, legend included. An opened
settings panel takes the whole row above the player, with the keyboard focus still on it. On a 390 × 844
phone the page does not scroll sideways and no control is cut off at the screen's edge.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import open_race, wait_for_app

pytestmark = pytest.mark.browser

EXAMPLE = "/?surface=beale&optimizers=all&steps=1000"  # the README's example: all twelve optimizers
DEFAULT = "/"  # the Race page as a teacher first opens it: Beale, Radford's six and Adam, 500 steps
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
PANELS = ("Hyperparameters", "Schedules and gradient noise")
OVERLAYS = ("Gradient", "Step", "Look-ahead (NAG)", "Effective step")

# Boxes in viewport pixels: the contour's plot area (plotly's drag rectangle of its xy subplot), the whole
# contour picture (with its title and legend), the Play button, the legend, the header; and how far the page
# scrolled.
GEOMETRY = """() => {
  const box = el => { if (!el) return null; const r = el.getBoundingClientRect();
                      return { x: r.left, y: r.top, right: r.right, bottom: r.bottom }; };
  const play = [...document.querySelectorAll('.dl-race button')].find(b => b.textContent.trim() === 'Play');
  const main = document.querySelector('[data-testid="stMain"]');
  return { area: box(document.querySelector('.dl-race .dl-plot-2d .nsewdrag[data-subplot="xy"]')),
           picture: box(document.querySelector('.dl-race .dl-plot-2d')), play: box(play),
           legend: box(document.querySelector('.dl-race .dl-plot-2d .legend')),
           header: box(document.querySelector('header[data-testid="stHeader"]')),
           scrolled: [window.scrollY, main ? main.scrollTop : 0] };
}"""

# Whether the element at the centre of a box is (inside) the one expected: nothing covers it.
ON_TOP = """([x, y, selector]) => { const hit = document.elementFromPoint(x, y);
  return !!hit && !!hit.closest(selector); }"""


def centre(b: dict) -> tuple[float, float]:
    return (b["x"] + b["right"]) / 2, (b["y"] + b["bottom"]) / 2


@pytest.mark.parametrize("url", [EXAMPLE, DEFAULT], ids=["example", "default"])
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_the_contour_and_play_are_on_a_projector_screen_without_scrolling(chromium, app_server, size, url):
    width, height = size
    context = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = open_race(context, app_server + url)
        assert page.locator("section[data-testid='stSidebar']").is_visible()  # the sidebar is open
        g = page.evaluate(GEOMETRY)
        assert g["scrolled"] == [0, 0]
        top = g["header"]["bottom"]  # Streamlit's header is opaque: nothing under it counts as shown
        for name in ("area", "play"):
            b = g[name]
            assert b is not None, name
            assert b["x"] >= 0 and b["right"] <= width and b["y"] >= top and b["bottom"] <= height, (name, b)
        if (width, height) == (1920, 1080):  # room for the whole picture, legend included
            b = g["picture"]
            assert b["y"] >= top and b["bottom"] <= height, b
        assert page.evaluate(ON_TOP, [*centre(g["area"]), ".dl-plot-2d"])
        assert page.evaluate(ON_TOP, [*centre(g["play"]), "button"])
        assert not page.errors
    finally:
        context.close()


SADDLE = "/?surface=saddle&optimizers=sgd,adam&steps=200"  # the lesson's saddle: Adam escapes at step 16


def test_the_saddle_race_stays_on_screen_and_still_as_adam_escapes(chromium, app_server):
    """The saddle picture is wider than tall: its plot keeps to the top under its title (not centred, which
    put its lower half past 720 px), and the "escaped" note has its line from the start, so the pictures do
    not jump down while they play."""
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = open_race(context, app_server + SADDLE)
        before = page.evaluate(GEOMETRY)
        page.get_by_role("button", name="Play", exact=True).click()
        page.locator(".dl-race .dl-note", has_text="escaped").wait_for(timeout=30_000)
        after = page.evaluate(GEOMETRY)
        assert abs(after["picture"]["y"] - before["picture"]["y"]) < 1, (before["picture"], after["picture"])
        top = after["header"]["bottom"]
        area = after["area"]
        assert area["y"] >= top and area["bottom"] <= 720, area
        assert after["scrolled"] == [0, 0]
        assert not page.errors
    finally:
        context.close()


@pytest.mark.parametrize("url", [DEFAULT, SADDLE], ids=["default", "saddle"])
def test_the_legend_sits_right_under_the_plot(chromium, app_server, url):
    """x and y at one scale leave the plot shorter than Python's 560 px box: the box shrinks to the plot, so
    the legend (which optimizer is which colour) starts on a 1280 × 720 screen, not ~200 px further down."""
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = open_race(context, app_server + url)
        page.wait_for_timeout(500)  # the box is trimmed after the first picture: let it settle
        g = page.evaluate(GEOMETRY)
        area, legend = g["area"], g["legend"]
        assert 0 <= legend["y"] - area["bottom"] < 45, (area, legend)  # only the x axis's ticks between
        assert legend["y"] + 14 <= 720, legend  # its first row (13 px text) is on the projector's screen
        assert g["picture"]["bottom"] - legend["bottom"] < 20, (g["picture"], legend)  # no gap under it
        assert not page.errors
    finally:
        context.close()


def test_an_opened_panel_takes_the_whole_row_and_keeps_the_focus(chromium, app_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = open_race(context, app_server + EXAMPLE)
        row = page.locator(".st-key-dl-race-tools").bounding_box()
        closed = {label: page.locator("summary", has_text=label).bounding_box() for label in PANELS}
        # Closed, the two panels and the Overlays share one row.
        pills = page.get_by_role("button", name="Gradient", exact=True).bounding_box()
        assert abs(closed[PANELS[0]]["y"] - closed[PANELS[1]]["y"]) < 2
        assert closed[PANELS[1]]["x"] > closed[PANELS[0]]["x"] and pills["x"] > closed[PANELS[1]]["x"]
        assert pills["y"] < closed[PANELS[0]]["y"] + closed[PANELS[0]]["height"]
        page.locator("summary", has_text=PANELS[0]).click()
        wait_for_app(page)
        field = page.get_by_label("lr (SGD)", exact=True)
        field.wait_for(timeout=30_000)
        opened = page.locator(".st-key-keep-race-hp_open").bounding_box()  # the panel (keyed by its state)
        assert abs(opened["width"] - row["width"]) < 1, (opened, row)  # as wide as the row, not a third of it
        assert page.evaluate("() => document.activeElement.tagName === 'SUMMARY' && "
                             "document.activeElement.textContent.includes('Hyperparameters')")
        page.keyboard.press("Enter")  # the focus is still there: the keyboard closes it again
        wait_for_app(page)
        field.wait_for(state="detached", timeout=30_000)
        again = page.locator("summary", has_text=PANELS[0]).bounding_box()
        assert abs(again["width"] - closed[PANELS[0]]["width"]) < 1  # back in the one row
        assert not page.errors
    finally:
        context.close()


def test_a_phone_scrolls_no_sideways_and_cuts_no_control_off(chromium, app_server):
    context = chromium.new_context(**PHONE)
    try:
        page = open_race(context, app_server + EXAMPLE)
        width = PHONE["viewport"]["width"]
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth") <= width
        controls = [page.get_by_role("button", name="Present"), page.get_by_role("button", name="Play")]
        controls += [page.locator("summary", has_text=label) for label in PANELS]
        controls += [page.get_by_role("button", name=label, exact=True) for label in OVERLAYS]
        for control in controls:
            b = control.bounding_box()
            assert b is not None and b["x"] >= 0 and b["x"] + b["width"] <= width, (control, b)
            # Inside its own box too: a row that scrolls sideways would clip a control it still lays out.
            x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
            below_the_fold = y > PHONE["viewport"]["height"]  # elementFromPoint sees only the viewport
            assert below_the_fold or page.evaluate(ON_TOP, [x, y, "button, summary"]), control
        assert not page.errors
    finally:
        context.close()
