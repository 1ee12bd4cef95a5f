"""lab.turns: script runs take turns in arrival order, for a bounded time; app.py's wiring."""

from __future__ import annotations

import ast
import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from lab import turns
from tests.app_helpers import APP, open_app


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.001)


def _queue_runs(gate: turns.Turns, n: int, order: list[int]) -> list[threading.Thread]:
    """Start ``n`` runs one after another, each queued before the next starts; each notes its index once
    it has its turn."""
    threads = []
    for i in range(n):
        def run(i=i):
            with gate.turn():
                order.append(i)
        t = threading.Thread(target=run)
        t.start()
        threads.append(t)
        _wait_until(lambda i=i: gate.waiting() == i + 1)
    return threads


def test_turns_come_in_arrival_order():
    gate = turns.Turns(1)
    order: list[int] = []
    assert gate.acquire()
    threads = _queue_runs(gate, 8, order)
    gate.release()
    for t in threads:
        t.join(5)
    assert order == list(range(8))
    assert gate.waiting() == 0
    assert gate.acquire(0)  # every turn was given back


def test_a_newcomer_does_not_pass_the_queue():
    gate = turns.Turns(1)
    assert gate.acquire()
    has_turn, done = threading.Event(), threading.Event()

    def waiter():
        with gate.turn():
            has_turn.set()
            done.wait(5)

    t = threading.Thread(target=waiter)
    t.start()
    _wait_until(lambda: gate.waiting() == 1)
    gate.release()  # handed straight to the waiter: no free turn in between for anyone else
    assert not gate.acquire(0)
    has_turn.wait(5)
    done.set()
    t.join(5)
    assert gate.acquire(0)


def test_slots_run_side_by_side_and_the_next_waits():
    gate = turns.Turns(2)
    assert gate.acquire(0) and gate.acquire(0)
    assert not gate.acquire(0)
    gate.release()
    assert gate.acquire(0)


def test_a_run_waits_out_its_patience_then_runs_without_a_turn():
    gate = turns.Turns(1, patience=0.05)
    other = threading.Thread(target=gate.acquire)  # another run holds the only turn throughout
    other.start()
    other.join(5)
    got = []
    t0 = time.monotonic()
    with gate.turn() as had:
        got.append(had)
        assert not gate.holds()
    waited = time.monotonic() - t0
    assert got == [False]
    assert 0.04 <= waited < 2.0
    assert gate.waited_out == 1
    assert gate.waiting() == 0  # it left the queue
    assert not gate.acquire(0)  # the run that had no turn gave nothing back: the other still holds it


def test_aside_lets_the_next_run_go_during_a_long_computation():
    gate = turns.Turns(1)
    order: list[str] = []
    held: list[bool] = []
    started = threading.Event()

    def long_run():
        with gate.turn():
            order.append("long: drawing")
            started.set()
            with gate.aside():
                held.append(gate.holds())
                _wait_until(lambda: "short" in order)
            order.append("long: again in turn")
            held.append(gate.holds())

    t = threading.Thread(target=long_run)
    t.start()
    started.wait(5)

    def short_run():
        with gate.turn():
            order.append("short")

    s = threading.Thread(target=short_run)
    s.start()
    s.join(5)
    t.join(5)
    assert order == ["long: drawing", "short", "long: again in turn"]
    assert held == [False, True]  # no turn while aside, a turn again after it
    assert gate.acquire(0)  # and turn() gave that one back


def test_a_run_interrupted_aside_does_not_queue_again():
    gate = turns.Turns(1, patience=5.0)
    holder_ready, holder_done = threading.Event(), threading.Event()

    def run_interrupted():
        with pytest.raises(RuntimeError), gate.turn():
            with gate.aside():
                other = threading.Thread(target=hold)
                other.start()
                holder_ready.wait(5)  # someone else has the turn now
                raise RuntimeError("a newer rerun")  # what Streamlit raises into a stopped run

    def hold():
        assert gate.acquire(0)
        holder_ready.set()
        holder_done.wait(5)
        gate.release()

    t0 = time.monotonic()
    t = threading.Thread(target=run_interrupted)
    t.start()
    t.join(5)
    assert time.monotonic() - t0 < 2.0  # did not wait for the holder's turn to end
    assert gate.waiting() == 0 and gate.waited_out == 0
    holder_done.set()
    _wait_until(lambda: gate.acquire(0))


