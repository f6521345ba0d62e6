"""Build the frozen app for this OS, prove it runs, and print its budgets.

Run from the repository root with the project's Python (``pip install -e '.[build]'``; on
Linux also ``.[gtk]`` for real tray menus)::

    python build/build.py                  # one-folder and one-file builds
    python build/build.py --onefolder-only --deb # what CI runs (.ci/build-frozen.sh)

Steps: regenerate the app icons (icons/make_icons.py); run PyInstaller on
build/claude-status-tray.spec with its work files in dist/.work/ (never in this source
folder); run each frozen binary's ``--version`` and ``--selftest`` with no display and no
network, and fail if either fails; time ``check --url http://127.0.0.1:PORT`` against a
local status server (tray_app.demo.StatusServer) to its first output line, median of a few
runs; print the sizes and that time (and write them to dist/budgets.json). Pack the
one-folder build as one download: on Linux with the .desktop file, the icon and
packaging/INSTALL.txt in dist/claude-status-tray-linux-<arch>.tar.gz (and with ``--deb`` a
Debian package, dist/claude-status-tray_<version>_<arch>.deb: see build/deb.py); on macOS the
.app in dist/claude-status-tray-macos-<arch>.zip and in a disk image,
dist/claude-status-tray-macos-<arch>.dmg (hdiutil); on Windows
dist/claude-status-tray-windows-<arch>.zip.

No AppImage: appimagetool and the AppImage runtime are in neither Debian bookworm nor
PyPI (the PyPI tools that make AppImages download appimagetool from GitHub at build time),
so one can't be built from registry packages alone. See packaging/README.md.

Exit status: 0 when every build and check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bundle  # noqa: E402
import deb  # noqa: E402

ROOT = bundle.ROOT
SPEC = HERE / "claude-status-tray.spec"
DIST = ROOT / "dist"
WORK = DIST / ".work"
CHECK_TIMEOUT = 120.0  # seconds for one run of a frozen binary (one-file unpacks first)
WINDOWS = sys.platform == "win32"
MACOS = sys.platform == "darwin"
LINUX = sys.platform.startswith("linux")


class BuildFailed(Exception):
    """A step failed; the message says which and why."""


@dataclass
class Frozen:
    """One build's result: the binaries to run and the path whose size is reported."""

    kind: str  # "one-folder" or "one-file"
    size_path: Path
    cli: Path  # the binary with a console (stdout): --version/--selftest/check output
    windowed: Path | None = None  # Windows: the no-console exe, checked by exit code

    @property
    def cli_has_console(self) -> bool:
        return self.cli != self.windowed

    def binaries(self) -> list[tuple[Path, bool]]:
        """Each binary with whether it has a console (so its output can be checked)."""
        out = [(self.cli, self.cli_has_console)]
        if self.windowed is not None and self.windowed != self.cli:
            out.append((self.windowed, False))
        return out


def log(message: str) -> None:
    print(f"build: {message}", flush=True)


# -- steps ---------------------------------------------------------------------------------


def make_icons() -> None:
    log("regenerating icons (icons/make_icons.py)")
    run_checked([sys.executable, str(ROOT / "icons" / "make_icons.py")], quiet=True)


def pyinstaller(kind: str, *, trim: bool, gi: str, clean: bool) -> None:
    onefile = kind == "one-file"
    env = {
        **os.environ,
        "CST_ONEFILE": "1" if onefile else "0",
        "CST_TRIM": "1" if trim else "0",
        "CST_WITH_GI": gi,
    }
    workpath = WORK / ("onefile" if onefile else "onefolder")
    argv = [
        sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
        "--workpath", str(workpath), "--distpath", str(DIST), str(SPEC),
    ]
    if clean:
        argv.insert(3, "--clean")
    log(f"PyInstaller: {kind} build (trim={trim}, gi={gi})")
    started = time.monotonic()
    log_file = WORK / f"pyinstaller-{'onefile' if onefile else 'onefolder'}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "wb") as out:
        result = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                check=False)
    if result.returncode != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-30:]
        raise BuildFailed(f"PyInstaller {kind} failed ({result.returncode}); log "
                          f"{log_file}:\n" + "\n".join(tail))
    log(f"PyInstaller: {kind} done in {time.monotonic() - started:.0f} s (log: {log_file})")


