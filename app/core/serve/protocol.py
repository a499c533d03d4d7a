"""The OpenAI wire format: request bodies checked into engine terms, results turned into JSON.

Requests are read as vLLM reads them: sampling parameters the OpenAI API lacks (``top_k``,
``min_p``, ``repetition_penalty``, ``seed``) are top-level fields, which is where the ``openai``
client puts ``extra_body``. Anything wrong becomes an ``ApiError`` carrying the HTTP status and
OpenAI's error object (``{"error": {"message", "type", "param", "code"}}``) naming the field.
Features that would change the reply's meaning and are not implemented (``n`` > 1, log
probabilities, tools, JSON mode, ``logit_bias``) are refused rather than silently ignored; fields
that do not (``user``, ``metadata``…) are ignored. No field can name a file or a model path.

Fields left out take Fin-R1's recommended sampling (``GenerationSettings``' defaults), as vLLM
does with the model's generation config; a chat sends the system prompt the messages hold, none
if they hold none, as vLLM does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, TypeVar

from app.core.engine.config import MAX_SEED, GenerationSettings
from app.core.engine.local_engine import TokenChunk
from app.core.engine.turn_metrics import TurnMetrics
from app.core.reasoning.parser import AnswerText, Event, ThinkText
from app.core.serve.config import REASONING_FORMATS, ReasoningFormat
from app.core.templates.chat_template import ChatMessage, Role

COMPLETION_DEFAULT_MAX_TOKENS = 16  # OpenAI's and vLLM's default for /v1/completions
MAX_STOP_STRINGS = 16
_INT32_MAX = 2**31 - 1  # llama.cpp's samplers take 32-bit counts

RequestKind = Literal["chat", "completion"]
_T = TypeVar("_T")


class ApiError(Exception):
    """A request the server refuses: HTTP ``status`` and OpenAI's error object.

    ``headers`` go with the response (``Retry-After`` on 429, ``WWW-Authenticate`` on 401).
    """

    def __init__(self, status: int, message: str, *, error_type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param,
                          "code": self.code}}


@dataclass(frozen=True)
class ApiRequest:
    """A checked generation request.

    ``messages``: for a chat, the user and assistant turns ending with the question;
    ``system_prompt``: its leading system message(s), None when there are none. ``prompt``: for a
    completion, the raw text continued as it is. ``reply_prefix``: the start of the reply to
    continue (vLLM's ``continue_final_message``: the last message is the assistant's, unfinished).
    ``sampling``: the ``GenerationSettings`` fields
    the request set. ``max_tokens``: None when left out (a chat may then fill the context).
    ``reasoning_format``: None = the server's default.
    """

    kind: RequestKind
    model: str | None
    messages: tuple[ChatMessage, ...] = ()
    system_prompt: str | None = None
    prompt: str = ""
    reply_prefix: str = ""
    sampling: Mapping[str, Any] = field(default_factory=dict)
    max_tokens: int | None = None
    stream: bool = False
    include_usage: bool = False
    reasoning_format: ReasoningFormat | None = None

    @property
    def text_param(self) -> str:
        """The field holding the text, for errors about its length."""
        return "messages" if self.kind == "chat" else "prompt"

    def settings(self, max_new_tokens: int) -> GenerationSettings:
        """The engine's settings for this request with the resolved reply length."""
        return GenerationSettings(system_prompt=self.system_prompt, max_new_tokens=max_new_tokens,
                                  **self.sampling)

    def log_text(self) -> str:
        """The prompt as one text for a request log that records prompts."""
        if self.kind == "completion":
            return self.prompt
        lines = [f"system: {self.system_prompt}"] if self.system_prompt else []
        return "\n".join([*lines, *(f"{m.role}: {m.content}" for m in self.messages)])


# -- reading requests ---------------------------------------------------------------------------

def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; ``ApiError`` 400 for anything else."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"The request body is not valid JSON: {error}. Send a JSON object "
                            "with Content-Type: application/json.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object, not "
                            f"{_type_name(data)}.", code="invalid_json")
    return data


