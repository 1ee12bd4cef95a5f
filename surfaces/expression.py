"""Visitor formulas f(x, y): a whitelisted parser, and the Surface built from it in a sandbox.

The app is public, so the text a visitor types is treated as hostile:

* it never reaches ``eval``, ``exec``, ``compile``, ``sympify``/``parse_expr`` or a ``Symbol`` name. It is
  read by ``ast.parse(text, mode="eval")`` (a parser, nothing runs) and the tree is walked against a
  whitelist: numbers, ``x``, ``y``, ``pi``, ``e``, unary ``+``/``-``, binary ``+ - * / **`` and calls of
  the functions in ``FUNCTIONS`` with positional arguments. Anything else is refused in plain words that say
  what to write instead ("Text in quotes is not allowed: use x, y, numbers and functions such as sin").
  The SymPy expression is built from SymPy objects by this module;
  ``^`` means power (it has no other meaning here, so it is replaced by ``**`` before parsing);
* the input is bounded before SymPy sees it (``MAX_LENGTH`` characters of printable ASCII, ``MAX_NODES``
  tree nodes, ``MAX_DEPTH`` levels of nesting) and so are the numbers SymPy evaluates eagerly: literals
  (``MAX_LITERAL``), constant exponents (``MAX_EXPONENT``), every constant sub-expression (``MAX_CONSTANT``,
  checked with ``math`` floats *before* SymPy computes the next step, so ``9**9**9**9`` stops at "Exponent
  too large") and the exact fractions SymPy keeps (``MAX_FRACTION_BITS``). Non-ASCII text is refused up
  front: Python folds look-alike letters (NFKC: ``ｘ`` is ``x``), which would make the check and the
  display disagree;
* parsing, differentiating, compiling and the search for minima run in a worker process
  (``surfaces.sandbox``) with a wall-clock timeout, a CPU limit and an address-space limit, because
  SymPy's cost is hard to bound tightly. The worker answers with plain data only (``analyze``): the LaTeX
  of f and of its gradient, f, ∇f and the Hessian compiled to a straight-line program (instructions and
  constants as bytes), the minima, starts and colour scale. The server checks that data and wraps it in a
  ``FormulaSurface`` — no SymPy object is unpickled and nothing is differentiated, compiled or searched in
  the server, so its step is bounded by the answer's size (about a millisecond).

Public API: ``from_expression(text, bounds=None)``, ``parse(text)`` (the pure parser, in-process, for
tests), ``check_syntax(text)``, ``validate_bounds(bounds)``, ``FUNCTIONS`` / ``ALLOWED_FUNCTIONS`` /
``CONSTANTS``, the limits below, ``warm_up()``. Every refusal is a ``ValueError`` with a message for
students; ``Unavailable`` (busy, too slow, a crashed worker) is not a ValueError: no verdict was reached.

Derivatives: ``abs``, ``min`` and ``max`` become ``Piecewise`` expressions, because SymPy differentiates
``Abs`` into ``sign`` and then ``DiracDelta``, which neither NumPy nor ``math`` can evaluate (the Hessian).
Values undefined on part of the box (``log(x)`` for x < 0) are NaN in NumPy and raise ValueError in the
``math`` functions; non-integer powers of negative numbers give NaN in NumPy and a Python complex in
``math`` (the optimizer engine treats both as divergence).
"""

from __future__ import annotations

import ast
import math
import operator
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Callable, NamedTuple

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import And, BooleanFalse, BooleanTrue, Not, Or

from surfaces import sandbox
from surfaces.base import Bounds, Surface, X, Y
from surfaces.program import OPS, Program, evaluate_arrays, restrict

# -- Limits ---------------------------------------------------------------------------------------------
MAX_LENGTH = 200  # characters
MAX_NODES = 100  # numbers, names, operators and calls in the parsed tree
MAX_DEPTH = 20  # nesting levels (a chain a + b - c or a * b / c counts once)
MAX_LITERAL = 1e6  # |number| as typed
MAX_EXPONENT = 20  # |p| of a constant exponent
MAX_CONSTANT = 1e12  # |value| of any constant sub-expression
MAX_FRACTION_BITS = 256  # numerator and denominator of the exact fractions SymPy keeps
TIME_LIMIT = 5.0  # seconds for a whole from_expression call when a sandbox worker is free
QUEUE_LIMIT = 10.0  # seconds a formula may wait in line for a worker under a crowd, processing included
PARENT_RESERVE = 0.25  # kept for building the Surface in this process (bounded: about a millisecond)
BUILD_BUDGET = 0.8  # CPU seconds: the worker refuses a formula whose Surface takes longer to compile
SURVEY_BUDGET = 1.0  # CPU seconds for the search of minima (it stops early and keeps what it has)
GRID = 25  # the minima search starts from GRID x GRID points
MAX_LISTED_MINIMA = 20
DEFAULT_BOUNDS: Bounds = ((-3.0, 3.0), (-3.0, 3.0))
MAX_SPAN = 1e4
MAX_BOUND = 1e6
CACHE_SIZE = 256
MAX_TEXT = 1 << 20  # characters of any text in a worker's answer (LaTeX of a long gradient)
# A formula's program (f, gradient, Hessian) and its part for f alone, which pictures run over grids of up to
# 160 x 160 points in the server: accepted formulas use fewer than 300 and 60 instructions.
MAX_INSTRUCTIONS = 2_000
MAX_VALUE_INSTRUCTIONS = 400
MAX_REGISTERS = 4_000

TOO_COMPLEX = "This formula is too complex to process — try a simpler one"
FAILED = "This formula could not be processed — try writing it differently"


class FunctionSpec(NamedTuple):
    """An allowed function: its arity, the SymPy builder and the float version for constant arguments."""

    arity: int
    symbolic: Callable[..., sp.Expr]
    numeric: Callable[..., float]


