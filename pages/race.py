"""Race: the optimizers side by side on a classic test surface, Radford-style."""

import streamlit as st

import surfaces
from lab import urlstate
from ui import present
from ui import race as race_ui
from ui.page import use_app_navigation
from ui.surfaces import catalogue_surface, surface_header

use_app_navigation()

DEFAULT_SURFACE = "beale"

state = race_ui.PageState("race")
race_ui.read_url(state, extra={"surface": lambda text: urlstate.parse_choice(text, surfaces.available())})
if race_ui.url_value(state, "surface") is not None:
    state.set(race_ui.url_value(state, "surface"), "surface")
if state.key("surface") not in st.session_state:
    state.set(DEFAULT_SURFACE, "surface")

bar = present.bar(state)  # None unless the presenter view (present=1)
(bar.surface if bar else st.sidebar).selectbox(
    "Surface", surfaces.available(), key=state.key("surface"), persist_state="session",
    format_func=lambda name: catalogue_surface(name).title,
    label_visibility="collapsed" if bar else "visible")
name = state.get("surface")
surface = catalogue_surface(name)

if bar is None:
    st.title(f"Optimizer race on {surface.title}")
    surface_header(surface)
surface_key = ("catalogue", name)
race_ui.show_race(state, surface, surface_key, {"surface": name},
                  race_ui.presets_cached(surface_key, surface), bar=bar)
