"""Small valid GGUF files whose bytes depend on a seed: many distinct models for library tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFWriter


def write_small_gguf(path: Path, seed: int) -> Path:
    """A minimal valid GGUF at ``path`` (its folder created) whose bytes depend on ``seed``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(path), "llama")
    writer.add_name(f"small-{seed}")
    writer.add_tensor("token_embd.weight",
                      np.random.default_rng(seed).standard_normal((8, 32)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
