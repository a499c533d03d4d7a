"""The remote engine against real HTTP servers on 127.0.0.1: recorded vLLM / Ollama / llama.cpp
streams replayed (tests/support/openai_replay_server.py), and llama-cpp-python's own server on SmolLM2
(tests/support/llama_server.py). Never a real model's exact words: only properties of any reply."""

from __future__ import annotations

import inspect
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import app.core.engine.remote_engine as remote
from app.core.engine.api import Engine
from app.core.engine.config import GenerationSettings
from app.core.engine.local_engine import ChatEngine, EngineBusyError
from app.core.engine.remote_engine import REMOTE_TOKEN, RemoteEngine
from app.core.engine.server_connection import ServerConnection
from app.core.errors import (
    ServerAuthError,
    ServerDroppedError,
    ServerModelNotFoundError,
    ServerResponseError,
    ServerTimeoutError,
    ServerUnreachableError,
)
from app.core.reasoning.parser import (
    AnswerText,
    BoxedFound,
    Done,
    ThinkEnded,
    ThinkStarted,
    ThinkText,
    parse_text,
)
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from foundation.jobs import CancelToken
from tests.support.llama_server import LlamaServer, free_port
from tests.support.openai_replay_server import ReplayServer, Reply
from tests.support.recorded_streams import ANSWER, FORMATS, INLINE, REASONING, vllm_body

QUESTION = [ChatMessage("user", "A share costs 50 and earns 2 a year. What is its P/E ratio?")]
FAST = GenerationSettings(max_new_tokens=64, seed=7)
STOP_WITHIN_S = 5.0  # a stop must end the stream long before a stalled server would go on


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


def engine_for(server: ReplayServer, **options: object) -> RemoteEngine:
    return RemoteEngine(ServerConnection(server.url, **options))  # type: ignore[arg-type]


def collect(engine: RemoteEngine, settings: GenerationSettings = FAST,
            cancel: CancelToken | None = None, conversation: list[ChatMessage] | None = None,
            **options: object) -> tuple[list, object]:
    stream = engine.stream_chat(conversation or QUESTION, settings, cancel, **options)  # type: ignore[arg-type]
    chunks = list(stream)
    return chunks, stream.result


def event_kinds(chunks: list) -> list[str]:
    """The events' kinds in order, runs of the same kind collapsed."""
    kinds: list[str] = []
    for chunk in chunks:
        for event in chunk.events:
            if not kinds or kinds[-1] != type(event).__name__:
                kinds.append(type(event).__name__)
    return kinds


# -- one reply format whatever the server sends ---------------------------------------------------

@pytest.mark.parametrize("name", FORMATS)
def test_every_reasoning_format_gives_the_same_sections_and_events(
        replay: ReplayServer, name: str) -> None:
    replay.script(Reply(FORMATS[name]))
    with engine_for(replay) as engine:
        chunks, result = collect(engine)
    expected = parse_text("".join(INLINE))
    assert result.reply == expected
    assert result.reply.think == "The P/E ratio is price over earnings: 50 / 2 = 25."
    assert result.reply.boxed == ["25"]
    assert event_kinds(chunks) == [ThinkStarted.__name__, ThinkText.__name__, ThinkEnded.__name__,
                                   AnswerText.__name__, BoxedFound.__name__, AnswerText.__name__,
                                   Done.__name__]
    assert parse_text(result.text) == expected  # the stored text reads back the same
    assert result.text == "".join(chunk.text for chunk in chunks)
    assert result.finish_reason == "stop"


