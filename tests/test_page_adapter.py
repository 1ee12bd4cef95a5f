"""ui/page.py's adapter over Streamlit's private ``PagesManager.uses_pages_directory``.

These tests fail loudly when a Streamlit upgrade renames the switch or changes what it means: who sets it
(a fresh server decides from the ``pages/`` folder, ``st.navigation`` turns it off), and that the script
runner follows it (running a page file on its own while it is on).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from ui import page

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def switch():
    saved = PagesManager.uses_pages_directory
    yield page.LegacyPagesSwitch
    PagesManager.uses_pages_directory = saved


def test_the_switch_still_exists_with_its_type():
    assert page.ATTRIBUTE in vars(PagesManager), "Streamlit renamed PagesManager.uses_pages_directory"
    assert inspect.get_annotations(PagesManager)[page.ATTRIBUTE] in ("bool | None", bool | None)


@pytest.mark.parametrize("with_pages_folder", [True, False])
def test_a_fresh_server_decides_it_from_the_pages_folder(tmp_path, switch, with_pages_folder):
    main = tmp_path / "main.py"
    main.write_text("")
    if with_pages_folder:
        (tmp_path / "pages").mkdir()
    PagesManager.uses_pages_directory = None  # a fresh server
    PagesManager(str(main))
    assert switch.is_on() is with_pages_folder


def test_st_navigation_turns_it_off_and_so_does_the_adapter(switch):
    PagesManager.uses_pages_directory = None
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert PagesManager.uses_pages_directory is False  # set by app.py's st.navigation
    PagesManager.uses_pages_directory = True
    switch.turn_off()
    assert PagesManager.uses_pages_directory is False and not switch.is_on()


def test_the_script_runner_follows_it():
    """While the switch is on, Streamlit runs the page file alone (the old layout); that is why pages call
    use_app_navigation first."""
    source = inspect.getsource(script_runner)
    assert "if PagesManager.uses_pages_directory:" in source
    assert "_mpa_v1(" in source.split("if PagesManager.uses_pages_directory:", 1)[1][:200]


def test_use_app_navigation_turns_it_off_and_reruns(switch, monkeypatch):
    reruns = []
    monkeypatch.setattr(page.st, "rerun", lambda: reruns.append(True))
    PagesManager.uses_pages_directory = True
    page.use_app_navigation()
    assert reruns == [True] and PagesManager.uses_pages_directory is False
    page.use_app_navigation()  # already off: nothing to do
    assert reruns == [True]


def test_turning_off_a_missing_switch_is_loud(monkeypatch):
    class Renamed:
        pass

    monkeypatch.setattr(page.LegacyPagesSwitch, "owner", Renamed)
    with pytest.raises(RuntimeError, match="uses_pages_directory"):
        page.LegacyPagesSwitch.turn_off()
