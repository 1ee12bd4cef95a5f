"""A small pool of killable worker processes: the formula sandbox (surfaces.expression), lab.jobs' workers.

Why processes: Streamlit runs scripts outside the main thread, so ``signal.alarm`` cannot interrupt SymPy,
and a thread cannot be killed. A worker can: each request gets a wall-clock timeout after which the
worker is killed (SIGKILL) and replaced.

Why ``subprocess`` and not ``multiprocessing``: ``fork`` is unsafe in a threaded server, and the
``spawn``/``forkserver`` start methods re-import the parent's ``__main__`` in every child (under
Streamlit that is the Streamlit CLI; in a script without a main guard it recurses). A worker here is a
fresh ``python -c`` (fork+exec done by ``_posixsubprocess``, safe with threads) that serves requests over
its stdin/stdout pipes: 4-byte length + pickle.

The work is data: a ``Sandbox`` is made with an ``Entry`` (module and function names, and optionally a
function to call once when the worker starts); the worker imports that module itself. This module imports
no caller (``surfaces.expression`` imports it, not the other way round).

Answers are plain data: the worker may send only ``None``, booleans, numbers, text, bytes, tuples, lists
and dicts; the parent's unpickler (``_PlainUnpickler``) refuses every class, so reading an answer runs no
constructor of any library (a SymPy object, which evaluates as it is built, cannot come back).

Limits in the worker (``_worker_main``): address space ``MEMORY_LIMIT`` (or 256 MiB above what the imports
mapped, if more), CPU ``CPU_SECONDS`` per request (``RLIMIT_CPU``, raised before each request), its own
session (no terminal signals), one thread for BLAS.

Concurrency: at most ``POOL_SIZE`` requests run at once; others wait (first come, first served) for a free
worker until their deadline and then get ``Unavailable`` ("busy"). A request's own time limit starts when
a worker takes it, so a queued request is never killed for time it spent waiting. Workers are started
lazily (``warm_up()`` starts them early), reused, and replaced at once when killed.

Two outcomes besides an answer, deliberately of different types: ``Rejected`` (a ``ValueError``: the
entry point refused the request — a verdict, safe to cache and to show) and ``Unavailable`` (not a
``ValueError``: busy, timed out, crashed — no verdict; a later try may succeed, and a page must not treat
it as a refusal).
"""

from __future__ import annotations

import atexit
import collections
import io
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

POOL_SIZE = 2
WORKER_TIMEOUT = 3.0  # seconds one request may take in a worker
MEMORY_LIMIT = 1 << 30  # bytes of address space
CPU_SECONDS = 4  # CPU seconds per request (a backstop behind the wall-clock timeout)
# Workers run below the server's priority (like lab.jobs' pool): on a 2-core host two busy SymPy workers
# otherwise take both cores from the Streamlit process, and every visitor's rerun waits for a formula.
WORKER_NICENESS = 10
MAX_MESSAGE = 16 << 20  # bytes
_HEADER = struct.Struct(">I")
_ROOT = Path(__file__).resolve().parent.parent
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from surfaces.sandbox import _worker_main; "
    "_worker_main(*sys.argv[2:5], *map(int, sys.argv[5:]))"
)

TOO_LONG = "This formula takes too long to process — try a simpler one"
BUSY = "The formula checker is busy — please try again in a moment"
UNAVAILABLE = "The formula checker is not available right now — please try again later"
CRASHED = "This formula is too complex to process — try a simpler one"
FAILED = "This formula could not be processed — try writing it differently"


class Rejected(ValueError):
    """The worker refused the request (a deterministic answer: safe to cache)."""


class Unavailable(RuntimeError):
    """No answer: timeout, busy or a crashed worker (not cached; a later try may succeed). Not a
    ValueError, so no caller can mistake it for a refusal of the visitor's input."""


