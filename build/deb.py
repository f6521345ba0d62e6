"""A Debian package of the one-folder build: ``python build/build.py --deb`` (Linux, dpkg-deb).

Layout::

    /opt/claude-status-tray/                     the one-folder build, as built
    /usr/bin/claude-status-tray                  -> /opt/claude-status-tray/claude-status-tray
    /usr/share/applications/claude-status-tray.desktop
    /usr/share/icons/hicolor/<n>x<n>/apps/claude-status-tray.png
    /usr/share/doc/claude-status-tray/copyright

No maintainer scripts: dpkg's file triggers (hicolor-icon-theme, desktop-file-utils) refresh
the icon cache and the menu, and the app writes nothing under /opt. ``Depends`` is worked out
from the build itself: every shared library that a binary in the bundle links to but the
bundle doesn't carry (glibc, and the few libraries PyInstaller leaves to the system: xcb,
wayland) is looked up with ``dpkg -S`` on the building machine; glibc gets ``>=`` the
version the build was made against. Compressed with gzip: 4 s here against 41 s for xz (for
a 25 MiB package instead of 20), and every dpkg reads it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import bundle

INSTALL_DIR = Path("/opt") / bundle.APP_ID
SUMMARY = "tray icon and notifications that say whether Claude is up"
DESCRIPTION = """\
 Claude Status Tray watches Claude's official status page (status.claude.com)
 and shows its level as the colour and shape of a tray icon. It notifies you
 when Claude goes down and again when it is back, with how long it was out;
 its menu says what is affected and why. It also has a command line: check,
 watch, wait and history.
 .
 This package is the self-contained PyInstaller build (Python, GTK and the
 AppIndicator library inside /opt/claude-status-tray)."""
# Set CST_DEB_MAINTAINER to the real "Name <address>" for a published package.
MAINTAINER = "Claude Status Tray maintainers <maintainers@claude-status-tray.invalid>"
SECTION = "utils"
COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: claude-status-tray

Files: *
Copyright: Claude Status Tray contributors
License: MIT
Comment: /opt/claude-status-tray also holds the Python runtime and the libraries
 the app was built with (GTK, GLib, Pillow, httpx, pystray, plyer and their
 dependencies), each under its own license.
"""


class DebFailed(Exception):
    """The package could not be made; the message says why."""


def dpkg_architecture() -> str:
    return _output(["dpkg", "--print-architecture"]).strip()


def build_deb(folder: Path, out_dir: Path, version: str) -> Path:
    """``out_dir/claude-status-tray_<version>_<arch>.deb`` from the one-folder build."""
    if not (folder / bundle.APP_ID).is_file():
        raise DebFailed(f"no one-folder build at {folder} (build it first)")
    arch = dpkg_architecture()
    target = out_dir / f"{bundle.APP_ID}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="cst-deb-") as tmp:
        root = Path(tmp) / "root"
        stage(folder, root)
        write_control(root, version, arch, depends(folder))
        target.unlink(missing_ok=True)
        _output(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root),
                 str(target)])
    return target


def stage(folder: Path, root: Path) -> None:
    opt = root / INSTALL_DIR.relative_to("/")
    shutil.copytree(folder, opt, symlinks=True)
    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / bundle.APP_ID).symlink_to(INSTALL_DIR / bundle.APP_ID)
    share = root / "usr" / "share"
    apps = share / "applications"
    apps.mkdir(parents=True)
    shutil.copyfile(bundle.PACKAGING / f"{bundle.APP_ID}.desktop",
                    apps / f"{bundle.APP_ID}.desktop")
    for icon in sorted(bundle.ICONS.glob(f"{bundle.APP_ID}-*.png")):
        size = icon.stem.rsplit("-", 1)[1]
        dest = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{bundle.APP_ID}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(icon, dest)
    doc = share / "doc" / bundle.APP_ID
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT, encoding="utf-8")
    normalise_modes(root)


def normalise_modes(root: Path) -> None:
    """0755 for folders and anything executable, 0644 for the rest (whatever the umask)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        path.chmod(0o755 if executable else 0o644)


def write_control(root: Path, version: str, arch: str, depends: list[str]) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    installed_kib = sum((p.stat().st_size + 1023) // 1024 for p in files)
    debian = root / "DEBIAN"
    debian.mkdir()
    maintainer = os.environ.get("CST_DEB_MAINTAINER", "").strip() or MAINTAINER
    control = {
        "Package": bundle.APP_ID,
        "Version": version,
        "Architecture": arch,
        "Maintainer": maintainer,
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(depends),
        "Section": SECTION,
        "Priority": "optional",
        "Description": f"{SUMMARY}\n{DESCRIPTION}",
    }
    text = "".join(f"{key}: {value}\n" for key, value in control.items())
    (debian / "control").write_text(text, encoding="utf-8")
    sums = "".join(
        f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}\n"
        for p in files
    )
    (debian / "md5sums").write_text(sums, encoding="utf-8")
    normalise_modes(debian)


# -- Depends ---------------------------------------------------------------------------------

_NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[(.+?)\]")
_LDD = re.compile(r"^\s*(\S+) => (/\S+)", re.M)


def depends(folder: Path) -> list[str]:
    """The packages of every library the bundle links to but doesn't carry; glibc first."""
    carried = {p.name for p in folder.rglob("*")}
    missing: dict[str, Path] = {}  # soname -> a bundled binary that needs it
    for elf in elf_files(folder):
        for soname in _NEEDED.findall(_output(["readelf", "-d", str(elf)])):
            if soname not in carried:
                missing.setdefault(soname, elf)
    packages: set[str] = set()
    for soname, elf in sorted(missing.items()):
        packages.add(package_of(soname, elf))
    glibc = platform.libc_ver()[1]
    out = [f"libc6 (>= {glibc})" if glibc else "libc6"]
    return out + sorted(packages - {"libc6"})


def elf_files(folder: Path) -> Iterable[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    yield path


def package_of(soname: str, needed_by: Path) -> str:
    """The Debian package that holds ``soname`` as this machine resolves it for ``needed_by``."""
    if soname.startswith("ld-linux"):
        return "libc6"  # the dynamic loader: ldd shows it without "=>"
    path = dict(_LDD.findall(_output(["ldd", str(needed_by)], check=False))).get(soname)
    if path is None:
        raise DebFailed(f"{needed_by.name} needs {soname}, which this machine doesn't have")
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):  # merged /usr: dpkg may know /lib/... or /usr/lib/...
        candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                check=False)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].strip()
    raise DebFailed(f"{soname} ({path}) belongs to no Debian package: can't name a dependency")


def _output(argv: list[str], *, check: bool = True) -> str:
    if shutil.which(argv[0]) is None:
        raise DebFailed(f"{argv[0]} is not installed (a Debian or Ubuntu build machine has it)")
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise DebFailed(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout
