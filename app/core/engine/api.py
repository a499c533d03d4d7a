"""The engine interface: what scenarios, free chat, batch runs, the history and exports talk to.

Two kinds of engine answer behind it, and callers cannot tell them apart except by ``info``:

- ``ChatEngine`` (app.core.engine.local_engine): a GGUF loaded by llama.cpp in this process; ``info`` is an
  ``EngineInfo`` (the file, its template, threads, GPU offload).
- ``RemoteEngine`` (app.core.engine.remote_engine): a model on an OpenAI-compatible server; ``info`` is a
  ``RemoteEngineInfo`` (the server's address and the model id it reports), whose
  ``provenance()`` the history records.

Both stream a turn the same way: ``stream_chat`` returns a ``ChatStream`` of ``TokenChunk``s (the
text and the reasoning parser's events for it; the last chunk, ``token`` None, carries the
parser's closing events), then ``stream.result`` is the ``TurnResult`` with its ``TurnMetrics``.
A cancel ends the reply within a token and keeps it (finish reason ``cancelled``); errors are
``FinR1Error`` subclasses raised from the iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from app.core.engine.config import GenerationSettings
    from app.core.engine.local_engine import EngineInfo, TokenChunk, TurnResult
    from app.core.engine.remote_engine import RemoteEngineInfo
    from app.core.templates.chat_template import ChatMessage
    from foundation.jobs import CancelToken

EngineKind = Literal["local", "server"]  # "This computer" or "A server (OpenAI-compatible)"
ENGINE_KINDS: tuple[EngineKind, ...] = ("local", "server")


class TurnStream(Protocol):
    """One turn as ``Engine.stream_chat`` returns it (``ChatStream`` or a stream waiting its turn
    in a queue): iterate it once, in one thread, for the ``TokenChunk``s, then read ``result``;
    ``run`` does both."""

    def __iter__(self) -> Iterator[TokenChunk]: ...

    @property
    def result(self) -> TurnResult:
        """The finished turn; RuntimeError before the stream has been iterated to its end."""

    def run(self) -> TurnResult:
        """Consume the remaining chunks and return the result."""

    def close(self) -> None:
        """Abandon the turn (frees the engine for the next one); no result is produced."""


@runtime_checkable
class Engine(Protocol):
    """A model ready to answer (see the module docstring). Close it (or use ``with``) when done;
    ``close`` raises ``EngineBusyError`` while a reply is streaming."""

    @property
    def info(self) -> EngineInfo | RemoteEngineInfo:
        """What answers, for a status line and the provenance."""

    def stream_chat(self, conversation: Sequence[ChatMessage],
                    settings: GenerationSettings | None = None,
                    cancel: CancelToken | None = None,
                    on_token: Callable[[TokenChunk], None] | None = None,
                    reply_prefix: str = "") -> TurnStream:
        """Answer the last message of ``conversation`` (user and assistant messages alternating,
        ending with the question), streaming; ``reply_prefix`` continues a reply cut off at the
        token limit."""

    def chat(self, conversation: Sequence[ChatMessage],
             settings: GenerationSettings | None = None,
             cancel: CancelToken | None = None) -> TurnResult:
        """``stream_chat`` consumed to the end."""

    def close(self) -> None:
        """Free what the engine holds; it cannot be used afterwards."""
