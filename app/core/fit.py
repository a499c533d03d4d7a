"""Will a model fit this machine? Memory estimates per quant type, and the quant to recommend.

Memory to run a model on the CPU = weights + KV cache + runtime:

- **weights**: the GGUF's size (llama.cpp maps the file; every weight page is touched in a
  forward pass). Before a download, the quant table's size for Fin-R1, scaled by parameter count.
- **KV cache**: ``2 (K and V) × layers × kv heads × head dim × 2 bytes (f16) × context``;
  Fin-R1: 56 KiB per token, 0.45 GiB at 8K.
- **runtime**: a fixed part, the tokenizer's tables (per vocabulary entry) and the activations of
  one prompt batch (per token: about 3 embedding-widths and 4 feed-forward-widths of float32,
  matching the gate/up/product tensors the feed-forward keeps alive).
  These constants were measured with llama.cpp 0.3.36 on SmolLM2-135M and the tiny test model
  (``bench/fit_memory.py`` prints estimate against measured RSS); ``tests/test_hardware.py``
  holds them to 15 %. Fin-R1 Q4_K_M at 8K: about 5.4 GB.

On a GPU, llama.cpp reserves its whole compute buffer (dominated by one batch of logits) plus a
driver headroom, so the VRAM need is larger than the RAM need for the same model.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.core.hardware import MachineInfo
from quant.checkpoint_config import ModelShape
from quant.formats import QUANT_TYPES, QuantType
from quant.gguf_check import GGUFInfo, MetadataArray

MIB = 1 << 20
GIB = 1 << 30
KV_BYTES_PER_VALUE = 2  # f16 K and V, llama.cpp's default cache type
RUNTIME_BASE_BYTES = 5 * MIB
RUNTIME_BYTES_PER_VOCAB_ENTRY = 280
ACTIVATION_EMBEDDING_WIDTHS = 3.1
ACTIVATION_FEED_FORWARD_WIDTHS = 3.8
# CUDA/Metal context, scratch and fragmentation; the same headroom app.core.gpu keeps.
GPU_HEADROOM_BYTES = 512 * MIB
DEFAULT_CONTEXT = 8192
DEFAULT_BATCH = 512  # EngineConfig's n_batch (= n_ubatch)

# Best quality first; what is worth recommending (f32/bf16/f16 are for building, not chatting).
GPU_PREFERENCE = ("q8_0", "q6_k", "q4_k_m", "q4_k_s", "iq3_m", "iq3_s", "iq3_xs")
# On a CPU, speed falls with size: Q4_K_M is the usual best trade, larger types run slower.
CPU_PREFERENCE = ("q4_k_m", "q4_k_s", "iq3_m", "iq3_s", "iq3_xs")


@dataclass(frozen=True)
class ModelDims:
    """The shape facts memory depends on."""

    layer_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    embedding_length: int
    feed_forward_length: int
    vocab_size: int
    parameter_count: int

    @property
    def kv_bytes_per_token(self) -> int:
        return (self.layer_count * self.head_count_kv * (self.key_length + self.value_length)
                * KV_BYTES_PER_VALUE)

    @classmethod
    def from_checkpoint(cls, shape: ModelShape, parameter_count: int) -> ModelDims:
        return cls(shape.layer_count, shape.head_count_kv, shape.head_dim, shape.head_dim,
                   shape.hidden_size, shape.intermediate_size, shape.vocab_size, parameter_count)

    @classmethod
    def from_gguf(cls, info: GGUFInfo) -> ModelDims | None:
        """The dims in a validated GGUF's metadata, or None when a needed key is missing."""
        arch = info.architecture
        if arch is None:
            return None
        metadata = info.metadata

        def number(key: str) -> int | None:
            value = metadata.get(f"{arch}.{key}")
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        layers, embedding = number("block_count"), number("embedding_length")
        heads, feed_forward = number("attention.head_count"), number("feed_forward_length")
        if not (layers and embedding and heads and feed_forward):
            return None
        key_length = number("attention.key_length") or embedding // heads
        tokens = metadata.get("tokenizer.ggml.tokens")
        vocab = number("vocab_size") or (tokens.length if isinstance(tokens, MetadataArray) else 0)
        return cls(layers, number("attention.head_count_kv") or heads, key_length,
                   number("attention.value_length") or key_length, embedding, feed_forward,
                   vocab, info.parameter_count)


FIN_R1_DIMS = ModelDims(layer_count=28, head_count_kv=4, key_length=128, value_length=128,
                        embedding_length=3584, feed_forward_length=18944, vocab_size=152064,
                        parameter_count=7_615_616_512)
