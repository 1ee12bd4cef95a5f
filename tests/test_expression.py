"""Visitor formulas: parsing, the Surface they give, minima found numerically, and property tests.

Hostile input is covered by tests/test_expression_security.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
from surfaces import expression
from surfaces.base import Surface, X, Y
from surfaces.expression import from_expression, parse


@pytest.fixture(scope="module", autouse=True)
def workers():
    """Start the worker pool once and wait until it is ready, so the timings below are warm ones."""
    assert expression.warm_up(wait=60.0), "sandbox workers did not start"


def assert_refused(text, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(text)
    assert fragment in str(info.value), str(info.value)


# -- Parsing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x^2 + 3*y^2", X**2 + 3 * Y**2),
        ("x**2 + 3*y**2", X**2 + 3 * Y**2),
        ("sin(x)*cos(y)", sp.sin(X) * sp.cos(Y)),
        ("(1 - x)^2 + 100*(y - x^2)^2", (1 - X) ** 2 + 100 * (Y - X**2) ** 2),
        ("0.1*x + 2.5", X / 10 + sp.Rational(5, 2)),
        ("x^0.5", sp.sqrt(X)),
        ("exp(-x^2 - y^2)", sp.exp(-(X**2) - Y**2)),
        ("e^x", sp.exp(X)),
        ("pi*x", sp.pi * X),
        ("ln(x) - log(y)", sp.log(X) - sp.log(Y)),
        (
            "atan2(y, x) + tanh(x) + asin(x/4) + acos(y/4)",
            sp.atan2(Y, X) + sp.tanh(X) + sp.asin(X / 4) + sp.acos(Y / 4),
        ),
        ("sinh(x) * cosh(y) / (1 + tan(x)^2)", sp.sinh(X) * sp.cosh(Y) / (1 + sp.tan(X) ** 2)),
        ("-+-x", X),
        ("  x + y  ", X + Y),
        ("3", sp.Integer(3)),
        ("2^x", 2**X),
        ("x^y", X**Y),
        ("1000*x + 1e3*y + 2.5e-1", 1000 * X + 1000 * Y + sp.Rational(1, 4)),
    ],
)
def test_parse_builds_the_expression(text, expected):
    assert sp.simplify(parse(text) - expected) == 0


def test_allowed_functions_table():
    assert expression.ALLOWED_FUNCTIONS[:3] == ("abs", "sqrt", "exp")
    assert set(expression.FUNCTIONS) >= {
        "abs",
        "sqrt",
        "exp",
        "log",
        "sin",
        "cos",
        "tan",
        "sinh",
        "cosh",
        "tanh",
        "atan",
    }
    assert set(expression.CONSTANTS) == {"pi", "e"}
    for name, spec in expression.FUNCTIONS.items():
        args = ", ".join(["x"] * spec.arity)
        parse(f"{name}({args}) + y")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("z + x", "Unknown name 'z' — use x and y"),
        ("X + Y", "Unknown name 'X'"),
        ("x" * 201, "Formula too long (at most 200 characters)"),
        ("x^25", "Exponent too large"),
        ("x.real", "A dot after a name (as in x.real) is not allowed"),
        ("x[0]", "Square brackets [ ] are not allowed: use round brackets"),
        ("(lambda: 1)()", "The word 'lambda' is not allowed"),
        ("sin(c for c in x)", "Loops ('for … in') are not allowed"),
        ("'abc'", "Text in quotes is not allowed: use x, y, numbers and functions such as sin"),
        ("sin(x, key=1)", "Named arguments (like key=1) are not allowed"),
        ("x if y else 1", "'if … else' is not allowed: a formula gives a number"),
        ("", "The formula is empty"),
        ("   ", "The formula is empty"),
        ("x +* 2", "Syntax error at column 4"),
        ("x^2 +* 2", "Syntax error at column 6"),
        ("2x", "write 2*x"),
        ("sin(3y)", "write 3*y"),
        ("x y", "write x*y"),
        ("(x+1)(x-1)", "write (x + 1)*(...)"),
        ("2(x+1)", "write 2*(...)"),
        ("foo(x)", "Function 'foo' is not allowed; allowed: abs, sqrt, exp"),
        ("sin(x, y)", "sin takes 1 argument"),
        ("atan2(x)", "atan2 takes 2 arguments"),
        ("sin + x", "'sin' is a function"),
        ("x(2)", "'x' is not a function"),
        ("xy", "write x*y"),
        ("x // y", "'//' is not allowed: use / to divide"),
        ("1/0 + x", "Division by zero"),
        ("x/(2-2)", "Division by zero"),
        ("sqrt(-1) + x", "undefined"),
        ("log(0) * x", "undefined"),
        ("(-8)^(1/3) + x", "undefined"),
        ("(-2)^x", "positive base"),
        ("1e7*x", "Number too large"),
        ("exp(1000)*x", "Number too large"),
        ("x/(x - x)", "undefined"),
        ("(x + 1", "never closed"),
        ("x + 1)", "unmatched"),
    ],
)
def test_refusals_explain_themselves(text, fragment):
    assert_refused(text, fragment)


def test_a_constant_formula_is_accepted():
    surface = from_expression("42")
    assert surface.value(np.array([1.0, 2.0])) == 42.0
    assert np.array_equal(surface.gradient(np.array([[1.0, 2.0]])), [[0.0, 0.0]])
    assert len(surface.minima) == 0


# -- The Surface ---------------------------------------------------------------------------------------
def test_surface_fields():
    surface = from_expression("x^2 + 3*y^2")
    assert isinstance(surface, Surface)
    assert surface.name == "custom"
    assert surface.title == "Custom: f(x, y) = x^2 + 3*y^2"
    assert surface.latex == "f(x, y) = x^{2} + 3 y^{2}"
    assert surface.bounds == ((-3.0, 3.0), (-3.0, 3.0))
    # The server holds no SymPy object: the worker's program and texts (surfaces.expression.FormulaSurface).
    assert surface.expression == "x**2 + 3*y**2" and surface.gradient_expressions is None
    assert surface.gradient_latex == ("2 x", "6 y")
    assert surface.scalar_value(1.0, 2.0) == 13.0 and surface.scalar_gradient(1.0, 2.0) == (2.0, 12.0)
    np.testing.assert_allclose(surface.value(np.array([[1.0, 2.0], [0.5, -1.0]])), [13.0, 3.25])
    np.testing.assert_allclose(surface.hessian(np.array([0.3, 0.4])), [[2.0, 0.0], [0.0, 6.0]])
    np.testing.assert_allclose(surface.minima, [[0.0, 0.0]], atol=1e-9)
    assert surface.local_minima.shape == (0, 2)
    (x0, x1), (y0, y1) = surface.bounds
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in surface.starts)
    assert surface.start != (0.0, 0.0)
    assert from_expression("x^2 + 3*y^2") is surface  # cached


def test_rosenbrock_gradient_is_exact_and_minimum_found():
    surface = from_expression("(1 - x)^2 + 100*(y - x^2)^2", ((-2, 2), (-1, 3)))
    rng = np.random.default_rng(0)
    pts = rng.uniform([-2, -1], [2, 3], size=(50, 2))
    x, y = pts[:, 0], pts[:, 1]
    exact = np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=-1)
    np.testing.assert_allclose(surface.gradient(pts), exact, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(surface.minima, [[1.0, 1.0]], atol=1e-8)
    assert surface.log_scale
    gx, gy = surface.scalar_gradient(0.5, 0.5)
    np.testing.assert_allclose([gx, gy], surface.gradient(np.array([0.5, 0.5])), rtol=1e-15)


def test_himmelblau_has_four_minima():
    surface = from_expression("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", ((-5, 5), (-5, 5)))
    known = np.array([(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)])
    assert len(surface.minima) == 4
    for point in known:
        assert np.min(np.linalg.norm(surface.minima - point, axis=1)) < 1e-5
    np.testing.assert_allclose(surface.value(surface.minima), 0.0, atol=1e-12)


def test_saddle_has_no_minima():
    surface = from_expression("x**2 - y**2")
    assert surface.minima.shape == (0, 2) and surface.local_minima.shape == (0, 2)


def test_local_and_global_minima():
    surface = from_expression("(x^2 - 1)^2 + x + y^2/2", ((-2, 2), (-2, 2)))
    np.testing.assert_allclose(surface.minima, [[-1.1071598716, 0.0]], atol=1e-6)
    np.testing.assert_allclose(surface.local_minima, [[0.8375654353, 0.0]], atol=1e-6)
    # a minimum inside the box is only "global" when nothing sampled in the box is lower
    cubic = from_expression("x^3 - 3*x + y^2")
    assert len(cubic.minima) == 0
    np.testing.assert_allclose(cubic.local_minima, [[1.0, 0.0]], atol=1e-6)


def test_kinks_and_flat_bottoms():
    np.testing.assert_allclose(from_expression("abs(x - 1) + 2*abs(y + 0.5)").minima, [[1, -0.5]], atol=1e-6)
    np.testing.assert_allclose(from_expression("max(abs(x), abs(y))").minima, [[0, 0]], atol=1e-6)
    np.testing.assert_allclose(from_expression("x^4 + y^4").minima, [[0, 0]], atol=1e-3)
    surface = from_expression("abs(x) + y^2")
    assert np.all(np.isfinite(surface.hessian(np.array([[0.5, 1.0], [-0.5, 1.0]]))))
    assert surface.scalar_gradient(-0.5, 1.0) == (-1, 2.0)


def test_log_is_nan_for_negative_x_without_warnings():
    surface = from_expression("log(x) + y^2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = surface.value(np.array([[-1.0, 0.0], [1.0, 2.0], [0.0, 0.0]]))
        grads = surface.gradient(np.array([[-1.0, 0.0], [1.0, 2.0]]))
    assert np.isnan(values[0]) and values[1] == 4.0 and values[2] == -np.inf
    assert np.isfinite(grads[1]).all()
    assert math.isnan(surface.scalar_value(-1.0, 0.0))  # undefined: the optimizer engine stops there
    assert surface.minima.shape == (0, 2)
    assert all(x > 0 for x, _ in surface.starts)  # the default start is where f is defined


@pytest.mark.parametrize(
    ("text", "point", "numpy_value"),
    [
        ("sqrt(x) + y", (-1.0, 0.0), math.nan),
        ("sqrt(x) + y", (0.0, 0.0), 0.0),  # the gradient is infinite
        ("x^0.5 + y", (-4.0, 0.0), math.nan),
        ("1/x + y", (0.0, 0.0), math.inf),
        ("log(x) + y", (0.0, 1.0), -math.inf),
    ],
)
def test_undefined_points(text, point, numpy_value):
    """Where a formula is undefined, pictures get NaN or ±inf and so does the engine (which then reports
    divergence): no exception either way."""
    surface = from_expression(text)
    value = surface.value(np.array(point))
    assert (math.isnan(value) and math.isnan(numpy_value)) or value == numpy_value
    scalar = surface.scalar_value(*point)
    assert (math.isnan(scalar) and math.isnan(numpy_value)) or scalar == numpy_value
    assert not all(math.isfinite(g) for g in surface.scalar_gradient(*point))
    path = optimizers.run("sgd", surface, point, 5)
    assert path.diverged_at == 0 if not math.isfinite(numpy_value) else path.diverged_at == 1


def test_fractional_power_of_a_negative_is_nan():
    surface = from_expression("x^(1/3) + y^2")
    assert np.isnan(surface.value(np.array([-8.0, 0.0])))
    gx, _ = surface.scalar_gradient(-8.0, 0.0)  # not real: NaN (Python's ** would give a complex)
    assert math.isnan(gx)


def test_undefined_everywhere_is_refused():
    with pytest.raises(ValueError, match="undefined everywhere"):
        from_expression("sqrt(-x^2 - 1)")


def test_bounds():
    surface = from_expression("x^2 + y^2", ((0, 1), (-2.5, 4)))
    assert surface.bounds == ((0.0, 1.0), (-2.5, 4.0))
    for bad, fragment in [
        (((1, 0), (0, 1)), "must be below its maximum"),
        (((0, math.inf), (0, 1)), "finite"),
        (((0, math.nan), (0, 1)), "finite"),
        (((0, 2e4), (0, 1)), "at most"),
        (((0, 1),), "((xmin, xmax), (ymin, ymax))"),
        ((("a", 1), (0, 1)), "((xmin, xmax), (ymin, ymax))"),
        (((True, 1), (0, 1)), "((xmin, xmax), (ymin, ymax))"),
        ("((0, 1), (0, 1))", "((xmin, xmax), (ymin, ymax))"),
    ]:
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            from_expression("x^2 + y^2", bad)


# -- Property tests ------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126))))
def test_random_text_only_ever_raises_value_error(text):
    try:
        result = parse(text)
    except ValueError:
        return
    assert isinstance(result, sp.Expr) and result.free_symbols <= {X, Y}


_TOKENS = st.sampled_from(
    list("xy0123456789.+-*/^(), ") + ["sin", "exp", "log", "abs", "max", "pi", "e", "**"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_random_formula_like_text_only_ever_raises_value_error(text):
    try:
        result = parse(text)
    except ValueError:
        return
    assert isinstance(result, sp.Expr) and result.free_symbols <= {X, Y}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, min_size=1, max_size=30).map("".join))
def test_random_text_through_the_sandbox(text):
    try:
        surface = from_expression(text)
    except ValueError:
        return
    assert isinstance(surface, Surface)


def _formulas():
    """(text, SymPy expression) pairs grown from the same random tree."""
    leaves = st.sampled_from(
        [
            ("x", X),
            ("y", Y),
            ("2", sp.Integer(2)),
            ("3", sp.Integer(3)),
            ("0.5", sp.Rational(1, 2)),
            ("1.25", sp.Rational(5, 4)),
            ("pi", sp.pi),
            ("e", sp.E),
        ]
    )

    def grow(children):
        pair = st.tuples(children, children)
        return st.one_of(
            pair.map(lambda p: (f"({p[0][0]}) + ({p[1][0]})", p[0][1] + p[1][1])),
            pair.map(lambda p: (f"({p[0][0]}) - ({p[1][0]})", p[0][1] - p[1][1])),
            pair.map(lambda p: (f"({p[0][0]})*({p[1][0]})", p[0][1] * p[1][1])),
            pair.map(lambda p: (f"({p[0][0]})/(1 + ({p[1][0]})^2)", p[0][1] / (1 + p[1][1] ** 2))),
            st.tuples(children, st.integers(0, 3)).map(lambda p: (f"({p[0][0]})^{p[1]}", p[0][1] ** p[1])),
            children.map(lambda c: (f"-({c[0]})", -c[1])),
            children.map(lambda c: (f"sin({c[0]})", sp.sin(c[1]))),
            children.map(lambda c: (f"cos({c[0]})", sp.cos(c[1]))),
            children.map(lambda c: (f"atan({c[0]})", sp.atan(c[1]))),
            children.map(lambda c: (f"tanh({c[0]})", sp.tanh(c[1]))),
            children.map(lambda c: (f"exp(sin({c[0]}))", sp.exp(sp.sin(c[1])))),
            children.map(lambda c: (f"sqrt(1 + ({c[0]})^2)", sp.sqrt(1 + c[1] ** 2))),
            children.map(lambda c: (f"log(2 + cos({c[0]}))", sp.log(2 + sp.cos(c[1])))),
            children.map(lambda c: (f"abs({c[0]})", sp.Abs(c[1]))),
            pair.map(lambda p: (f"max({p[0][0]}, {p[1][0]})", sp.Max(p[0][1], p[1][1]))),
        )

    return st.recursive(leaves, grow, max_leaves=6)


def _points(seed: int, n: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2.5, 2.5, size=(n, 2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_formulas(), st.integers(0, 2**16))
def test_text_and_tree_agree(formula, seed):
    text, expected = formula
    try:
        got = parse(text)
    except ValueError as exc:  # only the size caps may refuse these
        assert "too" in str(exc)
        return
    pts = _points(seed)
    with np.errstate(all="ignore"):
        a = np.broadcast_to(sp.lambdify((X, Y), got, "numpy")(pts[:, 0], pts[:, 1]), len(pts))
        b = np.broadcast_to(sp.lambdify((X, Y), expected, "numpy")(pts[:, 0], pts[:, 1]), len(pts))
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_formulas(), st.integers(0, 2**16))
def test_gradient_matches_central_differences(formula, seed):
    text, _ = formula
    try:
        expr = parse(text)
    except ValueError:
        return
    surface = Surface(
        name="t", title="t", expression=expr, latex="", bounds=((-3, 3), (-3, 3)), minima=[], starts=[(0, 0)]
    )
    pts = _points(seed)
    grad = surface.gradient(pts)

    def central(h):
        out = np.empty_like(pts)
        for axis in range(2):
            step = np.zeros(2)
            step[axis] = h
            out[:, axis] = (surface.value(pts + step) - surface.value(pts - step)) / (2 * h)
        return out

    coarse, fine = central(1e-5), central(5e-6)
    scale = 1 + np.abs(grad)
    smooth = np.isfinite(grad) & np.isfinite(fine) & (np.abs(coarse - fine) < 1e-5 * scale)  # no kink nearby
    np.testing.assert_allclose(grad[smooth], fine[smooth], rtol=1e-5, atol=1e-5)


# -- Every refusal speaks plainly (issue 18, item 5) ------------------------------------------------------
PLAIN = [  # (text, what the visitor reads)
    ("x.real", "A dot after a name (as in x.real) is not allowed: use x, y, numbers and functions such as "
               "sin"),
    ("x[0]", "Square brackets [ ] are not allowed: use round brackets ( ) to group"),
    ("x[1:2]", "Square brackets [ ] are not allowed: use round brackets ( ) to group"),
    ("[x]", "Square brackets [ ] are not allowed: use round brackets ( ) to group"),
    ("{x}", "Curly brackets { } are not allowed: use round brackets ( ) to group"),
    ("{x: 1}", "Curly brackets { } are not allowed: use round brackets ( ) to group"),
    ("lambda: 1", "The word 'lambda' is not allowed: write just the formula, e.g. x^2 + y^2"),
    ("[c for c in x]", "Loops ('for … in') are not allowed: write just the formula, e.g. x^2 + y^2"),
    ("{c for c in x}", "Loops ('for … in') are not allowed"),
    ("{c: 1 for c in x}", "Loops ('for … in') are not allowed"),
    ("sin(c for c in x)", "Loops ('for … in') are not allowed"),
    ("'abc'", "Text in quotes is not allowed: use x, y, numbers and functions such as sin"),
    ("f'{x}'", "Text in quotes is not allowed"),
    ("b'x'", "Text in quotes is not allowed"),
    ("x if y else 1", "'if … else' is not allowed: a formula gives a number; to choose between values use "
                      "min(a, b), max(a, b) or abs(a)"),
    ("x < y", "Comparisons (<, >, ==, !=) are not allowed"),
    ("x and y", "The words 'and' and 'or' are not allowed"),
    ("not x", "The word 'not' is not allowed"),
    ("(x := 1)", "Assignments (:=) are not allowed: write just the formula"),
    ("sin(*x)", "A * in front of an argument is not allowed: write each argument, e.g. atan2(y, x)"),
    ("x, y", "A comma is only allowed between a function's arguments, as in atan2(y, x): write one formula"),
    ("await x", "The word 'await' is not allowed"),
    ("(yield x)", "The word 'yield' is not allowed"),
    ("(yield from x)", "The word 'yield' is not allowed"),
    ("True", "True and False are not allowed: use numbers such as 1 and 0"),
    ("None", "The word 'None' is not allowed"),
    ("...", "'...' is not allowed"),
    ("x // y", "'//' is not allowed: use / to divide"),
    ("x @ y", "'@' is not allowed: use * to multiply"),
    ("x % y", "'%' is not allowed"),
    ("x << y", "The operator '<<' is not allowed: use + - * / and ^ for powers"),
    ("x >> y", "The operator '>>' is not allowed"),
    ("x | y", "The operator '|' is not allowed"),
    ("x & y", "The operator '&' is not allowed"),
    ("~x", "'~' is not allowed: use - for a minus sign"),
    ("sin(x, key=1)", "Named arguments (like key=1) are not allowed: give just the values, e.g. atan2(y, x)"),
    ("x.real(1)", "A dot after a name"),
    ("x[0](1)", "Square brackets"),
    ("x # y", "The character '#' at column 3 is not allowed: use x, y, numbers and functions such as sin"),
    ("`x`", "The character '`' at column 1 is not allowed"),
    ("é", "The character 'é' at column 1 is not allowed: type plain ASCII"),
    ("x\ty", "The character '\\t' at column 2 is not allowed: type the formula on one line, without tabs"),
    ("", "The formula is empty: type one, e.g. x^2 + y^2"),
]
JARGON = ("Unsupported", "attribute", "subscript", "comprehension", "keyword", "starred", "tuple", "string",
          "dictionary", "conditional expression", "ast.", "Error", "NoneType", "operator ~")


@pytest.mark.parametrize(("text", "plain"), PLAIN)
def test_refusals_speak_plainly(text, plain):
    with pytest.raises(ValueError) as info:
        parse(text)
    message = str(info.value)
    assert message.startswith(plain), message
    assert not any(word in message for word in JARGON), message
    assert any(word in message for word in ("use ", "write ", "give ", "type ")), "no advice: " + message


def test_every_kind_of_refusal_is_covered():
    seen = set()
    for text, _ in PLAIN:
        with pytest.raises(ValueError) as info:
            parse(text)
        seen.add(str(info.value))
    listed = {*expression._UNSUPPORTED.values(), *expression._OPERATORS_REFUSED.values(),
              *(m for t, m in expression._CONSTANTS_REFUSED.items() if t is not complex)}  # 2j reads as 2*j
    assert listed <= seen, listed - seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_formulas(), st.integers(0, 2**16))
def test_pictures_of_a_formula_run_the_engines_program(formula, seed):
    """A visitor's formula is drawn from the worker's program run over NumPy arrays (no SymPy in the
    server): f, the gradient and the Hessian agree with the same program run with Python's math (what the
    engine computes) at random points, NaN where it is undefined."""
    from surfaces.program import evaluate, evaluate_arrays, restrict

    text, _ = formula
    program = Surface(name="t", title="t", expression=parse(text), latex="", bounds=((-3, 3), (-3, 3)),
                      minima=np.zeros((0, 2)), starts=((0.0, 0.0),)).program
    points = _points(seed)
    code, outputs = restrict(program, range(6))
    arrays = np.array([np.broadcast_to(a, len(points))  # constants come back as scalars (Surface broadcasts)
                       for a in evaluate_arrays(program, code, outputs, points[:, 0], points[:, 1])])
    scalars = np.array([evaluate(program, x, y) for x, y in points]).T
    np.testing.assert_allclose(arrays, scalars, rtol=1e-9, atol=1e-12, equal_nan=True)
    value_code, _ = restrict(program, (0,))
    assert len(value_code) <= len(code)  # f alone needs no derivative's instructions
