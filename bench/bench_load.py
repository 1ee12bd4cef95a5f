"""Benchmark: a classroom on one server (issue: "Hold up under a classroom").

Each scenario starts its own server (``streamlit run app.py`` with the repo's .streamlit/config.toml, on a
free loopback port), lets one visitor look at every page once (a hosted server is warm: imports done,
pools started, the catalogue's presets tuned), then sends virtual visitors (``loadtest``: Streamlit's
websocket protocol, no browsers) and prints the figures:

``race``   50 visitors open the race link (Beale, 7 optimizers × 500 steps) within ``--ramp`` seconds and
           change a setting 3 times, ``--think`` seconds apart. Target: no failed session, no exception,
           p95 ≤ 1 s per race run.
``crowd``  "everyone, click the link now": 50 visitors open race links at the same instant and rerun 3
           times with no pause, on three servers: *warm* (started as deployed, then the warm-up visitor),
           *fresh* (started as ``make run``, the image and compose start it, ``python -m loadtest.serve``,
           and the crowd sent the moment it is ready) and, for comparison, *cold* (a bare ``streamlit
           run``, the crowd sent the moment its health endpoint answers, nothing warmed). Targets: p95 ≤
           1.5 s warm, ≤ 2.5 s fresh; no failed session, no exception. Also the server's CPU per run.
``first``  the first visitor after a start, in headless Chromium (``bench/bench_animation.py``'s timer):
           seconds from navigation to the first drawn chart of the issue's example link, on a server
           started as deployed (at ready) and on a bare one (at health). Target: ≤ 3 s at ready.
``floor``  the framework's floor: ``bench/floor.py``'s app, a page of the Race page's Streamlit elements that
           computes nothing, and the app, each under 50 visitors at once × 4 runs of one link (no pause)
           and on first visits in Chromium (when its code starts; the app's first chart). What the floor
           costs, no change to the app's own code removes.
``heavy``  the same with 40 race visitors while 5 run 128 × 128 atlas maps and 5 type formulas (for as long
           as the race visitors are busy). Target: race reruns p95 ≤ 1.5 s; a full pool answers "busy".
           First the 40 race visitors alone (the baseline: what the heavy visitors add).
``waves``  500 visits: ``--waves`` waves of 50 (40 race, 5 atlas at 64 × 64, 5 custom), one after the
           other, new sessions each; the server's memory after each wave. Target: under 1 GB, no growth
           from wave to wave. Run with ``runner.postScriptGC`` false and true (``--gc both``) to compare.
``formulas`` "everyone, try your own function now": 30 visitors each type a formula of their own on the
           Custom-surface page at the same instant (``loadtest`` kind ``formula``), then each types another.
           Target: every visitor gets a race on their own formula (no "busy", no default surface, the
           formula kept in the URL), p95 ≤ 5 s per run. Also prints the server's processes and memory
           (RSS and PSS, server and every worker) after warm-up and after the crowd.
``replicas`` the ``race`` and ``heavy`` crowds through nginx and three replicas (the shipped setup, started
           by ``deploy/replicas.py --no-kill``; needs nginx, which that script installs when missing), and
           the ``crowd`` at once (warm) through nginx and as many replicas as the machine has cores, and 3.

    .venv/bin/python bench/bench_load.py                      # all of them
    .venv/bin/python bench/bench_load.py crowd first --runs 3
    .venv/bin/python bench/bench_load.py floor --runs 3
    .venv/bin/python bench/bench_load.py race heavy --ramp 10 --think 2,6
    .venv/bin/python bench/bench_load.py waves --gc both
    .venv/bin/python bench/bench_load.py formulas --visitors 30

The machine is shared: the load average is printed before and after each scenario; compare runs made
when it was low. Memory: RSS of the server process, and of its workers (atlas pool, formula sandbox).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtest import server  # noqa: E402
from loadtest.__main__ import (  # noqa: E402
    format_report,
    format_stats,
    format_wave,
    percentile,
    run_load,
    warm_up,
)

TARGETS = {"race": ("race (all)", 1.0), "heavy": ("race.rerun", 1.5), "formulas": ("formula", 5.0),
           "crowd": ("race (all)", 1.5), "crowd-fresh": ("race (all)", 2.5)}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def metrics(url: str) -> dict[str, float]:
    """Session count and session-state bytes from Streamlit's /_stcore/metrics."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    out = {}
    memory = r'^cache_memory_bytes\{cache_type="%s"[^}]*\}\s+(\S+)'
    for name, pattern in (("active_sessions", r"^active_sessions\s+(\S+)"),
                          ("session_state_bytes", memory % "st_session_state"),
                          ("cache_data_bytes", memory % "st_cache_data")):
        values = [float(v) for v in re.findall(pattern, text, flags=re.M)]
        if values:
            out[name] = sum(values)
    return out


