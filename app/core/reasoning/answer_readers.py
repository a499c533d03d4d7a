r"""Answer readers: turn Fin-R1's answer into the one thing a scenario asks for.

Each scenario names a reader (and its parameters) in its file. A reader takes two plain strings,
so it does not depend on how the reply was parsed: the answer section's text and the final
``\boxed{…}`` content (raw or cleaned; None when the answer has no box). It reads the box first,
because that is where the model puts its conclusion, and falls back on the answer text, where it
only trusts explicit phrasing ("答案为否", "风险等级：中高风险") over incidental words.

Readers are written for the model's habits: ``\text{…}``, ``\%`` and ``{,}`` inside boxes, Chinese
words in English answers (and the reverse), no box at all, fences glued to prose. Code blocks are
read as the chat view draws them (``code_fences``' rule).

A reading claims only what the model clearly stated: every number is read by one rule
(``_number_value``: thousands separators, decimal commas, full-width digits), and a number that
rule finds ambiguous ("1,5"), one end of a range, a negative or out-of-range value where none can
be meant, or a value in Chinese numerals gives no reading rather than a guess. Each reader's
docstring states its own cases.

``read_answer(scenario, answer_text, final_boxed)`` dispatches on the scenario's reader and returns
one of the ``…Reading`` dataclasses below, or None when nothing could be read (the verdict reader
always answers, with ``unclear`` when in doubt). Each reading has ``as_dict()`` for JSON.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from app.core.chat.code_fences import fenced_code
from app.core.chat.markdown_stream import split_blocks

if TYPE_CHECKING:
    from app.core.reasoning.parser import ParsedReply
    from app.core.scenarios.scenario import Scenario

Verdict = Literal["compliant", "non_compliant", "unclear"]
RiskLevel = Literal["low", "medium_low", "medium", "medium_high", "high"]


class _Reading:
    kind: ClassVar[str]

    def as_dict(self) -> dict[str, Any]:
        """The reading as JSON-ready data, with ``kind`` naming the reader that produced it."""
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class VerdictReading(_Reading):
    """A compliance verdict and the text it was read from (the box, or the deciding phrase)."""

    kind: ClassVar[str] = "verdict"
    verdict: Verdict
    evidence: str


@dataclass(frozen=True)
class RiskReading(_Reading):
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


@dataclass(frozen=True)
class EsgReading(_Reading):
    """E, S, G and overall scores (None where not given) on ``scale`` (e.g. 100), plus an overall
    letter rating (MSCI style, "AA") when the model gave one."""

    kind: ClassVar[str] = "esg_scores"
    environmental: float | None
    social: float | None
    governance: float | None
    overall: float | None
    scale: float
    overall_rating: str | None


@dataclass(frozen=True)
class CodeBlock:
    """One fenced code block; ``complete`` is False when the reply ended before its closing fence."""

    language: str
    code: str
    complete: bool = True


@dataclass(frozen=True)
class CodeReading(_Reading):
    """The code blocks of the answer, in order."""

    kind: ClassVar[str] = "code_blocks"
    blocks: tuple[CodeBlock, ...]


@dataclass(frozen=True)
class NumberReading(_Reading):
    """A numeric result with its unit.

    ``value`` and ``unit`` are as written ("56.87", "万元"); ``base_value`` and ``base_unit`` remove
    multipliers and percent (568700.0, "元"; "7.8%" → 0.078, ""), so "568,700 yuan" and "56.87万元"
    compare equal. ``text`` is the matched text; ``source`` is "box" or "answer".
    """

    kind: ClassVar[str] = "number"
    value: float
    unit: str
    base_value: float
    base_unit: str
    text: str
    source: Literal["box", "answer"]


@dataclass(frozen=True)
class Allocation:
    """One asset class and its share in percent (``percent_high`` for a range such as 30–40%)."""

    asset: str
    percent: float
    percent_high: float | None = None


@dataclass(frozen=True)
class AdvisoryReading(_Reading):
    """The recommendation: the box's text (None without a box) and allocation percentages found."""

    kind: ClassVar[str] = "allocation"
    summary: str | None
    allocations: tuple[Allocation, ...]

    @property
    def total_percent(self) -> float:
        """Sum of the allocations' (lower) percentages; 100 for a complete plan."""
        return sum(a.percent for a in self.allocations)

    def as_dict(self) -> dict[str, Any]:
        """As ``_Reading.as_dict`` plus ``total_percent``."""
        return {**super().as_dict(), "total_percent": self.total_percent}


