"""Benchmark of the optimizer core (issue goals: ten optimizers × 1000 steps on Beale ≤ 50 ms;
65,536 starts × 300 steps of Adam on Rosenbrock ≥ 2× torch.optim.Adam on the same work).

Run: ``.venv/bin/python bench/bench_core.py`` (torch is optional; when it is importable the ratio is printed).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimizers  # noqa: E402
import surfaces  # noqa: E402

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

    def race():
        for name in optimizers.available():
            optimizers.run(name, beale, beale.start, 1000)

    race()  # warm up (first calls import and compile)
    best, median = best_of(race, 7)
    print(f"ten optimizers x 1000 steps on Beale (one start): best {best * 1e3:.1f} ms, "
          f"median {median * 1e3:.1f} ms (goal <= 50 ms)")


def starts(count: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([rng.uniform(-2, 2, count), rng.uniform(-1, 3, count)])


def adam_sweep_numpy(points: np.ndarray) -> float:
    rosenbrock = surfaces.get("rosenbrock")
    optimizers.sweep("adam", rosenbrock, points[:1024], 10, lr=0.01)
    best, _ = best_of(lambda: optimizers.sweep("adam", rosenbrock, points, STEPS, lr=0.01), 3)
    return points.shape[0] * STEPS / best


def adam_torch(points: np.ndarray) -> float | None:
    try:
        import torch
    except ImportError:
        return None

    def work():
        p = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.01)
        for _ in range(STEPS):
            with torch.no_grad():
                x, y = p[:, 0], p[:, 1]
                # The same analytic gradient of Rosenbrock (1 − x)² + 100 (y − x²)².
                r = y - x * x
                grad = torch.stack([-2 * (1 - x) - 400 * x * r, 200 * r], dim=1)
            p.grad = grad
            opt.step()

    work()
    best, _ = best_of(work, 3)
    print(f"  torch {torch.__version__}, {torch.get_num_threads()} threads")
    return points.shape[0] * STEPS / best


def main() -> None:
    ten_optimizers_on_beale()
    points = starts(PARTICLES)
    ours = adam_sweep_numpy(points)
    print(f"Adam sweep, {PARTICLES} starts x {STEPS} steps on Rosenbrock: {ours / 1e6:.1f} M particle-steps/s"
          " (NumPy, with divergence and convergence checks)")
    theirs = adam_torch(points)
    if theirs is None:
        print("torch not installed: no ratio (pip install torch==2.13.0 to compare)")
    else:
        print(f"torch.optim.Adam on the same work: {theirs / 1e6:.1f} M particle-steps/s; "
              f"ratio ours/torch = {ours / theirs:.2f} (goal >= 2)")


if __name__ == "__main__":
    main()
