"""Gradient descent on data: batch, mini-batch and stochastic runs, with epochs, on data surfaces.

``optimizers.run(name, surface, start, steps, batch_size=B, seed=S, **hyperparameters)`` comes here when
``surface`` is a data surface (or ``batch_size`` is given). Each step t:

1. takes the next mini-batch: batches are consecutive slices of a random permutation of the N samples,
   drawn anew at the start of each epoch from ``seed``; an epoch is ⌈N/B⌉ steps and its last batch holds
   the remainder (N − (⌈N/B⌉ − 1)·B samples). With B ≥ N (or B omitted) every step takes all samples in
   their natural order: batch gradient descent, the same bits as ``DataSurface.gradient``;
2. takes the gradient of the mean loss over that batch where the rule asks for it (θ, or NAG's look-ahead
   point θ − γv: on the *same* batch as its step), adds the optional gradient noise, and applies the
   optimizer's own compiled rule (``optimizers.rules``, the single source of the update rules) to each
   coordinate; second-order rules get the batch's Hessian;
3. records the new point and the full-data loss there, and stops a start that left the box, exactly as
   ``optimizers.engine`` does (``diverged_at``; later points repeat the last good one).

Schedules count steps (``decay_steps``), one meaning everywhere; ``steps_per_epoch`` converts.

The permutations come from SplitMix64 (integer arithmetic) and a Fisher–Yates shuffle, both compiled: the
same batches on every CPU and platform. All numbers come from numba-compiled code (``optimizers.jit``) and
the loss of ``surfaces.data``, none from NumPy's transcendental ufuncs.

The compiled loop is generated per optimizer from the table (one function each: the rule's state is a
different NamedTuple per optimizer) and cached on disk next to the engine's kernels
(``optimizers.compiled.cache_dir``), so a process loads it in milliseconds once compiled; ``warm()``
compiles them all.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizers import engine
from optimizers.compiled import _dependencies, _write
from optimizers.jit import kernel
from optimizers.table import OPTIMIZERS

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


@kernel
def _next(rng):
    """SplitMix64 (Steele, Lea & Flood 2014): the next 64-bit number of the stream held in rng[0]."""
    rng[0] = rng[0] + _GOLDEN
    z = rng[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@kernel
def shuffle(order, rng):
    """A fresh random permutation of 0 … n−1 in ``order`` (Fisher–Yates from the identity)."""
    n = order.shape[0]
    for i in range(n):
        order[i] = i
    for j in range(n - 1, 0, -1):
        k = np.int64(_next(rng) % np.uint64(j + 1))
        tmp = order[j]
        order[j] = order[k]
        order[k] = tmp


@kernel
def _epoch_orders(n, epochs, seed):
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = np.uint64(seed)
    out = np.empty((epochs, n), dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    for e in range(epochs):
        shuffle(order, rng)
        out[e, :] = order
    return out


def steps_per_epoch(n_samples: int, batch_size: int | None) -> int:
    """⌈N/B⌉: the steps of one pass over the data (1 for the full batch)."""
    b = n_samples if batch_size is None else min(int(batch_size), n_samples)
    return -(-n_samples // b)


def epoch_orders(n_samples: int, epochs: int, seed: int) -> np.ndarray:
    """(epochs, N): the permutation each epoch of a mini-batch run with ``seed`` takes its batches from,
    computed by the same compiled shuffle the runs use."""
    return _epoch_orders(int(n_samples), int(epochs), int(seed))


def batches(n_samples: int, batch_size: int, steps: int, seed: int) -> list[np.ndarray]:
    """The sample indices of each of ``steps`` steps, as a run with these settings takes them."""
    b = min(int(batch_size), n_samples)
    if b >= n_samples:
        return [np.arange(n_samples)] * steps
    per = steps_per_epoch(n_samples, b)
    orders = epoch_orders(n_samples, -(-steps // per), seed)
    return [orders[t // per][(t % per) * b:(t % per + 1) * b] for t in range(steps)]


# --- the generated loop ------------------------------------------------------------------------------------
_TEMPLATE = '''
@kernel
def data_{name}(model, x, y, stats, batch, seed, every, lrs, moms, fixed, noise, x0, y0, points, values,
                losses):
    n = x.shape[0]
    steps = lrs.shape[0]
    noisy = noise.shape[0] > 0
    full = batch >= n
    per = 1 if full else (n + batch - 1) // batch
    order = np.arange(n)
    rng = np.empty(1, dtype=np.uint64)
    rng[0] = np.uint64(seed)
    sx = {init}(0.0)
    sy = {init}(0.0)
    px = x0
    py = y0
    f = full_loss(model, px, py, x, y, stats)
    points[0, 0] = px
    points[0, 1] = py
    values[0] = f
    stop = -1 if inside(px, py, f) else 0
    why = 0
    lo = n  # where the next batch starts in this epoch's order; n: a new epoch begins
    for t in range(1, steps + 1):
        if stop < 0:
            if lo >= n:
                lo = 0
                if not full:
                    shuffle(order, rng)
            hi = min(lo + batch, n)
            h = hyper_for_step(lrs[t - 1], moms[t - 1], fixed, t)
            ax = {lookahead}(px, sx, h)
            ay = {lookahead}(py, sy, h)
            batch_loss, gx, gy, hxx, hxy, hyy = batch_terms(model, ax, ay, x, y, order, lo, hi, {hessian})
            lo = hi
            if noisy:
                gx = gx + noise[t - 1, 0]
                gy = gy + noise[t - 1, 1]
{rule}
            nx = px + dx
            ny = py + dy
            recorded = (t % every == 0) or (t % per == 0) or (t == steps)
            nf = full_loss(model, nx, ny, x, y, stats) if recorded else math.nan
            losses[t - 1] = batch_loss
            if inside(nx, ny, nf if recorded else 0.0) and code_now == 0:
                px = nx
                py = ny
                f = nf
                sx = nsx
                sy = nsy
            else:
                stop = t
                why = code_now
                f = full_loss(model, px, py, x, y, stats)  # the last good point's, repeated from here
        else:
            losses[t - 1] = losses[t - 2] if t >= 2 else math.nan
        points[t, 0] = px
        points[t, 1] = py
        values[t] = f
    return stop, why
'''
_FIRST_ORDER = '''            dx, nsx = {step}(gx, sx, h, t)
            dy, nsy = {step}(gy, sy, h, t)
            code_now = 0'''
_SECOND_ORDER = '''            dx, dy, nsx, code_now = {step}(gx, gy, hxx, hxy, hyy, sx, h, t)
            nsy = nsx'''


def module_source() -> str:
    """One compiled loop per optimizer of the table."""
    names = sorted({f.py_func.__name__ for o in OPTIMIZERS.values() for f in (o.init, o.step, o.lookahead)})
    parts = [
        '"""Generated by optimizers.data from the table of optimizers; do not edit."""',
        "import math",
        "",
        "import numpy as np",
        "",
        "from optimizers.data import shuffle",
        "from optimizers.jit import kernel",
        "from optimizers.kernel import inside",
        f"from optimizers.rules import hyper_for_step, {', '.join(names)}",
        "from surfaces.data import batch_terms, full_loss",
        "",
    ]
    for o in OPTIMIZERS.values():
        rule = (_SECOND_ORDER if o.second_order else _FIRST_ORDER).format(step=o.step.py_func.__name__)
        parts.append(_TEMPLATE.format(name=o.name, init=o.init.py_func.__name__, rule=rule,
                                      lookahead=o.lookahead.py_func.__name__,
                                      hessian="True" if o.second_order else "False"))
    return "\n".join(parts)


_lock = threading.Lock()


@functools.cache
def _loops() -> dict:
    """{optimizer name: compiled loop}, from a file named by the hash of its text and of the code it calls
    (numba checks only the file's own date), loaded once per process."""
    source = module_source()
    here = Path(__file__).resolve().parent
    called = _dependencies() + (here / "data.py").read_bytes() + \
        (here.parent / "surfaces" / "data.py").read_bytes()
    name = "descent_lab_data_" + hashlib.sha256(source.encode() + called).hexdigest()[:16]
    with _lock:
        path = _write(source, name)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return {n: getattr(module, f"data_{n}") for n in OPTIMIZERS}


# --- public API -------------------------------------------------------------------------------------------
def is_data_surface(surface) -> bool:
    return getattr(surface, "model_code", None) is not None and getattr(surface, "program", None) is None


@dataclass(frozen=True)
class DataPath(engine.Path):
    """A ``Path`` on a data surface (``values``: the full-data loss at each point; see ``loss_every``), and:

    batch_size: B (N for the full batch); steps_per_epoch: ⌈N/B⌉;
    batch_losses: the mean loss of step t's batch where its gradient was taken ((steps,) for one start,
        (P, steps) for several); after a divergence it repeats the last one.
    """

    batch_size: int = 0
    steps_per_epoch: int = 1
    batch_losses: np.ndarray | None = None
    loss_every: int = 1  # values at every k-th step, each epoch's end and the last step; NaN between

    @property
    def epoch_ends(self) -> np.ndarray:
        """The steps that end an epoch (and step 0): where ``epoch_losses`` are taken."""
        return np.arange(0, self.steps + 1, self.steps_per_epoch)

    @property
    def epoch_losses(self) -> np.ndarray:
        """The full-data loss at the start and after each whole epoch."""
        return self.values[..., self.epoch_ends]


def validate_batch_size(batch_size, surface) -> int:
    """B as an int, at most N; ValueError with a fixed message otherwise."""
    if not is_data_surface(surface):
        title = getattr(surface, "title", surface)
        raise ValueError(f"batch_size needs a data surface (surfaces.get_dataset or surfaces.from_data); "
                         f"{title} is a formula with an exact gradient")
    n = surface.n_samples
    if batch_size is None:
        return n
    ok = isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool) and batch_size >= 1
    if not ok:
        raise ValueError(f"Invalid batch size: {batch_size} (a whole number from 1)")
    return min(int(batch_size), n)


