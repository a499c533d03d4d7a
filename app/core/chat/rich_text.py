r"""One block of a model's markdown to safe HTML: prose, tables, lists, highlighted code, math.

``RichTextRenderer.render(block)`` takes one block as ``markdown_stream.BlockSplitter`` cuts it
(a paragraph, a list, a table, a fenced code block) and returns an HTML fragment for the chat view.

* Math is typeset offline as MathML (``app.core.chat.math_markup``): ``$…$`` and ``\(…\)`` inline,
  ``$$…$$`` and ``\[…\]`` as display. A ``$`` is math only by pandoc's rule (a non-space right
  after the opening one, a non-space right before the closing one, no digit right after it), so
  "$5 and $10" stays money. ``\boxed{…}`` (or ``boxed{…}``, as Fin-R1 sometimes writes) outside
  math is framed too: plain content as a text chip, LaTeX as boxed math.
* Math is cut out before markdown runs, so markdown never eats its backslashes or underscores.
* Fenced code (``app.core.chat.code_fences``' rule, which the answer readers share) is highlighted with
  Pygments (offline) inside a ``div.code`` holding the language; the page adds its copy and save
  buttons.
* An ordered list whose numbers have two digits or more carries the widest one's digit count
  (``style="--marker-digits: 3"`` for a list that reaches 100), so the page's stylesheets
  (chat view and export) widen the list's indent to hold "105." whole instead of cutting it at
  the block's edge.
* The model's text is untrusted: raw HTML is shown as text, images are dropped, and links keep
  only http(s) and mailto targets (the page opens none of them anyway).
* ``streaming=True`` renders a block that is still arriving: an unclosed code fence is closed for
  display and an unclosed ``$$``/``\[``/``\(`` is shown as pending source until its end arrives.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass

import markdown
from markdown.treeprocessors import Treeprocessor
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from app.core.chat.code_fences import FencedCode, fenced_code
from app.core.chat.math_markup import latex_to_mathml
from app.core.reasoning.boxed import box_content
from app.core.reasoning.latex_text import clean_latex

_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_DISPLAY_PARAGRAPH = re.compile("<p>\\s*\ue000(\\d+)\ue001\\s*</p>")
_MATH_START = re.compile(r"`+|\\\$|\$\$|\$|\\\[|\\\(|\\boxed\{|(?<![A-Za-z\\])boxed\{")
_SAFE_LINK = re.compile(r"^(?:https?:|mailto:)", re.IGNORECASE)
_LATEX_SYNTAX = re.compile(r"[\\^_]")
_CODE_FORMATTER = HtmlFormatter(nowrap=True)
_CODE_SPAN = re.compile(r"(`+[^`]*`+)")
_LIST_LINE = r" {0,3}(?:[-*+]|\d{1,9}[.)])\s"
_LIST_AFTER_PROSE = re.compile(rf"^((?!{_LIST_LINE}|\s*$|\s*\|).+)\n(?={_LIST_LINE})", re.MULTILINE)
_LONE_STAR = re.compile(r"(?<=\s)\*(?=\s)")


@dataclass(frozen=True)
class _Cut:
    """A piece of the block replaced by a placeholder: its HTML, and whether it is display math."""

    html: str
    display: bool = False


class _SafetyTreeprocessor(Treeprocessor):
    """Drops images and link targets other than http(s)/mailto from the rendered tree."""

    def run(self, root: ElementTree.Element) -> None:
        for parent in root.iter():
            for child in list(parent):
                if child.tag == "img":
                    parent.remove(child)
                elif child.tag == "a" and not _SAFE_LINK.match(child.get("href", "")):
                    child.attrib.pop("href", None)


class _ListMarkerTreeprocessor(Treeprocessor):
    """Gives each ordered list reaching two-digit numbers its widest marker's digit count."""

    def run(self, root: ElementTree.Element) -> None:
        for ordered_list in root.iter("ol"):
            digits = _marker_digits(ordered_list.get("start"),
                                   sum(1 for child in ordered_list if child.tag == "li"))
            if digits > 1:
                ordered_list.set("style", f"--marker-digits: {digits}")


def _marker_digits(start: str | None, item_count: int) -> int:
    """How many digits the widest number of an ordered list has: it counts ``item_count`` items
    up from ``start`` (an ``<ol start>`` value; 1 when absent or not a number)."""
    first = int(start) if start is not None and start.isdigit() else 1
    return len(str(max(first, first + item_count - 1)))


