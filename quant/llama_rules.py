"""The values in a GGUF that llama.cpp asserts on, checked before llama.cpp sees the file.

A failed ``GGML_ASSERT`` (or ``GGML_ABORT``) aborts the whole process: the app's window vanishes
without a word. ``quant.gguf_check.validate_gguf`` therefore runs ``check_llama_rules`` on every
file it accepts, so such a file gives a ``GGUFValidationError`` naming the key or tensor instead.
Rules apply to keys and tensors that are present; a missing required key makes llama.cpp refuse
the file cleanly (an exception it catches), which the engine reports as ``ModelLoadError``.

Facts checked in the llama.cpp that llama-cpp-python 0.3.36 vendors (vendor/llama.cpp):

- ``src/llama-hparams.h``: ``LLAMA_MAX_LAYERS`` is 512, ``LLAMA_MAX_EXPERTS`` 1024.
- ``src/llama-model.cpp``, ``llama_model_base::load_hparams``, run for every architecture:
  ``GGML_ASSERT(hparams.n_layer_all > 0 && hparams.n_layer_all <= LLAMA_MAX_LAYERS)`` on
  ``<arch>.block_count``; ``GGML_ASSERT(n_layer_nextn <= n_layer_all)`` on
  ``<arch>.nextn_predict_layers``; the expert asserts (``n_expert <= LLAMA_MAX_EXPERTS``,
  ``n_expert_used <= n_expert``; with experts ``n_expert_used > 0``, ``n_expert_groups <
  n_expert``, groups dividing the experts, ``0 < n_group_used < n_expert_groups``; without
  experts no used experts and no groups); ``GGML_ASSERT(rope_scaling_type_train !=
  LLAMA_ROPE_SCALING_TYPE_UNSPECIFIED)``: ``<arch>.rope.scaling.type`` must be one of
  ``LLAMA_ROPE_SCALING_TYPES`` (none, linear, yarn, longrope). Head counts may be one number or
  one per layer (``get_key_or_arr``); the head size is ``<arch>.attention.key_length`` /
  ``value_length``, else ``embedding_length / head_count`` of layer 0, and ``n_rot`` is
  ``<arch>.rope.dimension_count``, else the key head size.
- ``src/llama-vocab.cpp``, ``llama_vocab::impl::load``: every token text goes into a map by text,
  then ``GGML_ASSERT(id_to_token.size() == token_to_id.size())``: token texts must be unique.
  Texts are read with ``gguf_get_arr_str`` as C strings (cut at the first NUL) and an empty text
  becomes ``[EMPTY_<id>]``; the comparison here does the same, on the bytes.
- ``ggml/src/ggml-cpu/ops.cpp``: norm, rms_norm and group_norm ``GGML_ASSERT(eps >= 0.0f)`` at
  the first decode, so ``<arch>.attention.layer_norm_epsilon`` and
  ``layer_norm_rms_epsilon`` must be at least 0 (NaN fails the assert too; infinity is refused
  here as no epsilon).
- ``src/models/qwen2.cpp`` and ``src/models/llama.cpp`` (the architectures the app converts,
  ``quant.architectures``): the graph asserts ``n_embd_head_v == n_embd_head_k`` and
  ``n_embd_head == n_rot`` when the context is made; attention broadcasts the KV heads over the
  query heads (``ggml_mul_mat`` asserts ``ggml_can_mul_mat``, flash attention
  ``q->ne[2] % k->ne[2] == 0``), so ``head_count_kv`` must divide ``head_count``; Qwen2's query
  projection is ``embedding_length`` wide and reshaped to ``head size × head_count``
  (``ggml_reshape_3d`` asserts equal element counts). Both read one head count for the whole
  graph, so per-layer counts must all be equal.
- ``src/llama-arch.cpp`` ``LLM_TENSOR_INFOS`` gives each tensor's operation: norms are
  ``GGML_OP_MUL`` and biases ``GGML_OP_ADD`` on F32 activations, and
  ``ggml/src/ggml-cpu/binary-ops.cpp`` ``binary_op`` aborts ("unsupported types") unless that
  second operand is F32 too; rope frequency factors must be F32 (``ggml_rope_ext`` asserts
  it). Weights used by ``GGML_OP_MUL_MAT`` / ``GGML_OP_GET_ROWS`` need a type with a CPU dot
  product (``type_traits_cpu`` in ``ggml/src/ggml-cpu/ggml-cpu.c``): any type but the integer
  ones, F64 and the activation-only Q8_1 and Q8_K. The architectures the app converts hold
  nothing but norms, biases, rope factors and such weights, so for them every tensor is checked.

Rope base and scale (``<arch>.rope.freq_base``, ``rope.scaling.factor``) and the context length
are not asserted on, but a base of 0, a negative or NaN one, a negative scale or a context of 0
makes every reply garbage, so they are refused as well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from foundation.errors import quoted_excerpt
from quant.errors import GGUFValidationError

if TYPE_CHECKING:
    from quant.gguf_check import GGUFInfo, MetadataValue

LLAMA_MAX_LAYERS = 512
LLAMA_MAX_EXPERTS = 1024
ROPE_SCALING_TYPES = ("none", "linear", "yarn", "longrope")
EPSILON_KEYS = ("attention.layer_norm_epsilon", "attention.layer_norm_rms_epsilon")
TOKENS_KEY = "tokenizer.ggml.tokens"

# Tensor roles by name (llama-arch.cpp LLM_TENSOR_INFOS): the second operand of an F32 MUL/ADD
# (norm weights, biases) and rope frequency factors must be F32.
_F32_ONLY_SUFFIXES = ("norm.weight", "norm.bias", ".bias")
_F32_ONLY_PREFIXES = ("rope_freqs.", "rope_factors_long.", "rope_factors_short.")
# The ggml types without a CPU dot product (no type_traits_cpu[].vec_dot): integers, F64 and the
# activation-only quant types. A matrix weight may be any other type ggml knows.
NO_DOT_PRODUCT_TYPES = frozenset({"I8", "I16", "I32", "I64", "F64", "Q8_1", "Q8_K"})

_ADVICE = "the file is damaged or was made wrongly; download or convert it again"


@dataclass(frozen=True)
class AttentionShape:
    """What an architecture's graph requires of its attention hyperparameters."""

    # Qwen2 builds its query projection embedding_length wide (n_embd x n_embd).
    query_width_is_embedding: bool


