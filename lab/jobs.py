"""A small, bounded process pool for the heavy work of the pages (basin and sensitivity maps).

Why a process pool: every Streamlit session shares one Python process and its GIL, so a 10-second sweep
run in a script would stall every other visitor. Here the work runs in ``WORKERS`` worker processes
(two, or fewer on a smaller machine) started with the "forkserver" method ("spawn" where that is missing):
the Streamlit process, which runs threads, is never forked.

The rules:

* a *job* is a list of *tasks* ``(function, args)``: module-level functions of picklable arguments.
  Workers rebuild what they need (a surface from its spec, see ``lab.atlas``), never receive callables
  compiled in the server;
* each owner (a visitor's session id) has at most one job in flight: submitting a new one cancels the
  tasks of the old one that have not started (the old script run was abandoned anyway);
* at most ``max_jobs`` jobs are admitted at once, across owners; beyond that ``submit`` raises ``Busy``
  and the page says so instead of queueing without bound;
* tasks go to the workers round-robin across jobs, a few at a time, so two visitors share the cores
  instead of the second waiting for the whole of the first job; cancelling drops the waiting tasks;
* progress is the number of finished tasks: ``run_tasks`` calls ``on_progress(done, total)`` as pieces
  finish (a page updates ``st.progress`` with it) and cancels the job if the caller is interrupted (a
  Streamlit rerun raises inside the callback).

Nothing here imports streamlit.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import partial

WORKERS = max(1, min(2, os.cpu_count() or 1))
MAX_JOBS = 4  # jobs admitted at once (running or waiting), all owners together
PREFETCH = 2  # tasks handed to the executor per worker: one running, one ready
# Imported once by the fork server, before it forks any worker; lab.jobs itself compiles the catalogue
# there (see _warm_fork_server), so the workers share those pages instead of each compiling its own.
PRELOAD = ("numpy", "optimizers", "surfaces", "lab.atlas", "lab.jobs")
_FORK_SERVER_ENV = "DESCENT_LAB_FORK_SERVER"


class Busy(RuntimeError):
    """The pool is full: the visitor should try again in a moment."""

    def __init__(self, message: str = "The server is busy — try again in a moment"):
        super().__init__(message)


class JobFailed(RuntimeError):
    """A task raised in its worker (or the worker died); the original exception is the ``__cause__``."""


class Job:
    """One owner's list of tasks; results come back in task order."""

    def __init__(self, pool: Pool, owner: str, tasks: Sequence[tuple[Callable, tuple]]):
        self.pool = pool
        self.owner = owner
        self.total = len(tasks)
        self.done = 0
        self.error: BaseException | None = None
        self.cancelled = False
        self._waiting = deque(enumerate(tasks))
        self._running = 0
        self._results: list = [None] * self.total
        self._finished = threading.Event()
        if not self.total:
            self._finished.set()

    @property
    def finished(self) -> bool:
        """All tasks done, or failed, or cancelled."""
        return self._finished.is_set()

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else 1.0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job is finished or ``timeout`` seconds pass; True when finished."""
        return self._finished.wait(timeout)

    def results(self) -> list:
        """The tasks' results in order; JobFailed if one failed, RuntimeError if cancelled or unfinished."""
        if self.error is not None:
            raise JobFailed(f"a task failed: {self.error!r}") from self.error
        if self.cancelled:
            raise RuntimeError("the job was cancelled")
        if not self.finished:
            raise RuntimeError("the job is still running")
        return list(self._results)

    def cancel(self) -> None:
        self.pool.cancel(self)


def _worker_init(niceness: int) -> None:  # pragma: no cover - runs in the workers
    if niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass


