"""Table-driven tests of the optimizer core over every optimizer × surface."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from optimizers import engine
from surfaces.base import Surface, X, Y

OPTIMIZER_NAMES = optimizers.available()
SURFACE_NAMES = surfaces.available()

# A convex, well-conditioned bowl where every method must converge with suitable settings.
BOWL = Surface(name="bowl", title="Bowl", expression=(X - 1) ** 2 + 2 * (Y + 0.5) ** 2, latex="",
               bounds=((-3, 3), (-3, 3)), minima=[(1, -0.5)], starts=[(-2, 2)])

# Settings under which each method reaches the bowl's minimum within 3000 steps (to 1e-4).
CONVERGING = {
    "sgd": {"lr": 0.1}, "momentum": {"lr": 0.05, "momentum": 0.8}, "nag": {"lr": 0.05, "momentum": 0.8},
    "adagrad": {"lr": 1.0}, "adadelta": {"lr": 20.0}, "rmsprop": {"lr": 0.01}, "adam": {"lr": 0.05},
    "adamax": {"lr": 0.05}, "nadam": {"lr": 0.05}, "amsgrad": {"lr": 0.05},
    "newton": {"lr": 1.0}, "saddle_free_newton": {"lr": 1.0},
}


def test_table_covers_all_ten_rules_and_two_second_order_methods():
    assert OPTIMIZER_NAMES == ["sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam", "adamax",
                               "nadam", "amsgrad", "newton", "saddle_free_newton"]
    families = [optimizers.get(n).family for n in OPTIMIZER_NAMES]
    assert families == ["first-order"] * 10 + ["second-order"] * 2
    for name in OPTIMIZER_NAMES:
        o = optimizers.get(name)
        assert o.latex and o.summary and o.torch_note and o.paper
        assert optimizers.defaults(name) == {p.name: p.default for p in o.hyperparameters}
        for p in o.hyperparameters:
            assert p.is_valid(p.default), (name, p.name)
            assert p.ui_min < p.ui_max


# --- the first three steps, computed by hand from Ruder's formulas --------------------------------------
def hand_steps(name: str, surface, start, h, steps=3):
    """Independent, explicit implementation of each formula for a few steps (no shared code)."""
    theta = np.array(start, dtype=float)
    lr = h.get("lr")
    m = np.zeros(2)
    v = np.zeros(2)
    extra = np.zeros(2)
    out = [theta.copy()]
    for t in range(1, steps + 1):
        if name == "nag":
            g = surface.gradient(theta - h["momentum"] * v)
        else:
            g = surface.gradient(theta)
        if name == "sgd":
            theta = theta - lr * g
        elif name == "newton":
            theta = theta - lr * np.linalg.solve(surface.hessian(theta), g)
        elif name == "saddle_free_newton":
            lam, vec = np.linalg.eigh(surface.hessian(theta))
            theta = theta - lr * vec @ ((vec.T @ g) / np.maximum(np.abs(lam), h["eps"]))
        elif name in ("momentum", "nag"):
            v = h["momentum"] * v + lr * g
            theta = theta - v
        elif name == "adagrad":
            v = v + g**2
            theta = theta - lr / np.sqrt(v + h["eps"]) * g
        elif name == "adadelta":
            v = h["rho"] * v + (1 - h["rho"]) * g**2
            dx = -np.sqrt(extra + h["eps"]) / np.sqrt(v + h["eps"]) * g
            extra = h["rho"] * extra + (1 - h["rho"]) * dx**2
            theta = theta + lr * dx
        elif name == "rmsprop":
            v = h["rho"] * v + (1 - h["rho"]) * g**2
            theta = theta - lr / np.sqrt(v + h["eps"]) * g
        else:
            m = h["beta1"] * m + (1 - h["beta1"]) * g
            m_hat = m / (1 - h["beta1"] ** t)
            if name == "adamax":
                v = np.maximum(h["beta2"] * v, np.abs(g))
                theta = theta - lr / v * m_hat
            else:
                v_new = h["beta2"] * v + (1 - h["beta2"]) * g**2
                if name == "amsgrad":
                    extra = np.maximum(extra, v_new)
                    theta = theta - lr / (np.sqrt(extra) + h["eps"]) * m
                else:
                    v_hat = v_new / (1 - h["beta2"] ** t)
                    if name == "adam":
                        theta = theta - lr / (np.sqrt(v_hat) + h["eps"]) * m_hat
                    else:  # nadam
                        theta = theta - lr / (np.sqrt(v_hat) + h["eps"]) * (
                            h["beta1"] * m_hat + (1 - h["beta1"]) * g / (1 - h["beta1"] ** t))
                v = v_new
        out.append(theta.copy())
    return np.array(out)


def _generic_start(surface) -> tuple[float, float]:
    """A start with a non-zero gradient in both coordinates (AdaMax divides by |g| history)."""
    (x0, x1), (y0, y1) = surface.bounds
    return (x0 + 0.37 * (x1 - x0), y0 + 0.61 * (y1 - y0))


@pytest.mark.parametrize("surface_name", SURFACE_NAMES)
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_first_three_steps_match_the_formula(name, surface_name):
    surface = surfaces.get(surface_name)
    start = _generic_start(surface)
    # A learning rate that keeps the first steps modest even on Goldstein–Price's steep walls.
    scale = max(1.0, float(np.abs(surface.gradient(start)).max()))
    h = {**optimizers.defaults(name), "lr": 1e-3 / scale if name != "adadelta" else 1.0}
    if optimizers.get(name).second_order:
        h["lr"] = 0.5  # a damped Newton step: still a large move, checked against numpy.linalg
    path = optimizers.run(name, surface, start, 3, **h)
    expected = hand_steps(name, surface, start, h)
    np.testing.assert_allclose(path.points, expected, rtol=1e-12, atol=1e-14)


# --- one start, a batch and a sweep give the same bits, in every kernel --------------------------------
def _starts(surface, count, seed=0):
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


@pytest.mark.parametrize("surface_name", SURFACE_NAMES)
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_batch_equals_single_equals_sweep_exactly(name, surface_name):
    """A race (one start), a batch run and an Atlas sweep agree bit for bit, and so do the interpreting
    and the fused kernels; 60 steps are enough for chaotic surfaces to amplify any last-bit difference."""
    surface = surfaces.get(surface_name)
    starts = _starts(surface, 20)
    batch = optimizers.run(name, surface, starts, 60)
    assert batch.points.shape == (len(starts), 61, 2)
    for i, start in enumerate(starts):
        single = optimizers.run(name, surface, start, 60)
        assert single.points.shape == (61, 2)
        np.testing.assert_array_equal(single.points, batch.points[i])
        np.testing.assert_array_equal(single.values, batch.values[i])
        assert (single.diverged_at if single.diverged_at is not None else -1) == batch.diverged_at[i]
    fused = optimizers.sweep(name, surface, starts, 60)
    s = optimizers.settings(name, 60)
    interpreted = engine.execute(s, surface, starts, keep_path=False, minima=surface.all_minima, tol=1e-3)
    for final, values, diverged in ((fused.final_points, fused.final_values, fused.diverged_at),
                                     (interpreted.final, interpreted.final_values, interpreted.diverged)):
        np.testing.assert_array_equal(final, batch.points[:, -1])
        np.testing.assert_array_equal(values, batch.values[:, -1])
        np.testing.assert_array_equal(diverged, batch.diverged_at)
    np.testing.assert_array_equal(fused.converged_at, interpreted.converged)


@pytest.mark.parametrize("surface_name", ["himmelblau", "saddle", "ackley"])
@pytest.mark.parametrize("options", [{}, {"noise": 0.5, "seed": 3}, {"lr": 2.0}])
def test_fused_kernels_record_the_runs_paths(surface_name, options):
    """A fused kernel keeps no f per step (it computes f again where it records it) and writes its stop
    step and arrival as increments: with the path kept, it gives the interpreting kernel's points, values,
    stop steps, stop reasons and arrivals, bit for bit — with noise, and with divergence (lr 2)."""
    from optimizers import compiled

    surface = surfaces.get(surface_name)
    starts = _starts(surface, 30, seed=5)
    for name in OPTIMIZER_NAMES:
        s = optimizers.settings(name, 50, **options)
        runs = [engine.execute(s, surface, starts, keep_path=True, minima=surface.all_minima, tol=1e-2,
                               table=table) for table in (None, compiled.fused_kernels(surface))]
        for field in ("points", "values", "final", "final_values", "diverged", "why", "converged"):
            np.testing.assert_array_equal(getattr(runs[0], field), getattr(runs[1], field), err_msg=name)


@pytest.mark.parametrize("surface_name, tol", [("himmelblau", 0.05), ("saddle", 0.5)])
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_arrivals_agree_whatever_the_number_of_steps(name, surface_name, tol):
    """The step at which a start first comes within tol of a listed minimum (on the saddle, which lists
    none: of a flat point) is the interpreting kernel's in the fused kernels, and a sweep that ends at
    exactly that step reports it too: some fused kernels test a step's arrival in the next step's loop,
    and the last step's after all steps."""
    surface = surfaces.get(surface_name)
    starts = _starts(surface, 200, seed=11)
    starts[::2, 1] = 0.0  # on the saddle's stable line y = 0, which leads to its flat point
    hyper = {"lr": 0.001 if surface_name == "himmelblau" and name in ("sgd", "momentum", "nag") else 0.05}
    if optimizers.get(name).second_order or name == "adadelta":
        hyper = {}
    s = optimizers.settings(name, 120, **hyper)
    interpreted = engine.execute(s, surface, starts, keep_path=False, minima=surface.all_minima, tol=tol)
    full = optimizers.sweep(name, surface, starts, 120, tol=tol, **hyper)
    np.testing.assert_array_equal(full.converged_at, interpreted.converged)
    arrivals = sorted(set(full.converged_at[full.converged_at > 0].tolist()))
    assert arrivals, "no start arrived after step 0: the test would prove nothing"
    for steps in arrivals[:3] + arrivals[-2:]:
        short = optimizers.sweep(name, surface, starts, steps, tol=tol, **hyper)
        reached = (full.converged_at >= 0) & (full.converged_at <= steps)
        np.testing.assert_array_equal(short.converged_at, np.where(reached, full.converged_at, -1))


