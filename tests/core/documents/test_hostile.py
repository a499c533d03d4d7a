"""Malformed and hostile documents end in a clear message within the limits, and the caller's
thread carries on meanwhile: a truncated PDF, a page tree that contains itself, a content stream
that inflates to gigabytes, DOCX and XLSX zip bombs, two thousand pages, files under the wrong
extension. Nothing a document references is fetched."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT

from app.core.documents.extraction import ExtractionLimits, extract_document
from app.core.errors import (
    DocumentFormatError,
    DocumentLimitError,
    DocumentReadError,
    UnsupportedDocumentError,
)
from foundation.jobs import CancelToken, JobCancelled
from tests.support.document_files import (
    flate_bomb_pdf,
    many_pages_pdf,
    page_tree_loop_pdf,
    zip_bomb_package,
)

LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
# a stop must come within its limit plus the room a busy two-core machine needs to end a child
GRACE_S = 5.0
DEFAULT = ExtractionLimits()
SMALL_MEMORY = ExtractionLimits(memory_bytes=256 * 1024 * 1024)
# Word fetches a document's template from this link when it opens it (a known attack)
ATTACHED_TEMPLATE = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                     "attachedTemplate")


@pytest.fixture(scope="module")
def pdf_2000_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "long.pdf"
    path.write_bytes(many_pages_pdf(2000))
    return path


@pytest.fixture(scope="module")
def word_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = docx.Document()
    document.add_paragraph("Quarterly note.")
    path = tmp_path_factory.mktemp("docx") / "note.docx"
    document.save(path)
    return path


@pytest.fixture(scope="module")
def workbook_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Revenue", 1505.6])
    path = tmp_path_factory.mktemp("xlsx") / "book.xlsx"
    workbook.save(path)
    return path


def timed_error(path: Path, error_class: type[Exception], limits: ExtractionLimits = DEFAULT,
                **options: object) -> tuple[str, float]:
    """The message of the error ``extract_document`` raises, and how long it took."""
    started = time.monotonic()
    with pytest.raises(error_class) as raised:
        extract_document(path, limits=limits, **options)
    return str(raised.value), time.monotonic() - started


def test_a_truncated_pdf_is_refused_as_damaged(tmp_path: Path, pdf_2000_pages: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes(pdf_2000_pages.read_bytes()[:50_000])

    message, _ = timed_error(path, DocumentFormatError)

    assert message == ("cut.pdf is not a readable PDF (PDFium: Data format error); it may be "
                       "damaged or incomplete: open it in a PDF viewer, save a copy and attach "
                       "that.")


def test_a_page_tree_that_contains_itself_gives_its_real_page_and_a_note(tmp_path: Path) -> None:
    path = tmp_path / "loop.pdf"
    path.write_bytes(page_tree_loop_pdf())

    extracted = extract_document(path, limits=ExtractionLimits(time_s=20))

    assert [(part.number, part.text) for part in extracted.parts] == [(1, "Only page")]
    assert extracted.notes == ("page 2 of loop.pdf could not be read (the file is damaged "
                               "there); it is left out.",)


@LINUX
def test_a_pdf_inflating_to_gigabytes_is_stopped_at_the_memory_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(flate_bomb_pdf(2048))
    assert path.stat().st_size < 3 * 1024 * 1024

    message, seconds = timed_error(path, DocumentLimitError, SMALL_MEMORY)

    assert message.startswith("Reading bomb.pdf needed more than 256 MiB of memory and was "
                              "stopped")
    assert "decompression bomb" in message
    assert seconds < SMALL_MEMORY.time_s


@pytest.mark.parametrize(("kind", "part"), [("docx", "word/document.xml"),
                                            ("xlsx", "xl/worksheets/sheet1.xml")])
def test_an_office_zip_bomb_is_refused_before_anything_is_unzipped(
        tmp_path: Path, word_file: Path, workbook_file: Path, kind: str, part: str) -> None:
    path = tmp_path / f"bomb.{kind}"
    zip_bomb_package(word_file if kind == "docx" else workbook_file, path, part, 2048)
    assert path.stat().st_size < 3 * 1024 * 1024

    message, seconds = timed_error(path, DocumentLimitError, SMALL_MEMORY)

    assert message == (f"bomb.{kind} would expand to 2.0 GiB when unzipped, more than the 512 "
                       "MiB an Office document may (it looks like a zip bomb); it was not "
                       "opened. Attach a copy saved by Office, or split the document.")
    assert seconds < GRACE_S


def test_two_thousand_pages_are_read_well_within_the_time_limit(pdf_2000_pages: Path) -> None:
    started = time.monotonic()

    extracted = extract_document(pdf_2000_pages)

    assert time.monotonic() - started < DEFAULT.time_s / 4
    assert len(extracted.parts) == extracted.part_count == 2000
    assert extracted.parts[-1].text == "Page 2000 of 2000"


def test_chosen_pages_of_two_thousand_are_read_alone(pdf_2000_pages: Path) -> None:
    extracted = extract_document(pdf_2000_pages, pages=[1999, 2])

    assert [(part.number, part.text) for part in extracted.parts] == [
        (2, "Page 2 of 2000"), (1999, "Page 1999 of 2000")]


def test_past_the_time_limit_the_reader_is_stopped_with_a_sentence(pdf_2000_pages: Path) -> None:
    # far below what the child needs (its interpreter's start counts): pypdfium2 reads the
    # whole 2,000 pages in about 0.4 s, so a limit near that would pass on a fast machine
    limits = ExtractionLimits(time_s=0.02)

    message, seconds = timed_error(pdf_2000_pages, DocumentLimitError, limits)

    assert message.startswith("Reading long.pdf took longer than 0.02 s and was stopped")
    assert "choose fewer pages" in message
    assert seconds < limits.time_s + GRACE_S


def test_the_callers_thread_keeps_running_while_a_document_is_read(
        pdf_2000_pages: Path) -> None:
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(extract_document(pdf_2000_pages)))
    ticks, longest_gap = 0, 0.0
    worker.start()
    last = time.monotonic()
    while worker.is_alive():
        time.sleep(0.01)
        now = time.monotonic()
        ticks, longest_gap, last = ticks + 1, max(longest_gap, now - last), now
    worker.join()

    assert len(outcome) == 1 and outcome[0].part_count == 2000
    assert ticks >= 10
    assert longest_gap < 0.5


def test_a_cancelled_extraction_ends_at_once_and_leaves_no_child(pdf_2000_pages: Path) -> None:
    cancel = CancelToken()
    cancel.cancel()
    started = time.monotonic()

    with pytest.raises(JobCancelled, match="document extraction was cancelled"):
        extract_document(pdf_2000_pages, cancel=cancel)

    assert time.monotonic() - started < GRACE_S


@pytest.mark.parametrize(("name", "made_as", "says"), [
    ("report.pdf", "docx", "report.pdf is not a PDF: it is a Word document (.docx); rename it "
                           "with the extension of its type and attach it again."),
    ("book.docx", "xlsx", "book.docx is not a Word document (.docx): it is an Excel workbook "
                          "(.xlsx); rename it with the right extension and attach it again."),
    ("note.xlsx", "pdf", "note.xlsx is not an Excel workbook (.xlsx): it is a PDF (.pdf); "
                         "rename it with the extension of its type and attach it again."),
    ("data.csv", "xlsx", "data.csv is not a text file: it is an Excel workbook (.xlsx); rename "
                         "it with the extension of its type and attach it again."),
    ("memo.txt", "pdf", "memo.txt is not a text file: it is a PDF (.pdf); rename it with the "
                        "extension of its type and attach it again."),
    ("old.docx", "ole", "old.docx is not a Word document (.docx): it is an older Office file "
                        "(.doc, .xls) or a password-protected one, which the app cannot read: "
                        "save it from Office as .docx or .xlsx without a password."),
    ("page.html", "binary", "page.html is not a text file (binary data); save it as UTF-8 text "
                            "and attach it again."),
])
def test_a_file_under_the_wrong_extension_is_named_for_what_it_is(
        tmp_path: Path, pdf_2000_pages: Path, word_file: Path, workbook_file: Path, name: str,
        made_as: str, says: str) -> None:
    sources = {"docx": word_file.read_bytes(), "xlsx": workbook_file.read_bytes(),
               "pdf": pdf_2000_pages.read_bytes()[:4096],
               "ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
               "binary": b"\x7fELF\x02\x01\x01\x00" + bytes(64)}
    path = tmp_path / name
    path.write_bytes(sources[made_as])

    message, _ = timed_error(path, DocumentFormatError)

    assert message == says


def test_missing_files_folders_and_unknown_extensions_are_refused_before_a_child_starts(
        tmp_path: Path) -> None:
    with pytest.raises(DocumentReadError, match="does not exist"):
        extract_document(tmp_path / "absent.pdf")
    (tmp_path / "folder.pdf").mkdir()
    with pytest.raises(DocumentReadError, match="is a folder"):
        extract_document(tmp_path / "folder.pdf")
    with pytest.raises(UnsupportedDocumentError, match=r"slides\.pptx: the app reads documents "
                                                       r"with these extensions: \.csv, \.docx"):
        extract_document(tmp_path / "slides.pptx")


@pytest.fixture
def listening_port() -> Iterator[socket.socket]:
    """A local TCP port that accepts connections without serving them: a connection attempt is
    in its queue once the attempt returns."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    yield server
    server.close()


def connections_made(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def test_nothing_a_document_links_to_is_fetched(tmp_path: Path,
                                                listening_port: socket.socket) -> None:
    address = f"http://127.0.0.1:{listening_port.getsockname()[1]}/"
    page = tmp_path / "linked.html"
    page.write_text(f"<link rel=stylesheet href='{address}a.css'><img src='{address}b.png'>"
                    f"<iframe src='{address}c'></iframe><p>Body text</p>", encoding="utf-8")
    document = docx.Document()
    document.add_paragraph("See the linked picture and page.")
    for target, relationship in ((f"{address}picture.png", RT.IMAGE),
                                 (f"{address}page", RT.HYPERLINK),
                                 (f"{address}template.dotx", ATTACHED_TEMPLATE)):
        document.part.relate_to(target, relationship, is_external=True)
    linked_docx = tmp_path / "linked.docx"
    document.save(linked_docx)

    assert extract_document(page).text() == "Body text"
    assert extract_document(linked_docx).text() == "See the linked picture and page."
    assert connections_made(listening_port) == 0
