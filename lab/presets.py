"""Per-surface hyperparameter presets: a learning rate for each optimizer that makes visible progress.

A single learning rate cannot suit every surface (0.001 barely moves on Beale; 0.1 explodes on
Goldstein–Price), so each optimizer's learning rate is tuned per surface by a small grid search from the
surface's suggested start (see ``tune_learning_rate``). The other
hyperparameters keep their published defaults. Tuning a surface costs about 0.2 s and is cached.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

import optimizers
import surfaces

TUNING_STEPS = 300
STABILITY_STEPS = 2000  # the chosen rate must not diverge within this many steps
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
ADADELTA_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)  # Adadelta's lr is a multiplier of Zeiler's step


def tune_learning_rate(name: str, surface, start=None, steps: int = TUNING_STEPS) -> float:
    """The smallest grid learning rate that gets 90 % of the best improvement in ``steps`` steps.

    Runs that diverge or end higher than they started are ruled out; if every rate is, the published
    default is kept. Preferring the smallest good rate draws a calmer path than the single best one.
    """
    start = surface.start if start is None else start
    if optimizers.get(name).second_order:
        return optimizers.defaults(name)["lr"]  # Newton's full step (η = 1) is the method itself
    grid = ADADELTA_GRID if name == "adadelta" else LR_GRID
    losses = {}
    for lr in grid:
        path = optimizers.run(name, surface, start, steps, lr=lr)
        if path.diverged_at is None and np.isfinite(path.values).all() and path.values[-1] < path.values[0]:
            losses[lr] = float(path.values[-1])
    if not losses:
        return optimizers.defaults(name)["lr"]
    initial = float(optimizers.evaluate(surface, [start])[0, 0])
    best = min(losses.values())
    good_enough = best + 0.1 * (initial - best)
    chosen = min(lr for lr, loss in losses.items() if loss <= good_enough)
    if not len(surface.minima):
        return chosen  # unbounded below (saddles): leaving the picture is the point, not a failure
    # A preset must also survive a long race: step down the grid while a longer run diverges.
    for lr in sorted((lr for lr in losses if lr <= chosen), reverse=True):
        if optimizers.run(name, surface, start, STABILITY_STEPS, lr=lr).diverged_at is None:
            return lr
    return min(losses)


@lru_cache(maxsize=64)
def _tuned(surface_name: str) -> tuple[tuple[str, float], ...]:
    surface = surfaces.get(surface_name)
    return tuple((name, tune_learning_rate(name, surface)) for name in optimizers.available())


def surface_presets(surface_name: str) -> dict[str, dict[str, float]]:
    """{optimizer: hyperparameters} for a catalogue surface: the defaults with the tuned learning rate."""
    return {name: {**optimizers.defaults(name), "lr": lr} for name, lr in _tuned(surface_name)}


def presets_for(surface) -> dict[str, dict[str, float]]:
    """Presets for any Surface (custom ones are tuned on the fly; the caller caches)."""
    if surface.name in surfaces.available():
        return surface_presets(surface.name)
    return {name: {**optimizers.defaults(name), "lr": tune_learning_rate(name, surface)}
            for name in optimizers.available()}
