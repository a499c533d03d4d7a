r"""Readers find and clean boxes by the parser's rules: a reply read from its raw text (no
parser, ``final_boxed=None``) reads as the parsed reply does."""

from __future__ import annotations

import pytest

from app.core.reasoning.parser import parse_text
from app.core.reasoning.readers import NumberReading, VerdictReading, read_answer, read_reply
from app.core.scenarios.scenario import Scenario
from app.core.scenarios.scenario_file import load_scenarios


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {scenario.id: scenario for scenario in load_scenarios()}


REPLIES = [
    pytest.param("compliance", "综上，\\boxed{\\text{\\textbf{否}}}",
                 VerdictReading("non_compliant", "否"), id="braces-two-deep"),
    pytest.param("compliance", "初判 \\boxed{是}，复核后 \\boxed{\\text{否}}",
                 VerdictReading("non_compliant", "否"), id="the-last-of-several-boxes"),
    pytest.param("compliance", "结论见下。\\boxed{\\emph{不合规}}",
                 VerdictReading("non_compliant", "不合规"), id="emph-in-the-box"),
    pytest.param("compliance", "结论：合规。\\boxed{否", VerdictReading("compliant", "结论：合规"),
                 id="unclosed-box-is-no-box"),
    pytest.param("calculation", "月供为 \\boxed{\\mathbf{1{,}933.28}\\,\\text{元}}",
                 NumberReading(1933.28, "元", 1933.28, "元", "1,933.28元", "box"),
                 id="number-in-a-deep-box"),
]


@pytest.mark.parametrize(("scenario_id", "answer", "expected"), REPLIES)
def test_a_reply_read_raw_reads_as_the_parsed_reply(
    scenarios: dict[str, Scenario], scenario_id: str, answer: str, expected: object
) -> None:
    scenario = scenarios[scenario_id]
    assert read_answer(scenario, answer, None) == expected
    assert read_reply(scenario, parse_text(answer)) == expected
