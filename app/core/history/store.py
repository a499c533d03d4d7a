"""The conversation history: every question, reply and how it was made, in one SQLite file.

A *conversation* has a title, the scenario it came from (None for free chat) and its *turns*; a
turn holds the question as sent, the scenario form's values, the raw reply with its reasoning
(``think``) and answer split out, how it ended, its metrics and its provenance: the model file's
SHA-256, quant type and name, the sampling settings, the app version and the time.

Replies are written as they are shown: ``begin_turn`` records the question before the first token,
``append_reply`` adds each piece of text the moment the chat view draws it (one short transaction;
the database runs in WAL mode, so a commit is an append to the log), and ``finish_turn`` records
the final text, sections and metrics. A crash or a kill loses nothing already on screen: a turn
left ``streaming`` by a process that died reads back with what it had, as ``interrupted``.

The file lives at ``app_paths().history_db`` (``FINR1_HOME``, portable mode, or the platform's
data folder). Several processes may use it at once (the app and ``finr1 history``): readers
never wait, writers queue for up to ``BUSY_TIMEOUT_S``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.engine.turn_metrics import STATUS_OF_FINISH
from app.core.errors import EmptyTitleError, HistoryError, UnknownConversationError
from app.core.installation.paths import app_paths
from foundation.closing import Closing
from foundation.processes import process_alive
from foundation.sqlite_db import immediate_transaction, insert_row, open_shared

BUSY_TIMEOUT_S = 10.0
# 2: the batch tables (``batch_runs``, ``batch_rows``: app.core.batch.store) were added
SCHEMA_VERSION = 2
TITLE_LENGTH = 80

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        scenario_id TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS turns (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        scenario_id TEXT,
        form_json TEXT NOT NULL,
        reply_text TEXT NOT NULL DEFAULT '',
        think TEXT,
        answer TEXT,
        status TEXT NOT NULL,
        finish_reason TEXT,
        error TEXT,
        shown_tokens INTEGER,
        metrics_json TEXT,
        provenance_json TEXT NOT NULL,
        writer_pid INTEGER,
        started_at REAL NOT NULL,
        finished_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, position)",
    # A batch run over a table (app.core.batch): its input, mapping, settings and engines; each
    # answered row is a conversation of its own, linked from ``batch_rows``.
    """CREATE TABLE IF NOT EXISTS batch_runs (
        id INTEGER PRIMARY KEY,
        run_key TEXT NOT NULL,
        scenario_id TEXT NOT NULL,
        input_name TEXT NOT NULL,
        input_path TEXT NOT NULL,
        input_sha256 TEXT NOT NULL,
        input_sheet TEXT,
        row_count INTEGER NOT NULL,
        headers_json TEXT NOT NULL,
        mapping_json TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        engines_json TEXT NOT NULL,
        state TEXT NOT NULL,
        writer_pid INTEGER,
        app_version TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL
    )""",
    "CREATE INDEX IF NOT EXISTS batch_runs_by_key ON batch_runs(run_key)",
    """CREATE TABLE IF NOT EXISTS batch_rows (
        run_id INTEGER NOT NULL REFERENCES batch_runs(id) ON DELETE CASCADE,
        engine_index INTEGER NOT NULL,
        row_index INTEGER NOT NULL,
        source_row INTEGER NOT NULL,
        status TEXT NOT NULL,
        conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
        turn_id INTEGER REFERENCES turns(id) ON DELETE SET NULL,
        expected TEXT,
        reading_json TEXT,
        answer_key_json TEXT,
        final_box TEXT,
        outcome TEXT,
        completion_tokens INTEGER,
        seconds REAL,
        tokens_per_s REAL,
        finish_reason TEXT,
        error TEXT,
        writer_pid INTEGER,
        started_at REAL NOT NULL,
        finished_at REAL,
        PRIMARY KEY (run_id, engine_index, row_index)
    )""",
)
_SUMMARY_SELECT = (
    "SELECT c.id, c.title, c.scenario_id, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id), "
    "(SELECT provenance_json FROM turns t WHERE t.conversation_id = c.id "
    " ORDER BY position DESC LIMIT 1) FROM conversations c"
)


@dataclass(frozen=True)
class StoredTurn:
    """One turn as stored. ``status``: ``streaming`` (being written now), ``interrupted`` (its
    writer died mid-reply: ``reply_text`` is what had been shown), ``done``, ``length``,
    ``stopped`` or ``error``. ``think``/``answer`` are set once finished. ``shown_tokens``: how
    many tokens the chat view had received (to redraw the reply exactly)."""

    id: int
    position: int
    question: str
    scenario_id: str | None
    form_values: dict[str, str]
    reply_text: str
    think: str | None
    answer: str | None
    status: str
    finish_reason: str | None
    error: str | None
    shown_tokens: int | None
    metrics: dict[str, Any] | None
    provenance: dict[str, Any]
    started_at: float
    finished_at: float | None


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as listed: ``model_sha256``/``model_file`` are those of its last turn."""

    id: int
    title: str
    scenario_id: str | None
    created_at: float
    updated_at: float
    turn_count: int
    model_sha256: str | None
    model_file: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "scenario": self.scenario_id,
                "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
                "turns": self.turn_count, "model_sha256": self.model_sha256,
                "model_file": self.model_file}


