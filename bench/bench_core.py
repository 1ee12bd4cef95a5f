"""Benchmark of the optimizer core, side by side with torch.optim on the same work, in one run.

Goals (issues): ten optimizers × 1000 steps on Beale ≤ 50 ms; 65,536 starts × 300 steps of Adam ≥ 5×
torch.optim.Adam on the same work (warm, same gradient), on Rosenbrock and on a visitor's formula
(Himmelblau typed into the Custom page, against the same gradient written in torch).

A speed ratio is a claim about the CPU it was measured on: the first line names NumPy's SIMD targets
and whether the CPU has AVX-512. The engine's *results* do not depend on it (tests/test_kernel.py).

Beside ours and torch's, each surface's lines print the *ceiling* on this CPU: a minimal kernel, written by
hand, that does only Adam's arithmetic (the same compiled ``rules.adam_step``) and the surface's gradient,
in the same vectorized loop over chunks of starts, without what a sweep must also do (f at every step, the
divergence test and freeze, the arrival test against the minima: one for Rosenbrock, four for
Himmelblau). Adam's exact rule costs three IEEE divisions and a
square root per coordinate, which the CPU's divider serializes, so no kernel with the exact rule gets past
that line; the ratio ceiling/torch is the most the exact rule allows here. For comparison it also prints
the same minimal kernel with the bias corrections folded into products (the rounding torch.optim uses;
not the rule we run, see ``optimizers/rules.py``).

Run: ``.venv/bin/python bench/bench_core.py`` (torch is optional: ``pip install torch==2.13.0``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimizers  # noqa: E402
import surfaces  # noqa: E402
from optimizers import compiled, engine, jit  # noqa: E402
from optimizers.kernel import CHUNK  # noqa: E402
from optimizers.rules import AdamState, adam_step, hyper_for_step  # noqa: E402

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
PARTICLES = 65_536
STEPS = 300


def best_of(fn, repeats: int, clock=time.perf_counter) -> tuple[float, float]:
    """(best, median) time in seconds: wall time, or ``clock``'s (time.process_time: CPU time)."""
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times), statistics.median(times)


def ten_optimizers_on_beale() -> None:
    beale = surfaces.get("beale")
    first_order = [n for n in optimizers.available() if not optimizers.get(n).second_order]

    def race(names):
        for name in names:
            optimizers.run(name, beale, beale.start, 1000)

    race(optimizers.available())  # warm up (first calls import and load the kernels)
    best, median = best_of(lambda: race(first_order), 7)
    every, _ = best_of(lambda: race(optimizers.available()), 7)
    print(f"ten optimizers x 1000 steps on Beale (one start): best {best * 1e3:.1f} ms, "
          f"median {median * 1e3:.1f} ms (goal <= 50 ms); all {len(optimizers.available())} with Newton's "
          f"two: best {every * 1e3:.1f} ms")


def starts(count: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([rng.uniform(-2, 2, count), rng.uniform(-1, 3, count)])


def cpu() -> str:
    from numpy._core._multiarray_umath import __cpu_features__ as found

    avx512 = "yes" if found.get("AVX512F") else "no"
    return f"{len([k for k, v in found.items() if v])} NumPy SIMD features found, AVX-512: {avx512}"


# How a run is timed: wall time on every core; CPU time of this process for one thread against one
# thread, so that other work on a shared machine, which takes the core away now and then, does not count.
CLOCK = {"all cores": time.perf_counter, "one thread each": time.process_time}
_clock = CLOCK["all cores"]


def rate(work, count: int, steps: int, repeats: int = 3) -> float:
    """Particle-steps per second of ``work`` (warm: one call first), best of ``repeats``."""
    work()
    best, _ = best_of(work, repeats, _clock)
    return count * steps / best


def torch_rate(points: np.ndarray, gradient) -> float | None:
    """torch.optim.Adam on the same work: a (P, 2) parameter, the analytic gradient written in torch."""
    try:
        import torch
    except ImportError:
        return None

    def work():
        p = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.01)
        for _ in range(STEPS):
            with torch.no_grad():
                grad = gradient(p[:, 0], p[:, 1])
            p.grad = grad
            opt.step()

    return rate(work, len(points), STEPS)


# numba as optimizers.jit configured it (no SVML, no fast-math), without the disk cache.
_bench_jit = jit.numba.njit(**{**jit.OPTIONS, "cache": False})


@_bench_jit
def _rosenbrock_gradient(x, y):
    r = y - x * x
    return -2.0 * (1.0 - x) - 400.0 * x * r, 200.0 * r


