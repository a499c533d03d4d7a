"""A scenario's reading of an answer, as the small HTML strip shown at the top of the answer card.

Compliance: a coloured verdict badge. Risk control: the grade (coloured by its level) and the
probability of default. ESG: E, S and G (and overall) scores. Financial code: how many code
blocks, in which languages (each block carries its own copy and save buttons). Financial
calculation: the final number with its unit. Investment advisory: the allocation shares.
Every text is escaped; the classes are styled by the chat view's style sheet. The labels come
in the window's language (``app.core.chat.labels``); the values are the model's own words.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from app.core.chat.labels import ChatLabels, chat_labels
from app.core.reasoning.readers import (
    AdvisoryReading,
    AnswerReading,
    CodeReading,
    EsgReading,
    NumberReading,
    RiskReading,
    VerdictReading,
)

_CURRENCY_SIGNS = ("$", "¥", "￥", "€", "£", "US$", "HK$")


def _badge(kind: str, label: str, value: str, title: str = "") -> str:
    title_attribute = f' title="{html.escape(title, quote=True)}"' if title else ""
    return (f'<span class="badge badge-{kind}"{title_attribute}><span class="badge-label">'
            f"{html.escape(label)}</span> {html.escape(value)}</span>")


def _number(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"


def _verdict(reading: VerdictReading, labels: ChatLabels) -> str:
    return _badge(f"verdict-{reading.verdict}", labels.text("badges", "verdict"),
                  labels.text("badges", reading.verdict), reading.evidence)


def _risk(reading: RiskReading, labels: ChatLabels) -> str:
    parts = []
    if reading.grade is not None:
        level = reading.level or "rating"
        described = reading.grade
        if reading.level is not None:
            level_label = labels.text("badges", reading.level)
            if level_label != reading.grade:
                described = f"{reading.grade} ({level_label})"
        parts.append(_badge(f"risk-{level}", labels.text("badges", "risk"), described))
    if reading.probability_of_default is not None:
        parts.append(_badge("neutral", labels.text("badges", "probability_of_default"),
                            f"{reading.probability_of_default:.2%}", reading.pd_text or ""))
    return "".join(parts)


def _esg(reading: EsgReading, labels: ChatLabels) -> str:
    scale = _number(reading.scale)
    scores = (("E", reading.environmental), ("S", reading.social), ("G", reading.governance),
              ("ESG", reading.overall))
    parts = [_badge("score", name, f"{_number(value)}/{scale}")
             for name, value in scores if value is not None]
    if reading.overall_rating:
        parts.append(_badge("score", labels.text("badges", "rating"), reading.overall_rating))
    return "".join(parts)


def _code(reading: CodeReading, labels: ChatLabels) -> str:
    languages = ", ".join(dict.fromkeys(block.language for block in reading.blocks))
    count = len(reading.blocks)
    unfinished = sum(1 for block in reading.blocks if not block.complete)
    if count == 1:
        value = labels.text("badges", "code_block", languages)
    else:
        value = labels.text("badges", "code_blocks", count, languages)
    if unfinished:
        value += labels.text("badges", "unfinished", unfinished)
    return _badge("neutral", labels.text("badges", "code"), value,
                  labels.text("badges", "code_hint"))


def _result(reading: NumberReading, labels: ChatLabels) -> str:
    if reading.unit in _CURRENCY_SIGNS:
        value = f"{reading.unit}{_number(reading.value)}"
    else:
        separator = "" if reading.unit in ("", "%", "‰") else " "
        value = f"{_number(reading.value)}{separator}{reading.unit}"
    if reading.source == "answer":  # no box: the reader's best guess from the prose
        return _badge("neutral", labels.text("badges", "result_from_text"), value, reading.text)
    return _badge("result", labels.text("badges", "result"), value, reading.text)


def _allocation(reading: AdvisoryReading, _labels: ChatLabels) -> str:
    parts = []
    for allocation in reading.allocations:
        share = f"{_number(allocation.percent)}%"
        if allocation.percent_high is not None:
            share = f"{_number(allocation.percent)}–{_number(allocation.percent_high)}%"
        parts.append(_badge("score", allocation.asset, share))
    return "".join(parts)


_RENDERERS: dict[type, Callable[..., str]] = {
    VerdictReading: _verdict,
    RiskReading: _risk,
    EsgReading: _esg,
    CodeReading: _code,
    NumberReading: _result,
    AdvisoryReading: _allocation,
}


def reading_html(reading: AnswerReading | None, final_box_shown: bool = False,
                 labels: ChatLabels | None = None) -> str:
    """The badge strip for ``reading``; "" when there is nothing to show. Pure function.

    ``final_box_shown``: the card already shows the final box as its chip, so a number read
    from that very box would only repeat it and is left out. ``labels``: the language of the
    badges' labels (English by default).
    """
    if reading is None:
        return ""
    if final_box_shown and isinstance(reading, NumberReading) and reading.source == "box":
        return ""
    return _RENDERERS[type(reading)](reading, labels or chat_labels())