_FIN_R1_TABLE_PARAMETERS = 7.62e9  # what the quant table's sizes were computed for


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed to run one model file with one context size."""

    weights_bytes: int
    kv_cache_bytes: int
    runtime_bytes: int
    gpu_buffers_bytes: int

    @property
    def ram_bytes(self) -> int:
        """Running on the CPU."""
        return self.weights_bytes + self.kv_cache_bytes + self.runtime_bytes

    @property
    def vram_bytes(self) -> int:
        """Running entirely on a GPU."""
        return self.weights_bytes + self.kv_cache_bytes + self.gpu_buffers_bytes


def estimate_memory(dims: ModelDims, weights_bytes: int, n_ctx: int = DEFAULT_CONTEXT,
                    n_batch: int = DEFAULT_BATCH) -> MemoryEstimate:
    """The memory estimate (see the module docstring) for a model of ``dims`` whose weights
    take ``weights_bytes``, with a context of ``n_ctx`` tokens and prompt batches of
    ``n_batch``."""
    activations = n_batch * 4 * (ACTIVATION_EMBEDDING_WIDTHS * dims.embedding_length
                                 + ACTIVATION_FEED_FORWARD_WIDTHS * dims.feed_forward_length)
    runtime = RUNTIME_BASE_BYTES + RUNTIME_BYTES_PER_VOCAB_ENTRY * dims.vocab_size + activations
    logits = n_batch * dims.vocab_size * 4
    return MemoryEstimate(
        weights_bytes=weights_bytes,
        kv_cache_bytes=n_ctx * dims.kv_bytes_per_token,
        runtime_bytes=int(runtime),
        gpu_buffers_bytes=int(max(logits, activations) + GPU_HEADROOM_BYTES),
    )


def table_weights_bytes(quant: QuantType, dims: ModelDims = FIN_R1_DIMS) -> int:
    """A quant type's file size from the table, scaled from Fin-R1 to ``dims``' parameters."""
    return round(quant.fin_r1_gb * 1e9 * dims.parameter_count / _FIN_R1_TABLE_PARAMETERS)


class FitLevel(enum.Enum):
    GPU = "fits in GPU memory"
    RAM = "fits in RAM"
    NONE = "does not fit"


@dataclass(frozen=True)
class QuantFit:
    """One quant type on this machine. ``size_known``: the weights size is a real file size
    (from the hub or the library), not the table's estimate."""

    quant_type: QuantType
    estimate: MemoryEstimate
    level: FitLevel
    size_known: bool


@dataclass(frozen=True)
class FitAdvice:
    """Every quant type's fit, and the one to use here (None when nothing fits)."""

    n_ctx: int
    rows: tuple[QuantFit, ...]
    recommended: QuantType | None
    reason: str

    def row(self, name: str) -> QuantFit:
        return next(row for row in self.rows if row.quant_type.name == name.lower())


def fit_level(estimate: MemoryEstimate, machine: MachineInfo) -> FitLevel:
    """Where a model of ``estimate`` runs on ``machine``: all on the GPU, on the CPU, or nowhere.

    The GPU counts only when llama.cpp can offload; its free memory is used when known (other
    programs hold the rest), and on unified memory the available RAM caps it too.
    """
    gpu = machine.best_gpu
    if gpu is not None and machine.gpu_offload_supported:
        room = gpu.free_bytes if gpu.free_bytes is not None else gpu.total_bytes
        if gpu.unified_memory and machine.ram_available_bytes is not None:
            room = min(room, machine.ram_available_bytes)
        if estimate.vram_bytes <= room:
            return FitLevel.GPU
    if machine.ram_available_bytes is not None and estimate.ram_bytes <= machine.ram_available_bytes:
        return FitLevel.RAM
    return FitLevel.NONE


def advise(machine: MachineInfo, n_ctx: int = DEFAULT_CONTEXT, dims: ModelDims = FIN_R1_DIMS,
           *, file_sizes: Mapping[str, int] | None = None,
           available: Iterable[QuantType] | None = None,
           n_batch: int = DEFAULT_BATCH) -> FitAdvice:
    """Fit of every quant type (f32 excluded) and the recommendation.

    ``file_sizes`` maps quant names to real file sizes where known (a refreshed catalog, the
    library); other sizes come from the table. ``available`` restricts the recommendation to the
    types one can actually get (e.g. a repository's files); all types by default.
    """
    file_sizes = file_sizes or {}
    rows = []
    for quant in QUANT_TYPES:
        if quant.name == "f32":
            continue
        known = quant.name in file_sizes
        weights = file_sizes[quant.name] if known else table_weights_bytes(quant, dims)
        estimate = estimate_memory(dims, weights, n_ctx, n_batch)
        rows.append(QuantFit(quant, estimate, fit_level(estimate, machine), known))
    offered = {quant.name for quant in available} if available is not None else None
    recommended, reason = _recommend(rows, offered, machine)
    return FitAdvice(n_ctx, tuple(rows), recommended, reason)


def _recommend(rows: list[QuantFit], offered: set[str] | None,
               machine: MachineInfo) -> tuple[QuantType | None, str]:
    by_name = {row.quant_type.name: row for row in rows
               if offered is None or row.quant_type.name in offered}
    for name in GPU_PREFERENCE:
        row = by_name.get(name)
        if row is not None and row.level is FitLevel.GPU:
            return row.quant_type, (f"{row.quant_type.label} is the best quality that fits "
                                    "entirely in GPU memory")
    for name in CPU_PREFERENCE:
        row = by_name.get(name)
        if row is not None and row.level is not FitLevel.NONE:
            why = ("the usual best trade of quality and speed on a CPU" if name == "q4_k_m"
                   else "the largest type that fits in the available RAM")
            gpu_note = ("" if machine.gpu_offload_supported or not machine.gpus else
                        "; a GPU is present but this llama.cpp build cannot use it")
            return row.quant_type, f"{row.quant_type.label}: {why}{gpu_note}"
    return None, ("no quant type fits: close other programs to free memory, lower the context "
                  "size, or use a machine with more RAM")

