"""Static files the app serves itself, so a classroom without internet still gets its charts.

``server.enableStaticServing = true`` serves the folder ``static/`` next to the entry script at
``app/static/...``. The race player loads plotly.js from there, never from a CDN:

- ``plotly-cartesian.min.js`` (1.5 MB: contour, scatter, the loss charts) draws the first picture;
- ``plotly-gl3d.min.js`` (1.75 MB: surface, scatter3d) follows for the 3-D view, after the first picture.

Both are plotly's own partial bundles of the same plotly.js version that the installed plotly package
ships, fetched once from the npm registry by ``make`` / the Dockerfile (``python -m ui.assets``) and
checked against the pinned sha512 below. Parsing 1.5 MB instead of 4.8 MB before the first chart is what
brings that chart under 3 s (bench/bench_animation.py). Without them (offline install, failed fetch) the
player falls back to ``plotly.min.js``, the full bundle copied out of the plotly package, for both.

The copy in ``static/`` is the pinned file with one line in front, V8's explicit compile hint
(``COMPILE_HINT``): Chromium then compiles every function of the bundle on a background thread while the
file streams in, instead of one by one on the page's main thread when plotly first calls them, which is
where the first chart waits. Measured in headless Chromium 156 on the 2-core machine: the cartesian
bundle's main-thread evaluation 250-380 ms instead of 440-630 ms (bench/bench_animation.py --timeline
shows it in a visit). Other browsers read a comment. ``has_bundle`` accepts only that hinted copy of the
pinned bytes; a plain copy left by an older checkout is hinted in place, without the network.

Everything is put into ``static/`` at build time only (``make assets``, the Dockerfile): a serving app
never writes into its own directory, which may be read-only (a container's root filesystem). When even
``static/plotly.min.js`` is missing, the player loads the plotly package's own file in place, through a
route Streamlit already has (``serve_plotly_package``: a files-only component whose folder is the
package's ``package_data``), so the page still works without anything written.

The browser tests' accessibility engine, axe-core, comes the same way (pinned version, npm's sha512, our
sha256), with ``--axe``, into ``tests/assets/`` (``make test``): it is never served to visitors.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import logging
import os
import shutil
import sys
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import plotly

REPO_ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = REPO_ROOT / "static"
PLOTLY_JS_NAME = "plotly.min.js"
STATIC_URL = "./app/static/"
# The plotly package's own data folder, served read-only by Streamlit's component route (see
# serve_plotly_package): the fallback when static/ was never provisioned.
PACKAGE_COMPONENT = "ui.assets.plotly_package"  # "<declaring module>.<name>", as Streamlit names it
PACKAGE_URL = f"./component/{PACKAGE_COMPONENT}/{PLOTLY_JS_NAME}"


# The version must equal the plotly.js inside the plotly package (tests/test_animation_data.py checks).
PARTIAL_VERSION = "4.1.1"


class Bundle(NamedTuple):
    """One script as published on npm (plotly's partial bundles, axe-core)."""

    file: str  # name in static/ and inside the tarball's package/ folder
    package: str  # npm package name
    integrity: str  # npm's sha512 of the tarball, as `npm view <package>@<version> dist.integrity`
    sha256: str  # of the extracted file: lets a later run tell a good copy in static/ from a damaged one
    version: str = PARTIAL_VERSION

CARTESIAN = Bundle("plotly-cartesian.min.js", "plotly.js-cartesian-dist-min",
                   "sha512-o8GrFeusncwBIxbBynRJpY4pkgVB6caM+JLpwrLYbbsO7dZ8FJ+SVN2Fr+L7kiG/Z6w4P5O0Jus/Qr5EefHVeg==",
                   "79542150855a52c567260e3137095dbe2b744e6d702a5cabe67da246942fba7a")
GL3D = Bundle("plotly-gl3d.min.js", "plotly.js-gl3d-dist-min",
              "sha512-HNdhOi/mVr29u6BbzJvz1kAjEzCxwfaZNLipjNCxg33JE3RmRHhPDUd0LCuQMDcRR5LLFFfaSMMdtOWl0bERZA==",
              "aab04dcd9c103a92b18723f8c837712fe820f325d0bcd2421e415e8124a75b9f")
PARTIAL_BUNDLES = (CARTESIAN, GL3D)
# V8's explicit compile hint (Chrome 136+): a magic comment on a script's first line that asks for every
# function to be compiled eagerly, during streaming, off the main thread. Put in front of the partial
# bundles in static/ (see the module docstring); the rest of the file stays the pinned bytes.
COMPILE_HINT = b"//# allFunctionsCalledOnLoad\n"
# axe-core, the accessibility engine of tests/test_a11y.py (test-only: fetched into tests/assets/).
AXE_CORE = Bundle("axe.min.js", "axe-core",
                  "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
                  "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c", "4.14.1")
TEST_ASSETS_DIR = REPO_ROOT / "tests" / "assets"
REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")

_LOGGER = logging.getLogger(__name__)


def plotly_js_source() -> Path:
    """The plotly.js bundle shipped inside the installed plotly package (same version plotly.py writes)."""
    return Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_JS_NAME


def _atomic_write(target: Path, fill: Callable[[Path], object]) -> None:
    """``fill`` writes a temporary file next to ``target``, which then replaces ``target`` in one rename,
    so a visitor never receives half a file; the temporary file never stays behind."""
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fill(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _atomic_copy(source: Path, target: Path) -> None:
    _atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))


