"""The batch view's table: one line per input row and engine, as the run stands.

Lines go row by row and, within a row, engine by engine (the engines' answers to one question
side by side, as the results file has them). Each line shows the spreadsheet row number, the
engine, the status (waiting, answering with its tokens so far, done, cut off at the token
limit, error), the scenario's reading in words (a verdict, a risk grade, E/S/G scores, a
number), the final boxed answer, the expected answer and the score, the tokens and the seconds.
The model only presents the core's ``BatchRow`` records (``app.core.batch.store``); it computes
nothing about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from app.core.batch.store import BatchRow
from app.core.chat.labels import ChatLabels

COLUMNS = ("row", "model", "status", "reading", "final", "expected", "score", "tokens", "time")
_Index = QModelIndex | QPersistentModelIndex


class BatchTableModel(QAbstractTableModel):
    """The lines of a run (see the module docstring). GUI thread only.

    ``reset`` starts a run's lines (with the records it has already); ``set_row`` shows a
    finished row; ``set_answering`` marks the line being answered and ``add_tokens`` counts its
    tokens as they stream.
    """

    def __init__(self, labels: ChatLabels, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._labels = labels
        self._source_rows: tuple[int, ...] = ()
        self._engine_labels: tuple[str, ...] = ()
        self._records: dict[tuple[int, int], BatchRow] = {}
        self._answering: tuple[int, int] | None = None
        self._answering_tokens = 0

    # -- filling ---------------------------------------------------------------------------------

    def reset(self, source_rows: Sequence[int], engine_labels: Sequence[str],
              records: Iterable[BatchRow] = ()) -> None:
        """Lines for ``source_rows`` × ``engine_labels``, showing ``records`` (finished rows)."""
        self.beginResetModel()
        self._source_rows = tuple(source_rows)
        self._engine_labels = tuple(engine_labels)
        self._records = {(r.engine_index, r.row_index): r for r in records if r.finished}
        self._answering = None
        self._answering_tokens = 0
        self.endResetModel()

    def set_labels(self, labels: ChatLabels) -> None:
        """Show the readings' words in ``labels``' language."""
        self._labels = labels
        self._changed_all()

    def set_row(self, record: BatchRow) -> None:
        """Show a row's record (its line is no longer the one being answered)."""
        place = (record.engine_index, record.row_index)
        self._records[place] = record
        if self._answering == place:
            self._answering = None
        self._changed_line(self.line_of(*place))

    def set_answering(self, place: tuple[int, int] | None) -> None:
        """Mark line (engine index, row index) as being answered (None: no line is)."""
        previous, self._answering = self._answering, place
        self._answering_tokens = 0
        for changed in (previous, place):
            if changed is not None:
                self._changed_line(self.line_of(*changed))

    def add_tokens(self, count: int) -> None:
        """``count`` more tokens of the line being answered."""
        if self._answering is not None:
            self._answering_tokens += count
            line = self.line_of(*self._answering)
            self.dataChanged.emit(self.index(line, COLUMNS.index("tokens")),
                                  self.index(line, COLUMNS.index("tokens")))

    # -- reading ---------------------------------------------------------------------------------

    def line_of(self, engine_index: int, row_index: int) -> int:
        return row_index * len(self._engine_labels) + engine_index

    def place_of(self, line: int) -> tuple[int, int]:
        """(engine index, row index) of table line ``line``."""
        row_index, engine_index = divmod(line, max(1, len(self._engine_labels)))
        return engine_index, row_index

    def record(self, line: int) -> BatchRow | None:
        """The record shown on ``line``, None while its row is not finished."""
        return self._records.get(self.place_of(line))

    def record_at(self, place: tuple[int, int]) -> BatchRow | None:
        """The record of (engine index, row index), None while that row is not finished."""
        return self._records.get(place)

    def records(self) -> list[BatchRow]:
        return list(self._records.values())

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's signature)
        return 0 if parent.isValid() else len(self._source_rows) * len(self._engine_labels)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._headers()[COLUMNS[section]]

    def _headers(self) -> dict[str, str]:
        return {"row": self.tr("Row"), "model": self.tr("Model"), "status": self.tr("Status"),
                "reading": self.tr("Reading"), "final": self.tr("Final answer"),
                "expected": self.tr("Expected"), "score": self.tr("Score"),
                "tokens": self.tr("Tokens"), "time": self.tr("Time (s)")}

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        column = COLUMNS[index.column()]
        place = self.place_of(index.row())
        record = self._records.get(place)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(column, place, record)
        if role == Qt.ItemDataRole.ToolTipRole and record is not None:
            return record.error or record.final_box or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("row", "tokens", "time"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, column: str, place: tuple[int, int], record: BatchRow | None) -> str:
        engine_index, row_index = place
        if column == "row":
            return str(self._source_rows[row_index])
        if column == "model":
            return self._engine_labels[engine_index]
        answering = place == self._answering
        if column == "status":
            return self._status(record, answering)
        if column == "tokens" and answering:
            return str(self._answering_tokens)
        if record is None:
            return ""
        values = {"reading": reading_text(record.reading, self._labels),
                  "final": record.final_box or "", "expected": record.expected or "",
                  "score": self._score(record.outcome),
                  "tokens": "" if record.completion_tokens is None else
                  str(record.completion_tokens),
                  "time": "" if record.seconds is None else f"{record.seconds:.2f}"}
        return values[column]

    def _status(self, record: BatchRow | None, answering: bool) -> str:
        if record is None:
            return self.tr("answering…") if answering else self.tr("waiting")
        if record.status == "error":
            return self.tr("error")
        if record.finish_reason == "length":
            return self.tr("done (token limit)")
        return self.tr("done")

    def _score(self, outcome: str | None) -> str:
        return {"correct": self.tr("correct"), "wrong": self.tr("wrong"),
                "no_answer": self.tr("no answer")}.get(outcome or "", "")

    def _changed_line(self, line: int) -> None:
        self.dataChanged.emit(self.index(line, 0), self.index(line, len(COLUMNS) - 1))

    def _changed_all(self) -> None:
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1,
                                                               len(COLUMNS) - 1))


