r"""The remote engine: an OpenAI-compatible server answers, streamed like the local engine.

``RemoteEngine(ServerConnection(url, api_key, model))`` asks the server which models it serves
(``GET /v1/models``) and picks the one to ask; ``stream_chat`` then keeps ``ChatEngine``'s
contract (app.core.engine.local_engine): a ``ChatStream`` of ``TokenChunk``s carrying the reasoning parser's
events, then a ``TurnResult`` with ``TurnMetrics``. Callers cannot tell the two apart except by
``info`` (``RemoteEngineInfo``), whose provenance the history records.

A turn is ``POST /v1/chat/completions`` with ``stream: true``: each server-sent event's delta
becomes one chunk (servers send one token per event; their ids are not sent, so a chunk's
``token`` is ``REMOTE_TOKEN``). The reasoning comes one of three ways and is read into one reply
format, so the history and exports keep one: inline ``<think>…</think>`` in ``content``
(llama.cpp's servers, a model served without a reasoning parser), a separate
``reasoning_content`` (vLLM before 0.11, DeepSeek's API) or ``reasoning`` (vLLM 0.11 and later,
Ollama). A separate field is written as ``<think>\n…\n</think>\n\n`` ahead of the content and goes
through the same ``ReasoningParser`` as a local reply.

Sampling: temperature, top_p, top_k, min_p, the repetition penalty (named ``repeat_penalty`` for
llama.cpp and ``repetition_penalty`` for vLLM; servers ignore the name they do not know),
``max_tokens`` and the seed are sent (``sampling_request``); ``repeat_last_n`` has no equivalent.
The server fits its own context: no earlier turn is left out here (``dropped_messages`` is 0), and
a prompt too long for it comes back as its error. A ``reply_prefix`` is sent as the open assistant
message with vLLM's ``continue_final_message``; a server that ignores it starts the reply afresh.
Token counts come from the server's ``usage`` where it reports them (``stream_options``), else
from the events.

Stopping: the cancel token is checked after every chunk and, while the stream waits for the
server, a watcher shuts the connection down, so a stop ends the reply within a token even from a
silent server; the partial reply is kept with finish reason ``cancelled``. Failures raise
``RemoteEngineError`` subclasses (app.core.errors) whose sentence says what to do; one in the
middle of a reply carries the text received so far (``partial_text``), which the chat view and
the history have already shown and stored, and which they mark as failed with that sentence.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2

from app.core.engine.config import MAX_SEED, GenerationSettings
from app.core.engine.context_window import fit_prompt
from app.core.engine.engine_base import TurnEngine
from app.core.engine.local_engine import ChatStream, TokenChunk, TurnResult
from app.core.engine.server_connection import ServerConnection, sampling_request
from app.core.engine.turn_metrics import FinishReason, SectionCounter, TurnMetrics
from app.core.errors import (
    RemoteEngineError,
    ServerAuthError,
    ServerDroppedError,
    ServerModelNotFoundError,
    ServerResponseError,
    ServerTimeoutError,
    ServerUnreachableError,
)
from app.core.history.provenance import ServerProvenance
from app.core.reasoning.parser import ParsedReply, ReasoningParser, ReplyAccumulator, ThinkEnded, ThinkStarted
from app.core.templates.chat_template import ChatMessage
from foundation.jobs import CancelToken

REMOTE_TOKEN = -1  # ``TokenChunk.token`` of a server's token: servers do not send token ids
CONNECT_TIMEOUT_S = 10.0
_CANCEL_POLL_S = 0.05
_QUOTE_CHARS = 300
# The server's finish reasons that end a reply normally; "abort" (vLLM dropping the request) and
# anything unknown are read as the server giving up on it.
_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop", "eos": "stop", "length": "length", "content_filter": "stop",
    "tool_calls": "stop", "function_call": "stop",
}


@dataclass(frozen=True)
class RemoteEngineInfo:
    """What answers: the server's API base ``url``, the id of the model asked (as the server
    reports it), and every model it serves. ``warnings`` are to be shown to the person (none
    yet; here so a status line reads both kinds of engine alike)."""

    url: str
    model_id: str
    served_models: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def model_name(self) -> str:
        return self.model_id

    def provenance(self) -> ServerProvenance:
        """What the history records about this engine."""
        return ServerProvenance(self.url, self.model_id)


class RemoteEngine(TurnEngine):
    """A model on an OpenAI-compatible server, used like a loaded ``ChatEngine``; close it (or
    use ``with``) to free its connections.

    Connecting asks the server for its models: raises ``ServerUnreachableError``,
    ``ServerAuthError`` (a missing or wrong API key), ``ServerModelNotFoundError`` (the model
    asked for is not served, or none was named and the server serves several),
    ``ServerTimeoutError`` or ``ServerResponseError`` (not an OpenAI-compatible server).
    """

    reopen_advice = "connect to the server again"

    def __init__(self, connection: ServerConnection) -> None:
        super().__init__()
        self.connection = connection
        self._client = httpx2.Client(
            headers=connection.headers(),
            timeout=httpx2.Timeout(connection.timeout_s,
                                   connect=min(CONNECT_TIMEOUT_S, connection.timeout_s)),
        )
        try:
            served = self._served_models()
            model_id = _choose_model(connection, served)
        except BaseException:
            self._client.close()
            raise
        self.info = RemoteEngineInfo(connection.base_url, model_id, served or ())

    def _served_models(self) -> tuple[str, ...] | None:
        """The ids of the models the server lists; None when it has no list (HTTP 404)."""
        base = self.connection.base_url
        try:
            response = self._client.get(f"{base}/models")
        except httpx2.TransportError as error:
            raise _transport_error(error, self.connection, None) from error
        if response.status_code == 404:
            return None
        _raise_for_status(response, self.connection, "")
        try:
            return tuple(str(entry["id"]) for entry in response.json()["data"])
        except (ValueError, KeyError, TypeError):
            raise ServerResponseError(
                f"the server at {base} answered {base}/models with something that is not an "
                "OpenAI model list; check that the address is an OpenAI-compatible server's") from None

    # -- generation -----------------------------------------------------------------------------

    def stream_chat(self, conversation: Sequence[ChatMessage],
                    settings: GenerationSettings | None = None,
                    cancel: CancelToken | None = None,
                    on_token: Callable[[TokenChunk], None] | None = None,
                    reply_prefix: str = "") -> ChatStream:
        """Answer the last message of ``conversation``, streaming; the contract of
        ``ChatEngine.stream_chat``, with the differences the module docstring lists. Raises
        (on iteration) ``EngineBusyError`` while another stream is generating, and the
        ``RemoteEngineError`` subclasses for the server's failures."""
        chosen = settings or GenerationSettings()
        messages = tuple(conversation)
        return ChatStream(lambda stream: self._stream_turn(
            stream, on_token,
            lambda: self._generate(messages, chosen, cancel, on_token, reply_prefix)))

    def _generate(self, conversation: Sequence[ChatMessage], settings: GenerationSettings,
                  cancel: CancelToken | None, on_token: Callable[[TokenChunk], None] | None,
                  reply_prefix: str) -> Generator[TokenChunk, None, _RemoteTurn]:
        """The text chunks of one turn (run by ``_stream_turn``, engine held); returns the turn."""
        seed = settings.seed if settings.seed is not None else random.randint(0, MAX_SEED)
        # The server fits its own context: measured as empty here, no earlier turn is left
        # out; fit_prompt still checks the conversation and drops the earlier replies'
        # reasoning, as for the local engine.
        messages = fit_prompt(settings.system_prompt, conversation, lambda _messages: [],
                              settings.max_new_tokens, settings.max_new_tokens).messages
        turn = _RemoteTurn(time.perf_counter(), messages, seed, reply_prefix)
        if cancel is not None and cancel.cancelled:
            turn.finish_reason = "cancelled"
        else:
            body = self._request_body(messages, settings, seed, reply_prefix)
            yield from self._stream_reply(turn, body, cancel, on_token)
        return turn

    def _request_body(self, messages: Sequence[ChatMessage], settings: GenerationSettings,
                      seed: int, reply_prefix: str) -> dict[str, Any]:
        sent = [{"role": message.role, "content": message.content} for message in messages]
        body: dict[str, Any] = {
            "model": self.info.model_id, "messages": sent, "stream": True,
            "stream_options": {"include_usage": True}, **sampling_request(settings, seed),
        }
        if reply_prefix:
            sent.append({"role": "assistant", "content": reply_prefix})
            body.update(continue_final_message=True, add_generation_prompt=False)
        return body

    def _stream_reply(self, turn: _RemoteTurn, body: dict[str, Any], cancel: CancelToken | None,
                      on_token: Callable[[TokenChunk], None] | None) -> Iterator[TokenChunk]:
        """Yield the reply's chunks as the server streams them; sets ``turn.finish_reason``."""
        try:
            with self._client.sse(f"{self.connection.base_url}/chat/completions", method="POST",
                                  json=body) as events:
                response = events.response
                if response.status_code >= 400:
                    response.read()
                    _raise_for_status(response, self.connection, self.info.model_id)
                with _shut_down_on_cancel(response, cancel):
                    for event in events:
                        if event.data.strip() == "[DONE]":
                            turn.done = True
                            break
                        text = turn.read_event(_event_json(event.data, self.connection, turn))
                        if not text:
                            continue
                        chunk = turn.add_text(text)
                        if on_token is not None:
                            on_token(chunk)
                        yield chunk
                        if cancel is not None and cancel.cancelled:
                            turn.finish_reason = "cancelled"
                            return
        except httpx2.TransportError as error:
            if cancel is not None and cancel.cancelled:
                turn.finish_reason = "cancelled"
                return
            raise _transport_error(error, self.connection, turn.partial_text()) from error
        turn.finish_reason = _finish_reason(turn, self.connection)

    def _release(self) -> None:
        """Free the connections (``close``: ``TurnEngine.close``)."""
        self._closed = True
        self._client.close()


