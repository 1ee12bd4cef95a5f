"""lab.jobs: workers started by our own entry point (no process-global state touched), a queue instead of
a refusal, shared jobs, and formula presets tuned from the server's checked surface (no sandbox of its own
in a worker)."""

from __future__ import annotations

import math
import os
import sys
import time
import types

import pytest

from lab import jobs
from loadtest import server
from surfaces import expression


@pytest.fixture(scope="module")
def pool():
    p = jobs.Pool(workers=2, niceness=jobs.NICENESS)
    assert p.warm_up(120), "lab.jobs workers did not start"
    yield p
    p.shutdown()


def test_starting_workers_touches_no_process_global_state(monkeypatch, tmp_path):
    """Under Streamlit, __main__ is the page script being run: starting a worker must neither run it again
    nor swap it out (not even for a moment), nor change os.environ."""
    marker = tmp_path / "ran.txt"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    seen_mains, environ = [], dict(os.environ)

    class Watch(dict):  # records every assignment to sys.modules["__main__"] while workers start
        def __setitem__(self, key, value):
            if key == "__main__":
                seen_mains.append(value)
            super().__setitem__(key, value)

    watched = Watch(sys.modules)
    monkeypatch.setattr(sys, "modules", watched)
    p = jobs.Pool(workers=1)
    try:
        assert p.warm_up(120)
        assert jobs.run_tasks("x", [(math.sqrt, (9.0,))], pool=p) == [3.0]
    finally:
        p.shutdown()
    assert not marker.exists()
    assert seen_mains == [] and watched["__main__"] is fake
    assert dict(os.environ) == environ


def test_a_crowd_queues_instead_of_being_refused(pool):
    """Thirty visitors' jobs at once: all are admitted and all finish (the old pool refused beyond 4)."""
    submitted = [pool.submit(f"visitor-{i}", [(math.sqrt, (float(i * i),))]) for i in range(30)]
    assert all(job.wait(60) for job in submitted)
    assert [job.results() for job in submitted] == [[float(i)] for i in range(30)]
    assert pool.active_jobs == 0


def test_the_queue_is_bounded():
    small = jobs.Pool(workers=1, max_jobs=2)
    try:
        small.submit("a", [(time.sleep, (0.5,))])
        small.submit("b", [(time.sleep, (0.5,))])
        with pytest.raises(jobs.Busy, match="busy"):
            small.submit("c", [(time.sleep, (0.01,))])
    finally:
        small.shutdown()


def test_shared_work_is_done_once(pool):
    first = pool.shared(("presets", "k"), [(time.sleep, (0.3,))])
    again = pool.shared(("presets", "k"), [(time.sleep, (0.3,))])
    assert again is first
    assert first.wait(30) and first.results() == [None]
    assert pool.shared(("presets", "k"), [(math.sqrt, (4.0,))]) is not first  # finished: a new job


def test_a_failed_task_keeps_its_cause(pool):
    with pytest.raises(jobs.JobFailed) as info:
        jobs.run_tasks("visitor", [(math.sqrt, (-1.0,))], pool=pool)
    assert isinstance(info.value.__cause__, ValueError)


def test_formula_presets_are_tuned_from_the_checked_surface_without_a_sandbox_in_the_worker(pool):
    """The task gets the FormulaSurface the formula sandbox built (program and numbers, no text, no SymPy),
    and the worker that tunes it starts no formula sandbox of its own (no child processes)."""
    surface = expression.from_expression("x^2 + 3.5*y^2 + sin(x)/4")
    assert isinstance(surface.expression, str)  # no SymPy object: nothing for a worker to parse
    presets = jobs.run_tasks("visitor", [(jobs.tune_presets, (surface,))], pool=pool)[0]
    assert set(presets) >= {"sgd", "adam", "newton"}
    assert all(isinstance(v, float) for hyper in presets.values() for v in hyper.values())
    for pid in pool.worker_pids():
        assert server.descendants(pid) == [], "a lab.jobs worker started processes of its own"
