"""Three Descent Lab replicas behind nginx on this machine, a crowd of visitors, and one replica killed.

    .venv/bin/python deploy/replicas.py                       # 30 visitors, kill a replica after 8 s
    .venv/bin/python deploy/replicas.py --visitors 45 --kill-after 10 --signal TERM --json out.json

What it does, all on loopback and within ``--deadline`` seconds (everything it started is stopped at the
end, also on errors and Ctrl-C):

1. installs Debian's nginx with ``apt-get install -y nginx`` when it is missing (no service is started:
   a temporary ``policy-rc.d`` forbids it during the install);
2. starts ``--replicas`` replicas (three by default; ``streamlit run app.py`` on 127.0.0.1, free ports)
   sharing one random ``STREAMLIT_SERVER_COOKIE_SECRET``, and waits for their health checks;
3. renders ``deploy/nginx.conf`` into a temporary directory: only the lines between ``# BEGIN upstream
   servers`` and ``# END upstream servers`` (the replicas' addresses), ``listen`` (127.0.0.1 and the
   chosen port), the pid file, temp paths and logs change — WebSocket upgrade, the cookie-keyed
   stickiness and the long timeouts are the shipped ones. The access log also records
   ``$upstream_addr``. Runs
   ``nginx -t`` on it, then nginx in the foreground (``daemon off``) as a child of this script;
4. warms each replica up (one visit to each kind of page, directly), then sends ``--visitors`` race
   visitors through nginx (each from its own address, 127.0.*i*.1; the protocol client sends no cookie, so
   each WebSocket draws its own route, as a browser's first request does);
5. ``--kill-after`` seconds into the load, reads each replica's ``active_sessions``
   (``/_stcore/metrics``) and kills the replica holding the most sessions (SIGKILL by default: a crash);
6. the visitors of the killed replica see their WebSocket close; like a browser they reconnect through
   nginx (which now reaches a live replica), reload the URL their page wrote last and must get the same
   race (same digest of the results table and the race player's data), then carry on. Visitors of the
   other two replicas must see nothing: no closed connection, no failed run, no exception box;
7. a few new visitors then open the app through nginx: they must be served by the two survivors;
8. prints the outcome (and writes it as JSON with ``--json``); exit status 0 when every check passed.

``--no-kill`` skips steps 5–6: the same crowd through nginx and three replicas, for throughput figures;
``--heavy N`` adds N atlas and N custom-formula visitors (``loadtest.visitor``) to the crowd.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtest import server  # noqa: E402
from loadtest.__main__ import _interleave, format_stats, kind_stats, percentile, warm_up  # noqa: E402
from loadtest.visitor import LightTracker, Settings, visit  # noqa: E402

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
REPLICAS = 3


# --- nginx ----------------------------------------------------------------------------------------------
def nginx_binary(install: bool = True) -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found or not install:
        if not found:
            raise SystemExit("nginx is not installed (apt-get install -y nginx)")
        return found
    print("nginx not found: apt-get install -y nginx", flush=True)
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = False
    if not policy.exists():  # keep the package from starting a system nginx on port 80
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        made_policy = True
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True, env=env, timeout=600)
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        raise SystemExit("apt-get install nginx did not provide an nginx binary")
    return found


def render_nginx_conf(ports: list[int], listen_port: int, workdir: Path) -> str:
    """deploy/nginx.conf for local replicas: upstream lines, listen, pid, temp paths and logs changed."""
    text = NGINX_CONF.read_text()
    begin, end = "# BEGIN upstream servers", "# END upstream servers"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    indent = re.search(r"\n([ \t]*)$", head).group(1)
    servers = "".join(f"{indent}server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in ports)
    text = f"{head}{begin} (rendered by deploy/replicas.py)\n{servers}{indent}{end}{tail}"
    text, n = re.subn(r"^(\s*)listen\s+\d+;", rf"\1listen 127.0.0.1:{listen_port};", text, flags=re.M)
    assert n == 1, "expected exactly one `listen PORT;` line in deploy/nginx.conf"
    text = re.sub(r"^pid\s+\S+;", f"pid {workdir}/nginx.pid;", text, flags=re.M)
    text = re.sub(r"^error_log\s+\S+", f"error_log {workdir}/error.log", text, flags=re.M)
    text = re.sub(r"(\s)/tmp/nginx-(\w[\w-]*);", rf"\1{workdir}/\2;", text)
    text = re.sub(r"^(\s*)access_log\s+/dev/stdout;",
                  rf"\1log_format replicas '$remote_addr -> $upstream_addr \"$request\" $status "
                  rf"$request_time';\n\1access_log {workdir}/access.log replicas;", text, count=1, flags=re.M)
    return text


def port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode(errors="replace")


def active_sessions(port: int) -> int | None:
    try:
        text = get(f"http://127.0.0.1:{port}/_stcore/metrics", timeout=5)
    except OSError:
        return None
    match = re.search(r"^active_sessions\s+(\d+)", text, flags=re.M)
    return int(match.group(1)) if match else None


# --- the run ----------------------------------------------------------------------------------------------
class Stack:
    """The processes this script started, stopped in reverse order whatever happens."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
        with open(log, "wb") as fh:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=fh,
                                    stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.procs.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is not None:
                continue
            if name == "nginx":
                proc.send_signal(signal.SIGQUIT)  # graceful: finish, then exit
            else:
                proc.terminate()
        deadline = time.monotonic() + 15
        for _, proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)


