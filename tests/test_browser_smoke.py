"""Smoke test in a real browser: the app opens, runs its script and shows no error."""

import pytest

from tests.browser_helpers import EXCEPTION, wait_for_app

pytestmark = pytest.mark.browser


def test_app_opens_without_errors(page, app_server):
    page.goto(app_server)
    wait_for_app(page)
    assert "Descent Lab" in page.title()
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()
    assert page.console_errors == []
