"""A batch run: one scenario's question for every row of a table, answered by one or more engines,
each row recorded the moment it is finished.

A ``BatchPlan`` says what to run: the scenario, the input table, the column mapping, the
generation settings, the prompt language, the scoring tolerance and the engines
(``EngineChoice``: a label, the provenance that identifies it, and how to open it). Engines are
opened one after the other, never two at once: all rows on the first, then on the next.

``open_run`` records a new run, or with ``resume`` finds the run made with the same plan (same
input file, mapping, settings and engines) to continue. ``run_batch`` then answers every row the
run has not finished, through the engine interface (``app.core.engine.api``): a row is a
conversation of its own in the history, begun and finished in single transactions
(``app.core.batch.store``), read by the scenario's reader (``read_reply``, as the chat reads it)
and scored against the expected column (``app.core.batch.scoring``). A run killed at any moment
continues from its records: finished rows are never answered again.

``run_batch`` is a job (``foundation.jobs``): it reports ``Progress`` in rows (``unit="rows"``; the
time left comes from the measured rate, ``foundation.job_rate``), hands each finished row to
``on_row`` (a ``BatchRow``) and each token to ``on_token``, and stops within a token when
``cancel`` is set. Stopping is how a person pauses or cancels: the row being answered is
discarded, the run is recorded ``stopped``, and running it again (``open_run`` with ``resume``,
or ``run_batch`` with its id) continues where it stopped. A row whose fields do not fit the
scenario, or whose prompt does not fit the context, is recorded as ``error`` and the run goes on;
an engine that fails (a server that drops the connection, a model that cannot load) stops the
run ``failed``, its error raised, the unfinished row discarded so that it is answered when the run
continues.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.core.batch.mapping import ColumnMapping, check_mapping, expected_text, row_values
from app.core.batch.scoring import (
    DEFAULT_TOLERANCE,
    Agreement,
    AnswerKey,
    ModelScore,
    agreement,
    answer_key,
    model_score,
    read_expected,
    score,
)
from app.core.batch.store import BatchRow, BatchRun, BatchStore, FinishedRow
from app.core.batch.table_reader import InputTable
from app.core.engine.api import Engine
from app.core.engine.config import GenerationSettings
from app.core.engine.local_engine import TokenChunk, TurnResult
from app.core.engine.remote_engine import RemoteEngineInfo
from app.core.errors import (
    BatchResumeError,
    ContextOverflowError,
    HistoryError,
    InvalidFieldValueError,
    MissingFieldsError,
)
from app.core.history.recorder import turn_provenance
from app.core.reasoning.readers import read_reply
from app.core.scenarios.scenario import Language, Scenario
from app.core.templates.chat_template import ChatMessage
from foundation.jobs import CancelToken, Progress, ProgressCallback, ignore_progress

# what identifies an engine for the run key: the file's hash, or the server and its model
_IDENTITY_KEYS = ("model_sha256", "server_url", "server_model")


@dataclass(frozen=True)
class EngineChoice:
    """One engine of a batch. ``label``: how results name it ("Q4_K_M", a file name, a server
    model). ``provenance``: what the history records about it (``ModelProvenance.as_record()``
    with its SHA-256, or a server's ``server_url`` and ``server_model``). ``open``: loads it,
    returning a context manager that frees it (an ``Engine`` is one)."""

    label: str
    provenance: Mapping[str, Any]
    open: Callable[[], contextlib.AbstractContextManager[Engine]]

    def identity(self) -> dict[str, Any]:
        return {key: self.provenance.get(key) for key in _IDENTITY_KEYS}


@dataclass(frozen=True)
class BatchPlan:
    """What a batch runs (see the module docstring). ``lang``: the prompt's language."""

    scenario: Scenario
    table: InputTable
    mapping: ColumnMapping
    settings: GenerationSettings
    engines: tuple[EngineChoice, ...]
    lang: Language = "zh"
    tolerance: float = DEFAULT_TOLERANCE

    @classmethod
    def for_run(cls, run: BatchRun, scenario: Scenario, table: InputTable,
                engines: tuple[EngineChoice, ...]) -> BatchPlan:
        """The plan of a recorded run, to continue it (a screen reopening a stopped run):
        its mapping and settings, with ``table`` (the input read again) and ``engines`` (opened
        as before, in the same order). ``run_batch`` refuses it when the table or the engines
        are not the run's."""
        settings = dict(run.settings)
        sampling = dict(settings["sampling"])
        sampling["stop"] = tuple(sampling.get("stop") or ())
        return cls(scenario, table, run.mapping, GenerationSettings(**sampling), engines,
                   settings["lang"], settings["tolerance"])

    def check(self) -> None:
        """Raise ``BatchMappingError`` when the mapping does not fit (``check_mapping``),
        ValueError without an engine."""
        if not self.engines:
            raise ValueError("a batch needs at least one engine")
        check_mapping(self.scenario, self.table, self.mapping)

    def settings_record(self) -> dict[str, Any]:
        """The settings as the run records them."""
        return {"sampling": asdict(self.settings), "lang": self.lang,
                "tolerance": self.tolerance}

    def run_key(self) -> str:
        """What a run continued with ``resume`` must share with this plan, hashed: the
        scenario, the input file's content and sheet, the mapping, the settings and the
        engines in order."""
        identity = {"scenario": self.scenario.id, "input_sha256": self.table.sha256,
                    "sheet": self.table.sheet, "mapping": self.mapping.to_json(),
                    "settings": self.settings_record(),
                    "engines": [engine.identity() for engine in self.engines]}
        canonical = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=list)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def prompt(self, row_index: int = 0) -> str:
        """The question row ``row_index`` asks (the preview shows row 0). Raises
        ``MissingFieldsError`` / ``InvalidFieldValueError`` when the row does not fit."""
        return self.scenario.render_prompt(row_values(self.table, self.mapping, row_index),
                                           self.lang)


