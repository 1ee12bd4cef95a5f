"""The race player: a Streamlit components-v2 element that animates optimizer paths in the browser.

Python hands the browser everything once, through the component's ``data``: the two background figures
(``figures.background``), each optimizer's whole path as base64 float32 arrays, and the loss charts. The
browser then plays the race itself (the ES modules in ``ui/player/``, joined by ``ui.bundle``):
``Plotly.newPlot`` once per picture, then per frame only the trails and head markers move (plotly's own
SVG trail paths in 2-D, its WebGL line objects in 3-D; one real ``Plotly.restyle`` when the visitor pauses
or seeks). Nothing travels per frame, so the 2-D chart keeps 30+ fps and the 3-D camera is never reset.

Nothing travels twice either (``browser_payload``). Streamlit resends an element's whole data, and its
script, with every rerun; so the component's script is only a small loader (``ui/player_loader.js``), and
the player's code, its stylesheet and every typed array of the data go as content-addressed chunks of
text that the browser window keeps. Python remembers per session which chunks it sent (``SentChunks``) and
sends only the hashes of those again: changing the steps of the 10 x 1000 Beale race sends the new tails
of the paths and series, not the ~1 MB of backgrounds, charts and code (``bench/bench_animation.py
--app``). A chunk the window lost comes back through the loader's ``missing`` trigger.

plotly.js comes from the app's own ``static/`` folder (``server.enableStaticServing``), loaded once per
page (or reused, when the page already has a ``window.Plotly``): plotly's cartesian bundle for the contour
and the loss charts, then its gl3d bundle for the 3-D view (``ui.assets``). ``standalone_html`` inlines
the full plotly.js and the full data instead, for an offline download.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import plotly.offline
import streamlit as st

from figures.background import typed_array
from figures.palette import color_for
from ui.assets import PLOTLY_JS_NAME, player_sources, serve_plotly_package
from ui.bundle import bundle

_HERE = Path(__file__).resolve().parent
PLAYER_JS = bundle()  # ui/player/*.js joined into one script; defines mountRace
PLAYER_CSS = (_HERE / "animation.css").read_text(encoding="utf-8")
# The player as the ES module the loader imports (its code travels as a chunk of the data, see above).
PLAYER_MODULE = PLAYER_JS + "\nexport default mountRace;\n"
LOADER_JS = (_HERE / "player_loader.js").read_text(encoding="utf-8") + "\nexport default dlLoad;\n"
COMPONENT_NAME = "descent_lab_race_player"
OVERLAY_KEYS = ("px", "py", "gx", "gy", "dx", "dy")  # see lab.overlays
STANDALONE_CSS = """
body { margin: 1rem 1.5rem; background: #ffffff; }
h1 { font: 600 1.5rem system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; }
.dl-about { font: 0.95rem system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  margin: 0.2rem 0; }
"""

_LOGGER = logging.getLogger(__name__)

# isolate_styles=False: plotly.js styles its modebar and hover labels from a stylesheet it adds to
# document.head, which would not reach into a shadow root. The player's CSS (scoped under .dl-race) is
# added to the document by the loader, once per window, rather than sent as css= with every rerun.
_race_component = st.components.v2.component(
    COMPONENT_NAME,
    js=LOADER_JS,
    isolate_styles=False,
)


def encode_array(values: Any) -> dict:
    """A 1-D array as ``{"dtype": "f4", "bdata": <base64>}``: what plotly.js and the player decode.

    Non-finite values (and finite ones beyond float32's range) become NaN: gaps in a trail, never JSON
    errors. ``None`` becomes an empty array.
    """
    arr = np.asarray([] if values is None else values, dtype=np.float64).ravel()
    with np.errstate(over="ignore", invalid="ignore"):
        f32 = arr.astype("<f4")
    f32[~np.isfinite(f32)] = np.nan
    return typed_array(f32, "f4")


def decode_array(encoded: Mapping | Iterable) -> np.ndarray:
    """Inverse of ``encode_array`` (also accepts plotly's f8 typed arrays and plain lists)."""
    if isinstance(encoded, Mapping):
        dtype = np.dtype(str(encoded.get("dtype", "f4"))).newbyteorder("<")
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=dtype).astype(np.float64)
    return np.array([np.nan if v is None else v for v in encoded], dtype=np.float64)


def path_payload(
    name: str,
    slug: str,
    color: str | None,
    points: np.ndarray,
    values: np.ndarray | None,
    diverged_at: int | None,
    note: str = "",
    overlay: Mapping | None = None,
    dash: str = "solid",
    escaped_at: int | None = None,
) -> dict:
    """One optimizer's path, ready for ``race_animation``.

    ``points`` has shape (N, 2): the start and one point per step; ``values`` has shape (N,) with f at
    those points (the 3-D trail height). ``diverged_at`` is the step where the run blew up, or None; a
    diverged path gets the note "<name> diverged at step <n>" unless ``note`` says otherwise. ``color``
    None means the optimizer's fixed palette colour. ``overlay`` (optional, only when an overlay is
    shown) maps ``px py gx gy dx dy`` to per-step arrays (``lab.overlays.overlay_arrays``). ``dash`` is
    the trail's plotly line style (the high-contrast option dashes some, ``figures.palette.line_dash``).
    ``escaped_at``: the step where the run left the picture downhill on a surface without a minimum
    (``lab.race.outcome``): no ✕, and its note ("Adam escaped at step 16") appears from that step on.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    vals = np.full(len(pts), np.nan) if values is None else np.asarray(values, dtype=np.float64).ravel()
    if diverged_at is not None:
        diverged_at = int(diverged_at)
    if not note and diverged_at is not None:
        note = f"{name} diverged at step {diverged_at}"
    out = {
        "name": str(name),
        "slug": str(slug),
        "color": str(color or color_for(slug)),
        "x": encode_array(pts[:, 0]),
        "y": encode_array(pts[:, 1]),
        "z": encode_array(vals),
        "diverged_at": diverged_at,
        "note": str(note),
    }
    if escaped_at is not None:
        out["escaped_at"] = int(escaped_at)
    if dash != "solid":
        out["dash"] = str(dash)
    if overlay is not None:
        out["overlay"] = {k: encode_array(overlay.get(k)) for k in OVERLAY_KEYS}
    return out


def encode_paths(runs: Iterable[Mapping]) -> list[dict]:
    """``path_payload`` for many runs given as mappings.

    Each mapping has ``name``, ``points`` and ``values``; optionally ``slug`` (default: the lower-cased
    name), ``color``, ``diverged_at`` and ``note``.
    """
    out = []
    for run in runs:
        name = str(run["name"])
        slug = str(run.get("slug") or name.strip().lower())
        out.append(
            path_payload(
                name,
                slug,
                run.get("color"),
                run["points"],
                run.get("values"),
                run.get("diverged_at"),
                run.get("note", ""),
            )
        )
    return out


def _normalize_path(path: Mapping) -> dict:
    """Accept path dicts with raw arrays too, so a caller cannot send a 10 MB JSON list by accident."""
    out = dict(path)
    for axis in ("x", "y", "z"):
        value = out.get(axis)
        if not (isinstance(value, Mapping) and "bdata" in value):
            out[axis] = encode_array(value)
    name = str(out.get("name", ""))
    out["name"] = name
    out["slug"] = str(out.get("slug") or name.strip().lower())
    out["color"] = str(out.get("color") or color_for(out["slug"]))
    diverged = out.get("diverged_at")
    out["diverged_at"] = None if diverged is None else int(diverged)
    if out.get("escaped_at") is not None:
        out["escaped_at"] = int(out["escaped_at"])
    out["note"] = str(out.get("note") or "")
    return out


def race_data(*args, **kwargs) -> dict:
    """The exact ``data`` the player receives (also what tests inspect; AppTest runs no JavaScript); the
    arguments are ``_race_parts``'s.

    ``overlays`` names the drawn overlays (gradient, step, lookahead, effective; the paths then carry
    ``overlay`` arrays), ``gradient_scale`` the one factor applied to every gradient arrow, ``step_scale`` the
    one magnification of every step arrow and |Δx| × |Δy| box (1: true size), ``clickable``
    whether a click on the contour reports a new start. ``charts`` are drawn under the pictures with a
    cursor at the shown step: each ``{"kind": .., "figure": figure_payload(..)}`` (x axis: the step) or
    ``{"kind": .., "note": "why there is no chart"}``. ``present`` (``ui.present.player_options``) switches
    the player to the presenter view: ``title``, ``contrast`` (bool), and the race's ``url`` with its QR
    matrix ``qr`` (``{"size": n, "rows": ["0101…", …]}``). ``links`` (``ui.race.player_links``) adds the
    "Copy link" button (``copy``: true) and "Explain this step" (``explain``: the explainer's address
    ``base`` and one query string per path, ``queries``; the player adds the step).
    """
    return _race_parts(*args, **kwargs)[0]


def _race_parts(
    contour: dict,
    surface3d: dict | None,
    paths: list[dict],
    *,
    steps: int,
    height: int = 560,
    speed: float = 1.0,
    overlays: Iterable[str] = (),
    gradient_scale: float | None = None,
    step_scale: float | None = None,
    clickable: bool = False,
    charts: Iterable[Mapping] = (),
    present: Mapping | None = None,
    links: Mapping | None = None,
) -> tuple[dict, dict, dict[str, str]]:
    """``race_data``, its reference form (``browser_payload``'s, before ``sent``: every long typed array
    as its chunks' names) and every chunk (name -> text). One walk over the data serves both the race's
    id and the transport (they were two walks, ~3 % of a run's server time under a crowd)."""
    norm = [_normalize_path(p) for p in paths]
    plotly_src, plotly_3d_src = player_sources()
    data = {
        "contour": contour,
        "surface3d": surface3d,
        "paths": norm,
        "steps": max(1, int(steps)),
        "height": int(height),
        "speed": float(speed),
        "plotly_src": plotly_src,  # the first picture and the charts
        "plotly_3d_src": plotly_3d_src,  # fetched after the first picture, for the 3-D view
    }
    chart_list = [_chart_entry(c) for c in charts]
    if chart_list:
        data["charts"] = chart_list
    overlays = [str(o) for o in overlays]
    if overlays:
        data["overlays"] = overlays
        data["gradient_scale"] = float(gradient_scale or 1.0)
        data["step_scale"] = float(step_scale or 1.0)
    if clickable:
        data["clickable"] = True
    if present is not None:
        data["present"] = _present_entry(present)
    if links is not None:
        data["links"] = _links_entry(links, len(norm))
    # Lets the browser tell "same race again" (a rerun: keep playing, at most with a new speed) from "new
    # race" (rebuild).
    # The presenter view's link and QR code carry the speed too (the URL does): a new speed is no new race.
    # Hashed in its reference form (every long typed array as its chunks' names, which the transport needs
    # anyway and remembers): the same identity as the whole data's, at a fraction of the JSON to write.
    skeleton, chunks = _refer_arrays(data, None, {})
    identity = {k: v for k, v in skeleton.items() if k not in ("speed", "speed_seq")}
    if "present" in identity:
        identity["present"] = {k: v for k, v in identity["present"].items() if k not in ("url", "qr")}
    data["id"] = skeleton["id"] = hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(),
                                                  digest_size=12).hexdigest()
    return data, skeleton, chunks


# A race's data, its reference form and its chunks, kept for the inputs of the last few races: a rerun
# that hands over the same shared objects (the Race page's caches return the same background, path and
# chart objects for the same race) skips the walk over the data and the hash of its identity (~4 % of a
# run's server time under a crowd). Entries hold their inputs, so an input's id cannot be reused while its
# entry lives, and a hit needs every input to be the very object seen before.
_PARTS_LIMIT = 16
_parts_memo: OrderedDict[tuple, tuple[tuple, tuple[dict, dict, dict[str, str]]]] = OrderedDict()
_parts_lock = threading.Lock()


def _shared_parts(contour: dict, surface3d: dict | None, paths: list[dict], *, charts: tuple,
                  present: Mapping | None, links: Mapping | None, **scalars: Any
                  ) -> tuple[dict, dict, dict[str, str]]:
    """``_race_parts`` at speed 1, from the memo when these very inputs were seen (``scalars``: its other
    keyword arguments, hashable). The results are shared: copy a dict before changing it."""
    inputs = (contour, surface3d, paths, charts, present, links)
    key = (*(id(x) for x in inputs), *sorted(scalars.items()))
    with _parts_lock:
        found = _parts_memo.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], inputs, strict=True)):
            _parts_memo.move_to_end(key)
            return found[1]
    parts = _race_parts(contour, surface3d, paths, charts=charts, present=present, links=links, **scalars)
    with _parts_lock:
        _parts_memo[key] = (inputs, parts)
        while len(_parts_memo) > _PARTS_LIMIT:
            _parts_memo.popitem(last=False)
    return parts


