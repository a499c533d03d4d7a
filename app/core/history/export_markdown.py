r"""A turn's text written into the Markdown export as the Markdown it is, without letting it break
the document around it.

The export writes the question and the answer as they are, then lines of its own: the final
answer, the provenance heading and table, the next turn. A CommonMark reader (what Markdown readers
implement) would take those lines into the text in two cases, both mended here:

* A fenced code block the text leaves open (a reply cut off inside its code), or a fence glued to
  the prose before it, which a reader would take for prose (and the reply's closing fence for an
  opening one). Fences are read by the chat view's rule (``app.core.chat.code_fences``, glued fences
  moved onto their own lines) and every block is closed where it ends. A fence whose code or
  closing line lies left of its opening line (inside a list item, that line would end the item
  and leave a fence of its own open) is written at the margin instead.
* A raw HTML block: it runs to a blank line, or for ``<script>``, ``<pre>``, ``<!--`` and the like
  to its end marker, and hides the Markdown inside it, fences included. A line that would start
  one gets its ``<`` escaped, so a reader shows that line as text, as the chat view shows raw HTML.

Everything else is written as it was, HTML within a line included; lines end with ``\n``.
"""

from __future__ import annotations

import re

from app.core.chat.code_fences import Fence, opening_fence, unglued

_LINE_END = re.compile(r"\r\n|\r|\n")  # CommonMark's line endings
_HTML_BLOCK_START = re.compile(
    r"^( {0,3})(?=<[A-Za-z/!?])"
    r"(?!<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>)"  # an autolink, <https://…>, is no HTML
    r"(?!<[^\s<>@]+@[^\s<>]+>)")  # nor is a mail autolink


def contained_markdown(text: str) -> str:
    """``text`` with every fenced code block closed and every line that would start a raw HTML
    block escaped (see the module docstring); all else unchanged. Never raises."""
    written: list[str] = []
    fence: Fence | None = None
    block: list[str] = []  # the open fenced block: its opening line, then its code
    for text_line in _LINE_END.split(text):
        for line in unglued(text_line, fence):
            if fence is None:
                fence = opening_fence(line)
                if fence is None:
                    written.append(_HTML_BLOCK_START.sub(r"\1\\", line, count=1))
                else:
                    block = [line]
            elif fence.is_closed_by(line):
                written += _fenced_block(fence, block, line)
                fence = None
            else:
                block.append(line)
    if fence is not None:
        written += _fenced_block(fence, block, None)
    return "\n".join(written)


def _fenced_block(fence: Fence, block: list[str], closing: str | None) -> list[str]:
    """The lines of one fenced block (its opening line, its code), closed; at the margin unless
    every line of it lies at or right of the opening line's indent."""
    opening, code = block[0], block[1:]
    in_place = all(_indent(line) >= fence.indent for line in code if line.strip(" \t")) and (
        closing is None or _indent(closing) >= fence.indent)
    if in_place:
        return [opening, *code, closing if closing is not None else " " * fence.indent + fence.marker]
    return [opening[fence.indent:], *code, fence.marker]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
