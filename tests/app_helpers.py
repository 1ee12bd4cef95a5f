"""AppTest helpers shared by the page tests: open the app (or one of its pages) with URL parameters, and read
what a components-v2 element (the race player, the Atlas's maps) received, and the URL it wrote."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.animation import element_data

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_app(page: str | None = None, timeout: float = 120, **query: str) -> AppTest:
    """The app after its first run, at ``page`` (e.g. ``"pages/atlas.py"``; default: the first page) with
    ``query`` as the URL's parameters."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if page is not None:
        at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def component_data(at: AppTest, name: str) -> dict:
    """The ``data`` the one element of component ``name`` received (AppTest runs no JavaScript)."""
    found = [c for c in at.get("bidi_component") if c.proto.component_name == name]
    assert len(found) == 1, f"{name} was rendered {len(found)} times, not once"
    return element_data(found[0].proto)


def url_params(at: AppTest) -> dict[str, str]:
    """The app's query string after the run, one value per key."""
    pairs = ((k, at.query_params[k]) for k in at.query_params)
    return {k: (v[0] if isinstance(v, list) else v) for k, v in pairs}


def open_container(at: AppTest, key: str) -> AppTest:
    """Open the expander or pop-over with state key ``key`` as a visitor's click does: its content runs only
    while it is open (``on_change="rerun"``), so its widgets exist from this run on."""
    at.session_state[key] = True
    return at.run()