def gc_flag(gc: str | None) -> list[str]:
    return [] if gc is None else ["--runner.postScriptGC", gc]


def scenario_race(args, gc: str | None) -> bool:
    with server.app_server(*gc_flag(gc)) as (url, proc):
        warm_up(url)
        print(f"== race: 50 visitors × (open + 3 reruns), ramp {args.ramp:g} s, think {args.think} s, "
              f"postScriptGC {gc or 'from config'}; load before {loadavg()}", flush=True)
        report = run_load(url, 50, 3, {"race": 50}, ramp=args.ramp, think=args.think_range,
                          server_pids=[proc.pid], seed=args.seed)
        print(format_report(report))
        print(f"load after {loadavg()}\n", flush=True)
        return verdict(report, "race")


def scenario_crowd(args, gc: str | None) -> bool:
    """"Everyone, click the link now": 50 visitors at the same instant, 4 runs each (the link, then 3
    changes) with no pause, on a warm, a fresh (at ready) and a cold (at health) server."""
    ok = True
    modes = (("crowd", "a warm server (started as deployed, then the warm-up visitor)", True),
             ("crowd-fresh", "a server started as deployed (loadtest.serve), the moment it is ready", True),
             ("crowd-cold", "a bare `streamlit run`, the moment its health answers (no warm-up)", False))
    for name, where, deployed in modes:
        with server.app_server(*gc_flag(gc), warm=deployed, timeout=300) as (url, proc):
            if name == "crowd":
                warm_up(url)
            pid = server.server_pid(proc)
            print(f"== {name}: 50 visitors at once × (open + 3 reruns), no pause, {where}, postScriptGC "
                  f"{gc or 'from config'}; load before {loadavg()}", flush=True)
            cpu = cpu_seconds(pid)
            report = run_load(url, 50, 3, {"race": 50}, ramp=0.0, think=(0.0, 0.0), server_pids=[pid],
                              seed=args.seed + 200)
            cpu = cpu_seconds(pid) - cpu
            print(format_report(report))
            runs = report.stats["race (all)"].runs
            print(f"server CPU {cpu:.1f} s for {runs} runs: {1000 * cpu / max(1, runs):.0f} ms per run; "
                  f"load after {loadavg()}", flush=True)
            if name in TARGETS:
                ok &= verdict(report, name)
            print(flush=True)
    return ok


def scenario_first(args, gc: str | None) -> bool:
    """The first visitor after a start, in Chromium: navigation to the first drawn chart."""
    bench_dir = str(Path(__file__).resolve().parent)
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    import bench_animation as anim

    if not Path(anim.CHROMIUM).exists():
        print(f"== first: {anim.CHROMIUM} is missing; nothing measured\n")
        return True
    from playwright.sync_api import sync_playwright

    seen: dict[str, list[float]] = {"deployed": [], "bare": [], "next": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=anim.CHROMIUM, args=anim.CHROMIUM_ARGS, headless=True)
        try:
            for run in range(args.runs):
                for mode in ("deployed", "bare"):
                    started = time.monotonic()
                    with server.app_server(*gc_flag(gc), warm=mode == "deployed", timeout=300) as (url, _):
                        after = time.monotonic() - started
                        r = anim.measure(browser, url + anim.APP_EXAMPLE)
                        # The next new visitor (a fresh browser context too): what "as fast as any
                        # other visit" compares with, under the same load.
                        again = anim.measure(browser, url + anim.APP_EXAMPLE) if mode == "deployed" else None
                    seconds = r["first_chart_ms"] / 1000
                    seen[mode].append(seconds)
                    at = "ready" if mode == "deployed" else "healthy"
                    line = (f"first: run {run + 1}, {mode:8} server ({at} {after:.1f} s after the start): "
                            f"first chart {seconds:.2f} s after navigation, {r['ws_bytes'] / 1e6:.2f} MB")
                    if again is not None:
                        seen["next"].append(again["first_chart_ms"] / 1000)
                        line += f"; the next new visitor {seen['next'][-1]:.2f} s"
                    print(f"{line}; load {loadavg()}", flush=True)
        finally:
            browser.close()
    bound = anim.FIRST_CHART_BUDGET_S
    met = max(seen["deployed"]) <= bound
    print(f"target (first): the first chart of {anim.APP_EXAMPLE} on a server started as deployed ≤ "
          f"{bound:g} s -> {'MET' if met else 'NOT MET'} (deployed {seen['deployed']}, the next visitor "
          f"{seen['next']}, bare {seen['bare']})\n", flush=True)
    return met


