"""The app's colours, plotly-free: every picture layer uses them — ``figures/`` (plotly) and ``lab/gif.py``
(Pillow) — so ``lab/`` never imports ``figures/`` (layers point one way: figures above lab).

Two sets:

* the optimizers' colours (below; ``figures.palette`` re-exports them for the figures and the UI);
* the surfaces' colour scale and the mapping of f to colour (``COLORSCALE``, ``color_mapping``), shared by
  the contour map, the 3-D view (``figures.background``) and the GIF's contour bands, so a colour means
  the same height in all three.

The optimizers' colours are fixed and colour-blind-safe.

Choice: the eight colours of Okabe & Ito ("Color Universal Design", 2008) -- distinguishable under the
common forms of colour-vision deficiency -- plus four from Paul Tol's "muted" scheme (wine, olive, and for
the second-order methods indigo and rose), which differ from all eight in hue *and* lightness. Every
optimizer keeps its colour on every page, in every picture and download, so a classroom can say "the
orange one is Momentum".

SGD, the baseline everything is compared to, gets black. Okabe-Ito's yellow is the weakest on a light
background, so the pictures draw every head marker with a dark outline and the trails over a background
whose fill stays in mid-light tones (see ``figures.background``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)
TOL_EXTRAS: tuple[str, ...] = (
    "#882255",  # wine (Tol muted)
    "#999933",  # olive (Tol muted)
    "#332288",  # indigo (Tol muted): Newton
    "#CC6677",  # rose (Tol muted): saddle-free Newton
)
PALETTE: tuple[str, ...] = OKABE_ITO + TOL_EXTRAS

OPTIMIZER_COLORS: dict[str, str] = {
    "sgd": "#000000",
    "momentum": "#E69F00",
    "nag": "#56B4E9",
    "adagrad": "#009E73",
    "adadelta": "#F0E442",
    "rmsprop": "#0072B2",
    "adam": "#D55E00",
    "adamax": "#CC79A7",
    "nadam": "#882255",
    "amsgrad": "#999933",
    "newton": "#332288",
    "saddle_free_newton": "#CC6677",
}


def color_for(optimizer_name: str) -> str:
    """The fixed colour of an optimizer slug; other names get a stable colour from the same palette.

    Matching ignores case and surrounding blanks (``"Adam"`` and ``"adam"`` are the same optimizer). The
    fallback hashes the name with MD5 rather than ``hash()``, which Python salts per process.
    """
    slug = str(optimizer_name).strip().lower()
    if slug in OPTIMIZER_COLORS:
        return OPTIMIZER_COLORS[slug]
    digest = hashlib.md5(slug.encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


# --- high contrast (presenter view option) -------------------------------------------------------------
# A washed-out projector loses light colours first (Okabe-Ito's yellow and sky blue all but vanish) and
# flattens small differences of hue. The high-contrast colours keep each optimizer's Okabe-Ito/Tol hue
# family, darkened until every one has at least 3:1 contrast (WCAG's figure for graphics) against both
# ends of the light grey background the player then draws (white to #d9d9d9); tests/test_present.py
# checks it. Pairs whose hues sit close (Momentum/Adam, NAG/RMSprop, Adadelta/AMSGrad, AdaMax/Nadam)
# also differ in line style, so telling them apart never rests on colour alone.
HIGH_CONTRAST_COLORS: dict[str, str] = {
    "sgd": "#000000",
    "momentum": "#A34F00",
    "nag": "#1F6CB0",
    "adagrad": "#006B4E",
    "adadelta": "#6E6200",
    "rmsprop": "#003C71",
    "adam": "#B53A00",
    "adamax": "#A03C78",
    "nadam": "#6B1A44",
    "amsgrad": "#4F4F12",
}
HIGH_CONTRAST_DASHES: dict[str, str] = {
    "rmsprop": "dash",
    "adam": "dash",
    "nadam": "dash",
    "amsgrad": "dash",
}
CONTRAST_BACKGROUND = ("#ffffff", "#d9d9d9")  # the player's grey ramp under the trails (ui/player/present.js)


def high_contrast_color(optimizer_name: str) -> str:
    """The optimizer's colour in the high-contrast option (other names: their normal colour, darkened)."""
    slug = str(optimizer_name).strip().lower()
    if slug in HIGH_CONTRAST_COLORS:
        return HIGH_CONTRAST_COLORS[slug]
    r, g, b = (int(color_for(slug)[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02X}{:02X}{:02X}".format(*(int(v * 0.55) for v in (r, g, b)))


def line_dash(optimizer_name: str, contrast: bool) -> str:
    """The trail's plotly dash style: solid, except for the second of each close pair in high contrast."""
    if not contrast:
        return "solid"
    return HIGH_CONTRAST_DASHES.get(str(optimizer_name).strip().lower(), "solid")


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(color: str) -> float:
        channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# --- the surfaces' colour scale ------------------------------------------------------------------------
# Light sequential fill, dark enough at the top that Okabe-Ito's yellow and sky blue still read on it.
COLORSCALE = [
    [0.0, "#ffffff"],
    [0.25, "#eaf0f6"],
    [0.5, "#d3dee9"],
    [0.75, "#b6c6d7"],
    [1.0, "#94a9c0"],
]
LINE_COLOR = "rgba(40, 55, 75, 0.35)"
# Log pictures show this many decades below the top value; anything closer to the minimum shares the
# lowest colour (otherwise the minimum's immediate neighbourhood would take half the levels).
LOG_DECADES = 8
LEVELS_PER_DECADE = 4
LINEAR_LEVELS = 24


@dataclass(frozen=True)
class ColorMapping:
    """How f maps to colour: ``t = log10(f - fmin + eps)`` (log) or ``t = f`` (linear), shown in [lo, hi]."""

    log: bool
    fmin: float
    eps: float
    lo: float
    hi: float

    def transform(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if not self.log:
            return v
        with np.errstate(all="ignore"):
            return np.log10(np.maximum(v - self.fmin, 0.0) + self.eps)

    def real(self, t: float) -> float:
        """The value of f at colour coordinate ``t``."""
        return self.fmin + 10.0**t - self.eps if self.log else t


def finite_values(z: np.ndarray) -> np.ndarray:
    """The finite values of ``z``, flattened."""
    return z[np.isfinite(z)]


def color_mapping(surface, z: np.ndarray) -> ColorMapping:
    """The colour mapping for the values ``z`` (a grid of f over the surface's bounds; ``surface``: its
    ``log_scale``, ``minima`` and ``minimum_values``)."""
    finite = finite_values(z)
    if finite.size == 0:
        return ColorMapping(False, 0.0, 1.0, 0.0, 1.0)
    fmin = float(finite.min())
    if surface.log_scale and len(surface.minima):
        known = surface.minimum_values
        known = known[np.isfinite(known)]
        if known.size:
            fmin = min(fmin, float(known.min()))
    top = float(np.quantile(finite, 0.995))
    if surface.log_scale:
        span = max(top - fmin, 1e-12)
        eps = 10.0 ** (math.floor(math.log10(span)) - LOG_DECADES + 1)
        lo = math.log10(eps)
        hi = math.log10(span + eps)
        return ColorMapping(True, fmin, eps, lo, hi)
    if top <= fmin:
        top = fmin + 1.0
    return ColorMapping(False, fmin, 0.0, fmin, top)
