"""Runs and sweeps: the update rules applied to surfaces, with checks, schedules, noise and divergence.

One engine serves every caller: ``optimizers.kernel`` compiles one kernel per optimizer, and ``run`` (one
start or a batch), ``sweep`` (thousands of starts, final points only) and ``trace`` (the explainer) all
evaluate the same compiled rule and the same surface program (``Surface.program``) with the same
operations in the same order. So the three agree bit for bit on any CPU: no NumPy ufunc, whose SIMD
kernels round differently on AVX-512, touches a path.

Divergence. A start stops at the first step t whose new point has a non-finite or huge coordinate or
value (|θ| or |f| above ``LIMIT`` = 1e6), or whose gradient cannot be evaluated (a custom formula's
domain: NaN). ``diverged_at`` is that t; the points from t on repeat the last good point θ_{t−1}, so every
path stays finite and drawable. No RuntimeWarning escapes and nothing raises.

Noise (the ``noise`` option) is one sequence of draws per run, shared by all its starts: a start's path
does not depend on which batch it ran in, and an Atlas cell replays exactly on the Race page.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from optimizers import schedules
from optimizers.codegen import outputs_needed
from optimizers.compiled import fused_kernels_when_ready, kernels
from optimizers.kernel import LIMIT, evaluate_many, evaluate_point
from optimizers.rules import FIXED, HESSIAN_NOT_FINITE, HESSIAN_OK, HESSIAN_SINGULAR, hyper_for_step
from optimizers.rules import identity_lookahead as _identity
from optimizers.table import OPTIMIZERS, Optimizer

MAX_STEPS = 100_000
PARALLEL_MIN_STARTS = 4096  # from this many starts a run is split over the CPU's cores
_THREADS = max(1, min(4, os.cpu_count() or 1))
_pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="descent-kernel") if _THREADS > 1 else None


def available() -> list[str]:
    """Slugs of the optimizers: the ten of Ruder's overview in its order, then the second-order ones."""
    return list(OPTIMIZERS)


def get(name: str) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def defaults(name: str) -> dict[str, float]:
    """The optimizer's hyperparameters with their defaults (from the papers and Ruder)."""
    return get(name).defaults()


@dataclass(frozen=True)
class Settings:
    """A validated run: the optimizer, its full hyperparameters, run options, and per-step schedules."""

    optimizer: Optimizer
    hyperparameters: dict[str, float]
    options: dict[str, object]
    steps: int
    learning_rates: list[float] = field(repr=False)
    momenta: list[float] = field(repr=False)
    noise_scales: list[float] = field(repr=False)

    @property
    def scheduled(self) -> bool:
        return self.options["lr_schedule"] != "constant" or self.options["momentum_schedule"] != "constant"

    def step_hyperparameters(self, t: int) -> dict[str, float]:
        """The hyperparameters in force for step t (1-based)."""
        h = dict(self.hyperparameters)
        h["lr"] = self.learning_rates[t - 1]
        if "momentum" in h:
            h["momentum"] = self.momenta[t - 1]
        return h


def settings(name: str, steps: int, **hyperparameters) -> Settings:
    """Validate everything up front, with fixed messages (torch.optim style)."""
    optimizer = get(name)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"Invalid number of steps: {steps} (1 to {MAX_STEPS})")
    steps = int(steps)
    hyper = optimizer.defaults()
    options = {k: o.default for k, o in schedules.RUN_OPTIONS.items()}
    for key, value in hyperparameters.items():
        if key in hyper:
            hyper[key] = optimizer.hyperparameter(key).validate(value)
        elif key in options:
            options[key] = schedules.validate_run_option(key, value)
        else:
            valid = ", ".join([*hyper, *options])
            raise ValueError(f"Unknown hyperparameter {key!r} for {optimizer.title}; valid: {valid}")
    lrs = schedules.learning_rates(hyper["lr"], steps, options["lr_schedule"], options["decay_rate"],
                                   options["decay_steps"])
    moms = schedules.momenta(hyper.get("momentum", 0.0), steps, options["momentum_schedule"])
    sig = schedules.noise_scales(options["noise"], options["noise_decay"], steps)
    return Settings(optimizer, hyper, options, steps, lrs.tolist(), moms.tolist(), sig.tolist())


