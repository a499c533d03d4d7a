"""Speculative decoding: drafts checked in one batch, kept while they are the model's own tokens.

Proofs, on real llama.cpp models and never on a model's words:

* greedy replies are the same tokens with and without speculation (SmolLM2 F16 with its own Q4_1
  as draft, tiny Qwen2 pairs, prompt lookup), except where llama.cpp's batched and one-token
  kernels round a near-tie differently: then the model's logits at the first divergence are
  within ``NEAR_TIE`` of each other;
* sampled tokens follow the model's distribution: a goodness-of-fit test of many seeded samples
  against the probabilities the model's own logits give;
* a draft model whose vocabulary is not the model's is refused (llama.cpp's rule);
* the drafters, the governor's draft length and its switching off, and the settings.

The decoder tests drive ``SpeculativeDecoder`` as the engine's loop does, with a governor that
always asks for a draft of ``DRAFT_LENGTH``, so every step after the first checks one whatever the
machine's speed; the engine tests leave the decisions to the real governor.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from app.core.engine.config import EngineConfig, GenerationSettings
from app.core.engine.llama_runtime import LlamaRuntime, Sampler
from app.core.engine.local_engine import REASONING_CLOSE, ChatEngine
from app.core.engine.speculative import (
    Drafter,
    DraftGovernor,
    DraftModelDrafter,
    PromptLookupDrafter,
    SpeculativeDecoder,
)
from app.core.engine.turn_metrics import TurnMetrics
from app.core.errors import DraftModelMismatchError
from app.core.installation.settings import AppSettings
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from quant.convert import convert_checkpoint
from tests.support.direct_quantize import direct_quantize
from tests.support.llm_support import PROSE_GRAMMAR, THREADS, literal_grammar
from tests.support.tiny_checkpoint import load_checkpoint_tensors, write_safetensors

# How far apart two logits may be for llama.cpp's batched and one-token kernels to order them
# differently: their results differ in the last bits of float arithmetic (SmolLM2 F16 diverged at
# a gap of 0.0006 when this was written); a real disagreement between two tokens is far wider.
NEAR_TIE = 0.02
STORY = "Write a short story about a fox who learns to fly, then tell it again in other words."
QUOTED = "The client must verify the identity of every beneficial owner before opening the account."


DRAFT_LENGTH = 4


class FixedLength(DraftGovernor):
    """Asks for a draft of ``DRAFT_LENGTH`` tokens at every step, never switching speculation off."""

    def draft_length(self) -> int:
        return DRAFT_LENGTH


def runtime(model: Path) -> LlamaRuntime:
    return LlamaRuntime(model, n_ctx=1024, n_threads=THREADS, n_gpu_layers=0, n_batch=256,
                        flash_attn=None, use_mmap=True, prefix_cache_bytes=0)


@pytest.fixture(scope="module")
def smollm2_f16(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 requantized from its Q4_1 to F16: the same weights, computed another way."""
    target = tmp_path_factory.mktemp("smollm2") / "smollm2-f16.gguf"
    assert direct_quantize(smollm2_gguf, target, "f16", allow_requantize=True, threads=1) == 0
    return target


