"""A short load test: ten virtual visitors (``loadtest``, Streamlit's websocket protocol, no browsers) on a
server started with the repo's production config.

Seven visitors open the race link and change a setting twice, one keeps clicking, one runs small atlas
maps and one types formulas, all at once. No session may fail, no exception box may be drawn, and race
runs must stay under a generous bound (CI machines vary; the real targets are measured by
``bench/bench_load.py`` and written down in deploy/README.md). Then a short "crowd at once": visitors who
all click at the same instant and change the race with no pause, none of them refused, failed or shown
another visitor's race. The warm start (``loadtest.serve``): a server that is healthy at once but ready
only after its warm-up, and gone with its ready file when stopped. Also unit tests of the protocol pieces,
and a small run of ``deploy/replicas.py`` (three replicas behind nginx, one killed; skipped without nginx).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from loadtest import protocol, server, visitor
from loadtest.__main__ import format_report, parse_mix, percentile, run_load, warm_up
from loadtest.visitor import RACE_SURFACES, custom_formula, race_variant
from tests.load_helpers import in_thread, run_async

ROOT = Path(__file__).resolve().parent.parent

P95_BOUND = 5.0  # seconds; the dev machine's measured figures are far below (see deploy/README.md)


# --- pieces ------------------------------------------------------------------------------------------------
def test_rerun_request_is_what_a_browser_sends():
    msg = BackMsg()
    msg.ParseFromString(protocol.rerun_request("surface=beale&steps=500", "custom", "abc", "http://h/custom"))
    assert msg.WhichOneof("type") == "rerun_script"
    state = msg.rerun_script
    assert (state.query_string, state.page_name, state.page_script_hash) == ("surface=beale&steps=500",
                                                                             "custom", "abc")
    assert state.context_info.url == "http://h/custom"
    assert msg.rerun_script.HasField("widget_states")


def test_urls():
    assert protocol.stream_url("http://127.0.0.1:8080/") == "ws://127.0.0.1:8080/_stcore/stream"
    assert protocol.stream_url("https://host/base") == "wss://host/base/_stcore/stream"
    assert protocol.origin_of("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    assert protocol.split_page_url("/custom?expr=x") == ("custom", "expr=x")


def test_mix_and_percentiles():
    assert parse_mix(None, 5) == {"race": 5}
    assert parse_mix("race=3,atlas=1,custom=1", 5) == {"race": 3, "atlas": 1, "custom": 1}
    with pytest.raises(ValueError):
        parse_mix("race=3", 5)
    with pytest.raises(ValueError):
        parse_mix("race=4,browser=1", 5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert math.isnan(percentile([], 95))


def test_variants_are_valid_urls():
    import random

    from surfaces.expression import check_syntax

    rng = random.Random(0)
    for _ in range(50):
        query = race_variant(rng)
        assert query.split("&")[0].removeprefix("surface=") in RACE_SURFACES
    for i in range(20):
        check_syntax(custom_formula(i, i % 3, i % 5))  # every generated formula is accepted


def test_a_race_run_without_a_race_is_a_failure():
    """A run that finished but showed an error box or no race player is not a race the visitor asked for."""
    from loadtest.protocol import RunResult
    from loadtest.visitor import VisitorResult, _record, check_race_shown

    shown = RunResult("ok", 0.1, players=1)
    assert check_race_shown(shown) is None
    assert check_race_shown(RunResult("ok", 0.1)) == "no race player"
    assert check_race_shown(RunResult("ok", 0.1, players=1, alerts=[("error", "Could not compute")])) == \
        "error: Could not compute"
    assert check_race_shown(RunResult("ok", 0.1, alerts=[("warning", "The server is busy")])) is None
    result = VisitorResult(index=0, kind="race")
    _record(result, "race.rerun", RunResult("ok", 0.1), 0.0)
    assert result.failure == "race.rerun: no race player"
    result = VisitorResult(index=0, kind="race")
    _record(result, "race.open", shown, 0.0)
    assert result.failure is None


def test_memory_of_this_process():
    import os

    mem = server.memory(os.getpid())
    assert mem.rss and mem.rss > 10 << 20


# --- the load ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("load") / "server.log"
    with server.app_server(log=log) as (url, proc):
        yield url, proc, log


@pytest.mark.slow
def test_ten_visitors(load_server):
    url, proc, log = load_server
    assert in_thread(warm_up, url) == []
    assert server.pid_listening_on(int(url.rsplit(":", 1)[1])) == proc.pid
    mix = {"race": 7, "hammer": 1, "atlas": 1, "custom": 1}
    report = in_thread(run_load, url, visitors=10, reruns=2, mix=mix, ramp=1.0, think=(0.3, 1.0),
                        atlas_grid=32, atlas_steps=200, heavy_max_runs=3)
    text = format_report(report)
    print(text)
    details = f"\n{text}\nserver log:\n{log.read_text(errors='replace')[-3000:]}"
    assert report.failed == 0, details
    assert report.exceptions == 0, details
    for kind in ("race.open", "race.rerun", "hammer", "atlas", "custom"):
        assert report.stats[kind].runs > 0, details
    assert report.stats["race (all)"].p95 < P95_BOUND, details
    # Every race visitor ended on a page that wrote its settings back into the URL.
    race_visitors = [r for r in report.results if r.kind == "race"]
    assert all(r.last_query and "optimizers=" in r.last_query for r in race_visitors), details
    assert report.waves[0].memory[proc.pid]["rss_mb"] > 0


@pytest.mark.slow
def test_a_crowd_at_once_is_served_without_mixing_races(load_server):
    """"Everyone, click the link now", small: 16 visitors at the same instant, each then changes the race
    twice with no pause (bench/bench_load.py crowd has the 50 × 4 version). Busy is not no: every run is
    served (no failure, no "busy", no exception), and every page writes back the race its visitor asked
    for, never another visitor's."""
    url, proc, log = load_server
    assert in_thread(warm_up, url) == []
    report = in_thread(run_load, url, visitors=16, reruns=2, mix={"race": 16}, ramp=0.0, think=(0.0, 0.0),
                        seed=7)
    text = format_report(report)
    details = f"\n{text}\nserver log:\n{log.read_text(errors='replace')[-3000:]}"
    race = report.stats["race (all)"]
    assert race.runs == 16 * 3 and race.not_ok == 0, details
    assert report.failed == 0 and report.exceptions == 0 and report.busy == 0, details
    assert report.other_races == 0, details
    asked = {s.asked for r in report.results for s in r.samples}
    assert len(asked) > 10, details  # the visitors asked for different races, not one cached answer
    assert race.bytes > 0 and race.p95 < 4 * P95_BOUND, details