async def _at_once(url: str, query: str, visitors: int, runs: int) -> list[list]:
    """``visitors`` connections opened together, then each sends ``runs`` runs of ``query`` back to back
    with no pause: each visitor's ``RunResult``s, in order."""
    import asyncio

    from loadtest.protocol import Connection

    async def visitor() -> list:
        conn = await Connection.open(url, timeout=60)
        try:
            return [await conn.run(query, timeout=60) for _ in range(runs)]
        finally:
            await conn.close()

    return list(await asyncio.gather(*(visitor() for _ in range(visitors))))


def _first_marks(browser, url: str, mark: str, chart: bool) -> tuple[float, float | None]:
    """One first visit (a fresh browser context): ms from navigation to the user-timing ``mark`` (a
    component's code starts) and, with ``chart``, to the race player's first drawn chart."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(f"() => performance.getEntriesByName({mark!r}).length > 0", timeout=60_000,
                               polling=20)
        drawn = None
        if chart:  # the player notes when its contour is drawn (bench_animation.measure's first chart)
            drawn = page.wait_for_function(
                "() => (window.__descentLabPlayers || []).map(p => p.stats.drawn2d).find(Boolean)",
                timeout=60_000, polling=20).json_value()
        return page.evaluate(f"() => performance.getEntriesByName({mark!r})[0].startTime"), drawn
    finally:
        context.close()


def _floor_figures(args, gc: str | None, name: str, script: str, anim) -> dict:
    """``scenario_floor``'s figures of one server (the app, or the floor)."""
    import asyncio

    from loadtest.visitor import RACE_QUERY

    env = {"PYTHONPATH": str(server.ROOT)}  # the floor imports lab.turns
    with server.app_server(*gc_flag(gc), warm=name == "app", timeout=300, script=script,
                           env=env) as (url, proc):
        pid = server.server_pid(proc)
        query = RACE_QUERY if name == "app" else ""
        if name == "app":
            warm_up(url)
        asyncio.run(_at_once(url, query, 5, 4))  # the floor's first runs import and freeze
        [[first, rerun]] = asyncio.run(_at_once(url, query, 1, 2))
        elements = dict(sorted(first.elements.items()))
        print(f"== floor: {name} ({script}), {first.deltas} deltas a run: {elements}; a session's first "
              f"run sends {first.bytes / 1000:.0f} kB, a rerun of it {rerun.bytes / 1000:.0f} kB", flush=True)
        cpu = cpu_seconds(pid)
        runs = [r for visitor in asyncio.run(_at_once(url, query, 50, 4)) for r in visitor]
        cpu = cpu_seconds(pid) - cpu
        seconds = [r.seconds for r in runs]
        failed = sum(not r.ok or bool(r.exceptions) for r in runs)
        fig = {"p50": percentile(seconds, 50), "p95": percentile(seconds, 95),
               "cpu_ms": 1000 * cpu / len(seconds), "failed": failed}
        print(f"{name}: 50 visitors at once × 4 runs of the same link, no pause: p50 {fig['p50']:.2f} s, "
              f"p95 {fig['p95']:.2f} s, server CPU {fig['cpu_ms']:.0f} ms a run, {failed} failed; load "
              f"{loadavg()}", flush=True)
        if Path(anim.CHROMIUM).exists():
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=anim.CHROMIUM, args=anim.CHROMIUM_ARGS,
                                             headless=True)
                try:
                    visits = [_first_marks(browser, url + ("/?" + query if query else "/"),
                                           "dl:loader" if name == "app" else "floor:mounted",
                                           chart=name == "app") for _ in range(max(1, args.runs))]
                finally:
                    browser.close()
            fig["mount_ms"] = percentile([v[0] for v in visits], 50)
            line = f"{name}: first visits, the component's code starts {[round(v[0]) for v in visits]} ms"
            if name == "app":
                fig["chart_ms"] = percentile([v[1] for v in visits], 50)
                line += f", the first chart drawn {[round(v[1]) for v in visits]} ms"
            print(f"{line} after navigation; load {loadavg()}", flush=True)
    return fig


