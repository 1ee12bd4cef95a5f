"""The compiled engine's building blocks: the program interpreter and the per-start checks.

Everything here is compiled by numba (``optimizers.jit``) and called by the generated kernels
(``optimizers.codegen``, loaded by ``optimizers.compiled``):

* ``evaluate`` runs a surface's program (``surfaces.program``) instruction by instruction over a chunk of
  starts: each instruction is one loop over the chunk, which LLVM vectorizes;
* the helpers of the few operations whose domain needs a rule (``_sqrt``, ``_log``, ``_pow``, …) are called
  by the interpreter and by generated code alike, so both give NaN in the same places;
* ``inside`` (the divergence rule: |x|, |y| and |f| at most ``LIMIT``), ``mark_converged`` and ``record``
  serve every kernel;
* ``select(condition, a, b)`` is the branch-free choice every per-start loop uses (see its docstring).

Every operation here is one IEEE operation or one call of the C library's math, so a start's numbers do
not depend on how many starts run beside it, nor on the CPU's vector width.
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import intrinsic

from optimizers.jit import kernel
from surfaces.program import OP

LIMIT = 1e6  # |θ| or |f| beyond this counts as divergence (the saddle is unbounded below)
CHUNK = 512  # starts processed together: registers and state stay in the CPU's cache
# x + (-0.0) is x, bit for bit, for every x (±0, ±inf and NaN included): the kernels add it where there is
# nothing to add (no noise, a start that does not move), so their loops need no branch (see ``select``).
NEG_ZERO = -0.0

# numba reads module globals as compile-time constants: one name per operation code.
ADD, SUB, MUL, DIV, NEG, POW, SQRT, EXP, LOG = (OP[n] for n in ("add", "sub", "mul", "div", "neg", "pow",
                                                               "sqrt", "exp", "log"))
SIN, COS, TAN, ASIN, ACOS, ATAN, ATAN2 = (OP[n] for n in ("sin", "cos", "tan", "asin", "acos", "atan",
                                                          "atan2"))
SINH, COSH, TANH, ABS, MAX, MIN = (OP[n] for n in ("sinh", "cosh", "tanh", "abs", "max", "min"))
LT, LE, GT, GE, EQ, NE, AND, OR, NOT, SELECT = (OP[n] for n in ("lt", "le", "gt", "ge", "eq", "ne", "and",
                                                                "or", "not", "select"))


@intrinsic
def select(typingctx, condition, a, b):
    """``a if condition else b`` as one LLVM ``select``: no branch, so a vectorized loop gets a blend.

    Why not Python's conditional expression: numba compiles it to two branches, and where one branch
    stores back the value just loaded (``theta[0, i] = nx if ok else theta[0, i]``) LLVM drops that store
    and vectorizes the other as a *masked* store (``vpmaskmovq``), microcoded on AMD's CPUs (18 µops):
    measured, a sweep kernel ran at 150–170 M particle-steps/s with those, 210–220 M/s with selects.
    Both operands are computed either way; the result is the same value, bit for bit.
    """
    kind = typingctx.unify_types(types.unliteral(a), types.unliteral(b))
    if kind is None or not isinstance(condition, types.Boolean):
        return None

    def codegen(context, builder, signature, args):
        condition, a, b = args
        _, a_type, b_type = signature.args
        return builder.select(condition, context.cast(builder, a, a_type, kind),
                              context.cast(builder, b, b_type, kind))

    return kind(condition, a, b), codegen


@kernel
def registers_for(constants, registers):
    """The register file of one chunk, with the program's constants loaded (they are never overwritten)."""
    R = np.zeros((registers, CHUNK))
    for r in range(constants.shape[0]):
        R[2 + r, :] = constants[r]
    return R


