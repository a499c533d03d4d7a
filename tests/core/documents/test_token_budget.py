"""An attached document against the context, without a screen: the stated estimate, the prompt
the document shares the context with, and parts that each fit, counted by a real tokenizer."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import llama_cpp
import pytest

from app.core.documents.token_budget import (
    estimate_token_count,
    estimate_tokens,
    prompt_around_field,
    split_to_fit,
)
from app.core.scenarios.scenario_file import get_scenario

REPORT = ("贵州茅台2023年营业收入为1505.6亿元，同比增长18.04%。Revenue grew 18% year on year.\n"
          "净利润747亿元。\n\n") * 30


@pytest.fixture(scope="module")
def smollm2_tokenize(smollm2_gguf: Path) -> Callable[[str], Sequence[int]]:
    vocabulary = llama_cpp.Llama(model_path=str(smollm2_gguf), vocab_only=True, verbose=False)
    return lambda text: vocabulary.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def test_the_estimate_is_a_token_per_chinese_character_and_per_four_others() -> None:
    assert estimate_token_count("营业收入，") == 5
    assert estimate_token_count("Revenue grew") == 3  # 12 characters
    assert estimate_token_count("净利润 up 8%") == 3 + 2  # 3 Chinese, 6 others rounded up
    assert len(estimate_tokens(REPORT)) == estimate_token_count(REPORT)
    assert estimate_token_count("") == 0


@pytest.mark.parametrize("max_tokens", [40, 97, 300])
@pytest.mark.parametrize("counter", ["model", "estimate"])
def test_split_parts_each_fit_and_join_back_into_the_text(
        counter: str, max_tokens: int, request: pytest.FixtureRequest) -> None:
    tokenize = (request.getfixturevalue("smollm2_tokenize") if counter == "model"
                else estimate_tokens)

    parts = split_to_fit(REPORT, tokenize, max_tokens)

    assert "".join(part.text for part in parts) == REPORT
    assert all(len(tokenize(part.text)) == part.tokens <= max_tokens for part in parts)
    # parts are filled: two neighbours together would not fit
    assert all(a.tokens + b.tokens > max_tokens for a, b in itertools.pairwise(parts))


def test_parts_end_at_paragraphs_when_paragraphs_fit(
        smollm2_tokenize: Callable[[str], Sequence[int]]) -> None:
    parts = split_to_fit(REPORT, smollm2_tokenize, 200)

    assert len(parts) > 1 and all(part.text.endswith("\n\n") for part in parts)


def test_a_text_without_any_break_is_cut_between_characters(
        smollm2_tokenize: Callable[[str], Sequence[int]]) -> None:
    text = "营业收入同比增长" * 100

    parts = split_to_fit(text, smollm2_tokenize, 50)

    assert "".join(part.text for part in parts) == text
    assert all(part.tokens <= 50 for part in parts)


def test_a_text_that_fits_is_one_part_and_nothing_is_no_part() -> None:
    assert [part.text for part in split_to_fit("净利润747亿元", estimate_tokens, 100)] == [
        "净利润747亿元"]
    assert split_to_fit("", estimate_tokens, 100) == ()
    with pytest.raises(ValueError, match="at least one token"):
        split_to_fit(REPORT, estimate_tokens, 0)


def test_the_prompt_around_a_field_is_the_scenarios_own_with_a_stand_in_for_the_document() -> None:
    scenario = get_scenario("risk")

    around = prompt_around_field(scenario, {"loan": "经营贷30万元"}, "profile", "zh")

    assert around == scenario.render_prompt(
        {"profile": "…", "loan": "经营贷30万元", "scale": "level"}, "zh", "zh")


def test_the_prompt_around_a_field_keeps_its_typed_text_and_takes_any_form_state() -> None:
    scenario = get_scenario("calculation")
    question = next(field.name for field in scenario.fields if field.type == "multiline")

    around = prompt_around_field(scenario, {question: "Typed first.", "decimals": "two"},
                                 question, "en")

    assert "Typed first.\n…" in around
    assert "two" not in around
