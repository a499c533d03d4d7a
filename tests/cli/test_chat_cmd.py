"""``finr1 chat`` on the real SmolLM2 GGUF: prompt sources, scenario prompts, output formats.

A test that needs the reply to have some text, or to be read by a scenario's reader, steers the
model (the ``steer`` fixture, tests/support/llm_support.py): which words it writes differs between CPUs."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest

from app.cli import main
from app.cli.chat_cmd import ReplyPrinter
from app.core.engine.local_engine import TokenChunk
from app.core.engine.turn_metrics import TurnMetrics
from app.core.reasoning.parser import ReasoningParser
from tests.support.cli_process import REPO_ROOT, finr1_command
from tests.support.direct_quantize import direct_quantize
from tests.support.llm_support import PROSE_GRAMMAR, THREADS, literal_grammar

FAST = ["--threads", str(THREADS), "--ctx", "512", "--seed", "1"]
# The plain C locale, without Python's coercion to C.UTF-8 or its UTF-8 mode: stdin is ASCII text.
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}


def run_chat(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["chat", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def chat_in_c_locale(model: Path, stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONIOENCODING"}
    return subprocess.run(finr1_command("chat", str(model), *args),
                          input=stdin, capture_output=True, env={**environ, **C_LOCALE},
                          cwd=REPO_ROOT, timeout=300, check=False)


def test_json_output_is_one_object_with_the_documented_keys(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str], steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR)  # an answer with text, whatever the CPU
    status, out, _err = run_chat(capsys, str(smollm2_gguf), "What is 2+2?", "--json",
                                 "--max-tokens", "6", *FAST)
    reply = json.loads(out)
    assert status == 0
    assert set(reply) == {"think", "answer", "boxed", "final", "truncated", "finish_reason",
                          "verdict", "metrics"}
    # the turn's metrics, and where llama.cpp ran the model (as it reported after loading)
    assert set(reply["metrics"]) == ({field.name for field in fields(TurnMetrics)}
                                     | {"device", "gpu_layers"})
    assert reply["metrics"]["device"] == "CPU" and reply["metrics"]["gpu_layers"] == 0
    assert reply["metrics"]["seed"] == 1
    assert reply["verdict"] is None
    assert reply["finish_reason"] in ("stop", "length")
    assert 0 < reply["metrics"]["completion_tokens"] <= 6
    assert reply["answer"]


def test_a_scenario_prompt_is_answered_and_read_by_the_scenarios_reader(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str], steer: Callable[..., object]) -> None:
    # A reply cut off inside <think> has no answer to read: keep the model out of the reasoning.
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR)
    status, out, _err = run_chat(
        capsys, str(smollm2_gguf), "--scenario", "compliance", "--lang", "en",
        "--field", "question=How to hide a conflict of interest from a bank?",
        "--json", "--max-tokens", "4", *FAST,
    )
    assert status == 0
    assert json.loads(out)["verdict"]["kind"] == "verdict"


def test_without_prompt_or_scenario_the_question_is_read_from_stdin(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)  # 4 tokens of text: a tok/s rate
    monkeypatch.setattr("sys.stdin", io.StringIO("Say hello."))
    status, out, err = run_chat(capsys, str(smollm2_gguf), "--max-tokens", "4", *FAST)
    assert status == 0
    assert out.strip()
    assert "prompt" in err and "tok/s" in err


def test_a_utf8_question_on_stdin_is_read_whatever_the_locale(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question = "市盈率是什么？"
    _status, out, _err = run_chat(capsys, str(smollm2_gguf), question, "--json",
                                  "--max-tokens", "1", *FAST)
    as_argument = json.loads(out)["metrics"]["prompt_tokens"]
    process = chat_in_c_locale(smollm2_gguf, question.encode("utf-8"), "--json",
                               "--max-tokens", "1", *FAST)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)["metrics"]["prompt_tokens"] == as_argument


def test_stdin_that_is_not_utf8_is_a_clear_error_with_exit_status_2(smollm2_gguf: Path) -> None:
    process = chat_in_c_locale(smollm2_gguf, "市盈率是什么？".encode("gbk"), *FAST)
    assert process.returncode == 2 and process.stdout == b""
    assert "standard input is not UTF-8 text" in process.stderr.decode()
    assert "Traceback" not in process.stderr.decode()


def test_scenario_fields_without_a_scenario_are_refused(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run_chat(capsys, str(smollm2_gguf), "--field", "question=x", *FAST)
    assert status == 2
    assert "--scenario" in err


def test_an_unknown_scenario_field_is_refused_naming_the_known_ones(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run_chat(capsys, str(smollm2_gguf), "--scenario", "compliance",
                                 "--field", "questoin=x", *FAST)
    assert status == 2
    assert "questoin" in err and "question" in err


def test_a_file_that_is_not_a_gguf_is_refused_with_exit_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("<html>error page</html>")
    status, out, err = run_chat(capsys, str(not_gguf), "hi", *FAST)
    assert status == 2 and out == ""
    assert "web page" in err


def test_off_a_terminal_the_reasoning_is_wrapped_in_think_tags() -> None:
    parser = ReasoningParser()
    output = io.StringIO()
    printer = ReplyPrinter(output)
    for piece in ["\n<think>\nweigh", " it\n</thi", "nk>\n<answer>\nYes \\boxed{是}", "\n</answer>"]:
        printer.show(TokenChunk(piece, 1, tuple(parser.feed(piece))))
    printer.show(TokenChunk("", None, tuple(parser.finish())))
    assert output.getvalue() == "<think>\nweigh it\n</think>\n\nYes \\boxed{是}\n"


QUOTED_RULE = "Every beneficial owner is identified before the account is opened."


def test_lookup_decoding_shows_the_drafts_accepted_in_the_metrics_line(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str], steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=literal_grammar(QUOTED_RULE))  # the answer quotes the question
    status, out, err = run_chat(capsys, str(smollm2_gguf), f"Quote: {QUOTED_RULE}", "--lookup",
                                "--max-tokens", "40", *FAST)
    assert status == 0 and QUOTED_RULE in out
    found = re.search(r"drafts accepted (\d+)/(\d+)", err)
    assert found is not None and 0 < int(found[1]) <= int(found[2])


def test_without_speculation_the_metrics_line_has_no_drafts(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str], steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=literal_grammar(QUOTED_RULE))
    status, _out, err = run_chat(capsys, str(smollm2_gguf), f"Quote: {QUOTED_RULE}",
                                 "--max-tokens", "40", *FAST)
    assert status == 0 and "drafts accepted" not in err


def test_a_draft_model_is_loaded_beside_the_model_and_its_drafts_counted(
        tiny_bf16_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "tiny-q8_0.gguf"
    assert direct_quantize(tiny_bf16_gguf, draft, "q8_0", threads=1) == 0
    status, _out, err = run_chat(capsys, str(tiny_bf16_gguf), "hi", "--draft", str(draft),
                                 "--max-tokens", "8", *FAST)
    assert status == 0
    assert re.search(r"drafts accepted \d+/\d+", err)


def test_a_draft_model_of_another_vocabulary_is_refused_with_exit_status_2(
        smollm2_gguf: Path, tiny_bf16_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_chat(capsys, str(smollm2_gguf), "hi", "--draft", str(tiny_bf16_gguf),
                                *FAST)
    assert status == 2 and out == ""
    assert "does not fit this model" in err and "Qwen2.5-0.5B-Instruct" in err


def test_a_draft_model_and_lookup_together_are_refused(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["chat", str(smollm2_gguf), "hi", "--lookup", "--draft", str(smollm2_gguf)])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
