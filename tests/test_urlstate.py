"""The one URL codec (``lab.urlstate``): what a page writes for a run, every page reads back unchanged."""

from __future__ import annotations

import pytest

import optimizers
import surfaces
from lab import urlstate


def test_a_run_written_by_one_page_reads_back_exactly():
    hyper = {"adam": {"lr": 1 / 3, "beta1": 0.8, "beta2": 0.999, "eps": 1e-8},
             "nag": {"lr": 0.0123456789, "momentum": 0.95}}
    params = urlstate.run_params(["adam", "nag"], 300, (0.1, -2.5), hyper)
    assert list(params)[:3] == ["optimizers", "steps", "start"]
    # The learning rate always (a page would use its per-surface preset otherwise); other values only where
    # they differ from the published defaults.
    assert params == {"optimizers": "adam,nag", "steps": "300", "start": "0.1,-2.5", "lr_adam": repr(1 / 3),
                      "beta1_adam": "0.8", "lr_nag": "0.0123456789", "momentum_nag": "0.95"}
    parsers = urlstate.run_parsers(5000)
    read = {key: parsers[key](text) for key, text in params.items()}
    assert read["optimizers"] == ["adam", "nag"] and read["steps"] == 300 and read["start"] == (0.1, -2.5)
    assert read["lr_adam"] == 1 / 3 and read["beta1_adam"] == 0.8 and read["momentum_nag"] == 0.95


def test_every_hyperparameter_of_every_optimizer_has_a_parser():
    parsers = urlstate.hyperparameter_parsers()
    expected = {f"{p.name}_{name}" for name in optimizers.available()
                for p in optimizers.get(name).hyperparameters}
    assert set(parsers) == expected
    assert set(urlstate.run_parsers(10)) == expected | {"optimizers", "steps", "start"}
    assert parsers["momentum_nag"]("0.5") == 0.5
    with pytest.raises(ValueError, match="outside 0"):
        parsers["momentum_nag"]("1.5")


def test_the_steps_limit_is_the_pages():
    assert urlstate.run_parsers(2000)["steps"]("2000") == 2000
    with pytest.raises(ValueError, match="outside 1 … 2000"):
        urlstate.run_parsers(2000)["steps"]("2001")


def test_all_optimizers_and_bounds_round_trip():
    assert urlstate.run_params(optimizers.available(), 10, (0, 0), {})["optimizers"] == "all"
    assert urlstate.format_bounds(((-2.0, 2.0), (-1.5, 3.0))) == "-2,2,-1.5,3"
    assert urlstate.parse_bounds(urlstate.format_bounds(((-2.0, 2.0), (-1.5, 3.0)))) == (-2, 2, -1.5, 3)


def test_surface_names_come_from_the_catalogue():
    assert urlstate.parse_surface(" Beale ") == "beale"
    with pytest.raises(ValueError, match="is not one of"):
        urlstate.parse_surface("nope")
    assert all(urlstate.parse_surface(name) == name for name in surfaces.available())


def test_links_are_written_in_one_place_and_read_back():
    params = urlstate.race_params("saddle", ["sgd", "adam"], 200, (1.0, 0.001), {"adam": {"lr": 0.1}})
    assert urlstate.link("/", params) == ("/?surface=saddle&optimizers=sgd,adam&steps=200&start=1,0.001"
                                          "&lr_adam=0.1")
    assert urlstate.link("/explain", {}) == "/explain"
    query = urlstate.query_string({"expr": "x^2 + y", "bounds": "-1,1,-1,1"})
    assert query == "expr=x%5E2+%2B+y&bounds=-1,1,-1,1"


@pytest.mark.parametrize("settings", [
    {"lr": 0.1}, {"lr": 0.1, "beta1": 0.8, "lr_schedule": "cosine", "noise": 0.5, "seed": 7},
    {**optimizers.defaults("adam"), "lr": 1e-5},
])
def test_the_explainers_parameters_read_back_exactly(settings):
    params = urlstate.explain_params("adam", "saddle", 300, (1 / 3, -2.5), settings, t=17)
    parsers = urlstate.explain_parsers(5000)
    read = {key: parsers[key](text) for key, text in params.items()}
    assert read["optimizer"] == "adam" and read["surface"] == "saddle" and read["t"] == 17
    assert read["steps"] == 300 and read["start"] == (1 / 3, -2.5)
    for key, value in settings.items():
        name = key if key in optimizers.RUN_OPTIONS else urlstate.hyperparameter_key("adam", key)
        if key in optimizers.RUN_OPTIONS or key == "lr" or value != optimizers.defaults("adam")[key]:
            assert read[name] == value, key
        else:
            assert name not in read  # a published default is left out
