"""How fast a model will answer here, predicted before it is downloaded.

Generating one token reads every weight the token passes through once, plus the KV cache of the
tokens before it; on a CPU (and mostly on a GPU) that reading, not the arithmetic, sets the pace.
So the prediction is

    tokens/s ≈ effective bandwidth ÷ bytes read per token

unless the arithmetic is slower still: each weight is also unpacked and multiplied, and on a few
cores that sets the pace of the denser packings (K-quants, and IQ3 above all). The CPU
prediction is therefore the lower of that rate and the compute ceiling
(``compute_tokens_per_s``: the weights a token multiplies ÷ what ``threads`` threads multiply a
second, per packing).

- **Bytes read per token** (``decode_bytes_per_token``): the model's weights except the token
  embedding matrix (one row of it is looked up, the rest is not read; a model whose output reuses
  the embedding reads it whole as its output layer), plus the KV cache of the tokens already in
  the context, averaged over a typical answer. For a quant type not downloaded yet, the weights
  are its size in the quant table (``quant.formats``, scaled by ``app.core.hardware.fit``) or the hub's
  real file size, less the embedding's share of that size (its table tensor type).
- **Effective bandwidth** (``SpeedBasis``): either a short probe of this machine's memory
  (``probe_memory_bandwidth``: threads summing a buffer larger than most caches, < 0.5 s) times
  the share of it llama.cpp's decode reaches (``CPU_DECODE_EFFICIENCY``, measured with
  ``bench/finr1_shape.py``), or a measured decode of a loaded model (its tokens/s × its bytes per
  token: then the efficiency is this machine's own). A GPU is predicted only from the bandwidth
  its driver reports (``GpuInfo.memory_bandwidth_bytes_per_s``) times ``GPU_DECODE_EFFICIENCY``,
  and only for quants that fit in its memory; otherwise its prediction is None.

A typical Fin-R1 answer is ``TYPICAL_ANSWER_TOKENS`` tokens with its reasoning; its time here is
those tokens at the predicted rate (the prompt, a few hundred tokens evaluated in a batch, adds
seconds, not minutes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from app.core.engine.config import F16_CACHE, KvCacheTypes
from app.core.hardware.fit import (
    FIN_R1_DIMS,
    FitAdvice,
    FitLevel,
    kv_cache_bytes_per_token,
    table_weights_bytes,
)
from app.core.hardware.llama_memory import ModelDims, read_gguf_shape
from app.core.hardware.machine import MachineInfo
from quant.formats import QuantType, ggml_bits_per_weight
from quant.gguf_check import GGUFInfo

TYPICAL_ANSWER_TOKENS = 1200  # a Fin-R1 answer with its reasoning
TYPICAL_PROMPT_TOKENS = 300  # Fin-R1's system prompt and a scenario's question
MIB = 1 << 20
# Larger than the last-level cache of most desktop CPUs (AMD's 3D V-Cache parts: 96 MiB).
PROBE_BUFFER_BYTES = 128 * MIB
PROBE_PIECE_BYTES = 4 * MIB
PROBE_MIN_BYTES = 32 * MIB
PROBE_BUDGET_S = 0.4
# llama.cpp 0.3.36's decode bandwidth ÷ the probe's: 0.68, the median of 18 measurements (0.38
# to 0.76; the low ones while other programs took the core) of reduced Fin-R1-shaped models in
# the six quant types, one thread, on this project's shared 2-core Xeon (bench/finr1_shape.py
# --layers 2 and 3 --scale 0.5). IQ3 types, more arithmetic per byte, reach a little less (0.58,
# 0.62). A model of tiny layers spends its time on per-operation overhead instead (SmolLM2-135M:
# 0.23 to 0.30): a measured decode of it (``with_measured_decode``) shows that, the probe cannot.
CPU_DECODE_EFFICIENCY = 0.68
# Weights one thread unpacks and multiplies a second while decoding (llama.cpp 0.3.36, AMX weight
# buffers off as foundation.llama_model_params keeps them), measured with bench/finr1_shape.py on
# the full Fin-R1 shape on this project's 2-core AVX-512 Xeon: Q4_K_M/Q4_K_S decode 1.51 tok/s at
# one thread and 2.93-2.95 at two (7.07 G weights a token: 10.4-10.7 G a thread a second, at half
# the probe's bandwidth, so compute-bound); Q6_K 1.54 (10.9 G); IQ3_XS 0.92 and 1.79 (6.3-6.5 G,
# a quarter of the bandwidth). Other CPUs differ (AVX2 is slower per core, more cores add up): a
# measured decode of the loaded model (``with_measured_decode``) is this machine's own figure.
CPU_WEIGHTS_PER_S_PER_THREAD = 10.5e9
CPU_IQ_WEIGHTS_PER_S_PER_THREAD = 6.4e9  # IQ types: a grid lookup per few weights
# Not measured here (no GPU), taken from llama.cpp's published CUDA figures: a Tesla P40
# (347 GB/s) decodes llama 7B Q4_0 (3.83 GB) at 56.8 tok/s, 63 % of its bandwidth (llama.cpp
# pull request 4766); 7-8B models on recent cards land between 60 and 75 %.
GPU_DECODE_EFFICIENCY = 0.6


@dataclass(frozen=True)
class BandwidthProbe:
    """What ``probe_memory_bandwidth`` measured: ``bytes_per_s`` read by ``threads`` threads
    together, in ``seconds`` (the whole probe, filling the buffer included)."""

    bytes_per_s: float
    threads: int
    seconds: float


def probe_memory_bandwidth(threads: int = 1, *, buffer_bytes: int = PROBE_BUFFER_BYTES,
                           budget_s: float = PROBE_BUDGET_S) -> BandwidthProbe:
    """Measure how fast ``threads`` threads read memory: a buffer of up to ``buffer_bytes`` is
    written in 4 MiB pieces (fewer when writing them takes more than half of ``budget_s``, as on
    a machine whose memory is slow to hand out; never under 32 MiB), then each thread sums its
    share of the pieces (numpy releases the GIL while it sums), again and again until
    ``budget_s`` has passed (at least twice). The fastest pass counts: a pass slowed by another
    program says nothing of the memory. Takes about ``budget_s`` (0.4 s by default) and holds
    the buffer that long. Raises ``ValueError`` for fewer than 1 thread.
    """
    if threads < 1:
        raise ValueError(f"the probe needs at least 1 thread, not {threads}")
    started = time.perf_counter()
    fill_until = started + budget_s / 2
    pieces: list[np.ndarray] = []
    while len(pieces) * PROBE_PIECE_BYTES < max(buffer_bytes, PROBE_MIN_BYTES) and (
            len(pieces) * PROBE_PIECE_BYTES < PROBE_MIN_BYTES or time.perf_counter() < fill_until):
        pieces.append(np.ones(PROBE_PIECE_BYTES // 8, dtype=np.float64))  # written: no faults later
    shares = [share for share in (pieces[index::threads] for index in range(threads)) if share]
    fastest = float("inf")
    passes = 0
    while passes < 2 or time.perf_counter() < started + budget_s:
        fastest = min(fastest, _timed_pass(shares))
        passes += 1
    read = len(pieces) * PROBE_PIECE_BYTES
    return BandwidthProbe(read / fastest, threads, time.perf_counter() - started)


def _sum_all(pieces: list[np.ndarray]) -> None:
    for piece in pieces:
        np.add.reduce(piece)


def _timed_pass(shares: list[list[np.ndarray]]) -> float:
    if len(shares) == 1:
        start = time.perf_counter()
        _sum_all(shares[0])
        return time.perf_counter() - start
    workers = [threading.Thread(target=_sum_all, args=(share,)) for share in shares]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


# -- bytes read per token -----------------------------------------------------------------------

def average_context_tokens(answer_tokens: int = TYPICAL_ANSWER_TOKENS,
                           prompt_tokens: int = TYPICAL_PROMPT_TOKENS) -> int:
    """Tokens in the KV cache, on average, while an answer of ``answer_tokens`` is generated
    after a prompt of ``prompt_tokens``."""
    return prompt_tokens + answer_tokens // 2


def decode_bytes_per_token(weights_bytes: int, embedding_bytes: int, kv_bytes_per_token: int,
                           context_tokens: int) -> int:
    """Bytes one generated token reads: the weights but the token embedding (``embedding_bytes``,
    0 when the output layer reuses it), and the KV cache of ``context_tokens`` earlier tokens."""
    return weights_bytes - embedding_bytes + kv_bytes_per_token * context_tokens


def quant_decode_bytes(quant: QuantType, weights_bytes: int, dims: ModelDims = FIN_R1_DIMS,
                       kv_types: KvCacheTypes = F16_CACHE,
                       context_tokens: int | None = None) -> int:
    """``decode_bytes_per_token`` for a model of ``dims`` in ``quant``, ``weights_bytes`` large
    (the table's estimate or a real file size), at ``context_tokens`` (default
    ``average_context_tokens()``). Its separate token embedding, at the table's
    ``embedding_tensor_type``, is left out as the share of the table's size it takes, so a real
    file size a little off the table's keeps the same share."""
    embedding = (dims.vocab_size * dims.embedding_length
                 * ggml_bits_per_weight(quant.embedding_tensor_type) / 8)
    share = min(1.0, embedding / table_weights_bytes(quant, dims))
    context = average_context_tokens() if context_tokens is None else context_tokens
    return decode_bytes_per_token(weights_bytes, round(weights_bytes * share),
                                  kv_cache_bytes_per_token(dims, kv_types), context)


