"""The race player in headless Chromium, on the scratch demo app (bench/bench_animation.py's DEMO_SCRIPT):
it draws, Play moves the trails, the scrubber seeks, the 3-D camera survives playback, and a 10 x 1000
step race costs well under 2 MB over the websocket. On the app itself: a rerun that keeps the surface
sends only what changed (under 150 KB for the issue's race) and still draws both pictures, and a window
that lost its chunks gets them again.

The demo app is written into a temporary folder with its own static/plotly.min.js (ui.assets) and a
.streamlit/config.toml with static serving on, then started with ``streamlit run`` on a free port.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import pytest

from tests.browser_helpers import wait_for_app

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
BYTE_BUDGET = 2_000_000
READY = ".dl-race[data-ready='true'] .dl-plot-2d.js-plotly-plot"
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# Warnings Chromium's software WebGL prints; they are not errors of the page.
NOISE = re.compile(r"GL Driver Message|GPU stall|willReadFrequently|WebGL", re.I)


@functools.cache
def _bench():
    """bench/bench_animation.py (not a package): the demo app and how to start it live there."""
    spec = importlib.util.spec_from_file_location("bench_animation", REPO / "bench" / "bench_animation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser(chromium):
    """The session's Chromium (tests/conftest.py): one Playwright instance for the whole test run."""
    return chromium


@pytest.fixture(scope="module")
def demo_url(browser, tmp_path_factory):
    bench = _bench()
    proc, url = bench.start_demo(tmp_path_factory.mktemp("animdemo"), timeout=60)
    yield url
    bench.stop(proc)


