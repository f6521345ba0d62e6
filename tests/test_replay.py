"""``replay``: the alert rules over Claude's real 2026 incident history (issue 10's figures and
issue 12's model filter), the JSONL input's rules, and the command end to end as a process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

from tests import faultserver as fs
from tests.shared import need
from tray_app.app import replay_setup
from tray_app.core.levels import Level
from tray_app.core.models import affects, mentions, parse_filter
from tray_app.core.policy import Kind
from tray_app.core.timeline import iso, rebuild
from tray_app.demo import summary
from tray_app.replay import Line, ReplayInputError, from_rebuilt, parse_lines, run

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import archive_replay as archive  # noqa: E402

T0 = 1_800_000_000.0
MIN = 60.0


def needs_archive() -> None:
    need(archive.ARCHIVE)


@pytest.fixture(scope="module")
def replayed() -> tuple[Any, Any]:
    needs_archive()
    return archive.run_archive(archive.load_2026())


# --- issue 10, "Done when": Claude's 2026 archive at the default settings --------------------


def test_the_archive_figures_hold(replayed: tuple[Any, Any]) -> None:
    result, rebuilt = replayed
    f = archive.figures(result, rebuilt, result.poll_times)
    report = "\n".join(f.lines())
    assert f.severe_shown >= 75, report
    assert f.severe_missed == [], report  # each major/critical gets its own alert in a poll
    assert f.announced >= 200 and f.unresolved_told == [], report  # ... and its end told
    assert f.delayed == [], report  # no new incident waits for the flap limit
    assert f.monitoring_off_green_h == 0 and f.monitoring_stretches == 0, report
    assert f.lengths_checked >= 200 and f.length_errors == [], report  # within 2 minutes
    assert f.busiest_24h <= 16, report


def test_the_archive_replays_in_seconds_and_reads_every_poll(replayed: tuple[Any, Any]
                                                             ) -> None:
    result, rebuilt = replayed
    days = (result.end - result.start) / 86400
    assert days > 200
    # Every 60 s when quiet, every 30 s while something is open: no gaps in between.
    gaps = [b - a for a, b in zip(result.poll_times, result.poll_times[1:], strict=False)]
    assert max(gaps) <= 60.5 and len(result.poll_times) > days * 1440


def test_the_two_stretches_the_issue_names(replayed: tuple[Any, Any]) -> None:
    result, _ = replayed
    lo, hi = archive.parse_time("2026-06-13T00:00:00Z"), archive.parse_time("2026-07-02T00:00:00Z")
    assert lo is not None and hi is not None
    told = [s for s in result.sent if lo <= s.at < hi]
    # An 18-day notice left in monitoring no longer swallows the 23 incidents after it.
    assert len(told) > 30
    critical = [s for s in told if "multiple models" in s.note.title and s.note.kind is Kind.DOWN]
    assert critical, "2026-06-23: the critical 'elevated error rate across multiple models'"


# --- issue 12: replay --models sonnet over the archive -----------------------------------------


def test_a_sonnet_filter_alerts_for_sonnet_and_model_less_incidents_only() -> None:
    needs_archive()
    result, rebuilt = archive.run_archive(archive.load_2026(), models="sonnet")
    sonnet = parse_filter("sonnet")
    alerted = {i for s in result.sent if s.note.kind not in (Kind.RESOLVED, Kind.RECOVERED)
               for i in s.note.incidents}
    checked = 0
    for inc in rebuilt.incidents:
        active = [u for u in inc.updates if u.status in ("investigating", "identified")]
        if not active or inc.impact in ("none", "") or not inc.shown_open:
            continue
        if inc.closed_at is not None and inc.closed_at - active[0].at < 2 * MIN:
            continue  # gone before a poll could see it
        checked += 1
        ours = affects(sonnet, mentions(inc.name, [u.body for u in inc.updates]))
        assert (inc.id in alerted) is ours, (inc.id, inc.name)
    assert checked > 150
    spared = sum(1 for i in rebuilt.incidents if i.impact not in ("none", "") and not affects(
        sonnet, mentions(i.name, [u.body for u in i.updates])))
    assert spared >= 100


# --- the JSONL input ------------------------------------------------------------------------


def jsonl(*rows: dict[str, Any]) -> list[str]:
    return [json.dumps(r) for r in rows]


@pytest.mark.parametrize(("text", "message"), [
    (["not json"], "replay.jsonl:1: not JSON"),
    (['{"at": "2026-01-01T00:00:00Z", "end": true}', "[1]"], "replay.jsonl:2: expected a JSON"),
    (['{"summary": {}}'], 'replay.jsonl:1: "at" must be an ISO 8601 time'),
    (['{"at": "2026-01-02T00:00:00Z", "end": true}', '{"at": "2026-01-01T00:00:00Z", "end": true}'],
     "replay.jsonl:2: out of order"),
    (['{"at": "2026-01-01T00:00:00Z", "sumary": {}}'], "replay.jsonl:1: unknown key 'sumary'"),
    (['{"at": "2026-01-01T00:00:00Z", "end": true, "offline": true}'],
     "replay.jsonl:1: needs exactly one of"),
    (['{"at": "2026-01-01T00:00:00Z", "asleep": true}'], "replay.jsonl:1: the machine can't"),
    (['{"at": "2026-01-01T00:00:00Z", "summary": []}'], 'replay.jsonl:1: "summary" must be'),
    (['{"at": "2026-01-01T00:00:00Z", "offline": "yes"}'], 'replay.jsonl:1: "offline" must be'),
    ([""], "replay.jsonl: no lines"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_names_its_line(text: list[str], message: str) -> None:
    with pytest.raises(ReplayInputError) as caught:
        parse_lines(text, "replay.jsonl")
    assert str(caught.value).startswith(message), str(caught.value)


def replay(rows: list[dict[str, Any]], **settings: Any) -> Any:
    monitor, source, prefs = replay_setup(url="http://127.0.0.1:9", **settings)
    return run(parse_lines(jsonl(*rows)), monitor, source, prefs=prefs)


def at(minutes: float) -> str:
    return iso(T0 + minutes * MIN)


def test_polls_follow_the_live_schedule_and_failures_back_off() -> None:
    result = replay([
        {"at": at(0), "summary": summary(Level.OPERATIONAL)},
        {"at": at(10), "error": "timed out"},
        {"at": at(60), "summary": summary(Level.OPERATIONAL)},
        {"at": at(70), "end": True},
    ], interval=60)
    gaps = [round(b - a) for a, b in zip(result.poll_times, result.poll_times[1:], strict=False)]
    assert gaps[:9] == [60] * 9  # every interval
    assert 120 in gaps and 240 in gaps and max(gaps) <= 600  # backing off while failing
    assert result.sent == []  # failures never notify


def test_offline_and_an_error_turn_grey_and_never_notify() -> None:
    for line in ({"offline": True}, {"error": "HTTP 500"}):
        result = replay([{"at": at(0), "summary": summary(Level.OPERATIONAL)},
                         {"at": at(5), **line}, {"at": at(30), "end": True}])
        assert result.levels[-1][1] is Level.UNKNOWN and result.sent == []


def test_asleep_across_an_outage_tells_a_lower_bound() -> None:
    result = replay([
        {"at": at(0), "summary": summary(Level.OPERATIONAL)},
        {"at": at(5), "summary": summary(Level.MAJOR_OUTAGE)},
        {"at": at(8), "asleep": True},
        {"at": at(8 * 60), "summary": summary(Level.OPERATIONAL)},
        {"at": at(8 * 60 + 10), "end": True},
    ])
    kinds = [(s.note.kind, s.note.title) for s in result.sent]
    assert kinds[0][0] is Kind.DOWN
    assert kinds[1] == (Kind.RECOVERED, "Claude is back")
    assert "at least" in result.sent[1].note.body
    assert result.sent[1].at - T0 < 8 * 3600 + 3 * MIN  # at once after the wake


def test_notify_on_and_the_pause_apply_as_live(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('notify_on = ["down", "recovered"]\n', encoding="utf-8")
    rows = [
        {"at": at(0), "summary": summary(Level.OPERATIONAL)},
        {"at": at(5), "summary": summary(Level.DEGRADED)},  # not wanted: not told, no "back"
        {"at": at(20), "summary": summary(Level.OPERATIONAL)},
        {"at": at(40), "summary": summary(Level.MAJOR_OUTAGE)},
        {"at": at(60), "summary": summary(Level.OPERATIONAL)},
        {"at": at(70), "end": True},
    ]
    assert [s.note.kind for s in replay(rows, config=config).sent] == [Kind.DOWN,
                                                                       Kind.RECOVERED]
    until = iso(T0 + 50 * MIN)
    config.write_text(f'paused_until = {until}\n', encoding="utf-8")
    assert [s.note.kind for s in replay(rows, config=config).sent] == [Kind.RECOVERED]


# --- the command, as a process ---------------------------------------------------------------


def app(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tray_app", "replay", *args],
                          env=fs.isolated_env(tmp), input=stdin, capture_output=True, text=True,
                          timeout=60)


def history_file(tmp: Path) -> Path:
    path = tmp / "history.jsonl"
    path.write_text("\n".join(jsonl(
        {"at": at(0), "summary": summary(Level.OPERATIONAL)},
        {"at": at(5), "summary": summary(Level.PARTIAL_OUTAGE)},
        {"at": at(35), "summary": summary(Level.OPERATIONAL)},
        {"at": at(60), "end": True},
    )) + "\n", encoding="utf-8")
    return path


def test_the_report(tmp_path: Path) -> None:
    result = app(tmp_path, str(history_file(tmp_path)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 notifications" in out
    assert "down         Claude is partly down: " in out
    assert "recovered    Claude is back, after 30 min" in out
    assert "By kind: down 1, recovered 1" in out
    assert "Busiest day:" in out and "per month:" in out
    # Nothing of the user's was written: no history, no state.
    data = fs.app_paths(fs.isolated_env(tmp_path)).data
    assert not data.exists() or not any(data.iterdir())


def test_jsonl_from_stdin_prints_watchs_events_with_their_time(tmp_path: Path) -> None:
    result = app(tmp_path, "-", "--jsonl", stdin=history_file(tmp_path).read_text("utf-8"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["event"] for e in events} == {"poll", "level", "notification"}
    assert all("at" in e for e in events)
    notes = [e for e in events if e["event"] == "notification"]
    # The poll due at the change reads it: down at 5 min, back (confirmed) at 36.
    assert [(n["kind"], n["at"]) for n in notes] == [
        ("down", iso(T0 + 5 * MIN)[:19] + "Z"), ("recovered", iso(T0 + 36 * MIN)[:19] + "Z")]
    assert notes[0]["incidents"] == ["demopartial_"] == notes[1]["incidents"]


def test_bad_input_is_one_line_and_exit_64(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"at": "2026-01-01T00:00:00Z", "end": true}\nnope\n', encoding="utf-8")
    result = app(tmp_path, str(bad))
    assert result.returncode == 64
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"claude-status-tray: error: {bad}:2: not JSON")
    assert "Traceback" not in result.stderr
    assert app(tmp_path).returncode == 64  # neither a file nor --incidents
    assert app(tmp_path, str(tmp_path / "missing.jsonl")).returncode == 64


def incidents_doc() -> dict[str, Any]:
    def incident(iid: str, name: str, start: float, end: float) -> dict[str, Any]:
        comp = [{"code": "rwppv331jlwc", "name": "claude.ai", "old_status": "operational",
                 "new_status": "partial_outage"}]
        back = [dict(comp[0], old_status="partial_outage", new_status="operational")]
        return {"id": iid, "name": name, "status": "resolved", "impact": "major",
                "created_at": iso(start), "started_at": iso(start), "resolved_at": iso(end),
                "shortlink": f"https://stspg.io/{iid}",
                "components": [{"id": "rwppv331jlwc", "name": "claude.ai"}],
                "incident_updates": [
                    {"status": "resolved", "body": "Fixed.", "created_at": iso(end),
                     "affected_components": back},
                    {"status": "investigating", "body": "Looking.", "created_at": iso(start),
                     "affected_components": comp}]}
    return {"page": {"id": "tymt9n04zgry", "name": "Claude"}, "incidents": [
        incident("b", "Elevated errors on Claude Opus 4.8", T0 + 3 * 3600, T0 + 4 * 3600),
        incident("a", "Elevated errors on Claude Sonnet 5", T0, T0 + 1800)]}


def test_incidents_from_a_file(tmp_path: Path) -> None:
    doc = tmp_path / "incidents.json"
    doc.write_text(json.dumps(incidents_doc()), encoding="utf-8")
    result = app(tmp_path, "--incidents", str(doc), "--jsonl")
    assert result.returncode == 0, result.stderr
    notes = [json.loads(x) for x in result.stdout.splitlines() if '"notification"' in x]
    assert [(n["kind"], n["incidents"]) for n in notes] == [
        ("down", ["a"]), ("recovered", ["a"]), ("down", ["b"]), ("recovered", ["b"])]
    sonnet = app(tmp_path, "--incidents", str(doc), "--models", "sonnet", "--jsonl")
    notes = [json.loads(x) for x in sonnet.stdout.splitlines() if '"notification"' in x]
    assert [n["incidents"] for n in notes] == [["a"], ["a"]]


@pytest.fixture
def incidents_server() -> Iterator[str]:
    body = json.dumps(incidents_doc()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            ok = self.path == "/api/v2/incidents.json"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_incidents_from_the_watched_page_or_a_url(tmp_path: Path, incidents_server: str
                                                  ) -> None:
    for args in (["--incidents", "--url", incidents_server],
                 ["--incidents", incidents_server + "/api/v2/incidents.json"]):
        result = app(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert "By kind: down 2, recovered 2" in result.stdout
    result = app(tmp_path, "--incidents", "http://example.com/api/v2/incidents.json")
    assert result.returncode == 64 and "plain http is refused" in result.stderr


def test_from_rebuilt_starts_calm_and_ends_after_the_last_change() -> None:
    lines = from_rebuilt(rebuild(incidents_doc()))
    assert lines[0].kind == "summary" and lines[0].value["incidents"] == []
    assert lines[-1] == Line(len(lines) - 1, T0 + 4 * 3600 + 6 * 3600, "end", True)
