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
