"""How llama.cpp, as this app loads a model, uses memory: a GGUF's shape facts and the GPU memory
left for its layers. The auto GPU layers (``app.core.hardware.gpu_layers``), the fit advice
(``app.core.hardware.fit``) and
the window header (``app.core.engine.model_summary``) all read a model and the GPUs through this module.

What it relies on, from the llama.cpp that llama-cpp-python 0.3.36 vendors:

- ``LlamaRuntime`` sets neither ``split_mode`` nor ``main_gpu`` nor ``tensor_split``, so the
  default ``LLAMA_SPLIT_MODE_LAYER`` spreads whole layers over every GPU llama.cpp finds, each GPU
  getting a share of the offloaded layers in proportion to its free memory (``load_tensors``).
- ``n_gpu_layers = k`` offloads the output layer first, then the last ``k - 1`` blocks; the token
  embedding always stays on the CPU. A block's KV cache sits on the block's GPU.
- Every GPU holding layers also holds its own compute buffer and backend context: the reserve.

Because the shares follow free memory, every GPU is filled to the same fraction of its free
memory, and the GPU whose reserve takes the largest fraction of it (the one with the least free
memory, reserves being equal) is the one that runs out first. With one GPU the rule is its free
memory minus the reserve.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.hardware.machine import GpuInfo
from quant.checkpoint_config import ModelShape
from quant.gguf_check import GGUFInfo, MetadataArray

MIB = 1 << 20
KV_BYTES_PER_VALUE = 2  # f16 K and V, llama.cpp's default cache type
LOGIT_BYTES = 4  # f32
# CUDA/Metal context, scratch and fragmentation on each GPU, beyond its compute buffer.
GPU_HEADROOM_BYTES = 512 * MIB
# One prompt batch's activations per token, in float32 embedding- and feed-forward-widths
# (the gate/up/product tensors the feed-forward keeps alive); measured, see app.core.hardware.fit.
ACTIVATION_EMBEDDING_WIDTHS = 3.1
ACTIVATION_FEED_FORWARD_WIDTHS = 3.8

_BLOCK_TENSOR = re.compile(r"^blk\.(\d+)\.")


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
    def kv_bytes_per_token_per_layer(self) -> int:
        """K and V of one token in one block."""
        return self.head_count_kv * (self.key_length + self.value_length) * KV_BYTES_PER_VALUE

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V of one token in every block."""
        return self.layer_count * self.kv_bytes_per_token_per_layer

    @classmethod
    def from_checkpoint(cls, shape: ModelShape, parameter_count: int) -> ModelDims:
        return cls(shape.layer_count, shape.head_count_kv, shape.head_dim, shape.head_dim,
                   shape.hidden_size, shape.intermediate_size, shape.vocab_size, parameter_count)

    @classmethod
    def from_gguf(cls, info: GGUFInfo) -> ModelDims | None:
        """``read_gguf_shape(info).dims``, or None when the shape cannot be read."""
        shape = read_gguf_shape(info)
        return shape.dims if shape is not None else None


@dataclass(frozen=True)
class GGUFShape:
    """What a GGUF file holds, as far as memory is concerned.

    ``layer_bytes[i]``: the weights of block i. ``output_bytes``: the output layer's weights and
    norm (the embedding matrix, copied, when the output is tied to it).
    """

    dims: ModelDims
    layer_bytes: tuple[int, ...]
    output_bytes: int

    @property
    def layer_count(self) -> int:
        return self.dims.layer_count

    @property
    def offloadable_layers(self) -> int:
        """llama.cpp's count of layers it can offload: every block and the output layer."""
        return self.layer_count + 1

    @property
    def offloadable_bytes(self) -> int:
        """The weights all offloadable layers put on the GPU."""
        return sum(self.layer_bytes) + self.output_bytes


def read_gguf_shape(info: GGUFInfo) -> GGUFShape | None:
    """The shape facts in a validated GGUF's metadata and tensor table, or None when its metadata
    lacks the block count, embedding length, head count or feed-forward length."""
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
    dims = ModelDims(layers, number("attention.head_count_kv") or heads, key_length,
                     number("attention.value_length") or key_length, embedding, feed_forward,
                     vocab, info.parameter_count)
    layer_bytes = [0] * layers
    by_name = {tensor.name: tensor for tensor in info.tensors}
    for tensor in info.tensors:
        block = _BLOCK_TENSOR.match(tensor.name)
        if block is not None and int(block.group(1)) < layers:
            layer_bytes[int(block.group(1))] += tensor.nbytes
    output = by_name.get("output.weight") or by_name.get("token_embd.weight")
    norm = by_name.get("output_norm.weight")
    output_bytes = (output.nbytes if output else 0) + (norm.nbytes if norm else 0)
    return GGUFShape(dims, tuple(layer_bytes), output_bytes)


def activation_bytes(dims: ModelDims, n_batch: int) -> float:
    """The activations of one prompt batch of ``n_batch`` tokens."""
    return n_batch * 4 * (ACTIVATION_EMBEDDING_WIDTHS * dims.embedding_length
                          + ACTIVATION_FEED_FORWARD_WIDTHS * dims.feed_forward_length)


def gpu_reserve_bytes(dims: ModelDims, n_batch: int) -> int:
    """What each GPU holding layers keeps besides them: its compute buffer (one batch of logits
    or of activations, whichever is larger) and a fixed headroom. Counted on every GPU, though
    only the one holding the output layer computes logits: a little room to spare elsewhere."""
    logits = n_batch * dims.vocab_size * LOGIT_BYTES
    return int(max(logits, activation_bytes(dims, n_batch)) + GPU_HEADROOM_BYTES)


def gpu_room_bytes(gpu: GpuInfo, ram_available_bytes: int | None) -> int:
    """The memory llama.cpp may take on ``gpu``: its free memory, or its total where that is all
    that is known; on unified memory no more than the available RAM either."""
    room = gpu.free_bytes if gpu.free_bytes is not None else gpu.total_bytes
    if gpu.unified_memory and ram_available_bytes is not None:
        room = min(room, ram_available_bytes)
    return room


def usable_gpu_bytes(gpus: Sequence[GpuInfo], reserve_bytes: int,
                     ram_available_bytes: int | None) -> int:
    """Bytes of offloaded layers (weights and KV cache together) that ``gpus`` hold between them
    when each keeps ``reserve_bytes`` (``gpu_reserve_bytes``) for itself; 0 without a GPU.

    The layers are shared in proportion to each GPU's room (``gpu_room_bytes``), so they fit
    while ``usable × room / total room + reserve <= room`` on every GPU: the GPU with the least
    room decides. 0 too when that GPU cannot even hold its reserve.
    """
    rooms = [gpu_room_bytes(gpu, ram_available_bytes) for gpu in gpus]
    smallest = min(rooms, default=0)
    if smallest <= reserve_bytes:
        return 0
    return sum(rooms) * (smallest - reserve_bytes) // smallest
