"""Fitting a conversation into the model's context window.

Earlier replies are resent without their reasoning (``<think>…</think>``): it is long, the model
does not need it to continue, and Qwen-style reasoning models are trained without it in history.
When the prompt plus the room reserved for the reply would exceed the context, whole turns are
dropped, oldest first; the system prompt and the current question are always kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.errors import ContextOverflowError
from app.core.templates.chat_template import ChatMessage

# The reasoning ends at </think>, or where <answer> begins when the model left </think> out:
# the reasoning parser's rule (app.core.reasoning.parser).
_LEADING_THINK = re.compile(r"\A\s*<think>.*?(?:</think>\s*|(?=<answer>))", re.DOTALL)
_UNCLOSED_THINK = re.compile(r"\A\s*<think>")

Tokenizer = Callable[[Sequence[ChatMessage]], list[int]]


def drop_think(reply: str) -> str:
    """``reply`` as it is resent in history: a leading ``<think>…</think>`` and the whitespace
    around it removed. A reply cut off inside its reasoning (``<think>`` never closed) resends as
    ""; a reply that does not start with ``<think>`` is unchanged (the reasoning parser's rule).
    """
    closed = _LEADING_THINK.match(reply)
    if closed is not None:
        return reply[closed.end():]
    if _UNCLOSED_THINK.match(reply):
        return ""
    return reply


@dataclass(frozen=True)
class FittedPrompt:
    """A prompt that fits: its ``tokens``, the ``messages`` they render (system prompt included),
    and how many earlier messages were left out (``dropped_messages``)."""

    tokens: list[int]
    messages: tuple[ChatMessage, ...]
    dropped_messages: int


def _check_conversation(conversation: Sequence[ChatMessage]) -> None:
    if not conversation or conversation[-1].role != "user":
        raise ValueError("a conversation to answer must end with the user's question")
    for message in conversation:
        if message.role not in ("user", "assistant"):
            raise ValueError(
                f"conversation messages are 'user' or 'assistant', not {message.role!r}; the "
                "system prompt comes from the generation settings"
            )


def _next_turn(history: Sequence[ChatMessage], start: int) -> int:
    """Index of the first user message after ``start``: dropping up to it drops one whole turn."""
    position = start + 1
    while position < len(history) and history[position].role != "user":
        position += 1
    return position


def fit_prompt(system_prompt: str | None, conversation: Sequence[ChatMessage],
               tokenize: Tokenizer, n_ctx: int, reply_reserve: int) -> FittedPrompt:
    """The longest tail of ``conversation`` whose prompt leaves ``reply_reserve`` tokens free.

    ``conversation`` alternates user and assistant messages and ends with the question;
    ``tokenize`` renders messages with the model's template and returns the prompt tokens.
    Assistant replies lose their reasoning (``drop_think``). Raises ``ValueError`` for a malformed
    conversation and ``ContextOverflowError`` when the system prompt and the question alone leave
    less than ``reply_reserve`` tokens.
    """
    _check_conversation(conversation)
    system = [ChatMessage("system", system_prompt)] if system_prompt else []
    history = [
        message if message.role == "user" else ChatMessage("assistant", drop_think(message.content))
        for message in conversation[:-1]
    ]
    question = conversation[-1]
    start = 0
    while True:
        messages = (*system, *history[start:], question)
        tokens = tokenize(messages)
        if len(tokens) + reply_reserve <= n_ctx:
            return FittedPrompt(tokens, messages, dropped_messages=start)
        if start >= len(history):
            raise ContextOverflowError(
                f"the {'system prompt and ' if system else ''}question take {len(tokens)} tokens "
                f"and {reply_reserve} are kept for the reply, more than the context of {n_ctx} "
                "tokens; raise the context size or lower the maximum reply length"
            )
        start = _next_turn(history, start)
