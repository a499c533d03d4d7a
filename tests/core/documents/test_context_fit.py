"""The token meter of an attached document: counted with a real model's tokenizer, set against
the context, and priced in memory when the context would have to grow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import llama_cpp
import pytest

from app.core.documents.context_fit import CONTEXT_STEP, measure_context_fit
from app.core.hardware.fit import FIN_R1_DIMS
from foundation.disk_space import human_bytes

REPORT = "贵州茅台2023年营业收入为1505.6亿元，同比增长18.04%。Revenue grew 18% year on year.\n" * 40


@pytest.fixture(scope="module")
def tokenize(smollm2_gguf: Path) -> Callable[[str], Sequence[int]]:
    vocabulary = llama_cpp.Llama(model_path=str(smollm2_gguf), vocab_only=True, verbose=False)
    return lambda text: vocabulary.tokenize(text.encode("utf-8"), add_bos=False, special=False)


def test_a_document_within_the_context_fits_and_says_how_much_room_is_left(
        tokenize: Callable[[str], Sequence[int]]) -> None:
    tokens = len(tokenize(REPORT))

    fit = measure_context_fit(REPORT, tokenize, n_ctx=tokens + 600, reserved_tokens=500,
                              dims=FIN_R1_DIMS)

    assert fit.document_tokens == tokens and fit.fits
    assert fit.extra_memory_bytes == 0
    assert fit.sentence() == (f"The document is {tokens:,} tokens; it fits the "
                              f"{tokens + 600:,}-token context ({tokens + 100:,} left for it).")


def test_a_document_past_the_context_names_the_context_that_holds_it_and_its_memory(
        tokenize: Callable[[str], Sequence[int]]) -> None:
    tokens = len(tokenize(REPORT))
    reserved = 1000

    fit = measure_context_fit(REPORT, tokenize, n_ctx=1024, reserved_tokens=reserved,
                              dims=FIN_R1_DIMS, trained_ctx=32768)

    assert not fit.fits and fit.can_raise_context
    assert fit.needed_ctx % CONTEXT_STEP == 0
    assert tokens + reserved <= fit.needed_ctx < tokens + reserved + CONTEXT_STEP
    assert fit.extra_memory_bytes == (fit.needed_ctx - 1024) * FIN_R1_DIMS.kv_bytes_per_token
    assert fit.sentence() == (
        f"The document is {tokens:,} tokens, more than the 24 the 1,024-token context leaves: "
        f"select fewer pages, sheets or sections, or raise the context to {fit.needed_ctx:,} "
        f"tokens (about {human_bytes(fit.extra_memory_bytes)} more memory).")


def test_a_document_past_what_the_model_was_trained_for_can_only_be_cut(
        tokenize: Callable[[str], Sequence[int]]) -> None:
    fit = measure_context_fit(REPORT * 4, tokenize, n_ctx=512, trained_ctx=1024)

    assert not fit.can_raise_context and fit.extra_memory_bytes is None
    assert fit.sentence().endswith("and more than this model was trained for (1,024 tokens): "
                                   "select fewer pages, sheets or sections.")


def test_the_count_is_the_models_own(tokenize: Callable[[str], Sequence[int]]) -> None:
    by_characters = measure_context_fit(REPORT, lambda text: list(text), n_ctx=100_000)
    by_model = measure_context_fit(REPORT, tokenize, n_ctx=100_000)

    assert by_model.document_tokens == len(tokenize(REPORT)) != by_characters.document_tokens
    assert measure_context_fit("", tokenize, n_ctx=512).document_tokens == 0
