"""Benchmark of the landscape atlas (issue goal: a 256 × 256 basin map × 500 steps for all ten optimizers
in ≤ 10 s through the process pool, under 200 MB).

Prints, for Himmelblau with the per-surface presets:

* wall time of the whole basin map through ``lab.jobs`` with its two workers (best and median of a few
  repeats, the pool already started — and the first, cold run, which also starts the workers);
* particle-steps per second (starts × steps × optimizers / wall time), and one core's rate for comparison;
* memory: peak resident set size of this process and of each worker (``VmHWM``), and the peak of the
  proportional set size summed over this process, the workers and the fork server (``Pss`` from
  /proc/PID/smaps_rollup, sampled every 50 ms: pages shared after the fork count once) — the number to
  hold against the 200 MB budget.

Run: ``.venv/bin/python bench/bench_atlas.py [--grid 256] [--steps 500] [--repeats 3]``.
The machine is shared: expect ±20 % between runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optimizers  # noqa: E402
from lab import atlas, jobs  # noqa: E402
from lab.presets import surface_presets  # noqa: E402

SURFACE = "himmelblau"


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far (from /proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """All descendants of ``pid`` (the fork server and the workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as fh:
                kids = [int(k) for k in fh.read().split()]
        except OSError:
            kids = []
        found.extend(kids)
        todo.extend(kids)
    return found


class PssSampler:
    """Peaks of the summed PSS of this process and its descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_kb = 0
        self.children_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            children = sum(_pss_kb(p) for p in _children(me))
            self.children_peak_kb = max(self.children_peak_kb, children)
            self.peak_kb = max(self.peak_kb, children + _pss_kb(me))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def basin_tasks(grid: int, steps: int, names: list[str]) -> list[tuple]:
    presets = surface_presets(SURFACE)
    return atlas.basin_tasks(atlas.catalogue_spec(SURFACE), names, presets, grid, steps)


def one_core_rate(grid: int, steps: int) -> float:
    """Adam alone in this process, one piece: particle-steps per second of one core."""
    tasks = basin_tasks(grid, steps, ["adam"])
    fn, args = tasks[0]
    fn(*args)  # warm up
    t0 = time.perf_counter()
    fn(*args)
    dt = time.perf_counter() - t0
    size, rows = args[3], args[4]
    return size * (rows[1] - rows[0]) * steps / dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=256)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = optimizers.available()
    work = args.grid * args.grid * args.steps * len(names)
    tasks = basin_tasks(args.grid, args.steps, names)
    pool = jobs.Pool()
    print(f"{SURFACE}: {args.grid}×{args.grid} starts × {args.steps} steps × {len(names)} optimizers = "
          f"{work / 1e6:.0f} M particle-steps in {len(tasks)} pieces, {pool.workers} workers")

    times, cpus = [], []
    baseline_kb = _pss_kb(os.getpid())
    with PssSampler() as sampler:
        for k in range(args.repeats + 1):
            ticks: list[int] = []
            cpu0 = _cpu_seconds(pool.worker_pids())
            t0 = time.perf_counter()
            pieces = jobs.run_tasks(f"bench-{k}", tasks, on_progress=lambda d, t, seen=ticks: seen.append(d),
                                    pool=pool, poll=0.05)
            dt = time.perf_counter() - t0
            cpu = _cpu_seconds(pool.worker_pids()) - cpu0
            label = "cold (starts the workers)" if k == 0 else f"warm run {k}"
            print(f"  {label}: {dt:.2f} s, {work / dt / 1e6:.1f} M particle-steps/s, "
                  f"{len(set(ticks))} progress updates, workers' CPU {cpu:.1f} s")
            if k:
                times.append(dt)
                cpus.append(cpu)
        maps = atlas.assemble_basins(atlas.surface_from_spec(atlas.catalogue_spec(SURFACE)), names,
                                     surface_presets(SURFACE), args.grid, args.steps, pieces)
        workers = pool.worker_pids()
        worker_peaks = [_status_kb(p, "VmHWM") for p in workers]
    pool.shutdown()

    best, median = min(times), statistics.median(times)
    cpu = statistics.median(cpus)
    print(f"workers' CPU time per map: median {cpu:.1f} s = {work / cpu / 1e6:.1f} M particle-steps per "
          f"CPU-second; on {pool.workers} idle cores that is {cpu / pool.workers:.1f} s of wall time "
          f"(load average now {os.getloadavg()[0]:.1f})")
    print(f"basin map wall time: best {best:.2f} s, median {median:.2f} s (goal ≤ 10 s)")
    print(f"particle-steps/s: best {work / best / 1e6:.1f} M/s, median {work / median / 1e6:.1f} M/s "
          f"(one core, Adam alone: {one_core_rate(args.grid, args.steps) / 1e6:.1f} M/s)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: peak RSS this process {own:.0f} MB, workers "
          + ", ".join(f"{kb / 1024:.0f} MB" for kb in worker_peaks)
          + f"; peak PSS of the fork server, workers and tracker {sampler.children_peak_kb / 1024:.0f}"
          f" MB; of all processes together {sampler.peak_kb / 1024:.0f} MB (goal < 200 MB), of which "
          f"{baseline_kb / 1024:.0f} MB is this process before the pool started (Python, NumPy, SymPy)")
    kept = sum(m.codes.nbytes + m.converged_at.nbytes + m.diverged_at.nbytes for m in maps.values())
    print(f"result kept per basin map: {kept / 1e6:.1f} MB "
          f"(class int8 + converged_at int32 + diverged_at int32 per start)")
    shares = maps["adam"].shares()
    print("Adam on Himmelblau: " + ", ".join(f"{k}: {v:.1%}" for k, v in sorted(shares.items())))


if __name__ == "__main__":
    main()
