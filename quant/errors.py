"""Every failure a person can cause gets its own exception class with a message saying what to do.

All derive from ``FinR1Error`` so the CLI and GUI can catch one type and show ``str(error)``.
"""

from __future__ import annotations

from foundation.errors import FinR1Error


class CheckpointError(FinR1Error):
    """A Hugging Face checkpoint folder cannot be converted."""


class MissingFileError(CheckpointError):
    """A file the checkpoint needs is absent."""


class UnsupportedArchitectureError(CheckpointError):
    """config.json names an architecture the converter does not know."""


class ConfigMismatchError(CheckpointError):
    """A tensor's shape, name set or dtype disagrees with config.json."""


class SafetensorsError(CheckpointError):
    """A .safetensors file is truncated, malformed or of an unsupported dtype."""


class TokenizerError(CheckpointError):
    """tokenizer.json / tokenizer_config.json are missing pieces or inconsistent."""


class F16OverflowError(FinR1Error):
    """A weight does not fit in float16 (|x| > 65504); converting to f16 would corrupt it."""


class GGUFValidationError(FinR1Error):
    """A file is not a well-formed GGUF that llama.cpp can safely be handed."""


class QuantizeError(FinR1Error):
    """llama.cpp's quantizer failed or crashed."""


class AlreadyQuantizedError(QuantizeError):
    """The input GGUF is already quantized below 16 bits; quantize from the bf16/f16/f32 GGUF."""


class ImatrixRequiredError(FinR1Error):
    """The chosen quant type is not built without an importance matrix."""


class ImatrixError(FinR1Error):
    """An importance-matrix file is unreadable or does not match the model."""


class EvaluationError(FinR1Error):
    """Models cannot be compared: different vocabularies, a text too short, a failed evaluation."""