def run(name: str, surface, start, steps: int, batch_size: int | None = None, loss_every: int = 1,
        **hyperparameters) -> DataPath:
    """Optimizer ``name`` on a data surface with mini-batches of ``batch_size`` (see the module docstring);
    the run options of ``optimizers.schedules`` apply (``seed`` also seeds the batches).

    ``loss_every`` = k > 1 records the full-data loss (``values``) only at every k-th step, at the end of
    each epoch and at the last step, NaN elsewhere: the path itself is the same, bit for bit. For logistic
    regression, whose full-data loss costs N exp/log1p pairs, that is most of a run's time on large data.
    """
    b = validate_batch_size(batch_size, surface)
    ok = isinstance(loss_every, (int, np.integer)) and not isinstance(loss_every, bool) and loss_every >= 1
    if not ok:
        raise ValueError(f"Invalid loss_every: {loss_every} (a whole number from 1)")
    s = engine.settings(name, steps, **hyperparameters)
    starts, single = engine.as_starts(start)
    loop = _loops()[name]
    lrs = np.asarray(s.learning_rates, dtype=np.float64)
    moms = np.asarray(s.momenta, dtype=np.float64)
    fixed = engine.fixed_hyperparameters(s.hyperparameters)
    noise = np.ascontiguousarray(engine.noise_draws(s))
    seed = int(s.options["seed"])
    count = len(starts)
    points = np.empty((count, s.steps + 1, 2))
    values = np.empty((count, s.steps + 1))
    losses = np.empty((count, s.steps))
    diverged = np.empty(count, dtype=np.int64)
    why = np.zeros(count, dtype=np.int64)
    for i, (x0, y0) in enumerate(starts.tolist()):
        diverged[i], why[i] = loop(surface.model_code, surface.x, surface.y, surface.stats, b, seed,
                                   int(loss_every), lrs, moms, fixed, noise, x0, y0, points[i], values[i],
                                   losses[i])
    per = steps_per_epoch(surface.n_samples, b)
    common = dict(batch_size=b, steps_per_epoch=per, loss_every=int(loss_every))
    if single:
        d = int(diverged[0])
        return DataPath(name, surface.name, s.hyperparameters, s.options, points[0], values[0],
                        None if d < 0 else d, int(why[0]), batch_losses=losses[0], **common)
    return DataPath(name, surface.name, s.hyperparameters, s.options, points, values, diverged, why,
                    batch_losses=losses, **common)


