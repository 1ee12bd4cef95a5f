"""A race: several optimizers from one start on one surface, and what the pages show about it."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass

import numpy as np

import optimizers
from lab.numbers import NONE, human, point

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

    @functools.cached_property
    def cache_key(self) -> str:
        """Every field in one string (floats written exactly): what a page's caches key a race on.
        Streamlit hashes a dataclass through ``dataclasses.asdict``, a deep copy of every nested tuple,
        which took 6 % of the server's time under a crowd (three cached calls per run)."""
        return repr((self.optimizers, self.steps, self.start, self.hyperparameters))


def formula_text(surface) -> str:
    """The surface's formula as plain text (a GIF, the offline page): ``f(x, y) = x^2 - y^2``."""
    return _formula_text(surface.expression)


@functools.lru_cache(maxsize=256)  # SymPy's printer takes ~1 ms and the GIF options ask on every run
def _formula_text(expression) -> str:
    return f"f(x, y) = {str(expression).replace('**', '^')}"


def settings_lines(race: Race) -> list[str]:
    """The race's settings in words, one line each: start and steps, then every optimizer's
    hyperparameters ("Adam: lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-08")."""
    lines = [f"{race.steps} steps from {point(race.start)}"]
    for name in race.optimizers:
        given = race.hyperparameters_of(name)
        order = [p.name for p in optimizers.get(name).hyperparameters if p.name in given]
        order += [k for k in given if k not in order]  # run options (schedules, noise)
        values = ", ".join(f"{k} = {given[k] if isinstance(given[k], str) else human(given[k])}"
                           for k in order)
        lines.append(f"{optimizers.get(name).title}: {values}")
    return lines


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


def has_minimum(surface) -> bool:
    """Whether the surface has a known minimum (a saddle, unbounded below, has none)."""
    return len(surface.minima) > 0


def left_view_at(surface, points: np.ndarray) -> int | None:
    """The first index of ``points`` (N, 2) outside the surface's plotting window, or None."""
    (x0, x1), (y0, y1) = surface.bounds
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"):
        outside = ~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
    hits = np.flatnonzero(outside)
    return int(hits[0]) if len(hits) else None


@dataclass(frozen=True)
class Outcome:
    """How a run ended, in the words the pages use.

    kind: ``"escaped"`` (left the view downhill on a surface without a minimum: the point of a saddle),
        ``"diverged"`` (a real blow-up: |θ| or |f| beyond ``optimizers.LIMIT``, or outside the formula's
        domain), ``"stopped"`` (a second-order rule could not solve with its Hessian), or None (it ran all
        its steps).
    step: the step at which that happened (None when kind is None).
    detail: the engine's note for a stop ("Hessian singular at step 3").
    """

    kind: str | None
    step: int | None = None
    detail: str | None = None

    def note(self, title: str) -> str | None:
        """"Adam escaped at step 16", "Adagrad diverged at step 37", "Newton stopped: Hessian singular at
        step 3", or None."""
        if self.kind == "stopped":
            return f"{title} stopped: {self.detail}"
        if self.kind is None:
            return None
        return f"{title} {self.kind} at step {self.step}"


def outcome(surface, path: optimizers.Path) -> Outcome:
    """Escaped, diverged, stopped or none of these (see ``Outcome``).

    The engine stops a run at the first step whose |θ| or |f| exceeds ``optimizers.LIMIT``; on a surface
    without a minimum, a run that first left the view going downhill (f below its start) has *escaped* at
    the step it left the view, whatever the engine did later. A run that jumps from inside the view beyond
    the limit in one step, or leaves it uphill, is a blow-up: diverged.
    """
    if path.stopped_by:
        return Outcome("stopped", path.diverged_at, path.note)
    good = path.points if path.diverged_at is None else path.points[:max(int(path.diverged_at), 1)]
    if not has_minimum(surface):
        t = left_view_at(surface, good)
        if t is not None and path.values[t] < path.values[0]:
            return Outcome("escaped", t)
    if path.diverged_at is not None:
        return Outcome("diverged", int(path.diverged_at))
    return Outcome(None)


def results_rows(surface, paths: dict[str, optimizers.Path], ends: dict[str, Outcome] | None = None
                 ) -> list[dict[str, str]]:
    """The results table, every cell text for people (``lab.numbers.human``: ≤ 6 significant digits,
    "—" where there is nothing), with columns that fit the surface.

    With a minimum: final loss (and its gap to the minimum f*), final point, the first step within
    ``CONVERGENCE_TOLERANCE`` of a minimum, in the race's order. Without one (a saddle): the step each run
    escaped (left the view downhill) and its last point in the view, ranked by that step — who leaves the
    saddle first is the question such a surface asks; a final loss of −987,000 against −161 means nothing.
    A column that would be "—" in every row is left out; "Stopped" appears only when a run diverged or
    stopped.
    """
    ends = ends if ends is not None else {n: outcome(surface, p) for n, p in paths.items()}
    rows = []
    if has_minimum(surface):
        fmin = float(surface.minimum_values.min())
        for name, path in paths.items():
            rows.append({
                "Optimizer": optimizers.get(name).title,
                "Final loss": human(float(path.values[-1])),
                "Above the minimum (f − f*)": human(float(path.values[-1]) - fmin),
                "Final point": point(path.points[-1]),
                f"Within {CONVERGENCE_TOLERANCE:g} of a minimum at step": human(arrived_at(surface, path)),
                "Stopped": _stop_text(ends[name]),
            })
        return _drop_empty_columns(rows)
    for name in sorted(paths, key=lambda n: (ends[n].kind != "escaped", ends[n].step or 0)):
        path, end = paths[name], ends[name]
        escaped = end.kind == "escaped"
        good = path.points if path.diverged_at is None else path.points[:max(int(path.diverged_at), 1)]
        left = left_view_at(surface, good)
        last = max((len(good) if left is None else left) - 1, 0)
        rows.append({
            "Optimizer": optimizers.get(name).title,
            "Escaped (left the view) at step": human(end.step if escaped else None),
            "Last point in the view": point(path.points[last]),
            "f there": human(float(path.values[last])),
            "Stopped": _stop_text(end),
        })
    return _drop_empty_columns(rows)


def _stop_text(end: Outcome) -> str:
    """The "Stopped" cell: "diverged at step 37", "stopped: Hessian singular at step 3", or "—"."""
    if end.kind not in ("diverged", "stopped"):
        return NONE
    return end.note("").strip()


def _drop_empty_columns(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    if not rows:
        return rows
    empty = {key for key in rows[0] if all(row.get(key, NONE) == NONE for row in rows)}
    return [{k: v for k, v in row.items() if k not in empty} for row in rows]


def trajectories_csv(paths: dict[str, optimizers.Path]) -> str:
    """All trajectories as CSV: optimizer, step, x, y, f (full double precision)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["optimizer", "step", "x", "y", "f"])
    for name, path in paths.items():
        for step, ((x, y), f) in enumerate(zip(path.points.tolist(), path.values.tolist(), strict=True)):
            writer.writerow([name, step, repr(x), repr(y), repr(f)])
    return out.getvalue()
