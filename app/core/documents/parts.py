"""A document's text as parts a person can pick: pages of a PDF, sheets of a workbook, sections
of a Word, Markdown or HTML document.

Pure data, shared by the extraction child (which builds it) and everything that shows or sends
it (which selects from it). It crosses the process boundary as JSON (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

PartKind = Literal["page", "sheet", "section"]
PART_KINDS: tuple[PartKind, ...] = ("page", "sheet", "section")
PART_SEPARATOR = "\n\n"
# no document has more pages; a range beyond it is a typo (and would fill memory with numbers)
MAX_PAGE_NUMBER = 100_000

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class DocumentPart:
    """One selectable piece of a document.

    ``number``: its 1-based position in the whole document (a PDF's page number, a sheet's place
    in the workbook, a section's order), so it stays the same whatever else is selected.
    ``label``: what to call it in a list: a page's printed label, a sheet's name, a section's
    heading ("" for the text before the first heading). ``text``: its text as the app sends it.
    """

    kind: PartKind
    number: int
    label: str
    text: str

    def sent_text(self) -> str:
        """The text as it goes to the model: a sheet starts with its name as a heading (the name
        often says what the numbers are: 利润表, Balance sheet); pages and sections as they are."""
        if self.kind == "sheet":
            return f"## {self.label}\n{self.text}" if self.text else f"## {self.label}"
        return self.text


@dataclass(frozen=True)
class DocumentText:
    """The text extracted from one document.

    ``file_name``: the document's name (not its path). ``kind``: the document type
    (``extraction.DOCUMENT_KINDS``' values). ``parts``: what was extracted, in document order.
    ``part_count``: how many parts the whole document has (pages, sheets, sections), including
    those not selected or not reached. ``complete``: every selected part is here in full; False
    when the text limit stopped extraction (``notes`` then says where). ``notes``: sentences to
    show the person (a scanned page without text, a stop at the text limit, formulas without
    saved values).
    """

    file_name: str
    kind: str
    parts: tuple[DocumentPart, ...]
    part_count: int
    complete: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def has_text(self) -> bool:
        """Whether any part holds more than whitespace."""
        return any(part.text.strip() for part in self.parts)

    def text(self, numbers: Iterable[int] | None = None) -> str:
        """The text the app sends: the parts numbered ``numbers`` (all when None), in document
        order, each as ``DocumentPart.sent_text``, separated by a blank line."""
        return PART_SEPARATOR.join(part.sent_text() for part in self.select(numbers).parts)

    def select(self, numbers: Iterable[int] | None) -> DocumentText:
        """This text with only the parts numbered ``numbers`` (all when None); numbers that are
        not among the parts are ignored (a UI offers only the parts there are)."""
        if numbers is None:
            return self
        wanted = set(numbers)
        return DocumentText(self.file_name, self.kind,
                            tuple(part for part in self.parts if part.number in wanted),
                            self.part_count, self.complete, self.notes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; ``from_dict`` reads it back."""
        return {"file_name": self.file_name, "kind": self.kind, "part_count": self.part_count,
                "complete": self.complete, "notes": list(self.notes),
                "parts": [{"kind": part.kind, "number": part.number, "label": part.label,
                           "text": part.text} for part in self.parts]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DocumentText:
        """Read ``to_dict``'s form. Raises ``ValueError`` for anything else (the parent reads what
        a child that handled a foreign file wrote, so every field is checked)."""
        try:
            parts = tuple(_part_from_dict(part) for part in data["parts"])
            notes = tuple(data["notes"])
            text = cls(str(data["file_name"]), str(data["kind"]), parts, int(data["part_count"]),
                       bool(data["complete"]), notes)
        except (KeyError, TypeError) as error:
            raise ValueError(f"not an extracted document: {error!r}") from error
        if not all(isinstance(note, str) for note in notes):
            raise ValueError("not an extracted document: a note that is not text")
        return text


def _part_from_dict(data: Mapping[str, Any]) -> DocumentPart:
    kind, number, label, text = data["kind"], data["number"], data["label"], data["text"]
    if (kind not in PART_KINDS or not isinstance(number, int) or not isinstance(label, str)
            or not isinstance(text, str)):
        raise TypeError(f"a malformed part {sorted(data)}")
    return DocumentPart(kind, number, label, text)


def parse_page_ranges(text: str) -> tuple[int, ...]:
    """Page numbers from ``"1-5"``, ``"3"``, ``"1,3,7-9"`` (1-based, ranges inclusive), sorted,
    without repeats. Raises ``ValueError`` with a sentence for anything else (a zero, a range
    running backwards, a page past ``MAX_PAGE_NUMBER``, a word)."""
    numbers: set[int] = set()
    for piece in text.split(","):
        found = _RANGE.match(piece)
        if found is None:
            raise ValueError(f"{piece.strip()!r} is not a page or a range of pages; write them "
                             "like 1-5 or 1,3,7-9")
        first = int(found[1])
        last = int(found[2]) if found[2] is not None else first
        if first < 1 or last < first:
            raise ValueError(f"{piece.strip()!r} is not a range of pages: pages count from 1 "
                             "and a range runs from the lower number to the higher")
        if last > MAX_PAGE_NUMBER:
            raise ValueError(f"{piece.strip()!r} goes past page {MAX_PAGE_NUMBER}, more than "
                             "any document has")
        numbers.update(range(first, last + 1))
    return tuple(sorted(numbers))


def format_page_ranges(numbers: Sequence[int]) -> str:
    """``parse_page_ranges``' inverse for sorted numbers: ``(1, 2, 3, 7)`` → ``"1-3, 7"``."""
    runs: list[list[int]] = []  # [first, last] of each run of consecutive numbers
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
