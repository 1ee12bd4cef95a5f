"""Explanations with live numbers: one optimizer step filled in, and the exponentially weighted average.

``explain_step(name, record)`` turns one ``optimizers.StepRecord`` into the lines of the update rule with
that step's numbers substituted, per coordinate (x and y). State values, the gradient, the move and the
new point are the record's own; derived quantities (m̂, v̂, Adadelta's RMS terms, the effective learning
rate) are computed from the record's state with the same floating-point operations as
``optimizers.rules``. Each line also carries ``computed``: its formula evaluated from the numbers shown on
the earlier lines, so a test can check that the written-out arithmetic reproduces the core's step exactly.

The rule families are looked up by the optimizer names of ``optimizers.OPTIMIZERS``; the symbols of the
hyperparameters (η, γ, β₁, …) come from that table too.

The second half holds the moving-average arithmetic of the "Moving averages" page (the worked example of
the momentum/Adam reference notes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import optimizers
from optimizers.rules import eigen2, identity_lookahead, maximum, safe_div

Pair = tuple[float | None, float | None]
COORDINATES = ("x", "y")


@dataclass(frozen=True)
class Line:
    """One line of an update rule: ``symbol = formula``, filled in for x and y.

    filled: the right-hand side with this step's numbers, ending in ``= value`` (LaTeX), per coordinate.
    values: the numbers themselves (None where undefined, e.g. −Δθ/g when g = 0).
    computed: the formula evaluated from the inputs shown on earlier lines (None for given inputs).
    """

    label: str
    symbol: str
    formula: str
    filled: tuple[str, str]
    values: Pair
    computed: Pair | None = None
    rows: tuple[str, str] = COORDINATES  # what the two numbers are about (x and y, or v₁ and v₂)


# --- number formatting ----------------------------------------------------------------------------
def number(value: float | None, digits: int = 4) -> str:
    """A float as LaTeX with ``digits`` significant digits: 0.01234, -2.5, 1.2 \\times 10^{-5}."""
    if value is None:
        return r"\text{—}"
    if not math.isfinite(value):
        return r"\infty" if value > 0 else (r"-\infty" if value < 0 else r"\text{NaN}")
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < 5:
        text = f"{value:.{digits}g}"
        if "e" not in text:
            return text
    mantissa, exp = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return rf"{mantissa} \times 10^{{{int(exp)}}}"


def operand(value: float | None) -> str:
    """A number as an operand: negative or scientific numbers in parentheses."""
    text = number(value)
    if value is not None and (value < 0 or r"\times" in text):
        return rf"\left({text}\right)"
    return text


def plain(value: float | None, digits: int = 6) -> str:
    """A float as plain text for tables (``—`` when undefined)."""
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


# --- building lines -------------------------------------------------------------------------------
def _line(label: str, symbol: str, formula: str, template: Callable[..., str], values: Pair,
          inputs: Sequence[Pair] = (), computed: Pair | None = None,
          rows: tuple[str, str] = COORDINATES) -> Line:
    """A line whose filled-in text is ``template(*inputs for one coordinate) = value``."""
    filled = []
    for i in range(2):
        args = [operand(pair[i]) for pair in inputs]
        rhs = template(*args) if inputs else ""
        result = number(values[i])
        filled.append(f"{rhs} = {result}" if rhs else result)
    return Line(label, symbol, formula, (filled[0], filled[1]), values, computed, rows)


def _pair(f: Callable[..., float | None], *pairs: Pair) -> Pair:
    return f(*(p[0] for p in pairs)), f(*(p[1] for p in pairs))


def _field(states: tuple, name: str) -> Pair:
    return getattr(states[0], name), getattr(states[1], name)


def _constant(value: float) -> Pair:
    return value, value


def _symbols(name: str) -> dict[str, str]:
    """LaTeX symbols of the optimizer's hyperparameters, from the table."""
    return {p.name: p.symbol for p in optimizers.get(name).hyperparameters}


