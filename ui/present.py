"""The presenter view of a race page (URL ``present=1``): a projector-first layout for a classroom.

- Every control folds into one slim bar above the player (the page's surface, then Optimizers and Settings
  as pop-overs, the high-contrast switch and the way back); the sidebar and Streamlit's header are hidden.
- The player fits both pictures into the window below its own toolbar (``ui/player/present.js``), with
  type for a room and thicker trails; ``contrast=1`` switches to the high-contrast palette
  (``figures.palette``) on a light grey background.
- A QR code of the race's link (without ``present``/``contrast``, so a phone opens the normal page) is
  drawn here with segno, locally, and sent to the player as a matrix of 0/1 rows; the player draws it as
  SVG and shows the link in large text beside it. Nothing is fetched from the internet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import segno
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ui.urlsync import PageState, url_value

PRESENT_PARAMS = ("present", "contrast")  # URL flags of the presenter view, never part of the shared link

# Page-level CSS of the presenter view (our own, fixed text): no sidebar, no header, little padding, so
# the bar and the player start at the top of the window.
PRESENT_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], header[data-testid="stHeader"],
[data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.5rem 1rem 2rem !important; max-width: none !important; }
.st-key-dl-present-bar { gap: 0.5rem 0.75rem; }
.st-key-dl-present-bar p { font-size: 1.05rem; }
</style>"""


def parse_flag(text: str) -> bool:
    """``1``/``0`` (also true/false, yes/no, on/off) as a bool."""
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected 1 or 0")


URL_PARSERS = {name: parse_flag for name in PRESENT_PARAMS}


@dataclass
class Bar:
    """Where a page puts its controls in the presenter view."""

    surface: DeltaGenerator  # the page's own surface control(s)
    optimizers: DeltaGenerator  # pop-over: which optimizers race
    settings: DeltaGenerator  # pop-over: everything else (steps, start, speed, hyperparameters, overlays)
    contrast: bool


def _set(state: PageState, value: bool, key: str) -> None:
    state.set(value, key)


def bar(state: PageState) -> Bar | None:
    """The presenter bar when the page is in the presenter view (after ``read_url``), else None."""
    for key in PRESENT_PARAMS:
        if url_value(state, key) is not None:
            state.set(bool(url_value(state, key)), key)
        state.init(False, key)
    if not state.get("present"):
        return None
    st.html(PRESENT_CSS)
    row = st.container(horizontal=True, vertical_alignment="center", key="dl-present-bar")
    surface = row.container(width=320)
    optimizers = row.popover("Optimizers", icon=":material/groups:")
    settings = row.popover("Settings", icon=":material/tune:")
    row.toggle("High contrast", key=state.key("contrast"), persist_state="session",
               help="Darker trail colours, dashed lines for look-alike pairs, and a light grey background: "
                    "for washed-out projectors.")
    row.button("Exit presenter view", icon=":material/close_fullscreen:", key=state.key("btn_present_off"),
               on_click=_set, args=(state, False, "present"))
    return Bar(surface, optimizers, settings, bool(state.get("contrast")))


def present_button(state: PageState, where: DeltaGenerator | None = None) -> None:
    """The way into the presenter view, on the normal page (in ``where``: the page's title row)."""
    (where or st).button(
        "Present", icon=":material/co_present:", key=state.key("btn_present_on"), on_click=_set,
        args=(state, True, "present"),
        help="Projector layout: both pictures on one screen, large type, keyboard control (press ? in the "
             "player) and a QR code of this race for phones.")


def url_params(state: PageState) -> dict[str, str]:
    """The presenter view's own URL parameters (added to the race's)."""
    params = {}
    if state.get("present"):
        params["present"] = "1"
        if state.get("contrast"):
            params["contrast"] = "1"
    return params


def share_url(params: Mapping[str, str], base: str | None = None) -> str:
    """The link that reproduces the race: the page's address and its parameters, less the presenter flags."""
    if base is None:
        base = st.context.url or ""
    parts = urlsplit(base)
    if parts.netloc and not parts.path:
        base = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    query = urlencode({k: v for k, v in params.items() if k not in PRESENT_PARAMS})
    return f"{base}?{query}" if query else base


def qr_rows(text: str) -> list[str]:
    """The QR code of ``text`` as rows of "0"/"1" (1 = dark), with the standard 4-module quiet zone.

    Error correction at least M (segno raises it when that costs no extra size), so a projector's glare or
    a phone held at an angle still reads it.
    """
    code = segno.make_qr(text, error="m")
    return ["".join("1" if v else "0" for v in row) for row in code.matrix_iter(scale=1, border=4)]


def player_options(title: str, params: Mapping[str, str], contrast: bool, base: str | None = None) -> dict:
    """What the player needs for the presenter view (``ui.animation.race_data``'s ``present``)."""
    url = share_url(params, base)
    return {"title": title, "contrast": contrast, "url": url, "qr": {"rows": qr_rows(url)}}
