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

# Placeholders: {name}; {fields} (the rule's state fields); {gradient}, {rule} (filled in per optimizer).
# Outputs: final points and values, diverged (step, -1) and why (rules.HESSIAN_* codes, 0 = left the box),
# converged (step, -1; sweeps), and with keep_path the points (steps + 1, 2, P) and values (steps + 1, P).
_SIGNATURE = '''
@kernel
def run_{name}(code, constants, registers, outputs, starts, lrs, moms, fixed, noise, minima, tol, keep_path,
               track, points, values, final, final_values, diverged, why, converged):
    count = starts.shape[0]
    steps = lrs.shape[0]
    noisy = noise.shape[0] > 0
    theta = np.empty((2, CHUNK))  # θ_t of each start in the chunk
    value = np.empty(CHUNK)  # f(θ_t)
    state = np.zeros(({fields}, 2, CHUNK))  # the rule's accumulators, per coordinate
    stop = np.empty(CHUNK, dtype=np.int64)  # the step at which a start stopped, -1 while it runs
    reason = np.zeros(CHUNK, dtype=np.int64)  # why it stopped (0: it left the box)
    status = np.zeros(CHUNK, dtype=np.int64)  # this step's rules.HESSIAN_* code (second-order rules)'''

_FINISH = '''
        for i in range(k):
            final[c0 + i, 0] = theta[0, i]
            final[c0 + i, 1] = theta[1, i]
            final_values[c0 + i] = value[i]
            diverged[c0 + i] = stop[i]
            why[c0 + i] = reason[i]
'''

# The interpreting kernel: each phase of a step is one pass over the chunk.
_TEMPLATE = _SIGNATURE + '''
    R = registers_for(constants, registers)
    trial = np.empty((2, CHUNK))  # θ_t + Δθ_t, accepted unless it leaves the box
    ahead = np.empty((2, CHUNK))  # where the gradient is taken (NAG's look-ahead point)
    here = np.empty((outputs.shape[0], CHUNK))  # f, ∂f/∂x, ∂f/∂y (, Hessian) at θ_t, while running
    there = np.empty((outputs.shape[0], CHUNK))  # the same at the trial point
    look = np.empty((outputs.shape[0], CHUNK))  # the same at the look-ahead point
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
            reason[i] = 0
        if keep_path:
            record(points, values, 0, c0, k, theta, value)
        if track:
            mark_converged(converged, 0, c0, k, theta, here, stop, minima, tol, scratch)
        for t in range(1, steps + 1):
            h = hyper_for_step(lrs[t - 1], moms[t - 1], fixed, t)
{gradient}
{rule}
            evaluate(code, R, k, outputs, trial, there)
            for i in range(k):  # selects, not branches (every operand loaded first): this loop vectorizes
                x, y, nx, ny, f = theta[0, i], theta[1, i], trial[0, i], trial[1, i], there[0, i]
                last, stopped, was, code_now = value[i], stop[i], reason[i], status[i]
                ok = inside(nx, ny, f) & (stopped < 0) & (code_now == 0)
                theta[0, i] = nx if ok else x
                theta[1, i] = ny if ok else y
                value[i] = f if ok else last
                stop[i] = -1 if ok else (t if stopped < 0 else stopped)
                reason[i] = code_now if (stopped < 0) else was
            # A running start's new point was accepted, so the values there are now the values here; a
            # stopped start never reads them again.
            here, there = there, here
            if keep_path:
                record(points, values, t, c0, k, theta, value)
            if track:
                mark_converged(converged, t, c0, k, theta, here, stop, minima, tol, scratch)''' + _FINISH

_OWN_GRADIENT = "            grad = here"
_LOOKAHEAD_GRADIENT = '''            for c in range(2):
                for i in range(k):
                    ahead[c, i] = {lookahead}(theta[c, i], {state_load}, h)
            evaluate(code, R, k, outputs, ahead, look)
            grad = look'''
_FIRST_ORDER_RULE = '''            for c in range(2):
                nudge = noise[t - 1, c] if noisy else 0.0
                for i in range(k):
                    g = grad[1 + c, i]
                    if noisy:
                        g = g + nudge
                    s = {state_load}
                    delta, s = {step}(g, s, h, t)
{state_store}
                    trial[c, i] = theta[c, i] + delta'''
_SECOND_ORDER_RULE = '''            noise_x = noise[t - 1, 0] if noisy else 0.0
            noise_y = noise[t - 1, 1] if noisy else 0.0
            for i in range(k):
                gx = grad[1, i]
                gy = grad[2, i]
                if noisy:
                    gx = gx + noise_x
                    gy = gy + noise_y
                s = {state_load}
                dx, dy, s, status[i] = {step}(gx, gy, grad[3, i], grad[4, i], grad[5, i], s, h, t)
{state_store}
                trial[0, i] = theta[0, i] + dx
                trial[1, i] = theta[1, i] + dy'''