def _outside_code_spans(text: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` applied to every part that is not an inline code span."""
    parts = _CODE_SPAN.split(text)
    return "".join(part if index % 2 else change(part) for index, part in enumerate(parts))


def _commonmark_habits(text: str) -> str:
    """Bridge the two places where Python-Markdown reads model output differently from the
    CommonMark renderers the model learnt from: a list may start right under a line of prose,
    and a ``*`` between spaces ("M * R") is a multiplication, not the start of emphasis."""
    def change(part: str) -> str:
        part = _LIST_AFTER_PROSE.sub(r"\1\n\n", part)
        return _LONE_STAR.sub(r"\\*", part)

    return _outside_code_spans(text, change)


def _new_markdown() -> markdown.Markdown:
    converter = markdown.Markdown(extensions=["tables", "sane_lists", "nl2br"])
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    converter.treeprocessors.register(_SafetyTreeprocessor(converter), "finr1_safety", 0)
    converter.treeprocessors.register(_ListMarkerTreeprocessor(converter), "finr1_list_markers", 0)
    return converter


def boxed_chip_html(content: str) -> str:
    r"""A ``\boxed{}`` content as a chip: plain text when it has no LaTeX left after cleaning
    (``\text{是}`` → 是), else typeset math inside the chip."""
    cleaned = clean_latex(content, keep_math=True)
    if not _LATEX_SYNTAX.search(cleaned):
        return f'<span class="boxed-chip">{html.escape(cleaned)}</span>'
    return f'<span class="boxed-chip math">{latex_to_mathml(content, False)}</span>'


class RichTextRenderer:
    """Renders markdown blocks to HTML fragments. Not thread-safe: one per thread."""

    def __init__(self) -> None:
        self._markdown = _new_markdown()
        self._lexers: dict[str, Lexer] = {}

    def render(self, block: str, streaming: bool = False) -> str:
        """The HTML for one block; ``streaming`` when more of it may still arrive. Never raises."""
        fenced = fenced_code(block)
        if fenced is not None:
            return self._render_code(fenced)
        cuts: list[_Cut] = []
        text = _commonmark_habits(self._cut_math(block, cuts, streaming))
        self._markdown.reset()
        rendered = self._markdown.convert(text)
        rendered = _DISPLAY_PARAGRAPH.sub(
            lambda match: self._display_paragraph(cuts[int(match.group(1))], match), rendered)
        return _PLACEHOLDER.sub(lambda match: cuts[int(match.group(1))].html, rendered)

    # -- code ------------------------------------------------------------------------------------

    def _render_code(self, fenced: FencedCode) -> str:
        language = fenced.language.lower()
        highlighted = highlight(fenced.code, self._lexer(language), _CODE_FORMATTER) if fenced.code else ""
        label = html.escape(language or "text", quote=True)
        return (f'<div class="code" data-lang="{label}"><pre class="highlight"><code>'
                f"{highlighted}</code></pre></div>")

    def _lexer(self, language: str) -> Lexer:
        if language not in self._lexers:
            try:
                self._lexers[language] = get_lexer_by_name(language) if language else TextLexer()
            except ClassNotFound:
                self._lexers[language] = TextLexer()
        return self._lexers[language]

    # -- math ------------------------------------------------------------------------------------

    @staticmethod
    def _display_paragraph(cut: _Cut, match: re.Match[str]) -> str:
        if cut.display:
            return f'<div class="math-display">{cut.html}</div>'
        return match.group(0)

    def _cut_math(self, text: str, cuts: list[_Cut], streaming: bool) -> str:
        """``text`` with every formula, boxed answer and escaped dollar replaced by a placeholder."""
        parts: list[str] = []
        position = 0
        while True:
            found = _MATH_START.search(text, position)
            if found is None:
                parts.append(text[position:])
                return "".join(parts)
            parts.append(text[position:found.start()])
            cut, end = self._read_math(text, found, streaming)
            if cut is None:
                parts.append(text[found.start():end])
            else:
                parts.append(f"\ue000{len(cuts)}\ue001")
                cuts.append(cut)
            position = end

    def _read_math(self, text: str, found: re.Match[str],
                   streaming: bool) -> tuple[_Cut | None, int]:
        """What starts at ``found``: (a cut, where it ends) or (None, end of literal text)."""
        token, start, after = found.group(), found.start(), found.end()
        if token.startswith("`"):
            closing = re.compile(rf"(?<!`){re.escape(token)}(?!`)").search(text, after)
            return None, closing.end() if closing else after
        if token == "\\$":
            return _Cut("$"), after
        if token.endswith("boxed{"):
            return self._read_boxed(text, start, after, streaming)
        closing_token = {"$$": "$$", "\\[": "\\]", "\\(": "\\)", "$": "$"}[token]
        if token == "$":
            return self._read_dollar(text, start, after)
        close = text.find(closing_token, after)
        if close < 0:
            if streaming:
                return _Cut(f'<span class="math-pending">{html.escape(text[start:])}</span>'), \
                    len(text)
            return None, after
        display = token in ("$$", "\\[")
        latex = text[after:close].strip()
        return _Cut(latex_to_mathml(latex, display), display), close + len(closing_token)

    @staticmethod
    def _read_dollar(text: str, start: int, after: int) -> tuple[_Cut | None, int]:
        if after >= len(text) or text[after].isspace():
            return None, after
        search_from = after
        while True:
            close = text.find("$", search_from)
            if close < 0:
                return None, after
            followed_by_digit = close + 1 < len(text) and text[close + 1].isdigit()
            if not text[close - 1].isspace() and text[close - 1] != "\\" and not followed_by_digit:
                latex = text[after:close]
                return _Cut(latex_to_mathml(latex, False)), close + 1
            search_from = close + 1

    @staticmethod
    def _read_boxed(text: str, start: int, after: int,
                    streaming: bool) -> tuple[_Cut | None, int]:
        content = box_content(text, after)
        if content is not None:
            return _Cut(boxed_chip_html(content)), after + len(content) + 1
        if streaming:
            return _Cut(f'<span class="math-pending">{html.escape(text[start:])}</span>'), \
                len(text)
        return None, after