def sweep(name: str, surface, starts, steps: int, tol: float = 1e-3, batch_size: int | None = None,
          **hyperparameters) -> engine.Sweep:
    """``optimizers.sweep`` on a data surface: where each start ends, with the same rules as ``run``."""
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"Invalid tolerance: {tol}")
    path = run(name, surface, engine.as_starts(starts)[0], steps, batch_size, **hyperparameters)
    minima = surface.all_minima
    final = path.points[:, -1]
    if len(minima):
        d2 = ((path.points[:, :, None, :] - minima[None, None, :, :]) ** 2).sum(axis=-1).min(axis=-1)
        near = (d2 <= tol * tol) & (np.arange(path.steps + 1)[None, :] < np.where(
            path.diverged_at < 0, path.steps + 1, path.diverged_at)[:, None])
        converged = np.where(near.any(axis=1), near.argmax(axis=1), -1)
        nearest = np.argmin(((final[:, None, :] - minima[None, :, :]) ** 2).sum(axis=-1), axis=1)
    else:
        converged = np.full(len(final), -1)
        nearest = np.full(len(final), -1)
    return engine.Sweep(name, surface.name, path.hyperparameters, final, path.values[:, -1], converged,
                        path.diverged_at, nearest)


def warm() -> None:
    """Compile (or load from the disk cache) every optimizer's loop, with the argument types of real runs."""
    import surfaces.data as data

    surface = data.from_data([0.0, 1.0, 2.0], [0.0, 1.0, 1.0], "logistic")
    for name in OPTIMIZERS:
        run(name, surface, (0.0, 0.0), 2, batch_size=2)


__all__ = ["DataPath", "batches", "epoch_orders", "is_data_surface", "run",
           "steps_per_epoch", "sweep", "validate_batch_size", "warm"]
