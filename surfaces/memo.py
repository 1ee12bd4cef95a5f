"""A memo whose concurrent misses wait for the first: one computation per key, however many threads ask.

``functools.lru_cache`` keeps its table safe across threads but not its misses: when fifty visitors open
a link at the same instant on a server that has not built that surface yet, fifty script threads each
compile it (SymPy, holding Python's lock) and fifty tune its presets, and every one of them waits for
all fifty (measured with ``bench/bench_load.py crowd`` on a just-started server: 40 % of the server's
time went into compiling the same few surfaces over and over, and the first runs took 14–19 s).
``shared_memo`` computes a key once while the other callers of that key wait for its result; callers of
other keys are not held up. An exception is not remembered: the next caller tries again.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


def shared_memo(maxsize: int | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: memoize a function of hashable positional arguments, keeping at most ``maxsize``
    results (the least recently used go first; None: no bound), each computed by one thread only."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        table: OrderedDict[Hashable, T] = OrderedDict()
        computing: dict[Hashable, threading.Lock] = {}  # key -> held while that key is being computed
        guard = threading.Lock()  # guards both dicts, never held while computing

        def lookup(key: Hashable) -> tuple[bool, T | None]:
            with guard:
                if key in table:
                    table.move_to_end(key)
                    return True, table[key]
            return False, None

        @functools.wraps(fn)
        def memoized(*args: Hashable) -> T:
            found, value = lookup(args)
            if found:
                return value
            with guard:
                lock = computing.setdefault(args, threading.Lock())
            with lock:
                found, value = lookup(args)  # computed by the thread this one waited for
                if found:
                    return value
                try:
                    value = fn(*args)
                    with guard:
                        table[args] = value
                        while maxsize is not None and len(table) > maxsize:
                            table.popitem(last=False)
                finally:
                    with guard:
                        computing.pop(args, None)
            return value

        def cache_clear() -> None:
            with guard:
                table.clear()

        memoized.cache_clear = cache_clear  # type: ignore[attr-defined]
        memoized.cache_len = lambda: len(table)  # type: ignore[attr-defined]
        return memoized

    return decorate
