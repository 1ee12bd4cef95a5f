"""Real browsers under load: while virtual visitors (``loadtest``, no browsers) keep the server busy, three
Chromium pages open the race link and must still draw the race player, with no exception box.

Streamlit's own load tests use a pool of Playwright browsers; here a handful of real ones ride on top of
the protocol-level crowd, to check that what the protocol visitors measure is also what a page shows.
"""

from __future__ import annotations

import threading
import time

import pytest

from loadtest.__main__ import run_load, warm_up
from loadtest.visitor import RACE_URL
from tests.browser_helpers import EXCEPTION, VIEWPORT

pytestmark = pytest.mark.browser

PAGES = 3
PLAYER = ".dl-race[data-ready='true'] .js-plotly-plot"


def _in_thread(fn, *args):
    """Playwright's sync API keeps an event loop on this thread: asyncio code runs on another one."""
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(value=fn(*args)))
    thread.start()
    thread.join(timeout=300)
    return out.get("value")


def test_pages_draw_while_the_crowd_runs(chromium, app_server):
    assert _in_thread(warm_up, app_server) == []
    outcome: dict = {}

    pages_done = threading.Event()

    def crowd():  # rounds of visitors until the pages have drawn (at most eight rounds)
        try:
            reports = outcome.setdefault("reports", [])
            while not pages_done.is_set() and len(reports) < 8:
                reports.append(run_load(app_server, visitors=12, reruns=4,
                                        mix={"race": 9, "hammer": 1, "atlas": 1, "custom": 1}, ramp=1.0,
                                        think=(0.5, 1.5), atlas_grid=32, atlas_steps=200, heavy_max_runs=4,
                                        seed=len(reports)))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=crowd, name="loadtest-crowd", daemon=True)
    thread.start()
    time.sleep(2.0)  # the crowd is in full swing
    contexts = [chromium.new_context(viewport=VIEWPORT) for _ in range(PAGES)]
    try:
        pages = [context.new_page() for context in contexts]
        errors: list[str] = []
        for pg in pages:
            pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        started = time.monotonic()
        for pg in pages:  # all three load at once; then each is checked
            pg.goto(f"{app_server}{RACE_URL}", wait_until="commit")
        drawn = []
        for pg in pages:
            pg.wait_for_selector(PLAYER, timeout=90_000)
            drawn.append(round(time.monotonic() - started, 1))
            assert pg.locator(EXCEPTION).count() == 0
        crowd_running = thread.is_alive()
        assert not errors, errors
    finally:
        pages_done.set()
        for context in contexts:
            context.close()
    thread.join(timeout=180)
    assert not thread.is_alive(), "the protocol crowd did not finish"
    assert "error" not in outcome, outcome.get("error")
    reports = outcome["reports"]
    assert crowd_running, "the crowd had stopped before the pages drew: the pages were not under load"
    for report in reports:
        assert report.failed == 0, [w.failures for w in report.waves]
        assert report.exceptions == 0, [w.exception_texts for w in report.waves]
    p95 = [round(r.stats["race (all)"].p95, 2) for r in reports]
    print(f"players drawn after {drawn} s under {len(reports)} round(s) of 12 visitors; race p95 {p95} s")
