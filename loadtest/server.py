"""The server side of a load test: find a server's process, read its memory, start one for a test.

Memory is read from ``/proc``: ``VmRSS`` of the server process, and the sum over its descendants (the
atlas pool's workers, the formula sandbox's workers) reported separately.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` (``VmRSS``), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return 0


def _parents() -> dict[int, int]:
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = int(fields[1])
    return table


def descendants(pid: int) -> list[int]:
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, pp in parents.items() if pp == current]
        found.extend(children)
        frontier.extend(children)
    return found


@dataclass
class Memory:
    pid: int
    rss: int | None  # bytes, the server process
    children: int  # bytes, all its descendants together
    processes: int  # number of descendants

    @property
    def total(self) -> int:
        return (self.rss or 0) + self.children


def memory(pid: int) -> Memory:
    kids = descendants(pid)
    return Memory(pid, rss_bytes(pid), sum(rss_bytes(k) or 0 for k in kids), len(kids))


def pid_listening_on(port: int, host: str = "127.0.0.1") -> int | None:
    """The process that listens on ``port`` (from /proc/net/tcp*), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{inode}]")
        except OSError:
            continue
    if not inodes:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = f"/proc/{entry}/fd"
        try:
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    if os.readlink(f"{fd_dir}/{fd}") in inodes:
                        return int(entry)
        except OSError:
            continue
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base_url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> float:
    """Poll ``/_stcore/health`` until it answers ok; seconds waited. RuntimeError otherwise."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return time.monotonic() - start
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} not healthy within {timeout:.0f} s ({last})")


def server_command(port: int, *options: str, script: str = "app.py") -> list[str]:
    """``streamlit run app.py`` (or another ``script``: a path relative to the repo, or absolute) on
    127.0.0.1:port, started in the repo, so with the repo's config; ``options`` are extra flags."""
    return [sys.executable, "-m", "streamlit", "run", script, "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            *options]


def serve_command(port: int, ready_file: Path, *options: str) -> list[str]:
    """The same server started as ``make run``, the image and compose start it: through
    ``loadtest.serve``, which warms it up and writes ``ready_file`` once it is ready."""
    return [sys.executable, "-m", "loadtest.serve", "--ready-file", str(ready_file), "--",
            *server_command(port, *options)[5:]]


def wait_ready(ready_file: Path, proc: subprocess.Popen, timeout: float) -> float:
    """Wait for the warm-up's ready file; seconds waited. RuntimeError when the server exits first or
    ``timeout`` seconds pass."""
    start = time.monotonic()
    while not ready_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"server not ready within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - start


@contextlib.contextmanager
def app_server(*options: str, port: int | None = None, env: dict | None = None, log: Path | None = None,
               timeout: float = 90.0, warm: bool = False, script: str = "app.py"):
    """Start the app on a free loopback port; yields (base_url, Popen). Stopped (and its pool) on exit.

    ``warm``: started through ``loadtest.serve`` (see ``serve_command``) and yielded once it is ready,
    not just healthy; then the Popen is the launcher's, with the server as its child (``server_pid``).
    ``script``: another Streamlit script (not warmed up), e.g. the floor that ``bench/floor.py`` writes."""
    if warm and script != "app.py":
        raise ValueError("only app.py is warmed up (loadtest.serve)")
    port = port or free_port()
    log_fh = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    ready = Path(tempfile.mkdtemp(prefix="descent-lab-ready-")) / "ready"
    command = serve_command(port, ready, *options) if warm else server_command(port, *options, script=script)
    proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=log_fh, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    base_url = f"http://127.0.0.1:{port}"
    try:
        waited = wait_healthy(base_url, proc, timeout)
        if warm:
            wait_ready(ready, proc, max(1.0, timeout - waited))
        yield base_url, proc
    finally:
        stop(proc)
        if log:
            log_fh.close()
        ready.unlink(missing_ok=True)
        ready.parent.rmdir()


def server_pid(proc: subprocess.Popen) -> int:
    """The Streamlit server's process: ``proc`` itself, or its child when ``proc`` is the launcher."""
    kids = [p for p, parent in _parents().items() if parent == proc.pid]
    return kids[0] if kids and "loadtest.serve" in " ".join(proc.args) else proc.pid


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
