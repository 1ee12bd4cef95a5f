"""Race, Custom and Atlas pages: a refused learning rate or start says why next to its field, and the page
keeps computing with the last accepted value (issue 18, item 5)."""

from __future__ import annotations

import pytest

from lab import presets
from tests.app_helpers import open_app, open_container, url_params

PAGES = [(None, "race", {"surface": "beale", "optimizers": "sgd,adam", "steps": "50"}),
         ("pages/atlas.py", "atlas", {"surface": "himmelblau", "optimizers": "sgd,adam", "steps": "20",
                                      "grid": "32"})]


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.parametrize(("page", "prefix", "query"), PAGES, ids=[p[1] for p in PAGES])
def test_a_refused_learning_rate_says_why_and_the_last_one_stays(page, prefix, query):
    at = open_app(page, **query)
    assert not at.exception and not _errors(at)
    surface = query["surface"]
    lr = presets.surface_presets(surface)["sgd"]["lr"]
    open_container(at, f"keep.{prefix}.hp_open")
    at.number_input(key=f"keep.{prefix}.hp.sgd.lr").set_value(1e6).run()
    assert not at.exception
    messages = _errors(at)
    assert any("1e6 is refused" in m and "learning rate" in m and "Using" in m for m in messages), messages
    assert float(url_params(at)["lr_sgd"]) == lr
    at.number_input(key=f"keep.{prefix}.hp.sgd.lr").set_value(lr / 2).run()
    assert not at.exception and not _errors(at)
    assert float(url_params(at)["lr_sgd"]) == lr / 2


def test_a_refused_start_says_why_and_the_race_keeps_its_start():
    at = open_app(None, surface="beale", optimizers="adam", steps="50", start="1,1.5")
    at.number_input(key="keep.race.start.x").set_value(5e6).run()
    assert not at.exception
    assert any("is refused" in m and "start" in m for m in _errors(at)), _errors(at)
    assert url_params(at)["start"] == "1,1.5"
