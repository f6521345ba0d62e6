"""The history chart: a PNG timeline, one row per service, a coloured bar per episode."""

from __future__ import annotations

import io

from PIL import Image

from tray_app.chart import LABEL, MARGIN, ROW, WIDTH, draw_history
from tray_app.core.levels import Level
from tray_app.history import Episode
from tray_app.icons import level_colour

NOW = 1_800_000_000.0
DAY = 86400.0
LEFT, RIGHT = MARGIN + LABEL, WIDTH - MARGIN
TOP = MARGIN + 30


def colour_at(img: Image.Image, when: float, row: int = 0, days: int = 7) -> tuple[int, ...]:
    """The colour drawn for the moment ``when`` in a service's row."""
    x = LEFT + (RIGHT - LEFT) * (when - (NOW - days * DAY)) / (days * DAY)
    y = TOP + row * ROW + ROW // 2
    pixel = img.convert("RGB").getpixel((round(x), y))
    assert isinstance(pixel, tuple)
    return pixel


def colours(img: Image.Image) -> set[tuple[int, ...]]:
    found = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert found is not None
    return {c for _, c in found if isinstance(c, tuple)}


RED, ORANGE, YELLOW, GREEN = (level_colour(lv) for lv in (
    Level.MAJOR_OUTAGE, Level.PARTIAL_OUTAGE, Level.DEGRADED, Level.OPERATIONAL))


def test_outages_are_drawn_where_and_in_the_colour_they_were() -> None:
    episodes = [
        Episode("Claude", NOW - 3 * DAY, NOW - 2.5 * DAY, "major_outage"),
        Episode("Claude", NOW - 6 * DAY, NOW - 5.5 * DAY, "partial_outage"),
        Episode("OpenAI", NOW - 4 * DAY, NOW - 3.9 * DAY, "degraded"),
    ]
    img = draw_history(episodes, NOW, days=7)
    assert img.width == WIDTH
    assert img.height == MARGIN * 3 + 40 + ROW * 2 + 24
    assert {RED, ORANGE, YELLOW, GREEN} <= colours(img)
    assert colour_at(img, NOW - 2.75 * DAY) == RED
    assert colour_at(img, NOW - 5.75 * DAY) == ORANGE
    assert colour_at(img, NOW - 1 * DAY) == GREEN
    assert colour_at(img, NOW - 3.95 * DAY, row=1) == YELLOW  # services sorted by name
    assert colour_at(img, NOW - 2.75 * DAY, row=1) == GREEN


def test_an_ongoing_outage_runs_to_now_and_the_worst_is_on_top() -> None:
    episodes = [
        Episode("Claude", NOW - 2 * DAY, None, "degraded"),
        Episode("Claude", NOW - 1.5 * DAY, NOW - 1.2 * DAY, "major_outage"),
    ]
    img = draw_history(episodes, NOW, days=7)
    assert colour_at(img, NOW - 0.1 * DAY) == YELLOW
    assert colour_at(img, NOW - 1.35 * DAY) == RED
    assert colour_at(img, NOW - 2.5 * DAY) == GREEN


def test_a_short_outage_is_still_visible() -> None:
    img = draw_history([Episode("Claude", NOW - 10 * DAY, NOW - 10 * DAY + 60, "major_outage")],
                       NOW, days=30)
    assert RED in colours(img)


def test_older_episodes_are_left_out_and_an_empty_history_is_all_green() -> None:
    old = [Episode("Claude", NOW - 40 * DAY, NOW - 39 * DAY, "major_outage")]
    for episodes in (old, []):
        img = draw_history(episodes, NOW, days=30)
        assert img.width == WIDTH and img.height == MARGIN * 3 + 40 + ROW + 24
        assert RED not in colours(img) and GREEN in colours(img)


def test_it_saves_as_png() -> None:
    buf = io.BytesIO()
    draw_history([Episode("Claude", NOW - DAY, NOW - DAY / 2, "major_outage")], NOW,
                 days=30).save(buf, "PNG")
    again = Image.open(io.BytesIO(buf.getvalue()))
    assert again.format == "PNG" and again.width == WIDTH
