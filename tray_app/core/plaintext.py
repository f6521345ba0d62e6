"""Turn untrusted network text into plain text that is safe to show in a notification,
a tooltip or a menu.

Status pages are someone else's server: their text may carry HTML, entities, control
characters, bidi overrides that reorder what the user reads, or simply be far too long.
Notification daemons (dunst, GNOME Shell, KDE) parse the body as a subset of HTML/Pango
markup, and plyer's Flatpak portal path even builds a GVariant string from it, so nothing
that looks like markup may reach them.

`clean` does, in order:

1. drops ``<script>``/``<style>`` elements and ``<!-- comments -->``, then every tag
   (``<b>``, ``</a>``, ``<br/>``...): inline tags vanish, other tags become a space so that
   ``one<br>two`` reads ``one two``;
2. unescapes HTML entities (``&amp;`` -> ``&``, ``&#x27;`` -> ``'``);
3. replaces what is left of the three markup characters with look-alikes that no daemon
   interprets: ``<`` -> ``‹`` (U+2039), ``>`` -> ``›`` (U+203A), ``&`` -> ``+``.
   The angle quotes are in every common UI font (WGL4), so they never show as boxes; a
   full-width ampersand would, on a Linux box with only DejaVu fonts, hence ``+``;
4. removes control characters (C0, DEL, C1), format characters (Unicode category Cf:
   zero-width spaces and joiners, bidi marks, embeddings, overrides and isolates, BOM,
   soft hyphen...) and lone surrogates, and turns every kind of whitespace (tab, newline,
   NEL, U+2028...) into a space;
5. folds whitespace runs to one space and trims;
6. caps the result at ``limit`` characters: when it has to cut, it keeps ``limit - 1``
   characters and appends ``…``, so the result, ellipsis included, is at most ``limit``.

Anything that is not a ``str`` gives ``""``.

Windows counts its text fields (balloon title and body, tooltip) in UTF-16 code units, where
an emoji or any other character beyond U+FFFF takes two. `utf16_len` counts them, and
`cut_utf16` fits a text into such a field: whole characters only (never half of a surrogate
pair), with the ellipsis inside the limit.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["BODY_LIMIT", "ELLIPSIS", "TITLE_LIMIT", "clean", "cut_utf16", "utf16_len"]

TITLE_LIMIT = 64
BODY_LIMIT = 256
ELLIPSIS = "…"

# Work on a bounded prefix: a status page is not allowed to make us chew megabytes.
_MAX_INPUT = 100_000

_INVISIBLE_OPEN = re.compile(r"<(script|style)\b", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# A tag starts with a letter, "/", "!" or "?" right after "<", so "a < b" is left alone
# (and then made harmless by the look-alike replacement).
# Possessive quantifiers: a hostile "<aaaa…" must not backtrack (quadratic time).
_TAG = re.compile(
    r"""</?([A-Za-z][\w:.-]*+)(?:[^<>"']|"[^"]*+"|'[^']*+')*+>|<[!?][^<>]*+>"""
)
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data del dfn em font i ins kbd mark q s samp small span "
    "strike strong sub sup time tt u var wbr".split()
)
_LOOKALIKES = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "+"})
# Categories removed outright: control, format, surrogate.
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def clean(text: object, limit: int) -> str:
    """Return ``text`` as safe, single-line plain text of at most ``limit`` characters."""
    if not isinstance(text, str) or limit <= 0:
        return ""
    # Far more than fits the limit is never shown: don't spend time on it.
    plain = html.unescape(_strip_tags(text[: min(_MAX_INPUT, 8 * limit + 1024)]))
    plain = _drop_invisible(plain.translate(_LOOKALIKES))
    return _cap(" ".join(plain.split()), limit)


def _strip_tags(text: str) -> str:
    text = _COMMENT.sub(" ", _drop_invisible_elements(text))
    return _TAG.sub(_tag_replacement, text)


def _drop_invisible_elements(text: str) -> str:
    """Drop ``<script>``/``<style>`` elements; an unclosed one runs to the end (linear time)."""
    lowered = text.lower()
    kept: list[str] = []
    pos = 0
    while (start := _INVISIBLE_OPEN.search(text, pos)) is not None:
        kept.append(text[pos : start.start()])
        closing = lowered.find("</" + start.group(1).lower(), start.end())
        end = lowered.find(">", closing) if closing >= 0 else -1
        if end < 0:
            return " ".join(kept)
        kept.append(" ")
        pos = end + 1
    kept.append(text[pos:])
    return "".join(kept)


def _tag_replacement(match: re.Match[str]) -> str:
    name = match.group(1)
    return "" if name is not None and name.lower() in _INLINE_TAGS else " "


def _drop_invisible(text: str) -> str:
    return "".join(_visible(ch) for ch in text)


def _visible(ch: str) -> str:
    if ch.isspace():
        return " "
    if unicodedata.category(ch) in _REMOVED_CATEGORIES:
        return ""
    return ch


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def utf16_len(text: str) -> int:
    """How many UTF-16 code units ``text`` takes (two for each character beyond U+FFFF)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def cut_utf16(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-16 code units.

    Left whole when it fits; otherwise cut at a character boundary, trailing spaces dropped,
    and ``…`` (one unit) appended, so the result, ellipsis included, fits ``limit``.
    """
    if utf16_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    room = limit - 1  # the ellipsis takes one unit
    kept = 0  # characters kept
    for ch in text:
        room -= 2 if ord(ch) > 0xFFFF else 1
        if room < 0:
            break
        kept += 1
    return text[:kept].rstrip() + ELLIPSIS