async def crowd_and_kill(url: str, args, replicas: dict[int, subprocess.Popen], orphans: list[int]) -> dict:
    settings = Settings(base_url=url, reruns=args.reruns, think=(args.think_min, args.think_max),
                        run_timeout=args.timeout, reconnect=True, sources=True, seed=args.seed)
    tracker = LightTracker(args.visitors)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    kinds = _interleave({"race": args.visitors, "atlas": args.heavy, "custom": args.heavy})
    spread = args.ramp / max(1, len(kinds) - 1)
    tasks = [asyncio.create_task(visit(kind, i, settings, tracker, spread * i))
             for i, kind in enumerate(kinds)]
    await asyncio.sleep(args.kill_after)
    sessions = {port: await asyncio.to_thread(active_sessions, port) for port in replicas}
    if args.no_kill:
        print(f"{loop.time() - t0:.1f} s: active sessions {sessions} (--no-kill)", flush=True)
        return {"t0": t0, "killed_at": None, "victim": None, "sessions": sessions,
                "results": await asyncio.gather(*tasks)}
    victim = max(sessions, key=lambda p: sessions[p] or 0)
    orphans.extend(server.descendants(replicas[victim].pid))  # its pool and sandbox workers
    killed_at = loop.time()
    replicas[victim].send_signal(signal.SIGKILL if args.signal == "KILL" else signal.SIGTERM)
    print(f"{killed_at - t0:.1f} s: killed the replica on port {victim} ({args.signal}); active sessions "
          f"before: {sessions}", flush=True)
    results = await asyncio.gather(*tasks)
    return {"t0": t0, "killed_at": killed_at, "victim": victim, "sessions": sessions, "results": results}


async def newcomers(url: str, args) -> list:
    settings = Settings(base_url=url, reruns=1, think=(0.2, 0.5), run_timeout=args.timeout, sources=True,
                        seed=args.seed + 1)
    tracker = LightTracker(args.newcomers)
    return await asyncio.gather(*(visit("race", 1000 + i, settings, tracker) for i in range(args.newcomers)))