@dataclass(frozen=True)
class BatchOutcome:
    """How a call of ``run_batch`` ended: the run (``state`` ``done`` or ``stopped``), every
    row record, each engine's ``ModelScore`` (in plan order) and their ``Agreement``."""

    run: BatchRun
    rows: tuple[BatchRow, ...]
    scores: tuple[ModelScore, ...]
    agreement: Agreement

    @property
    def stopped(self) -> bool:
        return self.run.state != "done"


def open_run(store: BatchStore, plan: BatchPlan, *, resume: bool = False) -> int:
    """The id of the run to answer ``plan`` in: a new run, or with ``resume`` the latest run
    made with the same plan (finished or not). Raises ``BatchMappingError`` (``plan.check``),
    ``BatchResumeError`` when ``resume`` finds no such run (saying whether the input file
    changed since an earlier run of it)."""
    plan.check()
    key = plan.run_key()
    if resume:
        found = store.latest_run(key)
        if found is None:
            raise BatchResumeError(_no_run_to_resume(store, plan))
        return found.id
    return store.create_run(
        run_key=key, scenario_id=plan.scenario.id, input_path=plan.table.path,
        input_sha256=plan.table.sha256, input_sheet=plan.table.sheet,
        headers=plan.table.headers, row_count=len(plan.table), mapping=plan.mapping,
        settings=plan.settings_record(),
        engines=[{"label": engine.label, **engine.provenance} for engine in plan.engines])


def _no_run_to_resume(store: BatchStore, plan: BatchPlan) -> str:
    same_file = [run for run in store.runs() if run.input_path == str(plan.table.path)]
    if same_file and all(run.input_sha256 != plan.table.sha256 for run in same_file):
        return (f"{plan.table.path.name} has changed since batch run {same_file[0].id} read it "
                f"(its SHA-256 differs), so that run cannot be continued; run without --resume "
                "to start a new one")
    return ("no batch run in the history matches this input file, scenario, column mapping, "
            "settings and models; give the same options as the run to continue, or run without "
            "--resume to start a new one")


