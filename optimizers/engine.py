"""Runs and sweeps: the update rules applied to surfaces, with checks, schedules, noise and divergence.

Two engines run the *same* rule code (``optimizers.rules`` is elementwise):

* the scalar engine, for a few starts (``run`` with P ≤ ``SCALAR_MAX_STARTS``): one coordinate per
  Python float and the surface's ``math``-module gradient — about 2 µs a step, where a NumPy call alone
  costs 1 µs;
* the array engine, for many starts (large ``run`` batches and every ``sweep``): coordinates held as a
  (2, P) array so each row is contiguous, the surface's NumPy gradient, one vectorized step for all P.

Divergence. A start stops at the first step t whose new point has a non-finite or huge coordinate or
value (|θ| or |f| above ``LIMIT`` = 1e6), or whose gradient cannot be evaluated (a custom formula's
domain). ``diverged_at`` is that t; the points from t on repeat the last good point θ_{t−1}, so every
path stays finite and drawable. No RuntimeWarning escapes and nothing raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optimizers import schedules
from optimizers.rules import ArrayOps, ScalarOps, identity_lookahead
from optimizers.table import OPTIMIZERS, Optimizer

LIMIT = 1e6  # |θ| or |f| beyond this counts as divergence (the saddle is unbounded below)
SCALAR_MAX_STARTS = 16  # above this many starts, run() uses the array engine
MAX_STEPS = 100_000
_SCALAR_ERRORS = (OverflowError, ValueError, ZeroDivisionError, TypeError)


def available() -> list[str]:
    """Slugs of the ten optimizers, in the order of Ruder's overview."""
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


def _noise_draws(s: Settings, count: int):
    """All noise draws for a scalar run, (steps, P, 2), or None when noise is off."""
    if s.options["noise"] == 0.0:
        return None
    return np.random.default_rng(s.options["seed"]).standard_normal((s.steps, count, 2))


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

    @property
    def steps(self) -> int:
        return self.points.shape[-2] - 1


# --- scalar engine ------------------------------------------------------------------------------------
def _scalar_point_ok(x, y) -> bool:
    """Inside the box. NaN fails the comparison; a complex number (Python's (-8) ** (1/3)) the type test."""
    return x.__class__ is float and y.__class__ is float and abs(x) <= LIMIT and abs(y) <= LIMIT


def _run_scalar_one(s: Settings, surface, x: float, y: float, noise, out: np.ndarray) -> int:
    """One start with floats; fills out (steps + 1, 2); returns diverged_at (-1 when none)."""
    opt = s.optimizer
    step, lookahead, grad = opt.step, opt.lookahead, surface.scalar_gradient
    looks_ahead = lookahead is not identity_lookahead
    xp = ScalarOps
    sx = sy = opt.init(0.0)
    h = dict(s.hyperparameters)
    scheduled = s.scheduled
    lrs, moms, has_momentum = s.learning_rates, s.momenta, "momentum" in h
    out[0] = (x, y)
    xs = [x]
    ys = [y]
    diverged = -1
    for t in range(1, s.steps + 1):
        if scheduled:
            h["lr"] = lrs[t - 1]
            if has_momentum:
                h["momentum"] = moms[t - 1]
        try:
            if looks_ahead:
                gx, gy = grad(lookahead(x, sx, h), lookahead(y, sy, h))
            else:
                gx, gy = grad(x, y)
            if noise is not None:
                sigma = s.noise_scales[t - 1]
                zx, zy = noise[t - 1]
                gx = gx + sigma * zx
                gy = gy + sigma * zy
            dx, sx = step(xp, gx, sx, h, t)
            dy, sy = step(xp, gy, sy, h, t)
            x = x + dx
            y = y + dy
        except _SCALAR_ERRORS:
            diverged = t
            break
        if not _scalar_point_ok(x, y):
            diverged = t
            break
        xs.append(x)
        ys.append(y)
    n = len(xs)
    out[:n, 0] = xs
    out[:n, 1] = ys
    out[n:] = out[n - 1]
    return diverged


