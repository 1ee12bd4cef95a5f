"""Gradient descent on data: the speed goal of issue 14 — 6 racers × 1,000 steps with B = 32 on a
10,000-row upload rerun in ≤ 100 ms on the server — and what the loss grid costs.

Printed:

1. the engine alone (``optimizers.run`` with ``batch_size=32``; SGD, Momentum, NAG, Adagrad, RMSprop, Adam),
   warm, median and worst of 20 repetitions (3 for the slow one), for linear and logistic regression on
   10,000 synthetic rows; logistic both recording the full-data loss at every step and at the Data page's
   ``loss_every``, and as the page runs a race (``lab.data.run_data_race``: the racers split over the
   cores while the load average leaves one free);
2. the Data page through Streamlit's AppTest with that file uploaded (linear, then 0/1 labels: logistic),
   each rerun after a change of the seed (new batches: every racer runs again, nothing comes from the
   cache), and for logistic also after a change of SGD's learning rate (SGD's racer runs again, the five
   others come from the page's per-racer memo), median and worst of 20; AppTest's bookkeeping is
   included, so these are upper bounds of the server's work. The load average is printed with each, since
   the 2-core machine is shared;
3. the contour's loss grid (160 × 160) of the 10,000-row logistic surface: first computation, then again
   (served from the surface's bounded grid cache).

The compiled loops load from numba's disk cache (``optimizers.data.warm()`` fills it; the first ever call of
an optimizer's loop compiles it, about 1–3 s). Run: ``.venv/bin/python bench/bench_data.py``
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import optimizers  # noqa: E402
import surfaces  # noqa: E402
from optimizers import data as engine_data  # noqa: E402

RACERS = ("sgd", "momentum", "nag", "adagrad", "rmsprop", "adam")
ROWS = 10_000
GOAL_MS = 100.0


def synthetic(model: str):
    rng = np.random.default_rng(0)
    x = rng.normal(size=ROWS)
    y = 2.0 * x + rng.normal(size=ROWS)
    if model == "logistic":
        y = (y > 0).astype(float)
    return x, y


def race(surface, seed: int = 0, loss_every: int = 1) -> float:
    t0 = time.perf_counter()
    for name in RACERS:
        optimizers.run(name, surface, surface.start, 1000, batch_size=32, seed=seed, loss_every=loss_every)
    return (time.perf_counter() - t0) * 1e3


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def page_race(surface, seed: int) -> float:
    """The race as the Data page runs it (``lab.data.run_data_race``, no memo: every racer runs)."""
    from lab import data as lab_data

    race = lab_data.DataRace(tuple(lab_data.Racer(n, 32) for n in RACERS), 1000, surface.start,
                             tuple((n, lab_data.default_lr(n, surface.model)) for n in RACERS), seed)
    t0 = time.perf_counter()
    lab_data.run_data_race(surface, race)
    return (time.perf_counter() - t0) * 1e3


def engine() -> None:
    from lab.data import loss_every

    for model, every in (("linear", 1), ("logistic", 1), ("logistic", None)):
        surface = surfaces.from_data(*synthetic(model), model)
        every = every or loss_every(surface, 1000)  # what the Data page asks for
        race(surface)  # load the compiled loops
        runs = 3 if every == 1 and model == "logistic" else 20
        times = [race(surface, seed, every) for seed in range(runs)]
        print(f"engine, {model}, full-data loss recorded every {every} step(s): "
              f"6 racers x 1000 steps, B = 32, N = {ROWS:,}: median "
              f"{statistics.median(times):.1f} ms, worst {max(times):.1f} ms over {runs} runs "
              f"(goal <= {GOAL_MS:g} ms; {load()})")
    surface = surfaces.from_data(*synthetic("logistic"), "logistic")
    page_race(surface, 0)
    times = [page_race(surface, seed) for seed in range(20)]
    print(f"engine, logistic, as the page runs the race (racers split over the cores while the load average "
          f"leaves one free): median "
          f"{statistics.median(times):.1f} ms, worst {max(times):.1f} ms over {len(times)} runs ({load()})")


def reruns(at, widget, values) -> list[float]:
    times = []
    for value in values:
        t0 = time.perf_counter()
        widget.set_value(value).run()
        times.append((time.perf_counter() - t0) * 1e3)
        assert not at.exception, at.exception
    return times


def report(what: str, times: list[float]) -> None:
    print(f"page, {what}, 6 racers x 1000 steps, B = 32, N = {ROWS:,}: median "
          f"{statistics.median(times):.0f} ms, worst {max(times):.0f} ms over {len(times)} reruns "
          f"(goal <= {GOAL_MS:g} ms; AppTest's own work included; {load()})")


def page(model: str) -> None:
    from streamlit.testing.v1 import AppTest

    x, y = synthetic(model)
    content = "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["dataset"] = "upload"
    at.query_params["racers"] = ",".join(f"{n}:32" for n in RACERS)
    at.query_params["steps"] = "1000"
    at.switch_page("pages/data.py")
    at.run()
    t0 = time.perf_counter()
    at.file_uploader[0].upload("rows.csv", content.encode(), "text/csv")
    at.run()
    print(f"page: first run with the {len(content) / 1e3:.0f} kB upload (parsing, surface, loss grid, race): "
          f"{time.perf_counter() - t0:.2f} s")
    assert not at.exception and not at.error, (at.exception, at.error)
    # A new seed each time: new batches for every racer, nothing from the cache.
    report(f"{model}, rerun after a seed change",
           reruns(at, at.number_input(key="keep.data.seed"), range(1, 21)))
    if model == "logistic":  # a new rate each time: SGD's racer runs, the others come from the memo
        lr = at.number_input(key="keep.data.lr.sgd")
        report(f"{model}, rerun after a change of SGD's learning rate",
               reruns(at, lr, [round(0.2 + 0.001 * i, 3) for i in range(1, 21)]))


def grid() -> None:
    surface = surfaces.from_data(*synthetic("logistic"), "logistic")
    t0 = time.perf_counter()
    surface.grid(160)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    surface.grid(160)
    again = (time.perf_counter() - t0) * 1e3
    print(f"loss grid 160 x 160, logistic, N = {ROWS:,}: first {first * 1e3:.0f} ms (x binned into "
          f"{surfaces.data.GRID_BINS} bins, a picture), again {again:.2f} ms (cached)")


def main() -> None:
    print(f"{load()} on {os.cpu_count()} cores")
    t0 = time.perf_counter()
    engine_data.warm()
    print(f"loading (or compiling) the twelve compiled loops: {time.perf_counter() - t0:.2f} s")
    engine()
    grid()
    page("linear")
    page("logistic")


if __name__ == "__main__":
    main()
