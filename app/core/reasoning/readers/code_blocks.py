"""The code reader: the answer's fenced code blocks, read as the chat view draws them
(``code_fences``' rule)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from app.core.chat.code_fences import fenced_code
from app.core.chat.markdown_stream import split_blocks
from app.core.reasoning.readers.reading import Reading


@dataclass(frozen=True)
class CodeBlock:
    """One fenced code block; ``complete`` is False when the reply ended before its closing fence."""

    language: str
    code: str
    complete: bool = True


@dataclass(frozen=True)
class CodeReading(Reading):
    """The code blocks of the answer, in order."""

    kind: ClassVar[str] = "code_blocks"
    blocks: tuple[CodeBlock, ...]


_LANGUAGE_ALIASES = {
    "py": "python", "python3": "python", "py3": "python", "ipython": "python",
    "mysql": "sql", "postgresql": "sql", "postgres": "sql", "sqlite": "sql", "tsql": "sql",
    "js": "javascript", "ts": "typescript", "sh": "bash", "shell": "bash",
}
_SQL_START = re.compile(r"^\s*(select|with|create|insert|update|delete)\b", re.IGNORECASE)
_PYTHON_HINT = re.compile(r"^\s*(import |from \S+ import |def |class |print\()", re.MULTILINE)


def read_code_blocks(
    answer_text: str, final_boxed: str | None, default_language: str
) -> CodeReading | None:
    """The fenced code blocks of the answer, exactly those the chat view draws as code (the
    splitter's blocks, by ``code_fences``' rule); None when there are none.

    A backtick fence glued to prose ("代码如下：```python") still opens a block; a block the reply
    never closed is kept with ``complete=False``; a block with no code is skipped. Languages are
    lower-cased and aliases unified (py → python); an untagged block is recognised as SQL or Python
    from its first lines, else given ``default_language``. The box is ignored: Fin-R1 boxes only a
    remark about the code.
    """
    del final_boxed
    blocks: list[CodeBlock] = []
    for fenced in filter(None, map(fenced_code, split_blocks(answer_text))):
        code = fenced.code.strip("\n")
        if code.strip():
            blocks.append(CodeBlock(_language_of(fenced.language, code, default_language), code,
                                    fenced.closed))
    return CodeReading(tuple(blocks)) if blocks else None


def _language_of(tag: str, code: str, default_language: str) -> str:
    if tag:
        lowered = tag.lower()
        return _LANGUAGE_ALIASES.get(lowered, lowered)
    if _SQL_START.match(code):
        return "sql"
    if _PYTHON_HINT.search(code):
        return "python"
    return default_language