def test_a_separate_reasoning_field_is_stored_as_think_tags_before_the_content(
        replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"]))
    with engine_for(replay) as engine:
        _chunks, result = collect(engine)
    assert result.text == "<think>\n" + "".join(REASONING) + "\n</think>\n\n" + "".join(ANSWER)


def test_a_delta_with_both_reasoning_fields_is_not_read_twice(replay: ReplayServer) -> None:
    body = re.sub(r'\{"reasoning_content":("[^"]*")\}', r'{"reasoning":\1,"reasoning_content":\1}',
                  vllm_body("reasoning_content"))
    assert body.count('"reasoning":"The","reasoning_content":"The"') == 1
    replay.script(Reply(body))
    with engine_for(replay) as engine:
        _chunks, result = collect(engine)
    assert result.reply.think == "The P/E ratio is price over earnings: 50 / 2 = 25."


def test_chunks_stream_one_per_event_without_token_ids(replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning_content"]))
    seen: list = []
    with engine_for(replay) as engine:
        chunks, _result = collect(engine, on_token=seen.append)
    assert seen == chunks
    assert len(chunks) == len(REASONING) + len(ANSWER) + 1
    assert all(chunk.token == REMOTE_TOKEN for chunk in chunks[:-1])
    assert chunks[-1].token is None and chunks[-1].text == ""


# -- what is sent, what is measured ---------------------------------------------------------------

def test_the_request_carries_the_model_the_sampling_and_the_history_without_reasoning(
        replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"]))
    settings = GenerationSettings(system_prompt="Be brief.", temperature=0.3, top_p=0.9, top_k=0,
                                  min_p=0.05, repeat_penalty=1.1, max_new_tokens=40, seed=123)
    conversation = [ChatMessage("user", "Hi"),
                    ChatMessage("assistant", "<think>\nsecret steps\n</think>\n<answer>Hello</answer>"),
                    ChatMessage("user", "P/E?")]
    with engine_for(replay) as engine:
        collect(engine, settings, conversation=conversation)
    sent = replay.requests[0]
    assert sent["model"] == "Fin-R1" and sent["stream"] is True
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<answer>Hello</answer>"},
        {"role": "user", "content": "P/E?"}]
    assert {key: sent[key] for key in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty",
                                       "repetition_penalty", "max_tokens", "seed")} == {
        "temperature": 0.3, "top_p": 0.9, "top_k": -1, "min_p": 0.05, "repeat_penalty": 1.1,
        "repetition_penalty": 1.1, "max_tokens": 40, "seed": 123}
    assert sent["stream_options"] == {"include_usage": True}


def test_metrics_take_the_servers_token_counts_and_time_the_stream(replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning_content"]))
    with engine_for(replay) as engine:
        _chunks, result = collect(engine)
    metrics = result.metrics
    assert metrics.prompt_tokens == 38 and metrics.completion_tokens == len(INLINE)
    assert metrics.seed == 7 and metrics.dropped_messages == 0
    assert metrics.ttft_s is not None and metrics.ttft_s >= 0
    # The event that closes the reasoning counts to it, as the local engine counts "</think>".
    assert metrics.think_tokens == len(REASONING) + 1
    assert metrics.answer_tokens == len(ANSWER) - 1
    assert result.prompt_messages[-1] == QUESTION[-1]


def test_without_usage_the_tokens_are_counted_from_the_events(replay: ReplayServer) -> None:
    replay.script(Reply(vllm_body("reasoning", usage=False)))
    with engine_for(replay) as engine:
        _chunks, result = collect(engine)
    assert result.metrics.completion_tokens == len(REASONING) + len(ANSWER)
    assert result.metrics.prompt_tokens == 0


def test_a_reply_cut_at_the_limit_ends_with_length(replay: ReplayServer) -> None:
    replay.script(Reply(vllm_body("reasoning", finish="length")))
    with engine_for(replay) as engine:
        _chunks, result = collect(engine)
    assert result.finish_reason == "length"


def test_a_continued_reasoning_is_not_opened_twice(replay: ReplayServer) -> None:
    prefix = "<think>\nThe P/E ratio"
    body = vllm_body("reasoning").replace('{"reasoning":"The"}', '{"reasoning":""}')
    body = body.replace('{"reasoning":" P"}', '{"reasoning":""}').replace(
        '{"reasoning":"/E"}', '{"reasoning":""}').replace('{"reasoning":" ratio"}',
                                                         '{"reasoning":""}')
    replay.script(Reply(body))
    with engine_for(replay) as engine:
        chunks, result = collect(engine, reply_prefix=prefix)
    assert not any(isinstance(event, ThinkStarted) for chunk in chunks for event in chunk.events)
    assert result.reply.think == "The P/E ratio is price over earnings: 50 / 2 = 25."
    assert result.text.count("<think>") == 1
    sent = replay.requests[0]
    assert sent["messages"][-1] == {"role": "assistant", "content": prefix}
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False


# -- the server misbehaves: a sentence, the partial reply kept --------------------------------------

def test_a_server_that_dies_mid_reply_raises_dropped_with_the_partial_reply(
        replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning_content"], drop_after=8))
    received: list[str] = []
    with engine_for(replay) as engine:
        stream = engine.stream_chat(QUESTION, FAST)
        with pytest.raises(ServerDroppedError) as caught:
            for chunk in stream:
                received.append(chunk.text)
    assert len(received) == 7  # the role-only event carries no text
    assert caught.value.partial_text == "".join(received)
    assert replay.url in str(caught.value) and "reply so far is kept" in str(caught.value)


def test_a_stream_that_ends_without_finish_or_done_is_dropped(replay: ReplayServer) -> None:
    body = "\n\n".join(FORMATS["vllm-reasoning"].split("\n\n")[:10]) + "\n\n"
    replay.script(Reply(body))
    with engine_for(replay) as engine, pytest.raises(ServerDroppedError) as caught:
        collect(engine)
    assert caught.value.partial_text == "<think>\n" + "".join(REASONING[:9])


def test_a_reply_the_server_aborts_is_dropped(replay: ReplayServer) -> None:
    replay.script(Reply(vllm_body("reasoning", finish="abort")))
    with engine_for(replay) as engine, pytest.raises(ServerDroppedError, match="abort"):
        collect(engine)


def test_a_silent_server_times_out_keeping_the_partial_reply(replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"], stall_after=4))
    with engine_for(replay, timeout_s=0.5) as engine, pytest.raises(ServerTimeoutError) as caught:
        collect(engine)
    assert caught.value.partial_text == "<think>\n" + "".join(REASONING[:3])
    assert "0.5 s" in str(caught.value)


def test_an_error_event_mid_stream_quotes_the_server(replay: ReplayServer) -> None:
    events = FORMATS["vllm-reasoning"].split("\n\n")
    error = 'data: {"error":{"object":"error","message":"CUDA out of memory","type":"Internal' \
            'ServerError","param":null,"code":500}}'
    replay.script(Reply("\n\n".join([*events[:3], error]) + "\n\n"))
    with engine_for(replay) as engine, pytest.raises(ServerResponseError) as caught:
        collect(engine)
    assert "CUDA out of memory" in str(caught.value)
    assert caught.value.partial_text == "<think>\nThe P"


def test_a_stop_while_the_server_is_silent_closes_the_stream_at_once(
        replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"], stall_after=4))
    cancel = CancelToken()
    chunks: list = []

    def on_token(chunk: object) -> None:
        chunks.append(chunk)
        if len(chunks) == 3:  # the server stalls after this one: stop while it is silent
            threading.Timer(0.2, cancel.cancel).start()

    with engine_for(replay) as engine:
        started = time.monotonic()
        _all, result = collect(engine, cancel=cancel, on_token=on_token)
        elapsed = time.monotonic() - started
    assert elapsed < STOP_WITHIN_S
    assert result.finish_reason == "cancelled" and result.stopped
    assert result.text == "<think>\n" + "".join(REASONING[:3])
    assert result.reply.truncated
    assert replay.client_left.wait(STOP_WITHIN_S)  # the server saw the connection closed


def test_a_stop_between_tokens_ends_after_that_token(replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"]))
    cancel = CancelToken()
    texts: list[str] = []

    def on_token(chunk: object) -> None:
        texts.append(chunk.text)  # type: ignore[attr-defined]
        if len(texts) == 5:
            cancel.cancel()

    with engine_for(replay) as engine:
        _chunks, result = collect(engine, cancel=cancel, on_token=on_token)
    assert result.finish_reason == "cancelled"
    assert len(texts) == 6  # five tokens, then the final chunk
    assert result.text == "".join(texts) == "<think>\n" + "".join(REASONING[:5])


# -- connecting: addresses, keys, models ------------------------------------------------------------

def test_an_unreachable_server_is_a_sentence_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachableError) as caught:
        RemoteEngine(ServerConnection(url))
    assert f"{url}/v1" in str(caught.value) and "running" in str(caught.value)
    assert caught.value.partial_text is None


def test_a_wrong_or_missing_api_key_is_refused_with_advice() -> None:
    with ReplayServer(api_key="s3cret") as server:
        with pytest.raises(ServerAuthError, match="needs an API key"):
            RemoteEngine(ServerConnection(server.url))
        with pytest.raises(ServerAuthError, match=r"HTTP 401.*give the right API key"):
            RemoteEngine(ServerConnection(server.url, api_key="wrong"))
        server.script(Reply(FORMATS["vllm-reasoning"]))
        with RemoteEngine(ServerConnection(server.url, api_key="s3cret")) as engine:
            _chunks, result = collect(engine)
    assert result.reply.boxed == ["25"]


def test_the_model_is_the_only_one_served_or_the_one_named() -> None:
    with ReplayServer(models=("Fin-R1", "Qwen2.5-7B")) as server:
        with pytest.raises(ServerModelNotFoundError, match="several models") as caught:
            RemoteEngine(ServerConnection(server.url))
        assert caught.value.models == ("Fin-R1", "Qwen2.5-7B")
        with pytest.raises(ServerModelNotFoundError, match=r"'fin-r2'.*Fin-R1, Qwen2\.5-7B"):
            RemoteEngine(ServerConnection(server.url, model="fin-r2"))
        with RemoteEngine(ServerConnection(server.url, model="Qwen2.5-7B")) as engine:
            assert engine.info.model_id == "Qwen2.5-7B"
            assert engine.info.served_models == ("Fin-R1", "Qwen2.5-7B")


def test_a_model_the_server_does_not_know_at_request_time_is_named(replay: ReplayServer) -> None:
    replay.script(Reply(status=404, error={
        "object": "error", "message": "The model `Fin-R1` does not exist.",
        "type": "NotFoundError", "param": None, "code": 404}))
    with engine_for(replay) as engine, pytest.raises(ServerModelNotFoundError, match="Fin-R1"):
        collect(engine)


def test_a_server_error_answer_is_quoted(replay: ReplayServer) -> None:
    replay.script(Reply(status=400, error={
        "object": "error", "type": "BadRequestError", "param": None, "code": 400,
        "message": "This model's maximum context length is 8192 tokens. However, you requested "
                   "9000 tokens."}))
    with engine_for(replay) as engine, pytest.raises(ServerResponseError,
                                                     match=r"HTTP 400.*maximum context length"):
        collect(engine)


@pytest.mark.parametrize(("given", "base"), [
    ("http://gpu-box:8000", "http://gpu-box:8000/v1"),
    ("http://gpu-box:8000/", "http://gpu-box:8000/v1"),
    ("https://gpu-box/v1/", "https://gpu-box/v1"),
    ("http://127.0.0.1:11434/v1/chat/completions", "http://127.0.0.1:11434/v1"),
    (" http://host/api ", "http://host/api/v1"),
])
def test_a_server_address_names_its_api_base(given: str, base: str) -> None:
    assert ServerConnection(given).base_url == base


@pytest.mark.parametrize("url", ["", "gpu-box:8000", "ftp://gpu-box/v1", "http://", "http://h:99999"])
def test_an_address_that_is_not_an_http_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidSettingError):
        ServerConnection(url)


def test_test_connection_reports_success_and_failure_as_a_sentence(replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"]))
    check = remote.test_connection(ServerConnection(replay.url))
    assert check.ok and check.model_id == "Fin-R1" and check.error is None
    assert "Fin-R1" in check.message and replay.url in check.message
    assert replay.requests[0]["max_tokens"] == 1
    failed = remote.test_connection(ServerConnection(replay.url, model="nope"))
    assert not failed.ok and isinstance(failed.error, ServerModelNotFoundError)
    assert failed.served_models == ("Fin-R1",) and failed.message == str(failed.error)


def test_a_second_stream_while_one_is_streaming_is_refused(replay: ReplayServer) -> None:
    replay.script(Reply(FORMATS["vllm-reasoning"]))
    with engine_for(replay) as engine:
        first = iter(engine.stream_chat(QUESTION, FAST))
        next(first)
        with pytest.raises(EngineBusyError):
            list(engine.stream_chat(QUESTION, FAST))
        with pytest.raises(EngineBusyError):
            engine.close()
        list(first)


# -- against llama-cpp-python's own server on SmolLM2 -----------------------------------------------

@pytest.fixture(scope="module")
def llama_server(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    pytest.importorskip("llama_cpp.server.app")
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(smollm2_gguf, log_path=log) as server:
        yield server


@pytest.mark.parametrize("method", ["stream_chat", "chat", "close"])
def test_both_kinds_of_engine_have_the_interfaces_methods(method: str) -> None:
    # the same parameters; a return type may be narrower (ChatStream is a TurnStream: mypy checks)
    expected = inspect.signature(getattr(Engine, method)).parameters
    assert inspect.signature(getattr(ChatEngine, method)).parameters == expected
    assert inspect.signature(getattr(RemoteEngine, method)).parameters == expected


def test_a_remote_engine_is_an_engine(llama_server: LlamaServer) -> None:
    with RemoteEngine(ServerConnection(llama_server.url)) as engine:
        assert isinstance(engine, Engine)
        assert engine.info.provenance().as_record() == {
            "engine": "server", "server_url": llama_server.url,
            "server_model": llama_server.model_id}


def test_a_real_server_streams_a_reply_with_metrics(llama_server: LlamaServer) -> None:
    with RemoteEngine(ServerConnection(llama_server.url)) as engine:
        assert engine.info.model_id == llama_server.model_id
        chunks, result = collect(engine, GenerationSettings(max_new_tokens=8, seed=1,
                                                            temperature=0.0))
    assert result.finish_reason in ("stop", "length")
    assert 0 < result.metrics.completion_tokens <= 8
    assert result.text == "".join(chunk.text for chunk in chunks)
    assert result.reply == parse_text(result.text)
    assert result.metrics.ttft_s is not None


def test_a_stop_mid_stream_keeps_the_partial_reply_from_a_real_server(
        llama_server: LlamaServer) -> None:
    cancel = CancelToken()
    texts: list[str] = []

    def on_token(chunk: object) -> None:
        texts.append(chunk.text)  # type: ignore[attr-defined]
        if len(texts) == 2:
            cancel.cancel()

    with RemoteEngine(ServerConnection(llama_server.url)) as engine:
        stream = engine.stream_chat([ChatMessage("user", "Count from 1 to 50.")],
                                    GenerationSettings(max_new_tokens=200, seed=1), cancel, on_token)
        result = stream.run()
        assert result.finish_reason == "cancelled"
        assert result.text == "".join(texts) and len(texts) == 3  # two tokens, the final chunk
        # The server is free again: the stopped stream did not hold it.
        _chunks, again = collect(engine, GenerationSettings(max_new_tokens=2, seed=1))
    assert again.finish_reason in ("stop", "length")


def test_an_unknown_model_on_a_real_server_names_what_it_serves(llama_server: LlamaServer) -> None:
    with pytest.raises(ServerModelNotFoundError) as caught:
        RemoteEngine(ServerConnection(llama_server.url, model="fin-r1-72b"))
    assert llama_server.model_id in str(caught.value)
    assert caught.value.models == (llama_server.model_id,)


def test_a_real_server_slower_than_the_timeout_times_out(llama_server: LlamaServer) -> None:
    # ~100 prompt tokens, one per micro-batch, take SmolLM2 on one thread seconds to read.
    long_question = [ChatMessage("user", "Summarize: " + "shares bonds " * 50)]
    with RemoteEngine(ServerConnection(llama_server.url, timeout_s=0.5)) as engine, \
            pytest.raises(ServerTimeoutError) as caught:
        collect(engine, GenerationSettings(max_new_tokens=8, seed=1), conversation=long_question)
    assert "sent nothing for 0.5 s" in str(caught.value)
    assert caught.value.partial_text is None


def test_a_real_server_with_an_api_key_refuses_a_missing_key(smollm2_gguf: Path) -> None:
    pytest.importorskip("llama_cpp.server.app")
    with LlamaServer(smollm2_gguf, api_key="k-123") as server:
        with pytest.raises(ServerAuthError, match=r"HTTP 401.*Invalid API key"):
            RemoteEngine(ServerConnection(server.url))
        with RemoteEngine(ServerConnection(server.url, api_key="k-123")) as engine:
            _chunks, result = collect(engine, GenerationSettings(max_new_tokens=2, seed=1))
    assert result.metrics.completion_tokens >= 1


def test_a_real_server_killed_mid_stream_leaves_the_sentence_and_the_partial_reply(
        smollm2_gguf: Path) -> None:
    pytest.importorskip("llama_cpp.server.app")
    with LlamaServer(smollm2_gguf) as server:
        texts: list[str] = []

        def on_token(chunk: object) -> None:
            texts.append(chunk.text)  # type: ignore[attr-defined]
            if len(texts) == 1:
                server.kill()

        with RemoteEngine(ServerConnection(server.url)) as engine:
            stream = engine.stream_chat([ChatMessage("user", "Count from 1 to 50.")],
                                        GenerationSettings(max_new_tokens=200, seed=1),
                                        on_token=on_token)
            with pytest.raises(ServerDroppedError) as caught:
                stream.run()
    assert caught.value.partial_text == "".join(texts)
    assert texts[0] and caught.value.partial_text.startswith(texts[0])
    assert "before the reply was complete" in str(caught.value)
