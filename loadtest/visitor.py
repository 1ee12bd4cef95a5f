"""Virtual visitors: what one student does with the shared link, as a sequence of runs.

Kinds (``KINDS``):

``race``
    opens the teacher's link (``RACE_QUERY``: Beale, seven optimizers, 500 steps), then ``reruns`` times
    changes a setting after a pause to think (steps, surface, speed, view, a learning rate, the start —
    each a new query string, as every control lives in the URL). Runs are recorded as ``race.open`` and
    ``race.rerun``.
``atlas``
    opens the Atlas page with a 128 × 128 basin map of four optimizers (its own surface and settings, so
    nothing comes from the cache) and asks for another map after each one. A "busy, try again" answer is
    counted (``busy``) and retried after ``busy_wait`` seconds, as a visitor pressing "Try again" would.
``custom``
    types a formula of its own on the Custom-surface page (a fresh one per run: the sandbox parses it, the
    presets are tuned, the race runs).
``formula``
    "everyone, try your own function now": opens the Custom-surface page with a formula no other visitor
    types (``own_formula``), then ``reruns`` times types another one of its own after a pause. Never
    retries: a "busy" answer, an error, the default surface instead of the visitor's formula, or a page
    without the race player fails the visitor (``check_own_formula``). Runs are recorded as ``formula``.
``hammer``
    the student who keeps clicking: bursts of rerun requests 0.1 s apart without waiting for the runs,
    then one measured run once the server has settled.

With ``Settings.reconnect`` a visitor behaves like a browser whose server went away: when its WebSocket
closes it connects again (through the same URL: behind nginx that reaches a live replica) and reloads the
URL the page wrote last. That run must draw the same race as before (the same digest of the results table
and the player's data), since every control lives in the URL; the interrupted setting change is then
asked again. Each such episode is a ``Reconnect``. With ``Settings.sources`` visitor *i* connects from
the loopback address 127.0.*i*.1, so nginx's ``ip_hash`` spreads one machine's visitors over the replicas.

Heavy kinds (atlas, custom) keep going while the light visitors (race, hammer) are still running — up to
``heavy_max_runs`` runs — so the heavy load spans the whole measurement.

A visitor *fails* when a run times out, ends with anything but success, or its connection breaks. The
exception boxes (``st.exception`` elements) it saw are counted separately.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote

from loadtest.protocol import Connection, RunResult

KINDS = ("race", "atlas", "custom", "hammer", "formula")
LIGHT_KINDS = ("race", "hammer", "formula")
RACE_OPTIMIZERS = "sgd,momentum,nag,adagrad,adadelta,rmsprop,adam"
RACE_QUERY = f"surface=beale&optimizers={RACE_OPTIMIZERS}&steps=500"
RACE_URL = f"/?{RACE_QUERY}"
RACE_SURFACES = ("beale", "rosenbrock", "himmelblau", "booth", "six_hump_camel", "goldstein_price",
                 "rastrigin", "ackley")
ATLAS_SURFACES = ("himmelblau", "booth", "rosenbrock", "beale", "six_hump_camel", "matyas",
                  "goldstein_price", "two_minima")
ATLAS_OPTIMIZERS = "sgd,momentum,rmsprop,adam"


@dataclass
class Settings:
    base_url: str
    reruns: int = 3
    think: tuple[float, float] = (1.0, 3.0)  # seconds between a visitor's runs (uniform)
    run_timeout: float = 60.0  # one light run
    heavy_timeout: float = 240.0  # one atlas or custom run
    busy_wait: float = 2.0
    busy_retries: int = 30
    heavy_max_runs: int = 8
    atlas_grid: int = 128
    atlas_steps: int = 500
    seed: int = 0  # varies the settings between waves (caches are not hit by an earlier wave)
    reconnect: bool = False  # on a closed connection, reconnect and reload the last URL (see above)
    reconnect_tries: int = 40
    reconnect_backoff: float = 0.25  # seconds before the first retry; doubles up to 2 s
    sources: bool = False  # connect from 127.0.<index>.1 (distinct clients for ip_hash)


@dataclass
class Sample:
    kind: str  # race.open, race.rerun, atlas, custom, hammer
    seconds: float
    status: str
    busy: bool = False
    exceptions: list[str] = field(default_factory=list)
    start: float = 0.0  # loop time at which the run was requested
    digest: str = ""
    query: str | None = None
    bytes: int = 0  # what the server sent for this run (WebSocket messages)
    asked: str | None = None  # the query string the visitor asked for (``query`` is what the page wrote)

    def other_race(self) -> bool:
        """Whether the page wrote back another race than the one asked for, i.e. the visitor was shown
        someone else's result: the race's identity (``IDENTITY``) must be written back as asked, every
        other parameter asked for as asked or not at all (the page leaves out a default, such as seed=0)."""
        if self.status != "ok" or self.asked is None or self.query is None:
            return False
        asked, shown = parse_qs(self.asked), parse_qs(self.query)
        return any(not _same(values, shown.get(key)) for key, values in asked.items()
                   if key in IDENTITY or key in shown)


IDENTITY = ("surface", "expr", "optimizers", "steps")  # a page always writes these back


def _same(asked: list[str], shown: list[str] | None) -> bool:
    if shown == asked:
        return True
    try:  # numbers as the page writes them back ("2.0" asked, "2" written)
        return shown is not None and [float(v) for v in asked] == [float(v) for v in shown]
    except ValueError:
        return False


@dataclass
class Reconnect:
    """One lost connection and its recovery (loop times, as ``Sample.start``)."""

    lost_at: float  # when the visitor noticed (a run broke off, or the socket closed while it thought)
    connected_at: float | None = None  # new WebSocket open
    restored_at: float | None = None  # the reload of the last URL finished
    tries: int = 0
    query: str | None = None  # the URL reloaded
    digest_before: str = ""
    digest_after: str = ""
    status: str = "lost"

    @property
    def same_race(self) -> bool:
        return bool(self.digest_before) and self.digest_before == self.digest_after


@dataclass
class VisitorResult:
    kind: str
    index: int
    samples: list[Sample] = field(default_factory=list)
    failure: str | None = None
    exceptions: list[str] = field(default_factory=list)
    busy: int = 0
    last_query: str | None = None  # the URL the page wrote last (what a reload would open)
    last_digest: str = ""
    source: str | None = None
    reconnects: list[Reconnect] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.failure is not None


class LightTracker:
    """Counts running light visitors so heavy ones know when to stop."""

    def __init__(self, light: int):
        self.remaining = light
        self.done = asyncio.Event()
        if light == 0:
            self.done.set()

    def finish(self) -> None:
        self.remaining -= 1
        if self.remaining <= 0:
            self.done.set()


# --- the URLs each kind opens -------------------------------------------------------------------------
def race_variant(rng: random.Random) -> str:
    """Another setting of the race, as a query string (what a widget change writes into the URL)."""
    surface = rng.choice(RACE_SURFACES)
    steps = rng.choice((200, 300, 400, 500))
    query = f"surface={surface}&optimizers={RACE_OPTIMIZERS}&steps={steps}"
    change = rng.randrange(4)
    if change == 1:
        query += f"&speed={rng.choice((0.5, 2, 4))}"
    elif change == 2:
        query += "&view=contour"
    elif change == 3:
        query += f"&noise={rng.choice((0.1, 0.2, 0.5))}&seed={rng.randrange(100)}"
    return query


def atlas_query(index: int, run: int, settings: Settings) -> str:
    surface = ATLAS_SURFACES[(index + settings.seed) % len(ATLAS_SURFACES)]
    # A different number of steps per visitor, run and wave: every map is computed, never cached.
    steps = settings.atlas_steps - ((index * 7 + run * 3 + settings.seed * 11) % 97)
    return (f"surface={surface}&grid={settings.atlas_grid}&steps={steps}"
            f"&optimizers={ATLAS_OPTIMIZERS}")


def custom_formula(index: int, run: int, seed: int) -> str:
    a = 1 + (index * 13 + run * 5 + seed * 17) % 29
    b = 1 + (index * 7 + run * 11 + seed * 3) % 19
    return f"x^2 + {a}*(y - {b / 10:g})^2 + sin({b / 5:g}*x)/{a}"


def custom_query(index: int, run: int, seed: int) -> str:
    return "expr=" + quote(custom_formula(index, run, seed), safe="")


def own_formula(index: int, run: int, seed: int) -> str:
    """A formula that differs for every visitor, run and seed (so no cache can answer it), of the kind a
    student types: a bowl, a tilt and a ripple."""
    k = index + 1000 * run + 100_000 * seed
    a, b, c = 1 + k % 7, 1 + (k // 7) % 9, 1 + (k // 63) % 11
    return f"{a}*x^2 + (y - {b / 10:g})^2 + sin({c / 4:g}*x + {k % 1000}/1000)/{a}"


def check_own_formula(run: RunResult, formula: str) -> str | None:
    """Why this run is not a race on ``formula`` (None when it is): refused as busy, an error or
    warning, the default surface, no race player, or a URL that lost the formula."""
    if run.busy:
        return "answered busy"
    for fmt, body in run.alerts:
        if fmt in ("error", "warning") or "default surface" in body:
            return f"{fmt}: {body[:120]}"
    if not run.elements.get("bidi_component"):
        return "no race player"
    if parse_qs(run.query_string or "").get("expr") != [formula]:
        return f"the URL lost the formula ({run.query_string!r})"
    return None


# --- visitors ------------------------------------------------------------------------------------------
def _record(result: VisitorResult, kind: str, run: RunResult, started: float,
            lost_ok: bool = False, asked: str | None = None) -> Sample:
    sample = Sample(kind, run.seconds, run.status, run.busy, list(run.exceptions), started, run.race_digest,
                    run.query_string, run.bytes, asked)
    result.samples.append(sample)
    result.exceptions.extend(run.exceptions)
    if run.ok and run.query_string is not None:
        result.last_query = run.query_string
    if run.ok:
        result.last_digest = run.race_digest
    if not run.ok and result.failure is None and not (lost_ok and run.status == "closed"):
        result.failure = f"{kind} run {run.status} after {run.seconds:.1f} s"
    missing = [body for fmt, body in run.alerts if fmt == "page_not_found"]
    if missing and result.failure is None:
        result.failure = f"{kind}: page not found ({missing[0]!r})"
    shown = check_race_shown(run) if kind.startswith("race.") and run.ok else None
    if shown and result.failure is None:
        result.failure = f"{kind}: {shown}"
    return sample


def check_race_shown(run: RunResult) -> str | None:
    """Why a finished race run did not show a race (None when it did): "busy", an error box, or no race
    player (a page that ran without error but showed no race is a failure too: the visitor asked for one)."""
    if run.busy:
        return None  # counted on its own (busy answers)
    errors = [body for fmt, body in run.alerts if fmt == "error"]
    if errors:
        return f"error: {errors[0][:120]}"
    if not run.players:
        return "no race player"
    return None


class Tab:
    """A browser tab: its connection, which it renews like a browser when the server goes away."""

    def __init__(self, result: VisitorResult, settings: Settings):
        self.result = result
        self.settings = settings
        self.conn: Connection | None = None
        self.loop = asyncio.get_running_loop()

    async def open(self) -> None:
        self.conn = await Connection.open(self.settings.base_url, timeout=self.settings.run_timeout,
                                          source=self.result.source)

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def run(self, kind: str, query: str, page: str, timeout: float) -> RunResult:
        t = self.loop.time()
        run = await self.conn.run(query, page, timeout)
        if run.status == "closed" and self.settings.reconnect:
            _record(self.result, "lost", run, t, lost_ok=True)
            await self.recover()
            if self.result.failed:
                return run
            t = self.loop.time()
            run = await self.conn.run(query, page, timeout)
        _record(self.result, kind, run, t, asked=query)
        return run

    async def think(self, rng: random.Random) -> None:
        lo, hi = self.settings.think
        delay = rng.uniform(lo, hi)
        if not self.settings.reconnect:
            await asyncio.sleep(delay)
            return
        try:  # a browser notices a closed socket at once, not at its next click
            await asyncio.wait_for(asyncio.shield(self.conn.ws.wait_closed()), delay)
        except TimeoutError:
            return
        await self.recover()

    async def recover(self) -> None:
        """Reconnect (backing off like the browser) and reload the URL the page wrote last."""
        page = self.conn.page_name
        episode = Reconnect(lost_at=self.loop.time(), query=self.result.last_query,
                            digest_before=self.result.last_digest)
        self.result.reconnects.append(episode)
        await self.conn.close()
        wait = self.settings.reconnect_backoff
        for attempt in range(1, self.settings.reconnect_tries + 1):
            episode.tries = attempt
            try:
                self.conn = await Connection.open(self.settings.base_url, page, timeout=10.0,
                                                  source=self.result.source)
                break
            except Exception:  # noqa: BLE001 - refused, reset, 502 from nginx: try again
                await asyncio.sleep(wait)
                wait = min(2.0, wait * 2)
        else:
            episode.status = "no connection"
            self.result.failure = self.result.failure or f"no connection after {episode.tries} tries"
            return
        episode.connected_at = self.loop.time()
        if episode.query is None:  # lost before the first run finished: nothing to restore
            episode.status = "reconnected"
            return
        t = self.loop.time()
        run = await self.conn.run(episode.query, page, self.settings.run_timeout)
        _record(self.result, "restore", run, t)
        episode.restored_at = self.loop.time()
        episode.digest_after = run.race_digest if run.ok else ""
        episode.status = "restored" if run.ok else f"restore {run.status}"
        if run.ok and not episode.same_race:
            self.result.failure = self.result.failure or "the reloaded URL drew a different race"


async def _race(tab: Tab, result: VisitorResult, rng, settings: Settings) -> None:
    await tab.run("race.open", RACE_QUERY, "", settings.run_timeout)
    for _ in range(settings.reruns):
        if result.failed:
            return
        await tab.think(rng)
        if result.failed:
            return
        await tab.run("race.rerun", race_variant(rng), "", settings.run_timeout)


async def _heavy_run(tab: Tab, result: VisitorResult, kind: str, page: str, query: str,
                     settings: Settings) -> None:
    for _ in range(settings.busy_retries + 1):
        run = await tab.run(kind, query, page, settings.heavy_timeout)
        if not (run.ok and run.busy):
            return
        result.busy += 1
        await asyncio.sleep(settings.busy_wait)
    result.failure = result.failure or f"{kind}: still busy after {settings.busy_retries} tries"


async def _heavy(tab: Tab, result: VisitorResult, rng, settings: Settings, tracker: LightTracker,
                 kind: str) -> None:
    runs = 0
    while not result.failed:
        if kind == "atlas":
            query = atlas_query(result.index, runs, settings)
        else:
            query = custom_query(result.index, runs, settings.seed)
        await _heavy_run(tab, result, kind, kind, query, settings)
        runs += 1
        if runs >= settings.heavy_max_runs or (runs > settings.reruns and tracker.done.is_set()):
            return
        await tab.think(rng)


async def _formula(tab: Tab, result: VisitorResult, rng, settings: Settings) -> None:
    for attempt in range(settings.reruns + 1):
        if attempt:
            await tab.think(rng)
        formula = own_formula(result.index, attempt, settings.seed)
        run = await tab.run("formula", "expr=" + quote(formula, safe=""), "custom", settings.heavy_timeout)
        problem = check_own_formula(run, formula) if run.ok else None
        if problem is not None:
            result.failure = result.failure or f"formula {formula!r}: {problem}"
        if result.failed:
            return


async def _hammer(tab: Tab, result: VisitorResult, rng, settings: Settings) -> None:
    await tab.run("race.open", RACE_QUERY, "", settings.run_timeout)
    for burst in range(settings.reruns):
        if result.failed:
            return
        for click in range(10):  # ten clicks, 0.1 s apart, without waiting for the runs
            await tab.conn.request(f"{RACE_QUERY}&speed={(0.5, 1, 2, 4)[(burst + click) % 4]}")
            await asyncio.sleep(0.1)
        result.exceptions.extend(await tab.conn.drain(quiet=1.0, timeout=settings.run_timeout))
        await tab.run("hammer", race_variant(rng), "", settings.run_timeout)


def source_address(index: int) -> str:
    """127.0.<n>.<m> for visitor ``index``: nginx's ip_hash keys on the first three octets of IPv4."""
    return f"127.0.{index % 250 + 1}.{index // 250 % 250 + 1}"