@_bench_jit
def _himmelblau_gradient(x, y):
    a = x * x + y - 11.0
    b = x + y * y - 7.0
    return 4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b


@_bench_jit
def _load_chunk(starts, c0, k, theta):
    """A chunk's starts into the kernels' (2, CHUNK) layout (coordinate-major, as the engine keeps them)."""
    for i in range(k):
        theta[0, i] = starts[c0 + i, 0]
        theta[1, i] = starts[c0 + i, 1]


@_bench_jit
def _store_chunk(theta, c0, k, out):
    for i in range(k):
        out[c0 + i, 0] = theta[0, i]
        out[c0 + i, 1] = theta[1, i]


def _ceiling_kernels(gradient):
    """The two minimal kernels (see the module docstring) for the surface whose gradient is ``gradient``,
    written by hand: Adam and that gradient, in the engine's chunked loop, nothing else."""

    @_bench_jit
    def exact(starts, lr, fixed, steps, out):
        """Adam and the gradient alone: the engine's chunked loop and its compiled rule, no checks."""
        count = starts.shape[0]
        theta = np.empty((2, CHUNK))
        state = np.zeros((2, 2, CHUNK))
        for c0 in range(0, count, CHUNK):
            k = min(CHUNK, count - c0)
            state[:, :, :] = 0.0
            _load_chunk(starts, c0, k, theta)
            for t in range(1, steps + 1):
                h = hyper_for_step(lr, 0.0, fixed, t)
                for i in range(k):
                    x = theta[0, i]
                    y = theta[1, i]
                    gx, gy = gradient(x, y)
                    dx, s = adam_step(gx, AdamState(state[0, 0, i], state[1, 0, i]), h, t)
                    state[0, 0, i] = s[0]
                    state[1, 0, i] = s[1]
                    dy, s = adam_step(gy, AdamState(state[0, 1, i], state[1, 1, i]), h, t)
                    state[0, 1, i] = s[0]
                    state[1, 1, i] = s[1]
                    theta[0, i] = x + dx
                    theta[1, i] = y + dy
            _store_chunk(theta, c0, k, out)

    @_bench_jit
    def folded(starts, lr, fixed, steps, out):
        """The same with torch.optim's rounding: lr/(1−β₁ᵗ) and √(1−β₂ᵗ) once per step, one division left."""
        count = starts.shape[0]
        beta1, beta2, eps = fixed[0], fixed[1], fixed[3]
        theta = np.empty((2, CHUNK))
        state = np.zeros((2, 2, CHUNK))
        for c0 in range(0, count, CHUNK):
            k = min(CHUNK, count - c0)
            state[:, :, :] = 0.0
            _load_chunk(starts, c0, k, theta)
            for t in range(1, steps + 1):
                step_size = lr / (1.0 - beta1 ** float(t))
                root2 = np.sqrt(1.0 - beta2 ** float(t))
                for i in range(k):
                    x = theta[0, i]
                    y = theta[1, i]
                    gx, gy = gradient(x, y)
                    m = beta1 * state[0, 0, i] + (1.0 - beta1) * gx
                    v = beta2 * state[1, 0, i] + (1.0 - beta2) * (gx * gx)
                    state[0, 0, i] = m
                    state[1, 0, i] = v
                    theta[0, i] = x - step_size * m / (np.sqrt(v) / root2 + eps)
                    m = beta1 * state[0, 1, i] + (1.0 - beta1) * gy
                    v = beta2 * state[1, 1, i] + (1.0 - beta2) * (gy * gy)
                    state[0, 1, i] = m
                    state[1, 1, i] = v
                    theta[1, i] = y - step_size * m / (np.sqrt(v) / root2 + eps)
            _store_chunk(theta, c0, k, out)

    return exact, folded


CEILINGS = {"rosenbrock": _ceiling_kernels(_rosenbrock_gradient),
            "himmelblau": _ceiling_kernels(_himmelblau_gradient)}


