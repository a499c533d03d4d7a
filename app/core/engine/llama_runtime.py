"""One llama.cpp model and context, driven through llama-cpp-python's C bindings.

The engine talks to llama.cpp only through this class. It uses the C API directly (not the
high-level ``llama_cpp.Llama``) because generation is a tight loop: one ``llama_decode`` and one
``llama_sampler_sample`` per token with nothing else in between, which is what a bare llama.cpp
program does, and because the context must be built with settings ``Llama`` does not expose
(flash attention left to llama.cpp, the K/V cache types, an abort callback for stopping a long
prompt).

For speculative decoding it also evaluates several tokens in one batch with the logits of each
(``decode_batch``), samples from any of them (``sample(sampler, index)``), drops the tail of the
cache a rejected draft left (``truncate``) and gives a row of logits to Python (``logits``).

It remembers which tokens its KV cache holds, so a prompt sharing a prefix with the previous one
(the next turn of a conversation) only evaluates the new part; and when a prompt leaves the cached
one behind, it saves that state in a ``PrefixCache`` (bounded in bytes), so going back to an
earlier conversation or scenario restores its prefix instead of evaluating it again. Not
thread-safe: one caller at a time, except for the cancel token, which any thread may set.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np

from app.core.engine.config import DEFAULT_KV_CACHE_TYPE, KvCacheTypes
from app.core.engine.prefix_cache import (
    DEFAULT_PREFIX_CACHE_BYTES,
    MIN_SAVED_TOKENS,
    PrefixCache,
    SavedPrefix,
    shared_prefix_length,
)
from app.core.errors import GenerationError
from app.core.hardware.backend_devices import OffloadReport, device_handles, prepare_backends
from foundation.closing import Closing
from foundation.errors import ModelLoadError
from foundation.jobs import CancelToken
from foundation.llama_log import LLAMA_LOG, llama_reason
from foundation.llama_model_params import model_load_params

_DECODE_ABORTED = 2
_PIECE_BUFFER_BYTES = 64
_backend_ready = False


def _prepare_backend() -> None:
    """Initialise llama.cpp once per process, its log going where ``foundation.llama_log`` says."""
    global _backend_ready
    if _backend_ready:
        return
    prepare_backends()
    _backend_ready = True


def _ggml_type(cache_type: str) -> int:
    """llama.cpp's ``GGML_TYPE_*`` for a cache type name (``"q8_0"`` → ``GGML_TYPE_Q8_0``)."""
    return int(getattr(llama_cpp, f"GGML_TYPE_{cache_type.upper()}"))


class Sampler(Closing):
    """A llama.cpp sampler chain: repetition, frequency and presence penalties, top-k, top-p,
    min-p, temperature, then a seeded draw; or greedy when ``temperature`` is 0. Call ``close``
    (or use ``with``) to free it.
    """

    def __init__(self, *, n_vocab: int, temperature: float, top_k: int, top_p: float,
                 min_p: float, repeat_penalty: float, repeat_last_n: int, seed: int,
                 presence_penalty: float = 0.0, frequency_penalty: float = 0.0) -> None:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        self._chain: llama_cpp.llama_sampler_p | None = chain
        add = llama_cpp.llama_sampler_chain_add
        penalized = repeat_penalty != 1.0 or presence_penalty != 0.0 or frequency_penalty != 0.0
        if penalized and repeat_last_n > 0:
            penalties = llama_cpp.llama_sampler_init_penalties(
                n_vocab, repeat_last_n, repeat_penalty, frequency_penalty, presence_penalty)
            add(chain, penalties)
        if temperature == 0:
            add(chain, llama_cpp.llama_sampler_init_greedy())
            return
        if top_k > 0:
            add(chain, llama_cpp.llama_sampler_init_top_k(top_k))
        if top_p < 1.0:
            add(chain, llama_cpp.llama_sampler_init_top_p(top_p, 1))
        if min_p > 0.0:
            add(chain, llama_cpp.llama_sampler_init_min_p(min_p, 1))
        add(chain, llama_cpp.llama_sampler_init_temp(temperature))
        add(chain, llama_cpp.llama_sampler_init_dist(seed))

    @property
    def handle(self) -> llama_cpp.llama_sampler_p:
        if self._chain is None:
            raise RuntimeError("this sampler was closed")
        return self._chain

    def close(self) -> None:
        """Free the chain; safe to call twice."""
        if self._chain is not None:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None