@dataclass(frozen=True)
class ConnectionCheck:
    """The result of ``test_connection``: ``ok``, and a sentence to show either way. ``model_id``:
    the model that answered (None on failure); ``served_models``: what the server serves, where
    known (to offer a choice after ``ServerModelNotFoundError``); ``error``: the failure."""

    ok: bool
    message: str
    model_id: str | None
    served_models: tuple[str, ...]
    error: RemoteEngineError | None


def test_connection(connection: ServerConnection) -> ConnectionCheck:
    """Connect, pick the model and have it generate one token: the settings' "Test connection".
    The server's failures come back as ``ok`` False with the error's sentence; never raises
    them. Blocks for up to the connection's timeout: run it off the GUI thread."""
    started = time.perf_counter()
    try:
        with RemoteEngine(connection) as engine:
            engine.chat([ChatMessage("user", "Hello")],
                        GenerationSettings(system_prompt=None, max_new_tokens=1, temperature=0.0))
            info = engine.info
    except RemoteEngineError as error:
        served = error.models if isinstance(error, ServerModelNotFoundError) else ()
        return ConnectionCheck(False, str(error), None, served, error)
    seconds = time.perf_counter() - started
    return ConnectionCheck(True, f"connected to {info.url}: the model {info.model_id} answered in "
                                 f"{seconds:.1f} s", info.model_id, info.served_models, None)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a test, whatever its name


