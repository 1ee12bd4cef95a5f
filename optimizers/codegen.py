"""The kernels' source, generated from the table of optimizers: one kernel per optimizer, two kinds.

A kernel takes a block of starts, keeps their coordinates and the rule's accumulators in small arrays of
``CHUNK`` starts (so they stay in the CPU's cache), and for each step

1. takes the gradient where the rule asks for it (θ, or NAG's look-ahead point),
2. applies the rule (``optimizers.rules``) to each coordinate,
3. evaluates f and ∇f at the new point and stops a start whose point or value left the box (divergence),
4. for sweeps, notes the first step within ``tol`` of a listed minimum.

The loops over the starts of a chunk are innermost and branch-free (selects, not ifs), so LLVM
vectorizes them, while every start sees exactly the operations it would see alone.

* The **interpreting** kernels (``module_source()``) take any surface's program as data and run it with
  ``optimizers.kernel.evaluate``. Compiled once for all surfaces; no code derived from a visitor's
  formula is compiled for them.
* The **fused** kernels (``module_source(surface)``) have one surface's program written out as
  straight-line code (one line per instruction, the same operation the interpreter applies) and its
  minima as constants: everything for a start stays in registers, several times faster.

Both kinds produce the same bits (``tests/test_optimizers.py`` checks every optimizer on every surface).
The rule's state has its own number of fields per optimizer, which is why the source is generated.
"""

from __future__ import annotations

import math

import numpy as np

from optimizers.rules import identity_lookahead
from surfaces.program import OPS

_TEMPLATE = '''
@kernel
def run_{name}(code, constants, registers, outputs, starts, lrs, moms, fixed, noise, minima, tol, keep_path,
               track, points, values, final, final_values, diverged, converged):
    count = starts.shape[0]
    steps = lrs.shape[0]
    noisy = noise.shape[0] > 0
    R = registers_for(constants, registers)
    theta = np.empty((2, CHUNK))  # θ_t of each start in the chunk
    value = np.empty(CHUNK)  # f(θ_t)
    trial = np.empty((2, CHUNK))  # θ_t + Δθ_t, accepted unless it leaves the box
    ahead = np.empty((2, CHUNK))  # where the gradient is taken (NAG's look-ahead point)
    here = np.empty((3, CHUNK))  # f, ∂f/∂x, ∂f/∂y at θ_t (for a start that is still running)
    there = np.empty((3, CHUNK))  # the same at the trial point
    look = np.empty((3, CHUNK))  # the same at the look-ahead point
    state = np.zeros(({fields}, 2, CHUNK))  # the rule's accumulators, per coordinate
    stop = np.empty(CHUNK, dtype=np.int64)  # the step at which a start diverged, -1 while it runs
    scratch = np.empty(CHUNK)
    for c0 in range(0, count, CHUNK):
        k = min(CHUNK, count - c0)
        for i in range(k):
            theta[0, i] = starts[c0 + i, 0]
            theta[1, i] = starts[c0 + i, 1]
        state[:, :, :] = 0.0
        evaluate(code, R, k, outputs, theta, here)
        for i in range(k):
            value[i] = here[0, i]
            stop[i] = -1 if inside(theta[0, i], theta[1, i], here[0, i]) else 0
        if keep_path:
            record(points, values, 0, c0, k, theta, value)
        if track:
            mark_converged(converged, 0, c0, k, theta, here, stop, minima, tol, scratch)
        for t in range(1, steps + 1):
            h = hyper_for_step(lrs[t - 1], moms[t - 1], fixed, t)
{gradient}
            for c in range(2):
                nudge = noise[t - 1, c] if noisy else 0.0
                for i in range(k):
                    g = grad[1 + c, i]
                    if noisy:
                        g = g + nudge
                    s = {state_load}
                    delta, s = {step}(g, s, h, t)
{state_store}
                    trial[c, i] = theta[c, i] + delta
            evaluate(code, R, k, outputs, trial, there)
            for i in range(k):  # selects, not branches (every operand loaded first): this loop vectorizes
                x, y, nx, ny, f = theta[0, i], theta[1, i], trial[0, i], trial[1, i], there[0, i]
                last, stopped = value[i], stop[i]
                ok = inside(nx, ny, f) & (stopped < 0)
                theta[0, i] = nx if ok else x
                theta[1, i] = ny if ok else y
                value[i] = f if ok else last
                stop[i] = -1 if ok else (t if stopped < 0 else stopped)
            # A running start's new point was accepted, so the values there are now the values here; a
            # stopped start never reads them again.
            here, there = there, here
            if keep_path:
                record(points, values, t, c0, k, theta, value)
            if track:
                mark_converged(converged, t, c0, k, theta, here, stop, minima, tol, scratch)
        for i in range(k):
            final[c0 + i, 0] = theta[0, i]
            final[c0 + i, 1] = theta[1, i]
            final_values[c0 + i] = value[i]
            diverged[c0 + i] = stop[i]
'''

