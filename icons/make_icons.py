"""Regenerate the committed icon assets from the painter in ``tray_app/icons.py``.

Run from anywhere: ``python icons/make_icons.py [OUT_DIR]`` (default: this folder).
Tests call :func:`generate` with a temporary folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from tray_app import APP_ID  # noqa: E402
from tray_app.core.levels import Level  # noqa: E402
from tray_app.icons import (  # noqa: E402
    ASSETS,
    NOTIFY_SIZE,
    TRAY_SIZE,
    Badge,
    asset_name,
    draw_app_icon,
)
from tray_app.icons import draw as draw_icon  # noqa: E402

APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
SHEET_SIZES = (16, 24, 32, 64)

# (label, level, offline, badge): every state the tray can show, in reading order.
STATES: tuple[tuple[str, Level, bool, Badge | None], ...] = (
    ("operational", Level.OPERATIONAL, False, None),
    ("maintenance", Level.MAINTENANCE, False, None),
    ("degraded", Level.DEGRADED, False, None),
    ("partial outage", Level.PARTIAL_OUTAGE, False, None),
    ("major outage", Level.MAJOR_OUTAGE, False, None),
    ("unknown (page unreachable)", Level.UNKNOWN, False, None),
    ("offline (no network here)", Level.UNKNOWN, True, None),
    ("badge: hint (unreachable here)", Level.OPERATIONAL, False, Badge.HINT),
    ("badge: notifications paused", Level.MAJOR_OUTAGE, False, Badge.PAUSED),
)

LIGHT = (242, 242, 242)
DARK = (36, 36, 40)
LABEL_INK = (30, 30, 30)

README = """\
# Icons

Generated from `tray_app/icons.py` (the single source: the tray paints the same images at
run time). Do not edit these files by hand; change the painter and regenerate:

    python icons/make_icons.py

- `app/claude-status-tray-{SIZE}.png`: the app's own icon at {SIZES} px
  (Linux `.desktop` / hicolor theme).
- `app/claude-status-tray.ico`: Windows, multi-size ({ICO} px).
- `app/claude-status-tray.icns`: macOS.
- `states.png`: every tray state at {SHEET} px, on a light and a dark panel.

![tray states](states.png)
"""


def _joined(sizes: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in sizes)


def _states_sheet() -> Image.Image:
    font = ImageFont.load_default(13)
    pad, label_w = 10, 230
    cell = max(SHEET_SIZES) + pad
    strip_w = len(SHEET_SIZES) * cell + pad
    row_h = max(SHEET_SIZES) + pad
    header_h = 24
    width = label_w + 2 * strip_w
    height = header_h + len(STATES) * row_h + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, bg in enumerate((LIGHT, DARK)):
        x0 = label_w + i * strip_w
        draw.rectangle((x0, 0, x0 + strip_w - 1, height - 1), fill=bg)
        ink = LABEL_INK if bg == LIGHT else (225, 225, 225)
        for j, size in enumerate(SHEET_SIZES):
            draw.text((x0 + pad + j * cell, 6), f"{size}px", fill=ink, font=font)
    for row, (label, level, offline, badge) in enumerate(STATES):
        y = header_h + row * row_h
        draw.text((pad, y + row_h // 2 - 8), label, fill=LABEL_INK, font=font)
        for i in range(2):
            x0 = label_w + i * strip_w
            for j, size in enumerate(SHEET_SIZES):
                icon = draw_icon(level, size, offline=offline, badge=badge)
                # Bottom-aligned in the cell, the way a tray lines icons up.
                pos = (x0 + pad + j * cell, y + max(SHEET_SIZES) - size)
                sheet.paste(icon, pos, icon)
    return sheet


def generate(out_dir: Path) -> list[Path]:
    """Write every asset under ``out_dir``; returns the paths written."""
    app_dir = out_dir / "app"
    app_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    for size in APP_SIZES:
        path = app_dir / f"{APP_ID}-{size}.png"
        draw_app_icon(size).save(path)
        written.append(path)

    ico = app_dir / f"{APP_ID}.ico"
    ico_images = [draw_app_icon(s) for s in ICO_SIZES]
    ico_images[-1].save(
        ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=ico_images[:-1]
    )
    written.append(ico)

    icns = app_dir / f"{APP_ID}.icns"
    icns_sizes = (32, 64, 128, 256, 512)  # what the ICNS writer stores besides 1024
    draw_app_icon(1024).save(icns, format="ICNS",
                             append_images=[draw_app_icon(s) for s in icns_sizes])
    written.append(icns)

    sheet = out_dir / "states.png"
    _states_sheet().save(sheet)
    written.append(sheet)

    readme = out_dir / "README.md"
    readme.write_text(
        README.format(
            SIZE="{SIZE}",
            SIZES=_joined(APP_SIZES),
            ICO=_joined(ICO_SIZES),
            SHEET=_joined(SHEET_SIZES),
        ),
        encoding="utf-8",
    )
    written.append(readme)
    return written


def package_assets(out_dir: Path = ASSETS) -> list[Path]:
    """The icons the running app loads instead of drawing (see ``tray_app/icons.py``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for level in Level:
        for offline in ((False, True) if level is Level.UNKNOWN else (False,)):
            for badge in (None, *Badge):
                path = out_dir / asset_name(level, offline, badge)
                draw_icon(level, TRAY_SIZE, offline=offline, badge=badge).save(path,
                                                                                optimize=True)
                written.append(path)
    path = out_dir / f"app-{NOTIFY_SIZE}.png"
    draw_app_icon(NOTIFY_SIZE).save(path, optimize=True)
    return [*written, path]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python icons/make_icons.py [OUT_DIR]", file=sys.stderr)
        return 2
    out_dir = Path(args[0]) if args else HERE
    for path in generate(out_dir):
        print(path)
    if not args:  # the package's own copies, next to the painter
        for path in package_assets():
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
