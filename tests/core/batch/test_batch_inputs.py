"""Batch runs without a model: the input table (CSV in UTF-8, UTF-8 with BOM and GBK; XLSX), the
column mapping by Chinese and English header names, scoring replies against expected answers, the
agreement of two engines, and results files that no model text can turn into a formula."""

from __future__ import annotations

import csv
import datetime
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from app.core.batch.mapping import (
    ColumnMapping,
    check_mapping,
    parse_assignments,
    row_values,
    suggest_mapping,
)
from app.core.batch.results_export import formula_risk, provenance_path, write_results
from app.core.batch.runner import BatchOutcome, summarize
from app.core.batch.scoring import agreement, answer_key, read_expected, same_answer, score
from app.core.batch.store import BatchRow, BatchRun
from app.core.batch.table_reader import InputTable, read_table
from app.core.errors import BatchInputError, BatchMappingError, ExportError
from app.core.reasoning.parser import parse_text
from app.core.reasoning.readers import read_answer
from app.core.scenarios.scenario_file import get_scenario

COMPLIANCE = get_scenario("compliance")


def csv_table(path: Path, text: str) -> InputTable:
    """``text`` written to ``path`` in UTF-8 and read back as a batch's input table."""
    path.write_text(text, encoding="utf-8")
    return read_table(path)

# -- the input table ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_tables_are_read_in_utf8_with_or_without_bom_and_in_gbk(
        tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "loans.csv"
    path.write_bytes("客户,描述,标准答案\n张三,\"拆分存款，\n规避报告\",否\n李四,正常开户,是\n"
                     .encode(encoding))
    table = read_table(path)
    assert table.headers == ("客户", "描述", "标准答案")
    assert table.rows == (("张三", "拆分存款，\n规避报告", "否"), ("李四", "正常开户", "是"))
    assert table.source_rows == (2, 3)
    assert table.sheet is None and len(table.sha256) == 64