def gguf_decode_bytes(info: GGUFInfo, kv_types: KvCacheTypes = F16_CACHE,
                      context_tokens: int | None = None) -> int | None:
    """``decode_bytes_per_token`` of a GGUF file from its tensor table (its token embedding
    skipped where it has a separate ``output.weight``) and its shape; None when the shape cannot
    be read."""
    dims = ModelDims.from_gguf(info)
    if dims is None:
        return None
    names = {tensor.name: tensor for tensor in info.tensors}
    embedding = names.get("token_embd.weight")
    skipped = embedding.nbytes if embedding is not None and "output.weight" in names else 0
    context = average_context_tokens() if context_tokens is None else context_tokens
    weights = sum(tensor.nbytes for tensor in info.tensors)
    return decode_bytes_per_token(weights, skipped, kv_cache_bytes_per_token(dims, kv_types),
                                  context)


# -- the compute ceiling ------------------------------------------------------------------------

def weights_per_s_per_thread(ggml_type: str) -> float:
    """What one thread unpacks and multiplies a second of weights stored as ``ggml_type`` (a
    ggml type name such as "Q4_K" or "IQ3_XXS", or a quant table name such as "iq3_xs")."""
    if ggml_type.upper().startswith("IQ"):
        return CPU_IQ_WEIGHTS_PER_S_PER_THREAD
    return CPU_WEIGHTS_PER_S_PER_THREAD


