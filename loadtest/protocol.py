"""Streamlit's browser protocol, just enough to be a visitor without a browser.

A browser tab holds one WebSocket at ``/_stcore/stream``. The handshake offers the subprotocol list
``streamlit[, xsrf token[, previous session id]]`` (the first entry is the one the server selects) and
sends an ``Origin`` header that must match ``Host`` (Streamlit refuses other origins). Then:

* the browser asks for a run with ``BackMsg.rerun_script`` = a ``ClientState``: the URL's
  ``query_string`` (without ``?``), ``page_name`` (the URL path below the app, e.g. ``custom``; empty for
  the default page) and ``page_script_hash`` (empty on the first run, then the hash the server announced
  in ``new_session``), its widget states and ``context_info`` (time zone, locale, URL);
* the server answers with ``ForwardMsg``s: ``new_session`` (run id, page hash), ``page_info_changed``
  (the query string the script wrote with ``st.query_params``), ``delta``s (elements and blocks; an
  ``st.exception`` box is ``delta.new_element.exception``), ``session_event`` (a compile error) and finally
  ``script_finished`` (tagged with the run id). With ``st.navigation`` the ``navigation`` message names the
  page that ran (``page_script_hash``) and lists every page's hash and URL path; the browser sends the
  current page's hash with each rerun, and a page's hash when it moves to that page.

Every control of the app lives in the URL, so a widget change is simulated by a new run of another query
string (the page reads the URL when it differs from the one it wrote), with no widget states.

``Connection.run(query)`` measures one run: from sending the rerun request to the ``script_finished``
message of that run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

STREAM_PATH = "_stcore/stream"
SUBPROTOCOL = "streamlit"
MAX_MESSAGE = 64 << 20  # bytes; a race with ten 5000-step paths is a few MB
FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "ok",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile_error",
    ForwardMsg.FINISHED_EARLY_FOR_RERUN: "early_for_rerun",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment_ok",
}
BUSY_WORDS = ("busy", "try again in a moment")


def stream_url(base_url: str) -> str:
    """``http://host:port[/base]`` -> ``ws://host:port[/base]/_stcore/stream``."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    return f"{scheme}://{parts.netloc}{path}/{STREAM_PATH}"


