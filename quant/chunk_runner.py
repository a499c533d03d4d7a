"""Run a GGUF model over text in fixed-size chunks, the way llama.cpp's imatrix and perplexity
tools do: each chunk is evaluated in a fresh KV cache, so every chunk sees the same amount of
context whatever came before it.

Used by the importance-matrix job (with a graph callback) and by the evaluation (for logits).
Talks to libllama through llama-cpp-python's C bindings; not thread-safe.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from foundation.closing import Closing
from foundation.errors import FinR1Error, ModelLoadError
from foundation.jobs import CancelToken, JobCancelled
from foundation.llama_log import install_llama_log, llama_reason
from foundation.llama_model_params import model_load_params

_DECODE_ABORTED = 2


def split_chunks(tokens: np.ndarray, chunk_size: int, max_chunks: int | None = None
                 ) -> list[np.ndarray]:
    """Consecutive whole chunks of ``chunk_size`` tokens (a shorter tail is dropped), at most
    ``max_chunks`` of them (all when None)."""
    count = len(tokens) // chunk_size
    if max_chunks is not None:
        count = min(count, max_chunks)
    return [tokens[index * chunk_size:(index + 1) * chunk_size] for index in range(count)]


class ChunkRunner(Closing):
    """One model (on the CPU) and a context of ``chunk_size`` tokens.

    ``eval_callback`` (a ``llama_cpp.ggml_backend_sched_eval_callback``) is installed as the
    context's ``cb_eval``; the caller keeps it alive. When ``cancel`` fires, a running decode is
    aborted and raises ``JobCancelled(job)``. Raises ``ModelLoadError`` when llama.cpp cannot load
    the file or make the context. Call ``close`` (or use ``with``) to free the native memory.
    """

    def __init__(self, gguf_path: Path, *, chunk_size: int, threads: int | None = None,
                 eval_callback: Any = None, cancel: CancelToken | None = None,
                 job: str = "job", failure: type[FinR1Error] = FinR1Error) -> None:
        import llama_cpp

        self._llama = llama_cpp
        self._job = job
        self._failure = failure
        self._cancel = cancel
        install_llama_log()
        llama_cpp.llama_backend_init()
        self.gguf_path = Path(gguf_path)
        self._model = llama_cpp.llama_model_load_from_file(os.fsencode(self.gguf_path),
                                                           model_load_params())
        if not self._model:
            raise ModelLoadError(
                f"llama.cpp could not load {self.gguf_path}{llama_reason()}; check it with "
                "`finr1 inspect`, and make sure there is enough free memory for it")
        self._abort = llama_cpp.ggml_abort_callback(self._should_abort)
        context_params = llama_cpp.llama_context_default_params()
        context_params.n_ctx = chunk_size
        context_params.n_batch = chunk_size
        context_params.n_ubatch = chunk_size
        context_params.n_threads = context_params.n_threads_batch = threads or os.cpu_count() or 1
        context_params.abort_callback = self._abort
        if eval_callback is not None:
            context_params.cb_eval = eval_callback
        self._context = llama_cpp.llama_init_from_model(self._model, context_params)
        if not self._context:
            llama_cpp.llama_model_free(self._model)
            self._model = None
            raise ModelLoadError(
                f"llama.cpp loaded {self.gguf_path} but could not make a {chunk_size}-token "
                f"context{llama_reason()}; free some memory or use a smaller --ctx")
        self.chunk_size = chunk_size
        vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._vocab = vocab
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
        self.bos = int(llama_cpp.llama_vocab_bos(vocab))
        self.model_size_bytes = int(llama_cpp.llama_model_size(self._model))
        self.n_params = int(llama_cpp.llama_model_n_params(self._model))
        self._batch = llama_cpp.llama_batch_init(chunk_size, 0, 1)
        self._n_outputs = 0

    def tokenize(self, text: str) -> np.ndarray:
        """``text`` as token ids (int32), with the model's own special tokens added as
        llama.cpp's tools add them; special-token text in ``text`` stays plain text."""
        encoded = text.encode("utf-8")
        capacity = len(encoded) + 16
        tokens = (self._llama.llama_token * capacity)()
        count = self._llama.llama_tokenize(self._vocab, encoded, len(encoded), tokens, capacity,
                                           True, False)
        if count < 0:
            raise self._failure(f"llama.cpp could not tokenize the text of {len(encoded)} bytes")
        return np.ctypeslib.as_array(tokens)[:count].astype(np.int32)

    def decode_chunk(self, tokens: np.ndarray, first_output: int = 0) -> None:
        """Evaluate ``tokens`` (at most ``chunk_size``) from an empty KV cache, asking for the
        logits of positions ``first_output`` onwards (0: all, which also makes llama.cpp compute
        the last layer for every token). The first token becomes BOS where the model adds one,
        as llama.cpp's imatrix and perplexity tools do."""
        if not 0 < len(tokens) <= self.chunk_size:
            raise ValueError(f"a chunk holds 1 to {self.chunk_size} tokens, not {len(tokens)}")
        llama_cpp = self._llama
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._context), True)
        batch = self._batch
        for position, token in enumerate(tokens.tolist()):
            batch.token[position] = self.bos if position == 0 and self.add_bos else token
            batch.pos[position] = position
            batch.n_seq_id[position] = 1
            batch.seq_id[position][0] = 0
            batch.logits[position] = position >= first_output
        batch.n_tokens = len(tokens)
        self._n_outputs = len(tokens) - first_output
        self._decode(batch)

    def output_logits(self) -> np.ndarray:
        """A copy of the logits the last ``decode_chunk`` asked for: ``(n_outputs, n_vocab)``."""
        pointer = self._llama.llama_get_logits(self._context)
        return np.ctypeslib.as_array(pointer, shape=(self._n_outputs, self.n_vocab)).copy()

    def decode_tokens_per_second(self, tokens: np.ndarray) -> float:
        """Decode speed: ``tokens`` fed one at a time into an empty cache (as generation feeds
        each sampled token), timed from the second token to the last."""
        llama_cpp = self._llama
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._context), True)
        one = (llama_cpp.llama_token * 1)()
        single = llama_cpp.llama_batch_get_one(one, 1)
        start = 0.0
        for index, token in enumerate(tokens.tolist()):
            if index == 1:
                start = time.perf_counter()
            one[0] = token
            self._decode(single)
        return (len(tokens) - 1) / (time.perf_counter() - start)

    def _decode(self, batch: Any) -> None:
        status = self._llama.llama_decode(self._context, batch)
        if self._cancel is not None and (status == _DECODE_ABORTED or self._cancel.cancelled):
            raise JobCancelled(self._job)
        if status != 0:
            raise self._failure(
                f"llama.cpp failed to evaluate {self.gguf_path.name} (llama_decode returned "
                f"{status}); check the file with `finr1 inspect` and the free memory")

    def _should_abort(self, _user_data: Any) -> bool:
        return self._cancel is not None and self._cancel.cancelled

    def close(self) -> None:
        """Free the batch, context and model; safe to call twice."""
        llama_cpp = self._llama
        if getattr(self, "_context", None):
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._context)
            self._context = None
        if getattr(self, "_model", None):
            llama_cpp.llama_model_free(self._model)
            self._model = None
