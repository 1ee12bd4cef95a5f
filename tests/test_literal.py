"""lab.literal: visitor text shows as exactly its text, and can start no Markdown, HTML, LaTeX or link."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab import literal
from tests.markdown_check import segments, shown, violations

PHISHING = "**Your session expired.** [Log in again](http://example.invalid/login)"
PAYLOADS = [
    PHISHING,
    "![img](http://example.invalid/x.png)",
    "<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)>",
    "`` ` ``closes`the span` **after**",
    "```",
    "` leading and trailing `",
    "$x^2$ and $$\\frac{1}{0}$$",
    ":red[red] :material/home: :smile:",
    "www.example.invalid and mail@example.invalid and HTTPS://EXAMPLE.INVALID",
    "line\n\n# heading\n- list\n> quote",
    "&lt;b&gt; &#42;not bold&#42;",
    "~~struck~~ | a | b |",
    "a\u202eevil\u200b",
    "\\*escaped\\* \\",
]


def _clean(text: str) -> str:
    return literal._clean(text, 10_000)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_is_one_code_span_showing_exactly_the_value(payload):
    source = literal.code(payload, limit=10_000)
    parts = segments(source)
    assert [p.kind for p in parts] == ["code"], source
    assert parts[0].shown == _clean(payload)
    assert violations(source) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_shows_exactly_the_message_and_starts_nothing(payload):
    source = literal.text(f"'{payload}' is not a number", limit=10_000)
    assert shown(source) == _clean(f"'{payload}' is not a number")
    assert violations(source) == [], source


def test_the_phishing_value_in_a_message():
    source = literal.text(f"'{PHISHING}' is not one of beale, six_hump_camel")
    assert "**Your" not in source
    assert r"\*\*Your session expired\.\*\*" in source
    # The word that Streamlit would link by itself sits in a code span.
    assert "`again](http://example.invalid/login)'`" in source
    assert r"six\_hump\_camel" in source


def test_code_fence_outgrows_the_backticks_inside():
    assert literal.code("surface") == "`surface`"
    assert literal.code("a`b") == "``a`b``"
    assert literal.code("``x") == "``` ``x ```"
    assert literal.code(" padded ") == "`  padded  `"
    assert literal.code("   ") == "`   `"
    assert literal.code("") == literal.EMPTY


def test_control_and_invisible_characters_are_flattened_and_long_text_shortened():
    assert literal.code("a\nb\tc\u2028d") == "`a b c d`"
    assert literal.code("x\u202ey") == "`x\ufffdy`"
    long = literal.code("x" * 500)
    assert len(long) == literal.CODE_LIMIT + 2 and long.endswith("…`")
    assert len(literal.text("y" * 5000)) == literal.TEXT_LIMIT
    assert literal.text("plain words stay plain") == "plain words stay plain"
    assert literal.code(3.5) == "`3.5`"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("`*_[]()<>!$:\\ \n\t#&~|@.w/abc\u202e"), max_size=40))
def test_any_text_round_trips(value):
    source = literal.code(value, limit=10_000)
    assert [s.kind for s in segments(source)] in (["code"], ["text"])  # ["text"]: the empty value
    assert shown(source) == (_clean(value) or literal.EMPTY)
    assert violations(source) == []
    message = literal.text(value, limit=10_000)
    assert shown(message) == _clean(value)
    assert violations(message) == []
