"""What one chat turn cost: tokens and times, with the reasoning and the answer counted apart.

``SectionCounter`` assigns every generated token to the reasoning or the answer from the reasoning
parser's events, so the split at ``</think>`` is the parser's, never a second reading of the text.
A token the parser has not placed yet (the first tokens, while it waits to see whether ``<think>``
comes) is assigned once it knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from app.core.reasoning.parser import AnswerText, Event, ThinkEnded, ThinkStarted, ThinkText

FinishReason = Literal["stop", "length", "cancelled"]
# How each ending shows and is stored: the chat view's reply status, the history's turn status.
_FINISH_STATUSES: tuple[tuple[FinishReason, str], ...] = (
    ("stop", "done"), ("length", "length"), ("cancelled", "stopped"))
STATUS_OF_FINISH: dict[str, str] = {finish: status for finish, status in _FINISH_STATUSES}
FINISH_OF_STATUS: dict[str, FinishReason] = {status: finish for finish, status in _FINISH_STATUSES}


@dataclass(frozen=True)
class TurnMetrics:
    """Measurements of one turn; times in seconds from ``time.perf_counter``.

    ``prompt_tokens``: the whole prompt; ``prompt_eval_tokens``: the part evaluated this turn (the
    rest was still cached from the previous turn). ``ttft_s``: from the start of the turn to the
    first generated token (None when there was none). ``tokens_per_s``: decode speed over the
    tokens after the first (None with fewer than two). ``think_*`` / ``answer_*``: tokens and
    seconds before and after ``</think>``. ``seed``: the sampling seed used.
    ``dropped_messages``: earlier messages left out to fit the context.
    ``reasoning_stopped_at``: the reasoning budget (``GenerationSettings.think_budget``) when the
    engine closed the reasoning at it, None when the model ended its reasoning itself.
    ``draft_tokens`` / ``accepted_tokens``: speculative decoding's draft tokens the model checked
    and those it kept (``acceptance_rate``); 0 / 0 without speculation.
    """

    prompt_tokens: int
    prompt_eval_tokens: int
    prompt_eval_s: float
    completion_tokens: int
    ttft_s: float | None
    decode_s: float
    tokens_per_s: float | None
    think_tokens: int
    think_s: float
    answer_tokens: int
    answer_s: float
    seed: int
    dropped_messages: int
    reasoning_stopped_at: int | None = None
    draft_tokens: int = 0
    accepted_tokens: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        """The share of checked draft tokens the model kept; None when nothing was drafted."""
        return self.accepted_tokens / self.draft_tokens if self.draft_tokens else None

    def to_dict(self) -> dict[str, object]:
        """All fields as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class SectionTotals:
    think_tokens: int
    think_s: float
    answer_tokens: int
    answer_s: float


class SectionCounter:
    """Counts tokens and time per section as tokens arrive with their parser events."""

    def __init__(self) -> None:
        self._section: Literal["think", "answer"] | None = None
        self._pending = 0
        self._counts = {"think": 0, "answer": 0}
        self._first_token_at: float | None = None
        self._think_ended_at: float | None = None

    def add_token(self, events: Iterable[Event], now: float) -> None:
        """One generated token, with the events its text produced, at time ``now``."""
        if self._first_token_at is None:
            self._first_token_at = now
        self._pending += 1
        self.observe(events, now)
        if self._section is not None:
            self._counts[self._section] += self._pending
            self._pending = 0

    @property
    def thinking_tokens(self) -> int | None:
        """The tokens of the reasoning so far while the reply is inside it, else None."""
        return self._counts["think"] if self._section == "think" else None

    def observe(self, events: Iterable[Event], now: float) -> None:
        """Events that came without a new token (the parser's final flush)."""
        for event in events:
            if isinstance(event, (ThinkStarted, ThinkText)) and self._section is None:
                self._section = "think"
            elif isinstance(event, ThinkEnded):
                # The token that closed the reasoning belongs to it.
                self._counts["think"] += self._pending
                self._pending = 0
                self._section = "answer"
                self._think_ended_at = now
            elif isinstance(event, AnswerText) and self._section is None:
                self._section = "answer"

    def totals(self, now: float) -> SectionTotals:
        """The counts and durations at the end of the turn (``now``)."""
        counts = dict(self._counts)
        counts[self._section or "answer"] += self._pending
        first = self._first_token_at
        if first is None:
            return SectionTotals(0, 0.0, 0, 0.0)
        if self._think_ended_at is not None:
            think_s, answer_s = self._think_ended_at - first, now - self._think_ended_at
        elif self._section == "think":
            think_s, answer_s = now - first, 0.0
        else:
            think_s, answer_s = 0.0, now - first
        return SectionTotals(counts["think"], think_s, counts["answer"], answer_s)


def continued_metrics(before: TurnMetrics, after: TurnMetrics) -> TurnMetrics:
    """The measurements of a reply generated in two runs: ``before`` was cut off at the token
    limit and ``after`` continued it. Tokens and seconds add up; the first token is the first
    run's, the prompt and seed the last run's; the speed is over both runs' decoding."""
    decode_s = before.decode_s + after.decode_s
    intervals = max(before.completion_tokens - 1, 0) + max(after.completion_tokens - 1, 0)
    return TurnMetrics(
        prompt_tokens=after.prompt_tokens,
        prompt_eval_tokens=after.prompt_eval_tokens,
        prompt_eval_s=after.prompt_eval_s,
        completion_tokens=before.completion_tokens + after.completion_tokens,
        ttft_s=before.ttft_s if before.ttft_s is not None else after.ttft_s,
        decode_s=decode_s,
        tokens_per_s=intervals / decode_s if decode_s > 0 and intervals else None,
        think_tokens=before.think_tokens + after.think_tokens,
        think_s=before.think_s + after.think_s,
        answer_tokens=before.answer_tokens + after.answer_tokens,
        answer_s=before.answer_s + after.answer_s,
        seed=after.seed,
        dropped_messages=after.dropped_messages,
        reasoning_stopped_at=(after.reasoning_stopped_at
                              if after.reasoning_stopped_at is not None
                              else before.reasoning_stopped_at),
        draft_tokens=before.draft_tokens + after.draft_tokens,
        accepted_tokens=before.accepted_tokens + after.accepted_tokens,
    )
