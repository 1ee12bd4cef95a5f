"""The ten update rules, written once, exactly as Ruder's overview writes them.

Every rule is elementwise and written for one coordinate held in a float, with plain arithmetic and the
``math`` module. Each function is compiled once by numba (``@rule``: no fast-math, NumPy's error model so
a division by zero gives inf instead of raising) and the engine (``optimizers.kernel``) calls the compiled
code for one start and for a batch of thousands alike, which is what lets a race, a batch run and a sweep
agree bit for bit. The explainer calls the same compiled functions from Python.

A rule has three parts, in the spirit of optax's ``init`` / ``update``:

* ``init(zero) -> State`` — a small NamedTuple of accumulators, all starting at ``zero``;
* ``lookahead(theta, state, h) -> point`` — where the gradient is evaluated (θ itself, except for NAG,
  which looks ahead to θ − γv);
* ``step(g, state, h, t) -> (delta, state)`` — the move for step ``t`` (1-based) given the gradient ``g``
  at the look-ahead point: θ_{t+1} = θ_t + delta.

``h`` is a ``Hyper``: this step's hyperparameters (``lr`` and ``momentum`` already scheduled; a rule reads
only its own); it also carries β₁ᵗ and β₂ᵗ, computed once per step (``hyper_for_step``). Nothing here
mutates its inputs.

References: S. Ruder, "An overview of gradient descent optimization algorithms", arXiv:1609.04747 (2016);
the original papers are cited on each rule.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from optimizers.jit import rule


class Hyper(NamedTuple):
    """The hyperparameters of one step; every name in the table's hyperparameters is a field here."""

    lr: float  # η (scheduled)
    momentum: float  # γ of Momentum and NAG (scheduled)
    beta1: float  # β₁: decay of the average of gradients
    beta2: float  # β₂: decay of the average of squared gradients
    rho: float  # γ of Adadelta and RMSprop
    eps: float  # ε
    beta1_t: float  # β₁ᵗ, for the bias correction of step t (computed once per step, not per start)
    beta2_t: float  # β₂ᵗ


FIXED = Hyper._fields[2:6]  # the hyperparameters that stay the same for every step


@rule
def hyper_for_step(lr, momentum, fixed, t):
    """The Hyper of step t: the scheduled lr and momentum, the fixed values (a float array in FIXED
    order), and the powers β₁ᵗ, β₂ᵗ from the C library's ``pow``, as Python's ``**`` on floats computes."""
    beta1, beta2, rho, eps = fixed[0], fixed[1], fixed[2], fixed[3]
    # float(t): an integer exponent would let LLVM use powi (repeated products), which rounds differently.
    return Hyper(lr, momentum, beta1, beta2, rho, eps, math.pow(beta1, float(t)), math.pow(beta2, float(t)))


@rule
def maximum(a, b):
    return a if a >= b else b


@rule
def safe_div(num, den):
    """num / den, with 0 where den == 0 (AdaMax on a coordinate whose gradient was always 0)."""
    return num / den if den != 0.0 else 0.0


@rule
def identity_lookahead(theta, state, h):
    return theta


# --- SGD ------------------------------------------------------------------------------------------
class SGDState(NamedTuple):
    pass


@rule
def sgd_init(zero):
    return SGDState()


@rule
def sgd_step(g, state, h, t):
    # θ ← θ − η g
    return -h.lr * g, state


# --- Momentum (Qian 1999) ---------------------------------------------------------------------------
class MomentumState(NamedTuple):
    v: float  # velocity: γ v + η g, the step actually taken (Ruder's sign convention)


@rule
def momentum_init(zero):
    return MomentumState(v=zero)


@rule
def momentum_step(g, state, h, t):
    v = h.momentum * state.v + h.lr * g
    return -v, MomentumState(v=v)


# --- Nesterov accelerated gradient (Nesterov 1983; Sutskever et al. 2013) ---------------------------
@rule
def nag_lookahead(theta, state, h):
    # The gradient is taken where momentum is about to carry us: θ − γ v_{t−1}.
    return theta - h.momentum * state.v


# NAG's step is Momentum's step; only the point where g is measured differs.
nag_step = momentum_step


# --- Adagrad (Duchi et al. 2011) --------------------------------------------------------------------
class AdagradState(NamedTuple):
    G: float  # sum of squared gradients so far


@rule
def adagrad_init(zero):
    return AdagradState(G=zero)


@rule
def adagrad_step(g, state, h, t):
    G = state.G + g * g
    return -h.lr / math.sqrt(G + h.eps) * g, AdagradState(G=G)


# --- Adadelta (Zeiler 2012) -------------------------------------------------------------------------
class AdadeltaState(NamedTuple):
    Eg2: float  # E[g²]: decaying average of squared gradients
    Edx2: float  # E[Δθ²]: decaying average of squared updates


@rule
def adadelta_init(zero):
    return AdadeltaState(Eg2=zero, Edx2=zero)


@rule
def adadelta_step(g, state, h, t):
    rho, eps = h.rho, h.eps
    Eg2 = rho * state.Eg2 + (1.0 - rho) * (g * g)
    # Δθ = −RMS[Δθ]_{t−1} / RMS[g]_t · g  (no learning rate in Zeiler's rule)
    delta = -(math.sqrt(state.Edx2 + eps) / math.sqrt(Eg2 + eps)) * g
    Edx2 = rho * state.Edx2 + (1.0 - rho) * (delta * delta)
    # Optional multiplier as in torch.optim.Adadelta (default 1.0): scales the move, not the average.
    return h.lr * delta, AdadeltaState(Eg2=Eg2, Edx2=Edx2)


# --- RMSprop (Hinton, Coursera lecture 6e, 2012) ------------------------------------------------------
class RMSpropState(NamedTuple):
    Eg2: float  # E[g²]: decaying average of squared gradients


@rule
def rmsprop_init(zero):
    return RMSpropState(Eg2=zero)


@rule
def rmsprop_step(g, state, h, t):
    rho = h.rho
    Eg2 = rho * state.Eg2 + (1.0 - rho) * (g * g)
    return -h.lr / math.sqrt(Eg2 + h.eps) * g, RMSpropState(Eg2=Eg2)


# --- Adam (Kingma & Ba 2015) ------------------------------------------------------------------------
class AdamState(NamedTuple):
    m: float  # EMA of gradients (first moment)
    v: float  # EMA of squared gradients (second moment)


@rule
def adam_init(zero):
    return AdamState(m=zero, v=zero)


@rule
def _moments(g, state, h):
    b1, b2 = h.beta1, h.beta2
    return b1 * state.m + (1.0 - b1) * g, b2 * state.v + (1.0 - b2) * (g * g)


@rule
def adam_step(g, state, h, t):
    m, v = _moments(g, state, h)
    m_hat = m / (1.0 - h.beta1_t)
    v_hat = v / (1.0 - h.beta2_t)
    return -h.lr / (math.sqrt(v_hat) + h.eps) * m_hat, AdamState(m=m, v=v)


# --- AdaMax (Kingma & Ba 2015, section 7) ---------------------------------------------------------------
class AdaMaxState(NamedTuple):
    m: float  # EMA of gradients
    u: float  # infinity-norm accumulator: max(β₂ u, |g|)


@rule
def adamax_init(zero):
    return AdaMaxState(m=zero, u=zero)


@rule
def adamax_step(g, state, h, t):
    b1 = h.beta1
    m = b1 * state.m + (1.0 - b1) * g
    u = maximum(h.beta2 * state.u, abs(g))
    m_hat = m / (1.0 - h.beta1_t)
    return -h.lr * safe_div(m_hat, u), AdaMaxState(m=m, u=u)


# --- Nadam (Dozat 2016) -----------------------------------------------------------------------------
@rule
def nadam_step(g, state, h, t):
    b1 = h.beta1
    m, v = _moments(g, state, h)
    bias1 = 1.0 - h.beta1_t
    m_hat = m / bias1
    v_hat = v / (1.0 - h.beta2_t)
    # Nesterov: the current bias-corrected momentum plus the current gradient's own share.
    nesterov = b1 * m_hat + (1.0 - b1) * g / bias1
    return -h.lr / (math.sqrt(v_hat) + h.eps) * nesterov, AdamState(m=m, v=v)