def _head(name: str, record) -> list[Line]:
    """θ_t, the look-ahead point (NAG) and the gradient."""
    lines = [_line("Where the step starts", r"\theta_t", "", None, record.theta)]
    if optimizers.get(name).lookahead is not identity_lookahead:
        gamma = record.hyperparameters["momentum"]
        v_prev = _field(record.state_before, "v")
        sym = _symbols(name)["momentum"]
        computed = _pair(lambda th, v: th - gamma * v, record.theta, v_prev)
        lines.append(_line("Look-ahead point: where momentum is about to carry θ", r"\tilde\theta_t",
                           rf"\theta_t - {sym}\, v_{{t-1}}",
                           lambda th, v: rf"{th} - {number(gamma)} \cdot {v}", record.lookahead,
                           (record.theta, v_prev), computed))
        lines.append(_line("Gradient at the look-ahead point", "g_t", r"\nabla f(\tilde\theta_t)", None,
                           record.gradient))
    else:
        lines.append(_line("Gradient at θₜ", "g_t", r"\nabla f(\theta_t)", None, record.gradient))
    return lines


def _tail(record, delta_formula: str, delta_template: Callable[..., str], delta_inputs: Sequence[Pair],
          delta_computed: Pair) -> list[Line]:
    """Δθ (from the rule), the effective learning rate −Δθ/g, and θ_{t+1} = θ_t + Δθ_t."""
    delta = record.delta
    effective = _pair(lambda d, g: -d / g if g != 0.0 else None, delta, record.gradient)
    return [
        _line("The move", r"\Delta\theta_t", delta_formula, delta_template, delta, delta_inputs,
              delta_computed),
        _line("Effective learning rate: the move per unit of gradient", r"\eta_{\text{eff}}",
              r"-\Delta\theta_t / g_t", lambda d, g: rf"-{d} / {g}", effective, (delta, record.gradient)),
        _line("Where the step ends", r"\theta_{t+1}", r"\theta_t + \Delta\theta_t",
              lambda th, d: f"{th} + {d}", record.theta_next, (record.theta, delta),
              _pair(lambda th, d: th + d, record.theta, delta)),
    ]


# --- one function per rule family -------------------------------------------------------------------
def _sgd(name: str, record) -> list[Line]:
    h, s = record.hyperparameters, _symbols(name)
    lr = _constant(h["lr"])
    return _head(name, record) + _tail(
        record, rf"-{s['lr']}\, g_t", lambda e, g: rf"-{e} \cdot {g}", (lr, record.gradient),
        _pair(lambda g: -h["lr"] * g, record.gradient))


def _momentum(name: str, record) -> list[Line]:
    """Momentum and NAG: the same velocity update; NAG measures g at the look-ahead point."""
    h, s = record.hyperparameters, _symbols(name)
    gamma, lr = h["momentum"], h["lr"]
    v_prev, v = _field(record.state_before, "v"), _field(record.state_after, "v")
    state = _line("Velocity: the last step, decayed, plus this gradient", "v_t",
                  rf"{s['momentum']}\, v_{{t-1}} + {s['lr']}\, g_t",
                  lambda vp, g: rf"{number(gamma)} \cdot {vp} + {number(lr)} \cdot {g}", v,
                  (v_prev, record.gradient),
                  _pair(lambda vp, g: gamma * vp + lr * g, v_prev, record.gradient))
    return _head(name, record) + [state] + _tail(
        record, "-v_t", lambda vv: f"-{vv}", (v,), _pair(lambda vv: -vv, v))


def _adagrad(name: str, record) -> list[Line]:
    h, s = record.hyperparameters, _symbols(name)
    lr, eps = h["lr"], h["eps"]
    G_prev, G = _field(record.state_before, "G"), _field(record.state_after, "G")
    state = _line("Sum of all squared gradients so far", "G_t", "G_{t-1} + g_t^2",
                  lambda gp, g: f"{gp} + {g}^2", G, (G_prev, record.gradient),
                  _pair(lambda gp, g: gp + g * g, G_prev, record.gradient))
    return _head(name, record) + [state] + _tail(
        record, rf"-\frac{{{s['lr']}}}{{\sqrt{{G_t + {s['eps']}}}}}\, g_t",
        lambda GG, g: rf"-\frac{{{number(lr)}}}{{\sqrt{{{GG} + {number(eps)}}}}} \cdot {g}",
        (G, record.gradient),
        _pair(lambda GG, g: -lr / math.sqrt(GG + eps) * g, G, record.gradient))


