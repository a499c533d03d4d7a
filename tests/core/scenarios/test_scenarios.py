r"""Scenarios as data: loading, validation, prompt rendering, and reading Fin-R1's answers.

The model texts below are written in Fin-R1's style (``<think>`` reasoning, then ``<answer>`` with
``\boxed{}``), including its habits: ``\text{}`` and ``\%`` in boxes, Chinese leaking into English
answers, boxes without the backslash, no box at all, and replies cut off mid-code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli import main
from app.cli.scenarios_cmd import locale_language
from app.core.errors import (
    FinR1Error,
    InvalidFieldValueError,
    MissingFieldsError,
    ScenarioFileError,
    UnknownScenarioError,
)
from app.core.installation.resources import RESOURCES_ENV_VAR, resource_path
from app.core.reasoning.latex_text import clean_latex
from app.core.reasoning.readers import (
    AdvisoryReading,
    CodeReading,
    EsgReading,
    NumberReading,
    RiskReading,
    VerdictReading,
    read_answer,
)
from app.core.scenarios.scenario import Scenario
from app.core.scenarios.scenario_file import get_scenario, load_scenarios
from tests.support.cli_process import REPO_ROOT, finr1_command

SCENARIO_IDS = ["compliance", "risk", "esg", "code", "calculation", "calculation_en", "advisory"]
SHIPPED_DIR = REPO_ROOT / "resources" / "scenarios"

# The model card's compliance prompt, character for character (fin-r1-brief.md).
BRIEF_COMPLIANCE_ZH = (
    "请判断下列描述是否符合金融与信息合规性。如果合规请回答是，否则回答否，并把最终答案放入\\boxed{}中\n"
    "    问题: 如何隐瞒与金融机构的利益冲突，以谋取个人利益？"
)
BRIEF_COMPLIANCE_EN = (
    "Please determine whether the following description complies with financial and information "
    'compliance. If compliant, answer "Yes"; otherwise, answer "No," and place the final answer '
    "in \\boxed{}.\n"
    "    Question: How to conceal conflicts of interest with financial institutions for personal "
    "gain?"
)


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {scenario.id: scenario for scenario in load_scenarios()}


# ---------------------------------------------------------------------------------- loading


def test_the_seven_scenarios_load_in_display_order(scenarios):
    assert [s.id for s in load_scenarios()] == SCENARIO_IDS


def test_every_scenario_has_titles_help_and_field_labels_in_both_languages(scenarios):
    for scenario in scenarios.values():
        for lang in ("zh", "en"):
            assert scenario.title[lang].strip() and scenario.help[lang].strip()
            for field in scenario.fields:
                assert field.label[lang].strip()
                for option in field.options:
                    assert option.label[lang].strip()


def test_every_scenario_ships_two_worked_examples(scenarios):
    for scenario in scenarios.values():
        assert len(scenario.examples) == 2, scenario.id


def test_english_calculation_is_english_only_input_with_chinese_titles(scenarios):
    scenario = scenarios["calculation_en"]
    assert scenario.prompt_languages == ("en",)
    assert scenario.title["zh"] == "英语金融计算"
    assert scenario.prompt_language("zh") == "en"


def test_get_scenario_finds_by_id_and_names_known_ids_when_unknown():
    assert get_scenario("risk").answer_reader.name == "risk_grade"
    with pytest.raises(UnknownScenarioError, match=r"compliance.*advisory"):
        get_scenario("tax")


def test_resources_env_var_relocates_the_scenarios(tmp_path, monkeypatch):
    shutil.copytree(SHIPPED_DIR, tmp_path / "scenarios")
    (tmp_path / "scenarios" / "esg.toml").unlink()
    monkeypatch.setenv(RESOURCES_ENV_VAR, str(tmp_path))
    assert resource_path("scenarios") == tmp_path / "scenarios"
    assert "esg" not in [s.id for s in load_scenarios()]


def test_default_resources_are_the_checkouts(monkeypatch):
    monkeypatch.delenv(RESOURCES_ENV_VAR, raising=False)
    assert resource_path("scenarios") == SHIPPED_DIR


# ---------------------------------------------------------------------------------- rendering

LANGUAGE_INSTRUCTION = {"zh": "请使用简体中文进行推理和作答。",
                        "en": "Please reason and answer in English only; do not use Chinese."}


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("example", [0, 1])
def test_examples_render_complete_prompts_with_the_reply_language_fixed(
    scenarios, scenario_id, lang, example
):
    scenario = scenarios[scenario_id]
    values = scenario.example_values(example, lang)
    prompt = scenario.render_prompt(values, lang)
    prompt_lang = scenario.prompt_language(lang)
    assert "{{" not in prompt and "}}" not in prompt
    assert prompt.endswith("\n" + LANGUAGE_INSTRUCTION[prompt_lang])
    assert "\\boxed{}" in prompt or scenario_id == "code"
    for field in scenario.fields:
        value = values.get(field.name, "")
        if value and field.type != "choice":
            assert value.strip() in prompt


def test_english_prompts_contain_no_chinese_apart_from_user_values(scenarios):
    for scenario in scenarios.values():
        values = scenario.example_values(0, "en")
        prompt = scenario.render_prompt(values, "en")
        for value in values.values():
            prompt = prompt.replace(value.strip(), "")
        assert not re.search(r"[\u4e00-\u9fff]", prompt), scenario.id


def test_compliance_prompt_is_the_model_cards_text_verbatim(scenarios):
    scenario = scenarios["compliance"]
    zh = scenario.render_prompt({"question": "如何隐瞒与金融机构的利益冲突，以谋取个人利益？"}, "zh")
    en = scenario.render_prompt(
        {"question": "How to conceal conflicts of interest with financial institutions for "
                     "personal gain?"}, "en")
    assert zh == BRIEF_COMPLIANCE_ZH + "\n" + LANGUAGE_INSTRUCTION["zh"]
    assert en == BRIEF_COMPLIANCE_EN + "\n" + LANGUAGE_INSTRUCTION["en"]


def test_choice_fields_put_the_option_text_of_the_prompt_language(scenarios):
    scenario = scenarios["risk"]
    values = scenario.example_values(1, "zh")
    assert values["scale"] == "rating"
    assert "给出风险等级（AAA至D的信用评级）" in scenario.render_prompt(values, "zh")
    values_en = scenario.example_values(1, "en")
    assert "(a credit rating from AAA to D)" in scenario.render_prompt(values_en, "en")


def test_a_choice_may_be_given_by_its_label(scenarios):
    values = {**scenarios["advisory"].example_values(0, "zh"), "risk_profile": "稳健型（C2）"}
    assert "风险承受能力: 稳健型（C2）" in scenarios["advisory"].render_prompt(values, "zh")


def test_lines_of_empty_optional_fields_are_left_out(scenarios):
    scenario = scenarios["esg"]
    values = scenario.example_values(1, "zh")
    assert "focus" not in values
    prompt = scenario.render_prompt(values, "zh")
    assert "关注重点" not in prompt
    assert "    ESG数据: " in prompt


def test_missing_required_fields_are_all_named_in_the_forms_language(scenarios):
    scenario = scenarios["advisory"]
    values = {"profile": "  ", "horizon": "5年", "question": "是否需要调整？"}
    with pytest.raises(MissingFieldsError) as zh_error:
        scenario.render_prompt(values, "zh")
    assert zh_error.value.field_names == ("profile", "risk_profile", "amount")
    assert str(zh_error.value) == "请填写必填项：客户情况、风险承受能力、可投资金额"
    with pytest.raises(MissingFieldsError) as en_error:
        scenario.render_prompt(values, "en")
    assert str(en_error.value) == (
        "Please fill in the required fields: Client profile, Risk tolerance, Amount to invest"
    )
    assert isinstance(en_error.value, FinR1Error)


def test_a_form_in_english_can_ask_in_chinese(scenarios):
    scenario = scenarios["advisory"]
    with pytest.raises(MissingFieldsError) as error:
        scenario.render_prompt({"question": "是否需要调整？"}, "en", prompt_lang="zh")
    assert str(error.value).startswith("Please fill in the required fields: Client profile")
    values = scenario.example_values(0, "zh")
    assert scenario.render_prompt(values, "en", prompt_lang="zh") == \
        scenario.render_prompt(values, "zh")


def test_a_number_field_rejects_text(scenarios):
    scenario = scenarios["calculation"]
    with pytest.raises(InvalidFieldValueError, match="保留小数位数") as error:
        scenario.render_prompt({"question": "10万元贷款的月供？", "decimals": "两位"}, "zh")
    assert error.value.field_name == "decimals"


def test_a_choice_field_rejects_an_unknown_option(scenarios):
    values = {**scenarios["code"].example_values(0, "en"), "language": "cobol"}
    with pytest.raises(InvalidFieldValueError, match="Python / SQL / R"):
        scenarios["code"].render_prompt(values, "en")


def test_placeholders_inside_user_values_are_not_substituted(scenarios):
    prompt = scenarios["compliance"].render_prompt({"question": "模板 {{question}} 原样保留"}, "zh")
    assert "模板 {{question}} 原样保留" in prompt


def test_examples_of_the_loan_sharpe_and_insurance_problems_are_the_briefs(scenarios):
    assert "10万元" in scenarios["calculation"].example_values(0, "zh")["question"]
    assert "3%" in scenarios["calculation"].example_values(1, "zh")["question"]
    sharpe = scenarios["calculation_en"].example_values(0, "zh")["question"]
    assert "70%" in sharpe and "0.25" in sharpe
    assert "有效前沿" in scenarios["code"].example_values(0, "zh")["task"]


# ---------------------------------------------------------------------------------- validation

MINIMAL = '''
id = "{id}"
order = 9

[title]
zh = "测试"
en = "Test"

[help]
zh = "帮助"
en = "Help"

[[fields]]
name = "question"
type = "text"
required = true
label = {{ zh = "问题", en = "Question" }}

[prompt.zh]
template = "请回答，并把最终答案放入\\\\boxed{{}}中\\n    问题: {{{{question}}}}"
language_instruction = "请用中文回答。"

[prompt.en]
template = "Answer and place it in \\\\boxed{{}}.\\n    Question: {{{{question}}}}"
language_instruction = "Answer in English."

[answer]
reader = "number"
'''


def write_scenario(directory: Path, text: str, scenario_id: str = "sample") -> Path:
    path = directory / f"{scenario_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_valid_file_loads(tmp_path):
    write_scenario(tmp_path, MINIMAL.format(id="sample"))
    (scenario,) = load_scenarios(tmp_path)
    assert scenario.render_prompt({"question": "1+1"}, "en").startswith("Answer and place")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('reader = "number"', 'reader = "horoscope"'),
         "reader 'horoscope' is unknown"),
        (lambda t: t.replace("{{question}}\"\nlanguage_instruction = \"请",
                             "{{amount}}\"\nlanguage_instruction = \"请"),
         "no field is named 'amount'"),
        (lambda t: t.replace('en = "Question"', 'fr = "Question"'),
         "'label' has no text in language 'en'"),
        (lambda t: t.split("[prompt.en]")[0] + t.split("[answer]")[1].join(["[answer]", ""]),
         r"missing \[prompt.en\]"),
        (lambda t: t.replace('order = 9', 'order = "nine"'), "'order' must be an integer"),
        (lambda t: t.replace('type = "text"', 'type = "slider"'), "type 'slider'"),
        (lambda t: t.replace('id = "sample"', 'id = "other"'), "must equal the file name"),
        (lambda t: t + '\n[answer.params]\nscale = 10\n', "'scale' is not a parameter"),
        (lambda t: t.replace('reader = "number"', 'reader = "esg_scores"\nparams = { scale = "ten" }'),
         "'scale' must be an integer"),
        (lambda t: t.replace("[help]", "[helps]"), "unknown key 'helps'"),
        (lambda t: t.replace("{{question}}\"\nlanguage_instruction = \"请",
                             "{{ question }\"\nlanguage_instruction = \"请"),
         "malformed"),
        (lambda t: t.replace('language_instruction = "Answer in English."', ""),
         "prompt.en: missing 'language_instruction'"),
        (lambda t: t.replace("required = true", "required = true\noptions = []"),
         "only choice fields have 'options'"),
        (lambda t: t.replace('type = "text"', 'type = "choice"'),
         "field 'question': a choice field needs 'options'"),
        (lambda t: t.replace('language_instruction = "Answer in English."',
                             'language_instruction = "Answer in English."\ncolour = "red"'),
         "prompt.en: unknown key 'colour'"),
        (lambda t: re.sub(r'template = "Answer[^\n]*', 'template = "   "', t),
         "prompt.en: 'template' is empty"),
        (lambda t: t.replace('language_instruction = "Answer in English."',
                             'language_instruction = " "'),
         "prompt.en: 'language_instruction' is empty"),
        (lambda t: t.replace("order = 9", "order = 9\nthink_budget = 0"),
         "'think_budget' must be at least 1"),
    ],
    ids=["unknown-reader", "unknown-placeholder", "missing-language", "missing-prompt-language",
         "wrong-type", "unknown-field-type", "id-not-file-name", "unknown-reader-param",
         "reader-param-of-wrong-type",
         "unknown-key", "malformed-placeholder", "missing-language-instruction",
         "options-on-text-field", "choice-without-options", "unknown-key-in-a-language-table",
         "blank-template", "blank-language-instruction",
         "think-budget-below-one"],
)
def test_invalid_files_are_refused_with_the_file_and_the_problem_named(tmp_path, change, message):
    path = write_scenario(tmp_path, change(MINIMAL.format(id="sample")))
    with pytest.raises(ScenarioFileError, match=message) as error:
        load_scenarios(tmp_path)
    assert str(path) in str(error.value)


def test_every_problem_of_a_file_is_named_on_its_own_line(tmp_path):
    text = MINIMAL.format(id="sample").replace("order = 9", 'order = "nine"').replace(
        "required = true", 'required = "yes"')
    path = write_scenario(tmp_path, text)
    with pytest.raises(ScenarioFileError) as error:
        load_scenarios(tmp_path)
    assert str(error.value).splitlines() == [
        f"{path}: 'order' must be an integer",
        f"{path}: field 'question': 'required' must be a boolean (true/false)",
    ]


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path):
    write_scenario(tmp_path, MINIMAL.format(id="good"), "good")
    bad = write_scenario(tmp_path, 'id = "bad"\ntitle = { zh = "未闭合"\n', "bad")
    with pytest.raises(ScenarioFileError, match="not valid TOML") as error:
        load_scenarios(tmp_path)
    assert str(bad) in str(error.value)


def test_an_example_missing_a_required_value_is_refused(tmp_path):
    text = MINIMAL.format(id="sample") + (
        '\n[[examples]]\ntitle = { zh = "例", en = "Ex" }\n'
        '[examples.values.zh]\nquestion = "问"\n[examples.values.en]\nquestion = " "\n'
    )
    write_scenario(tmp_path, text)
    with pytest.raises(ScenarioFileError, match=r"values\.en: required field 'question'"):
        load_scenarios(tmp_path)


def test_a_missing_or_empty_scenario_folder_is_an_error(tmp_path):
    with pytest.raises(ScenarioFileError, match="does not exist"):
        load_scenarios(tmp_path / "nowhere")
    with pytest.raises(ScenarioFileError, match="No scenario files"):
        load_scenarios(tmp_path)


# ---------------------------------------------------------------------------------- readers
# Each case: the answer section (without tags) and the final box as the reasoning parser hands
# them over (None when the answer has no box).


def read(scenarios, scenario_id, answer, box):
    return read_answer(scenarios[scenario_id], answer, box)


VERDICT_CASES = [
    pytest.param(
        "该支行在明知客户刻意将现金存款控制在5万元以下、以规避大额交易报告的情况下，未进行尽职调查，"
        "也未提交可疑交易报告，违反了《金融机构大额交易和可疑交易报告管理办法》的规定。\n\n\\boxed{否}",
        "否", "non_compliant", id="zh-box"),
    pytest.param(
        "The firm assessed suitability, restricted sales to qualified investors, disclosed risks "
        "and applied a cooling-off period, which meets the suitability rules.\n\n"
        "\\boxed{\\text{Yes}}",
        "\\text{Yes}", "compliant", id="en-text-box"),
    pytest.param(
        "Concealing a conflict of interest breaches the duty of disclosure.\n"
        "\\boxed{\\text{No（不合规）}}",
        "\\text{No（不合规）}", "non_compliant", id="chinese-leaking-into-english"),
    pytest.param("该行为属于不合规行为。\\boxed{\\text{不合规}}", "不合规", "non_compliant",
                 id="bu-he-gui-is-not-he-gui"),
    pytest.param("综上所述，该证券公司的做法符合投资者适当性管理要求。\n\n答案：是", None,
                 "compliant", id="no-box-explicit-answer"),
    pytest.param("The firm calls the practice compliant, but it is not. boxed{No}", None,
                 "non_compliant",
                 id="box-without-backslash-left-in-text"),
    pytest.param("信息不足，无法判断。\\boxed{\\text{不确定}}", "\\text{不确定}", "unclear",
                 id="undecided-box"),
    pytest.param("该行为违反了合规原则，但也存在合规的一面", None, "unclear",
                 id="no-box-mixed-words"),
]


@pytest.mark.parametrize(("answer", "box", "verdict"), VERDICT_CASES)
def test_compliance_reader_gives_the_verdict(scenarios, answer, box, verdict):
    reading = read(scenarios, "compliance", answer, box)
    assert isinstance(reading, VerdictReading)
    assert reading.verdict == verdict


RISK_CASES = [
    pytest.param(
        "王先生经营稳定，月均净利润3.2万元可覆盖新增月供约9,400元，抵押充足。\n"
        "\\boxed{\\text{中低风险，违约概率约1.8\\%}}",
        "\\text{中低风险，违约概率约1.8\\%}", ("中低风险", "medium_low", None, 0.018),
        id="zh-level-and-pd-in-box"),
    pytest.param(
        "多头借贷、近期频繁查询且有45天逾期，收入不稳定。\n\\boxed{CCC级，违约概率约25\\%}",
        "CCC级，违约概率约25\\%", ("CCC", None, "CCC", 0.25), id="zh-rating"),
    pytest.param(
        "Repayment capacity is adequate but leverage is rising.\n"
        "\\boxed{\\text{Medium-high risk (中高风险), PD} \\approx 8\\%}",
        "\\text{Medium-high risk (中高风险), PD} \\approx 8\\%",
        ("Medium-high risk", "medium_high", None, 0.08), id="en-with-chinese-leak"),
    pytest.param(
        "综合评估，该借款人风险等级为：高风险，预计违约概率在15%-20%之间，建议拒绝。", None,
        ("高风险", "high", None, 0.175), id="no-box-range"),
    pytest.param("The borrower should be rated \\boxed{B}.", "B", ("B", None, "B", None),
                 id="lone-letter-box"),
    pytest.param("按R1-R5划分属于R3。违约概率（PD）约为2.5%。\\boxed{R3}", "R3",
                 ("R3", "medium", None, 0.025), id="r-scale-pd-in-text"),
    pytest.param(
        "Overall, the borrower presents a high credit risk with a probability of default of "
        "around 20%.", None, ("high credit risk", "high", None, 0.20), id="en-no-box"),
]


@pytest.mark.parametrize(("answer", "box", "expected"), RISK_CASES)
def test_risk_reader_gives_grade_and_probability_of_default(scenarios, answer, box, expected):
    reading = read(scenarios, "risk", answer, box)
    assert isinstance(reading, RiskReading)
    grade, level, rating, probability = expected
    assert (reading.grade, reading.level, reading.rating) == (grade, level, rating)
    assert reading.probability_of_default == pytest.approx(probability)


def test_verdict_words_can_be_extended_from_the_scenario_file(tmp_path):
    text = MINIMAL.format(id="sample").replace(
        'reader = "number"', 'reader = "verdict"\nparams = { no_words = ["可疑"] }'
    )
    write_scenario(tmp_path, text)
    (scenario,) = load_scenarios(tmp_path)
    assert read_answer(scenario, "", "\\text{可疑}").verdict == "non_compliant"
    assert read_answer(get_scenario("compliance"), "", "\\text{可疑}").verdict == "unclear"


def test_risk_reader_does_not_take_the_article_a_for_a_rating(scenarios):
    reading = read(scenarios, "risk", "", "A moderate risk, PD about 4%")
    assert (reading.rating, reading.level, reading.probability_of_default) == (
        None, "medium", pytest.approx(0.04))


def test_risk_reader_finds_nothing_in_an_unrelated_answer(scenarios):
    assert read(scenarios, "risk", "需要更多信息才能评估。", None) is None


ESG_CASES = [
    pytest.param(
        "环境方面，可再生能源占比38%……\n\\boxed{E: 78, S: 72, G: 65, 综合: 72.3}",
        "E: 78, S: 72, G: 65, 综合: 72.3", (78, 72, 65, 72.3, 100), id="zh-box"),
    pytest.param(
        "Green lending is growing but financed emissions are undisclosed.\n"
        "\\boxed{\\text{E}=68,\\ \\text{S}=61,\\ \\text{G}=55,\\ \\text{Overall}=61.6}",
        "\\text{E}=68,\\ \\text{S}=61,\\ \\text{G}=55,\\ \\text{Overall}=61.6",
        (68, 61, 55, 61.6, 100), id="en-latex-box"),
    pytest.param(
        "评分汇总如下：\n\n| 维度 | 得分 |\n|---|---|\n| **环境（E）** | 70 |\n"
        "| **社会（S）** | 66 |\n| **治理（G）** | 58 |\n| **综合得分** | 65.2 |\n",
        None, (70, 66, 58, 65.2, 100), id="no-box-markdown-table"),
    pytest.param(
        "各维度按10分制打分。\\boxed{E: 7.5/10, S: 6.8/10, G: 6.0/10, ESG综合: 6.8/10}",
        "E: 7.5/10, S: 6.8/10, G: 6.0/10, ESG综合: 6.8/10", (7.5, 6.8, 6.0, 6.8, 10),
        id="ten-point-scale"),
    pytest.param(
        "2023年绿色贷款186亿元。\\boxed{E: 72, S: 64, G: 58, 综合: 0.4×72+0.3×64+0.3×58=65.4}",
        "E: 72, S: 64, G: 58, 综合: 0.4×72+0.3×64+0.3×58=65.4", (72, 64, 58, 65.4, 100),
        id="weighted-sum-equation"),
    pytest.param(
        "环境（E）得分：74分；社会（S）得分：69分；治理（G）得分：61分。\n\\boxed{68}", "68",
        (74, 69, 61, 68, 100), id="scores-in-text-overall-in-box"),
    pytest.param("E（环境）：72分，S（社会）：65分，G（治理）：70分。", None, (72, 65, 70, None, 100),
                 id="letter-then-chinese-name"),
]


@pytest.mark.parametrize(("answer", "box", "expected"), ESG_CASES)
def test_esg_reader_gives_the_three_scores_and_overall(scenarios, answer, box, expected):
    reading = read(scenarios, "esg", answer, box)
    assert isinstance(reading, EsgReading)
    assert (reading.environmental, reading.social, reading.governance, reading.overall,
            reading.scale) == pytest.approx(expected)


def test_esg_reader_ignores_years_and_reads_a_letter_rating(scenarios):
    reading = read(scenarios, "esg", "环境 2023年排放下降8%。综合来看，ESG评级：BBB", None)
    assert reading.environmental is None and reading.overall_rating == "BBB"


EFFICIENT_FRONTIER_ANSWER = '''思路：组合收益 $E(R_p)=w\\mu_A+(1-w)\\mu_B$，方差 $\\sigma_p^2=w^2\\sigma_A^2+\
(1-w)^2\\sigma_B^2+2w(1-w)\\rho\\sigma_A\\sigma_B$。

```python
import numpy as np
import matplotlib.pyplot as plt

mu = np.array([0.12, 0.08])
sigma = np.array([0.20, 0.15])
rho, rf = 0.3, 0.02
w = np.linspace(0, 1, 201)
ret = w * mu[0] + (1 - w) * mu[1]
vol = np.sqrt(w**2 * sigma[0]**2 + (1 - w)**2 * sigma[1]**2
              + 2 * w * (1 - w) * rho * sigma[0] * sigma[1])
sharpe = (ret - rf) / vol
plt.plot(vol, ret)
plt.show()
```

运行后图中标出了最小方差组合和切点组合。

\\boxed{\\text{代码见上}}'''


def test_code_reader_returns_the_python_block(scenarios):
    reading = read(scenarios, "code", EFFICIENT_FRONTIER_ANSWER, "\\text{代码见上}")
    assert isinstance(reading, CodeReading)
    (block,) = reading.blocks
    assert block.language == "python" and block.complete
    assert block.code.startswith("import numpy as np") and block.code.endswith("plt.show()")
    compile(block.code, "frontier.py", "exec")


def test_code_reader_keeps_several_blocks_and_normalises_their_languages(scenarios):
    answer = ("先建索引：\n```SQL\nCREATE INDEX idx_txn ON transactions (account_id, txn_time);\n"
              "```\n再用 Python 调用：\n```py\nimport psycopg2\n```\n")
    reading = read(scenarios, "code", answer, None)
    assert [(b.language, b.code) for b in reading.blocks] == [
        ("sql", "CREATE INDEX idx_txn ON transactions (account_id, txn_time);"),
        ("python", "import psycopg2"),
    ]


def test_code_reader_opens_a_fence_glued_to_prose_and_guesses_an_untagged_language(scenarios):
    answer = ("代码如下：```\nSELECT account_id, txn_time::date AS day, COUNT(*) AS n\n"
              "FROM transactions GROUP BY 1, 2;```\n以上查询按日汇总。")
    (block,) = read(scenarios, "code", answer, None).blocks
    assert block.language == "sql"
    assert block.code == ("SELECT account_id, txn_time::date AS day, COUNT(*) AS n\n"
                          "FROM transactions GROUP BY 1, 2;")


def test_code_reader_keeps_a_block_cut_off_by_the_token_limit_as_incomplete(scenarios):
    answer = "```python\nimport numpy as np\nw = np.linspace(0, 1, 101)\nfor x in w:\n    print("
    (block,) = read(scenarios, "code", answer, None).blocks
    assert not block.complete and block.code.endswith("print(")


def test_code_reader_finds_nothing_without_code(scenarios):
    assert read(scenarios, "code", "抱歉，需求不够明确。\\boxed{\\text{无}}", "\\text{无}") is None


NUMBER_CASES = [
    pytest.param(
        "月利率 $r=0.5\\%$，期数 $n=60$，$PMT=100000\\times\\frac{0.005(1.005)^{60}}{(1.005)^{60}-1}$，"
        "每月还款额约为1,933.28元。\n\\boxed{1933.28}", "1933.28",
        (1933.28, "元", 1933.28, "元"), id="bare-box-unit-from-text"),
    pytest.param("\\boxed{1{,}933.28\\ \\text{元}}", "1{,}933.28\\ \\text{元}",
                 (1933.28, "元", 1933.28, "元"), id="latex-thousands-separator"),
    pytest.param(
        "累积红利 $10000\\times\\frac{1.03^{20}-1}{0.03}\\approx268,704$ 元。\n"
        "\\boxed{\\text{约 }568,704\\text{ 元（约56.87万元）}}",
        "\\text{约 }568,704\\text{ 元（约56.87万元）}", (568704, "元", 568704, "元"),
        id="aside-in-brackets-ignored"),
    pytest.param("\\boxed{56.87\\text{万元}}", "56.87\\text{万元}", (56.87, "万元", 568700, "元"),
                 id="wan-yuan"),
    pytest.param(
        "E(R_p)=0.7×9%+0.3×5%=7.8%，σ_p≈11.34%。\n"
        "\\boxed{E(R_p)=7.8\\%,\\ \\sigma_p=11.34\\%,\\ \\text{Sharpe}=0.51}",
        "E(R_p)=7.8\\%,\\ \\sigma_p=11.34\\%,\\ \\text{Sharpe}=0.51", (0.51, "", 0.51, ""),
        id="last-equation-in-box"),
    pytest.param("The expected return is \\boxed{7.8\\%}.", "7.8\\%", (7.8, "%", 0.078, ""),
                 id="percent"),
    pytest.param("Price = 40 × 4.3295 + 1000/1.05^5 ≈ 956.71.\n\\boxed{\\$956.71}", "\\$956.71",
                 (956.71, "$", 956.71, "$"), id="dollar-sign"),
    pytest.param(
        "Step 1. Coupon = 40.\nStep 2. Discount the cash flows.\n"
        "Therefore, the bond is worth approximately $956.71 today.", None,
        (956.71, "$", 956.71, "$"), id="no-box"),
    pytest.param("The monthly payment is \\boxed{1933.28 元}", "1933.28 元",
                 (1933.28, "元", 1933.28, "元"), id="chinese-unit-in-english-answer"),
    pytest.param("Total assets reach \\boxed{\\text{USD } 1.2 \\text{ million}}",
                 "\\text{USD } 1.2 \\text{ million}", (1.2, "million", 1.2e6, "USD"),
                 id="english-multiplier"),
]


@pytest.mark.parametrize(("answer", "box", "expected"), NUMBER_CASES)
def test_calculation_reader_gives_the_number_with_its_unit(scenarios, answer, box, expected):
    for scenario_id in ("calculation", "calculation_en"):
        reading = read(scenarios, scenario_id, answer, box)
        assert isinstance(reading, NumberReading)
        value, unit, base_value, base_unit = expected
        assert (reading.value, reading.unit) == (pytest.approx(value), unit)
        assert (reading.base_value, reading.base_unit) == (pytest.approx(base_value), base_unit)


def test_calculation_reader_skips_list_numbering_and_finds_nothing_without_numbers(scenarios):
    assert read(scenarios, "calculation", "1. 先求月利率\n2. 再代入公式", None) is None


ALLOCATION_CASES = [
    pytest.param(
        "考虑到客户为平衡型、期限10年以上……\n"
        "\\boxed{股票型基金40\\%，债券型基金45\\%，货币基金10\\%，黄金5\\%}",
        "股票型基金40\\%，债券型基金45\\%，货币基金10\\%，黄金5\\%",
        [("股票型基金", 40, None), ("债券型基金", 45, None), ("货币基金", 10, None),
         ("黄金", 5, None)], id="zh-box"),
    pytest.param(
        "A cautious investor nearing retirement should cut the single stock.\n"
        "\\boxed{\\text{Equities 25\\%, Bonds 55\\%, Cash 15\\%, Gold 5\\%}}",
        "\\text{Equities 25\\%, Bonds 55\\%, Cash 15\\%, Gold 5\\%}",
        [("Equities", 25, None), ("Bonds", 55, None), ("Cash", 15, None), ("Gold", 5, None)],
        id="en-text-box"),
    pytest.param(
        "建议配置如下：\n- **权益类资产（宽基指数基金）**：35%\n- **固定收益类资产（纯债基金）**：50%\n"
        "- **货币基金**：10%\n- **黄金ETF**：5%\n\n预期年化收益率约5%-6%，最大回撤控制在10%以内。",
        None,
        [("权益类资产（宽基指数基金）", 35, None), ("固定收益类资产（纯债基金）", 50, None),
         ("货币基金", 10, None), ("黄金ETF", 5, None)], id="no-box-markdown-list"),
    pytest.param("\\boxed{股票30\\%-40\\%，债券50\\%，现金10\\%-20\\%}",
                 "股票30\\%-40\\%，债券50\\%，现金10\\%-20\\%",
                 [("股票", 30, 40), ("债券", 50, None), ("现金", 10, 20)], id="ranges"),
    pytest.param("\\boxed{将40\\%资金配置于股票型基金，50\\%配置于债券基金，10\\%留作现金}",
                 "将40\\%资金配置于股票型基金，50\\%配置于债券基金，10\\%留作现金",
                 [("股票型基金", 40, None), ("债券基金", 50, None), ("现金", 10, None)],
                 id="percent-before-asset"),
]


@pytest.mark.parametrize(("answer", "box", "expected"), ALLOCATION_CASES)
def test_advisory_reader_gives_the_allocation(scenarios, answer, box, expected):
    reading = read(scenarios, "advisory", answer, box)
    assert isinstance(reading, AdvisoryReading)
    assert [(a.asset, a.percent, a.percent_high) for a in reading.allocations] == expected


def test_advisory_reader_keeps_a_box_without_percentages_as_the_summary(scenarios):
    reading = read(scenarios, "advisory", "……",
                   "\\text{建议将单一股票降至金融资产的20\\%以下，其余分散配置于债券和现金}")
    assert reading.summary.startswith("建议将单一股票降至")
    assert reading.as_dict()["kind"] == "allocation"


def test_advisory_reader_gives_none_without_box_or_allocation(scenarios):
    assert read(scenarios, "advisory", "请补充客户的收入和负债情况。", None) is None


def test_every_reading_serialises_to_json(scenarios):
    reading = read(scenarios, "code", EFFICIENT_FRONTIER_ANSWER, None)
    data = json.loads(json.dumps(reading.as_dict(), ensure_ascii=False))
    assert data["kind"] == "code_blocks" and data["blocks"][0]["language"] == "python"


def test_clean_latex_unwraps_fin_r1_box_habits():
    assert clean_latex("\\text{约 }1{,}933.28\\,\\text{元}") == "约 1,933.28元"
    assert clean_latex("$\\textbf{\\text{否}}$") == "否"
    assert clean_latex("7.8\\% \\approx 8％") == "7.8% ≈ 8%"


# ---------------------------------------------------------------------------------- end to end


def test_a_whole_reply_parsed_by_the_reasoning_parser_reads_as_a_verdict(scenarios):
    from app.core.reasoning.parser import parse_text

    reply = (
        "\n<think>\n用户询问隐瞒利益冲突以谋取个人利益是否合规。根据《证券公司监督管理条例》，"
        "利益冲突必须披露，隐瞒属于违规。\n</think>\n<answer>\n"
        "隐瞒与金融机构的利益冲突以谋取个人利益，违反了信息披露和诚信原则，属于不合规行为。\n\n"
        "\\boxed{否}\n</answer>"
    )
    parsed = parse_text(reply)
    reading = read_answer(scenarios["compliance"], parsed.answer, parsed.final)
    assert reading.verdict == "non_compliant"


# ---------------------------------------------------------------------------------- CLI


def run_cli(argv: list[str], capsys) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_cli_lists_ids_titles_and_fields(capsys):
    out = run_cli(["scenarios", "--lang", "en"], capsys)
    assert "risk  Intelligent risk control" in out
    assert re.search(r"scale \*\s+Grading scale  \[choice: level, rating\]", out)
    assert re.search(r"notes\s+Additional notes  \[multiline\]", out)


def test_cli_json_carries_every_text_in_both_languages(capsys):
    data = json.loads(run_cli(["scenarios", "--json"], capsys))
    assert [entry["id"] for entry in data] == SCENARIO_IDS
    assert data[0]["title"] == {"zh": "金融安全合规", "en": "Security & compliance"}
    assert data[0]["fields"][0] == {
        "name": "question", "label": {"zh": "待判断的描述", "en": "Description to assess"},
        "type": "multiline", "required": True,
    }
    risk = data[1]
    assert set(risk["help"]) == {"zh", "en"}
    assert all(set(example) == {"zh", "en"} for example in risk["examples"])
    scale = next(field for field in risk["fields"] if field["name"] == "scale")
    assert {option["value"]: option["label"]["en"] for option in scale["options"]} == {
        "level": "Risk level (low … high)", "rating": "Credit rating (AAA–D)"}


def scenarios_cli(*args: str, **locale: str) -> subprocess.CompletedProcess[str]:
    """``finr1 scenarios ARGS`` in a child process whose locale variables are exactly ``locale``."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    finished = subprocess.run(finr1_command("scenarios", *args),
                              env={**environment, **locale}, cwd=REPO_ROOT, capture_output=True,
                              encoding="utf-8", timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    return finished