_OWN_GRADIENT = "            grad = here"
_LOOKAHEAD_GRADIENT = '''            for c in range(2):
                for i in range(k):
                    ahead[c, i] = {lookahead}(theta[c, i], {state_load}, h)
            evaluate(code, R, k, outputs, ahead, look)
            grad = look'''


# The same steps with the surface compiled in: one pass over the chunk per step, everything for a start in
# registers, which LLVM vectorizes whole. Each start sees exactly the operations of the kernel above.
_FUSED_TEMPLATE = '''
@kernel
def run_{name}(code, constants, registers, outputs, starts, lrs, moms, fixed, noise, minima, tol, keep_path,
               track, points, values, final, final_values, diverged, converged):
    count = starts.shape[0]
    steps = lrs.shape[0]
    noisy = noise.shape[0] > 0
    theta = np.empty((2, CHUNK))  # θ_t of each start in the chunk
    value = np.empty(CHUNK)  # f(θ_t)
    here = np.empty((3, CHUNK))  # f, ∂f/∂x, ∂f/∂y at θ_t (for a start that is still running)
    state = np.zeros(({fields}, 2, CHUNK))  # the rule's accumulators, per coordinate
    stop = np.empty(CHUNK, dtype=np.int64)  # the step at which a start diverged, -1 while it runs
    arrived = np.empty(CHUNK, dtype=np.int64)  # the step at which a start came within tol, -1 before
    tol2 = tol * tol
    for c0 in range(0, count, CHUNK):
        k = min(CHUNK, count - c0)
        state[:, :, :] = 0.0
        for i in range(k):
            x = starts[c0 + i, 0]
            y = starts[c0 + i, 1]
            f, gx, gy = value_and_gradient(x, y)
            theta[0, i] = x
            theta[1, i] = y
            here[1, i] = gx
            here[2, i] = gy
            value[i] = f
            stop[i] = -1 if inside(x, y, f) else 0
            arrived[i] = 0 if (track & (stop[i] < 0) & (distance2(x, y, gx, gy) <= tol2)) else -1
        if keep_path:
            record(points, values, 0, c0, k, theta, value)
        for t in range(1, steps + 1):
            h = hyper_for_step(lrs[t - 1], moms[t - 1], fixed, t)
            # Loaded here, not in the loop below: fewer arrays in a loop keep LLVM's alias checks (and so
            # its vectorization) within bounds.
            noise_x = noise[t - 1, 0] if noisy else 0.0
            noise_y = noise[t - 1, 1] if noisy else 0.0
            for i in range(k):
                x = theta[0, i]
                y = theta[1, i]
{gradient}
                if noisy:
                    gx = gx + noise_x
                    gy = gy + noise_y
                dx, s = {step}(gx, {load_x}, h, t)
{store_x}
                dy, s = {step}(gy, {load_y}, h, t)
{store_y}
                nx = x + dx
                ny = y + dy
                f, ngx, ngy = value_and_gradient(nx, ny)
                # Every operand is loaded before the selects: LLVM turns them into vector blends only
                # when no load hides in a branch.
                last, stopped = value[i], stop[i]
                ok = inside(nx, ny, f) & (stopped < 0)
                theta[0, i] = nx if ok else x
                theta[1, i] = ny if ok else y
                value[i] = f if ok else last
                here[1, i] = ngx
                here[2, i] = ngy
                stop[i] = -1 if ok else (t if stopped < 0 else stopped)
                if track:
                    before = arrived[i]
                    near = distance2(theta[0, i], theta[1, i], ngx, ngy) <= tol2
                    arrived[i] = t if (near & ok & (before < 0)) else before
            if keep_path:
                record(points, values, t, c0, k, theta, value)
        for i in range(k):
            final[c0 + i, 0] = theta[0, i]
            final[c0 + i, 1] = theta[1, i]
            final_values[c0 + i] = value[i]
            diverged[c0 + i] = stop[i]
            if track:
                converged[c0 + i] = arrived[i]
'''