def ensure_plotly_js(static_dir: Path | str | None = None) -> Path:
    """Copy plotly.js into ``<static_dir>/plotly.min.js`` (default ``<repo>/static``) unless it is there.

    "There" means a file of the same size as the installed bundle. The copy goes through a temporary file
    and an atomic rename, so a visitor never receives half a file. A read-only directory is not an error
    when the file already exists (for example baked into a container image); the path is returned as is.
    Partial bundles fetched into ``<repo>/static`` are copied along when ``static_dir`` is another folder.
    """
    folder = Path(static_dir) if static_dir is not None else STATIC_DIR
    target = folder / PLOTLY_JS_NAME
    source = plotly_js_source()
    _copy_partials(folder)
    try:
        if target.stat().st_size == source.stat().st_size:
            return target
    except OSError:
        pass
    try:
        _atomic_copy(source, target)
    except OSError as exc:
        if target.is_file():
            _LOGGER.warning("Could not refresh %s (%s); serving the existing file.", target, exc)
            return target
        raise
    return target


def _copy_partials(folder: Path) -> None:
    """Give another static folder (a demo app, a test) the partial bundles this checkout has."""
    if folder.resolve() == STATIC_DIR.resolve():
        return
    for bundle in PARTIAL_BUNDLES:
        source, target = STATIC_DIR / bundle.file, folder / bundle.file
        if source.is_file() and not (target.is_file() and target.stat().st_size == source.stat().st_size):
            with contextlib.suppress(OSError):
                _atomic_copy(source, target)


def player_sources(static_dir: Path | str | None = None) -> tuple[str, str]:
    """The URLs the player loads plotly.js from: (first picture and charts, 3-D view).

    The partial bundles when ``static_dir`` has them, otherwise the full bundle for both (one load): the
    copy in ``static_dir``, or, when the folder was never provisioned, the plotly package's own file
    (``PACKAGE_URL``, see ``serve_plotly_package``). Only reads the folder.
    """
    folder = Path(static_dir) if static_dir is not None else STATIC_DIR
    if all((folder / b.file).is_file() for b in PARTIAL_BUNDLES):
        return STATIC_URL + CARTESIAN.file, STATIC_URL + GL3D.file
    full = STATIC_URL + PLOTLY_JS_NAME if (folder / PLOTLY_JS_NAME).is_file() else PACKAGE_URL
    return full, full


def serve_plotly_package() -> str:
    """Let the running server answer ``PACKAGE_URL`` from the installed plotly package (read-only).

    A Streamlit component declared with a folder (``components.v1.declare_component(name, path=...)``)
    has its files served at ``/component/<module>.<name>/<file>``; here the folder is plotly's
    ``package_data`` (plotly.min.js, its templates and sample data: public files). Needs a script run
    (Streamlit registers components only then); returns the component's name.
    """
    from streamlit.components.v1 import declare_component

    component = declare_component("plotly_package", path=plotly_js_source().parent)
    if component.name != PACKAGE_COMPONENT:  # declared from this module, so this cannot differ
        raise RuntimeError(f"plotly package component named {component.name!r}, not {PACKAGE_COMPONENT!r}")
    return component.name


def _tarball_url(bundle: Bundle) -> str:
    name = bundle.package
    return f"{REGISTRY}/{name}/-/{name}-{bundle.version}.tgz"


def _check_integrity(blob: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, blob).digest()).decode("ascii")
    if actual != expected:
        raise ValueError(f"integrity mismatch: expected {integrity}, got {algorithm}-{actual}")


