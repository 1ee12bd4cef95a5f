"""The landscape atlas: where every start ends up, and which settings work at all (no streamlit, no plotly).

Three views, all computed by the optimizer core (``optimizers.sweep`` and ``optimizers.run``):

* basin maps — a G × G grid of starts over the surface's bounds, each cell classified by where its run
  ends: at one of ``surface.all_minima`` (index ≥ 0), at another flat point (``FLAT``), nowhere yet
  (``NOT_YET``) or off the map (``DIVERGED``);
* sensitivity maps — one start, a log-spaced grid of learning rates × a second hyperparameter (momentum,
  β₁, β₂, ρ or ε), each cell one run (``optimizers.run``, well under a millisecond for 500 steps);
* the learning-rate comparison of the advanced-gradient-descent notes: the same start under three
  learning rates, every optimizer's coordinate or loss against the iteration.

Everything runs in the calling process: the compiled engine sweeps a 256 × 256 map of 500 steps for ten
optimizers in about a second, releasing Python's lock while it works (so other visitors' pages keep
running) and splitting large sweeps over the CPU's cores. A surface is named by a *spec* —
``("catalogue", name)`` or ``("custom", text, bounds)`` — which is what caches and links key on.

Also here: the query strings that open one cell's run on the Race page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import optimizers
import surfaces
from lab import urlstate
from surfaces.spec import SurfaceSpec, resolve

TOLERANCE = 1e-3  # "arrived": within this distance of a listed minimum (the core's default tol)
GRID_SIZES = (32, 64, 128, 192, 256)
MAX_GRID = 256
MAX_STEPS = 2000  # the atlas runs up to 65,536 starts per optimizer; the Race page allows 5000 steps

# Classes of a basin-map cell besides "minimum i" (i ≥ 0, an index into surface.all_minima).
NOT_YET = -1  # finite, but not within TOLERANCE of a listed minimum nor at a flat point
DIVERGED = -2  # left the picture (the core's divergence rule)
FLAT = -3  # stopped where the gradient vanishes, but not at a listed minimum (a saddle, an unlisted dimple)

SECOND_AXES = ("momentum", "beta1", "beta2", "rho", "eps")  # candidates for the sensitivity map's y axis


# --- surfaces from specs -------------------------------------------------------------------------------
def catalogue_spec(name: str) -> SurfaceSpec:
    return SurfaceSpec.catalogue(name)


def custom_spec(text: str, bounds) -> SurfaceSpec:
    return SurfaceSpec.formula(text, bounds)


def surface_from_spec(spec) -> surfaces.Surface:
    """The Surface a spec describes (``surfaces.spec.resolve``, bounded and cached there); ValueError for
    a malformed spec or a refused formula, ``surfaces.spec.Unavailable`` when a formula could not be judged
    in time."""
    return resolve(spec)
    if spec[0] == "catalogue" and len(spec) == 2:
        return surfaces.get(spec[1])
    if spec[0] == "custom" and len(spec) == 3:
        return surfaces.from_expression(spec[1], spec[2])
    raise ValueError(f"Invalid surface spec: {spec!r}")


# --- the grid of starts -----------------------------------------------------------------------------------
def grid_axes(bounds, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres (xs, ys) of a size × size grid over ``bounds``: cells tile the window exactly."""
    size = _check_grid(size)
    (x0, x1), (y0, y1) = bounds
    centres = (np.arange(size) + 0.5) / size
    return x0 + (x1 - x0) * centres, y0 + (y1 - y0) * centres


def grid_starts(bounds, size: int, rows: tuple[int, int] | None = None) -> np.ndarray:
    """Starts (P, 2) in row-major order: row i is y = ys[i], column j is x = xs[j]; index i * size + j."""
    xs, ys = grid_axes(bounds, size)
    r0, r1 = rows if rows is not None else (0, size)
    gx, gy = np.meshgrid(xs, ys[r0:r1])
    return np.column_stack([gx.ravel(), gy.ravel()])


