"""What the extraction child's readers share: the request, the collector of parts, the failure.

Each reader (``pdf_reader``, ``office_readers``, ``text_readers``) takes an ``ExtractRequest`` and
a ``PartCollector``, hands the collector the parts it finds in document order, stops when
``add`` says the text budget is spent, and raises ``ExtractFailure`` with a sentence for a file
it cannot read. Imported by the child only (and by the parent for the request's form).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.documents.parts import DocumentPart, DocumentText, PartKind

# kinds of ExtractFailure, each one of the app's error classes in the parent
FAILURE_KINDS = ("format", "selection", "limit", "unreadable")

PART_UNITS: dict[PartKind, str] = {"page": "pages", "sheet": "sheets", "section": "sections"}

# control characters other than tab and line feed: nothing a person reads, and some (ANSI
# escapes) would act on the terminal that `finr1 extract` prints to
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ExtractRequest:
    """One extraction: the file at ``path`` read as ``kind`` (``extraction.DOCUMENT_KINDS``'
    values). ``pages``: PDF page numbers to read (None: all). ``sheets``: workbook sheet names
    (None: all). ``max_chars``: the most text to extract. ``memory_bytes`` and ``cpu_seconds``:
    the limits the child sets on itself."""

    path: str
    kind: str
    pages: tuple[int, ...] | None
    sheets: tuple[str, ...] | None
    max_chars: int
    memory_bytes: int
    cpu_seconds: int

    @property
    def file_name(self) -> str:
        """The file's name as messages show it."""
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind,
                "pages": list(self.pages) if self.pages is not None else None,
                "sheets": list(self.sheets) if self.sheets is not None else None,
                "max_chars": self.max_chars, "memory_bytes": self.memory_bytes,
                "cpu_seconds": self.cpu_seconds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExtractRequest:
        pages, sheets = data["pages"], data["sheets"]
        return cls(str(data["path"]), str(data["kind"]),
                   tuple(int(page) for page in pages) if pages is not None else None,
                   tuple(str(sheet) for sheet in sheets) if sheets is not None else None,
                   int(data["max_chars"]), int(data["memory_bytes"]), int(data["cpu_seconds"]))


class ExtractFailure(Exception):
    """A reader cannot read the file. ``kind``: one of ``FAILURE_KINDS``; ``message``: a
    sentence naming the file and saying what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class PartCollector:
    """Gathers a reader's parts within ``request.max_chars`` characters and reports progress.

    ``report(done, total)`` is called after each part (total: the parts to read, once the reader
    has said with ``expect``).
    """

    def __init__(self, request: ExtractRequest, report: Callable[[int, int], None]) -> None:
        self.request = request
        self.notes: list[str] = []
        self._report = report
        self._parts: list[DocumentPart] = []
        self._chars = 0
        self._part_count = 0
        self._to_read = 0
        self._complete = True

    @property
    def remaining_chars(self) -> int:
        """Characters still allowed; a reader building a long part can stop once it has one
        more than this (``add`` then cuts the part and notes where)."""
        return self.request.max_chars - self._chars

    def expect(self, part_count: int, to_read: int) -> None:
        """The document has ``part_count`` parts, of which ``to_read`` will be read."""
        self._part_count = part_count
        self._to_read = to_read

    def add(self, kind: PartKind, number: int, label: str, text: str) -> bool:
        """Keep one part, its text and label without control characters (tabs and line breaks
        aside); False when the text budget is spent (the part was cut to fit, a note says so,
        and the reader stops)."""
        text = _CONTROL_CHARACTERS.sub("", text).strip()
        label = _CONTROL_CHARACTERS.sub("", label)
        budget = self.remaining_chars
        if len(text) > budget:
            self._parts.append(DocumentPart(kind, number, label, text[:budget]))
            self._chars += budget
            self._complete = False
            name = label if kind != "page" else str(number)
            self.notes.append(
                f"{self.request.file_name} was cut at {self.request.max_chars:,} characters, in "
                f"{kind} {name} ({number} of {self._part_count}); select fewer "
                f"{PART_UNITS[kind]} to read the rest.")
            return False
        self._parts.append(DocumentPart(kind, number, label, text))
        self._chars += len(text)
        self._report(len(self._parts), self._to_read)
        return True

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)

    def result(self) -> DocumentText:
        return DocumentText(self.request.file_name, self.request.kind, tuple(self._parts),
                            self._part_count, self._complete, tuple(self.notes))
