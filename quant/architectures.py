"""Per-architecture knowledge for the converter, registered by Hugging Face class name.

Qwen2 (Fin-R1) and Llama share one decoder shape; each class states only what differs: the GGUF
architecture, whether attention has q/k/v biases, how q/k weights are laid out, and which extra
hyperparameters llama.cpp's own converter writes for it.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import gguf
import numpy as np

from quant.checkpoint_config import ModelShape
from quant.errors import ConfigMismatchError, UnsupportedArchitectureError

# Tensors some checkpoints carry that llama.cpp does not use (recomputed at load time).
IGNORED_TENSOR_SUFFIXES = (".rotary_emb.inv_freq",)


class Architecture:
    """The decoder-only transformer shared by Qwen2 and Llama; subclasses state differences."""

    hf_name: ClassVar[str]
    gguf_arch: ClassVar[gguf.MODEL_ARCH]
    has_qkv_bias: ClassVar[bool] = False
    default_pre_tokenizer: ClassVar[str]

    @property
    def gguf_arch_name(self) -> str:
        return gguf.MODEL_ARCH_NAMES[self.gguf_arch]

    def expected_tensor_shapes(self, shape: ModelShape) -> dict[str, tuple[int, ...]]:
        """HF tensor name → shape (numpy order) that config.json implies."""
        hidden, q_rows = shape.hidden_size, shape.head_count * shape.head_dim
        kv_rows = shape.head_count_kv * shape.head_dim
        tensors: dict[str, tuple[int, ...]] = {
            "model.embed_tokens.weight": (shape.vocab_size, hidden),
            "model.norm.weight": (hidden,),
        }
        if not shape.tie_word_embeddings:
            tensors["lm_head.weight"] = (shape.vocab_size, hidden)
        for layer in range(shape.layer_count):
            prefix = f"model.layers.{layer}."
            tensors.update({
                prefix + "input_layernorm.weight": (hidden,),
                prefix + "post_attention_layernorm.weight": (hidden,),
                prefix + "self_attn.q_proj.weight": (q_rows, hidden),
                prefix + "self_attn.k_proj.weight": (kv_rows, hidden),
                prefix + "self_attn.v_proj.weight": (kv_rows, hidden),
                prefix + "self_attn.o_proj.weight": (hidden, q_rows),
                prefix + "mlp.gate_proj.weight": (shape.intermediate_size, hidden),
                prefix + "mlp.up_proj.weight": (shape.intermediate_size, hidden),
                prefix + "mlp.down_proj.weight": (hidden, shape.intermediate_size),
            })
            if self.has_qkv_bias:
                tensors.update({
                    prefix + "self_attn.q_proj.bias": (q_rows,),
                    prefix + "self_attn.k_proj.bias": (kv_rows,),
                    prefix + "self_attn.v_proj.bias": (kv_rows,),
                })
        return tensors

    def gguf_tensor_name(self, hf_name: str, layer_count: int) -> str:
        """llama.cpp's name for a HF tensor, from gguf-py's own mapping table."""
        name_map = _tensor_name_map(self.gguf_arch, layer_count)
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConfigMismatchError(f"tensor {hf_name} has no llama.cpp equivalent.")
        return gguf_name

    def needs_whole_tensor(self, hf_name: str) -> bool:
        """True when ``transform`` reorders rows, so the tensor cannot be streamed in row chunks."""
        return False

    def transform(self, hf_name: str, values: np.ndarray, shape: ModelShape) -> np.ndarray:
        """Rearrange a tensor from HF's layout to llama.cpp's; identity unless overridden."""
        return values

    def write_hyperparameters(self, writer: gguf.GGUFWriter, shape: ModelShape) -> None:
        """The ``{arch}.*`` keys llama.cpp's converter writes for every text model."""
        writer.add_block_count(shape.layer_count)
        writer.add_context_length(shape.context_length)
        writer.add_embedding_length(shape.hidden_size)
        writer.add_feed_forward_length(shape.intermediate_size)
        writer.add_head_count(shape.head_count)
        writer.add_head_count_kv(shape.head_count_kv)
        writer.add_rope_freq_base(shape.rope_theta)
        writer.add_layer_norm_rms_eps(shape.rms_norm_eps)
        if "head_dim" in shape.raw:
            writer.add_key_length(shape.head_dim)
            writer.add_value_length(shape.head_dim)
        self.write_rope_scaling(writer, shape)

    def write_rope_scaling(self, writer: gguf.GGUFWriter, shape: ModelShape) -> None:
        """Linear and YaRN context extension; anything else is refused rather than dropped."""
        scaling = shape.rope_scaling
        if not scaling:
            return
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "linear":
            writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            writer.add_rope_scaling_factor(float(scaling["factor"]))
        elif kind == "yarn":
            writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
            writer.add_rope_scaling_factor(float(scaling["factor"]))
            writer.add_rope_scaling_orig_ctx_len(int(scaling["original_max_position_embeddings"]))
        else:
            raise UnsupportedArchitectureError(
                f"rope_scaling type {kind!r} in config.json is not supported by this converter."
            )