def compute_tokens_per_s(token_weights: Mapping[str, int], threads: int) -> float:
    """The decode rate the arithmetic allows on ``threads`` CPU threads, for a token that
    multiplies ``token_weights`` weights (a count by ggml type). ``ValueError`` for no weights
    or threads."""
    if threads < 1 or sum(token_weights.values()) <= 0:
        raise ValueError(f"no weights ({dict(token_weights)}) or threads ({threads})")
    seconds = sum(count / weights_per_s_per_thread(kind) for kind, count in token_weights.items())
    return threads / seconds


def quant_token_weights(quant: QuantType, dims: ModelDims = FIN_R1_DIMS) -> dict[str, int]:
    """The weights one token multiplies in a model of ``dims`` packed as ``quant``: all but the
    token embedding (looked up, not multiplied), counted as the quant's own packing."""
    return {quant.name: dims.parameter_count - dims.vocab_size * dims.embedding_length}


def gguf_token_weights(info: GGUFInfo) -> dict[str, int]:
    """The weights one token multiplies in the GGUF ``info``, by tensor type: every matrix but
    the token embedding where the file has a separate output layer (norms and biases, a few
    thousand values, are left out)."""
    names = {tensor.name for tensor in info.tensors}
    counts: dict[str, int] = {}
    for tensor in info.tensors:
        if len(tensor.shape) < 2 or (tensor.name == "token_embd.weight"
                                     and "output.weight" in names):
            continue
        counts[tensor.ggml_type] = counts.get(tensor.ggml_type, 0) + tensor.element_count
    return counts


