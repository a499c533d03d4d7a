r"""The one reader of ``\boxed{…}``: where Fin-R1 puts its final answer.

The rule, for the streaming parser and the answer readers alike:

* ``\boxed{`` or ``boxed{`` opens a box (the model sometimes drops the backslash).
* The box runs to the brace that balances its opening one: nested braces belong to it
  (``\boxed{\frac{1}{2}}`` holds ``\frac{1}{2}``), and an escaped character (``\{``, ``\}``,
  ``\%``, ``\\``) never opens or closes anything.
* A box still open when the text ends is no box: the model never finished it.
* A box holds what stood between its braces, raw; ``latex_text.clean_latex`` makes it readable.
  A box written inside a box belongs to the outer one (``boxed{\boxed{x}}`` is one box).

``BoxScanner`` reads a text piece by piece, each character once (the parser feeds it as tokens
stream); ``find_boxes`` reads a whole text with it, so a text gives the same boxes however it is cut.
"""

from __future__ import annotations

import re

_BOX_OPENER = "boxed{"
_BOX_SPECIAL = re.compile(r"[{}\\]")


class BoxScanner:
    """Finds complete boxes in a text fed piece by piece. Not thread-safe: one per text."""

    def __init__(self, *, inside_box: bool = False) -> None:
        """``inside_box``: the text fed starts within a box whose ``boxed{`` came before it."""
        self._search_tail = ""  # end of the text so far that may begin ``boxed{``
        self._depth = 1 if inside_box else 0  # brace depth inside an open box; 0 while searching
        self._content: list[str] = []
        self._escape_pending = False  # the previous piece ended with a backslash inside a box

    def feed(self, text: str) -> list[str]:
        """Scan ``text``, the next piece; returns the raw contents of the boxes it closes, in order."""
        found: list[str] = []
        buffer = self._search_tail + text if self._depth == 0 else text
        self._search_tail = ""
        position = 0
        while position < len(buffer):
            if self._depth == 0:
                position = self._find_opener(buffer, position)
            else:
                position = self._scan_content(buffer, position, found)
        return found

    def close(self) -> None:
        """The text ended: a box still open is dropped, unreported; the scanner may start anew."""
        self._depth = 0
        self._content = []
        self._search_tail = ""
        self._escape_pending = False

    def _find_opener(self, buffer: str, position: int) -> int:
        opener = buffer.find(_BOX_OPENER, position)
        if opener < 0:
            keep_from = max(position, len(buffer) - (len(_BOX_OPENER) - 1))
            self._search_tail = buffer[keep_from:]
            return len(buffer)
        self._depth = 1
        return opener + len(_BOX_OPENER)

    def _scan_content(self, buffer: str, position: int, found: list[str]) -> int:
        if self._escape_pending:
            self._escape_pending = False
            self._content.append(buffer[position])
            return position + 1
        special = _BOX_SPECIAL.search(buffer, position)
        if special is None:
            self._content.append(buffer[position:])
            return len(buffer)
        char = special.group()
        end = special.end()
        if char == "\\":
            if end == len(buffer):
                self._escape_pending = True
            else:
                end += 1  # an escaped character (\{ \} \% \\) never changes the depth
        elif char == "{":
            self._depth += 1
        else:
            self._depth -= 1
            if self._depth == 0:
                self._content.append(buffer[position:special.start()])
                found.append("".join(self._content))
                self._content = []
                return end
        self._content.append(buffer[position:end])
        return end


def find_boxes(text: str) -> list[str]:
    r"""The raw contents of every complete box in ``text``, in order (``[]`` when there is none).

    ``find_boxes(r"a \boxed{\frac{1}{2}} b boxed{是}")`` is ``[r"\frac{1}{2}", "是"]``.
    """
    return BoxScanner().feed(text)


def box_content(text: str, content_start: int) -> str | None:
    r"""The raw content of the box whose opening ``boxed{`` ends at ``content_start`` in ``text``,
    by the same rule as ``find_boxes``; ``None`` when the box does not close within ``text``.
    Its closing brace is at ``content_start + len(content)``: the content is the raw text."""
    scanner = BoxScanner()
    scanner._depth = 1
    found = scanner.feed(text[content_start:])
    return found[0] if found else None