# The allowed functions, in the order the error message lists them.
FUNCTIONS = MappingProxyType(
    {
        "abs": FunctionSpec(1, sp.Abs, abs),
        "sqrt": FunctionSpec(1, sp.sqrt, math.sqrt),
        "exp": FunctionSpec(1, sp.exp, math.exp),
        "log": FunctionSpec(1, sp.log, math.log),  # natural logarithm
        "ln": FunctionSpec(1, sp.log, math.log),
        "sin": FunctionSpec(1, sp.sin, math.sin),
        "cos": FunctionSpec(1, sp.cos, math.cos),
        "tan": FunctionSpec(1, sp.tan, math.tan),
        "asin": FunctionSpec(1, sp.asin, math.asin),
        "acos": FunctionSpec(1, sp.acos, math.acos),
        "atan": FunctionSpec(1, sp.atan, math.atan),
        "atan2": FunctionSpec(2, sp.atan2, math.atan2),
        "sinh": FunctionSpec(1, sp.sinh, math.sinh),
        "cosh": FunctionSpec(1, sp.cosh, math.cosh),
        "tanh": FunctionSpec(1, sp.tanh, math.tanh),
        "min": FunctionSpec(2, sp.Min, min),
        "max": FunctionSpec(2, sp.Max, max),
    }
)
ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(FUNCTIONS)
CONSTANTS = MappingProxyType({"pi": (sp.pi, math.pi), "e": (sp.E, math.e)})
VARIABLES = MappingProxyType({"x": X, "y": Y})

# Classes a finished expression (and its derivatives) may contain; anything else is refused.
_ALLOWED_TYPES = (
    sp.Symbol, sp.Rational, sp.Float, type(sp.pi), type(sp.E),
    sp.Abs, sp.Max, sp.Min,  # only inside Piecewise conditions (see _differentiable)
    sp.Add, sp.Mul, sp.Pow, sp.exp, sp.log,
    sp.sin, sp.cos, sp.tan, sp.asin, sp.acos, sp.atan, sp.atan2, sp.sinh, sp.cosh, sp.tanh,
    sp.Piecewise, ExprCondPair, Relational, BooleanTrue, BooleanFalse, And, Or, Not,
)  # fmt: skip

# Every refusal says in plain words what is not allowed and what to write instead (no Python jargon).
USE = "use x, y, numbers and functions such as sin"
QUOTES = f"Text in quotes is not allowed: {USE}"
_SQUARE = "Square brackets [ ] are not allowed: use round brackets ( ) to group"
_CURLY = "Curly brackets { } are not allowed: use round brackets ( ) to group"
_JUST = "write just the formula, e.g. x^2 + y^2"
_CHOICE = "a formula gives a number; to choose between values use min(a, b), max(a, b) or abs(a)"
_UNSUPPORTED = {
    ast.Attribute: f"A dot after a name (as in x.real) is not allowed: {USE}",
    ast.Subscript: _SQUARE,
    ast.Slice: _SQUARE,
    ast.Lambda: f"The word 'lambda' is not allowed: {_JUST}",
    ast.ListComp: f"Loops ('for … in') are not allowed: {_JUST}",
    ast.SetComp: f"Loops ('for … in') are not allowed: {_JUST}",
    ast.DictComp: f"Loops ('for … in') are not allowed: {_JUST}",
    ast.GeneratorExp: f"Loops ('for … in') are not allowed: {_JUST}",
    ast.JoinedStr: QUOTES,
    ast.FormattedValue: QUOTES,
    ast.IfExp: f"'if … else' is not allowed: {_CHOICE}",
    ast.Compare: f"Comparisons (<, >, ==, !=) are not allowed: {_CHOICE}",
    ast.BoolOp: f"The words 'and' and 'or' are not allowed: {_CHOICE}",
    ast.NamedExpr: f"Assignments (:=) are not allowed: {_JUST}",
    ast.Starred: "A * in front of an argument is not allowed: write each argument, e.g. atan2(y, x)",
    ast.Tuple: "A comma is only allowed between a function's arguments, as in atan2(y, x): write one formula",
    ast.List: _SQUARE,
    ast.Set: _CURLY,
    ast.Dict: _CURLY,
    ast.Await: f"The word 'await' is not allowed: {_JUST}",
    ast.Yield: f"The word 'yield' is not allowed: {_JUST}",
    ast.YieldFrom: f"The word 'yield' is not allowed: {_JUST}",
}
NOT_ALLOWED = f"This part of the formula is not allowed: {USE}"  # any other Python construct
_CONSTANTS_REFUSED = {
    str: QUOTES, bytes: QUOTES,
    bool: "True and False are not allowed: use numbers such as 1 and 0",
    complex: "Imaginary numbers (like 2j) are not allowed: the formula must give real numbers",
    type(None): f"The word 'None' is not allowed: {USE}",
    type(...): f"'...' is not allowed: {_JUST}",
}  # fmt: skip
_OPERATORS_REFUSED = {
    ast.FloorDiv: "'//' is not allowed: use / to divide",
    ast.MatMult: "'@' is not allowed: use * to multiply",
    ast.Mod: f"'%' is not allowed: {USE}",
    ast.Not: f"The word 'not' is not allowed: {_CHOICE}",
    ast.Invert: "'~' is not allowed: use - for a minus sign",
}
OPERATORS_ALLOWED = "use + - * / and ^ for powers"
_OPERATOR_SYMBOLS = {
    ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
}  # fmt: skip
KEYWORDS = "Named arguments (like key=1) are not allowed: give just the values, e.g. atan2(y, x)"


def _operator_message(op: type) -> str:
    if op in _OPERATORS_REFUSED:
        return _OPERATORS_REFUSED[op]
    return f"The operator '{_OPERATOR_SYMBOLS.get(op, '?')}' is not allowed: {OPERATORS_ALLOWED}"


_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_CHAINS = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}


# -- The parser -----------------------------------------------------------------------------------------
class _Term(NamedTuple):
    expr: sp.Expr
    value: float | None  # the float value when the sub-expression is constant, else None


