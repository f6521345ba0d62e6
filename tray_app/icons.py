"""The icon painter: one Pillow image per level, told apart by colour *and* by glyph.

Every status icon is a filled disc in ``level_colour(level)`` with a thin darker rim (so it
reads on light panels; the saturated fill carries it on dark ones) and a centred glyph:

=================  ========  ===============================
level              colour    glyph
=================  ========  ===============================
operational        green     check mark
maintenance        blue      clock hands
degraded           yellow    ``!`` (drawn near-black)
partial_outage     orange    triangle
major_outage       red       cross
unknown            grey      ``?``
unknown, offline   grey      dash ("no connection here")
=================  ========  ===============================

A :class:`Badge` puts a small mark in a corner (HINT top right: a white dot in a dark ring;
PAUSED bottom right: a dark dot with pause bars). Glyphs stay inside a central circle that
the badges never reach, so a badge changes only its corner.

Drawing happens on a supersampled canvas (at least 256 px) in unit coordinates and is
reduced with a box filter, i.e. exact area coverage: crisp edges with no ringing, and a
badge changes only the pixels it covers. Strokes have a floor of 2 px at the target size,
so glyphs stay legible at 16 px. Pure function of its arguments, cached.

The sizes the running app uses (the tray's 64 px states and the 128 px app icon for
notifications) ship pre-rendered in ``tray_app/assets/`` (``icons/make_icons.py`` writes
them; a test checks each is pixel-identical to a fresh drawing). Loading them keeps Pillow's
drawing and font modules (1.6 MB) out of the tray's memory; any other size is drawn.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from .core.levels import Level

__all__ = ["Badge", "app_icon", "asset_name", "draw", "draw_app_icon", "level_colour", "paint"]

ASSETS = Path(__file__).with_name("assets")
TRAY_SIZE = 64  # the tray's icon size (tray.ICON_SIZE): shipped pre-rendered
NOTIFY_SIZE = 128  # the app icon notifications carry: shipped pre-rendered

RGB = tuple[int, int, int]
Point = tuple[float, float]


class Badge(enum.Enum):
    """Small corner marks on top of a status icon."""

    HINT = "hint"  # Claude looks unreachable from here though the page says operational
    PAUSED = "paused"  # notifications are paused


_COLOURS: dict[Level, RGB] = {
    Level.OPERATIONAL: (22, 163, 74),
    Level.MAINTENANCE: (37, 99, 235),
    Level.DEGRADED: (250, 204, 21),
    Level.PARTIAL_OUTAGE: (249, 115, 22),
    Level.MAJOR_OUTAGE: (220, 38, 38),
    Level.UNKNOWN: (124, 128, 138),
}
_WHITE: RGB = (255, 255, 255)
_INK: RGB = (28, 28, 32)  # near-black, for glyphs on light fills and for badges
_DARK_GLYPH = frozenset({Level.DEGRADED})
_APP_COLOUR: RGB = (204, 120, 92)

_MIN_CANVAS = 256  # supersampled canvas is at least this many pixels wide
# Badges sit in the top-right (HINT) and bottom-right (PAUSED) corners. From 32 px up a
# transparent gap cuts them out of the disc; below that there is no pixel to spare, so the
# badge is a little larger and its rim alone separates it.
_BADGE_GAP_FROM = 32


def level_colour(level: Level) -> RGB:
    """The fill colour of ``level``'s icon."""
    return _COLOURS[level]


def paint(
    level: Level, size: int = 64, *, offline: bool = False, badge: Badge | None = None
) -> Image.Image:
    """The tray icon for ``level`` as a ``size`` x ``size`` RGBA image.

    ``offline`` only changes ``Level.UNKNOWN`` (same grey, a dash instead of ``?``). The result
    is cached and shared: copy it before drawing on it.
    """
    offline = offline and level is Level.UNKNOWN
    if size == TRAY_SIZE:
        shipped = _shipped(asset_name(level, offline, badge))
        if shipped is not None:
            return shipped
    return _paint(level, size, offline, badge)


def draw(level: Level, size: int = 64, *, offline: bool = False, badge: Badge | None = None
         ) -> Image.Image:
    """``paint`` drawn afresh, never from the shipped assets (``make_icons.py`` and tests)."""
    return _paint(level, size, offline and level is Level.UNKNOWN, badge)


def app_icon(size: int = 256) -> Image.Image:
    """The application's own icon (not a status): a rounded tile with a pulse line."""
    if size == NOTIFY_SIZE:
        shipped = _shipped(f"app-{NOTIFY_SIZE}.png")
        if shipped is not None:
            return shipped
    return _app_icon(size)


