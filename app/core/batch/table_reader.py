"""The input of a batch run: a CSV or XLSX table read into cells, with its SHA-256.

The first non-empty row is the header; every later row that is not entirely empty is one data
row, remembered with the row number a spreadsheet program shows for it (``source_rows``), so
results join back to the analyst's file. A header cell left empty is named after its column
letter ("Column C"); a header name used twice gets " (2)", " (3)"… so every column has one name.

CSV: decoded as the documents reader decodes text (``app.core.documents.text_readers``: UTF-8
with or without a byte-order mark, UTF-16 with its mark, else GB18030, the superset of GBK that
Chinese Excel writes); the delimiter (comma, semicolon, tab, bar) is sniffed; cells are text,
line breaks inside quoted cells kept. XLSX: checked as a package first (no zip bomb), then opened
by openpyxl ``read_only`` and ``data_only`` (a formula's saved value, never the formula), without
macros or links to other workbooks; cells keep their type (numbers, dates) for the results file,
and ``InputTable.text`` gives each as a person reads it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.documents.collector import ExtractFailure
from app.core.documents.office_readers import EXCEL_MAIN_PART, cell_text, require_package
from app.core.documents.text_readers import read_text_file
from app.core.errors import BatchInputError
from app.core.library.file_digest import sha256_file

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
MAX_ROWS = 200_000
MAX_COLUMNS = 1_000
_SNIFF_CHARS = 64 * 1024

CellValue = str | int | float | bool | datetime.datetime | datetime.date | datetime.time | None


@dataclass(frozen=True)
class InputTable:
    """A table as read: ``headers`` (unique names), ``rows`` (cell values, each row as long as
    ``headers``), ``source_rows`` (the spreadsheet row number of each row, 1 = the first line),
    the file's ``sha256``, and the ``sheet`` read (None for CSV)."""

    path: Path
    sha256: str
    sheet: str | None
    headers: tuple[str, ...]
    rows: tuple[tuple[CellValue, ...], ...]
    source_rows: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, header: str) -> int:
        """The index of the column named ``header``; KeyError when there is none."""
        return self.headers.index(header)

    def text(self, row_index: int, header: str) -> str:
        """The cell of row ``row_index`` (0-based) in column ``header`` as a person reads it:
        whole numbers without ".0", dates in ISO form, "" for an empty cell."""
        return cell_text(self.rows[row_index][self.column(header)])


def read_table(path: Path | str, sheet: str | None = None) -> InputTable:
    """Read the table at ``path`` (CSV, TSV or XLSX; ``sheet``: the workbook's sheet to read,
    default its first). Raises ``BatchInputError`` naming the file when it is missing, of
    another type, damaged, without a header row or data rows, larger than ``MAX_ROWS`` rows or
    ``MAX_COLUMNS`` columns, or has no sheet ``sheet``."""
    path = Path(path)
    if not path.is_file():
        raise BatchInputError(f"{path} is not a file; give the CSV or XLSX table to run")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise BatchInputError(f"{path.name} is not a table this app reads; save it as CSV "
                              f"(UTF-8 or GBK) or XLSX ({', '.join(TABLE_SUFFIXES)})")
    if sheet is not None and not suffix.startswith(".xls"):
        raise BatchInputError(f"{path.name} is a CSV file, which has no sheets; leave out the "
                              "sheet name")
    numbered_rows: Iterable[tuple[int, Sequence[CellValue]]]
    try:
        if suffix.startswith(".xls"):
            sheet, numbered_rows = _xlsx_rows(path, sheet)
        else:
            numbered_rows = _csv_rows(path, "\t" if suffix == ".tsv" else None)
        table = _table(path, sheet, numbered_rows)
    except ExtractFailure as failure:
        raise BatchInputError(str(failure)) from None
    except OSError as error:
        raise BatchInputError(f"{path} cannot be read ({error.strerror or error})") from error
    return table


def _table(path: Path, sheet: str | None,
           numbered_rows: Iterable[tuple[int, Sequence[CellValue]]]) -> InputTable:
    header: tuple[str, ...] | None = None
    rows: list[tuple[CellValue, ...]] = []
    source_rows: list[int] = []
    for number, cells in numbered_rows:
        values = list(cells)
        while values and _empty(values[-1]):
            values.pop()
        if not values:
            continue
        if header is None:
            header = _unique_headers(values)
            continue
        if len(values) > len(header):
            raise BatchInputError(
                f"{path.name}: row {number} has {len(values)} cells but the header row names "
                f"only {len(header)} columns; give every column a header")
        rows.append(tuple(values) + (None,) * (len(header) - len(values)))
        source_rows.append(number)
        if len(rows) > MAX_ROWS:
            raise BatchInputError(f"{path.name} has more than {MAX_ROWS:,} rows; split it into "
                                  "several files")
    if header is None:
        raise BatchInputError(f"{path.name} is empty; its first row should name the columns")
    if not rows:
        raise BatchInputError(f"{path.name} has a header row but no rows below it to run")
    return InputTable(path.resolve(), sha256_file(path), sheet, header, tuple(rows),
                      tuple(source_rows))


def _empty(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _unique_headers(cells: Sequence[CellValue]) -> tuple[str, ...]:
    if len(cells) > MAX_COLUMNS:
        raise BatchInputError(f"the header row has {len(cells)} columns, more than the "
                              f"{MAX_COLUMNS} a batch reads; remove the columns not needed")
    names: list[str] = []
    for index, value in enumerate(cells):
        name = " ".join(cell_text(value).split()) or f"Column {_column_letter(index)}"
        candidate, copy = name, 1
        while candidate in names:
            copy += 1
            candidate = f"{name} ({copy})"
        names.append(candidate)
    return tuple(names)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _csv_rows(path: Path, delimiter: str | None) -> Iterator[tuple[int, list[str]]]:
    text = read_text_file(path, path.name)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","  # one column, or no delimiter the sniffer is sure of
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as error:
        raise BatchInputError(f"{path.name} is not a readable CSV table ({error}); check it in "
                              "a spreadsheet program") from error


def _xlsx_rows(path: Path, sheet: str | None) -> tuple[str, list[tuple[int, list[CellValue]]]]:
    import openpyxl  # only a batch over a workbook needs it

    require_package(path, path.name, EXCEL_MAIN_PART)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_vba=False,
                                          keep_links=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged package
        raise BatchInputError(f"{path.name} is not a readable Excel workbook ({error}); open "
                              "it in Excel, save a copy and run that") from error
    with contextlib.closing(workbook):
        names = list(workbook.sheetnames)
        chosen = sheet if sheet is not None else names[0]
        if chosen not in names:
            raise BatchInputError(f"{path.name} has no sheet named {chosen!r}; its sheets are: "
                                  f"{', '.join(names)}")
        worksheet = workbook[chosen]
        if not hasattr(worksheet, "iter_rows"):
            raise BatchInputError(f"sheet {chosen!r} of {path.name} is a chart, not a table")
        # the dimension a file states can be anything (A1:XFD1048576); rows are read as they come
        worksheet.reset_dimensions()
        rows: list[tuple[int, list[CellValue]]] = []
        for number, row in enumerate(worksheet.iter_rows(), start=1):
            cells = [cell for cell in row if getattr(cell, "value", None) is not None]
            if not cells:
                continue
            values: list[CellValue] = [None] * max(cell.column for cell in cells)
            for cell in cells:
                values[cell.column - 1] = cell.value
            rows.append((cells[0].row or number, values))
            if len(rows) > MAX_ROWS + 1:
                break
    return chosen, rows
