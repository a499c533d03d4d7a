"""Attaching documents to a scenario field (offscreen): the Attach… button and a dropped file open
the review dialog, which reads the real file in the real extraction child off the GUI thread,
lists its pages, sheets or sections, and puts the chosen, edited text into the field as typed
text. Hostile files end in a sentence while the window keeps running; Cancel stops the reader.
The token meter counts with the loaded model's own tokenizer (an estimate, said so, without
one) and, when the text does not fit, offers a larger context at its memory cost or parts that
each fit."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFont, QImage, QPainter, QPdfWriter
from PySide6.QtWidgets import QApplication, QFileDialog, QPlainTextEdit

from app.core.documents.extract_child import CHILD_MODULE
from app.core.documents.token_budget import estimate_token_count
from app.core.engine.config import EngineConfig
from app.core.installation.settings import AppSettings, load_settings
from app.core.scenarios.scenario_file import get_scenario
from app.ui.chat.document_dialog import DocumentDialog
from app.ui.chat.scenario_panel import ScenarioPanel
from app.ui.i18n import install_translations
from app.ui.theme import ThemeController
from app.ui.window.main_window import MainWindow
from app.ui.window.model_host import ModelHost
from tests.support.document_files import (
    many_pages_pdf,
    print_report_pdf,
    report_page,
    write_annual_report_docx,
    zip_bomb_package,
)
from tests.support.llm_support import THREADS
from tests.support.qt_wait import wait_until
from tests.support.ui_support import dispose, hosted_model

FIELD = "profile"  # the risk scenario's borrower profile: multiline, required
READ_S = 60.0
# a short reply keeps room for the document in the tiny model's small contexts
SETTINGS = AppSettings(max_new_tokens=32, n_ctx=512)
N_CTX = 512
LONG_PARAGRAPH = ("Revenue grew 18% year on year while margins held steady and the board "
                  "raised the dividend. ")


@pytest.fixture
def panel(qtbot: Any) -> ScenarioPanel:
    shown = ScenarioPanel(get_scenario("risk"))
    qtbot.addWidget(shown)
    shown.use_model_host(ModelHost(shown), lambda: SETTINGS)
    return shown


@pytest.fixture(scope="module")
def word_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_annual_report_docx(tmp_path_factory.mktemp("docx") / "annual.docx")


@pytest.fixture(scope="module")
def english_report(qapp: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    print_report_pdf(path, 4, chinese=False)
    return path


@pytest.fixture(scope="module")
def tiny_model(qapp: Any, tiny_gguf_factory: Callable[..., Path]) -> Iterator[ModelHost]:
    """The tiny GGUF loaded through the window's own host, with a 512-token context."""
    config = EngineConfig(n_ctx=N_CTX, n_threads=THREADS, n_gpu_layers=0)
    with hosted_model(tiny_gguf_factory("bf16"), config) as host:
        yield host


def read(dialog: DocumentDialog) -> DocumentDialog:
    """Wait until ``dialog`` has read its document (or failed to) and counted its tokens."""
    wait_until(lambda: not dialog.reading, READ_S, "the document to be read")
    wait_until(lambda: dialog.error or (dialog.fit is not None and not dialog.counting),
               READ_S, "the tokens to be counted")
    return dialog


def field_text(panel: ScenarioPanel, name: str = FIELD) -> str:
    return panel.values()[name]