def summarize(outcome: dict, late: list, args) -> dict:
    results = outcome["results"]
    killed_at = outcome["killed_at"]
    if killed_at is None:  # --no-kill: the crowd through nginx, nothing else
        checks = {"every visitor finished without failure": all(not r.failed for r in results + late),
                  "no exception box": sum(len(r.exceptions) for r in results + late) == 0,
                  "no connection was lost": not any(r.reconnects for r in results)}
        runs = [s.seconds for r in results for s in r.samples
                if s.status == "ok" and s.kind in ("race.open", "race.rerun")]
        reruns = [s.seconds for r in results for s in r.samples
                  if s.status == "ok" and s.kind == "race.rerun"]
        return {"visitors": len(results), "reruns": args.reruns, "killed": False,
                "active_sessions": outcome["sessions"], "race_runs_s": _spread(runs),
                "race_reruns_s": _spread(reruns), "busy": sum(r.busy for r in results),
                "failures": [f"race#{r.index}: {r.failure}" for r in results + late if r.failed][:10],
                "checks": checks, "ok": all(checks.values())}
    moved = [r for r in results if r.reconnects]
    stayed = [r for r in results if not r.reconnects]
    episodes = [e for r in moved for e in r.reconnects]
    restored = [e for e in episodes if e.status == "restored"]
    same = [e for e in restored if e.same_race]
    to_connect = [e.connected_at - killed_at for e in episodes if e.connected_at]
    to_restore = [e.restored_at - killed_at for e in restored]
    restore_runs = [s.seconds for r in moved for s in r.samples if s.kind == "restore" and s.status == "ok"]
    after_kill = [s.seconds for r in results for s in r.samples
                  if s.kind in ("race.open", "race.rerun") and s.status == "ok" and s.start >= killed_at]
    survivors_runs = [s for r in stayed for s in r.samples]
    victim_sessions = outcome["sessions"].get(outcome["victim"])
    checks = {
        "every visitor finished without failure": all(not r.failed for r in results),
        "no exception box": sum(len(r.exceptions) for r in results + late) == 0,
        "visitors of the surviving replicas saw no closed connection or failed run":
            all(s.status == "ok" for s in survivors_runs),
        "every visitor of the killed replica reconnected and got the same race back":
            bool(moved) and len(same) == len(episodes),
        "the visitors who moved are the killed replica's sessions":
            victim_sessions is None or len(moved) == victim_sessions,
        "newcomers after the kill are served":
            all(not r.failed for r in late) and len(late) == args.newcomers,
    }
    return {
        "visitors": len(results), "reruns": args.reruns, "signal": args.signal,
        "kill_after_s": args.kill_after, "victim_port": outcome["victim"],
        "active_sessions_before_kill": outcome["sessions"],
        "moved_visitors": len(moved), "stayed_visitors": len(stayed),
        "reconnects": len(episodes), "restored_same_race": len(same),
        "reconnect_tries_max": max((e.tries for e in episodes), default=0),
        "kill_to_connected_s": _spread(to_connect), "kill_to_restored_s": _spread(to_restore),
        "restore_run_s": _spread(restore_runs), "race_runs_after_kill_s": _spread(after_kill),
        "failures": [f"race#{r.index}: {r.failure}" for r in results + late if r.failed][:10],
        "exceptions": [e for r in results + late for e in r.exceptions][:5],
        "checks": checks, "ok": all(checks.values()),
    }


def _spread(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 50), 3),
            "p95": round(percentile(values, 95), 3), "max": round(max(values), 3)}