def origin_of(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def split_page_url(url: str) -> tuple[str, str]:
    """``/custom?expr=x`` or ``http://h/custom?expr=x`` -> (page_name, query_string)."""
    parts = urlsplit(url)
    return parts.path.strip("/"), parts.query


def rerun_request(query_string: str, page_name: str = "", page_script_hash: str = "",
                  url: str = "") -> bytes:
    """A serialized ``BackMsg`` asking for a run of ``/page_name?query_string``, as the browser sends it."""
    msg = BackMsg()
    state = msg.rerun_script
    state.query_string = query_string
    state.page_name = page_name
    state.page_script_hash = page_script_hash
    state.widget_states.SetInParent()
    info = state.context_info
    info.timezone = "UTC"
    info.timezone_offset = 0
    info.locale = "en-US"
    info.url = url
    info.color_scheme = "light"
    return msg.SerializeToString()


def heartbeat() -> bytes:
    msg = BackMsg()
    msg.app_heartbeat = True
    return msg.SerializeToString()


def parse(data: bytes) -> ForwardMsg:
    msg = ForwardMsg()
    msg.ParseFromString(data)
    return msg


@dataclass
class RunResult:
    """What one run sent: its status, timing and what a visitor would have seen."""

    status: str  # ok, compile_error, timeout, closed, ... (see FINISHED)
    seconds: float
    messages: int = 0
    bytes: int = 0
    deltas: int = 0
    exceptions: list[str] = field(default_factory=list)  # st.exception boxes (type: message)
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (format, body) of st.error/warning/...
    query_string: str | None = None  # what the script wrote into the URL (page_info_changed)
    page_script_hash: str = ""
    elements: dict[str, int] = field(default_factory=dict)  # element type -> count
    content: dict[str, str] = field(default_factory=dict)  # digests of what defines a race, see below
    players: int = 0  # race player elements whose data names a race (an "id"), see _element_content

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def busy(self) -> bool:
        return any(any(w in body.lower() for w in BUSY_WORDS) for _, body in self.alerts)

    @property
    def race_digest(self) -> str:
        """One digest of the race's output: the results table and the player's data."""
        parts = [f"{k}={v}" for k, v in sorted(self.content.items())]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


_RACE_ID = re.compile(rb"[0-9a-f]{24}")  # ui.animation.race_data's "id": blake2b, 12 bytes, as hex


def _element_content(kind: str, element) -> bytes | None:
    """The bytes that define what a race shows: tables (Arrow data) and the race player's data."""
    if kind == "dataframe":
        return element.dataframe.arrow_data.data if element.dataframe.HasField("arrow_data") else \
            element.dataframe.SerializeToString()
    if kind == "bidi_component":  # the player: its data, not its id or code
        comp = element.bidi_component
        # The race player's data travels as bytes: a line of JSON, then its chunks one per line
        # (ui.animation.encode_data); other components' as JSON. The first line holds the race's id.
        text = comp.bytes.decode("utf-8", "replace") if comp.WhichOneof("data") == "bytes" else comp.json
        text = text.split("\n", 1)[0]
        if '"blobs"' in text:
            # The race player's data refers to chunks this session already has (ui.animation.
            # browser_payload): the same race is references on a rerun, whole in a new session. Its "id"
            # is the race's identity either way.
            data = json.loads(text)
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                return data["id"].encode()
        return text.encode() + comp.arrow_data.SerializeToString() + \
            comp.mixed.SerializeToString()
    return None


class ProtocolError(RuntimeError):
    pass


class Connection:
    """One browser tab: a WebSocket to ``/_stcore/stream`` and the runs it asks for.

    ``conn = await Connection.open(base_url)``, ``await conn.run("surface=beale&steps=500")``, then
    ``await conn.close()``. Keeps what the browser keeps between runs: the current page's script hash.
    """

    def __init__(self, base_url: str, ws, page_name: str = ""):
        self.base_url = base_url.rstrip("/")
        self.ws = ws
        self.page_name = page_name
        self.page_script_hash = ""
        self.page_hashes: dict[str, str] = {}  # URL path -> page script hash (from ``navigation``)
        self.session_runs = 0
        self.closed_reason: str | None = None

    @classmethod
    async def open(cls, base_url: str, page_name: str = "", timeout: float = 30.0,
                   source: str | None = None) -> Connection:
        """Connect like a browser tab. ``source``: the local address to connect from (e.g. 127.0.7.1:
        nginx's ``ip_hash`` keys on the client address, so distinct sources reach distinct replicas)."""
        extra = {"local_addr": (source, 0)} if source else {}
        ws = await asyncio.wait_for(websockets.connect(
            stream_url(base_url),
            subprotocols=[SUBPROTOCOL],
            origin=origin_of(base_url),
            max_size=MAX_MESSAGE,
            open_timeout=timeout,
            ping_interval=20,
            ping_timeout=None,  # a busy server may answer pings late; the run timeout is the guard
            compression=None,  # a browser would offer permessage-deflate; Streamlit does not use it
            close_timeout=2,
            **extra,
        ), timeout)
        if ws.subprotocol != SUBPROTOCOL:
            await ws.close()
            raise ProtocolError(f"server selected subprotocol {ws.subprotocol!r}")
        return cls(base_url, ws, page_name)

    async def close(self) -> None:
        try:
            await self.ws.close()
        except Exception:  # noqa: BLE001 - closing a broken connection is best effort
            pass

    async def request(self, query_string: str, page_name: str | None = None) -> float:
        """Send a rerun request for ``/<page>?<query_string>``; returns the time it was sent."""
        if page_name is not None and page_name != self.page_name:
            self.page_name = page_name
            # Another page: its hash if the navigation told us, else the server finds it by its name.
            self.page_script_hash = self.page_hashes.get(page_name, "")
        url = f"{self.base_url}/{self.page_name}" + (f"?{query_string}" if query_string else "")
        start = time.perf_counter()
        await self.ws.send(rerun_request(query_string, self.page_name, self.page_script_hash, url))
        return start

    async def run(self, query_string: str, page_name: str | None = None, timeout: float = 60.0) -> RunResult:
        """Ask for a run of ``/<page>?<query_string>`` and wait for its ``script_finished``."""
        try:
            start = await self.request(query_string, page_name)
        except websockets.ConnectionClosed as exc:
            self.closed_reason = f"{exc.__class__.__name__}: {exc}"
            return RunResult(status="closed", seconds=0.0)
        result = RunResult(status="timeout", seconds=0.0)
        run_id: str | None = None
        deadline = start + timeout
        try:
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError
                msg, size = await self._receive(left)
                result.messages += 1
                result.bytes += size
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    run_id = msg.metadata.run.script_run_id or None
                elif kind == "navigation":
                    self._navigation(msg.navigation)
                    result.page_script_hash = self.page_script_hash
                elif kind == "script_finished":
                    this_run = msg.metadata.run.script_run_id or None
                    if run_id is not None and this_run is not None and this_run != run_id:
                        continue  # the end of an earlier run
                    status = FINISHED.get(msg.script_finished, str(msg.script_finished))
                    if status == "early_for_rerun":
                        continue  # superseded by our request; ours follows
                    result.status = status
                    break
                else:
                    _record_message(result, kind, msg)
        except TimeoutError:
            result.status = "timeout"
        except websockets.ConnectionClosed as exc:
            result.status = "closed"
            self.closed_reason = f"{exc.__class__.__name__}: {exc}"
        result.seconds = time.perf_counter() - start
        self.session_runs += 1
        return result

    async def drain(self, quiet: float = 1.0, timeout: float = 60.0) -> list[str]:
        """Read until the server has sent nothing for ``quiet`` seconds; the exceptions seen meanwhile."""
        seen = RunResult(status="drain", seconds=0.0)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                msg, _ = await self._receive(min(quiet, deadline - time.perf_counter()))
            except TimeoutError:
                break
            kind = msg.WhichOneof("type")
            if kind == "navigation":
                self._navigation(msg.navigation)
            elif kind not in ("new_session", "script_finished"):
                _record_message(seen, kind, msg)
        return seen.exceptions

    def _navigation(self, nav) -> None:
        for page in nav.app_pages:
            self.page_hashes[page.url_pathname] = page.page_script_hash
        if nav.page_script_hash:
            self.page_script_hash = nav.page_script_hash

    async def _receive(self, timeout: float) -> tuple[ForwardMsg, int]:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        if isinstance(data, str):
            raise ProtocolError("text frame from the server")
        return parse(data), len(data)

    async def heartbeat(self) -> None:
        await self.ws.send(heartbeat())


def _record_message(result: RunResult, kind: str | None, msg: ForwardMsg) -> None:
    if kind == "delta":
        result.deltas += 1
        _record_delta(result, msg.delta)
    elif kind == "page_info_changed":
        result.query_string = msg.page_info_changed.query_string
    elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
        exc = msg.session_event.script_compilation_exception
        result.exceptions.append(f"{exc.type}: {exc.message}")
    elif kind == "page_not_found":
        result.alerts.append(("page_not_found", msg.page_not_found.page_name))


def _record_delta(result: RunResult, delta) -> None:
    which = delta.WhichOneof("type")
    if which != "new_element":
        return
    element = delta.new_element
    kind = element.WhichOneof("type")
    if kind is None:
        return
    result.elements[kind] = result.elements.get(kind, 0) + 1
    if kind == "exception":
        result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
    elif kind == "alert":
        fmt = {1: "error", 2: "warning", 3: "info", 4: "success"}.get(element.alert.format, "alert")
        result.alerts.append((fmt, element.alert.body))
    content = _element_content(kind, element)
    if kind == "bidi_component" and content is not None and _RACE_ID.fullmatch(content):
        result.players += 1
    if content is not None:
        n = sum(1 for k in result.content if k.startswith(kind))
        result.content[f"{kind}#{n}"] = hashlib.sha256(content).hexdigest()[:16]