def _squared_average(name: str, record, rho: float, Eg2_prev: Pair, Eg2: Pair) -> Line:
    sym = _symbols(name)["rho"]
    return _line("Decaying average of squared gradients", "E[g^2]_t",
                 rf"{sym}\, E[g^2]_{{t-1}} + (1-{sym})\, g_t^2",
                 lambda ep, g: rf"{number(rho)} \cdot {ep} + {number(1.0 - rho)} \cdot {g}^2", Eg2,
                 (Eg2_prev, record.gradient),
                 _pair(lambda ep, g: rho * ep + (1.0 - rho) * (g * g), Eg2_prev, record.gradient))


def _adadelta(name: str, record) -> list[Line]:
    h, s = record.hyperparameters, _symbols(name)
    rho, eps, lr = h["rho"], h["eps"], h["lr"]
    g = record.gradient
    Eg2_prev, Eg2 = _field(record.state_before, "Eg2"), _field(record.state_after, "Eg2")
    Edx2_prev, Edx2 = _field(record.state_before, "Edx2"), _field(record.state_after, "Edx2")
    rms_dx = _pair(lambda e: math.sqrt(e + eps), Edx2_prev)
    rms_g = _pair(lambda e: math.sqrt(e + eps), Eg2)
    raw = _pair(lambda a, b, gg: -(a / b) * gg, rms_dx, rms_g, g)
    e = s["eps"]
    lines = _head(name, record) + [
        _squared_average(name, record, rho, Eg2_prev, Eg2),
        _line("Root mean square of recent moves (last step's)", r"\mathrm{RMS}[\Delta\theta]_{t-1}",
              rf"\sqrt{{E[\Delta\theta^2]_{{t-1}} + {e}}}",
              lambda ed: rf"\sqrt{{{ed} + {number(eps)}}}", rms_dx, (Edx2_prev,), rms_dx),
        _line("Root mean square of recent gradients", r"\mathrm{RMS}[g]_t", rf"\sqrt{{E[g^2]_t + {e}}}",
              lambda eg: rf"\sqrt{{{eg} + {number(eps)}}}", rms_g, (Eg2,), rms_g),
        _line("Zeiler's move: units of θ, no learning rate", r"\Delta\theta^{\text{Zeiler}}_t",
              r"-\frac{\mathrm{RMS}[\Delta\theta]_{t-1}}{\mathrm{RMS}[g]_t}\, g_t",
              lambda a, b, gg: rf"-\frac{{{a}}}{{{b}}} \cdot {gg}", raw, (rms_dx, rms_g, g), raw),
        _line("Decaying average of squared moves", r"E[\Delta\theta^2]_t",
              rf"{s['rho']}\, E[\Delta\theta^2]_{{t-1}} + (1-{s['rho']})\, "
              r"(\Delta\theta^{\text{Zeiler}}_t)^2",
              lambda ep, d: rf"{number(rho)} \cdot {ep} + {number(1.0 - rho)} \cdot {d}^2", Edx2,
              (Edx2_prev, raw), _pair(lambda ep, d: rho * ep + (1.0 - rho) * (d * d), Edx2_prev, raw)),
    ]
    tail = _tail(record, rf"{s['lr']}\, \Delta\theta^{{\text{{Zeiler}}}}_t",
                 lambda d: rf"{number(lr)} \cdot {d}", (raw,), _pair(lambda d: lr * d, raw))
    # The label says what the multiplier is (torch.optim.Adadelta's lr; 1 in Zeiler's rule).
    tail[0] = replace(tail[0], label="The move: Zeiler's move times the optional multiplier η "
                                     "(1 in Zeiler's rule)")
    return lines + tail