def _present_entry(present: Mapping) -> dict:
    entry: dict[str, Any] = {"title": str(present.get("title") or ""),
                             "contrast": bool(present.get("contrast"))}
    qr = present.get("qr")
    if qr is not None:
        rows = [str(r) for r in qr["rows"]]
        if any(set(r) - {"0", "1"} or len(r) != len(rows) for r in rows):
            raise ValueError("a QR matrix is square rows of 0 and 1")
        entry["qr"] = {"size": len(rows), "rows": rows}
        entry["url"] = str(present.get("url") or "")
    return entry


def _links_entry(links: Mapping, n_paths: int) -> dict:
    entry: dict[str, Any] = {"copy": bool(links.get("copy"))}
    explain = links.get("explain")
    if explain is not None:
        queries = [str(q) for q in explain["queries"]]
        if len(queries) != n_paths:
            raise ValueError("one explainer query per path")
        entry["explain"] = {"base": str(explain["base"]), "queries": queries}
    return entry


def _chart_entry(chart: Mapping) -> dict:
    entry = {"kind": str(chart.get("kind", ""))}
    if chart.get("figure") is not None:
        entry["figure"] = chart["figure"]
    else:
        entry["note"] = str(chart.get("note") or "")
    return entry


# --- transport: what the browser window already has is sent as its hash -------------------------------
# base64 characters per chunk: 768 bytes. A cut after whole 4-character groups (3 bytes) makes the base64 of
# a longer array begin with the same chunks as that of a shorter one with the same first bytes.
CHUNK_CHARS = 1024
MIN_CHUNKED = 256  # shorter typed arrays travel inline: their reference would save next to nothing
# Characters of chunks a session counts as sent, least recently used forgotten first (forgetting one only
# means sending it again): about four races of 10 x 1000 steps with their pictures, and at most ~0.8 MB of
# server memory per session. The window keeps twice as much (DL_STORE_LIMIT in ui/player_loader.js).
SENT_LIMIT = 4_000_000
SENT_KEY = "descent_lab.player_chunks"  # the session's SentChunks in st.session_state
MAX_MISSING = 50_000  # a longer "missing" report is not the loader's: forget everything instead
_HASH = re.compile(r"[A-Za-z0-9_-]{16}")