def test_sweep_uses_the_fused_kernels_for_catalogue_surfaces():
    from optimizers import compiled

    surface = surfaces.get("himmelblau")
    assert compiled.fused_kernels_when_ready(surface) is compiled.fused_kernels(surface)


def test_a_new_formula_is_swept_at_once_and_compiled_in_the_background():
    """A visitor's surface never waits for LLVM: the interpreting kernels answer the first sweep, a
    background process compiles the fused ones, and later sweeps use them, with the same bits."""
    import time

    from optimizers import compiled

    wobble = Surface(name="wobble", title="", latex="", bounds=((-2, 2), (-2, 2)), minima=[(0.0, 0.0)],
                     starts=[(1.0, 1.0)], expression=X**2 + Y**2 + sp.sin(3 * X) * Y / 7)
    starts = _starts(wobble, 300, seed=9)
    assert compiled.fused_kernels_when_ready(wobble) is None  # the compile starts now, in the background
    first = optimizers.sweep("adam", wobble, starts, 100, lr=0.05)
    deadline = time.monotonic() + 240
    while (table := compiled.fused_kernels_when_ready(wobble)) is None:
        assert time.monotonic() < deadline, "the background compile did not finish"
        time.sleep(0.5)
    assert table is compiled.fused_kernels(wobble)
    later = optimizers.sweep("adam", wobble, starts, 100, lr=0.05)
    np.testing.assert_array_equal(first.final_points, later.final_points)
    np.testing.assert_array_equal(first.converged_at, later.converged_at)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_small_batch_uses_same_numbers(name):
    surface = surfaces.get("beale")
    starts = _starts(surface, 3, seed=5)
    batch = optimizers.run(name, surface, starts, 100)
    for i, start in enumerate(starts):
        np.testing.assert_array_equal(optimizers.run(name, surface, start, 100).points, batch.points[i])