def _check_values(points: np.ndarray, values: np.ndarray, diverged: np.ndarray) -> None:
    """Apply the |f| part of the divergence rule after the fact (exact: later points never feed back)."""
    bad = ~(np.abs(values) <= LIMIT)
    for i in np.flatnonzero(bad.any(axis=1)):
        first = int(np.argmax(bad[i]))
        if diverged[i] == -1 or first < diverged[i]:
            diverged[i] = first
            keep = max(first - 1, 0)
            points[i, first:] = points[i, keep]
            values[i, first:] = values[i, keep]


def _run_scalar(s: Settings, surface, starts: np.ndarray):
    count = len(starts)
    points = np.empty((count, s.steps + 1, 2))
    diverged = np.full(count, -1, dtype=int)
    noise = _noise_draws(s, count)
    for i, (x, y) in enumerate(starts.tolist()):
        # Python floats for the start's draws: NumPy scalars would fail the float type test.
        own_noise = None if noise is None else noise[:, i, :].tolist()
        diverged[i] = _run_scalar_one(s, surface, x, y, own_noise, points[i])
    values = surface.value(points)
    _check_values(points, values, diverged)
    return points, values, diverged


# --- array engine ---------------------------------------------------------------------------------------
@dataclass
class _ArrayResult:
    final: np.ndarray  # (2, P)
    final_values: np.ndarray  # (P,)
    diverged: np.ndarray  # (P,) int, -1 none
    converged: np.ndarray | None  # (P,) int, -1 never
    points: np.ndarray | None  # (P, steps + 1, 2) when kept
    values: np.ndarray | None


def _run_array(s: Settings, surface, starts: np.ndarray, keep_path: bool, minima=None,
               tol: float = 0.0) -> _ArrayResult:
    opt = s.optimizer
    step, lookahead = opt.step, opt.lookahead
    xp = ArrayOps
    count = len(starts)
    theta = np.ascontiguousarray(starts.T)  # (2, P)
    state = opt.init(np.zeros_like(theta))
    grad = np.empty_like(theta)
    h = dict(s.hyperparameters)
    has_momentum = "momentum" in h
    rng = np.random.default_rng(s.options["seed"]) if s.options["noise"] else None
    diverged = np.full(count, -1, dtype=int)
    frozen = None  # boolean mask of stopped starts, once there are any
    points = values = None
    f = surface.value_xy(theta)
    if keep_path:
        points = np.empty((count, s.steps + 1, 2))
        values = np.empty((count, s.steps + 1))
        points[:, 0] = starts
        values[:, 0] = f
    converged = None
    if minima is not None:
        converged = np.full(count, -1, dtype=int)
        _mark_converged(surface, theta, minima, tol, converged, 0)
    bad0 = ~((np.abs(f) <= LIMIT) & (np.abs(theta) <= LIMIT).all(axis=0))
    if bad0.any():
        diverged[bad0] = 0
        frozen = bad0
    for t in range(1, s.steps + 1):
        h["lr"] = s.learning_rates[t - 1]
        if has_momentum:
            h["momentum"] = s.momenta[t - 1]
        surface.gradient_xy(lookahead(theta, state, h), grad)
        g = grad
        if rng is not None:
            g = grad + s.noise_scales[t - 1] * rng.standard_normal((count, 2)).T
        delta, state = step(xp, g, state, h, t)
        new = theta + delta
        f_new = surface.value_xy(new)
        # Fast path: two reductions decide that every start is fine (NaN makes max() fail the test).
        if frozen is not None or not (np.abs(f_new).max() <= LIMIT and np.abs(new).max() <= LIMIT):
            ok = (np.abs(f_new) <= LIMIT) & (np.abs(new[0]) <= LIMIT) & (np.abs(new[1]) <= LIMIT)
            if frozen is not None:
                ok |= frozen
            if not ok.all():
                newly = ~ok
                diverged[newly] = t
                frozen = newly if frozen is None else frozen | newly
        if frozen is not None:
            new[:, frozen] = theta[:, frozen]
            f_new[frozen] = f[frozen]
        theta, f = new, f_new
        if keep_path:
            points[:, t] = theta.T
            values[:, t] = f
        if converged is not None:
            _mark_converged(surface, theta, minima, tol, converged, t)
    return _ArrayResult(theta, f, diverged, converged, points, values)


