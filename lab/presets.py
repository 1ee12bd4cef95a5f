"""Per-surface hyperparameter presets: a learning rate for each optimizer that makes visible progress.

A single learning rate cannot suit every surface (0.001 barely moves on Beale; 0.1 explodes on
Goldstein–Price), so each optimizer's learning rate is tuned per surface by a small grid search from the
surface's suggested start (see ``tune_learning_rate``). The other
hyperparameters keep their published defaults. Tuning a surface costs about 0.2 s and is cached.

A surface without a minimum (a saddle, unbounded below) has no "best final loss": the run that flies
off fastest would always win, and the race would be a teleport. There each rate is the largest one whose
first steps stay small in the picture (``calm_learning_rate``), which reproduces the classic saddle
picture: every racer starts visibly at the saddle, the adaptive methods leave it within tens of steps
(they rescale the tiny gradient along the ridge) while SGD, Momentum and NAG dawdle.
"""

from __future__ import annotations

import numpy as np

import optimizers
import surfaces
from surfaces.memo import shared_memo

TUNING_STEPS = 300
STABILITY_STEPS = 2000  # the chosen rate must not diverge within this many steps
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
ADADELTA_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)  # Adadelta's lr is a multiplier of Zeiler's step
SECOND_ORDER_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)  # damping of Newton's step (1: the full step)
CALM_STEPS = 10  # on a surface without a minimum, the first this many steps ...
CALM_FRACTION = 0.05  # ... each move at most this share of the view's width


def _grid(name: str) -> tuple[float, ...]:
    if optimizers.get(name).second_order:
        return SECOND_ORDER_GRID
    return ADADELTA_GRID if name == "adadelta" else LR_GRID


def calm_learning_rate(name: str, surface, start=None) -> float:
    """The largest grid rate whose first ``CALM_STEPS`` steps each move at most ``CALM_FRACTION`` of the
    view's span (the smallest grid rate when none does): for surfaces without a minimum."""
    start = surface.start if start is None else start
    (x0, x1), (y0, y1) = surface.bounds
    limit = CALM_FRACTION * max(x1 - x0, y1 - y0)
    grid = _grid(name)
    for lr in sorted(grid, reverse=True):
        path = optimizers.run(name, surface, start, CALM_STEPS, lr=lr)
        moves = np.hypot(*np.diff(path.points, axis=0).T)
        if path.diverged_at is None and np.isfinite(moves).all() and moves.max() <= limit:
            return lr
    return min(grid)


def tune_learning_rate(name: str, surface, start=None, steps: int = TUNING_STEPS) -> float:
    """The smallest grid learning rate that gets 90 % of the best improvement in ``steps`` steps.

    Runs that diverge or end higher than they started are ruled out; if every rate is, the published
    default is kept. Preferring the smallest good rate draws a calmer path than the single best one.
    """
    start = surface.start if start is None else start
    if not len(surface.minima):
        return calm_learning_rate(name, surface, start)  # unbounded below: see the module's docstring
    if optimizers.get(name).second_order:
        return optimizers.defaults(name)["lr"]  # Newton's full step (η = 1) is the method itself
    grid = _grid(name)
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
    # A preset must also survive a long race: step down the grid while a longer run diverges.
    for lr in sorted((lr for lr in losses if lr <= chosen), reverse=True):
        if optimizers.run(name, surface, start, STABILITY_STEPS, lr=lr).diverged_at is None:
            return lr
    return min(losses)


@shared_memo(maxsize=64)  # about 1 s of CPU per surface: tuned once, whoever else asks meanwhile waits
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
