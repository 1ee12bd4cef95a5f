"""Fixed, colour-blind-safe colours for the optimizers.

Choice: the eight colours of Okabe & Ito ("Color Universal Design", 2008) -- distinguishable under the
common forms of colour-vision deficiency -- plus two extras from Paul Tol's "muted" scheme (wine and olive),
which differ from all eight in hue *and* lightness. Every optimizer keeps its colour on every page, in every
picture and download, so a classroom can say "the orange one is Momentum".

SGD, the baseline everything is compared to, gets black. Okabe-Ito's yellow is the weakest on a light
background, so the pictures draw every head marker with a dark outline and the trails over a background
whose fill stays in mid-light tones (see ``figures.background``).
"""

from __future__ import annotations

import hashlib

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