class LlamaRuntime:
    """A loaded model with one context of ``n_ctx`` tokens.

    Raises ``ModelLoadError`` when llama.cpp cannot load the file or create the context (with
    llama.cpp's reason: out of memory, unsupported architecture, a quantized V cache without
    flash attention…), ``InvalidSettingError`` for a cache type outside ``KV_CACHE_TYPES``. Call
    ``close`` to free the native memory.

    ``device``: the device of llama.cpp's registry the offloaded layers go to (``"Vulkan0"``;
    ``"CPU"``: none), None for every GPU; ``InvalidSettingError`` for one it does not list.
    ``offload`` says where llama.cpp put the layers (``backend_devices.OffloadReport``).
    ``prefix_cache_bytes``: the most memory the saved prompt states take (``PrefixCache``; each
    costs its tokens' share of the KV cache, ~56 KiB a token for Fin-R1 at f16), 0 = none kept.
    """

    def __init__(self, gguf_path: Path, *, n_ctx: int, n_threads: int, n_gpu_layers: int,
                 n_batch: int, flash_attn: bool | None, use_mmap: bool,
                 cache_type_k: str = DEFAULT_KV_CACHE_TYPE,
                 cache_type_v: str = DEFAULT_KV_CACHE_TYPE, device: str | None = None,
                 prefix_cache_bytes: int = DEFAULT_PREFIX_CACHE_BYTES) -> None:
        cache_types = KvCacheTypes(cache_type_k, cache_type_v)  # refused before anything loads
        _prepare_backend()
        model_params = model_load_params(n_gpu_layers, use_mmap, device_handles(device))
        with LLAMA_LOG.capturing() as load_log:
            model = llama_cpp.llama_model_load_from_file(str(gguf_path).encode("utf-8"),
                                                         model_params)
        # where llama.cpp put the layers, as it reported them (not as they were asked for)
        self.offload = OffloadReport.from_log(load_log)
        if not model:
            raise ModelLoadError(
                f"llama.cpp could not load {gguf_path}{llama_reason()}; the model may be too "
                "large for the free memory, or of an architecture this llama.cpp does not support"
            )
        self._model = model
        context_params = llama_cpp.llama_context_default_params()
        context_params.n_ctx = n_ctx
        context_params.n_batch = n_batch
        context_params.n_ubatch = n_batch
        context_params.n_threads = n_threads
        context_params.n_threads_batch = n_threads
        context_params.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO if flash_attn is None
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        # ggml type ids; with flash attention on auto, llama.cpp turns it on for a quantized V
        # cache (and refuses one with it off: EngineConfig says so before loading)
        context_params.type_k = _ggml_type(cache_types.k)
        context_params.type_v = _ggml_type(cache_types.v)
        context = llama_cpp.llama_init_from_model(model, context_params)
        if not context:
            llama_cpp.llama_model_free(model)
            self._model = None
            raise ModelLoadError(
                f"llama.cpp loaded {gguf_path} but could not create a {n_ctx}-token context"
                f"{llama_reason()}; lower the context size or the GPU layers"
            )
        self._context = context
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self.n_ctx = llama_cpp.llama_n_ctx(context)
        # llama.cpp may lower the batch (never above the context); prompts are cut to its value.
        self.n_batch = llama_cpp.llama_n_batch(context)
        self.n_layer = llama_cpp.llama_model_n_layer(model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._cached_tokens: list[int] = []
        self.prefixes = PrefixCache(prefix_cache_bytes)
        self._one_token = (llama_cpp.llama_token * 1)()
        self._one_token_batch = llama_cpp.llama_batch_get_one(self._one_token, 1)
        self._batch: llama_cpp.llama_batch | None = None  # decode_batch's, made at first use
        self._batch_capacity = 0
        self._pieces: dict[int, bytes] = {}
        self._abort_token: CancelToken | None = None
        self._abort_callback = llama_cpp.ggml_abort_callback(self._should_abort)

    # -- vocabulary -----------------------------------------------------------------------------

    @property
    def bos_token(self) -> int:
        return llama_cpp.llama_vocab_bos(self._vocab)

    @property
    def eos_token(self) -> int:
        return llama_cpp.llama_vocab_eos(self._vocab)

    @property
    def adds_bos(self) -> bool:
        """The vocabulary asks for a BOS token in front of every prompt."""
        return bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))

    @property
    def adds_eos(self) -> bool:
        """The vocabulary asks for an EOS token after every prompt."""
        return bool(llama_cpp.llama_vocab_get_add_eos(self._vocab))

    @property
    def vocab_type(self) -> int:
        """llama.cpp's ``LLAMA_VOCAB_TYPE_*`` of the tokenizer (SPM, BPE, WPM…)."""
        return int(llama_cpp.llama_vocab_type(self._vocab))

    def raw_token_text(self, token: int) -> bytes:
        """The token's text exactly as the vocabulary stores it (not decoded)."""
        return llama_cpp.llama_vocab_get_text(self._vocab, token) or b""

    def is_end_of_generation(self, token: int) -> bool:
        """EOS, EOT and every other token the model file marks as ending a reply."""
        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def token_text(self, token: int) -> str:
        """The token's text as the vocabulary spells it (special tokens included)."""
        if token < 0:
            return ""
        return llama_cpp.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    def tokenize(self, text: str, *, add_bos: bool, parse_special: bool) -> list[int]:
        """The tokens of ``text``; ``parse_special`` turns ``<|im_start|>`` etc. into their ids."""
        data = text.encode("utf-8")
        capacity = len(data) + 8
        buffer = (llama_cpp.llama_token * capacity)()
        count = llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, capacity, add_bos,
                                         parse_special)
        if count < 0:
            capacity = -count
            buffer = (llama_cpp.llama_token * capacity)()
            count = llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, capacity,
                                             add_bos, parse_special)
        if count < 0:
            raise GenerationError(f"llama.cpp could not tokenize a text of {len(data)} bytes")
        return buffer[:count]

    def piece(self, token: int) -> bytes:
        """The bytes ``token`` stands for (possibly part of a UTF-8 character); special tokens
        such as EOS give b""."""
        cached = self._pieces.get(token)
        if cached is not None:
            return cached
        buffer = ctypes.create_string_buffer(_PIECE_BUFFER_BYTES)
        length = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, _PIECE_BUFFER_BYTES,
                                                0, False)
        if length < 0:
            buffer = ctypes.create_string_buffer(-length)
            length = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, -length, 0, False)
        piece = buffer.raw[:max(length, 0)]
        self._pieces[token] = piece
        return piece

    # -- evaluation -----------------------------------------------------------------------------

    def _should_abort(self, _data: ctypes.c_void_p) -> bool:
        token = self._abort_token
        return token is not None and token.cancelled

    def _forget_from(self, position: int) -> None:
        """Drop cached tokens from ``position`` on; clears everything if llama.cpp cannot."""
        if position >= len(self._cached_tokens):
            return
        memory = llama_cpp.llama_get_memory(self._context)
        if not llama_cpp.llama_memory_seq_rm(memory, -1, position, -1):
            llama_cpp.llama_memory_clear(memory, True)
            position = 0
        del self._cached_tokens[position:]

    def _save_cached(self, keep: int) -> None:
        """Save the cache's state in ``prefixes`` before all but ``keep`` tokens are dropped,
        when that spares enough evaluation later."""
        if len(self._cached_tokens) - keep < MIN_SAVED_TOKENS or not self.prefixes.max_bytes:
            return
        size = llama_cpp.llama_state_seq_get_size(self._context, 0)
        if size > self.prefixes.max_bytes:
            return
        state = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(self._context, state, size, 0) == size:
            self.prefixes.add(SavedPrefix(tuple(self._cached_tokens), state))

    def _restore_longer_prefix(self, tokens: Sequence[int], common: int) -> int:
        """Load the saved state sharing more than ``common`` tokens with ``tokens``, if one
        spares enough evaluation; returns the tokens now shared with the cache."""
        found = self.prefixes.best(tokens)
        if found is None:
            return common
        saved, shared = found
        shared = min(shared, len(tokens) - 1)
        if shared - common < MIN_SAVED_TOKENS:
            return common
        memory = llama_cpp.llama_get_memory(self._context)
        llama_cpp.llama_memory_clear(memory, True)
        self._cached_tokens.clear()
        if llama_cpp.llama_state_seq_set_data(self._context, saved.state, saved.size_bytes, 0) == 0:
            llama_cpp.llama_memory_clear(memory, True)  # a partial load must not be used
            return 0
        self._cached_tokens = list(saved.tokens)
        return shared

    def reset(self) -> None:
        """Empty the KV cache."""
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._context), True)
        self._cached_tokens.clear()

    def evaluate_prompt(self, tokens: Sequence[int], cancel: CancelToken | None = None,
                        reuse_cache: bool = True) -> int:
        """Put ``tokens`` in the KV cache, ready to sample the next token; returns how many were
        evaluated (the rest were already cached from the previous prompt, or restored from the
        saved state of an earlier one: see ``PrefixCache``).

        ``reuse_cache=False`` evaluates all of them afresh (the saved states are kept). Returns -1
        when ``cancel`` was set during evaluation (which llama.cpp notices between operations, so
        a long prompt stops quickly); the cache then holds only whole evaluated batches. Raises
        ``GenerationError`` when llama.cpp fails, ``ValueError`` for an empty or too long prompt.
        """
        if not tokens:
            raise ValueError("a prompt needs at least one token")
        if len(tokens) > self.n_ctx:
            raise ValueError(f"a prompt of {len(tokens)} tokens exceeds the context ({self.n_ctx})")
        common = shared_prefix_length(self._cached_tokens, tokens) if reuse_cache else 0
        # The last prompt token is always evaluated again: sampling needs its logits.
        common = min(common, len(tokens) - 1)
        if reuse_cache:
            self._save_cached(common)
            common = self._restore_longer_prefix(tokens, common)
        self._forget_from(common)
        common = len(self._cached_tokens)
        self._abort_token = cancel
        llama_cpp.llama_set_abort_callback(self._context, self._abort_callback, None)
        try:
            for start in range(common, len(tokens), self.n_batch):
                chunk = list(tokens[start:start + self.n_batch])
                array = (llama_cpp.llama_token * len(chunk))(*chunk)
                status = llama_cpp.llama_decode(self._context,
                                                llama_cpp.llama_batch_get_one(array, len(chunk)))
                if status == _DECODE_ABORTED:
                    self._forget_from(start)
                    return -1
                if status != 0:
                    self._forget_from(start)
                    raise GenerationError(
                        f"llama.cpp failed to evaluate the prompt (llama_decode returned {status})"
                    )
                self._cached_tokens.extend(chunk)
        finally:
            # A Python callback per graph node would slow every generated token down.
            llama_cpp.llama_set_abort_callback(self._context, llama_cpp.ggml_abort_callback(), None)
            self._abort_token = None
        return len(tokens) - common

    @property
    def n_cached(self) -> int:
        """The tokens the KV cache holds."""
        return len(self._cached_tokens)

    def sample(self, sampler: Sampler, index: int = -1) -> int:
        """Draw a token from the logits of the last evaluation: those of its last token (-1), or
        of the ``index``-th token of a ``decode_batch``. The sampler takes the token as written
        (its penalties and grammar move on), so sample only tokens that will be kept, in order."""
        return llama_cpp.llama_sampler_sample(sampler.handle, self._context, index)

    def logits(self, index: int = -1) -> np.ndarray:
        """The logits (``n_vocab`` floats) after the last evaluated token (-1) or the
        ``index``-th of a ``decode_batch``: a view, valid until the next evaluation."""
        row = llama_cpp.llama_get_logits_ith(self._context, index)
        if not row:
            raise GenerationError(f"llama.cpp has no logits for output {index}")
        return np.ctypeslib.as_array(row, shape=(self.n_vocab,))

    def decode_batch(self, tokens: Sequence[int]) -> None:
        """Append ``tokens`` to the KV cache in one evaluation that keeps the logits of every one
        of them (``sample(sampler, i)``, ``logits(i)``): how a draft is checked. Raises
        ``GenerationError`` when they do not fit the context or the batch, or llama.cpp fails;
        the cache is then as before."""
        count = len(tokens)
        start = len(self._cached_tokens)
        if not 0 < count <= self.n_batch or start + count > self.n_ctx:
            raise GenerationError(
                f"{count} tokens cannot be evaluated at once after {start} of a context of "
                f"{self.n_ctx} tokens (batch {self.n_batch})")
        batch = self._batch_for(count)
        batch.n_tokens = count
        for offset, token in enumerate(tokens):
            batch.token[offset] = token
            batch.pos[offset] = start + offset  # type: ignore[call-overload]  # llama_cpp mistypes pos as arrays
            batch.n_seq_id[offset] = 1
            batch.seq_id[offset][0] = 0
            batch.logits[offset] = 1
        status = llama_cpp.llama_decode(self._context, batch)
        if status != 0:
            self._forget_from(start)
            raise GenerationError(
                f"llama.cpp failed to evaluate {count} tokens (llama_decode returned {status})")
        self._cached_tokens.extend(tokens)

    def _batch_for(self, count: int) -> llama_cpp.llama_batch:
        if self._batch is None or self._batch_capacity < count:
            if self._batch is not None:
                llama_cpp.llama_batch_free(self._batch)
            self._batch_capacity = max(count, 16)
            self._batch = llama_cpp.llama_batch_init(self._batch_capacity, 0, 1)
        return self._batch

    def truncate(self, length: int) -> None:
        """Keep only the first ``length`` tokens of the KV cache (a rejected draft's tail goes).
        Raises ``GenerationError`` when llama.cpp cannot drop only the tail (a recurrent model's
        state): the cache is then empty."""
        self._forget_from(length)
        if len(self._cached_tokens) < length:
            raise GenerationError(
                "this model's cache cannot take back a rejected draft; switch speculative "
                "decoding off for it")

    def decode_token(self, token: int) -> None:
        """Append one token to the KV cache. Raises ``GenerationError`` when the context is full
        or llama.cpp fails."""
        if len(self._cached_tokens) >= self.n_ctx:
            raise GenerationError(f"the context of {self.n_ctx} tokens is full")
        self._one_token[0] = token
        status = llama_cpp.llama_decode(self._context, self._one_token_batch)
        if status != 0:
            raise GenerationError(f"llama.cpp failed to decode a token (llama_decode returned {status})")
        self._cached_tokens.append(token)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Free the context and the model; safe to call twice."""
        if getattr(self, "_batch", None) is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        if getattr(self, "_context", None):
            llama_cpp.llama_free(self._context)
            self._context = None
        if getattr(self, "_model", None):
            llama_cpp.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        self.close()
