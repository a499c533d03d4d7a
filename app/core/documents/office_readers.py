"""Word (.docx) and Excel (.xlsx) documents as text (runs in the extraction child).

Both are ZIP packages of XML. Before a library opens one, ``checked_zip_names`` refuses a package
that claims to expand past ``MAX_UNZIPPED_BYTES`` or to hold more than ``MAX_ZIP_MEMBERS`` files
(a zip bomb is refused in milliseconds instead of filling the memory limit); a member whose
header understates its size cannot get past it either, since Python's ``zipfile``, which both
libraries read through, stops at the size the header states.

Nothing in a package is run or fetched: ``openpyxl`` opens workbooks ``read_only`` (rows streamed,
not held), ``data_only`` (a formula's saved value, never the formula), without macros
(``keep_vba=False``) and without links to other workbooks (``keep_links=False``);
``python-docx`` reads the main document part and never follows a relationship that points
outside the package (linked images, remote templates).

Text forms: a table row is its cells separated by tabs, one row a line (compact for the model,
and what a person pastes from a spreadsheet); a Word document is split into sections at its
headings (styles Title and Heading 1…9), tables kept in place; a workbook gives one part per
sheet, in workbook order.
"""

from __future__ import annotations

import contextlib
import datetime
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.documents.collector import ExtractFailure, ExtractRequest, PartCollector

MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_ZIP_MEMBERS = 20_000
WORD_MAIN_PART = "word/document.xml"
EXCEL_MAIN_PART = "xl/workbook.xml"
PACKAGE_KINDS = {WORD_MAIN_PART: "a Word document (.docx)",
                 EXCEL_MAIN_PART: "an Excel workbook (.xlsx)"}
_HEADING_STYLES = ("heading", "title")
_LABEL_CHARS = 80

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from openpyxl.chartsheet import Chartsheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet


def checked_zip_names(path: Path, name: str) -> set[str]:
    """The member names of the ZIP package at ``path``. Raises ``ExtractFailure``: ``format``
    when it is not a readable ZIP, ``limit`` when it would expand too far or holds too many
    files."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise ExtractFailure("format", (
            f"{name} is a damaged ZIP package ({error}); open it in Office, save a copy and "
            "attach that.")) from error
    if len(members) > MAX_ZIP_MEMBERS:
        raise ExtractFailure("limit", (
            f"{name} holds {len(members):,} files, more than the {MAX_ZIP_MEMBERS:,} an Office "
            "document may; it was not opened."))
    unzipped = sum(member.file_size for member in members)
    if unzipped > MAX_UNZIPPED_BYTES:
        raise ExtractFailure("limit", (
            f"{name} would expand to {unzipped / 2**30:.1f} GiB when unzipped, more than the "
            f"{MAX_UNZIPPED_BYTES >> 20} MiB an Office document may (it looks like a zip bomb); "
            "it was not opened. Attach a copy saved by Office, or split the document."))
    return {member.filename for member in members}


def require_package(path: Path, name: str, main_part: str) -> None:
    """Refuse a ZIP that is not the package its extension promises (``ExtractFailure``
    ``format``, naming what it is when recognisable)."""
    names = checked_zip_names(path, name)
    if main_part in names:
        return
    wanted = PACKAGE_KINDS[main_part]
    other = next((kind for part, kind in PACKAGE_KINDS.items() if part in names), None)
    if other is not None:
        raise ExtractFailure("format", f"{name} is not {wanted}: it is {other}; rename it with "
                                       "the right extension and attach it again.")
    raise ExtractFailure("format", f"{name} is a ZIP archive but not {wanted}; attach the "
                                   "document itself.")


# -- Word ----------------------------------------------------------------------------------------

def read_docx(request: ExtractRequest, collector: PartCollector) -> None:
    """Hand ``collector`` the document's sections (see the module docstring)."""
    import docx  # imported here: only a child reading a Word document needs it

    path, name = Path(request.path), request.file_name
    require_package(path, name, WORD_MAIN_PART)
    document = docx.Document(str(path))
    sections = list(_docx_sections(document.iter_inner_content()))
    collector.expect(len(sections), len(sections))
    for number, (label, lines) in enumerate(sections, 1):
        if not collector.add("section", number, label, "\n".join(lines)):
            break


