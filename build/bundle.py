"""What goes into the frozen app: shared by the PyInstaller spec and ``build.py``.

The spec (``claude-status-tray.spec``) imports this module from ``SPECPATH``; it holds the
names, paths and trimming lists so that they are plain, linted Python. Environment variables
read by the spec (``build.py`` sets them):

- ``CST_ONEFILE=1``: the one-file build (default: one-folder);
- ``CST_WITH_GI=auto|1|0``: bundle PyGObject (pystray's gtk/appindicator backends: real
  menus on Linux). ``auto`` (default) bundles it when it is importable at build time;
- ``CST_TRIM=0``: no trimming (to measure what trimming saves).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

BUILD_DIR = Path(__file__).resolve().parent
ROOT = BUILD_DIR.parent
HOOKS = BUILD_DIR / "hooks"
ENTRY = BUILD_DIR / "entry.py"
ICONS = ROOT / "icons" / "app"
PACKAGING = ROOT / "packaging"

APP_ID = "claude-status-tray"
APP_NAME = "Claude Status Tray"
BUNDLE_ID = "com.claude-status-tray"  # the LaunchAgent label in tray_app/autostart.py
CLI_SUFFIX = "-cli"  # Windows: the console twin of the windowed exe (see the spec)
ONEFILE_NAME = f"{APP_ID}-onefile"

# Pillow's image plugins the app needs: PNG (tray icons on gtk/appindicator/macOS, the
# notification icon), ICO (pystray's win32 backend; it needs BMP), ICNS (+ JPEG 2000, which
# the ICNS reader imports when Pillow has the codec). Every other plugin is left out.
PIL_PLUGINS_KEPT = frozenset(
    {"PngImagePlugin", "IcoImagePlugin", "BmpImagePlugin", "IcnsImagePlugin",
     "Jpeg2KImagePlugin"}
)
# Pillow modules with compiled parts (and bundled libraries) nothing here uses. Without
# _imagingft, ImageFont.load_default() falls back to Pillow's built-in bitmap font (the
# history chart's labels).
PIL_MODULES_DROPPED = (
    "PIL.ImageQt", "PIL.ImageTk", "PIL._tkinter_finder", "PIL._imagingtk", "PIL.ImageCms",
    "PIL._imagingcms", "PIL._webp", "PIL._avif", "PIL._imagingft", "PIL.ImageMath",
    "PIL._imagingmath", "PIL.ImageMorph", "PIL._imagingmorph", "PIL.ImageShow",
    "PIL.ImageGrab", "PIL.PSDraw", "PIL.SpiderImagePlugin",
)
# Standard library and tooling that the app never imports but that something may drag in.
STDLIB_DROPPED = (
    "tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "pydoc", "pydoc_data",
    "doctest", "unittest", "test", "lib2to3", "distutils", "setuptools", "pkg_resources",
    "pip", "ensurepip", "venv", "xmlrpc", "curses", "_curses", "readline",  # (not sqlite3:
    "dbm", "pdb", "tracemalloc", "multiprocessing", "concurrent.futures.process",  # the store)
    # httpx's command-line client (and the syntax highlighter it drags in)
    "httpx._main", "pygments", "rich", "click",
    # test-only dependencies that must never reach the bundle
    "pytest", "_pytest", "hypothesis", "mypy", "ruff", "IPython",
)


def version() -> str:
    text = (ROOT / "tray_app" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise RuntimeError("no __version__ in tray_app/__init__.py")
    return match.group(1)


def onefile() -> bool:
    return os.environ.get("CST_ONEFILE", "") == "1"


def trim() -> bool:
    return os.environ.get("CST_TRIM", "1") != "0"


def with_gi() -> bool:
    """Bundle PyGObject? Linux only; ``auto`` means: when it is importable here."""
    choice = os.environ.get("CST_WITH_GI", "auto").strip().lower()
    if not sys.platform.startswith("linux") or choice in ("0", "no", "false"):
        return False
    available = importlib.util.find_spec("gi") is not None
    if choice in ("1", "yes", "true") and not available:
        raise SystemExit("CST_WITH_GI=1 but PyGObject (gi) is not importable: "
                         "pip install -e '.[gtk]'")
    return available


def pil_plugins_dropped() -> list[str]:
    spec = importlib.util.find_spec("PIL")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent
    names = sorted(p.stem for p in folder.glob("*ImagePlugin.py"))
    return [f"PIL.{n}" for n in names if n not in PIL_PLUGINS_KEPT]


def excludes(*, trimmed: bool, gi: bool) -> list[str]:
    out: list[str] = []
    if trimmed:
        out += [*STDLIB_DROPPED, *PIL_MODULES_DROPPED, *pil_plugins_dropped()]
    if not gi:
        out += ["gi", "cairo"]
    return sorted(set(out))


def hooksconfig(*, trimmed: bool) -> dict[str, object]:
    if not trimmed:
        return {}
    # GTK (PyInstaller's "gi" hook options): no icon theme but hicolor (GTK 3 carries the
    # few icons its widgets draw, e.g. the submenu arrow, in its own resources), no
    # translations (the menu's text is ours).
    return {
        "gi": {
            "icons": ["hicolor"],
            "themes": [],
            "languages": [],
            "module-versions": {"Gtk": "3.0", "Gdk": "3.0", "GdkPixbuf": "2.0"},
        },
    }


# Linux: gdk-pixbuf loaders nothing here loads (the tray icon is a PNG, which gdk-pixbuf
# reads by itself). The SVG loader alone brings librsvg, libxml2 and ICU: about 45 MB.
PIXBUF_LOADERS_DROPPED = ("libpixbufloader-svg.so", "libpixbufloader-tiff.so")
# Libraries that stay only while something that stays still links to them.
PRUNE_IF_UNUSED = re.compile(
    r"^(librsvg|libxml2|libicu|libtiff\.so|libLerc|libjbig|libdeflate|libstdc\+\+|libavif"
    r"|libwebp|libsharpyuv|liblcms2)"
)

Toc = list[tuple[str, str, str]]


def trim_linux(binaries: Toc, datas: Toc, needs: Callable[[str], set[str]]) -> tuple[Toc, Toc]:
    """Drop the unused pixbuf loaders, then every library of PRUNE_IF_UNUSED that no
    remaining binary needs (``needs(path)``: the names it links to, transitively, as ldd
    reports them). Rewrites gdk-pixbuf's loaders.cache to match."""
    kept = [b for b in binaries if Path(b[0]).name not in PIXBUF_LOADERS_DROPPED]
    users = [b for b in kept if not PRUNE_IF_UNUSED.search(Path(b[0]).name)]
    needed: set[str] = set()
    for _dest, src, _kind in users:
        needed |= needs(src)
    kept = [b for b in kept
            if not PRUNE_IF_UNUSED.search(Path(b[0]).name) or Path(b[0]).name in needed]
    new_datas: Toc = []
    for dest, src, kind in datas:
        if Path(dest).name == "loaders.cache" and "gdk-pixbuf" in dest:
            src = _filtered_loaders_cache(Path(src))
        new_datas.append((dest, src, kind))
    return kept, new_datas


def _filtered_loaders_cache(path: Path) -> str:
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    kept = [b for b in blocks if not any(name in b for name in PIXBUF_LOADERS_DROPPED)]
    out = path.with_name("loaders.trimmed.cache")
    out.write_text("\n\n".join(kept), encoding="utf-8")
    return str(out)


def icon_file() -> str | None:
    """The app icon for this platform's executable (Linux executables carry none: the
    .desktop file names the icon)."""
    suffix = {"win32": ".ico", "darwin": ".icns"}.get(sys.platform)
    if suffix is None:
        return None
    path = ICONS / f"{APP_ID}{suffix}"
    return str(path) if path.exists() else None