def parse_chat_request(data: Mapping[str, Any]) -> ApiRequest:
    """A ``/v1/chat/completions`` body checked; ``ApiError`` 400 naming the first bad field."""
    _refuse_unsupported(data)
    system_prompt, messages = _messages(data)
    reply_prefix = ""
    if _optional(data, "continue_final_message", bool, "a boolean"):
        if messages[-1].role != "assistant":
            raise ApiError(400, "continue_final_message needs the last message to be the "
                                "assistant's reply to continue.", param="messages",
                           code="invalid_value")
        reply_prefix, messages = messages[-1].content, messages[:-1]
    if not messages or messages[-1].role != "user":
        raise ApiError(400, "The last message must be the user's: the model answers it (or "
                            "continues the assistant's with continue_final_message).",
                       param="messages", code="invalid_value")
    return ApiRequest(
        kind="chat", model=requested_model(data), messages=messages, system_prompt=system_prompt,
        reply_prefix=reply_prefix, sampling=_sampling(data), max_tokens=_max_tokens(data),
        stream=_stream(data), include_usage=_include_usage(data),
        reasoning_format=_reasoning_format(data),
    )


def parse_completion_request(data: Mapping[str, Any]) -> ApiRequest:
    """A ``/v1/completions`` body checked; ``ApiError`` 400 naming the first bad field."""
    _refuse_unsupported(data)
    for name in ("echo",):
        if _optional(data, name, bool, "a boolean"):
            raise _unsupported(name, "echo is not supported; the prompt is not repeated")
    if data.get("suffix") not in (None, ""):
        raise _unsupported("suffix", "suffix (fill in the middle) is not supported")
    best_of = _optional(data, "best_of", int, "an integer")
    if best_of not in (None, 1):
        raise _unsupported("best_of", "best_of above 1 is not supported")
    max_tokens = _max_tokens(data)
    return ApiRequest(
        kind="completion", model=requested_model(data), prompt=_prompt(data), sampling=_sampling(data),
        max_tokens=COMPLETION_DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        stream=_stream(data), include_usage=_include_usage(data),
    )


def _refuse_unsupported(data: Mapping[str, Any]) -> None:
    count = _optional(data, "n", int, "an integer")
    if count not in (None, 1):
        raise _unsupported("n", "only one choice per request is generated (n = 1)")
    if data.get("logprobs") not in (None, False, 0) or data.get("top_logprobs") not in (None, 0):
        raise _unsupported("logprobs", "log probabilities are not supported")
    if data.get("tools") or data.get("functions"):
        raise _unsupported("tools", "tools and function calling are not supported")
    if data.get("logit_bias"):
        raise _unsupported("logit_bias", "logit_bias is not supported")
    response_format = data.get("response_format")
    if response_format not in (None, {"type": "text"}):
        raise _unsupported("response_format", "only plain text replies are supported")


def _unsupported(param: str, message: str) -> ApiError:
    return ApiError(400, f"Unsupported parameter '{param}': {message}.", param=param,
                    code="unsupported_parameter")


def requested_model(data: Mapping[str, Any]) -> str | None:
    """The ``model`` a request asks for (None when it names none); ``ApiError`` if not a string."""
    return _optional(data, "model", str, "a string")



def _stream(data: Mapping[str, Any]) -> bool:
    return bool(_optional(data, "stream", bool, "a boolean"))


def _include_usage(data: Mapping[str, Any]) -> bool:
    options = _optional(data, "stream_options", dict, "an object")
    if not options:
        return False
    return bool(_optional(options, "include_usage", bool, "a boolean", "stream_options."))


def _reasoning_format(data: Mapping[str, Any]) -> ReasoningFormat | None:
    value = _optional(data, "reasoning_format", str, "a string")
    if value is None or value in REASONING_FORMATS:
        return value
    raise _invalid_value("reasoning_format", f"one of {', '.join(REASONING_FORMATS)}", value)


def _max_tokens(data: Mapping[str, Any]) -> int | None:
    name = "max_completion_tokens" if data.get("max_completion_tokens") is not None \
        else "max_tokens"
    value = _optional(data, name, int, "an integer")
    if value is not None and value < 1:
        raise _invalid_value(name, "at least 1", value)
    return value


def _prompt(data: Mapping[str, Any]) -> str:
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if prompt is None:
        raise _missing("prompt")
    if not isinstance(prompt, str):
        raise _invalid_type("prompt", "a string (one prompt per request)", prompt)
    if not prompt:
        raise _invalid_value("prompt", "a non-empty text", prompt)
    return prompt


_SYSTEM_ROLES = ("system", "developer")
_CONVERSATION_ROLES: tuple[Role, ...] = ("user", "assistant")


