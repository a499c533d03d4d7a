"""How the app's SQLite databases (the library manifest, the conversation history) are opened and
written, so that several threads and processes can share one file.

``open_shared`` opens a database in autocommit mode (``isolation_level=None``) with a WAL journal,
so readers never wait for a writer, and a busy timeout, so writers queue for each other instead of
failing. Every write then goes through ``immediate_transaction``: ``BEGIN IMMEDIATE`` takes the
write lock up front, so two processes wait for each other rather than failing half-way, and an
exception rolls everything back.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path


def open_shared(path: Path, busy_timeout_s: float, schema: Sequence[str],
                schema_version: int) -> sqlite3.Connection:
    """Open (creating) the database at ``path`` for sharing; usable from any thread (the caller
    serialises its use). ``schema`` holds idempotent statements (``CREATE … IF NOT EXISTS``), run
    in one transaction; a new file is stamped with ``schema_version`` (``PRAGMA user_version``).

    Raises ``sqlite3.Error`` (not a database, locked past the timeout, read-only) for the caller
    to translate into its own message.
    """
    connection = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None,
                                 check_same_thread=False)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        with immediate_transaction(connection):
            for statement in schema:
                connection.execute(statement)
            if connection.execute("PRAGMA user_version").fetchone()[0] == 0:
                connection.execute(f"PRAGMA user_version = {schema_version}")
    except BaseException:
        connection.close()
        raise
    return connection


def insert_row(connection: sqlite3.Connection, statement: str, parameters: Sequence[object]) -> int:
    """Run one ``INSERT`` statement and return the ``rowid`` of the row it added."""
    row_id = connection.execute(statement, parameters).lastrowid
    if row_id is None:
        raise sqlite3.ProgrammingError(f"not an INSERT, so no row id: {statement}")
    return row_id


@contextlib.contextmanager
def immediate_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one transaction: committed when it ends, rolled back if it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
