"""The local OpenAI-compatible server over HTTP: what clients send, what they get back, and what
it refuses. A real ``ApiServer`` on 127.0.0.1 (uvicorn on a thread) serving the tiny GGUF through
real llama.cpp; the official ``openai`` client where compatibility is the point, plain HTTP where
the bytes are. Replies are compared with each other or with the same engine called in-process,
never with expected words."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.serve.config import InsecureBindError, ServeConfig
from app.core.templates.chat_template import ChatMessage
from tests.support.llm_support import PROSE_GRAMMAR
from tests.support.serve_support import Served, assert_openai_error, call, serving, sse_payloads

N_CTX = 256
USER = {"role": "user", "content": "hello there"}
GREEDY: dict[str, Any] = {"temperature": 0, "seed": 1}


@pytest.fixture(scope="module")
def engine(tiny_gguf_factory: Callable[..., Path]) -> Iterator[ChatEngine]:
    with ChatEngine(tiny_gguf_factory("bf16"),
                    EngineConfig(n_ctx=N_CTX, n_threads=1, n_gpu_layers=0)) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def served(engine: ChatEngine) -> Iterator[Served]:
    with serving(engine) as running:
        yield running


def client_of(served: Served, api_key: str = "EMPTY") -> OpenAI:
    return OpenAI(api_key=api_key, base_url=served.url, max_retries=0)


def chat_body(**fields: Any) -> dict[str, Any]:
    return {"model": "Fin-R1", "messages": [USER], "max_tokens": 8, **fields}


def streamed_text(reply_raw: bytes, key: str = "content") -> str:
    return "".join(event["choices"][0]["delta"].get(key) or ""
                   for event in sse_payloads(reply_raw)[:-1] if event["choices"])


# -- what an OpenAI client gets -------------------------------------------------------------------

def test_the_openai_client_lists_the_served_model(served: Served) -> None:
    models = client_of(served).models.list().data
    assert [model.id for model in models] == ["Fin-R1"]
    assert models[0].max_model_len == N_CTX  # type: ignore[attr-defined]


def test_a_chat_completion_has_content_usage_and_a_finish_reason(served: Served) -> None:
    reply = client_of(served).chat.completions.create(
        model="Fin-R1", messages=[{"role": "system", "content": "Be brief."}, USER],
        temperature=0.7, top_p=0.8, max_tokens=8, extra_body={"repetition_penalty": 1.05})

    choice = reply.choices[0]
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert isinstance(choice.message.content, str) and choice.message.role == "assistant"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert (choice.finish_reason == "length") == (reply.usage.completion_tokens == 8)


def test_a_streamed_reply_adds_up_to_the_same_reply_unstreamed(served: Served) -> None:
    client = client_of(served)
    whole = client.chat.completions.create(model="Fin-R1", messages=[USER], max_tokens=16,
                                           **GREEDY)
    chunks = list(client.chat.completions.create(
        model="Fin-R1", messages=[USER], max_tokens=16, stream=True,
        stream_options={"include_usage": True}, **GREEDY))

    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices]
    assert finishes[-1] == whole.choices[0].finish_reason and not any(finishes[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_sampling_fields_reach_the_engine_as_the_window_would_set_them(
        served: Served, engine: ChatEngine) -> None:
    sampled = client_of(served).chat.completions.create(
        model="Fin-R1", messages=[USER], max_tokens=24, temperature=0.9, top_p=0.9, seed=7,
        presence_penalty=0.5, frequency_penalty=0.25,
        extra_body={"repetition_penalty": 1.3, "top_k": 12, "min_p": 0.02})

    in_process = engine.chat([ChatMessage("user", USER["content"])], GenerationSettings(
        system_prompt=None, max_new_tokens=24, temperature=0.9, top_p=0.9, seed=7,
        presence_penalty=0.5, frequency_penalty=0.25, repeat_penalty=1.3, top_k=12, min_p=0.02))

    assert sampled.choices[0].message.content == in_process.text
    assert sampled.usage is not None
    assert sampled.usage.completion_tokens == in_process.metrics.completion_tokens


def test_a_stop_text_ends_the_reply_before_it(served: Served, tiny_bf16_gguf: Path,
                                              steer: Callable[..., object]) -> None:
    # 32 tokens of visible text whatever the CPU (the tiny model's random weights might end at once)
    steer(tiny_bf16_gguf, grammar=PROSE_GRAMMAR, may_end=False)
    client = client_of(served)
    reference = client.chat.completions.create(model="Fin-R1", messages=[USER], max_tokens=32,
                                               **GREEDY).choices[0].message.content or ""
    stop = reference[len(reference) // 2:len(reference) // 2 + 3]

    stopped = client.chat.completions.create(model="Fin-R1", messages=[USER], max_tokens=32,
                                             stop=[stop], **GREEDY).choices[0]

    assert stopped.finish_reason == "stop"
    assert stopped.message.content == reference[:reference.index(stop)]


def test_a_completion_continues_the_prompt_text_as_written(served: Served,
                                                          engine: ChatEngine) -> None:
    client = client_of(served)
    chat = client.chat.completions.create(model="Fin-R1", messages=[USER], max_tokens=8, **GREEDY)
    prompt = engine.render_prompt([ChatMessage("user", USER["content"])])

    completion = client.completions.create(model="Fin-R1", prompt=prompt, max_tokens=8, **GREEDY)
    streamed = client.completions.create(model="Fin-R1", prompt=prompt, max_tokens=8, stream=True,
                                         **GREEDY)

    assert completion.object == "text_completion"
    assert completion.choices[0].text == chat.choices[0].message.content
    assert completion.usage == chat.usage
    assert "".join(chunk.choices[0].text for chunk in streamed) == completion.choices[0].text


def test_a_completion_without_max_tokens_writes_sixteen_at_most(served: Served) -> None:
    completion = client_of(served).completions.create(model="Fin-R1", prompt="Cash flow", **GREEDY)
    assert completion.usage is not None and completion.usage.completion_tokens <= 16


def test_a_chat_without_max_tokens_may_fill_the_rest_of_the_context(served: Served) -> None:
    reply = client_of(served).chat.completions.create(model="Fin-R1", messages=[USER], **GREEDY)
    assert reply.usage is not None and reply.usage.total_tokens <= N_CTX


# -- reasoning: inline as vLLM returns it, or apart on request ------------------------------------

OPEN_THINK = [USER, {"role": "assistant", "content": "<think>\nLet me see."}]


def test_reasoning_stays_in_the_content_by_default_and_comes_apart_on_request(
        served: Served) -> None:
    # The reply continues an open <think>: all it writes is reasoning, whatever its words.
    body = chat_body(messages=OPEN_THINK, continue_final_message=True, max_tokens=12, **GREEDY)
    inline = call(served.url, "POST", "/chat/completions", body).json()["choices"][0]["message"]
    apart = call(served.url, "POST", "/chat/completions",
                 {**body, "reasoning_format": "deepseek"}).json()["choices"][0]["message"]
    apart_streamed = call(served.url, "POST", "/chat/completions",
                          {**body, "reasoning_format": "deepseek", "stream": True})

    assert inline["content"].strip()
    assert "reasoning_content" not in inline
    assert apart["reasoning_content"] == inline["content"].rstrip()
    assert apart["content"] == ""
    assert streamed_text(apart_streamed.raw, "reasoning_content") == apart["reasoning_content"]
    assert streamed_text(apart_streamed.raw, "content") == ""


def test_the_server_can_return_reasoning_apart_by_default(engine: ChatEngine) -> None:
    body = chat_body(messages=OPEN_THINK, continue_final_message=True, max_tokens=6, **GREEDY)
    with serving(engine, reasoning_format="deepseek") as deepseek:
        apart = call(deepseek.url, "POST", "/chat/completions", body).json()
        inline = call(deepseek.url, "POST", "/chat/completions",
                      {**body, "reasoning_format": "none"}).json()
    assert apart["choices"][0]["message"]["reasoning_content"]
    assert "reasoning_content" not in inline["choices"][0]["message"]


# -- refusals: OpenAI's error object, and the server keeps serving --------------------------------

TOO_LONG = {"role": "user", "content": "word " * N_CTX}


@pytest.mark.parametrize(("path", "body", "status", "code", "param"), [
    ("/chat/completions", b"{not json", 400, "invalid_json", None),
    ("/chat/completions", b"[1, 2]", 400, "invalid_json", None),
    ("/chat/completions", {"model": "Fin-R1"}, 400, "missing_required_parameter", "messages"),
    ("/chat/completions", chat_body(messages="hi"), 400, "invalid_type", "messages"),
    ("/chat/completions", chat_body(messages=[]), 400, "invalid_value", "messages"),
    ("/chat/completions", chat_body(messages=[{"role": "tool", "content": "x"}]), 400,
     "invalid_value", "messages[0].role"),
    ("/chat/completions", chat_body(messages=[{"role": "user", "content": 5}]), 400,
     "invalid_type", "messages[0].content"),
    ("/chat/completions", chat_body(messages=[USER, {"role": "system", "content": "x"}]), 400,
     "invalid_value", "messages[1].role"),
    ("/chat/completions", chat_body(messages=[{"role": "assistant", "content": "x"}]), 400,
     "invalid_value", "messages"),
    ("/chat/completions", chat_body(max_tokens="8"), 400, "invalid_type", "max_tokens"),
    ("/chat/completions", chat_body(max_tokens=True), 400, "invalid_type", "max_tokens"),
    ("/chat/completions", chat_body(max_tokens=-5), 400, "invalid_value", "max_tokens"),
    ("/chat/completions", chat_body(max_tokens=0), 400, "invalid_value", "max_tokens"),
    ("/chat/completions", chat_body(max_tokens=10**12), 400, "context_length_exceeded",
     "max_tokens"),
    ("/chat/completions", chat_body(temperature="hot"), 400, "invalid_type", "temperature"),
    ("/chat/completions", chat_body(temperature=-1), 400, "invalid_value", "temperature"),
    ("/chat/completions", chat_body(top_p=0), 400, "invalid_value", "top_p"),
    ("/chat/completions", chat_body(seed=-1), 400, "invalid_value", "seed"),
    ("/chat/completions", chat_body(stream="yes"), 400, "invalid_type", "stream"),
    ("/chat/completions", chat_body(stop=[1]), 400, "invalid_type", "stop"),
    ("/chat/completions", chat_body(reasoning_format="raw"), 400, "invalid_value",
     "reasoning_format"),
    ("/chat/completions", chat_body(n=2), 400, "unsupported_parameter", "n"),
    ("/chat/completions", chat_body(logprobs=True), 400, "unsupported_parameter", "logprobs"),
    ("/chat/completions", chat_body(messages=[TOO_LONG]), 400, "context_length_exceeded",
     "messages"),
    ("/chat/completions", chat_body(messages=[TOO_LONG], stream=True), 400,
     "context_length_exceeded", "messages"),
    ("/chat/completions", chat_body(max_tokens=N_CTX - 10), 400, "context_length_exceeded",
     "messages"),
    ("/chat/completions", chat_body(model="gpt-4o"), 404, "model_not_found", "model"),
    ("/chat/completions", chat_body(model="/models/other.gguf"), 404, "model_not_found",
     "model"),
    ("/completions", {"model": "Fin-R1"}, 400, "missing_required_parameter", "prompt"),
    ("/completions", {"prompt": 5}, 400, "invalid_type", "prompt"),
    ("/completions", {"prompt": ""}, 400, "invalid_value", "prompt"),
    ("/completions", {"prompt": "x", "echo": True}, 400, "unsupported_parameter", "echo"),
    ("/completions", {"prompt": TOO_LONG["content"], "max_tokens": 4}, 400,
     "context_length_exceeded", "prompt"),
])
def test_a_bad_request_gets_an_openai_error_and_the_server_keeps_serving(
        served: Served, path: str, body: bytes | dict[str, Any], status: int, code: str,
        param: str | None) -> None:
    error = assert_openai_error(call(served.url, "POST", path, body), status, code)
    assert error["param"] == param
    assert call(served.url, "POST", "/chat/completions", chat_body(max_tokens=2)).status == 200


def test_unknown_routes_and_methods_get_openai_errors(served: Served) -> None:
    assert_openai_error(call(served.url, "GET", "/engines"), 404, "not_found")
    assert_openai_error(call(served.url, "GET", "/chat/completions"), 405, "method_not_allowed")
    assert_openai_error(call(served.url, "GET", "/models/other"), 404, "model_not_found")


# -- secure by default -----------------------------------------------------------------------------

def test_a_wrong_or_missing_key_gets_401_and_the_right_key_is_served(engine: ChatEngine) -> None:
    with serving(engine, api_key="s3cret-key") as keyed:
        missing = call(keyed.url, "GET", "/models")
        wrong = call(keyed.url, "POST", "/chat/completions", chat_body(),
                     {"authorization": "Bearer s3cret-kez"})
        unprefixed = call(keyed.url, "GET", "/models", headers={"authorization": "s3cret-key"})
        health = call(keyed.url.removesuffix("/v1"), "GET", "/health")
        around = call(keyed.url, "GET", "/../health")
        models = client_of(keyed, api_key="s3cret-key").models.list()

    for refused in (missing, wrong, unprefixed, around):
        assert_openai_error(refused, 401, "invalid_api_key")
        assert refused.headers["www-authenticate"] == "Bearer"
    assert health.status == 200
    assert [model.id for model in models.data] == ["Fin-R1"]
    assert [record.status for record in keyed.records] == [401, 401, 401, 200, 401, 200]


def test_a_loopback_server_refuses_requests_addressed_to_another_host(served: Served) -> None:
    # What a browser sends after a web page re-pointed its domain at 127.0.0.1 (DNS rebinding).
    rebound = call(served.url, "GET", "/models", headers={"host": "attacker.example:8000"})
    assert_openai_error(rebound, 403, "forbidden_host")
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert call(served.url, "GET", "/models", headers={"host": host}).status == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "my-workstation"])
def test_an_address_beyond_this_computer_needs_a_key(host: str) -> None:
    with pytest.raises(InsecureBindError, match="without an API key"):
        ServeConfig(host=host)
    assert not ServeConfig(host=host, api_key="k").loopback_only


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_need_no_key(host: str) -> None:
    assert ServeConfig(host=host).loopback_only


def test_a_body_over_the_size_limit_gets_413_declared_or_not(engine: ChatEngine) -> None:
    big = chat_body(messages=[{"role": "user", "content": "x" * 2000}])
    with serving(engine, max_request_bytes=1024) as limited:
        declared = call(limited.url, "POST", "/chat/completions", big)
        chunked = _post_chunked(limited.url, "/chat/completions", _json_bytes(big))
        small = call(limited.url, "POST", "/chat/completions", chat_body(max_tokens=2))
    assert_openai_error(declared, 413, "request_too_large")
    assert chunked == 413
    assert small.status == 200


def test_cors_is_off_unless_origins_are_configured(served: Served, engine: ChatEngine) -> None:
    preflight = {"origin": "https://app.example", "access-control-request-method": "POST",
                 "access-control-request-headers": "authorization,content-type"}
    closed = call(served.url, "OPTIONS", "/chat/completions", headers=preflight)
    with serving(engine, cors_origins=("https://app.example",)) as open_to_one:
        allowed = call(open_to_one.url, "OPTIONS", "/chat/completions", headers=preflight)
        other = call(open_to_one.url, "OPTIONS", "/chat/completions",
                     headers={**preflight, "origin": "https://evil.example"})
    assert "access-control-allow-origin" not in closed.headers
    assert allowed.status == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


def test_the_request_log_records_numbers_and_never_the_prompt(engine: ChatEngine) -> None:
    secret = "Client 4471 moved 49,000 yuan"
    with serving(engine) as fresh:
        call(fresh.url, "POST", "/chat/completions",
             chat_body(messages=[{"role": "user", "content": secret}]))
        call(fresh.url, "POST", "/chat/completions", chat_body(max_tokens=-1))
        answered, refused = fresh.wait_for_records(2)

    assert (answered.method, answered.path, answered.status) == ("POST", "/v1/chat/completions",
                                                                 200)
    assert answered.prompt_tokens and answered.completion_tokens is not None
    assert answered.queue_s is not None and answered.duration_s > 0
    assert answered.finish_reason in ("stop", "length")
    assert (refused.status, refused.error_code) == (400, "invalid_value")
    for record in (answered, refused):
        assert record.prompt is None and record.reply is None
        assert secret not in repr(record) and secret not in record.line()


def test_prompts_are_logged_when_the_person_asks(engine: ChatEngine) -> None:
    with serving(engine, log_prompts=True) as logging_prompts:
        reply = call(logging_prompts.url, "POST", "/chat/completions", chat_body()).json()
        record = logging_prompts.wait_for_records(1)[-1]
    assert record.prompt is not None and USER["content"] in record.prompt
    assert record.reply == reply["choices"][0]["message"]["content"]


# -- helpers ---------------------------------------------------------------------------------------

def _json_bytes(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


def _post_chunked(url: str, path: str, data: bytes) -> int:
    """POST ``data`` with chunked transfer encoding (no Content-Length); returns the status."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        pieces = (data[start:start + 256] for start in range(0, len(data), 256))
        connection.request("POST", parts.path + path, body=pieces, encode_chunked=True,
                           headers={"content-type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()
