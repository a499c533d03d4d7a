"""Exporting saved conversations: Markdown and HTML with their provenance blocks, the reasoning
optionally left out, Chinese labels, and the same from a terminal (``finr1 history list``,
``finr1 export``) including a PDF printed by Qt WebEngine and read back with QtPdf."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import ExportError
from app.core.history.export import conversation_html, conversation_markdown, export_text, write_export
from app.core.history.store import Conversation, HistoryStore
from app.core.reasoning.parser import parse_text
from app.core.scenarios.scenario_file import load_scenarios
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.fin_r1_replies import CALCULATION, COMPLIANCE

SCENARIOS = {scenario.id: scenario for scenario in load_scenarios()}
SHA = "5f" * 32


def save(store: HistoryStore, text: str, scenario_id: str | None, question: str,
         values: dict[str, str] | None = None) -> int:
    conversation_id = store.create_conversation(question, scenario_id)
    turn_id = store.begin_turn(
        conversation_id, question, scenario_id=scenario_id, form_values=values,
        provenance={"model_sha256": SHA, "model_file": "Fin-R1.Q4_K_M.gguf",
                    "model_quant": "Q4_K_M", "app_version": "0.1.0",
                    "time": "2025-05-01T10:00:00+0800",
                    "sampling": {"temperature": 0.7, "top_p": 0.8, "top_k": 20,
                                 "repeat_penalty": 1.05, "max_new_tokens": 4000,
                                 "system_prompt": "You are a helpful AI Assistant"}})
    reply = parse_text(text)
    store.finish_turn(turn_id, reply_text=text, think=reply.think, answer=reply.answer,
                      finish_reason="stop", shown_tokens=300,
                      metrics={"tokens_per_s": 21.5, "ttft_s": 0.4, "prompt_tokens": 90,
                               "think_tokens": 120, "answer_tokens": 180, "seed": 4242})
    return conversation_id


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def saved(home: Path) -> tuple[Conversation, Conversation]:
    with HistoryStore(home / "history.sqlite3") as store:
        compliance = save(store, COMPLIANCE, "compliance", "Structuring deposits",
                          {"description": "Five deposits just below 50,000 yuan"})
        calculation = save(store, CALCULATION, None, "Monthly payment of a 100,000 yuan loan?")
        return store.conversation(compliance), store.conversation(calculation)


def test_markdown_holds_question_reasoning_answer_and_provenance(
        saved: tuple[Conversation, Conversation]) -> None:
    compliance, _ = saved
    text = conversation_markdown(compliance, SCENARIOS)
    reply = parse_text(COMPLIANCE)
    assert text.startswith("# Structuring deposits")
    assert "Structuring deposits" in text and "Five deposits just below 50,000 yuan" in text
    assert reply.think.strip().splitlines()[0] in text
    assert reply.answer.strip().splitlines()[0] in text
    for expected in (SHA, "Fin-R1.Q4_K_M.gguf", "Q4_K_M", "temperature 0.7", "4242", "0.1.0",
                     "2025-05-01T10:00:00+0800", "21.5 tok/s", "finished"):
        assert expected in text
    assert f"**Final answer:** {reply.final}" in text


def test_the_reasoning_can_be_left_out(saved: tuple[Conversation, Conversation]) -> None:
    compliance, _ = saved
    first_thought = parse_text(COMPLIANCE).think.strip().splitlines()[0]
    for export_format in ("md", "html"):
        text = export_text(compliance, SCENARIOS, export_format, include_think=False)
        assert first_thought[:40] not in text
        assert "Reasoning omitted" in text


def test_html_is_standalone_with_math_badges_and_a_provenance_table(
        saved: tuple[Conversation, Conversation]) -> None:
    compliance, calculation = saved
    page = conversation_html(calculation, SCENARIOS)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<math" in page  # the loan formula typeset as MathML
    assert '<table class="provenance">' in page and SHA in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:|url\(|@import", page)
    assert "<script" not in page
    assert 'class="badge badge-verdict' in conversation_html(compliance, SCENARIOS)


def test_chinese_labels(saved: tuple[Conversation, Conversation]) -> None:
    compliance, _ = saved
    text = conversation_markdown(compliance, SCENARIOS, language="zh")
    assert "来源信息" in text and "模型 SHA-256" in text and "第 1 轮" in text
    assert SCENARIOS["compliance"].title["zh"] in text
    page = conversation_html(compliance, SCENARIOS, language="zh")
    assert "不合规" in page and "Non-compliant" not in page  # the verdict badge too


def test_an_unknown_format_or_language_is_refused(
        saved: tuple[Conversation, Conversation]) -> None:
    compliance, _ = saved
    with pytest.raises(ExportError):
        export_text(compliance, SCENARIOS, "docx")
    with pytest.raises(ExportError):
        conversation_markdown(compliance, SCENARIOS, language="fr")


def test_a_file_that_cannot_be_written_gives_an_export_error_and_no_file(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    with pytest.raises(ExportError):
        write_export("text", blocked / "out.md")


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "FINR1_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(finr1_command(*args), cwd=REPO_ROOT, env=environment,
                          capture_output=True, text=True, timeout=180, check=False)


def test_the_cli_lists_conversations_as_json_with_their_model_hash(
        home: Path, saved: tuple[Conversation, Conversation]) -> None:
    completed = cli(home, "history", "list", "--json")
    assert completed.returncode == 0, completed.stderr
    listed = json.loads(completed.stdout)
    assert {item["id"] for item in listed} == {saved[0].id, saved[1].id}
    first = next(item for item in listed if item["id"] == saved[0].id)
    assert first["title"] == "Structuring deposits" and first["scenario"] == "compliance"
    assert first["model_sha256"] == SHA and first["updated_at"]
    searched = json.loads(cli(home, "history", "list", "--json", "--search", "loan").stdout)
    assert [item["id"] for item in searched] == [saved[1].id]
    text = cli(home, "history", "list").stdout
    assert "Structuring deposits" in text and SHA[:12] in text


def test_the_cli_exports_markdown_and_html(home: Path, tmp_path: Path,
                                           saved: tuple[Conversation, Conversation]) -> None:
    compliance, _ = saved
    for export_format in ("md", "html"):
        output = tmp_path / f"out.{export_format}"
        completed = cli(home, "export", str(compliance.id), "--format", export_format,
                        "-o", str(output))
        assert completed.returncode == 0, completed.stderr
        assert SHA in output.read_text(encoding="utf-8")
    missing = cli(home, "export", "999", "--format", "md", "-o", str(tmp_path / "none.md"))
    assert missing.returncode == 2 and "finr1 history list" in missing.stderr
    assert not (tmp_path / "none.md").exists()


def test_the_cli_prints_a_pdf_with_the_provenance_and_reasoning(
        home: Path, tmp_path: Path, saved: tuple[Conversation, Conversation]) -> None:
    _, calculation = saved
    output = tmp_path / "calculation.pdf"
    completed = cli(home, "export", str(calculation.id), "--format", "pdf", "-o", str(output))
    assert completed.returncode == 0, completed.stderr
    assert output.read_bytes().startswith(b"%PDF")
    text = pdf_text(output)
    assert SHA[:16] in text.replace("\n", "").replace(" ", "")
    assert "reasoning" in text.lower() and "provenance" in text.lower()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def pdf_text(path: Path) -> str:
    """All text of a PDF, read with QtPdf in a separate process (no Qt in this one)."""
    script = ("import sys\nfrom PySide6.QtGui import QGuiApplication\n"
              "from PySide6.QtPdf import QPdfDocument\napp = QGuiApplication([])\n"
              "document = QPdfDocument()\ndocument.load(sys.argv[1])\n"
              "print('\\n'.join(document.getAllText(page).text() "
              "for page in range(document.pageCount())))\n")
    completed = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                               text=True, timeout=60, check=True,
                               env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    return completed.stdout