def chunk_hash(text: str) -> str:
    """The name of a chunk: 96 bits of BLAKE2b, URL-safe base64 (16 characters)."""
    return base64.urlsafe_b64encode(hashlib.blake2b(text.encode(), digest_size=12).digest()).decode("ascii")


# A typed array's text -> its chunks ((name, text), ...). The backgrounds and the paths of a race seen before
# come back as the same string objects (the Race page's caches are shared resources; an equal string from a
# copy hits too), so a rerun cuts and hashes only what is new. Bounded by characters: ~2 races' worth.
_CHUNKS_LIMIT = 8_000_000
_chunk_memo: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
_chunk_memo_size = [0]
_chunk_lock = threading.Lock()


def _chunks_of(bdata: str) -> tuple[tuple[str, str], ...]:
    with _chunk_lock:
        found = _chunk_memo.get(bdata)
        if found is not None:
            _chunk_memo.move_to_end(bdata)
            return found
    pieces = tuple((chunk_hash(p), p) for p in (bdata[i:i + CHUNK_CHARS] for i in range(0, len(bdata),
                                                                                         CHUNK_CHARS)))
    with _chunk_lock:
        if bdata not in _chunk_memo:
            _chunk_memo[bdata] = pieces
            _chunk_memo_size[0] += len(bdata)
            while _chunk_memo_size[0] > _CHUNKS_LIMIT and len(_chunk_memo) > 1:
                _chunk_memo_size[0] -= len(_chunk_memo.popitem(last=False)[0])
    return pieces


