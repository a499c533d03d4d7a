"""Every answer reader against numbers as models write them: a reading only from a clearly
stated value in range, otherwise none.

One row per case: the scenario whose reader reads, the answer section, the final box as the
reasoning parser hands it over (None without one), and what the reading must say (see
``summary``; None for no reading). The categories: thousands and decimal separators (1,234.5 /
1.234,5 / 1 234), percentages, ranges, negatives, full-width digits, Chinese numerals and values
out of range, for each of the six readers.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.core.chat.labels import chat_labels
from app.core.chat.reading_badges import reading_html
from app.core.reasoning.readers import (
    AdvisoryReading,
    AnswerReading,
    CodeReading,
    EsgReading,
    NumberReading,
    RiskReading,
    VerdictReading,
    read_answer,
)
from app.core.scenarios.scenario import Scenario
from app.core.scenarios.scenario_file import load_scenarios

# The reply of issue 13: an ESG answer full of figures, with no score in it.
ESG_FIGURES_REPLY = (
    "根据披露数据，该企业2023年主要指标如下：\n"
    "E: 8,888,578 tCO2e（范围一、二排放合计），可再生电力占比 23.5%；\n"
    "S: 12,406 名员工，安全事故 3 起；\n"
    "G: 65,837,980 元合规投入，独立董事 4/9。\n"
    "以上数据显示企业在减排方面仍有较大压力。"
)


def summary(reading: AnswerReading | None) -> Any:
    """What a row's expectation compares: the part of the reading a badge would show."""
    if reading is None:
        return None
    if isinstance(reading, VerdictReading):
        return reading.verdict
    if isinstance(reading, RiskReading):
        pd = reading.probability_of_default
        return reading.grade, reading.level, None if pd is None else round(pd, 6)
    if isinstance(reading, EsgReading):
        return (reading.environmental, reading.social, reading.governance, reading.overall,
                reading.scale)
    if isinstance(reading, CodeReading):
        return [(block.language, block.code) for block in reading.blocks]
    if isinstance(reading, NumberReading):
        return round(reading.value, 6), reading.unit
    assert isinstance(reading, AdvisoryReading)
    return [(a.asset, a.percent, a.percent_high) for a in reading.allocations]


