"""Descent Lab: entry point. The navigation table below is the one place that lists the pages.

Icons are Material Symbols, which ship with Streamlit's front end: they draw offline, unlike emoji that
depend on the visitor's fonts.
"""

from contextlib import nullcontext
from pathlib import Path

import pandas  # noqa: F401  (imported once here: concurrent first imports on a cold server raced)
import streamlit as st

from lab import heap, turns
from ui import a11y, urlsync

# The favicon is a local file: a Material Symbol as page_icon would be fetched from Google's servers.
FAVICON = Path(__file__).parent / "ui" / "favicon.png"
st.set_page_config(page_title="Descent Lab", page_icon=str(FAVICON), layout="wide")

PAGES = [
    st.Page("pages/race.py", title="Race", icon=":material/sports_score:", default=True),
    st.Page("pages/custom.py", title="Custom surface", icon=":material/edit:"),
    st.Page("pages/atlas.py", title="Atlas", icon=":material/map:"),
    st.Page("pages/explain.py", title="Optimizers explained", icon=":material/menu_book:"),
    st.Page("pages/moving_averages.py", title="Moving averages", icon=":material/show_chart:"),
    st.Page("pages/classics.py", title="Classic figures", icon=":material/movie:"),
    st.Page("pages/data.py", title="Data", icon=":material/scatter_plot:"),
]

# The pages drawn with the app's own plotly.js (race player, basin maps, data fits; the others use
# st.plotly_chart or no chart): their first picture waits for that bundle, so page_fixes, the first element
# of the run, starts loading it (ui/a11y.py).
OWN_PLOTLY = {"Race", "Custom surface", "Atlas", "Data"}

# The pages whose runs compute and draw and never wait for worker processes: their runs take turns, first
# come first served (lab/turns.py), so a crowd's runs finish in order instead of all late. The others wait
# for the worker pool (maps, formulas, fits) and would hold every turn up while they wait.
TAKE_TURNS = {"Race", "Optimizers explained", "Moving averages", "Classic figures"}

page = st.navigation(PAGES)
with turns.SCRIPTS.turn() if page.title in TAKE_TURNS else nullcontext():
    # Formula boxes that scroll sideways get a tab stop (every page); the bundle starts loading.
    a11y.page_fixes(preload_plotly=page.title in OWN_PLOTLY)
    urlsync.note_page(page.title)  # a rerun of the same page or a visit to it: see urlsync.read_url
    try:
        page.run()
    finally:
        # Once every page has run (the warm-up visits them all), the long-lived heap is frozen (lab/heap.py).
        heap.page_ran(page.title, [p.title for p in PAGES])
