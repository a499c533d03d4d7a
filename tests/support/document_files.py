"""Document files for the extraction tests and ``bench/extract.py``, made by the real programs'
libraries (Qt prints the PDF report, python-docx and openpyxl write the Office files) or, for the
hostile ones, written byte by byte: a page tree that contains itself, a content stream that
inflates to gigabytes, a ZIP package whose part unzips to gigabytes, two thousand pages.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

# What each page of the printed report says: a heading, a paragraph, a table, a closing line.
REPORT_HEADING = "第{n}页 Section {n}"
REPORT_PARAGRAPH = ("贵州茅台2023年营业收入为1505.6亿元，同比增长18.04%。"
                    "Revenue grew {n}% year on year.")
REPORT_TABLE = (("项目", "2023", "2022"), ("营业收入", "{revenue}", "1275"),
                ("净利润", "{profit}", "627"))
REPORT_CLOSING = "The second paragraph follows the table on page {n}."
ENGLISH_HEADING = "Page {n} Section {n}"
ENGLISH_PARAGRAPH = "Revenue grew {n}% year on year, with margins stable."
ENGLISH_TABLE = (("Item", "2023", "2022"), ("Revenue", "{revenue}", "1275"),
                 ("Profit", "{profit}", "627"))


def cjk_font_family() -> str | None:
    """A font family Qt can print Chinese with, None when the machine has none (install
    fonts-wqy-microhei). Needs a QGuiApplication."""
    from PySide6.QtGui import QFontDatabase

    for family in QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese):
        if "emoji" not in family.lower():
            return family
    return None


def report_page(number: int, chinese: bool) -> tuple[str, str, list[list[str]], str]:
    """Page ``number`` of ``print_report_pdf``: its heading, paragraph, table rows and closing
    line."""
    heading, paragraph, table = ((REPORT_HEADING, REPORT_PARAGRAPH, REPORT_TABLE) if chinese
                                 else (ENGLISH_HEADING, ENGLISH_PARAGRAPH, ENGLISH_TABLE))
    values = {"n": number, "revenue": 1505 + number, "profit": 747 + number}
    rows = [[cell.format(**values) for cell in row] for row in table]
    return (heading.format(**values), paragraph.format(**values), rows,
            REPORT_CLOSING.format(**values))


def report_page_text(number: int, chinese: bool) -> str:
    """Page ``number``'s text in reading order, table cells separated by spaces."""
    heading, paragraph, rows, closing = report_page(number, chinese)
    return " ".join([heading, paragraph, *(" ".join(row) for row in rows), closing])


def print_report_pdf(path: Path, pages: int, *, chinese: bool = True,
                     font_family: str | None = None) -> list[str]:
    """Print a ``pages``-page report to ``path`` with Qt (QTextDocument → QPdfWriter, as the app
    prints its exports); returns each page's text: its ``report_page_text`` and the page number
    Qt prints at its foot. Needs a QGuiApplication; ``font_family`` should print Chinese when
    ``chinese``."""
    from PySide6.QtGui import QFont, QPageSize, QPdfWriter, QTextDocument

    html = []
    for number in range(1, pages + 1):
        heading, paragraph, rows, closing = report_page(number, chinese)
        table = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                        for row in rows)
        page_break = " style='page-break-before: always'" if number > 1 else ""
        html.append(f"<h2{page_break}>{heading}</h2><p>{paragraph}</p>"
                    f"<table border='1' cellpadding='4'>{table}</table><p>{closing}</p>")
    document = QTextDocument()
    if font_family is not None:
        document.setDefaultFont(QFont(font_family, 11))
    document.setHtml("".join(html))
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    document.print_(writer)
    del writer  # the file is complete once the writer is gone
    return [f"{report_page_text(number, chinese)} {number}" for number in range(1, pages + 1)]



def write_annual_report_docx(path: Path) -> Path:
    """Write a short Chinese annual report with python-docx: a letter, then two headed sections
    ("一、财务概况" with a two-row table, "二、风险提示"); returns ``path``."""
    import docx

    document = docx.Document()
    document.add_paragraph("致股东的信：本年度经营稳健。")
    document.add_heading("一、财务概况", level=1)
    document.add_paragraph("营业收入1505.6亿元，同比增长18.04%。")
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, (("项目", "2023", "2022"), ("净利润", "747", "627")),
                           strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("The table above is in millions.")
    document.add_heading("二、风险提示", level=2)
    document.add_paragraph("汇率波动可能影响海外收入。")
    document.save(path)
    return path