@dataclass(frozen=True)
class Conversation:
    """A conversation with its turns, in order."""

    summary: ConversationSummary
    turns: tuple[StoredTurn, ...]

    @property
    def id(self) -> int:
        return self.summary.id

    @property
    def title(self) -> str:
        return self.summary.title


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))


def title_from(text: str) -> str:
    """A conversation title from a question or form value: its first non-empty line, shortened."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= TITLE_LENGTH else line[:TITLE_LENGTH - 1].rstrip() + "…"


class HistoryStore(Closing):
    """The history database at ``path`` (created with its folder when missing).

    Raises ``HistoryError`` when the file cannot be opened as the history (damaged, not a
    database, a read-only location). Thread-safe: one connection behind a lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = open_shared(self.path, BUSY_TIMEOUT_S, _SCHEMA, SCHEMA_VERSION)
            _record_schema_version(self._connection)
        except (sqlite3.Error, OSError) as error:
            raise HistoryError(
                f"the conversation history at {self.path} cannot be opened ({error}); if the "
                "file is damaged, move it aside and the app starts a new history") from error

    @classmethod
    def open_default(cls) -> HistoryStore:
        """The history of this installation (``app_paths().history_db``)."""
        return cls(app_paths().history_db)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # -- writing --------------------------------------------------------------------------------

    def create_conversation(self, title: str, scenario_id: str | None = None) -> int:
        """A new, empty conversation; returns its id."""
        now = time.time()
        with self._write() as connection:
            return insert_row(
                connection, "INSERT INTO conversations (title, scenario_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?)", (title_from(title) or "…", scenario_id, now, now))

    def begin_turn(self, conversation_id: int, question: str, *,
                   scenario_id: str | None = None, form_values: Mapping[str, str] | None = None,
                   provenance: Mapping[str, Any] | None = None) -> int:
        """Record a question about to be answered, as the conversation's last turn; returns the
        turn's id. Raises UnknownConversationError."""
        now = time.time()
        with self._write() as connection:
            self._require(connection, conversation_id)
            position = connection.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM turns WHERE conversation_id = ?",
                (conversation_id,)).fetchone()[0]
            turn_id = insert_row(
                connection, "INSERT INTO turns (conversation_id, position, question, scenario_id, "
                "form_json, status, provenance_json, writer_pid, started_at) "
                "VALUES (?, ?, ?, ?, ?, 'streaming', ?, ?, ?)",
                (conversation_id, position, question, scenario_id,
                 json.dumps(dict(form_values or {}), ensure_ascii=False),
                 json.dumps(dict(provenance or {}), ensure_ascii=False), os.getpid(), now))
            self._touch(connection, conversation_id, now)
            return turn_id

    def append_reply(self, turn_id: int, text: str) -> None:
        """Add ``text`` to a streaming turn's reply (durable once this returns)."""
        if not text:
            return
        with self._write() as connection:
            connection.execute("UPDATE turns SET reply_text = reply_text || ? "
                               "WHERE id = ? AND status = 'streaming'", (text, turn_id))

    def finish_turn(self, turn_id: int, *, reply_text: str, think: str, answer: str,
                    finish_reason: str, metrics: Mapping[str, Any] | None = None,
                    shown_tokens: int | None = None) -> None:
        """Record how a turn ended: its whole text, its sections, why it ended (``stop``,
        ``length`` or ``cancelled``) and its metrics."""
        status = STATUS_OF_FINISH.get(finish_reason)
        if status is None:
            raise ValueError(f"unknown finish reason {finish_reason!r}")
        self._end(turn_id, "reply_text = ?, think = ?, answer = ?, status = ?, finish_reason = ?, "
                           "metrics_json = ?, shown_tokens = ?",
                  (reply_text, think, answer, status, finish_reason,
                   json.dumps(dict(metrics)) if metrics is not None else None, shown_tokens))

    def fail_turn(self, turn_id: int, message: str) -> None:
        """Record that a turn failed with ``message`` (what it had written is kept)."""
        self._end(turn_id, "status = 'error', error = ?", (message,))

    def _end(self, turn_id: int, assignments: str, values: tuple[object, ...]) -> None:
        now = time.time()
        with self._write() as connection:
            connection.execute(f"UPDATE turns SET {assignments}, finished_at = ? WHERE id = ?",
                               (*values, now, turn_id))
            row = connection.execute("SELECT conversation_id FROM turns WHERE id = ?",
                                     (turn_id,)).fetchone()
            if row is not None:
                self._touch(connection, row[0], now)

    def set_model_sha256(self, file_path: str, sha256: str, turn_ids: Iterable[int]) -> int:
        """Fill in the model hash of the turns ``turn_ids`` recorded while it was still being
        computed (those whose provenance names ``file_path`` and has no hash; others are left
        alone, so a file later replaced at the same path never lends its hash to older turns);
        returns how many were updated."""
        wanted = set(turn_ids)
        if not wanted:
            return 0
        with self._write() as connection:
            rows = connection.execute(
                f"SELECT id, provenance_json FROM turns WHERE id IN "
                f"({', '.join('?' * len(wanted))})", tuple(wanted)).fetchall()
            updated = 0
            for turn_id, provenance_json in rows:
                provenance = json.loads(provenance_json)
                if provenance.get("model_path") == file_path and not provenance.get("model_sha256"):
                    provenance["model_sha256"] = sha256
                    connection.execute("UPDATE turns SET provenance_json = ? WHERE id = ?",
                                       (json.dumps(provenance, ensure_ascii=False), turn_id))
                    updated += 1
            return updated

    def drop_turns_from(self, conversation_id: int, position: int) -> None:
        """Delete the turns at ``position`` and after (a regenerated or edited turn replaces
        them)."""
        with self._write() as connection:
            connection.execute("DELETE FROM turns WHERE conversation_id = ? AND position >= ?",
                               (conversation_id, position))

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a new title. Raises EmptyTitleError for an empty title,
        UnknownConversationError."""
        if not title.strip():
            raise EmptyTitleError("a conversation's title cannot be empty; give it some text")
        with self._write() as connection:
            self._require(connection, conversation_id)
            connection.execute("UPDATE conversations SET title = ? WHERE id = ?",
                               (title.strip(), conversation_id))

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation and its turns. Raises UnknownConversationError."""
        with self._write() as connection:
            self._require(connection, conversation_id)
            connection.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # -- reading --------------------------------------------------------------------------------

    def turn_position(self, turn_id: int) -> int:
        """The position of a turn in its conversation (1 for the first)."""
        with self._read() as connection:
            row = connection.execute("SELECT position FROM turns WHERE id = ?",
                                     (turn_id,)).fetchone()
        if row is None:
            raise HistoryError(f"no turn {turn_id} in the history")
        return int(row[0])


    def conversations(self, search: str = "", limit: int | None = None
                      ) -> list[ConversationSummary]:
        """Conversations, most recently changed first; with ``search``, only those whose title,
        a question, a form value or a reply contains it (case-insensitive for Latin letters)."""
        where, values = "", []
        if search.strip():
            pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%") \
                .replace("_", "\\_") + "%"
            # Form values are matched one by one, decoded: the JSON's field names ("loan",
            # "amount") and escapes are not what the person typed.
            where = ("WHERE c.title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns s WHERE "
                     "s.conversation_id = c.id AND (s.question LIKE ?1 ESCAPE '\\' OR "
                     "s.reply_text LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM "
                     "json_each(s.form_json) f WHERE f.value LIKE ?1 ESCAPE '\\')))")
            values.append(pattern)
        query = f"{_SUMMARY_SELECT} {where} ORDER BY c.updated_at DESC, c.id DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._read() as connection:
            rows = connection.execute(query, values).fetchall()
        return [_summary(row) for row in rows]

    def conversation(self, conversation_id: int) -> Conversation:
        """A conversation with all its turns. Raises UnknownConversationError."""
        with self._read() as connection:
            self._require(connection, conversation_id)
            summary = _summary(connection.execute(f"{_SUMMARY_SELECT} WHERE c.id = ?",
                                                  (conversation_id,)).fetchone())
            rows = connection.execute(
                "SELECT id, position, question, scenario_id, form_json, reply_text, think, "
                "answer, status, finish_reason, error, shown_tokens, metrics_json, "
                "provenance_json, writer_pid, started_at, finished_at FROM turns "
                "WHERE conversation_id = ? ORDER BY position", (conversation_id,)).fetchall()
        return Conversation(summary, tuple(_turn(row) for row in rows))

    # -- plumbing -------------------------------------------------------------------------------

    @staticmethod
    def _require(connection: sqlite3.Connection, conversation_id: int) -> None:
        found = connection.execute("SELECT 1 FROM conversations WHERE id = ?",
                                   (conversation_id,)).fetchone()
        if found is None:
            raise UnknownConversationError(
                f"no conversation {conversation_id} in the history; list them with "
                "finr1 history list")

    @staticmethod
    def _touch(connection: sqlite3.Connection, conversation_id: int, now: float) -> None:
        connection.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                           (now, conversation_id))

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated():
            yield self._connection

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. A ``_write`` inside another joins it (committed or rolled
        back with the outer one), so a subclass can make several of these methods one atomic
        step (app.core.batch.store: a row's conversation, turn and record together)."""
        with self._lock, _translated():
            if self._connection.in_transaction:  # only this thread can be in it: it holds the lock
                yield self._connection
                return
            with immediate_transaction(self._connection) as connection:
                yield connection


def _record_schema_version(connection: sqlite3.Connection) -> None:
    """Stamp a file made by an older version with ``SCHEMA_VERSION``: every change so far is
    additive (new tables), which ``_SCHEMA``'s ``CREATE … IF NOT EXISTS`` has just made."""
    if connection.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        raise HistoryError(f"the conversation history could not be read or written ({error}); "
                           "if the disk is full or read-only, free space or fix it and try "
                           "again") from error


def _summary(row: tuple[Any, ...]) -> ConversationSummary:
    provenance = json.loads(row[6]) if row[6] else {}
    return ConversationSummary(
        id=row[0], title=row[1], scenario_id=row[2], created_at=row[3], updated_at=row[4],
        turn_count=row[5], model_sha256=provenance.get("model_sha256"),
        model_file=provenance.get("model_file"))


def _turn(row: tuple[Any, ...]) -> StoredTurn:
    (turn_id, position, question, scenario_id, form_json, reply_text, think, answer, status,
     finish_reason, error, shown_tokens, metrics_json, provenance_json, writer_pid, started_at,
     finished_at) = row
    if status == "streaming" and not _writer_alive(writer_pid, started_at):
        status = "interrupted"
    return StoredTurn(
        id=turn_id, position=position, question=question, scenario_id=scenario_id,
        form_values=json.loads(form_json), reply_text=reply_text, think=think, answer=answer,
        status=status, finish_reason=finish_reason, error=error, shown_tokens=shown_tokens,
        metrics=json.loads(metrics_json) if metrics_json else None,
        provenance=json.loads(provenance_json), started_at=started_at, finished_at=finished_at)


def _writer_alive(pid: int | None, started_at: float) -> bool:
    """Whether the process that began a turn at ``started_at`` still runs (this one included);
    a process that only reuses its id does not count (``foundation.processes``)."""
    return pid is not None and process_alive(pid, since=started_at)