def _precheck(text) -> str:
    """Type, length and characters; returns the text without surrounding spaces."""
    if not isinstance(text, str):
        raise ValueError("The formula must be text")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"Formula too long (at most {MAX_LENGTH} characters)")
    for column, ch in enumerate(text, start=1):
        if ch in "'\"":
            raise ValueError(QUOTES)
        if ord(ch) > 126:
            raise ValueError(
                f"The character {ch!r} at column {column} is not allowed: "
                "type plain ASCII — x, y, digits, + - * / ^ ( )"
            )
        if ord(ch) < 32:
            raise ValueError(
                f"The character {ch!r} at column {column} is not allowed: "
                "type the formula on one line, without tabs"
            )
        if ch in "\\#$?`!":
            raise ValueError(f"The character {ch!r} at column {column} is not allowed: {USE}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("The formula is empty: type one, e.g. x^2 + y^2")
    return stripped


def _snippet(node: ast.AST) -> str:
    return ast.unparse(node).replace("**", "^")


_TOKEN = re.compile(r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<sym>\S)")


def _juxtaposed(text: str) -> list[tuple[int, str, str]]:
    """(end column, a, b) for each 'a b' with a missing '*': 2x, x y, 2 3, )(, )x, x(."""
    tokens = list(_TOKEN.finditer(text))
    pairs = []
    for left, right in zip(tokens, tokens[1:], strict=False):
        a, b = left.group(), right.group()
        left_ok = left.lastgroup == "num" or a == ")" or (left.lastgroup == "name" and a not in FUNCTIONS)
        right_ok = right.lastgroup in ("num", "name") or b == "("
        if left_ok and right_ok and not (left.lastgroup == "name" and b == "(" and a not in VARIABLES):
            if right.lastgroup == "name" and b not in FUNCTIONS and b not in VARIABLES and b not in CONSTANTS:
                b = b[0]  # 3xy -> 3*x
            pairs.append((right.start() + 1, "(...)" if a == ")" else a, b))
    return pairs


def _syntax_message(text: str, exc: SyntaxError, lead: int) -> str:
    """'Syntax error at column N' (a column of the typed text), with a hint for a missing '*'."""
    offset = exc.offset or 1  # 1-based, in the parsed source where each ^ became **
    column, position = 1, 1
    for ch in text:
        width = 2 if ch == "^" else 1
        if position + width > offset:
            break
        position += width
        column += 1
    message = f"Syntax error at column {column + lead}"
    detail = str(exc.msg or "")
    if "never closed" in detail:
        message += ": a '(' is never closed"
    elif "unmatched" in detail:
        message += ": unmatched ')'"
    hints = _juxtaposed(text)
    if hints:
        _, a, b = min(hints, key=lambda hint: abs(hint[0] - column))
        message += f" — to multiply, write {a}*{b}"
    return message


def _count_and_depth(tree: ast.Expression) -> None:
    nodes = 0
    stack = [(tree.body, 1, None)]
    while stack:
        node, depth, parent_chain = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ValueError(f"Formula too complex (at most {MAX_NODES} numbers, names and operations)")
        chain = _CHAINS.get(type(node.op)) if isinstance(node, ast.BinOp) else None
        if chain is not None and chain == parent_chain:
            depth -= 1  # a + b - c is one level, not two
        if depth > MAX_DEPTH:
            raise ValueError(f"Formula nested too deeply (at most {MAX_DEPTH} levels)")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                stack.append((child, depth + 1, chain))
            elif isinstance(child, ast.keyword):
                raise ValueError(KEYWORDS)


def _numeric(node: ast.AST, compute: Callable[[], float]) -> float:
    """A constant's float value, or a student's message saying why it has none."""
    try:
        value = float(compute())
    except ZeroDivisionError:
        raise ValueError(f"Division by zero in '{_snippet(node)}'") from None
    except OverflowError:
        raise ValueError(f"Number too large in '{_snippet(node)}'") from None
    except (ValueError, TypeError):
        raise ValueError(f"'{_snippet(node)}' is undefined (not a real number)") from None
    if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
        raise ValueError(f"Number too large in '{_snippet(node)}' (at most {MAX_CONSTANT:g})")
    return value


def _check_fractions(expr: sp.Expr, node: ast.AST) -> sp.Expr:
    for number in expr.atoms(sp.Rational):
        if max(abs(number.p).bit_length(), number.q.bit_length()) > MAX_FRACTION_BITS:
            raise ValueError(f"Numbers too large or too precise in '{_snippet(node)}'")
    return expr


class _Builder:
    """Walks a parsed tree against the whitelist and builds the SymPy expression bottom-up.

    With ``symbolic=False`` it only checks: the same whitelist and the same float values of constant
    sub-expressions, but no SymPy object is made (``_Term.expr`` is None). That pass is cheap and bounded
    by the input size, so the parent process runs it before asking a worker.
    """

    def __init__(self, symbolic: bool = True) -> None:
        self.symbolic = symbolic

    def _make(self, node: ast.AST, build: Callable[[], sp.Expr]) -> sp.Expr | None:
        return _check_fractions(build(), node) if self.symbolic else None

    def build(self, node: ast.AST) -> _Term:
        handler = {
            ast.Constant: self._Constant, ast.Name: self._Name, ast.UnaryOp: self._UnaryOp,
            ast.BinOp: self._BinOp, ast.Call: self._Call,
        }.get(type(node))  # fmt: skip
        if handler is None:
            raise ValueError(_UNSUPPORTED.get(type(node), NOT_ALLOWED))
        return handler(node)

    def _Constant(self, node: ast.Constant) -> _Term:
        v = node.value
        if type(v) not in (int, float):
            raise ValueError(_CONSTANTS_REFUSED.get(type(v), NOT_ALLOWED))
        if not math.isfinite(v) or abs(v) > MAX_LITERAL:
            raise ValueError(f"Number too large (at most {MAX_LITERAL:g})")
        if type(v) is int:
            return _Term(self._make(node, lambda: sp.Integer(v)), float(v))
        exact = Fraction(repr(v))  # the decimal the student typed: 0.1 -> 1/10
        if exact.denominator <= 10**6:
            return _Term(self._make(node, lambda: sp.Rational(exact.numerator, exact.denominator)), v)
        return _Term(self._make(node, lambda: sp.Float(v)), v)

    def _Name(self, node: ast.Name) -> _Term:
        name = node.id
        if name in VARIABLES:
            return _Term(VARIABLES[name], None)
        if name in CONSTANTS:
            symbolic, numeric = CONSTANTS[name]
            return _Term(symbolic, numeric)
        if name in FUNCTIONS:
            raise ValueError(f"'{name}' is a function — write {name}(...)")
        if re.fullmatch(r"[xy]{2,3}", name):
            raise ValueError(f"Unknown name '{name}' — to multiply, write {'*'.join(name)}")
        if name.lower() in VARIABLES or name.lower() in CONSTANTS:
            raise ValueError(f"Unknown name '{name}' — use x and y (lowercase), pi and e")
        raise ValueError(f"Unknown name '{name}' — use x and y")

    def _UnaryOp(self, node: ast.UnaryOp) -> _Term:
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        if not isinstance(node.op, ast.USub):
            raise ValueError(_operator_message(type(node.op)))
        term = self.build(node.operand)
        value = None if term.value is None else -term.value
        return _Term(self._make(node, lambda: -term.expr), value)

    def _BinOp(self, node: ast.BinOp) -> _Term:
        op = type(node.op)
        if op is not ast.Pow and op not in _ARITHMETIC:
            raise ValueError(_operator_message(op))
        left, right = self.build(node.left), self.build(node.right)
        if op is ast.Pow:
            return self._power(node, left, right)
        apply = _ARITHMETIC[op]
        value = None
        if left.value is not None and right.value is not None:
            value = _numeric(node, lambda: apply(left.value, right.value))
        elif op is ast.Div and right.value == 0.0:
            raise ValueError(f"Division by zero in '{_snippet(node)}'")
        return _Term(self._make(node, lambda: apply(left.expr, right.expr)), value)

    def _power(self, node: ast.BinOp, base: _Term, exponent: _Term) -> _Term:
        value = None
        if exponent.value is not None:
            if abs(exponent.value) > MAX_EXPONENT:
                raise ValueError(f"Exponent too large in '{_snippet(node)}' (at most {MAX_EXPONENT})")
            if base.value is not None:
                if base.value == 0.0 and exponent.value < 0:
                    raise ValueError(f"Division by zero in '{_snippet(node)}'")
                value = _numeric(node, lambda: math.pow(base.value, exponent.value))
        elif base.value is not None and base.value <= 0:
            raise ValueError(f"'{_snippet(node)}': a variable power needs a positive base, e.g. 2^x or e^x")
        return _Term(self._make(node, lambda: sp.Pow(base.expr, exponent.expr)), value)

    def _Call(self, node: ast.Call) -> _Term:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, (ast.Constant, ast.Call, ast.BinOp, ast.UnaryOp)):
                left = _snippet(func) if isinstance(func, (ast.Constant, ast.Call)) else f"({_snippet(func)})"
                raise ValueError(f"Missing * — to multiply, write {left}*(...)")
            self.build(func)  # refuses lambdas, attributes, subscripts with their own message
            raise ValueError("Only named functions can be called, like sin(x) or exp(x)")
        name = func.id
        if name not in FUNCTIONS:
            if name in VARIABLES or name in CONSTANTS:
                raise ValueError(f"'{name}' is not a function — write {name}*(...) to multiply")
            raise ValueError(f"Function '{name}' is not allowed; allowed: {', '.join(ALLOWED_FUNCTIONS)}")
        if node.keywords:
            raise ValueError(KEYWORDS)
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ValueError(_UNSUPPORTED[ast.Starred])
        spec = FUNCTIONS[name]
        if len(node.args) != spec.arity:
            plural = "" if spec.arity == 1 else "s"
            raise ValueError(f"{name} takes {spec.arity} argument{plural}")
        args = [self.build(arg) for arg in node.args]
        value = None
        if all(a.value is not None for a in args):
            value = _numeric(node, lambda: spec.numeric(*(a.value for a in args)))
        return _Term(self._make(node, lambda: spec.symbolic(*(a.expr for a in args))), value)


