"""The framework's floor: the Race page's Streamlit elements with nothing computed (``bench_load.py floor``).

``FLOOR_SCRIPT`` is a Streamlit app, kept as text and written into a scratch folder by ``write`` (as
``bench_animation.py`` does with its demo): it is no part of the app, and Streamlit is imported only by the
app's pages and ``ui/``. The benchmark starts it from the repository's root, so it runs with the app's
``.streamlit/config.toml`` (no forced collection after a run, no file watcher), with the repository on
``PYTHONPATH`` for ``lab.turns``.

Every run sends what a run of the Race page (the crowd's link, normal view) sends: the same elements in the
same containers, seven pages in the navigation, a session state of the same size, and one component element
whose payload is the race player's for that link (``FLOOR_FIRST_BYTES`` on a session's first run, when the
player sends its code, pictures and paths, ``FLOOR_RERUN_BYTES`` on a rerun of the same race, when it sends
references to them; ``bench_load.py floor`` prints both pages' bytes to compare). Runs take turns in arrival
order as the app's do, and the long-lived heap is frozen after the first run as the warm app's is. What this
page costs the server and the browser is what any page built of these elements costs on the machine: the part
of the app's figures that no code of ours can remove.
``tests/test_floor_app.py`` fails when the page's elements and the floor's differ.
"""

from __future__ import annotations

from pathlib import Path

FLOOR_SCRIPT = '''"""The framework's floor (bench/floor.py writes it for bench_load.py floor)."""

import gc
import os

import pyarrow as pa
import streamlit as st

from lab import turns

# What the race player sends for the crowd's link (Beale, 7 optimizers × 500 steps): its code, pictures and
# paths on a session's first run, then only references to them on a rerun of the same race.
FIRST_BYTES = int(os.environ.get("FLOOR_FIRST_BYTES", "560000"))
RERUN_BYTES = int(os.environ.get("FLOOR_RERUN_BYTES", "22000"))
# The component marks its first mount, the moment the app's player would start its own work.
MOUNT_JS = """export default function (component) {
  if (!performance.getEntriesByName('floor:mounted').length) performance.mark('floor:mounted');
}"""
SESSION_KEYS = 46  # with the widgets and floor.sent, as many keys as the Race page keeps (~63)


@st.cache_resource
def _component():
    return st.components.v2.component("floor_player", js=MOUNT_JS)


@st.cache_resource
def _payloads() -> tuple[bytes, bytes]:
    return b"\\x01" * FIRST_BYTES, b"\\x02" * RERUN_BYTES


@st.cache_resource
def _table() -> pa.Table:
    return pa.table({"Optimizer": ["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "RMSprop", "Adam"],
                     "Final f": ["0.1"] * 7, "Steps": ["500"] * 7})


@st.cache_resource
def _first_run_done() -> list[bool]:
    return [False]


def _noop() -> None:
    """The player's step report: a declared state key, as in the app."""


def race() -> None:
    # ui.a11y.page_fixes: a preload link and a small component, in a row.
    with st.container(horizontal=True):
        st.markdown("<link rel='preload' href='./app/static/none.js' as='script'>", unsafe_allow_html=True)
        _component()(key="fixes", data=b"\\x00" * 7000)
    st.html("<style>.floor{}</style>")
    side = st.sidebar
    side.selectbox("Surface", ["beale", "booth", "himmelblau"], key="floor.surface")
    rows = st.container(gap="xsmall")
    title_row = rows.container(horizontal=True, vertical_alignment="center", key="floor_head")
    title_row.title("Optimizer race on Beale")
    with rows.container(horizontal=True, vertical_alignment="center", gap="xsmall", key="floor_formula"):
        st.latex("f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2", width="content")
        st.caption("Narrow curved valleys and flat plateaus.")
    tools = rows.container(horizontal=True, vertical_alignment="bottom", key="floor_tools")
    side.multiselect("Optimizers", ["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "RMSprop", "Adam"],
                     default=["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "RMSprop", "Adam"],
                     key="floor.optimizers")
    left, right = side.columns(2)
    left.button("Radford's + Adam", key="floor.radford")
    right.button("All ten", key="floor.all")
    side.slider("Steps", 1, 5000, 500, key="floor.steps")
    side.markdown("**Start point**")
    sx, sy = side.columns(2)
    sx.number_input("x", -1e6, 1e6, 1.0, key="floor.x")
    sy.number_input("y", -1e6, 1e6, 1.5, key="floor.y")
    side.selectbox("Suggested starts", [0, 1, 2], index=None, key="floor.suggested")
    side.select_slider("Playback speed", [0.25, 0.5, 1.0, 2.0, 4.0], value=1.0, key="floor.speed")
    side.radio("Pictures", ["both", "contour", "3d"], horizontal=True, key="floor.view")
    with tools:
        st.expander("Hyperparameters", key="floor_hp_open", on_change="rerun")
        st.expander("Schedules and gradient noise", key="floor_options_open", on_change="rerun")
    title_row.button("Present", key="floor.present")
    tools.pills("Overlays", ["Gradient", "Step", "Look-ahead", "Effective step"], selection_mode="multi",
                key="floor.overlays")
    first, rerun = _payloads()
    _component()(key="floor.player", data=rerun if st.session_state.get("floor.sent") else first,
                 on_step_change=_noop)
    st.session_state["floor.sent"] = True
    st.table(_table(), hide_index=True)
    st.caption("No run came within 0.001 of a minimum in 500 steps.")
    left, right = st.columns(2)
    left.download_button("Download trajectories (CSV)", data=lambda: "x", file_name="floor.csv",
                         on_click="ignore")
    right.download_button("Download the animation (offline HTML)", data=lambda: "x", file_name="floor.html",
                          on_click="ignore")
    st.popover("GIF for slides")
    st.empty()


def _other() -> None:
    st.write("another page")


for i in range(SESSION_KEYS):
    st.session_state.setdefault(f"floor.keep.{i}", 0.1)
page = st.navigation([st.Page(race, title="Race", default=True)]
                     + [st.Page(_other, title=f"Page {i}", url_path=f"page{i}") for i in range(6)])
with turns.SCRIPTS.turn():
    page.run()
done = _first_run_done()
if not done[0]:  # lab.heap does this once every page ran; here one page is all there is
    done[0] = True
    gc.collect()
    gc.freeze()
'''


def write(folder: Path) -> Path:
    """Write the floor app into ``folder``; return its path."""
    path = Path(folder) / "floor_app.py"
    path.write_text(FLOOR_SCRIPT, encoding="utf-8")
    return path
