"""A scenario's panel: its help, a form built from its fields, its worked examples, Run.

The form is built from ``Scenario.fields`` (text → line edit, multiline → text box, number → line
edit checked by the scenario, choice → drop-down); nothing here knows a particular scenario. Run
asks the scenario to render its prompt (``Scenario.render_prompt`` says which fields are missing
or wrong, in the form's language) and emits ``run_requested(prompt, values)``. While a reply is
being generated the Run button is a Stop button. Titles, help, labels and hints come from the
scenario's file in the window's language and follow it when it changes (``retranslate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
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
from app.ui.i18n import content_language
from app.ui.retranslate import Retranslating

if TYPE_CHECKING:
    from app.core.scenarios import Field, Scenario

MULTILINE_HEIGHT = 84


class ScenarioPanel(Retranslating, QWidget):
    """The form of one scenario (see the module docstring)."""

    run_requested = Signal(str, dict)
    stop_requested = Signal()

    def __init__(self, scenario: Scenario, prompt_language: str = "en",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scenario = scenario
        self.prompt_language = prompt_language
        self._busy = False
        self._inputs: dict[str, QLineEdit | QPlainTextEdit | QComboBox] = {}
        self._field_labels: dict[str, QLabel] = {}
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
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self._run_or_stop)
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
        row.addWidget(self.error_label, 1)
        row.addWidget(self.run_button)
        return row

    def _add_field(self, field: Field) -> None:
        widget: QLineEdit | QPlainTextEdit | QComboBox
        if field.type == "multiline":
            widget = QPlainTextEdit()
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
