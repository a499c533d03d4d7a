"""The records of batch runs, in the history database beside the conversations they made.

A run (``batch_runs``) records its input (file name, path, SHA-256, sheet, headers, row count),
the column mapping, the settings and the engines. Each row an engine answers is a conversation of
its own in the history (so it opens like any conversation), linked from its record in
``batch_rows`` with what the batch shows: the reading, the answer key, the score, tokens and
seconds. The tables are declared in ``app.core.history.store`` (schema version 2).

Every step is one transaction, so a run killed at any moment leaves each (engine, row) in one of
three states: no record (not begun), ``running`` (begun by a process that is now dead: its
conversation holds no finished reply), or finished (``done`` / ``error``, with its conversation
and turn complete). ``claim`` removes the dead ``running`` records and their conversations, so the
run continues from the first unfinished row and no row is answered twice; the primary key
(run, engine, row) makes a second record of a row impossible.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app import __version__
from app.core.batch.mapping import ColumnMapping
from app.core.errors import BatchBusyError, BatchResumeError
from app.core.history.store import HistoryStore
from app.core.installation.paths import app_paths
from foundation.processes import process_alive
from foundation.sqlite_db import insert_row

if TYPE_CHECKING:
    from app.core.batch.scoring import AnswerKey, Outcome

RunState = Literal["running", "stopped", "failed", "done", "interrupted"]
RowStatus = Literal["running", "interrupted", "done", "error"]

_ROW_COLUMNS = (
    "r.run_id, r.engine_index, r.row_index, r.source_row, r.status, r.conversation_id, "
    "r.turn_id, r.expected, r.reading_json, r.answer_key_json, r.final_box, r.outcome, "
    "r.completion_tokens, r.seconds, r.tokens_per_s, r.finish_reason, r.error, r.writer_pid, "
    "r.started_at, r.finished_at, t.think, t.answer"
)
_RUN_COLUMNS = (
    "id, run_key, scenario_id, input_name, input_path, input_sha256, input_sheet, row_count, "
    "headers_json, mapping_json, settings_json, engines_json, state, writer_pid, app_version, "
    "created_at, updated_at, finished_at"
)


@dataclass(frozen=True)
class BatchRun:
    """A run as recorded. ``settings``: the sampling settings, language and tolerance;
    ``engines``: one provenance record per engine (``model_sha256``… or ``server_url``…) with
    its ``label``. ``state``: ``running``, ``stopped`` (paused or cancelled by the person),
    ``failed`` (an engine failed), ``done``, or ``interrupted`` (its process died)."""

    id: int
    run_key: str
    scenario_id: str
    input_name: str
    input_path: str
    input_sha256: str
    input_sheet: str | None
    row_count: int
    headers: tuple[str, ...]
    mapping: ColumnMapping
    settings: Mapping[str, Any]
    engines: tuple[Mapping[str, Any], ...]
    state: RunState
    app_version: str
    created_at: float
    updated_at: float
    finished_at: float | None


@dataclass(frozen=True)
class BatchRow:
    """One row as one engine answered it: the batch's per-row result.

    ``status``: ``running`` (being answered now), ``interrupted`` (its process died; the row is
    answered again when the run continues), ``done`` or ``error`` (``error`` says why; a row
    whose fields do not fit the scenario has no conversation). ``reading``: the scenario's
    reading (``AnswerReading.as_dict``); ``answer_key``: what scoring and agreement compare
    (``app.core.batch.scoring``); ``outcome``: ``correct``, ``wrong``, ``no_answer``, or None
    without an expected answer. ``seconds``: the whole turn (prompt and reply);
    ``tokens_per_s``: the reply's decode speed. ``conversation_id`` opens the row in the
    history; ``think`` and ``answer`` are its sections.
    """

    run_id: int
    engine_index: int
    row_index: int
    source_row: int
    status: RowStatus
    conversation_id: int | None
    turn_id: int | None
    expected: str | None
    reading: Mapping[str, Any] | None
    answer_key: AnswerKey | None
    final_box: str | None
    outcome: Outcome | None
    completion_tokens: int | None
    seconds: float | None
    tokens_per_s: float | None
    finish_reason: str | None
    error: str | None
    started_at: float
    finished_at: float | None
    think: str | None
    answer: str | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "error")


@dataclass(frozen=True)
class FinishedRow:
    """What a finished row records beside its turn (see ``BatchRow``)."""

    reading: Mapping[str, Any] | None
    answer_key: AnswerKey | None
    final_box: str | None
    outcome: Outcome | None
    completion_tokens: int
    seconds: float
    tokens_per_s: float | None
    finish_reason: str


class BatchStore(HistoryStore):
    """The history database with its batch records (see the module docstring); everything a
    ``HistoryStore`` does, plus the runs. Thread-safe."""

    @classmethod
    def open_default(cls) -> BatchStore:
        """The history of this installation (``app_paths().history_db``)."""
        return cls(app_paths().history_db)

    # -- runs -----------------------------------------------------------------------------------

    def create_run(self, *, run_key: str, scenario_id: str, input_path: Path, input_sha256: str,
                   input_sheet: str | None, headers: tuple[str, ...], row_count: int,
                   mapping: ColumnMapping, settings: Mapping[str, Any],
                   engines: list[Mapping[str, Any]]) -> int:
        """Record a new run (state ``running``, claimed by this process); returns its id."""
        now = time.time()
        with self._write() as connection:
            return insert_row(
                connection, f"INSERT INTO batch_runs ({_RUN_COLUMNS.removeprefix('id, ')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, NULL)",
                (run_key, scenario_id, Path(input_path).name, str(input_path), input_sha256,
                 input_sheet, row_count, _json(list(headers)), _json(mapping.to_json()),
                 _json(dict(settings)), _json([dict(engine) for engine in engines]),
                 os.getpid(), __version__, now, now))

    def latest_run(self, run_key: str) -> BatchRun | None:
        """The most recent run made with ``run_key`` (the same input, mapping, settings and
        engines), if any."""
        with self._read() as connection:
            row = connection.execute(f"SELECT {_RUN_COLUMNS} FROM batch_runs WHERE run_key = ? "
                                     "ORDER BY id DESC LIMIT 1", (run_key,)).fetchone()
        return _run(row) if row is not None else None

    def run(self, run_id: int) -> BatchRun:
        """The run ``run_id``. Raises BatchResumeError when there is none."""
        with self._read() as connection:
            row = connection.execute(f"SELECT {_RUN_COLUMNS} FROM batch_runs WHERE id = ?",
                                     (run_id,)).fetchone()
        if row is None:
            raise BatchResumeError(f"no batch run {run_id} in the history at {self.path}")
        return _run(row)

    def runs(self) -> list[BatchRun]:
        """Every run, the most recent first."""
        with self._read() as connection:
            rows = connection.execute(
                f"SELECT {_RUN_COLUMNS} FROM batch_runs ORDER BY id DESC").fetchall()
        return [_run(row) for row in rows]

    def claim(self, run_id: int) -> None:
        """Make this process the one answering run ``run_id``: rows begun by a process that
        died are removed with their conversations (they are answered again), and the run is
        marked ``running``. Raises BatchBusyError while another live process answers it,
        BatchResumeError when there is no such run."""
        with self._write() as connection:
            run = connection.execute("SELECT state, writer_pid, updated_at FROM batch_runs "
                                     "WHERE id = ?", (run_id,)).fetchone()
            if run is None:
                raise BatchResumeError(f"no batch run {run_id} in the history at {self.path}")
            state, writer_pid, updated_at = run
            if state == "running" and _other_live_process(writer_pid, updated_at):
                raise BatchBusyError(
                    f"batch run {run_id} is being answered by process {writer_pid}; wait for it "
                    "to finish, or stop it, before continuing the run")
            abandoned = connection.execute(
                "SELECT row_index, engine_index, conversation_id FROM batch_rows "
                "WHERE run_id = ? AND status = 'running'", (run_id,)).fetchall()
            for row_index, engine_index, conversation_id in abandoned:
                self._remove_row(connection, run_id, engine_index, row_index, conversation_id)
            connection.execute("UPDATE batch_runs SET state = 'running', writer_pid = ?, "
                               "updated_at = ? WHERE id = ?", (os.getpid(), time.time(), run_id))

    def set_state(self, run_id: int, state: RunState) -> None:
        """Record how the run stands (``stopped``, ``failed`` or ``done``)."""
        now = time.time()
        with self._write() as connection:
            connection.execute(
                "UPDATE batch_runs SET state = ?, updated_at = ?, finished_at = "
                "CASE WHEN ? = 'done' THEN COALESCE(finished_at, ?) ELSE finished_at END "
                "WHERE id = ?",
                (state, now, state, now, run_id))

    # -- rows -----------------------------------------------------------------------------------

    def begin_row(self, run_id: int, engine_index: int, row_index: int, *, source_row: int,
                  expected: str | None, title: str, question: str, scenario_id: str,
                  form_values: Mapping[str, str],
                  provenance: Mapping[str, Any]) -> tuple[int, int]:
        """Record that a row is being answered: its conversation, its turn (``streaming``) and
        its ``running`` record, in one transaction; returns (conversation id, turn id)."""
        with self._write() as connection:
            conversation_id = self.create_conversation(title, scenario_id)
            turn_id = self.begin_turn(conversation_id, question, scenario_id=scenario_id,
                                      form_values=form_values, provenance=provenance)
            connection.execute(
                "INSERT INTO batch_rows (run_id, engine_index, row_index, source_row, status, "
                "conversation_id, turn_id, expected, writer_pid, started_at) "
                "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (run_id, engine_index, row_index, source_row, conversation_id, turn_id,
                 expected, os.getpid(), time.time()))
            return conversation_id, turn_id

    def finish_row(self, run_id: int, engine_index: int, row_index: int, *, turn_id: int,
                   reply_text: str, think: str, answer: str, metrics: Mapping[str, Any],
                   finished: FinishedRow) -> None:
        """Record a row's answer: its turn finished and its record ``done``, in one
        transaction."""
        with self._write() as connection:
            self.finish_turn(turn_id, reply_text=reply_text, think=think, answer=answer,
                             finish_reason=finished.finish_reason, metrics=metrics)
            connection.execute(
                "UPDATE batch_rows SET status = 'done', reading_json = ?, answer_key_json = ?, "
                "final_box = ?, outcome = ?, completion_tokens = ?, seconds = ?, "
                "tokens_per_s = ?, finish_reason = ?, finished_at = ? "
                "WHERE run_id = ? AND engine_index = ? AND row_index = ?",
                (_json_or_none(finished.reading), _json_or_none(finished.answer_key),
                 finished.final_box, finished.outcome, finished.completion_tokens,
                 finished.seconds, finished.tokens_per_s, finished.finish_reason, time.time(),
                 run_id, engine_index, row_index))

    def fail_row(self, run_id: int, engine_index: int, row_index: int, *, source_row: int,
                 expected: str | None, message: str, turn_id: int | None = None) -> None:
        """Record that a row cannot be answered (``error`` with ``message``): its turn, if it
        began one, fails too. A failed row counts as finished; it is not answered again."""
        now = time.time()
        with self._write() as connection:
            if turn_id is not None:
                self.fail_turn(turn_id, message)
            connection.execute(
                "INSERT INTO batch_rows (run_id, engine_index, row_index, source_row, status, "
                "expected, error, writer_pid, started_at, finished_at) "
                "VALUES (?, ?, ?, ?, 'error', ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, engine_index, row_index) DO UPDATE SET status = 'error', "
                "error = excluded.error, finished_at = excluded.finished_at",
                (run_id, engine_index, row_index, source_row, expected, message, os.getpid(),
                 now, now))

    def discard_row(self, run_id: int, engine_index: int, row_index: int) -> None:
        """Forget an unfinished row (stopped mid-reply): its record and its conversation go,
        so the row is answered again when the run continues."""
        with self._write() as connection:
            found = connection.execute(
                "SELECT conversation_id FROM batch_rows WHERE run_id = ? AND engine_index = ? "
                "AND row_index = ? AND status = 'running'",
                (run_id, engine_index, row_index)).fetchone()
            if found is not None:
                self._remove_row(connection, run_id, engine_index, row_index, found[0])

    def rows(self, run_id: int) -> list[BatchRow]:
        """Every row record of the run, by engine then row."""
        with self._read() as connection:
            records = connection.execute(
                f"SELECT {_ROW_COLUMNS} FROM batch_rows r LEFT JOIN turns t ON t.id = r.turn_id "
                "WHERE r.run_id = ? ORDER BY r.engine_index, r.row_index", (run_id,)).fetchall()
        return [_row(record) for record in records]

    def row(self, run_id: int, engine_index: int, row_index: int) -> BatchRow | None:
        """One row's record, None when the row has none (not begun)."""
        with self._read() as connection:
            record = connection.execute(
                f"SELECT {_ROW_COLUMNS} FROM batch_rows r LEFT JOIN turns t ON t.id = r.turn_id "
                "WHERE r.run_id = ? AND r.engine_index = ? AND r.row_index = ?",
                (run_id, engine_index, row_index)).fetchone()
        return _row(record) if record is not None else None

    def finished_rows(self, run_id: int, engine_index: int) -> set[int]:
        """The indices of the rows engine ``engine_index`` has finished (done or failed)."""
        with self._read() as connection:
            records = connection.execute(
                "SELECT row_index FROM batch_rows WHERE run_id = ? AND engine_index = ? AND "
                "status IN ('done', 'error')", (run_id, engine_index)).fetchall()
        return {record[0] for record in records}

    @staticmethod
    def _remove_row(connection: sqlite3.Connection, run_id: int, engine_index: int,
                    row_index: int, conversation_id: int | None) -> None:
        if conversation_id is not None:
            connection.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        connection.execute("DELETE FROM batch_rows WHERE run_id = ? AND engine_index = ? AND "
                           "row_index = ?", (run_id, engine_index, row_index))