def _rmsprop(name: str, record) -> list[Line]:
    h, s = record.hyperparameters, _symbols(name)
    rho, eps, lr = h["rho"], h["eps"], h["lr"]
    Eg2_prev, Eg2 = _field(record.state_before, "Eg2"), _field(record.state_after, "Eg2")
    return _head(name, record) + [_squared_average(name, record, rho, Eg2_prev, Eg2)] + _tail(
        record, rf"-\frac{{{s['lr']}}}{{\sqrt{{E[g^2]_t + {s['eps']}}}}}\, g_t",
        lambda e, g: rf"-\frac{{{number(lr)}}}{{\sqrt{{{e} + {number(eps)}}}}} \cdot {g}",
        (Eg2, record.gradient),
        _pair(lambda e, g: -lr / math.sqrt(e + eps) * g, Eg2, record.gradient))


def _first_moment(name: str, record) -> tuple[Line, Pair]:
    s, b1 = _symbols(name), record.hyperparameters["beta1"]
    m_prev, m = _field(record.state_before, "m"), _field(record.state_after, "m")
    line = _line("Decaying average of gradients (direction)", "m_t",
                 rf"{s['beta1']}\, m_{{t-1}} + (1-{s['beta1']})\, g_t",
                 lambda mp, g: rf"{number(b1)} \cdot {mp} + {number(1.0 - b1)} \cdot {g}", m,
                 (m_prev, record.gradient),
                 _pair(lambda mp, g: b1 * mp + (1.0 - b1) * g, m_prev, record.gradient))
    return line, m


def _second_moment(name: str, record) -> tuple[Line, Pair]:
    s, b2 = _symbols(name), record.hyperparameters["beta2"]
    v_prev, v = _field(record.state_before, "v"), _field(record.state_after, "v")
    line = _line("Decaying average of squared gradients (scale)", "v_t",
                 rf"{s['beta2']}\, v_{{t-1}} + (1-{s['beta2']})\, g_t^2",
                 lambda vp, g: rf"{number(b2)} \cdot {vp} + {number(1.0 - b2)} \cdot {g}^2", v,
                 (v_prev, record.gradient),
                 _pair(lambda vp, g: b2 * vp + (1.0 - b2) * (g * g), v_prev, record.gradient))
    return line, v


def _bias_corrected(label: str, symbol: str, base: str, beta_symbol: str, beta: float, t: int,
                    raw: Pair) -> tuple[Line, Pair]:
    corrected = _pair(lambda r: r / (1.0 - beta**t), raw)
    line = _line(label, symbol, rf"\frac{{{base}}}{{1-{beta_symbol}^{{t}}}}",
                 lambda r: rf"\frac{{{r}}}{{1-{number(beta)}^{{{t}}}}}", corrected, (raw,), corrected)
    return line, corrected


