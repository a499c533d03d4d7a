"""The app's settings: what they are, their defaults, and how they are kept on disk.

``AppSettings`` holds every setting a person can change (engine, sampling, system prompt, library
location, hub endpoint and token, offline mode, theme, prompt language, window language, last
model, and which engine answers: this computer or an OpenAI-compatible server). It validates
itself on construction through the engine's own setting classes, so a bad value fails with the
engine's message before anything is saved. ``load_settings`` / ``save_settings`` read and write it
as JSON at ``app_paths().settings_file`` (see ``app.core.installation.paths``: ``FINR1_HOME``, portable mode).

The file is written atomically and readable only by its owner (it may hold a hub token or a
server's API key). Keys the file has but this version does not know are ignored, keys it lacks
take their defaults, so older and newer versions of the app can share one file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from app.core.engine.api import ENGINE_KINDS, EngineKind
from app.core.engine.config import (
    AUTO,
    FIN_R1_SYSTEM_PROMPT,
    SPECULATION_MODES,
    EngineConfig,
    GenerationSettings,
    GpuLayers,
    flash_attn_word,
    parse_flash_attn,
)
from app.core.engine.server_connection import DEFAULT_TIMEOUT_S, ServerConnection
from app.core.installation.paths import app_paths
from foundation.errors import FinR1Error, InvalidSettingError

Theme = Literal["system", "light", "dark"]
PromptLanguage = Literal["zh", "en"]
THEMES: tuple[Theme, ...] = ("system", "light", "dark")
PROMPT_LANGUAGES: tuple[PromptLanguage, ...] = ("zh", "en")
UI_LANGUAGE_SETTINGS = ("system", "zh_CN", "en")  # the window's language ("system": follow it)
SETTINGS_FORMAT = 1
_DEFAULT_GENERATION = GenerationSettings()
_DEFAULT_ENGINE = EngineConfig()


class SettingsFileError(FinR1Error):
    """The settings file cannot be read or holds invalid values; the message names the file."""


@dataclass(frozen=True)
class AppSettings:
    """Every persisted setting. ``n_threads`` None = all CPUs; ``library_dir`` and
    ``hub_endpoint`` "" = the defaults; ``last_model`` is the GGUF loaded last ("" = none).
    ``engine_kind``: "local" (this computer runs the model) or "server" (an OpenAI-compatible
    server at ``server_url`` answers, with ``server_api_key`` and ``server_model``, "" = none /
    the one it serves, waiting at most ``server_timeout_s`` for its next byte).
    ``cache_type_k`` / ``cache_type_v``: the K/V cache types (``KV_CACHE_TYPES``);
    ``flash_attn``: "auto", "on" or "off" (``parse_flash_attn``).
    ``gpu_device``: the llama.cpp device for the GPU layers as ``finr1 doctor`` lists it
    (``EngineConfig.device``); "" = every GPU llama.cpp finds.
    ``think_budget``: the most reasoning tokens per reply (``GenerationSettings.think_budget``);
    0 = the scenario's own budget, where it has one (``Scenario.think_budget``), else no limit.
    ``speculation``: speculative decoding, "off", "lookup" (drafts from the conversation) or
    "draft" (drafts by the small model ``draft_model``, a GGUF path, kept while "off" too).

    Raises ``InvalidSettingError`` (naming the setting) for an out-of-range value.
    """

    n_threads: int | None = None
    n_gpu_layers: GpuLayers = AUTO
    gpu_device: str = ""
    n_ctx: int = _DEFAULT_ENGINE.n_ctx
    temperature: float = _DEFAULT_GENERATION.temperature
    top_p: float = _DEFAULT_GENERATION.top_p
    top_k: int = _DEFAULT_GENERATION.top_k
    repeat_penalty: float = _DEFAULT_GENERATION.repeat_penalty
    max_new_tokens: int = _DEFAULT_GENERATION.max_new_tokens
    system_prompt: str = FIN_R1_SYSTEM_PROMPT
    library_dir: str = ""
    hub_endpoint: str = ""
    hub_token: str = ""
    offline: bool = False
    theme: Theme = "system"
    prompt_language: PromptLanguage = "en"
    ui_language: str = "system"
    last_model: str = ""
    engine_kind: EngineKind = "local"
    server_url: str = ""
    server_api_key: str = ""
    server_model: str = ""
    server_timeout_s: float = DEFAULT_TIMEOUT_S
    cache_type_k: str = _DEFAULT_ENGINE.cache_type_k
    cache_type_v: str = _DEFAULT_ENGINE.cache_type_v
    flash_attn: str = flash_attn_word(_DEFAULT_ENGINE.flash_attn)
    think_budget: int = 0
    speculation: str = "off"
    draft_model: str = ""

    def __post_init__(self) -> None:
        if self.speculation not in SPECULATION_MODES:
            raise InvalidSettingError(f"speculative decoding must be one of "
                                      f"{', '.join(SPECULATION_MODES)}, not {self.speculation!r}")
        if self.speculation == "draft" and not self.draft_model.strip():
            raise InvalidSettingError("speculative decoding with a draft model needs its file: "
                                      "choose the draft model's GGUF")
        self.engine_config()
        self.generation_settings()
        if self.engine_kind not in ENGINE_KINDS:
            raise InvalidSettingError(f"the engine must be one of {', '.join(ENGINE_KINDS)}, not "
                                      f"{self.engine_kind!r}")
        if self.engine_kind == "server" or self.server_url:
            self.server_connection()
        if self.theme not in THEMES:
            raise InvalidSettingError(f"the theme must be one of {', '.join(THEMES)}, not "
                                      f"{self.theme!r}")
        if self.prompt_language not in PROMPT_LANGUAGES:
            raise InvalidSettingError(
                f"the prompt language must be 'zh' or 'en', not {self.prompt_language!r}")
        if self.ui_language not in UI_LANGUAGE_SETTINGS:
            raise InvalidSettingError(
                f"the window language must be one of {', '.join(UI_LANGUAGE_SETTINGS)}, not "
                f"{self.ui_language!r}")

    def engine_config(self) -> EngineConfig:
        """How to load a model with these settings."""
        return EngineConfig(n_ctx=self.n_ctx, n_threads=self.n_threads,
                            n_gpu_layers=self.n_gpu_layers,
                            flash_attn=parse_flash_attn(self.flash_attn),
                            cache_type_k=self.cache_type_k, cache_type_v=self.cache_type_v,
                            device=self.gpu_device or None,
                            draft_model=(Path(self.draft_model) if self.speculation == "draft"
                                         else None),
                            prompt_lookup=self.speculation == "lookup")

    def generation_settings(self, scenario_think_budget: int | None = None) -> GenerationSettings:
        """How to sample a reply; ``scenario_think_budget``: the scenario's reasoning budget,
        used when ``think_budget`` is 0."""
        if self.think_budget < 0:
            raise InvalidSettingError(
                f"the reasoning budget must be 0 (none) or more tokens, not {self.think_budget}")
        return GenerationSettings(
            system_prompt=self.system_prompt or None, temperature=self.temperature,
            top_p=self.top_p, top_k=self.top_k, repeat_penalty=self.repeat_penalty,
            max_new_tokens=self.max_new_tokens,
            think_budget=self.think_budget or scenario_think_budget,
        )

    def server_connection(self) -> ServerConnection:
        """The server to use when ``engine_kind`` is "server". Raises ``InvalidSettingError``
        when ``server_url`` is empty or not an http(s) URL."""
        if not self.server_url.strip():
            raise InvalidSettingError("give the server's address, such as http://127.0.0.1:8000/v1")
        return ServerConnection(self.server_url, self.server_api_key, self.server_model,
                                self.server_timeout_s)

    def needs_reload(self, other: AppSettings) -> bool:
        """True when ``other`` loads models differently (threads, GPU layers, context size, cache
        types, flash attention, speculative decoding) or answers from another engine (the kind,
        the server, its key, model or timeout)."""
        return (self.engine_config() != other.engine_config()
                or self._engine_choice() != other._engine_choice())

    def _engine_choice(self) -> tuple[object, ...]:
        return (self.engine_kind, self.server_url, self.server_api_key, self.server_model,
                self.server_timeout_s)

    def with_changes(self, **changes: Any) -> AppSettings:
        """A copy with ``changes`` applied (validated like a new instance)."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON-ready data, with the file format number."""
        return {"format": SETTINGS_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppSettings:
        """Settings from parsed JSON: unknown keys ignored, missing keys defaulted.

        Raises ``InvalidSettingError`` for a value of the wrong type or out of range.
        """
        known = {field.name: field for field in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in known:
                _check_type(name, value, cls.__dataclass_fields__[name].default)
                values[name] = value
        return cls(**values)


# The JSON kinds each setting accepts where its default's type does not say it all.
_ACCEPTED_KINDS: dict[str, tuple[type, ...]] = {
    "n_threads": (int, type(None)),
    "n_gpu_layers": (int, str),
}


def _check_type(name: str, value: Any, default: Any) -> None:
    kinds = _ACCEPTED_KINDS.get(name) or ((int, float) if isinstance(default, float)
                                          else (type(default),))
    # JSON true/false are bools, which Python also counts as ints.
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise InvalidSettingError(f"setting {name!r} has the wrong kind of value: {value!r}")


def default_settings_file() -> Path:
    """Where this process keeps its settings (``app_paths().settings_file``)."""
    return app_paths().settings_file


def load_settings(path: Path | None = None) -> AppSettings:
    """The settings saved at ``path`` (default: ``default_settings_file()``); the defaults when
    there is no file yet.

    Raises ``SettingsFileError`` naming the file when it cannot be read, is not a JSON object, or
    holds an invalid value. Reads only.
    """
    path = default_settings_file() if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return AppSettings()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsFileError(f"cannot read the settings file {path} ({error}); fix its "
                                "permissions or delete it to start from the defaults") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsFileError(f"the settings file {path} is not valid JSON ({error}); fix it or "
                                "delete it to start from the defaults") from error
    if not isinstance(data, dict):
        raise SettingsFileError(f"the settings file {path} must hold a JSON object; fix it or "
                                "delete it to start from the defaults")
    try:
        return AppSettings.from_json(data)
    except InvalidSettingError as error:
        raise SettingsFileError(f"the settings file {path}: {error}; fix it or delete it to "
                                "start from the defaults") from error


def save_settings(settings: AppSettings, path: Path | None = None) -> Path:
    """Write ``settings`` to ``path`` (default: ``default_settings_file()``) atomically, readable
    by the owner only; creates the folder. Returns the path. Raises ``OSError`` /
    ``DiskFullError`` when it cannot be written (the previous file is then left as it was)."""
    from foundation.atomic import atomic_output  # only when saving: keeps the app's start light

    path = default_settings_file() if path is None else Path(path)
    text = json.dumps(settings.to_json(), ensure_ascii=False, indent=2) + "\n"
    with atomic_output(path) as partial:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
    return path
