"""Issue 15, part 1, at the protocol level (``loadtest``: Streamlit's websocket, no browser): a rerun that
keeps the surface sends at most 150 KB for the 10-optimizer, 1000-step Beale race, the first visit at most
1 MB, and what a rerun sends, together with what the session was sent before, is exactly the race a new
visitor gets whole. tests/test_browser_animation.py checks the same budget in Chromium, with the drawing.
"""

from __future__ import annotations

from loadtest import protocol
from tests.load_helpers import run_async
from tests.test_animation_data import unpack
from ui import animation

RACE = "surface=beale&optimizers=all&steps={steps}"
FIRST_VISIT_BUDGET = 1_000_000
RERUN_BUDGET = 150_000


class Tab(protocol.Connection):
    """A protocol client that also keeps the race player's data of its last run."""

    player: dict | None = None

    async def _receive(self, timeout: float):
        msg, size = await super()._receive(timeout)
        if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "bidi_component" and \
                    element.bidi_component.component_name == animation.COMPONENT_NAME:
                self.player = animation.element_data(element.bidi_component)
        return msg, size


async def visit(base_url: str, queries: list[str]) -> list[tuple[protocol.RunResult, dict]]:
    """One tab (one session) running ``queries`` one after the other: (result, player data) of each."""
    tab = await Tab.open(base_url)
    try:
        out = []
        for query in queries:
            tab.player = None
            result = await tab.run(query, timeout=180)
            assert result.ok and not result.exceptions, (query, result.status, result.exceptions)
            out.append((result, tab.player))
        return out
    finally:
        await tab.close()


def test_a_rerun_that_keeps_the_surface_sends_under_150_kb_and_rebuilds_the_same_race(app_server):
    (first, first_data), (rerun, rerun_data), (speed, speed_data) = run_async(visit(app_server, [
        RACE.format(steps=1000), RACE.format(steps=999), RACE.format(steps=999) + "&speed=2"]))
    assert first.bytes <= FIRST_VISIT_BUDGET, f"first visit: {first.bytes:,} bytes"
    assert rerun.bytes <= RERUN_BUDGET, f"steps 1000 -> 999: {rerun.bytes:,} bytes"
    assert speed.bytes < rerun.bytes and speed_data["blobs"] == {}  # the same race: nothing new to send
    [(_, whole)] = run_async(visit(app_server, [RACE.format(steps=999)]))  # a new visitor
    window: dict[str, str] = {}
    player, _ = unpack(first_data, window)
    assert player == {"js": animation.PLAYER_MODULE, "css": animation.PLAYER_CSS}
    race = unpack(whole, {})[1]
    assert unpack(rerun_data, window)[1] == race
    again = unpack(speed_data, window)[1]
    assert again["id"] == race["id"] and again["speed"] == 2.0 and again["paths"] == race["paths"]