# --- validation -----------------------------------------------------------------------------------------
def _invalid_values(p):
    bad = [math.nan, math.inf, -math.inf, p.low - 0.5]
    if p.low_open:
        bad.append(p.low)
    if math.isfinite(p.high):
        bad += [p.high + 0.5] + ([p.high] if p.high_open else [])
    return bad


INVALID = [(o, p, v) for o in OPTIMIZER_NAMES for p in optimizers.get(o).hyperparameters
           for v in _invalid_values(p)]


@pytest.mark.parametrize(("name", "param", "value"), INVALID, ids=lambda x: getattr(x, "name", str(x)))
def test_invalid_hyperparameter_raises_with_its_message(name, param, value):
    with pytest.raises(ValueError) as err:
        optimizers.run(name, BOWL, (0, 0), 5, **{param.name: value})
    assert str(err.value) == f"Invalid {param.label}: {value}"


def test_fixed_messages():
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.1$"):
        optimizers.run("sgd", BOWL, (0, 0), 5, lr=-0.1)
    with pytest.raises(ValueError, match=r"^Invalid momentum value: 1.0$"):
        optimizers.run("momentum", BOWL, (0, 0), 5, momentum=1.0)
    with pytest.raises(ValueError, match="Unknown hyperparameter 'beta1' for SGD"):
        optimizers.run("sgd", BOWL, (0, 0), 5, beta1=0.9)
    with pytest.raises(ValueError, match="Unknown optimizer 'lbfgs'"):
        optimizers.run("lbfgs", BOWL, (0, 0), 5)
    for steps in (0, -3, 2.5, "10", True):
        with pytest.raises(ValueError, match="Invalid number of steps"):
            optimizers.run("sgd", BOWL, (0, 0), steps)
    for start in [(math.nan, 0), (0, math.inf), (1, 2, 3), "ab", [[1, 2, 3]]]:
        with pytest.raises(ValueError, match="Invalid start"):
            optimizers.run("sgd", BOWL, start, 5)
    with pytest.raises(ValueError, match="Invalid lr_schedule"):
        optimizers.run("sgd", BOWL, (0, 0), 5, lr_schedule="sometimes")
    with pytest.raises(ValueError, match="Invalid decay_steps: 0"):
        optimizers.run("sgd", BOWL, (0, 0), 5, decay_steps=0)
    with pytest.raises(ValueError, match="Invalid tolerance"):
        optimizers.sweep("sgd", BOWL, [(0, 0)], 5, tol=0)


