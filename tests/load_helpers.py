"""Helpers for tests that talk to a server through ``loadtest`` (Streamlit's websocket protocol)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a fresh thread: the load generator uses asyncio.run, and Playwright's sync API (the
    session's browser fixture, when browser tests ran earlier in this worker) keeps an event loop running in
    the main thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a thread of its own (see ``in_thread``)."""
    return in_thread(asyncio.run, coroutine)
