"""Script runs take turns, first come first served, for a bounded time.

Every visitor's script run is a thread of one Python process: only one of them executes Python at a time
(the interpreter's lock), and that lock is not handed out in arrival order. With 50 visitors clicking a
link at once, each run is sliced thinly among 49 others, so every run finishes late and the late ones
very late: measured with the crowd at once (``bench/bench_load.py crowd``, 50 visitors × 4 runs), p50
2.4 s, p95 3.9–4.4 s. Taking turns in arrival order, a run executes without sharing once its turn comes:
the same total work, but p95 2.7–2.9 s (the same server CPU per run).

Only runs that compute and draw take turns (the pages listed in ``app.py``); a run that waits for worker
processes (an Atlas map, a formula's presets, a data fit) would hold everyone up while it waits, so
those pages do not take turns, and a long computation inside a turn (a GIF for slides) steps aside.

Busy is not no: a run waits at most ``patience`` seconds for its turn, then runs anyway, sharing the
interpreter as it would without turns. Nothing here imports streamlit.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS_ENV = "DESCENT_LAB_SCRIPT_SLOTS"  # how many runs execute at once (default 1: one interpreter lock)
PATIENCE = 10.0  # seconds a run waits for its turn before it runs anyway


class Turns:
    """``slots`` turns handed out in arrival order; a waiter gives up after ``patience`` seconds."""

    def __init__(self, slots: int = 1, patience: float = PATIENCE) -> None:
        if slots < 1:
            raise ValueError(f"Invalid number of slots: {slots}")
        self.slots = int(slots)
        self.patience = float(patience)
        self._free = self.slots
        self._queue: deque[threading.Event] = deque()  # the waiters, first come first
        self._lock = threading.Lock()
        self._holding = threading.local()  # this thread's count of held turns (aside() needs it)
        self.waited_out = 0  # runs that waited ``patience`` and ran without a turn

    def waiting(self) -> int:
        """How many runs wait for a turn now."""
        with self._lock:
            return len(self._queue)

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for a turn (``timeout`` seconds at most, default ``patience``); False: none came in time."""
        timeout = self.patience if timeout is None else timeout
        with self._lock:
            if self._free > 0 and not self._queue:  # nobody ahead: no barging past waiters
                self._free -= 1
                self._held(+1)
                return True
            ticket = threading.Event()
            self._queue.append(ticket)
        if not ticket.wait(timeout):
            with self._lock:
                if not ticket.is_set():  # not handed a turn while the wait timed out
                    self._queue.remove(ticket)
                    self.waited_out += 1
                    return False
        self._held(+1)
        return True

    def release(self) -> None:
        """Give the turn back: straight to the first waiter, if any."""
        self._held(-1)
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._free += 1

    def _held(self, change: int) -> None:
        self._holding.count = getattr(self._holding, "count", 0) + change

    def holds(self) -> bool:
        """Whether the calling thread holds a turn."""
        return getattr(self._holding, "count", 0) > 0

    @contextmanager
    def turn(self) -> Iterator[bool]:
        """Run the body in a turn (yields True) or, after ``patience`` seconds of waiting, without (False)."""
        got = self.acquire()
        try:
            yield got
        finally:
            if self.holds():  # not if an aside() inside ran out of patience waiting for it again
                self.release()

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Let the others run during a long computation inside a turn; wait for a turn again after it."""
        if not self.holds():
            yield
            return
        self.release()
        # An exception out of the body (a newer rerun interrupted the run, or it failed) leaves at the yield:
        # the run ends there and queues for no turn.
        yield
        self.acquire()  # after ``patience``, on without one (turn() then has nothing to give back)


def _slots_from_env() -> int:
    try:
        return max(1, int(os.environ.get(SLOTS_ENV, "1")))
    except ValueError:
        return 1


SCRIPTS = Turns(_slots_from_env())  # the script runs of this server process
