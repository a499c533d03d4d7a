"""The settings of the inference engine: how a model is loaded and how a reply is sampled.

``EngineConfig`` is fixed when a model is loaded (context size, threads, GPU layers…);
``GenerationSettings`` can change on every turn. Their defaults are Fin-R1's published ones (see
``/work/shared/docs/fin-r1-brief.md``). Both validate themselves on construction and raise
``InvalidSettingError`` with a message naming the setting, so a value typed by a person (a CLI
flag, a settings dialog) fails before any model is touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from foundation.errors import InvalidSettingError

FIN_R1_SYSTEM_PROMPT = (
    "You are a helpful AI Assistant that provides well-reasoned and detailed responses. You first "
    "think about the reasoning process as an internal monologue and then provide the user with the "
    "answer. Respond in the following format: <think>\n...\n</think>\n<answer>\n...\n</answer>"
)

AUTO: Final = "auto"  # Final: a Literal["auto"] where a GpuLayers is expected
GpuLayers = int | Literal["auto"]

MIN_CONTEXT = 64

# llama.cpp draws seeds from uint32 and reserves 0xFFFFFFFF for "pick one at random".
MAX_SEED = 0xFFFFFFFE

# The K/V cache types offered, as llama.cpp's --cache-type-k/-v spell them (ggml type names).
KV_CACHE_TYPES: tuple[str, ...] = ("f16", "q8_0", "q4_0")
DEFAULT_KV_CACHE_TYPE = "f16"
# ``--flash-attn`` words and the ``EngineConfig.flash_attn`` values they stand for.
FLASH_ATTN_CHOICES: dict[str, bool | None] = {"auto": None, "on": True, "off": False}
# How the engine drafts for speculative decoding (``EngineConfig.speculation``).
Speculation = Literal["off", "lookup", "draft"]
SPECULATION_MODES: tuple[Speculation, ...] = ("off", "lookup", "draft")


def parse_gpu_layers(text: str) -> GpuLayers:
    """``"auto"`` or a whole number of layers (``-1`` = all) from a person's input.

    Raises ``InvalidSettingError`` for anything else.
    """
    cleaned = text.strip().lower()
    if cleaned == AUTO:
        return AUTO
    try:
        layers = int(cleaned)
    except ValueError:
        raise InvalidSettingError(
            f"GPU layers must be 'auto', 0 (CPU only), -1 (all) or a number of layers, not {text!r}"
        ) from None
    _check_gpu_layers(layers)
    return layers


def _check_gpu_layers(layers: GpuLayers) -> None:
    if layers == AUTO:
        return
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < -1:
        raise InvalidSettingError(
            f"GPU layers must be 'auto', 0 (CPU only), -1 (all) or a number of layers, not "
            f"{layers!r}"
        )


def parse_flash_attn(text: str) -> bool | None:
    """``"auto"`` (None: llama.cpp decides), ``"on"`` (True) or ``"off"`` (False) from a person's
    input; ``InvalidSettingError`` for anything else."""
    try:
        return FLASH_ATTN_CHOICES[text.strip().lower()]
    except KeyError:
        raise InvalidSettingError(
            f"flash attention is 'on', 'off' or 'auto', not {text!r}") from None


def flash_attn_word(flash_attn: bool | None) -> str:
    """The word ``parse_flash_attn`` reads back as ``flash_attn``."""
    return next(word for word, value in FLASH_ATTN_CHOICES.items() if value is flash_attn)


def _check_kv_cache_type(which: str, cache_type: str) -> None:
    if cache_type not in KV_CACHE_TYPES:
        raise InvalidSettingError(
            f"the {which} cache type must be one of {', '.join(KV_CACHE_TYPES)}, not "
            f"{cache_type!r}")


@dataclass(frozen=True)
class KvCacheTypes:
    """The tensor types of the K and V cache (``KV_CACHE_TYPES``); f16 is llama.cpp's default.
    A quantized cache takes less memory per token of context (q8_0: 8.5 bits a value, q4_0: 4.5,
    f16: 16); a quantized V cache works only with flash attention.
    Raises ``InvalidSettingError`` for a type outside ``KV_CACHE_TYPES``."""

    k: str = DEFAULT_KV_CACHE_TYPE
    v: str = DEFAULT_KV_CACHE_TYPE

    def __post_init__(self) -> None:
        _check_kv_cache_type("K", self.k)
        _check_kv_cache_type("V", self.v)

    @property
    def quantized_v(self) -> bool:
        return self.v != "f16"

    def bytes_per_token_per_layer(self, head_count_kv: int, key_length: int,
                                  value_length: int) -> int:
        """K and V of one token in one block, as llama.cpp allocates them (ggml's block sizes:
        exact when a head's length is a multiple of 32, as in every model llama.cpp can
        quantize a cache for)."""
        from quant.formats import ggml_bits_per_weight  # gguf's tables: not at the app's start

        bits = (key_length * ggml_bits_per_weight(self.k)
                + value_length * ggml_bits_per_weight(self.v))
        return round(head_count_kv * bits / 8)


F16_CACHE = KvCacheTypes()  # llama.cpp's default cache types


def default_thread_count() -> int:
    """Threads for generation when none is chosen: the CPUs this process may use, at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class EngineConfig:
    """How a model is loaded; fixed for the life of a loaded engine.

    ``n_ctx``: context window in tokens (prompt and reply together). ``n_threads``: CPU threads for
    generation, None = all CPUs this process may use; prompt processing uses the same number.
    ``n_gpu_layers``: ``"auto"`` (as many as fit the free GPU memory), 0 (CPU only), -1 (all) or a
    number. ``n_batch``: tokens per prompt-processing step. ``flash_attn``: None lets llama.cpp
    decide where it is supported, True/False force it. ``use_mmap``: map the file instead of
    reading it into memory. ``cache_type_k`` / ``cache_type_v``: the K and V cache's tensor types
    (``KV_CACHE_TYPES``); a quantized V cache needs flash attention, so it is refused with
    ``flash_attn`` False (with None, llama.cpp turns flash attention on for it). ``device``: the
    llama.cpp device the GPU layers go to, by the name ``finr1 doctor`` lists (``"Vulkan0"``,
    ``"CPU"``), None for every GPU llama.cpp finds. ``prefix_cache_mib``: the most memory kept
    for the saved KV states of earlier prompts, so that going back to another conversation or
    scenario does not evaluate its prefix again (``app.core.engine.prefix_cache``); 0 keeps none.
    Speculative decoding (``app.core.engine.speculative``; replies are the same, only faster where
    drafts are accepted): ``draft_model``, a small GGUF sharing the model's vocabulary (for Fin-R1:
    Qwen2.5-0.5B-Instruct), loaded beside it to draft; or ``prompt_lookup``, drafts taken from the
    conversation itself; not both.
    """

    n_ctx: int = 8192
    n_threads: int | None = None
    n_gpu_layers: GpuLayers = AUTO
    n_batch: int = 512
    flash_attn: bool | None = None
    use_mmap: bool = True
    cache_type_k: str = DEFAULT_KV_CACHE_TYPE
    cache_type_v: str = DEFAULT_KV_CACHE_TYPE
    device: str | None = None
    prefix_cache_mib: int = 256
    draft_model: Path | None = None
    prompt_lookup: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.draft_model, str):
            object.__setattr__(self, "draft_model", Path(self.draft_model))
        if self.draft_model is not None and self.prompt_lookup:
            raise InvalidSettingError(
                "speculative decoding drafts with a draft model or by prompt lookup, not both: "
                "choose one")
        if self.prefix_cache_mib < 0:
            raise InvalidSettingError(
                f"the prompt cache must be 0 (none) or more MiB, not {self.prefix_cache_mib}")
        if self.n_ctx < MIN_CONTEXT:
            raise InvalidSettingError(
                f"the context size must be at least {MIN_CONTEXT} tokens, not {self.n_ctx}"
            )
        if self.n_threads is not None and self.n_threads < 1:
            raise InvalidSettingError(f"the thread count must be at least 1, not {self.n_threads}")
        if self.n_batch < 1:
            raise InvalidSettingError(f"the batch size must be at least 1, not {self.n_batch}")
        _check_gpu_layers(self.n_gpu_layers)
        if self.kv_cache_types.quantized_v and self.flash_attn is False:
            raise InvalidSettingError(
                f"a {self.cache_type_v} V cache needs flash attention (llama.cpp reads a "
                "quantized V cache only that way): set flash attention to on or auto, or keep "
                "the V cache at f16")

    @property
    def kv_cache_types(self) -> KvCacheTypes:
        """The K and V cache types (validated)."""
        return KvCacheTypes(self.cache_type_k, self.cache_type_v)

    @property
    def speculation(self) -> Speculation:
        """``"draft"`` (a draft model), ``"lookup"`` (prompt lookup) or ``"off"``."""
        return "draft" if self.draft_model is not None else "lookup" if self.prompt_lookup else "off"

    @property
    def threads(self) -> int:
        """The thread count actually used."""
        return self.n_threads if self.n_threads is not None else default_thread_count()


