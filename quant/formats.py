"""The one table of GGUF quantization types. Converter, quantizer, catalog, fit estimate and wizard
all read it; nothing else spells out a quant type's properties.

Sizes are for Fin-R1's shapes (7.62 B parameters), computed from llama.cpp's per-tensor rules; KLD
figures are llama.cpp's published Llama-3-8B proxy until measured on Fin-R1 (see the brief).

A file may keep its output and token-embedding matrices at another tensor type than its file type
gives them (llama-quantize's ``--output-tensor-type`` / ``--token-embedding-type``; uploads such as
``Fin-R1-bf16-q8_0.gguf``): ``TensorMix`` names such a choice, ``MIX_TENSOR_TYPES`` the types
offered for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

# Fin-R1 (Qwen2.5-7B) keeps separate output and token-embedding matrices of vocabulary x hidden
FIN_R1_EMBEDDING_PARAMETERS = 152_064 * 3_584


class ImatrixNeed(enum.Enum):
    """How much a quant type depends on an importance matrix."""

    NONE = "none"  # makes no difference (float and q8_0 types)
    HELPS = "helps"  # builds without one; quality improves with one
    REQUIRED = "required"  # refused without one: quality collapses


@dataclass(frozen=True)
class QuantType:
    """One row of the table.

    ``name`` is the lower-case id used on the command line and in file names; ``llama_ftype`` is
    llama.cpp's ``LLAMA_FTYPE_*`` value, which also lands in ``general.file_type``;
    ``converter_writes`` says the numpy converter can write it directly (float types and q8_0, which
    gguf-py quantizes bit-exactly); every type below 16 bits can also be made by libllama's
    quantizer from a bf16/f16/f32 GGUF. ``main_tensor_type`` is the ggml type most large weight
    matrices get (k-quant and IQ mixes give some tensors a larger type); ``output_tensor_type`` and
    ``embedding_tensor_type`` are what llama.cpp gives ``output.weight`` and ``token_embd.weight``
    in a model shaped like Fin-R1 (separate matrices, rows a multiple of 256) unless told
    otherwise. ``aliases`` are other names llama-quantize accepts for the type (``q4_k``).
    """

    name: str
    label: str
    llama_ftype: int
    bits_per_weight: float
    imatrix: ImatrixNeed
    fin_r1_gb: float
    converter_writes: bool
    main_tensor_type: str
    kld_proxy: float | None
    note: str
    output_tensor_type: str
    embedding_tensor_type: str
    aliases: tuple[str, ...] = ()

    def fin_r1_bytes(self, mix: TensorMix | None = None) -> int:
        """Expected size of Fin-R1 in this type, with its output and embeddings kept as ``mix``
        says (llama.cpp's choice where it says nothing)."""
        size = self.fin_r1_gb * 1e9
        if mix is not None:
            for chosen, default in ((mix.output, self.output_tensor_type),
                                    (mix.embeddings, self.embedding_tensor_type)):
                if chosen is not None:
                    extra_bits = chosen.bits_per_weight - ggml_bits_per_weight(default)
                    size += FIN_R1_EMBEDDING_PARAMETERS * extra_bits / 8
        return round(size)


QUANT_TYPES: tuple[QuantType, ...] = (
    QuantType("f32", "F32", 0, 32.0, ImatrixNeed.NONE, 30.46, True, "F32", 0.0,
              "full precision; for checking conversions, not for chat", "F32", "F32"),
    QuantType("bf16", "BF16", 32, 16.0, ImatrixNeed.NONE, 15.23, True, "BF16", 0.0,
              "lossless; the source for every other type", "BF16", "BF16"),
    QuantType("f16", "F16", 1, 16.0, ImatrixNeed.NONE, 15.23, True, "F16", 0.0,
              "refused when a weight overflows float16", "F16", "F16"),
    QuantType("q8_0", "Q8_0", 7, 8.5, ImatrixNeed.NONE, 8.09, True, "Q8_0", 0.001,
              "near-lossless", "Q8_0", "Q8_0"),
    QuantType("q6_k", "Q6_K", 18, 6.56, ImatrixNeed.NONE, 6.25, False, "Q6_K", 0.005,
              "very close to the original", "Q6_K", "Q6_K"),
    QuantType("q4_k_m", "Q4_K_M", 15, 4.91, ImatrixNeed.HELPS, 4.68, False, "Q4_K",
              0.031, "the usual choice for laptops and workstations", "Q6_K", "Q4_K",
              aliases=("q4_k",)),
    QuantType("q4_k_s", "Q4_K_S", 14, 4.68, ImatrixNeed.HELPS, 4.45, False, "Q4_K",
              0.043, "a little smaller than Q4_K_M; an importance matrix helps a lot", "Q6_K",
              "Q4_K"),
    QuantType("iq3_m", "IQ3_M", 27, 3.75, ImatrixNeed.HELPS, 3.57, False, "IQ3_S",
              0.10, "for 6 GB machines; needs an importance matrix for good quality", "Q6_K",
              "IQ3_S"),
    QuantType("iq3_s", "IQ3_S", 26, 3.67, ImatrixNeed.HELPS, 3.49, False, "IQ3_S",
              0.11, "for 6 GB machines; needs an importance matrix for good quality", "Q6_K",
              "IQ3_S"),
    QuantType("iq3_xs", "IQ3_XS", 22, 3.51, ImatrixNeed.REQUIRED, 3.34, False,
              "IQ3_XXS", 0.14, "smallest; only built with an importance matrix", "Q6_K",
              "IQ3_S"),
)

_BY_NAME = {name: quant_type for quant_type in QUANT_TYPES
            for name in (quant_type.name, *quant_type.aliases)}
_BY_FTYPE = {quant_type.llama_ftype: quant_type for quant_type in QUANT_TYPES}

CONVERT_OUTTYPES: tuple[str, ...] = tuple(
    quant_type.name for quant_type in QUANT_TYPES if quant_type.converter_writes
)
QUANTIZE_TYPES: tuple[str, ...] = tuple(
    quant_type.name for quant_type in QUANT_TYPES if quant_type.bits_per_weight < 16
)


def quant_type(name: str) -> QuantType:
    """The row for ``name`` or one of its aliases (case-insensitive, e.g. ``"Q4_K_M"``, ``"q4_k"``);
    KeyError lists the known names."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(quant.name for quant in QUANT_TYPES)
        raise KeyError(f"unknown quant type {name!r}; known types: {known}") from None


def quant_type_for_ftype(llama_ftype: int) -> QuantType | None:
    """The row whose ``general.file_type`` is ``llama_ftype``, or None for types outside the table."""
    return _BY_FTYPE.get(llama_ftype)


def ggml_bits_per_weight(ggml_label: str) -> float:
    """Bits per weight of the ggml tensor type named ``ggml_label`` (``"Q6_K"`` → 6.5625), from
    gguf's block sizes."""
    block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType[ggml_label.upper()]]
    return type_size * 8 / block_size


