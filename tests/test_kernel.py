"""The compiled engine: surface programs, the C library's math, and independence from NumPy's SIMD dispatch.

What must hold on every CPU (AVX2, AVX-512, ARM): the numbers of a path come from one compiled program per
surface and one compiled rule per optimizer, never from a NumPy ufunc, so they cannot depend on which SIMD
kernels NumPy dispatches to. These tests check that by construction and by measurement.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from optimizers import codegen, kernel
from surfaces.program import evaluate

ROOT = Path(__file__).resolve().parent.parent
NO_AVX512 = "X86_V4 AVX512_ICL AVX512_SPR"


def python_program(program, x: float, y: float) -> list[float]:
    """The reference: the same instructions with Python floats and the math module (the C library)."""
    return list(evaluate(program, x, y))


def _same_bits(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or np.float64(a).tobytes() == np.float64(b).tobytes()


def _points(surface, count: int, seed: int = 0) -> np.ndarray:
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def _compiled(program, x: float, y: float) -> list[float]:
    return kernel.evaluate_point(program.code, program.constants, program.registers, program.outputs,
                                 x, y).tolist()


def assert_same_as_reference(program, x: float, y: float) -> list[float]:
    compiled = _compiled(program, x, y)
    reference = python_program(program, x, y)
    assert all(_same_bits(a, b) for a, b in zip(compiled, reference, strict=True)), (x, y, reference)
    return compiled


@pytest.mark.parametrize("name", surfaces.available())
def test_compiled_program_uses_the_c_library_math(name):
    """numba's code gives the bits that Python's math module (the C library) gives, instruction by
    instruction: no SVML, no fused multiply-add, no reordering."""
    surface = surfaces.get(name)
    for x, y in _points(surface, 300).tolist():
        assert_same_as_reference(surface.program, x, y)


@pytest.mark.parametrize("name", surfaces.available())
def test_program_computes_the_surface_and_its_derivatives(name):
    surface = surfaces.get(name)
    points = _points(surface, 200, seed=1)
    out = np.array([_compiled(surface.program, x, y) for x, y in points.tolist()])
    np.testing.assert_allclose(out[:, 0], surface.value(points), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out[:, 1:3], surface.gradient(points), rtol=1e-9, atol=1e-7)
    hess = surface.hessian(points)
    np.testing.assert_allclose(out[:, 3:], np.stack([hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]], axis=1),
                               rtol=1e-9, atol=1e-6)


FORMULAS = ["x^2 + 3*y^2", "sin(x)*cos(y)", "exp(-x^2-y^2)", "abs(x) + max(x, y)^2", "log(1 + x^2) - y^3",
            "sqrt(x^2 + y^2 + 1)", "x^2.5 + y", "atan2(y, x) + tanh(x*y)", "min(x, y) + 2^x", "acos(x/4) * y"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_programs_match_python_and_sympy(text):
    """Visitor formulas (through the whitelisted parser) compile to programs that match the reference
    bit for bit and NumPy's evaluation of the same SymPy tree to rounding."""
    from surfaces.base import Surface, X, Y
    from surfaces.expression import parse

    expr = parse(text)
    surface = Surface(name="custom", title=text, expression=expr, latex="", bounds=((-3, 3), (-3, 3)),
                      minima=[], starts=[(0.5, 0.5)])
    points = _points(surface, 100, seed=2)
    for (x, y), v in zip(points.tolist(), surface.value(points).tolist(), strict=True):
        f = assert_same_as_reference(surface.program, x, y)[0]
        assert (math.isnan(v) and math.isnan(f)) or f == pytest.approx(v, rel=1e-9, abs=1e-9)
    assert {X, Y} >= expr.free_symbols


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_every_instruction_matches_python_floats(a, b):
    """Arithmetic, powers, roots and abs on arbitrary operands: compiled equals Python's floats."""
    from surfaces.base import Surface, X, Y

    surface = Surface(name="ops", title="", latex="", bounds=((-3, 3), (-3, 3)), minima=[], starts=[(0, 0)],
                      expression=X * Y + X / (Y + 2) - X**3 + (X**2 + 1) ** 0.7 + (Y**2 + 0.5) ** 1.5)
    assert_same_as_reference(surface.program, a, b)


