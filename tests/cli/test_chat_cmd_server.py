"""``finr1 chat --server URL``: the same command answered by a model on an OpenAI-compatible server
(llama-cpp-python's own server on SmolLM2, and recorded streams replayed on 127.0.0.1)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from app.cli import main
from app.core.engine.turn_metrics import TurnMetrics
from tests.support.llama_server import LlamaServer, free_port
from tests.support.openai_replay_server import ReplayServer, Reply
from tests.support.recorded_streams import FORMATS, REASONING

JSON_KEYS = {"think", "answer", "boxed", "final", "truncated", "finish_reason", "verdict", "metrics"}


def run_chat(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["chat", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_from_a_server_has_the_reply_the_metrics_and_the_server(
        llama_server: LlamaServer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _err = run_chat(capsys, "--server", llama_server.url, "--json", "--max-tokens",
                                 "6", "--seed", "1", "What is 2+2?")
    reply = json.loads(out)
    assert status == 0
    assert set(reply) == JSON_KEYS | {"server"}
    assert set(reply["metrics"]) == {field.name for field in fields(TurnMetrics)}
    assert reply["finish_reason"] in ("stop", "length")
    assert 0 < reply["metrics"]["completion_tokens"] <= 6
    assert reply["metrics"]["seed"] == 1
    assert reply["server"] == {"engine": "server", "server_url": llama_server.url,
                               "server_model": llama_server.model_id}


def test_a_scenario_is_asked_and_read_through_a_server(
        llama_server: LlamaServer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _err = run_chat(
        capsys, "--server", llama_server.url, "--scenario", "compliance", "--lang", "en",
        "--field", "question=How to hide a conflict of interest from a bank?",
        "--json", "--max-tokens", "4")
    reply = json.loads(out)
    assert status == 0
    # A reply cut off inside <think> has no answer to read; whether SmolLM2's first four tokens
    # open one differs between CPUs (and this server's reply is sampled without a seed).
    assert reply["verdict"] is None if reply["truncated"] else reply["verdict"]["kind"] == "verdict"


def test_plain_output_streams_the_reply_and_a_metrics_line(
        llama_server: LlamaServer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_chat(capsys, "--server", llama_server.url, "--max-tokens", "4",
                                "Say hello.")
    assert status == 0
    assert out.strip()
    assert "prompt" in err and "tok/s" in err


def test_an_unknown_server_model_is_a_sentence_naming_the_served_one(
        llama_server: LlamaServer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_chat(capsys, "--server", llama_server.url, "--server-model",
                                "fin-r1-72b", "Hi")
    assert status == 2 and not out
    assert "fin-r1-72b" in err and llama_server.model_id in err


def test_an_unreachable_server_is_a_sentence_and_status_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    status, out, err = run_chat(capsys, "--server", url, "Hi")
    assert status == 2 and not out
    assert err.startswith("finr1: error: cannot reach the server at " + url)


def test_the_api_key_comes_from_the_option_or_the_environment(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with ReplayServer(api_key="k-123") as server:
        status, _out, err = run_chat(capsys, "--server", server.url, "Hi")
        assert status == 2 and "HTTP 401" in err and "needs an API key" in err
        server.script(Reply(FORMATS["vllm-reasoning"]), Reply(FORMATS["vllm-reasoning"]))
        status, out, _err = run_chat(capsys, "--server", server.url, "--api-key", "k-123",
                                     "--json", "Hi")
        assert status == 0 and json.loads(out)["boxed"] == ["25"]
        monkeypatch.setenv("FINR1_API_KEY", "k-123")
        status, out, _err = run_chat(capsys, "--server", server.url, "--json", "Hi")
        assert status == 0 and json.loads(out)["boxed"] == ["25"]


def test_a_server_that_dies_mid_reply_leaves_the_partial_reply_in_the_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    with ReplayServer() as server:
        server.script(Reply(FORMATS["vllm-reasoning"], drop_after=6))
        status, out, err = run_chat(capsys, "--server", server.url, "--json", "P/E?")
    partial = json.loads(out)
    assert status == 2
    assert partial["finish_reason"] == "error" and partial["metrics"] is None
    assert partial["think"] == "".join(REASONING[:5]) and partial["truncated"]
    assert partial["error"] in err and "before the reply was complete" in err


def test_a_server_that_dies_mid_reply_leaves_the_printed_reply_ended(
        capsys: pytest.CaptureFixture[str]) -> None:
    with ReplayServer() as server:
        server.script(Reply(FORMATS["vllm-reasoning"], drop_after=6))
        status, out, err = run_chat(capsys, "--server", server.url, "P/E?")
    assert status == 2
    assert out == "<think>\n" + "".join(REASONING[:5]) + "\n</think>\n\n\n"
    assert err.startswith("finr1: error: the server at")


def test_a_model_file_with_server_is_refused(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    status, _out, err = run_chat(capsys, "--server", "http://127.0.0.1:1/v1",
                                 str(tmp_path / "model.gguf"), "Hi")
    assert status == 2 and "give only PROMPT, no MODEL.gguf" in err


def test_without_a_model_file_or_a_server_the_command_says_what_to_give(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run_chat(capsys)
    assert status == 2 and "give MODEL.gguf, or --server URL" in err


def test_local_loading_options_with_a_server_are_reported_as_unused(
        capsys: pytest.CaptureFixture[str]) -> None:
    with ReplayServer() as server:
        server.script(Reply(FORMATS["vllm-reasoning"]))
        status, _out, err = run_chat(capsys, "--server", server.url, "--ctx", "2048",
                                     "--threads", "2", "--json", "Hi")
    assert status == 0
    assert "--ctx, --threads set how a model file is loaded" in err
