"""Benchmark of the Atlas (issue goals: a 256 × 256 basin map × 500 steps × 10 optimizers on Himmelblau
in ≤ 1 s; a 128 × 128 map for 4 optimizers redrawn within 0.5 s of a slider change).

Prints, for Himmelblau with the per-surface presets, computed in this process as the Atlas page computes
them (the compiled engine, its threads over the CPU's cores):

* the 256 × 256 × 500 × 10 map: wall time (best and median of a few repeats, kernels already loaded),
  particle-steps per second, peak memory of this process; and the split: the sweeps alone (the compiled
  kernels, per optimizer) and the classification of their final points (NumPy);
* the live case: a new learning rate for four optimizers on a 128 × 128 grid — the sweeps, and the sweeps
  plus the basin figure the page draws (the browser's drawing is measured by
  tests/test_browser_atlas.py and reported in the README).

Run: ``.venv/bin/python bench/bench_atlas.py [--grid 256] [--steps 500] [--repeats 3]``.
The machine is shared: expect ±20 % between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimizers  # noqa: E402
from figures import atlas as atlas_figures  # noqa: E402
from lab import atlas  # noqa: E402
from lab.presets import surface_presets  # noqa: E402

SURFACE = "himmelblau"
LIVE = ("sgd", "momentum", "rmsprop", "adam")  # the Atlas page's default optimizers


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=256)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = atlas.catalogue_spec(SURFACE)
    surface = atlas.surface_from_spec(spec)
    presets = surface_presets(SURFACE)
    names = [n for n in optimizers.available() if not optimizers.get(n).second_order]
    work = args.grid * args.grid * args.steps * len(names)
    print(f"{SURFACE}: {args.grid}×{args.grid} starts × {args.steps} steps × {len(names)} optimizers = "
          f"{work / 1e6:.0f} M particle-steps, in this process")
    cold, _ = timed(lambda: atlas.basin_maps(spec, names, presets, args.grid, args.steps))
    times = [timed(lambda: atlas.basin_maps(spec, names, presets, args.grid, args.steps))[0]
             for _ in range(args.repeats)]
    best, median = min(times), statistics.median(times)
    print(f"  first run {cold:.2f} s (loads the kernels); then best {best:.2f} s, median {median:.2f} s "
          f"(goal ≤ 1 s): {work / best / 1e6:.0f} M particle-steps/s (load {os.getloadavg()[0]:.1f})")
    starts = atlas.grid_starts(surface.bounds, args.grid)
    kernels, classes = {}, 0.0
    for n in names:
        runs = [timed(lambda n=n: optimizers.sweep(n, surface, starts, args.steps, tol=atlas.TOLERANCE,
                                                   **presets[n])) for _ in range(args.repeats)]
        kernels[n] = min(t for t, _ in runs)
        classes += min(timed(lambda r=runs[0][1]: atlas.classify(surface, r))[0] for _ in range(args.repeats))
    print(f"  split (best of {args.repeats} each): the sweeps {sum(kernels.values()):.2f} s, classifying "
          f"their final points {classes:.2f} s; the sweep of each optimizer: "
          + ", ".join(f"{n} {t * 1e3:.0f} ms" for n, t in kernels.items()))
    newton = [n for n in optimizers.available() if optimizers.get(n).second_order]
    extra, _ = timed(lambda: atlas.basin_maps(spec, newton, presets, args.grid, args.steps))
    print(f"  the two second-order methods on the same grid: {extra:.2f} s")

    live = 128
    for k, lr_scale in enumerate((1.0, 1.1, 1.21, 1.331)):  # a slider moving: new settings every time
        hyper = {n: {**presets[n], "lr": presets[n]["lr"] * lr_scale} for n in LIVE}
        sweeps, maps = timed(lambda h=hyper: atlas.basin_maps(spec, LIVE, h, live, args.steps))
        figure, payload = timed(lambda m=maps: atlas_figures.basin_payload(surface, m))
        if k:
            size = len(json.dumps(payload))
            print(f"  live: {live}×{live} × {args.steps} steps × {len(LIVE)} optimizers at a new learning "
                  f"rate: sweeps {sweeps * 1e3:.0f} ms, the maps' data for the browser {figure * 1e3:.0f} ms "
                  f"({size / 1e3:.0f} kB), together {(sweeps + figure) * 1e3:.0f} ms (goal ≤ 500 ms with "
                  "the browser's drawing)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: peak RSS of this process {peak:.0f} MB (Python, NumPy, SymPy, numba and the maps)")
    shares = atlas.basin_maps(spec, ["adam"], presets, args.grid, args.steps)["adam"].shares()
    print("Adam on Himmelblau: " + ", ".join(f"{k}: {v:.1%}" for k, v in sorted(shares.items())))


if __name__ == "__main__":
    main()
