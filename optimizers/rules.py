"""The ten update rules, written once, exactly as Ruder's overview writes them.

Every rule is elementwise: it works on one coordinate held in a Python ``float`` (the fast path for a few
starts) and on NumPy arrays of any shape (batches of thousands of starts), because it is written with
plain arithmetic and the small ``xp`` namespace (``sqrt``, ``maximum``, ``safe_div``). Both paths
therefore run the same IEEE operations in the same order, which is what lets a batched run equal the
one-by-one runs bit for bit.

A rule has three parts, in the spirit of optax's ``init`` / ``update``:

* ``init(zero) -> State`` — a small NamedTuple of accumulators, all starting at ``zero``;
* ``lookahead(theta, state, h) -> point`` — where the gradient is evaluated (θ itself, except for NAG,
  which looks ahead to θ − γv);
* ``step(g, state, h, t) -> (delta, state)`` — the move for step ``t`` (1-based) given the gradient ``g``
  at the look-ahead point: θ_{t+1} = θ_t + delta.

``h`` is a mapping of this step's hyperparameters (``lr`` and ``momentum`` already scheduled).
Nothing here mutates its inputs.

References: S. Ruder, "An overview of gradient descent optimization algorithms", arXiv:1609.04747 (2016);
the original papers are cited on each rule.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class ScalarOps:
    """``xp`` for single coordinates held as Python floats."""

    sqrt = staticmethod(math.sqrt)
    abs = staticmethod(abs)

    @staticmethod
    def maximum(a: float, b: float) -> float:
        return a if a >= b else b

    @staticmethod
    def safe_div(num: float, den: float) -> float:
        """num / den, with 0 where den == 0 (AdaMax on a coordinate whose gradient was always 0)."""
        return num / den if den != 0.0 else 0.0


class ArrayOps:
    """``xp`` for NumPy arrays (elementwise, same results as ScalarOps element by element)."""

    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    maximum = staticmethod(np.maximum)

    @staticmethod
    def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0.0)


def identity_lookahead(theta, state, h):
    return theta


# --- SGD ------------------------------------------------------------------------------------------
class SGDState(NamedTuple):
    pass


def sgd_init(zero):
    return SGDState()


def sgd_step(xp, g, state, h, t):
    # θ ← θ − η g
    return -h["lr"] * g, state


# --- Momentum (Qian 1999) ---------------------------------------------------------------------------
class MomentumState(NamedTuple):
    v: object  # velocity: γ v + η g, the step actually taken (Ruder's sign convention)


def momentum_init(zero):
    return MomentumState(v=zero)


def momentum_step(xp, g, state, h, t):
    v = h["momentum"] * state.v + h["lr"] * g
    return -v, MomentumState(v=v)


# --- Nesterov accelerated gradient (Nesterov 1983; Sutskever et al. 2013) ---------------------------
def nag_lookahead(theta, state, h):
    # The gradient is taken where momentum is about to carry us: θ − γ v_{t−1}.
    return theta - h["momentum"] * state.v


# NAG's step is Momentum's step; only the point where g is measured differs.
nag_step = momentum_step


# --- Adagrad (Duchi et al. 2011) --------------------------------------------------------------------
class AdagradState(NamedTuple):
    G: object  # sum of squared gradients so far


def adagrad_init(zero):
    return AdagradState(G=zero)


def adagrad_step(xp, g, state, h, t):
    G = state.G + g * g
    return -h["lr"] / xp.sqrt(G + h["eps"]) * g, AdagradState(G=G)


# --- Adadelta (Zeiler 2012) -------------------------------------------------------------------------
class AdadeltaState(NamedTuple):
    Eg2: object  # E[g²]: decaying average of squared gradients
    Edx2: object  # E[Δθ²]: decaying average of squared updates


def adadelta_init(zero):
    return AdadeltaState(Eg2=zero, Edx2=zero)


def adadelta_step(xp, g, state, h, t):
    rho, eps = h["rho"], h["eps"]
    Eg2 = rho * state.Eg2 + (1.0 - rho) * (g * g)
    # Δθ = −RMS[Δθ]_{t−1} / RMS[g]_t · g  (no learning rate in Zeiler's rule)
    delta = -(xp.sqrt(state.Edx2 + eps) / xp.sqrt(Eg2 + eps)) * g
    Edx2 = rho * state.Edx2 + (1.0 - rho) * (delta * delta)
    # Optional multiplier as in torch.optim.Adadelta (default 1.0): scales the move, not the average.
    return h["lr"] * delta, AdadeltaState(Eg2=Eg2, Edx2=Edx2)


# --- RMSprop (Hinton, Coursera lecture 6e, 2012) ------------------------------------------------------
class RMSpropState(NamedTuple):
    Eg2: object  # E[g²]: decaying average of squared gradients


def rmsprop_init(zero):
    return RMSpropState(Eg2=zero)


def rmsprop_step(xp, g, state, h, t):
    rho = h["rho"]
    Eg2 = rho * state.Eg2 + (1.0 - rho) * (g * g)
    return -h["lr"] / xp.sqrt(Eg2 + h["eps"]) * g, RMSpropState(Eg2=Eg2)


# --- Adam (Kingma & Ba 2015) ------------------------------------------------------------------------
class AdamState(NamedTuple):
    m: object  # EMA of gradients (first moment)
    v: object  # EMA of squared gradients (second moment)


def adam_init(zero):
    return AdamState(m=zero, v=zero)


def _moments(g, state, h):
    b1, b2 = h["beta1"], h["beta2"]
    return b1 * state.m + (1.0 - b1) * g, b2 * state.v + (1.0 - b2) * (g * g)


def adam_step(xp, g, state, h, t):
    m, v = _moments(g, state, h)
    m_hat = m / (1.0 - h["beta1"] ** t)
    v_hat = v / (1.0 - h["beta2"] ** t)
    return -h["lr"] / (xp.sqrt(v_hat) + h["eps"]) * m_hat, AdamState(m=m, v=v)


# --- AdaMax (Kingma & Ba 2015, section 7) ---------------------------------------------------------------
class AdaMaxState(NamedTuple):
    m: object  # EMA of gradients
    u: object  # infinity-norm accumulator: max(β₂ u, |g|)


def adamax_init(zero):
    return AdaMaxState(m=zero, u=zero)


def adamax_step(xp, g, state, h, t):
    b1 = h["beta1"]
    m = b1 * state.m + (1.0 - b1) * g
    u = xp.maximum(h["beta2"] * state.u, xp.abs(g))
    m_hat = m / (1.0 - b1**t)
    return -h["lr"] * xp.safe_div(m_hat, u), AdaMaxState(m=m, u=u)


# --- Nadam (Dozat 2016) -----------------------------------------------------------------------------
def nadam_step(xp, g, state, h, t):
    b1 = h["beta1"]
    m, v = _moments(g, state, h)
    bias1 = 1.0 - b1**t
    m_hat = m / bias1
    v_hat = v / (1.0 - h["beta2"] ** t)
    # Nesterov: the current bias-corrected momentum plus the current gradient's own share.
    nesterov = b1 * m_hat + (1.0 - b1) * g / bias1
    return -h["lr"] / (xp.sqrt(v_hat) + h["eps"]) * nesterov, AdamState(m=m, v=v)


# --- AMSGrad (Reddi et al. 2018) --------------------------------------------------------------------
class AMSGradState(NamedTuple):
    m: object  # EMA of gradients
    v: object  # EMA of squared gradients
    v_max: object  # v̂: the largest v so far (no bias correction, as Reddi et al. and Ruder write it)


def amsgrad_init(zero):
    return AMSGradState(m=zero, v=zero, v_max=zero)


def amsgrad_step(xp, g, state, h, t):
    m, v = _moments(g, state, h)
    v_max = xp.maximum(state.v_max, v)
    return -h["lr"] / (xp.sqrt(v_max) + h["eps"]) * m, AMSGradState(m=m, v=v, v_max=v_max)