def upstream_counts(access_log: Path) -> dict[str, int]:
    """WebSocket connections per replica, from the access log (logged when each one closes)."""
    counts: dict[str, int] = {}
    if access_log.exists():
        for line in access_log.read_text(errors="replace").splitlines():
            if "/_stcore/stream" in line:
                # "a, b" when nginx tried a (the dead replica) first and b served the request
                tried = line.split(" -> ", 1)[1].split(' "', 1)[0]
                served = tried.split(",")[-1].strip()
                key = served if "," not in tried else f"{served} (after {tried.split(',')[0].strip()})"
                counts[key] = counts.get(key, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=30, help="race visitors")
    parser.add_argument("--replicas", type=int, default=REPLICAS, help="app processes behind nginx")
    parser.add_argument("--heavy", type=int, default=0,
                        help="also this many atlas (128²) and this many custom-formula visitors")
    parser.add_argument("--reruns", type=int, default=6, help="setting changes per visitor")
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--ramp", type=float, default=3.0, help="visitors arrive within this many seconds")
    parser.add_argument("--kill-after", type=float, default=8.0, help="seconds into the load")
    parser.add_argument("--signal", choices=("KILL", "TERM"), default="KILL")
    parser.add_argument("--no-kill", action="store_true", help="only the crowd through nginx (throughput)")
    parser.add_argument("--newcomers", type=int, default=5, help="visitors arriving after the kill")
    parser.add_argument("--nginx-port", type=int, default=8080, help="another free port if it is taken")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one run may take")
    parser.add_argument("--deadline", type=float, default=300.0, help="the whole script, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-install", action="store_true", help="fail instead of installing nginx")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument("--json", type=Path, help="also write the outcome to this file")
    args = parser.parse_args(argv)

    started = time.monotonic()
    nginx = nginx_binary(install=not args.no_install)
    workdir = Path(tempfile.mkdtemp(prefix="descent-lab-replicas-"))
    workdir.chmod(0o755)  # nginx's workers (user nobody) write their temp files here
    stack = Stack()
    orphans: list[int] = []  # worker processes of the killed replica
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("--deadline reached")))
    signal.alarm(int(args.deadline))
    status = 1
    try:
        secret = secrets.token_hex(32)
        ports = []
        while len(ports) < args.replicas:
            port = server.free_port()
            if port not in ports and port != args.nginx_port:
                ports.append(port)
        replicas = {}
        for i, port in enumerate(ports, 1):
            env = {"STREAMLIT_SERVER_COOKIE_SECRET": secret, "PYTHONUNBUFFERED": "1"}
            replicas[port] = stack.start(f"replica{i}", server.server_command(port),
                                         workdir / f"replica{i}.log", env=env)
        for port, proc in replicas.items():
            server.wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=120)
        t_replicas = time.monotonic() - started
        listen = args.nginx_port if port_free(args.nginx_port) else server.free_port()
        if listen != args.nginx_port:
            print(f"port {args.nginx_port} is taken: nginx listens on {listen} instead", flush=True)
        conf = workdir / "nginx.conf"
        conf.write_text(render_nginx_conf(ports, listen, workdir))
        check = subprocess.run([nginx, "-t", "-q", "-p", str(workdir), "-c", str(conf)], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered config:\n{check.stderr}")
        nginx_proc = stack.start("nginx", [nginx, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                                 workdir / "nginx.out")
        url = f"http://127.0.0.1:{listen}"
        server.wait_healthy(url, nginx_proc, timeout=30)
        assert get(f"{url}/nginx-health").strip() == "ok"
        print(f"replicas on {ports} (one cookie secret), nginx on {url}: up in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        warm = {}
        for port in ports:
            t = time.monotonic()
            seen = warm_up(f"http://127.0.0.1:{port}")
            warm[port] = round(time.monotonic() - t, 1)
            if seen:
                print(f"warm-up of {port} saw exceptions: {seen}", flush=True)
        print(f"warmed up: {warm} s", flush=True)

        t_load = time.monotonic()
        outcome = asyncio.run(crowd_and_kill(url, args, replicas, orphans))
        late = asyncio.run(newcomers(url, args))
        load_seconds = time.monotonic() - t_load
        report = summarize(outcome, late, args)
        all_results = outcome["results"] + late
        report.update({
            "replica_ports": ports, "nginx": url, "startup_s": round(t_replicas, 1), "warm_up_s": warm,
            "load_s": round(load_seconds, 1), "total_s": round(time.monotonic() - started, 1),
            "websockets_per_upstream": upstream_counts(workdir / "access.log"),
            "load": uptime(),
        })
        print()
        print("\n".join(format_stats(kind_stats(all_results))))
        print()
        print(json.dumps(report, indent=1))
        if args.json:
            args.json.write_text(json.dumps(report, indent=1) + "\n")
        for name, ok in report["checks"].items():
            print(f"{'PASS' if ok else 'FAIL'}: {name}")
        status = 0 if report["ok"] else 1
    finally:
        signal.alarm(0)
        stack.stop_all()
        time.sleep(0.5)
        for pid in orphans:  # a killed replica's workers exit when their pipes close; make sure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if args.keep or status:
            print(f"logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


def uptime() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
