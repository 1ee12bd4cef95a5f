"""A small, bounded pool of worker processes for the pages' heavy work (tuning a formula's presets).

Why processes: every Streamlit session shares one Python process and its GIL, so a second of optimizer
runs in a script would stall every other visitor. Here the work runs in ``WORKERS`` worker processes
(two, or fewer on a smaller machine).

How they start — our own entry point, no process-global state touched: the workers are
``surfaces.sandbox`` workers (a fresh ``python -c`` started by ``subprocess``, which is fork+exec and safe
in a threaded server) whose entry point is ``lab.jobs._serve``. Nothing of ``multiprocessing`` is used, so
no worker re-imports the server's ``__main__`` (under Streamlit, the page script being run), and neither
``sys.modules`` nor ``os.environ`` is changed to start one. The workers run at niceness ``NICENESS``,
with an address-space limit and a CPU limit per task, and are replaced when one dies or overruns
``TASK_TIMEOUT``.

The rules:

* a *job* is a list of *tasks* ``(function, args)``: module-level functions of picklable arguments whose
  results are plain data (numbers, text, lists, dicts). Workers receive data that was already checked in
  the server — for a formula, the ``FormulaSurface`` the sandbox built (its program and numbers), never
  the visitor's text — so a worker never parses a formula and never starts a formula sandbox of its own;
* each owner (a visitor's session, or a shared key such as a surface's spec) has at most one job in
  flight: ``submit`` replaces the owner's unfinished job (its waiting tasks are dropped), ``shared`` joins
  it instead;
* busy is not no: jobs queue, first come first served across owners (tasks go to the workers round-robin
  across jobs, so two visitors share the workers instead of the second waiting for the whole of the
  first job). Only ``max_jobs`` (``MAX_JOBS``, far above a classroom) unfinished jobs may wait at once;
  beyond that ``submit`` raises ``Busy``. Callers wait for a bounded time (``Job.wait``);
* progress is the number of finished tasks: ``run_tasks`` calls ``on_progress(done, total)`` as pieces
  finish and cancels the job if the caller is interrupted (a Streamlit rerun raises inside the callback).

Nothing here imports streamlit.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import importlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial

from surfaces import sandbox

WORKERS = max(1, min(2, os.cpu_count() or 1))
MAX_JOBS = 256  # unfinished jobs (running or waiting), all owners together: a bound against floods
PREFETCH = 1  # tasks handed to the workers per worker (the rest wait here, where a cancel can drop them)
TASK_TIMEOUT = 120.0  # seconds one task may take in a worker before it is killed and replaced
NICENESS = 10  # on a 2-core host two busy workers would otherwise take both cores from the server
LIMITS = sandbox.Limits(memory=4 << 30, cpu_seconds=int(TASK_TIMEOUT), niceness=NICENESS)


class Busy(RuntimeError):
    """The queue is full (``MAX_JOBS`` unfinished jobs): the visitor should try again in a moment."""

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


def _serve(request):  # pragma: no cover - runs in the workers
    """A worker's entry point: ``(module, name, args)`` -> ``module.name(*args)`` as plain data."""
    module, name, args = request
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return _plain(target(*args))


