"""Run options shared by every optimizer: learning-rate and momentum schedules, annealed gradient noise.

With the defaults (constant schedules, no noise) a run is exactly the plain update rule.

* Learning-rate schedules (t = 0, 1, …, steps − 1 is the index of the step being taken; ``k`` is
  ``decay_steps``, ``r`` is ``decay_rate``):
  constant: η; step: η·r^⌊t/k⌋; exponential: η·r^(t/k); inverse_time: η/(1 + r·t/k);
  cosine: η·½(1 + cos(π t / steps)) (Loshchilov & Hutter 2017, without restarts).
* Momentum schedule "rising": γ grows linearly from 0.5 on the first step to 0.99 on the last, as the
  advanced-gradient-descent reference suggests ("increased from as low as 0.5 up to 0.99"); it replaces
  the ``momentum`` hyperparameter of Momentum and NAG.
* Gradient noise (Neelakantan et al. 2015): g_t ← g_t + N(0, σ_t²) with σ_t² = noise / (1 + t)^noise_decay,
  seeded by ``seed``. Draws are taken as one (P, 2) block per step from ``numpy.random.default_rng(seed)``,
  so a run is reproducible for the same starts; a start's noise depends on its place in the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LR_SCHEDULES = ("constant", "step", "exponential", "inverse_time", "cosine")
MOMENTUM_SCHEDULES = ("constant", "rising")


@dataclass(frozen=True)
class RunOption:
    name: str
    default: object
    help: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None  # inclusive


RUN_OPTIONS: dict[str, RunOption] = {o.name: o for o in [
    RunOption("lr_schedule", "constant", "How the learning rate changes over the run.", choices=LR_SCHEDULES),
    RunOption("decay_rate", 0.5, "r: factor (step, exponential) or slope (inverse time) of the decay.",
              low=0.0, high=1.0),
    RunOption("decay_steps", 100, "k: steps per decay period.", low=1, high=1_000_000),
    RunOption("momentum_schedule", "constant", "Momentum γ fixed, or rising from 0.5 to 0.99.",
              choices=MOMENTUM_SCHEDULES),
    RunOption("noise", 0.0, "η of the gradient noise variance σ² = η/(1+t)^γ (0: off).", low=0.0, high=1e6),
    RunOption("noise_decay", 0.55, "γ of the gradient noise annealing.", low=0.0, high=10.0),
    RunOption("seed", 0, "Seed of the gradient noise.", low=0, high=2**63 - 1),
]}


def validate_run_option(name: str, value):
    """The option's value, checked; ValueError with a fixed message otherwise."""
    option = RUN_OPTIONS[name]
    if option.choices:
        if value not in option.choices:
            raise ValueError(f"Invalid {name}: {value!r}; choose one of {', '.join(option.choices)}")
        return value
    integer = isinstance(option.default, int)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = math.isfinite(value) and option.low <= value <= option.high
        if name == "decay_rate":
            ok = ok and value > 0.0
    if not ok:
        raise ValueError(f"Invalid {name}: {value}")
    return int(value) if integer else float(value)


def learning_rates(lr: float, steps: int, schedule: str, decay_rate: float, decay_steps: int) -> np.ndarray:
    """η for each of the ``steps`` steps."""
    t = np.arange(steps, dtype=float)
    if schedule == "constant":
        return np.full(steps, lr)
    if schedule == "step":
        return lr * decay_rate ** np.floor(t / decay_steps)
    if schedule == "exponential":
        return lr * decay_rate ** (t / decay_steps)
    if schedule == "inverse_time":
        return lr / (1.0 + decay_rate * t / decay_steps)
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + np.cos(np.pi * t / steps))
    raise ValueError(f"Invalid lr_schedule: {schedule!r}")


def momenta(momentum: float, steps: int, schedule: str) -> np.ndarray:
    """γ for each step."""
    if schedule == "rising":
        return np.linspace(0.5, 0.99, steps) if steps > 1 else np.full(steps, 0.5)
    return np.full(steps, momentum)


def noise_scales(noise: float, noise_decay: float, steps: int) -> np.ndarray:
    """σ_t for each step (t = 0 … steps − 1)."""
    t = np.arange(steps, dtype=float)
    return np.sqrt(noise / (1.0 + t) ** noise_decay)
