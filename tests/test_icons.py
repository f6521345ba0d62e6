"""The icon painter and the asset generator (Pillow only; no display needed)."""

from __future__ import annotations

import importlib.util
import itertools
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import cast

import pytest
from PIL import IcoImagePlugin, Image

from tray_app.core.levels import Level
from tray_app.icons import Badge, app_icon, level_colour, paint

ROOT = Path(__file__).resolve().parent.parent
SIZES = (16, 22, 24, 32, 48, 64)
TOLERANCE = 6  # per channel, for "this pixel is the level colour"

# Every distinct glyph: the six levels plus unknown-while-offline.
GLYPHS = [(level.value, level, False) for level in Level] + [("offline", Level.UNKNOWN, True)]
GLYPH_IDS = [name for name, _, _ in GLYPHS]


def _close(a: tuple[int, ...], b: tuple[int, ...], tol: int = TOLERANCE) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def _opaque_rgb(im: Image.Image) -> list[tuple[int, int, int]]:
    pixels = cast("list[tuple[int, int, int, int]]", list(im.get_flattened_data()))
    return [(r, g, b) for r, g, b, a in pixels if a == 255]


def _glyph_mask(im: Image.Image, fill: tuple[int, int, int]) -> set[tuple[int, int]]:
    """Pixels inside the disc body that are clearly not the fill colour: the glyph."""
    size = im.width
    c = size / 2
    mask = set()
    for y in range(size):
        for x in range(size):
            if math.hypot(x + 0.5 - c, y + 0.5 - c) > 0.36 * size:
                continue
            r, g, b, a = im.getpixel((x, y))  # type: ignore[misc]
            if a == 255 and not _close((r, g, b), fill, 60):
                mask.add((x, y))
    return mask