def test_aside_outside_a_turn_changes_nothing():
    gate = turns.Turns(1)
    with gate.aside():
        assert gate.acquire(0)
    gate.release()
    assert gate.acquire(0)


def test_invalid_slots_are_refused():
    with pytest.raises(ValueError, match="Invalid number of slots: 0"):
        turns.Turns(0)


@pytest.mark.parametrize("value, slots", [("2", 2), ("0", 1), ("many", 1), (None, 1)])
def test_slots_from_the_environment(monkeypatch, value, slots):
    if value is None:
        monkeypatch.delenv(turns.SLOTS_ENV, raising=False)
    else:
        monkeypatch.setenv(turns.SLOTS_ENV, value)
    assert turns._slots_from_env() == slots


def _take_turns() -> set[str]:
    for node in ast.walk(ast.parse(open(APP).read())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "TAKE_TURNS":
            return set(ast.literal_eval(node.value))
    raise AssertionError("app.py has no TAKE_TURNS")


def test_the_pages_that_take_turns_exist_and_none_waits_for_the_worker_pool():
    from tests.test_heap import _navigation

    take = _take_turns()
    assert take <= {title for title, _ in _navigation()}
    assert "Race" in take
    # These wait for worker processes (maps, a formula's presets, fits): in a turn they would hold up all.
    assert not take & {"Atlas", "Custom surface", "Data"}


def test_a_race_run_waits_for_its_turn(monkeypatch):
    """app.py's wiring: while another run holds the only turn, a Race page run waits (here for a shortened
    patience) and then runs anyway."""
    monkeypatch.setattr(turns.SCRIPTS, "patience", 0.5)
    holding, done = threading.Event(), threading.Event()

    def other_run():
        with turns.SCRIPTS.turn():
            holding.set()
            done.wait(60)

    t = threading.Thread(target=other_run)
    t.start()
    holding.wait(5)
    before = turns.SCRIPTS.waited_out
    try:
        at = open_app()
    finally:
        done.set()
        t.join(5)
    assert not at.exception
    assert turns.SCRIPTS.waited_out == before + 1


def _gif_script():
    import streamlit as st

    import surfaces
    from lab import turns
    from lab.race import Race, run_race
    from ui.gif_export import gif_download

    surface = surfaces.get("ravine")
    race = Race.make(["sgd"], 5, surface.start, {})
    with turns.SCRIPTS.turn():
        gif_download(surface, run_race(surface, race), key=("catalogue", "ravine", race))
        st.session_state["held after"] = turns.SCRIPTS.holds()


def test_a_gif_build_steps_aside(monkeypatch):
    import ui.gif_export as gif_export

    held = []
    real = gif_export.race_gif

    def drawing(*args, **kwargs):
        held.append(turns.SCRIPTS.holds())
        return real(*args, **kwargs)

    monkeypatch.setattr(gif_export, "race_gif", drawing)
    at = AppTest.from_function(_gif_script, default_timeout=60)
    at.session_state[gif_export.OPEN_KEY] = True
    at.run()
    at.button(key="gif_export.make").click().run()
    assert not at.exception
    assert held == [False]  # the others' runs went on while it drew
    assert at.session_state["held after"] is True  # and its own run had its turn again after


def test_a_race_run_gives_its_turn_back():
    at = open_app()
    assert not at.exception
    assert turns.SCRIPTS.waiting() == 0
    assert turns.SCRIPTS.acquire(0)  # the run's turn came back
    turns.SCRIPTS.release()