def _adam(name: str, record) -> list[Line]:
    """Adam and Nadam: the same moments and bias corrections; Nadam adds the current gradient's share."""
    h, s, t = record.hyperparameters, _symbols(name), record.t
    lr, b1, b2, eps = h["lr"], h["beta1"], h["beta2"], h["eps"]
    m_line, m = _first_moment(name, record)
    v_line, v = _second_moment(name, record)
    mh_line, m_hat = _bias_corrected("Bias-corrected average of gradients (m starts at 0)", r"\hat m_t",
                                     "m_t", s["beta1"], b1, t, m)
    vh_line, v_hat = _bias_corrected("Bias-corrected average of squared gradients", r"\hat v_t", "v_t",
                                     s["beta2"], b2, t, v)
    lines = _head(name, record) + [m_line, v_line, mh_line, vh_line]
    scale = rf"-\frac{{{s['lr']}}}{{\sqrt{{\hat v_t}} + {s['eps']}}}"

    def filled_scale(vh: str) -> str:
        return rf"-\frac{{{number(lr)}}}{{\sqrt{{{vh}}} + {number(eps)}}}"

    if name == "nadam":
        bias1 = 1.0 - b1**t
        nesterov = _pair(lambda mh, g: b1 * mh + (1.0 - b1) * g / bias1, m_hat, record.gradient)
        lines.append(_line("Nesterov momentum: this step's average plus this gradient's share", r"\bar m_t",
                           rf"{s['beta1']}\, \hat m_t + "
                           rf"\frac{{(1-{s['beta1']})\, g_t}}{{1-{s['beta1']}^{{t}}}}",
                           lambda mh, g: rf"{number(b1)} \cdot {mh} + \frac{{{number(1.0 - b1)} \cdot {g}}}"
                                         rf"{{1-{number(b1)}^{{{t}}}}}",
                           nesterov, (m_hat, record.gradient), nesterov))
        return lines + _tail(record, scale + r"\, \bar m_t", lambda vh, mb: rf"{filled_scale(vh)} \cdot {mb}",
                             (v_hat, nesterov),
                             _pair(lambda vh, mb: -lr / (math.sqrt(vh) + eps) * mb, v_hat, nesterov))
    return lines + _tail(record, scale + r"\, \hat m_t", lambda vh, mh: rf"{filled_scale(vh)} \cdot {mh}",
                         (v_hat, m_hat), _pair(lambda vh, mh: -lr / (math.sqrt(vh) + eps) * mh, v_hat, m_hat))


def _adamax(name: str, record) -> list[Line]:
    h, s, t = record.hyperparameters, _symbols(name), record.t
    lr, b1, b2 = h["lr"], h["beta1"], h["beta2"]
    m_line, m = _first_moment(name, record)
    u_prev, u = _field(record.state_before, "u"), _field(record.state_after, "u")
    u_line = _line("Largest recent gradient size (decayed maximum)", "u_t",
                   rf"\max({s['beta2']}\, u_{{t-1}},\ |g_t|)",
                   lambda up, g: rf"\max({number(b2)} \cdot {up},\ |{g}|)", u, (u_prev, record.gradient),
                   _pair(lambda up, g: maximum(b2 * up, abs(g)), u_prev, record.gradient))
    mh_line, m_hat = _bias_corrected("Bias-corrected average of gradients (m starts at 0)", r"\hat m_t",
                                     "m_t", s["beta1"], b1, t, m)
    return _head(name, record) + [m_line, u_line, mh_line] + _tail(
        record, rf"-\frac{{{s['lr']}}}{{u_t}}\, \hat m_t",
        lambda uu, mh: rf"-\frac{{{number(lr)}}}{{{uu}}} \cdot {mh}",
        (u, m_hat), _pair(lambda uu, mh: -lr * safe_div(mh, uu), u, m_hat))


def _amsgrad(name: str, record) -> list[Line]:
    h, s = record.hyperparameters, _symbols(name)
    lr, eps = h["lr"], h["eps"]
    m_line, m = _first_moment(name, record)
    v_line, v = _second_moment(name, record)
    vmax_prev, vmax = _field(record.state_before, "v_max"), _field(record.state_after, "v_max")
    vmax_line = _line("Largest average of squared gradients so far (never shrinks)", r"\hat v_t",
                      r"\max(\hat v_{t-1},\ v_t)", lambda vp, vv: rf"\max({vp},\ {vv})", vmax, (vmax_prev, v),
                      _pair(lambda vp, vv: maximum(vp, vv), vmax_prev, v))
    return _head(name, record) + [m_line, v_line, vmax_line] + _tail(
        record, rf"-\frac{{{s['lr']}}}{{\sqrt{{\hat v_t}} + {s['eps']}}}\, m_t",
        lambda vm, mm: rf"-\frac{{{number(lr)}}}{{\sqrt{{{vm}}} + {number(eps)}}} \cdot {mm}", (vmax, m),
        _pair(lambda vm, mm: -lr / (math.sqrt(vm) + eps) * mm, vmax, m))