@dataclass(frozen=True)
class TensorType:
    """A ggml tensor type a file's output or token-embedding matrix can be kept at: ``name`` as
    typed on the command line (``q8_0``), ``label`` as llama.cpp and gguf spell it (``Q8_0``),
    ``ggml_type`` its ``GGML_TYPE_*`` value."""

    name: str
    label: str
    ggml_type: int

    @property
    def bits_per_weight(self) -> float:
        return ggml_bits_per_weight(self.label)


MIX_TENSOR_TYPES: tuple[TensorType, ...] = tuple(
    TensorType(label.lower(), label, GGMLQuantizationType[label].value)
    for label in ("F32", "BF16", "F16", "Q8_0", "Q6_K", "Q5_K", "Q4_K")
)
_TENSOR_TYPES_BY_NAME = {tensor.name: tensor for tensor in MIX_TENSOR_TYPES}


def tensor_type(name: str) -> TensorType:
    """The ``MIX_TENSOR_TYPES`` entry for ``name`` (case-insensitive); KeyError lists them."""
    try:
        return _TENSOR_TYPES_BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(_TENSOR_TYPES_BY_NAME)
        raise KeyError(f"unknown tensor type {name!r} for the output or embeddings; choose one "
                       f"of {known}") from None


@dataclass(frozen=True)
class TensorMix:
    """The tensor types a file keeps ``output.weight`` and ``token_embd.weight`` at instead of
    those its file type gives them; None: the file type's choice. ``TensorMix()`` is no mix."""

    output: TensorType | None = None
    embeddings: TensorType | None = None

    def __bool__(self) -> bool:
        return self.output is not None or self.embeddings is not None

    def describe(self) -> str:
        """``output & embeddings BF16``, ``output Q8_0, embeddings Q6_K``, or "" for no mix."""
        if self.output is not None and self.output == self.embeddings:
            return f"output & embeddings {self.output.label}"
        parts = [f"{what} {chosen.label}" for what, chosen in
                 (("output", self.output), ("embeddings", self.embeddings)) if chosen is not None]
        return ", ".join(parts)

    def label(self, quant: QuantType) -> str:
        """How a person reads a file of ``quant`` with this mix: ``Q8_0 (output & embeddings
        BF16)``, or just ``Q8_0``."""
        return f"{quant.label} ({self.describe()})" if self else quant.label
