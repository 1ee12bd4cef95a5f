"""Benchmark of the GIF export (issue goal: ten optimizers × 300 steps in at most 30 s).

Renders the Race page's default picture size (480×400) with one frame per step (301 frames) on three
surfaces, with the per-surface preset learning rates, and prints wall time and file size.

Run: ``.venv/bin/python bench/bench_gif.py [output.gif]`` (the last GIF is written when a path is given).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimizers  # noqa: E402
import surfaces  # noqa: E402
from lab import presets  # noqa: E402
from lab.gif import race_gif  # noqa: E402
from lab.race import Race, run_race  # noqa: E402

STEPS = 300
GOAL_S = 30.0


def bench(surface_name: str, repeats: int = 3) -> bytes:
    surface = surfaces.get(surface_name)
    names = optimizers.available()
    race = Race.make(names, STEPS, surface.start, presets.surface_presets(surface_name))
    paths = run_race(surface, race)
    times, data = [], b""
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = race_gif(surface, paths)
        times.append(time.perf_counter() - t0)
    best, median = min(times), statistics.median(times)
    verdict = "ok" if median <= GOAL_S else "TOO SLOW"
    print(f"{surface.title:<24} {len(names)} optimizers × {STEPS} steps, {STEPS + 1} frames 480×400: "
          f"best {best:.2f} s, median {median:.2f} s (goal ≤ {GOAL_S:.0f} s: {verdict}), "
          f"{len(data) / 1e3:.0f} kB")
    return data


def main() -> None:
    data = b""
    for name in ("beale", "rosenbrock", "two_minima"):
        data = bench(name)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_bytes(data)
        print(f"wrote {sys.argv[1]}")


if __name__ == "__main__":
    main()