def _check_grid(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 2 <= size <= MAX_GRID:
        raise ValueError(f"Invalid grid size: {size} (2 to {MAX_GRID})")
    return int(size)


# --- classification ---------------------------------------------------------------------------------------
def classify(surface, sweep: optimizers.Sweep, tol: float = TOLERANCE) -> np.ndarray:
    """Class of each start (int8, P): the minimum its run ends at, FLAT, NOT_YET or DIVERGED.

    A start belongs to minimum i when its final point lies within ``tol`` of ``surface.all_minima[i]``
    (distances computed as the core computes them); FLAT when it ends where the gradient norm is below
    ``tol`` anywhere else; DIVERGED when the core says it diverged.
    """
    final = sweep.final_points
    codes = np.full(len(final), NOT_YET, dtype=np.int8)
    minima = surface.all_minima
    running = sweep.diverged_at < 0
    with np.errstate(all="ignore"):
        if len(minima):
            # An index ≥ 0 for every start when minima are listed. np.take, not minima[index]: NumPy's
            # fancy indexing of rows took 1.3 ms for a 256 × 256 map, take 0.08 ms (the same values).
            target = np.take(minima, sweep.nearest_minimum, axis=0)
            dx = final[:, 0] - target[:, 0]
            dy = final[:, 1] - target[:, 1]
            at_min = dx * dx + dy * dy <= tol * tol
            codes[at_min] = sweep.nearest_minimum[at_min]
            rest = np.flatnonzero(running & ~at_min)
        else:
            rest = np.flatnonzero(running)
        # Only a start that is neither at a minimum nor diverged can be FLAT: the gradient is computed for
        # those alone (often a small share of the map), by the engine's program: the same on every CPU.
        g = optimizers.evaluate(surface, np.take(final, rest, axis=0), outputs=(1, 2))
        flat = g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1] <= tol * tol
    codes[rest[flat]] = FLAT
    codes[~running] = DIVERGED
    return codes


@dataclass(frozen=True)
class BasinMap:
    """One optimizer's basin map: arrays of shape (G, G), row i at ys[i], column j at xs[j]."""

    optimizer: str
    hyperparameters: dict
    steps: int
    xs: np.ndarray
    ys: np.ndarray
    codes: np.ndarray  # int8: minimum index, FLAT, NOT_YET or DIVERGED
    converged_at: np.ndarray  # int32: the core's converged_at (-1 never)
    diverged_at: np.ndarray  # int32: the core's diverged_at (-1 never)

    @property
    def size(self) -> int:
        return len(self.xs)

    def start(self, i: int, j: int) -> tuple[float, float]:
        return float(self.xs[j]), float(self.ys[i])

    def shares(self) -> dict[int, float]:
        """Fraction of starts in each class present."""
        values, counts = np.unique(self.codes, return_counts=True)
        total = self.codes.size
        return {int(v): c / total for v, c in zip(values.tolist(), counts.tolist(), strict=True)}


def basin_map(surface, name: str, hyperparameters: dict, size: int, steps: int,
              tol: float = TOLERANCE) -> BasinMap:
    """One optimizer's basin map: a sweep from every start of the size × size grid."""
    size = _check_grid(size)
    result = optimizers.sweep(name, surface, grid_starts(surface.bounds, size), steps, tol=tol,
                              **hyperparameters)
    return _basin_map(surface, result, size, steps, tol)


def _basin_map(surface, result: optimizers.Sweep, size: int, steps: int, tol: float) -> BasinMap:
    name = result.optimizer
    xs, ys = grid_axes(surface.bounds, size)
    full = {**optimizers.defaults(name), **result.hyperparameters}
    return BasinMap(name, full, int(steps), xs, ys, classify(surface, result, tol).reshape(size, size),
                    result.converged_at.astype(np.int32).reshape(size, size),
                    result.diverged_at.astype(np.int32).reshape(size, size))


def hyper_items(hyperparameters: dict) -> tuple[tuple[str, float], ...]:
    """Hashable, ordered form of a hyperparameter dict (a cache key)."""
    return tuple(sorted((str(k), float(v)) for k, v in hyperparameters.items()))