def frozen(kind: str) -> Frozen:
    exe = ".exe" if WINDOWS else ""
    if kind == "one-file":
        path = DIST / f"{bundle.ONEFILE_NAME}{exe}"
        return Frozen(kind, path, cli=path, windowed=path if WINDOWS else None)
    folder = DIST / bundle.APP_ID
    if WINDOWS:
        return Frozen(kind, folder, cli=folder / f"{bundle.APP_ID}{bundle.CLI_SUFFIX}.exe",
                      windowed=folder / f"{bundle.APP_ID}.exe")
    if MACOS:
        app = DIST / f"{bundle.APP_NAME}.app"
        return Frozen(kind, app, cli=app / "Contents" / "MacOS" / bundle.APP_ID)
    return Frozen(kind, folder, cli=folder / bundle.APP_ID)


@contextmanager
def clean_env() -> Iterator[dict[str, str]]:
    """No display, no session bus, and a throw-away home: the frozen app writes its logs
    and state there, never in the builder's profile."""
    with tempfile.TemporaryDirectory(prefix="cst-build-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items()
               if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
                            "PYSTRAY_BACKEND", "CST_NOTIFIER")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                   XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"),
                   XDG_CACHE_HOME=str(home / "cache"))
        if WINDOWS:
            env.update(LOCALAPPDATA=str(home / "local"), APPDATA=str(home / "roaming"))
        yield env


def run_frozen(argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), env=env, capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed(f"{argv[0]} {' '.join(argv[1:])} hung for {CHECK_TIMEOUT:g} s") from exc


def smoke_test(build: Frozen) -> None:
    """``--version`` and ``--selftest`` of every binary of the build; BuildFailed if not ok."""
    version = f"{bundle.APP_ID} {bundle.version()}"
    with clean_env() as env:
        for exe, console in build.binaries():
            result = run_frozen([str(exe), "--version"], env)
            out = (result.stdout + result.stderr).strip()
            if result.returncode != 0 or (console and out != version):
                raise BuildFailed(f"{exe} --version: exit {result.returncode}, printed {out!r}"
                                  f" (expected {version!r})")
            log(f"{build.kind}: {exe.name} --version: {out or '(no console) exit 0'}")
            result = run_frozen([str(exe), "--selftest"], env)
            for line in result.stdout.splitlines():
                log(f"  {line}")
            if result.returncode != 0:
                raise BuildFailed(f"{exe} --selftest failed with exit {result.returncode}:\n"
                                  f"{result.stdout}{result.stderr}")
            if console and "checks ok" not in result.stdout:
                raise BuildFailed(f"{exe} --selftest printed no summary:\n{result.stdout}")
            log(f"{build.kind}: {exe.name} --selftest passed")


def startup_times(build: Frozen, runs: int) -> list[float]:
    """Seconds from spawning ``check --url <loopback>`` to its first line on stdout (a
    windowed-only build, Windows one-file, has no stdout: to its exit, with exit code 0)."""
    sys.path.insert(0, str(ROOT))
    from tray_app.demo import StatusServer

    times: list[float] = []
    with StatusServer() as server, clean_env() as env:
        for _ in range(runs):
            argv = [str(build.cli), "check", "--url", server.url]
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
            lines: queue.Queue[str] = queue.Queue()
            assert proc.stdout is not None
            reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
            reader.start()
            try:
                first = lines.get(timeout=CHECK_TIMEOUT)
                elapsed = time.perf_counter() - started
                proc.wait(CHECK_TIMEOUT)
            except (queue.Empty, subprocess.TimeoutExpired) as exc:
                proc.kill()
                proc.wait()
                raise BuildFailed(f"{build.cli} check --url {server.url} hung") from exc
            if not build.cli_has_console:
                elapsed = time.perf_counter() - started
            reader.join(5)
            err = proc.stderr.read() if proc.stderr else ""
            out = first + "".join(iter_queue(lines))
            if proc.returncode != 0 or (build.cli_has_console and "operational" not in first):
                raise BuildFailed(f"{build.cli} check --url {server.url}: exit "
                                  f"{proc.returncode}, printed {out!r} {err!r}")
            times.append(elapsed)
    return times


