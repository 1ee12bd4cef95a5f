""""Make a GIF for slides": renders the race as an animated GIF on request, then offers it for download.

Only the latest GIF of a session is kept (``st.session_state["gif_export.latest"]``), together with the
key of the race it shows; as long as the page shows that race, reruns offer the same bytes without
rendering again. A different race shows the button again.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping

import streamlit as st

import optimizers
from lab.gif import race_gif

STATE_KEY = "gif_export.latest"
FAILED = "Could not make the GIF of this race."
_LOGGER = logging.getLogger(__name__)


def _latest(key: Hashable) -> bytes | None:
    stored = st.session_state.get(STATE_KEY)
    if stored is not None and stored.get("key") == key:
        return stored["data"]
    return None


def gif_download(surface, paths: Mapping[str, optimizers.Path], key: Hashable) -> None:
    """A "Make a GIF for slides" button; once rendered (with a progress bar), a download button.

    key: anything hashable and comparable that identifies the race shown (for example
    ``(surface_key, race)``): the stored GIF is offered again only for an equal key.
    """
    if not paths:
        return
    data = _latest(key)
    slot = st.empty()  # the button, then the progress bar, then the download button, in one place
    if data is None:
        clicked = slot.button("Make a GIF for slides", key="gif_export.make", icon=":material/gif_box:",
                              help="An animated GIF of this race (480×400, looping) for slides; "
                                   "it takes a second or two.")
        if not clicked:
            return
        bar = slot.progress(0.0, text="Drawing the frames…")
        shown = [0.0]

        def progress(fraction: float) -> None:
            fraction = min(max(float(fraction), 0.0), 1.0)
            if fraction - shown[0] >= 0.02 or fraction == 1.0:  # ~50 updates, not one per frame
                shown[0] = fraction
                bar.progress(fraction, text="Drawing the frames…")

        try:
            data = race_gif(surface, paths, progress=progress)
        except ValueError:  # the detail is for the log, not the visitor
            _LOGGER.warning("GIF export failed", exc_info=True)
            slot.warning(FAILED)
            return
        st.session_state[STATE_KEY] = {"key": key, "data": data}  # replaces the previous GIF
    size = f"{len(data) / 1e6:.1f} MB" if len(data) >= 1e6 else f"{len(data) / 1e3:.0f} kB"
    slot.download_button(f"Download the GIF ({size})", data=data, file_name=f"descent-lab-{surface.name}.gif",
                         mime="image/gif", key="gif_export.download", on_click="ignore",
                         icon=":material/download:")