def _load_make_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "icons" / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "level", "offline"), GLYPHS, ids=GLYPH_IDS)
def test_every_state_paints_rgba_at_every_size(
    name: str, level: Level, offline: bool, size: int
) -> None:
    im = paint(level, size, offline=offline)
    assert im.mode == "RGBA"
    assert im.size == (size, size)
    # Round icon on a transparent canvas: corners clear, centre opaque.
    assert im.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert im.getpixel((size // 2, size // 2 - size // 3))[3] == 255  # type: ignore[index]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "level", "offline"), GLYPHS, ids=GLYPH_IDS)
def test_dominant_colour_is_the_level_colour(
    name: str, level: Level, offline: bool, size: int
) -> None:
    im = paint(level, size, offline=offline)
    ((dominant, _),) = Counter(_opaque_rgb(im)).most_common(1)
    assert _close(dominant, level_colour(level)), (dominant, level_colour(level))
    # A screenshot of the tray slot must contain plenty of exactly-this-colour pixels.
    matching = sum(_close(p, level_colour(level)) for p in _opaque_rgb(im))
    assert matching >= 0.3 * size * size


def test_level_colours_are_pairwise_clearly_different() -> None:
    for a, b in itertools.combinations(Level, 2):
        ca, cb = level_colour(a), level_colour(b)
        assert math.dist(ca, cb) >= 60, (a, b, ca, cb)
        # Far enough apart that pixel-counting at TOLERANCE can never confuse them.
        assert not _close(ca, cb, 2 * TOLERANCE + 1), (a, b)


@pytest.mark.parametrize("size", [16, 32])
def test_glyphs_differ_in_shape(size: int) -> None:
    masks = {
        name: _glyph_mask(paint(level, size, offline=offline), level_colour(level))
        for name, level, offline in GLYPHS
    }
    for name, mask in masks.items():
        assert len(mask) >= size * size // 40, f"{name}: glyph nearly empty at {size}px"
    for (a, ma), (b, mb) in itertools.combinations(masks.items(), 2):
        assert len(ma ^ mb) >= size * size // 30, f"{a} and {b} look alike at {size}px"


def test_offline_is_a_distinct_grey_state() -> None:
    unknown = paint(Level.UNKNOWN, 32)
    offline = paint(Level.UNKNOWN, 32, offline=True)
    assert unknown.tobytes() != offline.tobytes()
    grey = level_colour(Level.UNKNOWN)
    ((dominant, _),) = Counter(_opaque_rgb(offline)).most_common(1)
    assert _close(dominant, grey)


@pytest.mark.parametrize("level", [lv for lv in Level if lv is not Level.UNKNOWN])
def test_offline_only_changes_unknown(level: Level) -> None:
    assert paint(level, 32, offline=True).tobytes() == paint(level, 32).tobytes()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("badge", list(Badge), ids=lambda b: b.value)
@pytest.mark.parametrize(("name", "level", "offline"), GLYPHS, ids=GLYPH_IDS)
def test_badge_changes_only_its_corner(
    name: str, level: Level, offline: bool, badge: Badge, size: int
) -> None:
    plain = paint(level, size, offline=offline)
    marked = paint(level, size, offline=offline, badge=badge)
    changed = [
        (x, y)
        for y in range(size)
        for x in range(size)
        if plain.getpixel((x, y)) != marked.getpixel((x, y))
    ]
    assert len(changed) >= size * size // 25, "badge barely visible"
    half = size / 2
    for x, y in changed:
        in_corner = x >= half and (y < half if badge is Badge.HINT else y >= half)
        assert in_corner, f"{badge.value} changed ({x}, {y}) outside its corner"
        assert math.hypot(x + 0.5 - half, y + 0.5 - half) > 0.25 * size, (x, y)
    # Not one pixel of the glyph is touched.
    covered = _glyph_mask(plain, level_colour(level)) & set(changed)
    assert not covered, f"{badge.value} covers glyph pixels {sorted(covered)}"


def test_badges_differ_from_each_other() -> None:
    hint = paint(Level.OPERATIONAL, 32, badge=Badge.HINT)
    paused = paint(Level.OPERATIONAL, 32, badge=Badge.PAUSED)
    assert hint.tobytes() != paused.tobytes()


def test_paint_is_cached() -> None:
    assert paint(Level.DEGRADED, 24) is paint(Level.DEGRADED, 24)
    assert paint(Level.DEGRADED, 24) is not paint(Level.DEGRADED, 32)


def test_paint_rejects_nonsense_size() -> None:
    with pytest.raises(ValueError):
        paint(Level.OPERATIONAL, 0)


@pytest.mark.parametrize("size", [16, 32, 256, 512])
def test_app_icon(size: int) -> None:
    im = app_icon(size)
    assert im.mode == "RGBA"
    assert im.size == (size, size)
    assert im.getpixel((0, 0))[3] == 0  # type: ignore[index]  # rounded corner
    assert im.getpixel((size // 2, size // 5))[3] == 255  # type: ignore[index]
    # Not a status icon: nothing in it is a level colour.
    colours = set(_opaque_rgb(im))
    for level in Level:
        assert not any(_close(c, level_colour(level)) for c in colours), level


def _check_outputs(out: Path, written: list[Path] | None = None) -> None:
    app = out / "app"
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(app / f"claude-status-tray-{size}.png") as im:
            assert im.size == (size, size)
            assert im.mode == "RGBA"
    with Image.open(app / "claude-status-tray.ico") as ico:
        assert ico.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
        assert isinstance(ico, IcoImagePlugin.IcoImageFile)
        assert ico.ico.getimage((16, 16)).size == (16, 16)
    with Image.open(app / "claude-status-tray.icns") as icns:
        assert icns.format == "ICNS"
        icns.load()
        assert icns.size[0] >= 512
    with Image.open(out / "states.png") as sheet:
        assert sheet.format == "PNG"
        assert sheet.width > 400 and sheet.height > 400
    assert "make_icons.py" in (out / "README.md").read_text(encoding="utf-8")
    if written is not None:
        assert all(p.is_file() and p.is_relative_to(out) for p in written)
        assert len(written) == 12


def test_generate_writes_every_asset(tmp_path: Path) -> None:
    make_icons = _load_make_icons()
    written = make_icons.generate(tmp_path)
    _check_outputs(tmp_path, written)


def test_script_runs_from_elsewhere(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, str(ROOT / "icons" / "make_icons.py"), str(out)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    _check_outputs(out)


def test_the_shipped_icons_are_the_painters_own() -> None:
    """tray_app/assets/ holds what the running app loads instead of drawing: each must be
    pixel-identical to a fresh drawing (python icons/make_icons.py regenerates them)."""
    from tray_app.icons import ASSETS, NOTIFY_SIZE, TRAY_SIZE, asset_name, draw, draw_app_icon

    checked = 0
    for level in Level:
        for offline in ((False, True) if level is Level.UNKNOWN else (False,)):
            for badge in (None, *Badge):
                shipped = paint(level, TRAY_SIZE, offline=offline, badge=badge)
                assert (ASSETS / asset_name(level, offline, badge)).is_file()
                fresh = draw(level, TRAY_SIZE, offline=offline, badge=badge)
                assert shipped.tobytes() == fresh.tobytes(), asset_name(level, offline, badge)
                checked += 1
    assert checked == 21
    assert app_icon(NOTIFY_SIZE).tobytes() == draw_app_icon(NOTIFY_SIZE).tobytes()


def test_the_tray_paints_without_loading_pillows_drawing_stack() -> None:
    probe = (
        "import sys\n"
        "from tray_app.core.levels import Level\n"
        "from tray_app.icons import Badge, app_icon, paint\n"
        "for level in Level:\n"
        "    paint(level, 64, badge=Badge.PAUSED)\n"
        "app_icon(128)\n"
        "print('PIL.ImageDraw' in sys.modules, 'PIL.ImageFont' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]