class Qwen2Architecture(Architecture):
    """Qwen2 / Qwen2.5 (Fin-R1): biases on q/k/v, NeoX-style RoPE so no weight permutation."""

    hf_name = "Qwen2ForCausalLM"
    gguf_arch = gguf.MODEL_ARCH.QWEN2
    has_qkv_bias = True
    default_pre_tokenizer = "qwen2"


class LlamaArchitecture(Architecture):
    """Llama 2/3 family with a byte-level BPE tokenizer.json.

    llama.cpp applies RoPE to interleaved pairs while HF rotates halves, so q/k rows are permuted
    per head, as llama.cpp's converter does.
    """

    hf_name = "LlamaForCausalLM"
    gguf_arch = gguf.MODEL_ARCH.LLAMA
    default_pre_tokenizer = "llama-bpe"

    def needs_whole_tensor(self, hf_name: str) -> bool:
        return hf_name.endswith(("self_attn.q_proj.weight", "self_attn.k_proj.weight"))

    def transform(self, hf_name: str, values: np.ndarray, shape: ModelShape) -> np.ndarray:
        if hf_name.endswith("self_attn.q_proj.weight"):
            return _permute_for_rope(values, shape.head_count)
        if hf_name.endswith("self_attn.k_proj.weight"):
            return _permute_for_rope(values, shape.head_count_kv)
        return values

    def write_hyperparameters(self, writer: gguf.GGUFWriter, shape: ModelShape) -> None:
        super().write_hyperparameters(writer, shape)
        writer.add_vocab_size(shape.vocab_size)
        writer.add_rope_dimension_count(shape.head_dim)


@functools.lru_cache(maxsize=8)
def _tensor_name_map(arch: gguf.MODEL_ARCH, layer_count: int) -> gguf.TensorNameMap:
    """gguf-py builds the whole table per call; one per model shape is enough."""
    return gguf.get_tensor_name_map(arch, layer_count)


def _permute_for_rope(weights: np.ndarray, head_count: int) -> np.ndarray:
    """Reorder each head's rows from HF's rotate-half layout to llama.cpp's interleaved pairs."""
    rows = weights.shape[0]
    return (
        weights.reshape(head_count, 2, rows // head_count // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


ARCHITECTURES: dict[str, Architecture] = {
    architecture.hf_name: architecture
    for architecture in (Qwen2Architecture(), LlamaArchitecture())
}


def architecture_for(hf_name: str) -> Architecture:
    """The registered architecture for a config.json ``architectures`` entry.

    Raises UnsupportedArchitectureError naming it and the supported ones.
    """
    try:
        return ARCHITECTURES[hf_name]
    except KeyError:
        supported = ", ".join(ARCHITECTURES)
        raise UnsupportedArchitectureError(
            f"architecture {hf_name!r} is not supported; this converter handles {supported}."
        ) from None