def test_numba_is_configured_for_exact_arithmetic():
    from optimizers import jit

    assert not numba.config.USING_SVML
    assert jit.OPTIONS["fastmath"] is False and jit.OPTIONS["error_model"] == "numpy"


def test_generated_code_is_one_line_per_instruction():
    """The fused kernels run the program's own instructions: the generated function has one assignment
    per instruction that f and ∇f need, and only operations from the interpreter's table."""
    program = surfaces.get("rosenbrock").program
    for name, count in (("value_and_gradient", 3), ("value_gradient_hessian", 6)):
        source = codegen._straight_line(program, name, count)
        written = [int(m) for m in re.findall(r"^    r(\d+) = ", source, flags=re.M)]
        destinations = [int(d) for d in program.code[:, 1]]
        assert 0 < len(written) <= len(destinations)
        assert written == [d for d in destinations if d in written]  # the program's own order
    source = codegen.fused_source(program, np.zeros((0, 2)))
    assert "import" not in source and "eval" not in source


def _step_loops(source: str) -> dict[str, list[str]]:
    """The per-start loops of each step (``for i in range(k):`` inside ``for t in range(...)``), by
    optimizer."""
    loops = {}
    for kernel_text in source.split("\ndef run_")[1:]:
        name = kernel_text.split("(", 1)[0]
        steps = kernel_text.split("        for t in range(1, steps + 1):\n", 1)[1]
        loops[name] = []
        for block in steps.split("            for i in range(k):\n")[1:]:
            body = []
            for line in block.splitlines():
                if not line.startswith(" " * 16):
                    break
                body.append(line)
            loops[name].append("\n".join(body))
    return loops


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "ackley"])
def test_fused_step_loops_have_no_branches(name):
    """The speed of a sweep rests on LLVM vectorizing each step's loops over the starts whole: nothing in
    them may branch (a Python ``if``, ``and``/``or`` or conditional expression compiles to branches, and a
    branch around a store becomes a masked store, microcoded on AMD's CPUs). Choices go through
    ``select``, and so does every line the surface's program adds (f and ∇f written out). A first-order
    rule's step is two loops (the rule, then the new point and its checks; see codegen), a second-order
    rule's one."""
    source = codegen.module_source(surfaces.get(name))
    loops = _step_loops(source)
    assert sorted(loops) == sorted(optimizers.available())
    for optimizer, bodies in loops.items():
        assert len(bodies) == (1 if optimizers.get(optimizer).second_order else 2), optimizer
        for body in bodies:
            for line in body.splitlines():
                assert not re.search(r"\bif\b|\band\b|\bor\b", line), line
    functions = source.split("\ndef run_")[0]
    assert not re.search(r" if | and | or ", functions.split("def values_at")[0].split("def value_and")[1])


def test_select_and_neg_zero_change_no_bits():
    """``select`` returns its operand bit for bit, and adding NEG_ZERO leaves every double as it was (±0,
    ±inf, NaN, subnormals): what lets the kernels add instead of branching, with the same numbers."""
    from optimizers.jit import kernel as compile_kernel

    @compile_kernel
    def through(values, flags):
        out = np.empty_like(values)
        for i in range(values.shape[0]):
            out[i] = kernel.select(flags[i], values[i] + kernel.NEG_ZERO, -values[i])
        return out

    values = np.array([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 1.5, -2.0, 1e308])
    got = through(values, np.ones(len(values), dtype=np.bool_))
    assert got.tobytes() == values.tobytes()
    assert through(values, np.zeros(len(values), dtype=np.bool_)).tobytes() == (-values).tobytes()


