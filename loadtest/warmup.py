"""Warm a freshly started server up as its first visitors would, then say it is ready to serve a race.

    python -m loadtest.warmup --url http://127.0.0.1:8501 --ready-file /tmp/descent-lab/ready
    python -m loadtest.warmup --check --url http://127.0.0.1:8501 --ready-file /tmp/descent-lab/ready

Streamlit's ``/_stcore/health`` answers ``ok`` as soon as the server listens, long before a race can be
served quickly: the first visitor of a server pays for the imports of every page, compiling the
surface, tuning its presets, the background figures, loading the compiled kernels from numba's disk
cache. Those caches are process-wide, so one pass through the app fills them for everyone.

The warm-up waits for the health endpoint, removes a ready file left by an earlier start, then — over
Streamlit's own WebSocket protocol, like a browser (``loadtest.protocol``) — opens every page the app's
navigation lists once and races every optimizer on every catalogue surface. Each run must finish
successfully with no exception box and no "busy" message, and a race run must carry the race player; a
"busy" run is tried again until the deadline, any other failure three times in all. Only then is the
ready file written (what was run and how long it took); exit status 0. Otherwise (the deadline, an
exception box) it exits 1 and writes nothing: a server that cannot serve a race never gets visitors.

``--check`` is the readiness probe: exit 0 when the ready file exists and the health endpoint answers
``ok`` now, 1 otherwise. It imports only the standard library (it runs every few seconds).

The ready file is ``$DESCENT_LAB_READY_FILE`` when set, else ``/tmp/descent-lab/ready-<port>``: two
servers on one machine (``make run`` twice, on two ports) each have their own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8501"
READY_DIR = Path("/tmp/descent-lab")
READY_ENV = "DESCENT_LAB_READY_FILE"  # the ready file's path, for the launcher and the probes
DEFAULT_READY_FILE = READY_DIR / "ready-8501"  # the image's port (see ready_file)
RUN_TIMEOUT = 120.0  # seconds for one run on a cold, loaded server
PLAYER = "bidi_component"  # the race player's element type
MAX_ATTEMPTS = 3  # of a run that fails for another reason than "busy"


def healthy(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as resp:
            return resp.read().strip() == b"ok"
    except OSError:
        return False


def ready_file(url: str, environ=None) -> Path:
    """Where the server at ``url`` is marked ready: ``$DESCENT_LAB_READY_FILE``, else a file per port."""
    environ = os.environ if environ is None else environ
    if environ.get(READY_ENV):
        return Path(environ[READY_ENV])
    parts = urlsplit(url)
    return READY_DIR / f"ready-{parts.port or (443 if parts.scheme == 'https' else 80)}"


def check(url: str, ready_file: Path) -> bool:
    """The readiness probe: warmed up (the file) and serving (the health endpoint) right now."""
    return ready_file.is_file() and healthy(url)


def race_queries() -> list[str]:
    """The link most visitors open first (the Race page as it starts: no query), then a race of every
    optimizer on every catalogue surface (the surfaces' background figures, presets and fused kernels
    are what a first visitor of that surface would wait for), then each surface with the page's own
    optimizers and steps (what a class gets by picking another surface: the race itself is cached)."""
    import surfaces

    names = surfaces.available()
    return ["", *(f"surface={name}&optimizers=all" for name in names), *(f"surface={name}" for name in names)]


def problem(result, page: str) -> str | None:
    """Why a run does not count as served, or None."""
    if not result.ok:
        return f"ended with {result.status}"
    if result.exceptions:
        return f"exception box: {result.exceptions[0]}"
    if result.busy:
        return "busy"
    if page == "" and result.elements.get(PLAYER, 0) == 0:
        return "no race player"
    return None


async def warm(url: str, deadline: float, races: list[str], log=print,
               extra: list[tuple[str, str]] = ()) -> list[dict]:
    """Every page once, then every race (query strings of the default page), then the ``extra`` (page,
    query) runs; the runs as dicts. RuntimeError when one still fails at the deadline
    (``time.monotonic()`` value)."""
    import asyncio

    from loadtest.protocol import Connection

    done: list[dict] = []
    conn = None
    try:
        conn = await Connection.open(url, timeout=max(1.0, deadline - time.monotonic()))
        first = await conn.run(races[0] if races else "", "", RUN_TIMEOUT)
        pages = sorted(p for p in conn.page_hashes if p)  # the navigation's pages (the default is "")
        visits = [("", races[0] if races else "", first)]
        visits += [(page, "", None) for page in pages] + [("", query, None) for query in races[1:]]
        visits += [(page, query, None) for page, query in extra]
        for page, query, result in visits:
            attempts = 0
            while True:
                if result is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RuntimeError(f"deadline passed before /{page}?{query}")
                    result = await conn.run(query, page, min(RUN_TIMEOUT, left))
                why = problem(result, page)
                if why is None:
                    break
                attempts += 1
                # "Busy" passes: tried again until the deadline. Anything else is tried twice more.
                if time.monotonic() >= deadline or (why != "busy" and attempts >= MAX_ATTEMPTS):
                    raise RuntimeError(f"/{page}?{query} {why}")
                log(f"/{page}?{query} {why}; trying again")
                if conn.closed_reason:
                    await conn.close()
                    conn = await Connection.open(url, timeout=max(1.0, deadline - time.monotonic()))
                await asyncio.sleep(1.0)
                result = None
            done.append({"page": page, "query": query, "seconds": round(result.seconds, 2)})
            log(f"  {result.seconds:6.2f} s  /{page}{'?' + query if query else ''}")
    finally:
        if conn is not None:
            await conn.close()
    return done


def run(url: str, ready_file: Path, budget: float, races: list[str] | None = None, log=print,
        extra: list[tuple[str, str]] = (), alive=None) -> bool:
    """Wait for health, warm up (``races``: default ``race_queries()``; ``extra``: see ``warm``), write
    ``ready_file``; False (and no file) when ``budget`` seconds pass, a run fails or ``alive()`` (the
    server process, when the caller started it) turns false before the server answered."""
    start = time.monotonic()
    deadline = start + budget
    ready_file.unlink(missing_ok=True)  # an earlier start's file (an emptyDir outlives a container)
    while not healthy(url):
        if alive is not None and not alive():
            log("the server exited before it answered")
            return False
        if time.monotonic() >= deadline:
            log(f"{url}/_stcore/health did not answer ok within {budget:.0f} s")
            return False
        time.sleep(0.5)
    health_at = time.monotonic() - start
    import asyncio  # here: the readiness check runs every few seconds and needs none of it

    try:
        runs = asyncio.run(warm(url, deadline, race_queries() if races is None else races, log, extra))
    except (TimeoutError, OSError, RuntimeError) as exc:
        log(f"not ready: {exc}")
        return False
    seconds = time.monotonic() - start
    ready_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = ready_file.with_name(f".{ready_file.name}.tmp")
    tmp.write_text(json.dumps({"health_after": round(health_at, 2), "ready_after": round(seconds, 2),
                               "runs": runs}, indent=1))
    tmp.replace(ready_file)
    log(f"ready after {seconds:.1f} s (health after {health_at:.1f} s, {len(runs)} runs): {ready_file}")
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--ready-file", type=Path, default=None,
                        help=f"default: ${READY_ENV}, else {READY_DIR}/ready-<the URL's port>")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds before giving up (exit 1)")
    parser.add_argument("--check", action="store_true", help="readiness probe: exit 0 when ready")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = args.url.rstrip("/")
    ready = args.ready_file or ready_file(url)
    if args.check:
        return 0 if check(url, ready) else 1
    return 0 if run(url, ready, args.deadline, log=lambda m: print(m, flush=True)) else 1


if __name__ == "__main__":
    sys.exit(main())
