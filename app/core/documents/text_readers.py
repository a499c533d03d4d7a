"""Plain text, Markdown, CSV and HTML as text (runs in the extraction child).

The bytes are decoded as UTF-8 (with or without a byte-order mark), UTF-16 with its mark, or
else GB18030 (the superset of GBK that Chinese Windows programs, Excel's CSV export among them,
write); a file that is none of these, or holds NUL bytes, is not text. Files over
``MAX_TEXT_FILE_BYTES`` are refused before they are read.

Parts: a Markdown or HTML document is split into sections at its headings (``#`` lines outside
code fences; ``h1``-``h3``); a plain text file is one section; a CSV file is one sheet, its rows
tab-separated like a workbook's. HTML is read with the standard library's parser, which fetches
nothing: scripts, styles and other invisible elements are left out, block elements end lines,
table cells are separated by tabs.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from app.core.documents.collector import ExtractFailure, ExtractRequest, PartCollector

MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_LABEL_CHARS = 80
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_MARKDOWN_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def read_text_file(path: Path, name: str) -> str:
    """The file's text with Unix line ends (see the module docstring for the encodings).
    Raises ``ExtractFailure``: ``limit`` over ``MAX_TEXT_FILE_BYTES``, ``format`` when it is not
    text."""
    with path.open("rb") as stream:
        data = stream.read(MAX_TEXT_FILE_BYTES + 1)
    if len(data) > MAX_TEXT_FILE_BYTES:
        raise ExtractFailure("limit", (
            f"{name} is larger than the {MAX_TEXT_FILE_BYTES >> 20} MiB a text document may be; "
            "split it, or attach the part you need."))
    text = _decode(data, name)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes, name: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise _not_text(name, f"damaged {encoding.upper()} text") from error
    if b"\x00" in data:
        raise _not_text(name, "binary data")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _not_text(name, "in neither UTF-8 nor GB18030/GBK")


def _not_text(name: str, what: str) -> ExtractFailure:
    return ExtractFailure("format", f"{name} is not a text file ({what}); save it as UTF-8 text "
                                    "and attach it again.")


# -- the readers ---------------------------------------------------------------------------------

def read_plain_text(request: ExtractRequest, collector: PartCollector) -> None:
    """The whole file as one section."""
    text = read_text_file(Path(request.path), request.file_name)
    collector.expect(1, 1)
    collector.add("section", 1, "", text)


def read_markdown(request: ExtractRequest, collector: PartCollector) -> None:
    """The file's sections as written (Markdown is what the model reads best)."""
    text = read_text_file(Path(request.path), request.file_name)
    _add_sections(list(_markdown_sections(text)), collector)


def read_csv(request: ExtractRequest, collector: PartCollector) -> None:
    """The table as one sheet named after the file, cells tab-separated, empty rows left out."""
    text = read_text_file(Path(request.path), request.file_name)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:_SNIFF_BYTES], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # one column, or no delimiter the sniffer is sure of
    lines, size, budget = [], 0, collector.remaining_chars
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            cells = [" ".join(cell.split()) for cell in row]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                lines.append("\t".join(cells))
                size += len(lines[-1]) + 1
                if size > budget:
                    break
    except csv.Error as error:
        raise ExtractFailure("format", f"{request.file_name} is not a readable CSV table "
                                       f"({error}); check it in a spreadsheet program.") from error
    collector.expect(1, 1)
    collector.add("sheet", 1, Path(request.file_name).stem, "\n".join(lines))


def read_html(request: ExtractRequest, collector: PartCollector) -> None:
    """The page's visible text, in sections at its ``h1``-``h3`` headings."""
    text = read_text_file(Path(request.path), request.file_name)
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    _add_sections(parser.sections(), collector)


def _add_sections(sections: list[tuple[str, str]], collector: PartCollector) -> None:
    sections = [(label, body) for label, body in sections if body.strip()] or [("", "")]
    collector.expect(len(sections), len(sections))
    for number, (label, body) in enumerate(sections, 1):
        if not collector.add("section", number, label, body):
            break


def _markdown_sections(text: str) -> Iterator[tuple[str, str]]:
    label, fence = "", None
    lines: list[str] = []
    for line in text.split("\n"):
        opening = _MARKDOWN_FENCE.match(line)
        if opening is not None:
            marker = opening[1]
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        elif fence is None and _MARKDOWN_HEADING.match(line):
            if any(existing.strip() for existing in lines):
                yield label, "\n".join(lines)
            label, lines = line.strip().lstrip("#").strip()[:_LABEL_CHARS], []
        lines.append(line)
    yield label, "\n".join(lines)


class _HtmlText(HTMLParser):
    """Collects an HTML page's visible text (see the module docstring)."""

    _HIDDEN = frozenset({"script", "style", "head", "template", "noscript", "svg", "math",
                         "iframe", "object", "select"})
    _BLOCKS = frozenset({"p", "div", "section", "article", "header", "footer", "main", "nav",
                         "aside", "ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "thead",
                         "tbody", "tfoot", "caption", "blockquote", "pre", "figure",
                         "figcaption", "form", "fieldset", "address", "h4", "h5", "h6",
                         "hr", "br"})
    _SECTION_HEADINGS = frozenset({"h1", "h2", "h3"})
    _CELLS = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._hidden_depth = 0
        self._sections: list[tuple[str, list[str]]] = [("", [])]
        self._heading: list[str] | None = None
        self._cell_open = False
        self._in_pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth += 1
            return
        if self._hidden_depth:
            return
        if tag in self._SECTION_HEADINGS:
            self._sections.append(("", []))
            self._heading = []
        elif tag in self._CELLS:
            if self._cell_open:
                self._write("\t")
            self._cell_open = True
        elif tag in self._BLOCKS:
            self._line_break(tag)
        if tag == "pre":
            self._in_pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
            return
        if self._hidden_depth:
            return
        if tag in self._SECTION_HEADINGS and self._heading is not None:
            label = " ".join("".join(self._heading).split())[:_LABEL_CHARS]
            self._sections[-1] = (label, self._sections[-1][1])
            self._heading = None
            self._write("\n")
        elif tag in self._BLOCKS:
            self._line_break(tag)
        if tag == "pre":
            self._in_pre = max(0, self._in_pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if not self._in_pre:
            data = re.sub(r"\s+", " ", data)
        if self._heading is not None:
            self._heading.append(data)
        self._write(data)

    def _line_break(self, tag: str) -> None:
        if tag == "tr":
            self._cell_open = False
        self._write("\n")

    def _write(self, text: str) -> None:
        self._sections[-1][1].append(text)

    def sections(self) -> list[tuple[str, str]]:
        """(heading, text) per section, lines stripped and blank runs collapsed."""
        result = []
        for label, pieces in self._sections:
            lines = [line.strip(" ") for line in "".join(pieces).split("\n")]
            result.append((label, "\n".join(line for line in lines if line.strip())))
        return result
