"""Helpers for browser tests (Playwright's sync API driving Debian's Chromium) and test servers.

    from tests.browser_helpers import wait_for_app

    @pytest.mark.browser
    def test_something(page, app_server):
        page.goto(app_server)
        wait_for_app(page)
        ...

The fixtures (`app_server`, `chromium`, `page`, `console_errors`) live in tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

# The test servers are started and stopped like the load generator's (one implementation).
from loadtest.server import free_port  # noqa: F401  (re-exported for the tests)
from loadtest.server import stop as stop_process  # noqa: F401

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM_PATH} — browser tests skipped; "
    "install it with `apt-get install chromium`"
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-background-networking",  # the machine's closed network refuses Chromium's own calls
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 1000}

APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SKELETON = "[data-testid='stSkeleton']"
EXCEPTION = "[data-testid='stException']"


def chromium_available() -> bool:
    return CHROMIUM_PATH.is_file()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until the Streamlit script has finished its run and the page has rendered.

    That is: the app root reports `data-test-script-state="notRunning"` (before the first run it says
    "initial"), no loading skeleton is left, and it still says so a moment later (a rerun triggered by a
    widget may not have started yet when this is called right after a click; the second look catches most
    of those). `timeout` is in milliseconds, like Playwright's.
    """
    for _ in range(2):
        page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout)
        page.wait_for_function("sel => document.querySelector(sel) === null", arg=SKELETON, timeout=timeout)
        page.wait_for_timeout(150)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout)


# The newest race player on the page has drawn its pictures (ui/player: ``window.__descentLabPlayers``).
RACE_SETTLED = "() => window.__descentLabPlayers && window.__descentLabPlayers.length && " \
               "window.__descentLabPlayers.at(-1).stats.settled"


def open_race(context, url: str):
    """A new page of ``context`` at ``url`` once the app has run and the race player has drawn; uncaught
    page errors are collected in ``page.errors``."""
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    wait_for_app(page)
    page.wait_for_function(RACE_SETTLED, timeout=90_000)
    page.wait_for_timeout(300)
    page.errors = errors
    return page