@pytest.fixture(scope="module")
def tiny_q8_0(tiny_gguf_factory: Callable[..., Path],
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("tiny") / "tiny-q8_0.gguf"
    assert direct_quantize(tiny_gguf_factory("bf16"), target, "q8_0", threads=1) == 0
    return target


@pytest.fixture
def pair(request: pytest.FixtureRequest, smollm2_gguf: Path, smollm2_f16: Path,
         tiny_gguf_factory: Callable[..., Path], tiny_q8_0: Path) -> tuple[Path, Path]:
    """(model, draft model) by name."""
    return {
        "smollm2 f16 / q4_1": (smollm2_f16, smollm2_gguf),
        "tiny bf16 / q8_0": (tiny_gguf_factory("bf16"), tiny_q8_0),
        "tiny bf16 / other weights": (tiny_gguf_factory("bf16"), tiny_gguf_factory("bf16", seed=1)),
    }[request.param]


def decode(model: LlamaRuntime, prompt: Sequence[int], count: int,
           drafter: Drafter | None = None, *, seed: int = 0, temperature: float = 0.0,
           top_k: int = 0) -> tuple[list[int], SpeculativeDecoder]:
    """``count`` tokens after ``prompt``, driven as the engine's loop drives the decoder."""
    model.evaluate_prompt(prompt)
    with Sampler(n_vocab=model.n_vocab, temperature=temperature, top_k=top_k, top_p=1.0,
                 min_p=0.0, repeat_penalty=1.0, repeat_last_n=0, seed=seed) as sampler:
        decoder = SpeculativeDecoder(model, sampler, prompt, drafter, FixedLength())
        tokens: list[int] = []
        while True:
            tokens.append(decoder.sample())
            if len(tokens) == count:
                return tokens, decoder
            decoder.advance(tokens[-1], max_draft=count - len(tokens) - 1)


def one_token_logits(model: LlamaRuntime, prompt: Sequence[int],
                     written: Sequence[int]) -> np.ndarray:
    """The logits after ``prompt`` and ``written``, the latter evaluated one token at a time."""
    model.evaluate_prompt(prompt)
    for token in written:
        model.decode_token(token)
    return model.logits().copy()


def assert_same_up_to_a_near_tie(model: LlamaRuntime, prompt: Sequence[int],
                                 plain: list[int], speculated: list[int]) -> None:
    if plain == speculated:
        return
    first = next(index for index, (a, b) in enumerate(zip(plain, speculated, strict=True))
                 if a != b)
    logits = one_token_logits(model, prompt, plain[:first])
    gap = float(logits[plain[first]] - logits[speculated[first]])
    assert abs(gap) < NEAR_TIE, (
        f"the replies part at token {first} ({plain[first]} / {speculated[first]}), where the "
        f"model's logits are {gap:.4f} apart: not a near-tie")


# -- greedy: the same tokens ------------------------------------------------------------------

@pytest.mark.parametrize("pair", ["smollm2 f16 / q4_1", "tiny bf16 / q8_0",
                                  "tiny bf16 / other weights"], indirect=True)
def test_greedy_tokens_are_the_same_with_a_draft_model(pair: tuple[Path, Path]) -> None:
    target_path, draft_path = pair
    target, draft = runtime(target_path), runtime(draft_path)
    try:
        prompt = target.tokenize(STORY, add_bos=target.adds_bos, parse_special=True)
        plain, _ = decode(target, prompt, 40)
        drafter = DraftModelDrafter(draft, draft_path.name, min_probability=0.0)
        speculated, decoder = decode(target, prompt, 40, drafter)
        assert decoder.drafted > 0  # every step after the first checked a draft
        assert 0 <= decoder.accepted <= decoder.drafted
        assert_same_up_to_a_near_tie(target, prompt, plain, speculated)
    finally:
        target.close()
        draft.close()


def test_a_draft_of_the_same_weights_is_mostly_accepted(smollm2_f16: Path,
                                                        smollm2_gguf: Path) -> None:
    target, draft = runtime(smollm2_f16), runtime(smollm2_gguf)
    try:
        prompt = target.tokenize(STORY, add_bos=target.adds_bos, parse_special=True)
        _tokens, decoder = decode(target, prompt, 40, DraftModelDrafter(draft, "q4_1", 0.0))
        assert decoder.accepted / decoder.drafted > 0.5
    finally:
        target.close()
        draft.close()


def test_greedy_tokens_are_the_same_with_prompt_lookup(smollm2_gguf: Path) -> None:
    target = runtime(smollm2_gguf)
    try:
        text = "Repeat this list exactly: " + ", ".join(["apples, pears, plums"] * 6)
        prompt = target.tokenize(text, add_bos=target.adds_bos, parse_special=True)
        plain, _ = decode(target, prompt, 40)
        speculated, decoder = decode(target, prompt, 40, PromptLookupDrafter())
        assert decoder.drafted > 0
        assert_same_up_to_a_near_tie(target, prompt, plain, speculated)
    finally:
        target.close()


# -- sampled: the model's distribution ---------------------------------------------------------

SAMPLED_TOKENS = 4
SAMPLES = 600
TOP_K = 3  # each token among the model's 3 likeliest: the draft's guess is often, not always, it


def sequence_probabilities(model: LlamaRuntime, prompt: Sequence[int],
                           temperature: float) -> dict[tuple[int, ...], float]:
    """Every sequence of ``SAMPLED_TOKENS`` tokens the sampler can draw (top-k, temperature),
    with its probability from the model's own logits."""
    found: dict[tuple[int, ...], float] = {}

    def grow(written: tuple[int, ...], probability: float) -> None:
        if len(written) == SAMPLED_TOKENS:
            found[written] = probability
            return
        logits = one_token_logits(model, prompt, written).astype(np.float64)
        top = np.argsort(logits)[-TOP_K:]
        weights = np.exp((logits[top] - logits[top].max()) / temperature)
        for token, weight in zip(top, weights / weights.sum(), strict=True):
            grow((*written, int(token)), probability * float(weight))

    grow((), 1.0)
    return found


def chi_square_critical(degrees: int, z: float = 3.09) -> float:
    """The chi-square value exceeded with probability 0.001 (z = 3.09), by Wilson–Hilferty."""
    return degrees * (1 - 2 / (9 * degrees) + z * math.sqrt(2 / (9 * degrees))) ** 3


@pytest.mark.parametrize("drafting", ["none", "draft model"])
def test_sampled_tokens_follow_the_models_distribution(
        tiny_gguf_factory: Callable[..., Path], tiny_q8_0: Path, drafting: str) -> None:
    target, draft = runtime(tiny_gguf_factory("bf16")), runtime(tiny_q8_0)
    temperature = 0.5
    try:
        prompt = target.tokenize("The annual report says", add_bos=False, parse_special=True)
        expected = sequence_probabilities(target, prompt, temperature)
        drafter = DraftModelDrafter(draft, "q8_0", 0.0) if drafting == "draft model" else None
        counts: Counter[tuple[int, ...]] = Counter()
        drafted = accepted = 0
        for seed in range(SAMPLES):
            tokens, decoder = decode(target, prompt, SAMPLED_TOKENS, drafter, seed=seed,
                                     temperature=temperature, top_k=TOP_K)
            counts[tuple(tokens)] += 1
            drafted, accepted = drafted + decoder.drafted, accepted + decoder.accepted
    finally:
        target.close()
        draft.close()
    assert set(counts) <= set(expected)
    # categories expected at least 5 times, the rest pooled into one
    large = [sequence for sequence, p in expected.items() if p * SAMPLES >= 5]
    observed = [counts[sequence] for sequence in large] + [SAMPLES - sum(counts[s] for s in large)]
    predicted = [expected[s] * SAMPLES for s in large] + [SAMPLES * (1 - sum(expected[s]
                                                                               for s in large))]
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, predicted, strict=True) if e > 0)
    assert statistic < chi_square_critical(len(large)), (statistic, len(large))
    if drafting == "draft model":  # drafts were checked, and both kept and refused
        assert 0 < accepted < drafted


