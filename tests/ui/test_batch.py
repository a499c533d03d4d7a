"""The Batch view (offscreen) with real objects: tables written here (openpyxl, csv), the tiny
GGUF loaded through the window's own ``ModelHost``, the library's models loaded by the core's
runner, a real SQLite history, results read back with openpyxl.

The tiny model's words differ between CPUs, so the tests assert properties (every row answered
once, tokens within the limit, readings that are the reader's words or nothing), and steer it
with a grammar where a test needs readable verdicts (tests/support/llm_support.py). A run is paused,
cancelled or watched mid-way deterministically by the chat taking a place in the window's
engine queue after the batch's n-th turn: the batch's next row then waits in line behind it,
as it does behind a real chat reply."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from app.core.batch.runner import summarize
from app.core.batch.store import BatchStore
from app.core.chat.labels import chat_labels
from app.core.engine.config import EngineConfig
from app.core.engine.turn_queue import EngineQueue, Lease, QueueStatus
from app.core.installation.settings import AppSettings
from app.core.scenarios.scenario_file import get_scenario
from app.ui.batch.engines import BATCH_QUEUE_LABEL
from app.ui.batch.table_model import COLUMNS, reading_text
from app.ui.batch.view import BatchView
from app.ui.models.library_listing import LibraryListing
from app.ui.window.model_host import CHAT_QUEUE_LABEL, ModelHost
from tests.support.llm_support import THREADS
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose, hosted_model

COMPLIANCE = get_scenario("compliance")
CONFIG = EngineConfig(n_ctx=1024, n_threads=THREADS, n_gpu_layers=0)
SETTINGS = AppSettings(n_threads=THREADS, n_ctx=1024, n_gpu_layers=0, max_new_tokens=4,
                       temperature=0.0, prompt_language="en")
VERDICT_GRAMMAR = r'root ::= "\\boxed{" ("是" | "否") "}"'
READING_WORDS = {"", *(chat_labels("en").text("badges", verdict)
                       for verdict in ("compliant", "non_compliant", "unclear"))}
RUN_TIMEOUT_S = 180


def write_cases(path: Path, count: int) -> Path:
    """An analyst's workbook: an id, a branch, a description, an amount, an expected answer."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["case id", "branch", "Description", "amount", "标准答案"])
    for index in range(count):
        sheet.append([1001 + index, f"Branch {index % 4}", f"Client {index} splits cash deposits.",
                      1000.5 + index, "是" if index % 2 else "否"])
    workbook.save(path)
    return path


def write_chinese_csv(path: Path) -> Path:
    """A CSV whose headers are Chinese: the field's own label, a note, the expected answers."""
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["编号", "待判断的描述", "备注", "预期"])
        writer.writerow(["A1", "客户把现金存款拆分为多笔", "第一条备注", "否"])
        writer.writerow(["A2", "客户按规定提交了大额交易报告", "第二条备注", "是"])
    return path


@pytest.fixture(scope="module")
def host(qapp: Any, tiny_bf16_gguf: Path) -> Iterator[ModelHost]:
    """The tiny GGUF loaded through the window's own host: the window's engine and its queue."""
    with hosted_model(tiny_bf16_gguf, CONFIG) as loaded:
        yield loaded


@pytest.fixture
def store(tmp_path: Path) -> Iterator[BatchStore]:
    with BatchStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def make_view(qtbot: Any, store: BatchStore, host: ModelHost,
              settings: AppSettings = SETTINGS,
              library: LibraryListing | None = None) -> BatchView:
    view = BatchView(COMPLIANCE, store, host, lambda: settings, library)
    qtbot.addWidget(view)
    view.show()
    return view


@pytest.fixture
def view(qtbot: Any, store: BatchStore, host: ModelHost) -> Iterator[BatchView]:
    shown = make_view(qtbot, store, host)
    yield shown
    shown.shutdown()


def load(view: BatchView, path: Path) -> None:
    reading = view.load_file(path)
    wait_until(lambda: not reading.running, 30, f"{path.name} to be read")
    assert view.table is not None and view.table.path == path.resolve(), view.error_label.text()


def run_to_end(view: BatchView, start: Callable[[], object]) -> None:
    start()
    wait_until(lambda: view.state in ("finished", "setup", "paused") and view._job is None,
               RUN_TIMEOUT_S, "the batch to end")
    assert view.state == "finished", view.error_label.text()


