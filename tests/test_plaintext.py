"""Table-driven tests for tray_app.core.plaintext.clean."""

from __future__ import annotations

import unicodedata

import pytest

from tray_app.core.plaintext import BODY_LIMIT, ELLIPSIS, TITLE_LIMIT, clean

CASES = [
    # markup
    ("bold", "<b>Claude</b> is up", "Claude is up"),
    ("nested-inline", "<p><strong>Major</strong> <em>outage</em></p>", "Major outage"),
    ("block-tags-separate-words", "one<br>two<p>three</p><div>four</div>", "one two three four"),
    ("self-closing", "a<br/>b<hr />c", "a b c"),
    ("link-with-quoted-gt", "<a href=\"x?a>b\" title='c>d'>status</a> page", "status page"),
    ("script-dropped", "<script>alert('x')</script>ok", "ok"),
    ("style-dropped", "<STYLE type='text/css'>b{color:red}</style >ok", "ok"),
    ("unclosed-script-runs-to-end", "kept<script>alert(1)", "kept"),
    ("comment", "a<!-- <b>hidden</b> -->b", "a b"),
    ("pango-span", '<span foreground="red">red</span>', "red"),
    # entities, then look-alikes for what markup would interpret
    ("amp", "Opus &amp; Sonnet", "Opus + Sonnet"),
    ("numeric-entities", "it&#39;s &#x22;fine&#x22;", 'it\'s "fine"'),
    ("escaped-tag-visible", "&lt;b&gt;not bold&lt;/b&gt;", "\u2039b\u203anot bold\u2039/b\u203a"),
    ("bare-lt-gt", "latency < 5 s > 2 s", "latency \u2039 5 s \u203a 2 s"),
    ("bare-amp", "AT&T", "AT+T"),
    ("double-escaped", "&amp;lt;", "+lt;"),
    ("nbsp-entity", "a&nbsp;b", "a b"),
    # control characters
    ("c0", "a\x00b\x07c\x1bd", "abcd"),
    ("del-and-c1", "a\x7fb\x80c\x9fd", "abcd"),
    ("newlines-and-tabs", "line1\r\n\tline2\x0bline3\x0cline4", "line1 line2 line3 line4"),
    ("nel-and-line-separator", "a\x85b\u2028c\u2029d", "a b c d"),
    ("control-from-entity", "a&#7;b&#x1b;c", "abc"),
    # bidi and other format characters
    ("rlo-override", "safe\u202eexe.txt", "safeexe.txt"),
    ("embeddings", "\u202aa\u202bb\u202cc\u202dd", "abcd"),
    ("isolates", "\u2066a\u2067b\u2068c\u2069", "abc"),
    ("marks-and-zero-width", "a\u200bb\u200cc\u200dd\u200ee\u200ff", "abcdef"),
    ("bom-and-soft-hyphen", "\ufeffsoft\u00adhyphen", "softhyphen"),
    ("bidi-from-entity", "x&#x202E;y", "xy"),
    ("lone-surrogate", "a\ud800b", "ab"),
    # whitespace
    ("folded-and-trimmed", "  many   spaces \n\n here  ", "many spaces here"),
    ("only-markup", "<br><p> </p>", ""),
    ("empty", "", ""),
    # kept as is
    ("unicode-text", "Größe: 5 € — ok ✓", "Größe: 5 € — ok ✓"),
    ("quotes", 'Claude\'s "status"', 'Claude\'s "status"'),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_clean(text: str, expected: str) -> None:
    assert clean(text, 200) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abcde", 5, "abcde"),
        ("abcdef", 5, "abcd" + ELLIPSIS),
        ("abcdef", 1, ELLIPSIS),
        ("abcdef", 0, ""),
        ("abcdef", -3, ""),
        ("abc de", 5, "abc" + ELLIPSIS),  # no space before the ellipsis
        ("<b>abcde</b>", 5, "abcde"),  # the limit counts the clean text, not the markup
        ("a  b  c", 5, "a b c"),  # folded before capping
    ],
    ids=[
        "at-limit",
        "one-over",
        "limit-1",
        "limit-0",
        "negative",
        "trailing-space",
        "markup-not-counted",
        "folded-first",
    ],
)
def test_cap(text: str, limit: int, expected: str) -> None:
    result = clean(text, limit)
    assert result == expected
    assert len(result) <= max(limit, 0)


@pytest.mark.parametrize("limit", [TITLE_LIMIT, BODY_LIMIT])
def test_cap_exactly_at_limits(limit: int) -> None:
    assert clean("x" * limit, limit) == "x" * limit
    capped = clean("x" * (limit + 1), limit)
    assert len(capped) == limit
    assert capped.endswith(ELLIPSIS)


@pytest.mark.parametrize(
    "value",
    [None, 42, 3.5, b"<b>bytes</b>", ["list"], {"a": 1}, object()],
    ids=["none", "int", "float", "bytes", "list", "dict", "object"],
)
def test_non_str_gives_empty(value: object) -> None:
    assert clean(value, 64) == ""


def test_limits() -> None:
    assert (TITLE_LIMIT, BODY_LIMIT) == (64, 256)


def test_result_is_always_safe() -> None:
    every_char = "".join(chr(c) for c in range(0x3000)) + "\ufeff\ufff9\U000e0001"
    result = clean(every_char, 100_000)
    assert not set(result) & set("<>&")
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs") for ch in result)
    assert "  " not in result
    assert result == result.strip()


def test_huge_input_is_quick() -> None:
    import time

    start = time.perf_counter()
    for evil in ("<script>" * 20_000, '<a "' * 30_000, "<!--" * 30_000, "&#" * 50_000):
        assert len(clean(evil, BODY_LIMIT)) <= BODY_LIMIT
    assert time.perf_counter() - start < 2.0
