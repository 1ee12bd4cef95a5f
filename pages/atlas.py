"""Atlas: from which starts does each optimizer reach which minimum, and for which settings does it work?

Three views in lazy tabs (only the open one computes): basin maps (a G × G grid of starts per optimizer)
that follow a learning-rate slider, a sensitivity map (learning rate × a second hyperparameter for one
start) and the learning-rate comparison of the advanced-gradient-descent notes. Clicking a cell offers its
run on the Race page.

The surface, optimizers, steps, start and hyperparameters are the race pages' controls (``ui.controls``)
and URL parameters (``surface`` or ``expr`` and ``bounds``, ``optimizers``, ``steps``, ``start``,
``lr_<optimizer>``, ``<param>_<optimizer>``); the page adds ``grid``, ``view``, ``lr_scale``, ``sens``,
``param``, ``metric``, ``lrs`` and ``quantity`` (``ui.atlas``). A URL is read when it differs from the one
this session last wrote; each bad parameter gives one warning and the default is kept.
"""

import streamlit as st

from lab import atlas, literal
from ui import atlas as atlas_ui
from ui import controls, urlsync
from ui.page import use_app_navigation
from ui.surfaces import surface_header
from ui.urlsync import PageState

use_app_navigation()

controls.warm_formula_workers()  # a link may bring a formula (expr)
state = PageState("atlas")
urlsync.read_url(state, atlas_ui.url_parsers())
warnings = urlsync.url_warnings(state)
surface, spec = atlas_ui.choose_surface(state, warnings)
surface_presets = controls.presets_cached(spec, surface, state.key("btn_retry_presets"), state)
controls.apply_surface(state, surface, spec, surface_presets)

side = st.sidebar
names = controls.optimizer_picker(state, side, atlas_ui.DEFAULT_OPTIMIZERS, "Four classics",
                                  "SGD, Momentum, RMSprop and Adam")
grid = atlas_ui.grid_slider(state, side)
steps = controls.steps_slider(state, side, atlas.MAX_STEPS, atlas_ui.DEFAULT_STEPS)
start = controls.start_inputs(state, side, surface, "**Start** (sensitivity and learning-rate views)")

st.title("Landscape atlas of " + literal.text(surface.title))
surface_header(surface)
for message in warnings:
    st.warning(message)
hyperparameters = controls.hyperparameter_panel(
    state, names, surface_presets, "Learning rates start from a preset tuned for this surface, the rest from "
    "the papers; the maps use exactly these values.")

run = atlas_ui.Settings(surface, spec, names, grid, steps, start, hyperparameters)
urlsync.write_url(state, {**atlas_ui.url_params(run), **atlas_ui.show_views(state, run)})