_LEAVES = frozenset((str, int, float, bool, type(None)))


def _refer_arrays(value: Any, sent: SentChunks | None, new: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """``value`` with every typed array of ``MIN_CHUNKED`` characters or more as ``{"dtype", ["shape",]
    "chunks": [name, ...]}``; ``new`` collects the chunks that are not in ``sent`` (all, without ``sent``)."""

    # Plain dicts and lists only (what race_data builds): an abstract Mapping check on every leaf was half
    # of this walk's time.
    def walk(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            bdata = value.get("bdata")
            if bdata is not None and type(bdata) is str and len(bdata) >= MIN_CHUNKED \
                    and type(value.get("dtype")) is str:
                out = {k: v for k, v in value.items() if k != "bdata"}
                out["chunks"] = _refer(_chunks_of(bdata), sent, new)
                return out
            return {k: v if type(v) in _LEAVES else walk(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [v if type(v) in _LEAVES else walk(v) for v in value]
        if isinstance(value, Mapping):  # anything else dict-like, as a dict
            return walk(dict(value))
        return value

    return walk(value), new


def _refer(pieces: Iterable[tuple[str, str]], sent: SentChunks | None, new: dict[str, str]) -> list[str]:
    hashes = []
    for hash_, text in pieces:
        if hash_ not in new and (sent is None or hash_ not in sent):
            new[hash_] = text
        hashes.append(hash_)
    return hashes


# The player's code and stylesheet, each one chunk (hashed once per process).
_PLAYER_CHUNKS = {kind: (chunk_hash(text), text)
                  for kind, text in (("js", PLAYER_MODULE), ("css", PLAYER_CSS))}


class SentChunks:
    """The chunks one browser session was sent: hash -> length, least recently used first, at most ``limit``
    characters in all. ``h in sent`` counts as a use."""

    def __init__(self, limit: int = SENT_LIMIT):
        self.limit = int(limit)
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self.size = 0

    def __contains__(self, hash_: object) -> bool:
        if hash_ not in self._sizes:
            return False
        self._sizes.move_to_end(hash_)
        return True

    def __len__(self) -> int:
        return len(self._sizes)

    def add(self, chunks: Mapping[str, str]) -> None:
        for hash_, text in chunks.items():
            self.size += len(text) - self._sizes.pop(hash_, 0)
            self._sizes[hash_] = len(text)
        while self.size > self.limit and self._sizes:
            self.size -= self._sizes.popitem(last=False)[1]

    def forget(self, hashes: Iterable[str]) -> None:
        for hash_ in hashes:
            self.size -= self._sizes.pop(hash_, 0)

    def clear(self) -> None:
        self._sizes.clear()
        self.size = 0


def browser_payload(data: Mapping, sent: SentChunks | None) -> tuple[dict, dict[str, str]]:
    """``data`` (``race_data``) as the loader receives it, and the chunks it carries (hash -> text).

    The player's code and stylesheet become references (``player``: ``{"js": {"chunks": [h]}, "css":
    ..}``). With ``sent`` (a browser session's record), every typed array of ``MIN_CHUNKED`` characters or
    more becomes ``{"dtype", ["shape",] "chunks": [h, ...]}`` (its base64 cut every ``CHUNK_CHARS``
    characters, so a longer race shares all but the last chunk of each array with a shorter one, and equal
    arrays share all), and ``blobs`` carries the chunks that are not in ``sent``. Without ``sent`` the
    arrays stay whole. ``data`` and ``sent`` are not changed: add the returned chunks to ``sent`` once the
    element went out (``race_animation``). ``ui/player_loader.js`` undoes this.
    """
    if sent is None:
        return _payload(dict(data), {}, None)
    return _payload(*_refer_arrays(data, None, {}), sent)


def _payload(skeleton: dict, chunks: Mapping[str, str],
             sent: SentChunks | None) -> tuple[dict, dict[str, str]]:
    """``browser_payload`` from the data's reference form and all its chunks (``_refer_arrays`` without
    ``sent``): the chunks ``sent`` lacks go along."""
    new = {h: text for h, text in chunks.items() if sent is None or h not in sent}
    payload = dict(skeleton)
    payload["player"] = {kind: {"chunks": _refer([chunk], sent, new)}
                         for kind, chunk in _PLAYER_CHUNKS.items()}
    payload["blobs"] = new
    return payload, new


def _session_chunks() -> SentChunks | None:
    """This session's record of sent chunks, or None when no browser is connected (AppTest, which runs no
    JavaScript, has no request headers): there is no window to keep chunks, so the data goes whole."""
    if not st.context.headers:
        return None
    sent = st.session_state.get(SENT_KEY)
    if not isinstance(sent, SentChunks):
        sent = st.session_state[SENT_KEY] = SentChunks()
    return sent


def _forget_missing(key: str) -> None:
    """The loader's ``missing`` trigger: the window lacks chunks this session sent (evicted, or their rerun
    was superseded before it was drawn). Forget them, so the rerun this trigger causes sends them again;
    forget everything when the report is not a list of chunk names."""
    sent = st.session_state.get(SENT_KEY)
    if not isinstance(sent, SentChunks):
        return
    value = st.session_state.get(key)
    missing = value.get("missing") if isinstance(value, Mapping) else None
    if (isinstance(missing, list) and len(missing) <= MAX_MISSING
            and all(isinstance(h, str) and _HASH.fullmatch(h) for h in missing)):
        sent.forget(missing)
    else:
        sent.clear()


@lru_cache(maxsize=8)
def _provision_static(main_script_path: str) -> None:
    """Once per process and app: the server can hand out plotly.js. Writes nothing (the app's directory
    may be read-only): ``make assets`` and the Dockerfile put the bundles into ``static/``; without them
    the player loads the plotly package's own file through a component route (``ui.assets``)."""
    if not st.get_option("server.enableStaticServing"):
        _LOGGER.warning("server.enableStaticServing is off: the race player cannot load plotly.js.")
    serve_plotly_package()
    served = Path(main_script_path).resolve().parent / "static" / PLOTLY_JS_NAME
    if not served.is_file():
        _LOGGER.warning("%s is missing (`make assets` puts it there): the race player loads plotly.js "
                        "from the plotly package instead.", served)


def _noop() -> None:
    """The component reports ``step`` on pause and seek; a callback makes it a declared state key."""


def player_speed(value: object) -> tuple[float | None, int]:
    """The speed the player last reported in its state ``value`` and that report's number (0: none yet).

    The player numbers its speed changes; the number comes back in the next race data (``speed_seq``), so
    the player can tell a rerun that already knows its latest change from one that started before it.
    """
    report = value.get("speed") if isinstance(value, Mapping) else None
    if not isinstance(report, Mapping):
        return None, 0
    speed, seq = report.get("speed"), report.get("seq")
    speed = float(speed) if isinstance(speed, (int, float)) and not isinstance(speed, bool) else None
    seq = int(seq) if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else 0
    return speed, seq


def race_animation(
    contour: dict,
    surface3d: dict | None,
    paths: list[dict],
    *,
    steps: int,
    key: str,
    height: int = 560,
    speed: float = 1.0,
    overlays: Iterable[str] = (),
    gradient_scale: float | None = None,
    step_scale: float | None = None,
    on_start: Callable[[], None] | None = None,
    charts: Iterable[Mapping] = (),
    present: Mapping | None = None,
    links: Mapping | None = None,
    on_speed: Callable[[], None] | None = None,
    shared: bool = False,
) -> None:
    """Show the race player: contour (and 3-D, if given) pictures with a Play/Pause clock.

    ``contour`` and ``surface3d`` come from ``figures.background.figure_payload``; ``paths`` from
    ``path_payload``/``encode_paths``. The step the visitor paused or scrubbed to is available as
    ``st.session_state[key]["step"]`` after that rerun. With ``on_start``, a click on the contour sends
    the trigger ``start`` (``{"x": .., "y": ..}``, readable as ``st.session_state[key]["start"]`` inside
    that callback, which runs before the script). ``charts``, ``present`` and ``links``: see
    ``race_data``. ``on_speed`` runs when the visitor changes the player's speed (read it as
    ``st.session_state[key]["speed"]``), so the page's own speed setting can follow. ``shared``: the
    inputs are shared objects that come back as the same objects for the same race (the Race page's
    caches), so the walk over the data is kept for them (``_shared_parts``); inputs built anew on every
    run would only fill that memo.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and ctx.main_script_path:
        _provision_static(ctx.main_script_path)
    data, skeleton, chunks = (_shared_parts if shared else _race_parts)(
        contour, surface3d, paths, steps=steps, height=height, overlays=tuple(overlays),
        gradient_scale=gradient_scale, step_scale=step_scale, clickable=on_start is not None,
        charts=tuple(charts), present=present, links=links)
    # The parts may be shared (the memo's): the speed goes into copies.
    speeds = {"speed": float(speed), "speed_seq": player_speed(st.session_state.get(key))[1]}
    data, skeleton = {**data, **speeds}, {**skeleton, **speeds}
    sent = _session_chunks()
    # browser_payload(data, sent), without walking the data a second time.
    payload, new = _payload(skeleton, chunks, sent) if sent is not None else browser_payload(data, None)
    callbacks = {"on_step_change": _noop, "on_speed_change": on_speed or _noop,
                 "on_missing_change": lambda: _forget_missing(key)}
    if on_start is not None:
        callbacks["on_start_change"] = on_start
    # As bytes (encode_data): Streamlit forwards bytes as they are and names them by one MD5, where a
    # dict would be written as JSON twice more (its element identity, then the message): ~10 ms a run.
    _race_component(key=key, data=encode_data(payload), height="content", **callbacks)
    if sent is not None:
        # Only now: a run interrupted inside the call above (a newer rerun) sent nothing.
        sent.add(new)


def encode_data(payload: Mapping) -> bytes:
    """The player's data as the component receives it (``ui/player_loader.js``'s ``dlDecode`` and
    ``decode_data`` undo it): the payload as one line of compact JSON (ASCII), without the chunks that are
    one line of ASCII text (base64: nearly all of them), which follow it one per line, in the order of the
    head's ``raw`` list. JSON would scan every character of them (~5 ms a first visit, a tenth of a run's
    server time under a crowd); a line is copied as it is. Compact JSON has no raw line break."""
    blobs = payload.get("blobs")
    if not isinstance(blobs, Mapping) or not blobs:
        return json.dumps(payload, separators=(",", ":")).encode("ascii")
    raw = {name: text for name, text in blobs.items()
           if type(text) is str and text.isascii() and "\n" not in text and "\r" not in text}
    head = dict(payload)
    head["blobs"] = {name: text for name, text in blobs.items() if name not in raw}
    head["raw"] = list(raw)
    return "\n".join([json.dumps(head, separators=(",", ":")), *raw.values()]).encode("ascii")


def decode_data(data: bytes) -> dict:
    """What ``encode_data`` made, as the payload again (for tests; the load generator reads only the first
    line, which holds the race's id, without importing the app)."""
    head, *lines = data.decode("ascii").split("\n")
    payload = json.loads(head)
    names = payload.pop("raw", [])
    if len(names) != len(lines):
        raise ValueError(f"{len(names)} chunk names for {len(lines)} lines")
    if names:
        payload["blobs"].update(zip(names, lines, strict=True))
    return payload


def element_data(proto: Any) -> dict:
    """The data of a race player element (its ``BidiComponent`` message) as a dict: for tests and the load
    generator, which read what the browser would receive."""
    if proto.WhichOneof("data") == "bytes":
        return decode_data(proto.bytes)
    return json.loads(proto.json)


def _script_safe(text: str) -> str:
    """Text that cannot end the inline <script> element it sits in."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def standalone_html(
    contour: dict,
    surface3d: dict | None,
    paths: list[dict],
    steps: int,
    title: str,
    charts: Iterable[Mapping] = (),
    lines: Iterable[str] = (),
) -> str:
    """One self-contained HTML file that plays the race offline: plotly.js and the same player inlined.
    ``lines`` (the formula, the settings) are shown under the title as escaped text."""
    data = race_data(contour, surface3d, paths, steps=steps, charts=charts)
    data_json = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    safe_title = html.escape(str(title))
    mount = (
        "mountRace({data: JSON.parse(document.getElementById('race-data').textContent),"
        " parentElement: document.getElementById('race'),"
        " setStateValue: function () {}, setTriggerValue: function () {}});"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{safe_title}</title>",
            f"<style>{STANDALONE_CSS}\n{PLAYER_CSS}</style>",
            f"<script>{_script_safe(plotly.offline.get_plotlyjs())}</script>",
            "</head>",
            "<body>",
            f"<h1>{safe_title}</h1>",
            *(f'<p class="dl-about">{html.escape(str(line))}</p>' for line in lines),
            '<div id="race"></div>',
            f'<script id="race-data" type="application/json">{data_json}</script>',
            f"<script>\n{_script_safe(PLAYER_JS)}\n{mount}\n</script>",
            "</body>",
            "</html>",
        ]
    )
