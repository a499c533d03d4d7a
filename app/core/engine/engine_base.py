"""``TurnEngine``: what ``ChatEngine`` and ``RemoteEngine`` share around their token sources.

One reply at a time (``EngineBusyError`` for a second), nothing after ``close``, the final chunk
(``token`` None, the parser's closing events) and the ``TurnResult`` at the end of every turn,
``chat`` as ``stream_chat`` run to its end, and ``with``. An engine supplies ``stream_chat``, the
chunks of a turn (``_stream_turn``'s ``produce``) and ``_release`` (what ``close`` frees).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Protocol

from foundation.closing import Closing

if TYPE_CHECKING:
    from app.core.engine.api import TurnStream
    from app.core.engine.config import GenerationSettings
    from app.core.engine.local_engine import ChatStream, TokenChunk, TurnResult
    from app.core.templates.chat_template import ChatMessage
    from foundation.jobs import CancelToken


class EngineBusyError(RuntimeError):
    """``stream_chat`` was called while another reply was still being generated."""


class FinishingTurn(Protocol):
    """A turn's state once its tokens are streamed: it gives the last chunk, then the result."""

    def final_chunk(self) -> TokenChunk:
        """The text held back until the end and the parser's closing events."""

    def result(self, now: float) -> TurnResult:
        """The finished turn, measured up to ``now`` (``time.perf_counter``)."""


class TurnEngine(Closing):
    """The shared frame of an engine (see the module docstring). ``reopen_advice`` ends the
    sentence of the error a closed engine raises."""

    reopen_advice = "open it again"

    def __init__(self) -> None:
        self._busy = threading.Lock()
        self._closed = False

    def stream_chat(self, conversation: Sequence[ChatMessage],
                    settings: GenerationSettings | None = None,
                    cancel: CancelToken | None = None,
                    on_token: Callable[[TokenChunk], None] | None = None,
                    reply_prefix: str = "") -> TurnStream:
        raise NotImplementedError

    def chat(self, conversation: Sequence[ChatMessage],
             settings: GenerationSettings | None = None,
             cancel: CancelToken | None = None) -> TurnResult:
        """``stream_chat`` consumed to the end."""
        return self.stream_chat(conversation, settings, cancel).run()

    def _stream_turn(self, stream: ChatStream, on_token: Callable[[TokenChunk], None] | None,
                     produce: Callable[[], Generator[TokenChunk, None, FinishingTurn]],
                     ) -> Generator[TokenChunk, None, None]:
        """The chunks of one turn: ``produce()``'s, then the final chunk (each passed to
        ``on_token`` before it is yielded); then ``stream``'s result is set. Raises
        ``EngineBusyError`` while another turn runs, RuntimeError once the engine is closed."""
        if not self._busy.acquire(blocking=False):
            raise EngineBusyError("the engine is already generating a reply; stop it first")
        try:
            if self._closed:
                raise RuntimeError(f"this engine was closed; {self.reopen_advice}")
            turn = yield from produce()
            final = turn.final_chunk()
            if on_token is not None:
                on_token(final)
            yield final
            stream._finish(turn.result(time.perf_counter()))
        finally:
            self._busy.release()

    def close(self) -> None:
        """Free what the engine holds (``_release``); it cannot be used afterwards. Raises
        ``EngineBusyError`` while a reply is generating (cancel it and let its stream end
        first); safe to call twice."""
        if not self._busy.acquire(blocking=False):
            raise EngineBusyError("a reply is still being generated; stop it before closing")
        try:
            self._release()
        finally:
            self._busy.release()

    def _release(self) -> None:
        """Mark the engine closed and free its resources; called with the engine idle."""
        raise NotImplementedError