def cell(view: BatchView, line: int, column: str) -> str:
    return view.rows.data(view.rows.index(line, COLUMNS.index(column)))


@contextlib.contextmanager
def chat_in_line_after(queue: EngineQueue, batch_turns: int) -> Iterator[list[Lease]]:
    """When the batch's ``batch_turns``-th turn ends, the chat takes the next place in the
    queue (reserved there and then, on the thread releasing the engine, before the batch can
    ask for its next turn); the batch's next row waits behind it until the block ends or the
    test abandons the place. Yields the chat's place (empty until taken)."""
    taken: list[Lease] = []
    seen = {"holder": None, "ended": 0}

    def watch(status: QueueStatus) -> None:
        if seen["holder"] == BATCH_QUEUE_LABEL and status.holder is None:
            seen["ended"] += 1
            if seen["ended"] == batch_turns and not taken:
                seen["holder"] = None
                taken.append(queue.lease(label=CHAT_QUEUE_LABEL))
                return
        seen["holder"] = status.holder

    unsubscribe = queue.subscribe(watch)
    try:
        yield taken
    finally:
        unsubscribe()
        for lease in taken:
            lease.abandon()


def rows_finished(view: BatchView) -> int:
    return len(view.rows.records())


@pytest.mark.parametrize(("scenario_id", "answer", "box", "english", "chinese"), [
    ("compliance", "不合规。", "否", "Non-compliant", "不合规"),
    ("risk", "违约概率约3.5%。", "中高风险", "中高风险 (Medium-high) · Probability of default 3.50%",
     "中高风险 (中高) · 违约概率 3.50%"),
    ("esg", "E: 70/100, S: 60/100, G: 80/100, overall 70/100", None,
     "E 70 · S 60 · G 80 · ESG 70", "E 70 · S 60 · G 80 · ESG 70"),
    ("calculation", "结果为56.87万元。", "56.87万元", "56.87 万元", "56.87 万元"),
    ("code", "```python\nprint(1)\n```", None, "1 block (python)", "1 段（python）"),
    ("compliance", "No verdict here.", None, "Unclear", "不明确"),
    ("calculation", "No number here.", None, "", ""),
])
def test_the_reading_column_says_what_the_scenarios_reader_read_in_the_windows_language(
        scenario_id: str, answer: str, box: str | None, english: str, chinese: str) -> None:
    from app.core.reasoning.readers import read_answer

    reading = read_answer(get_scenario(scenario_id), answer, box)
    recorded = reading.as_dict() if reading is not None else None  # as the batch stores it
    assert reading_text(recorded, chat_labels("en")) == english
    assert reading_text(recorded, chat_labels("zh")) == chinese


# -- the setup -------------------------------------------------------------------------------------


def test_a_chosen_table_fills_the_mapping_by_its_chinese_headers_and_previews_the_first_question(
        view: BatchView, tmp_path: Path) -> None:
    load(view, write_chinese_csv(tmp_path / "cases.csv"))

    question_box = view.mapping_box.field_boxes["question"]
    assert question_box.currentText() == "待判断的描述"
    assert view.mapping_box.expected_box.currentText() == "预期"
    assert view.mapping().fields == {"question": "待判断的描述"}
    assert view.mapping_box.preview.toPlainText() == COMPLIANCE.render_prompt(
        {"question": "客户把现金存款拆分为多笔"}, "en")
    assert view.error_label.text() == ""
    assert view.run_button.isEnabled()

    question_box.setCurrentIndex(question_box.findText("备注"))  # the person edits the match
    assert view.mapping().fields == {"question": "备注"}
    assert "第一条备注" in view.mapping_box.preview.toPlainText()

    view.language_box.setCurrentIndex(view.language_box.findData("zh"))
    assert view.mapping_box.preview.toPlainText() == COMPLIANCE.render_prompt(
        {"question": "第一条备注"}, "zh")

    question_box.setCurrentIndex(0)  # no column for a required field
    assert view.mapping_box.preview.toPlainText() == ""
    assert "Description to assess" in view.error_label.text()
    assert not view.run_button.isEnabled()


def test_an_english_workbook_is_matched_by_its_headers_and_a_bad_file_says_why(
        view: BatchView, tmp_path: Path) -> None:
    load(view, write_cases(tmp_path / "cases.xlsx", 3))
    assert view.mapping().fields == {"question": "Description"}
    assert view.mapping().expected == "标准答案"
    assert "cases.xlsx: 3 rows" in view.file_label.text()

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    view.load_file(broken)
    wait_until(lambda: "broken.xlsx" in view.error_label.text() and "…" not in
               view.error_label.text(), 30, "the error")
    assert view.table is not None and view.table.path.name == "cases.xlsx"  # nothing lost


