"""A rerun whose request was sent before the browser heard of the session's newest URL carries an older URL
the session wrote itself: that URL is stale, and applying it would undo the visitor's first of two quick
changes (``ui/urlsync.read_url``). AppTest sends the query string we give it, as a browser does."""

from __future__ import annotations

from tests.app_helpers import open_app, url_params
from ui import urlsync


def _two_quick_changes(at):
    """Steps to 200 (its run writes a URL), then the view, sent with the URL the browser had before."""
    before = url_params(at)
    at.slider(key="keep.race.steps").set_value(200).run()
    assert url_params(at).get("steps") == "200"
    at.query_params.clear()
    at.query_params.update(before)  # the second request left before the first run's URL arrived
    at.radio(key="keep.race.view").set_value("contour").run()
    assert not at.exception
    return at


def test_a_stale_url_does_not_undo_the_first_of_two_quick_changes():
    at = _two_quick_changes(open_app())
    assert at.slider(key="keep.race.steps").value == 200
    assert url_params(at).get("steps") == "200" and url_params(at).get("view") == "contour"
    at.run()  # the browser now has the newest URL: nothing changes, nothing is lost
    assert at.slider(key="keep.race.steps").value == 200 and url_params(at).get("view") == "contour"


def test_the_browsers_back_applies_an_older_url(monkeypatch):
    at = open_app()
    default_steps = at.slider(key="keep.race.steps").value
    monkeypatch.setattr(urlsync, "_history_navigation", lambda: True)
    at = _two_quick_changes(at)
    assert at.slider(key="keep.race.steps").value == default_steps
    assert url_params(at).get("steps") == str(default_steps)


def test_an_old_write_is_a_new_url_again_after_a_while(monkeypatch):
    """A preset link to a URL the session wrote long ago is the visitor's choice, not a stale request."""
    at = open_app()
    default_steps = at.slider(key="keep.race.steps").value
    monkeypatch.setattr(urlsync, "STALE_SECONDS", 0.0)
    at = _two_quick_changes(at)
    assert at.slider(key="keep.race.steps").value == default_steps


def test_a_link_from_another_page_is_applied_even_if_the_session_wrote_it(monkeypatch):
    """The classic figures' preset, clicked again after the visitor changed the race: a visit, not stale."""
    at = open_app()
    before = url_params(at)
    at.slider(key="keep.race.steps").set_value(200).run()
    at.switch_page("pages/classics.py").run()
    assert not at.exception
    at.switch_page("pages/race.py")
    at.query_params.clear()
    at.query_params.update(before)
    at.run()
    assert not at.exception
    assert at.slider(key="keep.race.steps").value == int(before["steps"])


def test_a_link_to_the_same_page_is_applied_even_if_the_session_wrote_it():
    """A Data preset clicked again after a change: its link carries urlsync.LINK_PARAM (link_query)."""
    at = open_app()
    before = url_params(at)
    at.slider(key="keep.race.steps").set_value(200).run()
    at.query_params.clear()
    at.query_params.update(urlsync.link_query(before))
    at.run()
    assert not at.exception
    assert at.slider(key="keep.race.steps").value == int(before["steps"])
    assert urlsync.LINK_PARAM not in url_params(at)  # the page writes its own URL back, without the mark
    assert not [w.value for w in at.warning]  # the mark is no unknown parameter


def test_a_page_back_at_an_earlier_url_still_knows_the_ones_between_as_stale():
    """Steps 500 → 200 → 500 writes A, B, A. A request carrying A does not tell which A the browser has:
    a request carrying B may still come, and it is stale."""
    at = open_app()
    a = url_params(at)
    at.slider(key="keep.race.steps").set_value(200).run()
    b = url_params(at)
    at.slider(key="keep.race.steps").set_value(int(a["steps"])).run()
    for stale in (a, b):  # the first A, sent before B arrived; then B, sent before the second A arrived
        at.query_params.clear()
        at.query_params.update(stale)
        at.run()
        assert not at.exception
        assert at.slider(key="keep.race.steps").value == int(a["steps"])
