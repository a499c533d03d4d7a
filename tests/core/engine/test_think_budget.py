"""The reasoning budget: at N reasoning tokens the engine closes the reasoning as Fin-R1 was trained
to (``</think>`` then ``<answer>``) and the model answers; the turn says where it was stopped.

The model is forced into reasoning (a reply prefix of ``<think>``) and kept there (a grammar that
never writes ``<``, and no end of generation), so only the budget can close the reasoning. Only the
structure is asserted, never the model's words."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.chat.labels import chat_labels
from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import REASONING_CLOSE, ChatEngine
from app.core.errors import ScenarioError
from app.core.installation.settings import AppSettings
from app.core.reasoning.parser import AnswerText, ThinkEnded
from app.core.scenarios.scenario_file import load_scenario_file
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from tests.support.llm_support import PROSE_GRAMMAR, THREADS, literal_grammar

QUESTION = [ChatMessage("user", "What is the monthly instalment of a 100,000 yuan loan?")]
OPEN_REASONING = "<think>\n"


def budgeted(budget: int | None, max_new_tokens: int = 30) -> GenerationSettings:
    return GenerationSettings(system_prompt="You are a helpful assistant.", temperature=0,
                              max_new_tokens=max_new_tokens, think_budget=budget)


@pytest.fixture(scope="module")
def engine(smollm2_gguf: Path) -> Iterator[ChatEngine]:
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=512, n_threads=THREADS)) as loaded:
        yield loaded


def test_the_reasoning_is_closed_at_the_budget_and_an_answer_follows(
        engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)  # it would reason forever
    budget = 8
    closing = engine.tokenize_text(REASONING_CLOSE)
    stream = engine.stream_chat(QUESTION, budgeted(budget), reply_prefix=OPEN_REASONING)
    chunks = [chunk for chunk in stream if chunk.token is not None]
    result = stream.result

    # the model's own reasoning tokens, then the closing exactly, then the answer
    assert [chunk.token for chunk in chunks[budget:budget + len(closing)]] == closing
    ended = [index for index, chunk in enumerate(chunks)
             if any(isinstance(event, ThinkEnded) for event in chunk.events)]
    assert len(ended) == 1 and budget <= ended[0] < budget + len(closing)
    answered = [chunk for chunk in chunks[budget + len(closing):]
                if any(isinstance(event, AnswerText) for event in chunk.events)]
    assert answered
    assert result.metrics.reasoning_stopped_at == budget
    assert not result.reply.truncated
    assert result.reply.think.strip() and result.reply.answer.strip()
    assert result.text.startswith(OPEN_REASONING)
    assert "</think>\n<answer>\n" in result.text


def test_without_a_budget_the_same_reply_never_leaves_its_reasoning(
        engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)
    result = engine.stream_chat(QUESTION, budgeted(None, max_new_tokens=16),
                                reply_prefix=OPEN_REASONING).run()
    assert result.reply.truncated
    assert result.metrics.reasoning_stopped_at is None
    assert result.metrics.think_tokens == 16


def test_reasoning_the_model_ends_within_the_budget_is_left_alone(
        engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    own_reply = "Short.\n</think>\n<answer>\n42\n</answer>"
    steer(smollm2_gguf, grammar=literal_grammar(own_reply))
    result = engine.stream_chat(QUESTION, budgeted(50), reply_prefix=OPEN_REASONING).run()
    assert result.metrics.reasoning_stopped_at is None
    assert result.text == OPEN_REASONING + own_reply
    assert result.reply.answer.strip() == "42"


def test_a_budget_below_one_token_is_refused() -> None:
    with pytest.raises(InvalidSettingError, match="reasoning budget"):
        GenerationSettings(think_budget=0)


def test_the_app_setting_overrides_the_scenarios_budget_and_zero_defers_to_it() -> None:
    assert AppSettings().generation_settings(300).think_budget == 300
    assert AppSettings().generation_settings().think_budget is None
    assert AppSettings(think_budget=120).generation_settings(300).think_budget == 120
    with pytest.raises(InvalidSettingError, match="reasoning budget"):
        AppSettings(think_budget=-1)


def _scenario_with(tmp_path: Path, budget_line: str) -> Path:
    source = Path(__file__).resolve().parents[3] / "resources" / "scenarios" / "calculation.toml"
    text = source.read_text(encoding="utf-8").replace('order = 5\n', f'order = 5\n{budget_line}\n', 1)
    path = tmp_path / "calculation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_may_give_its_own_budget(tmp_path: Path) -> None:
    assert load_scenario_file(_scenario_with(tmp_path, "think_budget = 600")).think_budget == 600


@pytest.mark.parametrize("line", ["think_budget = 0", 'think_budget = "600"'])
def test_a_scenario_budget_that_is_not_a_positive_count_is_refused(tmp_path: Path,
                                                                     line: str) -> None:
    with pytest.raises(ScenarioError, match="think_budget"):
        load_scenario_file(_scenario_with(tmp_path, line))


@pytest.mark.parametrize("language, words", [("en", "reasoning stopped at 1,200 tokens"),
                                             ("zh", "推理在 1,200 个词元处被截止")])
def test_the_metrics_line_says_where_the_reasoning_was_stopped(language: str, words: str) -> None:
    labels = chat_labels(language)
    assert words in labels.metrics_line(20.0, 0.5, 1200, 40, reasoning_stopped_at=1200)
    assert words not in labels.metrics_line(20.0, 0.5, 1200, 40)


def test_finr1_chat_think_budget_closes_the_reasoning(
        smollm2_gguf: Path, capsys: pytest.CaptureFixture[str],
        steer: Callable[..., object]) -> None:
    # Without a reply prefix the model must open the reasoning itself: a grammar makes it.
    steer(smollm2_gguf, grammar=r'root ::= "<think>\n" [^<]*', may_end=False)
    status = main(["chat", str(smollm2_gguf), "What is 2+2?", "--json", "--max-tokens", "30",
                   "--think-budget", "10", "--threads", str(THREADS), "--ctx", "512",
                   "--seed", "1"])
    reply = json.loads(capsys.readouterr().out)
    assert status == 0
    assert reply["metrics"]["reasoning_stopped_at"] == 10
    assert reply["answer"] and not reply["truncated"]