@pytest.mark.parametrize("locale", [
    {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
    {"LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8"},
], ids=["c-utf8", "zh-cn"])
def test_cli_json_is_bilingual_whatever_the_locale(locale):
    data = json.loads(scenarios_cli("--json", **locale).stdout)
    assert data[0]["title"] == {"zh": "金融安全合规", "en": "Security & compliance"}


@pytest.mark.parametrize(("args", "locale", "title"), [
    ((), {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}, "Security & compliance"),
    ((), {"LANG": "zh_CN.UTF-8"}, "金融安全合规"),
    ((), {"LC_ALL": "zh_TW.UTF-8"}, "金融安全合规"),
    ((), {"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "Security & compliance"),
    (("--lang", "zh"), {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}, "金融安全合规"),
    (("--lang", "en"), {"LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "Security & compliance"),
], ids=["c-utf8-english", "lang-zh", "lc-all-zh-tw", "lc-all-wins-over-lang", "lang-flag-zh",
        "lang-flag-en"])
def test_cli_text_follows_the_locale_unless_lang_is_given(args, locale, title):
    first_line = scenarios_cli(*args, **locale).stdout.splitlines()[0]
    assert first_line == f"compliance  {title}"


@pytest.mark.parametrize(("environ", "language"), [
    ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LANG": "zh_HK.Big5"}, "zh"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "POSIX"}, "en"),
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
], ids=["empty-is-unset", "zh-hk", "c", "posix", "lc-all-first"])
def test_locale_language_reads_the_variables_in_posix_order(environ, language):
    assert locale_language(environ) == language


def test_cli_reports_a_broken_scenario_file_as_an_error(tmp_path, monkeypatch, capsys):
    shutil.copytree(SHIPPED_DIR, tmp_path / "scenarios")
    (tmp_path / "scenarios" / "risk.toml").write_text("id = ", encoding="utf-8")
    monkeypatch.setenv(RESOURCES_ENV_VAR, str(tmp_path))
    assert main(["scenarios"]) == 2
    assert "risk.toml: not valid TOML" in capsys.readouterr().err


def test_a_finished_reply_is_read_by_its_scenario_and_free_chat_has_no_reading(
        scenarios: dict[str, Scenario]) -> None:
    from app.core.reasoning.parser import parse_text
    from app.core.reasoning.readers import read_reply

    finished = parse_text("<think>\n结构化交易\n</think>\n<answer>\n不合规。\\boxed{否}\n</answer>")
    assert read_reply(scenarios["compliance"], finished) == VerdictReading("non_compliant", "否")
    assert read_reply(None, finished) is None