@contextmanager
def _plain_main():
    """Hide the running script's ``__main__`` while worker processes start.

    multiprocessing tells a new worker to re-run ``sys.modules["__main__"].__file__`` as ``__mp_main__``
    so that pickled functions defined there resolve. Under Streamlit that module is the page script
    being run (Streamlit installs each script as ``__main__``), so every worker would run a whole page
    in bare mode. Our tasks are functions of importable modules, so the workers need no main module: a
    bare stand-in without ``__file__`` is put in place for the moment a worker may be started.
    """
    saved = sys.modules.get("__main__")
    stand_in = types.ModuleType("__main__")
    sys.modules["__main__"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("__main__") is stand_in and saved is not None:
            sys.modules["__main__"] = saved


def _context():
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(list(PRELOAD))
        from multiprocessing import forkserver

        # Start the fork server now, with a marker in its environment that makes its import of this
        # module compile the catalogue surfaces (a no-op when a fork server is already running).
        os.environ[_FORK_SERVER_ENV] = "1"
        try:
            with _plain_main():
                forkserver.ensure_running()
        finally:
            os.environ.pop(_FORK_SERVER_ENV, None)
    return ctx


def _warm_fork_server() -> None:  # pragma: no cover - runs in the fork server
    """Compile every catalogue surface once (about 1.5 s), before any worker is forked from here.

    The first compilation also pays sympy's and lambdify's one-time costs (about 18 MB); done here,
    every worker inherits the compiled surfaces (``surfaces.get`` caches them) and shares those pages.
    """
    import surfaces

    for name in surfaces.available():
        try:
            surfaces.get(name)
        except Exception:  # noqa: BLE001 - a broken entry must not stop the server; workers will report it
            pass


class Pool:
    """Worker processes plus the admission rules above. Thread-safe; one per server process."""

    def __init__(self, workers: int = WORKERS, max_jobs: int = MAX_JOBS, niceness: int = 0):
        if workers < 1 or max_jobs < 1:
            raise ValueError("workers and max_jobs must be at least 1")
        self.workers = workers
        self.max_jobs = max_jobs
        self.niceness = niceness
        self._lock = threading.RLock()
        self._jobs: list[Job] = []  # admitted and unfinished, in round-robin order
        self._next = 0  # round-robin position
        self._in_flight = 0  # tasks handed to the executor and not yet finished
        self._executor: cf.ProcessPoolExecutor | None = None

    # -- admission -------------------------------------------------------------------------------------
    def submit(self, owner: str, tasks: Sequence[tuple[Callable, tuple]]) -> Job:
        """Admit a job for ``owner`` (replacing the owner's unfinished one) or raise Busy."""
        with self._lock:
            for old in [j for j in self._jobs if j.owner == owner]:
                self._cancel_locked(old)
            if len(self._jobs) >= self.max_jobs:
                raise Busy()
            job = Job(self, owner, list(tasks))
            if job.total:
                self._jobs.append(job)
                self._pump_locked()
            return job

    def cancel(self, job: Job) -> None:
        with self._lock:
            self._cancel_locked(job)

    def _cancel_locked(self, job: Job) -> None:
        if job.finished:
            return
        job.cancelled = True
        job._waiting.clear()  # tasks already running finish in their worker; their results are dropped
        self._retire_locked(job)

    def _retire_locked(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        job._finished.set()
        self._pump_locked()

    @property
    def active_jobs(self) -> int:
        with self._lock:
            return len(self._jobs)

    # -- dispatch ----------------------------------------------------------------------------------------
    def _ensure_executor(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=_context(),
                                                    initializer=_worker_init, initargs=(self.niceness,))
        return self._executor

    def _pump_locked(self) -> None:
        """Hand waiting tasks to the executor, round-robin across jobs, up to PREFETCH per worker."""
        while self._in_flight < self.workers * PREFETCH:
            pending = [j for j in self._jobs if j._waiting]
            if not pending:
                return
            self._next %= len(pending)
            job = pending[self._next]
            self._next += 1
            index, (fn, args) = job._waiting.popleft()
            try:
                with _plain_main():  # submit() may start a worker process
                    future = self._ensure_executor().submit(fn, *args)
            except Exception as exc:  # a broken pool refuses new work: fail this job, start afresh next time
                self._executor = None
                job.error = exc
                job._waiting.clear()
                self._retire_locked(job)
                continue
            self._in_flight += 1
            job._running += 1
            future.add_done_callback(partial(self._task_done, job, index))

    def _task_done(self, job: Job, index: int, future: cf.Future) -> None:
        with self._lock:
            self._in_flight -= 1
            job._running -= 1
            if not job.finished:
                exc = future.exception()
                if exc is not None:
                    if isinstance(exc, cf.process.BrokenProcessPool):
                        self._executor = None  # a worker died; the next submit starts new ones
                    job.error = exc
                    job._waiting.clear()
                    self._retire_locked(job)
                else:
                    job._results[index] = future.result()
                    job.done += 1
                    if job.done == job.total:
                        self._retire_locked(job)
            self._pump_locked()

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers (for measurements)."""
        with self._lock:
            if self._executor is None:
                return []
            return [p.pid for p in getattr(self._executor, "_processes", {}).values() if p.pid]

    def warm_up(self) -> None:
        """Start the worker processes now (the first job otherwise pays for it)."""
        with self._lock, _plain_main():
            executor = self._ensure_executor()
            futures = [executor.submit(_noop) for _ in range(self.workers)]
        cf.wait(futures)

    def shutdown(self) -> None:
        with self._lock:
            for job in list(self._jobs):
                self._cancel_locked(job)
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _noop() -> int:  # pragma: no cover - runs in the workers
    return os.getpid()


def tune_presets(surface_fields: dict) -> dict:  # pragma: no cover - runs in the workers
    """``lab.presets.presets_for`` of a surface rebuilt here from its fields (a task for custom formulas).

    The page's Surface holds compiled functions, which do not pickle; its fields do (the SymPy expression
    has passed ``surfaces.expression``'s checks in the server), and the worker compiles them itself.
    """
    from lab import presets
    from surfaces.base import Surface

    return presets.presets_for(Surface(**surface_fields))


# --- the server's pool ------------------------------------------------------------------------------------
# The server's workers run at a lower CPU priority: on a 2-core host two busy workers would otherwise take
# both cores from the Streamlit process, and every visitor's light rerun would wait behind the heavy maps
# (measured with bench/bench_load.py, see deploy/README.md "Performance under load").
SERVER_NICENESS = 10
_pool: Pool | None = None
_pool_lock = threading.Lock()


def default_pool() -> Pool:
    """The process-wide pool, created on first use and shut down at exit."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool(niceness=SERVER_NICENESS)
            atexit.register(_pool.shutdown)
        return _pool


def run_tasks(owner: str, tasks: Sequence[tuple[Callable, tuple]],
              on_progress: Callable[[int, int], None] | None = None, poll: float = 0.1,
              pool: Pool | None = None) -> list:
    """Run ``tasks`` as ``owner``'s job and return their results in order.

    Raises Busy when the pool is full and JobFailed when a task fails. ``on_progress(done, total)`` is
    called when a task has finished (checked every ``poll`` seconds), at least once a second, and once
    at the end; if it (or anything else) raises, the job is cancelled before the exception propagates.
    """
    pool = pool or default_pool()
    job = pool.submit(owner, tasks)
    try:
        reported, last = -1, time.monotonic()
        while not job.wait(poll):
            if on_progress is not None and (job.done != reported or time.monotonic() - last >= 1.0):
                reported, last = job.done, time.monotonic()
                on_progress(job.done, job.total)
        if on_progress is not None:
            on_progress(job.done, job.total)
        return job.results()
    finally:
        if not job.finished:
            job.cancel()


if os.environ.get(_FORK_SERVER_ENV) == "1" and mp.current_process().name == "MainProcess":
    _warm_fork_server()
