"""Absolute links to the app's pages: the page's path from ``app.py``'s navigation table, the query from
``lab.urlstate``'s codec, the scheme and host from the visitor's own address (``st.context.url``).

Streamlit keeps the navigation table that ``st.navigation`` registered in the script run's pages manager
(``PageInfo`` dicts with ``script_path`` and ``url_pathname``); this module is the one adapter that reads
it (``tests/test_classics.py`` fails loudly if an upgrade changes it). Without a browser (AppTest) the
links are root-relative (``/explain?…``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lab import urlstate


def _pages() -> list[dict]:
    ctx = get_script_run_ctx()
    if ctx is None:
        return []
    return list(ctx.pages_manager.get_pages().values())


def page_path(script: str) -> str | None:
    """The URL path of the page whose script is ``script`` ("pages/explain.py" -> "explain"; the default
    page -> ""), as ``app.py``'s table declares it; None when the app has no such page."""
    wanted = Path(script).as_posix()
    for info in _pages():
        path = Path(str(info.get("script_path") or "")).as_posix()
        if path == wanted or path.endswith("/" + wanted):
            return str(info.get("url_pathname") or "")
    return None


def app_root() -> str:
    """The app's root address as the visitor sees it ("http://host:8501/"), or "/" without a browser."""
    url = st.context.url
    ctx = get_script_run_ctx()
    if not url or ctx is None:
        return "/"
    current = str(ctx.pages_manager.get_pages().get(ctx.page_script_hash, {}).get("url_pathname") or "")
    url = url.split("?", 1)[0].split("#", 1)[0]
    if current and url.rstrip("/").endswith("/" + current):
        url = url.rstrip("/")[: -len(current)]
    return url if url.endswith("/") else url + "/"


def page_url(script: str, params: Mapping[str, str]) -> str | None:
    """The absolute link to ``script``'s page with ``params`` (``lab.urlstate.link``); None when the app
    has no such page."""
    path = page_path(script)
    if path is None:
        return None
    return urlstate.link(app_root() + path, params)
