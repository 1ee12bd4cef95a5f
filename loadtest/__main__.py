"""Command line: many virtual visitors against a running Descent Lab, then a table of what they saw.

    python -m loadtest --url http://127.0.0.1:8501 --visitors 50 --reruns 3
    python -m loadtest --url http://127.0.0.1:8501 --visitors 50 --mix race=40,atlas=5,custom=5
    python -m loadtest --url http://127.0.0.1:8501 --visitors 50 --waves 10 --server-pid 1234

``--mix`` splits the visitors by kind (race, atlas, custom, hammer, formula; see ``loadtest.visitor``);
without it every visitor is a race visitor. Visitors start within ``--ramp`` seconds and pause ``--think``
seconds (a range) between their runs. With ``--waves N`` the whole crowd comes N times, one wave after the
other (new sessions each time, ``--pause`` seconds apart), and the server's memory is read after each wave.

The table gives, per kind of run, the count, p50/p95/max latency (from the rerun request to the run's
``script_finished``), the runs answered "busy", then the failed sessions, the exception boxes seen and
the server's resident memory (``--server-pid``, comma-separated for several, or the process listening on
the URL's port). The exit status is 1 when a session failed or an exception box was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from loadtest import server
from loadtest.visitor import KINDS, LIGHT_KINDS, LightTracker, Settings, VisitorResult, visit

MB = 1 << 20


def parse_mix(text: str | None, visitors: int) -> dict[str, int]:
    if not text:
        return {"race": visitors}
    mix: dict[str, int] = {}
    for part in text.split(","):
        name, _, count = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r} (choose from {', '.join(KINDS)})")
        mix[name] = mix.get(name, 0) + int(count)
    if sum(mix.values()) != visitors:
        raise ValueError(f"--mix adds up to {sum(mix.values())} visitors, --visitors says {visitors}")
    return mix


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass
class KindStats:
    runs: int
    busy: int
    not_ok: int
    p50: float
    p95: float
    max: float
    bytes: int = 0  # sent by the server for all these runs


@dataclass
class WaveReport:
    wave: int
    visitors: int
    seconds: float
    failed: int
    exceptions: int
    busy: int
    stats: dict[str, KindStats]
    memory: dict[int, dict] = field(default_factory=dict)  # pid -> {rss_mb, children_mb, processes}
    failures: list[str] = field(default_factory=list)
    exception_texts: list[str] = field(default_factory=list)  # the first few, "kind#index: Type: message"
    results: list[VisitorResult] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("results")
        return data


@dataclass
class LoadReport:
    url: str
    mix: dict[str, int]
    reruns: int
    waves: list[WaveReport]
    stats: dict[str, KindStats]  # all waves together
    memory_before: dict[int, dict]
    client_cpu_seconds: float
    seconds: float

    @property
    def failed(self) -> int:
        return sum(w.failed for w in self.waves)

    @property
    def exceptions(self) -> int:
        return sum(w.exceptions for w in self.waves)

    @property
    def busy(self) -> int:
        return sum(w.busy for w in self.waves)

    @property
    def other_races(self) -> int:
        """Race runs whose page wrote back another race than the one asked for (must be 0)."""
        return sum(s.other_race() for r in self.results if r.kind in ("race", "hammer") for s in r.samples
                   if s.kind.startswith(("race.", "hammer")))

    @property
    def results(self) -> list[VisitorResult]:
        return [r for w in self.waves for r in w.results]

    def as_dict(self) -> dict:
        return {"url": self.url, "mix": self.mix, "reruns": self.reruns, "seconds": self.seconds,
                "client_cpu_seconds": self.client_cpu_seconds, "failed": self.failed,
                "exceptions": self.exceptions, "busy": self.busy, "other_races": self.other_races,
                "stats": {k: asdict(v) for k, v in self.stats.items()},
                "memory_before": self.memory_before, "waves": [w.as_dict() for w in self.waves]}


def kind_stats(results: list[VisitorResult]) -> dict[str, KindStats]:
    by_kind: dict[str, list] = {}
    for r in results:
        for s in r.samples:
            by_kind.setdefault(s.kind, []).append(s)
    if "race.open" in by_kind or "race.rerun" in by_kind:
        by_kind["race (all)"] = by_kind.get("race.open", []) + by_kind.get("race.rerun", [])
    stats = {}
    for kind, samples in by_kind.items():
        # A busy answer is a quick, correct refusal: not a latency of the work itself.
        times = [s.seconds for s in samples if s.status == "ok" and not s.busy]
        stats[kind] = KindStats(len(samples), sum(s.busy for s in samples),
                                sum(s.status != "ok" for s in samples), percentile(times, 50),
                                percentile(times, 95), max(times, default=float("nan")),
                                sum(s.bytes for s in samples))
    return stats


def read_memory(pids: list[int]) -> dict[int, dict]:
    out = {}
    for pid in pids:
        m = server.memory(pid)
        out[pid] = {"rss_mb": round((m.rss or 0) / MB, 1), "children_mb": round(m.children / MB, 1),
                    "processes": m.processes}
    return out


async def run_wave(settings: Settings, mix: dict[str, int], ramp: float, wave: int) -> list[VisitorResult]:
    tracker = LightTracker(sum(n for k, n in mix.items() if k in LIGHT_KINDS))
    total = sum(mix.values())
    interleaved = _interleave(mix)  # heavy visitors arrive among the light ones, not all at the end
    tasks = []
    for i, kind in enumerate(interleaved):
        delay = ramp * i / max(1, total - 1) if ramp > 0 else 0.0
        tasks.append(visit(kind, wave * 10_000 + i, settings, tracker, delay))
    return list(await asyncio.gather(*tasks))


def _interleave(mix: dict[str, int]) -> list[str]:
    """Kinds spread evenly: race=4, atlas=1 -> race, race, atlas, race, race (roughly)."""
    slots = []
    for kind, n in mix.items():
        for j in range(n):
            slots.append(((j + 0.5) / n, KINDS.index(kind), kind))
    return [kind for _, _, kind in sorted(slots)]


async def _warm_up(url: str, timeout: float) -> list[str]:
    """One visitor looks at each kind of page once, so the crowd meets a started server as a hosted one
    is after its first visitors: imports done, pools started, the race surfaces' presets tuned (about
    1 s of CPU per catalogue surface, once per process). Returns the exceptions it saw."""
    from loadtest.protocol import Connection
    from loadtest.visitor import RACE_OPTIMIZERS, RACE_QUERY, RACE_SURFACES, custom_query

    conn = await Connection.open(url, timeout=timeout)
    seen: list[str] = []
    visits = [("", RACE_QUERY)] + [("", f"surface={s}&optimizers={RACE_OPTIMIZERS}") for s in RACE_SURFACES]
    visits += [("custom", custom_query(0, 0, -1)), ("atlas", "surface=himmelblau&grid=32&steps=50")]
    try:
        for page, query in visits:
            result = await conn.run(query, page, timeout)
            if not result.ok:
                raise RuntimeError(f"warm-up run of /{page}?{query} ended with {result.status}")
            seen.extend(result.exceptions)
    finally:
        await conn.close()
    return seen


def warm_up(url: str, timeout: float = 180.0) -> list[str]:
    return asyncio.run(_warm_up(url.rstrip("/"), timeout))


def run_load(url: str, visitors: int = 10, reruns: int = 3, mix: dict[str, int] | None = None, waves: int = 1,
             ramp: float = 0.0, think: tuple[float, float] = (1.0, 3.0), pause: float = 0.0,
             server_pids: list[int] | None = None, seed: int = 0, on_wave=None, **settings_kw) -> LoadReport:
    """Run the load and return the report (the CLI prints it; tests and benchmarks read it)."""
    mix = mix or {"race": visitors}
    pids = server_pids if server_pids is not None else _pids_for(url)
    before = read_memory(pids)
    reports: list[WaveReport] = []
    start = time.perf_counter()
    cpu0 = _cpu()
    for wave in range(waves):
        settings = Settings(base_url=url.rstrip("/"), reruns=reruns, think=think, seed=seed + wave,
                            **settings_kw)
        t0 = time.perf_counter()
        results = asyncio.run(run_wave(settings, mix, ramp, wave))
        seconds = time.perf_counter() - t0
        report = WaveReport(
            wave=wave + 1, visitors=len(results), seconds=round(seconds, 1),
            failed=sum(r.failed for r in results), exceptions=sum(len(r.exceptions) for r in results),
            busy=sum(r.busy for r in results), stats=kind_stats(results),
            failures=[f"{r.kind}#{r.index}: {r.failure}" for r in results if r.failed][:20],
            exception_texts=[f"{r.kind}#{r.index}: {e}" for r in results for e in r.exceptions][:20],
            results=results)
        if pause > 0 and wave + 1 < waves:
            time.sleep(pause)
        report.memory = read_memory(pids)
        reports.append(report)
        if on_wave is not None:
            on_wave(report)
    all_results = [r for w in reports for r in w.results]
    return LoadReport(url, mix, reruns, reports, kind_stats(all_results), before, round(_cpu() - cpu0, 1),
                      round(time.perf_counter() - start, 1))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pids_for(url: str) -> list[int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    pid = server.pid_listening_on(port) if parts.hostname in ("127.0.0.1", "localhost") else None
    return [pid] if pid else []


# --- printing ----------------------------------------------------------------------------------------------
def _ms(value: float) -> str:
    return "-" if value != value else f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def format_stats(stats: dict[str, KindStats]) -> list[str]:
    order = ["race.open", "race.rerun", "race (all)", "hammer", "atlas", "custom", "formula"]
    lines = [f"{'kind of run':<12} {'runs':>5} {'busy':>5} {'failed':>6} {'p50':>9} {'p95':>9} {'max':>9} "
             f"{'sent':>9} {'per run':>8}"]
    for kind in sorted(stats, key=lambda k: order.index(k) if k in order else 99):
        s = stats[kind]
        lines.append(f"{kind:<12} {s.runs:>5} {s.busy:>5} {s.not_ok:>6} {_ms(s.p50):>9} {_ms(s.p95):>9} "
                     f"{_ms(s.max):>9} {s.bytes / MB:>6.1f} MB {s.bytes / max(1, s.runs) / 1000:>5.0f} kB")
    return lines


def format_memory(mem: dict[int, dict]) -> str:
    if not mem:
        return "server memory: unknown (no --server-pid, and no process found on the URL's port)"
    return "; ".join(f"pid {pid}: RSS {m['rss_mb']:.0f} MB (+{m['children_mb']:.0f} MB in {m['processes']} "
                     "workers)" for pid, m in mem.items())


def format_wave(w: WaveReport) -> str:
    race = w.stats.get("race (all)")
    p95 = _ms(race.p95) if race else "-"
    mem = " ".join(f"{m['rss_mb']:.0f}+{m['children_mb']:.0f} MB" for m in w.memory.values()) or "-"
    return (f"wave {w.wave:>3}: {w.visitors} visitors in {w.seconds:.1f} s, failed {w.failed}, "
            f"exceptions {w.exceptions}, busy {w.busy}, race p95 {p95}, server RSS {mem}")


def format_report(report: LoadReport) -> str:
    mix = ", ".join(f"{k}={n}" for k, n in report.mix.items())
    lines = [f"{report.url}: {sum(report.mix.values())} visitors ({mix}), {report.reruns} reruns each, "
             f"{len(report.waves)} wave(s), {report.seconds:.1f} s (load generator CPU "
             f"{report.client_cpu_seconds:.1f} s)", ""]
    lines += format_stats(report.stats)
    lines.append("")
    if len(report.waves) > 1:
        lines += [format_wave(w) for w in report.waves] + [""]
    lines.append(f"failed sessions: {report.failed} of {sum(w.visitors for w in report.waves)}")
    lines.append(f"exception elements seen: {report.exceptions}")
    lines.append(f"busy answers: {report.busy}")
    lines.append(f"race runs that showed another race than the one asked for: {report.other_races}")
    lines.append("memory before: " + format_memory(report.memory_before))
    lines.append("memory after:  " + format_memory(report.waves[-1].memory if report.waves else {}))
    for w in report.waves:
        for failure in w.failures:
            lines.append(f"  failed: wave {w.wave} {failure}")
        for text in w.exception_texts:
            lines.append(f"  exception: wave {w.wave} {text[:300]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501", help="the app (or nginx) base URL")
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--reruns", type=int, default=3, help="setting changes per visitor after opening")
    parser.add_argument("--mix", help="visitors per kind, e.g. race=40,atlas=5,custom=5 (default: all race)")
    parser.add_argument("--waves", type=int, default=1)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between waves")
    parser.add_argument("--ramp", type=float, default=5.0, help="visitors arrive within this many seconds")
    parser.add_argument("--think", default="1,3", help="seconds between a visitor's runs: MIN,MAX")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one race run may take")
    parser.add_argument("--server-pid", help="server process id(s) for memory, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm-up", action="store_true",
                        help="visit each page once before the crowd (a freshly started server)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead")
    args = parser.parse_args(argv)
    try:
        mix = parse_mix(args.mix, args.visitors)
        lo, hi = (float(v) for v in args.think.split(","))
    except ValueError as exc:
        parser.error(str(exc))
    pids = [int(p) for p in args.server_pid.split(",")] if args.server_pid else None
    if args.warm_up:
        for text in warm_up(args.url):
            print(f"warm-up saw an exception: {text}", file=sys.stderr)
    on_wave = None if args.json or args.waves == 1 else (lambda w: print(format_wave(w), flush=True))
    report = run_load(args.url, args.visitors, args.reruns, mix, args.waves, args.ramp, (lo, hi), args.pause,
                      pids, args.seed, on_wave=on_wave, run_timeout=args.timeout)
    if args.json:
        print(json.dumps(report.as_dict(), indent=1, default=str))
    else:
        print(format_report(report))
    return 1 if report.failed or report.exceptions else 0


if __name__ == "__main__":
    sys.exit(main())
