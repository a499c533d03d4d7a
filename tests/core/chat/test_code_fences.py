"""One rule for code fences: the blocks the splitter cuts, the code boxes the chat view draws and the
code blocks the answer reader reads all follow CommonMark (with Fin-R1's glued backtick fences
moved onto their own lines), so they agree on every reply."""

from __future__ import annotations

import html
import re

import pytest

from app.core.chat.markdown_stream import BlockSplitter
from app.core.chat.rich_text import RichTextRenderer
from app.core.reasoning.readers import read_code_blocks

_CODE_BOX = re.compile(r'<div class="code" data-lang="[^"]*"><pre class="highlight"><code>(.*?)'
                       r"</code></pre></div>", re.DOTALL)

# Each reply, with the code blocks CommonMark sees in it: (language as read, code, closed).
CASES = [
    pytest.param("看代码：\n```python\nx = 1\n\ny = 2\n```\n完毕。",
                 [("python", "x = 1\n\ny = 2", True)], id="fence-under-prose"),
    pytest.param("```\nSELECT 1;\n```", [("sql", "SELECT 1;", True)], id="untagged"),
    pytest.param("代码如下：```python\nx = 1\ny = 2```\n完毕。", [("python", "x = 1\ny = 2", True)],
                 id="glued-both-ends"),
    pytest.param("代码如下：```python\nx = 1\n```\n以上即代码。", [("python", "x = 1", True)],
                 id="glued-opener"),
    pytest.param("代码如下： ```\nSELECT 1;```", [("sql", "SELECT 1;", True)], id="glued-untagged"),
    pytest.param("用 ```x``` 表示行内代码。\n完毕。", [], id="code-span-mid-line"),
    pytest.param("好的~~~\n利率上调~~~\n完毕。", [], id="drawn-out-tildes"),
    pytest.param("```python\ns = '```'\n```", [("python", "s = '```'", True)],
                 id="fence-characters-inside-code"),
    pytest.param("~~~sql\nSELECT 1;\n~~~", [("sql", "SELECT 1;", True)], id="tilde"),
    pytest.param("~~~markdown\n```python\nx = 1\n```\n~~~",
                 [("markdown", "```python\nx = 1\n```", True)], id="tilde-holds-backticks"),
    pytest.param("说明：\n\n    ```python\n    x = 1\n    ```\n\n完毕。", [], id="indented-four"),
    pytest.param("1. 步骤：\n   ```python\n   x = 1\n     y = 2\n   ```\n2. 下一步",
                 [("python", "x = 1\n  y = 2", True)], id="indented-three-in-a-list"),
    pytest.param("```python\nx = 1\n`````\n完毕。", [("python", "x = 1", True)], id="longer-closing"),
    pytest.param("````markdown\n```python\nx = 1\n```\n````",
                 [("markdown", "```python\nx = 1\n```", True)], id="shorter-fence-inside"),
    pytest.param("```python\nx = 1\n    ```\n```", [("python", "x = 1\n    ```", True)],
                 id="closing-indented-four"),
    pytest.param("```x``` 是行内代码\n完毕。", [], id="code-span-at-line-start"),
    pytest.param("```python\nx = 1\ny = 2", [("python", "x = 1\ny = 2", False)], id="unclosed"),
]


@pytest.fixture(scope="module")
def renderer() -> RichTextRenderer:
    return RichTextRenderer()


def split(text: str, piece: int) -> list[str]:
    splitter = BlockSplitter()
    for start in range(0, len(text), piece):
        splitter.feed(text[start:start + piece])
    splitter.finish()
    return splitter.closed


def read(text: str) -> list[tuple[str, str, bool]]:
    reading = read_code_blocks(text, None, "python")
    return [(block.language, block.code, block.complete) for block in reading.blocks] if reading \
        else []


def drawn_code(text: str, renderer: RichTextRenderer) -> list[str]:
    """The text of every code box the chat view draws for ``text``."""
    page = "".join(renderer.render(block) for block in split(text, len(text)))
    return [html.unescape(re.sub(r"<[^>]+>", "", box)).strip("\n") for box in _CODE_BOX.findall(page)]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_the_splitter_cuts_the_same_blocks_streamed_in_small_chunks_or_all_at_once(
        text: str, expected: list[tuple[str, str, bool]]) -> None:
    whole = split(text, len(text))
    for piece in (1, 2, 3, 5):
        assert split(text, piece) == whole


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_the_reader_reads_the_code_blocks_the_rule_sees(
        text: str, expected: list[tuple[str, str, bool]]) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_the_chat_view_draws_as_code_exactly_what_the_reader_reads(
        text: str, expected: list[tuple[str, str, bool]], renderer: RichTextRenderer) -> None:
    assert drawn_code(text, renderer) == [code for _language, code, _complete in read(text)]
