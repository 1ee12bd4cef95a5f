"""Moving averages: the exponentially weighted average behind Momentum, RMSprop and Adam, and Adam's
bias correction, on the five stock prices of the reference notes (or the visitor's own numbers)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import optimizers
from lab import explain, literal
from ui.page import use_app_navigation

use_app_navigation()

K = "moving_averages"
DEFAULT_TEXT = ", ".join(f"{p:.2f}" for p in explain.STOCK_PRICES)
BETAS = {"β = 0.2": (0.2, "The β of the notes' worked example."), "β = 0.5": (0.5, "Half old, half new."),
         "β = 0.9": (0.9, "Adam's β₁ and the usual momentum.")}
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
PRICE_COLOR, NOTES_COLOR, ZERO_COLOR, CORRECTED_COLOR = "#57606a", "#0b3d91", "#b35806", "#1b7837"
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=15, color="#1f2328")


def _key(*parts: str) -> str:
    return ".".join((K, *parts))


def _set_beta(value: float) -> None:
    st.session_state[_key("beta")] = value


def _reset_series() -> None:
    st.session_state[_key("series")] = DEFAULT_TEXT


def _layout(fig: go.Figure, **extra) -> None:
    fig.update_layout(template="plotly_white", font=FONT, height=420, margin=dict(l=60, r=20, t=30, b=60),
                      legend=dict(orientation="h", x=0, y=-0.18, yanchor="top", font=dict(size=14)),
                      hoverlabel=dict(font=dict(size=14)), **extra)


st.title("Moving averages")
st.markdown(
    "Momentum, RMSprop, Adadelta and Adam all keep an **exponentially weighted average**: each new value "
    "enters with weight 1 − β and everything before it is multiplied by β, so an observation k steps old "
    "counts βᵏ(1 − β). β near 1 means a long memory and a smooth average; β near 0 follows the latest value. "
    "The reference notes use five days of a stock price:")
st.latex(r"v_t = \beta\, v_{t-1} + (1-\beta)\, p_t")

if _key("series") not in st.session_state:
    st.session_state[_key("series")] = DEFAULT_TEXT
if _key("beta") not in st.session_state:
    st.session_state[_key("beta")] = explain.NOTES_BETA

c_series, c_reset = st.columns([5, 1], vertical_alignment="bottom")
text = c_series.text_input("Prices, or your own numbers (comma-separated)", key=_key("series"),
                           persist_state="session", max_chars=4000)
c_reset.button("Stock prices", on_click=_reset_series, key=_key("reset"), width="stretch",
               help="Back to the five prices of the reference notes.")
try:
    prices = explain.parse_series(text)
except ValueError as exc:
    st.warning(f"Could not read the numbers: {literal.text(exc)}. "
               "Showing the notes' five stock prices instead.")
    prices = list(explain.STOCK_PRICES)

c_beta, *c_buttons = st.columns([4, 1, 1, 1], vertical_alignment="bottom")
beta = c_beta.slider("β: the weight kept by the old average", 0.0, 0.99, step=0.01, key=_key("beta"),
                     persist_state="session")
for col, (label, (value, tip)) in zip(c_buttons, BETAS.items(), strict=True):
    col.button(label, on_click=_set_beta, args=(value,), key=_key("beta", str(value)), width="stretch",
               help=tip)

n = len(prices)
days = list(range(1, n + 1))
notes = explain.ewma(prices, beta, start="first")
zero = explain.ewma(prices, beta, start="zero")
corrected = explain.bias_corrected(prices, beta)

# --- worked example -------------------------------------------------------------------------------------
st.subheader("Worked example")
st.markdown("The notes start the average at the first price (v₁ = p₁) and then apply the rule day by day:")
rows = [rf"v_1 &= p_1 = {explain.number(prices[0])}"]
for t in range(2, min(n, 4) + 1):
    rows.append(rf"v_{t} &= {explain.number(beta)} \cdot {explain.operand(notes[t - 2])} + "
                rf"{explain.number(1 - beta)} \cdot {explain.operand(prices[t - 1])} "
                rf"= {explain.number(notes[t - 1])}")
st.latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")
st.caption("With β = 0.2 and the stock prices this reproduces the notes: 11.26 on day two and 10.41 on day "
           "three. Note the notes' β is the weight of the *old* average, as in Adam (β₁ = 0.9 keeps 90 %).")

# --- the averages over the prices -----------------------------------------------------------------------
st.subheader("The average over the prices")
fig = go.Figure()
fig.add_trace(go.Scatter(x=days, y=prices, mode="lines+markers", name="price p_t",
                         line=dict(color=PRICE_COLOR, width=2), marker=dict(size=10)))
fig.add_trace(go.Scatter(x=days, y=notes, mode="lines+markers", name="average started at p₁ (the notes)",
                         line=dict(color=NOTES_COLOR, width=3), marker=dict(size=8)))
fig.add_trace(go.Scatter(x=[0] + days, y=[0.0] + zero, mode="lines+markers",
                         name="average started at v₀ = 0 (as Adam's m and v)",
                         line=dict(color=ZERO_COLOR, width=3, dash="dash"),
                         marker=dict(size=8, symbol="square")))
fig.add_trace(go.Scatter(x=days, y=corrected, mode="lines+markers",
                         name="started at 0, bias-corrected (Adam's m̂)",
                         line=dict(color=CORRECTED_COLOR, width=3, dash="dot"),
                         marker=dict(size=9, symbol="diamond")))
_layout(fig, xaxis=dict(title="day t", dtick=1 if n <= 30 else None), yaxis=dict(title="value"))
st.plotly_chart(fig, key=_key("averages"), config={"displaylogo": False})

st.dataframe([{"day t": t, "price p_t": explain.plain(p), "started at p₁": explain.plain(a),
               "started at 0": explain.plain(z), "1 − βᵗ": explain.plain(1 - beta**t),
               "bias-corrected": explain.plain(c)}
              for t, p, a, z, c in zip(days, prices, notes, zero, corrected, strict=True)],
             hide_index=True, width="stretch", height=min(40 + 35 * n, 420))

# --- weights --------------------------------------------------------------------------------------------
st.subheader("How much each day counts")
day_key = _key("day")
if day_key not in st.session_state:
    st.session_state[day_key] = n
st.session_state[day_key] = min(max(int(st.session_state[day_key]), 1), n)
day = int(st.slider("Weights in the average of day", 1, n, key=day_key, persist_state="session"))
weights = explain.ewma_weights(day, beta)
missing = beta**day
labels = ["v₀ = 0"] + [f"day {k}" for k in range(1, day + 1)]
fig_w = go.Figure()
fig_w.add_trace(go.Bar(x=labels[:1], y=[missing], name="weight βᵗ left on the start v₀ = 0",
                       marker=dict(color=PRICE_COLOR), hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
fig_w.add_trace(go.Bar(x=labels[1:], y=weights, name="started at 0: weights βᵏ(1 − β)",
                       marker=dict(color=ZERO_COLOR), hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
if missing < 1.0:
    fig_w.add_trace(go.Bar(x=labels[1:], y=[w / (1 - missing) for w in weights],
                           name="bias-corrected: divided by 1 − βᵗ", marker=dict(color=CORRECTED_COLOR),
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
_layout(fig_w, barmode="group", yaxis=dict(title="weight", rangemode="tozero"))
st.plotly_chart(fig_w, key=_key("weights"), config={"displaylogo": False})
st.markdown(
    f"In the zero-started average of day {day}, the {day} prices get weights that add up to "
    f"1 − β{str(day).translate(SUPERSCRIPT)} = **{1 - missing:.4g}**; the remaining **{missing:.4g}** "
    "(grey bar) goes to the starting value v₀ = 0. Dividing by 1 − βᵗ (green) makes them add up to 1.")

# --- bias correction ------------------------------------------------------------------------------------
st.subheader("Why the early averages are too small, and Adam's fix")
st.markdown(
    "Started at v₀ = 0, the average has not yet seen enough values to fill its memory: part of its weight "
    "still sits on the invented starting value 0, so it is pulled towards zero. With β = 0.9 the first "
    "average is only a tenth of the first value, and it takes a few dozen steps before βᵗ is negligible. "
    "Adam's averages m (of gradients) and v (of squared gradients) start at zero in exactly this way, "
    "and with β₂ = 0.999 the second one would stay too small for thousands of steps — too small a v means "
    "too large a step. Kingma & Ba (2015) therefore divide by 1 − βᵗ, which rescales the weights to add up "
    "to 1: the first corrected value is the first observation itself, and the correction fades away as t "
    "grows. The notes' alternative, starting at the first value, avoids the bias too; there the first value "
    "stands in for all the history before it and keeps the weight βᵗ⁻¹ instead of (1 − β)βᵗ⁻¹.")
adam = optimizers.get("adam")
st.latex(explain.rule_latex(adam.latex))
st.caption(f"{adam.title}'s update rule (Ruder's notation): m̂ and v̂ are the bias-corrected averages. "
           f"Paper: {adam.paper}")