# The architectures the app's converter writes (quant.architectures), by GGUF name; a test keeps
# the two tables in step.
ATTENTION_SHAPES: dict[str, AttentionShape] = {
    "qwen2": AttentionShape(query_width_is_embedding=True),
    "llama": AttentionShape(query_width_is_embedding=False),
}


class ArrayReader(Protocol):
    """Reads the items of an array-valued metadata key of the file being checked."""

    def raw_strings(self, key: str) -> list[bytes]:
        """The items of string array ``key`` as stored; [] when absent or not a string array."""
        ...

    def numbers(self, key: str) -> np.ndarray:
        """The items of numeric array ``key``; empty when absent or not a numeric array."""
        ...


def check_llama_rules(info: GGUFInfo, arrays: ArrayReader) -> None:
    """Raise ``GGUFValidationError`` naming the key or tensor when ``info`` holds a value
    llama.cpp would abort on (see the module docstring); return when there is none."""
    rules = _Rules(info, arrays)
    rules.check_vocabulary()
    if info.architecture is None:
        return  # llama.cpp refuses such a file cleanly ("unknown model architecture")
    layers = rules.check_common_hyperparameters()
    attention = ATTENTION_SHAPES.get(info.architecture)
    if attention is not None:
        rules.check_attention(attention, layers)
    rules.check_tensor_types(matrix_rules=attention is not None)