class Limits(NamedTuple):
    """A worker's limits: address space (bytes; at least 256 MiB above what its imports mapped), CPU seconds
    per request, and its niceness."""

    memory: int = MEMORY_LIMIT
    cpu_seconds: int = CPU_SECONDS
    niceness: int = WORKER_NICENESS


class Entry(NamedTuple):
    """What a worker runs: ``module.function(request)`` for each request (its return value is the answer,
    a ValueError its refusal), and ``module.prepare()`` once at start-up when ``prepare`` is set."""

    module: str
    function: str
    prepare: str = ""


class _Dead(Exception):
    """The worker's pipe closed."""


class _Timeout(Exception):
    pass


# -- Framing ------------------------------------------------------------------------------------------
def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except (BrokenPipeError, OSError) as exc:
            raise _Dead() from exc
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, remaining = [], n
    poller = select.poll() if deadline is not None else None
    if poller is not None:
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while remaining:
        if poller is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not poller.poll(wait * 1000):
                raise _Timeout()
        try:
            chunk = os.read(fd, min(remaining, 1 << 20))
        except OSError as exc:
            raise _Dead() from exc
        if not chunk:
            raise _Dead()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_message(fd: int, deadline: float | None) -> bytes:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if size > MAX_MESSAGE:
        raise _Dead()
    return _read_exact(fd, size, deadline)