_FUSED_OWN_GRADIENT = '''                gx = here[1, i]
                gy = here[2, i]'''
_FUSED_LOOKAHEAD_GRADIENT = '''                ax = {lookahead}(x, {load_x}, h)
                ay = {lookahead}(y, {load_y}, h)
                _, gx, gy = value_and_gradient(ax, ay)'''


def _state_class(optimizer):
    return type(optimizer.init.py_func(0.0))


def _kernel_source(optimizer, fused: bool) -> str:
    state = _state_class(optimizer)
    fields = len(state._fields)

    def load(c: str) -> str:
        return f"{state.__name__}({', '.join(f'state[{j}, {c}, i]' for j in range(fields))})"

    def store(c: str, indent: int) -> str:
        pad = " " * indent
        return "\n".join(f"{pad}state[{j}, {c}, i] = s[{j}]" for j in range(fields)) or f"{pad}pass"

    lookahead = optimizer.lookahead is not identity_lookahead
    step = optimizer.step.py_func.__name__
    if fused:
        gradient = _FUSED_OWN_GRADIENT
        if lookahead:
            gradient = _FUSED_LOOKAHEAD_GRADIENT.format(lookahead=optimizer.lookahead.py_func.__name__,
                                                        load_x=load("0"), load_y=load("1"))
        return _FUSED_TEMPLATE.format(name=optimizer.name, fields=fields, gradient=gradient, step=step,
                                      load_x=load("0"), load_y=load("1"), store_x=store("0", 16),
                                      store_y=store("1", 16))
    gradient = _OWN_GRADIENT
    if lookahead:
        gradient = _LOOKAHEAD_GRADIENT.format(lookahead=optimizer.lookahead.py_func.__name__,
                                              state_load=load("c"))
    return _TEMPLATE.format(name=optimizer.name, fields=fields, gradient=gradient, state_load=load("c"),
                            step=step, state_store=store("c", 20))


def module_source(surface=None) -> str:
    """The generated module: one kernel per optimizer of the table.

    Without a surface the kernels interpret any surface's program (``evaluate``); with one, they call
    its program written out as straight-line code, and its minima as constants (``fused_source``), which
    LLVM vectorizes whole.
    """
    from optimizers.table import OPTIMIZERS

    names = sorted({o.step.py_func.__name__ for o in OPTIMIZERS.values()}
                   | {o.lookahead.py_func.__name__ for o in OPTIMIZERS.values()}
                   | {_state_class(o).__name__ for o in OPTIMIZERS.values()})
    header = [
        '"""Generated by optimizers.kernel from the table of optimizers; do not edit."""',
        "import math",
        "",
        "import numpy as np",
        "",
        "from optimizers.jit import kernel",
        "from optimizers.kernel import (CHUNK, _acos, _asin, _log, _max, _min, _pow, _sqrt, evaluate,",
        "                               inside, mark_converged, record, registers_for)",
        f"from optimizers.rules import hyper_for_step, {', '.join(names)}",
        "",
    ]
    fused = surface is not None
    body = fused_source(surface.program, surface.all_minima) if fused else ""
    return "\n".join(header) + body + "".join(_kernel_source(o, fused) for o in OPTIMIZERS.values())


