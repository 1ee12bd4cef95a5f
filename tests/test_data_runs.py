"""Mini-batch runs on data surfaces (optimizers.data through optimizers.run): batches, epochs, the full batch,
noise shrinking with B, schedules that count steps; and the Data page's race (lab.data): the same bits from
its per-racer memo and from racers run side by side."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import optimizers
import surfaces
from lab import data as lab_data
from optimizers import data as engine_data
from optimizers.engine import fixed_hyperparameters, settings
from optimizers.rules import hyper_for_step
from surfaces import data as data_model

IRIS = surfaces.get_dataset("iris")
DIABETES = surfaces.get_dataset("diabetes")
CANCER = surfaces.get_dataset("breast_cancer")
SADDLE = surfaces.get_dataset("iris", "deep_linear")
FIRST_ORDER = [n for n in optimizers.available() if not optimizers.get(n).second_order]


@pytest.mark.parametrize("name", optimizers.available())
@pytest.mark.parametrize("surface", [IRIS, CANCER, SADDLE], ids=lambda s: s.name)
def test_full_batch_equals_the_plain_run_bit_for_bit(name, surface):
    plain = optimizers.run(name, surface, surface.start, 120)
    for b in (surface.n_samples, surface.n_samples + 1, 10**9):
        batch = optimizers.run(name, surface, surface.start, 120, batch_size=b, seed=5)
        assert np.array_equal(batch.points, plain.points) and np.array_equal(batch.values, plain.values)
        assert batch.batch_size == surface.n_samples and batch.steps_per_epoch == 1
    # The full batch's gradient is the surface's gradient: step 1 of SGD is θ − η ∇L(θ), exactly.
    sgd = optimizers.run("sgd", surface, surface.start, 1, lr=0.1)
    g = surface.gradient(surface.start)
    assert np.array_equal(sgd.points[1], np.asarray(surface.start) + (-0.1 * g))


def reference_run(name, surface, start, steps, batch_size, **hyper):
    """The same run written out in Python: batches from ``batches``, gradients from ``sample_gradient``,
    the optimizer's compiled rule called from Python (as the explainer does)."""
    s = settings(name, steps, **hyper)
    opt = s.optimizer
    fixed = fixed_hyperparameters(s.hyperparameters)
    chosen = engine_data.batches(surface.n_samples, batch_size, steps, s.options["seed"])
    theta = np.array(start, dtype=float)
    state = [opt.init(0.0), opt.init(0.0)]
    points = [theta.copy()]
    for t in range(1, steps + 1):
        h = hyper_for_step(s.learning_rates[t - 1], s.momenta[t - 1], fixed, t)
        ahead = [opt.lookahead(theta[c], state[c], h) for c in range(2)]
        g = surface.sample_gradient(ahead, chosen[t - 1])  # NAG: the look-ahead gradient on this batch
        for c in range(2):
            delta, state[c] = opt.step(float(g[c]), state[c], h, t)
            theta[c] = theta[c] + delta
        points.append(theta.copy())
    return np.array(points)


@pytest.mark.parametrize("name", ["sgd", "nag", "adam", "adadelta"])
@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_a_mini_batch_run_is_the_rule_applied_to_each_batch_gradient(name, batch_size):
    hyper = {"seed": 11, "lr": 0.05} if name != "adadelta" else {"seed": 11}
    run = optimizers.run(name, CANCER, CANCER.start, 200, batch_size=batch_size, **hyper)
    expected = reference_run(name, CANCER, CANCER.start, 200, batch_size, **hyper)
    assert np.array_equal(run.points, expected)


def test_with_batch_size_1_every_epoch_visits_each_sample_exactly_once():
    n = IRIS.n_samples
    chosen = engine_data.batches(n, 1, 3 * n + 5, seed=4)
    assert all(len(b) == 1 for b in chosen)
    epochs = [np.concatenate(chosen[e * n:(e + 1) * n]) for e in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(n))
    assert not np.array_equal(epochs[0], epochs[1])  # drawn anew each epoch
    assert not np.array_equal(epochs[0], np.arange(n))
    assert np.array_equal(engine_data.epoch_orders(n, 3, 4), np.stack(epochs))
    assert not np.array_equal(engine_data.epoch_orders(n, 1, 5)[0], epochs[0])  # another seed, another order


def test_an_epoch_is_ceil_n_over_b_steps_and_its_last_batch_holds_the_remainder():
    chosen = engine_data.batches(10, 4, 9, seed=0)
    assert [len(b) for b in chosen] == [4, 4, 2, 4, 4, 2, 4, 4, 2]
    for e in range(3):
        assert sorted(np.concatenate(chosen[3 * e:3 * e + 3]).tolist()) == list(range(10))
    run = optimizers.run("sgd", IRIS, IRIS.start, 100, batch_size=32)
    assert run.steps_per_epoch == 5 and run.epoch_ends.tolist() == list(range(0, 101, 5))
    assert np.array_equal(run.epoch_losses, run.values[::5])


