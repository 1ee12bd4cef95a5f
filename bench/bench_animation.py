"""Benchmark of the race player in headless Chromium: websocket bytes, first-chart time, playback fps.

    .venv/bin/python bench/bench_animation.py                   # the scratch demo (10 paths x 1000 steps)
    .venv/bin/python bench/bench_animation.py --url 'http://localhost:8501/?surface=beale&optimizers=all&steps=1000'
    .venv/bin/python bench/bench_animation.py --write-demo /tmp/animdemo   # just write the demo app
    .venv/bin/python bench/bench_animation.py --app --runs 5   # this repo's app, the issue's example URL
    .venv/bin/python bench/bench_animation.py --app --timeline --runs 5   # where the first chart's time goes

With ``--app`` it also prints the websocket bytes of a first visit and of a slider change (the sidebar's
Steps one down: a rerun that keeps the surface, which sends only the new tails of the paths and series;
ui.animation.browser_payload), against issue 15's budgets of 1 MB and 150 KB.

Without ``--url`` it writes the demo app (``DEMO_SCRIPT``: this repo's figures + ui.animation over a
hand-written surface and ten small optimizers) into a temporary folder with its own static/plotly.min.js
and .streamlit/config.toml, and starts ``streamlit run`` on a free port. The browser test
(tests/test_browser_animation.py) reuses ``write_demo``/``start_demo``. Prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
# The first drawn chart: the 2-D plot div exists and plotly has drawn its traces into it.
FIRST_CHART_JS = """() => {
  const gd = document.querySelector('.dl-race .dl-plot-2d.js-plotly-plot');
  return !!(gd && gd.data && gd.querySelector('.contourlayer path'));
}"""

DEMO_SCRIPT = r'''
"""Scratch demo of the race player (written by bench/bench_animation.py; not part of the app)."""
import math

import numpy as np
import sympy as sp
import streamlit as st

from figures.background import contour_figure, figure_payload, surface3d_figure
from surfaces.base import Surface, X, Y
from ui.animation import path_payload, race_animation

st.set_page_config(page_title="Race player demo", layout="wide")
params = st.query_params
SURFACE = params.get("surface", "beale")
STEPS = max(1, min(int(params.get("steps", 1000)), 5000))
N_PATHS = max(1, min(int(params.get("paths", 10)), 10))
THREE_D = params.get("3d", "1") != "0"

DEFS = {
    "beale": dict(
        title="Beale",
        expression=(1.5 - X + X * Y) ** 2 + (2.25 - X + X * Y**2) ** 2 + (2.625 - X + X * Y**3) ** 2,
        bounds=((-4.5, 4.5), (-4.5, 4.5)), minima=[(3, 0.5)], starts=[(0.7, 1.4)], log_scale=True,
    ),
    "rosenbrock": dict(
        title="Rosenbrock", expression=(1 - X) ** 2 + 100 * (Y - X**2) ** 2,
        bounds=((-2, 2), (-1, 3)), minima=[(1, 1)], starts=[(-1.5, 2.5)], log_scale=True,
    ),
    "logbowl": dict(
        title="Log bowl (undefined for x <= 0)", expression=(X - 2) ** 2 + Y**2 - sp.log(X),
        bounds=((-1, 4), (-2, 2)), minima=[(2.2247, 0)], starts=[(0.5, 1.5)], local_minima=[(1.0, 1.5)],
    ),
}


@st.cache_resource
def surface(name):
    return Surface(name=name, latex="", **DEFS[name])


@st.cache_data
def backgrounds(name):
    s = surface(name)
    return figure_payload(contour_figure(s)), figure_payload(surface3d_figure(s))


OPTIMIZERS = [
    ("SGD", "sgd"), ("Momentum", "momentum"), ("NAG", "nag"), ("Adagrad", "adagrad"),
    ("Adadelta", "adadelta"), ("RMSprop", "rmsprop"), ("Adam", "adam"), ("AdaMax", "adamax"),
    ("Nadam", "nadam"), ("AMSGrad", "amsgrad"),
]


def run(slug, s, steps):
    grad = s.scalar_gradient
    x = np.array(s.start, dtype=float)
    pts = [x.copy()]
    v = np.zeros(2); m = np.zeros(2); acc = np.zeros(2); dacc = np.zeros(2); vmax = np.zeros(2)
    lr = {"sgd": 0.07, "momentum": 1e-3, "nag": 1e-3, "adagrad": 0.5, "adadelta": 1.0, "rmsprop": 0.01,
          "adam": 0.05, "adamax": 0.05, "nadam": 0.05, "amsgrad": 0.05}[slug]
    b1, b2, eps = 0.9, 0.999, 1e-8
    diverged = None
    for t in range(1, steps + 1):
        look = x - 0.9 * v if slug == "nag" else x
        g = np.array(grad(*look), dtype=float)
        if slug == "sgd":
            x = x - lr * g
        elif slug in ("momentum", "nag"):
            v = 0.9 * v + lr * g
            x = x - v
        elif slug == "adagrad":
            acc += g * g
            x = x - lr * g / (np.sqrt(acc) + eps)
        elif slug == "adadelta":
            acc = 0.95 * acc + 0.05 * g * g
            dx = -np.sqrt(dacc + 1e-6) / np.sqrt(acc + 1e-6) * g
            dacc = 0.95 * dacc + 0.05 * dx * dx
            x = x + lr * dx
        elif slug == "rmsprop":
            acc = 0.9 * acc + 0.1 * g * g
            x = x - lr * g / (np.sqrt(acc) + eps)
        else:
            m = b1 * m + (1 - b1) * g
            mh = m / (1 - b1**t)
            if slug == "adamax":
                vmax = np.maximum(b2 * vmax, np.abs(g))
                x = x - lr * mh / (vmax + eps)
                pts.append(x.copy())
                continue
            acc = b2 * acc + (1 - b2) * g * g
            if slug == "amsgrad":
                vmax = np.maximum(vmax, acc)
                x = x - lr * m / (np.sqrt(vmax) + eps)
            elif slug == "nadam":
                nes = b1 * mh + (1 - b1) * g / (1 - b1**t)
                x = x - lr * nes / (np.sqrt(acc / (1 - b2**t)) + eps)
            else:
                x = x - lr * mh / (np.sqrt(acc / (1 - b2**t)) + eps)
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e6:
            diverged = t
            break
        pts.append(x.copy())
    pts = np.array(pts)
    return pts, s.value(pts), diverged


@st.cache_data
def paths(name, n, steps):
    s = surface(name)
    out = []
    for label, slug in OPTIMIZERS[:n]:
        pts, vals, diverged = run(slug, s, steps)
        out.append(path_payload(label, slug, None, pts, vals, diverged))
    return out


st.title("Race player demo")
contour, surf3d = backgrounds(SURFACE)
race_animation(contour, surf3d if THREE_D else None, paths(SURFACE, N_PATHS, STEPS), steps=STEPS,
               key="race")
if params.get("extra") == "plotly_chart":  # what a page with an st.plotly_chart below the player costs
    import plotly.graph_objects as go

    st.plotly_chart(go.Figure(go.Scatter(y=[3, 1, 2])), key="extra")
state = st.session_state.get("race") or {}
st.caption(f"Python knows the race is at step {state.get('step')}." if state.get("step") is not None
           else "Press Play.")
'''


def write_demo(folder: Path) -> Path:
    """Write the demo app, its static/plotly.min.js and .streamlit/config.toml into ``folder``."""
    sys.path.insert(0, str(REPO))
    from ui.assets import ensure_plotly_js

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(DEMO_SCRIPT, encoding="utf-8")
    ensure_plotly_js(folder / "static")
    (folder / ".streamlit").mkdir(exist_ok=True)
    (folder / ".streamlit" / "config.toml").write_text(
        "[server]\nenableStaticServing = true\nheadless = true\nfileWatcherType = \"none\"\n"
        "[browser]\ngatherUsageStats = false\n[runner]\npostScriptGC = false\n",
        encoding="utf-8",
    )
    return folder / "app.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(folder: Path, timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run`` on the demo in ``folder``; return the process and its base URL."""
    return start_script(write_demo(folder), folder, timeout)


