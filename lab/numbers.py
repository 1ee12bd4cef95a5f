"""Numbers for people: what the results tables and notes show (no "None", no 17-digit floats).

Pure functions. ``human`` writes a number with at most ``DIGITS`` significant digits (``—`` when there is
none); the CSV download keeps full double precision (``lab.race.trajectories_csv``), the tables do not.
"""

from __future__ import annotations

import math

DIGITS = 6  # significant digits in a table cell (the Done-when bound is 8)
NONE = "—"


def human(value, digits: int = DIGITS) -> str:
    """``value`` for a table cell: an int as it is, a float with ``digits`` significant digits
    (``0.00123``, ``-987000``, ``1.5e-09``), ``—`` for None or NaN, ``∞``/``−∞`` for infinities."""
    if value is None or isinstance(value, bool):
        return NONE if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return NONE
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def point(xy) -> str:
    """``(x, y)`` with each coordinate as ``human`` writes it."""
    return f"({human(float(xy[0]))}, {human(float(xy[1]))})"


def significant_digits(text: str) -> int:
    """How many significant digits a number written by ``human`` (or anyone) carries: for tests."""
    mantissa = text.strip().lstrip("+-−").split("e")[0].split("E")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits) if "." in mantissa else len(digits.rstrip("0")) or (1 if digits else 0)