def extract_bundle(tarball: bytes, bundle: Bundle) -> bytes:
    """The bundle's .min.js out of its npm tarball, after checking the tarball against the pin."""
    _check_integrity(tarball, bundle.integrity)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.getmember(f"package/{bundle.file}")
        handle = tar.extractfile(member)
        if handle is None:
            raise ValueError(f"{bundle.file} is not a file in {bundle.package}")
        script = handle.read()
    if hashlib.sha256(script).hexdigest() != bundle.sha256:
        raise ValueError(f"{bundle.file} in {bundle.package} {bundle.version} is not the pinned file")
    return script


def served_bytes(bundle: Bundle, script: bytes) -> bytes:
    """What ``static/`` serves for a bundle: the pinned ``script`` itself (axe-core, never served to
    visitors) or, for plotly's partial bundles, with ``COMPILE_HINT`` in front."""
    return COMPILE_HINT + script if bundle in PARTIAL_BUNDLES else script


def _pinned(bundle: Bundle, blob: bytes) -> bool:
    return hashlib.sha256(blob).hexdigest() == bundle.sha256


def has_bundle(folder: Path, bundle: Bundle) -> bool:
    """Whether ``folder`` holds exactly the file to serve: the pinned bytes, hinted for a partial bundle (a
    damaged, unhinted or other version does not count)."""
    try:
        blob = (folder / bundle.file).read_bytes()
    except OSError:
        return False
    hint = served_bytes(bundle, b"")
    return blob.startswith(hint) and _pinned(bundle, blob[len(hint):])


def _fetch(bundle: Bundle, folder: Path, timeout: float) -> Path | None:
    """Download one pinned bundle into ``folder``; None when the good file is there already. A plain
    pinned copy (written before the compile hint) is hinted in place, without the network."""
    if has_bundle(folder, bundle):
        return None
    target = folder / bundle.file
    try:
        script = target.read_bytes()
    except OSError:
        script = b""
    if not _pinned(bundle, script):
        with urllib.request.urlopen(_tarball_url(bundle), timeout=timeout) as response:  # noqa: S310 (fixed https URL)
            script = extract_bundle(response.read(), bundle)
    served = served_bytes(bundle, script)
    _atomic_write(target, lambda tmp: tmp.write_bytes(served))
    return target


def fetch_partial_bundles(static_dir: Path | str | None = None, timeout: float = 60.0) -> list[Path]:
    """Download the pinned partial bundles into ``static_dir`` (skips those already there)."""
    folder = Path(static_dir) if static_dir is not None else STATIC_DIR
    return [path for bundle in PARTIAL_BUNDLES if (path := _fetch(bundle, folder, timeout)) is not None]


def axe_path(folder: Path | str | None = None) -> Path:
    return (Path(folder) if folder is not None else TEST_ASSETS_DIR) / AXE_CORE.file


def fetch_axe(folder: Path | str | None = None, timeout: float = 60.0) -> Path:
    """axe-core's ``axe.min.js`` (pinned) in ``folder`` (default ``tests/assets``), fetched when missing."""
    target_dir = Path(folder) if folder is not None else TEST_ASSETS_DIR
    _fetch(AXE_CORE, target_dir, timeout)
    return axe_path(target_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Put the plotly.js bundles the app serves into static/.")
    parser.add_argument("--static", type=Path, default=STATIC_DIR, help="target folder (default: ./static)")
    parser.add_argument("--strict", action="store_true",
                        help="fail when the partial bundles cannot be fetched")
    parser.add_argument("--axe", action="store_true",
                        help=f"also fetch axe-core {AXE_CORE.version} into tests/assets (browser tests)")
    args = parser.parse_args(argv)
    if args.axe:
        try:
            print(f"axe-core {AXE_CORE.version}: {fetch_axe()}")
        except (OSError, ValueError, KeyError, tarfile.TarError) as exc:
            print(f"WARNING: could not fetch axe-core ({exc}); tests/test_a11y.py will fail.",
                  file=sys.stderr)
            if args.strict:
                return 1
    print(f"plotly.js full bundle: {ensure_plotly_js(args.static)}")
    try:
        for path in fetch_partial_bundles(args.static):
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    except (OSError, ValueError, KeyError, tarfile.TarError) as exc:
        print(f"WARNING: could not fetch plotly's partial bundles ({exc}); the race player will load the "
              "full plotly.min.js instead (slower first chart).", file=sys.stderr)
        return 1 if args.strict else 0
    first, three_d = player_sources(args.static)
    print(f"race player loads {first} first, then {three_d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