def reader_processes() -> list[int]:
    """This process's extraction children still running (Linux: read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and CHILD_MODULE.encode() in command:
            found.append(int(stat.parent.name))
    return found


# -- reading, choosing, putting in the field -------------------------------------------------------

def test_the_attach_button_reads_a_word_document_into_sections_and_the_chosen_ones_land_in_the_field(
        panel: ScenarioPanel, word_file: Path) -> None:
    panel.attach_buttons[FIELD].click()
    chooser = wait_until(lambda: panel.findChild(QFileDialog), 10, "the file dialog")
    chooser.selectFile(str(word_file))
    chooser.accept()
    dialog = read(wait_until(lambda: panel.document_dialog, 10, "the document dialog"))

    assert dialog.parts_list.count() == 3
    assert [dialog.parts_list.item(row).text() for row in (1, 2)] == ["一、财务概况", "二、风险提示"]
    dialog.parts_list.item(2).setCheckState(Qt.CheckState.Unchecked)
    assert "营业收入1505.6亿元" in dialog.text() and "汇率波动" not in dialog.text()
    dialog.put_button.click()

    assert field_text(panel) == dialog.document.text([1, 2])
    assert "汇率波动" not in field_text(panel)


def test_chosen_pdf_pages_are_the_text_that_goes_into_the_field_after_typed_text(
        panel: ScenarioPanel, english_report: Path) -> None:
    panel.findChild(QPlainTextEdit, f"field_{FIELD}").setPlainText("Typed first.")
    dialog = read(panel.attach_document(FIELD, english_report))
    assert [dialog.parts_list.item(row).text() for row in range(4)] == [
        "Page 1", "Page 2", "Page 3", "Page 4"]

    dialog.range_edit.setText("2-3")
    dialog.range_button.click()

    assert dialog.chosen_numbers() == [2, 3]
    assert report_page(2, chinese=False)[1] in dialog.text()
    assert report_page(1, chinese=False)[1] not in dialog.text()
    dialog.text_box.appendPlainText("Edited before sending.")
    dialog.put_button.click()
    assert field_text(panel) == "Typed first.\n\n" + dialog.text()
    assert field_text(panel).endswith("Edited before sending.")


def test_a_range_naming_no_page_of_the_document_is_a_sentence(panel: ScenarioPanel,
                                                             english_report: Path) -> None:
    dialog = read(panel.attach_document(FIELD, english_report))

    dialog.range_edit.setText("9-12")
    dialog.range_button.click()

    assert dialog.error_label.text() == ("None of these numbers is in report.pdf: it has 4 parts, "
                                         "numbered 1 to 4.")
    assert dialog.chosen_numbers() == [1, 2, 3, 4]


def test_a_scanned_pdf_says_it_has_no_text_layer(panel: ScenarioPanel, tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    scan = QImage(800, 300, QImage.Format.Format_RGB32)
    scan.fill(QColor("white"))
    painter = QPainter(scan)
    painter.setFont(QFont("Sans", 28))
    painter.drawText(40, 120, "Revenue 1505.6")  # pixels of a scan, not text
    painter.end()
    writer = QPdfWriter(str(path))
    painter = QPainter(writer)
    painter.drawImage(painter.viewport().adjusted(0, 0, 0, -painter.viewport().height() // 2),
                      scan)
    painter.end()
    del writer

    dialog = read(panel.attach_document(FIELD, path))

    assert dialog.notes_label.isVisibleTo(dialog)
    assert dialog.notes_label.text().startswith("scan.pdf has no text layer: its pages are "
                                                "probably scanned images")
    assert not dialog.put_button.isEnabled()


def test_switching_the_language_translates_the_dialog_and_keeps_the_edited_text(
        qapp: Any, app_home: Path, panel: ScenarioPanel, english_report: Path) -> None:
    dialog = read(panel.attach_document(FIELD, english_report))
    dialog.text_box.setPlainText("Only this, edited.")
    translations = install_translations(qapp, "en")
    try:
        translations.apply("zh_CN")
        wait_until(lambda: dialog.put_button.text() == "填入字段", 10, "the dialog in Chinese")
        assert dialog.parts_list.item(0).text() == "第 1 页"
        assert panel.attach_buttons[FIELD].text() == "附加…"
        assert dialog.text() == "Only this, edited."
    finally:
        translations.apply("en")


# -- hostile files and cancel ----------------------------------------------------------------------

def test_a_zip_bomb_workbook_ends_in_a_sentence_while_the_window_keeps_running(
        panel: ScenarioPanel, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Revenue", 1505.6])
    workbook.save(tmp_path / "book.xlsx")
    bomb = tmp_path / "bomb.xlsx"
    zip_bomb_package(tmp_path / "book.xlsx", bomb, "xl/worksheets/sheet1.xml", 2048)
    dialogs: list[DocumentDialog] = []
    ticks_while_reading: list[bool] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks_while_reading.append(bool(dialogs) and dialogs[0].reading))
    timer.start()

    dialogs.append(panel.attach_document(FIELD, bomb))
    read(dialogs[0])
    timer.stop()

    assert dialogs[0].error_label.text() == (
        "bomb.xlsx would expand to 2.0 GiB when unzipped, more than the 512 MiB an Office "
        "document may (it looks like a zip bomb); it was not opened. Attach a copy saved by "
        "Office, or split the document.")
    assert dialogs[0].error_label.isVisibleTo(dialogs[0])
    assert ticks_while_reading.count(True) >= 3  # the event loop ran while the file was read
    assert not dialogs[0].put_button.isEnabled() and field_text(panel) == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes read from /proc")
def test_cancel_stops_the_reader_midway_and_leaves_the_field_as_it_was(
        panel: ScenarioPanel, tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(many_pages_pdf(2000))
    dialog = panel.attach_document(FIELD, path)
    wait_until(lambda: "Reading long.pdf… " in dialog.status_label.text() and " of 2,000" in
               dialog.status_label.text(), READ_S, "the first pages to be read")
    assert reader_processes()

    dialog.cancel_button.click()

    assert not dialog.isVisible()
    wait_until(lambda: not dialog.reading, 10, "the reading job to end")
    assert dialog.document is None  # stopped, not read to the end
    wait_until(lambda: not reader_processes(), 10, "the reader process to end")
    assert field_text(panel) == ""


def test_a_file_dropped_on_the_field_opens_the_dialog_and_dropped_text_is_still_typed(
        panel: ScenarioPanel, word_file: Path) -> None:
    box = panel.findChild(QPlainTextEdit, f"field_{FIELD}")
    dropped = QMimeData()
    dropped.setUrls([QUrl.fromLocalFile(str(word_file))])

    assert drop(box, dropped)

    dialog = read(wait_until(lambda: panel.document_dialog, 10, "the document dialog"))
    assert dialog.path == word_file and dialog.parts_list.count() == 3
    dialog.reject()
    typed = QMimeData()
    typed.setText("净利润747亿元")
    drop(box, typed)
    assert field_text(panel) == "净利润747亿元" and panel.document_dialog is None


def drop(box: QPlainTextEdit, data: QMimeData) -> bool:
    """Drag ``data`` over ``box`` and drop it, as a person would; True when the drop was taken."""
    where = box.viewport().rect().center()
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(box.viewport(), enter)
    release = QDropEvent(QPointF(QPoint(where)), Qt.DropAction.CopyAction, data,
                         Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(box.viewport(), release)
    return release.isAccepted()


# -- the token meter -------------------------------------------------------------------------------

def long_text_file(folder: Path, sections: int) -> Path:
    """A Markdown document of ``sections`` sections, each a heading and two paragraphs."""
    path = folder / "notes.md"
    path.write_text("".join(f"# Note {number}\n\n{LONG_PARAGRAPH}\n\n{LONG_PARAGRAPH}\n\n"
                            for number in range(1, sections + 1)), encoding="utf-8")
    return path


def test_without_a_model_the_meter_says_its_count_is_an_estimate_and_how(
        panel: ScenarioPanel, word_file: Path) -> None:
    dialog = read(panel.attach_document(FIELD, word_file))

    assert dialog.fit.document_tokens == estimate_token_count(dialog.text())
    assert dialog.meter_detail.text().startswith(
        "An estimate, as no model is loaded: one token per Chinese character, one per 4 other "
        "characters.")
    assert dialog.meter_label.text().startswith("Fits: ≈ ")


def test_the_meter_counts_with_the_loaded_model_and_flags_a_document_past_a_small_context(
        panel: ScenarioPanel, tiny_model: ModelHost, tmp_path: Path) -> None:
    panel.use_model_host(tiny_model, lambda: SETTINGS)
    engine = tiny_model.engine
    dialog = read(panel.attach_document(FIELD, long_text_file(tmp_path, 20)))

    tokens = len(engine.tokenize_text(dialog.text()))
    assert dialog.fit.document_tokens == tokens != estimate_token_count(dialog.text())
    assert dialog.fit.n_ctx == N_CTX and not dialog.fit.fits
    assert dialog.meter_detail.text().startswith("Counted with the loaded model's tokenizer.")
    assert dialog.meter_label.text().startswith(f"Does not fit: {tokens:,} tokens, more than")
    assert dialog.meter_bar.property("over") is True
    assert dialog.raise_button.isVisibleTo(dialog) and dialog.split_button.isVisibleTo(dialog)
    assert dialog.raise_button.text().startswith(
        f"Raise the context to {dialog.fit.needed_ctx:,} tokens (about ")

    dialog.range_edit.setText("1")
    dialog.range_button.click()
    wait_until(lambda: dialog.fit is not None and not dialog.counting
               and dialog.fit.document_tokens < tokens, READ_S, "a count of the shorter text")
    assert dialog.fit.document_tokens == len(engine.tokenize_text(dialog.text()))


def test_split_parts_each_fit_and_the_chosen_part_is_what_goes_into_the_field(
        panel: ScenarioPanel, tiny_model: ModelHost, tmp_path: Path) -> None:
    panel.use_model_host(tiny_model, lambda: SETTINGS)
    engine = tiny_model.engine
    dialog = read(panel.attach_document(FIELD, long_text_file(tmp_path, 20)))
    whole = dialog.text()
    room = dialog.fit.n_ctx - dialog.fit.reserved_tokens

    dialog.split_button.click()
    wait_until(lambda: dialog.split_parts, READ_S, "the parts")

    parts = dialog.split_parts
    assert len(parts) > 1 and "".join(part.text for part in parts) == whole
    assert all(len(engine.tokenize_text(part.text)) == part.tokens <= room for part in parts)
    assert dialog.part_box.count() == len(parts)
    dialog.choose_split_part(1)
    assert dialog.text() == parts[1].text
    read(dialog)
    assert dialog.fit.fits and dialog.meter_label.text().startswith("Fits: ")
    dialog.put_button.click()
    assert field_text(panel) == parts[1].text


def test_raising_the_context_reloads_the_windows_model_and_the_document_then_fits(
        qapp: Any, app_home: Path, tiny_gguf_factory: Callable[..., Path], tmp_path: Path) -> None:
    settings = SETTINGS.with_changes(n_threads=THREADS, n_gpu_layers=0)
    window = MainWindow(settings, app_home / "settings.json", ThemeController(qapp, "light"))
    window.populate()
    window.host.load(tiny_gguf_factory("bf16"), settings.engine_config())
    wait_until(lambda: window.host.engine is not None or not window.host.busy, 120, "the model")
    dialog = read(window.panels["risk"].attach_document(FIELD, long_text_file(tmp_path, 6)))
    needed = dialog.fit.needed_ctx
    assert not dialog.fit.fits and N_CTX < needed <= 4096

    dialog.raise_button.click()

    wait_until(lambda: window.host.engine is not None and not window.host.busy, 120,
               "the model to load again")
    assert window.host.engine.info.n_ctx == needed == window.settings.n_ctx
    assert load_settings(app_home / "settings.json").n_ctx == needed
    wait_until(lambda: dialog.fit.n_ctx == needed and not dialog.counting, READ_S,
               "a count against the larger context")
    assert dialog.fit.fits and not dialog.raise_button.isVisibleTo(dialog)
    dialog.reject()
    window.close()
    dispose(window)
