"""Every failure a person can cause gets its own exception class with a message saying what to do.

All derive from ``FinR1Error`` so the CLI and GUI can catch one type and show ``str(error)``.
"""

from __future__ import annotations


class FinR1Error(Exception):
    """Base of all errors meant to be shown to a person as they are."""


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


class DiskFullError(FinR1Error):
    """The output disk ran out of space while writing."""


class NotEnoughDiskSpaceError(DiskFullError):
    """A disk lacks the space an operation needs, checked before it starts."""


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


class TextInputError(FinR1Error):
    """A text file handed to a command (a reply to parse, a prompt) cannot be read as UTF-8 text."""


class InvalidSettingError(FinR1Error):
    """An engine or generation setting (context size, GPU layers, temperature…) is out of range."""


class OutputPathError(FinR1Error):
    """An output path names a folder, or a place that cannot be written (read-only, no access)."""


class ModelLoadError(FinR1Error):
    """llama.cpp could not load a model file or create its context (memory, unsupported model)."""


class ChatTemplateError(FinR1Error):
    """A model file's chat template is unsafe, broken or cannot render the conversation."""


class ContextOverflowError(FinR1Error):
    """The system prompt, the question and the reply reserve do not fit in the context window."""


class GenerationError(FinR1Error):
    """llama.cpp failed while evaluating the prompt or generating the reply."""


class EvaluationError(FinR1Error):
    """Models cannot be compared: different vocabularies, a text too short, a failed evaluation."""


EXCERPT_CHARS = 48


def quoted_excerpt(text: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """File content as it may appear in an error message: quoted, at most ``limit`` characters
    (then "…"), every unprintable character escaped, so a damaged name never floods a terminal
    or a log with raw bytes. Bytes are read as UTF-8, undecodable ones shown as U+FFFD."""
    if isinstance(text, str) and len(text) <= limit and text.isprintable():
        return f"'{text}'"  # the common case, without a step per character
    cut = False
    if isinstance(text, bytes):
        cut = len(text) > limit * 4  # a character is at most 4 bytes of UTF-8
        text = text[:limit * 4].decode("utf-8", errors="replace")
    cut = cut or len(text) > limit
    escaped = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
                      for char in text[:limit])
    return f"'{escaped}'" + ("…" if cut else "")