def final_spread(batch_size, seeds=20):
    """Mean distance between the final points of SGD over ``seeds`` seeds (0 exactly when all agree)."""
    finals = np.array([optimizers.run("sgd", IRIS, IRIS.start, 300, batch_size=batch_size, seed=s, lr=0.05)
                       .points[-1] for s in range(seeds)])
    return float(np.linalg.norm(finals[:, None, :] - finals[None, :, :], axis=-1).mean())


def test_the_spread_of_final_points_over_seeds_shrinks_as_the_batch_grows():
    spreads = [final_spread(b) for b in (1, 8, 32, None)]
    assert spreads[0] > spreads[1] > spreads[2] > spreads[3] == 0.0


def test_halving_the_learning_rate_every_7_epochs_ends_closer_to_least_squares():
    per = engine_data.steps_per_epoch(DIABETES.n_samples, 8)
    target = DIABETES.minima[0]

    def distance(seed, **schedule):
        path = optimizers.run("sgd", DIABETES, DIABETES.start, 30 * per, batch_size=8, seed=seed, lr=0.1,
                              **schedule)
        return float(np.linalg.norm(path.points[-1] - target))

    constant = np.median([distance(s) for s in range(9)])
    every_7_epochs = dict(lr_schedule="step", decay_rate=0.5, decay_steps=7 * per)
    halved = np.median([distance(s, **every_7_epochs) for s in range(9)])
    assert halved < constant / 4


def test_schedules_count_steps():
    path = optimizers.run("sgd", IRIS, IRIS.start, 40, batch_size=16, lr=0.1, lr_schedule="step",
                          decay_rate=0.5, decay_steps=10)
    ref = reference_run("sgd", IRIS, IRIS.start, 40, 16, lr=0.1, lr_schedule="step", decay_rate=0.5,
                        decay_steps=10)
    assert np.array_equal(path.points, ref)


def test_the_same_seed_gives_the_same_path_and_another_seed_another():
    a = optimizers.run("adam", CANCER, CANCER.start, 150, batch_size=16, seed=3, lr=0.05)
    b = optimizers.run("adam", CANCER, CANCER.start, 150, batch_size=16, seed=3, lr=0.05)
    c = optimizers.run("adam", CANCER, CANCER.start, 150, batch_size=16, seed=4, lr=0.05)
    assert np.array_equal(a.points, b.points) and not np.array_equal(a.points, c.points)
    assert a.batch_losses.shape == (150,) and np.isfinite(a.batch_losses).all()


def test_batch_losses_are_the_loss_of_each_steps_batch():
    path = optimizers.run("sgd", IRIS, IRIS.start, 12, batch_size=20, seed=2, lr=0.1)
    chosen = engine_data.batches(IRIS.n_samples, 20, 12, 2)
    expected = [float(IRIS.sample_loss(path.points[t], chosen[t])) for t in range(12)]
    assert np.array_equal(path.batch_losses, expected)


def test_values_are_the_full_data_loss_at_each_point():
    path = optimizers.run("momentum", CANCER, CANCER.start, 50, batch_size=4, lr=0.05)
    assert np.array_equal(path.values, CANCER.value(path.points))


@pytest.mark.parametrize("batch_size", [7, 64, None])
def test_recording_the_loss_every_kth_step_changes_nothing_else(batch_size):
    every = optimizers.run("adam", CANCER, CANCER.start, 230, batch_size=batch_size, seed=1, lr=0.05)
    sparse = optimizers.run("adam", CANCER, CANCER.start, 230, batch_size=batch_size, seed=1, lr=0.05,
                            loss_every=25)
    assert np.array_equal(sparse.points, every.points) and sparse.loss_every == 25
    per = sparse.steps_per_epoch
    steps = np.arange(231)
    recorded = (steps % 25 == 0) | (steps % per == 0) | (steps == 230)
    assert np.array_equal(np.isfinite(sparse.values), recorded)
    assert np.array_equal(sparse.values[recorded], every.values[recorded])
    assert np.array_equal(sparse.epoch_losses, every.epoch_losses)
    with pytest.raises(ValueError, match="Invalid loss_every: 0"):
        optimizers.run("adam", CANCER, CANCER.start, 10, loss_every=0)


def test_a_run_that_diverges_between_recorded_steps_repeats_its_last_good_loss():
    path = optimizers.run("sgd", IRIS, IRIS.start, 200, batch_size=4, lr=50.0, loss_every=7)
    d = path.diverged_at
    assert d is not None and (path.values[d:] == float(IRIS.value(path.points[d - 1]))).all()


