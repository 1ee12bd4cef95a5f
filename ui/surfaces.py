"""Compiled surfaces, shared by every session (compiling costs about 0.1 s each)."""

from __future__ import annotations

import streamlit as st

import surfaces


@st.cache_resource(max_entries=len(surfaces.available()))
def catalogue_surface(name: str) -> surfaces.Surface:
    return surfaces.get(name)


def surface_header(surface: surfaces.Surface) -> None:
    """Title line, formula and description of a surface."""
    formula = surface.latex.strip()
    st.latex(formula if formula.startswith("f(") else rf"f(x, y) = {formula}")
    if surface.description:
        st.caption(surface.description)
