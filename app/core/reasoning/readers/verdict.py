"""The verdict reader: compliant, non-compliant or unclear (the compliance scenario)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers.reading import Reading, box_text

Verdict = Literal["compliant", "non_compliant", "unclear"]


@dataclass(frozen=True)
class VerdictReading(Reading):
    """A compliance verdict and the text it was read from (the box, or the deciding phrase)."""

    kind: ClassVar[str] = "verdict"
    verdict: Verdict
    evidence: str


_YES_WORDS = ("是", "合规", "符合", "yes", "compliant", "complies", "comply")
_NO_WORDS = (
    "否", "不是", "不合规", "不符合", "违规", "违反", "不合法", "违法", "no", "non-compliant",
    "noncompliant", "not compliant", "does not comply", "doesn't comply", "not comply",
    "violates", "violation",
)
_ANSWER_STATEMENT = re.compile(
    r"(?:最终答案|答案|结论|判断结果|回答)\s*(?:应|应该)?\s*(?:是|为|：|:)\s*[:：]?\s*[“\"「『]?\s*"
    r"(不合规|合规|不符合|符合|是|否)"
    r"|(?:final answer|answer|conclusion)\s*(?:is|:)\s*[:\"“]?\s*"
    r"(non-compliant|not compliant|compliant|yes|no)\b",
    re.IGNORECASE,
)


def read_verdict(
    answer_text: str, final_boxed: str | None, yes_words: list[str], no_words: list[str]
) -> VerdictReading:
    """Compliant / non-compliant / unclear, from the box or else the answer's explicit statement.

    In the box every yes/no word counts (是, 否, Yes, 不合规…); longer words are matched first so
    "不合规" is not read as "合规", and English words only as whole words. A box holding both kinds
    is ``unclear``. Without a box, the last explicit statement ("答案为否", "Final answer: No")
    decides; failing that, compliance words in the text decide only when all point one way.
    """
    yes = (*_YES_WORDS, *yes_words)
    no = (*_NO_WORDS, *no_words)
    box = box_text(final_boxed, answer_text)
    if box:
        return VerdictReading(_verdict_of(_find_words(box, yes, no)), box)
    text = clean_latex(answer_text)
    statements = list(_ANSWER_STATEMENT.finditer(text))
    if statements:
        last = statements[-1]
        word = last.group(1) or last.group(2)
        return VerdictReading(_verdict_of(_find_words(word, yes, no)), last.group(0).strip())
    phrase_yes = tuple(w for w in yes if len(w) > 1)
    phrase_no = tuple(w for w in no if len(w) > 1 and w.lower() not in {"no", "不是"})
    found = _find_words(text, phrase_yes, phrase_no)
    return VerdictReading(_verdict_of(found), text[-200:] if found else "")


def _find_words(text: str, yes: tuple[str, ...], no: tuple[str, ...]) -> set[bool]:
    """Which kinds of word occur: True for yes-words, False for no-words (longest first)."""
    words = [(w, True) for w in yes if w] + [(w, False) for w in no if w]
    words.sort(key=lambda item: -len(item[0]))
    alternatives = "|".join(
        rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if w.isascii() else re.escape(w)
        for w, _ in words
    )
    kind_of = {w.lower(): kind for w, kind in words}
    return {kind_of[m.group(0).lower()] for m in re.finditer(alternatives, text, re.IGNORECASE)}


def _verdict_of(found: set[bool]) -> Verdict:
    if found == {True}:
        return "compliant"
    if found == {False}:
        return "non_compliant"
    return "unclear"
