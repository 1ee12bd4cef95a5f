"""Keep Python's garbage collector off the long-lived part of a warm server's heap.

A warm server holds ~300,000 objects that live as long as the process: the modules of Streamlit, NumPy,
SymPy, plotly and numba, and the caches the warm-up filled (surfaces, presets, backgrounds). CPython's
collector walks all of them in every full (generation 2) collection. Measured with the crowd at once (50
visitors × 4 runs, ``bench/bench_load.py crowd``, gc callbacks in the server): 1.6 s of collection per
200 runs, 8 ms a run, most of it in three full collections of ~0.36 s each, in which every script thread
waits (they hold Python's lock). ``gc.freeze()`` moves the objects alive at that moment into a permanent
generation that collections skip: afterwards 0.6–0.8 s per 200 runs.

When: once every page has run in this process (the warm-up, ``loadtest.warmup``, visits them all before the
server reports ready), so the pages' imports and the warmed caches are in. Once only: an object frozen
while alive and later part of an unreachable cycle is never collected, so freezing again and again would
keep the garbage of every session alive at each freeze; once, it keeps at most what the warm-up's own
session leaves, which is bounded. Raising the collection thresholds instead was measured too, and lost:
generation 0 collections of 5,000 objects took longer in all than seven times as many of 700.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Collection

_lock = threading.Lock()
_ran: set[str] = set()
_frozen = False


def page_ran(title: str, every: Collection[str]) -> bool:
    """Note that the page ``title`` ran; the first time all of ``every`` have, collect and freeze what is
    alive. Returns whether this call froze it."""
    global _frozen
    if _frozen:
        return False
    with _lock:
        if _frozen:
            return False
        _ran.add(title)
        if not set(every) <= _ran:
            return False
        gc.collect()  # what is garbage now should not be kept forever by the freeze
        gc.freeze()
        _frozen = True
        return True
