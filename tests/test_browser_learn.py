"""The learning pages in a real browser: each opens from the navigation, runs, and shows no error.

One visit walks through all three pages (the Race page at the root is loaded only at the start and at the
end, when a classic preset opens it), clicking the navigation links as a visitor would. Loading
``/explain`` directly also works, but Streamlit's client first probes ``/explain/_stcore/…`` for a base
path and the 404s of that probe land in the console.
"""

from __future__ import annotations

import pytest

import optimizers
from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser

PAGES = {
    "explain": "Optimizers explained",
    "moving_averages": "Moving averages",
    "classics": "Classic figures",
}


def go_to(page, slug: str) -> None:
    page.locator(f"[data-testid='stSidebarNav'] a[href$='/{slug}']").click()
    page.wait_for_url(f"**/{slug}*")
    wait_for_app(page)
    page.get_by_role("heading", name=PAGES[slug]).first.wait_for()


def assert_clean(page, console_errors, where: str) -> None:
    exceptions = page.locator(EXCEPTION)
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()}"
    assert console_errors == [], where


def test_learning_pages_open_and_work_without_errors(page, app_server, console_errors):
    page.goto(app_server)
    wait_for_app(page)

    go_to(page, "explain")
    assert_clean(page, console_errors, "explain")
    page.get_by_text("Step 1 of", exact=False).first.wait_for()
    page.get_by_role("button", name="Next ▶").click()
    wait_for_app(page)
    page.get_by_text("Step 2 of", exact=False).first.wait_for()
    assert_clean(page, console_errors, "explain, after Next")
    # Every optimizer's rule and filled-in step is valid LaTeX (KaTeX marks errors with .katex-error).
    for name in optimizers.available():
        title = optimizers.get(name).title
        page.locator("[data-testid='stButtonGroup'] button").filter(has_text=title).first.click()
        wait_for_app(page)
        page.get_by_role("heading", name=f"Explain this step: {title}").wait_for()
        assert page.locator(".katex-error").count() == 0, title
        assert_clean(page, console_errors, f"explain, {title}")

    go_to(page, "moving_averages")
    page.get_by_text("Worked example").first.wait_for()
    page.get_by_role("button", name="β = 0.9").click()
    wait_for_app(page)
    assert page.locator(".katex-error").count() == 0
    assert_clean(page, console_errors, "moving averages")

    go_to(page, "classics")
    assert page.get_by_role("link", name="Open the race").count() >= 4
    # Each preset's address is shown in full: scheme, host, path and query, ready for slides.
    codes = page.locator("[data-testid='stCode']").all_inner_texts()
    assert codes and all(c.strip().startswith(app_server + "/") for c in codes), codes[:2]
    assert any(c.strip().startswith(app_server + "/?surface=saddle&") for c in codes)
    assert_clean(page, console_errors, "classics")

    page.get_by_role("link", name="Open the race").first.click()
    page.wait_for_url("**surface=beale**")
    wait_for_app(page)
    page.get_by_role("heading", name="Optimizer race on Beale").first.wait_for()
    assert "optimizers=sgd" in page.url and "steps=1000" in page.url
    assert_clean(page, console_errors, "the Race page opened by a classic")
