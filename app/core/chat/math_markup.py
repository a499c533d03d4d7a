r"""LaTeX math to MathML, offline, in the form the chat view's browser engine can lay out.

``latex_to_mathml`` wraps ``latex2mathml`` and repairs what Chromium's MathML Core does not draw:
``\boxed{}`` (``<menclose>``, not part of MathML Core) becomes an ``<mrow class="boxed">`` that the
page's style sheet frames; column alignment of tables becomes inline CSS; ``aligned``-style
environments (which ``latex2mathml`` reads as plain rows with stray ``&``) become arrays with
alternating right/left columns. Conversions are cached: re-rendering the block being streamed
does not convert its finished formulas again.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from latex2mathml.converter import convert

_ALIGNED_ENVIRONMENT = re.compile(
    r"\\begin\{(aligned|align\*?|gathered|gather\*?|split|eqnarray\*?)\}(.*?)\\end\{\1\}", re.DOTALL
)
_ALIGNMENT_ATTRIBUTE = re.compile(r'<mtd columnalign="(left|right|center)">')
# "1{,}933.28" comes out as number, comma operator, number: spaced like a list. Join it back.
_GROUPED_NUMBER = re.compile(r"<mn>([\d.,]+)</mn><mrow><mo>&#x0002C;</mo></mrow><mn>([\d.]+)</mn>")
# Display-only commands latex2mathml does not know; dropping them leaves correct math.
_IGNORED_COMMANDS = re.compile(r"\\(?:displaystyle|textstyle|nonumber|notag|label\{[^{}]*\})")


def _aligned_as_array(match: re.Match[str]) -> str:
    body = match.group(2)
    columns = max(row.count("&") for row in body.split(r"\\")) + 1
    spec = "".join("r" if index % 2 == 0 else "l" for index in range(columns))
    if match.group(1).startswith("gather"):
        spec = "c" * columns
    return rf"\begin{{array}}{{{spec}}}{body}\end{{array}}"


def _prepare(latex: str) -> str:
    prepared = _IGNORED_COMMANDS.sub("", latex)
    prepared = _ALIGNED_ENVIRONMENT.sub(_aligned_as_array, prepared)
    return prepared.replace(r"\tfrac", r"\frac")


def _repair(mathml: str) -> str:
    repaired = mathml.replace('<menclose notation="box">', '<mrow class="boxed">')
    repaired = repaired.replace("</menclose>", "</mrow>")
    previous = None
    while previous != repaired:
        previous = repaired
        repaired = _GROUPED_NUMBER.sub(r"<mn>\1,\2</mn>", repaired)
    return _ALIGNMENT_ATTRIBUTE.sub(r'<mtd style="text-align:\1">', repaired)


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str, display: bool) -> str:
    """The MathML element for ``latex`` (no delimiters), shown as a block when ``display``.

    Never raises: LaTeX that cannot be converted (a typo, an unsupported command) comes back as
    its source in a ``<code class="math-error">`` so the reader still sees what the model wrote.
    Pure function; results are cached.
    """
    try:
        mathml = convert(_prepare(latex), display="block" if display else "inline")
    except Exception:  # latex2mathml raises bare Exception subclasses of many kinds
        return f'<code class="math-error">{html.escape(latex)}</code>'
    return _repair(mathml)