# -- the draft model's vocabulary ---------------------------------------------------------------

def changed_checkpoint(source: Path, dest: Path, *, renamed: tuple[str, str] | None = None,
                       extra_ids: int = 0) -> Path:
    """A copy of ``source`` with one token's text ``renamed`` (old, new) and/or ``extra_ids``
    more rows of embedding and output (padding ids, as Qwen2.5 models have different numbers of)."""
    shutil.copytree(source, dest)
    if renamed is not None:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            path = dest / name
            path.write_text(path.read_text(encoding="utf-8").replace(*renamed), encoding="utf-8")
    if extra_ids:
        tensors = load_checkpoint_tensors(dest)
        for name in ("model.embed_tokens.weight", "lm_head.weight"):
            rows = tensors[name]
            tensors[name] = np.concatenate([rows, np.zeros((extra_ids, rows.shape[1]), rows.dtype)])
        write_safetensors(dest / "model.safetensors", tensors, "bf16")
        config = json.loads((dest / "config.json").read_text(encoding="utf-8"))
        config["vocab_size"] += extra_ids
        (dest / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return convert_checkpoint(dest, dest.with_suffix(".gguf"), "bf16")


def test_a_draft_model_with_other_special_tokens_is_refused(
        smollm2_gguf: Path, tiny_gguf_factory: Callable[..., Path]) -> None:
    config = EngineConfig(n_ctx=256, n_threads=THREADS, draft_model=tiny_gguf_factory("bf16"))
    with pytest.raises(DraftModelMismatchError, match="beginning-of-text token"):
        ChatEngine(smollm2_gguf, config)


def test_a_draft_model_with_more_than_128_other_ids_is_refused(
        tiny_gguf_factory: Callable[..., Path], tiny_checkpoint: Path, tmp_path: Path) -> None:
    within = changed_checkpoint(tiny_checkpoint, tmp_path / "within", extra_ids=128)
    beyond = changed_checkpoint(tiny_checkpoint, tmp_path / "beyond", extra_ids=192)
    model = tiny_gguf_factory("bf16")
    ChatEngine(model, EngineConfig(n_ctx=256, n_threads=THREADS, draft_model=within)).close()
    with pytest.raises(DraftModelMismatchError, match=r"tokens.*more than 128 apart"):
        ChatEngine(model, EngineConfig(n_ctx=256, n_threads=THREADS, draft_model=beyond))


def test_a_draft_model_with_another_text_for_a_token_is_refused(
        tiny_gguf_factory: Callable[..., Path], tiny_checkpoint: Path, tmp_path: Path) -> None:
    draft = changed_checkpoint(tiny_checkpoint, tmp_path / "renamed",
                               renamed=("<tool_call>", "<tool_cal1>"))
    config = EngineConfig(n_ctx=256, n_threads=THREADS, draft_model=draft)
    with pytest.raises(DraftModelMismatchError, match=r"token 771 is '<tool_cal1>'"):
        ChatEngine(tiny_gguf_factory("bf16"), config)


def test_a_draft_model_sharing_the_vocabulary_is_loaded_beside_the_model(
        tiny_gguf_factory: Callable[..., Path], tiny_q8_0: Path) -> None:
    config = EngineConfig(n_ctx=256, n_threads=THREADS, draft_model=tiny_q8_0)
    with ChatEngine(tiny_gguf_factory("bf16"), config) as engine:
        assert engine.info.speculation == f"draft model {tiny_q8_0.name}"


# -- the engine ------------------------------------------------------------------------------

def greedy(max_new_tokens: int, **overrides: object) -> GenerationSettings:
    values: dict[str, object] = {"system_prompt": None, "temperature": 0, "repeat_penalty": 1.0,
                                 "max_new_tokens": max_new_tokens}
    values.update(overrides)
    return GenerationSettings(**values)  # type: ignore[arg-type]


def engine_tokens(engine: ChatEngine, question: str, settings: GenerationSettings,
                  reply_prefix: str = "") -> tuple[list[int], TurnMetrics]:
    stream = engine.stream_chat([ChatMessage("user", question)], settings,
                                reply_prefix=reply_prefix)
    tokens = [chunk.token for chunk in stream if chunk.token is not None]
    return tokens, stream.result.metrics


def test_the_engine_with_a_draft_model_writes_the_same_reply(
        smollm2_f16: Path, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, may_end=False)  # both replies run to the token limit
    settings = greedy(48)
    with ChatEngine(smollm2_f16, EngineConfig(n_ctx=512, n_threads=THREADS)) as engine:
        plain, _ = engine_tokens(engine, STORY, settings)
        prompt = engine.tokenize_prompt([ChatMessage("user", STORY)])
    config = EngineConfig(n_ctx=512, n_threads=THREADS, draft_model=smollm2_gguf)
    with ChatEngine(smollm2_f16, config) as engine:
        speculated, metrics = engine_tokens(engine, STORY, settings)
    assert 0 <= metrics.accepted_tokens <= metrics.draft_tokens
    assert metrics.acceptance_rate is None or 0 <= metrics.acceptance_rate <= 1
    reference = runtime(smollm2_f16)
    try:
        assert_same_up_to_a_near_tie(reference, prompt, plain, speculated)
    finally:
        reference.close()


@pytest.fixture(scope="module")
def lookup_engine(smollm2_gguf: Path) -> Iterator[ChatEngine]:
    config = EngineConfig(n_ctx=512, n_threads=THREADS, prompt_lookup=True)
    with ChatEngine(smollm2_gguf, config) as engine:
        yield engine


def test_prompt_lookup_accepts_drafts_where_the_reply_quotes_the_question(
        lookup_engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=literal_grammar(QUOTED))  # the reply quotes the question
    stream = lookup_engine.stream_chat(
        [ChatMessage("user", f"Quote the rule: {QUOTED}")], greedy(60))
    result = stream.run()
    assert lookup_engine.info.speculation == "prompt lookup"
    assert result.text == QUOTED
    assert result.metrics.acceptance_rate is not None and result.metrics.acceptance_rate > 0.5


def test_the_reasoning_budget_closes_the_reasoning_while_drafts_are_checked(
        lookup_engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    # the reasoning quotes the question, so drafts are checked when the budget is reached
    steer(smollm2_gguf, grammar=f"root ::= {json.dumps(QUOTED)} [^<]*", may_end=False)
    budget = 12
    closing = lookup_engine.tokenize_text(REASONING_CLOSE)
    tokens, metrics = engine_tokens(lookup_engine, f"Quote the rule: {QUOTED}",
                                    greedy(40, think_budget=budget), reply_prefix="<think>\n")
    assert tokens[budget:budget + len(closing)] == closing
    assert metrics.reasoning_stopped_at == budget
    assert metrics.draft_tokens > 0


def test_a_second_turn_reuses_the_prompt_cache_while_speculating(
        lookup_engine: ChatEngine, smollm2_gguf: Path, steer: Callable[..., object]) -> None:
    steer(smollm2_gguf, grammar=PROSE_GRAMMAR, may_end=False)
    settings = greedy(16, system_prompt="You quote rules. " * 20)
    first = lookup_engine.chat([ChatMessage("user", f"Quote: {QUOTED}")], settings)
    second = lookup_engine.chat([ChatMessage("user", f"Quote again: {QUOTED}")], settings)
    assert first.metrics.completion_tokens == second.metrics.completion_tokens == 16
    assert second.metrics.prompt_eval_tokens < second.metrics.prompt_tokens - 60


# -- the drafters and the governor ---------------------------------------------------------------

def test_prompt_lookup_proposes_what_followed_the_longest_recent_match() -> None:
    drafter = PromptLookupDrafter()
    history = [1, 2, 3, 4, 5, 9, 2, 3, 4, 7, 8, 6, 2, 3, 4]
    assert drafter.propose(history, 2) == [7, 8]  # [2, 3, 4] was last followed by 7, 8
    # the history grows as the reply is written: [4, 7, 8, 6] was followed by 2, 3, 4
    assert drafter.propose([*history, 7, 8, 6], 3) == [2, 3, 4]
    # a longer match wins over a more recent shorter one
    assert PromptLookupDrafter().propose([1, 2, 3, 10, 9, 2, 3, 20, 1, 2, 3], 1) == [10]
    assert PromptLookupDrafter().propose([1, 2, 3, 4, 5], 4) == []


def test_the_draft_length_follows_the_acceptance() -> None:
    governor = DraftGovernor(warmup_steps=1, longest=8, judged_after=10**9)  # never pauses
    governor.plain_step(0.1)
    for _ in range(20):
        governor.round(4, 4, 0.001, 0.12)  # cheap drafts, all kept
    assert governor.draft_length() == 8
    for _ in range(20):
        governor.round(4, 0, 0.001, 0.12)  # none kept
    assert governor.draft_length() == 1


def test_expensive_drafts_are_kept_shorter() -> None:
    cheap, dear = DraftGovernor(warmup_steps=1), DraftGovernor(warmup_steps=1)
    for governor, draft_s in ((cheap, 0.004), (dear, 0.24)):
        governor.plain_step(0.1)
        for _ in range(10):
            governor.round(4, 3, draft_s, 0.12)
    assert cheap.acceptance == dear.acceptance
    assert dear.draft_length() < cheap.draft_length()


def losing_rounds(governor: DraftGovernor, count: int, draft_s: float = 0.001) -> None:
    for _ in range(count):
        governor.round(4, 0, draft_s, 0.2)  # one token written for two plain steps' time


def test_speculation_pauses_when_it_does_not_pay_and_longer_each_time() -> None:
    governor = DraftGovernor(warmup_steps=1, first_pause=4, judged_after=2)
    governor.plain_step(0.1)
    losing_rounds(governor, 2)
    assert governor.draft_length() == 0 and governor.pauses == 1
    for _ in range(4):
        governor.plain_step(0.1)
    assert governor.draft_length() == 1  # it tries again, with one draft token
    losing_rounds(governor, 2)
    for _ in range(4):
        governor.plain_step(0.1)
    assert governor.draft_length() == 0 and governor.pauses == 2  # paused for 8 this time
    for _ in range(4):
        governor.plain_step(0.1)
    assert governor.draft_length() == 1


def test_a_draft_model_as_dear_as_the_model_is_not_tried_again() -> None:
    governor = DraftGovernor(warmup_steps=1, first_pause=4, judged_after=2)
    governor.plain_step(0.1)
    losing_rounds(governor, 2, draft_s=0.4)  # four draft tokens for four plain steps' time
    for _ in range(4):
        governor.plain_step(0.1)
    assert governor.draft_length() == 0 and governor.pauses == 2  # paused again at once


def test_speculation_that_pays_goes_on() -> None:
    governor = DraftGovernor(warmup_steps=1)
    governor.plain_step(0.1)
    for _ in range(20):
        governor.round(4, 3, 0.04, 0.14)  # four tokens for two plain steps' time
    assert governor.draft_length() > 1 and governor.pauses == 0


def test_a_stalled_check_does_not_keep_free_drafts_switched_off() -> None:
    governor = DraftGovernor(warmup_steps=1, first_pause=4)
    governor.plain_step(0.1)
    for _ in range(6):
        governor.round(4, 0, 0.00001, 2.0)  # the machine stalled while checking
    for _ in range(4):
        governor.plain_step(0.1)
    assert governor.draft_length() == 1  # prompt lookup drafts for free: it is tried again


def test_a_new_turn_tries_speculation_again() -> None:
    governor = DraftGovernor(warmup_steps=1, first_pause=64)
    governor.plain_step(0.1)
    losing_rounds(governor, 2)
    assert governor.draft_length() == 0
    governor.new_turn()
    assert governor.draft_length() == 1


def test_lookups_that_find_nothing_cost_nothing_and_do_not_pause_speculation() -> None:
    governor = DraftGovernor(warmup_steps=1)
    governor.plain_step(0.1)
    for _ in range(50):
        governor.nothing_drafted(0.00001)
    assert governor.pauses == 0
    for _ in range(3):
        governor.nothing_drafted(0.05)  # a draft model's guess that found nothing costs
    assert governor.pauses == 1


# -- settings --------------------------------------------------------------------------------

def test_the_speculation_setting_chooses_how_the_engine_drafts(tmp_path: Path) -> None:
    draft = tmp_path / "draft.gguf"
    assert AppSettings().engine_config().speculation == "off"
    assert AppSettings(speculation="lookup").engine_config().prompt_lookup
    chosen = AppSettings(speculation="draft", draft_model=str(draft))
    assert chosen.engine_config().draft_model == draft
    assert AppSettings(draft_model=str(draft)).engine_config().draft_model is None  # kept, off
    assert chosen.needs_reload(chosen.with_changes(speculation="lookup"))


@pytest.mark.parametrize("values, words", [
    ({"speculation": "draft"}, "needs its file"),
    ({"speculation": "sometimes"}, "must be one of off, lookup, draft"),
])
def test_an_incomplete_or_unknown_speculation_setting_is_refused(values: dict[str, str],
                                                                 words: str) -> None:
    with pytest.raises(InvalidSettingError, match=words):
        AppSettings(**values)  # type: ignore[arg-type]


def test_a_draft_model_and_prompt_lookup_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettingError, match="not both"):
        EngineConfig(draft_model=tmp_path / "draft.gguf", prompt_lookup=True)
