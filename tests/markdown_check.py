"""A reader of inline Markdown for tests: what a visitor sees, and which constructs a source could make.

Streamlit renders element text with CommonMark + GFM (react-markdown, remark-gfm, remark-math) plus its own
colour/icon directives and emoji. The tests do not need a full renderer: ``lab.literal`` flattens text to
one line, so only inline Markdown matters. ``segments`` splits a source into code spans and text exactly as
CommonMark does (a backtick run opens a span that only a run of the same length closes; backslash escapes
work outside code spans only), and ``violations`` lists every place outside code spans where Markdown, HTML,
LaTeX, a directive or an automatic link could start.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple

PUNCTUATION = frozenset(string.punctuation)
ACTIVE = frozenset("*_[]<>$`!~|&#")  # characters that start inline constructs when not escaped
AUTOLINK = re.compile(r"://|www\.|@", re.IGNORECASE)  # escapes do not stop GFM's automatic links


class Segment(NamedTuple):
    kind: str  # "code" or "text"
    shown: str  # the characters the visitor sees
    escaped: tuple[bool, ...] = ()  # text only: whether each shown character was backslash-escaped


def segments(source: str) -> list[Segment]:
    out: list[Segment] = []
    chars: list[str] = []
    flags: list[bool] = []

    def flush() -> None:
        if chars:
            out.append(Segment("text", "".join(chars), tuple(flags)))
            chars.clear()
            flags.clear()

    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in PUNCTUATION:
            chars.append(source[i + 1])
            flags.append(True)
            i += 2
            continue
        if ch == "`":
            j = i
            while j < n and source[j] == "`":
                j += 1
            run = j - i
            k = j
            close = -1
            while k < n:
                if source[k] == "`":
                    m = k
                    while m < n and source[m] == "`":
                        m += 1
                    if m - k == run:
                        close = k
                        break
                    k = m
                else:
                    k += 1
            if close < 0:  # no closing run: the backticks are literal text
                chars.extend("`" * run)
                flags.extend([False] * run)
                i = j
                continue
            flush()
            content = source[j:close].replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
            if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip(" "):
                content = content[1:-1]
            out.append(Segment("code", content))
            i = close + run
            continue
        chars.append(ch)
        flags.append(False)
        i += 1
    flush()
    return out


def shown(source: str) -> str:
    """The text a visitor reads (code spans and text alike)."""
    return "".join(s.shown for s in segments(source))


def violations(source: str) -> list[str]:
    """Where Markdown, HTML, LaTeX, a Streamlit directive or an automatic link could start outside code."""
    found = []
    if "\n" in source or "\r" in source:
        found.append("a line break (block Markdown: headings, lists, quotes, new paragraphs)")
    for seg in segments(source):
        if seg.kind != "text":
            continue
        for k, (ch, escaped) in enumerate(zip(seg.shown, seg.escaped, strict=True)):
            if escaped:
                continue
            if ch in ACTIVE:
                found.append(f"unescaped {ch!r} in {seg.shown!r}")
            elif ch == ":" and k + 1 < len(seg.shown) and seg.shown[k + 1].isalpha():
                found.append(f"a directive or emoji ':{seg.shown[k + 1]}…' in {seg.shown!r}")
        if AUTOLINK.search(seg.shown):
            found.append(f"an automatic link in {seg.shown!r}")
    return found
