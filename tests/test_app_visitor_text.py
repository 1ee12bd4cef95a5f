"""A URL can't put words or links in the app's mouth, and visitors never see internals.

Markdown and HTML payloads go through every URL parameter of every page (and the pages' free-text fields);
every text element that shows the payload must show it literally: inside a code span it cannot close, or
backslash-escaped with link-like words in code spans (``lab.literal``). ``tests.markdown_check`` reads the
Markdown source that AppTest exposes the way CommonMark does and lists any place where bold, a link, an
image, an HTML tag, LaTeX, a Streamlit directive or an automatic link could start. The Playwright test at
the end checks the rendered DOM of the issue's phishing link.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from streamlit.testing.v1 import AppTest

import optimizers
from lab import jobs, literal
from tests.markdown_check import shown, violations
from ui import race as race_ui

APP = str(Path(__file__).resolve().parent.parent / "app.py")

PHISHING = "**Your session expired.** [Log in again](http://example.invalid/login)"
PAYLOADS = {
    "phishing": PHISHING,
    "image-and-html": ("![PWNED](http://example.invalid/x.png) <b>PWNED</b><img src=x onerror=alert(1)> "
                       "<a href=x>PWNED"),
    "backticks": "`` ` ``PWNED` **PWNED** ``` _PWNED_",
    "latex": r"$\frac{PWNED}{1}$ and $$PWNED$$",
    "directives-and-blocks": (":red[PWNED] :material/home: :smile:\n\n# PWNED\n"
                              "- www.example.invalid a@example.invalid"),
    "entities": "&lt;b&gt;PWNED&lt;/b&gt; &#42;PWNED&#42; ~~PWNED~~",
}
TELLS = ("PWNED", "Your session")  # an element showing any of these shows a payload
# A formula the parser accepts whose text is Markdown emphasis (x*31337*y reads as x times 31337 times y).
ACCEPTED_FORMULA = "x *31337* y + x **2** y"

HYPERPARAMETER_KEYS = sorted(f"{p.name}_{name}" for name in optimizers.available()
                             for p in optimizers.get(name).hyperparameters)
RACE_PARAMETERS = sorted(race_ui._parsers({}))  # what ui.race reads on the Race and Custom pages
# The parameters each page reads (pages/race.py, pages/custom.py, pages/atlas.py).
PAGE_PARAMETERS = {
    "pages/race.py": ["surface", *RACE_PARAMETERS],
    "pages/custom.py": ["expr", "bounds", *RACE_PARAMETERS],
    "pages/atlas.py": ["surface", "expr", "bounds", "optimizers", "grid", "steps", "start", "view", "sens",
                       "param", "metric", "lrs", "quantity", "lr_scale", *HYPERPARAMETER_KEYS],
    "pages/explain.py": ["optimizer", "surface", "steps", "t", "start", "zoom", "lr_adam"],  # its link
    # These pages read no URL parameters: a payload under any name must simply be ignored.
    "pages/moving_averages.py": ["series", "beta", "day"],
    "pages/classics.py": ["surface", "classic"],
}
QUIET_PAGES = ("pages/moving_averages.py", "pages/classics.py")


def _atlas_parameters() -> set[str]:
    """The parameters the Atlas page parses: ``ui.atlas.url_parsers`` (or, where the page still holds its
    own table, ``parsers()`` read from the page's source: importing a page would run it)."""
    try:
        from ui import atlas as atlas_ui
    except ImportError:
        source = (Path(APP).parent / "pages" / "atlas.py").read_text()
        table = source[source.index("def parsers()"):]
        table = table[:table.index("return table")]
        return set(re.findall(r'^\s+"(\w+)":', table, flags=re.MULTILINE)) | set(HYPERPARAMETER_KEYS)
    return set(atlas_ui.url_parsers())


def test_the_parameter_lists_cover_what_the_pages_read():
    """A new parameter must reach the payload test (the race's come from ui.race itself)."""
    assert {"optimizers", "steps", "start", *HYPERPARAMETER_KEYS} <= set(RACE_PARAMETERS)
    atlas_keys = _atlas_parameters()
    assert {"surface", "expr", "grid", "lrs"} <= atlas_keys
    missing = atlas_keys - set(PAGE_PARAMETERS["pages/atlas.py"])
    assert not missing, missing


def page_app(page: str, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    if page != "pages/race.py":
        at.run()  # the Race page first: switching pages needs a run
        at.switch_page(page)
        at.query_params.clear()  # a real page switch starts with a clean query string
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


MARKDOWN_ELEMENTS = ("markdown", "caption", "title", "header", "subheader", "warning", "error", "info",
                     "success", "toast")


def shown_texts(at: AppTest) -> list[tuple[str, str]]:
    """(what, Markdown source) of every text on the page that Streamlit renders as Markdown."""
    texts = []
    for kind in MARKDOWN_ELEMENTS:
        for element in at.get(kind):
            texts.append((kind, str(element.value)))
    for element in at.exception:
        texts.append(("exception", str(element.value)))
    stack = [at._tree]
    while stack:  # widget labels, help texts, placeholders and options render Markdown too
        node = stack.pop()
        stack.extend(getattr(node, "children", {}).values())
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        for field in ("label", "help", "placeholder"):
            if field in proto.DESCRIPTOR.fields_by_name and getattr(proto, field):
                texts.append((f"{node.type}.{field}", getattr(proto, field)))
        if "options" in proto.DESCRIPTOR.fields_by_name:
            texts.extend((f"{node.type}.option", str(o)) for o in proto.options)
    return texts


def assert_literal(at: AppTest, tells=TELLS) -> list[tuple[str, str]]:
    """Every text that shows a payload shows it literally; returns those texts."""
    assert not at.exception, [e.value for e in at.exception]
    showing = [(what, text) for what, text in shown_texts(at) if any(t in text for t in tells)]
    for what, text in showing:
        assert violations(text) == [], f"{what}: {text!r}"
    return showing


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
@pytest.mark.parametrize("page", list(PAGE_PARAMETERS))
def test_payload_through_every_url_parameter_is_shown_literally(page, payload):
    value = PAYLOADS[payload]
    params = PAGE_PARAMETERS[page]
    query = {name: value for name in params}
    query[value] = "1"  # the payload as a parameter's name
    at = page_app(page, query)
    showing = assert_literal(at)
    if page in QUIET_PAGES:
        assert showing == []  # ignored, never echoed
        return
    warnings = [w.value for w in at.warning]
    for name in params:
        if page == "pages/custom.py" and name == "expr":
            continue  # the formula field itself: its parser's reason is an error below
        assert any(m.startswith(f"URL parameter {literal.code(name)}:") for m in warnings), (name, warnings)
    assert any(literal.code(value) in m for m in warnings), "the unknown parameter's name is not named"
    if page == "pages/custom.py":
        assert at.error and not violations(at.error[0].value)


def test_the_phishing_text_is_shown_as_its_own_literal_characters():
    at = page_app("pages/race.py", {"surface": PHISHING})
    assert_literal(at)
    (message,) = [w.value for w in at.warning]
    assert PHISHING in shown(message)  # the visitor reads exactly what the link said, as plain text
    assert message.startswith("URL parameter `surface`: ")


def test_an_accepted_formula_with_markdown_characters_is_literal_on_atlas_and_custom():
    at = page_app("pages/atlas.py", {"expr": ACCEPTED_FORMULA, "bounds": "-2,2,-2,2", "optimizers": "sgd",
                                     "grid": "32", "steps": "20"})
    showing = assert_literal(at, tells=("31337",))
    assert [w for w, _ in showing if w == "title"], "the title names the formula"
    assert not at.warning
    at = page_app("pages/custom.py", {"expr": ACCEPTED_FORMULA, "optimizers": "sgd", "steps": "20"})
    assert_literal(at, tells=("31337",))
    assert not at.error


@pytest.mark.parametrize("payload", ["phishing", "backticks", "directives-and-blocks"])
def test_payload_in_the_pages_text_fields_is_shown_literally(payload):
    value = PAYLOADS[payload]
    at = page_app("pages/custom.py", {})
    at.text_input(key="keep.custom.expr").set_value(value).run()
    assert_literal(at)
    assert at.error  # the parser's reason, literal
    at = page_app("pages/moving_averages.py", {})
    at.text_input(key="moving_averages.series").set_value(f"1, 2, {value}").run()
    assert [w for w, _ in assert_literal(at) if w == "warning"]
    at = page_app("pages/atlas.py", {"surface": "booth", "optimizers": "sgd", "view": "rates", "steps": "20"})
    at.text_input(key="keep.atlas.lrs").set_value(f"0.1, {value}").run()
    assert [w for w, _ in assert_literal(at) if w == "warning"]


# --- item 4: visitors never see internals ----------------------------------------------------------------
SECRET = "SECRET-internal /srv/app/lab/atlas.py line 42 <object at 0x7f>"


def _no_secret(at: AppTest) -> None:
    assert not at.exception
    for what, text in shown_texts(at):
        assert "SECRET" not in text and "MemoryError" not in text, f"{what}: {text}"


def test_a_failed_atlas_computation_shows_a_plain_message_and_logs_the_detail(monkeypatch, caplog):
    from lab import atlas

    def failing(*args, **kwargs):
        raise MemoryError(SECRET)

    monkeypatch.setattr(atlas, "basin_map", failing)
    with caplog.at_level(logging.ERROR, logger="pages.atlas"):
        at = page_app("pages/atlas.py", {"surface": "booth", "optimizers": "sgd", "grid": "32",
                                         "steps": "37"})  # steps no other test uses: not cached
    _no_secret(at)
    assert [e.value for e in at.error] == ["The computation failed. Try fewer steps or another setting."]
    logged = [r for r in caplog.records if r.name == "pages.atlas"]
    assert logged and isinstance(logged[0].exc_info[1], MemoryError)


class _FailingPool:
    """A pool whose tuning job has failed in its worker with an internal detail."""

    def warm_up(self, wait=0):
        return True

    def shared(self, owner, tasks):
        job = jobs.Job(self, owner, tasks)
        job.error = MemoryError(SECRET)
        job._finished.set()
        return job


def test_a_failed_tuning_of_a_custom_formula_logs_the_detail(monkeypatch, caplog):
    monkeypatch.setattr(jobs, "default_pool", _FailingPool)
    with caplog.at_level(logging.WARNING):
        at = page_app("pages/custom.py", {"expr": "x^2 + 3.25*y^2", "optimizers": "sgd", "steps": "20"})
    _no_secret(at)
    assert any("published defaults" in w.value for w in at.warning)
    assert any(r.exc_info and isinstance(r.exc_info[1], MemoryError) for r in caplog.records)


def _gif_script():
    import optimizers
    import surfaces
    from ui import gif_export

    def failing(*args, **kwargs):
        raise ValueError("SECRET-internal: Invalid GIF size (3, 3)")

    gif_export.race_gif = failing  # the script's own module object: AppTest runs it in this process
    surface = surfaces.get("booth")
    paths = {"sgd": optimizers.run("sgd", surface, surface.start, 5, lr=0.01)}
    gif_export.gif_download(surface, paths, key="k")


def test_a_failed_gif_shows_a_plain_message(monkeypatch):
    from ui import gif_export

    monkeypatch.setattr(gif_export, "race_gif", gif_export.race_gif)  # restored after the script patches it
    at = AppTest.from_function(_gif_script, default_timeout=120).run()
    at.session_state[gif_export.OPEN_KEY] = True  # the visitor opens the pop-over
    at.run()
    at.button(key="gif_export.make").click().run()
    _no_secret(at)
    assert [w.value for w in at.warning] == [gif_export.FAILED]


def test_a_refused_run_on_the_explain_page_shows_no_exception_text(monkeypatch):
    real = optimizers.trace
    calls = []

    def refusing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError(SECRET)
        return real(*args, **kwargs)

    monkeypatch.setattr(optimizers, "trace", refusing)
    at = page_app("pages/explain.py", {})
    _no_secret(at)
    assert any(w.value.startswith("Could not run Adam with these settings.") for w in at.warning)


# --- the rendered page ------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/atlas"])
def test_the_phishing_link_renders_no_link_and_no_emphasis(page, app_server, wait_for_app, path):
    page.goto(f"{app_server}{path}?surface={quote(PHISHING, safe='')}")
    wait_for_app(page)
    alert = page.locator("[data-testid='stAlert']", has_text="session expired")
    alert.first.wait_for(timeout=60_000)
    assert page.locator("a[href^='http://example.invalid']").count() == 0
    for tag in ("strong", "em", "b", "i"):
        assert page.locator(tag, has_text="session expired").count() == 0, tag
        assert page.locator(tag, has_text="Log in again").count() == 0, tag
    assert PHISHING in alert.first.inner_text()  # shown as its own characters
    assert page.locator("[data-testid='stException']").count() == 0
