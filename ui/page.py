"""What every page does first."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def use_app_navigation() -> None:
    """Make a deep link run through ``app.py``'s navigation table, even as a fresh server's first visit.

    Until some script calls ``st.navigation``, Streamlit treats a ``pages/`` folder next to the entry
    script as the old automatic multipage layout: a first visitor who opens ``/atlas`` on a fresh server
    gets ``pages/atlas.py`` run on its own (no page config, a sidebar of file names). Switching that
    mode off and rerunning sends the same URL through ``app.py`` (whose ``st.navigation`` also switches
    it off for good).
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