def run_batch(store: BatchStore, plan: BatchPlan, run_id: int, *,
              cancel: CancelToken | None = None,
              on_progress: ProgressCallback = ignore_progress,
              on_row: Callable[[BatchRow], None] | None = None,
              on_token: Callable[[TokenChunk], None] | None = None) -> BatchOutcome:
    """Answer every row of run ``run_id`` that it has not finished (see the module docstring);
    returns the outcome, ``stopped`` when ``cancel`` stopped it. Raises ``BatchResumeError``
    when the run was made with another plan, ``BatchBusyError`` while another process answers
    it, and an engine's errors (the run is then recorded ``failed``)."""
    run = store.run(run_id)
    if run.run_key != plan.run_key():
        raise BatchResumeError(f"batch run {run_id} was made with another input file, mapping, "
                               "settings or models than these")
    store.claim(run_id)
    answering = _Answering(store, plan, run_id, cancel, on_progress, on_row, on_token)
    try:
        finished = answering.run_all()
    except BaseException:
        with contextlib.suppress(HistoryError):  # the database itself may be what failed
            store.set_state(run_id, "failed")
        raise
    store.set_state(run_id, "done" if finished else "stopped")
    return outcome_of(store, plan, run_id)


def outcome_of(store: BatchStore, plan: BatchPlan, run_id: int) -> BatchOutcome:
    """The outcome of run ``run_id`` as recorded now (scores and agreement from its rows)."""
    rows = tuple(store.rows(run_id))
    scores, agreed = summarize(rows, len(plan.engines), plan.tolerance)
    return BatchOutcome(store.run(run_id), rows, scores, agreed)


def summarize(rows: Sequence[BatchRow], engine_count: int,
              tolerance: float = DEFAULT_TOLERANCE) -> tuple[tuple[ModelScore, ...], Agreement]:
    """Each engine's ``ModelScore`` and the engines' ``Agreement`` over the finished rows."""
    scores = []
    keys: list[dict[int, AnswerKey | None]] = []
    for engine_index in range(engine_count):
        own = [row for row in rows if row.engine_index == engine_index]
        done = [row for row in own if row.status == "done"]
        scores.append(model_score([row.outcome for row in done],
                                  sum(row.status == "error" for row in own),
                                  sum(row.completion_tokens or 0 for row in done),
                                  sum(row.seconds or 0.0 for row in done)))
        keys.append({row.row_index: row.answer_key for row in done})
    return tuple(scores), agreement(keys, tolerance)


class _Stopped(Exception):
    """The cancel token was set; the run stops (resumable)."""


