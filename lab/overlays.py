"""Per-step overlay arrays for the race player: the gradient, the step taken, NAG's look-ahead point.

Pure NumPy on top of ``optimizers.trace`` (no Streamlit, no plotly). For a path with records 1..N,
row k describes the step that leaves point k of the path (θ_k → θ_{k+1}):

* ``px``, ``py``: where the gradient was measured (θ_k, or NAG's look-ahead θ_k − γv),
* ``gx``, ``gy``: that gradient (noise included, exactly as the rule saw it),
* ``dx``, ``dy``: the move Δθ = θ_{k+1} − θ_k the rule made (for Momentum/NAG the velocity −v).

The arrays stop where the run diverges, like the trace. The per-coordinate effective step is |Δx|,
|Δy| (and −Δθ_i / g_i, the effective learning rate), read from these same numbers.
"""

from __future__ import annotations

import numpy as np

import optimizers

KEYS = ("px", "py", "gx", "gy", "dx", "dy")
GRADIENT_FRACTION = 0.12  # a typical (90th-percentile) gradient arrow is this share of the plot's span
STEP_FRACTION = 0.06  # a typical step arrow, magnified (never shrunk) to about this share of the span


def overlay_arrays(name: str, surface, start, steps: int, **hyperparameters) -> dict[str, np.ndarray]:
    """The overlay arrays (float64, one entry per recorded step) of one optimizer's run."""
    records = optimizers.trace(name, surface, start, steps, **hyperparameters)
    if not records:
        return {k: np.zeros(0) for k in KEYS}
    look = np.array([r.lookahead for r in records], dtype=np.float64)
    grad = np.array([r.gradient for r in records], dtype=np.float64)
    delta = np.array([r.delta for r in records], dtype=np.float64)
    return {"px": look[:, 0], "py": look[:, 1], "gx": grad[:, 0], "gy": grad[:, 1],
            "dx": delta[:, 0], "dy": delta[:, 1]}


def effective_learning_rates(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """−Δθ_i / g_i per coordinate (NaN where the gradient component is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = np.where(arrays["gx"] != 0, -arrays["dx"] / arrays["gx"], np.nan)
        ey = np.where(arrays["gy"] != 0, -arrays["dy"] / arrays["gy"], np.nan)
    return ex, ey


def gradient_scale(all_arrays, span: float, fraction: float = GRADIENT_FRACTION) -> float:
    """One factor for every gradient arrow of a race (so lengths compare across optimizers and steps):
    the 90th-percentile gradient norm becomes ``fraction`` of the plot's ``span``."""
    return _scale([np.hypot(a["gx"], a["gy"]) for a in all_arrays], span, fraction)


def _scale(norms, span: float, fraction: float) -> float:
    flat = np.concatenate(norms) if norms else np.zeros(0)
    flat = flat[np.isfinite(flat) & (flat > 0)]
    if not len(flat) or not np.isfinite(span) or span <= 0:
        return 1.0
    return float(fraction * span / np.percentile(flat, 90))


def step_scale(all_arrays, span: float, fraction: float = STEP_FRACTION) -> float:
    """One magnification for every step arrow (and |Δx| × |Δy| box) of a race: ≥ 1, so steps too small
    to see at true size grow until a typical (90th-percentile) one is ``fraction`` of the ``span``."""
    return max(1.0, _scale([np.hypot(a["dx"], a["dy"]) for a in all_arrays], span, fraction))