# The expression each instruction becomes in generated code: the same operation as the interpreter's.
_EXPRESSIONS = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / {b}", "neg": "-{a}",
    "pow": "_pow({a}, {b})", "sqrt": "_sqrt({a})", "exp": "math.exp({a})", "log": "_log({a})",
    "sin": "math.sin({a})", "cos": "math.cos({a})", "tan": "math.tan({a})", "asin": "_asin({a})",
    "acos": "_acos({a})", "atan": "math.atan({a})", "atan2": "math.atan2({a}, {b})", "sinh": "math.sinh({a})",
    "cosh": "math.cosh({a})", "tanh": "math.tanh({a})", "abs": "abs({a})", "max": "_max({a}, {b})",
    "min": "_min({a}, {b})", "lt": "1.0 if {a} < {b} else 0.0", "le": "1.0 if {a} <= {b} else 0.0",
    "gt": "1.0 if {a} > {b} else 0.0", "ge": "1.0 if {a} >= {b} else 0.0", "eq": "1.0 if {a} == {b} else 0.0",
    "ne": "1.0 if {a} != {b} else 0.0", "and": "1.0 if ({a} != 0.0 and {b} != 0.0) else 0.0",
    "or": "1.0 if ({a} != 0.0 or {b} != 0.0) else 0.0", "not": "1.0 if {a} == 0.0 else 0.0",
    "select": "{b} if {a} != 0.0 else {c}",
}  # fmt: skip
assert set(_EXPRESSIONS) == set(OPS)


def _literal(value: float) -> str:
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "-math.inf"
    return repr(value)  # repr round-trips a double exactly


def fused_source(program, minima) -> str:
    """``value_and_gradient(x, y)`` written out from the program (only what f and ∇f need): one line per
    instruction, the same operation the interpreter would apply."""
    outputs = [int(o) for o in program.outputs[:3]]
    needed = set(outputs)
    lines = []
    for op, d, a, b, c in reversed(program.code.tolist()):
        if d in needed:
            needed.update((a, b, c) if OPS[op] == "select" else (a, b))
            lines.append((op, d, a, b, c))
    lines.reverse()

    def reg(r: int) -> str:
        if r == 0:
            return "x"
        if r == 1:
            return "y"
        if r - 2 < len(program.constants):
            return _literal(float(program.constants[r - 2]))
        return f"r{r}"

    body = [f"    r{d} = " + _EXPRESSIONS[OPS[op]].format(a=reg(a), b=reg(b), c=reg(c))
            for op, d, a, b, c in lines]
    return "\n".join([
        "",
        "@kernel",
        "def value_and_gradient(x, y):",
        *body,
        f"    return {', '.join(reg(o) for o in outputs)}",
        "",
        *_distance_source(minima),
    ])


def _distance_source(minima) -> list[str]:
    """``distance2(x, y, gx, gy)``: squared distance to the nearest listed minimum, unrolled (the same
    operations as ``mark_converged``), or the squared gradient norm where none are listed."""
    lines = ["", "@kernel", "def distance2(x, y, gx, gy):"]
    if len(minima) == 0:
        return [*lines, "    return gx * gx + gy * gy", ""]
    lines.append("    best = math.inf")
    for mx, my in np.asarray(minima, dtype=np.float64).tolist():
        lines += [f"    dx = x - {_literal(mx)}", f"    dy = y - {_literal(my)}",
                  "    d2 = dx * dx + dy * dy", "    best = d2 if d2 < best else best"]
    return [*lines, "    return best", ""]


