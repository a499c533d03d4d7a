"""The risk grade reader: a risk level (低 … 高, R1–R5), a letter rating and/or a probability of
default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers.number_rule import NUMBER, in_range, negative, number_value
from app.core.reasoning.readers.reading import Reading, box_text, last_match

RiskLevel = Literal["low", "medium_low", "medium", "medium_high", "high"]


@dataclass(frozen=True)
class RiskReading(Reading):
    """A risk grade and/or probability of default.

    ``grade``: the grade as the model wrote it ("中高风险", "BBB-", "Low"). ``level``: the grade on
    the five-step scale of Chinese bank risk levels R1–R5 (low … high), None for a letter rating.
    ``rating``: a letter rating (AAA … D, with +/-), None for a level. ``probability_of_default``:
    a fraction (0.035 for "3.5%"; a range gives its midpoint), with ``pd_text`` as written.
    """

    kind: ClassVar[str] = "risk_grade"
    grade: str | None
    level: RiskLevel | None
    rating: str | None
    probability_of_default: float | None
    pd_text: str | None


_LEVEL_WORDS: tuple[tuple[str, RiskLevel], ...] = (
    ("中低", "medium_low"), ("中高", "medium_high"), ("中等", "medium"), ("极低", "low"),
    ("很低", "low"), ("较低", "low"), ("极高", "high"), ("很高", "high"), ("较高", "high"),
    ("低", "low"), ("高", "high"), ("中", "medium"),
    ("low to moderate", "medium_low"), ("low-to-moderate", "medium_low"),
    ("low-to-medium", "medium_low"), ("medium-low", "medium_low"), ("medium low", "medium_low"),
    ("moderate to high", "medium_high"), ("moderate-to-high", "medium_high"),
    ("medium-high", "medium_high"), ("medium high", "medium_high"),
    ("very low", "low"), ("very high", "high"), ("moderate", "medium"), ("medium", "medium"),
    ("low", "low"), ("high", "high"),
)
_R_LEVELS: dict[str, RiskLevel] = {
    "R1": "low", "R2": "medium_low", "R3": "medium", "R4": "medium_high", "R5": "high",
}
_LEVEL_ALTERNATION = "|".join(
    rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if w.isascii() else re.escape(w)
    for w, _ in _LEVEL_WORDS
)
_R_LEVEL = r"(?<![A-Za-z0-9])(R[1-5])(?![0-9])"
_LEVEL_IN_BOX = re.compile(
    rf"{_R_LEVEL}|({_LEVEL_ALTERNATION})(\s*(?:风险|等级|级|[- ]?risk)?)", re.IGNORECASE
)
# Matches without the prefix and without the suffix are dropped by the reader: a bare 高 or
# "high" in running text is not a grade.
_LEVEL_IN_TEXT = re.compile(
    r"(?P<prefix>(?:风险等级|风险水平|风险评级|风险级别|risk level|risk grade|risk rating)\s*"
    r"(?:为|是|属于|应为|评定为|定为|：|:|is|of)?\s*[:：]?\s*[“\"]?\s*)?"
    rf"(?:{_R_LEVEL}|(?P<word>{_LEVEL_ALTERNATION}))(?P<suffix>\s*(?:风险|[- ](?:credit )?risk))?",
    re.IGNORECASE,
)
_RATING = r"(AAA|AA|A|BBB|BB|B|CCC|CC|C|D)([+-]?)"
_RATING_IN_BOX = re.compile(rf"(?<![A-Za-z]){_RATING}(?![A-Za-z])(\s*级)?")
_RATING_IN_TEXT = re.compile(
    rf"(?:信用评级|评级|信用等级|rating|grade)\s*(?:为|是|：|:|of|is)?\s*[:：]?\s*[“\"]?\s*"
    rf"(?<![A-Za-z]){_RATING}(?![A-Za-z])"
)
# The keyword, a short gap that crosses no sentence end and no "百分之" (a value in Chinese
# numerals, which is not read), then a number or a range of two.
_PD = re.compile(
    r"(?:违约概率|违约率|违约可能性|违约风险概率|\bPD\b|probability of default|default probability"
    r"|default rate|chance of default|likelihood of default)"
    r"(?:(?!百分之)[^\d\n。；;!?！？]){0,20}?"
    rf"(?P<low>{NUMBER})\s*(?P<low_percent>%?)"
    rf"(?:\s*(?:-|–|—|~|至|到|to)\s*(?P<high>{NUMBER})\s*(?P<high_percent>%?))?",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"(?P<number>{NUMBER})\s*%")
_WORD_FOLLOWS = re.compile(r"[A-Za-z\u4e00-\u9fff]")


def read_risk_grade(
    answer_text: str, final_boxed: str | None, percent_is_pd: bool
) -> RiskReading | None:
    """The risk grade and probability of default; None when neither is found.

    The box is read first: a level word (低/中高/High/R4) or a letter rating (BBB-, "B级"); a lone
    letter counts only with +/-, 级, or as the whole box, so "A moderate risk" is not rated A. The
    answer text is used when the box has no grade, but only phrases that state a grade
    ("风险等级为中等", "高风险", "rating of BB"). The probability of default needs its keyword
    (违约概率, PD…), except that with ``percent_is_pd`` a box holding a grade and exactly one
    percentage is read as grade + PD.

    No reading rather than a wrong one: a single 高/低/中 in the box counts only with 风险/等级/级
    after it or standing alone ("中国" is not "medium"). A probability must be a readable number
    (see ``number_value``): a percentage within 0–100% or a fraction within 0–1 not glued to a
    unit ("1年"); a range of two such gives its midpoint; a negative, an unreadable ("1,5%") or
    out-of-range value, or one written in Chinese numerals (百分之三), gives no probability.
    ``percent_is_pd`` never reads a range ("3-5%"). The box's last valid statement of the
    probability wins, then the text's.
    """
    box = box_text(final_boxed, answer_text)
    text = clean_latex(answer_text)
    level_word, rating = _grade_in_box(box)
    if level_word is None and rating is None:
        level_word, rating = _grade_in_text(text)
    grade = rating or (level_word[0] if level_word else None)
    level = level_word[1] if level_word else None
    probability, pd_text = _pd_in(box) or _pd_in(text) or (None, None)
    if probability is None and percent_is_pd and grade is not None:
        percentages = list(_PERCENT.finditer(box))
        if len(percentages) == 1:
            share = _percentage(box, percentages[0])
            if share is not None:
                probability, pd_text = share / 100, percentages[0].group(0)
    if grade is None and probability is None:
        return None
    return RiskReading(grade, level, rating, probability, pd_text)


_LevelWord = tuple[str, RiskLevel]
"""A level as written ("中高风险", "R4", "Low") and its place on the five-step scale."""


def _grade_in_box(box: str) -> tuple[_LevelWord | None, str | None]:
    """The box's level word and letter rating (either may be None)."""
    rating = None
    for match in _RATING_IN_BOX.finditer(box):
        letters, sign, suffix = match.groups()
        if len(letters) > 1 or sign or suffix or box.strip(" 。.") == match.group(0):
            rating = letters + sign
            break
    level = next((m for m in _LEVEL_IN_BOX.finditer(box) if _is_a_level(box, m)), None)
    level_word = _level_word(level.group(1), level.group(2), level.group(3)) if level else None
    return level_word, rating


