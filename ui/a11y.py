"""Page-wide accessibility fixes that Streamlit's own elements need on every page.

A formula wider than the screen (a phone showing Beale's function) scrolls sideways inside its own
KaTeX box, which Streamlit styles with ``overflow-x: auto``. A box that scrolls must be reachable by
keyboard (WCAG 2.1.1; axe-core's ``scrollable-region-focusable``), so each formula box that actually
overflows gets a tab stop and a name ("Formula, scrolls sideways"); one that fits gets none. The check
runs again whenever Streamlit redraws or the window changes size.

The same element tells Python when the window is phone-narrow (``narrow_screen``), so pictures built on
the server as one figure of several panels (the Atlas's basin maps and learning-rate panels) can put one
panel per row there. It reports only a change, so a desktop visit never reruns for it.

It is a components-v2 element with fixed code and no visitor data, mounted once per page by ``app.py``
inside a container the CSS hides, so it takes no room. Beside it goes the page layout that makes a race
fit a classroom projector (``LAYOUT_CSS``), as a style-only ``st.html`` (Streamlit draws it as it arrives,
where a component is held back until a quick run ends): first in every run, so the page does not jump.

Being the first element of every script run, it also starts loading the page's plotly.js bundle on the
pages that draw with it (``preload_plotly``: the race player, the basin maps, the data fits), in two ways:

- a ``<link rel="preload">`` in a Markdown element beside it (the app's own URL, no visitor text): the
  browser draws Markdown as it arrives, so the bundle downloads and compiles (off the main thread, see
  ``ui.assets``) while the server still runs the page. A quick run renders its components only at its
  end (Streamlit holds them back while deltas keep arriving), so this is the only part that starts early
  there;
- the component's code runs the bundle (``ui/player/load-plotly.js``, which loads each bundle once per
  page): on a busy or just-started server, whose run pauses, that is long before the race player
  arrives, which then finds plotly ready.
"""

from __future__ import annotations

import streamlit as st

from ui.assets import player_sources
from ui.bundle import bundle

NARROW_PX = 640  # Streamlit stacks st.columns below this width too
KEY = "dl-page-fixes-element"
# The race pages' compact rows (``ui.race.page_head`` and ``show_race``), styled by LAYOUT_CSS.
RACE_HEAD_KEY, RACE_FORMULA_KEY, RACE_TOOLS_KEY = "dl-race-head", "dl-race-formula", "dl-race-tools"

# A projector's 1280 × 720 must show the race player's picture and Play without scrolling (every page's top
# padding was 6rem, of which Streamlit's header takes 3.75rem):
# - the page starts just below the header;
# - a race page's title is smaller and without padding, in one row with the Present button;
# - the surface's description sits beside its formula while at least 10rem are left there (it wraps below
#   otherwise), which keeps Ackley's long formula on one row with it;
# - in the tools row (Hyperparameters, Schedules and gradient noise, Overlays) an opened panel takes the
#   whole row, so its fields are as wide as when the panels were stacked; it stays the same element (no
#   remount), so keyboard focus stays on its summary.
LAYOUT_CSS = (
    '[data-testid="stMainBlockContainer"] { padding-top: 3.75rem; }\n'
    f".st-key-{RACE_HEAD_KEY} h1 {{ font-size: 2.25rem; padding: 0; }}\n"
    f".st-key-{RACE_FORMULA_KEY} > .stElementContainer:last-child {{ flex-basis: 10rem; }}\n"
    f'.st-key-{RACE_TOOLS_KEY} > [data-testid="stLayoutWrapper"]:has(details[open]) {{ flex: 1 1 100%; }}\n'
)

CSS = """
.st-key-dl-page-fixes, [data-testid="stLayoutWrapper"]:has(> .st-key-dl-page-fixes),
.stElementContainer:has(> .st-key-dl-page-fixes) { display: none; }
.katex-display[data-dl-scrolls] { scrollbar-width: thin; padding-bottom: 0.25rem; }
.katex-display[data-dl-scrolls]:focus-visible { outline: 3px solid #b35c00; outline-offset: 2px; }
"""

JS = """
const LABEL = "Formula, scrolls sideways";

function markScrollingFormulas() {
  for (const box of document.querySelectorAll(".katex-display")) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("data-dl-scrolls")) {
      box.setAttribute("data-dl-scrolls", "");
      box.tabIndex = 0;
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", LABEL);
    } else if (!scrolls && box.hasAttribute("data-dl-scrolls")) {
      box.removeAttribute("data-dl-scrolls");
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }
}

export default function pageFixes(component) {
  const data = (component && component.data) || {};
  // A failed early load is forgotten (load-plotly.js); the picture's own load tries again and says why.
  if (typeof data.plotly === "string") {
    performance.mark("dl:preload");  // bench/bench_animation.py --timeline reads it
    dlLoadPlotly(data.plotly).catch(() => {});
  }
  const report = () => {
    const narrow = window.innerWidth < Number(data.narrow_px || 640);
    if (narrow !== !!data.narrow && component.setStateValue) {
      data.narrow = narrow;
      component.setStateValue("narrow", narrow);
    }
  };
  report();
  if (window.__descentLabPageFixes) return window.__descentLabPageFixes;
  let queued = false;
  const schedule = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      markScrollingFormulas();
    });
  };
  const observer = new MutationObserver(schedule);
  observer.observe(document.body, { childList: true, subtree: true });
  window.addEventListener("resize", schedule);
  window.addEventListener("resize", report);
  schedule();
  const cleanup = () => {
    observer.disconnect();
    window.removeEventListener("resize", schedule);
    window.removeEventListener("resize", report);
    window.__descentLabPageFixes = null;
  };
  window.__descentLabPageFixes = cleanup;
  return cleanup;
}
"""

_page_fixes = st.components.v2.component("descent_lab_page_fixes", css=CSS,
                                         js=JS + bundle(entry="load-plotly.js"), isolate_styles=False)


def _noop() -> None:
    """A callback makes ``narrow`` a declared state key of the element."""


def page_fixes(preload_plotly: bool = False) -> None:
    """Mount the fixes (call once per script run, before the page); with ``preload_plotly``, also start
    loading the plotly.js bundle that the page's pictures are drawn with."""
    data = {"narrow": narrow_screen(), "narrow_px": NARROW_PX}
    with st.container(key="dl-page-fixes"):
        st.html(f"<style>{LAYOUT_CSS}</style>")  # fixed text: style only, takes no room (event container)
        if preload_plotly:
            data["plotly"] = player_sources()[0]
            st.markdown(f'<link rel="preload" as="script" href="{data["plotly"]}">', unsafe_allow_html=True)
        _page_fixes(key=KEY, data=data, on_narrow_change=_noop)


def narrow_screen() -> bool:
    """Whether the visitor's window is narrower than ``NARROW_PX`` (as last reported; False at first)."""
    state = st.session_state.get(KEY)
    try:
        return bool(state and state.get("narrow"))
    except AttributeError:
        return False
