"""Takes the presenter-view screenshots in docs/: ``.venv/bin/python docs/screenshots.py``.

Starts the app on a free port, opens the README's example race with ``present=1`` in Debian's Chromium at
the two projector sizes, moves the race to step 300 with the keyboard (End, then Home and Shift+→), and
saves ``docs/presenter-1280x720.png``, ``docs/presenter-1920x1080.png`` and, with the QR code open,
``docs/presenter-qr-1280x720.png``. Each picture is the whole window, exactly what the room sees. Also
``docs/race.png`` (the README's first picture): the same race on the default page (sidebar open, no
presenter view) at 1280×720, the projector's size, at the same step.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtest.server import app_server  # noqa: E402
from tests.browser_helpers import CHROMIUM_ARGS, CHROMIUM_PATH, wait_for_app  # noqa: E402

RACE = "/?surface=beale&optimizers=sgd,momentum,nag,adagrad,adadelta,rmsprop,adam,adamax,nadam,amsgrad" \
       "&steps=1000&present=1"
# (link, width, height, file): the presenter view at both projector sizes, then the default page.
SHOTS = [(RACE, 1280, 720, "presenter-1280x720.png"), (RACE, 1920, 1080, "presenter-1920x1080.png"),
         (RACE.removesuffix("&present=1"), 1280, 720, "race.png")]
STEP = 300


def main() -> int:
    from playwright.sync_api import sync_playwright

    with app_server() as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        for link, width, height, name in SHOTS:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(base + link)
            wait_for_app(page)
            page.wait_for_function("() => window.__descentLabPlayers && "
                                   "window.__descentLabPlayers.at(-1).stats.settled", timeout=90_000)
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            for _ in range(STEP // 10):
                page.keyboard.press("Shift+ArrowRight")
            page.wait_for_function("() => !window.__descentLabPlayers.at(-1).committing", timeout=30_000)
            page.wait_for_timeout(1500)  # the 3-D view and the committed figures settle
            target = ROOT / "docs" / name
            page.screenshot(path=str(target))
            print(f"wrote {target.relative_to(ROOT)}")
            if name == "presenter-1280x720.png":
                page.get_by_role("button", name="QR code").click()
                page.wait_for_timeout(300)
                qr = ROOT / "docs" / "presenter-qr-1280x720.png"
                page.screenshot(path=str(qr))
                print(f"wrote {qr.relative_to(ROOT)}")
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
