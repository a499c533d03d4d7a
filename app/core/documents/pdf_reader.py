"""A PDF's text, page by page, with PDFium through ``pypdfium2`` (runs in the extraction child).

Why pypdfium2. ``bench/extract.py`` prints a 300-page report with Qt (per page a bold heading, a
Chinese paragraph, a table, a closing line; 568 KB) and reads it with each candidate, each run
in a fresh process (import included), median of 5 interleaved rounds, on this project's 2-core
machine under a load of about 7 (so wall times are inflated; CPU times hold better):

==========  ======  =====  ==========  ========  ========================  ===============
library     wall s  CPU s  as written  peak RSS  page tree holding itself  1 GiB RLIMIT_AS
==========  ======  =====  ==========  ========  ========================  ===============
pypdfium2   0.40    0.17   300/300     23 MB     bad page refused at once  reads normally
QtPdf       0.70    0.24   300/300     45 MB     hangs (killed at 10 s)    dies (SIGTRAP)
pypdf       5.87    3.02   0/300       45 MB     refused at once           reads normally
pdfplumber  18.32   7.80   0/300       221 MB    reads                     reads normally
==========  ======  =====  ==========  ========  ========================  ===============

CPU time against pypdfium2: QtPdf 1.45×, pypdf 17.9×, pdfplumber 46×. "As written": the page's
text equals what was printed, whitespace aside. Both PDFium builds give every page as written,
Chinese included and table rows in order ("营业收入 1506 1275"). pypdf repeats each bold heading
("第1页 第1页 Section 1 Section 1") and puts each table cell on its own line; pdfplumber doubles
it letter by letter ("第第11页页 SSeeccttiioonn 11"). (Qt prints bold text for a font without a
bold face twice, offset by a fraction of a point; PDFium merges the copies.)

Between the two PDFium builds, hostile files decide. QtPdf's PDFium reserves 32 GiB of address
space as soon as a ``QPdfDocument`` exists (its allocator's reservation), so under any memory
limit that means something (``RLIMIT_AS``, which the extraction child sets) it dies at once with
SIGTRAP. And a four-object PDF whose page tree lists itself (``tests/support/document_files.py``'s
``page_tree_loop_pdf``) hangs ``QPdfDocument.load`` for as long as one waits. pypdfium2 reads
the real page and refuses the loop at once, needs no Qt (``app.core`` never imports PySide6),
and reads 2,000 small pages in about 0.4 s. Its wheels carry their own PDFium build
(Apache-2.0/BSD-3-Clause) for Linux, Windows and macOS.

There is no OCR: a page without a text layer (a scan) gives no text, and a note says so.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from app.core.documents.collector import ExtractFailure, ExtractRequest, PartCollector
from app.core.documents.parts import format_page_ranges


def read_pdf(request: ExtractRequest, collector: PartCollector) -> None:
    """Hand ``collector`` the text of each requested page (all by default). Raises
    ``ExtractFailure``: ``format`` for a file PDFium cannot open (damaged, not a PDF,
    password-protected) or whose selected pages all fail to load; ``selection`` for pages
    past the end."""
    name = request.file_name
    document = _open(Path(request.path), name)
    with contextlib.closing(document):
        page_count = len(document)
        numbers = request.pages if request.pages is not None else range(1, page_count + 1)
        missing = [number for number in numbers if number > page_count]
        if missing:
            raise ExtractFailure("selection", (
                f"{name} has {page_count} page{'s' if page_count != 1 else ''}; "
                f"{format_page_ranges(missing)} {'is' if len(missing) == 1 else 'are'} not in "
                "it. Choose pages within the document."))
        collector.expect(page_count, len(numbers))
        unreadable: list[int] = []
        without_text: list[int] = []
        for number in numbers:
            text = _page_text(document, number)
            if text is None:
                unreadable.append(number)
                continue
            if not text.strip():
                without_text.append(number)
            if not collector.add("page", number, _label(document, number), text):
                break
    _note_missing_text(name, len(numbers), unreadable, without_text, collector)


def _open(path: Path, name: str) -> pypdfium2.PdfDocument:
    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise ExtractFailure("format", (
                f"{name} is protected by a password; open it in a PDF viewer, save or print a "
                "copy without the password, and attach that.")) from error
        if code == pdfium_c.FPDF_ERR_FILE:
            raise ExtractFailure("unreadable", f"{name} cannot be opened; check that it exists "
                                               "and that you may read it.") from error
        raise ExtractFailure("format", (
            f"{name} is not a readable PDF (PDFium: {_reason(error)}); it may be damaged or "
            "incomplete: open it in a PDF viewer, save a copy and attach that.")) from error


def _reason(error: pypdfium2.PdfiumError) -> str:
    text = str(error)
    # "Failed to load document (PDFium: Data format error)." → "Data format error"
    return text.split("PDFium: ", 1)[-1].rstrip(").") if "PDFium: " in text else text


def _page_text(document: pypdfium2.PdfDocument, number: int) -> str | None:
    """Page ``number``'s text with Unix line ends; None when PDFium cannot load the page."""
    try:
        page = document[number - 1]
    except pypdfium2.PdfiumError:
        return None
    with contextlib.closing(page):
        text_page = page.get_textpage()
        with contextlib.closing(text_page):
            return text_page.get_text_range().replace("\r\n", "\n").replace("\r", "\n")


def _label(document: pypdfium2.PdfDocument, number: int) -> str:
    """The page's printed label (roman numerals of a preface, "A-3") or its number."""
    return document.get_page_label(number - 1) or str(number)


def _note_missing_text(name: str, selected: int, unreadable: list[int], without_text: list[int],
                       collector: PartCollector) -> None:
    if unreadable and len(unreadable) == selected:
        raise ExtractFailure("format", (
            f"no page of {name} could be read (the file is damaged); open it in a PDF viewer, "
            "save a copy and attach that."))
    if unreadable:
        they = "they are" if len(unreadable) > 1 else "it is"
        collector.note(f"{_pages(unreadable)} of {name} could not be read (the file is damaged "
                       f"there); {they} left out.")
    if without_text and len(without_text) + len(unreadable) == selected:
        collector.note(f"{name} has no text layer: its pages are probably scanned images, and "
                       "the app cannot read text in images (no OCR offline). Attach a PDF with "
                       "text (one saved from the original program), or type the figures.")
    elif without_text:
        collector.note(f"{_pages(without_text)} of {name} "
                       f"{'have' if len(without_text) > 1 else 'has'} no text (blank, or a "
                       "scanned image the app cannot read without OCR).")


def _pages(numbers: list[int]) -> str:
    """"page 3" or "pages 3-5, 9"."""
    return f"page{'s' if len(numbers) > 1 else ''} {format_page_ranges(numbers)}"
