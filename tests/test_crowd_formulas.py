"""Busy is not no (issue 17, item 1): "everyone, try your own function now".

* AppTest: when the formula checker cannot answer in time, the Custom page and the Atlas keep the
  visitor's formula (field, session, URL), show a plain message with "Try again" and race or map no other
  surface; "Try again" then gives the visitor's own race. When the learning rates are still being tuned,
  the race runs at once with the published defaults and the tuned rates come with a button.
* A short crowd on a real server (``loadtest``, Streamlit's websocket protocol): visitors each type their
  own formula at the same instant; every one of them gets a race on their own formula — no "busy", no
  default surface, the formula kept in the URL (the 30-visitor version with its p95 is
  ``bench/bench_load.py formulas``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab import jobs
from loadtest import server
from surfaces import expression, sandbox
from tests.load_helpers import in_thread
from ui import animation, controls

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def page(path: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(path)
    at.query_params.clear()
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _flat(at: AppTest, key: str):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def players(at: AppTest) -> list[dict]:
    return [animation.element_data(c.proto) for c in at.get("bidi_component")
            if c.proto.component_name == animation.COMPONENT_NAME]


@pytest.fixture
def checker_busy(monkeypatch):
    def busy(*args, **kwargs):
        raise sandbox.Unavailable(sandbox.BUSY)

    monkeypatch.setattr(expression._SANDBOX, "run", busy)
    return monkeypatch


def test_custom_page_keeps_a_formula_it_could_not_judge(checker_busy):
    formula = "x^2 + 6.25*y^2 - x/8"
    at = page("pages/custom.py", expr=formula, optimizers="adam", lr_adam="0.05")
    assert not at.exception and not at.error
    assert any("busy" in w.value and "Your formula is kept" in w.value for w in at.warning)
    assert not any("default surface" in i.value for i in at.info)
    assert players(at) == []  # no race on another surface in its place
    assert at.session_state["keep.custom.expr"] == formula
    assert _flat(at, "expr") == formula and _flat(at, "lr_adam") == "0.05"
    retry = at.button(key="keep.custom.btn_retry_formula")
    checker_busy.undo()  # the checker has time again
    at = retry.click().run()
    assert not at.exception and not at.warning
    (data,) = players(at)
    assert formula in json.dumps(data)  # the visitor's own formula is raced
    assert _flat(at, "expr") == formula
    assert at.session_state["keep.custom.hp.adam.lr"] == 0.05  # the link's settings were kept for it


def test_atlas_keeps_a_formula_from_a_link_it_could_not_judge(checker_busy):
    formula = "(x^2 - 1)^2 + 2.5*y^2"
    at = page("pages/atlas.py", expr=formula, optimizers="sgd", grid="32", steps="40")
    assert not at.exception and not at.error
    assert any("busy" in w.value and "kept" in w.value for w in at.warning)
    assert not any("not accepted" in w.value for w in at.warning)
    assert at.session_state["keep.atlas.expr"] == formula and _flat(at, "expr") == formula
    assert "surface" not in at.query_params  # not switched to a catalogue surface
    assert at.button(key="keep.atlas.btn_retry_formula")


class _SlowPool:
    """A pool whose tuning job finishes only when the test says so."""

    def __init__(self):
        self.job = None

    def shared(self, owner, tasks):
        if self.job is None:
            self.job = jobs.Job(self, owner, tasks)
        return self.job

    def warm_up(self, wait=0):
        return True

    def finish(self, presets):
        self.job._results = [presets]
        self.job.done = self.job.total
        self.job._finished.set()


def test_a_race_runs_at_once_while_the_learning_rates_are_tuned(monkeypatch):
    slow = _SlowPool()
    monkeypatch.setattr(jobs, "default_pool", lambda: slow)
    monkeypatch.setattr(controls, "PRESET_WAIT", 0.05)
    formula = "x^2 + 7.125*y^2"
    at = page("pages/custom.py", expr=formula, optimizers="adam")
    assert not at.exception and not at.warning
    assert any(i.value == controls.PENDING for i in at.info)
    (data,) = players(at)
    assert formula in json.dumps(data)
    assert at.session_state["keep.custom.hp.adam.lr"] == 0.001  # the published default, for now
    tuned = {name: {**controls._published_defaults()[name]} for name in controls._published_defaults()}
    tuned["adam"]["lr"] = 0.125
    slow.finish(tuned)
    at = at.run()  # a rerun: the tuned rates are ready and offered, not forced on the visitor
    assert any(i.value == controls.READY for i in at.info)
    assert at.session_state["keep.custom.hp.adam.lr"] == 0.001
    at = at.button(key="keep.custom.btn_retry_presets").click().run()
    assert not at.exception
    assert at.session_state["keep.custom.hp.adam.lr"] == 0.125
    assert not any(i.value in (controls.READY, controls.PENDING) for i in at.info)


# --- a short crowd on a real server -------------------------------------------------------------------------
@pytest.mark.slow
def test_a_class_typing_their_own_formulas_at_once_all_race(tmp_path):
    from loadtest.__main__ import format_report, run_load, warm_up

    log = tmp_path / "server.log"
    with server.app_server(log=log) as (url, proc):
        assert in_thread(warm_up, url) == []
        report = in_thread(run_load, url, visitors=8, reruns=1, mix={"formula": 8}, ramp=0.0,
                           think=(0.5, 1.0), server_pids=[proc.pid], heavy_timeout=120.0)
    text = format_report(report)
    details = f"\n{text}\nserver log:\n{log.read_text(errors='replace')[-3000:]}"
    assert report.stats["formula"].runs == 16, details
    assert report.failed == 0 and report.exceptions == 0, details  # each raced their own formula
    assert report.stats["formula"].busy == 0, details
