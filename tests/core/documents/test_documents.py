"""Documents made by the real programs' libraries come out as the text that was written into
them: a PDF printed by Qt (Chinese, a table), a DOCX by python-docx, an XLSX by openpyxl, CSV,
text, Markdown and HTML; pages and sheets can be chosen; files are never changed."""

from __future__ import annotations

import datetime
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from app.core.documents.extraction import ExtractionLimits, extract_document
from app.core.documents.parts import (
    DocumentPart,
    DocumentText,
    format_page_ranges,
    parse_page_ranges,
)
from app.core.errors import DocumentSelectionError
from foundation.jobs import Progress
from tests.support.document_files import (
    cjk_font_family,
    print_report_pdf,
    write_annual_report_docx,
)

ENTRY = Path(__file__).resolve().parents[3] / "packaging" / "pyinstaller" / "entry.py"


def words(text: str) -> str:
    """``text`` with whitespace normalized (the only difference extraction may make)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def chinese_report(qapp: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    family = cjk_font_family()
    if family is None:
        pytest.skip("no font that prints Chinese: apt-get install fonts-wqy-microhei")
    path = tmp_path_factory.mktemp("pdf") / "年报.pdf"
    return path, print_report_pdf(path, 3, font_family=family)


@pytest.fixture(scope="module")
def english_report(qapp: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    return path, print_report_pdf(path, 6, chinese=False)


@pytest.fixture(scope="module")
def word_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_annual_report_docx(tmp_path_factory.mktemp("docx") / "annual.docx")


@pytest.fixture(scope="module")
def workbook_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workbook = openpyxl.Workbook()
    income = workbook.active
    income.title = "利润表"
    income.append(["项目", "2023", "2022"])
    income.append(["营业收入", 1505.6, 1275])
    income.append([])
    income.append(["净利润", 747, 627.0, None])
    balance = workbook.create_sheet("Balance sheet")
    balance.append(["Date", "Cash", "Flag"])
    balance.append([datetime.datetime(2023, 12, 31), 123.25, True])
    workbook.create_sheet("Empty")
    path = tmp_path_factory.mktemp("xlsx") / "statements.xlsx"
    workbook.save(path)
    return path


def test_a_pdf_printed_by_qt_gives_its_chinese_text_and_table_rows_page_by_page(
        chinese_report: tuple[Path, list[str]]) -> None:
    path, pages = chinese_report

    extracted = extract_document(path)

    assert extracted.kind == "pdf" and extracted.part_count == 3 and extracted.complete
    assert [part.number for part in extracted.parts] == [1, 2, 3]
    assert [words(part.text) for part in extracted.parts] == pages
    assert "营业收入 1506 1275" in extracted.parts[0].text.splitlines()  # a table row, in order
    assert extracted.notes == ()


def test_chosen_pdf_pages_are_the_only_ones_read(english_report: tuple[Path, list[str]]) -> None:
    path, pages = english_report

    extracted = extract_document(path, pages=[2, 5, 6])

    assert extracted.part_count == 6
    assert [(part.number, words(part.text)) for part in extracted.parts] == [
        (2, pages[1]), (5, pages[4]), (6, pages[5])]
    assert words(extracted.text()) == " ".join([pages[1], pages[4], pages[5]])


def test_pages_past_the_end_are_refused_naming_how_many_there_are(
        english_report: tuple[Path, list[str]]) -> None:
    with pytest.raises(DocumentSelectionError, match=r"has 6 pages; 7-9 are not in it"):
        extract_document(english_report[0], pages=[5, 7, 8, 9])


def test_a_word_document_is_split_into_sections_at_its_headings_with_tables_in_place(
        word_file: Path) -> None:
    extracted = extract_document(word_file)

    assert [(part.kind, part.number, part.label) for part in extracted.parts] == [
        ("section", 1, ""), ("section", 2, "一、财务概况"), ("section", 3, "二、风险提示")]
    assert words(extracted.parts[0].text) == "致股东的信：本年度经营稳健。"
    assert extracted.parts[1].text.splitlines() == [
        "一、财务概况", "营业收入1505.6亿元，同比增长18.04%。", "项目\t2023\t2022",
        "净利润\t747\t627", "The table above is in millions."]
    assert words(extracted.parts[2].text) == "二、风险提示 汇率波动可能影响海外收入。"
    assert extracted.text().startswith("致股东的信")


def test_a_workbook_gives_each_sheet_as_tab_separated_rows_as_a_person_reads_the_cells(
        workbook_file: Path) -> None:
    extracted = extract_document(workbook_file)

    assert [(part.kind, part.number, part.label) for part in extracted.parts] == [
        ("sheet", 1, "利润表"), ("sheet", 2, "Balance sheet"), ("sheet", 3, "Empty")]
    assert extracted.parts[0].text.splitlines() == [
        "项目\t2023\t2022", "营业收入\t1505.6\t1275", "净利润\t747\t627"]
    assert extracted.parts[1].text.splitlines() == ["Date\tCash\tFlag",
                                                    "2023-12-31\t123.25\tTRUE"]
    assert extracted.parts[2].text == ""
    assert extracted.text().startswith("## 利润表\n项目\t2023")


def test_chosen_sheets_are_the_only_ones_read_in_workbook_order(workbook_file: Path) -> None:
    extracted = extract_document(workbook_file, sheets=["Balance sheet", "利润表"])

    assert [part.label for part in extracted.parts] == ["利润表", "Balance sheet"]
    assert extracted.part_count == 3


def test_an_unknown_sheet_is_refused_with_the_sheets_there_are(workbook_file: Path) -> None:
    with pytest.raises(DocumentSelectionError,
                       match="has no sheet named Cash flow; its sheets are: 利润表, Balance "
                             "sheet, Empty"):
        extract_document(workbook_file, sheets=["Cash flow"])


def test_pages_of_a_workbook_and_sheets_of_a_pdf_are_refused_before_any_reading(
        workbook_file: Path, tmp_path: Path) -> None:
    with pytest.raises(DocumentSelectionError, match="an Excel workbook, which has no pages"):
        extract_document(workbook_file, pages=[1])
    with pytest.raises(DocumentSelectionError, match="a PDF, which has no sheets"):
        extract_document(tmp_path / "absent.pdf", sheets=["x"])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
def test_a_csv_file_in_the_encodings_chinese_programs_write_is_one_sheet(
        tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "行情.csv"
    path.write_bytes('代码,名称,收盘价\r\n600519,"贵州茅台, A股",1688.00\r\n\r\n'
                     '000001,"平安\r\n银行",10.5\r\n'.encode(encoding))

    extracted = extract_document(path)

    assert [(part.kind, part.label) for part in extracted.parts] == [("sheet", "行情")]
    assert extracted.parts[0].text.splitlines() == [
        "代码\t名称\t收盘价", "600519\t贵州茅台, A股\t1688.00", "000001\t平安 银行\t10.5"]


def test_control_characters_in_a_document_never_reach_the_text(tmp_path: Path) -> None:
    path = tmp_path / "escapes.txt"
    path.write_text("Title\x1b[2J\x1b]0;owned\x07 text\tcell\x01\nnext line\x7f",
                    encoding="utf-8")

    assert extract_document(path).text() == "Title[2J]0;owned text\tcell\nnext line"


def test_a_text_file_is_one_section_as_written(tmp_path: Path) -> None:
    written = "第一段：公司概况。\n\n  Second paragraph,  with spacing.\r\n最后一行"
    path = tmp_path / "notes.txt"
    path.write_text(written, encoding="utf-8", newline="")

    extracted = extract_document(path)

    assert len(extracted.parts) == 1
    assert words(extracted.parts[0].text) == words(written)


def test_markdown_is_split_at_headings_but_not_at_hashes_inside_code(tmp_path: Path) -> None:
    path = tmp_path / "memo.md"
    path.write_text("Intro line.\n\n# 收入\n收入增长。\n```\n# not a heading\n```\n"
                    "## Risks\nFX risk.\n", encoding="utf-8")

    extracted = extract_document(path)

    assert [(part.number, part.label) for part in extracted.parts] == [
        (1, ""), (2, "收入"), (3, "Risks")]
    assert extracted.parts[1].text == "# 收入\n收入增长。\n```\n# not a heading\n```"
    assert words(extracted.text()) == words(path.read_text(encoding="utf-8"))


def test_html_gives_the_visible_text_in_sections_with_table_cells_tab_separated(
        tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<p>导言 &amp; intro</p><script>alert('x')</script>"
        "<h2>财务 <b>数据</b></h2><table><tr><th>项目</th><th>2023</th></tr>"
        "<tr><td>收入</td><td>1,505.6</td></tr></table><p>Line one<br>line two</p>"
        "<h3>Outlook</h3><ul><li>Stable</li><li>Growing</li></ul></body></html>",
        encoding="utf-8")

    extracted = extract_document(path)

    assert [(part.number, part.label) for part in extracted.parts] == [
        (1, ""), (2, "财务 数据"), (3, "Outlook")]
    assert extracted.parts[0].text == "导言 & intro"
    assert extracted.parts[1].text.splitlines() == [
        "财务 数据", "项目\t2023", "收入\t1,505.6", "Line one", "line two"]
    assert extracted.parts[2].text.splitlines() == ["Outlook", "Stable", "Growing"]


def test_extraction_changes_no_byte_and_no_time_stamp_of_the_file(
        english_report: tuple[Path, list[str]], word_file: Path, workbook_file: Path,
        tmp_path: Path) -> None:
    text_file = tmp_path / "a.csv"
    text_file.write_text("a,b\n1,2\n", encoding="utf-8")
    for path in (english_report[0], word_file, workbook_file, text_file):
        before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns,
                  path.stat().st_size)

        extract_document(path)

        assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns,
                path.stat().st_size) == before, path.name


def test_progress_counts_the_parts_read(english_report: tuple[Path, list[str]]) -> None:
    reports: list[Progress] = []

    extract_document(english_report[0], pages=[1, 3, 4], on_progress=reports.append)

    assert [(report.done, report.total, report.unit) for report in reports] == [
        (1, 3, "pages"), (2, 3, "pages"), (3, 3, "pages")]
    assert {report.stage for report in reports} == {"extract"}


def test_the_text_limit_stops_extraction_with_a_note_saying_where(
        english_report: tuple[Path, list[str]]) -> None:
    path, pages = english_report
    limit = len(pages[0]) + 40

    extracted = extract_document(path, limits=ExtractionLimits(max_chars=limit))

    assert not extracted.complete
    assert [part.number for part in extracted.parts] == [1, 2]
    assert sum(len(part.text) for part in extracted.parts) == limit
    assert extracted.notes == (f"report.pdf was cut at {limit:,} characters, in page 2 (2 of "
                               "6); select fewer pages to read the rest.",)


def test_a_selection_of_parts_sends_only_those_in_document_order() -> None:
    document = DocumentText("book.xlsx", "xlsx", (
        DocumentPart("sheet", 1, "A", "a1"), DocumentPart("sheet", 2, "B", ""),
        DocumentPart("sheet", 3, "C", "c1\tc2")), part_count=3)

    assert document.text([3, 1]) == "## A\na1\n\n## C\nc1\tc2"
    assert document.select([2]).text() == "## B"
    assert DocumentText.from_dict(document.to_dict()) == document


@pytest.mark.parametrize(("text", "pages"), [
    ("1-5", (1, 2, 3, 4, 5)), ("3", (3,)), ("1,3,7-9", (1, 3, 7, 8, 9)),
    (" 2 - 3 , 2 ", (2, 3)),
])
def test_page_ranges_are_read_as_people_write_them(text: str, pages: tuple[int, ...]) -> None:
    assert parse_page_ranges(text) == pages
    assert parse_page_ranges(format_page_ranges(pages)) == pages


@pytest.mark.parametrize("text", ["0", "5-3", "one", "1-", "", "1-999999999"])
def test_page_ranges_that_are_not_pages_are_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(ValueError, match="page"):
        parse_page_ranges(text)


@pytest.mark.skipif(os.name == "nt", reason="the stand-in launcher is a shell script")
def test_extraction_works_when_sys_executable_is_the_installed_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an installed app starts `sys.executable -m app.core.documents.extract_child` through its
    # entry script; this launcher stands in for that executable
    launcher = tmp_path / "finr1-studio"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ENTRY}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(launcher))
    path = tmp_path / "note.md"
    path.write_text("# 摘要\n收入增长。\n", encoding="utf-8")

    extracted = extract_document(path, limits=ExtractionLimits(time_s=30))

    assert extracted.text() == "# 摘要\n收入增长。"
