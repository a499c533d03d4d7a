"""An independent float64 numpy forward pass of a Hugging Face Qwen2 / Llama checkpoint.

This is the oracle the GGUF converter and the runtimes are checked against, so it shares no code
with them: it reads config.json and the safetensors straight from the checkpoint folder and
follows transformers' modeling_qwen2.py / modeling_llama.py step by step (RMSNorm, rotate-half
RoPE, grouped-query causal attention with optional q/k/v biases, SiLU-gated MLP, final norm,
lm_head or tied embeddings). It was cross-checked against transformers itself (see the report of
the change that added it); keep it plain rather than fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.support.tiny_checkpoint import load_checkpoint_tensors

SUPPORTED_ARCHITECTURES = ("Qwen2ForCausalLM", "LlamaForCausalLM")


def reference_logits(checkpoint_dir: Path, token_ids: list[int]) -> np.ndarray:
    """Logits of every position for `token_ids` run through the checkpoint, shape [T, vocab_size].

    Positions are 0..T-1 with no cache and no padding; row i depends only on token_ids[:i+1].
    Returns float64. Raises ValueError for an empty sequence, a token id outside
    0..vocab_size-1, an architecture other than Qwen2/Llama, or rope scaling (not modelled);
    KeyError when a tensor the config calls for is missing.
    """
    config = json.loads((Path(checkpoint_dir) / "config.json").read_text(encoding="utf-8"))
    _check_supported(config)
    vocab_size = config["vocab_size"]
    if not token_ids:
        raise ValueError("token_ids is empty; the forward pass needs at least one token")
    bad_ids = [token for token in token_ids if not 0 <= token < vocab_size]
    if bad_ids:
        raise ValueError(f"token ids {bad_ids} are outside 0..{vocab_size - 1}")

    weights = {
        name: tensor.astype(np.float64)
        for name, tensor in load_checkpoint_tensors(Path(checkpoint_dir)).items()
    }
    eps = config["rms_norm_eps"]
    hidden = weights["model.embed_tokens.weight"][np.asarray(token_ids)]
    cos, sin = _rope_tables(len(token_ids), _head_dim(config), config.get("rope_theta", 10000.0))
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        normed = _rms_norm(hidden, weights[prefix + "input_layernorm.weight"], eps)
        hidden = hidden + _attention(normed, weights, prefix + "self_attn.", config, cos, sin)
        normed = _rms_norm(hidden, weights[prefix + "post_attention_layernorm.weight"], eps)
        hidden = hidden + _mlp(normed, weights, prefix + "mlp.")
    hidden = _rms_norm(hidden, weights["model.norm.weight"], eps)
    if config.get("tie_word_embeddings", False):
        output_matrix = weights["model.embed_tokens.weight"]
    else:
        output_matrix = weights["lm_head.weight"]
    return hidden @ output_matrix.T


def _check_supported(config: dict) -> None:
    architectures = config.get("architectures") or []
    if not set(architectures) & set(SUPPORTED_ARCHITECTURES):
        raise ValueError(
            f"architectures {architectures} are not modelled; only {SUPPORTED_ARCHITECTURES}"
        )
    if config.get("rope_scaling"):
        raise ValueError(f"rope_scaling {config['rope_scaling']} is not modelled")
    if config.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act {config['hidden_act']!r} is not modelled; only silu")


def _head_dim(config: dict) -> int:
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    variance = np.mean(x * x, axis=-1, keepdims=True)
    return weight * (x / np.sqrt(variance + eps))


def _rope_tables(length: int, head_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of shape [length, head_dim], each frequency repeated over both halves."""
    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.outer(np.arange(length, dtype=np.float64), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles), np.sin(angles)


def _rotate_half(x: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def _apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x: [heads, T, head_dim]; rotates pairs (i, i + head_dim/2) by position x frequency i."""
    return x * cos + _rotate_half(x) * sin


def _linear(x: np.ndarray, weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    out = x @ weights[name + ".weight"].T
    bias = weights.get(name + ".bias")
    return out if bias is None else out + bias


def _attention(
    x: np.ndarray,
    weights: dict[str, np.ndarray],
    prefix: str,
    config: dict,
    cos: np.ndarray,
    sin: np.ndarray,
) -> np.ndarray:
    length = x.shape[0]
    num_heads = config["num_attention_heads"]
    num_kv_heads = config.get("num_key_value_heads", num_heads)
    head_dim = _head_dim(config)

    def split_heads(projected: np.ndarray, heads: int) -> np.ndarray:
        return projected.reshape(length, heads, head_dim).transpose(1, 0, 2)

    query = _apply_rope(split_heads(_linear(x, weights, prefix + "q_proj"), num_heads), cos, sin)
    key = _apply_rope(split_heads(_linear(x, weights, prefix + "k_proj"), num_kv_heads), cos, sin)
    value = split_heads(_linear(x, weights, prefix + "v_proj"), num_kv_heads)
    # Query head h reads key/value head h // (num_heads / num_kv_heads), as transformers' repeat_kv.
    group = num_heads // num_kv_heads
    key = np.repeat(key, group, axis=0)
    value = np.repeat(value, group, axis=0)

    scores = query @ key.transpose(0, 2, 1) / np.sqrt(head_dim)
    future = np.triu(np.ones((length, length), dtype=bool), k=1)
    scores = np.where(future, -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    probabilities = np.exp(scores)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    context = (probabilities @ value).transpose(1, 0, 2).reshape(length, num_heads * head_dim)
    return _linear(context, weights, prefix + "o_proj")


def _mlp(x: np.ndarray, weights: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    gate = _linear(x, weights, prefix + "gate_proj")
    up = _linear(x, weights, prefix + "up_proj")
    silu = gate / (1.0 + np.exp(-gate))
    return _linear(silu * up, weights, prefix + "down_proj")
