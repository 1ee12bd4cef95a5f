"""Benchmark of the optimizer core, side by side with torch.optim on the same work, in one run.

Goals (issues): ten optimizers × 1000 steps on Beale ≤ 50 ms; 65,536 starts × 300 steps of Adam ≥ 5×
torch.optim.Adam on the same work (warm, same gradient), on Rosenbrock and on a visitor's formula
(Himmelblau typed into the Custom page, against the same gradient written in torch).

A speed ratio is a claim about the CPU it was measured on: the first line names NumPy's SIMD targets
and whether the CPU has AVX-512. The engine's *results* do not depend on it (tests/test_kernel.py).

Run: ``.venv/bin/python bench/bench_core.py`` (torch is optional: ``pip install torch==2.13.0``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimizers  # noqa: E402
import surfaces  # noqa: E402
from optimizers import compiled, engine  # noqa: E402

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
PARTICLES = 65_536
STEPS = 300


def best_of(fn, repeats: int) -> tuple[float, float]:
    """(best, median) wall time in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
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


def rate(work, count: int, steps: int, repeats: int = 3) -> float:
    """Particle-steps per second of ``work`` (warm: one call first), best of ``repeats``."""
    work()
    best, _ = best_of(work, repeats)
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


def rosenbrock_gradient(x, y):
    import torch

    r = y - x * x
    return torch.stack([-2 * (1 - x) - 400 * x * r, 200 * r], dim=1)


def himmelblau_gradient(x, y):
    import torch

    a = x * x + y - 11
    b = x + y * y - 7
    return torch.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], dim=1)


def compare(label: str, surface, points: np.ndarray, gradient) -> None:
    """Ours and torch's on the same work, on every core and then on one core each (a loaded machine
    starves multi-threaded runs unevenly; one thread against one thread is the steadier comparison)."""
    s = optimizers.settings("adam", STEPS, lr=0.01)
    for cores in ("all cores", "one thread each"):
        single = cores != "all cores"
        engine.PARALLEL_MIN_STARTS = 1 << 62 if single else PARALLEL_MIN_STARTS
        threads = _torch_threads(1 if single else None)
        ours = rate(lambda: optimizers.sweep("adam", surface, points, STEPS, lr=0.01), len(points), STEPS)
        interpreted = rate(lambda: engine.execute(s, surface, points, keep_path=False,
                                                  minima=surface.all_minima, tol=1e-3),
                           len(points), STEPS, repeats=1)
        print(f"{label}, {cores}: Adam sweep, {len(points)} starts x {STEPS} steps: ours "
              f"{ours / 1e6:.0f} M particle-steps/s (fused kernel; the interpreting kernel "
              f"{interpreted / 1e6:.0f} M/s)")
        theirs = torch_rate(points, gradient)
        if theirs is None:
            print("  torch not installed: no ratio (pip install torch==2.13.0 to compare)")
        else:
            print(f"  torch.optim.Adam on the same work ({threads} threads): {theirs / 1e6:.0f} M "
                  f"particle-steps/s; ratio ours/torch = {ours / theirs:.1f} (goal >= 5)")
    engine.PARALLEL_MIN_STARTS = PARALLEL_MIN_STARTS


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
    compare("Rosenbrock", surfaces.get("rosenbrock"), points, rosenbrock_gradient)
    t0 = time.perf_counter()
    custom = surfaces.from_expression(HIMMELBLAU, ((-5.0, 5.0), (-5.0, 5.0)))
    parsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled._touch(compiled.fused_kernels(custom))  # what the app's background compile does for a formula
    print(f"custom formula {HIMMELBLAU!r}: parsed in the sandbox in {parsed:.2f} s; its fused kernels "
          f"compiled (or loaded from the disk cache) in {time.perf_counter() - t0:.1f} s — in the app a "
          "background process does this while the interpreting kernels serve the formula")
    rng = np.random.default_rng(1)
    compare("Custom Himmelblau", custom, rng.uniform(-5, 5, (PARTICLES, 2)), himmelblau_gradient)


if __name__ == "__main__":
    main()