def test_a_choice_field_that_no_column_fills_takes_one_value_for_every_row(
        qtbot: Any, store: BatchStore, host: ModelHost, tmp_path: Path) -> None:
    risk = get_scenario("risk")
    table = tmp_path / "loans.csv"
    table.write_text("Borrower profile,Loan request\nA teacher,200k for 3 years\n", "utf-8")
    view = BatchView(risk, store, host, lambda: SETTINGS)
    qtbot.addWidget(view)
    load(view, table)
    scale = view.mapping_box.field_boxes["scale"]
    first, second = (option.value for option in risk.field("scale").options[:2])
    assert view.mapping().fields == {"profile": "Borrower profile", "loan": "Loan request"}
    assert view.mapping().constants == {"scale": first}
    assert scale.currentText().startswith("Every row: ")

    scale.setCurrentIndex(scale.findData(f"value:{second}"))
    assert view.mapping().constants == {"scale": second}
    assert view.mapping_box.preview.toPlainText() == risk.render_prompt(
        {"profile": "A teacher", "loan": "200k for 3 years", "scale": second}, "en")


# -- running ---------------------------------------------------------------------------------------


def test_ten_rows_are_answered_on_the_windows_model_and_each_is_committed_as_it_finishes(
        view: BatchView, store: BatchStore, tmp_path: Path) -> None:
    load(view, write_cases(tmp_path / "cases.xlsx", 10))
    view.max_tokens_box.setValue(4)

    run_to_end(view, view.run_button.click)

    assert view.rows.rowCount() == 10
    records = {record.row_index: record for record in store.rows(view.run_id)}
    assert sorted(records) == list(range(10))
    for line in range(10):
        record = view.rows.record(line)
        assert record is not None and record.status == "done"
        assert cell(view, line, "status") in ("done", "done (token limit)")
        assert cell(view, line, "row") == str(line + 2)
        assert 1 <= int(cell(view, line, "tokens")) <= 4
        assert float(cell(view, line, "time")) == pytest.approx(record.seconds, abs=0.05)
        assert cell(view, line, "reading") in READING_WORDS
        assert cell(view, line, "reading") == reading_text(record.reading, chat_labels("en"))
        assert cell(view, line, "expected") == ("是" if line % 2 else "否")
    assert len(store.conversations()) == 10
    assert store.run(view.run_id).state == "done"
    assert view.progress.bar.value() == view.progress.bar.maximum()
    assert "Done: 10 rows answered" in view.progress.detail_label.text()
    assert "accuracy" in view.summary_label.text()  # the expected column scores the run
    assert view.export_button.isEnabled()


def test_a_row_that_cannot_be_asked_shows_its_error_and_has_no_conversation_to_open(
        view: BatchView, store: BatchStore, tmp_path: Path) -> None:
    table = tmp_path / "cases.csv"
    table.write_text("Description,expected\nSplit deposits,否\n,是\nA clean loan,是\n", "utf-8")
    load(view, table)

    run_to_end(view, view.run_button.click)

    assert [cell(view, line, "status") for line in range(3)][1] == "error"
    error_line = view.rows.index(1, COLUMNS.index("status"))
    assert "Description to assess" in view.rows.data(error_line, Qt.ItemDataRole.ToolTipRole)
    assert not view.open_line(1)
    assert view.open_line(0) and view.open_line(2)
    assert "1 failed" in view.summary_label.text()
    assert len(store.conversations()) == 2


def test_mid_run_the_table_progress_and_time_left_show_while_the_batch_waits_for_the_chat(
        view: BatchView, host: ModelHost, tmp_path: Path) -> None:
    load(view, write_cases(tmp_path / "cases.xlsx", 10))
    assert host.queue is not None
    with chat_in_line_after(host.queue, 3) as chat:
        view.run_button.click()
        wait_until(lambda: chat and host.queue.status.waiting == 2, 60,
                   "the batch's next row to wait behind the chat")
        wait_until(lambda: rows_finished(view) == 3, 30, "three rows in the table")
        wait_until(lambda: "3 of 10" in view.progress.detail_label.text(), 10, "the progress")

        assert view.state == "running"
        assert [cell(view, line, "status") for line in range(5)][3:] == ["answering…",
                                                                          "waiting"]
        assert view.progress.bar.value() == view.progress.bar.maximum() * 3 // 10
        assert "left" in view.progress.detail_label.text()  # the time left, or its estimate
        assert not view.run_button.isEnabled() and not view.export_button.isEnabled()
        assert view.pause_button.isEnabled() and view.progress.cancel_button.isEnabled()
    wait_until(lambda: view.state == "finished", RUN_TIMEOUT_S, "the rest of the rows")
    assert rows_finished(view) == 10


