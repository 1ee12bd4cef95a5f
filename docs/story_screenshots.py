"""Takes the README's saddle-story screenshots: ``.venv/bin/python docs/story_screenshots.py``.

Starts the app on a free port and, in Debian's Chromium, saves ``docs/saddle-race.png`` (the Radford saddle
classic at step 40: the adaptive methods gone, SGD, Momentum and NAG still at the saddle, and its results
table) and ``docs/explain-step.png`` (the explainer opened from that race's "Explain this step" for Adam at
step 3).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import classics, urlstate  # noqa: E402
from loadtest.server import app_server  # noqa: E402
from tests.browser_helpers import CHROMIUM_ARGS, CHROMIUM_PATH, wait_for_app  # noqa: E402

STEP = 40
EXPLAIN_STEP = 3


def main() -> int:
    from playwright.sync_api import sync_playwright

    link = classics.classic("radford-saddle").links[0]
    with app_server() as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base + "/?" + urlstate.query_string(link.query()))
        wait_for_app(page)
        page.wait_for_function("() => window.__descentLabPlayers && "
                               "window.__descentLabPlayers.at(-1).stats.settled", timeout=90_000)
        page.locator(".dl-race .dl-scrub").focus()
        for _ in range(STEP):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("() => !window.__descentLabPlayers.at(-1).committing", timeout=30_000)
        page.wait_for_timeout(1500)
        # Streamlit's fixed header would cover the top of the player in an element screenshot.
        page.add_style_tag(content="header[data-testid='stHeader'] { display: none; }")
        page.locator(".dl-race").first.screenshot(path=str(ROOT / "docs" / "saddle-race.png"))
        page.locator(".dl-race .dl-scrub").focus()  # explain an early step, still at the saddle
        page.keyboard.press("Home")
        for _ in range(EXPLAIN_STEP):
            page.keyboard.press("ArrowRight")
        page.get_by_role("button", name="Explain this step").click()
        page.locator(".dl-race .dl-explain-link", has_text="Adam").first.click()
        page.wait_for_url("**/explain?**", timeout=60_000)
        wait_for_app(page)
        page.get_by_text("effective learning rate", exact=False).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.get_by_text("effective learning rate", exact=False).first.scroll_into_view_if_needed()
        page.mouse.move(700, 500)
        page.mouse.wheel(0, 250)  # the sentence near the bottom, the step's picture and numbers above it
        page.wait_for_timeout(800)
        page.screenshot(path=str(ROOT / "docs" / "explain-step.png"))
        browser.close()
    print("saved docs/saddle-race.png and docs/explain-step.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
