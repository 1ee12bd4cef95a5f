"""Contract tests for the surface catalogue: shapes, exact derivatives, minima, bounds and robustness.

Every test is parametrised over ``surfaces.available()``, so a new catalogue entry is checked
automatically. Reference values of the global minima come from the published tables (Surjanovic &
Bingham's Virtual Library of Simulation Experiments; Wikipedia "Test functions for optimization"),
not from the catalogue.
"""

from __future__ import annotations

import ast
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import surfaces

NAMES = surfaces.available()

REQUIRED = [
    "saddle", "beale", "rosenbrock", "himmelblau", "rastrigin", "ackley", "booth", "matyas",
    "goldstein_price", "six_hump_camel", "styblinski_tang", "monkey_saddle", "ravine", "two_minima",
]  # fmt: skip

# Published f* with the precision it is published to (value, absolute tolerance).
PUBLISHED_MINIMUM = {
    "beale": (0.0, 1e-12),
    "rosenbrock": (0.0, 1e-12),
    "himmelblau": (0.0, 1e-12),
    "rastrigin": (0.0, 1e-12),
    "ackley": (0.0, 1e-12),
    "booth": (0.0, 1e-12),
    "matyas": (0.0, 1e-12),
    "goldstein_price": (3.0, 1e-12),
    "six_hump_camel": (-1.0316, 5e-5),
    "styblinski_tang": (2 * -39.16617, 2e-5),  # -39.16617 per dimension (Wikipedia)
    "ravine": (0.0, 1e-12),
    # Designed for this app, so nothing to look up: numpy.roots(4x³ - 4x + 1) gives the well at
    # x = -1.10715987..., where (x² - 1)² + x = -1.05617289 (computed independently of the catalogue).
    "two_minima": (-1.05617289, 1e-8),
}

HUGE = [(1e200, 1e200), (-1e200, 1e200), (1e200, -1e200), (1e308, -1e308), (math.inf, 0.0), (math.nan, 1.0)]

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def surface(name: str) -> surfaces.Surface:
    return surfaces.get(name)  # compiled once per session: get() caches


def kinks(s: surfaces.Surface) -> np.ndarray:
    """Listed minima where f is not differentiable (Ackley's cone tip): the gradient there is not finite."""
    if not len(s.minima):
        return s.minima
    return s.minima[~np.all(np.isfinite(s.gradient(s.minima)), axis=-1)]


def point_in(s: surfaces.Surface):
    (x0, x1), (y0, y1) = s.bounds
    return st.tuples(st.floats(x0, x1), st.floats(y0, y1)).map(np.array)


def away_from_kinks(s: surfaces.Surface, p: np.ndarray, radius: float = 1e-2) -> bool:
    # Central differences with h ≈ 1e-5 err by about (h / r)² near a cone tip at distance r (Ackley's
    # origin): at r = 1e-2 that is 1e-6, within the tolerance; at r = 3e-3 hypothesis found it is not.
    k = kinks(s)
    return not len(k) or bool(np.min(np.linalg.norm(k - p, axis=1)) > radius)


def fd_gradient(s: surfaces.Surface, p: np.ndarray, h: float) -> np.ndarray:
    steps = np.array([[h, 0.0], [-h, 0.0], [0.0, h], [0.0, -h]])
    f = s.value(p + steps)
    return np.array([f[0] - f[1], f[2] - f[3]]) / (2 * h)


def fd_hessian(s: surfaces.Surface, p: np.ndarray, h: float) -> np.ndarray:
    steps = np.array([[h, 0.0], [-h, 0.0], [0.0, h], [0.0, -h]])
    g = s.gradient(p + steps)
    return np.stack([g[0] - g[1], g[2] - g[3]], axis=0) / (2 * h)  # row i: ∂/∂x_i of the gradient


# -- Catalogue and API ------------------------------------------------------------------------------


def test_required_surfaces_exist_in_display_order():
    assert set(REQUIRED) <= set(NAMES)
    assert [n for n in NAMES if n in REQUIRED] == REQUIRED


def test_unknown_name_raises_value_error_listing_valid_names():
    with pytest.raises(ValueError) as info:
        surfaces.get("nope")
    message = str(info.value)
    assert "nope" in message
    assert all(name in message for name in NAMES)


def test_surfaces_package_imports_neither_streamlit_nor_plotly():
    for path in Path(surfaces.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] in {"streamlit", "plotly"} for m in modules), path


