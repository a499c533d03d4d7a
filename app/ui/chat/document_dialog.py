"""Attaching a document to a scenario field: its text, reviewed and edited before it is sent.

``DocumentDialog(path, …)`` reads the document off the GUI thread (``extract_document`` in a
``BackgroundJob``: a child process under time and memory limits), showing how far it got, with
Cancel. Then it lists the document's pages, sheets or sections (all chosen; a range such as
``1-5, 8`` chooses by number) and shows the chosen parts' text in an editable box. Whatever a
file does, the dialog shows a sentence (the core's ``DocumentError`` message) and the window
carries on.

The token meter sets the box's text against the context (``measure_context_fit``), counted off
the GUI thread with the loaded model's own tokenizer (``ChatEngine.tokenize_text``). With no
model loaded, a model still loading, or a model on a server, the count is an estimate
(``token_budget.estimate_tokens``) and the meter says so and how it estimates. Kept aside: the
reply's room (the maximum reply length) and the rest of the prompt (the system prompt, the
scenario's template, the other fields). When the text does not fit, the dialog offers: raise the
context (``context_change_requested(n_ctx)``, with the memory it costs; the window reloads the
model), choose fewer parts, or split the text into parts that each fit — the field then gets the
one part chosen in the dialog; the others are asked about one at a time, by attaching the
document again and choosing the next part.

``accepted`` means ``text()`` is to go into the field, as typed text would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.documents.context_fit import ContextFit, Tokenize, measure_context_fit
from app.core.documents.parts import DocumentPart, DocumentText, parse_page_ranges
from app.core.documents.token_budget import (
    OTHER_CHARS_PER_TOKEN,
    TextPart,
    estimate_tokens,
    split_to_fit,
)
from app.core.hardware.llama_memory import ModelDims
from app.core.installation.settings import AppSettings
from app.ui.formats import size_text
from app.ui.job_bridge import BackgroundJob, JobContext
from app.ui.retranslate import Retranslating
from foundation.jobs import JobCancelled, Progress

if TYPE_CHECKING:
    from app.ui.window.model_host import ModelHost

translate = QCoreApplication.translate  # lupdate finds texts in calls named translate(…)

RECOUNT_DELAY_MS = 300  # typing in the box recounts once the person pauses
_PREVIEW_CHARS = 300
_STYLE = """
#formError { color: #c5221f; }
#documentNote, #meterDetail { color: palette(placeholder-text); }
#tokenMeter { text-align: center; border: 1px solid palette(mid); border-radius: 3px; }
#tokenMeter::chunk { background: palette(highlight); }
#tokenMeter[over="true"]::chunk { background: #c5221f; }
"""


@dataclass(frozen=True)
class MeterSource:
    """What the token meter counts with and against.

    ``tokenize``: the loaded model's tokenizer, or ``estimate_tokens``. ``estimate_reason``: why
    the count is an estimate ("" when the model counts). ``n_ctx``: the context. ``reply_tokens``:
    the room kept for the reply. ``dims``/``trained_ctx``: the model's shape and trained length,
    to price a larger context (None when unknown). ``can_raise``: the app can change the context
    (a local model or none yet; a server's context is the server's).
    """

    tokenize: Tokenize
    estimate_reason: str
    n_ctx: int
    reply_tokens: int
    system_prompt: str
    dims: ModelDims | None
    trained_ctx: int | None
    can_raise: bool

    @property
    def estimated(self) -> bool:
        return bool(self.estimate_reason)


def meter_source(host: ModelHost | None, settings: AppSettings) -> MeterSource:
    """The meter's source for ``host``'s engine now (the GUI thread's view: an engine present is
    not being closed) and ``settings``; the estimate's reason is in the window's language."""
    reply, system = settings.max_new_tokens, settings.system_prompt
    engine = host.engine if host is not None else None
    if engine is not None and host is not None and host.kind == "local":
        from app.core.engine.local_engine import ChatEngine

        assert isinstance(engine, ChatEngine)
        return MeterSource(engine.tokenize_text, "", engine.info.n_ctx, reply, system,
                           ModelDims.from_gguf(engine.gguf_info),
                           engine.gguf_info.context_length, True)
    if engine is not None:
        reason = translate("DocumentDialog", "the model runs on a server, whose tokenizer this "
                           "app does not have, and its context is taken as the one set in "
                           "Settings")
        return MeterSource(estimate_tokens, reason, settings.n_ctx, reply, system, None, None,
                           False)
    reason = (translate("DocumentDialog", "the model is still loading")
              if host is not None and host.busy
              else translate("DocumentDialog", "no model is loaded"))
    return MeterSource(estimate_tokens, reason, settings.n_ctx, reply, system, None, None, True)


def _measure(text: str, around: str, source: MeterSource) -> ContextFit:
    """``text`` against ``source``'s context, the prompt ``around`` it and the reply kept aside
    (runs off the GUI thread)."""
    reserved = len(source.tokenize(around)) + source.reply_tokens
    return measure_context_fit(text, source.tokenize, source.n_ctx, reserved,
                               dims=source.dims, trained_ctx=source.trained_ctx)


class DocumentDialog(Retranslating, QDialog):
    """Reads ``path`` and lets the person review, choose, edit and fit its text (see the module
    docstring). ``host``: the window's engine (None: counted as with no model loaded);
    ``settings()``: the settings now; ``prompt_around()``: the scenario's prompt around the
    field (``token_budget.prompt_around_field``)."""

    context_change_requested = Signal(int)

    def __init__(self, path: Path, *, host: ModelHost | None = None,
                 settings: Callable[[], AppSettings] = AppSettings,
                 prompt_around: Callable[[], str] = str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._host = host
        self._settings = settings
        self._prompt_around = prompt_around
        self.document: DocumentText | None = None
        self.fit: ContextFit | None = None
        self.source: MeterSource | None = None
        self.split_parts: tuple[TextPart, ...] = ()
        self.error: str = ""
        self._reading: BackgroundJob | None = None
        self._counting: BackgroundJob | None = None
        self._splitting: BackgroundJob | None = None
        self._progress: Progress | None = None
        self._count_again = False
        self._filling = False
        self._closed = False
        self._recount = QTimer(self, singleShot=True, interval=RECOUNT_DELAY_MS)
        self._recount.timeout.connect(self._start_count)
        self.setStyleSheet(_STYLE)
        self.resize(920, 640)
        self._build()
        if host is not None:
            for signal in (host.loading, host.connecting, host.loaded, host.connected,
                           host.load_failed):
                signal.connect(self._engine_changed)
        self.retranslate()
        self._start_reading()

    # -- building --------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)
        self.error_label = QLabel()
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.notes_label = QLabel()
        self.notes_label.setObjectName("documentNote")
        self.notes_label.setWordWrap(True)
        self.notes_label.hide()
        for widget in (self.status_label, self.progress_bar, self.error_label, self.notes_label):
            layout.addWidget(widget)
        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.parts_pane = self._build_parts_pane()
        self.body.addWidget(self.parts_pane)
        self.text_box = QPlainTextEdit()
        self.text_box.setObjectName("documentText")
        self.text_box.textChanged.connect(self._text_edited)
        self.body.addWidget(self.text_box)
        self.body.setStretchFactor(1, 1)
        self.body.setSizes([240, 680])
        self.body.setEnabled(False)
        layout.addWidget(self.body, 1)
        layout.addLayout(self._build_meter())
        layout.addWidget(self._build_choices())
        self.buttons = QDialogButtonBox()
        self.put_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.put_button.setObjectName("putInField")
        self.put_button.setEnabled(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _build_parts_pane(self) -> QWidget:
        pane = QWidget()
        column = QVBoxLayout(pane)
        column.setContentsMargins(0, 0, 0, 0)
        self.parts_label = QLabel()
        self.parts_list = QListWidget()
        self.parts_list.setObjectName("documentParts")
        self.parts_list.itemChanged.connect(lambda _item: self._selection_changed())
        choose_row = QHBoxLayout()
        self.range_edit = QLineEdit()
        self.range_edit.setObjectName("partRange")
        self.range_edit.returnPressed.connect(self.choose_range)
        self.range_button = QPushButton()
        self.range_button.clicked.connect(self.choose_range)
        choose_row.addWidget(self.range_edit, 1)
        choose_row.addWidget(self.range_button)
        all_row = QHBoxLayout()
        self.all_button = QPushButton()
        self.all_button.clicked.connect(lambda: self._check_all(True))
        self.none_button = QPushButton()
        self.none_button.clicked.connect(lambda: self._check_all(False))
        all_row.addWidget(self.all_button)
        all_row.addWidget(self.none_button)
        all_row.addStretch(1)
        self.selection_hint = QLabel()
        self.selection_hint.setObjectName("documentNote")
        self.selection_hint.setWordWrap(True)
        column.addWidget(self.parts_label)
        column.addWidget(self.parts_list, 1)
        column.addLayout(choose_row)
        column.addLayout(all_row)
        column.addWidget(self.selection_hint)
        return pane

    def _build_meter(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.meter_bar = QProgressBar()
        self.meter_bar.setObjectName("tokenMeter")
        self.meter_bar.setTextVisible(True)
        self.meter_label = QLabel()
        self.meter_label.setWordWrap(True)
        self.meter_detail = QLabel()
        self.meter_detail.setObjectName("meterDetail")
        self.meter_detail.setWordWrap(True)
        column.addWidget(self.meter_bar)
        column.addWidget(self.meter_label)
        column.addWidget(self.meter_detail)
        return column

    def _build_choices(self) -> QWidget:
        self.choices = QWidget()
        column = QVBoxLayout(self.choices)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.raise_button = QPushButton()
        self.raise_button.setObjectName("raiseContext")
        self.raise_button.clicked.connect(self._raise_context)
        self.split_button = QPushButton()
        self.split_button.setObjectName("splitDocument")
        self.split_button.clicked.connect(self.split)
        row.addWidget(self.raise_button)
        row.addWidget(self.split_button)
        row.addStretch(1)
        self.choices_hint = QLabel()
        self.choices_hint.setWordWrap(True)
        part_row = QHBoxLayout()
        self.part_label = QLabel()
        self.part_box = QComboBox()
        self.part_box.setObjectName("splitPart")
        self.part_box.currentIndexChanged.connect(self._part_chosen)
        part_row.addWidget(self.part_label)
        part_row.addWidget(self.part_box, 1)
        self.part_row = QWidget()
        self.part_row.setLayout(part_row)
        self.part_note = QLabel()
        self.part_note.setObjectName("documentNote")
        self.part_note.setWordWrap(True)
        column.addLayout(row)
        column.addWidget(self.choices_hint)
        column.addWidget(self.part_row)
        column.addWidget(self.part_note)
        self.choices.hide()
        self.part_row.hide()
        self.part_note.hide()
        return self.choices

    def retranslate(self) -> None:
        """Every text in the window's language (again when it changes)."""
        self.setWindowTitle(self.tr("Attach {0}").format(self.path.name))
        self.put_button.setText(self.tr("Put in the field"))
        self.range_button.setText(self.tr("Choose"))
        self.all_button.setText(self.tr("All"))
        self.none_button.setText(self.tr("None"))
        self.selection_hint.setText(self.tr(
            "Choosing parts replaces the text on the right with theirs."))
        self.split_button.setText(self.tr("Split into parts that each fit"))
        self.part_label.setText(self.tr("Part for the field:"))
        self.part_note.setText(self.tr(
            "The field gets the part chosen here, as one question. To ask about another part, "
            "attach the document again and choose that part."))
        self._show_parts_words()
        self._show_status()
        self._show_notes()
        self._show_meter()
        self._show_split()

    # -- reading ---------------------------------------------------------------------------------

    @property
    def reading(self) -> bool:
        """True while the document is being read."""
        return self._reading is not None and self._reading.running

    def _start_reading(self) -> None:
        path = self.path

        def read(context: JobContext) -> DocumentText:
            from app.core.documents.extraction import extract_document

            return extract_document(path, on_progress=context.progress, cancel=context.cancel)

        self._reading = (BackgroundJob(self, read, "read a document")
                         .on_progress(self._progressed).on_success(self._read)
                         .on_failure(self._read_failed))
        self._reading.finished.connect(self._job_finished)
        self._reading.start()
        self._show_status()

    def _progressed(self, progress: Progress) -> None:
        self._progress = progress
        self._show_status()

    def _read(self, document: DocumentText) -> None:
        self.document = document
        self.progress_bar.hide()
        self.status_label.hide()
        self._filling = True
        for part in document.parts:
            item = QListWidgetItem(self._part_title(part))
            item.setData(Qt.ItemDataRole.UserRole, part.number)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(part.text[:_PREVIEW_CHARS])
            self.parts_list.addItem(item)
        self._filling = False
        self._show_parts_words()
        self._show_notes()
        self.body.setEnabled(True)
        self.parts_pane.setVisible(len(document.parts) > 1)
        self._selection_changed()

    def _read_failed(self, error: BaseException) -> None:
        self.progress_bar.hide()
        self.status_label.hide()
        if isinstance(error, JobCancelled):
            return
        self.error = str(error) or type(error).__name__
        self.error_label.setText(self.error)
        self.error_label.show()
        self.cancel_button.setText(self.tr("Close"))

    def _show_status(self) -> None:
        if not self.reading:
            return
        progress = self._progress
        if progress is None or progress.total <= 0:
            self.status_label.setText(self.tr("Reading {0}…").format(self.path.name))
            return
        self.status_label.setText(self.tr("Reading {0}… {1} of {2}").format(
            self.path.name, f"{progress.done:,}", f"{progress.total:,}"))
        self.progress_bar.setRange(0, progress.total)
        self.progress_bar.setValue(progress.done)

    def _show_notes(self) -> None:
        document = self.document
        if document is None:
            return
        if document.kind == "pdf" and not document.has_text:
            notes = [self.tr(
                "{0} has no text layer: its pages are probably scanned images, and the app "
                "cannot read text in images (no OCR). Attach a PDF with text (one saved from the "
                "program that made it), or type the figures into the field.").format(
                    document.file_name)]
        else:
            notes = list(document.notes)
        self.notes_label.setText("\n".join(notes))
        self.notes_label.setVisible(bool(notes))

    def _part_title(self, part: DocumentPart) -> str:
        if part.kind == "page":
            return self.tr("Page {0}").format(part.label or part.number)
        if part.kind == "sheet":
            return self.tr("Sheet {0}").format(part.label)
        return part.label or self.tr("(before the first heading)")

    def _show_parts_words(self) -> None:
        kind = self.document.parts[0].kind if self.document and self.document.parts else "page"
        self.parts_label.setText({"page": self.tr("Pages"), "sheet": self.tr("Sheets"),
                                  "section": self.tr("Sections")}[kind])
        self.range_edit.setPlaceholderText(self.tr("Numbers, e.g. 1-5, 8"))
        self._filling = True  # a new title is no new choice: the edited text stays
        for row in range(self.parts_list.count()):
            item = self.parts_list.item(row)
            part = self._part(item.data(Qt.ItemDataRole.UserRole))
            if part is not None:
                item.setText(self._part_title(part))
        self._filling = False

    def _part(self, number: int) -> DocumentPart | None:
        assert self.document is not None
        return next((part for part in self.document.parts if part.number == number), None)

    # -- choosing parts --------------------------------------------------------------------------

    def chosen_numbers(self) -> list[int]:
        """The numbers of the parts ticked in the list, in document order."""
        return [self.parts_list.item(row).data(Qt.ItemDataRole.UserRole)
                for row in range(self.parts_list.count())
                if self.parts_list.item(row).checkState() == Qt.CheckState.Checked]

    def choose_range(self) -> None:
        """Tick exactly the parts the range box names (``1-5, 8``); a sentence when it names
        none of them or is not a range."""
        if self.document is None:
            return
        try:
            wanted = set(parse_page_ranges(self.range_edit.text()))
        except ValueError as error:
            self._show_error(str(error))
            return
        present = {part.number for part in self.document.parts}
        if not wanted & present:
            self._show_error(self.tr("None of these numbers is in {0}: it has {1} parts, "
                                     "numbered 1 to {1}.").format(self.document.file_name,
                                                                  self.document.part_count))
            return
        self._show_error("")
        self._check(lambda number: number in wanted)

    def _check_all(self, checked: bool) -> None:
        self._check(lambda _number: checked)

    def _check(self, chosen: Callable[[int], bool]) -> None:
        self._filling = True
        for row in range(self.parts_list.count()):
            item = self.parts_list.item(row)
            item.setCheckState(Qt.CheckState.Checked if chosen(item.data(Qt.ItemDataRole.UserRole))
                               else Qt.CheckState.Unchecked)
        self._filling = False
        self._selection_changed()

    def _show_error(self, sentence: str) -> None:
        self.error_label.setText(sentence)
        self.error_label.setVisible(bool(sentence))

    def _selection_changed(self) -> None:
        if self._filling or self.document is None:
            return
        self._clear_split()
        self._set_text(self.document.text(self.chosen_numbers()))

    def _set_text(self, text: str) -> None:
        self._filling = True
        self.text_box.setPlainText(text)
        self._filling = False
        self._recount.start(0)

    def _text_edited(self) -> None:
        self.put_button.setEnabled(bool(self.text_box.toPlainText().strip()))
        if not self._filling:
            self._recount.start(RECOUNT_DELAY_MS)

    def text(self) -> str:
        """The text that goes into the field: the box's, as reviewed and edited."""
        return self.text_box.toPlainText()

    # -- the token meter -------------------------------------------------------------------------

    @property
    def counting(self) -> bool:
        """True while tokens are being counted, or a count is due."""
        return (self._counting is not None and self._counting.running) or self._recount.isActive()

    def _engine_changed(self, *_args: object) -> None:
        if self.document is not None and not self._closed:
            self._recount.start(0)

    def _start_count(self) -> None:
        if self.document is None or self._closed:
            return
        if self._counting is not None and self._counting.running:
            self._count_again = True
            return
        source = meter_source(self._host, self._settings())
        text = self.text()
        around = source.system_prompt + "\n" + self._prompt_around()
        self._count_again = False
        self._counting = (BackgroundJob(self, lambda _context: _measure(text, around, source),
                                        "count a document's tokens")
                          .on_success(lambda fit: self._counted(fit, source))
                          .on_failure(lambda error: self._count_failed(error, source)))
        self._counting.finished.connect(self._job_finished)
        self._show_meter()
        self._counting.start()

    def _counted(self, fit: ContextFit, source: MeterSource) -> None:
        if self._count_again:
            self._recount.start(0)
            return
        self.fit, self.source = fit, source
        self._show_meter()

    def _count_failed(self, error: BaseException, source: MeterSource) -> None:
        # (a model closed while counting: the host's signal that it changed recounts)
        if self._count_again:
            self._recount.start(0)
            return
        self.fit, self.source = None, source
        self._show_meter()
        self.meter_label.setText(self.tr("The tokens could not be counted: {0}").format(error))

    def _show_meter(self) -> None:
        fit, source = self.fit, self.source
        if fit is None or source is None:
            self.meter_bar.setRange(0, 0)
            self.meter_bar.setFormat("")
            self.meter_label.setText(self.tr("Counting tokens…") if self.document else "")
            self.meter_detail.setText("")
            self.choices.hide()
            return
        room = fit.n_ctx - fit.reserved_tokens
        self.meter_bar.setRange(0, max(room, 1))
        self.meter_bar.setValue(min(max(fit.document_tokens, 0), max(room, 1)))
        self.meter_bar.setFormat(self.tr("{0} of {1} tokens").format(
            f"{fit.document_tokens:,}", f"{max(room, 0):,}"))
        self.meter_bar.setProperty("over", not fit.fits)
        self.meter_bar.style().unpolish(self.meter_bar)
        self.meter_bar.style().polish(self.meter_bar)
        self.meter_label.setText(self._fit_sentence(fit, room))
        self.meter_detail.setText(self._count_sentence(fit, source))
        self._show_choices(fit, source, room)

    def _count_sentence(self, fit: ContextFit, source: MeterSource) -> str:
        kept = self.tr("Kept aside: {0} tokens for the reply (the maximum reply length) and {1} "
                       "for the rest of the prompt.").format(
            f"{source.reply_tokens:,}", f"{fit.reserved_tokens - source.reply_tokens:,}")
        if not source.estimated:
            return self.tr("Counted with the loaded model's tokenizer.") + " " + kept
        return self.tr("An estimate, as {0}: one token per Chinese character, one per {1} other "
                       "characters.").format(source.estimate_reason, OTHER_CHARS_PER_TOKEN) \
            + " " + kept

    def _fit_sentence(self, fit: ContextFit, room: int) -> str:
        if room <= 0:
            return self.tr("Does not fit: the reply's room and the rest of the prompt already "
                           "fill the {0}-token context. Lower the maximum reply length in "
                           "Settings, or raise the context.").format(f"{fit.n_ctx:,}")
        about = "≈ " if self.source is not None and self.source.estimated else ""
        if fit.fits:
            return self.tr("Fits: {0}{1} tokens of the {2} the {3}-token context leaves for the "
                           "document.").format(about, f"{fit.document_tokens:,}", f"{room:,}",
                                               f"{fit.n_ctx:,}")
        return self.tr("Does not fit: {0}{1} tokens, more than the {2} the {3}-token context "
                       "leaves for the document.").format(about, f"{fit.document_tokens:,}",
                                                         f"{room:,}", f"{fit.n_ctx:,}")

    def _show_choices(self, fit: ContextFit, source: MeterSource, room: int) -> None:
        self.choices.setVisible(not fit.fits or bool(self.split_parts))
        raisable = source.can_raise and fit.can_raise_context
        if fit.extra_memory_bytes:
            self.raise_button.setText(self.tr(
                "Raise the context to {0} tokens (about {1} more memory)").format(
                    f"{fit.needed_ctx:,}", size_text(fit.extra_memory_bytes)))
        else:
            self.raise_button.setText(self.tr("Raise the context to {0} tokens").format(
                f"{fit.needed_ctx:,}"))
        self.raise_button.setVisible(raisable and not fit.fits)
        self.split_button.setEnabled(room > 0 and not self.splitting)
        self.split_button.setVisible(not fit.fits)
        several = self.document is not None and len(self.document.parts) > 1
        hints = [self.tr("Or choose fewer pages, sheets or sections on the left.")] if several else []
        if not source.can_raise:
            hints.append(self.tr("The server's context is set on the server."))
        elif not fit.can_raise_context:
            hints.append(self.tr("A larger context is not offered: this model was trained for "
                                 "{0} tokens.").format(f"{fit.trained_ctx:,}"))
        self.choices_hint.setText(" ".join(hints))
        self.choices_hint.setVisible(not fit.fits)

    def _raise_context(self) -> None:
        if self.fit is not None:
            self.context_change_requested.emit(self.fit.needed_ctx)

    # -- splitting -------------------------------------------------------------------------------

    @property
    def splitting(self) -> bool:
        return self._splitting is not None and self._splitting.running

    def split(self) -> None:
        """Cut the box's text into parts that each fit the room the context leaves (off the GUI
        thread); the first goes into the box, the others are offered in the part list."""
        fit, source = self.fit, self.source
        if fit is None or source is None or self.splitting:
            return
        room = fit.n_ctx - fit.reserved_tokens
        if room <= 0:
            return
        text = self.text()
        self._splitting = (BackgroundJob(self, lambda _context: split_to_fit(
            text, source.tokenize, room), "split a document")
                           .on_success(self._split_done).on_failure(self._split_failed))
        self._splitting.finished.connect(self._job_finished)
        self.split_button.setEnabled(False)
        self._splitting.start()

    def _split_done(self, parts: tuple[TextPart, ...]) -> None:
        self.split_parts = parts
        self._show_split()
        self._part_chosen(0)

    def _split_failed(self, error: BaseException) -> None:
        self._show_error(self.tr("The text could not be split: {0}").format(error))
        self.split_button.setEnabled(True)

    def _show_split(self) -> None:
        self._filling = True
        index = max(self.part_box.currentIndex(), 0)
        self.part_box.clear()
        count = len(self.split_parts)
        for number, part in enumerate(self.split_parts, start=1):
            self.part_box.addItem(self.tr("Part {0} of {1} ({2} tokens)").format(
                number, count, f"{part.tokens:,}"))
        if count:
            self.part_box.setCurrentIndex(min(index, count - 1))
        self._filling = False
        self.part_row.setVisible(bool(count))
        self.part_note.setVisible(bool(count))

    def _part_chosen(self, index: int) -> None:
        if self._filling or not 0 <= index < len(self.split_parts):
            return
        self._set_text(self.split_parts[index].text)

    def choose_split_part(self, index: int) -> None:
        """Put split part ``index`` (0-based) into the box."""
        self.part_box.setCurrentIndex(index)

    def _clear_split(self) -> None:
        self.split_parts = ()
        self._show_split()

    # -- closing ---------------------------------------------------------------------------------

    def reject(self) -> None:
        """Cancel or Close: stop reading (the reader's child process is killed) and close."""
        if self._reading is not None and self._reading.running:
            self._reading.cancel()
        super().reject()

    def done(self, result: int) -> None:
        self._closed = True
        self._recount.stop()
        super().done(result)
        self._job_finished()

    def _job_finished(self) -> None:
        """Once closed, the dialog goes when its last job has delivered its outcome."""
        jobs = (self._reading, self._counting, self._splitting)
        if self._closed and not any(job is not None and job.running for job in jobs):
            self.deleteLater()
