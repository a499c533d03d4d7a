"""What the engine gained for the server: per-request stop strings, presence and frequency
penalties, and a raw-text completion. Real llama.cpp on the tiny GGUF; greedy decoding, so two
runs in one process give the same tokens and one run can be the other's reference."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.local_engine import ChatEngine
from app.core.errors import ContextOverflowError
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from tests.support.llm_support import PROSE_GRAMMAR

QUESTION = [ChatMessage("user", "hello there")]


@pytest.fixture(scope="module")
def engine(tiny_gguf_factory: Callable[..., Path]) -> Iterator[ChatEngine]:
    with ChatEngine(tiny_gguf_factory("bf16"),
                    EngineConfig(n_ctx=512, n_threads=1, n_gpu_layers=0)) as loaded:
        yield loaded


def greedy(max_new_tokens: int = 24, **changes: object) -> GenerationSettings:
    return GenerationSettings(temperature=0.0, seed=1, max_new_tokens=max_new_tokens,
                              system_prompt=None, **changes)  # type: ignore[arg-type]


def test_a_stop_string_ends_the_reply_where_it_first_appears(
        engine: ChatEngine, tiny_bf16_gguf: Path, steer: Callable[..., object]) -> None:
    # 48 tokens of visible text whatever the CPU (the tiny model's random weights might end at once)
    steer(tiny_bf16_gguf, grammar=PROSE_GRAMMAR, may_end=False)
    reference = engine.chat(QUESTION, greedy(48)).text
    stop = reference[len(reference) // 2:len(reference) // 2 + 3]
    assert len(stop) == 3 and stop.strip()

    stopped = engine.chat(QUESTION, greedy(48, stop=(stop,)))

    assert stopped.finish_reason == "stop"
    assert stopped.text == reference[:reference.index(stop)]


def test_presence_and_frequency_penalties_keep_greedy_from_repeating_tokens(
        engine: ChatEngine, tiny_bf16_gguf: Path, steer: Callable[..., object]) -> None:
    steer(tiny_bf16_gguf, may_end=False)  # both replies run to the limit, whatever the CPU
    def tokens(settings: GenerationSettings) -> list[int]:
        return [chunk.token for chunk in engine.stream_chat(QUESTION, settings)
                if chunk.token is not None]

    plain = tokens(greedy(repeat_penalty=1.0))
    assert len(set(plain)) < len(plain), "the check needs a reply that repeats tokens"
    for penalty in ({"presence_penalty": 2.0}, {"frequency_penalty": 2.0}):
        penalized = tokens(greedy(repeat_penalty=1.0, **penalty))
        assert len(penalized) == len(plain)
        assert len(set(penalized)) == len(penalized), penalty


def test_a_completion_continues_raw_text_as_it_is(engine: ChatEngine) -> None:
    # The chat's prompt, written out by hand, must be continued exactly as the chat continues.
    chat = engine.chat(QUESTION, greedy())
    prompt = engine.render_prompt(QUESTION)

    completion = engine.stream_completion(prompt, greedy()).run()

    assert completion.text == chat.text
    assert completion.metrics.prompt_tokens == chat.metrics.prompt_tokens
    assert completion.prompt_messages == ()


def test_a_completion_ignores_the_system_prompt(engine: ChatEngine) -> None:
    bare = engine.stream_completion("hello", greedy()).run()
    told = engine.stream_completion("hello", GenerationSettings(
        temperature=0.0, seed=1, max_new_tokens=24, system_prompt="You are a bank.")).run()
    assert told.text == bare.text
    assert told.metrics.prompt_tokens == bare.metrics.prompt_tokens


def test_a_completion_that_does_not_fit_the_context_is_refused(
        engine: ChatEngine, tiny_bf16_gguf: Path, steer: Callable[..., object]) -> None:
    steer(tiny_bf16_gguf, may_end=False)
    stream = engine.stream_completion("hello", greedy(max_new_tokens=engine.info.n_ctx))
    with pytest.raises(ContextOverflowError, match="context of 512 tokens"):
        stream.run()
    assert engine.chat(QUESTION, greedy(4)).metrics.completion_tokens > 0  # still usable


@pytest.mark.parametrize("changes", [
    {"presence_penalty": 2.5}, {"frequency_penalty": -2.01}, {"stop": ("",)}, {"stop": "END"},
])
def test_settings_refuse_penalties_out_of_range_and_empty_stop_texts(
        changes: dict[str, object]) -> None:
    with pytest.raises(InvalidSettingError):
        GenerationSettings(**changes)  # type: ignore[arg-type]