def _read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")  # end of output: an empty "line" (a real line ends with a newline)


def iter_queue(q: queue.Queue[str]) -> Iterator[str]:
    while True:
        try:
            yield q.get_nowait()
        except queue.Empty:
            return


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def package(build: Frozen) -> Path:
    """The one-folder build as one download (archives keep exec bits and symlinks, which a
    CI artifact upload would lose)."""
    arch = platform.machine().lower() or "unknown"
    if LINUX:
        return linux_tarball(build, arch)
    if MACOS:
        target = DIST / f"{bundle.APP_ID}-macos-{arch}.zip"
        target.unlink(missing_ok=True)
        # ditto keeps the .app's symlinks and extended attributes (as Finder's zip does).
        run_checked(["ditto", "-c", "-k", "--keepParent", str(build.size_path), str(target)])
        return target
    base = DIST / f"{bundle.APP_ID}-windows-{arch}"
    return Path(shutil.make_archive(str(base), "zip", root_dir=DIST, base_dir=bundle.APP_ID))


def disk_image(build: Frozen) -> Path:
    """macOS: the .app in a compressed, read-only disk image (hdiutil, which every Mac has),
    with a link to /Applications beside it so it can be dragged there."""
    arch = platform.machine().lower() or "unknown"
    target = DIST / f"{bundle.APP_ID}-macos-{arch}.dmg"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="cst-dmg-") as tmp:
        content = Path(tmp) / bundle.APP_NAME
        content.mkdir()
        # ditto keeps the bundle's symlinks, modes and extended attributes.
        run_checked(["ditto", str(build.size_path), str(content / build.size_path.name)])
        (content / "Applications").symlink_to("/Applications")
        argv = ["hdiutil", "create", "-volname", bundle.APP_NAME, "-srcfolder", str(content),
                "-fs", "HFS+", "-format", "UDZO", "-ov", str(target)]
        for attempt in range(1, 4):  # hdiutil now and then says "Resource busy": try again
            try:
                run_checked(argv, quiet=True)
                break
            except BuildFailed:
                if attempt == 3:
                    raise
                log(f"hdiutil create failed (attempt {attempt} of 3); trying again in 5 s")
                time.sleep(5)
    return target