def _hessian_lines(record) -> tuple[list[Line], float, float, float]:
    hxx, hxy, hyy = record.hessian
    lines = [
        _line("Curvature along each axis (the Hessian's diagonal)", "H_{ii}",
              r"\partial^2 f / \partial \theta_i^2", None, (hxx, hyy)),
        _line("How the slopes interact (the Hessian's off-diagonal)", "H_{xy}",
              r"\partial^2 f / \partial x\, \partial y", None, (hxy, hxy)),
    ]
    return lines, hxx, hxy, hyy


def _newton(name: str, record) -> list[Line]:
    """Newton: solve H Δθ = −η g, with the 2 × 2 inverse written out."""
    h, s = record.hyperparameters, _symbols(name)
    lr = h["lr"]
    lines, hxx, hxy, hyy = _hessian_lines(record)
    det = hxx * hyy - hxy * hxy
    lines.append(_line("Determinant of H (zero: no unique solution, the run stops)", r"\det H",
                       r"H_{xx} H_{yy} - H_{xy}^2", lambda a, b, c: rf"{a} \cdot {b} - {c}^2", (det, det),
                       ((hxx, hxx), (hyy, hyy), (hxy, hxy)), (hxx * hyy - hxy * hxy,) * 2))
    gx, gy = record.gradient
    # Per coordinate: Δθ_i = −η (H_jj g_i − H_xy g_j) / det H, where j is the other coordinate.
    inputs = ((hyy, hxx), (record.gradient[0], record.gradient[1]), (hxy, hxy), (gy, gx), (det, det))
    computed = (-lr * ((hyy * gx - hxy * gy) / det), -lr * ((hxx * gy - hxy * gx) / det))
    return _head(name, record) + lines + _tail(
        record, rf"-{s['lr']}\, H_t^{{-1}} g_t",
        lambda a, g, b, go, d: rf"-{number(lr)} \cdot \frac{{{a} \cdot {g} - {b} \cdot {go}}}{{{d}}}",
        inputs, computed)


def _saddle_free_newton(name: str, record) -> list[Line]:
    """Saddle-free Newton: Newton's step in the Hessian's eigenbasis, each curvature taken as |λ| ≥ ε."""
    h, s = record.hyperparameters, _symbols(name)
    lr, eps = h["lr"], h["eps"]
    lines, hxx, hxy, hyy = _hessian_lines(record)
    lam1, lam2, c, sn = eigen2(hxx, hxy, hyy)
    gx, gy = record.gradient
    eigen = ("v_1", "v_2")
    lines.append(_line("Curvatures: the eigenvalues of H (negative: the surface curves down)", r"\lambda_i",
                       "", None, (lam1, lam2), rows=eigen))
    lines.append(_line("Eigenvectors vᵢ = (cos φ, sin φ), (−sin φ, cos φ): the angle's cosine and sine",
                       r"(\cos\varphi, \sin\varphi)", "", None, (c, sn), rows=("cos", "sin")))
    along = ((c * gx + sn * gy) / maximum(abs(lam1), eps), (c * gy - sn * gx) / maximum(abs(lam2), eps))
    lines.append(_line("The gradient along each eigenvector, divided by its |curvature| (at least ε)", "p_i",
                       rf"\frac{{v_i^\top g_t}}{{\max(|\lambda_i|, {s['eps']})}}", None, along, rows=eigen))
    # Δθ = −η (p₁ v₁ + p₂ v₂): x gets cos φ·p₁ − sin φ·p₂, y gets sin φ·p₁ + cos φ·p₂.
    p1, p2 = along
    inputs = ((c, sn), (p1, p1), (-sn, c), (p2, p2))
    computed = (-lr * (c * p1 - sn * p2), -lr * (sn * p1 + c * p2))
    return _head(name, record) + lines + _tail(
        record, rf"-{s['lr']}\, |H_t|^{{-1}} g_t = -{s['lr']} (p_1 v_1 + p_2 v_2)",
        lambda a, p, b, q: rf"-{number(lr)} \cdot ({a} \cdot {p} + {b} \cdot {q})", inputs, computed)


