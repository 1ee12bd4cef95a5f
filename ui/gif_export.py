""""Make a GIF for slides": renders the race as an animated GIF on request, then offers it for download.

The visitor picks the picture first (in a pop-over): the size (480 × 400, or 16:9 slides of 960 × 540 and
1280 × 720), a title, the formula, axes, and large type. Only the latest GIF of a session is kept
(``st.session_state["gif_export.latest"]``), together with the
key of the race it shows; as long as the page shows that race, reruns offer the same bytes without
rendering again. A different race shows the button again.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping

import streamlit as st

import optimizers
from lab import turns
from lab.gif import SIZES, SLIDE_SIZES, GifStyle, race_gif
from lab.race import formula_text

STATE_KEY = "gif_export.latest"
FAILED = "Could not make the GIF of this race."
_LOGGER = logging.getLogger(__name__)


def _latest(key: Hashable) -> bytes | None:
    stored = st.session_state.get(STATE_KEY)
    if stored is not None and stored.get("key") == key:
        return stored["data"]
    return None


SIZE_LABELS = {"1280x720": "1280 × 720 (slides, 16:9)", "960x540": "960 × 540 (slides, 16:9)",
               "480x400": "480 × 400 (a web page)"}
MAX_TITLE = 80


OPEN_KEY = "gif_export.open"  # the pop-over's open state: its options are drawn only while it is open
# The options' first values: the fields' defaults, and what a closed pop-over uses before they were drawn.
_DEFAULTS = {"gif_export.size": SLIDE_SIZES[0], "gif_export.formula": True, "gif_export.axes": True,
             "gif_export.large": True}


def gif_style(surface, where=None) -> GifStyle:
    """The picture's options (size, title, formula, axes, large type), drawn in ``where``."""
    where = where or st
    size = where.selectbox("Size", [*SLIDE_SIZES, "480x400"], key="gif_export.size",
                           format_func=SIZE_LABELS.get, persist_state="session")
    title = where.text_input("Title", value=surface.title, max_chars=MAX_TITLE, key="gif_export.title",
                             help="Drawn at the top left of every frame.", persist_state="session")
    c1, c2, c3 = where.columns(3)
    formula = _checkbox(c1, "Formula", "gif_export.formula")
    axes = _checkbox(c2, "Axes", "gif_export.axes")
    large = _checkbox(c3, "Large type", "gif_export.large",
                      help="Type scaled to the picture's height, for the back of the room.")
    return _style(surface, size, title, formula, axes, large)


def _checkbox(where, label: str, key: str, **kwargs) -> bool:
    return where.checkbox(label, value=_DEFAULTS[key], key=key, persist_state="session", **kwargs)


def _kept_style(surface) -> GifStyle:
    """The options as last chosen (kept in the session while the pop-over is closed), or the defaults."""
    state = st.session_state
    values = {k: state.get(k, v) for k, v in _DEFAULTS.items()}
    size = values["gif_export.size"] if values["gif_export.size"] in SIZES else SLIDE_SIZES[0]
    title = state.get("gif_export.title")
    return _style(surface, size, title if isinstance(title, str) else surface.title,
                  *(bool(values[k]) for k in ("gif_export.formula", "gif_export.axes", "gif_export.large")))


def _style(surface, size: str, title: str, formula: bool, axes: bool, large: bool) -> GifStyle:
    width, height = SIZES[size]
    scale = max(1.0, height / 400) if large else 1.0
    shown = formula_text(surface) if formula else None
    return GifStyle((width, height), title.strip() or surface.title, shown, axes, scale)


def gif_download(surface, paths: Mapping[str, optimizers.Path], key: Hashable) -> None:
    """"GIF for slides": its options in a pop-over and a "Make the GIF" button; once rendered (with a
    progress bar), a download button.

    key: anything hashable and comparable that identifies the race shown (for example
    ``(surface_key, race)``): the stored GIF is offered again only for an equal key and the same options.
    The pop-over's content runs only while it is open (opening it reruns the page): its six widgets cost
    every other run of the race page ~8 ms of the server's one Python lock, which a class's crowd shares.
    """
    if not paths:
        return
    popover = st.popover("GIF for slides", icon=":material/gif_box:", key=OPEN_KEY, on_change="rerun")
    clicked = False
    with popover:
        if popover.open:
            style = gif_style(surface)
            clicked = st.button("Make the GIF", key="gif_export.make", type="primary",
                                help="An animated, looping GIF of this race; it takes a few seconds.")
        else:
            style = _kept_style(surface)
    key = (key, style)
    data = _latest(key)
    slot = st.empty()  # the progress bar, then the download button, in one place
    if data is None:
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
            with turns.SCRIPTS.aside():  # seconds of drawing: the race visitors' runs go on meanwhile
                data = race_gif(surface, paths, progress=progress, style=style)
        except ValueError:  # the detail is for the log, not the visitor
            _LOGGER.warning("GIF export failed", exc_info=True)
            slot.warning(FAILED)
            return
        st.session_state[STATE_KEY] = {"key": key, "data": data}  # replaces the previous GIF
    size = f"{len(data) / 1e6:.1f} MB" if len(data) >= 1e6 else f"{len(data) / 1e3:.0f} kB"
    slot.download_button(f"Download the GIF ({size})", data=data, file_name=f"descent-lab-{surface.name}.gif",
                         mime="image/gif", key="gif_export.download", on_click="ignore",
                         icon=":material/download:")
