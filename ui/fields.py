"""Number fields that say why they refuse a value, next to the field (issue 18, item 5).

A ``st.number_input`` with ``min_value``/``max_value`` refuses an out-of-range value in the browser with
only a small red marker, and the page keeps computing with the old value without a word. ``number_field``
accepts whatever is typed, checks it in Python, and when it refuses it writes the reason under the field
("1e+06 is refused: lr must be in (0, 10]. Using 0.1.") and returns the last accepted value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st

from lab.numbers import human

ACCEPTED_KEY = "fields.accepted"


def number_field(where, label: str, key: str, *, low: float, high: float, fallback: float,
                 valid: Callable[[float], bool] | None = None, reason: str | Callable[[float], str] = "",
                 step: float | None = None,
                 fmt: str = "%.6g", help: str | None = None) -> float:
    """The value to use: what the visitor typed when it is finite, within [low, high] and ``valid``;
    otherwise the last accepted one (``fallback`` at first), with the reason (text, or a function of the
    refused value) shown right under the field.
    ``key`` holds the typed value in the session; ``ACCEPTED_KEY`` the last accepted one."""
    value = where.number_input(label, key=key, step=step, format=fmt, help=help, persist_state="session")
    used, ok = accepted_value(key, value, low=low, high=high, fallback=fallback, valid=valid)
    if ok:
        return used
    why = reason(value) if callable(reason) else reason
    why = why or f"it must be between {human(low)} and {human(high)}"
    where.error(f"{human(value)} is refused: {why}. Using {human(used)}.", icon=":material/block:")
    return used


def accepted_value(key: str, value, *, low: float, high: float, fallback: float,
                   valid: Callable[[float], bool] | None = None) -> tuple[float, bool]:
    """(the value to use, whether ``value`` is accepted): ``value`` itself when it is a finite number within
    [low, high] and ``valid`` (then kept under ``key`` in ``ACCEPTED_KEY``), else the last accepted one
    (``fallback`` at first). Also for reading a field's value before the field is drawn on this run."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isfinite(number) and low <= number <= high and (valid is None or valid(number)):
        _accepted()[key] = number
        return number, True
    return float(_accepted().get(key, fallback)), False


def _accepted() -> dict[str, float]:
    """The session's last accepted values, field key -> value, in one entry of the session state: every
    keyed widget makes Streamlit copy the whole session state once (``filtered_state``), so one entry per
    field (35 on the race page) cost each run a few milliseconds of the server's one Python lock."""
    found = st.session_state.get(ACCEPTED_KEY)
    if not isinstance(found, dict):
        found = st.session_state[ACCEPTED_KEY] = {}
    return found
