"""The optimizers' fixed, colour-blind-safe colours for the figures and the UI.

They are defined in ``lab.colors`` (plotly-free, so ``lab/gif.py`` draws with the same colours without
importing ``figures/``); see there for the choice of colours and the high-contrast set.
"""

from __future__ import annotations

from lab.colors import (
    CONTRAST_BACKGROUND,
    HIGH_CONTRAST_COLORS,
    HIGH_CONTRAST_DASHES,
    OKABE_ITO,
    OPTIMIZER_COLORS,
    PALETTE,
    TOL_EXTRAS,
    color_for,
    contrast_ratio,
    high_contrast_color,
    line_dash,
)

__all__ = [
    "CONTRAST_BACKGROUND", "HIGH_CONTRAST_COLORS", "HIGH_CONTRAST_DASHES", "OKABE_ITO", "OPTIMIZER_COLORS",
    "PALETTE", "TOL_EXTRAS", "color_for", "contrast_ratio", "high_contrast_color", "line_dash",
]
