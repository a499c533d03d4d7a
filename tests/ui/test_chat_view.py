"""The chat view (Qt WebEngine, offscreen) fed scripted Fin-R1 replies: every section is drawn,
streaming touches only the block being written, the page's buttons reach Python, and the page
reaches no network. One page serves the whole module (Chromium is heavy on a small machine)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from app.core.chat.labels import chat_labels
from app.core.chat.rich_text import RichTextRenderer
from app.core.chat.session import ChatSession
from app.ui.chat.page import ChatPage, private_profile
from app.ui.chat.view import ChatView
from tests.support.fin_r1_replies import CALCULATION, CODE, COMPLIANCE, TRUNCATED
from tests.support.qt_wait import wait_until
from tests.support.ui_support import LIST_MARKER_ROOM_JS, Replay, dispose, evaluate, inspect, play


@pytest.fixture(scope="module")
def view(qapp: Any) -> Iterator[ChatView]:
    chat_view = ChatView()
    chat_view.resize(900, 700)
    chat_view.show()
    wait_until(lambda: chat_view.is_ready, 60, "the chat page to load")
    yield chat_view
    chat_view.close()
    dispose(chat_view)


@pytest.fixture
def session(view: ChatView) -> ChatSession:
    """A fresh conversation on a cleared page."""
    fresh = ChatSession(RichTextRenderer())
    view.apply(fresh.snapshot())
    return fresh


@pytest.fixture
def actions(view: ChatView) -> Iterator[list[tuple[str, str, str]]]:
    received: list[tuple[str, str, str]] = []

    def record(name: str, message_id: str, payload: str) -> None:
        received.append((name, message_id, payload))

    view.action_requested.connect(record)
    yield received
    view.action_requested.disconnect(record)


def test_a_compliance_reply_shows_folded_reasoning_and_an_answer_card(
        view: ChatView, session: ChatSession) -> None:
    play(view, session, COMPLIANCE)
    [reply] = inspect(view)
    assert reply["status"] == "done"
    assert reply["think"]["shown"] and not reply["think"]["open"]
    assert reply["think"]["label"].startswith("Thought for ")
    assert reply["think"]["label"].endswith(" tokens")
    assert "structuring" in reply["think"]["text"]
    answer = reply["answer"]
    assert answer["shown"] and answer["tables"] == 1 and answer["listItems"] == 3
    assert answer["openBlocks"] == 0
    assert reply["final"] == "No"
    assert "tok/s" in reply["metrics"] and "answer" in reply["metrics"]


def test_math_is_typeset_inline_and_displayed_with_the_boxed_result(
        view: ChatView, session: ChatSession) -> None:
    play(view, session, CALCULATION)
    answer = inspect(view)[0]["answer"]
    assert answer["displayMath"] >= 2 and answer["math"] >= 6
    assert "\\frac" not in answer["text"] and "$$" not in answer["text"]
    assert answer["chips"] == 1
    assert "1,933.28" in inspect(view)[0]["final"]


def test_code_is_highlighted_with_copy_and_save_buttons(view: ChatView, session: ChatSession,
                                                         actions: list[tuple[str, str, str]]) -> None:
    turn = play(view, session, CODE)
    answer = inspect(view)[0]["answer"]
    assert answer["code"] == 1 and answer["codeButtons"] == 1 and answer["highlighted"] > 50
    evaluate(view, "document.querySelector('div.code .act-copy_code').click()")
    wait_until(lambda: actions, 10, "the copy click to reach Python")
    name, message_id, payload = actions[0]
    assert (name, message_id) == ("copy_code", turn.message_id)
    assert payload.startswith("import numpy as np\nimport matplotlib.pyplot as plt\n")


def test_while_thinking_the_block_is_open_with_a_live_label(view: ChatView,
                                                            session: ChatSession) -> None:
    Replay(view, session, COMPLIANCE).advance(30)
    [reply] = inspect(view)
    assert reply["status"] == "streaming"
    assert reply["think"]["shown"] and reply["think"]["open"]
    assert reply["think"]["label"].startswith("Thinking… ")
    assert not reply["answer"]["shown"]


def test_streaming_replaces_only_the_block_being_written(view: ChatView,
                                                        session: ChatSession) -> None:
    replay = Replay(view, session, COMPLIANCE).advance(230)
    marked = evaluate(view, """(() => {
        const blocks = document.querySelectorAll('.answer-body .block:not(.open) > *');
        blocks.forEach((node) => { node.__kept = true; });
        return blocks.length; })()""")
    assert marked >= 2, "some answer blocks are finished by now"
    replay.finish()
    kept = evaluate(view, """[...document.querySelectorAll('.answer-body .block > *')]
        .filter((node) => node.__kept).length""")
    assert kept == marked


def test_list_numbers_of_any_width_are_drawn_whole(view: ChatView, session: ChatSession) -> None:
    twelve = "\n".join(f"{number}. Step {number} of the plan" for number in range(1, 13))
    hundred_five = "\n".join(f"{number}. Item {number}" for number in range(1, 106))
    play(view, session, f"<think>\nListing.\n</think>\n\nSteps:\n\n{twelve}\n\n"
                        f"Items:\n\n{hundred_five}\n\nDone.")
    lists = json.loads(evaluate(view, LIST_MARKER_ROOM_JS))
    assert [marker["widest"] for marker in lists] == ["12. ", "105. "]
    for marker in lists:
        assert marker["need"] <= marker["room"], marker  # else the block cuts "10." to "0."


def test_clicking_the_folded_reasoning_opens_it(view: ChatView, session: ChatSession) -> None:
    play(view, session, COMPLIANCE)
    evaluate(view, "document.querySelector('.think > summary').click()")
    assert inspect(view)[0]["think"]["open"]


def test_reasoning_cut_off_at_the_limit_is_labelled_and_offers_continue(
        view: ChatView, session: ChatSession, actions: list[tuple[str, str, str]]) -> None:
    turn = play(view, session, TRUNCATED, finish_reason="length")
    [reply] = inspect(view)
    assert "cut off" in reply["truncated"]
    assert reply["think"]["label"].endswith("cut off")
    evaluate(view, "document.querySelector('.truncated .act-continue').click()")
    wait_until(lambda: actions, 10, "the continue click to reach Python")
    assert actions[0] == ("continue", turn.message_id, "")


def test_a_reasoning_the_model_ended_itself_is_labelled_without_continue(
        view: ChatView, session: ChatSession) -> None:
    play(view, session, TRUNCATED, finish_reason="stop")
    [reply] = inspect(view)
    assert reply["truncated"] == "The reply ended inside its reasoning, without an answer."
    assert evaluate(view, "document.querySelector('.truncated .act-continue').hidden") is True


def test_edit_and_regenerate_buttons_reach_python(view: ChatView, session: ChatSession,
                                                  actions: list[tuple[str, str, str]]) -> None:
    turn = play(view, session, CALCULATION, question="What is the monthly repayment?")
    evaluate(view, "document.querySelector('.user .act-edit').click();"
                   "document.querySelector('.act-regenerate').click()")
    wait_until(lambda: len(actions) == 2, 10, "both clicks to reach Python")
    assert actions == [("edit", turn.message_id, ""), ("regenerate", turn.message_id, "")]


def test_the_page_follows_the_theme(view: ChatView, session: ChatSession) -> None:
    view.set_theme("dark")
    assert evaluate(view, "document.documentElement.dataset.theme") == "dark"
    view.set_theme("light")
    assert evaluate(view, "document.documentElement.dataset.theme") == "light"


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _CountingHandler.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    _CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_chat_page_reaches_no_server(view: ChatView, session: ChatSession,
                                         local_server: str) -> None:
    evaluate(view, f"""window.networkProbe = {{ended: []}};
        {{
            const ended = name => () => networkProbe.ended.push(name);
            const image = document.createElement('img');
            image.onload = image.onerror = ended('image');
            image.src = '{local_server}/image.png';
            const sheet = document.createElement('link');
            sheet.rel = 'stylesheet';
            sheet.onload = sheet.onerror = ended('sheet');
            sheet.href = '{local_server}/s.css';
            image.className = sheet.className = 'network-probe';
            document.body.append(image, sheet);
            fetch('{local_server}/fetch').then(ended('fetch'), ended('fetch'));
        }}
        true""")
    # the page hears of each outcome only once its request was refused, blocked or answered
    wait_until(lambda: evaluate(view, "networkProbe.ended.length") == 3, 10, "the requests to end")
    assert _CountingHandler.requests == []
    evaluate(view, "document.querySelectorAll('.network-probe').forEach(node => node.remove())")


def test_the_web_profile_blocks_requests_even_without_the_pages_policy(
        qapp: Any, local_server: str) -> None:
    profile, blocker = private_profile()
    page = ChatPage(profile)
    loaded: list[bool] = []
    page.loadFinished.connect(loaded.append)
    page.setHtml(f'<img src="{local_server}/no-policy.png">')
    wait_until(lambda: loaded, 30, "the bare page to load")
    assert _CountingHandler.requests == []
    assert f"{local_server}/no-policy.png" in blocker.blocked
    dispose(page)


def test_a_chinese_window_draws_the_page_and_its_replies_in_chinese(view: ChatView) -> None:
    chinese = ChatSession(RichTextRenderer(), labels=chat_labels("zh_CN"))
    view.set_labels(chat_labels("zh_CN"))
    try:
        view.apply(chinese.snapshot())
        play(view, chinese, CALCULATION)
        [reply] = inspect(view)
        assert reply["think"]["label"].startswith("已思考 ")
        assert "词元/秒" in reply["metrics"]
        buttons = evaluate(view, "[...document.querySelectorAll('.meta .act')]"
                                 ".map((b) => b.textContent).join('|')")
        assert buttons == "复制答案|重新生成"
        assert evaluate(view, "document.querySelector('.final-label').textContent") == "最终答案"
    finally:
        view.set_labels(chat_labels("en"))
    assert evaluate(view, "document.querySelector('.act-regenerate').textContent") == "Regenerate"