# --- divergence ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_huge_learning_rate_diverges_quietly(name):
    surface = surfaces.get("rosenbrock")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = optimizers.run(name, surface, (-1.5, 2.0), 200, lr=1e9)
        batch = optimizers.run(name, surface, _starts(surface, 40), 200, lr=1e9)
    assert np.isfinite(path.points).all() and np.isfinite(batch.points).all()
    if path.diverged_at is not None:
        d = path.diverged_at
        assert 1 <= d <= 200
        assert (path.points[d:] == path.points[d - 1]).all()
        assert (np.abs(path.points[:d]) <= optimizers.LIMIT).all()
    if name not in ("adadelta", "adamax"):  # these two bound their step size by design
        assert path.diverged_at is not None


def test_saddle_is_unbounded_below_and_reported():
    path = optimizers.run("adam", surfaces.get("saddle"), (1.0, 1e-3), 5000, lr=0.5)
    assert path.diverged_at is not None
    assert abs(path.values[path.diverged_at - 1]) <= optimizers.LIMIT


def test_divergence_marks_and_freezes_in_batch():
    starts = np.array([[0.5, 0.5], [3000.0, 0.0], [1.0, -0.5]] * 7)
    path = optimizers.run("sgd", BOWL, starts, 50, lr=0.1)
    # f(3000, 0) ≈ 9e6 > LIMIT: that start is stopped at step 0, the others converge.
    assert list(path.diverged_at[:3]) == [-1, 0, -1]
    assert (path.points[1] == starts[1]).all()


