"""A surface's formula compiled to a straight-line program: the one definition every engine evaluates.

SymPy's tree for f, its gradient (and, on request, its Hessian) is flattened by our own code into a list of
single operations on float registers — one IEEE operation (+ − × ÷, √) or one C-library call (exp, log,
sin, pow, …) per instruction, in a fixed order:

    r7 = r0 * r0          # x²
    r8 = r7 - r5          # x² − 11 …

The optimizer engine (``optimizers.kernel``) runs this program for one start or for 65,536 starts at
once, always element by element with the same instructions, so a race, a batch run and an Atlas sweep
from the same start give the same bits — whatever SIMD extensions NumPy would have dispatched to. NumPy
is not involved: its AVX-512 ``exp``/``log``/``power`` kernels round differently from the C library.

Integer powers are written as products (x³ = x·x·x, as the generated code of earlier versions did), so
they are exactly rounded at every step and never go through ``pow``. The program is data (small read-only
arrays), so a sandbox worker can build it from a visitor's formula and hand it to the server, which never
compiles visitor-derived code. This module imports neither numba, streamlit nor plotly.
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import And, BooleanFalse, BooleanTrue, Not, Or

# Operation codes. Every instruction is (op, dst, a, b, c); unused operands are 0.
OPS = (
    "add", "sub", "mul", "div", "neg", "pow", "sqrt", "exp", "log", "sin", "cos", "tan", "asin", "acos",
    "atan", "atan2", "sinh", "cosh", "tanh", "abs", "max", "min",
    "lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not", "select",
)  # fmt: skip
OP = {name: code for code, name in enumerate(OPS)}

# Registers 0 and 1 hold x and y; constants follow; then the temporaries.
X_REGISTER, Y_REGISTER = 0, 1

_UNARY = {
    sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.asin: "asin",
    sp.acos: "acos", sp.atan: "atan", sp.sinh: "sinh", sp.cosh: "cosh", sp.tanh: "tanh", sp.Abs: "abs",
}  # fmt: skip
_RELATIONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


class Program(NamedTuple):
    """Straight-line code for f(x, y) and its derivatives (arrays are read-only).

    code: (n, 5) int64 instructions (op, dst, a, b, c).
    constants: float64 values of registers 2 … 2 + len(constants) − 1, loaded before the code runs.
    registers: total registers the code uses.
    outputs: register indices of f, ∂f/∂x, ∂f/∂y and, with the Hessian, ∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y².
    """

    code: np.ndarray
    constants: np.ndarray
    registers: int
    outputs: np.ndarray

    @property
    def fingerprint(self) -> str:
        """A short hash of the instructions and constants (a cache key that ignores names and titles)."""
        h = hashlib.sha256()
        for part in (self.code, self.constants, self.outputs):
            h.update(np.ascontiguousarray(part).tobytes())
        h.update(str(self.registers).encode())
        return h.hexdigest()[:16]


class _Compiler:
    def __init__(self, x: sp.Symbol, y: sp.Symbol):
        self.registers: dict[sp.Basic, int] = {x: X_REGISTER, y: Y_REGISTER}
        self.constants: dict[bytes, int] = {}
        self.constant_values: list[float] = []
        self.code: list[tuple[int, int, int, int, int]] = []
        self.temporaries = 0

    # Registers are numbered constants-first at the end (finish); until then temporaries are negative.
    def _constant(self, value: float) -> int:
        key = float(value)
        # -0.0 and 0.0 compare equal but are different constants (and NaN equals nothing): key by bits.
        bits = np.float64(key).tobytes()
        if bits not in self.constants:
            self.constants[bits] = len(self.constant_values)
            self.constant_values.append(key)
        return ("c", self.constants[bits])

    def _emit(self, op: str, a=0, b=0, c=0):
        self.temporaries += 1
        dst = ("t", self.temporaries - 1)
        self.code.append((OP[op], dst, a, b, c))
        return dst

    def value(self, expr) -> object:
        if expr in self.registers:
            return self.registers[expr]
        reg = self._build(expr)
        self.registers[expr] = reg
        return reg

    def _build(self, expr):
        if isinstance(expr, (BooleanTrue, BooleanFalse)):
            return self._constant(1.0 if expr else 0.0)
        if expr.is_Number or expr.is_NumberSymbol:
            return self._constant(float(sp.N(expr, 30)))
        if isinstance(expr, sp.Add):
            return self._fold("add", expr.args)
        if isinstance(expr, sp.Mul):
            return self._product(expr)
        if isinstance(expr, sp.Pow):
            return self._power(expr.base, expr.exp)
        if isinstance(expr, sp.Piecewise):
            return self._piecewise(expr.args)
        if isinstance(expr, Relational):
            return self._emit(_RELATIONS[expr.rel_op], self.value(expr.lhs), self.value(expr.rhs))
        if isinstance(expr, (And, Or)):
            return self._fold("and" if isinstance(expr, And) else "or", expr.args)
        if isinstance(expr, Not):
            return self._emit("not", self.value(expr.args[0]))
        if isinstance(expr, (sp.Max, sp.Min)):
            return self._fold("max" if isinstance(expr, sp.Max) else "min", expr.args)
        if isinstance(expr, sp.atan2):
            return self._emit("atan2", self.value(expr.args[0]), self.value(expr.args[1]))
        if expr.func in _UNARY:
            return self._emit(_UNARY[expr.func], self.value(expr.args[0]))
        raise ValueError("This formula could not be processed — try writing it differently")

    def _fold(self, op: str, args):
        regs = [self.value(a) for a in args]
        acc = regs[0]
        for reg in regs[1:]:
            acc = self._emit(op, acc, reg)
        return acc

    def _product(self, expr: sp.Mul):
        coeff, factors = expr.as_coeff_mul()
        numerator = [f for f in factors if not (f.is_Pow and f.exp.is_Number and f.exp < 0)]
        denominator = [sp.Pow(f.base, -f.exp) for f in factors if f not in numerator]
        if coeff.is_Rational and coeff.q != 1:  # x/3 rather than x · 0.333…
            numerator.insert(0, sp.Integer(coeff.p))
            denominator.insert(0, sp.Integer(coeff.q))
        elif coeff != 1:
            numerator.insert(0, coeff)
        negate = False
        if numerator and numerator[0] == -1:
            negate = True
            numerator = numerator[1:]
        top = self._fold("mul", numerator) if numerator else self._constant(1.0)
        if denominator:
            top = self._emit("div", top, self._fold("mul", denominator))
        return self._emit("neg", top) if negate else top

    def _power(self, base, exp):
        if exp.is_Integer and exp != 0 and abs(int(exp)) <= 64:
            n = abs(int(exp))
            b = self.value(base)
            acc = b
            for _ in range(n - 1):  # left to right: x·x·x, exactly as x*x*x is written
                acc = self._emit("mul", acc, b)
            return self._emit("div", self._constant(1.0), acc) if exp < 0 else acc
        if exp == sp.Rational(1, 2):
            return self._emit("sqrt", self.value(base))
        if exp == sp.Rational(-1, 2):
            return self._emit("div", self._constant(1.0), self._emit("sqrt", self.value(base)))
        if base == sp.E:
            return self._emit("exp", self.value(exp))
        return self._emit("pow", self.value(base), self.value(exp))

    def _piecewise(self, pairs):
        # Piecewise((a, c1), (b, c2), (d, True)) = select(c1, a, select(c2, b, d)), built from the end;
        # without an otherwise-branch the value is undefined (NaN) where no condition holds.
        *rest, (last, last_cond) = pairs
        acc = self.value(last)
        if last_cond != sp.true:
            acc = self._emit("select", self.value(last_cond), acc, self._constant(float("nan")))
        for value, cond in reversed(rest):
            acc = self._emit("select", self.value(cond), self.value(value), acc)
        return acc

    def finish(self, outputs) -> Program:
        base = 2 + len(self.constant_values)

        def index(reg) -> int:
            if isinstance(reg, int):
                return reg
            kind, n = reg
            return 2 + n if kind == "c" else base + n

        code = np.array([(op, index(d), index(a), index(b), index(c)) for op, d, a, b, c in self.code],
                        dtype=np.int64).reshape(-1, 5)
        program = Program(code, np.array(self.constant_values, dtype=np.float64),
                          base + self.temporaries, np.array([index(o) for o in outputs], dtype=np.int64))
        for arr in (program.code, program.constants, program.outputs):
            arr.flags.writeable = False
        return program


def compile_program(expressions, x: sp.Symbol, y: sp.Symbol) -> Program:
    """Flatten ``expressions`` (f, ∂f/∂x, ∂f/∂y[, Hessian entries]) into one Program.

    Common sub-expressions are shared (SymPy's ``cse``), so the gradient re-uses the brackets of f.
    """
    replacements, reduced = sp.cse(list(expressions), optimizations=None)
    compiler = _Compiler(x, y)
    for symbol, sub in replacements:
        compiler.registers[symbol] = compiler.value(sub)
    outputs = [compiler.value(e) for e in reduced]
    return compiler.finish(outputs)


# --- the reference evaluator: the same instructions with Python floats ----------------------------------
def _div(a: float, b: float) -> float:
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)  # IEEE: ±inf, as compiled code gives


def _guard(function, low: float = -math.inf, high: float = math.inf):
    """A math-module function that gives NaN outside [low, high] (and ±inf on overflow) instead of raising."""

    def guarded(a: float, *_):
        if not low <= a <= high:
            return math.nan
        try:
            return function(a)
        except OverflowError:
            return math.inf if function is not math.sinh or a > 0 else -math.inf
        except ValueError:  # sin(inf) and the like
            return math.nan

    return guarded


def _pow(a: float, b: float, *_) -> float:
    """C's pow, with NaN for a negative number to a non-integer power (Python's ** gives a complex)."""
    if a < 0.0 and b != math.floor(b):
        return math.nan
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):  # too large, or 0 to a negative power: ±inf as C gives
        odd = b == math.floor(b) and math.fmod(b, 2.0) != 0.0
        return math.copysign(math.inf, a) if odd else math.inf


def _log(a: float, *_) -> float:
    return math.log(a) if a > 0.0 else (-math.inf if a == 0.0 else math.nan)


_PYTHON = {
    "add": lambda a, b, c: a + b, "sub": lambda a, b, c: a - b, "mul": lambda a, b, c: a * b,
    "div": lambda a, b, c: _div(a, b), "neg": lambda a, b, c: -a, "pow": _pow,
    "sqrt": _guard(math.sqrt, 0.0), "exp": _guard(math.exp), "log": _log, "sin": _guard(math.sin),
    "cos": _guard(math.cos), "tan": _guard(math.tan), "asin": _guard(math.asin, -1.0, 1.0),
    "acos": _guard(math.acos, -1.0, 1.0), "atan": _guard(math.atan),
    "atan2": lambda a, b, c: math.atan2(a, b),
    "sinh": _guard(math.sinh), "cosh": _guard(math.cosh), "tanh": _guard(math.tanh),
    "abs": lambda a, b, c: abs(a), "max": lambda a, b, c: a if a >= b else b,
    "min": lambda a, b, c: a if a <= b else b,
    "lt": lambda a, b, c: float(a < b), "le": lambda a, b, c: float(a <= b),
    "gt": lambda a, b, c: float(a > b), "ge": lambda a, b, c: float(a >= b),
    "eq": lambda a, b, c: float(a == b), "ne": lambda a, b, c: float(a != b),
    "and": lambda a, b, c: float(a != 0.0 and b != 0.0), "or": lambda a, b, c: float(a != 0.0 or b != 0.0),
    "not": lambda a, b, c: float(a == 0.0), "select": lambda a, b, c: b if a != 0.0 else c,
}  # fmt: skip
_PYTHON_OPS = tuple(_PYTHON[name] for name in OPS)


def evaluate(program: Program, x: float, y: float) -> tuple[float, ...]:
    """The program's outputs at (x, y), run with Python floats and the ``math`` module (the C library).

    It applies the instructions one by one, exactly as the compiled engine does, so it gives the same bits
    (``tests/test_kernel.py`` checks it); NaN and ±inf where the formula is undefined, never an exception.
    For one point at a time: explanations, overlays, tests. Runs and sweeps use ``optimizers``.
    """
    registers = [0.0] * program.registers
    registers[X_REGISTER], registers[Y_REGISTER] = float(x), float(y)
    registers[2:2 + len(program.constants)] = program.constants.tolist()
    for op, d, a, b, c in program.code.tolist():
        registers[d] = _PYTHON_OPS[op](registers[a], registers[b], registers[c])
    return tuple(registers[o] for o in program.outputs.tolist())


# --- the same instructions over NumPy arrays, for pictures ------------------------------------------------
def _np_select(a, b, c):
    return np.where(a != 0.0, b, c)


_NUMPY = {
    "add": lambda a, b, c: a + b, "sub": lambda a, b, c: a - b, "mul": lambda a, b, c: a * b,
    "div": lambda a, b, c: np.divide(a, b), "neg": lambda a, b, c: -a,
    "pow": lambda a, b, c: np.power(a, b), "sqrt": lambda a, b, c: np.sqrt(a),
    "exp": lambda a, b, c: np.exp(a), "log": lambda a, b, c: np.log(a), "sin": lambda a, b, c: np.sin(a),
    "cos": lambda a, b, c: np.cos(a), "tan": lambda a, b, c: np.tan(a), "asin": lambda a, b, c: np.arcsin(a),
    "acos": lambda a, b, c: np.arccos(a), "atan": lambda a, b, c: np.arctan(a),
    "atan2": lambda a, b, c: np.arctan2(a, b), "sinh": lambda a, b, c: np.sinh(a),
    "cosh": lambda a, b, c: np.cosh(a), "tanh": lambda a, b, c: np.tanh(a), "abs": lambda a, b, c: np.abs(a),
    "max": lambda a, b, c: np.where(a >= b, a, b), "min": lambda a, b, c: np.where(a <= b, a, b),
    "lt": lambda a, b, c: (a < b) * 1.0, "le": lambda a, b, c: (a <= b) * 1.0,
    "gt": lambda a, b, c: (a > b) * 1.0, "ge": lambda a, b, c: (a >= b) * 1.0,
    "eq": lambda a, b, c: (a == b) * 1.0, "ne": lambda a, b, c: (a != b) * 1.0,
    "and": lambda a, b, c: ((a != 0.0) & (b != 0.0)) * 1.0,
    "or": lambda a, b, c: ((a != 0.0) | (b != 0.0)) * 1.0,
    "not": lambda a, b, c: (a == 0.0) * 1.0, "select": lambda a, b, c: _np_select(a, b, c),
}  # fmt: skip
_NUMPY_OPS = tuple(_NUMPY[name] for name in OPS)


def restrict(program: Program, outputs) -> tuple[np.ndarray, np.ndarray]:
    """(instructions, output registers) needed for the program's ``outputs`` (positions in
    ``program.outputs``): the instructions whose results those outputs depend on, in their order."""
    wanted = np.asarray(program.outputs)[list(outputs)]
    live = set(int(r) for r in wanted)
    keep = []
    for row in reversed(program.code.tolist()):
        op, d, a, b, c = row
        if d in live:
            keep.append(row)
            live.discard(d)
            live.update((a, b, c))
    keep.reverse()
    code = np.array(keep, dtype=np.int64).reshape(-1, 5)
    # Read-only like the program's own arrays: the compiled evaluator then takes them with the types it
    # was compiled for (a writable array would be a new signature, compiled again).
    for arr in (code, wanted):
        arr.flags.writeable = False
    return code, wanted


def evaluate_arrays(program: Program, code: np.ndarray, outputs: np.ndarray, x, y) -> list[np.ndarray]:
    """The values of registers ``outputs`` after running ``code`` (from ``restrict``) on arrays x, y.

    For pictures and the minima search only: NumPy's SIMD functions may round differently from the C
    library on some CPUs, so no path of an optimizer is computed here (paths use the compiled engine).
    Undefined values are NaN (or ±inf), never an exception. Work is bounded: one array operation per
    instruction.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    registers: dict[int, object] = {X_REGISTER: x, Y_REGISTER: y}
    for i, value in enumerate(program.constants.tolist()):
        registers[2 + i] = value
    with np.errstate(all="ignore"):
        for op, d, a, b, c in code.tolist():
            registers[d] = _NUMPY_OPS[op](registers.get(a, 0.0), registers.get(b, 0.0), registers.get(c, 0.0))
    return [np.asarray(registers[int(o)], dtype=float) for o in outputs]
