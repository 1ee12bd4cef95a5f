"""Server-side time of a Race-page rerun after one slider change (issue goal: ≤ 300 ms for 10 optimizers ×
1000 steps on Beale).

The page runs through Streamlit's AppTest (the same script, caches and widgets as the server, without a
browser); each measurement changes the Steps slider to a value not seen before, so the paths are really
recomputed rather than served from the cache. Printed: median and worst of the reruns, and a cached
rerun (the same settings again) for comparison. AppTest's own bookkeeping is included, so these are upper
bounds of the server's work.

Run: ``.venv/bin/python bench/bench_race_rerun.py``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402


def main() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in {"surface": "beale", "optimizers": "all", "steps": "1000"}.items():
        at.query_params[key] = value
    t0 = time.perf_counter()
    at.run()
    print(f"first run (imports, compiling Beale, tuning presets): {time.perf_counter() - t0:.2f} s")
    assert not at.exception, at.exception
    slider = at.slider(key="keep.race.steps")
    times = []
    for steps in range(990, 970, -2):  # new settings each time: nothing comes from the cache
        t0 = time.perf_counter()
        slider.set_value(steps).run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
    t0 = time.perf_counter()
    at.run()
    cached = time.perf_counter() - t0
    median = statistics.median(times) * 1e3
    print(f"rerun after a slider change, 10 optimizers x ~1000 steps: median {median:.0f} ms, "
          f"worst {max(times) * 1e3:.0f} ms over {len(times)} changes (goal <= 300 ms)")
    print(f"rerun with unchanged settings (served from st.cache_data): {cached * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
