"""A scenario's panel: its help, a form built from its fields, its worked examples, Run.

The form is built from ``Scenario.fields`` (text → line edit, multiline → text box, number → line
edit checked by the scenario, choice → drop-down); nothing here knows a particular scenario. Run
asks the scenario to render its prompt (``Scenario.render_prompt`` says which fields are missing
or wrong, in the form's language) and emits ``run_requested(prompt, values)``. While a reply is
being generated the Run button is a Stop button.
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

if TYPE_CHECKING:
    from app.core.scenarios import Field, Scenario

UI_LANGUAGE = "en"  # the window's language until translations arrive (part 2)
MULTILINE_HEIGHT = 84


class ScenarioPanel(QWidget):
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 8)
        layout.setSpacing(6)
        title = QLabel(scenario.title[UI_LANGUAGE])
        title.setObjectName("panelTitle")
        help_text = QLabel(scenario.help[UI_LANGUAGE])
        help_text.setWordWrap(True)
        help_text.setObjectName("panelHelp")
        layout.addWidget(title)
        layout.addWidget(help_text)
        layout.addLayout(self._examples_row())
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in scenario.fields:
            self._add_field(field)
        layout.addLayout(self._form)
        layout.addLayout(self._run_row())
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self._run_or_stop)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    def _examples_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        if self.scenario.examples:
            row.addWidget(QLabel("Worked examples:"))
        self.example_buttons: list[QPushButton] = []
        for index, example in enumerate(self.scenario.examples):
            button = QPushButton(example.title[UI_LANGUAGE])
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
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Ask the model (Ctrl+Enter)")
        self.run_button.clicked.connect(self._run_or_stop)
        row.addWidget(self.error_label, 1)
        row.addWidget(self.run_button)
        return row

    def _add_field(self, field: Field) -> None:
        hint = field.example.get(UI_LANGUAGE, "")
        widget: QLineEdit | QPlainTextEdit | QComboBox
        if field.type == "multiline":
            widget = QPlainTextEdit()
            widget.setPlaceholderText(hint)
            widget.setFixedHeight(MULTILINE_HEIGHT)
            widget.setTabChangesFocus(True)
        elif field.type == "choice":
            widget = QComboBox()
            for option in field.options:
                widget.addItem(option.label[UI_LANGUAGE], option.value)
        else:
            widget = QLineEdit()
            widget.setPlaceholderText(hint)
            widget.returnPressed.connect(self._run_or_stop)
        widget.setObjectName(f"field_{field.name}")
        label = field.label[UI_LANGUAGE] + ("" if field.required else " (optional)")
        self._form.addRow(label, widget)
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
        self.run_button.setText("Stop" if busy else "Run")
        self.run_button.setToolTip("Stop the reply (Esc)" if busy else "Ask the model (Ctrl+Enter)")

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
            prompt = self.scenario.render_prompt(values, self.prompt_language)  # type: ignore[arg-type]
        except (MissingFieldsError, InvalidFieldValueError) as error:
            self.error_label.setText(str(error))
            return False
        self.error_label.clear()
        self.run_requested.emit(prompt, values)
        return True