def hessian_expressions(s: surfaces.Surface) -> list[sp.Expr]:
    return [sp.diff(g, v) for g in s.gradient_expressions for v in (surfaces.X, surfaces.Y)]


def test_at_least_one_surface_has_constant_hessian():
    # Keeps the path where lambdify returns bare scalars (constant derivatives) under test below.
    assert any(not any(e.free_symbols for e in hessian_expressions(surface(n))) for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name):
    s = surface(name)
    assert surfaces.get(name) is s
    assert s.name == name
    assert s.title.strip() and s.latex.startswith("f(x, y) =")
    assert s.description.strip() and "\n" not in s.description
    assert s.expression.free_symbols <= {surfaces.X, surfaces.Y}
    assert not s.expression.atoms(sp.Float), "write constants as exact Rationals"
    assert len(s.starts) >= 1 and s.start == s.starts[0]
    if s.log_scale:
        assert len(s.minima), "log-spaced levels need a known minimum value"


@pytest.mark.parametrize("name", NAMES)
def test_bounds_are_ordered_and_contain_minima_and_starts(name):
    s = surface(name)
    (x0, x1), (y0, y1) = s.bounds
    assert x0 < x1 and y0 < y1
    points = np.concatenate([s.all_minima, np.array(s.starts, dtype=float)])
    assert np.all((points[:, 0] > x0) & (points[:, 0] < x1) & (points[:, 1] > y0) & (points[:, 1] < y1))


