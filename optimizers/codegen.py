"""The kernels' source, generated from the table of optimizers: one kernel per optimizer, two kinds.

A kernel takes a block of starts, keeps their coordinates and the rule's accumulators in small arrays of
``CHUNK`` starts (``FUSED_CHUNK`` in the fused kernels; so they stay in the CPU's cache), and for each step

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
            stop[i] = select(inside(theta[0, i], theta[1, i], here[0, i]), -1, 0)
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
                theta[0, i] = select(ok, nx, x)
                theta[1, i] = select(ok, ny, y)
                value[i] = select(ok, f, last)
                stop[i] = select(ok, -1, select(stopped < 0, t, stopped))
                reason[i] = select(stopped < 0, code_now, was)
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
                nudge = noise[t - 1, c] if noisy else NEG_ZERO
                for i in range(k):
                    g = grad[1 + c, i] + nudge
                    s = {state_load}
                    delta, s = {step}(g, s, h, t)
{state_store}
                    trial[c, i] = theta[c, i] + delta'''
_SECOND_ORDER_RULE = '''            noise_x = noise[t - 1, 0] if noisy else NEG_ZERO
            noise_y = noise[t - 1, 1] if noisy else NEG_ZERO
            for i in range(k):
                gx = grad[1, i] + noise_x
                gy = grad[2, i] + noise_y
                s = {state_load}
                dx, dy, s, status[i] = {step}(gx, gy, grad[3, i], grad[4, i], grad[5, i], s, h, t)
{state_store}
                trial[0, i] = theta[0, i] + dx
                trial[1, i] = theta[1, i] + dy'''

# The fused kernel: the surface compiled in, two passes over the chunk per step (one for second-order
# rules), everything for a start in registers within a pass, which LLVM vectorizes whole. Each start sees
# exactly the operations of the kernel above.
# What keeps those loops fast (see kernel.select; measured on AVX2 with Adam on Rosenbrock):
# * no branch in them: ``select`` for every choice, ``track`` folded into the tolerance, the noise always
#   added (NEG_ZERO when there is none), so LLVM emits blends, never branches or masked stores;
# * a value that may change is written as the loaded value plus a selected increment (θ + (Δθ or −0.0),
#   −1 + (t + 1 or 0)), not as ``select(changed, new, loaded)``: LLVM's x86 backend turns a store of the
#   latter into a masked store (vmaskmovpd), microcoded on AMD's CPUs. The sums are exact (NEG_ZERO;
#   small integers), so the numbers are those of the kernel above;
# * f is not kept per step: f at the final (or recorded) point is computed again, the same bits;
# * a first-order rule's loop does not carry the second-order rules' stop reason (always 0 for it);
# * a first-order rule's step is two loops over the chunk (``_SPLIT``): the rule, which writes Δθ, then
#   the new point, its f and ∇f and the checks. In one loop, a start's rule and evaluation form one long
#   chain of dependent operations (Adam: three divisions and a square root, then the surface), longer than
#   the CPU's out-of-order window can cover while it also works on the next starts; each of the two short
#   loops runs at its throughput instead (the rule's at the divider's). Measured on AVX2 (AMD EPYC, one
#   thread, Himmelblau 256 × 256 × 500, the Atlas presets): Adam 128 → 150 M particle-steps/s, RMSprop
#   154 → 209, AMSGrad 143 → 186, Nadam 120 → 135, SGD alike (366–369); the same bits (the same
#   operations on each start, in the same order). The second-order rules keep one loop (their status).
_FUSED_TEMPLATE = _SIGNATURE + '''
    here = np.empty(({outputs}, CHUNK))  # f, ∂f/∂x, ∂f/∂y (, Hessian) at θ_t, while running
    arrived = np.empty(CHUNK, dtype=np.int64)  # the step at which a start came within tol, -1 before
    delta = np.empty((2, CHUNK))  # Δθ_t of each start (first-order rules: the step's two loops, _SPLIT)
    # Untracked, no distance is <= -1 (nor is NaN): the loop needs no test of ``track``.
    tol2 = tol * tol if track else -1.0
    if track and tol > ARRIVAL_TOL_LIMIT:  # near_minimum would not be exact (the engine never asks)
        raise ValueError("tol beyond the fused kernels' arrival test: use the interpreting kernels")
    for c0 in range(0, count, CHUNK):
        k = min(CHUNK, count - c0)
        state[:, :, :] = 0.0
        for i in range(k):
            x = starts[c0 + i, 0]
            y = starts[c0 + i, 1]
            {evaluate_here}
            theta[0, i] = x
            theta[1, i] = y
            running = inside(x, y, here[0, i])
            stop[i] = select(running, -1, 0)
            reason[i] = 0
            near = near_minimum(x, y, here[1, i], here[2, i], tol2)
            arrived[i] = select(running & near, 0, -1)
        if keep_path:
            values_at(theta, value, k)
            record(points, values, 0, c0, k, theta, value)
        for t in range(1, steps + 1):
            h = hyper_for_step(lrs[t - 1], moms[t - 1], fixed, t)
            # Loaded here, not in the loop below: fewer arrays in a loop keep LLVM's alias checks (and so
            # its vectorization) within bounds.
            noise_x = noise[t - 1, 0] if noisy else NEG_ZERO
            noise_y = noise[t - 1, 1] if noisy else NEG_ZERO
            for i in range(k):
                x = theta[0, i]
                y = theta[1, i]
{gradient}{arrival_before}
                gx = gx + noise_x
                gy = gy + noise_y
{rule}{split}
                nx = x + dx
                ny = y + dy
                {evaluate_trial}
                stopped = stop[i]
                running = stopped < 0
                ok = inside(nx, ny, f) & running{status_ok}
                theta[0, i] = x + select(ok, dx, NEG_ZERO)
                theta[1, i] = y + select(ok, dy, NEG_ZERO)
{store_here}
                stop[i] = stopped + select(running ^ ok, t + 1, 0){store_reason}{arrival_after}
            if keep_path:
                values_at(theta, value, k)
                record(points, values, t, c0, k, theta, value){arrival_last}
        for i in range(k):
            if track:
                converged[c0 + i] = arrived[i]
        values_at(theta, value, k)''' + _FINISH

_SPLIT = """
                delta[0, i] = dx
                delta[1, i] = dy
            for i in range(k):
                x = theta[0, i]
                y = theta[1, i]
                dx = delta[0, i]
                dy = delta[1, i]"""
# Where the arrival test runs: in the evaluation loop, at the new point of step t ...
_ARRIVAL_AFTER = """
                before = arrived[i]
                near = near_minimum(nx, ny, ngx, ngy, tol2)
                arrived[i] = before + select(near & ok & (before < 0), t + 1, 0)"""
# ... or in the rule's loop of step t + 1, at θ_t, which is that new point if step t was accepted, i.e. if
# the start still runs (then ∇f there is the gradient the rule reads); the last step's after the steps.
# The same test on the same numbers for the same step: the same arrivals, bit for bit.
_ARRIVAL_BEFORE = """
                before = arrived[i]
                near = near_minimum(x, y, gx, gy, tol2)
                arrived[i] = before + select(near & (stop[i] < 0) & (before < 0), t, 0)"""
_ARRIVAL_LAST = """
        for i in range(k):
            before = arrived[i]
            near = near_minimum(theta[0, i], theta[1, i], here[1, i], here[2, i], tol2)
            arrived[i] = before + select(near & (stop[i] < 0) & (before < 0), steps + 1, 0)"""
# Starts per chunk in the fused kernels (the interpreting kernels keep kernel.CHUNK, 512). With 512, a
# chunk's arrays (θ, ∇f, Δθ, the rule's state: up to 12 rows of 4 kB) no longer fit the 32 kB L1 cache of
# this AMD EPYC, and rows exactly 4 kB apart let a load wait for an unrelated store to an address equal
# modulo 4096. Measured alternately (one thread, CPU time, Himmelblau 256 × 256 × 500, Atlas presets,
# load 3-5, best of 7): the ten sweeps 1.47 s with 512, 1.41 s with 256 (AMSGrad 186 -> 153 ms), 1.42 s
# with 128; rows padded to 536 starts: 1.43 s. The chunk does not change any start's numbers.
FUSED_CHUNK = 256
# The rules whose sweeps ran faster with the arrival test in the rule's loop: there its arithmetic runs
# beside the divisions and square roots the rule waits for. Measured on AVX2 (AMD EPYC, one thread,
# Himmelblau 256 × 256 × 500, the Atlas presets): Adam +12–15 %, Adagrad +14 %, RMSprop +12 %, Nadam
# +11 %; SGD, Momentum, Adadelta and AdaMax within ±5 %, AMSGrad −12 % (its larger state leaves too few
# registers). A rule with a look-ahead point (NAG) reads no gradient at θ_t, so its test stays after.
ARRIVAL_IN_RULE_LOOP = frozenset({"adam", "adagrad", "rmsprop", "nadam"})
_FUSED_STORE_REASON = """
                reason[i] = was + select(running ^ ok, code_now, 0)"""
_FUSED_OWN_GRADIENT = '''                gx = here[1, i]
                gy = here[2, i]'''
_FUSED_LOOKAHEAD_GRADIENT = '''                ax = {lookahead}(x, {load_x}, h)
                ay = {lookahead}(y, {load_y}, h)
                _, gx, gy = value_and_gradient(ax, ay)'''
_FUSED_FIRST_ORDER_RULE = '''                dx, s = {step}(gx, {load_x}, h, t)
{store_x}
                dy, s = {step}(gy, {load_y}, h, t)
{store_y}'''
_FUSED_SECOND_ORDER_RULE = '''                hxx, hxy, hyy = here[3, i], here[4, i], here[5, i]
                was = reason[i]
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
        early = optimizer.name in ARRIVAL_IN_RULE_LOOP and not lookahead and not optimizer.second_order
        names = ["f", "ngx", "ngy", "nhxx", "nhxy", "nhyy"][:n]
        evaluate = "value_gradient_hessian" if optimizer.second_order else "value_and_gradient"
        second = optimizer.second_order
        return _FUSED_TEMPLATE.format(
            name=optimizer.name, fields=fields, gradient=gradient, rule=rule, outputs=n,
            status_ok=" & (code_now == 0)" if second else "", split="" if second else _SPLIT,
            store_reason=_FUSED_STORE_REASON if second else "",
            arrival_before=_ARRIVAL_BEFORE if early else "", arrival_after="" if early else _ARRIVAL_AFTER,
            arrival_last=_ARRIVAL_LAST if early else "",
            evaluate_here=f"{', '.join(f'here[{j}, i]' for j in range(n))} = {evaluate}(x, y)",
            evaluate_trial=f"{', '.join(names)} = {evaluate}(nx, ny)",
            # A rule that takes its gradient at a look-ahead point (NAG) never reads the gradient at its
            # new point: not stored, LLVM computes only f there (NAG's sweep: +16 %, one thread).
            store_here="\n".join(f"                here[{j}, i] = {v}" for j, v in enumerate(names) if j)
            if not lookahead else "")
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
        "from optimizers.kernel import (CHUNK, NEG_ZERO, _acos, _asin, _log, _max, _min, _pow, _sqrt,",
        "                               evaluate, inside, mark_converged, record, registers_for, select)",
        f"from optimizers.rules import hyper_for_step, {', '.join(names)}",
        "",
    ]
    fused = surface is not None
    body = fused_source(surface.program, surface.all_minima) if fused else ""
    if fused:  # the fused kernels' own chunk of starts (FUSED_CHUNK), in place of the interpreter's
        header[6] = header[6].replace("(CHUNK, ", "(")
        header[-1:-1] = ["", f"CHUNK = {FUSED_CHUNK}"]
    return "\n".join(header) + body + "".join(_kernel_source(o, fused) for o in OPTIMIZERS.values())


# The expression each instruction becomes in generated code: the same operation as the interpreter's.
_EXPRESSIONS = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / {b}", "neg": "-{a}",
    "pow": "_pow({a}, {b})", "sqrt": "_sqrt({a})", "exp": "math.exp({a})", "log": "_log({a})",
    "sin": "math.sin({a})", "cos": "math.cos({a})", "tan": "math.tan({a})", "asin": "_asin({a})",
    "acos": "_acos({a})", "atan": "math.atan({a})", "atan2": "math.atan2({a}, {b})", "sinh": "math.sinh({a})",
    "cosh": "math.cosh({a})", "tanh": "math.tanh({a})", "abs": "abs({a})", "max": "_max({a}, {b})",
    "min": "_min({a}, {b})", "lt": "select({a} < {b}, 1.0, 0.0)", "le": "select({a} <= {b}, 1.0, 0.0)",
    "gt": "select({a} > {b}, 1.0, 0.0)", "ge": "select({a} >= {b}, 1.0, 0.0)",
    "eq": "select({a} == {b}, 1.0, 0.0)", "ne": "select({a} != {b}, 1.0, 0.0)",
    "and": "select(({a} != 0.0) & ({b} != 0.0), 1.0, 0.0)",
    "or": "select(({a} != 0.0) | ({b} != 0.0), 1.0, 0.0)",
    "not": "select({a} == 0.0, 1.0, 0.0)", "select": "select({a} != 0.0, {b}, {c})",
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
    ``near_minimum`` (below) and ``values_at``: one line per instruction, the same operation the interpreter
    would apply."""
    return "\n".join([_straight_line(program, "value_and_gradient", 3),
                      _straight_line(program, "value_gradient_hessian", 6), *_arrival_source(minima),
                      _VALUES_AT])


