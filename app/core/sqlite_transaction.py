"""One write transaction on a SQLite connection opened in autocommit mode (``isolation_level=None``).

``BEGIN IMMEDIATE`` takes the write lock up front, so two processes writing the same database wait
for each other (up to the connection's busy timeout) instead of failing half-way; an exception
rolls everything back. The library manifest and the conversation history both write this way.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


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
