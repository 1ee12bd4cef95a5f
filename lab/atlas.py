"""The landscape atlas: where every start ends up, and which settings work at all (no streamlit, no plotly).

Three views, all computed by the optimizer core (``optimizers.sweep`` and ``optimizers.run``):

* basin maps — a G × G grid of starts over the surface's bounds, each cell classified by where its run
  ends: at one of ``surface.all_minima`` (index ≥ 0), at another flat point (``FLAT``), nowhere yet
  (``NOT_YET``) or off the map (``DIVERGED``);
* sensitivity maps — one start, a log-spaced grid of learning rates × a second hyperparameter (momentum,
  β₁, β₂, ρ or ε), each cell one scalar-engine run (``optimizers.run``, about 1 ms for 500 steps);
* the learning-rate comparison of the advanced-gradient-descent notes: the same start under three
  learning rates, every optimizer's coordinate or loss against the iteration.

The heavy parts are split into *pieces* (``basin_piece``, ``sensitivity_piece``): module-level functions of
picklable arguments that a worker process runs after rebuilding the surface from a *spec* —
``("catalogue", name)`` or ``("custom", text, bounds)`` — so no compiled function ever crosses a process
boundary. ``lab.jobs`` runs the pieces in parallel; the ``*_local`` functions run them in this process.

Also here: the query strings that open one cell's run on the Race page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

import numpy as np

import optimizers
import surfaces
from lab import urlstate

TOLERANCE = 1e-3  # "arrived": within this distance of a listed minimum (the core's default tol)
GRID_SIZES = (32, 64, 128, 192, 256)
MAX_GRID = 256
MAX_STEPS = 2000  # the atlas runs up to 65,536 starts per optimizer; the Race page allows 5000 steps
PIECE_STARTS = 16384  # starts per basin piece: ~0.3 s of work; larger pieces gain little, smaller lose

# Classes of a basin-map cell besides "minimum i" (i ≥ 0, an index into surface.all_minima).
NOT_YET = -1  # finite, but not within TOLERANCE of a listed minimum nor at a flat point
DIVERGED = -2  # left the picture (the core's divergence rule)
FLAT = -3  # stopped where the gradient vanishes, but not at a listed minimum (a saddle, an unlisted dimple)

SECOND_AXES = ("momentum", "beta1", "beta2", "rho", "eps")  # candidates for the sensitivity map's y axis


# --- surfaces from specs -------------------------------------------------------------------------------
def catalogue_spec(name: str) -> tuple:
    return ("catalogue", name)


def custom_spec(text: str, bounds) -> tuple:
    (x0, x1), (y0, y1) = bounds
    return ("custom", str(text), ((float(x0), float(x1)), (float(y0), float(y1))))


@lru_cache(maxsize=16)  # catalogue surfaces are cached by surfaces.get too; custom ones compile in ~0.1 s
def surface_from_spec(spec: tuple) -> surfaces.Surface:
    """The Surface a spec describes; ValueError for a malformed spec or a refused formula."""
    if not isinstance(spec, tuple) or not spec:
        raise ValueError(f"Invalid surface spec: {spec!r}")
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


def row_blocks(size: int, pieces_at_least: int = 2) -> list[tuple[int, int]]:
    """Row ranges of about PIECE_STARTS starts each, at least ``pieces_at_least`` of them (two cores)."""
    rows = max(1, min(PIECE_STARTS // size, math.ceil(size / pieces_at_least)))
    return [(r, min(r + rows, size)) for r in range(0, size, rows)]


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
    with np.errstate(all="ignore"):
        if len(minima):
            target = minima[np.clip(sweep.nearest_minimum, 0, None)]
            dx = final[:, 0] - target[:, 0]
            dy = final[:, 1] - target[:, 1]
            at_min = dx * dx + dy * dy <= tol * tol
            codes[at_min] = sweep.nearest_minimum[at_min]
        else:
            at_min = np.zeros(len(final), dtype=bool)
        g = surface.gradient(final)
        flat = (g[:, 0] * g[:, 0] + g[:, 1] * g[:, 1] <= tol * tol) & ~at_min
    codes[flat] = FLAT
    codes[sweep.diverged_at >= 0] = DIVERGED
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


def basin_piece(spec: tuple, name: str, hyperparameters: tuple, size: int, rows: tuple[int, int],
                steps: int, tol: float = TOLERANCE) -> dict[str, np.ndarray]:
    """Rows ``rows`` of one optimizer's basin map (runs in a worker): codes, converged_at, diverged_at."""
    surface = surface_from_spec(spec)
    starts = grid_starts(surface.bounds, size, rows)
    result = optimizers.sweep(name, surface, starts, steps, tol=tol, **dict(hyperparameters))
    shape = (rows[1] - rows[0], size)
    return {
        "codes": classify(surface, result, tol).reshape(shape),
        "converged_at": result.converged_at.astype(np.int32).reshape(shape),
        "diverged_at": result.diverged_at.astype(np.int32).reshape(shape),
    }


def hyper_items(hyperparameters: dict) -> tuple[tuple[str, float], ...]:
    """Hashable, picklable, ordered form of a hyperparameter dict."""
    return tuple(sorted((str(k), float(v)) for k, v in hyperparameters.items()))


def basin_tasks(spec: tuple, names, hyperparameters: dict[str, dict], size: int, steps: int,
                tol: float = TOLERANCE) -> list[tuple]:
    """The pieces of the basin maps of ``names`` as (function, args) tuples, optimizer-major."""
    size = _check_grid(size)
    tasks = []
    for name in names:
        hyper = hyper_items(hyperparameters.get(name, {}))
        for rows in row_blocks(size):
            tasks.append((basin_piece, (spec, name, hyper, size, rows, int(steps), float(tol))))
    return tasks