# The rule families, by the table's optimizer names (the keys must equal optimizers.available()).
FAMILIES: dict[str, Callable[[str, object], list[Line]]] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nag": _momentum,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamax": _adamax,
    "nadam": _adam,
    "amsgrad": _amsgrad,
    "newton": _newton,
    "saddle_free_newton": _saddle_free_newton,
}


def explain_step(name: str, record) -> list[Line]:
    """The update rule of optimizer ``name`` filled in with the numbers of ``record`` (a StepRecord)."""
    optimizers.get(name)  # ValueError for an unknown name
    return FAMILIES[name](name, record)


def step_hyperparameters(name: str, record) -> list[tuple[str, float]]:
    """(LaTeX symbol, value) of the hyperparameters in force at this step, in the table's order."""
    return [(p.symbol, record.hyperparameters[p.name]) for p in optimizers.get(name).hyperparameters]


MOMENTUM_RULES = ("momentum", "nag")  # rules whose only memory is a velocity


def _ratio(a: float, b: float) -> str:
    """a / b for a sentence: "5×", "1,700×", "0.2×"."""
    r = a / b
    return f"{r:,.0f}×" if r >= 10 else f"{r:.2g}×"


def takeaway(name: str, record, sgd_lr: float | None = None) -> str:
    """One plain sentence of what this step's numbers show, comparing the move along the flatter
    direction (the coordinate with the smaller gradient) with what plain SGD would do there.

    ``sgd_lr`` is SGD's learning rate to compare with (the surface's preset, or the race's); with the
    saddle's numbers: "Along y, where the gradient is tiny (|g| = 0.002), Adam's effective learning rate
    is 50 — 1,667× SGD's η = 0.03 on this surface, so it moves 1,667× as far along y as SGD would."
    """
    opt = optimizers.get(name)
    title = opt.title
    g, d = record.gradient, record.delta
    nonzero = [i for i in (0, 1) if g[i] != 0 and math.isfinite(g[i])]
    if not nonzero:
        if any(d):
            return (f"The gradient is exactly zero here, yet {title} still moves by "
                    f"({plain(d[0], 3)}, {plain(d[1], 3)}): that is its momentum from earlier steps.")
        return f"The gradient is exactly zero here, so {title} does not move: a flat point holds it."
    flat = min(nonzero, key=lambda i: abs(g[i]))
    steep = 1 - flat
    c, cs = COORDINATES[flat], COORDINATES[steep]
    eff = -d[flat] / g[flat]
    where = f"Along {c}, the flatter direction (|g| = {plain(abs(g[flat]), 3)})"
    if len(nonzero) == 1:
        where = f"Along {c} (|g| = {plain(abs(g[flat]), 3)}; along {cs} the gradient is 0)"
    if eff < 0 and opt.second_order:
        return (f"{where}, {title} moves uphill, against the gradient (−Δ{c}/g = {plain(eff, 3)}): the "
                f"surface curves down along {c}, and the step heads for the centre of the quadratic it "
                "fits — here a saddle or a maximum.")
    if eff < 0:
        return (f"{where}, {title} moves against this gradient (−Δ{c}/g = {plain(eff, 3)}): the velocity "
                "of earlier steps carries it.")
    if name == "sgd" or sgd_lr is None or sgd_lr <= 0:
        if len(nonzero) == 2 and abs(g[steep]) > abs(g[flat]):
            lr = plain(record.hyperparameters["lr"], 3)
            less = _ratio(abs(g[steep]), abs(g[flat]))
            return (f"{title} moves every coordinate by η·g with one η = {lr}: along {c} "
                    f"(|g| = {plain(abs(g[flat]), 3)}) it moves {less} less than along {cs}, so flat "
                    "directions stay slow — the reason it lingers on plateaus and at saddles.")
        return f"{where}, {title} moves by η·g with η = {plain(record.hyperparameters['lr'], 3)}."
    kind = ("divides by the curvature instead of using a fixed rate" if opt.second_order
            else "adds up its past steps" if name in MOMENTUM_RULES
            else "rescales each coordinate by its own gradient history")
    if eff >= sgd_lr:
        compare = (f"{_ratio(eff, sgd_lr)} SGD's η = {plain(sgd_lr, 3)} on this surface, so it moves "
                   f"{_ratio(eff, sgd_lr)} as far along {c} as SGD would from here")
    else:
        compare = (f"only {_ratio(eff, sgd_lr)} SGD's η = {plain(sgd_lr, 3)} on this surface, so it moves "
                   f"less far along {c} than SGD would from here")
    return f"{where}, {title}'s effective learning rate is {plain(eff, 3)} — {compare}: it {kind}."


