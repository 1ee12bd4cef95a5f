"""The Atlas's basin maps in the browser: a Streamlit components-v2 element around plotly.js.

``st.plotly_chart`` cannot report a click on a heatmap cell (streamlit/streamlit#8760), which once made
every map carry a layer of invisible WebGL points for clicks: ~700 kB per redraw, and seconds of software
WebGL in a browser without a GPU. This element draws the maps as heatmaps only (``figures.atlas.
basin_payload``: int8 classes and int16 steps as base64 typed arrays), makes the hover text in the browser
and reports a click on any cell, so a step of the learning-rate slider costs about a quarter of the bytes
and no WebGL at all. The script is ``ui/basins/basins.js`` joined after the race player's
``util.js`` and ``load-plotly.js`` (the same plotly.js bundle, loaded once per page).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from ui.assets import player_sources, serve_plotly_package
from ui.bundle import PLAYER_DIR, bundle

BASINS_DIR = Path(__file__).resolve().parent / "basins"
COMPONENT_NAME = "descent_lab_basin_maps"
SCRIPT = "\n".join([bundle(PLAYER_DIR, "util.js"), bundle(PLAYER_DIR, "load-plotly.js"),
                    bundle(BASINS_DIR, "basins.js"), "export default mountBasins;", ""])
CSS = ".dl-basins { width: 100%; } .dl-basins-plot { width: 100%; }"

_component = st.components.v2.component(COMPONENT_NAME, css=CSS, js=SCRIPT, isolate_styles=False)


def basin_maps(payload: dict, *, key: str, label: str, highlight: tuple[str, float, float] | None = None,
               on_cell: Callable[[], None] | None = None) -> None:
    """Show the maps of ``payload`` (``figures.atlas.basin_payload`` plus an ``id`` naming its content).

    ``highlight`` = (optimizer, x, y) rings that start. A click on a cell sends the trigger ``cell``
    (``{"optimizer", "index": i * G + j, "id"}``), readable as ``st.session_state[key]["cell"]`` inside
    ``on_cell``, which runs before the script.
    """
    serve_plotly_package()  # the fallback route, when static/ was never provisioned
    data = {**payload, "plotly": player_sources()[0], "label": label,
            "highlight": None if highlight is None else {"optimizer": highlight[0], "x": float(highlight[1]),
                                                         "y": float(highlight[2])}}
    callbacks = {"on_cell_change": on_cell} if on_cell is not None else {}
    _component(key=key, data=data, height="content", **callbacks)
