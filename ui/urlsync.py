"""Page state in the session and its mirror in the query string, shared by every page with a URL.

State lives in ``st.session_state`` under ``keep.<page>.*`` keys (widgets use ``persist_state="session"``
so nothing is lost when the visitor visits another page) and is written into the query string after
every run, so a link reproduces the page exactly. A URL is read when it differs from the one this session
last wrote (a fresh visit, a shared link, a preset); each malformed or unknown parameter gives one visible
warning and the control keeps its default. The visitor's text in those warnings goes through
``lab.literal``, so a link cannot put formatting or links of its own into them.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

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


def read_url(state: PageState, parsers: dict[str, Callable[[str], object]]) -> None:
    """Apply a new URL: valid values are kept in ``url.values`` (see ``url_value``), problems as warnings."""
    query = st.query_params.to_dict()
    if query == state.get("url", "written"):
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
    state.set(True, "url", "pending")


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
    state.set(written, "url", "written")
    state.set(False, "url", "pending")
