"""Shared pytest setup. The repo root is on sys.path (pyproject: pythonpath = ["."]).

Fixtures for browser tests (mark them ``@pytest.mark.browser``):

``app_server`` (session)
    Starts ``python -m streamlit run app.py`` from the repo root on a free port on 127.0.0.1 (headless, no
    usage stats, full error details, the repo's .streamlit/config.toml otherwise), waits until
    ``/_stcore/health`` answers ``ok`` and yields its base URL, e.g. ``http://127.0.0.1:41234``. Stopped at
    the end of the session.
    With DESCENT_LAB_URL set, uses that running server instead (a container, nginx in front of replicas).
``chromium`` (session)
    A Playwright ``Browser`` running Debian's /usr/bin/chromium headless. Skips when the binary is missing.
``page`` (function)
    A new context (viewport 1400×1000) and page. ``page.console_errors`` is a list of strings collecting the
    page's console errors ("console: ...") and uncaught exceptions ("pageerror: ..."); the
    ``console_errors`` fixture returns that same list. Closed after the test.

Helpers: ``tests.browser_helpers.wait_for_app(page)`` waits for a finished script run; the
``wait_for_app`` fixture returns that function.

When Chromium is missing, browser-marked tests are skipped at collection (no server is started) and one
line at the end of the run says so and how to install it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser_helpers import (
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    CHROMIUM_PATH,
    VIEWPORT,
    chromium_available,
    free_port,
    stop_process,
)
from tests.browser_helpers import wait_for_app as _wait_for_app

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 60.0

_browser_skips: list[str] = []


def wait_for_health(base_url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> float:
    """Poll ``base_url/_stcore/health`` until it answers ``ok``; return seconds waited, fail otherwise."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            pytest.fail(
                f"server exited with code {proc.returncode} before it was healthy; its output:\n"
                + log_path.read_text(errors="replace")[-5000:]
            )
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as resp:
                body = resp.read().decode(errors="replace").strip()
                if body == "ok":
                    return time.monotonic() - start
                last = f"answered {body!r}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.2)
    pytest.fail(
        f"{base_url}/_stcore/health did not answer ok within {timeout:.0f} s (last: {last}); server output:\n"
        + log_path.read_text(errors="replace")[-5000:]
    )


@pytest.fixture(scope="session")
def app_server():
    """Base URL (``http://127.0.0.1:PORT``) of ``streamlit run app.py`` started for this test session.

    With DESCENT_LAB_URL set (e.g. ``http://127.0.0.1:8080`` for nginx or a container), no server is
    started: the browser tests run against that URL once its health endpoint answers ``ok``.
    """
    external = os.environ.get("DESCENT_LAB_URL", "").rstrip("/")
    if external:
        with urllib.request.urlopen(f"{external}/_stcore/health", timeout=10) as resp:
            assert resp.read().strip() == b"ok", f"{external}/_stcore/health did not answer ok"
        yield external
        return
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--client.showErrorDetails", "full",  # tracebacks in the page make failing tests readable
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.NamedTemporaryFile("w+b", prefix="app_server-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, proc, log_path, SERVER_START_TIMEOUT)
        yield base_url
    finally:
        stop_process(proc)
        log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def chromium():
    """Playwright Browser on Debian's headless Chromium; skips the test when /usr/bin/chromium is missing."""
    if not chromium_available():
        _browser_skips.append("fixture")
        pytest.skip(CHROMIUM_MISSING)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def page(chromium):
    """A fresh page (own context, 1400×1000) with ``page.console_errors`` collecting errors."""
    context = chromium.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    errors: list[str] = []
    pg.console_errors = errors

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            errors.append(f"console: {msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """The list of console errors and page errors of the ``page`` fixture (the same object)."""
    return page.console_errors


@pytest.fixture
def wait_for_app():
    """The ``tests.browser_helpers.wait_for_app(page, timeout=60_000)`` function."""
    return _wait_for_app


def pytest_collection_modifyitems(config, items):
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)
            _browser_skips.append(item.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Counted from the skip reports, not from _browser_skips: with pytest-xdist the collection hooks ran in
    # the worker processes, and only the reports reach this one.
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if CHROMIUM_MISSING in str(getattr(r, "longrepr", ""))]
    n = len(skipped) or len(_browser_skips)
    if n:
        plural = "s" if n != 1 else ""
        terminalreporter.write_line(f"{CHROMIUM_MISSING} ({n} test{plural})", yellow=True, bold=True)
