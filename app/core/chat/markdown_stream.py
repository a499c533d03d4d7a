r"""Cutting streamed markdown into blocks, so only the block still arriving is ever re-rendered.

``BlockSplitter.feed(text)`` takes a section's text as it streams. ``closed`` holds the blocks that
can no longer change; ``open_block`` is the one still arriving (possibly ""). The chat view renders
each closed block once and re-renders only the open one, so the cost of a reply grows with its
length, not with its length squared.

A block ends at a blank line, except inside a fenced code block or a display formula (``$$…$$``,
``\[…\]``), and except where a list goes on after the blank line (the next line is a list item or
indented), so a loose list stays one list. A code fence (``code_fences``' rule) always starts a
block of its own, even right under a line of prose or glued to its end, and ends it at its
closing fence.
"""

from __future__ import annotations

import re

from app.core.chat.code_fences import Fence, opening_fence, unglued

_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])\s")
_MAYBE_LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|\d{1,9}[.)]?)?")  # a line start still undecided


def split_blocks(text: str) -> list[str]:
    """The blocks of a whole section's ``text``: the same ``BlockSplitter`` cuts however the text
    streams in."""
    splitter = BlockSplitter()
    splitter.feed(text)
    splitter.finish()
    return splitter.closed


class BlockSplitter:
    """Splits one section's streamed markdown into blocks (see the module docstring)."""

    def __init__(self) -> None:
        self.closed: list[str] = []
        self._lines: list[str] = []  # complete lines of the open block
        self._partial = ""  # the open block's last line, not yet ended by a newline
        self._fence: Fence | None = None  # the open code block's fence
        self._in_display_math = False
        self._blank_pending = False  # a blank line was read; the next line decides if it splits

    def feed(self, text: str) -> None:
        """Take the next piece of the section's text (any split, even mid-line)."""
        pieces = (self._partial + text).split("\n")
        self._partial = pieces.pop()
        for line in pieces:
            self._read_line(line)
        if self._blank_pending and self._partial.strip() and \
                not _MAYBE_LIST_ITEM.fullmatch(self._partial):
            # Decide now, so the next block does not show glued to the last one until its line ends.
            self._resolve_blank(self._partial)

    def finish(self) -> None:
        """The section ended: its last line and open block are closed."""
        if self._partial:
            self._read_line(self._partial)
            self._partial = ""
        self._close()

    @property
    def open_block(self) -> str:
        """The block still arriving, "" when there is none."""
        if not self._lines:
            return self._partial
        if not self._partial:
            return "\n".join(self._lines)
        return "\n".join(self._lines) + "\n" + self._partial

    def _read_line(self, line: str) -> None:
        pieces = [line] if self._in_display_math else unglued(line, self._fence)
        for piece in pieces:
            self._read_whole_line(piece)

    def _read_whole_line(self, line: str) -> None:
        if self._fence is not None:
            self._lines.append(line)
            if self._fence.is_closed_by(line):
                self._fence = None
                self._close()
            return
        if not line.strip():
            if self._in_display_math:
                self._lines.append(line)
            elif self._lines:
                self._blank_pending = True
            return
        if self._blank_pending:
            self._resolve_blank(line)
        fence = opening_fence(line)
        if fence is not None:
            self._close()
            self._fence = fence
            self._lines.append(line)
            return
        self._lines.append(line)
        self._track_display_math(line)

    def _resolve_blank(self, line: str) -> None:
        """A blank line came before ``line``: it ends the open block unless a list goes on."""
        self._blank_pending = False
        if self._list_goes_on(line):
            self._lines.append("")
        else:
            self._close()

    def _list_goes_on(self, line: str) -> bool:
        return bool(_LIST_ITEM.match(self._lines[0])) and (
            bool(_LIST_ITEM.match(line)) or line.startswith(("  ", "\t")))

    def _track_display_math(self, line: str) -> None:
        if line.count("$$") % 2 == 1:
            self._in_display_math = not self._in_display_math
        opened, closed = line.count("\\["), line.count("\\]")
        if opened != closed:
            self._in_display_math = opened > closed

    def _close(self) -> None:
        if self._lines:
            self.closed.append("\n".join(self._lines))
        self._lines = []
        self._blank_pending = False
        self._in_display_math = False
