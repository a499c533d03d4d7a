"""Deciding how many layers of a model go to the GPU, and saying so when none can.

``plan_offload`` turns the requested GPU layers (``"auto"``, 0, -1 or a number) into the number
llama.cpp is given, with a note a person can read. It first asks the installed llama.cpp whether it
can offload at all: a CPU-only build runs everything on the CPU and, when layers were requested,
the plan carries a warning instead of pretending. ``"auto"`` estimates from the GGUF's tensor sizes
and the free GPU memory (``app.core.hardware``) how many layers fit, keeping room for the KV
cache and llama.cpp's compute buffers.

llama.cpp counts ``n_layer + 1`` offloadable layers: the repeating blocks, offloaded from the last
one backwards, and finally the output layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import llama_cpp

from app.core.engine_config import AUTO, GpuLayers
from app.core.hardware import detect_gpus, memory_bytes
from quant.gguf_check import GGUFInfo, MetadataArray

MIB = 1 << 20
GIB = 1 << 30
# CUDA context, scratch and fragmentation beyond the compute buffer estimated below.
BASE_HEADROOM_BYTES = 512 * MIB
KV_BYTES_PER_VALUE = 2  # llama.cpp's KV cache is f16 by default

_BLOCK_TENSOR = re.compile(r"^blk\.(\d+)\.")

CPU_ONLY_BUILD_HINT = (
    "this llama.cpp build cannot use a GPU (llama-cpp-python was built for the CPU only), so the "
    "model runs on the CPU; for GPU speed reinstall it with GPU support, e.g. "
    'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir '
    "llama-cpp-python==0.3.36"
)


def gpu_offload_supported() -> bool:
    """True when the installed llama.cpp was built with a GPU backend (CUDA, Metal, Vulkan…)."""
    return bool(llama_cpp.llama_supports_gpu_offload())


def free_vram_bytes() -> int | None:
    """Free memory over all GPUs that ``app.core.hardware`` finds, in bytes; for Apple silicon
    the share of unified memory Metal lets a process use. None when it cannot be measured."""
    gpus = detect_gpus(memory_bytes()[0])
    free = [gpu.free_bytes if gpu.free_bytes is not None
            else gpu.total_bytes if gpu.unified_memory else None for gpu in gpus]
    if not free or None in free:
        return None
    return sum(value for value in free if value is not None)


@dataclass(frozen=True)
class ModelFootprint:
    """The sizes that decide how many layers fit on a GPU.

    ``layer_bytes[i]``: weights of block i. ``output_bytes``: the output layer's weights (the
    embedding matrix when the output is tied to it). ``kv_bytes_per_token_per_layer``: K and V of
    one token in one block. ``logits_bytes_per_token``: one row of output logits (f32).
    """

    layer_bytes: tuple[int, ...]
    output_bytes: int
    kv_bytes_per_token_per_layer: int
    logits_bytes_per_token: int

    @property
    def n_layer(self) -> int:
        return len(self.layer_bytes)


def _metadata_int(info: GGUFInfo, key: str) -> int | None:
    value = info.metadata.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def footprint_from_gguf(info: GGUFInfo) -> ModelFootprint | None:
    """The footprint read from a validated GGUF, or None when its metadata lacks what is needed."""
    architecture = info.architecture
    if architecture is None:
        return None
    n_layer = _metadata_int(info, f"{architecture}.block_count")
    n_embd = _metadata_int(info, f"{architecture}.embedding_length")
    n_head = _metadata_int(info, f"{architecture}.attention.head_count")
    if not n_layer or not n_embd or not n_head:
        return None
    n_head_kv = _metadata_int(info, f"{architecture}.attention.head_count_kv") or n_head
    key_length = _metadata_int(info, f"{architecture}.attention.key_length") or n_embd // n_head
    value_length = _metadata_int(info, f"{architecture}.attention.value_length") or key_length
    layer_bytes = [0] * n_layer
    by_name = {tensor.name: tensor for tensor in info.tensors}
    for tensor in info.tensors:
        block = _BLOCK_TENSOR.match(tensor.name)
        if block is not None and int(block.group(1)) < n_layer:
            layer_bytes[int(block.group(1))] += tensor.nbytes
    output = by_name.get("output.weight") or by_name.get("token_embd.weight")
    norm = by_name.get("output_norm.weight")
    tokens = info.metadata.get("tokenizer.ggml.tokens")
    n_vocab = tokens.length if isinstance(tokens, MetadataArray) else 0
    return ModelFootprint(
        layer_bytes=tuple(layer_bytes),
        output_bytes=(output.nbytes if output else 0) + (norm.nbytes if norm else 0),
        kv_bytes_per_token_per_layer=n_head_kv * (key_length + value_length) * KV_BYTES_PER_VALUE,
        logits_bytes_per_token=n_vocab * 4,
    )


def layers_that_fit(footprint: ModelFootprint, n_ctx: int, n_batch: int, free_bytes: int) -> int:
    """How many of llama.cpp's ``n_layer + 1`` offloadable layers fit in ``free_bytes``.

    Blocks are counted from the last one backwards, each with its share of the KV cache for
    ``n_ctx`` tokens; the output layer counts only once every block fits. The compute buffer is
    estimated as one batch of logits plus a fixed headroom. Returns 0 when not even one block fits.
    """
    budget = free_bytes - BASE_HEADROOM_BYTES - n_batch * footprint.logits_bytes_per_token
    kv_per_layer = n_ctx * footprint.kv_bytes_per_token_per_layer
    used = 0
    fitted = 0
    for layer_bytes in reversed(footprint.layer_bytes):
        if used + layer_bytes + kv_per_layer > budget:
            return fitted
        used += layer_bytes + kv_per_layer
        fitted += 1
    return fitted + 1 if used + footprint.output_bytes <= budget else fitted


@dataclass(frozen=True)
class OffloadPlan:
    """What the engine asks llama.cpp for, and why.

    ``requested``: what the person asked for. ``n_gpu_layers``: given to llama.cpp (-1 = all).
    ``offload_supported``: the installed llama.cpp can use a GPU. ``free_vram_bytes``: measured
    free GPU memory, None when unknown. ``note``: one line explaining the decision. ``warning``:
    set when the person asked for GPU layers and will not get them.
    """

    requested: GpuLayers
    n_gpu_layers: int
    offload_supported: bool
    free_vram_bytes: int | None
    note: str
    warning: str | None = None

    @property
    def uses_gpu(self) -> bool:
        return self.n_gpu_layers != 0


def plan_offload(requested: GpuLayers, info: GGUFInfo, n_ctx: int, n_batch: int, *,
                 offload_supported: bool | None = None,
                 measure_free_bytes: Callable[[], int | None] = free_vram_bytes) -> OffloadPlan:
    """Decide the GPU layers for the model ``info`` describes.

    ``offload_supported`` defaults to asking llama.cpp, ``measure_free_bytes`` to asking the
    driver; the memory is measured only for ``"auto"`` on a build that can offload. Never raises:
    when memory or layer sizes are unknown ``"auto"`` offloads everything, and the engine falls
    back to the CPU if loading then fails.
    """
    supported = gpu_offload_supported() if offload_supported is None else offload_supported
    if not supported:
        if requested == AUTO or requested == 0:
            note = "CPU only: this llama.cpp build has no GPU support"
            return OffloadPlan(requested, 0, False, None, note)
        return OffloadPlan(requested, 0, False, None, "CPU only", warning=CPU_ONLY_BUILD_HINT)
    if requested == 0:
        return OffloadPlan(requested, 0, True, None, "CPU only (as set)")
    if requested != AUTO:
        described = "all layers" if requested == -1 else f"{requested} layers"
        note = f"{described} on the GPU (as set)"
        return OffloadPlan(requested, int(requested), True, None, note)
    free = measure_free_bytes()
    footprint = footprint_from_gguf(info)
    if free is None or footprint is None:
        why = "free GPU memory unknown" if free is None else "layer sizes unknown"
        note = f"all layers on the GPU ({why}; falls back to the CPU if they do not fit)"
        return OffloadPlan(requested, -1, True, free, note)
    fitted = layers_that_fit(footprint, n_ctx, n_batch, free)
    total = footprint.n_layer + 1
    note = f"{fitted} of {total} layers on the GPU ({free / GIB:.1f} GiB free)"
    return OffloadPlan(requested, fitted, True, free, note)
