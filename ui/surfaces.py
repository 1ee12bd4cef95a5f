"""Surfaces for the pages: through the one resolver (``surfaces.spec``), which shares every compiled surface
between sessions (a catalogue surface is compiled once per process, about 0.1 s each)."""

from __future__ import annotations

import streamlit as st

import surfaces
from surfaces.spec import SurfaceSpec, resolve


def catalogue_surface(name: str) -> surfaces.Surface:
    """The catalogue surface ``name`` (ValueError for an unknown name), as every session shares it."""
    return resolve(SurfaceSpec.catalogue(name))


def surface_header(surface: surfaces.Surface, formula_width: str = "stretch") -> None:
    """Title line, formula and description of a surface; ``formula_width="content"`` leaves the rest of a
    horizontal container's row to the description (the Race page's compact head)."""
    formula = surface.latex.strip()
    st.latex(formula if formula.startswith("f(") else rf"f(x, y) = {formula}", width=formula_width)
    if surface.description:
        st.caption(surface.description)
