"""The app never writes into its own directory while it serves (issue #17, item 5).

The build context (what ``.dockerignore`` lets into the image) is copied into a temporary folder and
served from there with that folder read-only, as the Kubernetes manifests run the image
(``readOnlyRootFilesystem``, a non-root user): as root the server runs in a private mount namespace where
the folder is bind-mounted read-only (root ignores permission bits), otherwise the folder is made
unwritable with ``chmod -R a-w``. HOME cannot be created (the image's user has none); the kernels and
numba's cache live outside the app, as the Dockerfile sets them (``DESCENT_LAB_KERNEL_DIR``,
``NUMBA_CACHE_DIR``).

The copy is bare: ``static/`` was never provisioned (no ``make assets``), the worst case. Every page the
navigation lists, a race of every optimizer and a visitor's formula are run over Streamlit's protocol
(``loadtest.warmup``: the deployment's startup probe, which then writes the ready file its readiness
probe checks); no run may fail or draw an exception box, the server log has no traceback, the player's
plotly.js URL is served (the plotly package's own file), and afterwards no file under the app folder was
added, removed or changed. A browser test then checks that the race player draws from that fallback.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from loadtest import server, warmup
from tests.browser_helpers import wait_for_app
from tests.test_deploy import ROOT, build_context_files
from ui import assets

# Run after the pages and before the snapshot is compared: a formula of the visitor's own (the sandbox
# parses it; its fused kernels are compiled in the background into the kernel cache, outside the app).
RACES = ["surface=beale&optimizers=all"]
WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
EXTRA = [("custom", "expr=x%5E2%20%2B%203*y%5E2")]
# As root: a private mount namespace where the app folder is a read-only bind mount of itself. The
# probe proves the folder is read-only for this process before the server starts (exit 97 otherwise).
RO_WRAPPER = ('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" || exit 96; '
              'if touch "$0/.write-probe" 2>/dev/null; then exit 97; fi; exec "$@"')


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root``: kind, size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            out[path.relative_to(root).as_posix()] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return out


def set_writable(root: Path, writable: bool) -> None:
    for dirpath, _, filenames in os.walk(root):
        for path in [Path(dirpath), *(Path(dirpath) / f for f in filenames)]:
            mode = path.lstat().st_mode
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~WRITE_BITS)


def read_only_prefix(app: Path) -> list[str]:
    """The command prefix that runs a process with ``app`` read-only (as root: a mount namespace)."""
    if os.geteuid() != 0:
        set_writable(app, False)
        return []
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare(1): cannot make the app folder read-only")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", RO_WRAPPER,
                            str(app), "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no read-only bind mount here (unshare exit {probe.returncode}: {probe.stderr.strip()})")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", RO_WRAPPER, str(app)]


def fresh_copy(app: Path) -> None:
    """The build context, copied into ``app`` (emptied first)."""
    if app.exists():
        set_writable(app, True)
        shutil.rmtree(app)
    for rel in build_context_files():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, app / rel)


@pytest.fixture(scope="module")
def readonly_server():
    """(base URL, app folder, snapshot of it before the server started, server log path).

    As in the image: HOME does not exist and cannot be made (a folder inside the read-only app), numba's
    disk cache is ``NUMBA_CACHE_DIR`` (the Dockerfile's setting) and the generated kernels are in
    ``DESCENT_LAB_KERNEL_DIR`` (here the pre-warmed one of ``make kernels``). numba keys its cache on the
    source folder's path, so the app folder has a fixed path, like the image's /app, and NUMBA_CACHE_DIR
    is kept between runs beside the kernel cache: only the first run compiles what these pages use (2–4
    minutes on a busy 2-core machine), later ones load it. A lock serialises runs.
    """
    from optimizers import compiled

    base = Path(tempfile.gettempdir()) / f"descent-lab-readonly-{os.getuid()}"
    base.mkdir(exist_ok=True)
    numba_cache = compiled.cache_dir().parent / "descent-lab-readonly-numba"
    numba_cache.mkdir(parents=True, exist_ok=True)
    app, log = base / "app", base / "server.log"
    with (base / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fresh_copy(app)
        assert not (app / "static").exists(), "the build context must not carry static/ copies"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "XDG_", "NUMBA_CACHE"))}
        env |= {"HOME": str(app / "nonexistent"), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "NUMBA_CACHE_DIR": str(numba_cache), "DESCENT_LAB_KERNEL_DIR": str(compiled.cache_dir())}
        before = snapshot(app)
        port = server.free_port()
        cmd = read_only_prefix(app) + server.server_command(port)
        try:
            with log.open("wb") as fh:
                proc = subprocess.Popen(cmd, cwd=app, env=env, stdin=subprocess.DEVNULL, stdout=fh,
                                        stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                server.wait_healthy(url, proc, timeout=120)
                yield url, app, before, log
            finally:
                server.stop(proc)
        finally:
            set_writable(app, True)


@pytest.mark.slow
def test_every_page_served_from_a_read_only_app_writes_nothing(readonly_server):
    url, app, before, log = readonly_server
    t0 = time.monotonic()
    ready = log.parent / "ready"  # the deployment's startup probe, as it runs there (outside the app)
    lines: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, whatever else runs here
        done = pool.submit(warmup.run, url, ready, 480, RACES, lines.append, EXTRA).result()
    assert done, "\n".join(lines)
    assert warmup.check(url, ready)  # ...and the readiness probe says ready
    runs = json.loads(ready.read_text())["runs"]
    pages = {run["page"] for run in runs}
    assert {"", "custom", "atlas"} <= pages and len(pages) >= 6, pages  # every page of the navigation

    # The player was told to load the plotly package's own bundle (nothing in static/), and it is served.
    sources = set(assets.player_sources(app / "static"))
    assert sources == {assets.PACKAGE_URL}
    with urllib.request.urlopen(f"{url}/{assets.PACKAGE_URL.removeprefix('./')}", timeout=30) as resp:
        body = resp.read()
    assert resp.status == 200 and body == assets.plotly_js_source().read_bytes()

    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
    assert "static/plotly.min.js is missing" in text  # the operator is told why the fallback is in use
    assert snapshot(app) == before, "the server wrote into its app folder"
    print(f"\n{len(runs)} runs from a read-only app in {time.monotonic() - t0:.1f} s: {runs}")


@pytest.mark.browser
def test_the_race_player_draws_from_the_package_fallback(readonly_server, page):
    url, app, before, _ = readonly_server
    loaded = []
    page.on("response", lambda r: loaded.append((r.url, r.status)) if "plotly" in r.url else None)
    page.goto(f"{url}/?surface=himmelblau&optimizers=sgd,adam&steps=60")
    wait_for_app(page)
    page.wait_for_selector(".dl-race[data-ready='true'] .js-plotly-plot", timeout=60_000)
    assert (f"{url}/{assets.PACKAGE_URL.removeprefix('./')}", 200) in loaded, loaded
    assert page.console_errors == []
    assert snapshot(app) == before
