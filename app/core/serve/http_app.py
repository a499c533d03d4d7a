"""The server's ASGI application: OpenAI's routes on FastAPI, wrapped in its security layers.

From the outside in: the request log (method, path, status, tokens, timings; texts only when
asked), CORS (only when origins are configured), on a loopback address the Host check (a web page
that re-points its own domain at 127.0.0.1, "DNS rebinding", is refused), the API key check
(constant-time), the request size limit, then the routes. Generation routes check the body
(``protocol``), reserve a place in the engine's queue (HTTP 429 with ``Retry-After`` when it is
full) and answer with a ``TurnResponse``; the engine does the rest.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from app.core.engine.local_engine import ChatEngine, ChatStream
from app.core.engine.turn_queue import EngineQueue, QueueFullError
from app.core.serve import protocol
from app.core.serve.config import ServeConfig, is_loopback
from app.core.serve.protocol import ApiError, ApiRequest
from app.core.serve.request_log import SCOPE_KEY, RequestLogCallback, RequestRecord
from app.core.serve.turn_response import (
    ActiveTurns,
    Receive,
    Scope,
    Send,
    TurnResponse,
    send_api_error,
)
from app.core.templates.chat_template import ChatMessage
from foundation.errors import InvalidSettingError
from foundation.jobs import CancelToken

ASGIApp = Callable[[Scope, Receive, Send], Any]
_LOG = logging.getLogger(__name__)
_OPEN_PATHS = ("/health",)  # what a load balancer may probe without the key


def build_app(queue: EngineQueue, config: ServeConfig, turns: ActiveTurns,
              on_request: RequestLogCallback | None = None) -> ASGIApp:
    """The complete ASGI application serving ``queue``'s model under ``config``."""
    app: ASGIApp = _routes(queue, config, turns)
    app = _BodyLimit(app, config.max_request_bytes)
    if config.api_key is not None:
        app = _ApiKeyCheck(app, config.api_key)
    if config.loopback_only:
        app = _LoopbackHostCheck(app)
    if config.cors_origins:
        app = CORSMiddleware(app, allow_origins=list(config.cors_origins),
                             allow_methods=["GET", "POST"],
                             allow_headers=["authorization", "content-type"])
    return _RequestLog(app, on_request)


def _routes(queue: EngineQueue, config: ServeConfig, turns: ActiveTurns) -> FastAPI:
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    started = int(time.time())
    n_ctx = queue.engine.info.n_ctx

    def model_card() -> dict[str, Any]:
        return {"id": config.model_name, "object": "model", "created": started,
                "owned_by": "finr1-studio", "max_model_len": n_ctx}

    @api.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        _set_error_code(request.scope, error.code)
        return JSONResponse(error.body(), error.status, headers=error.headers)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = (f"Unknown endpoint {request.method} {request.url.path}; this server offers "
                   "GET /v1/models, POST /v1/chat/completions and POST /v1/completions."
                   if error.status_code in (404, 405) else str(error.detail))
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code)
        _set_error_code(request.scope, code)
        return JSONResponse(ApiError(error.status_code, message, code=code).body(),
                            error.status_code)

    @api.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        _LOG.error("the server failed on %s %s", request.method, request.url.path,
                   exc_info=error)
        failure = ApiError(500, "The server failed; see its log.", error_type="server_error",
                           code="internal_error")
        _set_error_code(request.scope, failure.code)
        return JSONResponse(failure.body(), failure.status)

    @api.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @api.get("/v1/models/{model_id:path}")
    async def retrieve_model(model_id: str) -> dict[str, Any]:
        _check_model(model_id, config.model_name)
        return model_card()

    @api.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> TurnResponse:
        return await _generation(request, protocol.parse_chat_request, queue, config, turns)

    @api.post("/v1/completions", response_model=None)
    async def completions(request: Request) -> TurnResponse:
        return await _generation(request, protocol.parse_completion_request, queue, config,
                                 turns)

    return api


def _check_model(requested: str | None, served: str) -> None:
    if requested is not None and requested != served:
        raise ApiError(404, f"The model `{requested}` does not exist; this server serves "
                            f"`{served}`.", param="model", code="model_not_found")