def test_xlsx_cells_keep_their_types_and_the_row_numbers_excel_shows(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Cases"
    sheet.append(["id", "amount", "date", "question", None, "id"])
    sheet.append([1, 1250.5, datetime.datetime(2024, 3, 4), "Deposit split?"])
    sheet.append([])
    sheet.append([2, 3.0, None, "=1+1"])  # a formula without a saved value reads as empty
    other = workbook.create_sheet("Other")
    other.append(["x"])
    other.append(["y"])
    workbook.save(tmp_path / "cases.xlsx")

    table = read_table(tmp_path / "cases.xlsx")

    assert table.sheet == "Cases"
    assert table.headers == ("id", "amount", "date", "question", "Column E", "id (2)")
    assert table.source_rows == (2, 4)
    assert table.rows[0][:3] == (1, 1250.5, datetime.datetime(2024, 3, 4))
    assert [table.text(0, "date"), table.text(1, "amount"), table.text(1, "question")] == \
        ["2024-03-04", "3", ""]
    assert read_table(tmp_path / "cases.xlsx", sheet="Other").headers == ("x",)


@pytest.mark.parametrize(("name", "content", "sheet", "complaint"), [
    ("rows.json", b"[]", None, "not a table this app reads"),
    ("empty.csv", b"\n\n", None, "is empty"),
    ("header.csv", b"a,b\n", None, "no rows below it"),
    ("wide.csv", b"a,b\n1,2,3\n", None, "row 2 has 3 cells"),
    ("fake.xlsx", b"not a zip", None, "damaged ZIP"),
    ("rows.csv", b"a\n1\n", "Sheet1", "has no sheets"),
    ("book.xlsx", None, "Missing", "no sheet named 'Missing'"),
])
def test_a_table_that_cannot_be_run_says_why(tmp_path: Path, name: str, content: bytes | None,
                                             sheet: str | None, complaint: str) -> None:
    path = tmp_path / name
    if content is None:
        workbook = Workbook()
        workbook.active.append(["a"])
        workbook.save(path)
    else:
        path.write_bytes(content)
    with pytest.raises(BatchInputError, match=complaint):
        read_table(path, sheet)


# -- the column mapping -----------------------------------------------------------------------


def test_headers_in_chinese_and_english_fill_the_fields_they_name(tmp_path: Path) -> None:
    esg = get_scenario("esg")
    headers = ("序号", "企业与行业", "ESG data", "关注 重点", "标准答案")
    assert suggest_mapping(esg, headers) == ColumnMapping(
        {"company": "企业与行业", "data": "ESG data", "focus": "关注 重点"}, "标准答案")
    # a header inside a label ("描述" of "待判断的描述"), or holding one, matches when nothing
    # matches exactly
    assert suggest_mapping(COMPLIANCE, ("编号", "描述", "Expected")) == ColumnMapping(
        {"question": "描述"}, "Expected")
    assert suggest_mapping(COMPLIANCE, ("Description to assess (full text)", "Notes")) == \
        ColumnMapping({"question": "Description to assess (full text)"}, None)


def test_a_mapping_is_edited_and_checked_before_any_model_runs(tmp_path: Path) -> None:
    table = csv_table(tmp_path / "cases.csv", "编号,情况,答案\n1,开户,是\n")
    suggested = suggest_mapping(COMPLIANCE, table.headers)
    with pytest.raises(BatchMappingError, match=r"required field\(s\) question"):
        check_mapping(COMPLIANCE, table, suggested)
    edited = suggested.with_changes(parse_assignments(["question=情况"]))
    check_mapping(COMPLIANCE, table, edited)
    assert row_values(table, edited, 0) == {"question": "开户"}
    for wrong, complaint in ((edited.with_changes({"question": "描述"}), "no column '描述'"),
                             (edited.with_changes({"amount": "编号"}), "no field 'amount'"),
                             (edited.with_changes({"question": "答案"}), "cannot also fill")):
        with pytest.raises(BatchMappingError, match=complaint):
            check_mapping(COMPLIANCE, table, wrong)
    with pytest.raises(BatchMappingError, match="FIELD=TEXT"):
        parse_assignments(["question"])


def test_a_field_can_have_one_value_for_every_row(tmp_path: Path) -> None:
    risk = get_scenario("risk")
    table = csv_table(tmp_path / "borrowers.csv", "借款人情况,贷款申请\n个体户，年收入30万,经营贷50万元\n")
    mapping = suggest_mapping(risk, table.headers)
    with pytest.raises(BatchMappingError, match="scale"):
        check_mapping(risk, table, mapping)
    mapping = mapping.with_changes(constants={"scale": "level"})
    check_mapping(risk, table, mapping)
    assert row_values(table, mapping, 0) == {"profile": "个体户，年收入30万", "loan": "经营贷50万元",
                                             "scale": "level"}
    assert "低、中低、中、中高、高五档之一" in risk.render_prompt(row_values(table, mapping, 0), "zh")
    with pytest.raises(BatchMappingError, match="both from column"):
        check_mapping(risk, table, mapping.with_changes(constants={"loan": "x"}))


# -- scoring ------------------------------------------------------------------------------------


def reply_outcome(scenario_id: str, expected: str, reply: str, tolerance: float = 0.01) -> str:
    scenario = get_scenario(scenario_id)
    parsed = parse_text(reply)
    reading = read_answer(scenario, parsed.answer, parsed.final) if not parsed.truncated else None
    wanted = read_expected(scenario, expected)
    assert wanted is not None
    return score(wanted, answer_key(reading, parsed.final), parsed.final, tolerance)


@pytest.mark.parametrize(("scenario_id", "expected", "reply", "outcome"), [
    ("compliance", "否", "<think>x</think><answer>结论：\\boxed{否}</answer>", "correct"),
    ("compliance", "non_compliant", "<answer>\\boxed{\\text{No}}</answer>", "correct"),
    ("compliance", "Yes", "<answer>\\boxed{不合规}</answer>", "wrong"),
    ("compliance", "TRUE", "<answer>\\boxed{合规}</answer>", "correct"),
    ("compliance", "是", "<answer>I cannot tell.</answer>", "no_answer"),
    ("compliance", "是", "<think>the answer is \\boxed{是} but", "no_answer"),  # cut off
    ("risk", "R4", "<answer>\\boxed{中高风险，违约概率约5%}</answer>", "correct"),
    ("risk", "中高风险", "<answer>\\boxed{高风险}</answer>", "wrong"),
    ("risk", "BBB-", "<answer>\\boxed{BBB-}</answer>", "correct"),
    ("calculation", "56.87万元", "<answer>\\boxed{568,700元}</answer>", "correct"),
    ("calculation", "1933.28元", "<answer>\\boxed{1,933.30元}</answer>", "correct"),
    ("calculation", "1933.28元", "<answer>\\boxed{1,990元}</answer>", "wrong"),
    ("calculation", "7.8%", "<answer>\\boxed{7.8}</answer>", "correct"),
    ("calculation", "100 ± 0.5", "<answer>\\boxed{100.6}</answer>", "wrong"),
    ("calculation", "100 ± 1", "<answer>\\boxed{100.6}</answer>", "correct"),
    ("esg", "E: 70, S: 60, G: 80", "<answer>\\boxed{E: 70, S: 60, G: 80, 综合: 70}</answer>",
     "correct"),
    ("esg", "72", "<answer>\\boxed{E: 70, S: 60, G: 80, 综合: 70}</answer>", "wrong"),
    ("compliance", "B", "<answer>选项 \\boxed{B}</answer>", "correct"),
    ("code", "ok", "<answer>```python\nprint(1)\n```\n\\boxed{OK}</answer>", "correct"),
])
def test_replies_are_scored_by_the_scenarios_reader_like_fin_r1s_objective_evaluation(
        scenario_id: str, expected: str, reply: str, outcome: str) -> None:
    assert reply_outcome(scenario_id, expected, reply) == outcome


def test_the_tolerance_decides_how_close_a_number_must_be() -> None:
    reply = "<answer>\\boxed{102}</answer>"
    assert reply_outcome("calculation", "100", reply) == "wrong"
    assert reply_outcome("calculation", "100", reply, tolerance=0.05) == "correct"


def test_agreement_counts_rows_where_every_engine_gave_the_same_answer() -> None:
    def key(box: str) -> dict:
        parsed = parse_text(f"<answer>\\boxed{{{box}}}</answer>")
        return answer_key(read_answer(COMPLIANCE, parsed.answer, parsed.final), parsed.final)

    first = {0: key("是"), 1: key("否"), 2: key("是"), 3: key("不确定")}
    second = {0: key("Yes"), 1: key("是"), 2: key("compliant"), 3: key("不确定")}
    agreed = agreement([first, second])
    assert agreed.per_row == {0: True, 1: False, 2: True, 3: True}
    assert agreed.rate == 0.75 and agreed.pairs == {(0, 1): 0.75}
    assert same_answer(key("是"), None) is False


# -- results files ---------------------------------------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\t=cmd|' /C calc'!A0", " =1+1"]


def hostile_outcome(table_path: Path, sha256: str) -> BatchOutcome:
    run = BatchRun(1, "key", "compliance", table_path.name, str(table_path), sha256, None,
                   len(HOSTILE), ("question",), ColumnMapping({"question": "question"}),
                   {"sampling": {}, "lang": "en", "tolerance": 0.01},
                   ({"label": "=evil()", "model_sha256": "ab" * 32},), "done", "0.1.0",
                   1.0e9, 1.0e9, 1.0e9)
    rows = tuple(
        BatchRow(1, 0, index, index + 2, "done", index + 1, index + 1, "-5", {
            "kind": "verdict", "verdict": "unclear", "evidence": text}, None, text, None, 4,
            0.5, 8.0, "stop", None, 1.0e9, 1.0e9, "\x01think " + text, text)
        for index, text in enumerate(HOSTILE))
    scores, agreed = summarize(rows, 1)
    return BatchOutcome(run, rows, scores, agreed)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_no_model_text_becomes_a_formula_in_the_results(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "input.csv"
    table = csv_table(source, "question\nq0\n=1+2\nq2\nq3\nq4\nq5\n")
    output = write_results(tmp_path / f"results{suffix}", hostile_outcome(source, table.sha256),
                           table, COMPLIANCE)
    if suffix == ".xlsx":
        with zipfile.ZipFile(output) as package:
            sheets = [package.read(name) for name in package.namelist()
                      if name.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in sheet and b"<f " not in sheet for sheet in sheets)
        results = load_workbook(output)["results"]
        risky = [cell for row in results.iter_rows() for cell in row
                 if isinstance(cell.value, str) and formula_risk(cell.value)]
        # the input's "=1+2", and per row the engine's label, the final answer and the answer
        assert len(risky) == 1 + 3 * len(HOSTILE)
        assert all(cell.data_type == "s" and cell.quotePrefix for cell in risky)
        assert [results["B3"].value, results["F2"].value, results["O2"].value] == \
            ["=1+2", HOSTILE[0], "think " + HOSTILE[0]]  # \x01 cannot be stored in XML
    else:
        with output.open(encoding="utf-8-sig", newline="") as stream:
            lines = list(csv.reader(stream))
        assert lines[2][1] == "'=1+2" and lines[1][5] == "'" + HOSTILE[0]
        assert lines[1][6] == "-5"  # a plain number stays a number
        assert not any(formula_risk(cell) for line in lines for cell in line)
        provenance = provenance_path(output).read_text(encoding="utf-8-sig")
        assert "'=evil()" in provenance and "\n=evil()" not in provenance


def test_results_go_to_xlsx_or_csv_only_and_never_over_the_input(tmp_path: Path) -> None:
    source = tmp_path / "input.csv"
    table = csv_table(source, "question\nq\n")
    outcome = hostile_outcome(source, table.sha256)
    with pytest.raises(ExportError, match=r"xlsx or \.csv"):
        write_results(tmp_path / "results.json", outcome, table, COMPLIANCE)
    with pytest.raises(ExportError, match="is the input table"):
        write_results(source, outcome, table, COMPLIANCE)
    source.write_text("question\nchanged\n", encoding="utf-8")
    with pytest.raises(ExportError, match="has changed"):
        write_results(tmp_path / "results.csv", outcome, read_table(source), COMPLIANCE)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["input.csv"]
