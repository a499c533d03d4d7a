"""Batch runs end to end: real llama.cpp models (the tiny model, SmolLM2), a real SQLite history,
real XLSX files read back with openpyxl, real servers on 127.0.0.1 replaying scripted replies, and a
real ``finr1 batch`` process killed with SIGKILL and resumed.

What a real model writes differs between CPUs, so those tests assert properties (every row
answered once, tokens within the limit, figures that add up); tests that need particular answers
(scoring, agreement figures) get them from scripted replies, or steer the model with a grammar
(tests/support/llm_support.py)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from app.cli import main
from app.core.batch.mapping import suggest_mapping
from app.core.batch.results_export import write_results
from app.core.batch.runner import BatchPlan, EngineChoice, open_run, run_batch
from app.core.batch.store import BatchStore
from app.core.batch.table_reader import read_table
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.engine.remote_engine import RemoteEngine
from app.core.engine.server_connection import ServerConnection
from app.core.errors import BatchBusyError
from app.core.history.provenance import identify_model
from app.core.scenarios.scenario_file import get_scenario
from foundation.jobs import CancelToken
from tests.support.cli_process import CLI_CODE, REPO_ROOT
from tests.support.llm_support import THREADS, steered_python
from tests.support.openai_replay_server import ReplayServer, Reply

COMPLIANCE = get_scenario("compliance")
# a verdict in a box, the model choosing which: every reply is read as 是 or 否, on any CPU
VERDICT_GRAMMAR = r'root ::= "\\boxed{" ("是" | "否") "}"'
NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def write_cases(path: Path, count: int, *, empty_rows: tuple[int, ...] = ()) -> Path:
    """An analyst's workbook: an id, a branch, a description, an amount, an expected answer."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["case id", "branch", "Description", "amount", "标准答案"])
    for index in range(count):
        description = "" if index in empty_rows else f"Client {index} splits cash deposits."
        sheet.append([1001 + index, f"Branch {index % 4}", description, 1000.5 + index,
                      "是" if index % 2 else "否"])
    workbook.save(path)
    return path


def local_engine(model: Path, ctx: int = 512) -> EngineChoice:
    provenance = identify_model(model)
    return EngineChoice(f"{model.name} ({provenance.quant})", provenance.as_record(),
                        lambda: ChatEngine(model, EngineConfig(n_ctx=ctx, n_threads=THREADS,
                                                               n_gpu_layers=0)))


def plan_for(source: Path, engines: tuple[EngineChoice, ...], max_tokens: int,
             **settings: object) -> BatchPlan:
    table = read_table(source)
    return BatchPlan(COMPLIANCE, table, suggest_mapping(COMPLIANCE, table.headers),
                     GenerationSettings(max_new_tokens=max_tokens, **settings),  # type: ignore[arg-type]
                     engines, lang="en")


def conversation_count(store: BatchStore) -> int:
    return len(store.conversations())


# -- real models -----------------------------------------------------------------------------


