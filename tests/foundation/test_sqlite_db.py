"""How the app's SQLite databases are opened and written (foundation.sqlite_db)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from foundation.sqlite_db import immediate_transaction, open_shared

SCHEMA = ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",)


def test_a_new_database_is_shared_ready_and_stamped_with_its_version(tmp_path: Path) -> None:
    connection = open_shared(tmp_path / "notes.sqlite3", 2.5, SCHEMA, 3)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
    connection.close()


def test_opening_again_keeps_the_rows_and_the_version_it_was_made_with(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    first = open_shared(path, 1.0, SCHEMA, 1)
    with immediate_transaction(first):
        first.execute("INSERT INTO notes (text) VALUES ('kept')")
    first.close()
    again = open_shared(path, 1.0, SCHEMA, 2)
    assert again.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    assert again.execute("PRAGMA user_version").fetchone()[0] == 1
    again.close()


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    connection = open_shared(tmp_path / "notes.sqlite3", 1.0, SCHEMA, 1)
    with pytest.raises(RuntimeError), immediate_transaction(connection):
        connection.execute("INSERT INTO notes (text) VALUES ('half')")
        raise RuntimeError("stopped half-way")
    assert connection.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    connection.close()


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"these are somebody's notes, not SQLite " * 200)
    before = path.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):
        open_shared(path, 1.0, SCHEMA, 1)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.sqlite3"]
