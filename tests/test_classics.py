"""Classic figures: every preset names valid things, and its URL sets up exactly that race on the Race
page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import optimizers
import surfaces
from lab import classics, urlstate
from lab.race import MAX_STEPS
from tests.app_helpers import url_params

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
LINKS = classics.race_links()
LINK_IDS = [f"{c.slug}-{i}" for c in classics.CLASSICS for i in range(len(c.links))]


def test_classics_cover_the_figures_of_the_issue():
    slugs = [c.slug for c in classics.CLASSICS]
    assert slugs == ["radford-beale", "radford-saddle", "monkey-saddle", "momentum-vs-nag", "two-minima",
                     "learning-rates", "newton-saddle", "newton-rosenbrock", "cost-of-curvature"]
    assert len(set(slugs)) == len(slugs)
    assert classics.classic("momentum-vs-nag").title
    with pytest.raises(ValueError, match="Unknown classic"):
        classics.classic("nope")
    for c in classics.CLASSICS:
        assert c.title and c.watch and c.source and (c.links or c.table)


def test_newton_walks_into_the_saddle_while_saddle_free_newton_and_adam_escape():
    (link,) = classics.classic("newton-saddle").links
    saddle = surfaces.get(link.surface)
    assert link.surface == "saddle" and {"newton", "saddle_free_newton", "adam"} <= set(link.optimizers)
    runs = {n: optimizers.run(n, saddle, link.start, link.steps, **link.hyperparameters_of(n))
            for n in link.optimizers}
    assert (runs["newton"].points[1:] == 0.0).all()  # onto the saddle at step 1, and there for good
    for name in ("saddle_free_newton", "adam"):
        path = runs[name]
        assert np.abs(path.points[:, 1]).max() > 1.0, name  # down the y direction, away from the saddle


def test_newton_on_rosenbrock_arrives_in_six_steps_and_sgd_is_still_in_the_valley():
    (link,) = classics.classic("newton-rosenbrock").links
    rosenbrock = surfaces.get(link.surface)
    assert link.start == (-1.2, 1.0)
    newton = optimizers.run("newton", rosenbrock, link.start, link.steps, **link.hyperparameters_of("newton"))
    assert np.abs(newton.points[6] - 1.0).max() <= 1e-8
    sgd = optimizers.run("sgd", rosenbrock, link.start, link.steps, **link.hyperparameters_of("sgd"))
    assert sgd.diverged_at is None and np.linalg.norm(sgd.points[-1] - 1.0) > 0.1


def test_the_cost_of_curvature_table_names_the_orders_of_growth():
    header, *rows = classics.classic("cost-of-curvature").table
    text = " ".join(" ".join(r) for r in rows)
    assert header[2] == "Newton" and "O(d)" in text and "O(d²)" in text and "O(d³)" in text
    assert all(len(r) == len(header) for r in rows)


def test_radford_races_are_radfords_six_from_the_suggested_start_and_the_saddle_adds_the_adam_family():
    for slug, surface, names in (("radford-beale", "beale", classics.RADFORD_SIX),
                                 ("radford-saddle", "saddle", classics.FIRST_ORDER_TEN)):
        (link,) = classics.classic(slug).links
        assert link.surface == surface
        assert link.optimizers == names
        assert link.start == surfaces.get(surface).start
    assert classics.FIRST_ORDER_TEN == tuple(n for n in optimizers.available()
                                             if not optimizers.get(n).second_order)


def test_saddle_rates_are_the_saddle_presets():
    from lab import presets

    tuned = presets.surface_presets("saddle")
    assert classics.SADDLE_RATES == {n: tuned[n]["lr"] for n in classics.FIRST_ORDER_TEN}


def test_momentum_vs_nag_shares_start_rate_and_momentum_095_and_nag_oscillates_less():
    (link,) = classics.classic("momentum-vs-nag").links
    assert link.optimizers == ("momentum", "nag")
    assert link.hyperparameters_of("momentum") == link.hyperparameters_of("nag")
    assert link.hyperparameters_of("nag")["momentum"] == 0.95
    surface = surfaces.get(link.surface)
    lengths = {}
    for name in link.optimizers:
        path = optimizers.run(name, surface, link.start, link.steps, **link.hyperparameters_of(name))
        assert path.diverged_at is None
        lengths[name] = float(np.linalg.norm(np.diff(path.points, axis=0), axis=1).sum())
    assert lengths["nag"] < 0.8 * lengths["momentum"]  # the watch-for text: a path about a third shorter


def test_two_minima_race_only_momentum_and_nag_reach_the_global_minimum():
    (link,) = classics.classic("two-minima").links
    assert link.surface == "two_minima"
    surface = surfaces.get(link.surface)
    for name in link.optimizers:
        path = optimizers.run(name, surface, link.start, link.steps, **link.hyperparameters_of(name))
        in_global_well = path.points[-1, 0] < 0
        assert in_global_well == (name in ("momentum", "nag")), name


def test_learning_rate_comparison_differs_only_in_the_learning_rate():
    links = classics.classic("learning-rates").links
    assert len(links) == 3
    rates = []
    for link in links:
        assert (link.surface, link.optimizers, link.steps, link.start) == (
            links[0].surface, links[0].optimizers, links[0].steps, links[0].start)
        assert link.hyperparameters_of("adadelta") == {"lr": 1.0}
        rates.append(link.hyperparameters_of("sgd")["lr"])
    assert rates == [0.001, 0.01, 0.1]


@pytest.mark.parametrize("link", LINKS, ids=LINK_IDS)
def test_every_preset_names_only_valid_things(link):
    assert link.surface in surfaces.available()
    assert link.optimizers and set(link.optimizers) <= set(optimizers.available())
    assert 1 <= link.steps <= MAX_STEPS
    (x0, x1), (y0, y1) = surfaces.get(link.surface).bounds
    assert x0 <= link.start[0] <= x1 and y0 <= link.start[1] <= y1
    assert {name for name, _ in link.hyperparameters} == set(link.optimizers)
    for name in link.optimizers:
        hyper = link.hyperparameters_of(name)
        assert "lr" in hyper
        for key, value in hyper.items():
            p = optimizers.get(name).hyperparameter(key)
            assert p.is_valid(value) and p.ui_min <= value <= p.ui_max, (name, key, value)
        optimizers.settings(name, link.steps, **hyper)  # the core accepts them too


@pytest.mark.parametrize("link", LINKS, ids=LINK_IDS)
def test_url_is_the_query_in_the_race_pages_format(link):
    query = dict(parse_qsl(link.query_string(), keep_blank_values=True))
    assert query == link.query()
    assert urlstate.parse_choice(query["surface"], surfaces.available()) == link.surface
    assert tuple(urlstate.parse_optimizers(query["optimizers"])) == link.optimizers
    assert urlstate.parse_int(query["steps"], 1, MAX_STEPS) == link.steps
    assert urlstate.parse_point(query["start"]) == link.start
    for name in link.optimizers:
        for key, value in link.hyperparameters_of(name).items():
            text = query[urlstate.hyperparameter_key(name, key)]
            assert urlstate.parse_hyperparameter(name, key, text) == value


@pytest.mark.parametrize("link", LINKS, ids=LINK_IDS)
def test_preset_url_loads_its_settings_on_the_race_page(link):
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in link.query().items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]
    state = at.session_state
    assert state["keep.race.surface"] == link.surface
    assert state["keep.race.optimizers"] == list(link.optimizers)
    assert state["keep.race.steps"] == link.steps
    assert (state["keep.race.start.x"], state["keep.race.start.y"]) == link.start
    for name in link.optimizers:
        for key, value in link.hyperparameters_of(name).items():
            assert state[f"keep.race.hp.{name}.{key}"] == value, (name, key)


def test_classics_page_links_every_preset():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/classics.py")
    at.run()
    assert not at.exception
    assert not at.warning
    table = at.table[0].value  # the cost of curvature
    assert list(table.columns) == list(classics.classic("cost-of-curvature").table[0])
    codes = [c.value for c in at.code]
    for link in LINKS:  # root-relative without a browser (AppTest); absolute in one (test_browser_learn)
        assert "/?" + link.query_string() in codes
    page_links = list(at.get("page_link"))
    # A page is named by the hash of its URL path (the Race page is the default page, served at "/").
    race_links = [p for p in page_links if p.proto.page_script_hash == calc_hash("race")]
    assert len(race_links) == len(LINKS)
    for element, link in zip(race_links, LINKS, strict=True):
        assert dict(parse_qsl(element.proto.query_string)) == link.query()
    atlas_links = [p for p in page_links if p.proto.page_script_hash == calc_hash("atlas")]
    if _atlas_in_navigation():
        assert len(atlas_links) == 1
        assert dict(parse_qsl(atlas_links[0].proto.query_string)) == classics.ATLAS_LR_QUERY
        assert "/atlas?" + urlstate.query_string(classics.ATLAS_LR_QUERY) in codes
    else:  # no Atlas page in the navigation: no link to it, and no error
        assert not atlas_links


def _atlas_in_navigation() -> bool:
    return (ROOT / classics.ATLAS_PAGE).exists() and classics.ATLAS_PAGE in (ROOT / "app.py").read_text()


@pytest.mark.skipif(not _atlas_in_navigation(), reason="the Atlas page is not in the navigation")
def test_atlas_link_opens_the_learning_rate_view_without_warnings():
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in classics.ATLAS_LR_QUERY.items():
        at.query_params[key] = value
    at.switch_page(classics.ATLAS_PAGE)
    at.run()
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]
    flat = url_params(at)
    for key in ("surface", "optimizers", "steps", "start", "view", "lrs"):
        assert flat[key] == classics.ATLAS_LR_QUERY[key], key