def _plain(value):
    """Results as pickle's plain types (the server's reader refuses every class): NumPy numbers and
    arrays become floats, ints and lists."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def _prepare() -> None:  # pragma: no cover - runs in the workers
    """Load the optimizer engine's interpreting kernels (from numba's disk cache) before the first task:
    two steps of each optimizer on a small formula-like surface (not a catalogue one, which would use its
    fused kernels)."""
    import numpy as np

    import optimizers
    from surfaces.base import Surface, X, Y

    warm = Surface(name="warm", title="warm", expression=X**2 + 3 * Y**2, latex="",
                   bounds=((-3.0, 3.0), (-3.0, 3.0)), minima=np.zeros((1, 2)), starts=((2.0, 2.0),))
    for name in optimizers.available():
        optimizers.run(name, warm, warm.start, 2)


ENTRY = sandbox.Entry(__name__, "_serve")


class _Workers:
    """The executor the pool hands tasks to: a thread per worker process, each asking its sandbox worker
    to run one task at a time (``submit`` returns a future)."""

    def __init__(self, workers: int, limits: sandbox.Limits, warm_kernels: bool) -> None:
        entry = ENTRY._replace(prepare="_prepare") if warm_kernels else ENTRY
        self.sandbox = sandbox.Sandbox(entry, size=workers, limits=limits)
        self._threads = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lab.jobs")

    def submit(self, fn: Callable, *args) -> cf.Future:
        request = (fn.__module__, fn.__qualname__, args)
        return self._threads.submit(self._run, request)

    def _run(self, request):
        return self.sandbox.run(request, deadline=time.monotonic() + TASK_TIMEOUT, timeout=TASK_TIMEOUT)

    def warm_up(self, wait: float) -> bool:
        return self.sandbox.warm_up(wait)

    def pids(self) -> list[int]:
        return self.sandbox.worker_pids()

    def shutdown(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self.sandbox.shutdown()


class Pool:
    """Worker processes plus the admission rules above. Thread-safe; one per server process."""

    def __init__(self, workers: int = WORKERS, max_jobs: int = MAX_JOBS, niceness: int = 0,
                 warm_kernels: bool = False):
        """``warm_kernels``: each worker loads the engine's kernels before its first task (about 4 s at
        start; the server's pool does, so a visitor's first tuning does not pay it)."""
        if workers < 1 or max_jobs < 1:
            raise ValueError("workers and max_jobs must be at least 1")
        self.workers = workers
        self.max_jobs = max_jobs
        self.niceness = niceness
        self.warm_kernels = warm_kernels
        self._lock = threading.RLock()
        self._jobs: list[Job] = []  # admitted and unfinished, in round-robin order
        self._next = 0  # round-robin position
        self._in_flight = 0  # tasks handed to the executor and not yet finished
        self._executor: _Workers | None = None

    # -- admission -------------------------------------------------------------------------------------
    def submit(self, owner: str, tasks: Sequence[tuple[Callable, tuple]]) -> Job:
        """Queue a job for ``owner`` (replacing the owner's unfinished one); Busy only when ``max_jobs``
        unfinished jobs are already waiting."""
        with self._lock:
            for old in [j for j in self._jobs if j.owner == owner]:
                self._cancel_locked(old)
            return self._admit_locked(owner, tasks)

    def shared(self, owner, tasks: Sequence[tuple[Callable, tuple]]) -> Job:
        """The unfinished job of ``owner`` if there is one (whoever submitted it), else a new one: for work
        that many visitors may ask for at once (one surface's presets), done once."""
        with self._lock:
            for job in self._jobs:
                if job.owner == owner:
                    return job
            return self._admit_locked(owner, tasks)

    def _admit_locked(self, owner, tasks) -> Job:
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
    def _ensure_executor(self) -> _Workers:
        if self._executor is None:
            limits = LIMITS._replace(niceness=self.niceness)
            self._executor = _Workers(self.workers, limits, self.warm_kernels)
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
                if exc is not None:  # the task raised (Rejected), or its worker died or overran (Unavailable)
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
            return [] if self._executor is None else self._executor.pids()

    def warm_up(self, wait: float = 60.0) -> bool:
        """Start the worker processes now (the first job otherwise pays for their start, 2–8 s); True when
        they are ready within ``wait`` seconds (``wait=0``: start them and return at once)."""
        with self._lock:
            executor = self._ensure_executor()
        return executor.warm_up(wait)

    def shutdown(self) -> None:
        with self._lock:
            for job in list(self._jobs):
                self._cancel_locked(job)
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown()


def tune_presets(surface) -> dict:  # pragma: no cover - runs in the workers
    """``lab.presets.presets_for(surface)``: a formula's presets (a task).

    ``surface`` is the ``FormulaSurface`` the formula sandbox built and the server checked: its program and
    numbers, no SymPy object and no visitor text, so the worker runs the optimizer engine on it directly.
    """
    from lab import presets

    return presets.presets_for(surface)


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
            _pool = Pool(niceness=SERVER_NICENESS, warm_kernels=True)
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

