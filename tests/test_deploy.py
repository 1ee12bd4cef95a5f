"""Checks of the deployment files: Dockerfile, .dockerignore, .streamlit/config.toml, compose.yaml and
deploy/nginx.conf. The slow test re-enacts the Dockerfile in a fresh virtual environment (no Docker engine
here): its pip install, its build context as .dockerignore filters it, and its CMD, until the health
endpoint answers. deploy/build-image.sh builds the real image with buildah (not part of the tests).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.browser_helpers import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
CONFIG = ROOT / ".streamlit" / "config.toml"

# What production needs from .streamlit/config.toml, option by option.
EXPECTED_OPTIONS = {
    "server.headless": True,
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.maxMessageSize": 50,
    "server.fileWatcherType": "none",
    "server.enableStaticServing": True,  # the app serves static/plotly.min.js
    "server.runOnSave": False,
    "runner.postScriptGC": False,  # measured under load: see deploy/README.md, "Performance under load"
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    "browser.gatherUsageStats": False,
}


# --- Dockerfile -----------------------------------------------------------------------------------------


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def dockerfile_pip_installs() -> list[list[str]]:
    """The argument lists of every `pip install ...` in the Dockerfile's RUN instructions."""
    cmds = []
    for word, rest in dockerfile_instructions():
        if word == "RUN":
            for part in rest.split("&&"):
                tokens = shlex.split(part)
                if tokens[:2] == ["pip", "install"]:
                    cmds.append(tokens)
    return cmds


