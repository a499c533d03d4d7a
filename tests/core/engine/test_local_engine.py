"""The inference engine on real models: SmolLM2-135M (a real chat model) and tiny Qwen2 GGUFs
from the app's own converter (random weights: only the mechanics are checked).

Which words a real model writes differs between CPUs, so a test that needs the model to end, to
keep going or to stay out of a section steers it (the ``steer`` fixture, tests/support/llm_support.py)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.engine.config import FIN_R1_SYSTEM_PROMPT, EngineConfig, GenerationSettings
from app.core.engine.llama_runtime import LlamaRuntime
from app.core.engine.local_engine import ChatEngine, EngineBusyError, TokenChunk
from app.core.engine.token_text import StopStringFilter, Utf8Assembler
from app.core.engine.turn_metrics import SectionCounter
from app.core.errors import ContextOverflowError
from app.core.hardware.gpu_layers import plan_offload
from app.core.hardware.llama_memory import read_gguf_shape
from app.core.hardware.machine import GpuInfo
from app.core.reasoning.parser import Done, ReasoningParser, ThinkStarted
from app.core.templates.chat_template import ChatMessage, ChatMLTemplate, SandboxedJinjaTemplate
from foundation.errors import InvalidSettingError
from foundation.jobs import CancelToken
from quant.convert import convert_checkpoint
from quant.errors import GGUFValidationError
from quant.gguf_check import validate_gguf
from tests.support.llm_support import DIGITS_GRAMMAR, PROSE_GRAMMAR, THREADS, literal_grammar

QUESTION = [ChatMessage("user", "What is 2+2?")]
STORY = [ChatMessage("user", "Write a long story about a bank.")]
SHORT_SYSTEM = "You are a helpful assistant."


def settings(**overrides: object) -> GenerationSettings:
    values: dict[str, object] = {"system_prompt": SHORT_SYSTEM, "max_new_tokens": 24}
    values.update(overrides)
    return GenerationSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine(smollm2_gguf: Path) -> Iterator[ChatEngine]:
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=1024, n_threads=THREADS)) as loaded:
        yield loaded


# -- streaming -----------------------------------------------------------------------------------


def test_streamed_pieces_concatenate_to_the_final_text(engine: ChatEngine, smollm2_gguf: Path,
                                                       steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)
    stream = engine.stream_chat(STORY, settings(seed=7))
    chunks = list(stream)
    result = stream.result
    assert "".join(chunk.text for chunk in chunks) == result.text
    assert result.text.strip() and result.metrics.completion_tokens == 24
    assert [chunk.token is None for chunk in chunks].count(True) == 1
    assert chunks[-1].token is None and isinstance(chunks[-1].events[-1], Done)
    assert sum(chunk.token is not None for chunk in chunks) == result.metrics.completion_tokens
    assert result.reply.answer == result.text.strip()


def test_a_reply_cut_off_at_the_limit_continues_where_it_stopped(
        smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    # Greedy continuation equals the uninterrupted reply only when both compute the same tokens
    # the same way: one token per llama_decode everywhere (n_batch=1: the prompt and the prefix
    # are evaluated as the reply was generated, by the same kernels), a reply of digits, which
    # SmolLM2 tokenizes back into exactly the tokens it generated, and no repetition penalty (a
    # continuation's sampler has not seen the prefix's tokens).
    steer(smollm2_gguf, grammar=DIGITS_GRAMMAR, may_end=False)
    digits = [ChatMessage("user", "List the first 30 digits of pi.")]
    config = EngineConfig(n_ctx=256, n_batch=1, n_threads=THREADS)

    def greedy(tokens: int) -> GenerationSettings:
        return settings(temperature=0.0, repeat_penalty=1.0, max_new_tokens=tokens)

    with ChatEngine(smollm2_gguf, config) as one_by_one:
        whole = one_by_one.chat(digits, greedy(24))
        cut = one_by_one.chat(digits, greedy(12))
        assert cut.finish_reason == "length" and whole.text.startswith(cut.text)
        stream = one_by_one.stream_chat(digits, greedy(12), reply_prefix=cut.text)
        new_text = "".join(chunk.text for chunk in stream)
        result = stream.result
    assert result.text == cut.text + new_text and new_text
    # the prompt is the question's and then the 12 digits written so far, one token each
    assert result.metrics.prompt_tokens == whole.metrics.prompt_tokens + 12
    assert result.text == whole.text  # greedy: as if it had never stopped
    assert result.metrics.completion_tokens == 12
    assert result.reply.answer == whole.text.strip()


def test_a_continued_reasoning_is_not_opened_twice(engine: ChatEngine, smollm2_gguf: Path,
                                                   steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)  # it cannot close the reasoning
    prefix = "<think>\nThe loan is 100,000 yuan at 4% over"
    stream = engine.stream_chat(STORY, settings(seed=11, max_new_tokens=6), reply_prefix=prefix)
    events = [event for chunk in stream for event in chunk.events]
    assert not any(isinstance(event, ThinkStarted) for event in events)
    result = stream.result
    assert result.text.startswith(prefix)
    assert result.reply.think.startswith("The loan is 100,000 yuan at 4% over")
    assert result.reply.truncated
    assert result.metrics.think_tokens == result.metrics.completion_tokens == 6


def test_on_token_sees_every_chunk_before_it_is_yielded(engine: ChatEngine) -> None:
    seen: list[TokenChunk] = []
    stream = engine.stream_chat(QUESTION, settings(seed=3, max_new_tokens=8), on_token=seen.append)
    yielded: list[TokenChunk] = []
    seen_when_yielded: list[int] = []
    for chunk in stream:
        seen_when_yielded.append(len(seen))
        yielded.append(chunk)
    assert seen == yielded
    assert seen_when_yielded == list(range(1, len(yielded) + 1))


def test_a_reply_the_model_ends_itself_finishes_with_stop(engine: ChatEngine, smollm2_gguf: Path,
                                                          steer: Callable[..., object]) -> None:
    # After "4." the grammar leaves the model nothing but its end-of-generation tokens.
    steer(smollm2_gguf, grammar=literal_grammar("4."))
    result = engine.chat(QUESTION, settings(temperature=0.0, max_new_tokens=64))
    assert result.finish_reason == "stop"
    assert 0 < result.metrics.completion_tokens < 64
    assert "<|im_end|>" not in result.text and result.text == "4."


def test_the_token_cap_finishes_with_length(engine: ChatEngine, smollm2_gguf: Path,
                                            steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    result = engine.chat(STORY, settings(seed=1, max_new_tokens=8))
    assert result.finish_reason == "length"
    assert result.metrics.completion_tokens == 8


def test_chinese_characters_split_over_tokens_are_emitted_whole(smollm2_gguf: Path) -> None:
    runtime = LlamaRuntime(smollm2_gguf, n_ctx=64, n_threads=THREADS, n_gpu_layers=0, n_batch=64,
                           flash_attn=None, use_mmap=True)
    try:
        text = "金融风险管理"
        pieces = [runtime.piece(token)
                  for token in runtime.tokenize(text, add_bos=False, parse_special=False)]
    finally:
        runtime.close()
    assert any(_is_partial_utf8(piece) for piece in pieces)
    assembler = Utf8Assembler()
    emitted = [assembler.push(piece) for piece in pieces] + [assembler.flush()]
    assert "".join(emitted) == text
    assert all("\ufffd" not in part for part in emitted)


def _is_partial_utf8(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_a_stop_string_split_over_pieces_is_cut_and_never_shown() -> None:
    stops = StopStringFilter(["<|im_end|>"])
    assert stops.push("Answer <|im") == ("Answer ", False)
    assert stops.push("_en") == ("", False)
    assert stops.push("d|> trailing") == ("", True)


def test_text_that_only_looked_like_a_stop_string_is_released() -> None:
    stops = StopStringFilter(["<|im_end|>"])
    assert stops.push("a <|im") == ("a ", False)
    assert stops.push("portant") == ("<|important", False)
    assert stops.push("x <") == ("x ", False)
    assert stops.flush() == "<"


# -- stopping ------------------------------------------------------------------------------------


def test_stop_from_another_thread_ends_generation_within_one_token(
        engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)
    cancel = CancelToken()
    received: list[TokenChunk] = []
    lock = threading.Lock()
    enough = threading.Event()
    at_cancel: dict[str, float] = {}

    def on_token(chunk: TokenChunk) -> None:
        with lock:
            received.append(chunk)
            if len(received) >= 5:
                enough.set()

    def stop_after_five_tokens() -> None:
        enough.wait(60)
        with lock:
            at_cancel["tokens"] = sum(chunk.token is not None for chunk in received)
            at_cancel["time"] = time.perf_counter()
            cancel.cancel()

    stopper = threading.Thread(target=stop_after_five_tokens)
    stopper.start()
    result = engine.stream_chat(STORY, settings(seed=2, temperature=1.0, max_new_tokens=400),
                                cancel, on_token).run()
    latency_s = time.perf_counter() - at_cancel["time"]
    stopper.join()
    tokens_after_stop = result.metrics.completion_tokens - at_cancel["tokens"]
    assert result.finish_reason == "cancelled" and result.stopped
    assert tokens_after_stop <= 1
    assert latency_s < 2.0, f"generation ended {latency_s:.3f} s after the stop"
    assert result.text == "".join(chunk.text for chunk in received)
    assert result.text.strip()


def test_a_stop_during_the_prompt_ends_the_turn_before_any_token(
        engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    cancel = CancelToken()
    cancel.cancel()
    result = engine.chat(STORY, settings(seed=1), cancel)
    assert result.finish_reason == "cancelled"
    assert result.metrics.completion_tokens == 0 and result.text == ""
    follow_up = engine.chat(STORY, settings(seed=1, max_new_tokens=4))
    assert follow_up.metrics.completion_tokens == 4


class _WatchedCancelToken(CancelToken):
    """A cancel token that notes when it is first asked: during a prompt's evaluation only
    llama.cpp's abort callback asks, between the operations of ``llama_decode``."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()

    @property
    def cancelled(self) -> bool:
        self.asked.set()
        return super().cancelled


