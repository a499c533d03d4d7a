"""The batch view's column mapping: one drop-down per scenario field, one for the expected
answers, and the first row's question as the model will get it.

A field's drop-down offers the table's columns; a choice field (such as the risk scenario's
grading scale) also offers each of its values for every row, and gets its first value when no
column fills it, as the form does. The mapping itself is the core's ``ColumnMapping``
(``app.core.batch.mapping``): ``fill`` shows one (the suggestion by header names, or a recorded
run's), ``mapping`` reads back what the person chose, ``problem`` says in a sentence what is
still missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.batch.mapping import ColumnMapping, check_mapping
from app.core.errors import BatchMappingError
from app.ui.i18n import content_language
from app.ui.retranslate import Retranslating

if TYPE_CHECKING:
    from app.core.batch.table_reader import InputTable
    from app.core.scenarios.scenario import Scenario

_COLUMN, _VALUE = "column:", "value:"  # the data of a drop-down's items: a column, a value
PREVIEW_MIN_HEIGHT = 90


class ColumnMappingBox(Retranslating, QGroupBox):
    """The mapping of ``scenario``'s fields to a table's columns (see the module docstring).
    ``changed()`` whenever the person changes a choice. ``field_boxes``: field name → its
    drop-down; ``expected_box``; ``preview``: the first question (``set_preview``)."""

    changed = Signal()

    def __init__(self, scenario: Scenario, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scenario = scenario
        outer = QVBoxLayout(self)
        form = QFormLayout()
        self.field_labels: dict[str, QLabel] = {}
        self.field_boxes: dict[str, QComboBox] = {}
        for field in scenario.fields:
            box = QComboBox()
            box.setObjectName(f"map_{field.name}")
            box.currentIndexChanged.connect(lambda _index: self.changed.emit())
            label = QLabel()
            form.addRow(label, box)
            self.field_labels[field.name], self.field_boxes[field.name] = label, box
        self.expected_label = QLabel()
        self.expected_box = QComboBox()
        self.expected_box.setObjectName("map_expected")
        self.expected_box.currentIndexChanged.connect(lambda _index: self.changed.emit())
        form.addRow(self.expected_label, self.expected_box)
        self.preview_label = QLabel()
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setMinimumHeight(PREVIEW_MIN_HEIGHT)
        outer.addLayout(form)
        outer.addWidget(self.preview_label)
        outer.addWidget(self.preview, 1)
        self.retranslate()

    def retranslate(self) -> None:
        language = content_language()
        self.setTitle(self.tr("Columns"))
        for field in self.scenario.fields:
            optional = "" if field.required else self.tr(" (optional)")
            self.field_labels[field.name].setText(field.label[language] + optional)
            box = self.field_boxes[field.name]
            for index in range(box.count()):
                data = str(box.itemData(index))
                if data.startswith(_VALUE):
                    option = field.find_option(data.removeprefix(_VALUE))
                    shown = option.label[language] if option is not None else data
                    box.setItemText(index, self.tr("Every row: {0}").format(shown))
            if box.count():
                box.setItemText(0, self.tr("(none)"))
        if self.expected_box.count():
            self.expected_box.setItemText(0, self.tr("(none: no scoring)"))
        self.expected_label.setText(self.tr("Expected answers"))
        self.preview_label.setText(self.tr("First question"))

    def fill(self, headers: Sequence[str], mapping: ColumnMapping) -> None:
        """Offer ``headers`` and select ``mapping``'s choices; ``changed`` follows once."""
        boxes = (*self.field_boxes.values(), self.expected_box)
        for box in boxes:
            box.blockSignals(True)
            box.clear()
        for field in self.scenario.fields:
            box = self.field_boxes[field.name]
            box.addItem("", "")
            for header in headers:
                box.addItem(header, _COLUMN + header)
            for option in field.options:
                box.addItem("", _VALUE + option.value)
            wanted = (_COLUMN + mapping.fields[field.name] if field.name in mapping.fields else
                      _VALUE + mapping.constants[field.name] if field.name in mapping.constants
                      else _VALUE + field.options[0].value if field.options else "")
            box.setCurrentIndex(max(0, box.findData(wanted)))
        self.expected_box.addItem("", "")
        for header in headers:
            self.expected_box.addItem(header, _COLUMN + header)
        self.expected_box.setCurrentIndex(max(0, self.expected_box.findData(
            _COLUMN + mapping.expected if mapping.expected else "")))
        for box in boxes:
            box.blockSignals(False)
        self.retranslate()
        self.changed.emit()

    def mapping(self) -> ColumnMapping:
        """The mapping the drop-downs show."""
        fields, constants = {}, {}
        for name, box in self.field_boxes.items():
            data = str(box.currentData() or "")
            if data.startswith(_COLUMN):
                fields[name] = data.removeprefix(_COLUMN)
            elif data.startswith(_VALUE):
                constants[name] = data.removeprefix(_VALUE)
        expected = str(self.expected_box.currentData() or "").removeprefix(_COLUMN) or None
        return ColumnMapping(fields, expected, constants)

    def problem(self, table: InputTable) -> str | None:
        """Why the mapping cannot run over ``table`` (a sentence), None when it can."""
        mapping = self.mapping()
        missing = [field.label[content_language()] for field in self.scenario.fields
                   if field.required and field.name not in mapping.fields
                   and field.name not in mapping.constants]
        if missing:
            return self.tr("Choose the column for: {0}").format(", ".join(missing))
        try:
            check_mapping(self.scenario, table, mapping)
        except BatchMappingError as error:
            return str(error)
        return None

    def set_preview(self, text: str) -> None:
        self.preview.setPlainText(text)
