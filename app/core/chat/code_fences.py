"""The one rule for a markdown code fence, shared by the streaming splitter (``markdown_stream``),
the renderer (``rich_text``) and the answer readers (``app.core.reasoning.readers``), so what the chat view
draws as code is exactly what the readers read as code.

The rule is CommonMark's. An opening fence is a line of 3 or more backticks or tildes indented at
most 3 spaces, then an info string whose first word is the language; after backticks the info
string may hold no backtick, so "```x``` y" is an inline code span, not a fence. The closing fence
is the same character, at least as long, indented at most 3 spaces, with only spaces after it;
without one the block runs to the end of the text. Content lines lose up to as many leading spaces
as the opening fence had.

One allowance for how Fin-R1 writes: it glues backtick fences to the text before them
("代码如下：```python", "GROUP BY 1;```"). Read strictly, that turns its code into prose with stray
backticks, or the rest of the reply into one code block; ``unglued`` moves such a fence onto a line
of its own, as the model meant, before the splitter reads the line. Tildes are never unglued: "好的~~~"
is Chinese for a drawn-out "OK".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENING = re.compile(r"(?P<indent> {0,3})(?P<marker>`{3,}|~{3,})(?P<info>.*)")
_CLOSING = re.compile(r" {0,3}(?P<marker>`{3,}|~{3,})[ \t\r]*")  # "\r": a CRLF line's end
# A backtick fence ending a line of text, with at most a language word after it.
_GLUED_OPENING = re.compile(r"(?P<text>.*?[^\s`~])[ \t]*(?P<marker>`{3,})(?P<language>[\w+#.-]*)[ \t\r]*")
_GLUED_CLOSING = re.compile(r"(?P<text>.*?[^\s`~])[ \t]*(?P<marker>`{3,})[ \t\r]*")


@dataclass(frozen=True)
class Fence:
    """An opening fence: its marker ("```", "~~~~"…), its indent (0…3) and its language ("" when
    the info string is empty), as written."""

    marker: str
    indent: int
    language: str

    def is_closed_by(self, line: str) -> bool:
        """Whether ``line`` (without its newline) is this fence's closing fence."""
        closing = _CLOSING.fullmatch(line)
        return closing is not None and closing["marker"][0] == self.marker[0] and \
            len(closing["marker"]) >= len(self.marker)


@dataclass(frozen=True)
class FencedCode:
    """A fenced code block's language, its code (fences left out) and whether its closing fence
    came."""

    language: str
    code: str
    closed: bool


def opening_fence(line: str) -> Fence | None:
    """The fence ``line`` (without its newline) opens, or None when it opens none."""
    found = _OPENING.fullmatch(line)
    if found is None or (found["marker"][0] == "`" and "`" in found["info"]):
        return None
    words = found["info"].split()
    return Fence(found["marker"], len(found["indent"]), words[0] if words else "")


def fenced_code(block: str) -> FencedCode | None:
    """The code of a block that starts with an opening fence and ends at its closing fence or
    where the text ends (as ``markdown_stream.BlockSplitter`` cuts it); None for any other block."""
    lines = block.split("\n")
    fence = opening_fence(lines[0])
    if fence is None:
        return None
    body = lines[1:]
    closed = bool(body) and fence.is_closed_by(body[-1])
    if closed:
        body.pop()
    code = "\n".join(line[min(fence.indent, len(line) - len(line.lstrip(" "))):] for line in body)
    return FencedCode(fence.language, code, closed)


def unglued(line: str, open_fence: Fence | None) -> list[str]:
    """``line`` (without its newline) as the lines the model meant: two when it ends with a
    backtick fence glued to text, else itself. Outside a code block (``open_fence`` None) that is
    an opening fence, when the text before it holds no other fence-long run (so the end of an
    inline span "```x```" stays); inside one, the open fence's closing fence."""
    if open_fence is None:
        glued = _GLUED_OPENING.fullmatch(line)
        if glued is None or opening_fence(line) is not None or "```" in glued["text"]:
            return [line]
        return [glued["text"], glued["marker"] + glued["language"]]
    glued = _GLUED_CLOSING.fullmatch(line)
    if glued is None or open_fence.is_closed_by(line) or not open_fence.is_closed_by(glued["marker"]):
        return [line]
    return [glued["text"], glued["marker"]]