# -- PDFs written byte by byte ---------------------------------------------------------------------

def raw_pdf(objects: Sequence[bytes | str]) -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with a correct cross-reference table."""
    output = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(output))
        data = body.encode("latin-1") if isinstance(body, str) else body
        output += f"{number} 0 obj\n".encode() + data + b"\nendobj\n"
    xref = len(output)
    output += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    output += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    output += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
               "%%EOF\n").encode()
    return bytes(output)


_FONT = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(parent: int, contents: int, font: int) -> str:
    return (f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 612 792] /Contents {contents} "
            f"0 R /Resources << /Font << /F1 {font} 0 R >> >> >>")


def _stream(data: bytes, extra: str = "") -> bytes:
    return f"<< /Length {len(data)}{extra} >>\nstream\n".encode() + data + b"\nendstream"


def many_pages_pdf(count: int) -> bytes:
    """``count`` pages, page n saying "Page n of COUNT"."""
    objects: list[bytes | str] = ["<< /Type /Catalog /Pages 2 0 R >>", "", _FONT]
    kids = []
    for number in range(1, count + 1):
        page = len(objects) + 1
        kids.append(f"{page} 0 R")
        objects.append(_page(2, page + 1, 3))
        objects.append(_stream(f"BT /F1 12 Tf 72 700 Td (Page {number} of {count}) Tj ET".encode()))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {count} >>"
    return raw_pdf(objects)


def page_tree_loop_pdf() -> bytes:
    """A page tree whose node lists itself as its first kid, then one real page saying "Only
    page" (QtPdf's PDFium hangs on it; pypdfium2's reads the page and refuses the loop)."""
    return raw_pdf(["<< /Type /Catalog /Pages 2 0 R >>",
                    "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                    _page(2, 4, 5), _stream(b"BT /F1 12 Tf 72 700 Td (Only page) Tj ET"), _FONT])


def flate_bomb_pdf(inflated_mib: int) -> bytes:
    """One page whose content stream is about ``inflated_mib`` MiB of spaces, compressed to about
    1/1000 of that."""
    return raw_pdf(["<< /Type /Catalog /Pages 2 0 R >>",
                    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", _page(2, 4, 5),
                    _stream(_repeated_spaces_deflated(inflated_mib, zlib_wrapper=True),
                            " /Filter /FlateDecode"), _FONT])


def _repeated_spaces_deflated(mib: int, zlib_wrapper: bool) -> bytes:
    """``mib`` MiB of spaces, deflated fast: one MiB compressed with a full flush (which resets
    the compressor) repeats byte for byte, so it is compressed once and copied."""
    chunk = b" " * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15 if zlib_wrapper else -15)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + repeated * (mib - 2) + compressor.compress(chunk) + compressor.flush()


# -- a ZIP package that unzips to gigabytes --------------------------------------------------------

_SPACES_CRC: dict[int, int] = {}


def zip_bomb_package(source: Path, target: Path, part: str, inflated_mib: int) -> None:
    """Copy the Office package ``source`` to ``target`` with ``part`` replaced by
    ``inflated_mib`` MiB of spaces (an honest member: its sizes and CRC are true), so the
    package stays a few MB and unzips to gigabytes."""
    import zipfile

    members = []
    with zipfile.ZipFile(source) as package:
        for info in package.infolist():
            if info.filename == part:
                continue
            data = package.read(info)
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            members.append((info.filename, compressor.compress(data) + compressor.flush(),
                            zlib.crc32(data), len(data)))
    if inflated_mib not in _SPACES_CRC:
        crc, chunk = 0, b" " * (1 << 20)
        for _ in range(inflated_mib):
            crc = zlib.crc32(chunk, crc)
        _SPACES_CRC[inflated_mib] = crc
    members.append((part, _repeated_spaces_deflated(inflated_mib, zlib_wrapper=False),
                    _SPACES_CRC[inflated_mib], inflated_mib << 20))
    target.write_bytes(_zip_bytes(members))


def _zip_bytes(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A ZIP of deflated members (name, deflated data, CRC-32, size), without ZIP64 (sizes
    under 4 GiB)."""
    output, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        encoded = name.encode()
        offset = len(output)
        output += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data),
                              size, len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    directory_offset = len(output)
    output += central
    output += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                          len(central), directory_offset, 0)
    return bytes(output)
