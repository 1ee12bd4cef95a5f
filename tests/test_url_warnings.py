"""A bad link's warnings stay on screen until the visitor changes something (AppTest, and a phone in
Chromium, whose page-fixes element reruns the page once its width is known)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.browser_helpers import EXCEPTION, wait_for_app

APP = str(Path(__file__).resolve().parent.parent / "app.py")
BAD = {"surface": "nope", "lr_adam": "1e9", "steps": "-3"}


def _warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def test_warnings_survive_a_rerun_and_go_after_the_visitors_change():
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in BAD.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    first = _warnings(at)
    assert any("surface" in w for w in first) and any("lr_adam" in w for w in first)
    assert any("steps" in w for w in first)
    at.run()  # a rerun that changes nothing (what a phone's width report causes)
    assert _warnings(at) == first
    at.slider(key="keep.race.steps").set_value(200).run()
    at.run()
    assert not at.exception
    assert not any("URL parameter" in w for w in _warnings(at))


@pytest.mark.browser
def test_a_phone_sees_the_warnings_of_a_bad_link(chromium, app_server):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app_server + "/?" + "&".join(f"{k}={v}" for k, v in BAD.items()))
        wait_for_app(page)
        page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=60_000)
        page.wait_for_timeout(1500)  # let the narrow-window rerun finish
        wait_for_app(page)
        texts = page.locator("[data-testid='stAlertContentWarning']").all_inner_texts()
        assert any("surface" in t for t in texts) and any("lr_adam" in t for t in texts), texts
        assert page.locator(EXCEPTION).count() == 0
    finally:
        context.close()
