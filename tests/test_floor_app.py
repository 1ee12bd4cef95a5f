"""The framework's floor (``bench/floor.py``, ``bench_load.py floor``) stays a copy of the Race page's
elements in their containers, and of its session state's size: when the page gains, loses or moves an
element, this fails until the floor follows, so the floor's figures keep meaning "the same page with nothing
computed"."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qsl

from streamlit.testing.v1 import AppTest

from loadtest.visitor import RACE_QUERY
from tests.app_helpers import open_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import floor  # noqa: E402  (bench/ is no package)


def layout(node):
    """The run's tree as nested kinds: an element's kind, or a container's kind with its children's layouts
    in order (main area and sidebar apart), without labels, keys or values."""
    children = getattr(node, "children", None)
    if children:
        return (node.type, tuple(layout(child) for child in children.values()))
    return node.type


def test_the_floor_draws_the_race_pages_elements_in_its_containers():
    race = open_app(None, **dict(parse_qsl(RACE_QUERY)))
    copy = AppTest.from_string(floor.FLOOR_SCRIPT, default_timeout=60).run()
    assert not race.exception and not copy.exception
    page = layout(race._tree)
    assert "bidi_component" in str(page) and "sidebar" in str(page)  # the walk reached the leaves
    assert layout(copy._tree) == page


def test_the_floor_keeps_a_session_state_of_the_pages_size():
    """Every keyed widget makes Streamlit copy the whole session state: the floor keeps as many keys."""
    race = open_app(None, **dict(parse_qsl(RACE_QUERY))).run()
    copy = AppTest.from_string(floor.FLOOR_SCRIPT, default_timeout=60).run().run()
    assert abs(len(list(copy.session_state)) - len(list(race.session_state))) <= 3
