"""Race: the optimizers side by side on a classic test surface, Radford-style."""

import streamlit as st

from lab import urlstate
from surfaces.spec import SurfaceSpec
from ui import controls, present
from ui import race as race_ui
from ui.page import use_app_navigation
from ui.surfaces import catalogue_surface

use_app_navigation()

DEFAULT_SURFACE = "beale"

state = race_ui.PageState("race")
race_ui.read_url(state, extra={"surface": urlstate.parse_surface})
bar = present.bar(state)  # None unless the presenter view (present=1)
name = controls.surface_picker(state, DEFAULT_SURFACE, bar.surface if bar else st.sidebar,
                               label_visibility="collapsed" if bar else "visible")
surface = catalogue_surface(name)

# The title's row takes the Present button: the head stays short enough for the player to fit a projector.
head = None if bar else race_ui.page_head(f"Optimizer race on {surface.title}", surface)
surface_key = SurfaceSpec.catalogue(name)  # the one name of a surface (surfaces.spec)
race_ui.show_race(state, surface, surface_key, {"surface": name},
                  controls.presets_cached(surface_key, surface), bar=bar, head=head)
