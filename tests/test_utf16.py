"""Windows counts text fields in UTF-16 code units: `utf16_len`, `cut_utf16`, and the tray's
tooltip, with emoji and other characters beyond U+FFFF (two units each) at the boundary."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_menu import NOW, view_of
from tray_app.core.levels import Level
from tray_app.core.plaintext import ELLIPSIS, cut_utf16, utf16_len
from tray_app.core.prefs import Prefs
from tray_app.demo import summary
from tray_app.menu import TOOLTIP_LIMIT, build

FIRE = "\U0001F525"  # 🔥, two units
FRAKTUR_U = "\U0001D518"  # 𝔘, mathematical fraktur: astral, two units
CJK_B = "\U0002000B"  # 𠀋, CJK extension B: astral, two units
FLAG = "\U0001F1EB\U0001F1F7"  # 🇫🇷: two regional indicators, four units


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é€✓", 3), (FIRE, 2), (FRAKTUR_U + CJK_B, 4), (FLAG, 4),
     ("a" + FIRE + "b", 4)],
)
def test_utf16_len_counts_code_units(text: str, units: int) -> None:
    assert utf16_len(text) == units == len(text.encode("utf-16-le")) // 2


CUTS = [
    # (id, text, limit, expected)
    ("fits", "abc", 3, "abc"),
    ("one-over", "abcd", 3, "ab…"),
    ("emoji-fits-exactly", "ab" + FIRE, 4, "ab" + FIRE),
    ("emoji-straddles-the-ellipsis", "ab" + FIRE + "cd", 4, "ab…"),
    ("emoji-just-fits-before-ellipsis", "ab" + FIRE + "cd", 5, "ab" + FIRE + "…"),
    ("all-emoji-odd-limit", FIRE * 3, 4, FIRE + "…"),
    ("astral-letters", FRAKTUR_U * 10, 8, FRAKTUR_U * 3 + "…"),
    ("cjk-ext-b", CJK_B * 5 + "x", 6, CJK_B * 2 + "…"),
    ("space-before-cut-dropped", "ab cd", 4, "ab…"),
    ("limit-one", "abc", 1, "…"),
    ("limit-zero", "abc", 0, ""),
]


@pytest.mark.parametrize(("text", "limit", "expected"), [c[1:] for c in CUTS],
                         ids=[c[0] for c in CUTS])
def test_cut_utf16(text: str, limit: int, expected: str) -> None:
    assert cut_utf16(text, limit) == expected


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))), st.integers(1, 300))
def test_a_cut_fits_and_never_splits_a_pair(text: str, limit: int) -> None:
    cut = cut_utf16(text, limit)
    assert utf16_len(cut) <= limit
    cut.encode("utf-16-le")  # strict: half a surrogate pair would raise
    if utf16_len(text) <= limit:
        assert cut == text
    else:
        assert cut.endswith(ELLIPSIS) and text.startswith(cut[:-1])


def test_an_emoji_heavy_tooltip_fits_windows_in_utf16_units() -> None:
    # The headline is the page's own text: make it emoji all the way.
    doc = summary(Level.MAJOR_OUTAGE, name=FIRE * 70)
    tip = build((view_of(doc, name=FIRE * 70),), Prefs(), NOW).tooltip
    assert len(tip) <= TOOLTIP_LIMIT < utf16_len(FIRE * 70)
    assert utf16_len(tip) <= TOOLTIP_LIMIT
    tip.encode("utf-16-le")
    stamp = time.strftime("%H:%M", time.localtime(NOW - 90))
    assert tip.splitlines()[-1] == f"checked {stamp}", "the check time survives the cut"
    assert tip.startswith(FIRE) and ELLIPSIS in tip
