"""The exported HTML (which the PDF export prints) laid out by Qt WebEngine, offscreen: an
ordered list's numbers, however wide, stay inside the list's own indent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.history.export import conversation_html
from app.core.history.store import HistoryStore
from app.core.reasoning.parser import parse_text
from tests.support.qt_wait import wait_until
from tests.support.ui_support import LIST_MARKER_ROOM_JS, dispose


def _numbered(first: int, last: int, word: str) -> str:
    return "\n".join(f"{number}. {word} {number}" for number in range(first, last + 1))


REPLY = (f"<think>\nListing.\n</think>\n\nSteps:\n\n{_numbered(1, 12, 'Step')}\n\n"
         f"Items:\n\n{_numbered(1, 105, 'Item')}\n\nFar on:\n\n{_numbered(99998, 100002, 'Far')}")


@pytest.fixture
def exported_page(qapp: Any, tmp_path: Path) -> Iterator[Any]:
    """The HTML export of a conversation whose answer holds the lists of ``REPLY``, loaded."""
    from PySide6.QtCore import QUrl
    from PySide6.QtWebEngineCore import QWebEnginePage

    from app.ui.chat.page import private_profile

    with HistoryStore(tmp_path / "history.sqlite3") as store:
        conversation_id = store.create_conversation("Lists", None)
        turn_id = store.begin_turn(conversation_id, "Number them", provenance={})
        reply = parse_text(REPLY)
        store.finish_turn(turn_id, reply_text=REPLY, think=reply.think, answer=reply.answer,
                          finish_reason="stop", shown_tokens=400, metrics={})
        conversation = store.conversation(conversation_id)
    document = tmp_path / "conversation.html"
    document.write_text(conversation_html(conversation, {}), encoding="utf-8")
    profile, _blocker = private_profile()
    page = QWebEnginePage(profile)
    loaded: list[bool] = []
    page.loadFinished.connect(loaded.append)
    page.load(QUrl.fromLocalFile(str(document)))
    wait_until(lambda: loaded, 30, "the export to load")
    yield page
    dispose(page)


def test_exported_list_numbers_of_any_width_stay_inside_the_list(exported_page: Any) -> None:
    result: list[str] = []
    exported_page.runJavaScript(LIST_MARKER_ROOM_JS, 0, result.append)
    lists = json.loads(wait_until(lambda: result, 10, "the page to measure its lists")[0])
    assert [marker["widest"] for marker in lists] == ["12. ", "105. ", "100002. "]
    for marker in lists:
        assert marker["need"] <= marker["room"], marker