@pytest.mark.parametrize("model_fixture", ["tiny_bf16_gguf", "smollm2_gguf"])
def test_a_50_row_batch_answers_every_row_once_and_exports_them_with_their_provenance(
        request: pytest.FixtureRequest, tmp_path: Path, model_fixture: str,
        steer: Callable[..., object]) -> None:
    model: Path = request.getfixturevalue(model_fixture)
    steer(model, may_end=False)  # no reply ends at its first token, whatever the CPU
    plan = plan_for(write_cases(tmp_path / "cases.xlsx", 50), (local_engine(model),), 8)
    progress, finished_rows = [], []
    with BatchStore(tmp_path / "history.sqlite3") as store:
        run_id = open_run(store, plan)
        outcome = run_batch(store, plan, run_id, on_progress=progress.append,
                            on_row=finished_rows.append)
        conversations = [store.conversation(summary.id) for summary in store.conversations()]

    assert not outcome.stopped and outcome.run.state == "done"
    assert sorted(row.row_index for row in outcome.rows) == list(range(50))
    assert all(row.status == "done" and 1 <= row.completion_tokens <= 8 for row in outcome.rows)
    assert [row.row_index for row in finished_rows] == list(range(50))
    assert (progress[-1].done, progress[-1].total, progress[-1].unit) == (50, 50, "rows")
    figures = outcome.scores[0]
    assert (figures.rows_done, figures.rows_scored) == (50, 50)
    assert figures.rows_correct == sum(row.outcome == "correct" for row in outcome.rows)
    assert figures.tokens_per_s is not None and figures.tokens_per_s > 0
    sha256 = identify_model(model).sha256
    assert len(conversations) == 50
    assert {len(c.turns) for c in conversations} == {1}
    assert {c.turns[0].status for c in conversations} <= {"done", "length"}
    assert {c.turns[0].provenance["model_sha256"] for c in conversations} == {sha256}
    assert sorted(c.turns[0].provenance["batch"]["row"] for c in conversations) == \
        list(range(2, 52))

    output = write_results(tmp_path / "results.xlsx", outcome, plan.table, COMPLIANCE)
    workbook = load_workbook(output)
    lines = list(workbook["results"].iter_rows(values_only=True))
    header = lines[0]
    assert header[:6] == ("row", "case id", "branch", "Description", "amount", "标准答案")
    assert {"verdict", "think", "answer", "score", "conversation"} <= set(header)
    assert len(lines) == 51
    assert [line[:2] for line in lines[1:]] == [(2 + i, 1001 + i) for i in range(50)]
    assert [line[4] for line in lines[1:]] == [1000.5 + i for i in range(50)]  # still numbers
    answers = {row.row_index: row.answer for row in outcome.rows}
    assert [line[header.index("answer")] or "" for line in lines[1:]] == \
        [NOT_IN_XML.sub("", answers[i]) for i in range(50)]  # random models write control codes
    provenance = dict(workbook["provenance"].iter_rows(min_row=2, values_only=True))
    assert provenance["input sha256"] == plan.table.sha256
    assert provenance["engine 1 model_sha256"] == sha256
    assert provenance["engine 1 model_quant"] == identify_model(model).quant
    assert provenance["app"].startswith("Fin-R1 Studio ")
    assert json.loads(provenance["sampling"])["max_new_tokens"] == 8
    assert provenance["started"] and provenance["finished"]


def test_two_models_answer_one_after_the_other_and_are_compared_row_by_row(
        tmp_path: Path, tiny_gguf_factory: Callable[..., Path],
        steer: Callable[..., object]) -> None:
    first, second = tiny_gguf_factory("bf16"), tiny_gguf_factory("q8_0")
    steer(first, grammar=VERDICT_GRAMMAR)  # both share the tiny model's vocabulary
    events: list[tuple[str, str]] = []

    def tracked(choice: EngineChoice) -> EngineChoice:
        @contextlib.contextmanager
        def opened() -> Iterator[object]:
            with choice.open() as engine:
                events.append(("open", choice.label))
                yield engine
            events.append(("closed", choice.label))
        return EngineChoice(choice.label, choice.provenance, opened)

    engines = (tracked(local_engine(first)), tracked(local_engine(second)))
    plan = plan_for(write_cases(tmp_path / "cases.xlsx", 20), engines, 48)
    with BatchStore(tmp_path / "history.sqlite3") as store:
        outcome = run_batch(store, plan, open_run(store, plan))

    labels = [engine.label for engine in engines]
    assert events == [("open", labels[0]), ("closed", labels[0]), ("open", labels[1]),
                      ("closed", labels[1])]
    verdicts = [{row.row_index: row.reading["verdict"] for row in outcome.rows
                 if row.engine_index == engine} for engine in (0, 1)]
    assert all(set(found.values()) <= {"compliant", "non_compliant"} and len(found) == 20
               for found in verdicts)
    assert outcome.agreement.per_row == {row: verdicts[0][row] == verdicts[1][row]
                                         for row in range(20)}
    assert outcome.agreement.pairs[(0, 1)] == outcome.agreement.rate
    expected = {row: "compliant" if row % 2 else "non_compliant" for row in range(20)}
    for engine, figures in enumerate(outcome.scores):
        correct = sum(verdicts[engine][row] == expected[row] for row in range(20))
        assert (figures.rows_scored, figures.rows_correct) == (20, correct)
        assert figures.tokens_per_s is not None and figures.tokens_per_s > 0