# The fused kernel: the surface compiled in, one pass over the chunk per step, everything for a start in
# registers, which LLVM vectorizes whole. Each start sees exactly the operations of the kernel above.
_FUSED_TEMPLATE = _SIGNATURE + '''
    here = np.empty(({outputs}, CHUNK))  # f, ∂f/∂x, ∂f/∂y (, Hessian) at θ_t, while running
    arrived = np.empty(CHUNK, dtype=np.int64)  # the step at which a start came within tol, -1 before
    tol2 = tol * tol
    for c0 in range(0, count, CHUNK):
        k = min(CHUNK, count - c0)
        state[:, :, :] = 0.0
        for i in range(k):
            x = starts[c0 + i, 0]
            y = starts[c0 + i, 1]
            {evaluate_here}
            theta[0, i] = x
            theta[1, i] = y
            value[i] = here[0, i]
            stop[i] = -1 if inside(x, y, here[0, i]) else 0
            reason[i] = 0
            near = distance2(x, y, here[1, i], here[2, i]) <= tol2
            arrived[i] = 0 if (track & (stop[i] < 0) & near) else -1
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
{rule}
                nx = x + dx
                ny = y + dy
                {evaluate_trial}
                # Every operand is loaded before the selects: LLVM turns them into vector blends only
                # when no load hides in a branch.
                last, stopped, was = value[i], stop[i], reason[i]
                ok = inside(nx, ny, f) & (stopped < 0) & (code_now == 0)
                theta[0, i] = nx if ok else x
                theta[1, i] = ny if ok else y
                value[i] = f if ok else last
{store_here}
                stop[i] = -1 if ok else (t if stopped < 0 else stopped)
                reason[i] = code_now if (stopped < 0) else was
                if track:
                    before = arrived[i]
                    near = distance2(theta[0, i], theta[1, i], ngx, ngy) <= tol2
                    arrived[i] = t if (near & ok & (before < 0)) else before
            if keep_path:
                record(points, values, t, c0, k, theta, value)
        for i in range(k):
            if track:
                converged[c0 + i] = arrived[i]''' + _FINISH

_FUSED_OWN_GRADIENT = '''                gx = here[1, i]
                gy = here[2, i]'''
_FUSED_LOOKAHEAD_GRADIENT = '''                ax = {lookahead}(x, {load_x}, h)
                ay = {lookahead}(y, {load_y}, h)
                _, gx, gy = value_and_gradient(ax, ay)'''
_FUSED_FIRST_ORDER_RULE = '''                code_now = 0
                dx, s = {step}(gx, {load_x}, h, t)
{store_x}
                dy, s = {step}(gy, {load_y}, h, t)
{store_y}'''
_FUSED_SECOND_ORDER_RULE = '''                hxx, hxy, hyy = here[3, i], here[4, i], here[5, i]
                dx, dy, s, code_now = {step}(gx, gy, hxx, hxy, hyy, {load_x}, h, t)
{store_x}'''


def _state_class(optimizer):
    return type(optimizer.init.py_func(0.0))


def outputs_needed(optimizer) -> int:
    """How many of the program's outputs the optimizer's kernel uses: f and ∇f, and the Hessian."""
    return 6 if optimizer.second_order else 3


def _kernel_source(optimizer, fused: bool) -> str:
    state = _state_class(optimizer)
    fields = len(state._fields)

    def load(c: str) -> str:
        return f"{state.__name__}({', '.join(f'state[{j}, {c}, i]' for j in range(fields))})"

    def store(c: str, indent: int) -> str:
        pad = " " * indent
        return "\n".join(f"{pad}state[{j}, {c}, i] = s[{j}]" for j in range(fields)) or f"{pad}pass"

    own = optimizer.lookahead is identity_lookahead
    lookahead = None if own else optimizer.lookahead.py_func.__name__
    step = optimizer.step.py_func.__name__
    n = outputs_needed(optimizer)
    if fused:
        gradient = _FUSED_OWN_GRADIENT
        if lookahead:
            gradient = _FUSED_LOOKAHEAD_GRADIENT.format(lookahead=lookahead, load_x=load("0"),
                                                        load_y=load("1"))
        if optimizer.second_order:
            rule = _FUSED_SECOND_ORDER_RULE.format(step=step, load_x=load("0"), store_x=store("0", 16))
        else:
            rule = _FUSED_FIRST_ORDER_RULE.format(step=step, load_x=load("0"), load_y=load("1"),
                                                  store_x=store("0", 16), store_y=store("1", 16))
        names = ["f", "ngx", "ngy", "nhxx", "nhxy", "nhyy"][:n]
        evaluate = "value_gradient_hessian" if optimizer.second_order else "value_and_gradient"
        return _FUSED_TEMPLATE.format(
            name=optimizer.name, fields=fields, gradient=gradient, rule=rule, outputs=n,
            evaluate_here=f"{', '.join(f'here[{j}, i]' for j in range(n))} = {evaluate}(x, y)",
            evaluate_trial=f"{', '.join(names)} = {evaluate}(nx, ny)",
            store_here="\n".join(f"                here[{j}, i] = {v}" for j, v in enumerate(names) if j))
    gradient = _OWN_GRADIENT
    if lookahead:
        gradient = _LOOKAHEAD_GRADIENT.format(lookahead=lookahead, state_load=load("c"))
    if optimizer.second_order:
        rule = _SECOND_ORDER_RULE.format(step=step, state_load=load("0"), state_store=store("0", 16))
    else:
        rule = _FIRST_ORDER_RULE.format(step=step, state_load=load("c"), state_store=store("c", 20))
    return _TEMPLATE.format(name=optimizer.name, fields=fields, gradient=gradient, rule=rule)


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
    """``value_and_gradient(x, y)`` and ``value_gradient_hessian(x, y)`` written out from the program, and
    ``distance2`` (below): one line per instruction, the same operation the interpreter would apply."""
    return "\n".join([_straight_line(program, "value_and_gradient", 3),
                      _straight_line(program, "value_gradient_hessian", 6), *_distance_source(minima)])


def _straight_line(program, name: str, count: int) -> str:
    """The program's first ``count`` outputs as one function (only the instructions they need)."""
    outputs = [int(o) for o in program.outputs[:count]]
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
    return "\n".join(["", "@kernel", f"def {name}(x, y):", *body,
                      f"    return {', '.join(reg(o) for o in outputs)}", ""])


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