def test_pause_then_resume_answers_every_row_exactly_once(
        view: BatchView, store: BatchStore, host: ModelHost, tmp_path: Path) -> None:
    load(view, write_cases(tmp_path / "cases.xlsx", 10))
    assert host.queue is not None
    with chat_in_line_after(host.queue, 3) as chat:
        view.run_button.click()
        wait_until(lambda: chat and rows_finished(view) == 3, 60, "three rows, then the chat")
        view.pause_button.click()
        wait_until(lambda: view.state == "paused", 30, "the pause")
    run_id = view.run_id
    assert run_id is not None
    assert store.run(run_id).state == "stopped"
    kept = {record.row_index: record.conversation_id for record in store.rows(run_id)}
    assert sorted(kept) == [0, 1, 2]
    assert len(store.conversations()) == 3
    assert view.pause_button.text() == "Resume"
    assert view.export_button.isEnabled()

    run_to_end(view, view.pause_button.click)

    assert view.run_id == run_id and len(store.runs()) == 1
    records = store.rows(run_id)
    assert sorted(record.row_index for record in records) == list(range(10))
    assert all(record.status == "done" for record in records)
    assert {r.row_index: r.conversation_id for r in records if r.row_index < 3} == kept
    assert len(store.conversations()) == 10
    assert len({record.conversation_id for record in records}) == 10