def test_stopping_mid_row_discards_that_row_and_the_run_continues_from_it(
        tmp_path: Path, tiny_bf16_gguf: Path, steer: Callable[..., object]) -> None:
    steer(tiny_bf16_gguf, may_end=False)  # a reply runs to its limit: the stop comes mid-reply
    plan = plan_for(write_cases(tmp_path / "cases.xlsx", 5), (local_engine(tiny_bf16_gguf),), 24)
    cancel = CancelToken()
    finished: list[int] = []
    tokens_of_row_2 = []

    def stop_in_row_2(_chunk: object) -> None:
        if len(finished) == 2:
            tokens_of_row_2.append(_chunk)
            if len(tokens_of_row_2) == 5:
                cancel.cancel()

    with BatchStore(tmp_path / "history.sqlite3") as store:
        run_id = open_run(store, plan)
        stopped = run_batch(store, plan, run_id, cancel=cancel, on_token=stop_in_row_2,
                            on_row=lambda row: finished.append(row.row_index))
        assert stopped.stopped and stopped.run.state == "stopped"
        assert [(row.row_index, row.status) for row in stopped.rows] == [(0, "done"),
                                                                         (1, "done")]
        assert conversation_count(store) == 2
        kept = {row.row_index: row.conversation_id for row in stopped.rows}

        # as a screen continues a stopped run: the plan rebuilt from its record
        again = BatchPlan.for_run(store.run(run_id), COMPLIANCE, read_table(plan.table.path),
                                  plan.engines)
        resumed = run_batch(store, again, run_id)
        assert resumed.run.state == "done"
        assert [row.row_index for row in resumed.rows] == [0, 1, 2, 3, 4]
        assert all(row.status == "done" for row in resumed.rows)
        assert {row.row_index: row.conversation_id for row in resumed.rows[:2]} == kept
        assert conversation_count(store) == 5


_BATCH_ARGS = ("--scenario", "compliance", "--lang", "en", "--max-tokens", "40", "--ctx", "512",
               "--threads", str(THREADS))


def test_a_killed_batch_process_resumes_and_answers_every_row_exactly_once(
        tmp_path: Path, app_home: Path, tiny_bf16_gguf: Path) -> None:
    source = write_cases(tmp_path / "cases.xlsx", 30)
    output = tmp_path / "results.xlsx"
    arguments = ["batch", *_BATCH_ARGS, "--input", str(source), "--model", str(tiny_bf16_gguf),
                 "-o", str(output)]
    # steered so that no reply ends early: the run is still going when it is killed
    command, steering = steered_python(tiny_bf16_gguf, code=CLI_CODE, may_end=False)
    with (tmp_path / "stderr.txt").open("wb") as log:
        process = subprocess.Popen([*command, *arguments], cwd=REPO_ROOT,
                                   env={**os.environ, **steering}, stdout=subprocess.DEVNULL,
                                   stderr=log)
    database = app_home / "history.sqlite3"
    try:
        before_kill = _wait_for_finished_rows(database, process, at_least=3)
        with BatchStore(database) as store, pytest.raises(BatchBusyError):
            store.claim(1)  # while it runs, nobody else may answer its rows
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not output.exists()

    assert main([*arguments, "--resume"]) == 0

    with BatchStore(database) as store:
        (run,) = store.runs()
        rows = store.rows(run.id)
        conversations = store.conversations()
    assert run.state == "done"
    assert sorted(row.row_index for row in rows) == list(range(30))
    assert all(row.status == "done" for row in rows)
    assert {row.row_index: row.conversation_id for row in rows
            if row.row_index in before_kill} == before_kill  # answered once, before the kill
    assert sorted(c.id for c in conversations) == sorted(row.conversation_id for row in rows)
    assert load_workbook(output)["results"].max_row == 31


def _wait_for_finished_rows(database: Path, process: subprocess.Popen[bytes],
                            at_least: int) -> dict[int, int]:
    """Poll the history (as another reader would) until the process has finished
    ``at_least`` rows; returns them (row index → conversation id)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, "the batch process ended before it could be killed"
        if database.exists():
            with contextlib.closing(sqlite3.connect(database, timeout=10)) as connection, \
                    contextlib.suppress(sqlite3.OperationalError):  # tables not made yet
                done = dict(connection.execute(
                    "SELECT row_index, conversation_id FROM batch_rows WHERE status = 'done'"
                ).fetchall())
                if len(done) >= at_least:
                    return done
        time.sleep(0.1)
    raise AssertionError("the batch process finished no rows in time")


# -- scripted replies: scoring and agreement with known answers ------------------------------


def sse_body(text: str) -> str:
    """``text`` streamed as llama.cpp's server streams a reply: a few characters per event."""
    events = ["data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text[i:i + 3]},
                                                  "finish_reason": None}]})
              for i in range(0, len(text), 3)]
    events.append("data: " + json.dumps({"choices": [{"index": 0, "delta": {},
                                                      "finish_reason": "stop"}]}))
    events.append("data: [DONE]")
    return "\n\n".join(events) + "\n\n"