def start_script(script: Path, folder: Path, timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run script`` (in ``script``'s folder, server log in ``folder``); return the
    process and its base URL once the health endpoint answers."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - the server outlives this function
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1"],
        cwd=script.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log_text = (folder / "server.log").read_text(errors="replace")
            raise RuntimeError("streamlit exited: " + log_text[-2000:])
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.read() == b"ok":
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def measure(browser, url: str, *, context=None, fps_seconds: float = 3.0, screenshot: str | None = None
            ) -> dict:
    """Open ``url`` once; return websocket bytes, load milestones (ms since navigation) and playback fps.

    ``context``: a Playwright browser context to reuse (a returning visitor: plotly.js comes from the HTTP
    cache); by default a fresh one (a first visit).
    """
    own = context is None
    context = context or browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    received = [0]
    errors: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.__setitem__(
        0, received[0] + len(payload))))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(FIRST_CHART_JS, timeout=60_000, polling=20)
    seen = time.perf_counter() - t0
    page.wait_for_selector(READY, timeout=60_000)
    has3d = page.evaluate("() => !!document.querySelector('.dl-plot-3d')")
    if has3d:
        page.wait_for_function("() => (window.__descentLabPlayers || []).some(p => p.stats.drawn3d)",
                               timeout=60_000)
    page.wait_for_function("() => window.__descentLabPlayers.at(-1).stats.settled &&"
                           " !window.__descentLabPlayers.at(-1).committing", timeout=60_000)
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Play", exact=True).click()
    play = page.evaluate(
        """async (ms) => {
          const p = window.__descentLabPlayers.at(-1);
          const f0 = p.stats.frames, g0 = p.stats.frames3d, t0 = performance.now();
          await new Promise((r) => setTimeout(r, ms));
          const dt = (performance.now() - t0) / 1000;
          return {fps: (p.stats.frames - f0) / dt, fps3d: (p.stats.frames3d - g0) / dt, stats: p.stats};
        }""",
        int(fps_seconds * 1000),
    )
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    page.close()
    if own:
        context.close()
    st = play["stats"]
    return {
        "ws_bytes": received[0],
        "first_chart_ms": st["drawn2d"],
        "seen_s": seen,
        "mounted_ms": st["mounted"],
        "plotly_ms": st["plotlyLoaded"],
        "drawn3d_ms": st.get("drawn3d"),
        "fps": play["fps"],
        "fps3d": play["fps3d"],
        "has_3d": has3d,
        "console_errors": [e for e in errors if "GL Driver" not in e],
    }