def scenario_floor(args, gc: str | None) -> bool:
    """The framework's floor (``bench/floor.py``): a page of the Race page's Streamlit elements that
    computes nothing, under the crowd at once and on a first visit, beside the app under the same two.
    What the floor costs, no change to the app's own code can remove."""
    import tempfile

    bench_dir = str(Path(__file__).resolve().parent)
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    import bench_animation as anim
    import floor as floor_app

    with tempfile.TemporaryDirectory(prefix="descent-lab-floor-") as scratch:
        scripts = (("app", "app.py"), ("floor", str(floor_app.write(Path(scratch)))))
        figures = {name: _floor_figures(args, gc, name, script, anim) for name, script in scripts}
    app, floor = figures["app"], figures["floor"]
    print(f"floor against the app: server CPU a run {floor['cpu_ms']:.0f} / {app['cpu_ms']:.0f} ms "
          f"({floor['cpu_ms'] / app['cpu_ms']:.2f}), crowd p95 {floor['p95']:.2f} / {app['p95']:.2f} s "
          f"({floor['p95'] / app['p95']:.2f})", flush=True)
    if "mount_ms" in floor and "mount_ms" in app:
        print(f"first visit: the floor's component starts at {floor['mount_ms'] / 1000:.2f} s, the app's "
              f"player at {app['mount_ms'] / 1000:.2f} s and draws at {app['chart_ms'] / 1000:.2f} s: "
              f"{(app['chart_ms'] - floor['mount_ms']) / 1000:.2f} s are the app's own", flush=True)
    bound = TARGETS["crowd"][1]
    verdict_word = "meets" if floor["p95"] <= bound else "misses"
    print(f"the floor alone {verdict_word} the crowd's p95 ≤ {bound:g} s on this machine\n", flush=True)
    return floor["failed"] == 0 and app["failed"] == 0


def scenario_heavy(args, gc: str | None) -> bool:
    if not args.no_baseline:  # the same 40 race visitors alone: what the heavy ones add
        with server.app_server(*gc_flag(gc)) as (url, proc):
            warm_up(url)
            print(f"== heavy, baseline: the 40 race visitors alone; load before {loadavg()}", flush=True)
            base = run_load(url, 40, 3, {"race": 40}, ramp=args.ramp, think=args.think_range,
                            server_pids=[proc.pid], seed=args.seed + 100)
            print("\n".join(format_stats(base.stats)))
            print(f"failed {base.failed}, exceptions {base.exceptions}; load after {loadavg()}\n", flush=True)
    with server.app_server(*gc_flag(gc)) as (url, proc):
        warm_up(url)
        print(f"== heavy: 40 race visitors + 5 atlas (128²) + 5 custom, ramp {args.ramp:g} s, think "
              f"{args.think} s, postScriptGC {gc or 'from config'}; load before {loadavg()}", flush=True)
        report = run_load(url, 50, 3, {"race": 40, "atlas": 5, "custom": 5}, ramp=args.ramp,
                          think=args.think_range, server_pids=[proc.pid], seed=args.seed + 100)
        print(format_report(report))
        print(f"load after {loadavg()}\n", flush=True)
        return verdict(report, "heavy")