@pytest.mark.parametrize("name", ["himmelblau", "rosenbrock", "ackley", "saddle"])
def test_evaluating_some_outputs_gives_the_bits_of_all(name):
    """``optimizers.evaluate(..., outputs=...)`` runs only the instructions those outputs need, with the
    full program's bits (the Atlas asks for the gradient of a few final points this way)."""
    surface = surfaces.get(name)
    points = _points(surface, 500, seed=5)
    every = optimizers.evaluate(surface, points)
    for outputs in [(1, 2), (0,), (5, 3)]:
        some = optimizers.evaluate(surface, points, outputs=outputs)
        assert some.shape == (len(points), len(outputs))
        assert some.tobytes() == np.ascontiguousarray(every[:, list(outputs)]).tobytes()
    assert optimizers.evaluate(surface, np.zeros((0, 2)), outputs=(1, 2)).shape == (0, 2)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_nearest_minimum_is_numpys_argmin(count, seed):
    """The sweep's nearest minimum (compiled) is NumPy's argmin of dx·dx + dy·dy, ties and NaN included."""
    rng = np.random.default_rng(seed)
    minima = rng.uniform(-3, 3, (count, 2)).round(1)
    minima[-1] = minima[0]  # a tie
    points = np.concatenate([rng.uniform(-4, 4, (200, 2)).round(1), minima + 1e-12, [[math.nan, 0.0]]])
    with np.errstate(all="ignore"):
        expected = np.argmin(((points[:, None, :] - minima[None, :, :]) ** 2).sum(axis=-1), axis=1)
    np.testing.assert_array_equal(kernel.nearest_minima(points, minima), expected)


# --- independence from NumPy's SIMD dispatch ----------------------------------------------------------
def _digest() -> str:
    """A hash of every optimizer's path, batch and sweep on every catalogue surface."""
    h = hashlib.sha256()
    for name in surfaces.available():
        surface = surfaces.get(name)
        starts = _points(surface, 24, seed=4)
        for optimizer in optimizers.available():
            path = optimizers.run(optimizer, surface, starts, 80)
            sweep = optimizers.sweep(optimizer, surface, starts, 80)
            for arr in (path.points, path.values, path.diverged_at, sweep.final_points, sweep.converged_at):
                h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def test_results_do_not_depend_on_numpys_simd_dispatch():
    """The same runs in a process whose NumPy may not use AVX-512 give the same bits as this one (on a CPU
    without AVX-512 both processes dispatch alike; on one with it, this is the proof)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tests.test_kernel import _digest; "
            "print(_digest())")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": NO_AVX512}
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], env=env, capture_output=True, text=True,
                         timeout=600, check=True)
    other = out.stdout.strip().splitlines()[-1]
    assert other == _digest()


def test_large_sweeps_run_below_the_servers_priority():
    """The engine's sweep threads run at niceness 10, so a server's script threads come first."""
    import threading

    from optimizers import engine

    if engine._pool is None:
        pytest.skip("one core: sweeps run in the calling thread")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    niceness = engine._pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert niceness.result(timeout=30) == max(base, 10)


# --- the fused kernels' arrival test ----------------------------------------------------------------------
def _near_minimum(minima):
    """The fused kernels' ``near_minimum`` for these minima, compiled on its own from the generated text."""
    from optimizers.jit import OPTIONS

    # Compiled as the kernels compile it, but not cached: text run by exec has no file to cache beside.
    namespace = {"math": math, "select": kernel.select, "kernel": numba.njit(**{**OPTIONS, "cache": False})}
    exec("\n".join(codegen._arrival_source(np.asarray(minima, dtype=np.float64))), namespace)  # noqa: S102
    return namespace["near_minimum"]


def _near_any(minima, x: float, y: float, tol2: float) -> bool:
    """The reference: the nearest of all minima (``mark_converged``'s test), with Python floats."""
    best = math.inf
    for mx, my in minima:
        dx, dy = x - mx, y - my
        d2 = dx * dx + dy * dy
        best = d2 if d2 < best else best
    return best <= tol2


