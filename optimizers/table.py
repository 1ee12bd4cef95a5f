"""The one table of optimizers: it drives the engine, the UI controls, the tests and the explainer page.

Each entry names the rule's functions (``optimizers.rules``), its hyperparameters with defaults, valid
ranges and UI ranges, the update rule in LaTeX as Ruder writes it, a plain-language account, and where
torch.optim's convention differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from optimizers import rules


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its default, the values the core accepts, and the range the UI offers."""

    name: str  # keyword used by optimizers.run (lr, momentum, beta1, beta2, rho, eps)
    label: str  # used in messages: "Invalid {label}: {value}"
    symbol: str  # LaTeX symbol in the update rule
    default: float
    low: float  # smallest valid value
    high: float  # upper end of the valid range
    low_open: bool = False  # low itself is invalid (eps > 0)
    high_open: bool = True  # high itself is invalid (momentum < 1); math.inf is always open
    ui_min: float = 0.0  # range of the UI control
    ui_max: float = 1.0
    log: bool = False  # the UI control is logarithmic
    help: str = ""

    def is_valid(self, value: float) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def validate(self, value) -> float:
        if not self.is_valid(value):
            raise ValueError(f"Invalid {self.label}: {value}")
        return float(value)

    @property
    def valid_range(self) -> str:
        """The valid range as text: '[0, 1)'."""
        left = "(" if self.low_open else "["
        right = ")" if self.high_open or math.isinf(self.high) else "]"
        high = "∞" if math.isinf(self.high) else f"{self.high:g}"
        return f"{left}{self.low:g}, {high}{right}"


def _lr(default: float, help: str = "η: the size of each step.") -> Hyperparameter:
    return Hyperparameter("lr", "learning rate", r"\eta", default, 0.0, math.inf, ui_min=1e-5, ui_max=10.0,
                          log=True, help=help)


def _decay(name: str, label: str, symbol: str, default: float, help: str) -> Hyperparameter:
    return Hyperparameter(name, label, symbol, default, 0.0, 1.0, ui_min=0.0, ui_max=0.9999, help=help)


def _eps(default: float) -> Hyperparameter:
    return Hyperparameter("eps", "epsilon value", r"\epsilon", default, 0.0, math.inf, low_open=True,
                          ui_min=1e-10, ui_max=1.0, log=True, help="ε: keeps the division finite.")


ADADELTA_LR = Hyperparameter("lr", "learning rate", r"\eta", 1.0, 0.0, math.inf, ui_min=0.01, ui_max=100.0,
                             log=True, help="Optional multiplier of the step (not in Zeiler's rule).")
MOMENTUM = _decay("momentum", "momentum value", r"\gamma", 0.9, "γ: the fraction of the last step kept.")
BETA1 = _decay("beta1", "beta1 value", r"\beta_1", 0.9, "β₁: decay of the average of gradients.")
BETA2 = _decay("beta2", "beta2 value", r"\beta_2", 0.999, "β₂: decay of the average of squared gradients.")


def _rho(default: float) -> Hyperparameter:
    return _decay("rho", "rho value", r"\gamma", default, "decay of the average of squared gradients.")


@dataclass(frozen=True)
class Optimizer:
    name: str  # slug: "adam"
    title: str  # display name: "Adam"
    hyperparameters: tuple[Hyperparameter, ...]
    latex: str  # the update rule as Ruder writes it
    summary: str  # what it fixes and what it costs, in plain words
    torch_note: str  # where torch.optim's convention differs (or that it does not)
    paper: str
    init: Callable
    step: Callable  # first order: step(g, state, h, t) per coordinate; second: step2(gx, gy, H…, state, h, t)
    lookahead: Callable = rules.identity_lookahead
    second_order: bool = False  # uses the Hessian (a 2 × 2 solve per step) instead of one rule per coordinate

    @property
    def family(self) -> str:
        return "second-order" if self.second_order else "first-order"

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.hyperparameters}

    def hyperparameter(self, name: str) -> Hyperparameter:
        for p in self.hyperparameters:
            if p.name == name:
                return p
        raise KeyError(name)


_ADAM_MOMENTS = r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t \\ v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2"
_ADAPTIVE_STEP = r"\theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{\hat v_t} + \epsilon}"
_BIAS = r"\hat m_t = \frac{m_t}{1-\beta_1^t} \\ \hat v_t = \frac{v_t}{1-\beta_2^t}"