# -- predictions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpeedPrediction:
    """A predicted decode rate and the time of a typical answer at it."""

    tokens_per_s: float
    answer_s: float


def predict(bytes_per_token: int, bytes_per_s: float,
            answer_tokens: int = TYPICAL_ANSWER_TOKENS,
            compute_ceiling: float | None = None) -> SpeedPrediction:
    """The rate at which ``bytes_per_s`` reads ``bytes_per_token`` a token, or
    ``compute_ceiling`` tokens a second where that is lower (``compute_tokens_per_s``), and how
    long ``answer_tokens`` take at it. Raises ``ValueError`` for a size or bandwidth that is not
    positive."""
    if bytes_per_token <= 0 or not bytes_per_s > 0:
        raise ValueError(f"bytes per token ({bytes_per_token}) and bandwidth ({bytes_per_s}) "
                         "must be positive")
    tokens_per_s = bytes_per_s / bytes_per_token
    if compute_ceiling is not None:
        tokens_per_s = min(tokens_per_s, compute_ceiling)
    return SpeedPrediction(tokens_per_s, answer_tokens / tokens_per_s)


@dataclass(frozen=True)
class SpeedBasis:
    """The effective bandwidths predictions are made from (bytes a second llama.cpp's decode
    reads). ``cpu_source``: "probe" (``CPU_DECODE_EFFICIENCY`` × a probe of ``threads``
    threads) or "measured" (a loaded model's decode). ``gpu_bytes_per_s``: None when no GPU
    llama.cpp can use has a known bandwidth; ``gpu_usable``: llama.cpp can offload to a GPU
    here (whether or not its bandwidth is known)."""

    cpu_bytes_per_s: float
    cpu_source: str
    threads: int
    gpu_bytes_per_s: float | None = None
    gpu_usable: bool = False

    @classmethod
    def from_probe(cls, probe: BandwidthProbe, machine: MachineInfo) -> SpeedBasis:
        """The basis from a bandwidth probe of ``machine`` and its best GPU's reported bandwidth
        (used only when llama.cpp can offload to it)."""
        gpu = machine.best_gpu if machine.gpu_offload_supported else None
        gpu_bandwidth = gpu.memory_bandwidth_bytes_per_s if gpu is not None else None
        return cls(probe.bytes_per_s * CPU_DECODE_EFFICIENCY, "probe", probe.threads,
                   gpu_bandwidth * GPU_DECODE_EFFICIENCY if gpu_bandwidth else None,
                   gpu is not None)

    def with_measured_decode(self, decode: MeasuredDecode) -> SpeedBasis:
        """This basis with the CPU's (or, for a decode on the GPU, the GPU's) effective
        bandwidth taken from a measured ``decode``."""
        measured = decode.tokens_per_s * decode.bytes_per_token
        if decode.on_gpu:
            return replace(self, gpu_bytes_per_s=measured, gpu_usable=True)
        return replace(self, cpu_bytes_per_s=measured, cpu_source="measured")


MIN_MEASURED_TOKENS = 32  # fewer generated tokens time the first steps more than the decode


@dataclass(frozen=True)
class MeasuredDecode:
    """A loaded model's decode: ``tokens_per_s`` reading ``bytes_per_token`` a token, all of it
    on the GPU (``on_gpu``) or all on the CPU."""

    tokens_per_s: float
    bytes_per_token: int
    on_gpu: bool