def _probes(minima, tol: float, rng) -> list[tuple[float, float]]:
    """Points on both sides of each minimum's tol circle, within an ulp or two of it, on the splits, and
    the special values."""
    probes = []
    for mx, my in minima:
        for angle in np.linspace(0, 2 * math.pi, 16, endpoint=False).tolist():
            for scale in (1 - 4e-16, 1 - 1e-16, 1.0, 1 + 1e-16, 1 + 4e-16, 0.5, 1.5, 3.0):
                x, y = mx + scale * tol * math.cos(angle), my + scale * tol * math.sin(angle)
                probes += [(x, y), (math.nextafter(x, math.inf), y), (x, math.nextafter(y, -math.inf))]
    tree, _ = codegen._arrival_plan(np.asarray(minima, dtype=np.float64).tolist())

    def splits(node):
        if node is not None and len(node) == 4:
            yield node[0], node[1]
            yield from splits(node[2])
            yield from splits(node[3])

    for axis, at in splits(tree):
        for v in (at, math.nextafter(at, math.inf), math.nextafter(at, -math.inf)):
            for mx, my in minima:
                probes.append((v, my) if axis == 0 else (mx, v))
    special = [math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0, -0.0, 5e-324, 1e6, -1e6]
    probes += [(a, b) for a in special for b in special]
    probes += [(m[0], s) for m in minima for s in special] + [(s, m[1]) for m in minima for s in special]
    probes += rng.uniform(-6, 6, (400, 2)).tolist()
    return probes


@pytest.mark.parametrize("name", [n for n in surfaces.available() if len(surfaces.get(n).all_minima) > 1])
def test_arrival_test_picks_the_one_minimum_a_point_can_be_near(name):
    """The fused kernels test a point against the one minimum it can be within tol of, picked by a few
    comparisons (for Himmelblau's four minima, one distance instead of four): the same answer as testing
    every minimum, at the tol circles' edges to the last bit, on the splits, for NaN, ±inf and huge
    coordinates, for every tol up to the limit the engine keeps them to."""
    minima = surfaces.get(name).all_minima.tolist()
    near = _near_minimum(minima)
    limit = codegen.arrival_limit(minima)
    assert limit >= 0.05, "the Atlas's tol (1e-3) and the tests' (up to 0.05) are within the limit"
    rng = np.random.default_rng(3)
    for tol in (1e-200, 1e-3, 0.05, limit / 3, limit):  # 1e-200: tol·tol underflows to 0
        tol2 = tol * tol
        for x, y in _probes(minima, tol, rng):
            assert near(x, y, 0.0, 0.0, tol2) == _near_any(minima, x, y, tol2), (tol, x, y)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_arrival_test_on_any_minima(count, seed):
    """The same for any listed minima (a visitor's formula): near each other, on a line, repeated."""
    rng = np.random.default_rng(seed)
    minima = rng.uniform(-3, 3, (count, 2))
    if count > 2:
        minima[1] = minima[0] + rng.uniform(-1e-3, 1e-3, 2)  # two minima close together
        minima[2, 1] = minima[0, 1]  # on one horizontal line
    if count > 4 and seed % 2:
        minima[4] = minima[3]  # the same minimum twice: no split separates them, every one is tested
    minima = minima.tolist()
    near = _near_minimum(minima)
    limit = codegen.arrival_limit(minima)
    for tol in sorted({min(t, limit) for t in (1e-200, 1e-9, 1e-4, 1e-3, 0.05, limit / 3, limit)}):
        tol2 = tol * tol
        for x, y in _probes(minima, tol, rng):
            assert near(x, y, 0.0, 0.0, tol2) == _near_any(minima, x, y, tol2), (tol, x, y)


def test_a_tolerance_beyond_the_arrival_tests_limit_is_swept_exactly():
    """A sweep with a tol beyond the limit (Himmelblau: about 0.48) runs on the interpreting kernels,
    which test every minimum; the fused kernels refuse it rather than answer differently."""
    from optimizers import compiled, engine

    surface = surfaces.get("himmelblau")
    tol = 0.75
    assert codegen.arrival_limit(surface.all_minima) < tol
    starts = _points(surface, 300, seed=8)
    swept = optimizers.sweep("adam", surface, starts, 200, tol=tol, lr=0.05)
    s = optimizers.settings("adam", 200, lr=0.05)
    interpreted = engine.execute(s, surface, starts, keep_path=False, minima=surface.all_minima, tol=tol)
    np.testing.assert_array_equal(swept.converged_at, interpreted.converged)
    assert (swept.converged_at > 0).any()
    with pytest.raises(ValueError, match="tol beyond"):
        engine.execute(s, surface, starts, keep_path=False, minima=surface.all_minima, tol=tol,
                       table=compiled.fused_kernels(surface))
