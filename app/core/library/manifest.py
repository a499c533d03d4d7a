"""The library's manifest: one SQLite database that records every model, safe to share between
processes.

The database runs in WAL mode with a busy timeout, so a second app window, a CLI command and a
download can read and write it at once: readers never wait, writers queue for up to
``BUSY_TIMEOUT_S``. Every write is one short ``BEGIN IMMEDIATE`` transaction. On a read-only disk
the manifest is opened read-only (``immutable``, since no lock file can be created there) and
every write raises ``LibraryReadOnlyError``.

Rows hold plain values; ``app.core.library.model_library`` gives them meaning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import (
    LibraryBusyError,
    LibraryError,
    LibraryReadOnlyError,
    LibraryUnavailableError,
)
from foundation.sqlite_db import immediate_transaction, open_shared

MANIFEST_NAME = "manifest.sqlite3"
BUSY_TIMEOUT_S = 15.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    owned INTEGER NOT NULL,
    state TEXT NOT NULL,
    source_json TEXT NOT NULL,
    quant_type TEXT,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    files_json TEXT NOT NULL,
    verified_at REAL,
    architecture TEXT,
    parameter_count INTEGER,
    context_length INTEGER,
    added_at REAL NOT NULL
)
"""
_COLUMNS = ("id", "kind", "name", "path", "owned", "state", "source_json", "quant_type",
            "size_bytes", "sha256", "files_json", "verified_at", "architecture",
            "parameter_count", "context_length", "added_at")


@dataclass(frozen=True)
class ManifestRow:
    """One model as stored. ``path`` is relative to the library root when ``owned`` (so the
    library folder can move to another disk), absolute otherwise. ``files`` lists, for each
    file, ``{"name", "size", "sha256", "mtime_ns"}`` (one entry for a GGUF, one per file for a
    checkpoint folder). ``state``: ``"adding"`` while files are moved in, ``"ready"``, or
    ``"corrupt"`` after a verification found other bytes."""

    id: str
    kind: str
    name: str
    path: str
    owned: bool
    state: str
    source: dict[str, Any]
    quant_type: str | None
    size_bytes: int
    sha256: str
    files: list[dict[str, Any]]
    verified_at: float | None
    architecture: str | None
    parameter_count: int | None
    context_length: int | None
    added_at: float

    def as_values(self) -> tuple[object, ...]:
        return (self.id, self.kind, self.name, self.path, int(self.owned), self.state,
                json.dumps(self.source, ensure_ascii=False), self.quant_type, self.size_bytes,
                self.sha256, json.dumps(self.files, ensure_ascii=False), self.verified_at,
                self.architecture, self.parameter_count,
                self.context_length, self.added_at)

    @classmethod
    def from_values(cls, values: sqlite3.Row) -> ManifestRow:
        record = dict(zip(_COLUMNS, values, strict=True))
        return cls(
            id=record["id"], kind=record["kind"], name=record["name"], path=record["path"],
            owned=bool(record["owned"]), state=record["state"],
            source=json.loads(record["source_json"]), quant_type=record["quant_type"],
            size_bytes=record["size_bytes"], sha256=record["sha256"],
            files=json.loads(record["files_json"]), verified_at=record["verified_at"],
            architecture=record["architecture"],
            parameter_count=record["parameter_count"], context_length=record["context_length"],
            added_at=record["added_at"],
        )