def test_cancel_returns_to_the_setup_and_the_file_then_offers_to_continue_its_run(
        view: BatchView, store: BatchStore, host: ModelHost, tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.xlsx", 10)
    load(view, cases)
    assert host.queue is not None
    with chat_in_line_after(host.queue, 2) as chat:
        view.run_button.click()
        wait_until(lambda: chat and rows_finished(view) == 2, 60, "two rows, then the chat")
        view.progress.cancel_button.click()
        wait_until(lambda: view.state == "setup" and view.unfinished is not None, 30,
                   "the cancel and the offer to continue")
    assert view.unfinished_box.isVisible()
    assert "2 of 10 rows answered" in view.unfinished_label.text()
    assert view.run_button.isEnabled() and view.continue_button.isEnabled()
    assert store.run(view.run_id).state == "stopped"

    load(view, cases)  # as a later session choosing the file
    assert view.unfinished is not None and view.unfinished.finished == 2
    run_to_end(view, view.continue_button.click)

    assert len(store.runs()) == 1
    assert sorted(record.row_index for record in store.rows(view.run_id)) == list(range(10))
    assert len(store.conversations()) == 10
    assert not view.unfinished_box.isVisible()


def test_the_results_export_as_an_excel_workbook_and_as_csv(
        view: BatchView, store: BatchStore, tmp_path: Path) -> None:
    load(view, write_cases(tmp_path / "cases.xlsx", 10))
    run_to_end(view, view.run_button.click)

    output = tmp_path / "out" / "results.xlsx"
    output.parent.mkdir()
    view.export_to(output)
    wait_until(lambda: "saved to" in view.error_label.text(), 30, "the export")
    workbook = load_workbook(output)
    lines = list(workbook["results"].iter_rows(values_only=True))
    header = lines[0]
    assert header[:6] == ("row", "case id", "branch", "Description", "amount", "标准答案")
    assert [line[0] for line in lines[1:]] == list(range(2, 12))
    conversation_ids = {r.row_index + 2: r.conversation_id for r in store.rows(view.run_id)}
    assert {line[0]: line[header.index("conversation")] for line in lines[1:]} == \
        conversation_ids
    assert {"summary", "provenance"} <= set(workbook.sheetnames)
    assert sorted(path.name for path in output.parent.iterdir()) == ["results.xlsx"]

    view.export_to(tmp_path / "out" / "results.csv")
    wait_until(lambda: "results.csv" in view.error_label.text(), 30, "the CSV export")
    with (tmp_path / "out" / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        assert len(list(csv.reader(file))) == 11
    assert (tmp_path / "out" / "results.provenance.csv").is_file()


# -- several models --------------------------------------------------------------------------------


def test_a_library_model_runs_after_the_windows_model_once_confirmed_and_both_are_scored(
        qtbot: Any, store: BatchStore, host: ModelHost, tmp_path: Path,
        tiny_gguf_factory: Callable[..., Path], steer: Callable[..., object]) -> None:
    from app.core.library.model_library import Library

    steer(tiny_gguf_factory("bf16"), grammar=VERDICT_GRAMMAR)  # both share this vocabulary
    with Library(tmp_path / "library") as library:
        entry = library.import_path(tiny_gguf_factory("q8_0"))
    settings = SETTINGS.with_changes(library_dir=str(tmp_path / "library"), max_new_tokens=48)
    listing = LibraryListing(lambda: settings.library_dir)
    listing.refresh()
    wait_until(lambda: listing.entries is not None, 30, "the library listing")
    view = make_view(qtbot, store, host, settings, listing)
    try:
        load(view, write_cases(tmp_path / "cases.xlsx", 6))
        view.choose_engines(["window", f"library:{entry.id}"])

        view.run_button.click()  # two models in memory: the view asks first
        assert view.confirm_box is not None
        assert entry.name in view.confirm_box.text()
        view.confirm_box.button(QMessageBox.StandardButton.No).click()
        wait_until(lambda: view.confirm_box is None, 10, "the question to close")
        assert view.state == "setup" and store.runs() == []

        view.run_button.click()
        assert view.confirm_box is not None
        run_to_end(view, view.confirm_box.button(QMessageBox.StandardButton.Yes).click)
    finally:
        view.shutdown()

    records = store.rows(view.run_id)
    assert len(records) == 12 and view.rows.rowCount() == 12
    assert {cell(view, line, "model") for line in range(12)} == \
        {engine.label for engine in view.plan.engines}
    assert all(cell(view, line, "reading") in ("Compliant", "Non-compliant")
               for line in range(12))
    scores, agreed = summarize(records, 2)
    summary = view.summary_label.text().splitlines()
    assert len(summary) == 3
    for line, engine, figures in zip(summary, view.plan.engines, scores, strict=False):
        assert line.startswith(engine.label)
        assert f"accuracy {figures.accuracy:.0%} ({figures.rows_correct} of 6)" in line
        assert "tokens/s" in line
    assert f"agree on {agreed.rate:.0%} of the 6 rows" in summary[2]


# -- in the window ---------------------------------------------------------------------------------


@pytest.fixture
def window(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The main window with its services (a history under a temporary FINR1_HOME)."""
    from app.ui.theme import ThemeController
    from app.ui.window.main_window import MainWindow

    monkeypatch.setenv("FINR1_HOME", str(tmp_path / "home"))
    main_window = MainWindow(SETTINGS, tmp_path / "home" / "settings.json",
                             ThemeController(qapp, "light"), interactive=False)
    ready: list[bool] = []
    main_window.chat_ready.connect(lambda: ready.append(True))
    main_window.show()
    wait_until(lambda: ready and main_window.services is not None, 60, "the chat view")
    yield main_window
    main_window.close()
    dispose(main_window)


def test_the_panels_batch_button_opens_the_view_and_a_finished_row_opens_as_its_conversation(
        window: Any, tiny_bf16_gguf: Path, tmp_path: Path) -> None:
    assert window.load_model(tiny_bf16_gguf)
    wait_until(lambda: window.host.engine is not None, 120, "the tiny model")
    window.select_panel("compliance")
    window.panels["compliance"].batch_button.click()
    view = window.services.batch_views["compliance"]
    assert view.isVisible() and view.store is window.services.history.store
    load(view, write_cases(tmp_path / "cases.xlsx", 3))
    run_to_end(view, view.run_button.click)
    record = view.rows.record(1)
    assert record is not None and record.conversation_id is not None

    window.select_panel("chat")
    view.table_view.selectRow(1)
    index = view.rows.index(1, 0)
    point = view.table_view.visualRect(index).center()
    QTest.mouseClick(view.table_view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    QTest.mouseDClick(view.table_view.viewport(), Qt.MouseButton.LeftButton, pos=point)

    assert window.current_key == "compliance"
    turns = window.controller.session("compliance").turns
    assert [turn.question for turn in turns] == [view.plan.prompt(1)]
    assert window.services.history.recorder.conversation_of("compliance") == record.conversation_id