AnswerReading = (
    VerdictReading | RiskReading | EsgReading | CodeReading | NumberReading | AdvisoryReading
)

# ---------------------------------------------------------------- shared text cleaning

_TEXT_COMMAND = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|operatorname|mbox|emph)\s*\{([^{}]*)\}"
)
_LATEX_REPLACEMENTS = (
    ("{,}", ","), ("\\%", "%"), ("\\$", "$"), ("\\approx", "≈"), ("\\sim", "~"),
    ("\\times", "×"), ("\\cdot", "·"), ("\\qquad", " "), ("\\quad", " "), ("\\,", ""),
    ("\\;", " "), ("\\:", " "), ("\\!", ""), ("\\ ", " "), ("\\left", ""), ("\\right", ""),
    ("\\yen", "¥"), ("−", "-"), ("～", "~"), ("\\\\", " "),
)
# Full-width digits, letters and signs as plain ASCII ("Ｒ４", "８５％"), so each is read one way.
# The full-width comma "，" stays: between digits it is a list or a clause break, not a group mark.
_FULL_WIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)},
     **{chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)},
     **{chr(0xFF41 + i): chr(ord("a") + i) for i in range(26)},
     "．": ".", "％": "%", "－": "-", "＋": "+", "＝": "="}
)


def clean_latex(text: str) -> str:
    r"""Box or answer text made plain: ``\text{元}`` → ``元``, ``\%`` → ``%``, ``1{,}933`` →
    ``1,933``, ``\approx`` → ``≈``, full-width ``８５％`` → ``85%``; ``$`` and stray braces go."""
    cleaned = text.translate(_FULL_WIDTH)
    previous = None
    while previous != cleaned:
        previous = cleaned
        cleaned = _TEXT_COMMAND.sub(r"\1", cleaned)
    # A "$" before a digit is a currency sign; any other unescaped "$" delimits math.
    cleaned = re.sub(r"(?<!\\)\$(?!\d)", "", cleaned)
    for latex, plain in _LATEX_REPLACEMENTS:
        cleaned = cleaned.replace(latex, plain)
    cleaned = cleaned.replace("{", "").replace("}", "").replace("*", "")
    return re.sub(r"[ \t]+", " ", cleaned).strip()


