"""What a model file or checkpoint folder is, checked before the library accepts it.

A GGUF passes the pipeline's structural checks (``validate_gguf``) and its quant type, architecture
and size are read from its header. A checkpoint folder passes the converter's own planning
(config.json, tokenizer files, every shard present and every tensor where config.json says), so a
folder the library accepts is one ``finr1 convert`` can build from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.errors import ModelImportError
from quant.convert import plan_conversion
from quant.errors import CheckpointError, GGUFValidationError
from quant.gguf_check import validate_gguf

_TORCH_DTYPE_LABELS = {"bfloat16": "BF16", "float16": "F16", "float32": "F32"}


@dataclass(frozen=True)
class ModelFacts:
    """``kind`` is ``"gguf"`` or ``"checkpoint"``; ``quant_label`` the GGUF's file type label
    (``Q4_K_M``, ``Q4_1``…) or a checkpoint's weight dtype (``BF16``)."""

    kind: str
    quant_label: str | None
    architecture: str | None
    parameter_count: int | None
    context_length: int | None


def gguf_facts(path: Path) -> ModelFacts:
    """Facts of a GGUF file; ModelImportError (with the validator's reason) when it is not one
    llama.cpp can open."""
    try:
        info = validate_gguf(path)
    except GGUFValidationError as error:
        raise ModelImportError(f"cannot add {path.name} to the library: {error}") from error
    return ModelFacts("gguf", info.file_type_label, info.architecture, info.parameter_count,
                      info.context_length)


def checkpoint_facts(folder: Path) -> ModelFacts:
    """Facts of a Hugging Face checkpoint folder; ModelImportError saying what is missing or
    inconsistent when the converter could not build from it."""
    try:
        plan = plan_conversion(folder, "bf16")
    except CheckpointError as error:
        raise ModelImportError(f"cannot add the checkpoint {folder.name}: {error}") from error
    dtype = str(plan.shape.raw.get("torch_dtype", ""))
    return ModelFacts("checkpoint", _TORCH_DTYPE_LABELS.get(dtype, dtype.upper() or None),
                      plan.architecture.gguf_arch_name, plan.parameter_count,
                      plan.shape.context_length)

