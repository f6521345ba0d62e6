"""Logging, configured once: a rotating file (1 MiB x 3), the thread name in every line, no
duplicate handlers, and no third-party request lines."""

from __future__ import annotations

import logging
import logging.handlers
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app import logs
from tray_app.demo import StatusServer
from tray_app.http import HttpClient, Response

NOISY = ("httpx", "httpcore", "PIL", "asyncio")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in NOISY}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, lvl in noisy.items():
        logging.getLogger(name).setLevel(lvl)


def ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_cst", False)]


def flush() -> None:
    for h in ours():
        h.flush()


def test_a_rotating_file_of_1_mib_times_3(tmp_path: Path) -> None:
    path = logs.setup(tmp_path / "logs")
    assert path == tmp_path / "logs" / "claude-status-tray.log"
    (handler,) = ours()
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert (handler.maxBytes, handler.backupCount) == (1024 * 1024, 3)
    log = logging.getLogger("tray_app.test")
    chunk = "x" * 100_000
    for n in range(60):  # about 6 MiB
        log.info("record %d %s", n, chunk)
    flush()
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["claude-status-tray.log", "claude-status-tray.log.1",
                     "claude-status-tray.log.2", "claude-status-tray.log.3"]
    for p in path.parent.iterdir():
        assert p.stat().st_size <= 1024 * 1024 + 101_000
    assert "record 59 " in path.read_text(encoding="utf-8")


def test_every_line_names_its_thread(tmp_path: Path) -> None:
    path = logs.setup(tmp_path)
    assert path is not None
    log = logging.getLogger("tray_app.poller")

    def work() -> None:
        log.info("polled %s", "claude")

    t = threading.Thread(target=work, name="poller")
    t.start()
    t.join()
    log.warning("from the main thread")
    flush()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert "INFO [poller] tray_app.poller: polled claude" in lines[0]
    assert "WARNING [MainThread] tray_app.poller: from the main thread" in lines[1]


def test_setup_twice_adds_no_duplicate_handlers(tmp_path: Path) -> None:
    path = logs.setup(tmp_path)
    logs.setup(tmp_path)
    logs.setup(tmp_path, verbose=True)
    logs.setup(tmp_path)
    assert path is not None
    assert len(ours()) == 1
    logging.getLogger("tray_app.test").info("once")
    flush()
    assert path.read_text(encoding="utf-8").count("once") == 1


def test_verbose_adds_the_terminal_and_debug(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(tmp_path, verbose=True)
    assert logging.getLogger().level == logging.DEBUG
    assert len(ours()) == 2
    logs.setup(tmp_path)
    assert logging.getLogger().level == logging.INFO
    assert len(ours()) == 1
    logging.getLogger("tray_app.test").debug("hidden detail")
    logging.getLogger("tray_app.test").info("shown")
    flush()
    text = (tmp_path / "claude-status-tray.log").read_text(encoding="utf-8")
    assert "shown" in text and "hidden detail" not in text


def test_no_http_request_lines_at_info(tmp_path: Path) -> None:
    path = logs.setup(tmp_path)
    assert path is not None
    with StatusServer() as server:
        client = HttpClient(total_timeout=5)
        try:
            response = client.request(server.url + "/api/v2/summary.json")
            assert isinstance(response, Response) and response.status == 200
        finally:
            client.close()
    logging.getLogger("tray_app.test").info("after the request")
    flush()
    text = path.read_text(encoding="utf-8")
    assert "after the request" in text
    assert "HTTP Request" not in text and "httpx" not in text and "httpcore" not in text
    assert server.url not in text


def test_an_unwritable_log_folder_is_a_warning_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be")
    assert logs.setup(blocker) is None
    assert "can't write logs" in capsys.readouterr().err
    assert ours() == []


def test_no_log_folder_at_all(tmp_path: Path) -> None:
    assert logs.setup(None) is None
    assert ours() == []