class Manifest:
    """The manifest of the library at ``root``; creates it (and ``root``) when ``create`` —
    with its missing parents only when ``create_parents``, so a chosen location on a disk that is
    not connected is reported rather than silently recreated elsewhere.

    Raises LibraryUnavailableError when ``root`` cannot be reached or created (a disk that is
    not mounted), LibraryError when the file is not a manifest. Thread-safe; one connection.
    """

    def __init__(self, root: Path, *, create: bool = True, create_parents: bool = True) -> None:
        self.root = Path(root)
        self._create_parents = create_parents
        self.path = self.root / MANIFEST_NAME
        self.read_only = False
        self._lock = threading.RLock()
        self._connection = self._connect(create)

    def _connect(self, create: bool) -> sqlite3.Connection:
        if not self.root.is_dir():
            if not create or not (self._create_parents or self.root.parent.is_dir()):
                raise LibraryUnavailableError(self._unreachable("the folder does not exist"))
            try:
                self.root.mkdir(parents=self._create_parents, exist_ok=True)
            except OSError as error:
                if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM) \
                        and self.root.parent.is_dir():
                    raise LibraryReadOnlyError(
                        f"cannot create the model library at {self.root}: the disk is read-only "
                        f"or not yours to write ({error.strerror}); choose another location"
                    ) from error
                raise LibraryUnavailableError(
                    self._unreachable(error.strerror or str(error))) from error
        try:
            if _writable(self.root):
                return self._open_writable()
            return self._open_read_only()
        except sqlite3.DatabaseError as error:
            raise LibraryError(
                f"{self.path} cannot be opened as the library's manifest ({error}); move it aside "
                "and import the models again"
            ) from error

    def _unreachable(self, why: str) -> str:
        return (f"the model library at {self.root} cannot be reached ({why}): if it is on an "
                "external or network disk, connect it; otherwise choose another library "
                "location in the settings")

    def _open_writable(self) -> sqlite3.Connection:
        with _translate_busy():
            return open_shared(self.path, BUSY_TIMEOUT_S, (_SCHEMA,), SCHEMA_VERSION)

    def _open_read_only(self) -> sqlite3.Connection:
        self.read_only = True
        if not self.path.is_file():
            connection = sqlite3.connect(":memory:", check_same_thread=False)
            connection.execute(_SCHEMA)
            return connection
        # mode=ro still needs the WAL index beside the database; where it cannot exist (nothing
        # can be created on the disk), immutable skips locking, which is safe as nobody can write.
        base = f"file:{urllib.parse.quote(str(self.path))}?mode=ro"
        for uri in (base, base + "&immutable=1"):
            try:
                connection = sqlite3.connect(uri, uri=True, isolation_level=None,
                                             check_same_thread=False)
                connection.execute("SELECT count(*) FROM models").fetchone()
                return connection
            except sqlite3.OperationalError:
                continue
        raise sqlite3.DatabaseError("the manifest cannot be opened read-only")

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # -- reads ----------------------------------------------------------------------------------

    def rows(self) -> list[ManifestRow]:
        with self._lock, _translate_busy():
            cursor = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM models ORDER BY added_at, id")
            return [ManifestRow.from_values(values) for values in cursor.fetchall()]

    def row(self, model_id: str) -> ManifestRow | None:
        with self._lock, _translate_busy():
            values = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM models WHERE id = ?", (model_id,)).fetchone()
        return ManifestRow.from_values(values) if values else None

    def rows_with_sha256(self, sha256: str) -> list[ManifestRow]:
        """The rows recording ``sha256`` (lower-case hex), in the order of ``rows``."""
        with self._lock, _translate_busy():
            cursor = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM models WHERE sha256 = ? "
                "ORDER BY added_at, id", (sha256,))
            return [ManifestRow.from_values(values) for values in cursor.fetchall()]

    # -- writes ---------------------------------------------------------------------------------

    def insert_with_unique_id(self, row: ManifestRow,
                              path_for: Callable[[str], str] | None = None) -> ManifestRow:
        """Insert ``row`` under its id, or the first free ``<id>-2``, ``<id>-3``…; returns the row
        as stored, its ``path`` set to ``path_for(chosen id)`` when given. The choice and the
        insert are one transaction, so two processes adding models of one name get two ids."""
        with self._write() as connection:
            taken = {value for (value,) in connection.execute(
                "SELECT id FROM models WHERE id = ? OR id LIKE ?", (row.id, f"{row.id}-%"))}
            model_id = row.id
            suffix = 2
            while model_id in taken:
                model_id = f"{row.id}-{suffix}"
                suffix += 1
            stored = dataclasses.replace(
                row, id=model_id, path=path_for(model_id) if path_for else row.path)
            connection.execute(f"INSERT INTO models VALUES ({', '.join('?' * len(_COLUMNS))})",
                               stored.as_values())
        return stored

    def update(self, model_id: str, **changes: object) -> None:
        """Set columns of one row (``source``/``files`` are given as Python values)."""
        encoded = {("source_json" if key == "source" else "files_json" if key == "files"
                    else key): (json.dumps(value, ensure_ascii=False)
                                if key in ("source", "files") else value)
                   for key, value in changes.items()}
        unknown = set(encoded) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown manifest columns: {sorted(unknown)}")
        assignments = ", ".join(f"{column} = ?" for column in encoded)
        with self._write() as connection:
            connection.execute(f"UPDATE models SET {assignments} WHERE id = ?",
                               (*encoded.values(), model_id))

    def delete(self, model_id: str) -> None:
        with self._write() as connection:
            connection.execute("DELETE FROM models WHERE id = ?", (model_id,))

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise LibraryReadOnlyError(
                f"the model library at {self.root} is on a read-only disk: models can be listed "
                "and used but not added, verified or removed; make the disk writable or choose "
                "another library location"
            )
        with self._lock, _translate_busy(), immediate_transaction(self._connection) as connection:
            yield connection


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (a read-only mount says no even to root)."""
    probe = folder / f".write-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        probe.touch()
        probe.unlink()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def _translate_busy() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        message = str(error)
        if "locked" in message or "busy" in message:
            raise LibraryBusyError(
                f"the model library is busy: another Fin-R1 Studio process held it for over "
                f"{BUSY_TIMEOUT_S:.0f} s; try again ({message})"
            ) from error
        if "readonly" in message:
            raise LibraryReadOnlyError(
                f"the model library's manifest cannot be written ({message}); the disk may "
                "have become read-only"
            ) from error
        raise LibraryError(f"the model library's manifest failed: {message}") from error