def _other_live_process(pid: int | None, since: float) -> bool:
    return pid is not None and pid != os.getpid() and process_alive(pid, since=since)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_or_none(value: Any) -> str | None:
    return _json(dict(value)) if value is not None else None


def _run(row: tuple[Any, ...]) -> BatchRun:
    (run_id, run_key, scenario_id, input_name, input_path, input_sha256, input_sheet, row_count,
     headers_json, mapping_json, settings_json, engines_json, state, writer_pid, app_version,
     created_at, updated_at, finished_at) = row
    if state == "running" and not (writer_pid is not None
                                   and process_alive(writer_pid, since=updated_at)):
        state = "interrupted"
    return BatchRun(run_id, run_key, scenario_id, input_name, input_path, input_sha256,
                    input_sheet, row_count, tuple(json.loads(headers_json)),
                    ColumnMapping.from_json(json.loads(mapping_json)), json.loads(settings_json),
                    tuple(json.loads(engines_json)), state, app_version, created_at, updated_at,
                    finished_at)


def _row(record: tuple[Any, ...]) -> BatchRow:
    (run_id, engine_index, row_index, source_row, status, conversation_id, turn_id, expected,
     reading_json, key_json, final_box, outcome, completion_tokens, seconds, tokens_per_s,
     finish_reason, error, writer_pid, started_at, finished_at, think, answer) = record
    if status == "running" and not (writer_pid is not None
                                    and process_alive(writer_pid, since=started_at)):
        status = "interrupted"
    return BatchRow(run_id, engine_index, row_index, source_row, status, conversation_id,
                    turn_id, expected, json.loads(reading_json) if reading_json else None,
                    json.loads(key_json) if key_json else None, final_box, outcome,
                    completion_tokens, seconds, tokens_per_s, finish_reason, error, started_at,
                    finished_at, think, answer)