_STANDS_ALONE_AFTER = re.compile(r"(?:^|[\s，,；;、:：(（“\"]|为|是)$")
_STANDS_ALONE_BEFORE = re.compile(r"$|[\s，,；;、。.)）”\"]")


def _is_a_level(box: str, match: re.Match[str]) -> bool:
    """An R level, a word of two or more letters ("中高", "Low"), or 高/低/中 with a suffix or on
    its own between punctuation; not the 中 of "中国"."""
    word, suffix = match.group(2), match.group(3)
    if match.group(1) or len(word) > 1 or suffix:
        return True
    return bool(_STANDS_ALONE_AFTER.search(box, 0, match.start())
                and _STANDS_ALONE_BEFORE.match(box, match.end()))


def _grade_in_text(text: str) -> tuple[_LevelWord | None, str | None]:
    """The answer text's last stated level and last stated rating (either may be None)."""
    rating = last_match(_RATING_IN_TEXT.finditer(text))
    level = last_match(
        m for m in _LEVEL_IN_TEXT.finditer(text) if m.group("prefix") or m.group("suffix")
    )
    level_word = None
    if level:
        level_word = _level_word(level.group(2), level.group("word"), level.group("suffix"))
    return level_word, (rating.group(1) + rating.group(2)) if rating else None


def _level_word(r_level: str | None, word: str | None, suffix: str | None) -> _LevelWord:
    if r_level:
        return r_level.upper(), _R_LEVELS[r_level.upper()]
    assert word is not None
    lowered = word.lower()
    level = next(level for w, level in _LEVEL_WORDS if w == lowered)
    return (word + (suffix or "")).strip(), level


def _pd_in(text: str) -> tuple[float, str] | None:
    """The last valid probability of default stated in ``text`` and its numbers as written."""
    for match in reversed(list(_PD.finditer(text))):
        probability = _pd_of(text, match)
        if probability is not None:
            return probability, text[match.start("low"):match.end()].strip()
    return None


def _pd_of(text: str, match: re.Match[str]) -> float | None:
    """The probability a ``_PD`` match states (a range's midpoint); None when it states none."""
    is_percent = bool(match.group("low_percent") or match.group("high_percent"))
    values = [number_value(match.group("low"))]
    if match.group("high"):
        values.append(number_value(match.group("high")))
    if None in values or negative(text, match.start("low")):
        return None
    low, high = values[0], values[-1]
    assert low is not None and high is not None
    last_number_end = match.end("high" if match.group("high") else "low")
    if not is_percent and _WORD_FOLLOWS.match(text, last_number_end):
        return None  # "违约概率在1年内…": a number with a unit, not a probability
    if low > high or high > (100 if is_percent else 1):
        return None
    middle = (low + high) / 2
    return middle / 100 if is_percent else middle


def _percentage(text: str, match: re.Match[str]) -> float | None:
    """The share in percent a ``_PERCENT`` match states; None when it is unreadable, negative,
    one end of a range or above 100."""
    value = number_value(match.group("number"))
    start, end = match.span("number")
    if value is None or value > 100 or negative(text, start) or in_range(text, start, end):
        return None
    return value