# --- AMSGrad (Reddi et al. 2018) --------------------------------------------------------------------
class AMSGradState(NamedTuple):
    m: float  # EMA of gradients
    v: float  # EMA of squared gradients
    v_max: float  # v̂: the largest v so far (no bias correction, as Reddi et al. and Ruder write it)


@rule
def amsgrad_init(zero):
    return AMSGradState(m=zero, v=zero, v_max=zero)


@rule
def amsgrad_step(g, state, h, t):
    m, v = _moments(g, state, h)
    v_max = maximum(state.v_max, v)
    return -h.lr / (math.sqrt(v_max) + h.eps) * m, AMSGradState(m=m, v=v, v_max=v_max)


# --- Second-order rules: one step for both coordinates, from the gradient and the Hessian -----------------
# ``step2(gx, gy, hxx, hxy, hyy, state, h, t) -> (dx, dy, state, status)``; status is HESSIAN_OK, or why
# the step cannot be taken (the engine then stops the start at this step and says why).
HESSIAN_OK = 0
HESSIAN_SINGULAR = 1
HESSIAN_NOT_FINITE = 2
SINGULAR_RTOL = 1e-12  # |det H| below this fraction of |hxx·hyy| + hxy² counts as singular


class NewtonState(NamedTuple):
    pass


@rule
def newton_init(zero):
    return NewtonState()


@rule
def _hessian_status(hxx, hxy, hyy):
    if not (math.isfinite(hxx) and math.isfinite(hxy) and math.isfinite(hyy)):
        return HESSIAN_NOT_FINITE
    return HESSIAN_OK


# --- Newton's method ------------------------------------------------------------------------------------
@rule
def newton_step(gx, gy, hxx, hxy, hyy, state, h, t):
    # θ ← θ − η H⁻¹ ∇f, with the 2 × 2 inverse written out: H⁻¹ = [[hyy, −hxy], [−hxy, hxx]] / det H.
    status = _hessian_status(hxx, hxy, hyy)
    det = hxx * hyy - hxy * hxy
    if status == HESSIAN_OK and abs(det) <= SINGULAR_RTOL * (abs(hxx * hyy) + hxy * hxy):
        status = HESSIAN_SINGULAR
    dx = -h.lr * ((hyy * gx - hxy * gy) / det)
    dy = -h.lr * ((hxx * gy - hxy * gx) / det)
    return dx, dy, state, status


# --- Saddle-free Newton (Dauphin et al. 2014) ------------------------------------------------------------
@rule
def eigen2(hxx, hxy, hyy):
    """Eigen-decomposition of the symmetric [[hxx, hxy], [hxy, hyy]]: (λ₁, λ₂, cos φ, sin φ), where
    v₁ = (cos φ, sin φ) and v₂ = (−sin φ, cos φ) are the eigenvectors (the Jacobi rotation angle)."""
    if hxy == 0.0:  # already diagonal: the axes are the eigenvectors, exactly
        return hxx, hyy, 1.0, 0.0
    phi = 0.5 * math.atan2(2.0 * hxy, hxx - hyy)
    c = math.cos(phi)
    s = math.sin(phi)
    lam1 = hxx * c * c + 2.0 * hxy * s * c + hyy * s * s
    lam2 = hxx * s * s - 2.0 * hxy * s * c + hyy * c * c
    return lam1, lam2, c, s


@rule
def saddle_free_newton_step(gx, gy, hxx, hxy, hyy, state, h, t):
    # θ ← θ − η |H|⁻¹ ∇f, |H| = V diag(max(|λᵢ|, ε)) Vᵀ: Newton's step with every curvature made positive,
    # so a direction of negative curvature is descended instead of climbed.
    status = _hessian_status(hxx, hxy, hyy)
    lam1, lam2, c, s = eigen2(hxx, hxy, hyy)
    p1 = (c * gx + s * gy) / maximum(abs(lam1), h.eps)  # the gradient's part along v₁, rescaled
    p2 = (c * gy - s * gx) / maximum(abs(lam2), h.eps)  # … along v₂
    dx = -h.lr * (c * p1 - s * p2)
    dy = -h.lr * (s * p1 + c * p2)
    return dx, dy, state, status