class _PlainUnpickler(pickle.Unpickler):
    """Plain data only: pickle's built-in types (None, bool, int, float, str, bytes, tuple, list, dict,
    set); any class or function reference is refused, so loading an answer constructs nothing else."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def _loads(data: bytes):
    return _PlainUnpickler(io.BytesIO(data)).load()


# -- Parent side ----------------------------------------------------------------------------------------
class _Worker:
    def __init__(self, entry: Entry, limits: Limits) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONINSPECT", "PYTHONSTARTUP")}
        env.update(
            OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(_ROOT), *entry, *map(str, limits)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            start_new_session=True,
            env=env,
            cwd=str(_ROOT),
        )
        self.ready = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, deadline: float) -> None:
        if not self.ready:
            reply = _loads(_read_message(self.proc.stdout.fileno(), deadline))
            if not (isinstance(reply, tuple) and reply and reply[0] == "ready"):
                raise _Dead()
            self.ready = True

    def poll_ready(self) -> bool:
        """Read the 'ready' message if it has arrived (without waiting for it)."""
        if not self.ready:
            poller = select.poll()
            poller.register(self.proc.stdout.fileno(), select.POLLIN)
            if poller.poll(0):
                try:
                    self.wait_ready(time.monotonic() + 0.5)
                except (_Dead, _Timeout, pickle.UnpicklingError, EOFError):
                    pass  # a dead worker is dropped by the pool's liveness check
        return self.ready

    def ask(self, request, deadline: float):
        _write_all(self.proc.stdin.fileno(), _frame(request))
        return _loads(_read_message(self.proc.stdout.fileno(), deadline))

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


def _frame(obj) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


class _Pool:
    def __init__(self, size: int, entry: Entry, limits: Limits) -> None:
        self.size = size
        self.entry = entry
        self.limits = limits
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()  # waiting requests, first come first

    def _start_locked(self) -> _Worker:
        worker = _Worker(self.entry, self.limits)
        self._all.add(worker)
        return worker

    def warm_up(self, wait: float) -> bool:
        """Start missing workers; wait up to ``wait`` seconds until the idle ones are ready."""
        deadline = time.monotonic() + wait
        while True:
            with self._cond:
                while len(self._all) < self.size:
                    self._idle.append(self._start_locked())
                if all(w.poll_ready() for w in self._idle):
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def acquire(self, deadline: float) -> _Worker | None:
        """A worker for one request, or None at ``deadline``. Requests are served in arrival order."""
        dead: list[_Worker] = []
        ticket = object()
        try:
            with self._cond:
                self._queue.append(ticket)
                while True:
                    for worker in [w for w in self._idle if not w.alive()]:
                        self._idle.remove(worker)
                        self._all.discard(worker)
                        dead.append(worker)
                    if self._queue[0] is ticket:
                        if self._idle:
                            ready = [w for w in self._idle if w.poll_ready()]
                            worker = ready[-1] if ready else self._idle[-1]
                            self._idle.remove(worker)
                            return worker
                        if len(self._all) < self.size:
                            return self._start_locked()
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        return None
                    self._cond.wait(min(wait, 0.25))  # and look again: a worker may have died meanwhile
        finally:
            with self._cond:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may go now
            for worker in dead:
                worker.kill()

    def release(self, worker: _Worker, healthy: bool) -> None:
        if not healthy:
            worker.kill()
        with self._cond:
            if healthy:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                if len(self._all) < self.size:  # replace it now: the next visitor finds it imported
                    try:
                        self._idle.append(self._start_locked())
                    except Exception:  # started again by the next acquire()
                        pass
            self._cond.notify_all()

    def pids(self) -> list[int]:
        with self._cond:
            return [w.pid for w in self._all]

    def shutdown(self) -> None:
        with self._cond:
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
        for worker in workers:
            worker.kill()


class Sandbox:
    """Up to ``size`` worker processes that run ``entry`` (see ``Entry``) on requests, with the limits above.

    ``run(request, deadline)`` gives the answer, or raises ``Rejected`` / ``Unavailable``. Workers start on
    first use (or ``warm_up``) and stop at exit. Thread-safe.
    """

    def __init__(self, entry: Entry, size: int = POOL_SIZE, limits: Limits | None = None) -> None:
        self.entry = Entry(*entry)
        self.size = size
        self.limits = Limits(*(limits or Limits()))
        self._pool: _Pool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> _Pool:
        with self._lock:
            if self._pool is None:
                self._pool = _Pool(self.size, self.entry, self.limits)
                atexit.register(self._pool.shutdown)
            return self._pool

    def warm_up(self, wait: float = 0.0) -> bool:
        """Start all workers now (each takes a second or two to import its module).

        With ``wait`` > 0, also waits up to that many seconds until they are ready; True when they are.
        """
        try:
            return self._get_pool().warm_up(wait)
        except Exception:
            return False

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for tests and monitoring)."""
        return self._pool.pids() if self._pool is not None else []

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(self, request, deadline: float, timeout: float = WORKER_TIMEOUT, late=None):
        """The worker's answer to ``request``: its payload, or Rejected / Unavailable.

        Waits (in arrival order) for a free worker until ``deadline`` (time.monotonic()), then gives the
        worker at most ``timeout`` seconds. When the worker's own ``timeout`` runs out it is killed and
        replaced (TOO_LONG). When the caller's ``deadline`` comes first, the caller gets Unavailable
        (BUSY) at once, but the worker is not killed for it: a thread of ours waits for the answer until
        the worker's own timeout, hands it to ``late(outcome)`` (the payload, or a Rejected) when given —
        so the next try finds it ready — and returns the worker to the pool.
        """
        pool = self._get_pool()
        for _attempt in range(2):  # a second try only when an idle worker had died before the request
            try:
                worker = pool.acquire(deadline)
            except Exception:  # no interpreter to start (OSError), an embedded Python without sys.executable
                raise Unavailable(UNAVAILABLE) from None
            if worker is None:
                raise Unavailable(BUSY)
            healthy = False
            try:
                try:
                    worker.wait_ready(deadline)
                except _Timeout:
                    healthy = True  # still importing: keep it for the next request
                    raise Unavailable(BUSY) from None
                except (_Dead, pickle.UnpicklingError, EOFError):
                    continue
                sent = time.monotonic()
                own_end = sent + timeout
                try:
                    reply = _outcome(worker.ask(request, min(own_end, deadline)))
                except _Timeout:
                    if own_end <= deadline:
                        raise Unavailable(TOO_LONG) from None
                    worker = _handed_over(pool, worker, own_end, late)  # finishes in the background
                    raise Unavailable(BUSY) from None
                except _Dead:
                    raise Unavailable(CRASHED) from None
                except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError):
                    raise Unavailable(FAILED) from None
                healthy = True
            finally:
                if worker is not None:
                    pool.release(worker, healthy)
            if isinstance(reply, BaseException):
                raise reply
            return reply
        raise Unavailable(BUSY)