def _docx_sections(blocks: Iterable[Paragraph | Table]) -> Iterator[tuple[str, list[str]]]:
    """(heading, lines) per section; the text before the first heading is a section labelled
    "" when it holds anything."""
    from docx.table import Table

    label = ""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            lines.extend(_docx_table_rows(block))
            continue
        text = block.text  # a Paragraph
        if _is_heading(block) and text.strip():
            if lines:
                yield label, lines
            label, lines = text.strip()[:_LABEL_CHARS], [text]
        elif text.strip():
            lines.append(text)
    if lines:
        yield label, lines


def _is_heading(paragraph: Paragraph) -> bool:
    style = getattr(paragraph, "style", None)
    style_name = (getattr(style, "name", None) or "").lower()
    return style_name.startswith(_HEADING_STYLES)


def _docx_table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # one cell spanning several grid columns comes once
                continue
            previous = cell._tc
            cells.append(_one_line(cell.text))
        yield "\t".join(cells).rstrip("\t")


# -- Excel ---------------------------------------------------------------------------------------

def read_xlsx(request: ExtractRequest, collector: PartCollector) -> None:
    """Hand ``collector`` each requested sheet (all by default) as tab-separated rows; empty rows
    are left out, and empty cells at the end of a row."""
    import openpyxl  # imported here: only a child reading a workbook needs it

    path, name = Path(request.path), request.file_name
    require_package(path, name, EXCEL_MAIN_PART)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_vba=False,
                                      keep_links=False)
    with contextlib.closing(workbook):
        sheet_names = list(workbook.sheetnames)
        chosen = _chosen_sheets(request, sheet_names)
        collector.expect(len(sheet_names), len(chosen))
        for number, sheet_name in enumerate(sheet_names, 1):
            if sheet_name not in chosen:
                continue
            text = _sheet_text(workbook[sheet_name], collector.remaining_chars)
            if not collector.add("sheet", number, sheet_name, text):
                break


def _chosen_sheets(request: ExtractRequest, sheet_names: list[str]) -> set[str]:
    if request.sheets is None:
        return set(sheet_names)
    unknown = [sheet for sheet in request.sheets if sheet not in sheet_names]
    if unknown:
        listed = ", ".join(sheet_names)
        raise ExtractFailure("selection", (
            f"{request.file_name} has no sheet named {', '.join(unknown)}; its sheets are: "
            f"{listed}."))
    return set(request.sheets)


def _sheet_text(sheet: ReadOnlyWorksheet | Chartsheet, budget: int) -> str:
    """The sheet's rows, stopping once past ``budget`` characters. A chart sheet has none."""
    if not hasattr(sheet, "iter_rows"):
        return ""
    # the dimension a file states can be anything (A1:XFD1048576); rows are read as they come
    sheet.reset_dimensions()
    lines, size = [], 0
    for row in sheet.iter_rows(values_only=True):
        cells = [_cell_text(value) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        line = "\t".join(cells)
        lines.append(line)
        size += len(line) + 1
        if size > budget:
            break
    return "\n".join(lines)


def _cell_text(value: object) -> str:
    return _one_line(cell_text(value))


def cell_text(value: object) -> str:
    """A cell's value as a person reads it: whole numbers without ".0", dates in ISO form,
    booleans as TRUE/FALSE, text as it is (the one rule for documents and batch tables)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _one_line(text: str) -> str:
    """Cell text on one line (tabs and line breaks inside a cell would split the row)."""
    return " ".join(text.split())