def rule_latex(latex: str) -> str:
    """A table rule (rows separated by ``\\``) as an aligned block, lined up on each row's first '='."""
    rows = []
    for row in latex.split(r"\\"):
        row = row.strip()
        rows.append(row.replace(" = ", " &= ", 1) if " = " in row else "&" + row)
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def aligned_latex(line: Line) -> str:
    """The line as one LaTeX block: the symbolic rule, then the x and y rows with numbers."""
    rows = []
    if line.formula:
        rows.append(rf"{line.symbol} &= {line.formula}")
    for coordinate, filled in zip(line.rows, line.filled, strict=True):
        rows.append(rf"{coordinate}:\quad {line.symbol} &= {filled}")
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


# --- moving averages ------------------------------------------------------------------------------
STOCK_PRICES = (12.30, 11.00, 10.20, 10.50, 11.10)  # the five prices of the reference notes
NOTES_BETA = 0.2  # the β of the notes' worked example
MAX_SERIES = 200


def _check_beta(beta: float) -> float:
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and 0.0 <= beta < 1.0):
        raise ValueError(f"Invalid beta: {beta} (0 ≤ β < 1)")
    return float(beta)


def ewma(values: Sequence[float], beta: float, start: str = "zero") -> list[float]:
    """Exponentially weighted averages v_t = β v_{t−1} + (1 − β) p_t, for t = 1, …, n.

    start="zero": v₀ = 0, as Adam's m and v start (the early averages are pulled towards 0);
    start="first": v₁ = p₁, as the reference notes' worked example starts.
    """
    beta = _check_beta(beta)
    if start not in ("zero", "first"):
        raise ValueError(f"Invalid start: {start!r} (zero or first)")
    out: list[float] = []
    v = 0.0
    for i, p in enumerate(values):
        v = p if (i == 0 and start == "first") else beta * v + (1.0 - beta) * p
        out.append(v)
    return out


def bias_corrected(values: Sequence[float], beta: float) -> list[float]:
    """Adam's correction of the zero-started average: v̂_t = v_t / (1 − βᵗ)."""
    beta = _check_beta(beta)
    return [v / (1.0 - beta ** t) if beta ** t < 1.0 else v
            for t, v in enumerate(ewma(values, beta, "zero"), start=1)]


def ewma_weights(n: int, beta: float) -> list[float]:
    """Weight of each observation p_1 … p_n in the zero-started v_n: (1 − β) β^(n−k).

    They add up to 1 − βⁿ; the missing βⁿ is the weight of v₀ = 0.
    """
    beta = _check_beta(beta)
    return [(1.0 - beta) * beta ** (n - k) for k in range(1, n + 1)]


def parse_series(text: str, max_len: int = MAX_SERIES) -> list[float]:
    """Comma-separated numbers (at least two, at most ``max_len``); ValueError with a plain reason."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        raise ValueError("type at least two numbers, separated by commas")
    if len(parts) > max_len:
        raise ValueError(f"at most {max_len} numbers, please ({len(parts)} given)")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"'{part[:20]}' is not a number") from None
        if not math.isfinite(value) or abs(value) > 1e12:
            raise ValueError(f"'{part[:20]}' is not a usable number (finite, below 10¹² in size)")
        values.append(value)
    return values
