"""One generation request answered over HTTP: a queued engine turn streamed to its client.

``TurnResponse`` is an ASGI response. Its turn runs in a thread of its own (waiting in the
``EngineQueue`` first), handing each ``TokenChunk`` to the event loop; the response sends them as
server-sent events (``stream``) or as one JSON object at the end. Nothing is sent before the
turn's first token, so a request the engine refuses (a prompt longer than the context) still gets
a proper HTTP error. A client that goes away cancels the turn: the engine stops within one token
and the next request in line gets the model.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from app.core.engine.local_engine import EngineBusyError, TokenChunk, TurnResult
from app.core.engine.turn_queue import QueuedStream
from app.core.errors import ContextOverflowError
from app.core.serve import protocol
from app.core.serve.config import ReasoningFormat
from app.core.serve.protocol import ApiError, ApiRequest
from foundation.errors import FinR1Error
from foundation.jobs import CancelToken, JobCancelled

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_LOG = logging.getLogger(__name__)
_SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
_JSON_HEADERS = [(b"content-type", b"application/json")]
_DONE = protocol.sse_event("[DONE]")


@dataclass(frozen=True)
class _Finished:
    result: TurnResult


@dataclass(frozen=True)
class _Failed:
    error: Exception


_Item = TokenChunk | _Finished | _Failed


class ActiveTurns:
    """The cancel tokens of the turns in progress, so that stopping the server stops them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: set[CancelToken] = set()
        self.closing = False

    def add(self, cancel: CancelToken) -> None:
        with self._lock:
            self._tokens.add(cancel)

    def discard(self, cancel: CancelToken) -> None:
        with self._lock:
            self._tokens.discard(cancel)

    def cancel_all(self) -> None:
        """Refuse new turns and cancel those in progress or waiting."""
        with self._lock:
            self.closing = True
            for cancel in self._tokens:
                cancel.cancel()


