"""What every page does first — and the one adapter over a private switch of Streamlit's.

The app keeps its pages in a folder called ``pages/`` (the design names it so) and lists them in
``app.py``'s ``st.navigation`` table. Until some script calls ``st.navigation``, Streamlit treats a
``pages/`` folder next to the entry script as the old automatic multipage layout: a first visitor who opens
``/atlas`` on a fresh server gets ``pages/atlas.py`` run on its own (no page config, a sidebar of file
names). The switch for that layout is private: ``streamlit.runtime.pages_manager.PagesManager
.uses_pages_directory`` (a class attribute: None until the first session decides, True for the old
layout, False once ``st.navigation`` ran). ``LegacyPagesSwitch`` is the only code that reads or writes it;
``tests/test_page_adapter.py`` fails loudly when a Streamlit upgrade renames it or changes what it means
(who sets it, and that the script runner follows it).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

ATTRIBUTE = "uses_pages_directory"


class LegacyPagesSwitch:
    """Streamlit's private "pages/ folder layout" switch (see the module's docstring)."""

    owner = PagesManager

    @classmethod
    def is_on(cls) -> bool:
        """True while Streamlit would run a page file on its own (the old pages/ layout)."""
        return bool(getattr(cls.owner, ATTRIBUTE))

    @classmethod
    def turn_off(cls) -> None:
        """What ``st.navigation`` does: use the navigation table, never the folder layout."""
        if not hasattr(cls.owner, ATTRIBUTE):  # loud, not silently wrong, after an upgrade
            raise RuntimeError(f"Streamlit's PagesManager has no {ATTRIBUTE!r} any more: see ui/page.py")
        setattr(cls.owner, ATTRIBUTE, False)


def use_app_navigation() -> None:
    """Make a deep link run through ``app.py``'s navigation table, even as a fresh server's first visit:
    switch the folder layout off and rerun the same URL (``app.py``'s ``st.navigation`` keeps it off)."""
    if LegacyPagesSwitch.is_on():
        LegacyPagesSwitch.turn_off()
        st.rerun()