def report(label: str, r: dict) -> None:
    d3 = f", 3-D drawn {r['drawn3d_ms'] / 1000:.2f} s" if r["drawn3d_ms"] else ""
    print(
        f"{label}: websocket bytes received {r['ws_bytes']:,} ({r['ws_bytes'] / 1e6:.2f} MB); "
        f"first chart {r['first_chart_ms'] / 1000:.2f} s after navigation "
        f"(player mounted {r['mounted_ms'] / 1000:.2f} s, "
        f"plotly.js ready {r['plotly_ms'] / 1000:.2f} s{d3}); "
        f"playback {r['fps']:.1f} fps 2-D"
        + (f", {r['fps3d']:.1f} fps 3-D" if r["has_3d"] else " (no 3-D view)")
        + f"; console errors {len(r['console_errors'])}"
    )
    for e in r["console_errors"][:5]:
        print("   console:", e[:300])


APP_EXAMPLE = "/?surface=beale&optimizers=all&steps=1000"
FIRST_CHART_BUDGET_S = 3.0
BYTES_BUDGET = 2_000_000
FIRST_VISIT_BYTES_BUDGET = 1_000_000  # issue 15
RERUN_BYTES_BUDGET = 150_000  # issue 15: a rerun that keeps the surface
# The newest player has drawn its contour and its 3-D surface and settled.
DRAWN_JS = """() => { const p = (window.__descentLabPlayers || []).filter(q => q.alive).at(-1);
  const d3 = document.querySelector('.dl-race .dl-plot-3d');
  return !!(p && p.stats.settled && p.stats.drawn3d && !p.committing && d3 && d3.data
    && d3.data.some(t => t.type === 'surface')); }"""