def visitor_rng(seed: int, kind: str, index: int) -> random.Random:
    """Visitor ``index``'s own random choices: the same in every process. Seeded by a string, not by
    ``hash()``: a tuple with a str in it hashes differently in every process, so the crowd's visitors asked
    for other races on every invocation of the same benchmark."""
    return random.Random(f"{seed}/{kind}/{index}")


async def visit(kind: str, index: int, settings: Settings, tracker: LightTracker,
                start_delay: float = 0.0) -> VisitorResult:
    """One visitor from opening the link to closing the tab."""
    result = VisitorResult(kind, index, source=source_address(index) if settings.sources else None)
    rng = visitor_rng(settings.seed, kind, index)
    await asyncio.sleep(start_delay)
    tab = Tab(result, settings)
    try:
        await tab.open()
        if kind == "race":
            await _race(tab, result, rng, settings)
        elif kind == "hammer":
            await _hammer(tab, result, rng, settings)
        elif kind == "formula":
            await _formula(tab, result, rng, settings)
        elif kind in ("atlas", "custom"):
            await _heavy(tab, result, rng, settings, tracker, kind)
        else:
            raise ValueError(f"unknown visitor kind {kind!r}")
    except Exception as exc:  # noqa: BLE001 - any failure of a visitor is reported, not raised
        result.failure = result.failure or f"{exc.__class__.__name__}: {exc}"
    finally:
        if kind in LIGHT_KINDS:
            tracker.finish()
        await tab.close()
    return result
