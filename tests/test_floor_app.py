"""The framework's floor (``bench/floor.py``, ``bench_load.py floor``) stays a copy of the Race page's
elements: when the page gains or loses an element, this fails until the floor follows, so the floor's
figures keep meaning "the same page with nothing computed"."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

from streamlit.testing.v1 import AppTest

from loadtest.visitor import RACE_QUERY
from tests.app_helpers import open_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import floor  # noqa: E402  (bench/ is no package)


def element_kinds(node, found: Counter | None = None) -> Counter:
    """How many elements of each kind the run drew (containers are walked, not counted)."""
    found = Counter() if found is None else found
    children = getattr(node, "children", None)
    if children:
        for child in children.values():
            element_kinds(child, found)
    else:
        found[node.type] += 1
    return found


def test_the_floor_draws_the_race_pages_elements():
    race = open_app(None, **dict(parse_qsl(RACE_QUERY)))
    copy = AppTest.from_string(floor.FLOOR_SCRIPT, default_timeout=60).run()
    assert not race.exception and not copy.exception
    page = element_kinds(race._tree)
    assert page["bidi_component"] == 2 and page["selectbox"] == 2  # the walk reached both trees' leaves
    assert element_kinds(copy._tree) == page