@dataclass(frozen=True)
class GenerationSettings:
    """How one reply is generated; Fin-R1's recommended values by default.

    ``system_prompt``: sent first in every prompt (None or "" sends none). ``temperature``: 0 means
    greedy (always the most likely token). ``top_k``: 0 disables it. ``min_p``: 0 disables it.
    ``repeat_penalty`` applies to the last ``repeat_last_n`` tokens. ``max_new_tokens``: the reply
    stops there with finish reason ``length``; the same number of tokens is reserved in the context
    window. ``seed``: a fixed seed makes replies reproducible on the same machine and build (the
    engine then evaluates the prompt afresh instead of reusing the previous turn's cache); None
    picks a fresh one (reported in the turn's metrics). ``presence_penalty`` and
    ``frequency_penalty`` (OpenAI's, -2 to 2, 0 = off) lower the odds of tokens already among the
    last ``repeat_last_n`` generated, once / per time they occur (negative values raise them).
    ``stop``: texts that end the reply where they appear, besides the model's own end markers;
    the stop text is not part of the reply. ``think_budget``: the most reasoning tokens one run
    generates; at that count the engine closes the reasoning itself (``</think>`` then
    ``<answer>``, Fin-R1's format) and lets the model answer; None = no limit.
    """

    system_prompt: str | None = FIN_R1_SYSTEM_PROMPT
    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    min_p: float = 0.0
    repeat_penalty: float = 1.05
    repeat_last_n: int = 64
    max_new_tokens: int = 4000
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    think_budget: int | None = None

    def __post_init__(self) -> None:
        if self.think_budget is not None and (isinstance(self.think_budget, bool)
                                              or self.think_budget < 1):
            raise InvalidSettingError(
                f"the reasoning budget must be at least 1 token (or none), not {self.think_budget}")
        if not self.temperature >= 0:
            raise InvalidSettingError(
                f"the temperature must be 0 (greedy) or more, not {self.temperature}"
            )
        if not 0 < self.top_p <= 1:
            raise InvalidSettingError(f"top_p must be above 0 and at most 1, not {self.top_p}")
        if self.top_k < 0:
            raise InvalidSettingError(f"top_k must be 0 (off) or more, not {self.top_k}")
        if not 0 <= self.min_p < 1:
            raise InvalidSettingError(f"min_p must be at least 0 and below 1, not {self.min_p}")
        if not self.repeat_penalty > 0:
            raise InvalidSettingError(
                f"the repetition penalty must be above 0 (1 = none), not {self.repeat_penalty}"
            )
        if self.repeat_last_n < 0:
            raise InvalidSettingError(
                f"repeat_last_n must be 0 or more tokens, not {self.repeat_last_n}"
            )
        if self.max_new_tokens < 1:
            raise InvalidSettingError(
                f"the maximum reply length must be at least 1 token, not {self.max_new_tokens}"
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise InvalidSettingError(f"the seed must be between 0 and {MAX_SEED}, not {self.seed}")
        for name in ("presence_penalty", "frequency_penalty"):
            if not -2 <= getattr(self, name) <= 2:
                raise InvalidSettingError(
                    f"{name} must be between -2 and 2 (0 = off), not {getattr(self, name)}")
        if isinstance(self.stop, str) or not all(isinstance(text, str) and text
                                                  for text in self.stop):
            raise InvalidSettingError(
                f"stop must be a sequence of non-empty texts, not {self.stop!r}")
