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


def server_command(port: int, *options: str) -> list[str]:
    """``streamlit run app.py`` on 127.0.0.1:port with the repo's config; ``options`` are extra flags."""
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            *options]


@contextlib.contextmanager
def app_server(*options: str, port: int | None = None, env: dict | None = None, log: Path | None = None,
               timeout: float = 90.0):
    """Start the app on a free loopback port; yields (base_url, Popen). Stopped (and its pool) on exit."""
    port = port or free_port()
    log_fh = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(server_command(port, *options), cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=log_fh, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, proc, timeout)
        yield base_url, proc
    finally:
        stop(proc)
        if log:
            log_fh.close()


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
