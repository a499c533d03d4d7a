"""Will a model fit this machine? Memory estimates per quant type, and the quant to recommend.

Memory to run a model on the CPU = weights + KV cache + runtime:

- **weights**: the GGUF's size (llama.cpp maps the file; every weight page is touched in a
  forward pass). Before a download, the quant table's size for Fin-R1, scaled by parameter count.
- **KV cache**: ``layers × kv heads × head dim × (bytes of a K value + of a V value) × context``,
  the bytes those of the cache types (``KvCacheTypes``: f16 2, q8_0 1.0625, q4_0 0.5625);
  Fin-R1 with f16: 56 KiB per token, 0.45 GiB at 8K; with q8_0: 29.75 KiB, 0.23 GiB.
- **runtime**: a fixed part, the tokenizer's tables (per vocabulary entry) and the activations of
  one prompt batch (per token: about 3 embedding-widths and 4 feed-forward-widths of float32,
  matching the gate/up/product tensors the feed-forward keeps alive).
  These constants were measured with llama.cpp 0.3.36 on SmolLM2-135M and the tiny test model
  (``bench/fit_memory.py`` prints estimate against measured RSS); ``tests/core/hardware/test_machine.py``
  holds them to 15 %. Fin-R1 Q4_K_M at 8K: about 5.4 GB.

On a GPU, weights and KV cache must fit in what ``app.core.hardware.llama_memory.usable_gpu_bytes`` leaves
once each GPU keeps its compute buffer (dominated by one batch of logits) and a driver headroom,
the same rule the auto GPU layers use; so the VRAM need is larger than the RAM need.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.engine.config import F16_CACHE, KvCacheTypes
from app.core.hardware.llama_memory import ModelDims, activation_bytes, gpu_reserve_bytes, usable_gpu_bytes
from app.core.hardware.machine import MachineInfo
from foundation.disk_space import human_bytes
from foundation.errors import InvalidSettingError
from quant.formats import QUANT_TYPES, QuantType
from quant.gguf_check import GGUFInfo

if TYPE_CHECKING:  # only their attributes are read: no import cycle, no heavy import at start
    from app.core.hub.catalog import CatalogRepo
    from app.core.local_build.build_job import BuildPlan

MIB = 1 << 20
RUNTIME_BASE_BYTES = 5 * MIB
RUNTIME_BYTES_PER_VOCAB_ENTRY = 280
DEFAULT_CONTEXT = 8192
DEFAULT_BATCH = 512  # EngineConfig's n_batch (= n_ubatch)

# Best quality first; what is worth recommending (f32/bf16/f16 are for building, not chatting).
GPU_PREFERENCE = ("q8_0", "q6_k", "q4_k_m", "q4_k_s", "iq3_m", "iq3_s", "iq3_xs")
# On a CPU, speed falls with size: Q4_K_M is the usual best trade, larger types run slower.
CPU_PREFERENCE = ("q4_k_m", "q4_k_s", "iq3_m", "iq3_s", "iq3_xs")


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
        """Running entirely on one GPU (each further GPU keeps its own ``gpu_buffers_bytes``)."""
        return self.weights_bytes + self.kv_cache_bytes + self.gpu_buffers_bytes


def kv_cache_bytes_per_token(dims: ModelDims, kv_types: KvCacheTypes = F16_CACHE) -> int:
    """K and V of one token in every block of a model of ``dims``, in the cache types
    ``kv_types`` (``dims.kv_bytes_per_token`` is the f16 figure)."""
    return dims.layer_count * kv_types.bytes_per_token_per_layer(
        dims.head_count_kv, dims.key_length, dims.value_length)


def estimate_memory(dims: ModelDims, weights_bytes: int, n_ctx: int = DEFAULT_CONTEXT,
                    n_batch: int = DEFAULT_BATCH, *,
                    kv_types: KvCacheTypes = F16_CACHE) -> MemoryEstimate:
    """The memory estimate (see the module docstring) for a model of ``dims`` whose weights
    take ``weights_bytes``, with a context of ``n_ctx`` tokens in a cache of ``kv_types`` and
    prompt batches of ``n_batch``."""
    activations = activation_bytes(dims, n_batch)
    runtime = RUNTIME_BASE_BYTES + RUNTIME_BYTES_PER_VOCAB_ENTRY * dims.vocab_size + activations
    return MemoryEstimate(
        weights_bytes=weights_bytes,
        kv_cache_bytes=n_ctx * kv_cache_bytes_per_token(dims, kv_types),
        runtime_bytes=int(runtime),
        gpu_buffers_bytes=gpu_reserve_bytes(dims, n_batch),
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
    """Where a model of ``estimate`` runs on ``machine``: all on the GPUs, on the CPU, or nowhere.

    The GPUs count only when llama.cpp can offload, and then by ``llama_memory``'s rule: their
    weights and KV cache within ``usable_gpu_bytes`` once each GPU keeps its compute buffer and
    headroom (``gpu_buffers_bytes``).
    """
    if machine.gpu_offload_supported:
        usable = usable_gpu_bytes(machine.gpus, estimate.gpu_buffers_bytes,
                                  machine.ram_available_bytes)
        if estimate.weights_bytes + estimate.kv_cache_bytes <= usable:
            return FitLevel.GPU
    if machine.ram_available_bytes is not None and estimate.ram_bytes <= machine.ram_available_bytes:
        return FitLevel.RAM
    return FitLevel.NONE


def advise(machine: MachineInfo, n_ctx: int = DEFAULT_CONTEXT, dims: ModelDims = FIN_R1_DIMS,
           *, file_sizes: Mapping[str, int] | None = None,
           available: Iterable[QuantType] | None = None,
           n_batch: int = DEFAULT_BATCH, kv_types: KvCacheTypes = F16_CACHE) -> FitAdvice:
    """Fit of every quant type (f32 excluded) and the recommendation.

    ``file_sizes`` maps quant names to real file sizes where known (a refreshed catalog, the
    library); other sizes come from the table. ``available`` restricts the recommendation to the
    types one can actually get (e.g. a repository's files); all types by default. The KV cache
    is counted in the types ``kv_types``.
    """
    file_sizes = file_sizes or {}
    rows = []
    for quant in QUANT_TYPES:
        if quant.name == "f32":
            continue
        known = quant.name in file_sizes
        weights = file_sizes[quant.name] if known else table_weights_bytes(quant, dims)
        estimate = estimate_memory(dims, weights, n_ctx, n_batch, kv_types=kv_types)
        rows.append(QuantFit(quant, estimate, fit_level(estimate, machine), known))
    offered = {quant.name for quant in available} if available is not None else None
    recommended, reason = _recommend(rows, offered, machine)
    return FitAdvice(n_ctx, tuple(rows), recommended, reason)


def advise_for_repo(machine: MachineInfo, repo: CatalogRepo, n_ctx: int = DEFAULT_CONTEXT, *,
                    offered_only: bool = True,
                    kv_types: KvCacheTypes = F16_CACHE) -> FitAdvice:
    """``advise`` for Fin-R1 from a catalog GGUF repository: the real size of the file that
    ``repo.quant_file`` names for each type, where the hub listed it (a refreshed or cached
    entry; the shipped catalog's sizes are only the table's estimate), the table's size
    elsewhere. The recommendation is among the types ``repo`` offers, or among every type with
    ``offered_only`` False (what fits the machine: a type the repository lacks can be built, or
    found in another repository)."""
    return advise(machine, n_ctx, file_sizes=_repo_file_sizes(repo),
                  available=repo.quant_types if offered_only else None, kv_types=kv_types)


def _repo_file_sizes(repo: CatalogRepo) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for quant in repo.quant_types:
        file = repo.quant_file(quant)  # the file a download of this type fetches
        if file.from_hub and file.size_bytes:
            sizes[quant.name] = file.size_bytes
    return sizes


def advise_for_build(machine: MachineInfo, plan: BuildPlan, offered: Sequence[QuantType],
                     n_ctx: int = DEFAULT_CONTEXT, *,
                     kv_types: KvCacheTypes = F16_CACHE) -> FitAdvice:
    """``advise`` for the models a planned build can make from its checkpoint: the checkpoint's
    own dimensions, each ``offered`` type at its expected output size (``plan.output_bytes``),
    and the recommendation among the ``offered`` types."""
    conversion = plan.conversion
    dims = ModelDims.from_checkpoint(conversion.shape, conversion.parameter_count)
    sizes = {quant.name: plan.output_bytes(quant) for quant in offered}
    return advise(machine, n_ctx, dims, file_sizes=sizes, available=offered, kv_types=kv_types)


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



# -- the context size of one model file ---------------------------------------------------------

@dataclass(frozen=True)
class ContextChoice:
    """The context to load a model file with, and what to tell the person about it (``notes``:
    the request was capped; the model will page from disk)."""

    n_ctx: int
    notes: tuple[str, ...] = ()


def choose_context(info: GGUFInfo, requested: int | None, machine: MachineInfo, *,
                   beyond_trained: bool = False, n_batch: int = DEFAULT_BATCH,
                   use_gpu: bool = True,
                   kv_types: KvCacheTypes = F16_CACHE) -> ContextChoice:
    """The context size for the model ``info`` describes: ``requested`` (None: ``DEFAULT_CONTEXT``)
    capped at the length the model was trained for unless ``beyond_trained``, with a note when a
    request was capped.

    Then the memory that context needs besides the weights (KV cache, runtime buffers: memory
    that is allocated, not mapped from the file) is checked against what ``machine`` has free: its
    available RAM, plus its GPUs' usable memory when llama.cpp can offload and ``use_gpu``.
    Raises ``InvalidSettingError`` when it does not fit, naming the largest context that does;
    notes, without refusing, when the weights do not fit beside it (llama.cpp then reads them from
    disk again and again). The KV cache is counted in the types ``kv_types`` (a q8_0 cache
    lets about twice the context fit). Nothing is checked where the model's shape or the free
    memory is unknown.
    """
    notes: list[str] = []
    n_ctx = DEFAULT_CONTEXT if requested is None else requested
    trained = info.context_length
    if trained and n_ctx > trained and not beyond_trained:
        if requested is not None:
            notes.append(f"the context is capped at {trained} tokens, the length this model was "
                         f"trained for, instead of {requested}; allow more with "
                         "--ctx-beyond-trained")
        n_ctx = trained
    dims = ModelDims.from_gguf(info)
    free = _free_memory_bytes(machine, dims, n_batch, use_gpu) if dims is not None else None
    if dims is None or free is None:
        return ContextChoice(n_ctx, tuple(notes))
    estimate = estimate_memory(dims, info.size_bytes, n_ctx, n_batch, kv_types=kv_types)
    context_bytes = estimate.kv_cache_bytes + estimate.runtime_bytes
    if context_bytes > free:
        per_token = kv_cache_bytes_per_token(dims, kv_types)
        fitting = max(0, (free - estimate.runtime_bytes) // max(1, per_token))
        raise InvalidSettingError(
            f"a context of {n_ctx} tokens needs about {human_bytes(context_bytes)} of memory "
            f"besides the model's weights, more than the {human_bytes(free)} free; lower the "
            f"context size (about {fitting} tokens fit now) or free memory"
        )
    if estimate.ram_bytes > free:
        notes.append(f"the model and a {n_ctx}-token context need about "
                     f"{human_bytes(estimate.ram_bytes)}, more than the {human_bytes(free)} "
                     "free: it will run slowly, reading its weights from disk again and again")
    return ContextChoice(n_ctx, tuple(notes))


def _free_memory_bytes(machine: MachineInfo, dims: ModelDims, n_batch: int,
                       use_gpu: bool) -> int | None:
    """Available RAM plus, when layers may go to the GPUs, what they can hold besides their
    buffers (``usable_gpu_bytes``); None when the available RAM is unknown."""
    if machine.ram_available_bytes is None:
        return None
    gpu = 0
    if use_gpu and machine.gpu_offload_supported and not machine.unified_memory:
        gpu = usable_gpu_bytes(machine.gpus, gpu_reserve_bytes(dims, n_batch),
                               machine.ram_available_bytes)
    return machine.ram_available_bytes + gpu