@kernel
def evaluate(code, R, k, outputs, point, out):  # noqa: C901 - one branch per instruction
    """Run ``code`` for the first k starts of a chunk at ``point`` (2, CHUNK); outputs go to ``out``."""
    for i in range(k):
        R[0, i] = point[0, i]
        R[1, i] = point[1, i]
    for n in range(code.shape[0]):
        op = code[n, 0]
        d = R[code[n, 1]]
        a = R[code[n, 2]]
        b = R[code[n, 3]]
        if op == ADD:
            for i in range(k):
                d[i] = a[i] + b[i]
        elif op == SUB:
            for i in range(k):
                d[i] = a[i] - b[i]
        elif op == MUL:
            for i in range(k):
                d[i] = a[i] * b[i]
        elif op == DIV:
            for i in range(k):
                d[i] = a[i] / b[i]
        elif op == NEG:
            for i in range(k):
                d[i] = -a[i]
        elif op == POW:
            for i in range(k):
                d[i] = _pow(a[i], b[i])
        elif op == SQRT:
            for i in range(k):
                d[i] = _sqrt(a[i])
        elif op == EXP:
            for i in range(k):
                d[i] = math.exp(a[i])
        elif op == LOG:
            for i in range(k):
                d[i] = _log(a[i])
        elif op == SIN:
            for i in range(k):
                d[i] = math.sin(a[i])
        elif op == COS:
            for i in range(k):
                d[i] = math.cos(a[i])
        elif op == TAN:
            for i in range(k):
                d[i] = math.tan(a[i])
        elif op == ASIN:
            for i in range(k):
                d[i] = _asin(a[i])
        elif op == ACOS:
            for i in range(k):
                d[i] = _acos(a[i])
        elif op == ATAN:
            for i in range(k):
                d[i] = math.atan(a[i])
        elif op == ATAN2:
            for i in range(k):
                d[i] = math.atan2(a[i], b[i])
        elif op == SINH:
            for i in range(k):
                d[i] = math.sinh(a[i])
        elif op == COSH:
            for i in range(k):
                d[i] = math.cosh(a[i])
        elif op == TANH:
            for i in range(k):
                d[i] = math.tanh(a[i])
        elif op == ABS:
            for i in range(k):
                d[i] = abs(a[i])
        elif op == MAX:
            for i in range(k):
                d[i] = _max(a[i], b[i])
        elif op == MIN:
            for i in range(k):
                d[i] = _min(a[i], b[i])
        elif op == LT:
            for i in range(k):
                d[i] = select(a[i] < b[i], 1.0, 0.0)
        elif op == LE:
            for i in range(k):
                d[i] = select(a[i] <= b[i], 1.0, 0.0)
        elif op == GT:
            for i in range(k):
                d[i] = select(a[i] > b[i], 1.0, 0.0)
        elif op == GE:
            for i in range(k):
                d[i] = select(a[i] >= b[i], 1.0, 0.0)
        elif op == EQ:
            for i in range(k):
                d[i] = select(a[i] == b[i], 1.0, 0.0)
        elif op == NE:
            for i in range(k):
                d[i] = select(a[i] != b[i], 1.0, 0.0)
        elif op == AND:
            for i in range(k):
                d[i] = select((a[i] != 0.0) & (b[i] != 0.0), 1.0, 0.0)
        elif op == OR:
            for i in range(k):
                d[i] = select((a[i] != 0.0) | (b[i] != 0.0), 1.0, 0.0)
        elif op == NOT:
            for i in range(k):
                d[i] = select(a[i] == 0.0, 1.0, 0.0)
        elif op == SELECT:
            c = R[code[n, 4]]
            for i in range(k):
                d[i] = select(a[i] != 0.0, b[i], c[i])
    for j in range(outputs.shape[0]):
        src = R[outputs[j]]
        for i in range(k):
            out[j, i] = src[i]


# The operations whose edge cases need a rule (NaN outside the domain, as NumPy gives): used by the
# interpreter above and by the generated code of fused kernels alike.
@kernel
def _sqrt(a):
    return math.sqrt(a) if a >= 0.0 else math.nan


@kernel
def _asin(a):
    return math.asin(a) if abs(a) <= 1.0 else math.nan


@kernel
def _acos(a):
    return math.acos(a) if abs(a) <= 1.0 else math.nan


@kernel
def _max(a, b):
    return select(a >= b, a, b)


@kernel
def _min(a, b):
    return select(a <= b, a, b)