class _Answering:
    """The loop of one ``run_batch`` call: engines one after the other, their rows in order."""

    def __init__(self, store: BatchStore, plan: BatchPlan, run_id: int,
                 cancel: CancelToken | None, on_progress: ProgressCallback,
                 on_row: Callable[[BatchRow], None] | None,
                 on_token: Callable[[TokenChunk], None] | None) -> None:
        self.store, self.plan, self.run_id = store, plan, run_id
        self.cancel = cancel
        self.on_progress, self.on_row, self.on_token = on_progress, on_row, on_token
        self.total = len(plan.table) * len(plan.engines)
        self.done = sum(len(store.finished_rows(run_id, index))
                        for index in range(len(plan.engines)))

    def run_all(self) -> bool:
        """Answer what is left; False when stopped by the cancel token."""
        try:
            for engine_index, choice in enumerate(self.plan.engines):
                self._run_engine(engine_index, choice)
        except _Stopped:
            return False
        return True

    def _run_engine(self, engine_index: int, choice: EngineChoice) -> None:
        finished = self.store.finished_rows(self.run_id, engine_index)
        left = [row for row in range(len(self.plan.table)) if row not in finished]
        if not left:
            return
        self._stop_if_cancelled()
        self._report("loading", f"{choice.label}: loading")
        with choice.open() as engine:
            provenance = _turn_provenance(choice, engine, self.plan.settings)
            for row_index in left:
                self._stop_if_cancelled()
                self._report("answering", f"{choice.label}: row "
                                          f"{self.plan.table.source_rows[row_index]}")
                self._answer(engine, engine_index, row_index, provenance)
                self.done += 1
                self._report("answering", f"{choice.label}: row "
                                          f"{self.plan.table.source_rows[row_index]} done")
                if self.on_row is not None:
                    record = self.store.row(self.run_id, engine_index, row_index)
                    if record is not None:
                        self.on_row(record)

    def _answer(self, engine: Engine, engine_index: int, row_index: int,
                provenance: Mapping[str, Any]) -> None:
        plan, store = self.plan, self.store
        source_row = plan.table.source_rows[row_index]
        expected = expected_text(plan.table, plan.mapping, row_index)
        place = (self.run_id, engine_index, row_index)
        values = row_values(plan.table, plan.mapping, row_index)
        try:
            question = plan.scenario.render_prompt(values, plan.lang)
        except (MissingFieldsError, InvalidFieldValueError) as error:
            store.fail_row(*place, source_row=source_row, expected=expected, message=str(error))
            return
        _conversation_id, turn_id = store.begin_row(
            *place, source_row=source_row, expected=expected,
            title=_title(plan.table, row_index, values), question=question,
            scenario_id=plan.scenario.id, form_values=values,
            provenance={**provenance, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "batch": {"run": self.run_id, "row": source_row,
                                  "engine": engine_index}})
        started = time.perf_counter()
        try:
            result = engine.stream_chat([ChatMessage("user", question)], plan.settings,
                                        self.cancel, self.on_token).run()
        except ContextOverflowError as error:
            store.fail_row(*place, source_row=source_row, expected=expected, message=str(error),
                           turn_id=turn_id)
            return
        except BaseException:
            store.discard_row(*place)  # answered again when the run continues
            raise
        if result.stopped:
            store.discard_row(*place)
            raise _Stopped
        store.finish_row(*place, turn_id=turn_id, reply_text=result.text,
                         think=result.reply.think, answer=result.reply.answer,
                         metrics=result.metrics.to_dict(),
                         finished=self._finished(result, expected,
                                                 time.perf_counter() - started))

    def _finished(self, result: TurnResult, expected: str | None, seconds: float) -> FinishedRow:
        reading = read_reply(self.plan.scenario, result.reply)
        final = result.reply.final
        key = answer_key(reading, final)
        wanted = read_expected(self.plan.scenario, expected) if expected else None
        return FinishedRow(
            reading=reading.as_dict() if reading is not None else None, answer_key=key,
            final_box=final,
            outcome=score(wanted, key, final, self.plan.tolerance) if wanted else None,
            completion_tokens=result.metrics.completion_tokens, seconds=seconds,
            tokens_per_s=result.metrics.tokens_per_s, finish_reason=result.finish_reason)

    def _stop_if_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise _Stopped

    def _report(self, stage: str, message: str) -> None:
        self.on_progress(Progress(stage, self.done, self.total, "rows", message))


def _turn_provenance(choice: EngineChoice, engine: Engine,
                     settings: GenerationSettings) -> dict[str, Any]:
    """What each turn records about how it was made: the engine chosen, then
    ``history_recorder.turn_provenance`` as for the chat's turns."""
    record = dict(choice.provenance)
    info = engine.info
    from_server = isinstance(info, RemoteEngineInfo)
    if isinstance(info, RemoteEngineInfo):
        record.update(info.provenance().as_record())
    return turn_provenance(record, settings, from_server=from_server)


def _title(table: InputTable, row_index: int, values: Mapping[str, str]) -> str:
    first_value = next((value for value in values.values() if value.strip()), "")
    return f"{table.path.name} #{table.source_rows[row_index]}: {first_value}"
