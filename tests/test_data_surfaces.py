"""Data surfaces (surfaces.data): the three models' losses and derivatives, the shipped data sets, and the
messages a visitor's data get."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surfaces
from surfaces.data import DATASETS, FOLDER, MAX_ROWS, MODELS, DataSurface, from_data, get_dataset

RNG = np.random.default_rng(7)
_X = RNG.normal(size=60)
SYNTHETIC = {
    "linear": from_data(_X, 1.5 * _X + 0.3 * RNG.normal(size=60), "linear", name="synthetic"),
    "logistic": from_data(_X, (_X + 0.8 * RNG.normal(size=60) > 0).astype(float), "logistic",
                          name="synthetic"),
    "deep_linear": from_data(_X, -0.7 * _X + 0.3 * RNG.normal(size=60), "deep_linear", name="synthetic"),
}
SURFACES = [pytest.param(s, id=f"synthetic-{m}") for m, s in SYNTHETIC.items()] + [
    pytest.param(get_dataset(d, m), id=f"{d}-{m}")
    for d in DATASETS for m in MODELS if m != "logistic" or DATASETS[d].model == "logistic"]


def numeric_gradient(f, p, h=1e-6):
    """Central differences of a scalar function of a 2-vector."""
    p = np.asarray(p, dtype=float)
    out = []
    for k in range(2):
        e = np.zeros(2)
        e[k] = h
        out.append((f(p + e) - f(p - e)) / (2 * h))
    return np.array(out)


@pytest.mark.parametrize("surface", SURFACES)
def test_gradient_equals_finite_differences(surface):
    (x0, x1), (y0, y1) = surface.bounds
    for p in [(x0 * 0.7 + x1 * 0.3, y0 * 0.4 + y1 * 0.6), surface.start, (0.31, -0.47)]:
        fd = numeric_gradient(lambda q: float(surface.value(q)), p)
        assert np.allclose(surface.gradient(p), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("surface", SURFACES)
def test_hessian_equals_finite_differences_of_the_gradient(surface):
    p = np.array([0.4, -0.9])
    fd = np.stack([numeric_gradient(lambda q, k=k: float(surface.gradient(q)[k]), p) for k in range(2)])
    assert np.allclose(surface.hessian(p), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("surface", SURFACES)
def test_sample_gradient_over_all_indices_is_the_gradient_exactly(surface):
    points = np.array([[0.2, -0.3], [1.7, 0.4], list(surface.start)])
    everyone = np.arange(surface.n_samples)
    assert np.array_equal(surface.sample_gradient(points, everyone), surface.gradient(points))
    assert np.allclose(surface.sample_loss(points, everyone), surface.value(points), rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(model=st.sampled_from(sorted(SYNTHETIC)), w=st.floats(-3, 3), b=st.floats(-3, 3),
       picks=st.lists(st.integers(0, 59), min_size=1, max_size=20))
def test_sample_gradient_is_the_mean_of_one_sample_gradients(model, w, b, picks):
    surface = SYNTHETIC[model]
    one = np.array([surface.sample_gradient((w, b), [i]) for i in picks])
    assert np.allclose(surface.sample_gradient((w, b), picks), one.mean(axis=0), rtol=1e-10, atol=1e-12)
    fd = numeric_gradient(lambda q: float(surface.sample_loss(q, picks)), (w, b))
    assert np.allclose(surface.sample_gradient((w, b), picks), fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(DATASETS))
def test_linear_minimum_is_the_exact_least_squares_solution(name):
    s = get_dataset(name, "linear")
    design = np.stack([s.x, np.ones(s.n_samples)], axis=1)
    solution, *_ = np.linalg.lstsq(design, s.y, rcond=None)
    assert s.minima.shape == (1, 2)
    assert np.allclose(s.minima[0], solution, rtol=1e-12, atol=1e-14)
    assert np.abs(s.gradient(s.minima[0])).max() < 1e-13


def test_logistic_minimum_is_stationary_and_the_loss_never_overflows():
    s = get_dataset("breast_cancer")
    assert s.model == "logistic" and s.minima.shape == (1, 2)
    assert np.abs(s.gradient(s.minima[0])).max() < 1e-12
    far = np.array([[800.0, 0.0], [-800.0, 50.0], [1e5, -1e5]])
    values = s.value(far)
    assert np.isfinite(values).all() and np.isfinite(s.gradient(far)).all()
    # log(1 + e^z) − y z with log(1 + e^z) = max(z, 0) + log1p(e^−|z|): the naive form overflows here.
    z = 800.0 * s.x
    expected = np.mean(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - s.y * z)
    assert math.isclose(values[0], expected, rel_tol=1e-12)


def test_deep_linear_has_a_saddle_at_zero_and_minima_on_the_hyperbola():
    s = get_dataset("iris", "deep_linear")
    assert np.array_equal(s.gradient((0.0, 0.0)), [0.0, 0.0])
    low, high = np.linalg.eigvalsh(s.hessian((0.0, 0.0)))
    assert low < 0 < high
    slope = float(s.x @ s.y / (s.x @ s.x))
    for w1, w2 in s.minima:
        assert math.isclose(w1 * w2, slope, rel_tol=1e-12)
        assert np.abs(s.gradient((w1, w2))).max() < 1e-12
    # Anywhere on the hyperbola is a minimum too: a valley, not a point.
    assert np.abs(s.gradient((2.0, slope / 2.0))).max() < 1e-12


def test_standardized_arrays_are_exposed_read_only_and_the_loss_uses_them():
    s = get_dataset("diabetes")
    raw_x, raw_y = np.loadtxt(FOLDER / DATASETS["diabetes"].file, delimiter=",", skiprows=1, unpack=True)
    (mx, sx), (my, sy) = s.standardization
    assert np.allclose(s.x, (raw_x - mx) / sx) and np.allclose(s.y, (raw_y - my) / sy)
    assert abs(s.x.mean()) < 1e-12 and math.isclose(s.x.std(), 1.0, rel_tol=1e-12)
    with pytest.raises(ValueError):
        s.x[0] = 1.0
    loss = float(np.mean((0.5 * s.x + 0.1 - s.y) ** 2))
    assert math.isclose(float(s.value((0.5, 0.1))), loss, rel_tol=1e-12)
    logistic = get_dataset("breast_cancer")
    assert set(np.unique(logistic.y)) == {0.0, 1.0}  # labels are never standardized


def test_the_api_names_and_natural_models():
    assert surfaces.datasets() == ["iris", "diabetes", "breast_cancer"]
    assert [surfaces.get_dataset(d).model for d in surfaces.datasets()] == ["linear", "linear", "logistic"]
    s = surfaces.get_dataset("iris")
    assert isinstance(s, surfaces.DataSurface) and isinstance(s, surfaces.Surface)
    assert surfaces.get_dataset("iris") is s  # cached and shared
    assert s.n_samples == 150 and s.title == "Iris petals · Linear regression"
    assert surfaces.from_data([1, 2, 3], [2, 4, 7], "linear", name="mine").name == "mine"
    with pytest.raises(ValueError, match="Unknown data set 'nope'"):
        surfaces.get_dataset("nope")
    with pytest.raises(ValueError, match="Unknown model 'cubic'"):
        surfaces.get_dataset("iris", "cubic")


def test_every_shipped_file_has_its_source_and_licence():
    sources = (FOLDER / "SOURCES.md").read_text()
    assert (FOLDER / "LICENSE-scikit-learn.txt").read_text().startswith("BSD 3-Clause License")
    for d in DATASETS.values():
        assert f"`{d.file}`" in sources
        rows = (FOLDER / d.file).read_text().strip().splitlines()
        assert len(rows) - 1 == get_dataset(d.name).n_samples <= MAX_ROWS
    assert sorted(p.name for p in Path(FOLDER).glob("*.csv")) == sorted(d.file for d in DATASETS.values())


BAD_DATA = [
    ([1.0], [2.0], "linear", "At least 2 rows are needed (got 1)"),
    ([1.0, 2.0, 3.0], [2.0, 3.0], "linear", "x and y must have the same length (3 and 2)"),
    ([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0], "linear", "x has a value that is not a finite number"),
    ([1.0, 2.0, 3.0], [1.0, float("inf"), 3.0], "linear", "y has a value that is not a finite number"),
    ([4.0, 4.0, 4.0], [1.0, 2.0, 3.0], "linear", "x is constant"),
    ([1.0, 2.0, 3.0], [5.0, 5.0, 5.0], "linear", "y is constant"),
    ([1.0, 2.0, 3.0], [0.0, 1.0, 2.0], "logistic", "logistic needs labels 0 and 1 in y; found 2"),
    ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], "logistic", "logistic needs both labels 0 and 1 in y; all are 1"),
    (["a", "b"], [1.0, 2.0], "linear", "x must be numbers"),
    (np.arange(MAX_ROWS + 1.0), np.arange(MAX_ROWS + 1.0), "linear", "At most 10,000 rows (got 10,001)"),
    ([1.0, 2.0], [1.0, 2.0], "quadratic", "Unknown model 'quadratic'"),
]


@pytest.mark.parametrize(("x", "y", "model", "message"), BAD_DATA, ids=[b[3][:30] for b in BAD_DATA])
def test_bad_data_get_a_plain_message(x, y, model, message):
    with pytest.raises(ValueError) as info:
        from_data(x, y, model)
    assert str(info.value).startswith(message)


def test_the_contour_grid_is_computed_once_and_a_large_logistic_grid_is_close():
    rng = np.random.default_rng(1)
    x = rng.normal(size=MAX_ROWS)
    s = from_data(x, (x + rng.normal(size=MAX_ROWS) > 0).astype(float), "logistic")
    xs, ys, z = s.grid(40)
    assert len(s._grids) == 1
    again = s.grid(40)
    assert len(s._grids) == 1 and np.array_equal(again[2], z)
    z[0, 0] = -1.0  # a caller's copy: the cached grid is untouched
    assert s.grid(40)[2][0, 0] != -1.0
    gx, gy = np.meshgrid(xs, ys)
    exact = s.value(np.stack([gx, gy], axis=-1))
    assert np.allclose(again[2], exact, rtol=2e-3)  # binned x: a picture, never a path


def test_data_surfaces_have_no_formula_and_say_what_they_are():
    s = get_dataset("breast_cancer")
    assert s.program is None and s.expression is None
    assert "DataSurface('breast_cancer-logistic'" in repr(s)
    assert isinstance(s, DataSurface) and s.latex.startswith("L(w, b)")
