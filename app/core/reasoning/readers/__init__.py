r"""Answer readers: turn Fin-R1's answer into the one thing a scenario asks for.

Each scenario names a reader (and its parameters) in its file; ``READERS`` is the table of those
names, one module per reader beside it (``verdict``, ``risk_grade``, ``esg_scores``,
``code_blocks``, ``number``, ``allocation``). A reader takes two plain strings, so it does not
depend on how the reply was parsed: the answer section's text and the final ``\boxed{…}``
content (raw or cleaned; None when the answer has no box). It reads the box first, because that
is where the model puts its conclusion, and falls back on the answer text, where it only trusts
explicit phrasing ("答案为否", "风险等级：中高风险") over incidental words.

Readers are written for the model's habits: ``\text{…}``, ``\%`` and ``{,}`` inside boxes
(``latex_text.clean_latex``), Chinese words in English answers (and the reverse), no box at all
(then the last box in the answer text, by the one box rule of ``boxed``), fences glued to prose.
Code blocks are read as the chat view draws them (``code_fences``' rule).

A reading claims only what the model clearly stated: every number is read by one rule
(``number_rule``: thousands separators, decimal commas, full-width digits), and a number that
rule finds ambiguous ("1,5"), one end of a range, a negative or out-of-range value where none can
be meant, or a value in Chinese numerals gives no reading rather than a guess. Each reader's
docstring states its own cases.

``read_answer(scenario, answer_text, final_boxed)`` dispatches on the scenario's reader and returns
one of the ``…Reading`` dataclasses, or None when nothing could be read (the verdict reader always
answers, with ``unclear`` when in doubt). Each reading has ``as_dict()`` for JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from app.core.reasoning.readers.allocation import AdvisoryReading, Allocation, read_allocation
from app.core.reasoning.readers.code_blocks import CodeBlock, CodeReading, read_code_blocks
from app.core.reasoning.readers.esg_scores import EsgReading, read_esg_scores
from app.core.reasoning.readers.number import NumberReading, read_number
from app.core.reasoning.readers.risk_grade import RiskLevel, RiskReading, read_risk_grade
from app.core.reasoning.readers.verdict import Verdict, VerdictReading, read_verdict

if TYPE_CHECKING:
    from app.core.reasoning.parser import ParsedReply
    from app.core.scenarios.scenario import Scenario

__all__ = [
    "READERS", "AdvisoryReading", "Allocation", "AnswerReading", "CodeBlock", "CodeReading",
    "EsgReading", "NumberReading", "Reader", "RiskLevel", "RiskReading", "Verdict",
    "VerdictReading", "read_allocation", "read_answer", "read_code_blocks", "read_esg_scores",
    "read_number", "read_reply", "read_risk_grade", "read_verdict",
]

AnswerReading = (
    VerdictReading | RiskReading | EsgReading | CodeReading | NumberReading | AdvisoryReading
)


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