def basin_maps(spec: SurfaceSpec, names, hyperparameters: dict[str, dict], size: int, steps: int,
               tol: float = TOLERANCE, on_progress=None) -> dict[str, BasinMap]:
    """The basin maps of ``names`` (each ``basin_map``'s, bit for bit); ``on_progress(done, total)`` as
    each is done. Their sweeps share one queue for the engine's threads (``optimizers.sweeps``): no thread
    waits between one optimizer and the next, and a finished map is classified while the next are swept."""
    size = _check_grid(size)
    surface = surface_from_spec(spec)
    names = list(names)
    maps: dict[str, BasinMap] = {}

    def finished(index: int, result: optimizers.Sweep) -> None:
        maps[names[index]] = _basin_map(surface, result, size, steps, tol)
        if on_progress is not None:
            on_progress(len(maps), len(names))

    optimizers.sweeps([(name, hyperparameters.get(name, {})) for name in names], surface,
                      grid_starts(surface.bounds, size), steps, tol=tol, on_done=finished)
    return {name: maps[name] for name in names}


# --- sensitivity maps ---------------------------------------------------------------------------------------
def second_axes(name: str) -> list[str]:
    """The hyperparameters that can form the y axis of ``name``'s sensitivity map (empty for SGD)."""
    own = [p.name for p in optimizers.get(name).hyperparameters]
    return [p for p in SECOND_AXES if p in own]


def lr_range(name: str) -> tuple[float, float]:
    """Default learning-rate range of a sensitivity map: six decades (Adadelta's lr is a multiplier)."""
    return (0.01, 100.0) if name == "adadelta" else (1e-5, 1.0)


def lr_values(low: float, high: float, count: int) -> np.ndarray:
    return np.geomspace(low, high, count)


def second_values(parameter: str | None, count: int) -> np.ndarray:
    """Values of the second hyperparameter: decays 0 … 0.99, β₂ from 0.9 to 0.9999, ε from 1e-10 to 1e-2."""
    if parameter is None:
        return np.array([np.nan])
    if parameter == "beta2":
        return 1.0 - np.geomspace(0.1, 1e-4, count)
    if parameter == "eps":
        return np.geomspace(1e-10, 1e-2, count)
    return np.linspace(0.0, 0.99, count)


def arrival_step(surface, points: np.ndarray, tol: float = TOLERANCE) -> int:
    """First step of a path (steps + 1, 2) within ``tol`` of a listed minimum — the core's converged_at.

    Computed exactly as ``optimizers.sweep`` computes it: squared distances summed as dx·dx + dy·dy and
    compared with tol·tol; where no minimum is listed, the squared gradient norm. -1 when never.
    """
    minima = surface.all_minima
    with np.errstate(all="ignore"):
        if len(minima):
            d2 = None
            for mx, my in minima.tolist():
                dx = points[:, 0] - mx
                dy = points[:, 1] - my
                dist2 = dx * dx + dy * dy
                d2 = dist2 if d2 is None else np.minimum(d2, dist2)
        else:
            g = optimizers.evaluate(surface, points)[:, 1:3]
            d2 = g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1]
    hits = np.flatnonzero(d2 <= tol * tol)
    return int(hits[0]) if len(hits) else -1


@dataclass(frozen=True)
class SensitivityMap:
    """A learning-rate × second-hyperparameter map for one start: arrays (len(values), len(lrs))."""

    optimizer: str
    parameter: str | None  # None: the optimizer has no second hyperparameter (one row)
    hyperparameters: dict  # the others, held fixed
    start: tuple[float, float]
    steps: int
    lrs: np.ndarray
    values: np.ndarray
    final_values: np.ndarray
    converged_at: np.ndarray
    diverged_at: np.ndarray

    def cell_hyperparameters(self, row: int, col: int) -> dict[str, float]:
        hyper = {**self.hyperparameters, "lr": float(self.lrs[col])}
        if self.parameter is not None:
            hyper[self.parameter] = float(self.values[row])
        return hyper