def measure_slider_change(browser, url: str) -> dict:
    """Bytes of a first visit to ``url`` (a fresh window) and of one step down on the Steps slider, and the
    seconds from that key press until the new race is drawn (contour and 3-D)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    received = [0]
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.__setitem__(
        0, received[0] + len(payload))))
    page.goto(url)
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_function(DRAWN_JS, timeout=60_000)
    steps = int(page.locator(".dl-race .dl-counter").inner_text().rsplit("/", 1)[1])
    page.wait_for_timeout(500)  # the player's own reports (none expected) would land here, not below
    first = received[0]
    slider = page.get_by_role("slider", name="Steps")
    slider.focus()
    t0 = time.perf_counter()
    slider.press("ArrowLeft")
    page.wait_for_function("(n) => document.querySelector('.dl-race .dl-counter').textContent"
                           " === `step 0 / ${n}`", arg=steps - 1, timeout=60_000)
    page.wait_for_function(DRAWN_JS, timeout=60_000)
    drawn = time.perf_counter() - t0
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_timeout(500)
    rerun = received[0] - first
    context.close()
    return {"first": first, "rerun": rerun, "steps": steps, "drawn_s": drawn}


def report_slider_change(r: dict) -> None:
    print(f"first visit: websocket bytes {r['first']:,} ({r['first'] / 1e6:.2f} MB); slider change (steps "
          f"{r['steps']} -> {r['steps'] - 1}): {r['rerun']:,} bytes ({r['rerun'] / 1e3:.0f} kB), "
          f"the new race drawn {r['drawn_s']:.2f} s after the key")


def summarize_slider(changes: list[dict]) -> None:
    first = max(r["first"] for r in changes)
    rerun = max(r["rerun"] for r in changes)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"summary: first visit at most {first:,} bytes, budget {FIRST_VISIT_BYTES_BUDGET / 1e6:.0f} MB: "
          f"{'met' if first <= FIRST_VISIT_BYTES_BUDGET else 'MISSED'}; "
          f"slider change at most {rerun:,} bytes, budget {RERUN_BYTES_BUDGET / 1e3:.0f} kB: "
          f"{'met' if rerun <= RERUN_BYTES_BUDGET else 'MISSED'}; "
          f"new race drawn median {statistics.median(r['drawn_s'] for r in changes):.2f} s (load {load})")


# --- the first chart's critical path (--timeline) -----------------------------------------------------
# Chromium's trace: its top-level tasks with their thread time (tdur) give the page's main-thread CPU, and
# the user timing marks (Streamlit's own "running", the loader's "dl:*") tie trace time to page time.
TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing",
                    "v8.execute"]
# The milestones of a visit in the order they happen, each with what was done by then (ms since navigation).
MILESTONES = [
    ("running", "Streamlit's page up, websocket open, the script starts"),
    ("data", "the race player's element has arrived (the largest websocket frame)"),
    ("loader", "Streamlit has drawn the page's elements and calls the player's loader"),
    ("mounted", "chunks rebuilt, player module imported"),
    ("plotly", "plotly's first bundle fetched and evaluated"),
    ("drawn2d", "the contour drawn: the first chart"),
    ("charts", "the loss and distance charts drawn"),
    ("drawn3d", "the 3-D view drawn (its bundle loaded after the contour)"),
]
TIMELINE_JS = """() => {
  const marks = {};
  for (const m of performance.getEntriesByType('mark')) if (!(m.name in marks)) marks[m.name] = m.startTime;
  const bundles = performance.getEntriesByType('resource').filter((e) => /\\/plotly[^/]*\\.js$/.test(e.name))
    .map((e) => ({name: e.name.split('/').pop(), start: e.startTime, end: e.responseEnd,
                  transfer: e.transferSize, size: e.decodedBodySize}));
  const p = (window.__descentLabPlayers || []).at(-1);
  return {marks, bundles, stats: p ? p.stats : {}};
}"""


def _main_thread_tasks(trace: bytes, marks: dict) -> tuple[list[tuple[float, float, float]], float]:
    """(start ms, end ms, thread-CPU ms) of each top-level task on the page's main thread, in page time, and
    the trace clock's microseconds at page time 0 (from the first user timing mark both know)."""
    import json

    events = json.loads(trace)["traceEvents"]
    mark = next(e for e in events if e.get("cat") == "blink.user_timing" and e.get("name") in marks
                and "startTime" in e.get("args", {}).get("data", {}))
    zero = mark["ts"] - mark["args"]["data"]["startTime"] * 1000
    main = (mark["pid"], mark["tid"])
    tasks = [((e["ts"] - zero) / 1000, (e["ts"] + e["dur"] - zero) / 1000, e["tdur"] / 1000)
             for e in events if e.get("ph") == "X" and e.get("name") == "RunTask" and "tdur" in e
             and (e["pid"], e["tid"]) == main]
    return tasks, zero


