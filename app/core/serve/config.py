"""How the local server runs, checked before it binds: secure by default.

``ServeConfig`` binds 127.0.0.1 unless told otherwise, and refuses (``InsecureBindError``) any
other address without an API key: on a loopback address only this computer's programs can reach
the server, anywhere else the key is all that stands between the network and the model.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from foundation.errors import FinR1Error, InvalidSettingError

ReasoningFormat = Literal["none", "deepseek"]
# llama.cpp server's names: "none" leaves <think>…</think><answer>…</answer> in the content (as
# vLLM serving Fin-R1 returns it); "deepseek" moves the reasoning to ``reasoning_content``.
REASONING_FORMATS: tuple[ReasoningFormat, ...] = ("none", "deepseek")
LOOPBACK_NAMES = ("localhost",)
_ORIGIN = re.compile(r"\Ahttps?://[^\s/?#]+\Z")


class ServeError(FinR1Error):
    """Base of the errors of the local server."""


class InsecureBindError(ServeError):
    """The server was asked to listen beyond this computer without an API key."""


class ServerStartError(ServeError):
    """The server could not start listening (the port is taken, the address is not this
    computer's)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); any other name or
    address counts as reachable from the network."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeConfig:
    """The server's settings.

    ``host``/``port``: where it listens (port 0 = any free port). ``api_key``: the key clients
    send as ``Authorization: Bearer KEY``; None = no key (allowed on loopback only).
    ``model_name``: the name clients ask for (``model`` in a request). ``max_waiting``: requests
    that may wait behind the one generating; more get HTTP 429. ``max_request_bytes``: larger
    bodies get HTTP 413. ``cors_origins``: web origins allowed to call it from a browser (none =
    CORS off). ``reasoning_format``: the default way replies are returned (a request may ask
    otherwise). ``log_prompts``: the request log also records prompt and reply texts.
    ``max_reply_tokens``: a cap on every reply's length, whatever a request asks (None = none).

    Raises ``InvalidSettingError`` for a value out of range and ``InsecureBindError`` for a
    non-loopback ``host`` without ``api_key``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    model_name: str = "Fin-R1"
    max_waiting: int = 8
    max_request_bytes: int = 2 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    reasoning_format: ReasoningFormat = "none"
    log_prompts: bool = False
    max_reply_tokens: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidSettingError(f"the port must be between 0 and 65535, not {self.port}")
        if not self.model_name.strip() or any(char.isspace() for char in self.model_name):
            raise InvalidSettingError(
                f"the served model name must be one word without spaces, not {self.model_name!r}")
        if self.max_waiting < 0:
            raise InvalidSettingError(
                f"the queue length must be 0 or more requests, not {self.max_waiting}")
        if self.max_request_bytes < 1024:
            raise InvalidSettingError(
                f"the request size limit must be at least 1024 bytes, not {self.max_request_bytes}")
        if self.reasoning_format not in REASONING_FORMATS:
            raise InvalidSettingError(
                f"the reasoning format must be one of {', '.join(REASONING_FORMATS)}, not "
                f"{self.reasoning_format!r}")
        if self.max_reply_tokens is not None and self.max_reply_tokens < 1:
            raise InvalidSettingError(
                f"the reply cap must be at least 1 token, not {self.max_reply_tokens}")
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise InvalidSettingError(
                    f"a CORS origin is '*' or like https://example.org (scheme and host, no "
                    f"path), not {origin!r}")
        if self.api_key is not None and (not self.api_key or self.api_key != self.api_key.strip()):
            raise InvalidSettingError(
                "the API key must not be empty or start or end with spaces; leave it out for "
                "no key")
        if self.api_key is None and not is_loopback(self.host):
            raise InsecureBindError(
                f"refusing to listen on {self.host} without an API key: anyone on the network "
                "could use the model. Give --api-key KEY (or FINR1_API_KEY), or bind 127.0.0.1")

    @property
    def loopback_only(self) -> bool:
        """The server is reachable from this computer only."""
        return is_loopback(self.host)