def measured_decode(info: GGUFInfo, kv_types: KvCacheTypes, n_gpu_layers: int,
                    tokens_per_s: float | None, prompt_tokens: int,
                    completion_tokens: int) -> MeasuredDecode | None:
    """What a finished reply of the model ``info`` (loaded with ``n_gpu_layers`` GPU layers and
    a cache of ``kv_types``) says of this machine's speed; None when it says nothing reliable:
    fewer than ``MIN_MEASURED_TOKENS`` generated, no rate, a shape that cannot be read, or a
    model split between the CPU and the GPU."""
    if tokens_per_s is None or tokens_per_s <= 0 or completion_tokens < MIN_MEASURED_TOKENS:
        return None
    shape = read_gguf_shape(info)
    on_gpu = n_gpu_layers != 0
    if shape is None or (on_gpu and 0 < n_gpu_layers < shape.offloadable_layers):
        return None
    per_token = gguf_decode_bytes(info, kv_types, prompt_tokens + completion_tokens // 2)
    return MeasuredDecode(tokens_per_s, per_token, on_gpu) if per_token else None


@dataclass(frozen=True)
class QuantSpeed:
    """One quant type's predicted speed here. ``gpu`` is None where the GPU is not predicted:
    ``gpu_note`` then says why ("" when there is no GPU llama.cpp can use)."""

    quant_type: QuantType
    bytes_per_token: int
    cpu: SpeedPrediction
    gpu: SpeedPrediction | None
    gpu_note: str


GPU_BANDWIDTH_UNKNOWN = "its memory bandwidth is unknown"
GPU_TOO_SMALL = "the model does not fit in its memory"


def predict_quant_speeds(advice: FitAdvice, basis: SpeedBasis, dims: ModelDims = FIN_R1_DIMS,
                         kv_types: KvCacheTypes = F16_CACHE) -> dict[str, QuantSpeed]:
    """Each row of ``advice`` (a model of ``dims``; its weights the real or table sizes the
    advice holds) predicted from ``basis``, by quant name. The GPU is predicted for the rows that
    fit entirely in its memory (``FitLevel.GPU``)."""
    speeds = {}
    for row in advice.rows:
        per_token = quant_decode_bytes(row.quant_type, row.estimate.weights_bytes, dims, kv_types)
        gpu, note = None, ""
        if basis.gpu_usable:
            if basis.gpu_bytes_per_s is None:
                note = GPU_BANDWIDTH_UNKNOWN
            elif row.level is not FitLevel.GPU:
                note = GPU_TOO_SMALL
            else:
                gpu = predict(per_token, basis.gpu_bytes_per_s)
        ceiling = compute_tokens_per_s(quant_token_weights(row.quant_type, dims), basis.threads)
        cpu = predict(per_token, basis.cpu_bytes_per_s, compute_ceiling=ceiling)
        speeds[row.quant_type.name] = QuantSpeed(row.quant_type, per_token, cpu, gpu, note)
    return speeds


def minutes_text(seconds: float) -> str:
    """``0.4 min``, ``3.5 min``, ``12 min``: a duration in minutes, one decimal below ten."""
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"


def rate_text(tokens_per_s: float) -> str:
    """``0.8``, ``12.3``, ``140``: a rate with the precision it deserves."""
    return f"{tokens_per_s:.1f}" if tokens_per_s < 100 else f"{tokens_per_s:.0f}"


def describe(speed: QuantSpeed, answer_tokens: int = TYPICAL_ANSWER_TOKENS) -> str:
    """The sentence a person reads (English; the GUI translates its own): ``≈ 6.1 tokens/s
    here; a typical answer (~1,200 tokens with its reasoning) in ≈ 3.3 min``, then the GPU's
    figures or why it is not predicted, when there is a GPU."""
    text = (f"≈ {rate_text(speed.cpu.tokens_per_s)} tokens/s here; a typical answer "
            f"(~{answer_tokens:,} tokens with its reasoning) in ≈ {minutes_text(speed.cpu.answer_s)}")
    if speed.gpu is not None:
        text += (f"; GPU ≈ {rate_text(speed.gpu.tokens_per_s)} tokens/s, "
                 f"≈ {minutes_text(speed.gpu.answer_s)}")
    elif speed.gpu_note:
        text += f"; GPU: not predicted ({speed.gpu_note})"
    return text


def speeds_as_json(speeds: Mapping[str, QuantSpeed]) -> dict[str, dict[str, float | None]]:
    """``{quant: {"predicted_tokens_per_s", "predicted_answer_s", "predicted_gpu_tokens_per_s",
    "predicted_gpu_answer_s", "bytes_per_token"}}``; the GPU's are None where not predicted."""
    return {
        name: {"predicted_tokens_per_s": speed.cpu.tokens_per_s,
               "predicted_answer_s": speed.cpu.answer_s,
               "predicted_gpu_tokens_per_s": speed.gpu.tokens_per_s if speed.gpu else None,
               "predicted_gpu_answer_s": speed.gpu.answer_s if speed.gpu else None,
               "bytes_per_token": speed.bytes_per_token}
        for name, speed in speeds.items()
    }