def test_several_starts_run_as_each_alone():
    starts = np.array([IRIS.start, (0.5, 0.5), (-1.0, -2.0)])
    many = optimizers.run("rmsprop", IRIS, starts, 60, batch_size=9, seed=1)
    for i, start in enumerate(starts):
        one = optimizers.run("rmsprop", IRIS, start, 60, batch_size=9, seed=1)
        assert np.array_equal(many.points[i], one.points)
    sweep = optimizers.sweep("rmsprop", IRIS, starts, 60, batch_size=9, seed=1)
    assert np.array_equal(sweep.final_points, many.points[:, -1])
    assert sweep.nearest_minimum.tolist() == [0, 0, 0]


def test_a_diverging_run_stops_like_any_other():
    path = optimizers.run("sgd", IRIS, IRIS.start, 200, batch_size=4, lr=50.0)
    assert path.diverged_at is not None and path.note == f"diverged at step {path.diverged_at}"
    assert np.isfinite(path.points).all() and np.isfinite(path.values).all()
    assert (path.points[path.diverged_at:] == path.points[path.diverged_at - 1]).all()


def test_second_order_rules_use_the_batch_hessian():
    path = optimizers.run("newton", IRIS, IRIS.start, 3)
    assert np.allclose(path.points[1], IRIS.minima[0], atol=1e-12)  # a quadratic: one Newton step
    noisy = optimizers.run("newton", IRIS, IRIS.start, 3, batch_size=10, seed=0)
    assert not np.allclose(noisy.points[1], IRIS.minima[0], atol=1e-3)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8", [8]])
def test_invalid_batch_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="Invalid batch size"):
        optimizers.run("sgd", IRIS, IRIS.start, 10, batch_size=bad)


def test_batch_size_on_a_formula_surface_is_a_value_error():
    with pytest.raises(ValueError, match="batch_size needs a data surface.*Beale is a formula"):
        optimizers.run("sgd", surfaces.get("beale"), (1.0, 1.0), 10, batch_size=8)
    with pytest.raises(ValueError, match="batch_size needs a data surface"):
        optimizers.sweep("sgd", surfaces.get("beale"), [(1.0, 1.0)], 10, batch_size=8)
    plain = optimizers.run("sgd", surfaces.get("beale"), (1.0, 1.0), 10)  # and without it, nothing changes
    assert type(plain) is optimizers.Path


def test_logistic_runs_far_out_stay_finite():
    path = optimizers.run("sgd", CANCER, (400.0, -300.0), 50, batch_size=1, lr=0.01)
    assert np.isfinite(path.values).all() and np.isfinite(path.batch_losses).all()


# --- the logistic terms and the Data page's race (lab.data) -------------------------------------------------
EDGE_Z = [0.0, -0.0, 1e-300, -1e-300, 5e-324, 0.5, -0.5, 36.0, -36.0, 700.0, -700.0, 746.0, -746.0, 800.0,
          -800.0, math.inf, -math.inf, math.nan]


def reference_logistic(p, q, xi, yi):
    """A sample's logistic loss and gradient as first written, in Python (the C library's exp and log1p,
    as the compiled code calls them): sigmoid and softplus each with its own branch and its own exp."""
    z = p * xi + q
    s = 1.0 / (1.0 + math.exp(-z)) if z >= 0.0 else math.exp(z) / (1.0 + math.exp(z))
    softplus = z + math.log1p(math.exp(-z)) if z > 0.0 else math.log1p(math.exp(z))
    return softplus - yi * z, (s - yi) * xi, s - yi


def test_the_logistic_terms_share_one_exp_and_keep_the_bits_of_the_two_branch_formulas():
    rng = np.random.default_rng(7)
    cases = [(z, 0.0, 1.0, y) for z in EDGE_Z for y in (0.0, 1.0)]
    cases += [(float(p), float(q), float(x), float(y)) for p, q, x, y in
              zip(rng.normal(size=400) * 30, rng.normal(size=400), rng.normal(size=400) * 3,
                  rng.integers(0, 2, 400), strict=True)]
    for p, q, xi, yi in cases:
        got = data_model.sample_terms(data_model.LOGISTIC, p, q, xi, yi)[:3]
        want = reference_logistic(p, q, xi, yi)
        assert np.array_equal(np.array(got), np.array(want), equal_nan=True), (p, q, xi, yi, got, want)
    for z in EDGE_Z + rng.normal(size=200).tolist():
        want = z + math.log1p(math.exp(-z)) if z > 0.0 else math.log1p(math.exp(z))
        assert np.array_equal(data_model.softplus(z), want, equal_nan=True), z