def _mark_converged(surface, theta, minima, tol, converged, t):
    """Record step t for starts first within tol of a minimum (or of a stationary point)."""
    pending = converged < 0
    if not pending.any():
        return
    if len(minima):
        d2 = None
        for mx, my in minima.tolist():
            dx = theta[0] - mx
            dy = theta[1] - my
            dist2 = dx * dx + dy * dy
            d2 = dist2 if d2 is None else np.minimum(d2, dist2, out=d2)
        hit = d2 <= tol * tol
    else:
        g = np.empty_like(theta)
        surface.gradient_xy(theta, g)
        hit = g[0] ** 2 + g[1] ** 2 <= tol * tol
    converged[pending & hit] = t


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
    with np.errstate(all="ignore"):
        if len(starts) <= SCALAR_MAX_STARTS:
            points, values, diverged = _run_scalar(s, surface, starts)
        else:
            r = _run_array(s, surface, starts, keep_path=True)
            points, values, diverged = r.points, r.values, r.diverged
    if single:
        d = int(diverged[0])
        diverged_at = None if d < 0 else d
        return Path(name, surface.name, s.hyperparameters, s.options, points[0], values[0], diverged_at)
    return Path(name, surface.name, s.hyperparameters, s.options, points, values, diverged)


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
    """Run ``name`` from every start in ``starts`` (P, 2) at once with the array engine."""
    s = settings(name, steps, **hyperparameters)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"Invalid tolerance: {tol}")
    pts, _ = as_starts(starts)
    minima = surface.all_minima
    with np.errstate(all="ignore"):
        r = _run_array(s, surface, pts, keep_path=False, minima=minima, tol=float(tol))
        final = np.ascontiguousarray(r.final.T)
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


def trace(name: str, surface, start, steps: int, **hyperparameters) -> list[StepRecord]:
    """The first ``steps`` steps of a single-start run, recorded one by one.

    It stops where ``run`` reports divergence: the records are exactly the steps before ``diverged_at``.

    It applies the same rule functions to the same floats as ``run``'s scalar engine, so each
    ``theta_next`` equals the run's point exactly.
    """
    s = settings(name, steps, **hyperparameters)
    starts, single = as_starts(start)
    if not single:
        raise ValueError("Invalid start: trace takes one (x, y) start")
    opt = s.optimizer
    x, y = starts[0].tolist()
    sx = sy = opt.init(0.0)
    noise = _noise_draws(s, 1)
    records = []
    if not (_scalar_point_ok(x, y) and abs(float(surface.value((x, y)))) <= LIMIT):
        return records
    for t in range(1, s.steps + 1):
        h = s.step_hyperparameters(t)
        try:
            ax, ay = opt.lookahead(x, sx, h), opt.lookahead(y, sy, h)
            gx, gy = surface.scalar_gradient(ax, ay)
            if noise is not None:
                sigma = s.noise_scales[t - 1]
                zx, zy = noise[t - 1, 0].tolist()
                gx, gy = gx + sigma * zx, gy + sigma * zy
            dx, nsx = opt.step(ScalarOps, gx, sx, h, t)
            dy, nsy = opt.step(ScalarOps, gy, sy, h, t)
        except _SCALAR_ERRORS:
            break
        nx, ny = x + dx, y + dy
        # The same rule as run: the box on θ, then |f| (with NumPy's value, as run computes it).
        if not (_scalar_point_ok(nx, ny) and abs(float(surface.value((nx, ny)))) <= LIMIT):
            break
        records.append(StepRecord(t, (x, y), (ax, ay), (gx, gy), h, (sx, sy), (nsx, nsy), (dx, dy), (nx, ny)))
        x, y, sx, sy = nx, ny, nsx, nsy
    return records
