"""The presenter view in Chromium, at the two projector sizes: both pictures entirely on screen and using
at least half of it, type for a room, the keyboard driving the player, and a QR code that a phone reads
(zbarimg, Debian's zbar-tools, reads a screenshot) as a link that reproduces the race.
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser_helpers import RACE_SETTLED, open_race, wait_for_app

pytestmark = pytest.mark.browser

RACE = "/?surface=beale&optimizers=all&steps=1000"


def step(page) -> int:
    return int(page.locator(".dl-race").get_attribute("data-step"))


def boxes(page) -> dict:
    return page.evaluate("""() => Object.fromEntries(['.dl-plot-2d', '.dl-plot-3d'].map(s => {
        const r = document.querySelector(s).getBoundingClientRect();
        return [s, { x: r.left, y: r.top, right: r.right, bottom: r.bottom, w: r.width, h: r.height }];
      }))""")


@pytest.fixture(scope="module", params=[(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def projector(request, chromium, app_server):
    width, height = request.param
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = open_race(context, app_server + RACE + "&present=1")
    yield width, height, page
    context.close()


def test_both_pictures_are_entirely_visible_and_fill_half_the_screen(projector):
    width, height, page = projector
    found = boxes(page)
    for name, b in found.items():
        assert b["x"] >= 0 and b["y"] >= 0 and b["right"] <= width and b["bottom"] <= height, (name, b)
    assert page.evaluate("() => [window.scrollY, document.documentElement.scrollWidth]") == [0, width]
    area = sum(b["w"] * b["h"] for b in found.values())
    assert area >= 0.5 * width * height, f"{area / (width * height):.0%} of the screen"
    # The sidebar is out of the way and the controls sit in one bar above the player.
    assert page.locator("section[data-testid='stSidebar']").is_hidden()
    bar = page.locator(".st-key-dl-present-bar").bounding_box()
    assert bar["y"] + bar["height"] <= found[".dl-plot-2d"]["y"]


def test_type_and_trails_are_sized_for_a_room(projector):
    _, _, page = projector
    sizes = page.evaluate("""() => {
        const p = window.__descentLabPlayers.at(-1);
        const px = (el) => parseFloat(getComputedStyle(el).fontSize);
        const fl = p.div2d._fullLayout;
        return { heading: px(document.querySelector('.dl-race .dl-title')),
                 plotTitle: fl.title.font.size, legend: fl.legend.font.size,
                 ticks: fl.xaxis.tickfont.size, trail: p.div2d._fullData[p.trail2d[0]].line.width,
                 head: p.div2d._fullData[p.head2d[0]].marker.size,
                 scene: p.div3d._fullLayout.scene.xaxis.tickfont.size,
                 legendText: px(p.div2d.querySelector('.legend .legendtext')) }; }""")
    assert sizes["heading"] >= 28 and sizes["plotTitle"] >= 28, sizes
    assert min(sizes["legend"], sizes["ticks"], sizes["scene"], sizes["legendText"]) >= 18, sizes
    assert sizes["trail"] >= 4 and sizes["head"] >= 16, sizes


def test_keys_play_step_and_hide_an_optimizer(projector):
    _, _, page = projector
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Home")
    assert step(page) == 0
    page.keyboard.press("Space")
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=5_000)
    page.wait_for_function("() => Number(document.querySelector('.dl-race').dataset.step) > 5",
                           timeout=20_000)
    page.keyboard.press("Space")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=5_000)
    paused = step(page)
    page.keyboard.press("ArrowRight")
    assert step(page) == paused + 1
    page.wait_for_timeout(300)
    assert step(page) == paused + 1  # paused: it stays there
    page.keyboard.press("Shift+ArrowRight")
    assert step(page) == paused + 11
    page.keyboard.press("ArrowLeft")
    assert step(page) == paused + 10
    page.keyboard.press("End")
    assert page.locator(".dl-race .dl-counter").inner_text() == "step 1000 / 1000"
    page.keyboard.press("+")
    assert page.get_by_role("combobox", name="Speed").input_value() == "2"
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert page.get_by_role("combobox", name="Speed").input_value() == "0.5"
    # null until the newest player's 3-D view is drawn (its bundle loads after the contour).
    visibility = """() => { const p = window.__descentLabPlayers.at(-1);
        if (!p.div3d || !p.div3d.data || !p.trail3d) return null;
        return [1, 2].map(i => [p.isShown(i), p.div3d.data[p.trail3d[i]].visible]); }"""
    page.wait_for_function(f"() => ({visibility})() !== null", timeout=20_000)
    page.keyboard.press("2")
    page.wait_for_function(f"() => {{ const v = ({visibility})(); return v !== null && v[0][1] === false; }}",
                           timeout=5_000)
    assert page.evaluate(visibility) == [[False, False], [True, True]]  # only the second, in both views
    assert page.evaluate("() => { const p = window.__descentLabPlayers.at(-1);"
                         " return p.div2d.data[p.trail2d[1]].visible; }") == "legendonly"  # as a legend click
    page.keyboard.press("2")
    page.wait_for_function(f"() => {{ const v = ({visibility})(); return v !== null && v[0][1] === true; }}",
                           timeout=5_000)
    page.keyboard.press("?")
    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert help_box.is_visible() and "Shift + ← / →" in help_box.inner_text()
    page.keyboard.press("Escape")
    assert help_box.is_hidden()
    assert not page.errors, page.errors


def test_f_puts_the_player_in_full_screen(projector):
    _, height, page = projector
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === document.querySelector('.dl-race')",
                           timeout=5_000)
    # The label follows the fullscreenchange event, which fires after fullscreenElement is set.
    page.get_by_role("button", name="Exit full screen").wait_for(timeout=5_000)
    assert page.get_by_role("button", name="Exit full screen").count() == 1
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null", timeout=5_000)
    page.get_by_role("button", name="Full screen", exact=True).wait_for(timeout=5_000)
    page.wait_for_timeout(300)
    assert boxes(page)[".dl-plot-2d"]["bottom"] <= height


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg not found (apt-get install zbar-tools)")
def test_the_qr_code_reads_as_a_link_that_reproduces_the_race(projector, chromium, tmp_path):
    width, height, page = projector
    page.get_by_role("button", name="QR code").click()
    dialog = page.get_by_role("dialog", name="Open this race on your phone")
    dialog.wait_for()
    shown_url = page.locator(".dl-race .dl-qr-url").inner_text()
    font = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.dl-qr-url')).fontSize)")
    assert font >= 24
    shot = tmp_path / "qr.png"
    page.screenshot(path=str(shot))
    read = subprocess.run(["zbarimg", "-q", "--raw", str(shot)], capture_output=True, text=True, check=False)
    decoded = read.stdout.strip()
    assert decoded == shown_url, (decoded, shown_url)
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    # The link is the race: the presenter's URL without the presenter flags.
    here = parse_qs(urlsplit(page.url).query)
    link = parse_qs(urlsplit(decoded).query)
    assert link == {k: v for k, v in here.items() if k not in ("present", "contrast")}
    assert link["surface"] == ["beale"] and link["steps"] == ["1000"]
    assert "start" in link and "lr_adam" in link
    # ... and opening it on a "phone" gives the same race (same data in the player), in the normal view.
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        other = open_race(phone, decoded)
        same = """() => { const p = window.__descentLabPlayers.at(-1);
            return [p.steps, p.paths.map(q => [q.slug, q.n, q.x[q.n - 1], q.y[q.n - 1]])]; }"""
        assert other.evaluate(same) == page.evaluate(same)
        assert other.locator(".dl-race.dl-present").count() == 0
    finally:
        phone.close()


def test_space_in_a_text_field_types_instead_of_playing(page, app_server):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(app_server + "/?surface=beale&optimizers=sgd,adam&steps=200")
    wait_for_app(page)
    page.wait_for_function(RACE_SETTLED, timeout=90_000)
    field = page.locator("section[data-testid='stSidebar'] input[type='number']").first
    field.click()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("2")
    page.wait_for_timeout(400)
    assert step(page) == 0
    assert page.get_by_role("button", name="Play", exact=True).count() == 1
    assert page.evaluate("() => window.__descentLabPlayers.at(-1).isShown(1)") is True