def _last(matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
    remaining = deque(matches, maxlen=1)
    return remaining[0] if remaining else None


_FLAT_BOX = re.compile(r"\\?boxed\{((?:[^{}]|\{[^{}]*\})*)\}")


def _box_text(final_boxed: str | None, answer_text: str) -> str:
    """The final box cleaned; without one, the last box written in the answer text (the parser
    may not have been used), "" when there is none."""
    if final_boxed is None:
        box = _last(_FLAT_BOX.finditer(answer_text))
        final_boxed = box.group(1) if box else None
    return clean_latex(final_boxed) if final_boxed else ""


# ---------------------------------------------------------------- numbers as written

_GROUP_SPACES = "\u00a0\u2009\u202f "
# One number as written (after ``clean_latex``), with every separator between its digits:
# "1,234.5", "1.234,5", "1 234", "72,65", "1，234". It has no groups; ``_number_value`` says what,
# if anything, it means. A space joins digits only as groups of three ("2023 100" is two numbers).
_NUMBER = (
    r"(?<![0-9])(?<![0-9][.,，])"
    rf"(?:[0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+(?:[.,][0-9]+)?(?![0-9]|[.,][0-9])"
    r"|[0-9]+(?:[.,，][0-9]+)*)"
)
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_COMMA_GROUPS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_DOT_GROUPS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+|[0-9]{1,3}(?:\.[0-9]{3}){2,}")
_SPACE_GROUPS = re.compile(rf"([0-9]{{1,3}}(?:[{_GROUP_SPACES}][0-9]{{3}})+)(?:[.,]([0-9]+))?")


def _number_value(written: str) -> float | None:
    """The value of a number matched by ``_NUMBER``; None when its separators leave it
    ambiguous.

    "1234.5", "1,234.5" (comma groups), "1.234,5" and "1.234.567" (dot groups: a decimal comma
    after them, or more than one dot) and "1 234,5" (space groups, either decimal mark) are read.
    A lone dot is a decimal point ("1.234" is 1.234). A comma that does not group exactly three
    digits ("1,5", "72,65", "1,2345") may be a decimal comma or a list, and so has no value;
    neither has a full-width comma between digits ("1，234": a list or a clause break) nor any
    other mixture ("3.2.1", "1,234,5").
    """
    if _PLAIN.fullmatch(written):
        return float(written)
    if _COMMA_GROUPS.fullmatch(written):
        return float(written.replace(",", ""))
    if _DOT_GROUPS.fullmatch(written):
        return float(written.replace(".", "").replace(",", "."))
    spaced = _SPACE_GROUPS.fullmatch(written)
    if spaced:
        whole = re.sub(f"[{_GROUP_SPACES}]", "", spaced.group(1))
        return float(whole + (f".{spaced.group(2)}" if spaced.group(2) else ""))
    return None


_RANGE_LINK = r"\s*[%‰]?\s*(?:-|–|—|~|至|到|(?<![A-Za-z])to(?![A-Za-z]))\s*"
_RANGE_FOLLOWS = re.compile(_RANGE_LINK + r"[$¥￥€£]?[0-9]")
_RANGE_PRECEDES = re.compile(r"[0-9]" + _RANGE_LINK + r"[$¥￥€£]?$")
# A minus sign is a "-" right before the digits, not after a digit, letter, "%" or bracket
# (there it is a range dash, a subtraction or a hyphen: "5-7", "ROE-5%").
_MINUS_PRECEDES = re.compile(r"(?<![0-9A-Za-z%)）\]])-$")


def _in_range(text: str, start: int, end: int) -> bool:
    """True when the number at ``text[start:end]`` is one end of a range ("5-7%", "3至5年",
    "2020–2023"): a range states no single value."""
    return bool(_RANGE_FOLLOWS.match(text, end)
                or _RANGE_PRECEDES.search(text, max(0, start - 12), start))


def _negative(text: str, start: int) -> bool:
    """True when the number starting at ``text[start]`` has a minus sign ("-5%", "为-2%")."""
    return bool(_MINUS_PRECEDES.search(text, max(0, start - 2), start))


# ---------------------------------------------------------------- compliance verdict

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
    box = _box_text(final_boxed, answer_text)
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


# ---------------------------------------------------------------- risk grade

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
    rf"(?P<low>{_NUMBER})\s*(?P<low_percent>%?)"
    rf"(?:\s*(?:-|–|—|~|至|到|to)\s*(?P<high>{_NUMBER})\s*(?P<high_percent>%?))?",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"(?P<number>{_NUMBER})\s*%")
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
    (see ``_number_value``): a percentage within 0–100% or a fraction within 0–1 not glued to a
    unit ("1年"); a range of two such gives its midpoint; a negative, an unreadable ("1,5%") or
    out-of-range value, or one written in Chinese numerals (百分之三), gives no probability.
    ``percent_is_pd`` never reads a range ("3-5%"). The box's last valid statement of the
    probability wins, then the text's.
    """
    box = _box_text(final_boxed, answer_text)
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
    match = next((m for m in _LEVEL_IN_BOX.finditer(box) if _is_a_level(box, m)), None)
    level_word = _level_word(match.group(1), match.group(2), match.group(3)) if match else None
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
    rating = _last(_RATING_IN_TEXT.finditer(text))
    level = _last(
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
    values = [_number_value(match.group("low"))]
    if match.group("high"):
        values.append(_number_value(match.group("high")))
    if None in values or _negative(text, match.start("low")):
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
    value = _number_value(match.group("number"))
    start, end = match.span("number")
    if value is None or value > 100 or _negative(text, start) or _in_range(text, start, end):
        return None
    return value


# ---------------------------------------------------------------- ESG scores

_PARENTHETICAL = r"[（(][^()（）\d]{1,12}[)）]"
# A lone letter E/S/G is a label only when a score follows ("E: 72", "E（环境）得分 72").
_SCORE_FOLLOWS = rf"(?=\s*(?:{_PARENTHETICAL})?\s*(?:[:：=|]|得分|评分|分数|score))"
_ESG_LABELS = {
    "environmental": r"环境(?:\s*[（(]\s*E\s*[)）])?|Environmental(?:\s*\(E\))?"
    rf"|Environment(?:\s*\(E\))?|(?<![A-Za-z])E{_SCORE_FOLLOWS}",
    "social": r"社会(?:责任)?(?:\s*[（(]\s*S\s*[)）])?|Social(?:\s*\(S\))?"
    rf"|(?<![A-Za-z])S{_SCORE_FOLLOWS}",
    "governance": r"(?:公司)?治理(?:\s*[（(]\s*G\s*[)）])?|Governance(?:\s*\(G\))?"
    rf"|(?<![A-Za-z])G{_SCORE_FOLLOWS}",
    "overall": r"ESG\s*(?:综合|总体|整体|总)?\s*(?:得分|评分|分数|score)?"
    r"|综合(?:得分|评分|分数)?|总(?:得分|评分|分)|整体(?:得分|评分)?"
    r"|(?:overall|total|composite)(?:\s+ESG)?(?:\s+score)?",
}
_ESG_AFTER_LABEL = (
    rf"\s*[)）]?\s*(?:{_PARENTHETICAL})?\s*(?:维度|方面|表现)?\s*(?:得分|评分|分数|score|rating)?\s*"
    r"(?:为|是|约为|约|of|is|approximately|about)?\s*[:：=|]?\s*(?:约|≈|~)?\s*"
)
# A clause ends at a comma, semicolon or line end; a comma between digits belongs to the number
# ("8,888,578"; "72，65" is then one number that has no value).
_ESG_PATTERNS = {
    name: re.compile(
        rf"(?:{label}){_ESG_AFTER_LABEL}(?=[0-9])"
        r"(?P<clause>(?:[^,，;；\n]|(?<=[0-9])[,，](?=[0-9]))*)",
        re.IGNORECASE,
    )
    for name, label in _ESG_LABELS.items()
}
_ESG_SCALE = re.compile(rf"(?:/|／|out of|满分\s*(?:为)?)\s*(?P<number>{_NUMBER})", re.IGNORECASE)
_ESG_RATING = re.compile(
    r"(?:ESG\s*)?(?:评级|rating)\s*(?:为|是|of|is)?\s*[:：]?\s*[“\"]?\s*"
    r"(?<![A-Za-z])(AAA|AA|A|BBB|BB|B|CCC|CC|C)([+-]?)(?![A-Za-z])",
    re.IGNORECASE,
)
_ESG_VALUE = re.compile(rf"\s*(?:约|≈|~|about|approximately)?\s*(?P<number>{_NUMBER})",
                        re.IGNORECASE)
_SCORE_WORD = re.compile(r"得分|评分|分数|score|rating", re.IGNORECASE)
_NEXT_ESG_LABEL = (r"[ESG]\s*[:：=(（]|ESG|环境|社会|治理|综合|Environment|Social|Governance|Overall"
                   r"|Total|Composite")
# What may follow a score: 分, points, a scale, a bracket, punctuation or a dash (a range is
# refused apart), the next label. Not a unit ("8,888 tCO2e", "12家", "80%"): that is a figure.
_SCORE_ENDS = re.compile(
    r"\s*(?:$|分|points?(?![A-Za-z])|pts?(?![A-Za-z])|/|／|out of|[,，;；。、:：)）\]】|(（—–-]"
    rf"|\.(?![0-9]))|\s+(?={_NEXT_ESG_LABEL})",
    re.IGNORECASE,
)
# After a label that says "score", words may follow a space ("score of 72 reflects…").
_SCORE_ENDS_AFTER_SCORE_WORD = re.compile(r"[^\S\n]+(?![%‰])")
_BARE_SCORE = re.compile(rf"(?P<number>{_NUMBER})\s*分?")

_Score = tuple[float, float | None]
"""A score and the scale its statement gave ("7.5/10" → (7.5, 10.0)), None for no scale."""


def read_esg_scores(answer_text: str, final_boxed: str | None, scale: int) -> EsgReading | None:
    """E, S, G and overall scores; None when no score or rating is found.

    A score is a number right after its label ("E: 72", "环境（E）得分：72分", "Social score of
    65/100"); in an equation ("综合 = 0.4×72 + … = 72.3") the number after the last "=" counts.
    The box is read first, each missing score is then taken from the text's last statement of it.
    An explicit scale ("/10", "满分10分") overrides ``scale``.

    No reading rather than a wrong one: a label's number is not a score when it is unreadable
    ("72,65"; see ``_number_value``), negative, one end of a range ("60-70"), a percentage or a
    figure with a unit ("E: 8,888,578 tCO2e", "环境：12家"), outside 0…scale, or on a scale other
    than the reading's (the first explicit one). Scores in Chinese numerals (七十二分) are not read.
    """
    box = _box_text(final_boxed, answer_text)
    text = clean_latex(answer_text)
    found: dict[str, _Score] = {}
    for name, pattern in _ESG_PATTERNS.items():
        score = _esg_score(pattern, box, scale, last=False)
        score = score or _esg_score(pattern, text, scale, last=True)
        if score is not None:
            found[name] = score
    explicit_scales = [limit for _, limit in found.values() if limit is not None]
    reading_scale = explicit_scales[0] if explicit_scales else float(scale)
    scores = {
        name: value for name, (value, limit) in found.items()
        if (limit == reading_scale if limit is not None else value <= reading_scale)
    }
    bare = _BARE_SCORE.fullmatch(box)
    if "overall" not in scores and bare:
        value = _number_value(bare.group("number"))
        if value is not None and value <= reading_scale:
            scores["overall"] = value
    rating_match = _last(_ESG_RATING.finditer(box)) or _last(_ESG_RATING.finditer(text))
    rating = rating_match.group(1).upper() + rating_match.group(2) if rating_match else None
    if not scores and rating is None:
        return None
    return EsgReading(
        environmental=scores.get("environmental"),
        social=scores.get("social"),
        governance=scores.get("governance"),
        overall=scores.get("overall"),
        scale=reading_scale,
        overall_rating=rating,
    )


def _esg_score(pattern: re.Pattern[str], text: str, scale: int, last: bool) -> _Score | None:
    """The first (or, with ``last``, the last) score ``pattern``'s label states in ``text``."""
    matches = list(pattern.finditer(text))
    for match in reversed(matches) if last else matches:
        score = _stated_score(text, match, scale)
        if score is not None:
            return score
    return None


def _stated_score(text: str, match: re.Match[str], scale: int) -> _Score | None:
    """The score one label states, by ``read_esg_scores``' rules; None when it states none."""
    clause_start, clause_end = match.span("clause")
    equals = max(text.rfind("=", clause_start, clause_end), text.rfind("≈", clause_start, clause_end))
    value = _ESG_VALUE.match(text, equals + 1 if equals >= 0 else clause_start, clause_end)
    if value is None:
        return None
    number = _number_value(value.group("number"))
    start, end = value.span("number")
    labelled_as_score = bool(_SCORE_WORD.search(text, match.start(), clause_start))
    ends_well = _SCORE_ENDS.match(text, end, clause_end) or (
        labelled_as_score and _SCORE_ENDS_AFTER_SCORE_WORD.match(text, end, clause_end))
    if number is None or not ends_well or _in_range(text, start, end):
        return None
    scale_match = _ESG_SCALE.search(text, clause_start, clause_end)
    limit = _number_value(scale_match.group("number")) if scale_match else None
    if scale_match and not limit:
        return None
    return (number, limit) if number <= (limit or scale) else None


# ---------------------------------------------------------------- code blocks

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


# ---------------------------------------------------------------- number with unit

_MULTIPLIERS = {
    "万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4,
    "千": 1e3, "trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6,
    "thousand": 1e3, "k": 1e3,
}
_PERCENT_UNITS = {"%": 1e-2, "percent": 1e-2, "per cent": 1e-2, "‰": 1e-3, "个基点": 1e-4,
                  "基点": 1e-4, "bps": 1e-4, "bp": 1e-4, "basis points": 1e-4}
_CURRENCY_WORDS = (
    "元人民币", "人民币元", "元", "人民币", "美元", "港元", "港币", "欧元", "英镑", "日元", "yuan", "rmb",
    "cny", "usd", "us dollars", "dollars", "dollar", "hkd", "eur", "euros", "euro", "gbp",
    "pounds", "jpy", "yen",
)
_OTHER_UNITS = ("倍", "年", "个月", "月", "天", "times", "years", "year", "months", "month",
                "days", "day")
_PREFIX_CURRENCIES = ("US$", "HK$", "$", "¥", "￥", "€", "£", "RMB", "CNY", "USD", "HKD", "EUR")


def _alternation(words: tuple[str, ...] | list[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(
        rf"{re.escape(w)}(?![A-Za-z])" if w[-1].isascii() and w[-1].isalpha() else re.escape(w)
        for w in ordered
    )


_NUMBER_WITH_UNIT = re.compile(
    rf"(?:(?P<prefix>{_alternation(list(_PREFIX_CURRENCIES))})\s*|(?<![A-Za-z0-9_.%)）]))"
    rf"(?P<sign>[-+])?(?P<number>{_NUMBER})"
    rf"(?P<unit>\s*(?:(?:{_alternation(list(_PERCENT_UNITS))})"
    rf"|(?:{_alternation(list(_MULTIPLIERS))})?\s*(?:{_alternation(_CURRENCY_WORDS)})"
    rf"|(?:{_alternation(list(_MULTIPLIERS))})|(?:{_alternation(_OTHER_UNITS)})))?",
    re.IGNORECASE,
)
_STRONG_MARKER = re.compile(r"[=≈]\s*(?:约|approximately|about|~)?\s*$", re.IGNORECASE)
_RESULT_MARKER = re.compile(
    r"(?:=|≈|约|为|是|:|：|等于|~|(?<![A-Za-z])(?:approximately|about|is|of))\s*$", re.IGNORECASE
)
_LIST_NUMBER = re.compile(r"^\s*(?:[-#>]\s*)*$")
# A value written in Chinese numerals with its unit ("一百二十万元", "百分之三"): not read.
_CHINESE_NUMERAL_VALUE = re.compile(
    r"百分之[零〇一二两三四五六七八九十百点]+|[零〇一二两三四五六七八九十百千万亿]+"
    rf"(?:点[零〇一二三四五六七八九]+)?\s*(?:{_alternation(_CURRENCY_WORDS)}|倍|个百分点|基点|年|个月|天)"
)


def read_number(answer_text: str, final_boxed: str | None) -> NumberReading | None:
    """The numeric result with its unit; None when there is no number.

    From the box, leaving out numbers in brackets when others exist: the last number after "="
    or "≈", else the first number, so "E=7.8%, σ=11.34%, Sharpe=0.51" gives 0.51 and "1,933.28元
    （总利息15,996.80元）" gives 1933.28. Without a usable box: the answer's last number after a
    result marker (=, ≈, 约, 为, is…), else its last number; list numbering ("1.") is skipped.
    A box number without a unit takes the unit the text gives the same number ("约为1,933.28元").
    Thousands separators (see ``_number_value``), currency signs before the number ($, ¥),
    negatives, percent and basis points, Chinese (万元, 亿元) and English (million) multipliers
    are understood.

    No reading rather than a wrong one: the ends of a range ("5%-7%", "3至5年") are never the
    result; when the chosen number is unreadable ("1,5") there is no reading; and a box that
    states its value in some form not read (digits that give no result, Chinese numerals as in
    "一百二十万元") gives no reading rather than a guess from the text. Only a box with no value
    at all ("见上") sends the reader to the text.
    """
    box = _box_text(final_boxed, answer_text)
    text = clean_latex(answer_text)
    if not (re.search(r"[0-9]", box) or _CHINESE_NUMERAL_VALUE.search(box)):
        return _pick_number(text, source="answer")
    reading = _pick_number(box, source="box")
    if reading is not None and not reading.unit:
        # "\boxed{1933.28}" after "约为1,933.28元": the unit is in the text.
        for match in _NUMBER_WITH_UNIT.finditer(text):
            same = _number_reading(text, match, "box")
            if same is not None and same.unit and same.value == reading.value:
                return same
    return reading


def _pick_number(text: str, source: Literal["box", "answer"]) -> NumberReading | None:
    matches = [m for m in _NUMBER_WITH_UNIT.finditer(text)
               if not _is_list_number(text, m) and not _in_range(text, *m.span("number"))]
    if source == "box":
        # A box's asides in brackets ("（总利息15,996.80元）") are not its result.
        depths = _bracket_depths(text)
        matches = [m for m in matches if depths[m.start()] == 0] or matches
        marker, fallback = _STRONG_MARKER, 0
    else:
        marker, fallback = _RESULT_MARKER, -1
    if not matches:
        return None
    marked = [m for m in matches if marker.search(text[max(0, m.start() - 16):m.start()])]
    return _number_reading(text, marked[-1] if marked else matches[fallback], source)


def _bracket_depths(text: str) -> list[int]:
    """Nesting depth in ()（）[]【】 at each character position."""
    depths, depth = [], 0
    for char in text:
        if char in ")）]】":
            depth = max(0, depth - 1)
        depths.append(depth)
        if char in "(（[【":
            depth += 1
    return depths


def _is_list_number(text: str, match: re.Match[str]) -> bool:
    """True for "1." / "2、" numbering at the start of a line, which is never the result."""
    line_start = text.rfind("\n", 0, match.start()) + 1
    after = text[match.end("number"):match.end("number") + 2]
    return bool(_LIST_NUMBER.match(text[line_start:match.start()])) and bool(
        re.match(r"[.、)）](?:\s|$)", after)
    ) and not match.group("unit")


def _number_reading(
    text: str, match: re.Match[str], source: Literal["box", "answer"]
) -> NumberReading | None:
    """The reading of one ``_NUMBER_WITH_UNIT`` match in ``text``; None when its number is
    unreadable or one end of a range."""
    value = _number_value(match.group("number"))
    if value is None or _in_range(text, *match.span("number")):
        return None
    if match.group("sign") == "-":
        value = -value
    prefix = (match.group("prefix") or "").strip()
    unit_text = (match.group("unit") or "").strip()
    base_value, base_unit = value, unit_text
    lowered = unit_text.lower()
    if lowered in _PERCENT_UNITS:
        base_value, base_unit = value * _PERCENT_UNITS[lowered], ""
    else:
        for multiplier, factor in sorted(_MULTIPLIERS.items(), key=lambda item: -len(item[0])):
            if lowered.startswith(multiplier):
                base_value, base_unit = value * factor, unit_text[len(multiplier):].strip()
                break
    unit = unit_text or prefix
    if prefix and not base_unit:
        base_unit = prefix
    return NumberReading(
        value=value,
        unit=unit,
        base_value=base_value,
        base_unit=base_unit,
        text=match.group(0).strip(),
        source=source,
    )


# ---------------------------------------------------------------- advisory allocation

_ALLOCATION_PERCENT = re.compile(
    rf"(?P<low>{_NUMBER})\s*%?\s*(?:-|–|—|~|至|到|to)\s*(?P<high>{_NUMBER})\s*%"
    rf"|(?P<single>{_NUMBER})\s*%"
)
# Clauses end at these marks; a comma between digits belongs to the number ("1,000").
_ALLOCATION_CLAUSE_END = re.compile(r"[；;、。\n]|(?<![0-9])[,，]|[,，](?![0-9])")
_NOT_AN_ALLOCATION = re.compile(
    r"(?<!固定)收益|回报|波动|回撤|通胀|利率|增长|涨|跌|费率"
    r"|\b(?:returns?|volatility|drawdowns?|inflation|yields?|rates?|growth)\b",
    re.IGNORECASE,
)
_ASSET_HINT = re.compile(
    r"股|债|基金|现金|货币|存款|黄金|理财|保险|REITs?|房地产|不动产|商品|年金|信托|ETF|资产|权益|固收|另类"
    r"|equit|stock|share|bond|fixed income|cash|money market|deposit|gold|fund|real estate"
    r"|commodit|annuit|insurance|alternative",
    re.IGNORECASE,
)
_ASSET_FILLER = re.compile(
    r"建议|配置于|投资于|用于|留作|放在|配置|分配|投资|投入|约占|占比|占|比例|比重|约|为|的|资金|合计|将|于|"
    r"\b(?:allocate|allocation|invest|in|to|into|about|around|approximately|for)\b|[:：=~≈#\-–|]",
    re.IGNORECASE,
)


def read_allocation(answer_text: str, final_boxed: str | None) -> AdvisoryReading | None:
    """The recommendation: the box text as summary, and asset-class percentages.

    Allocations are read from the box, or from the answer text when the box has none. A clause
    (split at ，,；;、 and line ends) holding one percentage (or a range "30%-40%") gives one
    allocation: the rest of the clause, stripped of filler words, is the asset. Clauses about
    returns, volatility or rates are skipped; in the answer text a clause must also name an
    asset class (股票, 债券, bonds…). An asset named twice keeps its last share. None when there
    is neither a box nor an allocation.

    No share rather than a wrong one: a clause whose percentage is unreadable ("1,5%"; see
    ``_number_value``), negative, above 100%, or a range running backwards is skipped. Shares in
    Chinese numerals (三成, 百分之四十) are not read.
    """
    box = _box_text(final_boxed, answer_text)
    allocations = _allocations_in(box, need_asset_hint=False) if box else ()
    if not allocations:
        allocations = _allocations_in(clean_latex(answer_text), need_asset_hint=True)
    if not box and not allocations:
        return None
    return AdvisoryReading(summary=box or None, allocations=allocations)


def _allocations_in(text: str, need_asset_hint: bool) -> tuple[Allocation, ...]:
    found: dict[str, Allocation] = {}
    for clause in _ALLOCATION_CLAUSE_END.split(text):
        percentages = list(_ALLOCATION_PERCENT.finditer(clause))
        if len(percentages) != 1 or _NOT_AN_ALLOCATION.search(clause):
            continue
        match = percentages[0]
        share = _share(clause, match)
        if share is None:
            continue
        asset = _ASSET_FILLER.sub(" ", clause[:match.start()] + " " + clause[match.end():])
        asset = re.sub(r"\s+", " ", asset).strip(" .。")
        if not re.search(r"[A-Za-z\u4e00-\u9fff]", asset) or len(asset) > 30:
            continue
        if need_asset_hint and not _ASSET_HINT.search(asset):
            continue
        found.pop(asset, None)
        found[asset] = Allocation(asset, *share)
    return tuple(found.values())


def _share(clause: str, match: re.Match[str]) -> tuple[float, float | None] | None:
    """An ``_ALLOCATION_PERCENT`` match as (percent, upper percent or None); None when it is
    unreadable, negative, above 100 or a backwards range."""
    if match.group("single"):
        values = [_number_value(match.group("single"))]
    else:
        values = [_number_value(match.group("low")), _number_value(match.group("high"))]
    if None in values or _negative(clause, match.start()):
        return None
    low, high = values[0], values[-1]
    assert low is not None and high is not None
    if low > high or high > 100:
        return None
    return (low, high) if match.group("high") else (low, None)


# ---------------------------------------------------------------- dispatch


class Reader(NamedTuple):
    """A reader a scenario file may name: its function and its parameters' defaults."""

    read: Callable[..., AnswerReading | None]
    defaults: Mapping[str, Any]


READERS: Mapping[str, Reader] = {
    "verdict": Reader(read_verdict, {"yes_words": [], "no_words": []}),
    "risk_grade": Reader(read_risk_grade, {"percent_is_pd": True}),
    "esg_scores": Reader(read_esg_scores, {"scale": 100}),
    "code_blocks": Reader(read_code_blocks, {"default_language": "python"}),
    "number": Reader(read_number, {}),
    "allocation": Reader(read_allocation, {}),
}
"""The one table of answer readers, by the name scenario files use."""


def read_answer(
    scenario: Scenario, answer_text: str, final_boxed: str | None
) -> AnswerReading | None:
    """Apply the scenario's answer reader to an answer section and its final box.

    ``answer_text``: the answer section without ``<answer>`` tags (the whole reply works too);
    ``final_boxed``: the last ``\\boxed{}`` content, raw or cleaned, or None. Returns the reader's
    reading, or None when it found nothing. Pure function: no I/O.
    """
    spec = scenario.answer_reader
    return READERS[spec.name].read(answer_text, final_boxed, **spec.params)


def read_reply(scenario: Scenario | None, reply: ParsedReply) -> AnswerReading | None:
    """The scenario's reading of a finished reply: None without a scenario, and for a reply cut
    off inside its reasoning (it has no answer to read). The one rule the app, the CLI, the
    history and the exports share."""
    if scenario is None or reply.truncated:
        return None
    return read_answer(scenario, reply.answer, reply.final)