def reply(box: str | None) -> Reply:
    answer = f"The transfers look fine. \\boxed{{{box}}}" if box else "It depends on the facts."
    return Reply(sse_body(f"<think>\nChecking the rules.\n</think>\n<answer>\n{answer}\n</answer>"))


def server_engine(server: ReplayServer, label: str) -> EngineChoice:
    return EngineChoice(label, {"engine": "server", "server_url": server.url, "server_model": ""},
                        lambda: RemoteEngine(ServerConnection(server.url)))


def test_expected_answers_are_scored_and_two_engines_agreement_is_counted(
        tmp_path: Path) -> None:
    # expected: 否 是 否 是 否 是, and a 7th row whose description is empty
    source = write_cases(tmp_path / "cases.xlsx", 7, empty_rows=(6,))
    with ReplayServer() as first, ReplayServer() as second:
        first.script(*map(reply, ["否", "是", "是", None, "不合规", "合规"]))
        second.script(*map(reply, ["No", "否", "是", "是", "否", "是"]))
        plan = plan_for(source, (server_engine(first, "A"), server_engine(second, "B")), 64)
        with BatchStore(tmp_path / "history.sqlite3") as store:
            run_id = open_run(store, plan)
            outcome = run_batch(store, plan, run_id)
            again = run_batch(store, plan, open_run(store, plan, resume=True))
        assert (len(first.requests), len(second.requests)) == (6, 6)  # none for the empty row

    outcomes = [[row.outcome for row in outcome.rows if row.engine_index == engine]
                for engine in (0, 1)]
    assert outcomes[0] == ["correct", "correct", "wrong", "no_answer", "correct", "correct", None]
    assert outcomes[1] == ["correct", "wrong", "wrong", "correct", "correct", "correct", None]
    assert [row.status for row in outcome.rows if row.row_index == 6] == ["error", "error"]
    assert "Description to assess" in next(row.error for row in outcome.rows
                                           if row.row_index == 6)
    assert [(s.rows_scored, s.rows_correct, s.rows_failed) for s in outcome.scores] == \
        [(6, 4, 1), (6, 4, 1)]
    assert outcome.agreement.per_row == {0: True, 1: False, 2: True, 3: False, 4: True, 5: True}
    assert outcome.agreement.rate == pytest.approx(4 / 6)
    assert again.rows == outcome.rows  # the finished run answered nothing again

    results = load_workbook(write_results(tmp_path / "r.xlsx", outcome, plan.table, COMPLIANCE))
    lines = list(results["results"].iter_rows(values_only=True))
    assert [line[lines[0].index("score")] for line in lines[1:]][:4] == \
        ["correct", "correct", "correct", "wrong"]  # rows 2 and 3, engines A and B
    summary = [line[:4] for line in results["summary"].iter_rows(values_only=True)]
    assert ("all engines", 6, 4, round(4 / 6, 4)) in summary


def test_finr1_batch_previews_the_first_question_and_refuses_to_resume_a_changed_file(
        tmp_path: Path, app_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "cases.csv"
    source.write_text("编号,待判断的描述,答案\n1,客户要求拆分存款,否\n2,正常开户,是\n", encoding="gbk")
    arguments = ["batch", "--scenario", "compliance", "--input", str(source)]
    assert main([*arguments, "--preview", "-o", str(tmp_path / "r.csv")]) == 0
    captured = capsys.readouterr()
    assert "question ← '待判断的描述'" in captured.err and "expected answers ← '答案'" in captured.err
    assert "客户要求拆分存款" in captured.out and "\\boxed{}" in captured.out
    assert not (tmp_path / "r.csv").exists()

    with ReplayServer() as server:
        server.script(reply("否"), reply("否"))
        server_arguments = [*arguments, "--server", server.url, "-o", str(tmp_path / "r.csv")]
        assert main(server_arguments) == 0
        with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as stream:
            assert [line[0] for line in csv.reader(stream)] == ["row", "2", "3"]
        assert "accuracy 50.0% (1/2)" in capsys.readouterr().out
        source.write_text("编号,待判断的描述,答案\n1,客户要求拆分存款,是\n", encoding="gbk")
        assert main([*server_arguments, "--resume"]) == 2
    assert "has changed since batch run 1" in capsys.readouterr().err