async def _generation(request: Request, parse: Callable[[dict[str, Any]], ApiRequest],
                      queue: EngineQueue, config: ServeConfig,
                      turns: ActiveTurns) -> TurnResponse:
    """Check a generation request and reserve its place in the engine's queue."""
    log_fields: MutableMapping[str, Any] = request.scope.get(SCOPE_KEY, {})
    data = protocol.parse_json_object(await request.body())
    log_fields["model"] = protocol.requested_model(data)
    _check_model(log_fields["model"], config.model_name)
    api_request = parse(data)
    log_fields["stream"] = api_request.stream
    if turns.closing:
        raise ApiError(503, "The server is shutting down.", error_type="server_error",
                       code="server_shutting_down")
    max_tokens = _reply_tokens(api_request, config.max_reply_tokens, queue.engine.info.n_ctx)
    cancel = CancelToken()
    arrived = time.perf_counter()

    def start(engine: ChatEngine) -> ChatStream:
        log_fields["queue_s"] = time.perf_counter() - arrived
        reply_tokens = max_tokens if max_tokens is not None else _capped(
            _rest_of_context(engine, api_request), config.max_reply_tokens)
        settings = api_request.settings(reply_tokens)
        if api_request.kind == "chat":
            return engine.stream_chat(api_request.messages, settings, cancel,
                                      reply_prefix=api_request.reply_prefix)
        return engine.stream_completion(api_request.prompt, settings, cancel)

    try:
        queued = queue.submit(start, cancel=cancel, label="server")
    except QueueFullError as error:
        raise ApiError(429, str(error), error_type="requests", code="rate_limit_exceeded",
                       headers={"Retry-After": str(error.retry_after_s)}) from None
    return TurnResponse(queued, cancel, api_request, config.model_name,
                        api_request.reasoning_format or config.reasoning_format, turns,
                        log_fields, config.log_prompts)


def _reply_tokens(request: ApiRequest, cap: int | None, n_ctx: int) -> int | None:
    """The reply length ``request`` asks for, within the server's cap; None = what the context
    leaves. ``ApiError`` 400 when it could never fit, or the settings are out of range."""
    max_tokens = request.max_tokens
    if max_tokens is not None:
        max_tokens = _capped(max_tokens, cap)
        if max_tokens >= n_ctx:
            raise ApiError(400, f"max_tokens is {max_tokens} but the model's context holds {n_ctx} "
                                "tokens, prompt included; ask for fewer tokens.",
                           param="max_tokens", code="context_length_exceeded")
    try:
        request.settings(max_tokens or 1)
    except InvalidSettingError as error:
        raise ApiError(400, str(error), code="invalid_value") from None
    return max_tokens


def _capped(max_tokens: int, cap: int | None) -> int:
    return max_tokens if cap is None else min(max_tokens, cap)


def _rest_of_context(engine: ChatEngine, request: ApiRequest) -> int:
    """A chat without ``max_tokens`` may fill the context, as with vLLM: the tokens its prompt
    leaves free (at least 1, so that a prompt too long fails as a context overflow)."""
    system = [ChatMessage("system", request.system_prompt)] if request.system_prompt else []
    prompt_tokens = len(engine.tokenize_prompt([*system, *request.messages], request.reply_prefix))
    return max(1, engine.info.n_ctx - prompt_tokens)


# -- the layers around the routes ---------------------------------------------------------------

class _RequestLog:
    """Times every request and hands a ``RequestRecord`` to the callback when it ends."""

    def __init__(self, app: ASGIApp, on_request: RequestLogCallback | None) -> None:
        self._app = app
        self._on_request = on_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._on_request is None:
            await self._app(scope, receive, send)
            return
        at, started = time.time(), time.perf_counter()
        fields: dict[str, Any] = {}
        scope[SCOPE_KEY] = fields
        status = 500

        async def send_watching_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_watching_status)
        finally:
            client = scope.get("client")
            record = RequestRecord(at=at, client=client[0] if client else "", method=scope["method"],
                                   path=scope["path"], status=status,
                                   duration_s=time.perf_counter() - started, **fields)
            try:
                self._on_request(record)
            except Exception:  # a broken log consumer must not break serving
                _LOG.exception("the request log callback failed")


class _LoopbackHostCheck:
    """On a loopback address, refuses requests whose Host names anything but this computer
    (HTTP 403): only a browser tricked by DNS rebinding sends those."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not is_loopback(_host_name(host)):
                _set_error_code(scope, "forbidden_host")
                await send_api_error(send, ApiError(
                    403, f"This server answers requests addressed to this computer only, not to "
                         f"{host!r}.", code="forbidden_host"))
                return
        await self._app(scope, receive, send)


def _host_name(host: str) -> str:
    """The name in a Host header: ``[::1]:8000`` → ``::1``, ``127.0.0.1:8000`` → ``127.0.0.1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host


class _ApiKeyCheck:
    """Refuses every request but ``GET /health`` without ``Authorization: Bearer KEY`` (401)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in _OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                _set_error_code(scope, "invalid_api_key")
                await send_api_error(send, ApiError(
                    401, "Missing or wrong API key: send it as 'Authorization: Bearer KEY' "
                         "(the openai client's api_key).", code="invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"}))
                return
        await self._app(scope, receive, send)


class _BodyLimit:
    """Reads the whole body first and refuses one over ``limit`` bytes (HTTP 413), whether it
    says its length or not; the routes then get it from memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            await self._too_large(scope, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            body += message.get("body", b"")
            if len(body) > self._limit:
                await self._too_large(scope, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self._app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        _set_error_code(scope, "request_too_large")
        await send_api_error(send, ApiError(
            413, f"The request body is larger than this server's limit of {self._limit} bytes.",
            code="request_too_large"))


def _set_error_code(scope: Scope, code: str | None) -> None:
    fields = scope.get(SCOPE_KEY)
    if fields is not None:
        fields["error_code"] = code
