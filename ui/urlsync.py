"""Page state in the session and its mirror in the query string, shared by every page with a URL.

State lives in ``st.session_state`` under ``keep.<page>.*`` keys (widgets use ``persist_state="session"``
so nothing is lost when the visitor visits another page) and is written into the query string after
every run, so a link reproduces the page exactly. A URL is read when it differs from the one this session
last wrote (a fresh visit, a shared link, a preset, the browser's Back) and is not one of its own recent
writes that the browser had not received yet (see ``read_url``); each malformed or unknown parameter gives
one visible warning and the control keeps its default. The visitor's text in those warnings goes through
``lab.literal``, so a link cannot put formatting or links of its own into them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lab import literal


class PageState:
    """Session-state keys of one page (``race``, ``custom``, ``atlas``)."""

    def __init__(self, page: str):
        self.page = page

    def key(self, *parts: str) -> str:
        return ".".join(("keep", self.page, *parts))

    def get(self, *parts: str, default=None):
        return st.session_state.get(self.key(*parts), default)

    def set(self, value, *parts: str) -> None:
        st.session_state[self.key(*parts)] = value

    def init(self, value, *parts: str) -> None:
        """Give a widget its starting value through session state (never also through ``value=``)."""
        if self.key(*parts) not in st.session_state:
            self.set(value, *parts)


# The mark of a link to the page it is on (a preset): ``read_url`` applies its URL, recent write or not.
LINK_PARAM = "link"


def link_query(query: dict[str, str]) -> dict[str, str]:
    """``query`` for a link to the page it is on (``st.page_link``'s ``query_params``)."""
    return {**query, LINK_PARAM: "1"}


# How long a URL this session wrote and then replaced can still come back as the browser's stale URL. A rerun
# waits up to 10 s for its turn (lab/turns.py) after its request arrived; a margin for the network on top.
STALE_SECONDS = 30.0


def read_url(state: PageState, parsers: dict[str, Callable[[str], object]]) -> None:
    """Apply a new URL: valid values are kept in ``url.values`` (see ``url_value``), problems as warnings.

    A rerun's request carries the URL the browser had when it was sent. Two quick changes (``+ − −`` on
    the player's speed, two sliders) send the second request before the first run's new URL reached the
    browser: that request carries a URL this session wrote and then replaced. It is stale, not new: applying
    it would undo the first change. So on a rerun of the same page, a URL among the session's recent writes
    is not applied, unless the browser's Back or Forward brought it (Streamlit marks those reruns). Arriving
    from another page is a visit, and a link to the same page carries ``LINK_PARAM`` (``link_query``): their
    URLs are applied even if the session wrote them before (a preset clicked again).

    The recent writes only expire (``STALE_SECONDS``, at most 8 kept), never by what a request carries: a
    page that went back to an earlier URL (A, B, A) wrote one URL twice, so a request carrying it does not
    tell which write the browser has, and B may still come.
    """
    query = st.query_params.to_dict()
    linked = query.pop(LINK_PARAM, None) is not None
    if query == state.get("url", "written"):
        return
    if not linked and _rerun_of_the_same_page() and not _history_navigation():
        now = time.monotonic()
        if any(old == query and now - replaced_at <= STALE_SECONDS
               for old, replaced_at in state.get("url", "recent", default=[])):
            return
    values, warnings = {}, []
    for key, text in query.items():
        if key not in parsers:
            warnings.append(f"Unknown URL parameter {literal.code(key)} was ignored.")
            continue
        try:
            values[key] = parsers[key](text)
        except ValueError as exc:
            warnings.append(f"URL parameter {literal.code(key)}: {literal.text(exc)}. "
                            "Using the default instead.")
    state.set(values, "url", "values")
    state.set(warnings, "url", "warnings")
    state.set(query, "url", "written")
    state.set([], "url", "recent")  # the browser moved to a URL of its own: our older writes are behind it
    state.set(True, "url", "pending")


def _history_navigation() -> bool:
    """This rerun came from the browser's Back or Forward (the pinned Streamlit marks such reruns)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "is_history_navigation", False))


# (the page of the run before, the page of this run), as ``note_page`` set them.
PAGES_KEY = "descent_lab.pages"


def note_page(title: str) -> None:
    """``app.py``, at the start of every run: which page this run shows. A visit to a page (from another
    page, or the session's first run) brings its URL from a link, never a stale one of a quick change."""
    st.session_state[PAGES_KEY] = (st.session_state.get(PAGES_KEY, (None, None))[1], title)


def _rerun_of_the_same_page() -> bool:
    before, now = st.session_state.get(PAGES_KEY, (None, None))
    return before is not None and before == now


def mark_written(state: PageState, query: dict[str, str]) -> None:
    """``query`` is now the URL this session gave the browser; the one it replaces may still come back in
    a request sent before the browser heard of it (``read_url`` then knows it as stale)."""
    previous = state.get("url", "written")
    if previous is not None and previous != query:
        now = time.monotonic()
        recent = [(old, at) for old, at in state.get("url", "recent", default=[])
                  if now - at <= STALE_SECONDS and old != previous]  # the newest time of each URL counts
        state.set([*recent[-7:], (previous, now)], "url", "recent")
    state.set(query, "url", "written")


def url_value(state: PageState, key: str, default=None):
    """A value the current URL set (only while it is being applied, i.e. until ``write_url``)."""
    if not state.get("url", "pending"):
        return default
    return state.get("url", "values", default={}).get(key, default)


def url_warnings(state: PageState) -> list[str]:
    """The warnings of the last URL applied, for as long as the page still shows what that URL set.

    They stay through reruns that change nothing (a phone's page-fixes element reruns the page once its
    width is known, after the URL was rewritten) and go once the visitor's own change is written back.
    """
    warnings = list(state.get("url", "warnings", default=[]))
    if state.get("url", "pending"):
        return warnings
    return warnings if st.query_params.to_dict() == state.get("url", "applied") else []


def write_url(state: PageState, params: dict[str, str]) -> None:
    """Mirror the page's settings into the query string; the URL is applied from now on."""
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    written = st.query_params.to_dict()
    if state.get("url", "pending"):
        state.set(written, "url", "applied")  # what the applied URL became: its warnings last while it stays
    mark_written(state, written)
    state.set(False, "url", "pending")