def _differentiable(expr: sp.Expr) -> sp.Expr:
    """Rewrite Abs, Max and Min (second derivatives: DiracDelta) as Piecewise expressions.

    Conditions are written with the original sub-expressions (``Abs(x) >= Abs(y)``): they are never
    differentiated, and a Piecewise inside a condition would become an ``ITE``, which NumPy's lambdify
    prints wrongly.
    """
    if not expr.args:
        return expr
    args = [_differentiable(a) for a in expr.args]
    if isinstance(expr, sp.Abs):
        (u,) = expr.args
        return sp.Piecewise((args[0], u >= 0), (-args[0], True))
    if isinstance(expr, (sp.Max, sp.Min)):
        ge = operator.ge if isinstance(expr, sp.Max) else operator.le
        raw = expr.args
        pairs = [(args[i], And(*(ge(raw[i], b) for b in raw[i + 1 :]))) for i in range(len(raw) - 1)]
        return sp.Piecewise(*pairs, (args[-1], True))
    return expr.func(*args)


def check_tree(expr) -> sp.Expr:
    """Refuse anything but a finite, real SymPy expression in x and y made of whitelisted parts."""
    if not isinstance(expr, sp.Expr):
        raise ValueError("Not a formula")
    if expr.has(sp.I):
        raise ValueError("This formula takes complex (non-real) values")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ValueError("This formula is undefined (it divides by zero or similar)")
    if not expr.free_symbols <= {X, Y}:
        raise ValueError("Unknown name — use x and y")
    for sub in sp.preorder_traversal(expr):
        if not isinstance(sub, _ALLOWED_TYPES):
            raise ValueError(FAILED)
        if isinstance(sub, sp.Symbol) and sub not in (X, Y):
            raise ValueError("Unknown name — use x and y")
    return expr