# -- Shapes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(2,), (5, 2), (3, 4, 2)])
def test_output_shapes(name, shape):
    s = surface(name)
    (x0, x1), (y0, y1) = s.bounds
    pts = np.random.default_rng(0).uniform([x0, y0], [x1, y1], size=shape)
    assert s.value(pts).shape == shape[:-1]
    assert s.gradient(pts).shape == shape[:-1] + (2,)
    assert s.hessian(pts).shape == shape[:-1] + (2, 2)
    assert s.value(pts).dtype == s.gradient(pts).dtype == s.hessian(pts).dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_constant_derivatives_are_full_arrays(name):
    # lambdify returns a bare number for a constant entry (Booth's whole Hessian, Rosenbrock's f_yy = 200);
    # every entry must still come back as a full array of that constant.
    s = surface(name)
    pts = np.random.default_rng(1).uniform(-1, 1, size=(3, 4, 2))
    grad, hess = s.gradient(pts), s.hessian(pts)
    assert grad.shape == (3, 4, 2) and hess.shape == (3, 4, 2, 2)
    entries = [(grad[..., i], e) for i, e in enumerate(s.gradient_expressions)]
    entries += [(hess[..., k // 2, k % 2], e) for k, e in enumerate(hessian_expressions(s))]
    for out, expr in entries:
        if not expr.free_symbols:
            np.testing.assert_array_equal(out, np.full((3, 4), float(expr)))


@pytest.mark.parametrize("name", NAMES)
def test_grid_shapes_follow_resolution(name):
    s = surface(name)
    xs, ys, z = s.grid(resolution=17)
    assert xs.shape == ys.shape == (17,) and z.shape == (17, 17)
    (x0, x1), (y0, y1) = s.bounds
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (x0, x1, y0, y1)
    np.testing.assert_allclose(z[3, 5], s.value([xs[5], ys[3]]))
    _, _, z2 = s.grid(resolution=9, bounds=((0, 1), (0, 2)))
    assert z2.shape == (9, 9)


# -- Derivatives ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    s = surface(name)

    @FAST
    @given(point_in(s))
    def check(p):
        assume(away_from_kinks(s, p))
        h = 1e-5 * (1 + np.abs(p).max())
        g = s.gradient(p)
        scale = 1 + abs(float(s.value(p))) + np.abs(g).max()
        np.testing.assert_allclose(fd_gradient(s, p, h), g, rtol=0, atol=1e-6 * scale)

    check()


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_finite_differences_of_gradient(name):
    s = surface(name)

    @FAST
    @given(point_in(s))
    def check(p):
        assume(away_from_kinks(s, p))
        h = 1e-5 * (1 + np.abs(p).max())
        hess = s.hessian(p)
        np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-9)
        scale = 1 + np.abs(s.gradient(p)).max() + np.abs(hess).max()
        np.testing.assert_allclose(fd_hessian(s, p, h), hess, rtol=0, atol=1e-6 * scale)

    check()


@pytest.mark.parametrize("name", NAMES)
def test_scalar_functions_match_numpy(name):
    s = surface(name)

    @FAST
    @given(point_in(s))
    def check(p):
        assume(away_from_kinks(s, p))
        x, y = float(p[0]), float(p[1])
        g = s.gradient(p)
        np.testing.assert_allclose(s.scalar_gradient(x, y), g, rtol=1e-12, atol=1e-12 * (1 + np.abs(g).max()))
        np.testing.assert_allclose(s.scalar_value(x, y), s.value(p), rtol=1e-12, atol=1e-12)

    check()


@pytest.mark.parametrize("name", NAMES)
def test_xy_layout_matches_point_layout(name):
    s = surface(name)
    (x0, x1), (y0, y1) = s.bounds
    pts = np.random.default_rng(2).uniform([x0, y0], [x1, y1], size=(6, 2))
    xy = np.ascontiguousarray(pts.T)
    np.testing.assert_allclose(s.value_xy(xy), s.value(pts), rtol=1e-14)
    np.testing.assert_allclose(s.gradient_xy(xy, np.empty_like(xy)), s.gradient(pts).T, rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_huge_and_non_finite_inputs_raise_no_warnings(name):
    s = surface(name)
    pts = np.array(HUGE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s.value(pts).shape == (len(HUGE),)
        assert s.gradient(pts).shape == (len(HUGE), 2)
        assert s.hessian(pts).shape == (len(HUGE), 2, 2)
        assert s.value(HUGE[0]).shape == ()


# -- Minima -----------------------------------------------------------------------------------------


def gradient_tolerance(s: surfaces.Surface, p: np.ndarray) -> float:
    """What rounding the minimiser to doubles can leave of the gradient: ~ eps·|H|·|p|, with headroom."""
    hess = s.hessian(p)
    return 1e-12 * (1 + np.abs(hess).max()) * (1 + np.abs(p).max())


@pytest.mark.parametrize("name", NAMES)
def test_global_minima_have_the_published_value(name):
    s = surface(name)
    if not len(s.minima):
        pytest.skip("unbounded below: no minima to check")
    assert name in PUBLISHED_MINIMUM, f"add the published minimum of {name!r} to PUBLISHED_MINIMUM"
    published, tol = PUBLISHED_MINIMUM[name]
    np.testing.assert_allclose(s.minimum_values, published, rtol=0, atol=tol)
    # All global minima are equally low, to rounding.
    np.testing.assert_allclose(s.minimum_values, s.minimum_values[0], rtol=1e-12, atol=1e-12)
    assert len(np.unique(s.minima, axis=0)) == len(s.minima)


@pytest.mark.parametrize("name", NAMES)
def test_global_minima_are_stationary_and_not_saddles(name):
    s = surface(name)
    for p in s.minima:
        g = s.gradient(p)
        if np.all(np.isfinite(g)):
            assert np.abs(g).max() <= gradient_tolerance(s, p), (p, g)
            eig = np.linalg.eigvalsh(s.hessian(p))
            assert eig.min() >= -1e-9 * (1 + np.abs(eig).max()), (p, eig)
        else:  # a kink (Ackley's cone tip): lower than every point on a small circle around it
            angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
            ring = p + 1e-4 * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
            assert np.all(s.value(ring) > s.value(p))


@pytest.mark.parametrize("name", NAMES)
def test_local_minima_are_strict_and_above_the_global_value(name):
    s = surface(name)
    for p in s.local_minima:
        g = s.gradient(p)
        assert np.abs(g).max() <= gradient_tolerance(s, p), (p, g)
        assert np.linalg.eigvalsh(s.hessian(p)).min() > 0, p
    if len(s.local_minima):
        assert len(s.minima)
        assert np.all(s.value(s.local_minima) > s.minimum_values.max() + 1e-9)
    assert len(np.unique(s.all_minima, axis=0)) == len(s.all_minima)


@pytest.mark.parametrize("name", NAMES)
def test_no_point_of_the_window_is_below_the_global_minimum(name):
    s = surface(name)
    if not len(s.minima):
        pytest.skip("unbounded below")
    (x0, x1), (y0, y1) = s.bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, 301), np.linspace(y0, y1, 301))
    z = s.value(np.stack([gx, gy], axis=-1))
    f_star = s.minimum_values.min()
    assert np.nanmin(z) >= f_star - 1e-9 * (1 + abs(f_star))
