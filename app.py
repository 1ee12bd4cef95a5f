"""Descent Lab: entry point. The navigation table below is the one place that lists the pages."""

import streamlit as st

st.set_page_config(page_title="Descent Lab", page_icon="⛰️", layout="wide")

PAGES = [
    st.Page("pages/race.py", title="Race", icon="🏁", default=True),
    st.Page("pages/custom.py", title="Custom surface", icon="✏️"),
    st.Page("pages/atlas.py", title="Atlas", icon="🗺️"),
]

st.navigation(PAGES).run()
