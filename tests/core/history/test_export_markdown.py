"""Exports: form values and provenance shown literally in Markdown tables, and
every generation setting and context loss in the provenance block."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

from app.core.engine.config import GenerationSettings
from app.core.history.export import conversation_html, conversation_markdown
from app.core.history.store import Conversation, HistoryStore
from app.core.scenarios.scenario_file import load_scenarios

SCENARIOS = {scenario.id: scenario for scenario in load_scenarios()}
INJECTED = '<img src="x" onerror="alert(1)">'
VALUE = f"Deposits of 49,000\r\nthen 48,500 | {INJECTED}"


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def saved_turn(store: HistoryStore, *, form_values: dict[str, str] | None = None,
               metrics: dict[str, object] | None = None) -> Conversation:
    conversation_id = store.create_conversation("Structuring", "compliance")
    sampling = dataclasses.asdict(GenerationSettings(repeat_last_n=256, seed=11))
    turn_id = store.begin_turn(conversation_id, "Is this structuring?", scenario_id="compliance",
                               form_values=form_values, provenance={"sampling": sampling})
    store.finish_turn(turn_id, reply_text="<think>t</think>No.", think="t", answer="No.",
                      finish_reason="stop", metrics=metrics)
    return store.conversation(conversation_id)


class TableCells(HTMLParser):
    """The cells of every table row in an HTML page: (text, tags met inside the cell)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, list[str]]]] = []
        self._cell: tuple[list[str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = ([], [])
        elif self._cell is not None:
            self._cell[1].append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(("".join(self._cell[0]), self._cell[1]))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[0].append(data)


def rendered_rows(text: str) -> list[list[tuple[str, list[str]]]]:
    """The table body rows of a Markdown document as a Markdown reader (Python-Markdown) draws
    them."""
    cells = TableCells()
    cells.feed(markdown.markdown(text, extensions=["tables"]))
    return [row for row in cells.rows if row]


def test_a_form_value_with_line_breaks_pipes_and_html_stays_one_literal_table_cell(
        store: HistoryStore) -> None:
    conversation = saved_turn(store, form_values={"description": VALUE})
    form_row = rendered_rows(conversation_markdown(conversation, SCENARIOS))[0]
    assert len(form_row) == 2
    text, tags = form_row[1]
    assert text == f"Deposits of 49,000then 48,500 | {INJECTED}"
    assert tags == ["br"]


def test_provenance_names_the_repeat_window_and_dropped_context_in_both_formats(
        store: HistoryStore) -> None:
    conversation = saved_turn(store, metrics={"prompt_tokens": 2000, "dropped_messages": 3,
                                              "seed": 11})
    for document in (conversation_markdown(conversation, SCENARIOS),
                     conversation_html(conversation, SCENARIOS)):
        assert "repeat_last_n 256" in document
        assert "3 earlier messages left out" in document