def as_starts(start) -> tuple[np.ndarray, bool]:
    """(P, 2) float array of starts, and whether a single (x, y) was given."""
    try:
        arr = np.array(start, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid start: {start!r} (expected (x, y) or an array of shape (P, 2))") from None
    single = arr.shape == (2,)
    if single:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ValueError(f"Invalid start: expected (x, y) or an array of shape (P, 2), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"Invalid start: {start!r} (coordinates must be finite)")
    return arr, single


def noise_draws(s: Settings) -> np.ndarray:
    """σ_t·z_t for each step and coordinate, (steps, 2); empty when noise is off.

    The same draws are added to the gradient of every start of the run (see the module docstring).
    """
    if s.options["noise"] == 0.0:
        return np.zeros((0, 2))
    z = np.random.default_rng(s.options["seed"]).standard_normal((s.steps, 2))
    return np.asarray(s.noise_scales)[:, None] * z


def fixed_hyperparameters(hyperparameters: dict) -> np.ndarray:
    """The kernel's row of the hyperparameters that no schedule changes (``rules.FIXED`` order, 0 for
    those the rule lacks)."""
    return np.array([float(hyperparameters.get(f, 0.0)) for f in FIXED])


# Why a start stopped: it left the box (|θ| or |f| above LIMIT, or NaN), or a second-order rule could not
# solve with its Hessian.
STOP_REASONS = {HESSIAN_OK: "diverged", HESSIAN_SINGULAR: "Hessian singular",
                HESSIAN_NOT_FINITE: "Hessian not finite"}


@dataclass(frozen=True)
class Path:
    """A run's trajectory.

    points: (steps + 1, 2) for one start, (P, steps + 1, 2) for a batch; row 0 is the start.
    values: f at each point, same shape without the last axis.
    diverged_at: the step at which the start diverged, or None (one start); for a batch an int array
        (P,) with -1 for starts that did not diverge. From that step on, points repeat the last good one.
    """

    optimizer: str
    surface: str
    hyperparameters: dict
    options: dict
    points: np.ndarray
    values: np.ndarray
    diverged_at: int | None | np.ndarray
    stopped_by: int | np.ndarray = 0  # why it stopped (STOP_REASONS); per start for a batch

    @property
    def steps(self) -> int:
        return self.points.shape[-2] - 1

    @property
    def note(self) -> str | None:
        """For one start: why and where the run stopped ("Hessian singular at step 3"), or None."""
        if self.diverged_at is None or isinstance(self.diverged_at, np.ndarray):
            return None
        return f"{STOP_REASONS[int(self.stopped_by)]} at step {self.diverged_at}"


# --- the kernel driver ---------------------------------------------------------------------------------
@dataclass
class _Result:
    final: np.ndarray  # (P, 2)
    final_values: np.ndarray  # (P,)
    diverged: np.ndarray  # (P,) int, -1 none
    why: np.ndarray  # (P,) int: STOP_REASONS code of each stopped start
    converged: np.ndarray  # (P,) int, -1 never (only filled when tracked)
    points: np.ndarray | None  # (P, steps + 1, 2) when kept
    values: np.ndarray | None  # (P, steps + 1)


def execute(s: Settings, surface, starts: np.ndarray, keep_path: bool, minima=None, tol: float = 0.0,
            table: dict | None = None) -> _Result:
    """Run the optimizer's kernel from ``table`` (default: the interpreting kernels) over all starts,
    split across the CPU's cores when there are many."""
    run_kernel = (table or kernels())[s.optimizer.name]
    program = surface.program
    outputs = program.outputs[:outputs_needed(s.optimizer)]
    count = len(starts)
    starts = np.ascontiguousarray(starts, dtype=np.float64)
    lrs = np.asarray(s.learning_rates, dtype=np.float64)
    moms = np.asarray(s.momenta, dtype=np.float64)
    fixed = fixed_hyperparameters(s.hyperparameters)
    noise = noise_draws(s)
    track = minima is not None
    minima = np.zeros((0, 2)) if minima is None else np.ascontiguousarray(minima, dtype=np.float64)
    steps = s.steps
    points = np.empty((steps + 1, 2, count) if keep_path else (0, 2, 0))
    values = np.empty((steps + 1, count) if keep_path else (0, 0))
    final = np.empty((count, 2))
    final_values = np.empty(count)
    diverged = np.empty(count, dtype=np.int64)
    why = np.zeros(count, dtype=np.int64)
    converged = np.full(count, -1, dtype=np.int64)

    def block(lo: int, hi: int) -> None:
        # Slices are views: each thread fills its own columns of the shared outputs.
        run_kernel(program.code, program.constants, program.registers, outputs, starts[lo:hi],
                   lrs, moms, fixed, noise, minima, tol, keep_path, track,
                   points[:, :, lo:hi] if keep_path else points, values[:, lo:hi] if keep_path else values,
                   final[lo:hi], final_values[lo:hi], diverged[lo:hi], why[lo:hi], converged[lo:hi])

    if _pool is None or count < PARALLEL_MIN_STARTS:
        block(0, count)
    else:
        edges = np.linspace(0, count, _THREADS + 1).astype(int)
        for future in [_pool.submit(block, lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]:
            future.result()
    if keep_path:
        paths = np.ascontiguousarray(points.transpose(2, 0, 1))
        return _Result(final, final_values, diverged, why, converged, paths, np.ascontiguousarray(values.T))
    return _Result(final, final_values, diverged, why, converged, None, None)


# --- public API ----------------------------------------------------------------------------------------
def run(name: str, surface, start, steps: int, **hyperparameters) -> Path:
    """Run optimizer ``name`` on ``surface`` for ``steps`` steps from ``start`` ((x, y) or (P, 2)).

    Hyperparameters are the optimizer's own (see ``defaults(name)``) plus the run options of
    ``optimizers.schedules`` (lr_schedule, decay_rate, decay_steps, momentum_schedule, noise, noise_decay,
    seed). Invalid values raise ValueError before anything runs; numbers that misbehave during the run
    never raise (see the module docstring).
    """
    s = settings(name, steps, **hyperparameters)
    starts, single = as_starts(start)
    r = execute(s, surface, starts, keep_path=True)
    points, values, diverged = r.points, r.values, r.diverged
    if single:
        d = int(diverged[0])
        diverged_at = None if d < 0 else d
        return Path(name, surface.name, s.hyperparameters, s.options, points[0], values[0], diverged_at,
                    int(r.why[0]))
    return Path(name, surface.name, s.hyperparameters, s.options, points, values, diverged, r.why)


def evaluate(surface, points) -> np.ndarray:
    """f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y² at points (P, 2) → (P, 6), computed exactly as the
    engine computes them (the surface's program, compiled): the same bits on every CPU."""
    pts = np.ascontiguousarray(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    program = surface.program
    return evaluate_many(program.code, program.constants, program.registers, program.outputs, pts).T


@dataclass(frozen=True)
class Sweep:
    """Where each of P starts ends up, without keeping paths (memory O(P)).

    final_points (P, 2) and final_values (P,) equal the last points of ``run`` exactly;
    converged_at (P,): first step within ``tol`` of a listed minimum (``surface.all_minima``: global
    minima first, then known local ones), or with gradient norm below ``tol`` where none are listed; -1
    when never. diverged_at (P,): as in ``run``, -1 when never. nearest_minimum (P,): index into
    ``surface.all_minima`` of the minimum nearest the final point (-1 when none are listed).
    """

    optimizer: str
    surface: str
    hyperparameters: dict
    final_points: np.ndarray
    final_values: np.ndarray
    converged_at: np.ndarray
    diverged_at: np.ndarray
    nearest_minimum: np.ndarray


def sweep(name: str, surface, starts, steps: int, tol: float = 1e-3, **hyperparameters) -> Sweep:
    """Run ``name`` from every start in ``starts`` (P, 2) at once, keeping only where each ends."""
    s = settings(name, steps, **hyperparameters)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"Invalid tolerance: {tol}")
    pts, _ = as_starts(starts)
    minima = surface.all_minima
    # The fused kernels when they are compiled (always for the catalogue): same bits, several times faster.
    r = execute(s, surface, pts, keep_path=False, minima=minima, tol=float(tol),
                table=fused_kernels_when_ready(surface))
    final = r.final
    with np.errstate(all="ignore"):
        if len(minima):
            d2 = ((final[:, None, :] - minima[None, :, :]) ** 2).sum(axis=-1)
            nearest = np.argmin(d2, axis=1)
        else:
            nearest = np.full(len(final), -1)
    return Sweep(name, surface.name, s.hyperparameters, final, r.final_values, r.converged, r.diverged,
                 nearest)


@dataclass(frozen=True)
class StepRecord:
    """Everything about step t of a single-start run, for explanations and overlays.

    theta is θ_{t−1} (where the step starts), lookahead the point where the gradient was taken,
    gradient that gradient (noise included), hyperparameters the values in force (scheduled lr and
    momentum), state_before / state_after the rule's accumulators per coordinate (x, y), delta the
    move and theta_next = theta + delta, which equals ``run(...).points[t]``.
    """

    t: int
    theta: tuple[float, float]
    lookahead: tuple[float, float]
    gradient: tuple[float, float]
    hyperparameters: dict
    state_before: tuple
    state_after: tuple
    delta: tuple[float, float]
    theta_next: tuple[float, float]
    hessian: tuple[float, float, float] | None = None  # (∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²) at θ, second-order rules


def trace(name: str, surface, start, steps: int, **hyperparameters) -> list[StepRecord]:
    """The first ``steps`` steps of a single-start run, recorded one by one.

    It stops where ``run`` reports divergence: the records are exactly the steps before ``diverged_at``.
    It calls the same compiled rule and the same surface program as ``run``'s kernel, in the same order,
    so each ``theta_next`` equals the run's point exactly.
    """
    s = settings(name, steps, **hyperparameters)
    starts, single = as_starts(start)
    if not single:
        raise ValueError("Invalid start: trace takes one (x, y) start")
    opt = s.optimizer
    program = surface.program

    def at(px: float, py: float) -> list[float]:
        """f, ∇f and the Hessian at one point, from the compiled program."""
        return evaluate_point(program.code, program.constants, program.registers, program.outputs,
                              px, py).tolist()

    x, y = starts[0].tolist()
    sx = sy = opt.init(0.0)
    noise = noise_draws(s).tolist()
    fixed = fixed_hyperparameters(s.hyperparameters)
    records = []
    here = at(x, y)
    if not _inside(x, y, here[0]):
        return records
    for t in range(1, s.steps + 1):
        h = s.step_hyperparameters(t)
        hyper = hyper_for_step(s.learning_rates[t - 1], s.momenta[t - 1], fixed, t)
        ax, ay = float(opt.lookahead(x, sx, hyper)), float(opt.lookahead(y, sy, hyper))
        gx, gy = here[1:3] if opt.lookahead is _identity else at(ax, ay)[1:3]
        if noise:
            gx, gy = gx + noise[t - 1][0], gy + noise[t - 1][1]
        hessian = None
        if opt.second_order:
            hessian = tuple(here[3:6])
            dx, dy, nsx, status = opt.step(gx, gy, *hessian, sx, hyper, t)
            nsy = nsx
            if status != HESSIAN_OK:
                break
        else:
            dx, nsx = opt.step(gx, sx, hyper, t)
            dy, nsy = opt.step(gy, sy, hyper, t)
        nx, ny = x + dx, y + dy
        here = at(nx, ny)
        if not _inside(nx, ny, here[0]):
            break
        records.append(StepRecord(t, (x, y), (ax, ay), (gx, gy), h, (sx, sy), (nsx, nsy), (dx, dy), (nx, ny),
                                  hessian))
        x, y, sx, sy = nx, ny, nsx, nsy
    return records


def _inside(x: float, y: float, f: float) -> bool:
    return abs(x) <= LIMIT and abs(y) <= LIMIT and abs(f) <= LIMIT
