"""The "Optimizers explained" page: the filled-in numbers are the core's own step, and the page works."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from lab import explain, presets

APP = str(Path(__file__).resolve().parent.parent / "app.py")
STEPS = 25
# (surface, run options): plain runs, and one with schedules and gradient noise (scheduled lr and γ)
CASES = [
    ("beale", {}),
    ("ravine", {}),
    ("saddle", {}),
    ("two_minima", {"lr_schedule": "step", "decay_steps": 5, "noise": 0.3, "seed": 7}),
]


def _line(lines, symbol):
    found = [line for line in lines if line.symbol == symbol]
    assert len(found) == 1, f"expected one line {symbol!r}, found {len(found)}"
    return found[0]


def test_every_optimizer_has_a_rule_family():
    assert set(explain.FAMILIES) == set(optimizers.available())


@pytest.mark.parametrize("name", optimizers.available())
@pytest.mark.parametrize(("surface_name", "options"), CASES)
def test_filled_in_numbers_equal_the_cores_step(name, surface_name, options):
    surface = surfaces.get(surface_name)
    if "momentum" in optimizers.defaults(name) and options:
        options = {**options, "momentum_schedule": "rising"}
    records = optimizers.trace(name, surface, surface.start, STEPS, **options)
    assert records, "the trace is empty"
    path = optimizers.run(name, surface, surface.start, STEPS, **options)
    if path.diverged_at is not None:  # the run stops there (|θ| or |f| too large); so does the page
        records = records[:path.diverged_at - 1]
    for record in records:
        lines = explain.explain_step(name, record)
        # Every written-out formula, evaluated from the numbers on earlier lines, gives the line's value
        # bit for bit (the same operations as optimizers.rules).
        for line in lines:
            if line.computed is not None:
                assert line.computed == line.values, (record.t, line.label)
            assert len(line.filled) == 2 and all(line.filled)
        assert _line(lines, r"\theta_t").values == record.theta
        assert _line(lines, "g_t").values == record.gradient
        assert _line(lines, r"\Delta\theta_t").values == record.delta
        theta_next = _line(lines, r"\theta_{t+1}").values
        assert theta_next == record.theta_next
        assert theta_next == tuple(path.points[record.t].tolist())  # exactly the run's point
        effective = _line(lines, r"\eta_{\text{eff}}").values
        for d, g, e in zip(record.delta, record.gradient, effective, strict=True):
            assert e == (None if g == 0.0 else -d / g)
        # Every accumulator of the rule's state appears, with the core's value after the step.
        sx, sy = record.state_after
        shown = [line.values for line in lines]
        for field in type(sx)._fields:
            assert (getattr(sx, field), getattr(sy, field)) in shown, (record.t, field)


@pytest.mark.parametrize("name", optimizers.available())
def test_gradient_is_taken_where_the_rule_says(name):
    surface = surfaces.get("ravine")
    for record in optimizers.trace(name, surface, surface.start, 5):
        lines = explain.explain_step(name, record)
        g = _line(lines, "g_t").values
        assert g == surface.scalar_gradient(*record.lookahead)
        if name == "nag":
            look = _line(lines, r"\tilde\theta_t")
            gamma = record.hyperparameters["momentum"]
            assert look.values == tuple(th - gamma * v.v for th, v in zip(record.theta, record.state_before,
                                                                        strict=True))
            assert look.values != record.theta or record.t == 1
        else:
            assert record.lookahead == record.theta


def test_adam_bias_correction_and_a_hand_computed_first_step():
    # Ravine f = x²/20 + 5y² from (-9, 2): g = (-0.9, 20); Adam's first step is -η·sign(g) (up to ε).
    surface = surfaces.get("ravine")
    record = optimizers.trace("adam", surface, (-9.0, 2.0), 1, lr=0.01)[0]
    lines = explain.explain_step("adam", record)
    assert _line(lines, "g_t").values == (-0.9, 20.0)
    m_hat = _line(lines, r"\hat m_t").values
    v_hat = _line(lines, r"\hat v_t").values
    assert m_hat == pytest.approx((-0.9, 20.0))
    assert v_hat == pytest.approx((0.81, 400.0))
    assert _line(lines, r"\Delta\theta_t").values == pytest.approx((0.01, -0.01))
    assert "0.9 \\cdot 0 + 0.1 \\cdot \\left(-0.9\\right) = -0.09" in _line(lines, "m_t").filled[0]


def test_unknown_optimizer_is_refused():
    surface = surfaces.get("ravine")
    record = optimizers.trace("sgd", surface, surface.start, 1)[0]
    with pytest.raises(ValueError, match="Unknown optimizer"):
        explain.explain_step("lbfgs", record)


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (0.01234, "0.01234"), (-2.5, "-2.5"), (1e-8, r"1 \times 10^{-8}"),
    (123456.0, r"1.235 \times 10^{5}"), (None, r"\text{—}"), (float("inf"), r"\infty"),
])
def test_number_formatting(value, text):
    assert explain.number(value) == text


@pytest.mark.parametrize("name", optimizers.available())
def test_rule_latex_keeps_every_row_of_the_table(name):
    latex = optimizers.get(name).latex
    block = explain.rule_latex(latex)
    assert block.startswith(r"\begin{aligned}") and block.endswith(r"\end{aligned}")
    assert block.count(r"\\") == latex.count(r"\\")
    assert block.count("&") == latex.count(r"\\") + 1


# --- the page ---------------------------------------------------------------------------------------------
def explain_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/explain.py")
    return at.run()


def _latex_text(at: AppTest) -> list[str]:
    return [element.value for element in at.latex]


def test_page_shows_every_optimizer_without_exception():
    at = explain_app()
    assert not at.exception
    assert not at.warning
    for name in optimizers.available():
        at.session_state["keep.explain.optimizer"] = name
        at.run()
        assert not at.exception, name
        assert not at.warning, name
        opt = optimizers.get(name)
        texts = _latex_text(at)
        assert any(explain.rule_latex(opt.latex) in text for text in texts), name
        assert any(opt.torch_note in m.value for m in at.markdown), name


def test_step_slider_changes_the_numbers_and_matches_the_run():
    at = explain_app()
    at.session_state["keep.explain.optimizer"] = "nag"
    at.run()
    before = _latex_text(at)
    at.slider(key="keep.explain.t").set_value(5).run()
    assert not at.exception
    after = _latex_text(at)
    assert before != after
    # The θ_{t+1} shown for step 5 is the run's 5th point.
    surface = surfaces.get(at.session_state["keep.explain.surface"])
    lr = at.session_state[f"keep.explain.hp.{surface.name}.nag.lr"]
    point = optimizers.run("nag", surface, surface.start, 5, lr=lr).points[5]
    assert any(f"= {explain.number(float(point[0]))}" in text and r"\theta_{t+1}" in text for text in after)
    at.button(key="keep.explain.next").click().run()
    assert at.session_state["keep.explain.t"] == 6
    assert not at.exception


def test_diverging_settings_warn_instead_of_failing():
    at = explain_app()
    at.session_state["keep.explain.optimizer"] = "sgd"
    at.session_state["keep.explain.surface"] = "beale"
    at.session_state["keep.explain.hp.beale.sgd.lr"] = 10.0
    at.run()
    assert not at.exception
    assert at.warning or at.info


# --- the explainer's URL, its one-line takeaway, refused values (issue 18) ----------------------------------
def explain_link(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/explain.py")
    at.query_params.clear()
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _query(at: AppTest) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in
            ((k, at.query_params[k]) for k in at.query_params)}


def test_every_setting_of_the_explainer_is_in_its_url_and_a_link_reproduces_it():
    from lab import urlstate

    query = urlstate.explain_params("adam", "saddle", 200, (1.0, 0.001),
                                    {"lr": 0.1, "beta1": 0.8, "lr_schedule": "cosine"}, t=12)
    at = explain_link(**query)
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    state = at.session_state
    assert state["keep.explain.optimizer"] == "adam" and state["keep.explain.surface"] == "saddle"
    assert state["keep.explain.t"] == 12 and state["keep.explain.steps"] == 200
    assert state["keep.explain.hp.saddle.adam.lr"] == 0.1
    assert state["keep.explain.hp.saddle.adam.beta1"] == 0.8
    assert _query(at) == query  # written back unchanged: the page is its own link
    surface = surfaces.get("saddle")
    run = optimizers.run("adam", surface, (1.0, 0.001), 200, lr=0.1, beta1=0.8, lr_schedule="cosine")
    point = run.points[12]
    assert any(f"= {explain.number(float(point[1]))}" in text and r"\theta_{t+1}" in text
               for text in _latex_text(at))
    # Moving the step moves the URL.
    at.button(key="keep.explain.next").click().run()
    assert _query(at)["t"] == "13"


def test_each_step_ends_with_one_plain_sentence_of_what_the_numbers_show():
    at = explain_link(optimizer="adam", surface="saddle", start="1,0.001", lr_adam="0.1", t="1")
    (sentence,) = [i.value for i in at.info if "effective learning rate" in i.value]
    sgd = presets.surface_presets("saddle")["sgd"]["lr"]
    assert "Along y, the flatter direction" in sentence and f"SGD's η = {sgd:g}" in sentence
    at = explain_link(optimizer="sgd", surface="saddle", start="1,0.001", t="1")
    assert any("flat directions stay slow" in i.value for i in at.info)


@pytest.mark.parametrize(("name", "surface_name"), [("adam", "saddle"), ("momentum", "beale"),
                                                     ("newton", "saddle"), ("sgd", "rosenbrock")])
def test_takeaway_numbers_are_the_steps_own(name, surface_name):
    surface = surfaces.get(surface_name)
    hyper = presets.surface_presets(surface_name)[name]
    for record in optimizers.trace(name, surface, surface.start, 5, **hyper):
        sentence = explain.takeaway(name, record, 0.01)
        assert sentence.endswith(".") and sentence.count(". ") == 0, sentence
        g = record.gradient
        flat = min((i for i in (0, 1) if g[i] != 0), key=lambda i: abs(g[i]))
        assert explain.plain(abs(g[flat]), 3) in sentence


def test_a_refused_value_says_why_next_to_its_field_and_the_old_value_stays():
    at = explain_link(optimizer="adam", surface="saddle", lr_adam="0.1", t="3")
    before = _latex_text(at)
    at.number_input(key="keep.explain.hp.saddle.adam.lr").set_value(1e6).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error == "1e6 is refused: this page takes a learning rate from 1e-05 to 10. Using 0.1."
    assert _latex_text(at) == before  # the explanation keeps the last accepted value
    at.number_input(key="keep.explain.start.saddle.x").set_value(-2e6).run()
    assert any("a start must lie within" in e.value for e in at.error)
