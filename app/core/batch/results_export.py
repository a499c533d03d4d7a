"""A batch run's results as a file an analyst opens in Excel: XLSX or CSV.

The results table has one line per input row and engine: the row's number in the input file and
the input's own columns, as they were (numbers stay numbers in XLSX), so the results join back to
the analyst's file; then the engine, the row's status, the reading (columns fixed by the
scenario's reader: a verdict; a grade, level, rating and probability of default; E, S, G and
overall; a value and unit…), the final boxed answer, the expected answer and the score, tokens,
seconds and speed, the conversation's id in the history, and the reasoning and the answer.

XLSX adds a ``summary`` sheet (per engine: rows, accuracy, tokens per second; the agreement of the
engines) and a ``provenance`` sheet (app version, scenario, input file and its SHA-256, the
mapping, the settings, each engine's model file, SHA-256 and quant or server, the times). CSV
writes the results to the file named and the summary and provenance as key/value lines to
``<name>.provenance.csv`` beside it, both UTF-8 with a byte-order mark (as Excel expects).

Model text must never become a formula: in XLSX every text cell is stored as text (a cell that
starts with = + - @ also gets Excel's quote prefix, so editing it keeps it text); in CSV such a
cell is written with a leading apostrophe, unless it is a plain number ("-5", "+3.2"). Characters
XML cannot hold are dropped and a cell longer than Excel's 32,767 characters is cut, saying where
the whole text is. Files are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app import __version__
from app.core.batch.runner import BatchOutcome
from app.core.batch.store import BatchRow
from app.core.batch.table_reader import CellValue, InputTable
from app.core.errors import ExportError
from app.core.history.export import write_export
from app.core.scenarios.scenario import Scenario
from foundation.atomic import atomic_output

RESULT_FORMATS = (".xlsx", ".csv")
EXCEL_CELL_CHARS = 32_767
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# the reading's columns for each reader: (column header, the reading's field)
READING_COLUMNS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "verdict": (("verdict", "verdict"),),
    "risk_grade": (("risk grade", "grade"), ("risk level", "level"), ("rating", "rating"),
                   ("probability of default", "probability_of_default")),
    "esg_scores": (("E", "environmental"), ("S", "social"), ("G", "governance"),
                   ("ESG overall", "overall"), ("ESG rating", "overall_rating"),
                   ("ESG scale", "scale")),
    "number": (("value", "value"), ("unit", "unit"), ("base value", "base_value"),
               ("base unit", "base_unit")),
    "code_blocks": (("code blocks", "blocks"), ("code languages", "languages")),
    "allocation": (("allocations", "allocations"), ("allocation total %", "total_percent")),
}
_RESULT_COLUMNS = ("engine", "status", "final answer", "expected", "score", "completion tokens",
                   "seconds", "decode tokens/s", "finish reason", "error", "conversation", "think",
                   "answer")


def write_results(path: Path, outcome: BatchOutcome, table: InputTable, scenario: Scenario) -> Path:
    """Write ``outcome``'s results for ``table`` (the run's input, its SHA-256 checked) to
    ``path``: XLSX or CSV by its suffix. Returns the path. Raises ``ExportError`` for another
    suffix, the input file itself, a table that is not the run's input, or a place that cannot
    be written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RESULT_FORMATS:
        raise ExportError(f"results are written as .xlsx or .csv, not {path.name!r}; name the "
                          "output file results.xlsx or results.csv")
    if path.resolve() == table.path:
        raise ExportError(f"{path.name} is the input table; write the results to another file")
    if table.sha256 != outcome.run.input_sha256:
        raise ExportError(f"{table.path.name} has changed since batch run {outcome.run.id} read "
                          "it; export from the file as it was")
    sheets = _Sheets(outcome, table, scenario)
    if suffix == ".csv":
        write_export(_csv_text(sheets.results()), path)
        write_export(_csv_text([*sheets.summary(), [], *sheets.provenance()]),
                     provenance_path(path))
        return path
    return _write_xlsx(path, sheets)


def provenance_path(csv_path: Path) -> Path:
    """Where the summary and provenance of CSV results go: ``<name>.provenance.csv``."""
    return csv_path.with_name(f"{csv_path.stem}.provenance.csv")