def _messages(data: Mapping[str, Any]) -> tuple[str | None, tuple[ChatMessage, ...]]:
    """The leading system message(s) joined, and the conversation after them."""
    raw = data.get("messages")
    if raw is None:
        raise _missing("messages")
    if not isinstance(raw, list):
        raise _invalid_type("messages", "an array of messages", raw)
    if not raw:
        raise _invalid_value("messages", "at least one message", raw)
    system_parts: list[str] = []
    conversation: list[ChatMessage] = []
    for index, message in enumerate(raw):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _invalid_type(param, "an object with 'role' and 'content'", message)
        role = message.get("role")
        if not isinstance(role, str):
            raise _invalid_type(f"{param}.role", "a string", role)
        content = _content(message, param, role)
        if role in _SYSTEM_ROLES:
            if conversation:
                raise _invalid_value(f"{param}.role", "'system' only before the conversation",
                                     role)
            system_parts.append(content)
        elif role in _CONVERSATION_ROLES:
            conversation.append(ChatMessage(role, content))
        else:
            raise _invalid_value(f"{param}.role", "'system', 'user' or 'assistant'", role)
    return ("\n\n".join(system_parts) or None), tuple(conversation)


def _content(message: Mapping[str, Any], param: str, role: str) -> str:
    content = message.get("content")
    if content is None and role == "assistant":
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for index, part in enumerate(content):
            if not (isinstance(part, dict) and part.get("type") == "text"
                    and isinstance(part.get("text"), str)):
                raise _invalid_value(f"{param}.content[{index}]",
                                     "a text part ({'type': 'text', 'text': ...}); images and "
                                     "audio are not supported", part)
            texts.append(part["text"])
        return "".join(texts)
    raise _invalid_type(f"{param}.content", "a string or an array of text parts", content)


