"""A scenario's panel: its help, a form built from its fields, its worked examples, Run.

The form is built from ``Scenario.fields`` (text → line edit, multiline → text box, number → line
edit checked by the scenario, choice → drop-down); nothing here knows a particular scenario. Run
asks the scenario to render its prompt (``Scenario.render_prompt`` says which fields are missing
or wrong, in the form's language) and emits ``run_requested(prompt, values)``. While a reply is
being generated the Run button is a Stop button. Titles, help, labels and hints come from the
scenario's file in the window's language and follow it when it changes (``retranslate``).
"Batch…" emits ``batch_requested()``: the window opens the scenario's Batch view
(app/ui/batch/view.py), the same question for every row of a table.

Every multiline field takes documents: its "Attach…" button, or a file dropped on it, opens a
``DocumentDialog`` (app/ui/chat/document_dialog.py) where the document's text is read, chosen, edited
and fitted to the context; accepted, the text is added to the field as if typed (after a blank
line when the field holds text already). ``use_model_host`` gives the dialog's token meter the
window's engine and settings; ``context_change_requested(n_ctx)`` asks the window for a larger
context.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QPalette,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InvalidFieldValueError, MissingFieldsError
from app.core.installation.settings import AppSettings
from app.ui.i18n import content_language
from app.ui.retranslate import Retranslating

if TYPE_CHECKING:
    from app.core.scenarios.scenario import Field, Scenario
    from app.ui.chat.document_dialog import DocumentDialog
    from app.ui.window.model_host import ModelHost

MULTILINE_HEIGHT = 84


class ScenarioPanel(Retranslating, QWidget):
    """The form of one scenario (see the module docstring)."""

    run_requested = Signal(str, dict)
    stop_requested = Signal()
    batch_requested = Signal()
    context_change_requested = Signal(int)

    def __init__(self, scenario: Scenario, prompt_language: str = "en",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scenario = scenario
        self.prompt_language = prompt_language
        self._busy = False
        self._inputs: dict[str, QLineEdit | QPlainTextEdit | QComboBox] = {}
        self._field_labels: dict[str, QLabel] = {}
        self.attach_buttons: dict[str, QPushButton] = {}
        self.document_dialog: DocumentDialog | None = None
        self._host: ModelHost | None = None
        self._settings: Callable[[], AppSettings] = AppSettings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 8)
        layout.setSpacing(6)
        self.title_label = QLabel()
        self.title_label.setObjectName("panelTitle")
        self.help_label = QLabel()
        self.help_label.setWordWrap(True)
        self.help_label.setObjectName("panelHelp")
        layout.addWidget(self.title_label)
        layout.addWidget(self.help_label)
        layout.addLayout(self._examples_row())
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in scenario.fields:
            self._add_field(field)
        layout.addLayout(self._form)
        layout.addLayout(self._run_row())
        QShortcut(QKeySequence("Ctrl+Return"), self).activated.connect(self._run_or_stop)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.retranslate()

    def retranslate(self) -> None:
        """Every text in the window's language (called again when the language changes)."""
        language = content_language()
        scenario = self.scenario
        self.title_label.setText(scenario.title[language])
        self.help_label.setText(scenario.help[language])
        self.examples_label.setText(self.tr("Worked examples:"))
        for button, example in zip(self.example_buttons, scenario.examples, strict=True):
            button.setText(example.title[language])
        for field in scenario.fields:
            optional = "" if field.required else self.tr(" (optional)")
            self._field_labels[field.name].setText(field.label[language] + optional)
            widget = self._inputs[field.name]
            if isinstance(widget, QComboBox):
                for index, option in enumerate(field.options):
                    widget.setItemText(index, option.label[language])
            else:
                widget.setPlaceholderText(field.example.get(language, ""))
        for box in self._inputs.values():
            if isinstance(box, _DocumentBox):
                box.set_button_text(self.tr("Attach…"), self.tr(
                    "Put a document's text in this box: PDF, Word (.docx), Excel (.xlsx), CSV, "
                    "text, Markdown or HTML. You can also drop the file on the box."))
        self.batch_button.setText(self.tr("Batch…"))
        self.batch_button.setToolTip(self.tr("Ask this question for every row of a CSV or Excel "
                                             "table, with one or more models"))
        self.set_busy(self._busy)

    def _examples_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.examples_label = QLabel()
        if self.scenario.examples:
            row.addWidget(self.examples_label)
        self.example_buttons: list[QPushButton] = []
        for index, _example in enumerate(self.scenario.examples):
            button = QPushButton()
            button.setObjectName("exampleButton")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _checked=False, n=index: self.load_example(n))
            row.addWidget(button)
            self.example_buttons.append(button)
        row.addStretch(1)
        return row

    def _run_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.error_label = QLabel("")
        self.error_label.setObjectName("formError")
        self.error_label.setWordWrap(True)
        self.run_button = QPushButton()
        self.run_button.setObjectName("runButton")
        self.run_button.clicked.connect(self._run_or_stop)
        self.batch_button = QPushButton()
        self.batch_button.clicked.connect(self.batch_requested)
        row.addWidget(self.error_label, 1)
        row.addWidget(self.batch_button)
        row.addWidget(self.run_button)
        return row

    def _add_field(self, field: Field) -> None:
        widget: QLineEdit | QPlainTextEdit | QComboBox
        if field.type == "multiline":
            widget = _DocumentBox(partial(self.attach_document, field.name))
            widget.attach_button.setObjectName(f"attach_{field.name}")
            widget.attach_button.clicked.connect(
                lambda _checked=False, name=field.name: self.choose_document(name))
            self.attach_buttons[field.name] = widget.attach_button
            widget.setFixedHeight(MULTILINE_HEIGHT)
            widget.setTabChangesFocus(True)
        elif field.type == "choice":
            widget = QComboBox()
            for option in field.options:
                widget.addItem("", option.value)
        else:
            widget = QLineEdit()
            widget.returnPressed.connect(self._run_or_stop)
        widget.setObjectName(f"field_{field.name}")
        label = QLabel()
        self._form.addRow(label, widget)
        self._field_labels[field.name] = label
        self._inputs[field.name] = widget

    # -- documents -------------------------------------------------------------------------------

    def use_model_host(self, host: ModelHost, settings: Callable[[], AppSettings]) -> None:
        """Count attached documents with ``host``'s engine against ``settings()`` (the window's
        settings when the dialog counts)."""
        self._host, self._settings = host, settings

    def choose_document(self, field_name: str) -> None:
        """Ask for a document file (a file dialog that stays open beside the window), then
        ``attach_document`` it."""
        from app.core.documents.extraction import DOCUMENT_KINDS

        patterns = " ".join(f"*{suffix}" for suffix in DOCUMENT_KINDS)
        chooser = QFileDialog(self, self.tr("Attach a document"), "",
                              self.tr("Documents ({0})").format(patterns) + ";;"
                              + self.tr("All files (*)"))
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.fileSelected.connect(lambda path: self.attach_document(field_name, Path(path)))
        chooser.open()

    def attach_document(self, field_name: str, path: Path) -> DocumentDialog:
        """Open the dialog that reads ``path`` for the field ``field_name``; its text goes into
        the field when the person accepts it. Returns the dialog (also ``document_dialog`` until it
        closes)."""
        from app.core.documents.token_budget import prompt_around_field
        from app.ui.chat.document_dialog import DocumentDialog

        dialog = DocumentDialog(
            path, host=self._host, settings=self._settings, parent=self,
            prompt_around=lambda: prompt_around_field(self.scenario, self.values(), field_name,
                                                      self.prompt_language))
        dialog.context_change_requested.connect(self.context_change_requested)
        dialog.accepted.connect(lambda: self._put_in_field(field_name, dialog.text()))
        dialog.finished.connect(lambda _result: setattr(self, "document_dialog", None))
        self.document_dialog = dialog
        dialog.open()
        return dialog

    def _put_in_field(self, field_name: str, text: str) -> None:
        """Add ``text`` to the field as typing would (Ctrl+Z takes it back out)."""
        box = self._inputs[field_name]
        assert isinstance(box, QPlainTextEdit)
        cursor = box.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(("\n\n" if box.toPlainText().strip() else "") + text)
        box.setTextCursor(cursor)
        box.setFocus()

    # -- values ----------------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """The form's values by field name (choices by option value)."""
        values: dict[str, str] = {}
        for name, widget in self._inputs.items():
            if isinstance(widget, QPlainTextEdit):
                values[name] = widget.toPlainText()
            elif isinstance(widget, QComboBox):
                values[name] = str(widget.currentData())
            else:
                values[name] = widget.text()
        return values

    def set_values(self, values: dict[str, str]) -> None:
        """Fill the form; fields missing from ``values`` are emptied."""
        for name, widget in self._inputs.items():
            value = values.get(name, "")
            if isinstance(widget, QPlainTextEdit):
                widget.setPlainText(value)
            elif isinstance(widget, QComboBox):
                option = self.scenario.field(name).find_option(value) if value else None
                if option is not None:
                    widget.setCurrentIndex(widget.findData(option.value))
            else:
                widget.setText(value)
        self.error_label.clear()

    def load_example(self, index: int) -> None:
        """Fill the form with worked example ``index`` in the prompt language."""
        self.set_values(self.scenario.example_values(index, self.prompt_language))  # type: ignore[arg-type]

    def set_prompt_language(self, language: str) -> None:
        self.prompt_language = language

    # -- running ---------------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        """While busy the Run button stops the reply instead."""
        self._busy = busy
        self.run_button.setText(self.tr("Stop") if busy else self.tr("Run"))
        self.run_button.setToolTip(self.tr("Stop the reply (Esc)") if busy else
                                   self.tr("Ask the model (Ctrl+Enter)"))

    def _run_or_stop(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self.submit()

    def submit(self) -> bool:
        """Render the prompt from the form and emit ``run_requested``; show what is missing
        or wrong instead when the scenario refuses the values. Returns True when emitted."""
        values = self.values()
        try:
            # errors in the window's language, as the form's labels are
            prompt = self.scenario.render_prompt(values, content_language(),  # type: ignore[arg-type]
                                                 self.prompt_language)
        except (MissingFieldsError, InvalidFieldValueError) as error:
            self.error_label.setText(str(error))
            return False
        self.error_label.clear()
        self.run_requested.emit(prompt, values)
        return True



class _DocumentBox(QPlainTextEdit):
    """A multiline field's text box with its Attach… button inside its frame, at the top right
    (the text wraps before it), taking dropped files: the first file dropped goes to
    ``attach(path)`` instead of its address being typed; dropped text is typed as before."""

    _GAP = 4

    def __init__(self, attach: Callable[[Path], object]) -> None:
        super().__init__()
        self._attach = attach
        self.attach_button = QPushButton(self)
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        # the strip beside the text, which holds the button, looks like the rest of the box
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)

    def set_button_text(self, text: str, tip: str) -> None:
        self.attach_button.setText(text)
        self.attach_button.setToolTip(tip)
        self.attach_button.adjustSize()
        self.setViewportMargins(0, 0, self.attach_button.width() + 2 * self._GAP, 0)
        self._place_button()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt's name
        super().resizeEvent(event)
        self._place_button()

    def _place_button(self) -> None:
        viewport = self.viewport().geometry()
        self.attach_button.move(viewport.right() + 1 + self._GAP, viewport.top() + self._GAP)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt's name
        if not self._take_files(event):
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # Qt's name
        if not self._take_files(event):
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # Qt's name
        if self._take_files(event):
            self._attach(Path(_local_files(event)[0]))
        else:
            super().dropEvent(event)

    @staticmethod
    def _take_files(event: QDropEvent) -> bool:
        if not _local_files(event):
            return False
        event.acceptProposedAction()
        return True


def _local_files(event: QDropEvent) -> list[str]:
    return [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