class _Rules:
    """The checks, over one file's metadata."""

    def __init__(self, info: GGUFInfo, arrays: ArrayReader) -> None:
        self._info = info
        self._metadata = info.metadata
        self._arrays = arrays
        self._prefix = f"{info.architecture}."

    def _fail(self, message: str) -> GGUFValidationError:
        return GGUFValidationError(f"{self._info.path}: {message}: {_ADVICE}")

    # -- reading values -------------------------------------------------------------------------

    def _value(self, key: str) -> MetadataValue | None:
        return self._metadata.get(self._prefix + key)

    def _integer(self, key: str) -> int | None:
        """``<arch>.key`` as an integer, None when absent."""
        value = self._value(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(f"{self._prefix}{key} must be an integer, not {_kind(value)}")
        return value

    def _number(self, key: str) -> float | None:
        """``<arch>.key`` as a number, None when absent."""
        value = self._value(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(f"{self._prefix}{key} must be a number, not {_kind(value)}")
        return float(value)

    def _per_layer(self, key: str, layers: int | None) -> list[int] | None:
        """``<arch>.key`` as one integer per layer (a single number counts for every layer),
        None when absent."""
        value = self._value(key)
        if value is None:
            return None
        if isinstance(value, (bool, int, float, str)):
            single = self._integer(key)
            assert single is not None
            return [single] * (layers or 1)
        if value.item_type not in _INTEGER_ITEM_TYPES:
            raise self._fail(f"{self._prefix}{key} must hold integers, not {value.item_type}")
        if layers is None:
            return None  # llama.cpp refuses per-layer values without a block count
        if value.length != layers:
            raise self._fail(f"{self._prefix}{key} has {value.length} entries for {layers} layers")
        return [int(item) for item in self._arrays.numbers(self._prefix + key)]

    # -- the rules ------------------------------------------------------------------------------

    def check_vocabulary(self) -> None:
        """Token texts must be unique as llama.cpp stores them (C strings, empty ones renamed)."""
        texts = self._arrays.raw_strings(TOKENS_KEY)
        if b"\x00" in b"".join(texts):
            texts = [text.split(b"\x00", 1)[0] for text in texts]
        if b"" in texts:
            texts = [text or f"[EMPTY_{token_id}]".encode() for token_id, text in enumerate(texts)]
        if len(set(texts)) == len(texts):
            return
        seen: dict[bytes, int] = {}
        for token_id, text in enumerate(texts):
            first = seen.setdefault(text, token_id)
            if first != token_id:
                raise self._fail(
                    f"{TOKENS_KEY} holds the text {quoted_excerpt(text)} twice (tokens {first} and "
                    f"{token_id}); llama.cpp aborts on a vocabulary with repeated token texts"
                )

    def check_common_hyperparameters(self) -> int | None:
        """The rules of llama.cpp's shared hyperparameter loader; returns the block count."""
        layers = self._integer("block_count")
        if layers is not None and not 0 < layers <= LLAMA_MAX_LAYERS:
            raise self._fail(
                f"{self._prefix}block_count is {layers}; llama.cpp needs 1 to "
                f"{LLAMA_MAX_LAYERS} layers"
            )
        nextn = self._integer("nextn_predict_layers")
        if nextn is not None and layers is not None and not 0 <= nextn <= layers:
            raise self._fail(
                f"{self._prefix}nextn_predict_layers is {nextn}, more than the {layers} layers"
            )
        self._check_experts(layers)
        self._check_rope()
        for key in EPSILON_KEYS:
            epsilon = self._number(key)
            if epsilon is not None and not (math.isfinite(epsilon) and epsilon >= 0):
                raise self._fail(
                    f"{self._prefix}{key} is {epsilon}; an epsilon must be a finite number "
                    "of at least 0 (llama.cpp aborts at the first token otherwise)"
                )
        context = self._integer("context_length")
        if context is not None and context < 1:
            raise self._fail(f"{self._prefix}context_length is {context}; it must be at least 1")
        return layers

    def _check_experts(self, layers: int | None) -> None:
        experts = self._integer("expert_count") or 0
        used = max(self._per_layer("expert_used_count", layers) or [0])
        groups = self._integer("expert_group_count") or 0
        groups_used = self._integer("expert_group_used_count") or 0
        prefix = self._prefix
        if not 0 <= experts <= LLAMA_MAX_EXPERTS:
            raise self._fail(f"{prefix}expert_count is {experts}; llama.cpp allows 0 to "
                             f"{LLAMA_MAX_EXPERTS}")
        if experts == 0:
            if used or groups:
                raise self._fail(f"{prefix}expert_used_count or expert_group_count is set, but "
                                 "the model has no experts")
            return
        if not 0 < used <= experts:
            raise self._fail(f"{prefix}expert_used_count is {used}; it must be 1 to {experts} "
                             "(expert_count)")
        if not 0 <= groups < experts:
            raise self._fail(f"{prefix}expert_group_count is {groups}; it must be below "
                             f"expert_count ({experts})")
        if groups > 1 and (experts % groups or not 0 < groups_used < groups):
            raise self._fail(f"{prefix}expert_group_count ({groups}) must divide expert_count "
                             f"({experts}) and expert_group_used_count ({groups_used}) must be "
                             f"1 to {groups - 1}")

    def _check_rope(self) -> None:
        scaling = self._value("rope.scaling.type")
        if scaling is not None and scaling not in ROPE_SCALING_TYPES:
            shown = quoted_excerpt(scaling) if isinstance(scaling, str) else _kind(scaling)
            raise self._fail(f"{self._prefix}rope.scaling.type is {shown}; llama.cpp knows "
                             f"{', '.join(ROPE_SCALING_TYPES)}")
        base = self._number("rope.freq_base")
        if base is not None and not (math.isfinite(base) and base > 0):
            raise self._fail(f"{self._prefix}rope.freq_base is {base}; it must be a finite "
                             "number above 0")
        factor = self._number("rope.scaling.factor")
        if factor is not None and not (math.isfinite(factor) and factor >= 0):
            raise self._fail(f"{self._prefix}rope.scaling.factor is {factor}; it must be a "
                             "finite number of at least 0")

    def check_attention(self, shape: AttentionShape, layers: int | None) -> None:
        """Heads, head size and rotary dimensions as the Qwen2/Llama graph asserts them."""
        prefix = self._prefix
        heads = self._uniform("attention.head_count", layers)
        kv_heads = self._uniform("attention.head_count_kv", layers)
        if heads is not None and heads < 1:
            raise self._fail(f"{prefix}attention.head_count is {heads}; it must be at least 1")
        if kv_heads is not None and heads is not None and (kv_heads < 1 or heads % kv_heads):
            raise self._fail(f"{prefix}attention.head_count_kv is {kv_heads}; it must be at "
                             f"least 1 and divide {prefix}attention.head_count ({heads})")
        embedding = self._integer("embedding_length")
        if embedding is not None and embedding < 1:
            raise self._fail(f"{prefix}embedding_length is {embedding}; it must be at least 1")
        key_head, key_source = self._head_size("attention.key_length", embedding, heads)
        value_head, value_source = self._head_size("attention.value_length", embedding, heads)
        if key_head != value_head:
            raise self._fail(f"the key head size {key_source} and the value head size "
                             f"{value_source} differ; llama.cpp needs one head size")
        rotary = self._integer("rope.dimension_count")
        if rotary is not None and key_head is not None and rotary != key_head:
            raise self._fail(f"{prefix}rope.dimension_count is {rotary} but the head size is "
                             f"{key_source}; llama.cpp needs them equal")
        if (shape.query_width_is_embedding and embedding and heads and key_head is not None
                and key_head * heads != embedding):
            raise self._fail(f"{prefix}attention.head_count ({heads}) × the head size "
                             f"{key_source} must equal {prefix}embedding_length ({embedding})")

    def _head_size(self, key: str, embedding: int | None,
                   heads: int | None) -> tuple[int | None, str]:
        """A head size as llama.cpp reads it (``key``, else embedding length / head count) and
        a phrase saying where it came from; (None, "unknown") when neither is in the file."""
        stated = self._integer(key)
        if stated is not None:
            return stated, f"{stated} ({self._prefix}{key})"
        if embedding and heads:
            size = embedding // heads
            return size, (f"{size} ({self._prefix}embedding_length {embedding} / "
                          f"{self._prefix}attention.head_count {heads})")
        return None, "unknown"

    def _uniform(self, key: str, layers: int | None) -> int | None:
        """A per-layer count that must be the same for every layer; None when absent."""
        values = self._per_layer(key, layers)
        if not values:
            return None
        if len(set(values)) > 1:
            raise self._fail(f"{self._prefix}{key} differs between layers "
                             f"({_short_list(values)}); this architecture needs one value")
        return values[0]

    def check_tensor_types(self, matrix_rules: bool) -> None:
        """Norms, biases and rope factors must be F32; with ``matrix_rules`` (an architecture
        whose every other tensor is a matrix weight) the others need a CPU dot product."""
        for tensor in self._info.tensors:
            if tensor.name.endswith(_F32_ONLY_SUFFIXES) or tensor.name.startswith(
                    _F32_ONLY_PREFIXES):
                if tensor.ggml_type != "F32":
                    raise self._fail(
                        f"tensor {quoted_excerpt(tensor.name, 64)} is {tensor.ggml_type}; "
                        "norm weights, biases and rope factors must be F32 (llama.cpp aborts at "
                        "the first token otherwise)"
                    )
            elif matrix_rules and tensor.ggml_type in NO_DOT_PRODUCT_TYPES:
                raise self._fail(
                    f"tensor {quoted_excerpt(tensor.name, 64)} is {tensor.ggml_type}, which "
                    "llama.cpp cannot multiply with; a weight must be F32, F16, BF16 or a "
                    "quantized type"
                )


_INTEGER_ITEM_TYPES = frozenset({"uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64",
                                 "int64"})


def _kind(value: object) -> str:
    """How a message names a value of the wrong kind (never its content)."""
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return "an array"


def _short_list(values: Sequence[int]) -> str:
    shown = ", ".join(str(value) for value in values[:8])
    return shown + (", …" if len(values) > 8 else "")
