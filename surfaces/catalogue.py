"""The catalogue: classic 2-D test functions for racing optimizers, each written once as a SymPy expression.

Definitions, recommended domains and minima were checked against two published tables:

* S. Surjanovic and D. Bingham, *Virtual Library of Simulation Experiments: Test Functions and Datasets*,
  Simon Fraser University (https://www.sfu.ca/~ssurjano/optimization.html);
* Wikipedia, "Test functions for optimization"
  (https://en.wikipedia.org/wiki/Test_functions_for_optimization).

Four entries are not from those tables: the saddle x² − y² and the monkey saddle x³ − 3xy² (textbook
critical points with nothing below them), and two teaching surfaces designed here, an ill-conditioned
ravine and a tilted double well with one local and one global minimum.

Conventions:

* constants are exact (``sp.Rational``, ``sp.pi``, ``sp.E``), so derivatives are exact too;
* minima are exact where a closed form exists; otherwise they are real roots of a polynomial, held exactly
  by SymPy as ``CRootOf``, evaluated to 30 digits and rounded to doubles once, when the factory runs
  (``_root`` and ``_num``), so they are correct to full double precision;
* ``minima`` lists every global minimiser, ``local_minima`` the known non-global ones (left empty for
  Rastrigin and Ackley, whose local minima form a lattice of dozens in the window);
* the first start is the default; starts were chosen by simulating gradient descent, Momentum, NAG,
  Adagrad, RMSprop and Adam from them, so that the optimizers visibly disagree.

A factory takes no arguments and builds its Surface (compiling costs 0.05–1 s); ``surfaces.get`` caches it.
This module must not import streamlit or plotly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import sympy as sp

from surfaces.base import Surface, X, Y

R = sp.Rational
_T = sp.Symbol("t", real=True)  # variable of the auxiliary univariate polynomials


@lru_cache(maxsize=None)
def _real_roots(polynomial: sp.Expr) -> tuple[sp.Expr, ...]:
    return tuple(sp.real_roots(sp.Poly(polynomial, _T)))


def _root(polynomial: sp.Expr, near: float) -> sp.Expr:
    """The exact real root (a ``CRootOf``) of ``polynomial`` in ``_T`` that lies nearest to ``near``.

    ``near`` is a published approximation used only to pick the root; precision comes from ``_num``.
    """
    return min(_real_roots(polynomial), key=lambda r: abs(float(r.evalf(6)) - near))


def _num(value: sp.Expr) -> float:
    """An exact SymPy number evaluated to 30 digits, then rounded once to the nearest double."""
    return float(sp.N(value, 30))


# -- 1. saddle ---------------------------------------------------------------------------------------


def saddle() -> Surface:
    return Surface(
        name="saddle",
        title="Saddle point",
        expression=X**2 - Y**2,
        latex=r"f(x, y) = x^2 - y^2",
        bounds=((-1.5, 1.5), (-1.5, 1.5)),
        minima=[],  # unbounded below along the y axis
        # Just off the ridge y = 0: the y-gradient is tiny, so plain gradient descent first slides to the
        # saddle and lingers there, while adaptive methods rescale the tiny component and escape at once.
        starts=((1.0, 1e-3), (-1.0, -0.25)),
        description="A saddle at the origin: the gradient vanishes but it is no minimum; who escapes first?",
    )


# -- 2. Beale ----------------------------------------------------------------------------------------


def beale() -> Surface:
    bracket = [R(3, 2), R(9, 4), R(21, 8)]
    expression = sum((c - X + X * Y**k) ** 2 for k, c in enumerate(bracket, start=1))
    return Surface(
        name="beale",
        title="Beale",
        expression=expression,
        latex=r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        bounds=((-4.5, 4.5), (-4.5, 4.5)),
        minima=[(3, R(1, 2))],
        starts=((1.0, 1.5), (-1.0, -1.0)),
        log_scale=True,
        description="Flat plateaus and sharp ridges around a narrow curved valley leading to (3, 0.5).",
    )


# -- 3. Rosenbrock -----------------------------------------------------------------------------------


def rosenbrock() -> Surface:
    return Surface(
        name="rosenbrock",
        title="Rosenbrock",
        expression=(1 - X) ** 2 + 100 * (Y - X**2) ** 2,
        latex=r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
        bounds=((-2.0, 2.0), (-1.0, 3.0)),
        minima=[(1, 1)],
        starts=((-1.5, 2.0), (-1.2, 1.0)),  # the second is the textbook start of Rosenbrock (1960)
        log_scale=True,
        description="The banana valley: easy to find, slow to follow along its almost flat floor to (1, 1).",
    )


# -- 4. Himmelblau -----------------------------------------------------------------------------------


def himmelblau() -> Surface:
    # Every minimum makes both squares vanish: y = 11 - x² and x + y² = 7, so x solves
    # x⁴ - 22x² + x + 114 = (x - 3)(x³ + 3x² - 13x - 38) = 0. Three of the roots are irrational.
    cubic = _T**3 + 3 * _T**2 - 13 * _T - 38
    roots = [_root(cubic, a) for a in (-2.805118, -3.779310, 3.584428)]
    minima = [(3, 2)] + [(_num(r), _num(11 - r**2)) for r in roots]
    return Surface(
        name="himmelblau",
        title="Himmelblau",
        expression=(X**2 + Y - 11) ** 2 + (X + Y**2 - 7) ** 2,
        latex=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        minima=minima,
        starts=((-0.3, -0.9), (0.0, 0.0)),
        log_scale=True,
        description="Four equally deep minima: which one an optimizer picks depends on how it steps.",
    )


# -- 5. Rastrigin ------------------------------------------------------------------------------------


def rastrigin() -> Surface:
    a = 10
    expression = 2 * a + sum(v**2 - a * sp.cos(2 * sp.pi * v) for v in (X, Y))
    return Surface(
        name="rastrigin",
        title="Rastrigin",
        expression=expression,
        latex=r"f(x, y) = 20 + x^2 - 10\cos(2\pi x) + y^2 - 10\cos(2\pi y)",
        bounds=((-5.12, 5.12), (-5.12, 5.12)),
        minima=[(0, 0)],
        starts=((4.45, 1.35), (-2.4, 4.6)),
        description="A bowl covered in an egg-box of local minima: most optimizers get stuck in a dimple.",
    )


# -- 6. Ackley ---------------------------------------------------------------------------------------


def ackley() -> Surface:
    a, b, c = 20, R(1, 5), 2 * sp.pi
    expression = (
        -a * sp.exp(-b * sp.sqrt((X**2 + Y**2) / 2)) - sp.exp((sp.cos(c * X) + sp.cos(c * Y)) / 2) + a + sp.E
    )
    return Surface(
        name="ackley",
        title="Ackley",
        expression=expression,
        latex=(
            r"f(x, y) = -20\exp\!\left(-0.2\sqrt{\tfrac{1}{2}(x^2 + y^2)}\right)"
            r" - \exp\!\left(\tfrac{1}{2}(\cos 2\pi x + \cos 2\pi y)\right) + e + 20"
        ),
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        # A cone tip: f is not differentiable at the minimum; its gradient there is NaN (NumPy) or raises
        # ZeroDivisionError (scalar_gradient).
        minima=[(0, 0)],
        starts=((-2.6, 1.6), (-1.4, 3.4)),
        description="A nearly flat, rippled plain around one deep funnel at the origin.",
    )


# -- 7. Booth ----------------------------------------------------------------------------------------


def booth() -> Surface:
    return Surface(
        name="booth",
        title="Booth",
        expression=(X + 2 * Y - 7) ** 2 + (2 * X + Y - 5) ** 2,
        latex=r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
        bounds=((-10.0, 10.0), (-10.0, 10.0)),
        minima=[(1, 3)],
        starts=((-8.0, -9.0), (8.0, -8.0)),
        description="A tilted quadratic bowl (condition number 9): the easy warm-up.",
    )


# -- 8. Matyas ---------------------------------------------------------------------------------------


def matyas() -> Surface:
    return Surface(
        name="matyas",
        title="Matyas",
        expression=R(26, 100) * (X**2 + Y**2) - R(48, 100) * X * Y,
        latex=r"f(x, y) = 0.26\,(x^2 + y^2) - 0.48\,xy",
        bounds=((-10.0, 10.0), (-10.0, 10.0)),
        minima=[(0, 0)],
        starts=((-7.0, 9.0), (8.0, 2.0)),
        description="A bowl stretched along the diagonal (condition number 25): the last stretch is slow.",
    )


# -- 9. Goldstein–Price ------------------------------------------------------------------------------


def goldstein_price() -> Surface:
    first = 1 + (X + Y + 1) ** 2 * (19 - 14 * X + 3 * X**2 - 14 * Y + 6 * X * Y + 3 * Y**2)
    second = 30 + (2 * X - 3 * Y) ** 2 * (18 - 32 * X + 12 * X**2 + 48 * Y - 36 * X * Y + 27 * Y**2)
    return Surface(
        name="goldstein_price",
        title="Goldstein–Price",
        expression=first * second,
        latex=(
            r"f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
            r" \left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"
        ),
        bounds=((-2.0, 2.0), (-2.0, 2.0)),
        minima=[(0, -1)],  # f = 3
        # Exact local minima (gradient zero, Hessian positive definite), f = 30, 84 and 840.
        local_minima=[(R(-3, 5), R(-2, 5)), (R(9, 5), R(1, 5)), (R(6, 5), R(4, 5))],
        starts=((1.5, -0.9), (-1.7, 0.35)),
        log_scale=True,
        description="Values spanning six orders of magnitude, with three local minima beside the global one.",
    )


# -- 10. Six-hump camel ------------------------------------------------------------------------------


def six_hump_camel() -> Surface:
    # ∂f/∂x = 0 gives y = -(2x⁵ - 8.4x³ + 8x); putting that into ∂f/∂y = x - 8y + 16y³ = 0 leaves one
    # polynomial of degree 15 in x whose real roots are the x-coordinates of all fifteen critical points.
    y_of_x = -(2 * _T**5 - R(42, 5) * _T**3 + 8 * _T)
    critical = sp.expand(_T - 8 * y_of_x + 16 * y_of_x**3)

    def point(x_approx: float) -> tuple[float, float]:
        x = _root(critical, x_approx)
        return _num(x), _num(y_of_x.subs(_T, x))

    minima = [point(0.0898), point(-0.0898)]  # f = -1.0316...
    local = [point(1.7036), point(-1.7036), point(1.6071), point(-1.6071)]  # f = -0.2155..., 2.1043...
    return Surface(
        name="six_hump_camel",
        title="Six-hump camel",
        expression=(4 - R(21, 10) * X**2 + X**4 / 3) * X**2 + X * Y + (-4 + 4 * Y**2) * Y**2,
        latex=r"f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (-4 + 4y^2)\,y^2",
        bounds=((-2.0, 2.0), (-1.0, 1.0)),
        minima=minima,
        local_minima=local,
        starts=((-1.9, -0.85), (1.2, 0.95)),
        description="Six minima, two of them global, separated by low passes.",
    )


# -- 11. Styblinski–Tang -----------------------------------------------------------------------------


def styblinski_tang() -> Surface:
    # Each coordinate minimises ½(t⁴ - 16t² + 5t) on its own: 4t³ - 32t + 5 = 0 has the global root
    # t ≈ -2.9035 and the local root t ≈ 2.7468 (the middle root is a maximum).
    cubic = 4 * _T**3 - 32 * _T + 5
    low, high = _num(_root(cubic, -2.9)), _num(_root(cubic, 2.75))
    return Surface(
        name="styblinski_tang",
        title="Styblinski–Tang",
        expression=sum(v**4 - 16 * v**2 + 5 * v for v in (X, Y)) / 2,
        latex=r"f(x, y) = \tfrac{1}{2}\left(x^4 - 16x^2 + 5x + y^4 - 16y^2 + 5y\right)",
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[(low, low)],  # f = -78.33233...
        local_minima=[(low, high), (high, low), (high, high)],
        starts=((-3.0, 4.7), (4.4, 4.8)),
        description="Four basins of unequal depth; the deepest is in the lower-left corner.",
    )


# -- 12. Monkey saddle -------------------------------------------------------------------------------


def monkey_saddle() -> Surface:
    return Surface(
        name="monkey_saddle",
        title="Monkey saddle",
        expression=X**3 - 3 * X * Y**2,
        latex=r"f(x, y) = x^3 - 3xy^2",
        bounds=((-1.5, 1.5), (-1.5, 1.5)),
        minima=[],  # unbounded below along three valleys
        starts=((1.2, 0.02), (-0.6, 1.0)),
        description="A degenerate saddle with three downhill valleys (room for a monkey's tail).",
    )


# -- 13. Ravine --------------------------------------------------------------------------------------


def ravine() -> Surface:
    return Surface(
        name="ravine",
        title="Ill-conditioned ravine",
        expression=X**2 / 20 + 5 * Y**2,
        latex=r"f(x, y) = \tfrac{1}{20}x^2 + 5y^2",
        bounds=((-10.0, 10.0), (-4.0, 4.0)),
        minima=[(0, 0)],
        # Curvatures 0.1 and 10 (condition number 100): steps that suit the steep y walls crawl along x.
        starts=((-9.0, 2.0), (8.0, -3.0)),
        description="A long narrow valley: gradient descent zig-zags across it, momentum runs along it.",
    )


# -- 14. Two minima ----------------------------------------------------------------------------------


def two_minima() -> Surface:
    # A double well tilted towards -x: ∂f/∂x = 4x³ - 4x + 1 = 0 has roots ≈ -1.1072 (global minimum,
    # f ≈ -1.056), 0.2696 (the pass, f ≈ 1.13) and 0.8376 (local minimum, f ≈ 0.93); y = 0 at all three.
    cubic = 4 * _T**3 - 4 * _T + 1
    return Surface(
        name="two_minima",
        title="Two minima",
        expression=(X**2 - 1) ** 2 + X + Y**2 / 2,
        latex=r"f(x, y) = (x^2 - 1)^2 + x + \tfrac{1}{2}y^2",
        bounds=((-2.0, 2.0), (-2.0, 2.0)),
        minima=[(_num(_root(cubic, -1.1)), 0)],
        local_minima=[(_num(_root(cubic, 0.84)), 0)],
        starts=((1.45, 1.5), (1.9, 1.5), (0.5, -1.8)),
        description="A shallow well beside a deeper one: only a run-up with momentum carries over the pass.",
    )


CATALOGUE: dict[str, Callable[[], Surface]] = {
    "saddle": saddle,
    "beale": beale,
    "rosenbrock": rosenbrock,
    "himmelblau": himmelblau,
    "rastrigin": rastrigin,
    "ackley": ackley,
    "booth": booth,
    "matyas": matyas,
    "goldstein_price": goldstein_price,
    "six_hump_camel": six_hump_camel,
    "styblinski_tang": styblinski_tang,
    "monkey_saddle": monkey_saddle,
    "ravine": ravine,
    "two_minima": two_minima,
}