@pytest.fixture(scope="module")
def context(browser):
    """One browser context for the module: plotly.js is fetched once and then comes from its cache."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and not NOISE.search(m.text)
            and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.close()


def trail_lengths(page) -> list[int]:
    return page.evaluate("""() => document.querySelector('.dl-plot-2d').data
        .filter(t => t.type === 'scatter' && t.mode === 'lines' && t.legendgroup).map(t => t.x.length)""")


def trail_paths(page) -> list[str]:
    """The SVG path strings the trails are drawn with (what the visitor sees)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.dl-plot-2d .scatterlayer .trace'))
        .filter(g => /tracedlt\\d/.test(g.getAttribute('class')))
        .map(g => {
          const p = g.querySelector('path.js-line, path.dl-line');
          return p ? p.getAttribute('d') : '';
        })""")


def step_text(page) -> str:
    return page.locator(".dl-race .dl-counter").inner_text()


def test_ten_paths_of_1000_steps_play_seek_and_stay_small(page, demo_url):
    received = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(len(payload))))
    page.goto(demo_url + "/?surface=beale&paths=10&steps=1000")
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=60_000)
    # The chart: contour background, 10 trails, 10 heads, a legend.
    assert page.evaluate("() => document.querySelector('.dl-plot-2d').data[0].type") == "contour"
    assert len(trail_lengths(page)) == 10
    assert page.locator(".dl-plot-2d .legend .traces").count() >= 10
    assert step_text(page) == "step 0 / 1000"
    before_paths = trail_paths(page)

    play = page.get_by_role("button", name="Play", exact=True)
    play.click()
    pause = page.get_by_role("button", name="Pause", exact=True)
    pause.wait_for(timeout=5_000)
    assert pause.inner_text() == "Pause"
    page.wait_for_function("() => Number(document.querySelector('.dl-race').dataset.step) > 150",
                           timeout=20_000)
    assert trail_paths(page) != before_paths
    assert min(trail_lengths(page)[1:]) > 100  # figure data follows the clock (SGD diverged at step 4)
    assert "SGD diverged at step 4" in page.locator(".dl-race .dl-notes").inner_text()
    pause.click()
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=5_000)
    paused_at = int(page.locator(".dl-race").get_attribute("data-step"))
    page.wait_for_timeout(500)
    assert int(page.locator(".dl-race").get_attribute("data-step")) == paused_at  # pausing keeps the frame
    # Python hears the step on pause (one rerun), not on every frame.
    page.get_by_text(f"Python knows the race is at step {paused_at}.").wait_for(timeout=20_000)
    # Once paused, the legend names the divergence too.
    page.wait_for_function("() => document.querySelector('.dl-plot-2d .legend').textContent"
                           ".includes('SGD ✕ step 4')", timeout=10_000)

    scrub = page.get_by_role("slider", name="Step", exact=True)
    scrub.focus()
    scrub.press("End")
    assert step_text(page) == "step 1000 / 1000"
    page.wait_for_function("() => document.querySelector('.dl-plot-2d').data.filter(t => t.mode === 'lines'"
                           " && t.legendgroup).every(t => t.x.length === 1001 || t.x.length === 4)")
    scrub.press("Home")
    assert step_text(page) == "step 0 / 1000"
    assert set(trail_lengths(page)) == {1}

    assert sum(received) < BYTE_BUDGET, f"{sum(received):,} bytes over the websocket"
    assert not page.errors, page.errors


def test_the_3d_camera_survives_playback(page, demo_url):
    page.goto(demo_url + "/?surface=rosenbrock&paths=3&steps=300")
    page.wait_for_selector(".dl-race .dl-plot-3d.js-plotly-plot", timeout=60_000)
    page.wait_for_function("() => window.__descentLabPlayers.at(-1).stats.settled", timeout=30_000)
    eye = """() => { const e = document.querySelector('.dl-plot-3d')._fullLayout.scene.camera.eye;
                     return [e.x, e.y, e.z]; }"""
    start = page.evaluate(eye)
    box = page.locator(".dl-plot-3d").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 40, steps=3)
    page.mouse.up()
    page.wait_for_timeout(500)
    turned = page.evaluate(eye)
    assert max(abs(a - b) for a, b in zip(turned, start, strict=True)) > 0.1
    page.get_by_role("combobox", name="Speed").select_option("4")
    page.get_by_role("button", name="Play", exact=True).click()
    # 300 steps end by themselves, and the button reads "Play" again.
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=30_000)
    page.wait_for_function("() => !window.__descentLabPlayers.at(-1).committing", timeout=30_000)
    assert step_text(page) == "step 300 / 300"
    after = page.evaluate(eye)
    assert max(abs(a - b) for a, b in zip(after, turned, strict=True)) < 1e-6, (turned, after)
    lengths = page.evaluate("""() => { const gd = document.querySelector('.dl-plot-3d');
        return gd.data.filter(t => t.type === 'scatter3d' && t.mode === 'lines').map(t => t.x.length); }""")
    assert lengths == trail_lengths(page) and lengths[1:] == [301, 301]  # SGD diverges early here
    assert not page.errors, page.errors


def test_a_one_step_race_with_one_path(page, demo_url):
    page.goto(demo_url + "/?surface=logbowl&paths=1&steps=1&3d=0")
    page.wait_for_selector(READY, timeout=60_000)
    assert page.locator(".dl-race .dl-plot-3d").count() == 0
    assert step_text(page) == "step 0 / 1"
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("() => document.querySelector('.dl-race .dl-counter').textContent"
                           " === 'step 1 / 1'")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=5_000)  # the end stops the clock
    assert trail_lengths(page) == [2]
    assert not page.errors, page.errors


def test_the_standalone_download_plays_offline(browser, tmp_path):
    import numpy as np
    import sympy as sp

    from figures.background import contour_figure, figure_payload, surface3d_figure
    from surfaces.base import Surface, X, Y
    from ui.animation import path_payload, standalone_html

    s = Surface(name="bowl", title="Bowl", expression=X**2 + 3 * Y**2 + sp.Rational(1, 10), latex="",
                bounds=((-2, 2), (-2, 2)), minima=[(0, 0)], starts=[(1.5, 1.5)])
    t = np.linspace(0, 1, 61)[:, None]
    paths = [path_payload(name, name.lower(), None, (1 - t) * [1.5, 1.5 - i], None, None)
             for i, name in enumerate(["Adam", "NAG"])]
    html_file = tmp_path / "race.html"
    html_file.write_text(standalone_html(figure_payload(contour_figure(s, 40)),
                                         figure_payload(surface3d_figure(s, 20)), paths, 60, "Bowl <race>"))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    fetched = []
    context.route("**/*", lambda route: (fetched.append(route.request.url), route.abort())
                  if not route.request.url.startswith("file:") else route.continue_())
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(html_file.as_uri())
    page.wait_for_selector(".dl-race[data-ready='true'] .dl-plot-2d.js-plotly-plot", timeout=30_000)
    assert page.title() == "Bowl <race>"
    page.get_by_role("combobox", name="Speed").select_option("4")
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("() => document.querySelector('.dl-race .dl-counter').textContent"
                           " === 'step 60 / 60'", timeout=20_000)
    assert not fetched and not errors, (fetched, errors)
    context.close()


# --- on the app: reruns send what changed (ui.animation.browser_payload, ui/player_loader.js) -------------
RERUN_BUDGET = 150_000  # bytes over the websocket for a rerun that keeps the surface (issue 15)
FIRST_VISIT_BUDGET = 1_000_000
# The newest player has drawn its contour, its 3-D surface and settled (the 3-D view's plotly bundle
# loads after the contour).
DRAWN = """() => { const p = (window.__descentLabPlayers || []).filter(q => q.alive).at(-1);
  const d3 = document.querySelector('.dl-race .dl-plot-3d');
  return !!(p && p.stats.settled && p.stats.drawn3d && !p.committing && d3 && d3.data
    && d3.data.some(t => t.type === 'surface')
    && document.querySelector('.dl-race .dl-plot-2d .contourlayer path')); }"""


@pytest.fixture
def fresh_page(browser):
    """A page in its own browser context: a new window, so nothing is cached yet."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and not NOISE.search(m.text)
            and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # Bytes received, and the loader's "missing" triggers among the messages the page sent.
    page.received, page.asked = [], []
    page.on("websocket", lambda ws: (
        ws.on("framereceived", lambda payload: page.received.append(len(payload))),
        ws.on("framesent", lambda payload: b"missing" in bytes(payload) and page.asked.append(payload))))
    yield page
    context.close()