def _syntax_tree(text) -> ast.Expression:
    """Characters, syntax and size checks; the parsed tree (with ** for ^)."""
    stripped = _precheck(text)
    lead = len(text) - len(text.lstrip())
    # A number glued to a name (2x, 1e5y, 3if) is a missing '*' here; refusing it before ast.parse also
    # avoids the tokenizer's warnings about such literals (warnings.catch_warnings is not thread-safe).
    tokens = list(_TOKEN.finditer(stripped))
    for left, right in zip(tokens, tokens[1:], strict=False):
        if left.lastgroup == "num" and right.lastgroup == "name" and left.end() == right.start():
            name = right.group()
            b = name if name in FUNCTIONS or name in VARIABLES or name in CONSTANTS else name[0]
            raise ValueError(
                f"Syntax error at column {right.start() + 1 + lead} — to multiply, write {left.group()}*{b}"
            )
    try:
        tree = ast.parse(stripped.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ValueError(_syntax_message(stripped, exc, lead)) from None
    except (ValueError, RecursionError, MemoryError):
        raise ValueError(TOO_COMPLEX) from None
    _count_and_depth(tree)
    return tree


def check_syntax(text) -> None:
    """Every check that needs no SymPy (whitelist, sizes, constant values); ValueError if refused.

    Cheap and bounded by ``MAX_LENGTH``: ``from_expression`` runs it in-process before using a worker.
    """
    _Builder(symbolic=False).build(_syntax_tree(text).body)


def _parse(text) -> tuple[sp.Expr, sp.Expr]:
    """(display expression, computational expression) for the formula ``text``; ValueError if refused."""
    tree = _syntax_tree(text)
    try:
        display = _Builder().build(tree.body).expr
        computational = _differentiable(display)
    except (RecursionError, MemoryError):
        raise ValueError(TOO_COMPLEX) from None
    except (TypeError, AttributeError, ArithmeticError):  # a SymPy corner case: refuse, never crash
        raise ValueError(FAILED) from None
    check_tree(computational)
    return display, computational


def parse(text: str) -> sp.Expr:
    """The SymPy expression in ``surfaces.base.X`` and ``Y`` for ``text`` (in-process, no sandbox)."""
    return _parse(text)[1]


# -- Numerical facts about the surface: minima, a start, the colour scale -----------------------------
def _descend(surface: Surface, points: np.ndarray, lo, span, deadline: float, iterations: int = 40):
    """Damped Newton (exact Hessian) where it is positive definite, gradient steps elsewhere; vectorized.

    Works in box coordinates u = (p - lo) / span; every step is backtracked (Armijo) on f. Points that
    leave the box by more than 10 % or cannot decrease f any more stop moving.
    """
    u = (points - lo) / span
    f = surface.value(lo + u * span)
    active = np.isfinite(f)
    ladder = 0.5 ** np.arange(14)
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0 or time.process_time() > deadline:
            break
        p = lo + u[idx] * span
        with np.errstate(all="ignore"):
            g = surface.gradient(p) * span  # gradient in u
            h = surface.hessian(p) * np.outer(span, span)
            a, b, c = h[:, 0, 0], h[:, 0, 1], h[:, 1, 1]
            det = a * c - b * b
            newton = -np.stack([c * g[:, 0] - b * g[:, 1], a * g[:, 1] - b * g[:, 0]], axis=-1) / det[:, None]
            gnorm = np.linalg.norm(g, axis=-1)
            steepest = -0.1 * g / gnorm[:, None]
            pd = (a > 0) & (det > 1e-12 * (a + c) ** 2) & np.isfinite(newton).all(axis=-1)
            step = np.where(pd[:, None], newton, steepest)
            length = np.linalg.norm(step, axis=-1)
            step *= np.minimum(1.0, 0.25 / np.where(length > 0, length, 1.0))[:, None]
            slope = (g * step).sum(axis=-1)
            trial = u[idx][None] + ladder[:, None, None] * step[None]
            ft = surface.value(lo + trial * span)
            ok = (
                np.isfinite(ft)
                & (ft <= f[idx][None] + 1e-4 * ladder[:, None] * slope[None])
                & (ft < f[idx][None])
            )
        moved = ok.any(axis=0) & np.isfinite(slope) & (slope < 0)
        first = ok.argmax(axis=0)
        cols = np.flatnonzero(moved)
        u[idx[cols]] = trial[first[cols], cols]
        f[idx[cols]] = ft[first[cols], cols]
        inside = np.all((u[idx] > -0.1) & (u[idx] < 1.1), axis=-1)
        active[idx] = moved & inside
    return u, f


def _compass(surface: Surface, u, f, lo, span, deadline: float, iterations: int = 40):
    """Pattern search for kinks (abs, max): move to the best of 8 neighbours, else halve the step."""
    dirs = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float)
    h = np.full(len(u), 1e-3)
    for _ in range(iterations):
        if len(u) == 0 or time.process_time() > deadline:
            break
        trial = u[None] + dirs[:, None, :] * h[None, :, None]
        ft = surface.value(lo + trial * span)
        ft = np.where(np.isfinite(ft), ft, np.inf)
        best = ft.argmin(axis=0)
        fbest = ft[best, np.arange(len(u))]
        better = fbest < f
        u = np.where(better[:, None], trial[best, np.arange(len(u))], u)
        f = np.where(better, fbest, f)
        h = np.where(better, h, h / 2)
    return u, f


def _is_strict_local_min(surface: Surface, u, f, lo, span, radius: float = 1e-8) -> np.ndarray:
    dirs = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float)
    ft = surface.value(lo + (u[None] + radius * dirs[:, None, :]) * span)
    return np.isfinite(f) & np.all(np.isfinite(ft) & (ft > f[None]), axis=0)


def survey(surface: Surface, bounds: Bounds, budget: float = SURVEY_BUDGET):
    """(minima, local_minima, starts, log_scale) of ``surface`` inside ``bounds``, found numerically.

    * minima: multi-start from a GRID x GRID grid, refined by ``_descend``; a point counts when it lies in
      the box with a tiny gradient and a positive-definite Hessian, or (kinks such as abs) when a compass
      search ends at a point strictly below its 8 neighbours. Points closer than 0.1 % of the box are one.
      The lowest (within 1e-8 of the value range) are the global minima, provided no sampled point of the
      box (41 x 41, edges included) is lower; otherwise all of them are listed as local minima.
    * starts: the points 70 % of the way from the centre to each corner, highest value first (a long
      race), skipping undefined ones; else the highest defined grid point below the 90th percentile.
    * log_scale: the sampled values are non-negative and, above their minimum, the 95th percentile is at
      least 100 times the 5th (plus 1e-3 of the range): they span orders of magnitude. This agrees with
      the hand-set flags of the catalogue except Himmelblau (a ratio of 32).
    Raises ValueError when f is undefined at every sampled point.
    """
    with np.errstate(all="ignore"):
        return _survey(surface, bounds, time.process_time() + budget)


