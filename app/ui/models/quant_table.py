"""The table of quant types shown wherever a person picks one (inside ``quant_chooser``: the
wizard, "Get models" and "Build"). Each row: the type, its file size, whether it fits this
machine (a coloured badge), the predicted speed here (once ``set_speeds`` gave it: tokens a
second and the time of a typical answer, on the CPU and on a GPU whose speed is known), the
expected quality (the quant table's KLD proxy, or a measured value) and bits per weight; the
recommended type is marked and pre-selected. Single choice (a download) or several (a build).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.core.hardware.fit import FitAdvice, FitLevel, QuantFit
from app.core.hardware.speed_prediction import (
    GPU_BANDWIDTH_UNKNOWN,
    TYPICAL_ANSWER_TOKENS,
    QuantSpeed,
    rate_text,
)
from app.ui.formats import duration_text, fit_color, fit_text, quality_text, size_text
from app.ui.retranslate import Retranslating
from quant.formats import QuantType

_RECOMMENDED_BACKGROUND = QColor(255, 196, 0, 48)
SPEED_COLUMN = 3


class QuantTable(Retranslating, QTableWidget):
    """Quant types with size, fit and quality (see the module docstring)."""

    choice_changed = Signal()

    def __init__(self, multiple: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(0, 6, parent)
        self._multiple = multiple
        self._rows: list[QuantFit] = []
        self._recommended: QuantType | None = None
        self._speeds: Mapping[str, QuantSpeed] | None = None
        self.setObjectName("quantTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection if multiple else
                              QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.setColumnHidden(SPEED_COLUMN, True)
        self.itemSelectionChanged.connect(self.choice_changed)
        self.itemChanged.connect(lambda _item: self.choice_changed.emit())
        self.retranslate()

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels([self.tr("Type"), self.tr("File size"),
                                        self.tr("On this machine"), self.tr("Speed here"),
                                        self.tr("Expected quality"), self.tr("Bits/weight")])
        self._fill()

    def set_advice(self, advice: FitAdvice, offered: Sequence[QuantType] | None = None) -> None:
        """Show ``advice``'s rows (only the ``offered`` types when given, in the table's order),
        with the real file sizes the advice carries where known (``≈`` estimates otherwise). The
        advice's recommended type is pre-selected (checked, with ``multiple``)."""
        names = {quant.name for quant in offered} if offered is not None else None
        self._rows = [row for row in advice.rows if names is None or row.quant_type.name in names]
        self._recommended = advice.recommended
        self._fill()
        if self._recommended is not None:
            self.choose([self._recommended.name])

    def clear_rows(self) -> None:
        """Show no types (until the next ``set_advice``)."""
        self._rows = []
        self._recommended = None
        self._fill()
        self.choice_changed.emit()

    def set_speeds(self, speeds: Mapping[str, QuantSpeed] | None) -> None:
        """Show each row's predicted speed (``speed_prediction.predict_quant_speeds``, by quant
        name); None hides the column (the speed is not known yet)."""
        self._speeds = speeds
        self.setColumnHidden(SPEED_COLUMN, speeds is None)
        self._fill()

    def speed_text(self, speed: QuantSpeed | None) -> str:
        """A cell's words: ``≈ 6.1 tok/s · answer ≈ 3 min``, then the GPU's figures, or "GPU:
        not predicted" when its speed is unknown; "—" without a prediction."""
        if speed is None:
            return "—"
        text = self.tr("≈ {0} tok/s · answer ≈ {1}").format(
            rate_text(speed.cpu.tokens_per_s), duration_text(speed.cpu.answer_s))
        if speed.gpu is not None:
            text += "\n" + self.tr("GPU ≈ {0} tok/s · answer ≈ {1}").format(
                rate_text(speed.gpu.tokens_per_s), duration_text(speed.gpu.answer_s))
        elif speed.gpu_note:
            text += "\n" + self.tr("GPU: not predicted")
        return text

    def speed_tip(self, speed: QuantSpeed | None) -> str:
        """The cell's tooltip: the whole sentence, and why the GPU is not predicted."""
        if speed is None:
            return ""
        tip = self.tr("≈ {0} tokens/s here; a typical answer (~{1} tokens with its reasoning) in "
                      "≈ {2}").format(rate_text(speed.cpu.tokens_per_s),
                                      f"{TYPICAL_ANSWER_TOKENS:,}",
                                      duration_text(speed.cpu.answer_s))
        if speed.gpu is None and speed.gpu_note:
            tip += "\n" + (self.tr("GPU: not predicted: its memory bandwidth is unknown")
                           if speed.gpu_note == GPU_BANDWIDTH_UNKNOWN else
                           self.tr("GPU: not predicted: the model does not fit in its memory"))
        return tip

    def _fill(self) -> None:
        previous = {quant.name for quant in self.chosen()} if self.rowCount() else set()
        self.blockSignals(True)
        self.setRowCount(len(self._rows))
        for index, row in enumerate(self._rows):
            quant = row.quant_type
            recommended = self._recommended is not None and quant.name == self._recommended.name
            label = quant.label + ("  ★ " + self.tr("recommended") if recommended else "")
            size = row.estimate.weights_bytes
            size_label = size_text(size) if row.size_known else "≈ " + size_text(size)
            speed = self._speeds.get(quant.name) if self._speeds is not None else None
            cells = [label, size_label, fit_text(row.level), self.speed_text(speed),
                     quality_text(quant),
                     f"{quant.bits_per_weight:g}"]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, quant.name)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if column == 0 and self._multiple:
                    flags |= Qt.ItemFlag.ItemIsUserCheckable
                    item.setCheckState(Qt.CheckState.Checked if quant.name in previous
                                       else Qt.CheckState.Unchecked)
                item.setFlags(flags)
                if recommended:
                    item.setBackground(QBrush(_RECOMMENDED_BACKGROUND))
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                if column == 2:
                    item.setForeground(QBrush(QColor(fit_color(row.level))))
                    if row.level is FitLevel.NONE:
                        item.setToolTip(self.tr("Needs more memory than this machine has free"))
                if column == SPEED_COLUMN:
                    item.setToolTip(self.speed_tip(speed))
                self.setItem(index, column, item)
        self.blockSignals(False)
        if self._speeds is not None:
            self.resizeRowsToContents()  # the GPU's figures take a second line
        if not self._multiple and previous:
            self.choose(sorted(previous))

    def chosen(self) -> list[QuantType]:
        """The chosen types, in the table's order."""
        chosen = []
        for index, row in enumerate(self._rows):
            item = self.item(index, 0)
            if item is None:
                continue
            if self._multiple:
                if item.checkState() == Qt.CheckState.Checked:
                    chosen.append(row.quant_type)
            elif item.isSelected():
                chosen.append(row.quant_type)
        return chosen

    def choose(self, names: Sequence[str]) -> None:
        """Select (or check) the rows of ``names`` and only those."""
        wanted = {name.lower() for name in names}
        self.blockSignals(True)
        self.clearSelection()
        for index, row in enumerate(self._rows):
            item = self.item(index, 0)
            if item is None:
                continue
            if self._multiple:
                item.setCheckState(Qt.CheckState.Checked if row.quant_type.name in wanted
                                   else Qt.CheckState.Unchecked)
            elif row.quant_type.name in wanted:
                self.selectRow(index)
        self.blockSignals(False)
        self.choice_changed.emit()

    def row_names(self) -> list[str]:
        return [row.quant_type.name for row in self._rows]

    @property
    def recommended(self) -> QuantType | None:
        return self._recommended
