"""The ESG reader: environmental, social, governance and overall scores, and a letter rating."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers.number_rule import NUMBER, in_range, number_value
from app.core.reasoning.readers.reading import Reading, box_text, last_match


@dataclass(frozen=True)
class EsgReading(Reading):
    """E, S, G and overall scores (None where not given) on ``scale`` (e.g. 100), plus an overall
    letter rating (MSCI style, "AA") when the model gave one."""

    kind: ClassVar[str] = "esg_scores"
    environmental: float | None
    social: float | None
    governance: float | None
    overall: float | None
    scale: float
    overall_rating: str | None


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
_ESG_SCALE = re.compile(rf"(?:/|／|out of|满分\s*(?:为)?)\s*(?P<number>{NUMBER})", re.IGNORECASE)
_ESG_RATING = re.compile(
    r"(?:ESG\s*)?(?:评级|rating)\s*(?:为|是|of|is)?\s*[:：]?\s*[“\"]?\s*"
    r"(?<![A-Za-z])(AAA|AA|A|BBB|BB|B|CCC|CC|C)([+-]?)(?![A-Za-z])",
    re.IGNORECASE,
)
_ESG_VALUE = re.compile(rf"\s*(?:约|≈|~|about|approximately)?\s*(?P<number>{NUMBER})",
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
_BARE_SCORE = re.compile(rf"(?P<number>{NUMBER})\s*分?")

_Score = tuple[float, float | None]
"""A score and the scale its statement gave ("7.5/10" → (7.5, 10.0)), None for no scale."""


def read_esg_scores(answer_text: str, final_boxed: str | None, scale: int) -> EsgReading | None:
    """E, S, G and overall scores; None when no score or rating is found.

    A score is a number right after its label ("E: 72", "环境（E）得分：72分", "Social score of
    65/100"); in an equation ("综合 = 0.4×72 + … = 72.3") the number after the last "=" counts.
    The box is read first, each missing score is then taken from the text's last statement of it.
    An explicit scale ("/10", "满分10分") overrides ``scale``.

    No reading rather than a wrong one: a label's number is not a score when it is unreadable
    ("72,65"; see ``number_value``), negative, one end of a range ("60-70"), a percentage or a
    figure with a unit ("E: 8,888,578 tCO2e", "环境：12家"), outside 0…scale, or on a scale other
    than the reading's (the first explicit one). Scores in Chinese numerals (七十二分) are not read.
    """
    box = box_text(final_boxed, answer_text)
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
        value = number_value(bare.group("number"))
        if value is not None and value <= reading_scale:
            scores["overall"] = value
    rating_match = last_match(_ESG_RATING.finditer(box)) or last_match(_ESG_RATING.finditer(text))
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
    number = number_value(value.group("number"))
    start, end = value.span("number")
    labelled_as_score = bool(_SCORE_WORD.search(text, match.start(), clause_start))
    ends_well = _SCORE_ENDS.match(text, end, clause_end) or (
        labelled_as_score and _SCORE_ENDS_AFTER_SCORE_WORD.match(text, end, clause_end))
    if number is None or not ends_well or in_range(text, start, end):
        return None
    scale_match = _ESG_SCALE.search(text, clause_start, clause_end)
    limit = number_value(scale_match.group("number")) if scale_match else None
    if scale_match and not limit:
        return None
    return (number, limit) if number <= (limit or scale) else None