def linux_tarball(build: Frozen, arch: str) -> Path:
    """dist/claude-status-tray-linux-<arch>.tar.gz: the one-folder build, the .desktop
    file, the 256 px icon and the install note, all under claude-status-tray/."""
    target = DIST / f"{bundle.APP_ID}-linux-{arch}.tar.gz"
    libc = " ".join(platform.libc_ver()).strip() or "glibc"
    note = (bundle.PACKAGING / "INSTALL.txt").read_text(encoding="utf-8")
    note = note.replace("@VERSION@", bundle.version()).replace("@ARCH@", arch)
    note = note.replace("@LIBC@", libc)
    with tempfile.TemporaryDirectory(prefix="cst-tar-") as tmp:
        extra = Path(tmp)
        (extra / "INSTALL.txt").write_text(note, encoding="utf-8")
        top = bundle.APP_ID

        def norm(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info

        with tarfile.open(target, "w:gz", compresslevel=6) as tar:
            tar.add(build.size_path, arcname=top, filter=norm)
            tar.add(extra / "INSTALL.txt", arcname=f"{top}/INSTALL.txt", filter=norm)
            tar.add(bundle.PACKAGING / f"{bundle.APP_ID}.desktop",
                    arcname=f"{top}/{bundle.APP_ID}.desktop", filter=norm)
            tar.add(bundle.ICONS / f"{bundle.APP_ID}-256.png",
                    arcname=f"{top}/{bundle.APP_ID}.png", filter=norm)
    return target


# -- helpers -------------------------------------------------------------------------------


def run_checked(argv: Sequence[str], *, quiet: bool = False) -> None:
    result = subprocess.run(list(argv), cwd=ROOT, capture_output=quiet, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stdout or "") + (result.stderr or "") if quiet else ""
        raise BuildFailed(f"{' '.join(argv)} failed ({result.returncode})\n{detail}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python build/build.py", description=__doc__.split("\n")[0])
    p.add_argument("--onefolder-only", action="store_true",
                   help="skip the one-file build (CI: build once, test that build)")
    p.add_argument("--gi", choices=["auto", "1", "0"], default="auto",
                   help="bundle PyGObject (Linux tray menus): auto = when importable (default)")
    p.add_argument("--no-trim", action="store_true",
                   help="PyInstaller's defaults, no trimming (to measure what trimming saves)")
    p.add_argument("--clean", action="store_true", help="PyInstaller --clean (no cache)")
    p.add_argument("--runs", type=int, default=5, help="start-up timing runs (default 5)")
    p.add_argument("--deb", action="store_true",
                   help="Linux: also package the one-folder build as a .deb (dpkg-deb)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.deb and not LINUX:
        log("--deb: Debian packages are built on Linux only")
        return 2
    if Path.cwd().resolve() != ROOT:
        os.chdir(ROOT)
    kinds = ["one-folder"] if args.onefolder_only else ["one-folder", "one-file"]
    os.environ["CST_WITH_GI"] = args.gi  # read by the spec through bundle.with_gi()
    report: dict[str, object] = {
        "version": bundle.version(), "platform": sys.platform, "arch": platform.machine(),
        "trim": not args.no_trim, "gi": bundle.with_gi(),
    }
    started = time.monotonic()
    try:
        make_icons()
        for kind in kinds:
            pyinstaller(kind, trim=not args.no_trim, gi=args.gi, clean=args.clean)
            build = frozen(kind)
            for exe in (build.cli, build.windowed):
                if exe is not None and not exe.exists():
                    raise BuildFailed(f"{kind}: {exe} was not produced")
            smoke_test(build)
            times = startup_times(build, max(1, args.runs))
            size = tree_size(build.size_path)
            report[kind] = {
                "path": str(build.size_path.relative_to(ROOT)),
                "bytes": size,
                "startup_s": [round(t, 3) for t in times],
                "startup_median_s": round(statistics.median(times), 3),
            }
        archive = package(frozen("one-folder"))
        report["archive"] = {"path": str(archive.relative_to(ROOT)),
                             "bytes": archive.stat().st_size}
        if MACOS:
            image = disk_image(frozen("one-folder"))
            report["disk_image"] = {"path": str(image.relative_to(ROOT)),
                                    "bytes": image.stat().st_size}
        if args.deb:
            started_deb = time.monotonic()
            package_file = deb.build_deb(DIST / bundle.APP_ID, DIST, bundle.version())
            log(f"deb: {package_file.name} in {time.monotonic() - started_deb:.0f} s")
            report["deb"] = {"path": str(package_file.relative_to(ROOT)),
                             "bytes": package_file.stat().st_size}
    except (BuildFailed, deb.DebFailed) as exc:
        log(f"FAILED: {exc}")
        return 1
    report["build_s"] = round(time.monotonic() - started, 1)
    (DIST / "budgets.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_budgets(report, kinds)
    return 0


def print_budgets(report: dict[str, object], kinds: Sequence[str]) -> None:
    log(f"budgets ({report['platform']} {report['arch']}, trim={report['trim']}, "
        f"PyGObject={report['gi']}):")
    for kind in kinds:
        entry = report[kind]
        assert isinstance(entry, dict)
        log(f"  {kind:<10} {entry['path']}: {mib(entry['bytes'])}; start-up to the first "
            f"status line (check, loopback): median {entry['startup_median_s']:.2f} s of "
            f"{entry['startup_s']}")
    for key, label in (("archive", "archive"), ("disk_image", "disk image"), ("deb", "deb")):
        entry = report.get(key)
        if isinstance(entry, dict):
            log(f"  {label:<10} {entry['path']}: {mib(entry['bytes'])}")
    log(f"  total build time {report['build_s']:.0f} s; written to dist/budgets.json")


if __name__ == "__main__":
    sys.exit(main())