def scenario_waves(args, gc: str | None) -> bool:
    with server.app_server(*gc_flag(gc)) as (url, proc):
        warm_up(url)
        print(f"== waves: {args.waves} waves × 50 visitors (40 race, 5 atlas 64², 5 custom), "
              f"postScriptGC {gc or 'from config'}; load before {loadavg()}", flush=True)
        start = server.memory(proc.pid)
        print(f"after warm-up: RSS {start.rss / 2**20:.0f} MB + {start.children / 2**20:.0f} MB in "
              f"{start.processes} workers; {metrics(url)}", flush=True)
        peaks = []

        def on_wave(w):
            m = metrics(url)
            mem = server.memory(proc.pid)
            peaks.append(mem.total)
            print(format_wave(w) + f"; sessions {m.get('active_sessions', '?'):.0f}, session state "
                  f"{m.get('session_state_bytes', 0) / 1024:.0f} kB, st.cache_data "
                  f"{m.get('cache_data_bytes', 0) / 2**20:.1f} MB", flush=True)

        report = run_load(url, 50, 3, {"race": 40, "atlas": 5, "custom": 5}, waves=args.waves,
                          ramp=args.ramp, think=args.think_range, pause=args.pause, server_pids=[proc.pid],
                          seed=args.seed + 200, on_wave=on_wave, atlas_grid=64)
        print()
        print("\n".join(format_stats(report.stats)))
        time.sleep(args.settle)
        end = server.memory(proc.pid)
        print(f"{args.settle:g} s after the last wave: RSS {end.rss / 2**20:.0f} MB + "
              f"{end.children / 2**20:.0f} MB in workers; {metrics(url)}")
        rss = [w.memory[proc.pid]["rss_mb"] for w in report.waves]
        half = len(rss) // 2
        growth = (sum(rss[half:]) / max(1, len(rss) - half)) - (sum(rss[:half]) / max(1, half))
        print(f"server RSS per wave (MB): {rss}; second half minus first half: {growth:+.0f} MB; "
              f"peak with workers {max(peaks) / 2**20:.0f} MB; failed {report.failed}, exceptions "
              f"{report.exceptions}; load after {loadavg()}\n", flush=True)
        return report.failed == 0 and report.exceptions == 0 and max(peaks) < 2**30


def pss_bytes(pid: int) -> int:
    """Proportional set size of ``pid`` (pages shared between processes counted once overall)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next((int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_table(pid: int, cpu_before: dict[int, float] | None = None) -> str:
    """The server and each of its descendants: RSS, PSS, what it is and (with ``cpu_before``) the CPU
    seconds it used since then."""
    rows = []
    for p in [pid, *server.descendants(pid)]:
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        what = ("server" if p == pid else "formula sandbox" if "surfaces.expression" in cmd
                else "lab.jobs worker" if "lab.jobs" in cmd else cmd[:60])
        if cpu_before is not None:
            what += f" (CPU {cpu_seconds(p) - cpu_before.get(p, 0.0):.1f} s during the crowd)"
        rows.append((p, (server.rss_bytes(p) or 0) / 2**20, pss_bytes(p) / 2**20, what))
    rss, pss = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = [f"{len(rows)} processes, RSS {rss:.0f} MB, PSS {pss:.0f} MB"]
    lines += [f"  {p:>7}  RSS {rss:5.0f} MB  PSS {pss:5.0f} MB  {what}" for p, rss, pss, what in rows]
    return "\n".join(lines)


def scenario_formulas(args, gc: str | None) -> bool:
    with server.app_server(*gc_flag(gc)) as (url, proc):
        warm_up(url)
        print(f"== formulas: {args.visitors} visitors type their own formula at the same instant, then "
              f"another ({args.think} s later); load before {loadavg()}", flush=True)
        print("after warm-up: " + process_table(proc.pid), flush=True)
        cpu = {p: cpu_seconds(p) for p in [proc.pid, *server.descendants(proc.pid)]}
        report = run_load(url, args.visitors, 1, {"formula": args.visitors}, ramp=0.0, think=args.think_range,
                          server_pids=[proc.pid], seed=args.seed, heavy_timeout=120.0)
        print(format_report(report))
        print("after the crowd: " + process_table(proc.pid, cpu))
        print(f"load after {loadavg()}\n", flush=True)
        return verdict(report, "formulas")


def scenario_replicas(args, gc: str | None) -> bool:
    import json
    import subprocess
    import tempfile

    ok = True
    lo, hi = args.think_range
    paced = ["--think-min", str(lo), "--think-max", str(hi), "--ramp", str(args.ramp)]
    at_once = ["--think-min", "0", "--think-max", "0", "--ramp", "0", "--visitors", "50"]
    crowds = [("race: 50 visitors, 3 replicas", ["--visitors", "50", *paced], "race_runs_s", 1.0),
              ("heavy: 40 race + 5 atlas + 5 custom, 3 replicas",
               ["--visitors", "40", "--heavy", "5", *paced], "race_reruns_s", 1.5)]
    # The crowd at once (issue 15) on this one machine, as many app processes as it has cores and as
    # compose ships (3): one Python process serves its runs one at a time, whatever the cores.
    counts = sorted({os.cpu_count() or 2, 3})
    crowds += [(f"crowd at once: 50 visitors x 4 runs, no pause, {n} replicas",
                [*at_once, "--replicas", str(n)], "race_runs_s", 1.5) for n in counts]
    for label, extra, key, bound in crowds:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            print(f"== replicas, {label}, through nginx; load before {loadavg()}", flush=True)
            cmd = [sys.executable, "deploy/replicas.py", "--no-kill", "--reruns", "3", "--kill-after", "12",
                   "--seed", str(args.seed), "--json", out.name, *extra]
            proc = subprocess.run(cmd, cwd=server.ROOT, capture_output=True, text=True, timeout=600)
            heads = ("kind ", "race.", "race ", "atlas", "custo")
            table = [line for line in proc.stdout.splitlines() if line[:5] in heads]
            print("\n".join(table))
            report = json.loads(Path(out.name).read_text() or "{}") if proc.returncode in (0, 1) else {}
        spread = report.get(key, {})
        met = bool(report.get("ok")) and spread.get("p95", 99) <= bound
        ok &= met
        print(f"target: no failed session, no exception, {key[:-2].replace('_', ' ')} p95 ≤ {bound:g} s -> "
              f"{'MET' if met else 'NOT MET'} ({spread}, checks {report.get('checks')}); load after "
              f"{loadavg()}\n", flush=True)
    return ok


def verdict(report, scenario: str) -> bool:
    kind, bound = TARGETS[scenario]
    p95 = report.stats[kind].p95
    ok = report.failed == 0 and report.exceptions == 0 and p95 <= bound
    print(f"target ({scenario}): no failed session, no exception, {kind} p95 ≤ {bound:g} s -> "
          f"{'MET' if ok else 'NOT MET'} (p95 {p95:.2f} s, failed {report.failed}, "
          f"exceptions {report.exceptions})")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*",
                        default=["race", "crowd", "first", "floor", "heavy", "formulas", "replicas", "waves"],
                        choices=["race", "crowd", "first", "floor", "heavy", "formulas", "replicas", "waves"])
    parser.add_argument("--visitors", type=int, default=30, help="formulas: visitors typing at once")
    parser.add_argument("--ramp", type=float, default=10.0, help="visitors arrive within this many seconds")
    parser.add_argument("--think", default="2,6", help="seconds between a visitor's runs: MIN,MAX")
    parser.add_argument("--waves", type=int, default=10)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between waves")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds to wait after the last wave")
    parser.add_argument("--gc", choices=["config", "false", "true", "both"], default="config",
                        help="runner.postScriptGC for the server (default: the repo's config)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2,
                        help="first: server starts measured (each mode); floor: first visits to each page")
    parser.add_argument("--no-baseline", action="store_true",
                        help="heavy: skip the run of the 40 race visitors alone")
    args = parser.parse_args()
    args.think_range = tuple(float(v) for v in args.think.split(","))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers it started on the way out
    gcs = {"config": [None], "false": ["false"], "true": ["true"], "both": ["false", "true"]}[args.gc]
    print(f"{os.cpu_count()} cores; load average {loadavg()}", flush=True)
    ok = True
    for gc in gcs:
        for name in args.scenarios:
            run = {"race": scenario_race, "crowd": scenario_crowd, "first": scenario_first,
                   "floor": scenario_floor,
                   "heavy": scenario_heavy,
                   "formulas": scenario_formulas,
                   "replicas": scenario_replicas, "waves": scenario_waves}[name]
            ok &= run(args, gc)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