CASES = [
    # -------------------------------------------------------------- calculation: one number
    pytest.param("calculation", "", "1,234.5\\text{ 元}", (1234.5, "元"), id="number-comma-groups"),
    pytest.param("calculation", "", "1.234,5 元", (1234.5, "元"), id="number-dot-groups-decimal-comma"),
    pytest.param("calculation", "", "1.234.567 元", (1234567, "元"), id="number-dot-groups"),
    pytest.param("calculation", "", "1 234 元", (1234, "元"), id="number-space-groups"),
    pytest.param("calculation", "", "1\u2009234\u2009567,5 元", (1234567.5, "元"),
                 id="number-thin-space-groups"),
    pytest.param("calculation", "", "1.234", (1.234, ""), id="number-lone-dot-is-a-decimal-point"),
    pytest.param("calculation", "月供约为1,933.28元。", "1,5 元", None,
                 id="number-ambiguous-comma-no-guess-from-text"),
    pytest.param("calculation", "", "72，65", None, id="number-full-width-comma-between-digits"),
    pytest.param("calculation", "", "7.8\\%", (7.8, "%"), id="number-percent"),
    pytest.param("calculation", "", "150\\%", (150, "%"), id="number-percent-above-100-is-a-value"),
    pytest.param("calculation", "", "5\\%-7\\%", None, id="number-range-in-box"),
    pytest.param("calculation", "", "5\\%-7\\%，取中值6\\%", (6, "%"),
                 id="number-range-skipped-for-the-stated-value"),
    pytest.param("calculation", "预计年化收益率约为3%至5%。", None, None, id="number-range-in-text"),
    pytest.param("calculation", "", "2020-2023年", None, id="number-year-range"),
    pytest.param("calculation", "", "NPV = -1,234.5 元", (-1234.5, "元"), id="number-negative"),
    pytest.param("calculation", "", "\\text{NPV} = −1{,}234.5", (-1234.5, ""),
                 id="number-negative-unicode-minus"),
    pytest.param("calculation", "", "3\\%-5\\%", None, id="number-second-range-end-is-not-negative"),
    pytest.param("calculation", "", "１，２３４．５元", None,
                 id="number-full-width-comma-groups-are-ambiguous"),
    pytest.param("calculation", "", "１２３４．５元", (1234.5, "元"), id="number-full-width-digits"),
    pytest.param("calculation", "", "８５％", (85, "%"), id="number-full-width-percent"),
    pytest.param("calculation", "首付为30万元，贷款期限20年。", "一百二十万元", None,
                 id="number-chinese-numerals-in-box-no-guess-from-text"),
    pytest.param("calculation", "答案为一百二十万元。", None, None, id="number-chinese-numerals-in-text"),
    pytest.param("calculation", "每月还款额约为1,933.28元。", "\\text{见上}", (1933.28, "元"),
                 id="number-box-without-value-falls-back-to-text"),
    # -------------------------------------------------------------- ESG: scores 0…scale
    pytest.param("esg", ESG_FIGURES_REPLY, None, None, id="esg-issue-13-figures-are-not-scores"),
    pytest.param("esg", "E: 8,888,578 tCO2e\n环境（E）得分：72分", None, (72, None, None, None, 100),
                 id="esg-figure-then-score"),
    pytest.param("esg", "", "E: 1,234.5, S: 65, G: 70", (None, 65, 70, None, 100),
                 id="esg-comma-groups-out-of-range"),
    pytest.param("esg", "", "E: 72,5, S: 65", (None, 65, None, None, 100),
                 id="esg-ambiguous-decimal-comma"),
    pytest.param("esg", "", "E: 7,5/10, S: 6.5/10", (None, 6.5, None, None, 10),
                 id="esg-decimal-comma-on-ten-point-scale"),
    pytest.param("esg", "", "E: 1.234,5, S: 65", (None, 65, None, None, 100),
                 id="esg-dot-groups-out-of-range"),
    pytest.param("esg", "", "E: 1 234, S: 65", (None, 65, None, None, 100),
                 id="esg-space-groups-out-of-range"),
    pytest.param("esg", "", "E: 72%, S: 65, G: 70", (None, 65, 70, None, 100), id="esg-percentage"),
    pytest.param("esg", "环境：80%的电力来自可再生能源。社会（S）得分：65分", None,
                 (None, 65, None, None, 100), id="esg-percentage-in-text"),
    pytest.param("esg", "环境：12家工厂完成节能改造。", None, None, id="esg-figure-with-unit"),
    pytest.param("esg", "", "E: 60-70, S: 65, G: 70", (None, 65, 70, None, 100), id="esg-range"),
    pytest.param("esg", "", "E: 60–70分, S: 65分", (None, 65, None, None, 100), id="esg-range-en-dash"),
    pytest.param("esg", "", "E: -5, S: 65", (None, 65, None, None, 100), id="esg-negative"),
    pytest.param("esg", "", "E: 72, S: 65, 综合 = -5", (72, 65, None, None, 100),
                 id="esg-negative-after-equals"),
    pytest.param("esg", "", "E：７２，S：６５，G：８０，综合：７２．３", (72, 65, 80, 72.3, 100),
                 id="esg-full-width-digits"),
    pytest.param("esg", "环境得分：七十二分；社会得分：65分。", None, (None, 65, None, None, 100),
                 id="esg-chinese-numerals"),
    pytest.param("esg", "", "E: 120, S: 65, G: 70, 综合: 85", (None, 65, 70, 85, 100),
                 id="esg-above-scale"),
    pytest.param("esg", "", "150", None, id="esg-bare-box-above-scale"),
    pytest.param("esg", "", "E: 12/10, S: 6/10", (None, 6, None, None, 10),
                 id="esg-above-its-own-scale"),
    pytest.param("esg", "环境（E）得分：72分。\n附表 E: 120", None, (72, None, None, None, 100),
                 id="esg-out-of-range-statement-leaves-the-earlier-score"),
    pytest.param("esg", "", "E: 72, S: 6.5/10", (None, 6.5, None, None, 10),
                 id="esg-score-above-another-stated-scale"),
    pytest.param("esg", "", "E: 72, S: 65, G: 8,888,578", (72, 65, None, None, 100),
                 id="esg-one-figure-among-scores"),
    pytest.param("esg", "Environmental score of 72 reflects strong policies.", None,
                 (72, None, None, None, 100), id="esg-score-word-then-prose"),
    pytest.param("esg", "", "E: 72 S: 65 G: 80", (72, 65, 80, None, 100),
                 id="esg-labels-without-commas"),
    # -------------------------------------------------------------- risk: grade and PD
    pytest.param("risk", "违约概率为1,234%。", "中高风险", ("中高风险", "medium_high", None),
                 id="risk-comma-groups-pd-out-of-range"),
    pytest.param("risk", "", "BBB，违约概率约0,5\\%", ("BBB", None, None),
                 id="risk-ambiguous-decimal-comma"),
    pytest.param("risk", "", "BBB，违约概率约1.234,5\\%", ("BBB", None, None),
                 id="risk-dot-groups-out-of-range"),
    pytest.param("risk", "", "BB，违约概率 2 500\\%", ("BB", None, None),
                 id="risk-space-groups-out-of-range"),
    pytest.param("risk", "", "BB，3.5\\%", ("BB", None, 0.035), id="risk-lone-percentage-is-pd"),
    pytest.param("risk", "", "中低风险，违约概率约1.8\\%", ("中低风险", "medium_low", 0.018),
                 id="risk-percentage"),
    pytest.param("risk", "违约概率为0.035。", "BB", ("BB", None, 0.035), id="risk-fraction"),
    pytest.param("risk", "违约概率在15%-20%之间。", "高风险", ("高风险", "high", 0.175),
                 id="risk-range-midpoint"),
    pytest.param("risk", "", "BB，3-5\\%", ("BB", None, None), id="risk-range-is-not-a-lone-pd"),
    pytest.param("risk", "", "中风险，违约概率-2\\%", ("中风险", "medium", None), id="risk-negative"),
    pytest.param("risk", "", "Ｒ４，违约概率３．５％", ("R4", "medium_high", 0.035),
                 id="risk-full-width"),
    pytest.param("risk", "违约概率约为百分之三，较上年下降1%。", "中风险", ("中风险", "medium", None),
                 id="risk-chinese-numerals-pd"),
    pytest.param("risk", "", "BBB，违约概率150\\%", ("BBB", None, None), id="risk-pd-above-100"),
    pytest.param("risk", "违约概率为1.5。", "BB", ("BB", None, None), id="risk-fraction-above-1"),
    pytest.param("risk", "违约概率在1年内较低。", "BB", ("BB", None, None),
                 id="risk-number-with-unit-is-not-a-pd"),
    pytest.param("risk", "", "中国某制造企业：中高风险", ("中高风险", "medium_high", None),
                 id="risk-zhong-of-zhongguo-is-not-a-level"),
    pytest.param("risk", "", "中，违约概率5\\%", ("中", "medium", 0.05), id="risk-lone-zhong"),
    # -------------------------------------------------------------- advisory: shares 0…100%
    pytest.param("advisory", "", "股票12.5\\%，债券87.5\\%", [("股票", 12.5, None), ("债券", 87.5, None)],
                 id="allocation-decimals"),
    pytest.param("advisory", "", "股票1,5\\%，债券40\\%", [("债券", 40, None)],
                 id="allocation-ambiguous-decimal-comma"),
    pytest.param("advisory", "", "现金1,000万元，股票60\\%", [("股票", 60, None)],
                 id="allocation-comma-groups-not-a-share"),
    pytest.param("advisory", "", "股票30\\%-40\\%，债券50\\%", [("股票", 30, 40), ("债券", 50, None)],
                 id="allocation-range"),
    pytest.param("advisory", "", "股票40\\%-30\\%，债券50\\%", [("债券", 50, None)],
                 id="allocation-backwards-range"),
    pytest.param("advisory", "", "股票-5\\%，债券105\\%，现金10\\%", [("现金", 10, None)],
                 id="allocation-negative-and-above-100"),
    pytest.param("advisory", "", "股票６０％，债券４０％", [("股票", 60, None), ("债券", 40, None)],
                 id="allocation-full-width"),
    pytest.param("advisory", "", "股票百分之六十，债券40\\%", [("债券", 40, None)],
                 id="allocation-chinese-numerals"),
    pytest.param("advisory", "", "股票六成，债券四成", [], id="allocation-chinese-numerals-only"),
    # -------------------------------------------------------------- compliance: verdict
    pytest.param("compliance", "", "否（罚款1,000,000元）", "non_compliant",
                 id="verdict-numbers-beside-the-word"),
    pytest.param("compliance", "", "5\\%", "unclear", id="verdict-a-number-is-no-verdict"),
    pytest.param("compliance", "答案：是。", None, "compliant", id="verdict-full-width-colon"),
    pytest.param("compliance", "", "-1", "unclear", id="verdict-negative-number"),
    # -------------------------------------------------------------- code: verbatim blocks
    pytest.param("code", "```python\namount = 1_234.5  # 1,234.5 元\n```", "1.234,5",
                 [("python", "amount = 1_234.5  # 1,234.5 元")], id="code-numbers-kept-verbatim"),
    pytest.param("code", "共计一百二十万元，无需代码。", "１２３", None, id="code-none-without-blocks"),
]


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {scenario.id: scenario for scenario in load_scenarios()}


@pytest.mark.parametrize(("scenario_id", "answer", "box", "expected"), CASES)
def test_a_reader_reports_only_a_clearly_stated_value_in_range(
    scenarios: dict[str, Scenario], scenario_id: str, answer: str, box: str | None, expected: Any
) -> None:
    reading = read_answer(scenarios[scenario_id], answer, box)
    assert summary(reading) == expected


def test_every_reader_has_rows_in_the_table(scenarios: dict[str, Scenario]) -> None:
    readers = {scenarios[param.values[0]].answer_reader.name for param in CASES}
    assert readers == {scenario.answer_reader.name for scenario in scenarios.values()}


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_issue_13_reply_shows_no_esg_badge(scenarios: dict[str, Scenario],
                                               language: str) -> None:
    reading = read_answer(scenarios["esg"], ESG_FIGURES_REPLY, None)
    assert reading_html(reading, labels=chat_labels(language)) == ""
