"""Static files the app serves itself, so a classroom without internet still gets its charts.

``server.enableStaticServing = true`` serves the folder ``static/`` next to the entry script at
``app/static/...``; the race player loads ``app/static/plotly.min.js`` from there, never from a CDN.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

import plotly

REPO_ROOT = Path(__file__).resolve().parent.parent
PLOTLY_JS_NAME = "plotly.min.js"

_LOGGER = logging.getLogger(__name__)


def plotly_js_source() -> Path:
    """The plotly.js bundle shipped inside the installed plotly package (same version plotly.py writes)."""
    return Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_JS_NAME


def ensure_plotly_js(static_dir: Path | str | None = None) -> Path:
    """Copy plotly.js into ``<static_dir>/plotly.min.js`` (default ``<repo>/static``) unless it is there.

    "There" means a file of the same size as the installed bundle. The copy goes through a temporary file
    and an atomic rename, so a visitor never receives half a file. A read-only directory is not an error
    when the file already exists (for example baked into a container image); the path is returned as is.
    """
    folder = Path(static_dir) if static_dir is not None else REPO_ROOT / "static"
    target = folder / PLOTLY_JS_NAME
    source = plotly_js_source()
    try:
        if target.stat().st_size == source.stat().st_size:
            return target
    except OSError:
        pass
    tmp = folder / f".{PLOTLY_JS_NAME}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if target.is_file():
            _LOGGER.warning("Could not refresh %s (%s); serving the existing file.", target, exc)
            return target
        raise
    return target
