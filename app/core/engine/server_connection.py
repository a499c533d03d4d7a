"""Where a remote engine's server is and how to talk to it: ``ServerConnection``, and the
sampling fields of its requests (``sampling_request``).

Kept apart from ``app.core.engine.remote_engine`` (which needs the HTTP client) so the settings can
validate a server address without loading it. A person may paste the server's root
(``http://gpu-box:8000``), its API base (``…/v1``) or even the chat endpoint
(``…/v1/chat/completions``); all name the same API base, ``http://gpu-box:8000/v1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.core.engine.config import GenerationSettings
from foundation.errors import InvalidSettingError

# The longest wait for the server's next byte. Generous: a CPU server evaluating a long prompt
# sends nothing until its first token.
DEFAULT_TIMEOUT_S = 300.0
_ENDPOINT_SUFFIXES = ("/chat/completions", "/completions", "/models")


@dataclass(frozen=True)
class ServerConnection:
    """An OpenAI-compatible server: its address, API key ("" = none), the model to ask ("" =
    the one it serves, when it serves one) and ``timeout_s``, the longest wait for its next byte.

    Raises ``InvalidSettingError`` for an address that is not an http(s) URL with a host, or a
    timeout that is not positive.
    """

    url: str
    api_key: str = ""
    model: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        api_base(self.url)
        if not self.timeout_s > 0:
            raise InvalidSettingError(f"the server timeout must be above 0 s, not {self.timeout_s}")

    @property
    def base_url(self) -> str:
        """The API base, ending in ``/v1`` (or the path given, when it names one)."""
        return api_base(self.url)

    def headers(self) -> dict[str, str]:
        """The headers every request carries: the API key as a bearer token, when there is one."""
        key = self.api_key.strip()
        return {"Authorization": f"Bearer {key}"} if key else {}


def api_base(url: str) -> str:
    """The API base of a server address (see the module docstring). Raises
    ``InvalidSettingError`` naming the address when it is not an http(s) URL with a host."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSettingError(
            f"the server address must be an http:// or https:// URL such as "
            f"http://127.0.0.1:8000/v1, not {url!r}")
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise InvalidSettingError(f"the server address {url!r} has an invalid port") from None
    path = parts.path.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            path = path[:-len(suffix)]
            break
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def sampling_request(settings: GenerationSettings, seed: int | None) -> dict[str, Any]:
    """The sampling fields of a chat-completion request for ``settings`` (the names and values
    sent; ``seed`` None when the engine draws one per turn)."""
    return {
        "temperature": settings.temperature, "top_p": settings.top_p,
        "top_k": settings.top_k or -1,  # 0 is "off" here; vLLM takes only -1 for it
        "min_p": settings.min_p, "repeat_penalty": settings.repeat_penalty,
        "repetition_penalty": settings.repeat_penalty,
        "max_tokens": settings.max_new_tokens, "seed": seed,
    }
