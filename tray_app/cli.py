"""Command line: ``claude-status-tray [check|watch|wait|history] ...``.

With no subcommand it runs the tray app. Exit codes for ``check``: 0 operational, 1 degraded
or maintenance, 2 partial or major outage, 3 unknown; 64 for usage errors and bad input (never
2, so a script can trust that 2 means an outage); ``wait`` exits 124 on timeout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from . import APP_ID, __version__
from .app import EX_USAGE, AppPaths, Options, UsageError

REPLAY_HELP = """\
Replays a recorded history of a status page through the app's own poll schedule, parsing,
assessment and alert rules, with a simulated clock: a year replays in seconds. It prints the
notifications you would have been sent with these settings (notify_on, pauses, --models),
then counts by kind, the busiest day and the outage time per month (--jsonl: the events of
watch --jsonl, each with "at"). Nothing is shown, and your history, state and settings are
neither read nor written (only the config file is read).

The JSONL input, in time order, one line per change:
  {"at": "2026-03-27T14:05:00Z", "summary": {...}}   the page serves this summary.json from then
  {"at": "...", "error": "reason"}                   every poll fails with that reason
  {"at": "...", "offline": true}                     this machine has no connection
  {"at": "...", "asleep": true}                      asleep until the next line (its wake)
  {"at": "...", "end": true}                         the replay ends

--incidents rebuilds the page from each incident's updates (status, and components where the
update names them), and the app starts an hour before the first one. What it can't know: an
impact raised during an incident reads as the final impact from the start; renamed incidents
and components read by their final names; changes made without an update, scheduled
maintenances, and incidents older than the document's (incidents.json holds the newest 50).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise argparse.ArgumentTypeError("must be a whole number of days from 1 to 3650")
    return int(text)


def _common(p: argparse.ArgumentParser, *, interval: bool = True, demo: bool = True) -> None:
    s = argparse.SUPPRESS
    p.add_argument("--url", default=s, help="status page (default https://status.claude.com)")
    if interval:
        p.add_argument("--interval", type=_seconds, default=s, metavar="S",
                       help="seconds between checks (default 60; at least 30 for remote pages)")
    p.add_argument("--components", default=s, metavar="NAMES",
                   help="comma-separated component names to watch (any case)")
    p.add_argument("--models", default=s, metavar="NAMES",
                   help='the Claude models you use, e.g. "sonnet, haiku 4.5": incidents about '
                        "only other models are listed but don't alert or colour the icon")
    if demo:
        p.add_argument("--demo", action="store_true", default=s,
                       help="watch a built-in page on 127.0.0.1 that cycles through every state")
    p.add_argument("--config", type=Path, default=s, metavar="FILE",
                   help="config file (default: the platform's user config directory)")
    p.add_argument("-v", "--verbose", action="store_true", default=s,
                   help="log to the terminal too")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog=APP_ID, description="Shows whether Claude is up, in the tray and by "
                  "notification. With no command, runs the tray app.")
    top.add_argument("--version", action="version", version=f"{APP_ID} {__version__}")
    top.add_argument("--selftest", action="store_true",
                     help="check that every part the app needs loads here; no network needed")
    _common(top)
    sub = top.add_subparsers(dest="command", parser_class=_Parser)

    check = sub.add_parser("check", help="check once, print the status, exit with its code")
    _common(check, interval=False, demo=False)
    fmt = check.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--waybar", action="store_true",
                     help="print the JSON waybar/polybar custom modules read")

    watch = sub.add_parser("watch", help="the headless monitor: print changes, notify")
    _common(watch)
    watch.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    watch.add_argument("--no-notify", action="store_true", help="no desktop notifications")

    wait = sub.add_parser("wait", help="block until the service is operational (exit 0), "
                          "or exit 124 on timeout")
    _common(wait, demo=False)
    wait.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS")

    replay = sub.add_parser(
        "replay", help="replay a recorded history of a status page through the alert rules",
        formatter_class=argparse.RawDescriptionHelpFormatter, description=REPLAY_HELP)
    replay.add_argument("file", nargs="?", default=None, metavar="FILE|-",
                        help="the history as JSONL, one change per line (- for stdin)")
    replay.add_argument("--incidents", nargs="?", const="", default=None, metavar="FILE|URL",
                        help="rebuild the history from a Statuspage incidents.json (a file, a "
                             "URL, or with no value the watched page's own: its newest 50)")
    _common(replay, demo=False)
    replay.add_argument("--jsonl", action="store_true",
                        help="print the events watch --jsonl prints, each with its time")

    history = sub.add_parser("history", help="outages recorded on this machine")
    history.add_argument("--json", action="store_true")
    history.add_argument("--days", type=_days, default=7)
    history.add_argument("--config", type=Path, default=argparse.SUPPRESS, metavar="FILE")
    return top


def _options(ns: argparse.Namespace) -> Options:
    return Options(
        url=getattr(ns, "url", None),
        interval=getattr(ns, "interval", None),
        components=getattr(ns, "components", None),
        demo=bool(getattr(ns, "demo", False)),
        config_path=getattr(ns, "config", None),
        verbose=bool(getattr(ns, "verbose", False)),
        models=getattr(ns, "models", None),
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None, paths: AppPaths | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    ns = parser().parse_args(argv)
    opts = _options(ns)
    from . import app, logs

    try:
        paths = paths or AppPaths.default()
        logs.setup(paths.logs, verbose=opts.verbose)
        if ns.selftest:
            from .selftest import run_selftest

            return run_selftest(out)
        if ns.command == "check":
            return app.run_check(opts, paths, out, err, as_json=ns.json, as_waybar=ns.waybar)
        if ns.command == "watch":
            return app.run_watch(opts, paths, out, err, jsonl=ns.jsonl, notify=not ns.no_notify)
        if ns.command == "wait":
            return app.run_wait(opts, paths, out, err, timeout=ns.timeout)
        if ns.command == "replay":
            return app.run_replay(opts, paths, out, err, file=ns.file, incidents=ns.incidents,
                                  jsonl=ns.jsonl)
        if ns.command == "history":
            return app.run_history(opts, paths, out, err, as_json=ns.json, days=ns.days)
        return app.run_tray(opts, paths, out, err)
    except UsageError as exc:
        print(f"{APP_ID}: error: {exc}", file=err)
        return EX_USAGE
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    _replace_what_cannot_be_printed()
    sys.exit(main())


def _replace_what_cannot_be_printed() -> None:
    """A status page may name things in any script (and `history` prints "≥"), but a Windows
    pipe (cp1252) or a C locale can't encode every character: print "?" for those instead of
    dying with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
