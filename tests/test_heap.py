"""lab.heap: the warm server's long-lived heap is frozen once, after every page has run."""

from __future__ import annotations

import gc

import pytest

from lab import heap
from tests.app_helpers import APP, open_app


def _navigation() -> list[tuple[str, str]]:
    """(title, path) of each ``st.Page`` of app.py's navigation table, read from its source."""
    import ast

    pages = []
    for node in ast.walk(ast.parse(open(APP).read())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            title = next(k.value.value for k in node.keywords if k.arg == "title")
            pages.append((title, node.args[0].value))
    return pages


@pytest.fixture
def fresh_heap(monkeypatch):
    """A process in which no page has run yet; unfrozen again afterwards (this is the test process)."""
    monkeypatch.setattr(heap, "_ran", set())
    monkeypatch.setattr(heap, "_frozen", False)
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_frozen_once_when_every_page_has_run_and_never_before(fresh_heap):
    pages = ["Race", "Atlas", "Data"]
    assert not heap.page_ran("Race", pages)
    assert not heap.page_ran("Race", pages)  # the same page again is no new page
    assert not heap.page_ran("Atlas", pages)
    assert gc.get_freeze_count() == 0
    assert heap.page_ran("Data", pages)
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # at least the modules this process imported
    assert not heap.page_ran("Data", pages) and not heap.page_ran("Race", pages)  # once only
    assert gc.get_freeze_count() == frozen


def test_garbage_alive_before_the_freeze_is_collected_not_frozen(fresh_heap):
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.self = cycle
    ref = weakref.ref(cycle)
    del cycle  # unreachable, kept only by its own cycle: freezing it would keep it forever
    assert heap.page_ran("Race", ["Race"])
    assert ref() is None


def test_the_app_freezes_after_a_visit_to_each_of_its_pages(fresh_heap):
    """app.py tells lab.heap each page that ran: after one visit of every page of the navigation (what the
    warm-up does before the server reports ready), the heap is frozen, and not before."""
    titles = _navigation()
    assert len(titles) == 7
    for title, path in titles[:-1]:
        open_app(path)
        assert title in heap._ran and not heap._frozen
    open_app(titles[-1][1])
    assert heap._frozen and gc.get_freeze_count() > 0
