"""The history: a model hash fills only the turns recorded while it was being
computed, and ``finr1 history`` reports a person's mistakes as one line."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from app.core.chat.rich_text import RichTextRenderer
from app.core.chat.session import ChatSession
from app.core.engine.config import GenerationSettings
from app.core.history.provenance import ModelProvenance
from app.core.history.recorder import HistoryRecorder
from app.core.history.store import HistoryStore
from tests.support.cli_process import REPO_ROOT, finr1_command

SAMPLING = GenerationSettings(temperature=0.0, max_new_tokens=64)


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def unhashed_model(path: Path) -> ModelProvenance:
    return ModelProvenance(str(path), path.name, None, "Q4_K_M", 1234, None)


def ask(store: HistoryStore, model: ModelProvenance, question: str
        ) -> tuple[int, HistoryRecorder]:
    """One app run's recorder beginning a turn with ``model``: the turn's id and the recorder."""
    recorder = HistoryRecorder(store)
    recorder.model = model
    turn = ChatSession(RichTextRenderer()).start_turn(question, 0.0)
    return recorder.turn_started("chat", turn, standalone=False, replaced=None,
                                 sampling=SAMPLING), recorder


def test_a_hash_does_not_reach_turns_of_an_earlier_run_whose_file_was_never_hashed(
        store: HistoryStore, tmp_path: Path) -> None:
    model_path = tmp_path / "Fin-R1.Q4_K_M.gguf"
    earlier_turn, _closed_before_hashing = ask(store, unhashed_model(model_path), "yesterday")
    current_turn, recorder = ask(store, unhashed_model(model_path), "today")
    recorder.model_identified(dataclasses.replace(unhashed_model(model_path), sha256="ab" * 32))
    hashes = {turn.id: turn.provenance["model_sha256"]
              for summary in store.conversations()
              for turn in store.conversation(summary.id).turns}
    assert hashes == {earlier_turn: None, current_turn: "ab" * 32}


def test_the_cli_refuses_an_empty_title_with_one_line_and_status_2(
        store: HistoryStore, tmp_path: Path) -> None:
    conversation_id = store.create_conversation("Loan question")
    completed = subprocess.run(
        finr1_command("history", "rename", str(conversation_id), "  "),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "FINR1_HOME": str(tmp_path)})
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        "finr1: error: a conversation's title cannot be empty; give it some text"]
    assert store.conversation(conversation_id).title == "Loan question"


def test_search_matches_what_was_typed_into_a_form_not_its_field_names(
        store: HistoryStore) -> None:
    risk = store.create_conversation("Credit review", "risk")
    store.begin_turn(risk, "Assess the borrower", scenario_id="risk",
                     form_values={"profile": "SME, 12 staff", "loan": "2,000,000 yuan",
                                  "notes": 'collateral: "Pudong" flat\nC:\\deeds'})
    assert store.conversations("loan") == []
    assert [summary.id for summary in store.conversations('"Pudong" flat')] == [risk]
    assert [summary.id for summary in store.conversations("C:\\deeds")] == [risk]