# f at the points of a chunk: the fused loop does not keep f per step, it is computed again where needed.
_VALUES_AT = """
@kernel
def values_at(theta, value, k):
    for i in range(k):
        value[i] = value_and_gradient(theta[0, i], theta[1, i])[0]
"""


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


def arrival_limit(minima) -> float:
    """The largest ``tol`` whose arrival test the fused kernels of a surface with these minima compute
    (``_arrival_source``); the engine gives a larger one to the interpreting kernels (the same bits)."""
    return _arrival_plan(np.asarray(minima, dtype=np.float64).reshape(-1, 2).tolist())[1]


def _arrival_plan(minima: list) -> tuple[object, float]:
    """(tree, limit): the splits that pick the one minimum a point can be within ``tol`` of, and the
    largest ``tol`` for which they do (None, and no limit, when the minima cannot be split: use them all).

    A tree is ``(mx, my)`` for a leaf or ``(axis, split, low, high)``: points with coordinate ``axis``
    below ``split`` go to ``low``. Each split lies in the widest gap between the minima's coordinates.
    """
    if len(minima) < 2:
        # One minimum needs no choice; tol ≤ 1e150 keeps tol² finite (see _arrival_source).
        return (tuple(minima[0]) if minima else None), (1e150 if minima else math.inf)
    if not all(math.isfinite(v) for point in minima for v in point):
        return None, math.inf

    def split(points: list) -> tuple[object, float]:
        if len(points) == 1:
            return tuple(points[0]), math.inf
        best = None
        for axis in (0, 1):
            values = sorted({p[axis] for p in points})
            for a, b in zip(values[:-1], values[1:], strict=True):
                if best is None or b - a > best[0]:
                    best = (b - a, axis, a + (b - a) / 2)
        if best is None:  # two minima at the same point
            return None, 0.0
        _, axis, at = best
        low = [p for p in points if p[axis] < at]
        high = [p for p in points if p[axis] >= at]
        margin = min(abs(p[axis] - at) for p in points)
        (low_tree, low_margin), (high_tree, high_margin) = split(low), split(high)
        if low_tree is None or high_tree is None:
            return None, 0.0
        return (axis, at, low_tree, high_tree), min(margin, low_margin, high_margin)

    tree, margin = split([list(p) for p in minima])
    # A quarter of the smallest distance from a minimum to a split on its way: far more than the rounding
    # of dx·dx + dy·dy <= tol·tol needs (see _arrival_source). Minima closer than 1e-150 to a split are
    # all tested: for a tol so small that tol·tol underflows, dx·dx <= tol·tol only bounds |dx| by ~1e-154.
    return (tree, margin / 4) if tree is not None and margin > 1e-150 else (None, math.inf)