def _cpu_between(tasks: list[tuple[float, float, float]], lo: float, hi: float) -> float:
    """Main-thread CPU ms spent in [lo, hi) (a task crossing an edge counts pro rata)."""
    total = 0.0
    for start, end, cpu in tasks:
        overlap = min(end, hi) - max(start, lo)
        if overlap > 0:
            total += cpu * overlap / max(end - start, 1e-6)
    return total


def timeline(browser, url: str, *, context=None) -> dict:
    """One visit to ``url`` under Chromium's tracing: each of ``MILESTONES`` in ms since navigation, the
    page's main-thread CPU in ms before each milestone since the previous one (``cpu``), and the plotly
    bundles fetched (start, end, bytes over the wire). ``context``: reuse one (a returning visitor)."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    frames: list[tuple[float, int]] = []  # (monotonic s, the trace's clock; bytes)
    cdp.on("Network.webSocketFrameReceived",
           lambda e: frames.append((e["timestamp"], len(e["response"]["payloadData"]))))
    browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
    try:
        page.goto(url)
        page.wait_for_function(FIRST_CHART_JS, timeout=60_000, polling=20)
        if page.evaluate("() => !!document.querySelector('.dl-plot-3d')"):
            page.wait_for_function("() => (window.__descentLabPlayers || []).some(p => p.stats.drawn3d)",
                                   timeout=60_000)
    finally:
        trace = browser.stop_tracing()
    info = page.evaluate(TIMELINE_JS)
    page.close()
    if own:
        context.close()
    marks, stats = info["marks"], info["stats"]
    tasks, zero = _main_thread_tasks(trace, marks)
    biggest = max(frames, key=lambda f: f[1]) if frames else None
    at = {
        "running": marks.get("running"),
        "data": (biggest[0] * 1e6 - zero) / 1000 if biggest else None,
        "loader": marks.get("dl:loader"),
        "mounted": stats.get("mounted"),
        "plotly": stats.get("plotlyLoaded"),
        "drawn2d": stats.get("drawn2d"),
        "charts": stats.get("drawnCharts"),
        "drawn3d": stats.get("drawn3d"),
    }
    cpu, before = {}, 0.0
    for key, _ in MILESTONES:
        if at[key] is not None:
            cpu[key] = _cpu_between(tasks, before, at[key])
            before = at[key]
    # Not a step of the path: when the page's first element (ui/a11y.py) started loading plotly, if it did.
    return {"at": at, "cpu": cpu, "bundles": info["bundles"], "preload": marks.get("dl:preload")}


def report_timeline(label: str, visits: list[dict]) -> None:
    """Median milestones of ``visits`` as a table: when, the step's wall time and its main-thread CPU."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{label}: the first chart's path, median of {len(visits)} visits (load {load})")
    print(f"  {'milestone':9s} {'at ms':>7s} {'step ms':>8s} {'main CPU':>8s}  what was done by then")
    before = 0.0
    for key, what in MILESTONES:
        times = [v["at"][key] for v in visits if v["at"][key] is not None]
        if not times:
            continue
        at = statistics.median(times)
        cpu = statistics.median(v["cpu"][key] for v in visits if key in v["cpu"])
        print(f"  {key:9s} {at:7.0f} {at - before:8.0f} {cpu:8.0f}  {what}")
        before = at
    preloads = [v["preload"] for v in visits if v.get("preload") is not None]
    if preloads:
        print(f"  the page's first element started loading plotly at {statistics.median(preloads):.0f} ms "
              f"(median of {len(preloads)})")
    for b in visits[-1]["bundles"]:
        print(f"  fetched {b['name']}: {b['start']:.0f}-{b['end']:.0f} ms, {b['transfer']:,} bytes over the "
              f"wire ({b['size']:,} decoded)")


