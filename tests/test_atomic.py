"""Atomic writes (temporary file, fsync, rename) and keeping a bad file aside."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tray_app.atomic import keep_aside, write_atomic


def test_write_atomic_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "state.json"
    write_atomic(target, b'{"a": 1}')
    assert target.read_bytes() == b'{"a": 1}'
    assert os.listdir(target.parent) == ["state.json"]


def test_write_atomic_replaces_by_rename_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old content, longer than the new one")
    for n in range(5):
        before = target.stat().st_ino
        write_atomic(target, f"new {n}".encode())
        # A rename puts a new inode in place; writing in place would keep the old one.
        assert target.stat().st_ino != before
        assert target.read_bytes() == f"new {n}".encode()
    assert sorted(os.listdir(tmp_path)) == ["state.json"]


def test_a_failed_write_keeps_the_old_content_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"good")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"half of something new")
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["state.json"]


def test_keep_aside_moves_the_file_with_a_broken_suffix(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("url = [")
    moved = keep_aside(bad)
    assert moved is not None and moved.parent == tmp_path
    assert re.fullmatch(r"config\.toml\.broken-\d{8}-\d{6}", moved.name)
    assert moved.read_text() == "url = ["
    assert not bad.exists()


def test_keep_aside_never_overwrites_an_earlier_copy(tmp_path: Path) -> None:
    bad = tmp_path / "history.json"
    kept = []
    for n in range(3):  # within the same second: the names must still differ
        bad.write_text(f"broken {n}")
        kept.append(keep_aside(bad))
    assert len({p for p in kept if p is not None}) == 3
    assert sorted(p.read_text() for p in kept if p is not None) == [
        "broken 0", "broken 1", "broken 2"
    ]


def test_keep_aside_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert keep_aside(tmp_path / "nothing.json") is None
    assert os.listdir(tmp_path) == []


def test_keep_aside_moves_companions_to_the_same_name(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    for suffix, text in (("", "main"), ("-wal", "journal"), ("-shm", "index")):
        (tmp_path / f"store.sqlite3{suffix}").write_text(text)
    moved = keep_aside(db, ("-wal", "-shm"))
    assert moved is not None
    assert sorted(os.listdir(tmp_path)) == sorted(
        [moved.name, moved.name + "-shm", moved.name + "-wal"]
    )
    assert Path(f"{moved}-wal").read_text() == "journal"
