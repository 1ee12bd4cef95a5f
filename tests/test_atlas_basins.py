"""AppTest of the Atlas's map component: the page hands it the engine's exact maps as plain data, a
click (the component's ``cell`` trigger, stored by its callback) names a start and offers its replay, and
a click that names no cell of the current maps is ignored."""

from __future__ import annotations

import base64

import numpy as np

import surfaces
from figures import atlas as atlas_figures
from lab import atlas
from lab.presets import surface_presets
from tests.app_helpers import component_data, open_app
from ui import basins

URL = {"surface": "himmelblau", "grid": "32", "steps": "60", "optimizers": "sgd,adam"}


def _atlas():
    return open_app("pages/atlas.py", **URL)


def _component_data(at) -> dict:
    return component_data(at, basins.COMPONENT_NAME)


def test_the_page_hands_the_component_the_engines_maps():
    at = _atlas()
    assert not at.exception
    data = _component_data(at)
    presets = surface_presets("himmelblau")
    maps = atlas.basin_maps(atlas.catalogue_spec("himmelblau"), ["sgd", "adam"],
                            {n: presets[n] for n in ("sgd", "adam")}, 32, 60)
    for panel, (name, m) in zip(data["panels"], maps.items(), strict=True):
        heat = data["figure"]["data"][panel["trace"]]
        z = np.frombuffer(base64.b64decode(heat["z"]["bdata"]), dtype=np.int8)
        expected = atlas_figures.class_index(surfaces.get("himmelblau"), m.codes)
        np.testing.assert_array_equal(z, expected.ravel())
        assert panel["optimizer"] == name
    assert data["label"].startswith("Basin maps of SGD, Adam") and data["highlight"] is None
    assert data["plotly"].endswith(".js")


def test_a_click_names_the_start_and_offers_its_replay():
    at = _atlas()
    data = _component_data(at)
    index = 7 * 32 + 11
    at.session_state["keep.atlas.basin_cell"] = {"optimizer": "adam", "index": index, "id": data["id"]}
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "**Adam** from (" in text
    xs, ys = atlas.grid_axes(surfaces.get("himmelblau").bounds, 32)
    i, j = divmod(index, 32)
    assert _component_data(at)["highlight"] == {"optimizer": "adam", "x": float(xs[j]), "y": float(ys[i])}
    assert any("optimizers=adam" in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_click_on_older_maps_or_no_cell_is_ignored():
    at = _atlas()
    data = _component_data(at)
    for value in ({"optimizer": "adam", "index": 3, "id": "not-these-maps"},
                  {"optimizer": "adam", "index": 32 * 32, "id": data["id"]},
                  {"optimizer": "lbfgs", "index": 3, "id": data["id"]}, "garbage"):
        at.session_state["keep.atlas.basin_cell"] = value
        at.run()
        assert not at.exception
        assert _component_data(at)["highlight"] is None
        assert not any("**Adam** from (" in m.value for m in at.markdown)


def test_large_maps_leave_the_steps_out_of_the_hover_data():
    himmelblau = surfaces.get("himmelblau")
    presets = surface_presets("himmelblau")
    for grid, has_steps in ((atlas_figures.HOVER_STEPS_MAX_GRID, True), (256, False)):
        maps = atlas.basin_maps(atlas.catalogue_spec("himmelblau"), ["sgd"], presets, grid, 5)
        panel = atlas_figures.basin_payload(himmelblau, maps)["panels"][0]
        assert ("steps_at" in panel) is has_steps
