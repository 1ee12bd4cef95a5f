"""Descent Lab: entry point. The navigation table below is the one place that lists the pages."""

import streamlit as st

st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide")

PAGES = [
    st.Page("pages/race.py", title="Race", icon="🏁", default=True),
    st.Page("pages/custom.py", title="Custom surface", icon="✏️"),
    st.Page("pages/atlas.py", title="Atlas", icon="🗺️"),
    st.Page("pages/explain.py", title="Optimizers explained", icon="📖"),
    st.Page("pages/moving_averages.py", title="Moving averages", icon="📈"),
    st.Page("pages/classics.py", title="Classic figures", icon="🎞️"),
]

st.navigation(PAGES).run()