def reading_text(reading: Mapping[str, Any] | None, labels: ChatLabels) -> str:
    """A scenario's reading (``AnswerReading.as_dict``) in a few words, the chat's badge words
    in ``labels``' language: "Compliant"; "R4 (Medium-high) · PD 3.50%"; "E 70 · S 60 · G 80";
    "56.87 万元"; "" for none. Pure function."""
    if not reading:
        return ""
    kind = reading.get("kind")
    if kind == "verdict":
        return labels.text("badges", reading["verdict"])
    if kind == "risk_grade":
        return _risk_text(reading, labels)
    if kind == "esg_scores":
        parts = [f"{name} {_number(reading[field])}" for name, field in
                 (("E", "environmental"), ("S", "social"), ("G", "governance"),
                  ("ESG", "overall")) if reading.get(field) is not None]
        if reading.get("overall_rating"):
            parts.append(str(reading["overall_rating"]))
        return " · ".join(parts)
    if kind == "number":
        unit = reading.get("unit") or ""
        return f"{_number(reading['value'])} {unit}".strip()
    if kind == "code_blocks":
        blocks = reading.get("blocks") or ()
        languages = ", ".join(dict.fromkeys(block["language"] for block in blocks))
        return labels.text("badges", "code_block", languages) if len(blocks) == 1 else \
            labels.text("badges", "code_blocks", len(blocks), languages)
    if kind == "allocation":
        return " · ".join(f"{share['asset']} {_number(share['percent'])}%"
                          for share in reading.get("allocations") or ())
    return ""


def _risk_text(reading: Mapping[str, Any], labels: ChatLabels) -> str:
    parts = []
    grade, level = reading.get("grade"), reading.get("level")
    if grade:
        level_word = labels.text("badges", level) if level else ""
        parts.append(f"{grade} ({level_word})" if level_word and level_word != grade else grade)
    if reading.get("probability_of_default") is not None:
        parts.append(f"{labels.text('badges', 'probability_of_default')} "
                     f"{reading['probability_of_default']:.2%}")
    return " · ".join(parts)


def _number(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
