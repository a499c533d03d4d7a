"""A finished reply text replayed as if a model streamed it: token-sized pieces with their events.

For the chat view's tests, benchmarks and screenshots: the text is real input and goes through the
real reasoning parser; only the model is left out. ``scripted_chunks(text)`` yields one
``ScriptedChunk`` per piece (``token`` True) and a final one carrying the parser's closing events
(``token`` False), like the engine's ``TokenChunk``s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from app.core.reasoning.parser import Event, ReasoningParser

CHARS_PER_TOKEN = 4  # about what a BPE tokenizer gives for English prose and code


@dataclass(frozen=True)
class ScriptedChunk:
    """One piece of the replayed reply: its text, the parser's events, whether it is a token."""

    text: str
    events: tuple[Event, ...]
    token: bool


def scripted_chunks(text: str, chars_per_token: int = CHARS_PER_TOKEN,
                    parser: ReasoningParser | None = None) -> Iterator[ScriptedChunk]:
    """``text`` cut into pieces of ``chars_per_token`` characters, parsed as they stream (by
    ``parser`` when given: one that has read the reply so far, for a continuation)."""
    if chars_per_token < 1:
        raise ValueError("a token holds at least one character")
    parser = parser or ReasoningParser()
    for start in range(0, len(text), chars_per_token):
        piece = text[start:start + chars_per_token]
        yield ScriptedChunk(piece, tuple(parser.feed(piece)), True)
    yield ScriptedChunk("", tuple(parser.finish()), False)
