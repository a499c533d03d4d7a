"""The server's request log: one record per request, with numbers, not words.

A ``RequestRecord`` says who asked what of which endpoint, how it ended and what it cost (queue
wait, first token, tokens, speed). It holds the prompt and reply texts only when the person
turned that on (``ServeConfig.log_prompts``): prompts are often confidential.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

# The key under which a request's log fields travel in its ASGI scope, from the endpoint that
# knows them (tokens, timings) to the middleware that writes the record.
SCOPE_KEY = "finr1.request_log"


@dataclass(frozen=True)
class RequestRecord:
    """One request as the log keeps it.

    ``at``: when it arrived (seconds since the epoch). ``client``: the peer's address.
    ``duration_s``: arrival to the last byte sent. ``queue_s``: arrival until the model was this
    request's. ``ttft_s``: from then to the first generated token. ``finish_reason``: ``stop``,
    ``length`` or ``cancelled`` (the client went away). ``error_code``: the OpenAI error code of
    a refused request. ``prompt`` / ``reply``: None unless prompts are logged.
    """

    at: float
    client: str
    method: str
    path: str
    status: int
    duration_s: float
    model: str | None = None
    stream: bool | None = None
    queue_s: float | None = None
    ttft_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_per_s: float | None = None
    finish_reason: str | None = None
    error_code: str | None = None
    prompt: str | None = None
    reply: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """The record as one line for a terminal (no texts, even when logged)."""
        stamp = time.strftime("%H:%M:%S", time.localtime(self.at))
        parts = [stamp, self.client, self.method, self.path, str(self.status),
                 f"{self.duration_s * 1000:.0f} ms"]
        if self.queue_s is not None:
            parts.append(f"queued {self.queue_s * 1000:.0f} ms")
        if self.ttft_s is not None:
            parts.append(f"first token {self.ttft_s * 1000:.0f} ms")
        if self.prompt_tokens is not None:
            parts.append(f"{self.prompt_tokens}+{self.completion_tokens} tok")
        if self.tokens_per_s is not None:
            parts.append(f"{self.tokens_per_s:.1f} tok/s")
        if self.finish_reason is not None:
            parts.append(self.finish_reason)
        if self.error_code is not None:
            parts.append(self.error_code)
        return " · ".join(parts)


RequestLogCallback = Callable[[RequestRecord], None]