def assemble_basins(surface, names, hyperparameters: dict[str, dict], size: int, steps: int,
                    pieces: list[dict]) -> dict[str, BasinMap]:
    """Stitch the pieces (in ``basin_tasks`` order) back into one BasinMap per optimizer."""
    xs, ys = grid_axes(surface.bounds, size)
    per = len(row_blocks(size))
    if len(pieces) != per * len(names):
        raise ValueError(f"expected {per * len(names)} pieces, got {len(pieces)}")
    maps = {}
    for k, name in enumerate(names):
        own = pieces[k * per:(k + 1) * per]
        arrays = {key: np.concatenate([p[key] for p in own]) for key in ("codes", "converged_at",
                                                                          "diverged_at")}
        full = {**optimizers.defaults(name), **hyperparameters.get(name, {})}
        maps[name] = BasinMap(name, full, int(steps), xs, ys, **arrays)
    return maps


def basin_maps_local(spec: tuple, names, hyperparameters: dict[str, dict], size: int, steps: int,
                     tol: float = TOLERANCE) -> dict[str, BasinMap]:
    """All basin maps computed in this process (tests, small grids)."""
    tasks = basin_tasks(spec, names, hyperparameters, size, steps, tol)
    return assemble_basins(surface_from_spec(spec), names, hyperparameters, size, steps,
                           [fn(*args) for fn, args in tasks])


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
            g = surface.gradient(points)
            d2 = g[:, 0] ** 2 + g[:, 1] ** 2
    hits = np.flatnonzero(d2 <= tol * tol)
    return int(hits[0]) if len(hits) else -1


def sensitivity_piece(spec: tuple, name: str, hyperparameters: tuple, parameter: str | None, value: float,
                      lrs: tuple, start: tuple[float, float], steps: int,
                      tol: float = TOLERANCE) -> dict[str, np.ndarray]:
    """One row of a sensitivity map (runs in a worker): each learning rate with ``parameter = value``."""
    surface = surface_from_spec(spec)
    hyper = dict(hyperparameters)
    if parameter is not None:
        hyper[parameter] = float(value)
    final = np.empty(len(lrs))
    converged = np.empty(len(lrs), dtype=np.int32)
    diverged = np.empty(len(lrs), dtype=np.int32)
    for k, lr in enumerate(lrs):
        path = optimizers.run(name, surface, start, steps, **{**hyper, "lr": float(lr)})
        final[k] = path.values[-1]
        converged[k] = arrival_step(surface, path.points, tol)
        diverged[k] = -1 if path.diverged_at is None else path.diverged_at
    return {"final_values": final, "converged_at": converged, "diverged_at": diverged}


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


def sensitivity_tasks(spec: tuple, name: str, hyperparameters: dict, parameter: str | None,
                      lrs, values, start, steps: int, tol: float = TOLERANCE) -> list[tuple]:
    if parameter is not None and parameter not in second_axes(name):
        raise ValueError(f"{optimizers.get(name).title} has no hyperparameter {parameter!r} to vary")
    hyper = hyper_items({k: v for k, v in hyperparameters.items() if k != "lr"})
    lrs = tuple(float(v) for v in lrs)
    start = (float(start[0]), float(start[1]))
    return [(sensitivity_piece, (spec, name, hyper, parameter, float(v), lrs, start, int(steps), float(tol)))
            for v in values]


def assemble_sensitivity(name: str, hyperparameters: dict, parameter: str | None, lrs, values, start,
                         steps: int, pieces: list[dict]) -> SensitivityMap:
    arrays = {key: np.stack([p[key] for p in pieces]) for key in ("final_values", "converged_at",
                                                                   "diverged_at")}
    fixed = {**optimizers.defaults(name), **{k: v for k, v in hyperparameters.items() if k != "lr"}}
    fixed.pop("lr", None)
    if parameter is not None:
        fixed.pop(parameter, None)
    return SensitivityMap(name, parameter, fixed, (float(start[0]), float(start[1])), int(steps),
                          np.asarray(lrs, dtype=float), np.asarray(values, dtype=float), **arrays)


def sensitivity_local(spec: tuple, name: str, hyperparameters: dict, parameter: str | None, lrs, values,
                      start, steps: int, tol: float = TOLERANCE) -> SensitivityMap:
    tasks = sensitivity_tasks(spec, name, hyperparameters, parameter, lrs, values, start, steps, tol)
    return assemble_sensitivity(name, hyperparameters, parameter, lrs, values, start, steps,
                                [fn(*args) for fn, args in tasks])


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
    defaults = optimizers.defaults(name)
    query = {"surface": surface_name, "optimizers": name, "steps": str(int(steps)),
             "start": urlstate.format_point(start)}
    for key, value in {**defaults, **hyperparameters}.items():
        if key == "lr" or value != defaults.get(key):
            query[urlstate.hyperparameter_key(name, key)] = urlstate.format_number(value)
    return query


def custom_query(text: str, bounds, name: str, start, steps: int, hyperparameters: dict) -> dict[str, str]:
    """Query parameters of the Custom-surface page for one run: the formula and window, then as above."""
    (x0, x1), (y0, y1) = bounds
    query = {"expr": text, "bounds": ",".join(urlstate.format_number(v) for v in (x0, x1, y0, y1))}
    run = race_query("", name, start, steps, hyperparameters)
    run.pop("surface")
    return {**query, **run}


def race_url(query: dict[str, str], base: str = "/") -> str:
    """``/?surface=…&optimizers=…``: the Race page is the app's root."""
    return base + "?" + urlencode(query, safe=",")