def _sampling(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``GenerationSettings`` fields the request sets, each checked against its range."""
    sampling: dict[str, Any] = {}

    def number(name: str, setting: str, rule: str, ok: Callable[[float], bool]) -> None:
        value = _optional(data, name, float, "a number")
        if value is None:
            return
        try:
            acceptable = math.isfinite(value) and ok(value)
        except OverflowError:  # an integer too large for a float
            acceptable = False
        if not acceptable:
            raise _invalid_value(name, rule, value)
        sampling[setting] = float(value)

    number("temperature", "temperature", "0 (greedy) or more", lambda v: v >= 0)
    number("top_p", "top_p", "above 0 and at most 1", lambda v: 0 < v <= 1)
    number("min_p", "min_p", "at least 0 and below 1", lambda v: 0 <= v < 1)
    # vLLM's name, then llama.cpp server's (clients written for either send theirs)
    penalty_name = "repeat_penalty" if data.get("repetition_penalty") is None \
        else "repetition_penalty"
    number(penalty_name, "repeat_penalty", "above 0 (1 = none)", lambda v: v > 0)
    number("presence_penalty", "presence_penalty", "between -2 and 2", lambda v: -2 <= v <= 2)
    number("frequency_penalty", "frequency_penalty", "between -2 and 2", lambda v: -2 <= v <= 2)
    top_k = _optional(data, "top_k", int, "an integer")
    if top_k is not None:
        if not -1 <= top_k <= _INT32_MAX:
            raise _invalid_value("top_k", "-1 or 0 (off), or a number of tokens", top_k)
        sampling["top_k"] = max(top_k, 0)
    seed = _optional(data, "seed", int, "an integer")
    if seed is not None:
        if not 0 <= seed <= MAX_SEED:
            raise _invalid_value("seed", f"between 0 and {MAX_SEED}", seed)
        sampling["seed"] = seed
    stop = _stop(data)
    if stop:
        sampling["stop"] = stop
    return sampling


def _stop(data: Mapping[str, Any]) -> tuple[str, ...]:
    stop = data.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(text, str) for text in stop):
        raise _invalid_type("stop", "a string or an array of strings", stop)
    if len(stop) > MAX_STOP_STRINGS:
        raise _invalid_value("stop", f"at most {MAX_STOP_STRINGS} strings", len(stop))
    return tuple(text for text in stop if text)


def _optional(data: Mapping[str, Any], name: str, kind: type[_T], description: str,
              prefix: str = "") -> _T | None:
    """``data[name]`` when present and not null, checked to be of ``kind`` (an int is a number;
    a boolean is never a number)."""
    value = data.get(name)
    if value is None:
        return None
    if not _is_kind(value, kind):
        raise _invalid_type(prefix + name, description, value)
    return value


def _is_kind(value: object, kind: type[_T]) -> TypeGuard[_T]:
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, (int, float) if kind is float else kind)


def _type_name(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "an object", type(None): "null"}.get(type(value),
                                                                         type(value).__name__)


def _missing(param: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{param}'.", param=param,
                    code="missing_required_parameter")


def _invalid_type(param: str, expected: str, value: object) -> ApiError:
    return ApiError(400, f"Invalid type for '{param}': expected {expected}, but got "
                         f"{_type_name(value)} instead.", param=param, code="invalid_type")


def _invalid_value(param: str, rule: str, value: object) -> ApiError:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ApiError(400, f"Invalid value for '{param}': expected {rule}, got {shown}.",
                    param=param, code="invalid_value")


# -- writing responses --------------------------------------------------------------------------

def usage(metrics: TurnMetrics) -> dict[str, int]:
    return {"prompt_tokens": metrics.prompt_tokens,
            "completion_tokens": metrics.completion_tokens,
            "total_tokens": metrics.prompt_tokens + metrics.completion_tokens}


def chat_message(chunks: Iterable[TokenChunk], reasoning_format: ReasoningFormat) -> dict[str, Any]:
    """The whole reply's message, made of the very pieces a stream would send (``chat_delta``):
    the raw text, or with ``deepseek`` the answer in ``content`` and the reasoning in
    ``reasoning_content`` (None when the reply had none). Only generated text counts: a reply
    continued from a prefix returns the continuation, as vLLM does."""
    parts: dict[str, list[str]] = {"content": [], "reasoning_content": []}
    for chunk in chunks:
        for key, text in chat_delta(chunk.text, chunk.events, reasoning_format).items():
            parts[key].append(text)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(parts["content"])}
    if reasoning_format == "deepseek":
        message["reasoning_content"] = "".join(parts["reasoning_content"]) or None
    return message


def chat_delta(text: str, events: Iterable[Event],
               reasoning_format: ReasoningFormat) -> dict[str, str]:
    """What one streamed token adds; {} when it adds nothing visible yet."""
    if reasoning_format == "none":
        return {"content": text} if text else {}
    think = "".join(event.text for event in events if isinstance(event, ThinkText))
    answer = "".join(event.text for event in events if isinstance(event, AnswerText))
    delta = {}
    if think:
        delta["reasoning_content"] = think
    if answer:
        delta["content"] = answer
    return delta


def chat_completion(envelope: Mapping[str, Any], message: Mapping[str, Any], finish_reason: str,
                    metrics: TurnMetrics) -> dict[str, Any]:
    return {**envelope, "object": "chat.completion",
            "choices": [{"index": 0, "message": dict(message), "logprobs": None,
                         "finish_reason": finish_reason}],
            "usage": usage(metrics)}


def chat_chunk(envelope: Mapping[str, Any], delta: Mapping[str, Any],
               finish_reason: str | None = None) -> dict[str, Any]:
    return {**envelope, "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": dict(delta), "logprobs": None,
                         "finish_reason": finish_reason}]}


def text_completion(envelope: Mapping[str, Any], text: str, finish_reason: str,
                    metrics: TurnMetrics) -> dict[str, Any]:
    return {**envelope, "object": "text_completion",
            "choices": [{"index": 0, "text": text, "logprobs": None,
                         "finish_reason": finish_reason}],
            "usage": usage(metrics)}


def text_chunk(envelope: Mapping[str, Any], text: str,
               finish_reason: str | None = None) -> dict[str, Any]:
    return {**envelope, "object": "text_completion",
            "choices": [{"index": 0, "text": text, "logprobs": None,
                         "finish_reason": finish_reason}]}


def usage_chunk(envelope: Mapping[str, Any], kind: RequestKind,
                metrics: TurnMetrics) -> dict[str, Any]:
    """The last chunk when ``stream_options.include_usage`` is set: no choices, the usage."""
    kind_name = "chat.completion.chunk" if kind == "chat" else "text_completion"
    return {**envelope, "object": kind_name, "choices": [], "usage": usage(metrics)}


def json_bytes(data: Mapping[str, Any]) -> bytes:
    """``data`` as compact UTF-8 JSON (Chinese text stays readable, not \\u-escaped)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def sse_event(data: Mapping[str, Any] | str) -> bytes:
    """One server-sent event: ``data: <json>`` (or the literal ``[DONE]``) and a blank line."""
    payload = data.encode() if isinstance(data, str) else json_bytes(data)
    return b"data: " + payload + b"\n\n"