def change_steps(page, steps: int) -> None:
    """One step down on the sidebar's Steps slider (a rerun), then wait for the new race to be drawn."""
    slider = page.get_by_role("slider", name="Steps")
    slider.focus()
    slider.press("ArrowLeft")
    wait_for_app(page)
    page.wait_for_function("(n) => document.querySelector('.dl-race .dl-counter').textContent"
                           " === `step 0 / ${n}`", arg=steps, timeout=60_000)
    page.wait_for_function(DRAWN, timeout=60_000)


def pictures(page) -> dict:
    """What the visitor sees of the pictures: the contour's grid, the 3-D surface's, the trails' lengths."""
    return page.evaluate("""() => {
      const d2 = document.querySelector('.dl-race .dl-plot-2d')._fullData;  // as plotly decoded and drew it
      const d3 = document.querySelector('.dl-race .dl-plot-3d')._fullData;
      const grid = (t) => t && t.z && t.z.length;
      return { contour: grid(d2.find(t => t.type === 'contour')),
               surface: grid(d3.find(t => t.type === 'surface')),
               trails: window.__descentLabPlayers.filter(p => p.alive).at(-1).paths.map(p => p.n) };
    }""")


def test_a_rerun_that_keeps_the_surface_sends_only_new_tails_and_draws_both_pictures(fresh_page, app_server):
    page = fresh_page
    page.goto(app_server + "/?surface=beale&optimizers=all&steps=1000")
    wait_for_app(page)
    page.wait_for_function(DRAWN, timeout=90_000)
    first = sum(page.received)
    before = pictures(page)
    assert before["contour"] == 160 and before["surface"] == 80 and set(before["trails"]) == {1001}, before
    page.received.clear()
    change_steps(page, 999)
    rerun = sum(page.received)
    after = pictures(page)
    assert after["contour"] == 160 and after["surface"] == 80 and set(after["trails"]) == {1000}, after
    assert first <= FIRST_VISIT_BUDGET, f"first visit: {first:,} bytes"
    assert rerun <= RERUN_BUDGET, f"steps 1000 -> 999: {rerun:,} bytes"
    assert not page.asked, "the window had every chunk: no 'missing' trigger"
    assert page.locator(".dl-loader-status").count() == 0 and not page.errors, page.errors


