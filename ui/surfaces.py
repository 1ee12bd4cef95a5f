"""Compiled surfaces, shared by every session (compiling costs about 0.1 s each)."""

from __future__ import annotations

import streamlit as st

import surfaces


@st.cache_resource(max_entries=len(surfaces.available()))
def catalogue_surface(name: str) -> surfaces.Surface:
    return surfaces.get(name)


def surface_header(surface: surfaces.Surface) -> None:
    """Title line, formula and description of a surface."""
    st.latex(rf"f(x, y) = {surface.latex}")
    if surface.description:
        st.caption(surface.description)