class _Sheets:
    """The results, summary and provenance as rows of cells."""

    def __init__(self, outcome: BatchOutcome, table: InputTable, scenario: Scenario) -> None:
        self.outcome, self.table, self.scenario = outcome, table, scenario
        self.reading_columns = READING_COLUMNS.get(scenario.answer_reader.name, ())
        self.labels = [str(engine.get("label", f"engine {index + 1}"))
                       for index, engine in enumerate(outcome.run.engines)]

    def results(self) -> list[list[CellValue]]:
        own = [header for header, _ in self.reading_columns] + list(_RESULT_COLUMNS)
        taken = {"row", *self.table.headers}
        header: list[CellValue] = ["row", *self.table.headers,
                  *(name if name not in taken else f"{name} (Fin-R1)" for name in own)]
        by_place = {(row.engine_index, row.row_index): row for row in self.outcome.rows}
        lines: list[list[CellValue]] = [header]
        for row_index, cells in enumerate(self.table.rows):
            for engine_index, label in enumerate(self.labels):
                record = by_place.get((engine_index, row_index))
                lines.append([self.table.source_rows[row_index], *cells,
                              *self._reading_cells(record), *self._record_cells(label, record)])
        return lines

    def _reading_cells(self, record: BatchRow | None) -> list[CellValue]:
        reading = record.reading if record is not None else None
        return [_reading_value(reading, field) if reading else None
                for _, field in self.reading_columns]

    @staticmethod
    def _record_cells(label: str, record: BatchRow | None) -> list[CellValue]:
        if record is None:
            return [label, "not answered", *[None] * (len(_RESULT_COLUMNS) - 2)]
        return [label, record.status, record.final_box, record.expected, record.outcome,
                record.completion_tokens, _rounded(record.seconds, 3),
                _rounded(record.tokens_per_s, 2), record.finish_reason, record.error,
                record.conversation_id, record.think, record.answer]

    def summary(self) -> list[list[CellValue]]:
        lines: list[list[CellValue]] = [["engine", "rows answered", "rows failed", "rows scored",
                                         "correct", "accuracy", "completion tokens", "seconds",
                                         "tokens/s (prompts included)"]]
        for label, figures in zip(self.labels, self.outcome.scores, strict=True):
            lines.append([label, figures.rows_done, figures.rows_failed, figures.rows_scored,
                          figures.rows_correct, _rounded(figures.accuracy, 4),
                          figures.completion_tokens, _rounded(figures.seconds, 2),
                          _rounded(figures.tokens_per_s, 2)])
        agreement = self.outcome.agreement
        if len(self.labels) > 1:
            lines += [[], ["agreement", "rows compared", "rows agreeing", "rate"],
                      ["all engines", len(agreement.per_row), sum(agreement.per_row.values()),
                       _rounded(agreement.rate, 4)]]
            lines += [[f"{self.labels[first]} vs {self.labels[second]}", len(agreement.per_row),
                       None, _rounded(rate, 4)]
                      for (first, second), rate in agreement.pairs.items()]
        return lines

    def provenance(self) -> list[list[CellValue]]:
        run = self.outcome.run
        settings = dict(run.settings)
        lines: list[list[CellValue]] = [
            ["key", "value"],
            ["app", f"Fin-R1 Studio {__version__}"],
            ["run", run.id], ["run state", run.state], ["run made by app version", run.app_version],
            ["scenario", f"{self.scenario.id} ({self.scenario.title['en']} / "
                         f"{self.scenario.title['zh']})"],
            ["answer reader", self.scenario.answer_reader.name],
            ["input file", run.input_name], ["input path", run.input_path],
            ["input sha256", run.input_sha256], ["input sheet", run.input_sheet],
            ["input rows", run.row_count],
        ]
        lines += [[f"field {name}", f"column {column}"]
                  for name, column in run.mapping.fields.items()]
        lines += [[f"field {name}", f"value {value}"]
                  for name, value in run.mapping.constants.items()]
        lines += [["expected column", run.mapping.expected],
                  ["prompt language", settings.get("lang")],
                  ["tolerance", settings.get("tolerance")],
                  ["sampling", json.dumps(settings.get("sampling"), ensure_ascii=False)],
                  ["started", _iso(run.created_at)], ["finished", _iso(run.finished_at)],
                  ["exported", _iso(time.time())]]
        for index, engine in enumerate(run.engines, start=1):
            lines += [[f"engine {index} {key}", _plain_value(value)]
                      for key, value in engine.items()]
        return lines


def _reading_value(reading: Mapping[str, Any], field: str) -> CellValue:
    if field == "blocks":
        return len(reading.get("blocks") or ())
    if field == "languages":
        return ", ".join(dict.fromkeys(block["language"] for block in reading.get("blocks") or ()))
    if field == "allocations":
        return "; ".join(_share(allocation) for allocation in reading.get("allocations") or ())
    return _plain_value(reading.get(field))


def _share(allocation: Mapping[str, Any]) -> str:
    high = allocation.get("percent_high")
    share = f"{allocation['percent']:g}" + (f"–{high:g}" if high is not None else "")
    return f"{allocation['asset']} {share}%"


def _plain_value(value: object) -> CellValue:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False)


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def formula_risk(text: str) -> bool:
    """Whether a spreadsheet program could read ``text`` as a formula: it starts (after spaces)
    with = + - @ or a tab or carriage return, and is not a plain number."""
    start = text.lstrip(" ")
    return start.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(start)


def _csv_text(lines: Sequence[Sequence[CellValue]]) -> str:
    """The lines as CSV text with a byte-order mark; risky text cells get an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for line in lines:
        writer.writerow([_csv_cell(value) for value in line])
    return "\ufeff" + buffer.getvalue()


def _csv_cell(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if formula_risk(value) else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _write_xlsx(path: Path, sheets: _Sheets) -> Path:
    from openpyxl import Workbook  # only an XLSX export needs it

    workbook = Workbook(write_only=True)
    for title, lines in (("results", sheets.results()), ("summary", sheets.summary()),
                         ("provenance", sheets.provenance())):
        worksheet = workbook.create_sheet(title)
        for line in lines:
            worksheet.append([_xlsx_cell(worksheet, value) for value in line])
    try:
        with atomic_output(path) as partial:
            workbook.save(partial)
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}; choose another "
                          "place") from error
    return path


def _xlsx_cell(worksheet: Any, value: CellValue) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if not isinstance(value, str):
        return value
    text = _NOT_IN_XML.sub("", value)
    if len(text) > EXCEL_CELL_CHARS:
        note = " … [cut: the whole text is in the conversation history]"
        text = text[:EXCEL_CELL_CHARS - len(note)] + note
    cell = WriteOnlyCell(worksheet, value=text)
    cell.data_type = "s"  # text, even when it starts with "=" (openpyxl would make a formula)
    if formula_risk(text):
        cell.quotePrefix = True
    return cell
