"""Speculative decoding in the engine's token loop: a drafter guesses the next tokens, the model
checks them all in one batch, and each guess is kept while it is the token the model writes.

**The acceptance rule** (llama.cpp's speculative example). The model evaluates the token it just
wrote followed by a draft d1…dk in one ``llama_decode`` that keeps the logits of every position.
The turn's own sampler draws the next token from the first position; while the drawn token equals
the draft's token there, that token's KV entry is already right and the next position is drawn
from; the first token that differs is the model's own choice and ends the round (the cache drops
the rest of the draft). Every token is thus drawn by the model's sampler from the model's logits
after exactly the tokens written before it, one draw per written token: the reply follows the
model's distribution, and with a fixed seed it is the same sequence of draws as without
speculation. Greedy replies are the same tokens, up to the last bits in which llama.cpp's batched
and one-token kernels round differently (a near-tie may then go the other way).

**Drafters** (``propose(history, limit)``: up to ``limit`` tokens to follow ``history``):

* ``DraftModelDrafter``: a small model sharing the vocabulary (``check_draft_compatible`` applies
  llama.cpp's rule) proposes its greedy continuation in its own context, stopping where its top
  token's probability falls under ``DRAFT_MIN_PROBABILITY``.
* ``PromptLookupDrafter``: no model; the longest of the last 4, 3 or 2 tokens that occurred earlier
  in the conversation proposes what followed it there, which pays where answers quote their
  input (compliance texts, code).

**The governor** (``DraftGovernor``) sets the draft length k from what it measures: the chance a
draft token is kept, what drafting and checking cost against a plain step; k is the length with
the fewest seconds per written token. It switches speculation off when it does not pay: it weighs
each round's seconds against what its written tokens would have cost one at a time, and after a
losing stretch decodes plainly for a while, longer each time, before it tries again.

``SpeculativeDecoder`` is what the engine's loop talks to: ``sample()`` the next token, then
``advance(token, max_draft)`` once the token is written; it chooses a plain step or a round itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from app.core.engine.llama_runtime import LlamaRuntime, Sampler
from app.core.errors import DraftModelMismatchError

# llama.cpp's --draft-p-min default: a draft stops where the draft model is less sure than this.
DRAFT_MIN_PROBABILITY = 0.75
# llama.cpp's common_speculative_are_compatible: SPEC_VOCAB_MAX_SIZE_DIFFERENCE and
# SPEC_VOCAB_CHECK_START_TOKEN_ID (the first ids are control tokens some converters name apart).
MAX_VOCAB_SIZE_DIFFERENCE = 128
FIRST_COMPARED_TOKEN = 5
LOOKUP_NGRAM_SIZES = (4, 3, 2)
# A check's cost per draft token, in plain steps, beyond which a measure is taken for a stall of
# the machine rather than the model's cost.
MAX_CHECK_COST = 2.0
DRAFT_HINT = ("a draft must share the model's vocabulary: for Fin-R1, Qwen2.5-0.5B-Instruct (in "
              "the catalog)")


class Drafter(Protocol):
    """Something that guesses how a token sequence goes on. ``catch_up_s``: of the last
    ``propose``, the seconds spent on tokens it had not seen since the one before (a draft model
    evaluating the prompt), which speculation pays once per turn or pause, not per round."""

    catch_up_s: float

    def propose(self, history: Sequence[int], limit: int) -> list[int]:
        """Up to ``limit`` tokens to follow ``history`` (the prompt and the reply so far); [] for
        no guess."""
        ...


def check_draft_compatible(target: LlamaRuntime, draft: LlamaRuntime, draft_path: Path) -> None:
    """Refuse a draft model whose tokens do not mean what the model's mean, by llama.cpp's rule:
    the same kind of tokenizer, the same BOS/EOS tokens and whether prompts get them, vocabulary
    sizes at most ``MAX_VOCAB_SIZE_DIFFERENCE`` apart and the same text for every shared id from
    ``FIRST_COMPARED_TOKEN`` on. Raises ``DraftModelMismatchError`` saying where they differ."""
    what = f"the draft model {draft_path.name} does not fit this model"
    if target.vocab_type != draft.vocab_type:
        raise DraftModelMismatchError(f"{what}: its tokenizer is of another kind; {DRAFT_HINT}")
    for name, of_target, of_draft in (
            ("beginning-of-text token", target.bos_token, draft.bos_token),
            ("end-of-text token", target.eos_token, draft.eos_token),
            ("rule for adding a beginning-of-text token", target.adds_bos, draft.adds_bos),
            ("rule for adding an end-of-text token", target.adds_eos, draft.adds_eos)):
        if of_target != of_draft:
            raise DraftModelMismatchError(
                f"{what}: its {name} is {of_draft!r}, the model's {of_target!r}; {DRAFT_HINT}")
    if abs(target.n_vocab - draft.n_vocab) > MAX_VOCAB_SIZE_DIFFERENCE:
        raise DraftModelMismatchError(
            f"{what}: its vocabulary has {draft.n_vocab} tokens, the model's {target.n_vocab} "
            f"(more than {MAX_VOCAB_SIZE_DIFFERENCE} apart); {DRAFT_HINT}")
    for token in range(FIRST_COMPARED_TOKEN, min(target.n_vocab, draft.n_vocab)):
        if target.raw_token_text(token) != draft.raw_token_text(token):
            raise DraftModelMismatchError(
                f"{what}: token {token} is {draft.token_text(token)!r} in it but "
                f"{target.token_text(token)!r} in the model; {DRAFT_HINT}")


class DraftModelDrafter:
    """Drafts with a small model in its own llama.cpp context (its KV cache follows the
    conversation, so each round evaluates only the tokens written since the last). Owns
    ``runtime``: ``close`` frees it."""

    def __init__(self, runtime: LlamaRuntime, name: str,
                 min_probability: float = DRAFT_MIN_PROBABILITY) -> None:
        self.runtime = runtime
        self.name = name
        self._min_probability = min_probability
        self.catch_up_s = 0.0

    def propose(self, history: Sequence[int], limit: int) -> list[int]:
        runtime = self.runtime
        self.catch_up_s = 0.0
        limit = min(limit, runtime.n_ctx - len(history))
        # a token beyond the draft's vocabulary (a padding id) cannot be fed to it
        if limit < 1 or max(history) >= runtime.n_vocab:
            return []
        started = time.perf_counter()
        # a round's own: the token the model wrote after the last draft, and that draft's last
        if runtime.evaluate_prompt(history) > 2:
            self.catch_up_s = time.perf_counter() - started
        drafts: list[int] = []
        while True:
            logits = runtime.logits()
            token = int(logits.argmax())
            probability = 1.0 / float(np.exp(logits - logits[token]).sum())
            if probability < self._min_probability:
                return drafts
            drafts.append(token)
            if len(drafts) == limit:
                return drafts
            runtime.decode_token(token)

    def close(self) -> None:
        self.runtime.close()


class PromptLookupDrafter:
    """Drafts from the conversation itself: where its last n tokens (n from ``ngram_sizes``,
    longest first) occurred before, it proposes the tokens that followed them there (the most
    recent occurrence). One per turn: the history it is given only grows."""

    def __init__(self, ngram_sizes: Sequence[int] = LOOKUP_NGRAM_SIZES) -> None:
        self.catch_up_s = 0.0  # looking up costs next to nothing
        self._sizes = tuple(sorted(ngram_sizes, reverse=True))
        # per n-gram size: the n-gram → the position of the token that followed it last
        self._followers: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in self._sizes}
        self._indexed = 0

    def propose(self, history: Sequence[int], limit: int) -> list[int]:
        self._index(history)
        for size in self._sizes:
            if len(history) > size:
                found = self._followers[size].get(tuple(history[-size:]))
                if found is not None:
                    return list(history[found:found + limit])
        return []

    def _index(self, history: Sequence[int]) -> None:
        # the n-gram ending at position - 1 was followed by the token at position; the history's
        # own last n-gram has no follower yet, so a lookup never finds itself
        for position in range(max(self._indexed, 1), len(history)):
            for size in self._sizes:
                if position >= size:
                    self._followers[size][tuple(history[position - size:position])] = position
        self._indexed = len(history)


class DraftGovernor:
    """Chooses the draft length and whether speculating pays, learning over a model's turns.

    ``draft_length()``: how many tokens to draft now (0: take a plain step). It keeps running means
    of what it is told: the seconds of a plain step t (one token evaluated and the next sampled),
    of drafting per draft token d, how much longer checking k tokens takes than a plain step
    (t·(1 + c·k)), and the chance a single draft token is kept a (from ``prior_acceptance``). A
    draft of k then writes E(k) = 1 + a + … + a^k tokens on average for k·d + t·(1 + c·k)
    seconds; the length is the k up to ``longest`` with the fewest seconds per written token.

    Whether speculating pays is measured: each attempt's gain is what its written tokens cost one
    at a time (k·t for k tokens) minus what it cost (drafting that found nothing gains minus its
    seconds; a draft model's catching up on tokens it has not seen, the prompt or what was written
    during a pause, is paid once and not counted). When the running mean of the gains, over at
    least ``judged_after`` attempts since speculation was last switched on, is a loss of more than
    ``tolerance`` of a plain step (less is noise, such as a prompt lookup that found nothing),
    speculation pauses for ``first_pause`` plain steps, twice as many after each further losing
    stretch (up to ``longest_pause``), back to ``first_pause`` once it pays. At the end of a pause
    the acceptance is taken to be at least the prior again (the text may have changed) and the
    check cost at most the prior (its measure is noisy), and if even then no draft length would
    pay at the measured drafting cost, the next pause follows at once: a draft model not much
    cheaper than the model is not tried again and again. A new turn (``new_turn``) ends a pause
    as its end would. The first round, and the first after a pause, drafts one token: a probe
    that costs little where drafting is dear. Before the first ``warmup_steps`` plain steps
    nothing is drafted: t must be known first.
    """

    def __init__(self, *, longest: int = 16, warmup_steps: int = 2,
                 prior_acceptance: float = 0.6, prior_check_cost: float = 0.1,
                 judged_after: int = 2, first_pause: int = 32, longest_pause: int = 1024,
                 tolerance: float = 0.02, smoothing: float = 0.2) -> None:
        self._longest = longest
        self._warmup_steps = warmup_steps
        self._judged_after = judged_after
        self._first_pause = first_pause
        self._longest_pause = longest_pause
        self._tolerance = tolerance
        self._smoothing = smoothing
        self._prior_acceptance = prior_acceptance
        self.acceptance = prior_acceptance
        self._prior_check_cost = prior_check_cost
        self._check_cost = prior_check_cost  # c: checking k tokens takes t·(1 + c·k)
        self._plain_s: float | None = None
        self._draft_s: float | None = None  # d, per draft token
        self._plain_steps = 0
        self._gain_s: float | None = None
        self._judged = 0
        self._pause_left = 0
        self._next_pause = first_pause
        self._probe = True
        self.pauses = 0  # losing stretches so far

    def draft_length(self) -> int:
        """Tokens to draft before the next step; 0 for a plain step."""
        if self._plain_steps < self._warmup_steps or self._pause_left > 0 or not self._plain_s:
            return 0
        return 1 if self._probe else self._best()[0]

    def _best(self, acceptance: float | None = None,
              check_cost: float | None = None) -> tuple[int, float]:
        """The draft length with the fewest expected seconds per written token, and those, at
        the running means (or at the ``acceptance`` and ``check_cost`` given)."""
        plain, draft = self._plain_s or 0.0, self._draft_s or 0.0
        acceptance = self.acceptance if acceptance is None else acceptance
        check_cost = self._check_cost if check_cost is None else check_cost
        best, best_s = 1, math.inf
        written = 1.0
        for length in range(1, self._longest + 1):
            written += acceptance ** length
            seconds = (length * draft + plain * (1 + check_cost * length)) / written
            if seconds < best_s:
                best, best_s = length, seconds
        return best, best_s

    def new_turn(self) -> None:
        """A turn starts: a pause ends (the new text may suit drafting better), with the same
        check as at the end of any pause."""
        if self._pause_left > 0:
            self._pause_left = 0
            self._resume()

    def plain_step(self, seconds: float) -> None:
        """A token was evaluated alone and the next sampled, in ``seconds``."""
        self._plain_s = self._mean(self._plain_s, seconds)
        self._plain_steps += 1
        if self._pause_left > 0:
            self._pause_left -= 1
            if self._pause_left == 0:
                self._resume()

    def _resume(self) -> None:
        self._gain_s, self._judged = None, 0
        self.acceptance = max(self.acceptance, self._prior_acceptance)
        hopeful_s = self._best(self.acceptance, min(self._check_cost, self._prior_check_cost))[1]
        if self._draft_s is not None and self._plain_s and hopeful_s >= self._plain_s:
            self._pause()
        else:
            self._probe = True

    def round(self, drafted: int, accepted: int, draft_s: float, check_s: float) -> None:
        """A round drafted ``drafted`` tokens in ``draft_s`` seconds and kept ``accepted`` of them
        after checking them in ``check_s`` (the batch and the ``accepted + 1`` draws)."""
        self._probe = False
        for kept in range(accepted + (1 if accepted < drafted else 0)):
            self.acceptance += self._smoothing * ((kept < accepted) - self.acceptance)
        self._draft_s = self._mean(self._draft_s, draft_s / drafted)
        if self._plain_s:
            observed = min(max(check_s / self._plain_s - 1, 0.0) / drafted, MAX_CHECK_COST)
            self._check_cost += self._smoothing * (observed - self._check_cost)
            self._weigh((accepted + 1) * self._plain_s - draft_s - check_s)

    def nothing_drafted(self, seconds: float) -> None:
        """Drafting took ``seconds`` and proposed nothing."""
        self._weigh(-seconds)

    def _weigh(self, gain_s: float) -> None:
        if self._pause_left > 0:
            return  # nothing is drafted during a pause
        self._gain_s = self._mean(self._gain_s, gain_s)
        self._judged += 1
        if self._judged < self._judged_after or self._plain_s is None:
            return
        if self._gain_s < -self._tolerance * self._plain_s:
            self._pause()
        else:
            self._next_pause = self._first_pause

    def _pause(self) -> None:
        self._pause_left = self._next_pause
        self._next_pause = min(self._next_pause * 2, self._longest_pause)
        self.pauses += 1

    def _mean(self, mean: float | None, value: float) -> float:
        return value if mean is None else mean + self._smoothing * (value - mean)


class Speculation:
    """What a loaded model speculates with: a drafter (one draft model for the engine's life, or
    a fresh prompt-lookup index per turn) and the governor, which learns over the turns."""

    def __init__(self, draft_model: DraftModelDrafter | None = None) -> None:
        self.draft_model = draft_model
        self.governor = DraftGovernor()

    @property
    def description(self) -> str:
        """``draft model NAME`` or ``prompt lookup``, for a status line."""
        if self.draft_model is not None:
            return f"draft model {self.draft_model.name}"
        return "prompt lookup"

    def decoder(self, runtime: LlamaRuntime, sampler: Sampler,
                prompt: Sequence[int]) -> SpeculativeDecoder:
        """The decoder of one turn whose ``prompt`` is in ``runtime``'s cache."""
        self.governor.new_turn()
        drafter: Drafter = self.draft_model or PromptLookupDrafter()
        return SpeculativeDecoder(runtime, sampler, prompt, drafter, self.governor)

    def close(self) -> None:
        if self.draft_model is not None:
            self.draft_model.close()