def test_leaving_the_domain_stops_like_divergence():
    import sympy as sp

    log_surface = Surface(name="log", title="log", expression=sp.log(X) + Y**2, latex="",
                          bounds=((0.1, 3), (-1, 1)), minima=[], starts=[(1, 0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outside = optimizers.run("sgd", log_surface, (-1.0, 0.5), 10)
        jumps = optimizers.run("sgd", log_surface, (0.5, 0.5), 10, lr=1.0)  # x ← 0.5 − 1/0.5 = −1.5
        batch = optimizers.run("sgd", log_surface, [(0.5, 0.5)] * 20, 10, lr=1.0)
    assert outside.diverged_at == 0 and (outside.points == (-1.0, 0.5)).all()
    assert jumps.diverged_at == 1 and (jumps.points == (0.5, 0.5)).all()
    assert (batch.diverged_at == 1).all()


# --- convergence on a convex bowl ----------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_every_method_converges_on_a_convex_bowl(name):
    path = optimizers.run(name, BOWL, BOWL.start, 3000, **CONVERGING[name])
    assert path.diverged_at is None
    assert np.linalg.norm(path.points[-1] - BOWL.minima[0]) < 1e-2
    assert path.values[-1] < path.values[0]


# --- schedules and noise -------------------------------------------------------------------------------
def test_defaults_reproduce_the_plain_rule():
    plain = optimizers.run("momentum", BOWL, (-2, 2), 50)
    explicit = optimizers.run("momentum", BOWL, (-2, 2), 50, lr_schedule="constant",
                              momentum_schedule="constant", noise=0.0)
    np.testing.assert_array_equal(plain.points, explicit.points)


@pytest.mark.parametrize("schedule", ["step", "exponential", "inverse_time", "cosine"])
def test_learning_rate_schedules(schedule):
    s = optimizers.settings("sgd", 200, lr=0.1, lr_schedule=schedule, decay_rate=0.5, decay_steps=50)
    lrs = np.array(s.learning_rates)
    assert lrs[0] == pytest.approx(0.1) and (np.diff(lrs) <= 1e-15).all() and lrs[-1] < 0.1
    expected = {"step": 0.1 * 0.5**3, "exponential": 0.1 * 0.5 ** (199 / 50),
                "inverse_time": 0.1 / (1 + 0.5 * 199 / 50),
                "cosine": 0.1 * 0.5 * (1 + math.cos(math.pi * 199 / 200))}
    assert lrs[-1] == pytest.approx(expected[schedule])
    # SGD with a schedule steps by exactly η_t g_t.
    path = optimizers.run("sgd", BOWL, (-2, 2), 200, lr=0.1, lr_schedule=schedule, decay_rate=0.5,
                          decay_steps=50)
    g = BOWL.gradient(path.points[10])
    np.testing.assert_allclose(path.points[11], path.points[10] - lrs[10] * g, rtol=1e-14)


def test_rising_momentum_schedule():
    s = optimizers.settings("nag", 100, momentum_schedule="rising")
    assert s.momenta[0] == 0.5 and s.momenta[-1] == pytest.approx(0.99)
    a = optimizers.run("nag", BOWL, (-2, 2), 100, momentum_schedule="rising")
    b = optimizers.run("nag", BOWL, (-2, 2), 100)
    assert not np.array_equal(a.points, b.points)


def test_gradient_noise_is_seeded_and_annealed():
    a = optimizers.run("sgd", BOWL, (-2, 2), 100, noise=0.3, seed=7)
    b = optimizers.run("sgd", BOWL, (-2, 2), 100, noise=0.3, seed=7)
    c = optimizers.run("sgd", BOWL, (-2, 2), 100, noise=0.3, seed=8)
    plain = optimizers.run("sgd", BOWL, (-2, 2), 100)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points) and not np.array_equal(a.points, plain.points)
    s = optimizers.settings("sgd", 100, noise=0.3, noise_decay=0.55)
    assert s.noise_scales[0] == pytest.approx(math.sqrt(0.3))
    assert s.noise_scales[99] == pytest.approx(math.sqrt(0.3 / 100**0.55))
    # The first noisy step is the plain step plus lr·σ₀·z₀ for the seeded draw z₀.
    z = np.random.default_rng(7).standard_normal((100, 2))[0]
    expected = plain.points[1] - 0.01 * math.sqrt(0.3) * z
    np.testing.assert_allclose(a.points[1], expected, rtol=1e-12)


def test_noise_is_one_sequence_per_run_shared_by_its_starts():
    """A start's noisy path does not depend on the batch it ran in (an Atlas cell replays exactly)."""
    starts = _starts(BOWL, 20)
    batch = optimizers.run("adam", BOWL, starts, 50, noise=1.0, seed=3)
    for i in (0, 7, 19):
        single = optimizers.run("adam", BOWL, starts[i], 50, noise=1.0, seed=3)
        np.testing.assert_array_equal(single.points, batch.points[i])
    sw = optimizers.sweep("adam", BOWL, starts, 50, noise=1.0, seed=3)
    np.testing.assert_array_equal(sw.final_points, batch.points[:, -1])


# --- sweeps ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_sweep_final_points_equal_run(name):
    surface = surfaces.get("himmelblau")
    starts = _starts(surface, 64, seed=3)
    sw = optimizers.sweep(name, surface, starts, 80)
    path = optimizers.run(name, surface, starts, 80)
    np.testing.assert_array_equal(sw.final_points, path.points[:, -1])
    np.testing.assert_array_equal(sw.final_values, path.values[:, -1])
    np.testing.assert_array_equal(sw.diverged_at, path.diverged_at)
    # converged_at agrees with the path: the first point within tol of a listed minimum.
    d = np.linalg.norm(path.points[:, :, None, :] - surface.all_minima[None, None], axis=-1).min(axis=-1)
    within = d <= 1e-3
    expected = np.where(within.any(axis=1), within.argmax(axis=1), -1)
    np.testing.assert_array_equal(sw.converged_at, expected)


def test_several_sweeps_at_once_equal_each_sweep():
    """``sweeps`` runs several optimizers' sweeps through one queue of blocks for the engine's threads
    (the Atlas's ten maps): each result is its own ``sweep``'s, bit for bit, each reported once as it
    completes, and a bad setting in any job is refused before anything runs."""
    surface = surfaces.get("himmelblau")
    starts = _starts(surface, 3 * engine.PARALLEL_MIN_STARTS, seed=12)  # enough to split over the threads
    jobs = [(name, {"lr": 0.01}) for name in ("sgd", "adam", "nag")] + [("adam", {"lr": 0.2, "beta1": 0.5})]
    reported = []
    together = optimizers.sweeps(jobs, surface, starts, 40, on_done=lambda k, r: reported.append((k, r)))
    assert sorted(k for k, _ in reported) == [0, 1, 2, 3]
    assert all(r is together[k] for k, r in reported)
    for (name, hyper), result in zip(jobs, together, strict=True):
        alone = optimizers.sweep(name, surface, starts, 40, **hyper)
        assert result.optimizer == name and result.hyperparameters == alone.hyperparameters
        for field in ("final_points", "final_values", "converged_at", "diverged_at", "nearest_minimum"):
            np.testing.assert_array_equal(getattr(result, field), getattr(alone, field), err_msg=name)
    reported.clear()
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optimizers.sweeps([("sgd", {}), ("adam", {"lr": -1})], surface, starts, 40,
                          on_done=lambda k, r: reported.append(k))
    assert reported == []


def test_sweep_hand_made_cases():
    starts = np.array([[1.0, -0.5], [1.0005, -0.5], [-2.0, 2.0], [3000.0, 0.0]])
    sw = optimizers.sweep("sgd", BOWL, starts, 10, tol=1e-3, lr=0.1)
    assert list(sw.converged_at[:2]) == [0, 0]  # already at the minimum
    assert sw.converged_at[2] == -1  # 10 steps of lr 0.1 from (-2, 2) are not enough
    assert list(sw.diverged_at) == [-1, -1, -1, 0]
    assert list(sw.nearest_minimum) == [0, 0, 0, 0]
    long = optimizers.sweep("sgd", BOWL, starts[2:3], 200, tol=1e-3, lr=0.1)
    # (x-1) shrinks by 0.8 per step from 3, (y+0.5) by 0.6 from 2.5: first within 1e-3 at step 36.
    assert long.converged_at[0] == next(t for t in range(200) if math.hypot(3 * 0.8**t, 2.5 * 0.6**t) <= 1e-3)


def test_sweep_without_minima_uses_gradient_norm():
    saddle = surfaces.get("saddle")
    sw = optimizers.sweep("sgd", saddle, [[0.0, 0.0], [1.0, 1.0]], 5, tol=1e-6)
    assert list(sw.converged_at) == [0, -1]
    assert list(sw.nearest_minimum) == [-1, -1]


# --- properties -------------------------------------------------------------------------------------------
def _hyper_strategy(name):
    params = optimizers.get(name).hyperparameters
    return st.fixed_dictionaries({
        p.name: st.floats(min_value=p.ui_min, max_value=p.ui_max, allow_nan=False) for p in params
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(OPTIMIZER_NAMES), surface_name=st.sampled_from(SURFACE_NAMES),
       x=st.floats(-1e7, 1e7, allow_nan=False), y=st.floats(-1e7, 1e7, allow_nan=False), data=st.data())
def test_random_finite_inputs_never_raise(name, surface_name, x, y, data):
    hyper = data.draw(_hyper_strategy(name))
    surface = surfaces.get(surface_name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = optimizers.run(name, surface, (x, y), 30, **hyper)
    assert np.isfinite(path.points).all()
    assert path.points.shape == (31, 2)


# --- torch.optim, where its convention coincides ----------------------------------------------------------
TORCH_CASES = {
    "sgd": ("SGD", {}, {}),
    "momentum": ("SGD", {"momentum": 0.9}, {}),
    "adam": ("Adam", {}, {}),
    "adadelta": ("Adadelta", {"rho": 0.95, "eps": 1e-6}, {}),
    "adamax": ("Adamax", {"eps": 0.0}, {}),
}


@pytest.mark.parametrize("name", [*TORCH_CASES, "nag"])
def test_trajectories_agree_with_torch(name):
    torch = pytest.importorskip("torch")
    surface = surfaces.get("beale")
    start = (1.0, 1.5)
    lr = 1.0 if name == "adadelta" else 1e-3
    ours = optimizers.run(name, surface, start, 300, lr=lr)
    p = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    if name == "nag":
        opt = torch.optim.SGD([p], lr=lr, momentum=0.9, nesterov=True)
    else:
        cls, kwargs, _ = TORCH_CASES[name]
        opt = getattr(torch.optim, cls)([p], lr=lr, **kwargs)
    seen = [p.detach().numpy()[0].copy()]
    for _ in range(300):
        opt.zero_grad()
        p.grad = torch.from_numpy(surface.gradient(p.detach().numpy()))
        opt.step()
        seen.append(p.detach().numpy()[0].copy())
    seen = np.array(seen)
    if name == "nag":
        # torch keeps NAG's look-ahead point: φ_t = θ_t − γ v_t = θ_t + γ (θ_t − θ_{t−1}).
        theta = ours.points
        expected = theta[1:] + 0.9 * (theta[1:] - theta[:-1])
        np.testing.assert_allclose(seen[1:], expected, rtol=0, atol=1e-9)
    else:
        np.testing.assert_allclose(seen, ours.points, rtol=0, atol=1e-9)


# --- trace: the step-by-step record used by "explain this step" and the overlays -------------------------
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_trace_reproduces_run_exactly(name):
    surface = surfaces.get("beale")
    h = {"lr": 1e-4 if name in ("momentum", "nag") else 0.01} if name != "adadelta" else {}
    path = optimizers.run(name, surface, (1.0, 1.5), 50, **h, noise=0.1, seed=3, lr_schedule="cosine")
    records = optimizers.trace(name, surface, (1.0, 1.5), 50, **h, noise=0.1, seed=3, lr_schedule="cosine")
    assert len(records) == 50
    for r in records:
        assert r.theta == tuple(path.points[r.t - 1])
        assert r.theta_next == tuple(path.points[r.t])
        assert r.theta_next == (r.theta[0] + r.delta[0], r.theta[1] + r.delta[1])
    first = records[0]
    expected_lookahead = first.theta  # all velocities start at zero
    assert first.lookahead == expected_lookahead


def test_trace_records_nag_look_ahead_and_stops_at_divergence():
    surface = surfaces.get("rosenbrock")
    records = optimizers.trace("nag", surface, (-1.5, 2.0), 5, lr=0.001, momentum=0.9)
    r = records[2]
    v = r.state_before[0].v, r.state_before[1].v
    assert r.lookahead == (r.theta[0] - 0.9 * v[0], r.theta[1] - 0.9 * v[1])
    for name, lr in (("sgd", 1.0), ("momentum", 0.01), ("adam", 1e9)):
        diverging = optimizers.trace(name, surfaces.get("beale"), (1.0, 1.5), 100, lr=lr)
        path = optimizers.run(name, surfaces.get("beale"), (1.0, 1.5), 100, lr=lr)
        assert path.diverged_at is not None
        assert len(diverging) == path.diverged_at - 1, name


# --- second-order methods (issue: Newton, saddle-free Newton, and saddle points) --------------------------
QUADRATIC = Surface(name="quadratic", title="", latex="", expression=(X - 1) ** 2 + 3 * (Y + 2) ** 2,
                    bounds=((-6, 6), (-6, 6)), minima=[(1, -2)], starts=[(5, 5)])
QUARTIC = Surface(name="quartic", title="", latex="", expression=X**2 + Y**4, bounds=((-2, 2), (-2, 2)),
                  minima=[(0, 0)], starts=[(1, 0)])


def test_one_newton_step_lands_on_the_minimum_of_a_quadratic():
    assert tuple(optimizers.run("newton", QUADRATIC, (5, 5), 1).points[1]) == (1.0, -2.0)
    assert tuple(optimizers.run("saddle_free_newton", QUADRATIC, (5, 5), 1).points[1]) == (1.0, -2.0)


def test_newton_walks_onto_the_saddle_and_saddle_free_newton_leaves_it():
    saddle = surfaces.get("saddle")
    assert tuple(optimizers.run("newton", saddle, (1, 0.5), 1).points[1]) == (0.0, 0.0)
    assert tuple(optimizers.run("saddle_free_newton", saddle, (1, 0.5), 1).points[1]) == (0.0, 1.0)
    stays = optimizers.run("newton", saddle, (1, 0.5), 50)
    assert (stays.points[1:] == 0.0).all() and stays.diverged_at is None  # the gradient is zero there


def test_newton_solves_rosenbrock_in_six_steps_where_sgd_is_still_in_the_valley():
    rosenbrock = surfaces.get("rosenbrock")
    newton = optimizers.run("newton", rosenbrock, (-1.2, 1.0), 6)
    assert np.abs(newton.points[-1] - 1.0).max() <= 1e-8
    sgd = optimizers.run("sgd", rosenbrock, (-1.2, 1.0), 1000, lr=1e-3)
    assert np.linalg.norm(sgd.points[-1] - 1.0) > 0.1


def test_a_singular_hessian_stops_the_run_with_a_note_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = optimizers.run("newton", QUARTIC, (1.0, 0.0), 20)  # ∂²f/∂y² = 12y² = 0 on y = 0
        records = optimizers.trace("newton", QUARTIC, (1.0, 0.0), 20)
        batch = optimizers.run("newton", QUARTIC, [(1.0, 0.0), (1.0, 0.5)], 20)
    assert path.diverged_at == 1 and path.note == "Hessian singular at step 1"
    assert (path.points == (1.0, 0.0)).all() and records == []
    assert list(batch.diverged_at) == [1, -1] and list(batch.stopped_by) == [1, 0]
    first_order = optimizers.run("sgd", QUARTIC, (1.0, 0.0), 5, lr=10.0)
    assert first_order.note == f"diverged at step {first_order.diverged_at}"


def test_second_order_trace_records_the_hessian_and_equals_the_run():
    rosenbrock = surfaces.get("rosenbrock")
    for name in ("newton", "saddle_free_newton"):
        path = optimizers.run(name, rosenbrock, (-1.2, 1.0), 8, lr=0.8)
        records = optimizers.trace(name, rosenbrock, (-1.2, 1.0), 8, lr=0.8)
        assert len(records) == 8
        for r in records:
            assert r.theta_next == tuple(path.points[r.t])
            exact = rosenbrock.hessian(np.array(r.theta))
            np.testing.assert_allclose(r.hessian, exact[[0, 0, 1], [0, 1, 1]], rtol=1e-12)
