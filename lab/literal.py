"""Visitor text as literal text in Streamlit's Markdown (messages, titles, captions, labels).

Every Streamlit element that shows text (``st.warning``, ``st.error``, ``st.caption``, ``st.title``, …)
renders it as Markdown: bold, links, images, LaTeX, HTML tags, ``:red[…]`` colours, ``:icon:`` emoji, and
bare ``http://…``, ``www.…`` and e-mail addresses turned into links by themselves. Whatever a visitor sent
(a URL parameter's name or value, a form field, a formula) therefore goes into that Markdown only through
this module, so a link can never put words or links in the app's mouth:

* ``code(value)``: the value in an inline code span it cannot close (the fence is longer than any run of
  backticks inside). Inside a code span nothing is Markdown, HTML, LaTeX or a link.
* ``text(message)``: a plain-text message that may quote visitor text (a parser's reason such as
  ``'abc' is not a number``). Every ASCII punctuation character is backslash-escaped, and each word that
  Streamlit would turn into a link on its own (``http://…``, ``www.…``, ``name@host``) goes into a code span
  instead, because a backslash does not stop those automatic links.

Both flatten line breaks and control characters into spaces (a blank line would end the paragraph and start
new Markdown), show invisible formatting characters (bidirectional overrides, zero-width characters) as
"\ufffd", and shorten very long text. Pure functions: no Streamlit here.
"""

from __future__ import annotations

import re
import string
import unicodedata

CODE_LIMIT = 80  # characters of a value shown in a code span
TEXT_LIMIT = 400  # characters of a message
ELLIPSIS = "…"
EMPTY = "“”"  # an empty value (a code span cannot be empty)

_PUNCTUATION = frozenset(string.punctuation)  # CommonMark: any ASCII punctuation may be backslash-escaped
_LINKISH = re.compile(r"://|www\.|@", re.IGNORECASE)  # what GFM's automatic links start from
_BACKTICKS = re.compile(r"`+")


def _clean(value, limit: int) -> str:
    """One line of visible characters, at most ``limit`` long."""
    out = []
    for ch in str(value):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):  # line breaks, tabs, NUL, …
            out.append(" ")
        elif category == "Cf":  # bidi overrides, zero-width joiners: they can make text read differently
            out.append("\ufffd")
        else:
            out.append(ch)
    cleaned = "".join(out)
    if len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 1, 0)] + ELLIPSIS
    return cleaned


def _span(content: str) -> str:
    """``content`` (already one clean line) as an inline code span that shows exactly that text."""
    if not content:
        return EMPTY
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end when both ends are spaces, and a backtick at an end would
    # join the fence: pad with one space on each side in those cases (the padding is what gets stripped).
    both_spaces = content[0] == " " and content[-1] == " " and content.strip()
    if content[0] == "`" or content[-1] == "`" or both_spaces:
        content = f" {content} "
    return f"{fence}{content}{fence}"


def code(value, limit: int = CODE_LIMIT) -> str:
    """``value`` (any object, shown as ``str(value)``) as an inline code span it cannot close."""
    return _span(_clean(value, limit))


def _escape(word: str) -> str:
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in word)


def text(message, limit: int = TEXT_LIMIT) -> str:
    """``message`` as Markdown that renders as exactly its text (no formatting, no links)."""
    cleaned = _clean(message, limit)
    parts = re.split(r"(\s+)", cleaned)
    return "".join(part if part.isspace() or not part
                   else _span(part) if _LINKISH.search(part)
                   else _escape(part)
                   for part in parts)