class SpeculativeDecoder:
    """Feeds the model one turn's tokens and samples the next, speculating where it pays.

    ``sample()`` draws the next token from the model's logits after the tokens so far. Then
    ``advance(token, max_draft)`` appends ``token`` (the one just sampled, or one the caller writes
    itself, such as the closing of the reasoning): where it is the token a draft guessed, its KV
    entry is already there and nothing is evaluated; otherwise the cache drops the rest of the
    draft and ``token`` is evaluated, alone or followed by a new draft of at most ``max_draft``
    tokens (0: alone) when the governor says so. Without a drafter every advance is one
    ``decode_token``. ``drafted`` counts the draft tokens checked against a written token (not
    those left when the turn ended), ``accepted`` those it kept.
    Raises ``GenerationError`` as the runtime does.
    """

    def __init__(self, runtime: LlamaRuntime, sampler: Sampler, prompt: Sequence[int],
                 drafter: Drafter | None = None, governor: DraftGovernor | None = None) -> None:
        self._runtime = runtime
        self._sampler = sampler
        self._history = list(prompt)
        self._drafter = drafter
        self._governor = governor or DraftGovernor()
        self._draft: list[int] = []
        self._row = -1  # the logits to sample from: -1 after a plain step, else a batch row
        self._round_start = 0  # the cache position of the round's first token
        self._stepping = False  # a step (plain or round) is open, to be told to the governor
        self._draft_s = 0.0  # the open round's drafting seconds
        self._step_s = 0.0  # the open step's evaluating and sampling seconds
        self.drafted = 0
        self.accepted = 0

    def sample(self) -> int:
        started = time.perf_counter()
        token = self._runtime.sample(self._sampler, self._row)
        self._step_s += time.perf_counter() - started
        return token

    def advance(self, token: int, max_draft: int) -> None:
        self._history.append(token)
        if 0 <= self._row < len(self._draft):
            self.drafted += 1
            if self._draft[self._row] == token:
                self._row += 1  # guessed right: the next row holds the logits after it
                self.accepted += 1
                return
        self._finish_step()
        draft = self._propose(max_draft)
        started = time.perf_counter()
        if draft:
            self._round_start = self._runtime.n_cached
            self._runtime.decode_batch([token, *draft])
            self._draft, self._row = draft, 0
        else:
            self._runtime.decode_token(token)
            self._draft, self._row = [], -1
        self._step_s = time.perf_counter() - started
        self._stepping = True

    def _propose(self, max_draft: int) -> list[int]:
        """A draft to check after the token being advanced, timed for the governor."""
        if self._drafter is None or max_draft < 1:
            return []  # the plain loop: no governor arithmetic on every token
        limit = min(max_draft, self._governor.draft_length(),
                    self._runtime.n_ctx - self._runtime.n_cached - 1)
        if limit < 1:
            return []
        started = time.perf_counter()
        draft = self._drafter.propose(self._history, limit)[:limit]
        # a draft model may know ids the model does not (padding): the draft stops before one
        draft = draft[:next((index for index, token in enumerate(draft)
                             if token >= self._runtime.n_vocab), len(draft))]
        self._draft_s = time.perf_counter() - started - self._drafter.catch_up_s
        if not draft:
            self._governor.nothing_drafted(self._draft_s)
        return draft

    def _finish_step(self) -> None:
        """Close the step that ends here: drop a draft's rejected tail, tell the governor."""
        if not self._stepping:
            return  # the turn's first token came from the prompt's evaluation
        if self._row < 0:
            self._governor.plain_step(self._step_s)
            return
        self._runtime.truncate(self._round_start + 1 + self._row)
        self._governor.round(len(self._draft), self._row, self._draft_s, self._step_s)
