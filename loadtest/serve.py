"""Start Descent Lab warm: ``streamlit run app.py``, then the warm-up against it, then "ready".

    python -m loadtest.serve --server.address=0.0.0.0 --server.port=8501   # the image's CMD
    python -m loadtest.serve --deadline 300 --ready-file /tmp/ready -- --server.port 8502

Every argument it does not know goes to ``streamlit run app.py`` as it is (``--`` ends its own options).
The server starts at once and answers ``/_stcore/health`` (liveness) within seconds; meanwhile
``loadtest.warmup`` opens every page and races every optimizer on every catalogue surface over
Streamlit's protocol, which fills the process-wide caches a first visitor would otherwise wait for
(imports, compiled surfaces, presets, background pictures, kernels from numba's disk cache, Streamlit's
compiled page scripts), and then writes the ready file that ``python -m loadtest.warmup --check`` (the
readiness probe of the image, compose and Kubernetes) looks for. A server whose warm-up fails keeps
running but never becomes ready (the log says why).

The server is this process's child: SIGTERM, SIGINT and SIGHUP are passed on to it, the ready file goes
when it exits, and this process exits with its status. The port and address for the warm-up come from
the Streamlit options given here (``--server.port``, ``--server.address``, ``--server.baseUrlPath``) or
their ``STREAMLIT_SERVER_*`` variables, else Streamlit's defaults; the repo's config.toml sets neither.
It imports only the standard library until the warm-up starts.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

from loadtest import warmup

APP = Path(__file__).resolve().parent.parent / "app.py"
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def option(args: list[str], name: str, environ, default: str) -> str:
    """A Streamlit option as ``streamlit run`` would see it: the last ``--name value`` or ``--name=value``
    in ``args`` (flags beat variables), else the ``STREAMLIT_*`` variable, else ``default``."""
    found = None
    for i, arg in enumerate(args):
        if arg == f"--{name}" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(f"--{name}="):
            found = arg.split("=", 1)[1]
    if found is not None:
        return found
    section, _, key = name.partition(".")
    variable = "STREAMLIT_" + section.upper() + "_" + "".join(
        f"_{c}" if c.isupper() else c.upper() for c in key)
    return environ.get(variable) or default


def local_url(args: list[str], environ=None) -> str:
    """The URL at which this machine reaches the server started with ``args``."""
    environ = os.environ if environ is None else environ
    port = option(args, "server.port", environ, "8501")
    host = option(args, "server.address", environ, "").strip()
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"  # listening everywhere: the loopback is one of them
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    base = option(args, "server.baseUrlPath", environ, "").strip("/")
    return f"http://{host}:{int(port)}" + (f"/{quote(base)}" if base else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.serve", description=__doc__.split("\n\n")[0],
                                     epilog="Other arguments go to `streamlit run app.py`.")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help=f"default: ${warmup.READY_ENV}, else {warmup.READY_DIR}/ready-<port>")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds from the start within which the server must be warm (else never ready)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, streamlit_args = build_parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if streamlit_args[:1] == ["--"]:
        streamlit_args = streamlit_args[1:]
    url = local_url(streamlit_args)
    ready = args.ready_file or warmup.ready_file(url)
    ready.unlink(missing_ok=True)  # a file left by an earlier start must not make this one look ready
    child = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), *streamlit_args],
                             cwd=APP.parent)

    def forward(signum, _frame) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)

    def log(message: str) -> None:
        print(f"warm-up: {message}", flush=True)

    def warm() -> None:
        log(f"warming {url} up; ready file {ready}")
        if not warmup.run(url, ready, args.deadline, log=log, alive=lambda: child.poll() is None):
            log("the server stays NOT READY (its readiness check fails); see above")

    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    try:
        status = child.wait()
    finally:
        ready.unlink(missing_ok=True)
    return 128 - status if status < 0 else status  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(main())