def test_a_race_written_back_differently_is_another_race():
    from loadtest.visitor import Sample

    asked = "surface=beale&optimizers=sgd,adam&steps=300&speed=2&seed=0"
    # Numbers as the page writes them, defaults left out (seed=0), the session's other settings kept.
    for same in ("surface=beale&optimizers=sgd%2Cadam&steps=300&speed=2.0&lr_sgd=0.01",
                 "surface=beale&optimizers=sgd,adam&steps=300&view=contour"):
        assert not Sample("race.rerun", 0.1, "ok", query=same, asked=asked).other_race(), same
    for other in ("surface=booth&optimizers=sgd,adam&steps=300&speed=2",
                  "surface=beale&optimizers=sgd&steps=300&speed=2", "surface=beale&optimizers=sgd,adam",
                  "surface=beale&optimizers=sgd,adam&steps=300&speed=4"):
        assert Sample("race.rerun", 0.1, "ok", query=other, asked=asked).other_race(), other


def test_first_visitors_of_a_surface_share_one_computation():
    """A crowd's first runs on a cold server ask for the same surface and presets at once: one thread
    computes, the others wait for its result (surfaces.memo), instead of each compiling its own copy."""
    import threading
    import time

    import surfaces
    from surfaces.memo import shared_memo

    calls = []

    @shared_memo(maxsize=2)
    def build(name):
        calls.append(name)
        time.sleep(0.05)  # long enough for every thread to arrive while the first one computes
        if name == "bad":
            raise ValueError(name)
        return object()

    results, start = [], threading.Barrier(16)

    def visitor():
        start.wait()
        results.append(build("beale"))

    threads = [threading.Thread(target=visitor) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["beale"] and len({id(r) for r in results}) == 1
    for _ in range(2):  # a failure is not remembered: the next caller tries again
        with pytest.raises(ValueError):
            build("bad")
    assert calls.count("bad") == 2
    build("booth"), build("rosenbrock")  # bounded: the least recently used goes
    assert build.cache_len() == 2 and build("beale") is not results[0]
    assert surfaces.get("beale") is surfaces.get("beale")


# --- the warm start ---------------------------------------------------------------------------------------
def test_launcher_finds_the_url_of_its_server():
    from loadtest.serve import local_url

    assert local_url([], {}) == "http://127.0.0.1:8501"
    assert local_url(["--server.address=0.0.0.0", "--server.port=8502"], {}) == "http://127.0.0.1:8502"
    assert local_url(["--server.address", "localhost"], {"STREAMLIT_SERVER_PORT": "8600"}) == \
        "http://localhost:8600"
    # Flags beat variables, as in Streamlit; a base path is part of the URL.
    assert local_url(["--server.port", "9000"], {"STREAMLIT_SERVER_PORT": "8600",
                                                 "STREAMLIT_SERVER_BASE_URL_PATH": "/lab/"}) == \
        "http://127.0.0.1:9000/lab"
    from loadtest import warmup

    assert warmup.ready_file("http://127.0.0.1:8502", {}) == warmup.READY_DIR / "ready-8502"
    assert warmup.ready_file("http://x:1", {warmup.READY_ENV: "/r/f"}) == Path("/r/f")


@pytest.mark.slow
def test_warm_start_is_ready_only_after_its_warm_up(tmp_path):
    """``python -m loadtest.serve`` (make run, the image, compose): the server answers its liveness check
    at once, its readiness check only after the warm-up has visited every page and every catalogue
    surface's race; then a first visitor is served from warm caches. Stopped, the server goes and so does
    the ready file."""
    import subprocess
    import time

    import surfaces
    from loadtest import warmup
    from loadtest.protocol import Connection

    port = server.free_port()
    url, ready = f"http://127.0.0.1:{port}", tmp_path / "ready"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(server.serve_command(port, ready), cwd=server.ROOT, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        server.wait_healthy(url, proc, timeout=90)
        # Alive, not yet ready: the warm-up's first page alone takes seconds.
        assert warmup.main(["--check", "--url", url, "--ready-file", str(ready)]) == 1
        server.wait_ready(ready, proc, timeout=300)
        assert warmup.main(["--check", "--url", url, "--ready-file", str(ready)]) == 0
        runs = json.loads(ready.read_text())["runs"]
        visited = {(r["page"], r["query"]) for r in runs}
        assert ("", "") in visited and {p for p, _ in visited} >= {"", "atlas", "custom", "explain", "data"}
        assert {f"surface={name}&optimizers=all" for name in surfaces.available()} <= {q for _, q in visited}

        async def first_visit():
            conn = await Connection.open(url)
            try:
                return await conn.run("surface=rosenbrock&optimizers=all&steps=400", "", 60)
            finally:
                await conn.close()


        first = run_async(first_visit())
        assert first.ok and not first.exceptions and first.elements.get("bidi_component"), first
        pid = server.server_pid(proc)
        assert pid != proc.pid  # the server is the launcher's child
    finally:
        proc.terminate()  # the launcher passes SIGTERM on to the server
        proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while server.rss_bytes(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text(errors="replace")
    assert server.rss_bytes(pid) is None, text[-3000:]
    assert not ready.exists() and proc.returncode in (0, 128 + 15), text[-3000:]
    assert "ready after" in text


# --- replicas ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_replica_fail_over(tmp_path):
    """deploy/replicas.py, small: 3 replicas behind nginx, 12 visitors, one replica killed mid-load."""
    import shutil
    import subprocess
    import sys

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx not installed — replica fail-over not tested here; `apt-get install -y nginx` "
                    "(deploy/replicas.py installs it itself when run on its own)")
    out = tmp_path / "replicas.json"
    proc = subprocess.run([sys.executable, "deploy/replicas.py", "--visitors", "12", "--reruns", "5",
                           "--kill-after", "6", "--newcomers", "3", "--no-install", "--deadline", "240",
                           "--json", str(out)], cwd=server.ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["ok"] and report["moved_visitors"] > 0
    assert report["restored_same_race"] == report["reconnects"]


def test_a_visitors_races_are_the_same_in_every_process():
    """The benchmark's crowd asks for the same races on every invocation (so two runs compare): the
    visitors' random choices do not depend on the process's hash seed."""
    script = ("from loadtest.visitor import race_variant, visitor_rng; "
              "print([race_variant(visitor_rng(200, 'race', i)) for i in range(5)])")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1 and "surface=" in outputs.pop()
    source = inspect.getsource(visitor.visit)  # and a visitor draws its choices from there
    assert "visitor_rng(" in source and "hash(" not in source