def test_a_window_that_lost_its_chunks_asks_for_them_and_draws_the_race(fresh_page, app_server):
    page = fresh_page
    page.goto(app_server + "/?surface=himmelblau&optimizers=sgd,adam,nag&steps=300")
    wait_for_app(page)
    page.wait_for_function(DRAWN, timeout=90_000)
    drawn = pictures(page)
    # What a long session's eviction (or a superseded rerun) leaves: Python counts chunks as sent that
    # this window does not have, the player's own code included.
    page.evaluate("() => window.__descentLabChunks.clear()")
    change_steps(page, 299)
    assert page.asked, "the loader sent no 'missing' trigger"
    again = pictures(page)
    assert again["contour"] == drawn["contour"] and again["surface"] == drawn["surface"]
    assert set(again["trails"]) == {300}, again
    assert page.evaluate("() => window.__descentLabChunks.size") > 0  # refilled by the rerun
    assert page.locator(".dl-loader-status").count() == 0 and not page.errors, page.errors


BUNDLES_JS = """() => ({
  fetched: performance.getEntriesByType('resource').map((e) => e.name.split('/').pop())
    .filter((n) => /^plotly.*\\.js$/.test(n)),
  scripts: [...document.querySelectorAll('script[data-descent-lab=plotly]')]
    .map((s) => s.src.split('/').pop()),
  preloads: [...document.querySelectorAll('link[rel=preload][as=script]')]
    .map((l) => l.href.split('/').pop()),
  marks: performance.getEntriesByType('mark').map((m) => m.name).filter((n) => n.startsWith('dl:')),
  stats: (window.__descentLabPlayers || []).at(-1)?.stats,
})"""


def test_the_first_picture_waits_for_one_small_bundle_loaded_once(fresh_page, app_server):
    """The race page preloads plotly's cartesian bundle from its first element (page fixes: a preload link,
    then the same load the player takes); the 3-D bundle is only preloaded after the contour is drawn and
    runs after it. Each is fetched once, and static/ serves both with the compile hint. A page drawn by
    st.plotly_chart fetches neither."""
    page = fresh_page
    page.goto(app_server + "/?surface=beale&optimizers=sgd,adam&steps=200")
    wait_for_app(page)
    page.wait_for_function(DRAWN, timeout=90_000)
    seen = page.evaluate(BUNDLES_JS)
    cartesian, gl3d = "plotly-cartesian.min.js", "plotly-gl3d.min.js"
    assert sorted(seen["fetched"]) == [cartesian, gl3d], seen  # no full plotly.min.js, nothing twice
    assert seen["scripts"] == [cartesian, gl3d], seen  # one script element each, the 2-D one first
    assert sorted(seen["preloads"]) == [cartesian, gl3d], seen  # the 2-D one early, in the page
    assert "dl:preload" in seen["marks"] and "dl:loader" in seen["marks"], seen
    stats = seen["stats"]
    assert stats["plotlyLoaded"] < stats["drawn2d"] < stats["drawnCharts"] < stats["drawn3d"], stats
    heads = page.evaluate("""async (names) => Promise.all(names.map(async (n) =>
      (await (await fetch('./app/static/' + n)).text()).slice(0, 29)))""", [cartesian, gl3d])
    assert heads == ["//# allFunctionsCalledOnLoad\n"] * 2
    assert not page.errors, page.errors

    page.goto(app_server + "/explain")  # st.plotly_chart draws here, with Streamlit's own plotly.js
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    seen = page.evaluate(BUNDLES_JS)
    assert seen["fetched"] == seen["preloads"] == [] and "dl:preload" not in seen["marks"], seen
