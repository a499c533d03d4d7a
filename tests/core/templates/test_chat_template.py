"""How a conversation becomes prompt text: pinned ChatML, sandboxed file templates, history."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.engine.config import FIN_R1_SYSTEM_PROMPT
from app.core.engine.context_window import drop_think, fit_prompt
from app.core.errors import ChatTemplateError, ContextOverflowError
from app.core.reasoning.parser import parse_text
from app.core.templates.chat_template import (
    ChatMessage,
    ChatMLTemplate,
    SandboxedJinjaTemplate,
    choose_chat_template,
    is_fin_r1,
)
from quant.gguf_check import validate_gguf

CONVERSATION = (
    ChatMessage("system", "SYS"),
    ChatMessage("user", "Q1"),
    ChatMessage("assistant", "A1"),
    ChatMessage("user", "Q2"),
)
ESCAPE_TO_SUBCLASSES = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


def test_pinned_chatml_is_qwen25_format_ending_with_the_open_assistant_turn() -> None:
    expected = (
        "<|im_start|>system\nSYS<|im_end|>\n"
        "<|im_start|>user\nQ1<|im_end|>\n"
        "<|im_start|>assistant\nA1<|im_end|>\n"
        "<|im_start|>user\nQ2<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert ChatMLTemplate().render(CONVERSATION) == expected


def test_fin_r1_system_prompt_is_the_model_cards_verbatim() -> None:
    assert FIN_R1_SYSTEM_PROMPT.endswith(
        "Respond in the following format: <think>\n...\n</think>\n<answer>\n...\n</answer>"
    )
    assert FIN_R1_SYSTEM_PROMPT.startswith("You are a helpful AI Assistant that provides")


@pytest.mark.parametrize("metadata", [
    {"general.name": "Fin-R1"},
    {"general.name": "Fin R1"},
    {"general.name": "FinR1 Q4_K_M"},
    {"general.basename": "fin_r1"},
    {"general.name": "Model", "general.finetune": "Fin-R1"},
    {"general.source.url": "https://huggingface.co/SUFE-AIFLM-Lab/Fin-R1"},
    {"general.source.huggingface.repository": "SUFE-AIFLM-Lab/Fin-R1"},
    {"general.repo_url": "https://huggingface.co/mradermacher/Fin-R1-GGUF"},
])
def test_fin_r1_is_recognised_from_any_converters_metadata(metadata: dict[str, object]) -> None:
    assert is_fin_r1(metadata)


@pytest.mark.parametrize("metadata", [
    {"general.name": "Qwen2.5 7B Instruct"},
    {"general.name": "Dolphin-R1"},
    {"general.name": "Fin-R10"},
    {"general.name": "Fin-R2"},
    {"general.name": "Model", "general.base_model.0.name": "Fin-R1"},
    {"general.name": 42},
    {},
])
def test_other_models_are_not_taken_for_fin_r1(metadata: dict[str, object]) -> None:
    assert not is_fin_r1(metadata)


def test_fin_r1_gets_the_pinned_chatml_even_when_its_file_carries_another_template() -> None:
    metadata = {"general.name": "Fin-R1", "tokenizer.chat_template": "{{ 'something else' }}"}
    template = choose_chat_template(metadata)
    assert isinstance(template, ChatMLTemplate)
    assert template.render(CONVERSATION).startswith("<|im_start|>system\nSYS<|im_end|>")


def test_another_model_gets_its_own_template_rendered_in_the_sandbox() -> None:
    source = "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}" \
             "{% if add_generation_prompt %}[assistant:{% endif %}"
    template = choose_chat_template({"general.name": "Other", "tokenizer.chat_template": source})
    assert isinstance(template, SandboxedJinjaTemplate)
    assert template.render(CONVERSATION) == "[system:SYS][user:Q1][assistant:A1][user:Q2][assistant:"


def test_a_model_without_template_falls_back_to_chatml() -> None:
    template = choose_chat_template({"general.name": "Other"})
    assert isinstance(template, ChatMLTemplate)
    assert "fallback" in template.name


def test_a_template_reaching_for_python_internals_is_refused() -> None:
    template = SandboxedJinjaTemplate(ESCAPE_TO_SUBCLASSES)
    with pytest.raises(ChatTemplateError, match="unsafe"):
        template.render(CONVERSATION)


def test_a_template_reaching_for_module_globals_is_refused() -> None:
    template = SandboxedJinjaTemplate(
        "{{ raise_exception.__globals__['__builtins__']['__import__']('os').getcwd() }}"
    )
    with pytest.raises(ChatTemplateError):
        template.render(CONVERSATION)


def test_naming_an_internal_attribute_alone_renders_as_nothing() -> None:
    template = SandboxedJinjaTemplate("<{{ ''.__class__ }}>{{ messages[0].content }}")
    assert template.render(CONVERSATION) == "<>SYS"


def test_a_template_that_does_not_compile_is_refused_when_loaded() -> None:
    with pytest.raises(ChatTemplateError, match="not a valid template"):
        SandboxedJinjaTemplate("{% for m in messages %}")


def test_a_model_whose_template_does_not_compile_gets_chatml_with_a_warning() -> None:
    template = choose_chat_template({"general.name": "Other",
                                     "tokenizer.chat_template": "{% for m in messages %}"})
    assert isinstance(template, ChatMLTemplate)
    assert template.warning is not None and "not a valid template" in template.warning


def test_raise_exception_in_a_template_becomes_a_chat_template_error() -> None:
    template = SandboxedJinjaTemplate("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        template.render(CONVERSATION)


def test_smollm2s_own_template_renders_chatml_in_the_sandbox(smollm2_gguf: Path) -> None:
    metadata = validate_gguf(smollm2_gguf).metadata
    template = choose_chat_template(metadata)
    assert isinstance(template, SandboxedJinjaTemplate)
    assert template.render(CONVERSATION) == ChatMLTemplate().render(CONVERSATION)


# -- history -----------------------------------------------------------------------------------


def test_a_replys_reasoning_is_dropped_from_history() -> None:
    reply = "\n<think>\nlong reasoning\n</think>\n<answer>\nParis \\boxed{Paris}\n</answer>"
    assert drop_think(reply) == "<answer>\nParis \\boxed{Paris}\n</answer>"


def test_a_reasoning_ended_by_the_answer_tag_alone_is_dropped_like_the_parser_does() -> None:
    reply = "<think>\nlong reasoning\n<answer>\nParis \\boxed{Paris}\n</answer>"
    assert drop_think(reply) == "<answer>\nParis \\boxed{Paris}\n</answer>"
    assert parse_text(reply).answer == "Paris \\boxed{Paris}"  # the same split


def test_a_reply_cut_off_inside_its_reasoning_resends_nothing() -> None:
    assert drop_think("<think>\nstill thinking when the cap hit") == ""


def test_a_reply_without_reasoning_is_resent_unchanged() -> None:
    assert drop_think("Plain answer. </think> stays") == "Plain answer. </think> stays"


def _word_tokens(messages: tuple[ChatMessage, ...] | list[ChatMessage]) -> list[int]:
    """A stand-in tokenizer: one token per word of the ChatML rendering."""
    return list(range(len(ChatMLTemplate().render(messages).split())))


def _turns(count: int) -> list[ChatMessage]:
    conversation: list[ChatMessage] = []
    for index in range(count):
        conversation.append(ChatMessage("user", f"question {index} " + "word " * 10))
        conversation.append(ChatMessage("assistant", f"<think>{'why ' * 20}</think>answer {index}"))
    return conversation


def test_history_that_fits_is_kept_whole_with_reasoning_dropped() -> None:
    conversation = [*_turns(2), ChatMessage("user", "last question")]
    fitted = fit_prompt("SYS", conversation, _word_tokens, n_ctx=1000, reply_reserve=10)
    assert fitted.dropped_messages == 0
    assert [m.role for m in fitted.messages] == ["system", "user", "assistant", "user",
                                                 "assistant", "user"]
    assert all("<think>" not in m.content for m in fitted.messages)
    assert fitted.messages[2].content == "answer 0"


def test_oldest_whole_turns_are_dropped_until_the_reply_reserve_fits() -> None:
    conversation = [*_turns(5), ChatMessage("user", "last question")]
    full = _word_tokens([ChatMessage("system", "SYS"), *conversation])
    fitted = fit_prompt("SYS", conversation, _word_tokens, n_ctx=60, reply_reserve=20)
    assert len(fitted.tokens) + 20 <= 60 < len(full) + 20
    assert fitted.dropped_messages % 2 == 0 and fitted.dropped_messages > 0
    assert fitted.messages[0] == ChatMessage("system", "SYS")
    assert fitted.messages[1].role == "user"
    assert fitted.messages[-1] == ChatMessage("user", "last question")


def test_a_question_too_long_for_the_context_is_a_clear_error() -> None:
    conversation = [ChatMessage("user", "word " * 100)]
    with pytest.raises(ContextOverflowError, match="raise the context size"):
        fit_prompt("SYS", conversation, _word_tokens, n_ctx=64, reply_reserve=8)


def test_a_conversation_must_end_with_the_users_question() -> None:
    with pytest.raises(ValueError, match="end with the user"):
        fit_prompt("SYS", _turns(1), _word_tokens, n_ctx=1000, reply_reserve=10)