def _outcome(reply):
    """A worker's reply as its payload, or the Rejected / Unavailable it means (returned, not raised)."""
    status, payload = reply if isinstance(reply, tuple) and len(reply) == 2 else (None, None)
    if status == "ok":
        return payload
    if status == "error" and isinstance(payload, str):
        return Rejected(payload)
    return Unavailable(FAILED)


def _handed_over(pool: _Pool, worker: _Worker, own_end: float, late) -> None:
    """Let a thread wait for ``worker``'s answer (until ``own_end``), pass it to ``late`` and release the
    worker; returns None (the caller no longer holds the worker)."""

    def finish() -> None:
        healthy = False
        try:
            outcome = _outcome(_loads(_read_message(worker.proc.stdout.fileno(), own_end)))
            healthy = True
            if late is not None and not isinstance(outcome, Unavailable):
                late(outcome)
        except Exception:  # noqa: BLE001 - timed out, died, garbled: the worker is replaced
            pass
        finally:
            pool.release(worker, healthy)

    threading.Thread(target=finish, name="sandbox-late-answer", daemon=True).start()
    return None


# -- Worker side ----------------------------------------------------------------------------------------
def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _set_soft_limit(which: str, soft: int) -> None:
    """Set the soft limit ``resource.<which>`` to ``soft``, never above the hard limit; a platform
    without ``resource`` (or that refuses) leaves the limit as it is."""
    try:
        import resource

        key = getattr(resource, which)
        _soft, hard = resource.getrlimit(key)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(key, (soft, hard))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def _limit_memory(memory: int = MEMORY_LIMIT) -> None:
    _set_soft_limit("RLIMIT_AS", max(memory, _vm_bytes() + (256 << 20)))


def _limit_cpu(cpu_seconds: int = CPU_SECONDS) -> None:
    """Allow ``cpu_seconds`` more than used so far; beyond that the kernel kills the worker (SIGXCPU)."""
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
    except (ImportError, OSError):
        return
    _set_soft_limit("RLIMIT_CPU", int(usage.ru_utime + usage.ru_stime) + 1 + cpu_seconds)


def _worker_main(module: str, function: str, prepare: str = "", memory: int = MEMORY_LIMIT,
                 cpu_seconds: int = CPU_SECONDS, niceness: int = WORKER_NICENESS) -> None:
    """Serve requests with ``module.function`` until the parent's pipe closes (``Entry``). Never prints to
    the protocol's stdout."""
    import importlib
    import traceback
    import warnings

    warnings.simplefilter("ignore")
    inp = sys.stdin.fileno()
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr, not into the protocol
    sys.stdout = sys.stderr

    target = importlib.import_module(module)
    handle = getattr(target, function)
    if prepare:
        try:
            getattr(target, prepare)()  # first-use costs (SymPy, lambdify), before the first request
        except Exception:
            traceback.print_exc()
    _limit_memory(memory)
    try:
        os.nice(niceness)
    except OSError:
        pass
    _write_all(out, _frame(("ready", os.getpid())))
    while True:
        try:
            request = pickle.loads(_read_message(inp, None))
        except _Dead:
            return
        _limit_cpu(cpu_seconds)
        try:
            reply = ("ok", handle(request))
        except ValueError as exc:
            reply = ("error", str(exc))
        except (MemoryError, RecursionError):
            reply = ("error", CRASHED)
        except Exception:  # a bug or a SymPy corner case: log it, answer, keep serving
            traceback.print_exc()
            reply = ("error", FAILED)
        try:
            data = _frame(reply)
        except Exception:
            data = _frame(("error", FAILED))
        try:
            _write_all(out, data)
        except _Dead:
            return