@kernel
def _pow(a, b):
    # A negative number to a non-integer power is not real: NaN (Python's ** would give a complex).
    if a < 0.0 and b != math.floor(b):
        return math.nan
    return math.pow(a, b)


@kernel
def _log(a):
    if a > 0.0:
        return math.log(a)
    return -math.inf if a == 0.0 else math.nan


@kernel
def evaluate_point(code, constants, registers, outputs, x, y):
    """The program's outputs at one point, as an array: what the kernels compute for that start."""
    R = registers_for(constants, registers)
    point = np.empty((2, CHUNK))
    point[0, 0] = x
    point[1, 0] = y
    out = np.empty((outputs.shape[0], CHUNK))
    evaluate(code, R, 1, outputs, point, out)
    return out[:, 0].copy()


@kernel
def evaluate_many(code, constants, registers, outputs, points):
    """The program's outputs at each of P points (P, 2), as (len(outputs), P): the engine's own numbers."""
    count = points.shape[0]
    R = registers_for(constants, registers)
    block = np.empty((2, CHUNK))
    values = np.empty((outputs.shape[0], CHUNK))
    out = np.empty((outputs.shape[0], count))
    for c0 in range(0, count, CHUNK):
        k = min(CHUNK, count - c0)
        for i in range(k):
            block[0, i] = points[c0 + i, 0]
            block[1, i] = points[c0 + i, 1]
        evaluate(code, R, k, outputs, block, values)
        for j in range(outputs.shape[0]):
            for i in range(k):
                out[j, c0 + i] = values[j, i]
    return out


@kernel
def inside(x, y, f):
    """Within the box: |x|, |y| and |f| at most LIMIT (NaN fails every comparison)."""
    # & rather than `and`: no branches, so the loops that call this stay vectorized.
    return (abs(x) <= LIMIT) & (abs(y) <= LIMIT) & (abs(f) <= LIMIT)


@kernel
def mark_converged(converged, t, c0, k, theta, here, stop, minima, tol, nearest):
    """Record step t for running starts first within tol of a minimum (or, with none listed, of a
    stationary point). ``nearest`` is scratch space (CHUNK). The loop over starts is innermost and has
    selects instead of ifs, so LLVM vectorizes it."""
    tol2 = tol * tol
    if minima.shape[0] > 0:
        for i in range(k):
            nearest[i] = math.inf
        for m in range(minima.shape[0]):
            mx, my = minima[m, 0], minima[m, 1]
            for i in range(k):
                dx = theta[0, i] - mx
                dy = theta[1, i] - my
                d2 = dx * dx + dy * dy
                nearest[i] = select(d2 < nearest[i], d2, nearest[i])
    else:
        for i in range(k):
            nearest[i] = here[1, i] * here[1, i] + here[2, i] * here[2, i]
    for i in range(k):
        before, stopped, d2 = converged[c0 + i], stop[i], nearest[i]
        converged[c0 + i] = select((d2 <= tol2) & (before < 0) & (stopped < 0), t, before)


@kernel
def nearest_minima(points, minima):
    """For each point (P, 2), the index of the nearest of ``minima`` (M ≥ 1, 2) by dx·dx + dy·dy, the
    first on a tie (and the first NaN distance, if any): exactly NumPy's ``argmin`` of those distances,
    without its (P, M, 2) temporaries, which took 17–25 ms per 256 × 256 Atlas map."""
    out = np.empty(points.shape[0], dtype=np.int64)
    for i in range(points.shape[0]):
        best = math.inf
        index = 0
        for m in range(minima.shape[0]):
            dx = points[i, 0] - minima[m, 0]
            dy = points[i, 1] - minima[m, 1]
            d2 = dx * dx + dy * dy
            better = (d2 < best) | ((d2 != d2) & (best == best))
            best = select(better, d2, best)
            index = select(better, m, index)
        out[i] = index
    return out


@kernel
def record(points, values, t, c0, k, theta, value):
    for i in range(k):
        points[t, 0, c0 + i] = theta[0, i]
        points[t, 1, c0 + i] = theta[1, i]
        values[t, c0 + i] = value[i]