def _survey(surface: Surface, bounds: Bounds, deadline: float):
    (x0, x1), (y0, y1) = bounds
    lo = np.array([x0, y0], dtype=float)
    span = np.array([x1 - x0, y1 - y0], dtype=float)
    t = (np.arange(GRID) + 0.5) / GRID
    grid_u = np.stack(np.meshgrid(t, t), axis=-1).reshape(-1, 2)
    s = np.linspace(0.0, 1.0, 41)
    sample_u = np.stack(np.meshgrid(s, s), axis=-1).reshape(-1, 2)
    sample = surface.value(lo + sample_u * span)
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        raise ValueError(
            "This formula is undefined everywhere in the window (a square root or log of negatives?)"
        )
    frange = float(finite.max() - finite.min()) if finite.size else 0.0

    u, f = _descend(surface, lo + grid_u * span, lo, span, deadline)
    p = lo + u * span
    with np.errstate(all="ignore"):
        g = surface.gradient(p) * span
        h = surface.hessian(p) * np.outer(span, span)
    a, b, c = h[:, 0, 0], h[:, 0, 1], h[:, 1, 1]
    det = a * c - b * b
    inside = np.all((u >= 0) & (u <= 1), axis=-1)
    gtol = 1e-6 * max(frange, 1e-300)
    smooth = (
        np.isfinite(f) & np.isfinite(g).all(axis=-1) & (np.abs(g).max(axis=-1) <= gtol)
        & (a > 0) & (det > 1e-12 * (a + c) ** 2)
    )  # fmt: skip
    rest = np.flatnonzero(np.isfinite(f) & ~smooth & inside)
    ku, kf = _compass(surface, u[rest], f[rest], lo, span, deadline)
    kink = _is_strict_local_min(surface, ku, kf, lo, span)
    cand_u = np.concatenate([u[smooth], ku[kink]])
    cand_f = np.concatenate([f[smooth], kf[kink]])
    keep = np.all((cand_u >= 0) & (cand_u <= 1), axis=-1) & np.isfinite(cand_f)
    cand_u, cand_f = cand_u[keep], cand_f[keep]
    order = np.argsort(cand_f, kind="stable")
    kept_u: list[np.ndarray] = []
    kept_f: list[float] = []
    for i in order:
        if all(np.abs(cand_u[i] - k).max() > 1e-3 for k in kept_u):
            kept_u.append(cand_u[i])
            kept_f.append(float(cand_f[i]))
    # coordinates within 1e-9 of the window's size from zero are zero (a minimum at -1.9e-13 reads badly)
    points = [lo + k * span for k in kept_u]
    points = [np.where(np.abs(q) < 1e-9 * span.max(), 0.0, q) for q in points]
    minima: list[np.ndarray] = []
    local: list[np.ndarray] = []
    if points:
        tol = 1e-8 * max(frange, abs(kept_f[0]), 1e-300)
        lower_elsewhere = finite.size and float(finite.min()) < kept_f[0] - max(tol, 1e-9 * frange)
        for point, value in zip(points, kept_f, strict=True):
            (minima if value <= kept_f[0] + tol and not lower_elsewhere else local).append(point)
    minima, local = minima[:MAX_LISTED_MINIMA], local[:MAX_LISTED_MINIMA]

    starts = _starts(surface, lo, span, grid_u)
    q05, q95 = np.quantile(finite - finite.min(), [0.05, 0.95])
    log_scale = bool(finite.min() >= 0 and q95 > 0 and q95 >= 100 * (q05 + 1e-3 * frange))
    as_list = lambda pts: [[float(v) for v in q] for q in pts]  # noqa: E731
    return as_list(minima), as_list(local), starts, log_scale


def _starts(surface: Surface, lo, span, grid_u) -> list[tuple[float, float]]:
    corners_u = np.array([(0.15, 0.15), (0.85, 0.15), (0.15, 0.85), (0.85, 0.85)])
    pts = lo + corners_u * span
    f = surface.value(pts)
    g = surface.gradient(pts)
    ok = np.isfinite(f) & np.isfinite(g).all(axis=-1)
    if ok.any():
        order = [i for i in np.argsort(-np.where(ok, f, -np.inf), kind="stable") if ok[i]]
        return [_round_point(pts[i]) for i in order]
    pts = lo + grid_u * span
    f = surface.value(pts)
    g = surface.gradient(pts)
    ok = np.isfinite(f) & np.isfinite(g).all(axis=-1)
    if ok.any():
        cap = np.quantile(f[ok], 0.9)
        choice = np.flatnonzero(ok & (f <= cap))
        best = choice[np.argmax(f[choice])]
        return [_round_point(pts[best])]
    return [_round_point(lo + span / 2)]


def _round_point(point) -> tuple[float, float]:
    return (float(f"{point[0]:.10g}"), float(f"{point[1]:.10g}"))


def _title(text: str) -> str:
    return f"Custom: f(x, y) = {text.strip()}"


DESCRIPTION = "Your own formula; minima were found numerically inside the window."


def _smoke_test(surface: Surface, bounds: Bounds) -> None:
    """Run every compiled NumPy function once, so a missing printer fails here, not in a race (undefined
    values are NaN, never an exception). The engine's program was built by ``compile_program``, which
    refuses what it cannot translate."""
    (x0, x1), (y0, y1) = bounds
    pts = np.array([[x0 + 0.3 * (x1 - x0), y0 + 0.6 * (y1 - y0)], [x0, y1], [0.0, 0.0]])
    try:
        surface.value(pts)
        surface.gradient(pts)
        surface.hessian(pts)
    except Exception:
        raise ValueError(
            "This formula cannot be evaluated numerically — try writing it differently"
        ) from None


def prepare() -> None:
    """Pay SymPy's and lambdify's first-use costs (~0.5 s) once, e.g. in a worker before its first request."""
    surface = Surface(
        name="warm", title="warm", expression=_parse("x^2 + y^2")[1], latex="", bounds=DEFAULT_BOUNDS,
        minima=np.zeros((0, 2)), starts=((0.0, 0.0),),
    )  # fmt: skip
    sp.latex(surface.expression)
    survey(surface, DEFAULT_BOUNDS)


def _array_bytes(arr: np.ndarray, dtype: str) -> bytes:
    return np.ascontiguousarray(arr, dtype=dtype).tobytes()


