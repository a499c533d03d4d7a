"""How a Fin-R1 reply goes out over the API: inline as vLLM returns it, or with the reasoning
apart (``reasoning_format``). Replies written the way Fin-R1 writes them, streamed through the
real reasoning parser in token-sized pieces (``scripted_chunks``); only the model is left out."""

from __future__ import annotations

import pytest

from app.core.engine.scripted_stream import scripted_chunks
from app.core.reasoning.parser import parse_text
from app.core.serve import protocol
from tests.support.fin_r1_replies import COMPLIANCE, COMPLIANCE_ZH, TRUNCATED


@pytest.mark.parametrize("reply", [COMPLIANCE, COMPLIANCE_ZH, TRUNCATED])
def test_by_default_the_content_is_the_reply_exactly_as_the_model_wrote_it(reply: str) -> None:
    message = protocol.chat_message(scripted_chunks(reply), "none")  # type: ignore[arg-type]
    assert message == {"role": "assistant", "content": reply}


@pytest.mark.parametrize("reply", [COMPLIANCE, COMPLIANCE_ZH, TRUNCATED])
def test_deepseek_format_puts_the_reasoning_apart_and_the_answer_in_the_content(
        reply: str) -> None:
    parsed = parse_text(reply)
    message = protocol.chat_message(scripted_chunks(reply), "deepseek")  # type: ignore[arg-type]
    assert message["reasoning_content"] == parsed.think
    assert message["content"] == parsed.answer
    assert "<think>" not in message["content"] and "</answer>" not in message["content"]


@pytest.mark.parametrize("reasoning_format", ["none", "deepseek"])
def test_streamed_deltas_add_up_to_the_whole_message(reasoning_format: str) -> None:
    streamed: dict[str, str] = {"content": "", "reasoning_content": ""}
    for chunk in scripted_chunks(COMPLIANCE_ZH, chars_per_token=3):
        delta = protocol.chat_delta(chunk.text, chunk.events, reasoning_format)  # type: ignore[arg-type]
        assert all(delta.values()), "no empty pieces are sent"
        for key, text in delta.items():
            streamed[key] += text
    whole = protocol.chat_message(scripted_chunks(COMPLIANCE_ZH), reasoning_format)  # type: ignore[arg-type]
    assert streamed["content"] == whole["content"]
    assert (streamed["reasoning_content"] or None) == whole.get("reasoning_content")


def test_sse_events_are_utf8_json_lines_and_the_done_marker() -> None:
    event = protocol.sse_event({"content": "是否合规"})
    assert event == 'data: {"content":"是否合规"}\n\n'.encode()
    assert protocol.sse_event("[DONE]") == b"data: [DONE]\n\n"