def _arrival_source(minima) -> list[str]:
    """``near_minimum(x, y, gx, gy, tol2)``: whether the point is within tol (tol2 = tol·tol) of a listed
    minimum, i.e. dx·dx + dy·dy <= tol2 for one of them, or, where none are listed, whether the squared
    gradient norm is <= tol2 — ``mark_converged``'s test.

    With several minima it does not compute the distance to each. Comparisons with the splits of
    ``_arrival_plan`` pick the one minimum the point could be within tol of, and only that distance is
    computed (for Himmelblau's four minima: 3 comparisons, 6 selects and one distance instead of four
    distances and their minimum: the sweeps of SGD, Momentum and NAG spent a third of their time there).
    The same boolean as testing every minimum, for every input, while tol <= the plan's limit (the
    kernel refuses a larger tol; the engine gives those sweeps to the interpreting kernels):

    * if dx_j·dx_j + dy_j·dy_j <= tol2 (rounded) for a minimum j, then dx_j·dx_j <= tol2 (a sum of
      non-negative terms rounds to no less than either), so |x − mx_j| < max(1.000001·tol, 1e-154), less
      than the distance from mx_j to any split on its way (likewise y): the point lies on j's side of each
      comparison, the choice is j, and the test computes j's distance with the same operations: true;
    * if it holds for no minimum, it does not hold for the chosen one either: false. NaN fails every
      comparison (false both ways); a coordinate of ±inf gives a distance of inf (or NaN) to every
      minimum, and tol2 is finite under the limit: false both ways.
    """
    points = np.asarray(minima, dtype=np.float64).reshape(-1, 2).tolist()
    tree, limit = _arrival_plan(points)
    lines = ["", f"ARRIVAL_TOL_LIMIT = {_literal(limit)}", "", "@kernel",
             "def near_minimum(x, y, gx, gy, tol2):"]
    if len(minima) == 0:
        return [*lines, "    return gx * gx + gy * gy <= tol2", ""]
    if tree is None:  # minima that no split separates: the nearest of them all
        lines.append("    best = math.inf")
        for mx, my in points:
            lines += [f"    dx = x - {_literal(mx)}", f"    dy = y - {_literal(my)}",
                      "    d2 = dx * dx + dy * dy", "    best = select(d2 < best, d2, best)"]
        return [*lines, "    return best <= tol2", ""]
    tests = {}  # (axis, split) -> the name of its comparison (one per distinct split)

    def choose(node, axis: int) -> str:
        """The nested selects that give the chosen minimum's coordinate ``axis``."""
        if len(node) == 2:
            return _literal(node[axis])
        low, high = choose(node[2], axis), choose(node[3], axis)
        name = tests.setdefault((node[0], node[1]), f"c{len(tests)}")
        return low if low == high else f"select({name}, {low}, {high})"

    mx, my = choose(tree, 0), choose(tree, 1)
    lines += [f"    {name} = {'xy'[axis]} < {_literal(at)}" for (axis, at), name in tests.items()]
    return [*lines, f"    dx = x - {mx}", f"    dy = y - {my}", "    return dx * dx + dy * dy <= tol2", ""]