def analyze(request) -> dict:
    """Everything the server needs for the Surface, as plain data; runs in the sandbox worker.

    ``request`` is (text, bounds). The answer holds the formula's LaTeX and its gradient's, the compiled
    program (f, ∇f and the Hessian as instructions and constants, as bytes), the minima, starts and colour
    scale — so the server builds the Surface without SymPy, differentiation or compilation
    (``_surface_from``).
    Raises ValueError with a student's message when the formula is refused.
    """
    text, bounds = request
    display, expr = _parse(text)
    latex = "f(x, y) = " + sp.latex(display)
    started = time.process_time()  # CPU time: the verdict should not depend on the machine's load
    surface = Surface(
        name="custom", title=_title(text), expression=expr, latex=latex, bounds=bounds,
        minima=np.zeros((0, 2)), starts=((0.0, 0.0),), description=DESCRIPTION,
    )  # fmt: skip
    build = time.process_time() - started
    program = surface.program
    if (build > BUILD_BUDGET or len(program.code) > MAX_INSTRUCTIONS or program.registers > MAX_REGISTERS
            or len(restrict(program, (0,))[0]) > MAX_VALUE_INSTRUCTIONS):
        raise ValueError(TOO_COMPLEX)
    for derivative in surface.gradient_expressions:
        check_tree(derivative)
    _smoke_test(surface, bounds)
    minima, local, starts, log_scale = survey(surface, bounds)
    return {
        "text": str(display),  # SymPy's spelling of the formula (x**2 + 3*y**2): plain text, not an object
        "latex": latex,
        "gradient_latex": tuple(sp.latex(g) for g in surface.gradient_expressions),
        "code": _array_bytes(program.code, "<i8"),
        "constants": _array_bytes(program.constants, "<f8"),
        "registers": int(program.registers),
        "outputs": _array_bytes(program.outputs, "<i8"),
        "minima": minima,
        "local_minima": local,
        "starts": starts,
        "log_scale": bool(log_scale),
        "build_seconds": build,
    }


# -- The server's side: a Surface from the worker's answer, with bounded work -------------------------------
class _ProgramFunction:
    """f, ∇f or the Hessian for pictures, from the worker's program run over NumPy arrays (picklable)."""

    LAYOUTS = {"value": (0,), "gradient": (1, 2), "hessian": (3, 4, 5)}

    def __init__(self, program: Program, layout: str) -> None:
        self.program = program
        self.layout = layout
        self.code, self.outputs = restrict(program, self.LAYOUTS[layout])

    def __call__(self, x, y):
        values = evaluate_arrays(self.program, self.code, self.outputs, x, y)
        if self.layout == "value":
            return values[0]
        if self.layout == "gradient":
            return tuple(values)
        hxx, hxy, hyy = values
        return ((hxx, hxy), (hxy, hyy))


@dataclass(frozen=True, eq=False)
class FormulaSurface(Surface):
    """A visitor's formula as the server holds it: the worker's program, texts and numbers — no SymPy
    object (``expression`` is the formula as SymPy prints it, plain text such as ``x**2 + 3*y**2``;
    ``gradient_expressions`` is None, ``gradient_latex`` its LaTeX). Its ``program`` is what the optimizer
    engine runs, exactly as for a catalogue surface; ``value``/``gradient``/``hessian`` (pictures) run the
    same program over NumPy arrays. Building one is bounded by the size of the answer."""

    compiled: Program | None = None
    gradient_latex: tuple[str, str] = ("", "")

    def __post_init__(self) -> None:
        setter = object.__setattr__
        for name in ("minima", "local_minima"):
            points = np.array(getattr(self, name), dtype=float).reshape(-1, 2)
            points.flags.writeable = False
            setter(self, name, points)
        setter(self, "starts", tuple((float(a), float(b)) for a, b in self.starts))
        setter(self, "gradient_expressions", None)
        setter(self, "program", self.compiled)
        for layout in _ProgramFunction.LAYOUTS:
            setter(self, f"_{layout}", _ProgramFunction(self.compiled, layout))
        if len(self._value.code) > MAX_VALUE_INSTRUCTIONS:  # bounds the server's work on pictures
            raise ValueError(TOO_COMPLEX)


def _read_array(data, dtype: str, limit: int) -> np.ndarray:
    if not isinstance(data, bytes) or len(data) % np.dtype(dtype).itemsize or len(data) > limit:
        raise ValueError("bad array")
    arr = np.frombuffer(data, dtype=dtype).astype(dtype[1:], copy=True)
    arr.flags.writeable = False
    return arr


def _program_from(result: dict) -> Program:
    """The worker's program, checked: known operations, registers in range, every output computed."""
    registers = result["registers"]
    if type(registers) is not int or not 2 <= registers <= MAX_REGISTERS:
        raise ValueError("bad registers")
    code = _read_array(result["code"], "<i8", MAX_INSTRUCTIONS * 5 * 8).reshape(-1, 5)
    constants = _read_array(result["constants"], "<f8", MAX_REGISTERS * 8)
    outputs = _read_array(result["outputs"], "<i8", 6 * 8)
    code.flags.writeable = False
    first_free = 2 + len(constants)
    if len(outputs) != 6 or first_free > registers:
        raise ValueError("bad layout")
    if len(code):
        if code[:, 0].min() < 0 or code[:, 0].max() >= len(OPS):
            raise ValueError("bad operation")
        if code[:, 1:].min() < 0 or code[:, 1:].max() >= registers or code[:, 1].min() < first_free:
            raise ValueError("bad register")
    written = set(range(first_free)) | set(code[:, 1].tolist())
    if not set(outputs.tolist()) <= written or outputs.min() < 0 or outputs.max() >= registers:
        raise ValueError("bad outputs")
    return Program(code, constants, registers, outputs)


def _points(rows, name: str) -> np.ndarray:
    arr = np.asarray(rows, dtype=float).reshape(-1, 2)
    if not np.isfinite(arr).all() or len(arr) > MAX_LISTED_MINIMA * 2:
        raise ValueError(f"bad {name}")
    return arr


