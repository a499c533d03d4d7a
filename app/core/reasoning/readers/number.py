"""The number reader: one numeric result with its unit (calculation scenarios)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers.number_rule import NUMBER, in_range, number_value
from app.core.reasoning.readers.reading import Reading, box_text


@dataclass(frozen=True)
class NumberReading(Reading):
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
    rf"(?P<sign>[-+])?(?P<number>{NUMBER})"
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
    Thousands separators (see ``number_value``), currency signs before the number ($, ¥),
    negatives, percent and basis points, Chinese (万元, 亿元) and English (million) multipliers
    are understood.

    No reading rather than a wrong one: the ends of a range ("5%-7%", "3至5年") are never the
    result; when the chosen number is unreadable ("1,5") there is no reading; and a box that
    states its value in some form not read (digits that give no result, Chinese numerals as in
    "一百二十万元") gives no reading rather than a guess from the text. Only a box with no value
    at all ("见上") sends the reader to the text.
    """
    box = box_text(final_boxed, answer_text)
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
               if not _is_list_number(text, m) and not in_range(text, *m.span("number"))]
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
    value = number_value(match.group("number"))
    if value is None or in_range(text, *match.span("number")):
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
