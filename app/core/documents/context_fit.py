"""The token meter of an attached document: does its text fit the model's context?

The text is counted with the loaded model's own tokenizer (any ``str → token ids`` callable: a
Chinese character is one token for one model and three for another), and set against the
context minus what the rest of the turn needs (the scenario's prompt around the document and the
room kept for the reply). When it does not fit, the answer says what context would hold it,
rounded up to llama.cpp's 256-token step, and what the larger KV cache costs in memory
(``app.core.hardware.fit.estimate_memory``), or that the model was not trained for that length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.hardware.fit import estimate_memory
from app.core.hardware.llama_memory import ModelDims
from foundation.disk_space import human_bytes

Tokenize = Callable[[str], Sequence[int]]

# llama.cpp pads a context to a multiple of 256 tokens
CONTEXT_STEP = 256


@dataclass(frozen=True)
class ContextFit:
    """The document's tokens against a context.

    ``document_tokens``: the text's tokens. ``reserved_tokens``: what the rest of the turn needs.
    ``n_ctx``: the context now. ``needed_ctx``: the smallest context (a multiple of
    ``CONTEXT_STEP``) that holds both. ``trained_ctx``: the longest context the model was trained
    for, None when unknown. ``extra_memory_bytes``: what raising the context to ``needed_ctx``
    adds to the KV cache (0 when it fits; None when the model's shape is unknown).
    """

    document_tokens: int
    reserved_tokens: int
    n_ctx: int
    needed_ctx: int
    trained_ctx: int | None
    extra_memory_bytes: int | None

    @property
    def fits(self) -> bool:
        return self.document_tokens + self.reserved_tokens <= self.n_ctx

    @property
    def can_raise_context(self) -> bool:
        """A context large enough is within what the model was trained for (or that is unknown)."""
        return self.trained_ctx is None or self.needed_ctx <= self.trained_ctx

    def sentence(self) -> str:
        """One sentence for the person: the count, and what to do when it does not fit."""
        used = f"The document is {self.document_tokens:,} tokens"
        room = self.n_ctx - self.reserved_tokens
        if self.fits:
            return f"{used}; it fits the {self.n_ctx:,}-token context ({room:,} left for it)."
        over = f"{used}, more than the {max(room, 0):,} the {self.n_ctx:,}-token context leaves"
        if not self.can_raise_context:
            return (f"{over}, and more than this model was trained for ({self.trained_ctx:,} "
                    "tokens): select fewer pages, sheets or sections.")
        cost = ("" if self.extra_memory_bytes is None
                else f" (about {human_bytes(self.extra_memory_bytes)} more memory)")
        return (f"{over}: select fewer pages, sheets or sections, or raise the context to "
                f"{self.needed_ctx:,} tokens{cost}.")


def measure_context_fit(text: str, tokenize: Tokenize, n_ctx: int, reserved_tokens: int = 0, *,
                        dims: ModelDims | None = None,
                        trained_ctx: int | None = None) -> ContextFit:
    """Count ``text`` with ``tokenize`` (the loaded model's tokenizer, without a BOS token) and
    set it against a context of ``n_ctx`` tokens of which ``reserved_tokens`` are needed
    elsewhere; ``dims`` (the model's shape) prices a larger context, ``trained_ctx`` caps it."""
    tokens = len(tokenize(text)) if text else 0
    needed = -(-(tokens + reserved_tokens) // CONTEXT_STEP) * CONTEXT_STEP
    extra = None
    if dims is not None:
        extra = 0
        if needed > n_ctx:
            extra = (estimate_memory(dims, 0, needed).kv_cache_bytes
                     - estimate_memory(dims, 0, n_ctx).kv_cache_bytes)
    return ContextFit(tokens, reserved_tokens, n_ctx, needed, trained_ctx, extra)