def summarize(firsts: list[dict], back: list[dict]) -> None:
    """Medians and worst cases against the budgets of the app issue (3 s to the first chart, 2 MB)."""
    def med(values):
        return statistics.median(values)

    first = [r["first_chart_ms"] / 1000 for r in firsts]
    again = [r["first_chart_ms"] / 1000 for r in back]
    sent = max(r["ws_bytes"] for r in firsts + back)
    print(f"summary: first chart, first visit median {med(first):.2f} s (worst {max(first):.2f} s, "
          f"{len(first)} visits); returning visitor median {med(again):.2f} s; budget "
          f"{FIRST_CHART_BUDGET_S:.0f} s: {'met' if max(first) <= FIRST_CHART_BUDGET_S else 'MISSED'}")
    print(f"summary: websocket bytes at most {sent:,} ({sent / 1e6:.2f} MB); budget "
          f"{BYTES_BUDGET / 1e6:.0f} MB: {'met' if sent <= BYTES_BUDGET else 'MISSED'}; "
          f"2-D playback median {med([r['fps'] for r in firsts]):.0f} fps")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="page to measure (default: start the demo, 10 paths x 1000 steps)")
    parser.add_argument("--app", action="store_true",
                        help=f"start this repo's app.py and measure {APP_EXAMPLE} against the budgets")
    parser.add_argument("--app-dir", type=Path, default=REPO, metavar="DIR",
                        help="with --app: the folder whose app.py (and static/) to start, e.g. a copy with "
                             "other plotly bundles to compare against (default: this checkout)")
    parser.add_argument("--write-demo", metavar="DIR", help="only write the demo app into DIR")
    parser.add_argument("--screenshot", metavar="PNG", help="save a screenshot after the fps run")
    parser.add_argument("--runs", type=int, default=2,
                        help="first visits to measure (each in a fresh browser context)")
    parser.add_argument("--timeline", action="store_true",
                        help="only trace the visits and print the first chart's path: each milestone's time "
                             "since navigation and the page's main-thread CPU before it")
    args = parser.parse_args()
    if args.write_demo:
        print(write_demo(Path(args.write_demo)))
        return 0
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing; nothing measured")
        return 0
    proc = None
    tmp = None
    try:
        if args.url:
            url = args.url
        elif args.app:
            tmp = Path(tempfile.mkdtemp(prefix="animapp-"))
            proc, base = start_script(args.app_dir / "app.py", tmp)
            url = base + APP_EXAMPLE
        else:
            tmp = Path(tempfile.mkdtemp(prefix="animdemo-"))
            proc, base = start_demo(tmp)
            url = base + "/?surface=beale&paths=10&steps=1000"
        print(f"url: {url}")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            if args.timeline:
                # A just-started server builds its caches: not a usual visit, so reported on its own.
                report_timeline("first visit to a just-started server", [timeline(browser, url)])
                report_timeline("first visit", [timeline(browser, url) for _ in range(args.runs)])
                returning = browser.new_context(viewport={"width": 1400, "height": 1000})
                timeline(browser, url, context=returning)
                report_timeline("returning visitor", [timeline(browser, url, context=returning)
                                                      for _ in range(max(1, args.runs // 2))])
                returning.close()
                browser.close()
                return 0
            if args.app:
                # The first visit after a server start also builds the server's caches (imports,
                # compiled surfaces, the race itself): reported, but not a visitor's usual wait.
                report("first visit to a just-started server", measure(browser, url))
            firsts = []
            for i in range(args.runs):
                last = i == args.runs - 1
                shot = args.screenshot if last else None
                firsts.append(measure(browser, url, screenshot=shot))
                report(f"first visit {i + 1}", firsts[-1])
            returning = browser.new_context(viewport={"width": 1400, "height": 1000})
            measure(browser, url, context=returning)
            back = [measure(browser, url, context=returning) for _ in range(max(1, args.runs // 2))]
            for r in back:
                report("returning visitor", r)
            returning.close()
            changes = []
            if args.app:
                for _ in range(max(1, args.runs // 2)):
                    changes.append(measure_slider_change(browser, url))
                    report_slider_change(changes[-1])
            browser.close()
            summarize(firsts, back)
            if changes:
                summarize_slider(changes)
    finally:
        if proc is not None:
            stop(proc)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