OPTIMIZERS: dict[str, Optimizer] = {o.name: o for o in [
    Optimizer(
        "sgd", "SGD", (_lr(0.01),),
        r"\theta_{t+1} = \theta_t - \eta\, g_t",
        "Plain gradient descent: step downhill in proportion to the slope. Simple and predictable, but one "
        "learning rate must suit every direction, so it crawls along flat valleys, zig-zags across steep "
        "ones, and stalls near saddle points where the slope vanishes.",
        "Same as torch.optim.SGD (momentum=0).",
        "Robbins & Monro (1951); Ruder (2016), section 4.",
        rules.sgd_init, rules.sgd_step),
    Optimizer(
        "momentum", "Momentum", (_lr(0.01), MOMENTUM),
        r"v_t = \gamma v_{t-1} + \eta\, g_t \\ \theta_{t+1} = \theta_t - v_t",
        "Keeps a running velocity: steps add up along directions where the slope agrees and cancel where "
        "it flips. It races down long valleys and damps zig-zags, but it can overshoot and orbit a minimum.",
        "torch.optim.SGD(momentum=γ) keeps b = γb + g and steps η·b. With a constant learning rate the "
        "paths are the same (v = η·b); with a learning-rate schedule they differ, because torch applies "
        "today's η to the whole accumulated velocity.",
        "Qian (1999); Polyak (1964).",
        rules.momentum_init, rules.momentum_step),
    Optimizer(
        "nag", "NAG", (_lr(0.01), MOMENTUM),
        r"v_t = \gamma v_{t-1} + \eta\, \nabla J(\theta_t - \gamma v_{t-1}) \\ \theta_{t+1} = \theta_t - v_t",
        "Momentum that looks before it leaps: it measures the slope where the velocity is about to carry it, "
        "so it brakes before the valley wall and oscillates less than plain Momentum.",
        "torch.optim.SGD(nesterov=True) stores the look-ahead point φ = θ − γv instead of θ: its parameters "
        "are NAG's look-ahead points, φ_t = θ_t − γ v_t (Sutskever et al. 2013, Bengio et al. 2013). Our "
        "path shows θ, the point Ruder's formula updates.",
        "Nesterov (1983); Sutskever, Martens, Dahl & Hinton (2013).",
        rules.momentum_init, rules.nag_step, rules.nag_lookahead),
    Optimizer(
        "adagrad", "Adagrad", (_lr(0.01), _eps(1e-8)),
        r"G_t = G_{t-1} + g_t^2 \\ \theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{G_t + \epsilon}}\, g_t",
        "Gives every coordinate its own learning rate, divided by the root of all squared gradients seen so "
        "far: steep directions slow down, gentle ones keep their pace. The sum only grows, so steps shrink "
        "until learning stops.",
        "torch.optim.Adagrad puts ε outside the square root (η / (√G + ε)); Ruder writes √(G + ε). The "
        "difference only shows while G is tiny.",
        "Duchi, Hazan & Singer (2011).",
        rules.adagrad_init, rules.adagrad_step),
    Optimizer(
        "adadelta", "Adadelta",
        (_rho(0.95), _eps(1e-6), ADADELTA_LR),
        r"E[g^2]_t = \gamma E[g^2]_{t-1} + (1-\gamma) g_t^2 \\ "
        r"\Delta\theta_t = -\frac{\sqrt{E[\Delta\theta^2]_{t-1} + \epsilon}}"
        r"{\sqrt{E[g^2]_t + \epsilon}}\, g_t \\ "
        r"E[\Delta\theta^2]_t = \gamma E[\Delta\theta^2]_{t-1} + (1-\gamma) \Delta\theta_t^2 \\ "
        r"\theta_{t+1} = \theta_t + \Delta\theta_t",
        "Replaces Adagrad's ever-growing sum by a decaying average, and the learning rate by the size of "
        "recent steps, so the units match and no learning rate needs tuning. It starts slowly (the step "
        "average starts at zero, so the first steps are about √ε).",
        "Same rule as torch.optim.Adadelta, including its optional lr multiplier (default 1.0) that scales "
        "the move but not the average of squared updates. torch's default ρ is 0.9; Zeiler's is 0.95.",
        "Zeiler (2012).",
        rules.adadelta_init, rules.adadelta_step),
    Optimizer(
        "rmsprop", "RMSprop", (_lr(0.001), _rho(0.9), _eps(1e-8)),
        r"E[g^2]_t = \gamma E[g^2]_{t-1} + (1-\gamma) g_t^2 \\ "
        r"\theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{E[g^2]_t + \epsilon}}\, g_t",
        "Adagrad with a memory that fades: divides by a decaying average of squared gradients, so the steps "
        "stop shrinking forever. Good on changing slopes; with a large learning rate it keeps rattling "
        "around the minimum.",
        "torch.optim.RMSprop calls ρ 'alpha' (default 0.99) and puts ε outside the square root "
        "(η / (√E[g²] + ε)).",
        "Hinton, Srivastava & Swersky, Coursera Neural Networks lecture 6e (2012).",
        rules.rmsprop_init, rules.rmsprop_step),
    Optimizer(
        "adam", "Adam", (_lr(0.001), BETA1, BETA2, _eps(1e-8)),
        _ADAM_MOMENTS + r" \\ " + _BIAS + r" \\ " + _ADAPTIVE_STEP + r"\, \hat m_t",
        "Momentum and RMSprop together: an average of gradients for direction, an average of squared "
        "gradients for scale, both corrected for starting at zero. Each step is about η in size whatever "
        "the slope, which is why it leaves a flat saddle quickly.",
        "Same as torch.optim.Adam (amsgrad=False).",
        "Kingma & Ba (2015).",
        rules.adam_init, rules.adam_step),
    Optimizer(
        "adamax", "AdaMax", (_lr(0.002), BETA1, BETA2),
        r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t \\ u_t = \max(\beta_2 u_{t-1}, |g_t|) \\ "
        r"\theta_{t+1} = \theta_t - \frac{\eta}{u_t}\, \hat m_t",
        "Adam with the largest recent gradient in place of the root-mean-square: steps are bounded by η and "
        "it needs no ε.",
        "torch.optim.Adamax adds ε inside the max (u = max(β₂u, |g| + ε)); with torch's eps=0 the paths "
        "agree. We take 0/0 as no move, for a coordinate whose gradient has always been exactly zero.",
        "Kingma & Ba (2015), section 7.",
        rules.adamax_init, rules.adamax_step),
    Optimizer(
        "nadam", "Nadam", (_lr(0.002), BETA1, BETA2, _eps(1e-8)),
        _ADAM_MOMENTS + r" \\ " + _BIAS + r" \\ " + _ADAPTIVE_STEP
        + r"\left(\beta_1 \hat m_t + \frac{(1-\beta_1) g_t}{1-\beta_1^t}\right)",
        "Adam with Nesterov's look-ahead folded into the momentum term: it uses this step's momentum "
        "rather than last step's, and tends to turn corners a little sooner.",
        "torch.optim.NAdam follows Dozat's later form with a momentum-decay schedule "
        "(μ_t = β₁(1 − ½·0.96^{t·ψ}), ψ = 0.004), so its paths differ from Ruder's formula used here.",
        "Dozat (2016).",
        rules.adam_init, rules.nadam_step),
    Optimizer(
        "amsgrad", "AMSGrad", (_lr(0.001), BETA1, BETA2, _eps(1e-8)),
        _ADAM_MOMENTS + r" \\ \hat v_t = \max(\hat v_{t-1}, v_t) \\ "
        r"\theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{\hat v_t} + \epsilon}\, m_t",
        "Adam whose denominator never shrinks: it keeps the largest average of squared gradients seen, so "
        "a rare large gradient is not forgotten and the step size can only fall.",
        "torch.optim.Adam(amsgrad=True) keeps Adam's bias corrections (m̂ and the max of v, divided by "
        "1 − β₂^t); Reddi et al. and Ruder drop them, as we do here.",
        "Reddi, Kale & Kumar (2018).",
        rules.amsgrad_init, rules.amsgrad_step),
    Optimizer(
        "newton", "Newton", (_lr(1.0, "η: 1 is Newton's full step; below 1 it is damped."),),
        r"\theta_{t+1} = \theta_t - \eta\, H_t^{-1} g_t, \quad H_t = \nabla^2 J(\theta_t)",
        "Uses the curvature as well as the slope: it fits a quadratic bowl to the surface where it stands "
        "and jumps to the bowl's centre. Near a minimum that takes a handful of steps where gradient descent "
        "needs thousands, and no learning rate is needed. But the centre of the fitted quadratic is any "
        "stationary point: at a saddle, Newton jumps *onto* the saddle. In d dimensions each step needs the "
        "d × d Hessian and a linear solve (O(d²) memory, O(d³) time), which is why Ruder's overview leaves "
        "second-order methods out for networks.",
        "torch.optim has no Newton step; torch.optim.LBFGS builds a quasi-Newton approximation of H⁻¹ from "
        "past gradients instead of the exact Hessian. A singular Hessian stops the run here with a note.",
        "Newton (1685), Raphson (1690); Nocedal & Wright, Numerical Optimization (2006), chapter 3.",
        rules.newton_init, rules.newton_step, second_order=True),
    Optimizer(
        "saddle_free_newton", "Saddle-free Newton",
        (_lr(1.0, "η: 1 is the full step; below 1 it is damped."),
         Hyperparameter("eps", "epsilon value", r"\epsilon", 1e-6, 0.0, math.inf, low_open=True, ui_min=1e-10,
                        ui_max=1.0, log=True, help="ε: the smallest curvature the step divides by.")),
        r"H_t = V \operatorname{diag}(\lambda_i) V^\top, \quad "
        r"|H_t| = V \operatorname{diag}(\max(|\lambda_i|, \epsilon)) V^\top \\ "
        r"\theta_{t+1} = \theta_t - \eta\, |H_t|^{-1} g_t",
        "Newton's step with every curvature made positive: along a direction where the surface curves "
        "down (a negative eigenvalue of the Hessian), it moves downhill at the scale the curvature sets, "
        "instead of uphill towards the saddle. Dauphin et al. proposed it because in high dimensions most "
        "stationary points are saddles, which attract plain Newton.",
        "No torch.optim counterpart. Dauphin et al. work in a Krylov subspace for networks; in two "
        "dimensions the exact eigen-decomposition is cheap.",
        "Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio (2014).",
        rules.newton_init, rules.saddle_free_newton_step, second_order=True),
]}