def _surface_from(result: dict, text: str, bounds: Bounds) -> FormulaSurface:
    """The Surface from a worker's answer (plain data), checked. Bounded work: no SymPy, no
    differentiation, no compilation — reading at most ``MAX_INSTRUCTIONS`` instructions and a few points."""
    try:
        text_form, latex, gradient_latex = result["text"], result["latex"], tuple(result["gradient_latex"])
        if not all(isinstance(t, str) and len(t) <= MAX_TEXT for t in (text_form, latex, *gradient_latex)):
            raise ValueError("bad text")
        if len(gradient_latex) != 2:
            raise ValueError("bad latex")
        return FormulaSurface(
            name="custom",
            title=_title(text),
            expression=text_form,
            latex=latex,
            bounds=bounds,
            minima=_points(result["minima"], "minima"),
            starts=tuple(map(tuple, _points(result["starts"], "starts"))),
            log_scale=bool(result["log_scale"]),
            description=DESCRIPTION,
            local_minima=_points(result["local_minima"], "local minima"),
            compiled=_program_from(result),
            gradient_latex=gradient_latex,
        )
    except Exception:  # never anything but ValueError for a visitor's formula
        raise ValueError(FAILED) from None


# -- The public entry point -----------------------------------------------------------------------------
def validate_bounds(bounds) -> Bounds:
    """``((xmin, xmax), (ymin, ymax))`` as floats, or ValueError; None means ``DEFAULT_BOUNDS``."""
    if bounds is None:
        return DEFAULT_BOUNDS
    shape = "The window must be ((xmin, xmax), (ymin, ymax))"
    try:
        (a, b), (c, d) = bounds
    except (TypeError, ValueError):
        raise ValueError(shape) from None
    values = (a, b, c, d)
    if not all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(shape)
    a, b, c, d = (float(v) for v in values)
    if not all(math.isfinite(v) for v in (a, b, c, d)):
        raise ValueError("The window's edges must be finite numbers")
    if not (a < b and c < d):
        raise ValueError("Each minimum of the window must be below its maximum")
    if max(abs(a), abs(b), abs(c), abs(d)) > MAX_BOUND:
        raise ValueError(f"The window must lie within ±{MAX_BOUND:g}")
    if b - a > MAX_SPAN or d - c > MAX_SPAN:
        raise ValueError(f"The window may be at most {MAX_SPAN:g} wide and high")
    return ((a, b), (c, d))


Unavailable = sandbox.Unavailable  # no verdict (busy, too slow, a crashed worker): not a ValueError
Rejected = sandbox.Rejected  # the worker's refusal: a ValueError with a student's message
_SANDBOX = sandbox.Sandbox(sandbox.Entry(__name__, "analyze", "prepare"))


class _Flight:
    """One formula being built: later askers wait for the first one's outcome instead of a second worker."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: FormulaSurface | str | BaseException | None = None


_cache: OrderedDict[tuple, FormulaSurface | str] = OrderedDict()
_flights: dict[tuple, _Flight] = {}
_cache_lock = threading.Lock()


def _remember(key, outcome) -> None:
    with _cache_lock:
        _cache[key] = outcome
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def _keep_late_answer(text: str, box: Bounds):
    """What to do with an answer that came after its visitor's deadline: cache it, so "Try again" (or the
    next visitor with this formula) finds it ready."""

    def keep(outcome) -> None:
        if isinstance(outcome, sandbox.Rejected):
            _remember((text, box), str(outcome))
            return
        try:
            _remember((text, box), _surface_from(outcome, text, box))
        except ValueError as exc:
            _remember((text, box), str(exc))

    return keep


def _build(text: str, box: Bounds, deadline: float) -> FormulaSurface:
    try:
        result = _SANDBOX.run((text, box), deadline=deadline, late=_keep_late_answer(text, box))
    except sandbox.Rejected as exc:
        _remember((text, box), str(exc))
        raise ValueError(str(exc)) from None
    try:
        surface = _surface_from(result, text, box)  # bounded: ~1-4 ms (see _surface_from)
    except ValueError as exc:
        _remember((text, box), str(exc))
        raise
    _remember((text, box), surface)
    return surface


def from_expression(text: str, bounds: Bounds | None = None) -> FormulaSurface:
    """A Surface for the visitor's formula ``text`` over ``bounds`` (default ((-3, 3), (-3, 3))).

    Raises ValueError (``sandbox.Rejected`` from the worker) with a message for students when the formula
    or the bounds are refused, and ``sandbox.Unavailable`` (not a ValueError) when no answer came in time
    (busy, too slow, a crashed worker): the formula was not judged. A worker gets at most
    ``sandbox.WORKER_TIMEOUT`` seconds for it, so with a free worker the answer comes within ``TIME_LIMIT``
    seconds; when a crowd of new formulas arrives at once, a formula waits in line (first come, first
    served) for at most ``QUEUE_LIMIT`` seconds in all, and an answer that comes later is kept for the
    next try.
    Surfaces and refusals are cached (``CACHE_SIZE``); when several sessions ask for the same formula at
    once, one worker builds it and the others wait for that answer.
    """
    started = time.monotonic()
    box = validate_bounds(bounds)
    check_syntax(text)
    key = (text, box)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
        else:
            flight = _flights.get(key)
            leader = flight is None
            if leader:
                flight = _flights[key] = _Flight()
    if isinstance(hit, str):
        raise ValueError(hit)
    if hit is not None:
        return hit
    deadline = started + QUEUE_LIMIT - PARENT_RESERVE
    if not leader:
        if not flight.done.wait(max(0.0, deadline - time.monotonic())):
            raise sandbox.Unavailable(sandbox.BUSY)
        if isinstance(flight.outcome, BaseException):
            raise flight.outcome
        return from_expression(text, bounds)  # now cached (or refused and cached)
    try:
        flight.outcome = _build(text, box, deadline)
        return flight.outcome
    except (ValueError, sandbox.Unavailable) as exc:
        flight.outcome = exc if isinstance(exc, sandbox.Unavailable) else None
        raise
    finally:
        with _cache_lock:
            _flights.pop(key, None)
        flight.done.set()


def warm_up(wait: float = 0.0) -> bool:
    """Start the sandbox workers now (call it when the app starts: each takes a second or two to import
    SymPy and NumPy). With ``wait`` > 0, waits up to that long until they are ready; True when they are."""
    return _SANDBOX.warm_up(wait)


def worker_pids() -> list[int]:
    """Process ids of the formula sandbox's workers (for tests and monitoring)."""
    return _SANDBOX.worker_pids()
