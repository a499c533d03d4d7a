"""Saved KV-cache states of earlier prompts, so that alternating conversations and scenarios keep
their evaluated prefixes (the system prompt, a scenario's fixed text, a conversation so far).

llama.cpp's context holds one sequence: a prompt that shares only a short prefix with the one
before it would evaluate everything after that prefix again. ``PrefixCache`` keeps, least recently
used first out, the sequence states (``llama_state_seq_get_data``) of prompts the context moved
away from, keyed by their tokens; ``LlamaRuntime.evaluate_prompt`` restores the one sharing the
longest prefix with a new prompt and evaluates only the rest. Pure bookkeeping: no llama.cpp calls.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass

# A state is kept only when it spares at least this many tokens: below that, evaluating them again
# costs about what copying the state does.
MIN_SAVED_TOKENS = 16
DEFAULT_PREFIX_CACHE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class SavedPrefix:
    """The KV state of sequence 0 when it held ``tokens`` (llama.cpp's own serialization)."""

    tokens: tuple[int, ...]
    state: ctypes.Array[ctypes.c_uint8]

    @property
    def size_bytes(self) -> int:
        return len(self.state)


def shared_prefix_length(first: Sequence[int], second: Sequence[int]) -> int:
    """How many tokens ``first`` and ``second`` have in common from their start."""
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


class PrefixCache:
    """At most ``max_bytes`` of saved states (0 keeps none), least recently used dropped first.

    A state larger than ``max_bytes`` is not kept; one whose tokens begin another's is dropped for
    the longer (it restores the same prefix and more).
    """

    def __init__(self, max_bytes: int = DEFAULT_PREFIX_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"the prefix cache needs 0 or more bytes, not {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: list[SavedPrefix] = []  # least recently used first

    @property
    def size_bytes(self) -> int:
        return sum(entry.size_bytes for entry in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, saved: SavedPrefix) -> bool:
        """Keep ``saved``; returns False when it is larger than the whole cache."""
        if saved.size_bytes > self.max_bytes:
            return False
        self._entries = [entry for entry in self._entries
                         if shared_prefix_length(entry.tokens, saved.tokens) < len(entry.tokens)]
        self._entries.append(saved)
        while self.size_bytes > self.max_bytes:
            self._entries.pop(0)
        return True

    def best(self, tokens: Sequence[int]) -> tuple[SavedPrefix, int] | None:
        """The saved state sharing the longest prefix with ``tokens`` and that length (marked as
        just used), or None when none shares a token."""
        found: tuple[SavedPrefix, int] | None = None
        for entry in self._entries:
            shared = shared_prefix_length(entry.tokens, tokens)
            if shared and (found is None or shared > found[1]):
                found = (entry, shared)
        if found is not None:
            self._entries.remove(found[0])
            self._entries.append(found[0])
        return found

    def clear(self) -> None:
        self._entries.clear()