class _ReasoningJoiner:
    r"""Writes a reply whose reasoning comes in a separate field as one text: ``<think>\n``
    before the first reasoning, ``\n</think>\n\n`` before the first content after it. Content
    alone passes through unchanged (its own ``<think>`` tags included)."""

    def __init__(self, prefix_events: Sequence[object]) -> None:
        started = any(isinstance(event, ThinkStarted) for event in prefix_events)
        ended = any(isinstance(event, ThinkEnded) for event in prefix_events)
        self._state = "reasoning" if started and not ended else "content" if prefix_events else ""

    def join(self, reasoning: str, content: str) -> str:
        parts = []
        if reasoning:
            if not self._state:
                parts.append("<think>\n")
                self._state = "reasoning"
            parts.append(reasoning)
        if content:
            if self._state == "reasoning":
                parts.append("\n</think>\n\n")
            self._state = "content"
            parts.append(content)
        return "".join(parts)


class _RemoteTurn:
    """The state of one reply being streamed: text assembly, parsing and measurements."""

    def __init__(self, started: float, messages: tuple[ChatMessage, ...], seed: int,
                 reply_prefix: str) -> None:
        self.started = started
        self.messages = messages
        self.seed = seed
        self.finish_reason: FinishReason = "stop"
        self.server_finish: str | None = None
        self.done = False  # the server sent [DONE]
        self.usage: Mapping[str, Any] = {}
        self.events_with_text = 0
        self._parser = ReasoningParser()
        self._reply = ReplyAccumulator()
        self._sections = SectionCounter()
        self._parts = [reply_prefix]
        self._first_text_at: float | None = None
        self._last_text_at: float | None = None
        prefix_events = self._parser.feed(reply_prefix) if reply_prefix else []
        self._sections.observe(prefix_events, started)
        self._reply.add(prefix_events)
        self._joiner = _ReasoningJoiner(prefix_events)

    def read_event(self, payload: Mapping[str, Any]) -> str:
        """Take one event's JSON; returns the reply text it adds ("" for none)."""
        if isinstance(payload.get("usage"), Mapping):
            self.usage = payload["usage"]
        choices = payload.get("choices") or []
        choice = choices[0] if choices and isinstance(choices[0], Mapping) else {}
        if choice.get("finish_reason"):
            self.server_finish = str(choice["finish_reason"])
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
        return self._joiner.join(str(reasoning), str(delta.get("content") or ""))

    def add_text(self, text: str) -> TokenChunk:
        now = time.perf_counter()
        if self._first_text_at is None:
            self._first_text_at = now
        self._last_text_at = now
        self.events_with_text += 1
        events = self._parser.feed(text)
        self._sections.add_token(events, now)
        self._reply.add(events)
        self._parts.append(text)
        return TokenChunk(text, REMOTE_TOKEN, tuple(events))

    def text(self) -> str:
        """The reply so far, reply prefix included."""
        return "".join(self._parts)

    def partial_text(self) -> str | None:
        """The reply so far for an error to carry; None when there is none."""
        return self.text() or None

    def final_chunk(self) -> TokenChunk:
        """The parser's closing events (nothing is held back from a server's text)."""
        events = self._parser.finish()
        self._sections.observe(events, time.perf_counter())
        self._reply.add(events)
        return TokenChunk("", None, tuple(events))

    def reply(self) -> ParsedReply:
        return self._reply.reply()

    def result(self, now: float) -> TurnResult:
        sections = self._sections.totals(self._last_text_at or now)
        first, last = self._first_text_at, self._last_text_at
        decode_s = (last - first) if first is not None and last is not None else 0.0
        completion = _count(self.usage.get("completion_tokens"), self.events_with_text)
        prompt = _count(self.usage.get("prompt_tokens"), 0)
        details = self.usage.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens"), 0) if isinstance(details, Mapping) else 0
        ttft = (first - self.started) if first is not None else None
        metrics = TurnMetrics(
            prompt_tokens=prompt,
            prompt_eval_tokens=max(prompt - cached, 0),
            prompt_eval_s=ttft if ttft is not None else now - self.started,
            completion_tokens=completion,
            ttft_s=ttft,
            decode_s=decode_s,
            tokens_per_s=(completion - 1) / decode_s if decode_s > 0 and completion > 1 else None,
            think_tokens=sections.think_tokens,
            think_s=sections.think_s,
            answer_tokens=sections.answer_tokens,
            answer_s=sections.answer_s,
            seed=self.seed,
            dropped_messages=0,
        )
        return TurnResult(self.text(), self.reply(), self.finish_reason, metrics, self.messages)