def draw_app_icon(size: int = 256) -> Image.Image:
    """``app_icon`` drawn afresh, never from the shipped assets."""
    return _app_icon(size)


def asset_name(level: Level, offline: bool, badge: Badge | None) -> str:
    """The shipped file of a tray state: ``status-degraded-hint-64.png``."""
    name = "offline" if offline and level is Level.UNKNOWN else level.value
    return f"status-{name}{f'-{badge.value}' if badge else ''}-{TRAY_SIZE}.png"


@functools.lru_cache(maxsize=64)
def _shipped(name: str) -> Image.Image | None:
    """A pre-rendered icon from the package, or None (then it is drawn)."""
    try:
        with Image.open(ASSETS / name) as image:
            return image.convert("RGBA")
    except (OSError, ValueError):
        return None


class _Pen:
    """Draws in unit coordinates ([0, 1] across the icon) on a supersampled canvas."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.scale = max(4, math.ceil(_MIN_CANVAS / size))
        self.px = size * self.scale
        from PIL import ImageDraw  # only to draw: it loads Pillow's font stack (1.6 MB)

        self.image = Image.new("RGBA", (self.px, self.px), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def stroke(self, unit: float, min_px: float = 2.0) -> float:
        """A stroke width in units: ``unit`` of the icon, but never under ``min_px`` pixels."""
        return max(unit, min_px / self.size)

    def _xy(self, p: Point) -> tuple[float, float]:
        # Pillow addresses pixel centres; unit 0 is the left edge of the first pixel.
        return (p[0] * self.px - 0.5, p[1] * self.px - 0.5)

    def disc(self, centre: Point, radius: float, fill: tuple[int, ...]) -> None:
        cx, cy = centre[0] * self.px, centre[1] * self.px
        r = radius * self.px
        self.draw.ellipse((cx - r, cy - r, cx + r - 1, cy + r - 1), fill=fill)

    def line(self, points: Sequence[Point], width: float, fill: RGB) -> None:
        """A polyline with round joins and round caps."""
        w = width * self.px
        self.draw.line([self._xy(p) for p in points], fill=fill, width=round(w), joint="curve")
        for p in (points[0], points[-1]):
            self.disc(p, width / 2, fill)

    def polygon(self, points: Sequence[Point], fill: RGB, rounding: float = 0.0) -> None:
        """A filled polygon; ``rounding`` > 0 rounds its corners by stroking its outline."""
        self.draw.polygon([self._xy(p) for p in points], fill=fill)
        if rounding > 0:
            self.line([*points, points[0], points[1]], rounding, fill)

    def rounded_square(self, inset: float, radius: float, fill: RGB) -> None:
        a, b = inset * self.px, (1 - inset) * self.px - 1
        self.draw.rounded_rectangle((a, a, b, b), radius=radius * self.px, fill=fill)

    def clear_disc(self, centre: Point, radius: float) -> None:
        """Punch a transparent hole (drawing with alpha 0 replaces, it does not blend)."""
        self.disc(centre, radius, (0, 0, 0, 0))

    def result(self) -> Image.Image:
        return self.image.resize((self.size, self.size), Image.Resampling.BOX)


def _shade(colour: RGB, factor: float) -> RGB:
    r, g, b = (round(c * factor) for c in colour)
    return (r, g, b)


@functools.lru_cache(maxsize=128)
def _paint(level: Level, size: int, offline: bool, badge: Badge | None) -> Image.Image:
    if size < 1:
        raise ValueError(f"icon size must be positive, got {size}")
    pen = _Pen(size)
    fill = level_colour(level)
    rim = pen.stroke(0.035, min_px=1.0)
    pen.disc((0.5, 0.5), 0.5, (*_shade(fill, 0.6), 255))
    pen.disc((0.5, 0.5), 0.5 - rim, (*fill, 255))
    ink = _INK if level in _DARK_GLYPH else _WHITE
    glyph = _glyph_offline if offline else _GLYPHS[level]
    glyph(pen, ink)
    if badge is not None:
        _draw_badge(pen, badge)
    return pen.result()


def _glyph_check(pen: _Pen, ink: RGB) -> None:
    w = pen.stroke(0.12)
    pen.line([(0.30, 0.53), (0.43, 0.66), (0.68, 0.39)], w, ink)


def _glyph_clock(pen: _Pen, ink: RGB) -> None:
    w = pen.stroke(0.11)
    pen.line([(0.5, 0.27), (0.5, 0.5), (0.69, 0.5)], w, ink)
    if pen.size >= 32:  # hour ticks at 12, 3, 6 and 9 once there is room for them
        for dx, dy in ((0, -1), (1, 0), (0, 1), (-1, 0)):
            pen.disc((0.5 + 0.33 * dx, 0.5 + 0.33 * dy), 0.035, (*ink, 255))


def _glyph_bang(pen: _Pen, ink: RGB) -> None:
    w = pen.stroke(0.13)
    pen.line([(0.5, 0.27), (0.5, 0.54)], w, ink)
    pen.disc((0.5, 0.72), w * 0.62, (*ink, 255))


def _glyph_triangle(pen: _Pen, ink: RGB) -> None:
    r = 0.22  # circumradius; the rounding stroke adds a little
    cy = 0.53  # a touch below centre, so it sits optically centred
    points = [
        (0.5 + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
        for a in (-90, 30, 150)
    ]
    pen.polygon(points, ink, rounding=pen.stroke(0.06, min_px=1.0))


def _glyph_cross(pen: _Pen, ink: RGB) -> None:
    w = pen.stroke(0.12)
    a = 0.145
    pen.line([(0.5 - a, 0.5 - a), (0.5 + a, 0.5 + a)], w, ink)
    pen.line([(0.5 - a, 0.5 + a), (0.5 + a, 0.5 - a)], w, ink)


def _glyph_question(pen: _Pen, ink: RGB) -> None:
    w = pen.stroke(0.11)
    cx, cy, r = 0.5, 0.39, 0.115
    # The hook: from the left, over the top, round the right and down into the stem.
    hook = [
        (cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
        for a in range(195, 396, 15)
    ]
    pen.line([*hook, (0.5, 0.52), (0.5, 0.56)], w, ink)
    pen.disc((0.5, 0.72), w * 0.62, (*ink, 255))


def _glyph_offline(pen: _Pen, ink: RGB) -> None:
    w = pen.stroke(0.13)
    pen.line([(0.3, 0.5), (0.7, 0.5)], w, ink)


_GLYPHS = {
    Level.OPERATIONAL: _glyph_check,
    Level.MAINTENANCE: _glyph_clock,
    Level.DEGRADED: _glyph_bang,
    Level.PARTIAL_OUTAGE: _glyph_triangle,
    Level.MAJOR_OUTAGE: _glyph_cross,
    Level.UNKNOWN: _glyph_question,
}


def _draw_badge(pen: _Pen, badge: Badge) -> None:
    with_gap = pen.size >= _BADGE_GAP_FROM
    radius = 0.15 if with_gap else 0.16
    x = 1 - radius
    y = radius if badge is Badge.HINT else 1 - radius
    centre = (x, y)
    rim = pen.stroke(0.03, min_px=1.0)
    if with_gap:
        pen.clear_disc(centre, radius + 0.04)
    if badge is Badge.HINT:  # a white dot in a dark ring
        pen.disc(centre, radius, (*_INK, 255))
        pen.disc(centre, radius - rim, (*_WHITE, 255))
        return
    # PAUSED: a dark dot with white pause bars where they fit (with the gap); below that,
    # a white ring keeps the bare dot visible on dark panels.
    if not with_gap:
        pen.disc(centre, radius, (*_WHITE, 255))
        pen.disc(centre, radius - rim, (*_INK, 255))
    else:
        pen.disc(centre, radius, (*_INK, 255))
        bar = pen.stroke(0.05, min_px=1.5)
        h = radius * 0.4
        for dx in (-0.048, 0.048):
            pen.line([(x + dx, y - h), (x + dx, y + h)], bar, _WHITE)


@functools.lru_cache(maxsize=32)
def _app_icon(size: int) -> Image.Image:
    if size < 1:
        raise ValueError(f"icon size must be positive, got {size}")
    pen = _Pen(size)
    edge = pen.stroke(0.02, min_px=1.0)
    pen.rounded_square(0.02, 0.22, _shade(_APP_COLOUR, 0.7))
    pen.rounded_square(0.02 + edge, 0.22 - edge, _APP_COLOUR)
    pulse = [
        (0.16, 0.55),
        (0.36, 0.55),
        (0.44, 0.30),
        (0.54, 0.76),
        (0.62, 0.46),
        (0.67, 0.55),
        (0.84, 0.55),
    ]
    pen.line(pulse, pen.stroke(0.065), _WHITE)
    return pen.result()
