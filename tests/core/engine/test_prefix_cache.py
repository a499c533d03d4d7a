"""Prompt reuse: the system prompt and a scenario's fixed text are evaluated once per loaded model.
Going from one scenario to another and back restores the first one's saved KV state instead of
evaluating its prefix again, and the reply is the same as after a fresh evaluation.

Counts of evaluated tokens are asserted, never times; replies are compared within one process and
configuration (greedy), never against fixed words."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine, TurnResult
from app.core.engine.prefix_cache import PrefixCache, SavedPrefix
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from tests.support.llm_support import THREADS

# Two scenarios: a long fixed text each (the part every question of the scenario shares).
LOAN_RULES = ("You compute loan instalments. State the formula, then the monthly payment, the "
              "total interest and the effective annual rate, each on its own line. " * 4)
ESG_RULES = ("You rate a company's environmental, social and governance record. Name the "
             "strongest and the weakest of the three and give a grade from A to E. " * 4)


def ask(engine: ChatEngine, rules: str, question: str, **overrides: object) -> TurnResult:
    values: dict[str, object] = {"system_prompt": rules, "temperature": 0, "max_new_tokens": 10}
    values.update(overrides)
    settings = GenerationSettings(**values)  # type: ignore[arg-type]
    return engine.chat([ChatMessage("user", question)], settings)


def tokens_of(engine: ChatEngine, rules: str, question: str,
              **overrides: object) -> tuple[list[int | None], int]:
    """The reply's tokens and how many prompt tokens were evaluated for it."""
    values: dict[str, object] = {"system_prompt": rules, "temperature": 0, "max_new_tokens": 10}
    values.update(overrides)
    settings = GenerationSettings(**values)  # type: ignore[arg-type]
    stream = engine.stream_chat([ChatMessage("user", question)], settings)
    tokens = [chunk.token for chunk in stream if chunk.token is not None]
    return tokens, stream.result.metrics.prompt_eval_tokens


def scenario_prefix_length(engine: ChatEngine) -> int:
    """The tokens two questions of the loan scenario share."""
    first = engine.tokenize_prompt([ChatMessage("system", LOAN_RULES), ChatMessage("user", "A?")])
    second = engine.tokenize_prompt([ChatMessage("system", LOAN_RULES), ChatMessage("user", "B?")])
    shared = 0
    while first[shared] == second[shared]:
        shared += 1
    return shared


@pytest.fixture(params=["smollm2", "tiny"])
def model(request: pytest.FixtureRequest, tiny_gguf_factory: Callable[..., Path]) -> Path:
    if request.param == "tiny":
        return tiny_gguf_factory("bf16")
    return request.getfixturevalue("smollm2_gguf")


def test_returning_to_a_scenario_evaluates_only_the_new_question(
        model: Path, steer: Callable[..., object]) -> None:
    steer(model, may_end=False)
    with ChatEngine(model, EngineConfig(n_ctx=1024, n_threads=THREADS)) as engine:
        ask(engine, LOAN_RULES, "A 100,000 yuan loan over 5 years at 6%?")
        ask(engine, ESG_RULES, "Rate a coal miner.")
        again = ask(engine, LOAN_RULES, "A 50,000 yuan loan over 3 years at 4%?")
        shared = scenario_prefix_length(engine)
    assert shared > 100
    assert again.metrics.prompt_eval_tokens <= again.metrics.prompt_tokens - shared + 1


def test_without_saved_states_the_scenario_prefix_is_evaluated_again(
        model: Path, steer: Callable[..., object]) -> None:
    steer(model, may_end=False)
    config = EngineConfig(n_ctx=1024, n_threads=THREADS, prefix_cache_mib=0)
    with ChatEngine(model, config) as engine:
        ask(engine, LOAN_RULES, "A 100,000 yuan loan over 5 years at 6%?")
        ask(engine, ESG_RULES, "Rate a coal miner.")
        again = ask(engine, LOAN_RULES, "A 50,000 yuan loan over 3 years at 4%?")
        shared = scenario_prefix_length(engine)
    assert again.metrics.prompt_eval_tokens > again.metrics.prompt_tokens - shared + 1


def test_a_reply_after_a_restored_prefix_equals_one_after_a_fresh_evaluation(
        model: Path, steer: Callable[..., object]) -> None:
    steer(model, may_end=False)
    question = "A 50,000 yuan loan over 3 years at 4%?"
    with ChatEngine(model, EngineConfig(n_ctx=1024, n_threads=THREADS)) as engine:
        ask(engine, LOAN_RULES, "A 100,000 yuan loan over 5 years at 6%?")
        ask(engine, ESG_RULES, "Rate a coal miner.")
        restored, restored_evaluated = tokens_of(engine, LOAN_RULES, question)
        fresh, fresh_evaluated = tokens_of(engine, LOAN_RULES, question, seed=7)  # no reuse
    assert restored_evaluated < fresh_evaluated - 100  # the prefix was restored, not evaluated
    assert restored == fresh


def _saved(tokens: tuple[int, ...], size: int) -> SavedPrefix:
    return SavedPrefix(tokens, (ctypes.c_uint8 * size)())


def test_the_saved_states_stay_within_their_memory_least_recently_used_out() -> None:
    cache = PrefixCache(max_bytes=250)
    cache.add(_saved((1, 2, 3), 100))
    cache.add(_saved((4, 5, 6), 100))
    assert cache.best((1, 2, 9)) is not None  # (1, 2, 3) is now the most recently used
    cache.add(_saved((7, 8, 9), 100))
    assert cache.size_bytes <= 250
    assert cache.best((4, 5, 6)) is None
    found = cache.best((1, 2, 3, 4))
    assert found is not None and found[1] == 3
    assert not cache.add(_saved((10,), 251))


def test_a_state_that_a_longer_one_extends_is_dropped_for_it() -> None:
    cache = PrefixCache(max_bytes=1000)
    cache.add(_saved((1, 2), 10))
    cache.add(_saved((1, 2, 3, 4), 20))
    assert len(cache) == 1 and cache.size_bytes == 20


def test_a_negative_prompt_cache_size_is_refused() -> None:
    with pytest.raises(InvalidSettingError, match="prompt cache"):
        EngineConfig(prefix_cache_mib=-1)