def test_a_stop_during_a_long_prompt_interrupts_its_evaluation(smollm2_gguf: Path) -> None:
    config = EngineConfig(n_ctx=2048, n_batch=2048, n_threads=THREADS)  # one llama_decode call
    with ChatEngine(smollm2_gguf, config) as long_context:
        cancel = _WatchedCancelToken()
        stopped_at: list[float] = []

        def stop_once_evaluating() -> None:  # not after a fixed time: a fast CPU may be done
            cancel.asked.wait(60)
            stopped_at.append(time.perf_counter())
            cancel.cancel()

        stopper = threading.Thread(target=stop_once_evaluating)
        stopper.start()
        result = long_context.chat([ChatMessage("user", "word " * 1500)],
                                   settings(max_new_tokens=8), cancel)
        latency_s = time.perf_counter() - stopped_at[0]
        stopper.join()
    assert result.finish_reason == "cancelled"
    assert result.metrics.prompt_eval_tokens == 0  # not evaluated to the end, then stopped
    assert latency_s < 2.0


def test_a_second_stream_while_one_is_generating_is_refused(
        engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    first = engine.stream_chat(STORY, settings(seed=1))
    next(iter(first))
    with pytest.raises(EngineBusyError):
        next(iter(engine.stream_chat(QUESTION, settings(seed=1))))
    with pytest.raises(EngineBusyError):
        engine.close()
    first.close()
    assert engine.chat(QUESTION, settings(seed=1, max_new_tokens=2)).metrics.completion_tokens


# -- seeds -------------------------------------------------------------------------------------


def test_a_closed_engine_refuses_to_generate_instead_of_crashing(smollm2_gguf: Path) -> None:
    closed = ChatEngine(smollm2_gguf, EngineConfig(n_ctx=256, n_threads=THREADS))
    closed.close()
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.chat(QUESTION, settings(max_new_tokens=2))


def test_the_same_seed_gives_the_same_reply(engine: ChatEngine) -> None:
    first = engine.chat(STORY, settings(seed=1234, temperature=1.0))
    engine.chat(QUESTION, settings(seed=99, max_new_tokens=4))  # disturb the cache in between
    second = engine.chat(STORY, settings(seed=1234, temperature=1.0))
    assert first.text == second.text
    assert first.metrics.seed == second.metrics.seed == 1234


def test_different_seeds_give_different_replies(engine: ChatEngine, smollm2_gguf: Path,
                                                steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    texts = {engine.chat(STORY, settings(seed=seed, temperature=1.0)).text for seed in (1, 2, 3)}
    assert len(texts) > 1


def test_without_a_seed_one_is_drawn_and_reported(engine: ChatEngine) -> None:
    seeds = {engine.chat(QUESTION, settings(max_new_tokens=1)).metrics.seed for _ in range(2)}
    assert len(seeds) == 2


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_are_present_and_sane(engine: ChatEngine, smollm2_gguf: Path,
                                      steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)  # all answer, 16 tokens
    result = engine.chat(STORY, settings(seed=5, max_new_tokens=16))
    metrics = result.metrics
    assert metrics.prompt_tokens == len(engine.tokenize_prompt(result.prompt_messages))
    assert metrics.prompt_eval_tokens == metrics.prompt_tokens  # a seeded turn evaluates afresh
    assert metrics.completion_tokens == 16
    assert 0 < metrics.prompt_eval_s <= metrics.ttft_s < 30
    assert metrics.tokens_per_s is not None and 1 < metrics.tokens_per_s < 10_000
    assert metrics.decode_s > 0
    assert metrics.think_tokens + metrics.answer_tokens == metrics.completion_tokens
    assert metrics.think_tokens == 0 and metrics.answer_s > 0
    assert json.loads(json.dumps(metrics.to_dict()))["seed"] == 5


def test_the_next_turn_reuses_the_cached_prompt_prefix(engine: ChatEngine, smollm2_gguf: Path,
                                                        steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    first = engine.chat(STORY, settings(max_new_tokens=8))
    conversation = [*STORY, ChatMessage("assistant", first.text), ChatMessage("user", "Shorter.")]
    second = engine.chat(conversation, settings(max_new_tokens=4))
    assert second.metrics.prompt_eval_tokens < second.metrics.prompt_tokens / 2


def _pieces_of(reply: str, size: int = 3) -> list[str]:
    return [reply[start:start + size] for start in range(0, len(reply), size)]


def _count_sections(pieces: list[str]) -> tuple[int, float, int, float]:
    parser = ReasoningParser()
    counter = SectionCounter()
    for index, piece in enumerate(pieces):
        counter.add_token(parser.feed(piece), float(index))
    counter.observe(parser.finish(), float(len(pieces) - 1))
    totals = counter.totals(float(len(pieces) - 1))
    return totals.think_tokens, totals.think_s, totals.answer_tokens, totals.answer_s


def test_tokens_are_split_at_the_end_of_the_reasoning() -> None:
    pieces = ["\n<th", "ink>\n", "Step one", ". Step", " two.\n</", "think>\n", "<answer>",
              "\nIt is ", "\\boxed", "{42}", "\n</answer>"]
    assert _count_sections(pieces) == (6, 5.0, 5, 5.0)


def test_a_reply_without_reasoning_is_all_answer() -> None:
    assert _count_sections(_pieces_of("The answer is 4.")) == (0, 0.0, 6, 5.0)


def test_a_reply_cut_off_in_its_reasoning_is_all_reasoning() -> None:
    assert _count_sections(_pieces_of("<think>still going")) == (6, 5.0, 0, 0.0)


# -- context window ------------------------------------------------------------------------------


def test_a_small_context_drops_the_oldest_turns_and_keeps_system_and_question(
        smollm2_gguf: Path) -> None:
    conversation: list[ChatMessage] = []
    for index in range(4):
        conversation.append(ChatMessage("user", f"Question number {index}: " + "tell me more " * 8))
        conversation.append(ChatMessage(
            "assistant", f"<think>{'reasoning words ' * 20}</think><answer>Answer {index}</answer>"))
    question = ChatMessage("user", "What is the final question?")
    conversation.append(question)
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=224, n_threads=THREADS)) as small:
        result = small.chat(conversation, GenerationSettings(max_new_tokens=16, seed=1))
        n_ctx = small.info.n_ctx  # llama.cpp rounds the context up to a multiple of 256
    sent = result.prompt_messages
    assert result.metrics.dropped_messages >= 2
    assert result.metrics.prompt_tokens + 16 <= n_ctx
    assert sent[0] == ChatMessage("system", FIN_R1_SYSTEM_PROMPT)
    assert sent[-1] == question
    assert sent[1].content.startswith("Question number")
    assert sent[1].content != conversation[0].content
    assert sent[-2].content == "<answer>Answer 3</answer>"
    assert all("<think>" not in message.content for message in sent[1:])


def test_a_prompt_longer_than_the_batch_is_evaluated_in_batches(
        smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=256, n_batch=16, n_threads=THREADS)) as eng:
        result = eng.chat(STORY, GenerationSettings(max_new_tokens=4, seed=1))
    assert result.metrics.prompt_eval_tokens == result.metrics.prompt_tokens > 16
    assert result.metrics.completion_tokens == 4