def api_error_for(error: Exception, text_param: str) -> ApiError:
    """The HTTP error for an exception a turn raised."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ContextOverflowError):
        return ApiError(400, str(error), param=text_param, code="context_length_exceeded")
    if isinstance(error, JobCancelled):
        return ApiError(503, "The server is shutting down; try again when it is back.",
                        error_type="server_error", code="server_shutting_down")
    if isinstance(error, EngineBusyError):
        return ApiError(503, "The model is in use outside the server's queue; try again.",
                        error_type="server_error", code="engine_busy",
                        headers={"Retry-After": "1"})
    if isinstance(error, FinR1Error):
        return ApiError(500, str(error), error_type="server_error", code="generation_failed")
    _LOG.error("a turn failed", exc_info=error)
    return ApiError(500, "The server failed while generating; see its log.",
                    error_type="server_error", code="internal_error")


async def send_api_error(send: Send, error: ApiError) -> None:
    """Send ``error`` as a complete JSON response."""
    headers = [*_JSON_HEADERS, *((name.lower().encode(), value.encode())
                                 for name, value in error.headers.items())]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": protocol.json_bytes(error.body())})


class TurnResponse(Response):
    """The response to one generation request whose place in the queue is reserved.

    ``log_fields`` receives what the request log records (tokens, timings, finish reason, an
    error code, the texts when ``log_prompts``).
    """

    def __init__(self, queued: QueuedStream, cancel: CancelToken, request: ApiRequest,
                 model_name: str, reasoning_format: ReasoningFormat, turns: ActiveTurns,
                 log_fields: MutableMapping[str, Any], log_prompts: bool) -> None:
        super().__init__()  # a Response for FastAPI; it sends nothing of its own
        self._queued = queued
        self._cancel = cancel
        self._request = request
        self._reasoning_format = reasoning_format
        self._turns = turns
        self._log = log_fields
        self._log_prompts = log_prompts
        self._client_gone = False
        prefix = "chatcmpl" if request.kind == "chat" else "cmpl"
        self._envelope = {"id": f"{prefix}-{uuid.uuid4().hex}", "created": int(time.time()),
                          "model": model_name}
        turns.add(cancel)  # from now on, stopping the server stops this turn too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[_Item] = asyncio.Queue()
        worker = threading.Thread(target=self._produce, args=(loop, items), daemon=True,
                                  name="finr1-serve-turn")
        worker.start()
        watcher = asyncio.ensure_future(self._watch_disconnect(receive))
        try:
            if self._request.stream:
                await self._send_stream(send, items)
            else:
                await self._send_whole(send, items)
        except OSError:  # the client went away while we were writing
            self._client_gone = True
        finally:
            self._cancel.cancel()  # a no-op once the turn has finished
            watcher.cancel()
            self._turns.discard(self._cancel)

    # -- the turn, on its own thread ------------------------------------------------------------

    def _produce(self, loop: asyncio.AbstractEventLoop, items: asyncio.Queue[_Item]) -> None:
        def post(item: _Item) -> None:
            try:
                loop.call_soon_threadsafe(items.put_nowait, item)
            except RuntimeError:  # the event loop has closed: nobody is listening any more
                self._cancel.cancel()

        try:
            for chunk in self._queued:
                post(chunk)
            post(_Finished(self._queued.result))
        except Exception as error:  # every failure becomes an HTTP error on the event loop
            post(_Failed(error))
        finally:
            self._queued.close()

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._client_gone = True
                self._cancel.cancel()
                return

    # -- answering ------------------------------------------------------------------------------

    async def _send_whole(self, send: Send, items: asyncio.Queue[_Item]) -> None:
        chunks: list[TokenChunk] = []
        while True:
            item = await items.get()
            if isinstance(item, _Failed):
                await self._send_failure(send, item.error)
                return
            if isinstance(item, _Finished):
                break
            chunks.append(item)
        result = item.result
        self._record(result)
        if result.finish_reason == "cancelled":
            if not self._client_gone:
                await send_api_error(send, api_error_for(JobCancelled(), ""))
            return
        finish = result.finish_reason
        if self._request.kind == "chat":
            message = protocol.chat_message(chunks, self._reasoning_format)
            body = protocol.chat_completion(self._envelope, message, finish, result.metrics)
        else:
            text = "".join(chunk.text for chunk in chunks)
            body = protocol.text_completion(self._envelope, text, finish, result.metrics)
        await send({"type": "http.response.start", "status": 200, "headers": _JSON_HEADERS})
        await send({"type": "http.response.body", "body": protocol.json_bytes(body)})

    async def _send_stream(self, send: Send, items: asyncio.Queue[_Item]) -> None:
        first = await items.get()
        if isinstance(first, _Failed):
            await self._send_failure(send, first.error)
            return
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        opening = b""
        if self._request.kind == "chat":
            opening = protocol.sse_event(protocol.chat_chunk(
                self._envelope, {"role": "assistant", "content": ""}))
        pending: list[_Item] = [first]
        while True:
            # One write for every chunk the turn produced since the last one: a slow client
            # costs fewer, larger writes instead of falling behind.
            events, done = self._events(pending)
            if opening:
                events, opening = opening + events, b""
            if events or done:
                await send({"type": "http.response.body", "body": events, "more_body": not done})
            if done:
                return
            pending = [await items.get()]
            while not items.empty():
                pending.append(items.get_nowait())

    def _events(self, items: list[_Item]) -> tuple[bytes, bool]:
        """The SSE bytes for ``items``, and whether the stream ends with them."""
        out = bytearray()
        for item in items:
            if isinstance(item, TokenChunk):
                out += self._chunk_event(item)
            elif isinstance(item, _Finished):
                out += self._closing_events(item.result)
                return bytes(out), True
            else:
                error = api_error_for(item.error, self._request.text_param)
                self._log["error_code"] = error.code
                out += protocol.sse_event(error.body()) + _DONE
                return bytes(out), True
        return bytes(out), False

    def _chunk_event(self, chunk: TokenChunk) -> bytes:
        if self._request.kind == "completion":
            return protocol.sse_event(protocol.text_chunk(self._envelope, chunk.text)) \
                if chunk.text else b""
        delta = protocol.chat_delta(chunk.text, chunk.events, self._reasoning_format)
        return protocol.sse_event(protocol.chat_chunk(self._envelope, delta)) if delta else b""

    def _closing_events(self, result: TurnResult) -> bytes:
        self._record(result)
        if result.finish_reason == "cancelled":
            error = api_error_for(JobCancelled(), "")
            return protocol.sse_event(error.body()) + _DONE
        if self._request.kind == "chat":
            last = protocol.chat_chunk(self._envelope, {}, result.finish_reason)
        else:
            last = protocol.text_chunk(self._envelope, "", result.finish_reason)
        out = protocol.sse_event(last)
        if self._request.include_usage:
            out += protocol.sse_event(protocol.usage_chunk(self._envelope, self._request.kind,
                                                           result.metrics))
        return out + _DONE

    async def _send_failure(self, send: Send, error: Exception) -> None:
        if isinstance(error, JobCancelled) and self._client_gone:
            self._log["finish_reason"] = "cancelled"
            return
        api_error = api_error_for(error, self._request.text_param)
        self._log["error_code"] = api_error.code
        await send_api_error(send, api_error)

    def _record(self, result: TurnResult) -> None:
        metrics = result.metrics
        self._log.update(ttft_s=metrics.ttft_s, prompt_tokens=metrics.prompt_tokens,
                         completion_tokens=metrics.completion_tokens,
                         tokens_per_s=metrics.tokens_per_s, finish_reason=result.finish_reason)
        if self._log_prompts:
            self._log.update(prompt=self._request.log_text(), reply=result.text)
