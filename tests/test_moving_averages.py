"""Moving averages: the reference notes' worked example, Adam's bias correction, and the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from lab import explain

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PRICES = explain.STOCK_PRICES
betas = st.floats(min_value=0.0, max_value=0.99)
series = st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=30)


def test_the_notes_worked_example():
    # p = [12.30, 11.00, 10.20, 10.50, 11.10], β = 0.2, starting at the first price:
    # v2 = 0.2 × 12.30 + 0.8 × 11 = 11.26, v3 = 0.2 × 11.26 + 0.8 × 10.20 = 10.41 (10.412).
    assert PRICES == (12.30, 11.00, 10.20, 10.50, 11.10)
    v = explain.ewma(PRICES, explain.NOTES_BETA, start="first")
    assert v[0] == 12.30
    assert v[1] == pytest.approx(11.26, abs=1e-12)
    assert v[2] == pytest.approx(10.412, abs=1e-12)
    assert round(v[2], 2) == 10.41
    # The notes' plain five-day average, for comparison: 11.02.
    assert sum(PRICES) / 5 == pytest.approx(11.02)


@pytest.mark.parametrize("beta", [0.0, 0.2, 0.5, 0.9, 0.999])
def test_bias_corrected_first_value_is_the_first_price(beta):
    corrected = explain.bias_corrected(PRICES, beta)
    assert corrected[0] == pytest.approx(PRICES[0], rel=1e-14)
    zero = explain.ewma(PRICES, beta, start="zero")
    assert zero[0] == pytest.approx((1 - beta) * PRICES[0])  # too small unless β = 0


@given(series, betas)
def test_zero_start_is_the_weighted_sum_and_correction_normalises_the_weights(values, beta):
    zero = explain.ewma(values, beta, start="zero")
    corrected = explain.bias_corrected(values, beta)
    scale = max(1.0, max(abs(v) for v in values))
    for t in range(1, len(values) + 1):
        weights = explain.ewma_weights(t, beta)
        assert sum(weights) == pytest.approx(1 - beta**t, abs=1e-12)
        weighted = sum(w * p for w, p in zip(weights, values[:t], strict=True))
        assert zero[t - 1] == pytest.approx(weighted, abs=1e-9 * scale)
        assert corrected[t - 1] == pytest.approx(weighted / sum(weights), abs=1e-9 * scale)


def test_constant_series_is_its_own_corrected_average():
    corrected = explain.bias_corrected([5.0] * 50, 0.9)
    assert corrected == pytest.approx([5.0] * 50)
    assert explain.ewma([5.0] * 50, 0.9, start="first") == pytest.approx([5.0] * 50)


@pytest.mark.parametrize("beta", [-0.1, 1.0, float("nan")])
def test_invalid_beta_is_refused(beta):
    with pytest.raises(ValueError, match="beta"):
        explain.ewma(PRICES, beta)


@pytest.mark.parametrize(("text", "expected"), [
    ("12.30, 11.00, 10.20", [12.3, 11.0, 10.2]), ("1;2; 3", [1.0, 2.0, 3.0]), (" -1 , 2e3 ,", [-1.0, 2000.0]),
])
def test_parse_series(text, expected):
    assert explain.parse_series(text) == expected


@pytest.mark.parametrize("text", ["", "5", "1, two", "1, nan", "1, inf", "1e300, 1", ",".join(["1"] * 201)])
def test_parse_series_refuses_bad_input(text):
    with pytest.raises(ValueError):
        explain.parse_series(text)


# --- the page ---------------------------------------------------------------------------------------------
def moving_averages_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/moving_averages.py")
    return at.run()


def _column(at: AppTest, name: str) -> list:
    return list(at.dataframe[0].value[name])


def test_page_reproduces_the_notes_and_reacts_to_beta():
    at = moving_averages_app()
    assert not at.exception
    assert not at.warning
    assert _column(at, "started at p₁")[:3] == ["12.3", "11.26", "10.412"]
    assert _column(at, "bias-corrected")[0] == "12.3"
    assert any("11.26" in element.value for element in at.latex)
    at.button(key="moving_averages.beta.0.9").click().run()
    assert not at.exception
    assert at.session_state["moving_averages.beta"] == 0.9
    assert _column(at, "started at 0")[0] == explain.plain(0.1 * 12.3)
    assert _column(at, "bias-corrected")[0] == "12.3"
    at.slider(key="moving_averages.day").set_value(1).run()
    assert not at.exception


@pytest.mark.parametrize("text", ["1, two, 3", "", "7"])
def test_bad_series_warns_and_falls_back_to_the_prices(text):
    at = moving_averages_app()
    at.text_input(key="moving_averages.series").input(text).run()
    assert not at.exception
    assert len(at.warning) == 1
    assert _column(at, "price p_t") == [explain.plain(p) for p in PRICES]


def test_own_series_is_used():
    at = moving_averages_app()
    at.text_input(key="moving_averages.series").input("1, 2, 3, 4, 5, 6, 7, 8").run()
    assert not at.exception and not at.warning
    assert _column(at, "price p_t") == [str(k) for k in range(1, 9)]
    at.button(key="moving_averages.reset").click().run()
    assert _column(at, "price p_t") == [explain.plain(p) for p in PRICES]