def test_a_question_too_long_for_the_context_is_refused_clearly(
        smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=128, n_threads=THREADS)) as small:
        too_long = [ChatMessage("user", "numbers " * 400)]
        with pytest.raises(ContextOverflowError, match="raise the context size"):
            small.chat(too_long, settings(max_new_tokens=16))
        assert small.chat(QUESTION, settings(max_new_tokens=2, seed=1)).metrics.completion_tokens


# -- loading -----------------------------------------------------------------------------------


def test_an_invalid_gguf_is_refused_before_llama_cpp_sees_it(smollm2_gguf: Path,
                                                             tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with smollm2_gguf.open("rb") as source:
        truncated.write_bytes(source.read(4 << 20))
    not_gguf = tmp_path / "page.gguf"
    not_gguf.write_text("<html>rate limited</html>")
    for path in (truncated, not_gguf, tmp_path / "missing.gguf"):
        with pytest.raises(GGUFValidationError):
            ChatEngine(path, EngineConfig(n_ctx=256, n_threads=THREADS))


def test_requested_gpu_layers_on_a_cpu_only_build_give_a_warning(smollm2_gguf: Path) -> None:
    with ChatEngine(smollm2_gguf, EngineConfig(n_ctx=256, n_threads=THREADS,
                                               n_gpu_layers=8)) as cpu:
        if cpu.info.gpu_offload_supported:
            pytest.skip("this llama.cpp build can offload to a GPU")
        assert cpu.info.offload.n_gpu_layers == 0
        assert any("cannot use a GPU" in warning for warning in cpu.info.warnings)


def test_auto_gpu_layers_on_a_cpu_only_build_runs_on_the_cpu_quietly(engine: ChatEngine) -> None:
    if engine.info.gpu_offload_supported:
        pytest.skip("this llama.cpp build can offload to a GPU")
    assert engine.info.offload.requested == "auto"
    assert engine.info.offload.n_gpu_layers == 0
    assert engine.info.warnings == ()
    assert "CPU only" in engine.info.offload.note


def test_auto_offloads_as_many_layers_as_the_free_memory_holds(smollm2_gguf: Path) -> None:
    info = validate_gguf(smollm2_gguf)
    shape = read_gguf_shape(info)
    assert shape is not None and shape.layer_count == 30

    def plan(free: int | None) -> int:
        gpus = () if free is None else (GpuInfo("GPU", "nvidia", free, free, "test"),)
        return plan_offload("auto", info, 2048, 512, offload_supported=True,
                            gpus=gpus).n_gpu_layers

    assert plan(64 << 30) == 31
    assert plan(0) == 0
    assert 0 < plan(700 << 20) < 31
    assert plan(None) == -1
    assert plan_offload(12, info, 2048, 512, offload_supported=True).n_gpu_layers == 12


def test_bad_settings_are_refused_with_the_setting_named() -> None:
    with pytest.raises(InvalidSettingError, match="top_p"):
        GenerationSettings(top_p=0)
    with pytest.raises(InvalidSettingError, match="GPU layers"):
        EngineConfig(n_gpu_layers=-5)
    with pytest.raises(InvalidSettingError, match="context size"):
        EngineConfig(n_ctx=8)


# -- tiny Qwen2 GGUFs from the app's converter -------------------------------------------------


@pytest.fixture(scope="module")
def converted_tiny(tiny_checkpoint: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``converted_tiny(folder_name, chat_template=...)``: the tiny checkpoint copied to a folder
    of that name (the converter names the model after it), its chat template replaced when given,
    converted to a bf16 GGUF."""

    def convert(folder_name: str, chat_template: str | None = None) -> Path:
        workdir = tmp_path_factory.mktemp("tiny_variant")
        checkpoint = workdir / folder_name
        shutil.copytree(tiny_checkpoint, checkpoint)
        if chat_template is not None:
            config_path = checkpoint / "tokenizer_config.json"
            config = json.loads(config_path.read_text(encoding="utf-8"))
            config["chat_template"] = chat_template
            config_path.write_text(json.dumps(config), encoding="utf-8")
        return convert_checkpoint(checkpoint, workdir / f"{folder_name}.gguf", "bf16")

    return convert


def test_a_converted_tiny_qwen2_gguf_loads_and_streams(tiny_bf16_gguf: Path,
                                                      steer: Callable[..., object]) -> None:
    steer(tiny_bf16_gguf, may_end=False)
    with ChatEngine(tiny_bf16_gguf, EngineConfig(n_ctx=256, n_threads=THREADS)) as tiny:
        assert tiny.info.architecture == "qwen2"
        assert isinstance(tiny.template, SandboxedJinjaTemplate)
        stream = tiny.stream_chat(QUESTION, GenerationSettings(max_new_tokens=12, seed=1))
        chunks = list(stream)
    result = stream.result
    assert result.metrics.completion_tokens > 0
    assert "".join(chunk.text for chunk in chunks) == result.text
    assert result.finish_reason in ("stop", "length")


def test_a_gguf_named_fin_r1_gets_the_pinned_chatml(converted_tiny: Callable[..., Path]) -> None:
    gguf_path = converted_tiny("Fin-R1", chat_template="{{ 'not chatml' }}")
    with ChatEngine(gguf_path, EngineConfig(n_ctx=256, n_threads=THREADS)) as fin_r1:
        assert fin_r1.info.is_fin_r1
        assert isinstance(fin_r1.template, ChatMLTemplate)
        result = fin_r1.chat(QUESTION, GenerationSettings(max_new_tokens=4, seed=1))
    expected = ChatMLTemplate().render([ChatMessage("system", FIN_R1_SYSTEM_PROMPT), *QUESTION])
    assert fin_r1.render_prompt(result.prompt_messages) == expected


def test_a_gguf_whose_template_reaches_for_python_internals_gets_chatml_and_a_warning(
        converted_tiny: Callable[..., Path]) -> None:
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    gguf_path = converted_tiny("suspicious-model", chat_template=escape)
    with ChatEngine(gguf_path, EngineConfig(n_ctx=256, n_threads=THREADS)) as suspicious:
        assert isinstance(suspicious.template, ChatMLTemplate)
        assert any("unsafe" in warning for warning in suspicious.info.warnings)
        result = suspicious.chat(QUESTION, GenerationSettings(max_new_tokens=4, seed=1))
    assert result.metrics.completion_tokens > 0


def test_a_gguf_template_naming_internals_renders_them_inertly(
        converted_tiny: Callable[..., Path], steer: Callable[..., object]) -> None:
    template = "{{ ''.__class__ }}{% for m in messages %}<{{ m.content }}>{% endfor %}"
    gguf_path = converted_tiny("odd-model", chat_template=template)
    steer(gguf_path, may_end=False)
    with ChatEngine(gguf_path, EngineConfig(n_ctx=256, n_threads=THREADS)) as odd:
        result = odd.chat(QUESTION, GenerationSettings(max_new_tokens=4, seed=1))
        assert odd.render_prompt(result.prompt_messages) == \
            f"<{FIN_R1_SYSTEM_PROMPT}><What is 2+2?>"
    assert result.metrics.completion_tokens > 0
