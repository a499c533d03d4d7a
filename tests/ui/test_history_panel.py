"""The history sidebar, offscreen, on a real history database: listing newest first, search,
rename, delete, reopen requests, and exports to Markdown, HTML and PDF written with their
provenance."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import tests.support.ui_support  # noqa: F401  (prepares Qt for offscreen use before the application exists)
from app.core.history.store import HistoryStore
from app.core.reasoning.parser import parse_text
from app.core.scenarios.scenario_file import load_scenarios
from app.ui.history.history_panel import HistoryPanel
from tests.support.fin_r1_replies import CALCULATION, COMPLIANCE
from tests.support.qt_wait import wait_until

SCENARIOS = {scenario.id: scenario for scenario in load_scenarios()}
SHA = "ab" * 32


def save(store: HistoryStore, title: str, text: str, scenario_id: str | None) -> int:
    conversation_id = store.create_conversation(title, scenario_id)
    turn_id = store.begin_turn(conversation_id, title, scenario_id=scenario_id,
                               provenance={"model_sha256": SHA, "model_file": "m.gguf",
                                           "model_quant": "Q4_K_M", "app_version": "0.1.0",
                                           "time": "2025-05-01T10:00:00+0800",
                                           "sampling": {"temperature": 0.7}})
    reply = parse_text(text)
    store.finish_turn(turn_id, reply_text=text, think=reply.think, answer=reply.answer,
                      finish_reason="stop", metrics={"tokens_per_s": 20.0})
    time.sleep(0.01)
    return conversation_id


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


@pytest.fixture
def panel(qtbot: object, store: HistoryStore) -> HistoryPanel:
    save(store, "Structuring deposits", COMPLIANCE, "compliance")
    save(store, "Loan repayment", CALCULATION, "calculation")
    widget = HistoryPanel(store, SCENARIOS)
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    widget.show()
    widget.refresh()
    wait_until(lambda: widget.list.count() == 2, 10)
    return widget


def test_conversations_are_listed_newest_first_with_their_scenario(panel: HistoryPanel) -> None:
    assert panel.titles() == ["Loan repayment", "Structuring deposits"]
    assert SCENARIOS["calculation"].title["en"] in panel.list.item(0).text()
    assert SHA in panel.list.item(0).toolTip()


def test_search_narrows_the_list(qtbot: object, panel: HistoryPanel) -> None:
    panel.search_box.setText("structuring")
    wait_until(lambda: panel.titles() == ["Structuring deposits"], 10)
    panel.search_box.setText("nothing like this at all")
    wait_until(lambda: panel.list.count() == 0, 10)
    assert panel.empty_label.text() == "Nothing matches."


def test_rename_and_delete_change_the_store(qtbot: object, panel: HistoryPanel,
                                            store: HistoryStore) -> None:
    first = store.conversations()[0].id
    panel.rename(first, "Renamed")
    wait_until(lambda: "Renamed" in panel.titles(), 10)
    panel.delete(first)
    wait_until(lambda: panel.list.count() == 1, 10)
    assert [c.title for c in store.conversations()] == ["Structuring deposits"]


def test_opening_asks_the_window_to_show_the_conversation(panel: HistoryPanel,
                                                          store: HistoryStore) -> None:
    asked: list[int] = []
    panel.open_requested.connect(asked.append)
    panel.list.item(1).setSelected(True)
    panel.open_button.click()
    assert asked == [store.conversations()[1].id]


@pytest.mark.parametrize("export_format", ["md", "html", "pdf"])
def test_exports_are_written_with_their_provenance(qtbot: object, panel: HistoryPanel,
                                                   store: HistoryStore, tmp_path: Path,
                                                   export_format: str) -> None:
    target = tmp_path / f"export.{export_format}"
    messages: list[str] = []
    panel.status.connect(messages.append)
    panel.export(store.conversations()[0].id, export_format, target)
    wait_until(lambda: messages, 90)
    assert messages == [f"Exported to {target}"]
    content = target.read_bytes()
    if export_format == "pdf":
        assert content.startswith(b"%PDF") and len(content) > 5000
    else:
        assert SHA.encode() in content and b"Q4_K_M" in content
