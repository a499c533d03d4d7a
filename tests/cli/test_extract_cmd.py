"""``finr1 extract``: the text the app would send for a document, its parts as JSON, pages and
sheets chosen, notes and errors as one line each."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import openpyxl
import pytest

from app.cli import main
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.document_files import many_pages_pdf, raw_pdf


def run_extract(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["extract", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "利润表"
    book.active.append(["营业收入", 1505.6])
    book.create_sheet("Notes").append(["Audited"])
    path = tmp_path / "statements.xlsx"
    book.save(path)
    return path


def test_chosen_pages_are_printed_as_the_text_the_app_sends(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(many_pages_pdf(9))

    status, out, err = run_extract(capsys, str(path), "--pages", "2-3,8")

    assert (status, err) == (0, "")
    assert out == "Page 2 of 9\n\nPage 3 of 9\n\nPage 8 of 9\n"


def test_json_carries_the_parts_and_the_text_of_the_chosen_sheet(
        workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_extract(capsys, str(workbook), "--sheet", "利润表", "--json")

    assert status == 0
    assert json.loads(out) == {
        "file_name": "statements.xlsx", "kind": "xlsx", "part_count": 2, "complete": True,
        "notes": [], "parts": [{"kind": "sheet", "number": 1, "label": "利润表",
                                "text": "营业收入\t1505.6"}],
        "text": "## 利润表\n营业收入\t1505.6"}


def test_a_page_without_text_prints_a_note_on_standard_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(raw_pdf(["<< /Type /Catalog /Pages 2 0 R >>",
                              "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                              "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]))

    status, out, err = run_extract(capsys, str(path))

    assert (status, out) == (0, "")
    assert err == ("finr1: note: scan.pdf has no text layer: its pages are probably scanned "
                   "images, and the app cannot read text in images (no OCR offline). Attach a "
                   "PDF with text (one saved from the original program), or type the figures.\n")


def test_a_document_that_cannot_be_read_is_one_error_line_and_status_2(
        workbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    misnamed = tmp_path / "report.pdf"
    misnamed.write_bytes(workbook.read_bytes())

    status, out, err = run_extract(capsys, str(misnamed))

    assert (status, out) == (2, "")
    assert err == ("finr1: error: report.pdf is not a PDF: it is an Excel workbook (.xlsx); "
                   "rename it with the extension of its type and attach it again.\n")


def test_pages_that_are_not_ranges_are_refused_by_the_parser(
        workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["extract", str(workbook), "--pages", "3-1"])

    assert exited.value.code == 2
    assert "argument --pages: '3-1' is not a range of pages" in capsys.readouterr().err


def test_chinese_text_prints_as_utf8_whatever_the_locale(workbook: Path) -> None:
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONIOENCODING"}
    environ.update({"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"})

    result = subprocess.run(finr1_command("extract", str(workbook)),
                            capture_output=True, cwd=REPO_ROOT, env=environ, timeout=120,
                            check=False)

    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert result.stdout.decode("utf-8") == "## 利润表\n营业收入\t1505.6\n\n## Notes\nAudited\n"
