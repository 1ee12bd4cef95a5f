"""A race: several optimizers from one start on one surface, and what the pages show about it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

import optimizers

MAX_STEPS = 5000
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam")  # Radford + Adam
CONVERGENCE_TOLERANCE = 1e-3  # distance to a known minimum that counts as "arrived"


@dataclass(frozen=True)
class Race:
    """The settings of a race, hashable so results can be cached by them."""

    optimizers: tuple[str, ...]
    steps: int
    start: tuple[float, float]
    # ((name, ((key, value), ...)), ...): hashable, so results can be cached by it
    hyperparameters: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]

    @staticmethod
    def make(names, steps: int, start, hyperparameters: dict[str, dict[str, float]]) -> Race:
        hyper = tuple((n, tuple(sorted(hyperparameters.get(n, {}).items()))) for n in names)
        return Race(tuple(names), int(steps), (float(start[0]), float(start[1])), hyper)

    def hyperparameters_of(self, name: str) -> dict[str, float]:
        return dict(dict(self.hyperparameters)[name])


def run_race(surface, race: Race) -> dict[str, optimizers.Path]:
    """One Path per optimizer, in the race's order."""
    return {name: optimizers.run(name, surface, race.start, race.steps, **race.hyperparameters_of(name))
            for name in race.optimizers}


def distance_to_minimum(surface, points: np.ndarray) -> np.ndarray | None:
    """Distance from each point (N, 2) to the nearest known minimum (global or local); None if none."""
    minima = surface.all_minima
    if not len(minima):
        return None
    return np.sqrt(((points[:, None, :] - minima[None, :, :]) ** 2).sum(axis=-1)).min(axis=1)


def arrived_at(surface, path: optimizers.Path, tol: float = CONVERGENCE_TOLERANCE) -> int | None:
    """First step within ``tol`` of a known minimum, or None."""
    d = distance_to_minimum(surface, path.points)
    if d is None:
        return None
    hits = np.flatnonzero(d <= tol)
    return int(hits[0]) if len(hits) else None


def divergence_note(title: str, path: optimizers.Path) -> str | None:
    """"Adagrad diverged at step 37", "Newton stopped: Hessian singular at step 3" — a note, not an error."""
    if path.diverged_at is None:
        return None
    if path.stopped_by:
        return f"{title} stopped: {path.note}"
    return f"{title} diverged at step {path.diverged_at}"


def results_rows(surface, paths: dict[str, optimizers.Path]) -> list[dict]:
    """The results table: final loss, first step near a minimum, divergence."""
    rows = []
    for name, path in paths.items():
        arrived = arrived_at(surface, path)
        rows.append({
            "Optimizer": optimizers.get(name).title,
            "Final loss": float(path.values[-1]),
            "Final x": float(path.points[-1, 0]),
            "Final y": float(path.points[-1, 1]),
            f"Within {CONVERGENCE_TOLERANCE:g} of a minimum at step": arrived,
            "Diverged at step": path.diverged_at,
        })
    return rows


def trajectories_csv(paths: dict[str, optimizers.Path]) -> str:
    """All trajectories as CSV: optimizer, step, x, y, f (full double precision)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["optimizer", "step", "x", "y", "f"])
    for name, path in paths.items():
        for step, ((x, y), f) in enumerate(zip(path.points.tolist(), path.values.tolist(), strict=True)):
            writer.writerow([name, step, repr(x), repr(y), repr(f)])
    return out.getvalue()
