"""Classic figures: the famous optimizer animations as one-click Race-page presets, each an exact URL."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

import optimizers
from lab import classics
from ui.links import page_url
from ui.page import use_app_navigation
from ui.surfaces import catalogue_surface

use_app_navigation()

def _summary(link: classics.RaceLink) -> str:
    surface = catalogue_surface(link.surface)
    rates = ", ".join(f"{optimizers.get(n).title} {link.hyperparameters_of(n).get('lr', 0):g}"
                      for n in link.optimizers)
    others = sorted({f"{k} = {v:g}" for n in link.optimizers for k, v in link.hyperparameters_of(n).items()
                     if k != "lr"})
    extra = f" · {', '.join(others)}" if others else ""
    return (f"{surface.title} · {link.steps} steps from ({link.start[0]:g}, {link.start[1]:g}) · "
            f"learning rates: {rates}{extra}")


def _atlas_link(query: dict) -> bool:
    """A link to the Atlas page's learning-rate view, if the app has that page."""
    try:
        st.page_link(classics.ATLAS_PAGE, label="Open the Atlas: the learning-rate comparison", icon="🗺️",
                     query_params=query)
    except StreamlitAPIException:  # the page is not in the navigation (yet)
        return False
    return True


st.title("Classic figures")
st.markdown("The animations that made optimizers famous, one click each. Every preset is a Race-page link "
            "with everything in the URL — surface, optimizers, steps, start and learning rates — so the "
            "same link shows the same race in any classroom. The full address under each button is the one "
            "to paste into slides or a message.")

for c in classics.CLASSICS:
    with st.container(border=True):
        st.subheader(c.title)
        st.markdown(f"**Watch for:** {c.watch}")
        st.caption(f"Source: {c.source}")
        if c.table:
            header, *rows = c.table
            st.table({column: [row[k] for row in rows] for k, column in enumerate(header)})
        if c.atlas_query is not None and _atlas_link(c.atlas_query):
            st.code(page_url(classics.ATLAS_PAGE, c.atlas_query), language=None, wrap_lines=True)
        for link in c.links:
            left, right = st.columns([1, 3], vertical_alignment="center")
            with left:
                st.page_link(classics.RACE_PAGE, label=link.label, icon="🏁", query_params=link.query())
            with right:
                st.caption(_summary(link))
            st.code(page_url(classics.RACE_PAGE, link.query()), language=None, wrap_lines=True)