def _count(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _finish_reason(turn: _RemoteTurn, connection: ServerConnection) -> FinishReason:
    """How a stream the server ended itself ended; ``ServerDroppedError`` when it aborted the
    reply, or closed the stream with neither a finish reason nor ``[DONE]``."""
    if turn.server_finish is None and turn.done:
        return "stop"
    finish = _FINISH_REASONS.get(turn.server_finish or "")
    if finish is None:
        said = f" (it said: {turn.server_finish})" if turn.server_finish else ""
        raise ServerDroppedError(
            f"the server at {connection.base_url} ended the reply before it was complete{said}; "
            "try again, or check the server's log", turn.partial_text())
    return finish


def _event_json(data: str, connection: ServerConnection, turn: _RemoteTurn) -> Mapping[str, Any]:
    """One event's JSON; an ``error`` event or data that is not a JSON object raise
    ``ServerResponseError`` carrying the reply so far."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ServerResponseError(
            f"the server at {connection.base_url} sent something that is not an OpenAI-compatible "
            f"event: {data[:_QUOTE_CHARS]!r}", turn.partial_text())
    if payload.get("error"):
        raise ServerResponseError(
            f"the server at {connection.base_url} stopped the reply with an error: "
            f"{_error_text(payload)}", turn.partial_text())
    return payload


def _choose_model(connection: ServerConnection, served: tuple[str, ...] | None) -> str:
    """The model to ask: the one named when the server serves it, else the only one it serves."""
    base, wanted = connection.base_url, connection.model.strip()
    if served is None:
        if wanted:
            return wanted
        raise ServerModelNotFoundError(
            f"the server at {base} does not list its models; give the name of the model to use")
    if wanted:
        if wanted in served:
            return wanted
        raise ServerModelNotFoundError(
            f"the server at {base} does not serve a model named {wanted!r}; it serves: "
            f"{', '.join(served) or 'no model'}", served)
    if len(served) == 1:
        return served[0]
    if not served:
        raise ServerModelNotFoundError(f"the server at {base} serves no model yet; load one on "
                                       "the server, then connect again", served)
    raise ServerModelNotFoundError(
        f"the server at {base} serves several models ({', '.join(served)}); choose one of them",
        served)


def _raise_for_status(response: httpx2.Response, connection: ServerConnection, model: str) -> None:
    """A ``RemoteEngineError`` for an error answer (the response read), quoting the server."""
    status = response.status_code
    if status < 400:
        return
    base, said = connection.base_url, _error_text(_json_or_text(response))
    if status in (401, 403):
        advice = ("give the right API key" if connection.api_key.strip()
                  else "the server needs an API key: give it")
        raise ServerAuthError(f"the server at {base} refused the API key (HTTP {status}: "
                              f"{said}); {advice}")
    if status == 404 and model and "model" in said.lower():
        raise ServerModelNotFoundError(f"the server at {base} does not serve the model {model!r} "
                                       f"(HTTP 404: {said}); choose one it serves")
    if status == 404:
        raise ServerResponseError(f"the server at {base} has no such endpoint (HTTP 404: {said}); "
                                  "check the address: it should end in /v1")
    advice = "try again, or check the server's log" if status >= 500 else "check the settings"
    raise ServerResponseError(f"the server at {base} refused the request (HTTP {status}: {said}); "
                              f"{advice}")


def _json_or_text(response: httpx2.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase


def _error_text(payload: object) -> str:
    """The message of an OpenAI-style error (``{"error": {"message": …}}``), FastAPI's
    ``{"detail": …}`` or a plain text, cut short."""
    if isinstance(payload, dict):
        error = payload.get("error") or payload.get("detail") or payload.get("message") or payload
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or error
        payload = error
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return text.strip()[:_QUOTE_CHARS]


def _transport_error(error: httpx2.TransportError, connection: ServerConnection,
                     partial_text: str | None) -> RemoteEngineError:
    """The ``RemoteEngineError`` for a failed connection or transfer."""
    base = connection.base_url
    kept = "; the reply so far is kept" if partial_text else ""
    if isinstance(error, httpx2.SSEError):
        return ServerResponseError(
            f"the server at {base} did not stream its reply ({error}); check that it is an "
            "OpenAI-compatible server", partial_text)
    if isinstance(error, httpx2.ConnectTimeout):
        return ServerUnreachableError(
            f"the server at {base} did not accept a connection within "
            f"{min(CONNECT_TIMEOUT_S, connection.timeout_s):g} s; check the address and that the "
            "server is running")
    if isinstance(error, httpx2.ConnectError):
        return ServerUnreachableError(
            f"cannot reach the server at {base} ({error}); check the address and the port, and "
            "that the server is running")
    if isinstance(error, httpx2.TimeoutException):
        return ServerTimeoutError(
            f"the server at {base} sent nothing for {connection.timeout_s:g} s{kept}; it may be "
            "overloaded: try again, or allow it more time", partial_text)
    if partial_text is None or isinstance(error, httpx2.WriteError):
        return ServerUnreachableError(
            f"the connection to the server at {base} failed ({error}); check the server and the "
            "network", partial_text)
    return ServerDroppedError(
        f"the server at {base} closed the connection before the reply was complete{kept}; "
        "try again, or check the server's log", partial_text)


@contextlib.contextmanager
def _shut_down_on_cancel(response: httpx2.Response, cancel: CancelToken | None) -> Iterator[None]:
    """While active, a cancel shuts ``response``'s connection down from a watcher thread: a read
    blocked waiting for the server then ends at once (closing the socket alone would not wake
    it)."""
    if cancel is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancel.wait(_CANCEL_POLL_S):
                _shut_down(response)
                return

    threading.Thread(target=watch, name="remote-engine-cancel", daemon=True).start()
    try:
        yield
    finally:
        finished.set()


def _shut_down(response: httpx2.Response) -> None:
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