def dockerfile_cmd() -> list[str]:
    cmds = [json.loads(rest) for word, rest in dockerfile_instructions() if word == "CMD"]
    assert len(cmds) == 1, "expected exactly one exec-form CMD"
    return cmds[0]


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def test_hadolint_passes():
    binary = hadolint_binary()
    if binary is None:
        pytest.skip("hadolint binary not found (pip install -r requirements-dev.txt provides it)")
    result = subprocess.run([binary, str(DOCKERFILE)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape():
    instructions = dockerfile_instructions()
    words = [w for w, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.12-slim")
    env = dockerfile_env()
    for key in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR"):
        assert env.get(key) == "1", key
    # numba's cache outside /app (read-only to the app user, who has no home): under the kernel folder,
    # which the kernel step fills and hands to the app user.
    assert env["NUMBA_CACHE_DIR"].startswith(env["DESCENT_LAB_KERNEL_DIR"] + "/")
    assert not env["NUMBA_CACHE_DIR"].startswith("/app")
    # Requirements are installed before the code is copied, so code changes keep the dependency layer.
    copies = [rest for w, rest in instructions if w == "COPY"]
    assert copies[0].split()[0] == "requirements.txt"
    first_pip = next(i for i, (w, rest) in enumerate(instructions) if w == "RUN" and "pip install" in rest)
    code_copy = next(i for i, (w, rest) in enumerate(instructions) if w == "COPY" and rest.startswith(". "))
    assert first_pip < code_copy
    assert dockerfile_pip_installs() == [["pip", "install", "--no-cache-dir", "-r", "requirements.txt"]]
    # plotly.js (the full bundle and the pinned partial ones) goes into the served static/ folder, after
    # the code is copied (ui/assets.py does it) and strictly: an image without them would be slower.
    assets_run = next(i for i, (w, rest) in enumerate(instructions)
                      if w == "RUN" and "python -m ui.assets --static /app/static --strict" in rest)
    assert assets_run > code_copy
    user = [rest for w, rest in instructions if w == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert words.index("USER") > code_copy
    assert ("EXPOSE", "8501") in instructions
    # Healthy = ready: the launcher's warm-up done and /_stcore/health answering (loadtest.warmup --check).
    assert any(w == "HEALTHCHECK" and '"loadtest.warmup", "--check"' in rest for w, rest in instructions)
    assert dockerfile_cmd() == [
        "python",
        "-m",
        "loadtest.serve",
        "--server.address=0.0.0.0",
        "--server.port=8501",
    ]


# --- .dockerignore --------------------------------------------------------------------------------------


def dockerignore_rules(path: Path = ROOT / ".dockerignore") -> list[tuple[bool, re.Pattern]]:
    """(negated, regex) per line, with Docker's meaning: `*` and `?` stay within one path segment, `**`
    spans segments, and a pattern that matches a directory excludes everything under it."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = pattern.strip("/")
        if pattern.startswith("./"):
            pattern = pattern[2:]
        rx, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                rx, i = rx + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                rx, i = rx + ".*", i + 2
            else:
                c = pattern[i]
                rx += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
                i += 1
        rules.append((negated, re.compile(rx + r"(?:/.*)?\Z")))
    return rules


def is_dockerignored(relpath: str, rules=None) -> bool:
    rules = dockerignore_rules() if rules is None else rules
    excluded = False
    for negated, rx in rules:
        if rx.match(relpath):
            excluded = not negated
    return excluded


def build_context_files(root: Path = ROOT) -> list[str]:
    """The files `docker build .` would send: the tree under `root` minus what .dockerignore excludes."""
    rules = dockerignore_rules(root / ".dockerignore")
    can_prune = not any(negated for negated, _ in rules)
    kept = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        if can_prune:
            dirnames[:] = [d for d in dirnames if not is_dockerignored(rel_dir + d, rules)]
        kept += [rel_dir + f for f in filenames if not is_dockerignored(rel_dir + f, rules)]
    return sorted(kept)


@pytest.mark.parametrize(
    "path", [".venv/bin/python", ".git/HEAD", "tests/conftest.py", "tests/test_deploy.py",
             "surfaces/__pycache__/base.cpython-311.pyc", ".pytest_cache/README.md", ".hypothesis/x",
             "deploy/nginx.conf", ".ci/run", "bench/x.py",
             # plotly.js copies: the image makes its own /app/static (also stray ones a tool left anywhere)
             "static/plotly.min.js", "static/plotly-gl3d.min.js", "pages/static/plotly.min.js",
             "static/.plotly.min.js.123.tmp"],
)  # fmt: skip
def test_dockerignore_excludes(path):
    assert is_dockerignored(path)


@pytest.mark.parametrize(
    "path", ["app.py", "requirements.txt", ".streamlit/config.toml", "pages/race.py", "surfaces/__init__.py",
             "surfaces/base.py", "ui/player/load-plotly.js",
             "loadtest/warmup.py", "loadtest/protocol.py", "loadtest/serve.py"],  # the warm start
)  # fmt: skip
def test_dockerignore_keeps_what_the_app_needs(path):
    assert not is_dockerignored(path)


# --- .streamlit/config.toml -----------------------------------------------------------------------------


def test_config_file_values():
    data = tomllib.loads(CONFIG.read_text())
    for key, expected in EXPECTED_OPTIONS.items():
        section, name = key.split(".")
        assert data.get(section, {}).get(name) == expected, key


def test_streamlit_reads_the_config_file():
    """Ask Streamlit itself, from the repo root as `streamlit run` would: every option in the file must be
    a known option (a typo would be ignored silently), and each expected value must come from the file."""
    file_keys = [f"{s}.{k}" for s, opts in tomllib.loads(CONFIG.read_text()).items() for k in opts]
    script = (
        "import json, sys\n"
        "from streamlit import config\n"
        "config.get_config_options(force_reparse=True)\n"
        "out = {}\n"
        "for key in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        out[key] = [config.get_option(key), config.get_where_defined(key)]\n"
        "    except Exception as exc:\n"
        "        out[key] = ['ERROR', repr(exc)]\n"
        "print(json.dumps(out))\n"
    )
    keys = sorted(set(file_keys) | set(EXPECTED_OPTIONS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(keys)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    unknown = {k: v[1] for k, v in seen.items() if v[0] == "ERROR"}
    assert not unknown, f"options Streamlit does not know: {unknown}"
    for key, expected in EXPECTED_OPTIONS.items():
        value, where = seen[key]
        assert value == expected, key
        assert Path(where).resolve() == CONFIG.resolve(), f"{key} defined in {where}"


# --- compose.yaml and nginx.conf ------------------------------------------------------------------------


def test_compose_replicas_share_one_cookie_secret_behind_nginx():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    apps = sorted(name for name in services if name != "nginx")
    assert len(apps) == 3
    secrets = {services[a]["environment"]["STREAMLIT_SERVER_COOKIE_SECRET"] for a in apps}
    assert len(secrets) == 1 and next(iter(secrets)).startswith("${STREAMLIT_SERVER_COOKIE_SECRET")
    for a in apps:
        assert services[a]["restart"] == "unless-stopped"
        assert "healthcheck" in services[a]
    nginx = services["nginx"]
    assert nginx["restart"] == "unless-stopped" and "healthcheck" in nginx
    assert any(v.startswith("./deploy/nginx.conf:") for v in nginx["volumes"])
    assert set(nginx["depends_on"]) == set(apps)
    # nginx addresses each replica by its service name.
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream_servers = re.findall(r"^\s*server\s+([\w.-]+):8501\b", conf, re.M)
    assert sorted(upstream_servers) == apps


def test_nginx_conf_has_sticky_websocket_proxying():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())  # ignore comments
    for needle in (
        "hash $dl_route;",
        "add_header Set-Cookie $dl_route_cookie always;",
        "map $cookie_dl_route $dl_route",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "map $http_upgrade $connection_upgrade",
        "proxy_read_timeout 86400s;",
    ):
        assert needle in conf, needle


def test_nginx_accepts_the_config():
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx not installed (apt-get install nginx) — config syntax not checked")
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    # The documented rewrite for replicas on one host; compose service names would not resolve here.
    local = re.sub(r"server app(\d+):8501", r"server 127.0.0.1:850\1", conf)
    path = Path(f"/tmp/descent-lab-nginx-test-{os.getpid()}.conf")
    path.write_text(local)
    try:
        result = subprocess.run([nginx, "-t", "-c", str(path)], capture_output=True, text=True, timeout=60)
    finally:
        path.unlink(missing_ok=True)
    assert result.returncode == 0, result.stderr


# --- the Dockerfile re-enacted in a fresh virtual environment -------------------------------------------


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        assert proc.poll() is None, f"server exited ({proc.returncode}):\n{log.read_text()[-5000:]}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{url} did not answer ok within {timeout:.0f} s:\n{log.read_text()[-5000:]}")


@pytest.mark.slow
def test_dockerfile_install_and_cmd_in_a_fresh_venv(tmp_path):
    """What the image does, minus the image: a new venv gets the Dockerfile's pip install, the build
    context (as .dockerignore filters it) is copied, the Dockerfile's assets step puts plotly.js into
    static/, every page runs there (AppTest, so the pinned runtime requirements are enough), and the CMD
    starts a server whose health endpoint answers ok and which serves the three plotly.js files."""
    t0 = time.monotonic()
    app = tmp_path / "app"
    venv = tmp_path / "venv"
    for rel in build_context_files():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, app / rel)
    assert (app / "app.py").exists() and (app / ".streamlit" / "config.toml").exists()

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    vpy = venv / "bin" / "python"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "PIP_NO_CACHE", "VIRTUAL_ENV"))
    }
    env |= {k: v for k, v in dockerfile_env().items() if k != "PIP_NO_CACHE_DIR"}  # pip's cache may help here
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path / "nonexistent-home")  # the image's user has no home either
    for tokens in dockerfile_pip_installs():
        args = [t for t in tokens[2:] if t != "--no-cache-dir"]
        result = subprocess.run(
            [str(vpy), "-m", "pip", "install", "-q", *args],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    t_install = time.monotonic() - t0

    # The Dockerfile's assets step, as it is written there, into this app's static/ folder.
    assets = next(rest for w, rest in dockerfile_instructions() if w == "RUN" and "ui.assets" in rest)
    command = assets.split("&&")[0].split()
    swap = {"python": str(vpy), "/app/static": str(app / "static")}
    command = [swap.get(t, t) for t in command]
    result = subprocess.run(command, cwd=app, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # The Dockerfile's kernel step, as it is written there. The image compiles the kernels into
    # DESCENT_LAB_KERNEL_DIR at build time (minutes); here that directory is the one `make test` filled for
    # this checkout, so the step loads them from numba's disk cache in the fresh venv, and the pages below
    # use that cache as the image's do.
    from optimizers import compiled

    env["DESCENT_LAB_KERNEL_DIR"] = str(compiled.cache_dir())
    # numba's own cache as before the image's NUMBA_CACHE_DIR (a host path; tests/test_readonly_app.py runs
    # the app with that setting and a read-only app folder).
    env.pop("NUMBA_CACHE_DIR", None)
    warm = next(part.strip() for w, rest in dockerfile_instructions() if w == "RUN"
                for part in rest.split("&&") if "optimizers --warm" in part)
    result = subprocess.run([str(vpy) if t == "python" else t for t in warm.split()], cwd=app, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "kernels compiled or loaded" in result.stdout

    # Every page, run by Streamlit's AppTest in the fresh environment (no test dependencies there).
    # The pages app.py's navigation names (a file in pages/ that it doesn't name is not reachable).
    pages = sorted(set(re.findall(r"""st\.Page\(\s*["']([^"']+\.py)["']""", (app / "app.py").read_text())))
    check = (
        "import json, sys\n"
        "from streamlit import config\n"
        "from streamlit.testing.v1 import AppTest\n"
        "config.set_option('client.showErrorDetails', 'full')  # readable failures\n"
        "problems = {}\n"
        "for page in json.loads(sys.argv[1]) or [None]:\n"
        "    at = AppTest.from_file('app.py', default_timeout=120)\n"
        "    if page: at.switch_page(page)\n"
        "    at.run()\n"
        "    if at.exception:\n"
        "        problems[page or 'default'] = [e.message + '\\n' + '\\n'.join(e.stack_trace[-6:])\n"
        "                                       for e in at.exception]\n"
        "print(json.dumps(problems))\n"
    )
    result = subprocess.run(
        [str(vpy), "-c", check, json.dumps(pages)],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    assert not problems, "pages failed in the fresh environment:\n" + "\n".join(
        f"--- {page}:\n" + "\n".join(msgs) for page, msgs in problems.items()
    )

    cmd = dockerfile_cmd()
    port = free_port()
    cmd = [
        str(venv / "bin" / cmd[0]),
        *[f"--server.port={port}" if a.startswith("--server.port") else a for a in cmd[1:]],
    ]
    log = tmp_path / "server.log"
    t1 = time.monotonic()
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            cmd, cwd=app, env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc, log, timeout=90)
        t_health = time.monotonic() - t1
        for name in ("plotly.min.js", "plotly-cartesian.min.js", "plotly-gl3d.min.js"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/app/static/{name}", timeout=10) as resp:
                assert resp.status == 200 and len(resp.read()) > 1_000_000, name
    finally:
        stop_process(proc)
    print(
        f"\nfresh venv: install {t_install:.1f} s, health ok {t_health:.1f} s after start, "
        f"total {time.monotonic() - t0:.1f} s"
    )


def test_nginx_keeps_each_browser_on_one_replica_by_its_route_cookie(tmp_path):
    """deploy/nginx.conf in a real nginx before two stand-in replicas (each answers with its own name): a
    browser without the cookie gets one; with it, every request reaches the same replica; many browsers
    (all from one address, as a class behind one school router) spread over both replicas."""
    import http.server
    import threading

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx not installed (apt-get install nginx)")
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        import replicas
    finally:
        sys.path.remove(str(ROOT / "deploy"))

    class Named(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = str(self.server.server_port).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    stand_ins = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Named) for _ in range(2)]
    for s in stand_ins:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp_path.chmod(0o755)
    listen = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(replicas.render_nginx_conf([s.server_port for s in stand_ins], listen, tmp_path))
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def get(cookie: str | None = None) -> tuple[str, str | None]:
        request = urllib.request.Request(f"http://127.0.0.1:{listen}/")
        if cookie:
            request.add_header("Cookie", cookie)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode(), response.headers.get("Set-Cookie")

    try:
        for _ in range(100):
            try:
                get()
                break
            except OSError:
                time.sleep(0.05)
        cookies, first_replicas = [], set()
        for _ in range(40):
            replica, set_cookie = get()
            assert set_cookie and set_cookie.startswith("dl_route=") and "HttpOnly" in set_cookie
            cookies.append(set_cookie.split(";", 1)[0])
            first_replicas.add(replica)
        routed = {}
        for cookie in cookies:
            seen = {get(cookie) for _ in range(5)}
            assert len(seen) == 1, seen  # always the same replica, and no new cookie
            (replica, again), = seen
            assert again is None
            routed[cookie] = replica
        assert set(routed.values()) == {str(s.server_port) for s in stand_ins}  # both replicas serve
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for s in stand_ins:
            s.shutdown()