def sensitivity_map(spec: SurfaceSpec, name: str, hyperparameters: dict, parameter: str | None, lrs, values,
                    start, steps: int, tol: float = TOLERANCE) -> SensitivityMap:
    """One run from ``start`` per (value of ``parameter``, learning rate): final loss and arrival step."""
    if parameter is not None and parameter not in second_axes(name):
        raise ValueError(f"{optimizers.get(name).title} has no hyperparameter {parameter!r} to vary")
    surface = surface_from_spec(spec)
    start = (float(start[0]), float(start[1]))
    fixed = {**optimizers.defaults(name), **{k: v for k, v in hyperparameters.items() if k != "lr"}}
    fixed.pop("lr", None)
    rows = (len(values), len(lrs))
    final = np.empty(rows)
    converged = np.empty(rows, dtype=np.int32)
    diverged = np.empty(rows, dtype=np.int32)
    for r, value in enumerate(values):
        hyper = dict(fixed)
        if parameter is not None:
            hyper[parameter] = float(value)
        for c, lr in enumerate(lrs):
            path = optimizers.run(name, surface, start, steps, **{**hyper, "lr": float(lr)})
            final[r, c] = path.values[-1]
            converged[r, c] = arrival_step(surface, path.points, tol)
            diverged[r, c] = -1 if path.diverged_at is None else path.diverged_at
    if parameter is not None:
        fixed.pop(parameter, None)
    return SensitivityMap(name, parameter, fixed, start, int(steps), np.asarray(lrs, dtype=float),
                          np.asarray(values, dtype=float), final, converged, diverged)


# --- the learning-rate comparison ---------------------------------------------------------------------------
REFERENCE_LEARNING_RATES = (0.001, 0.01, 0.1)
QUANTITIES = ("x", "y", "loss")


def lr_comparison(surface, names, learning_rates, start, steps: int,
                  hyperparameters: dict[str, dict]) -> dict[float, dict[str, optimizers.Path]]:
    """{lr: {optimizer: Path}}: every optimizer from one start with each global learning rate.

    Adadelta's rule has no learning rate (its ``lr`` is only an optional multiplier), so, as in the
    reference's comparison, it keeps its own setting in every panel.
    """
    out = {}
    for lr in learning_rates:
        runs = {}
        for name in names:
            hyper = dict(hyperparameters.get(name, {}))
            if name != "adadelta":
                hyper["lr"] = float(lr)
            runs[name] = optimizers.run(name, surface, start, steps, **hyper)
        out[float(lr)] = runs
    return out


def quantity(surface, path: optimizers.Path, which: str) -> np.ndarray:
    if which == "x":
        return path.points[:, 0]
    if which == "y":
        return path.points[:, 1]
    if which == "loss":
        return path.values
    raise ValueError(f"unknown quantity {which!r} (choose one of {', '.join(QUANTITIES)})")


# --- links to the Race page ---------------------------------------------------------------------------
def race_query(surface_name: str, name: str, start, steps: int, hyperparameters: dict) -> dict[str, str]:
    """Query parameters of the Race page that replay one run exactly (its formats: ``lab.urlstate``).

    The learning rate is always written (the Race page would otherwise use its per-surface preset); the
    other hyperparameters only where they differ from the published defaults.
    """
    hyper = {**optimizers.defaults(name), **hyperparameters}
    return {"surface": surface_name, **urlstate.run_params([name], steps, start, {name: hyper})}


def custom_query(text: str, bounds, name: str, start, steps: int, hyperparameters: dict) -> dict[str, str]:
    """Query parameters of the Custom-surface page for one run: the formula and window, then as above."""
    hyper = {**optimizers.defaults(name), **hyperparameters}
    return {"expr": text, "bounds": urlstate.format_bounds(bounds),
            **urlstate.run_params([name], steps, start, {name: hyper})}


def race_url(query: dict[str, str], base: str = "/") -> str:
    """``/?surface=…&optimizers=…``: the Race page is the app's root (``lab.urlstate.link`` writes it)."""
    return urlstate.link(base, query)