def data_race(**changes) -> lab_data.DataRace:
    racers = (lab_data.Racer("sgd", 32), lab_data.Racer("adam", 32), lab_data.Racer("sgd", None))
    race = lab_data.DataRace(racers, 120, CANCER.start, (("sgd", 0.2), ("adam", 0.05)), seed=1)
    return dataclasses.replace(race, **changes)


def assert_same_paths(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        for name in ("points", "values", "batch_losses"):
            assert np.array_equal(getattr(a[key], name), getattr(b[key], name), equal_nan=True), (key, name)


def test_the_page_race_from_its_memo_reruns_only_the_racers_whose_settings_changed():
    memo = lab_data.PathMemo(10**7)
    first = lab_data.run_data_race(CANCER, data_race(), memo)
    assert_same_paths(first, lab_data.run_data_race(CANCER, data_race()))
    assert len(memo) == 3
    again = lab_data.run_data_race(CANCER, data_race(), memo)
    assert all(again[k] is first[k] for k in first)
    # A new rate for SGD: SGD's two racers run again, Adam's path is the one already shown.
    faster = data_race(learning_rates=(("sgd", 0.4), ("adam", 0.05)))
    new_rate = lab_data.run_data_race(CANCER, faster, memo)
    assert new_rate["adam:32"] is first["adam:32"]
    assert new_rate["sgd:32"] is not first["sgd:32"] and new_rate["sgd:full"] is not first["sgd:full"]
    assert_same_paths(new_rate, lab_data.run_data_race(CANCER, faster))
    # A new seed reorders the mini-batches; the full batch takes every sample each step and stays.
    reseeded = lab_data.run_data_race(CANCER, data_race(seed=2), memo)
    assert reseeded["sgd:full"] is first["sgd:full"] and reseeded["sgd:32"] is not first["sgd:32"]
    assert not np.array_equal(reseeded["sgd:32"].points, first["sgd:32"].points)
    assert_same_paths(reseeded, lab_data.run_data_race(CANCER, data_race(seed=2)))


def test_shared_paths_cannot_be_changed_by_a_caller():
    paths = lab_data.run_data_race(CANCER, data_race(), lab_data.PathMemo(10**7))
    with pytest.raises(ValueError, match="read-only"):
        paths["sgd:32"].points[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        paths["adam:32"].values[:] = 0.0


def test_the_memo_keeps_at_most_its_bytes_and_drops_the_least_recently_used_first():
    one = lab_data._nbytes(lab_data.run_data_race(CANCER, data_race())["sgd:32"])
    memo = lab_data.PathMemo(2 * one)
    for seed in (1, 2):
        lab_data.run_data_race(CANCER, data_race(racers=(lab_data.Racer("sgd", 32),), seed=seed), memo)
    first = lab_data.run_data_race(CANCER, data_race(racers=(lab_data.Racer("sgd", 32),), seed=1), memo)
    assert len(memo) == 2  # seed 1 was used again: it is the newest now
    lab_data.run_data_race(CANCER, data_race(racers=(lab_data.Racer("sgd", 32),), seed=3), memo)
    assert len(memo) == 2
    kept = lab_data.run_data_race(CANCER, data_race(racers=(lab_data.Racer("sgd", 32),), seed=1), memo)
    assert kept["sgd:32"] is first["sgd:32"]  # seed 2, the least recently used, was dropped instead


def test_racers_split_over_the_cores_give_the_bits_of_one_after_the_other(monkeypatch):
    real_split = lab_data._run_split
    x, y = np.random.default_rng(3).normal(size=(2, 3000))
    surface = surfaces.from_data(x, (x + y > 0).astype(float), "logistic")
    racers = tuple(lab_data.Racer(n, b) for n in ("sgd", "nag", "adam", "rmsprop") for b in (1, 32))
    race = lab_data.DataRace(racers, 400, surface.start, tuple((n, lab_data.default_lr(n, "logistic"))
                                                                for n in ("sgd", "nag", "adam", "rmsprop")))
    assert sum(lab_data.racer_work(surface, race, r, lab_data.loss_every(surface, 400)) for r in racers) \
        >= lab_data.PARALLEL_WORK  # the page splits this race
    monkeypatch.setattr(lab_data, "_THREADS", 2)
    monkeypatch.setattr(lab_data, "_cores_idle", lambda: True)
    calls = []

    def counted_split(run, todo):
        calls.append(len(todo))
        return real_split(run, todo)

    monkeypatch.setattr(lab_data, "_run_split", counted_split)
    split = lab_data.run_data_race(surface, race)
    assert calls == [len(racers)]  # all eight were split over the threads
    monkeypatch.setattr(lab_data, "PARALLEL_WORK", math.inf)
    assert_same_paths(split, lab_data.run_data_race(surface, race))