def ceiling_rates(surface: str, points: np.ndarray, threads: int) -> tuple[float, float]:
    """Particle-steps per second of the two minimal kernels of ``surface``, the starts split over
    ``threads`` threads (each thread a contiguous block, Python's lock released)."""
    fixed = engine.fixed_hyperparameters(optimizers.defaults("adam"))
    out = np.empty_like(points)
    edges = np.linspace(0, len(points), threads + 1).astype(int)
    rates = []
    with ThreadPoolExecutor(threads) as pool:
        for kernel in CEILINGS[surface]:
            def work(kernel=kernel):
                jobs = [pool.submit(kernel, points[lo:hi], 0.01, fixed, STEPS, out[lo:hi])
                        for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
                for job in jobs:
                    job.result()
            rates.append(rate(work, len(points), STEPS))
    return rates[0], rates[1]


def rosenbrock_gradient(x, y):
    import torch

    r = y - x * x
    return torch.stack([-2 * (1 - x) - 400 * x * r, 200 * r], dim=1)


def himmelblau_gradient(x, y):
    import torch

    a = x * x + y - 11
    b = x + y * y - 7
    return torch.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], dim=1)


def compare(label: str, surface, points: np.ndarray, gradient, ceiling: str) -> None:
    """Ours and torch's on the same work, on every core and then on one core each (a loaded machine
    starves multi-threaded runs unevenly; one thread against one thread is the steadier comparison),
    and the minimal kernels of ``ceiling`` (a key of CEILINGS; see the module docstring)."""
    global _clock
    s = optimizers.settings("adam", STEPS, lr=0.01)
    for cores, clock in CLOCK.items():
        single = cores != "all cores"
        _clock = clock
        engine.PARALLEL_MIN_STARTS = 1 << 62 if single else PARALLEL_MIN_STARTS
        threads = _torch_threads(1 if single else None)
        ours = rate(lambda: optimizers.sweep("adam", surface, points, STEPS, lr=0.01), len(points), STEPS)
        interpreted = rate(lambda: engine.execute(s, surface, points, keep_path=False,
                                                  minima=surface.all_minima, tol=1e-3),
                           len(points), STEPS, repeats=1)
        timed = "CPU time" if single else "wall time"
        print(f"{label}, {cores} ({timed}, load average {os.getloadavg()[0]:.1f}): Adam sweep, "
              f"{len(points)} starts x {STEPS} steps: ours {ours / 1e6:.0f} M particle-steps/s (fused "
              f"kernel; the interpreting kernel {interpreted / 1e6:.0f} M/s)")
        theirs = torch_rate(points, gradient)
        if theirs is None:
            print("  torch not installed: no ratio (pip install torch==2.13.0 to compare)")
        else:
            print(f"  torch.optim.Adam on the same work ({threads} threads): {theirs / 1e6:.0f} M "
                  f"particle-steps/s; ratio ours/torch = {ours / theirs:.1f} (goal >= 5)")
        exact, folded = ceiling_rates(ceiling, points, 1 if single else engine._THREADS)
        allows = f"; ceiling/torch = {exact / theirs:.1f}" if theirs else ""
        print(f"  ceiling, Adam's arithmetic and the gradient alone (no f, no checks): {exact / 1e6:.0f} "
              f"M/s, ours reaches {ours / exact:.0%} of it{allows}; with torch's rounding (not our rule) "
              f"{folded / 1e6:.0f} M/s")
    engine.PARALLEL_MIN_STARTS = PARALLEL_MIN_STARTS
    _clock = CLOCK["all cores"]


PARALLEL_MIN_STARTS = engine.PARALLEL_MIN_STARTS


def _torch_threads(count: int | None) -> int | None:
    try:
        import torch
    except ImportError:
        return None
    if count is not None:
        torch.set_num_threads(count)
    else:
        torch.set_num_threads(os.cpu_count() or 1)
    return torch.get_num_threads()


def main() -> None:
    print(f"{cpu()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ten_optimizers_on_beale()
    points = starts(PARTICLES)
    compare("Rosenbrock", surfaces.get("rosenbrock"), points, rosenbrock_gradient, "rosenbrock")
    t0 = time.perf_counter()
    custom = surfaces.from_expression(HIMMELBLAU, ((-5.0, 5.0), (-5.0, 5.0)))
    parsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled._touch(compiled.fused_kernels(custom))  # what the app's background compile does for a formula
    print(f"custom formula {HIMMELBLAU!r}: parsed in the sandbox in {parsed:.2f} s; its fused kernels "
          f"compiled (or loaded from the disk cache) in {time.perf_counter() - t0:.1f} s — in the app a "
          "background process does this while the interpreting kernels serve the formula")
    rng = np.random.default_rng(1)
    compare("Custom Himmelblau", custom, rng.uniform(-5, 5, (PARTICLES, 2)), himmelblau_gradient,
            "himmelblau")


if __name__ == "__main__":
    main()
