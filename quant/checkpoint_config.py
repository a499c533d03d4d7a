"""The hyperparameters of a Hugging Face checkpoint, read and checked from its config.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quant.errors import CheckpointError, ConfigMismatchError, MissingFileError

_REQUIRED_KEYS = (
    "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "vocab_size",
)


@dataclass(frozen=True)
class ModelShape:
    """What config.json says about the transformer's shape; the source of expected tensor shapes."""

    architecture: str
    hidden_size: int
    layer_count: int
    head_count: int
    head_count_kv: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    context_length: int
    rope_theta: float
    rms_norm_eps: float
    tie_word_embeddings: bool
    rope_scaling: dict[str, Any] | None
    raw: dict[str, Any]


def read_json(path: Path) -> dict[str, Any]:
    """Load a JSON object file; MissingFileError if absent, CheckpointError if not a JSON object."""
    if not path.is_file():
        raise MissingFileError(f"{path.parent} has no {path.name}; the checkpoint is incomplete.")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}).") from error
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} does not hold a JSON object.")
    return value


def read_model_shape(checkpoint_dir: Path) -> ModelShape:
    """Read config.json of ``checkpoint_dir``.

    Raises MissingFileError (no config.json), ConfigMismatchError (required keys missing, or head
    counts that do not divide the hidden size).
    """
    config = read_json(checkpoint_dir / "config.json")
    missing = [key for key in _REQUIRED_KEYS if key not in config]
    if missing:
        raise ConfigMismatchError(f"config.json lacks {', '.join(missing)}.")
    architectures = config["architectures"]
    if not isinstance(architectures, list) or len(architectures) != 1:
        raise ConfigMismatchError(
            f"config.json must name exactly one architecture, not {architectures!r}."
        )
    head_count = int(config["num_attention_heads"])
    head_count_kv = int(config.get("num_key_value_heads", head_count))
    hidden_size = int(config["hidden_size"])
    head_dim = int(config.get("head_dim") or hidden_size // head_count)
    if head_count * head_dim != hidden_size and "head_dim" not in config:
        raise ConfigMismatchError(
            f"hidden_size {hidden_size} is not divisible by num_attention_heads {head_count}."
        )
    if head_count % head_count_kv:
        raise ConfigMismatchError(
            f"num_attention_heads {head_count} is not a multiple of num_key_value_heads "
            f"{head_count_kv}."
        )
    return ModelShape(
        architecture=str(architectures[0]),
        hidden_size=hidden_size,
        layer_count=int(config["num_hidden_layers"]),
        head_count=head_count,
        head_count_kv=head_count_kv,
        head_dim=head_dim,
        intermediate_size=int(config["intermediate_size"]),
        vocab_size=int(config["vocab_size"]),
        context_length=int(config.get("max_position_embeddings", 4096)),
        rope_theta=float(config.get("rope_theta", 10000.0)),
        rms_norm_eps=float(config.get("rms_norm_eps", 1e-6)),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
        rope_scaling=config.get("rope_scaling"),
        raw=config,
    )
