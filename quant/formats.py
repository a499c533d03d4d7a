"""The one table of GGUF quantization types. Converter, quantizer, catalog, fit estimate and wizard
all read it; nothing else spells out a quant type's properties.

Sizes are for Fin-R1's shapes (7.62 B parameters), computed from llama.cpp's per-tensor rules; KLD
figures are llama.cpp's published Llama-3-8B proxy until measured on Fin-R1 (see the brief).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
    matrices get (k-quant and IQ mixes give some tensors a larger type).
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


QUANT_TYPES: tuple[QuantType, ...] = (
    QuantType("f32", "F32", 0, 32.0, ImatrixNeed.NONE, 30.46, True, "F32", 0.0,
              "full precision; for checking conversions, not for chat"),
    QuantType("bf16", "BF16", 32, 16.0, ImatrixNeed.NONE, 15.23, True, "BF16", 0.0,
              "lossless; the source for every other type"),
    QuantType("f16", "F16", 1, 16.0, ImatrixNeed.NONE, 15.23, True, "F16", 0.0,
              "refused when a weight overflows float16"),
    QuantType("q8_0", "Q8_0", 7, 8.5, ImatrixNeed.NONE, 8.09, True, "Q8_0", 0.001,
              "near-lossless"),
    QuantType("q6_k", "Q6_K", 18, 6.56, ImatrixNeed.NONE, 6.25, False, "Q6_K", 0.005,
              "very close to the original"),
    QuantType("q4_k_m", "Q4_K_M", 15, 4.91, ImatrixNeed.HELPS, 4.68, False, "Q4_K",
              0.031, "the usual choice for laptops and workstations"),
    QuantType("q4_k_s", "Q4_K_S", 14, 4.68, ImatrixNeed.HELPS, 4.45, False, "Q4_K",
              0.043, "a little smaller than Q4_K_M; an importance matrix helps a lot"),
    QuantType("iq3_m", "IQ3_M", 27, 3.75, ImatrixNeed.HELPS, 3.57, False, "IQ3_S",
              0.10, "for 6 GB machines; needs an importance matrix for good quality"),
    QuantType("iq3_s", "IQ3_S", 26, 3.67, ImatrixNeed.HELPS, 3.49, False, "IQ3_S",
              0.11, "for 6 GB machines; needs an importance matrix for good quality"),
    QuantType("iq3_xs", "IQ3_XS", 22, 3.51, ImatrixNeed.REQUIRED, 3.34, False,
              "IQ3_XXS", 0.14, "smallest; only built with an importance matrix"),
)

_BY_NAME = {quant_type.name: quant_type for quant_type in QUANT_TYPES}
_BY_FTYPE = {quant_type.llama_ftype: quant_type for quant_type in QUANT_TYPES}

CONVERT_OUTTYPES: tuple[str, ...] = tuple(
    quant_type.name for quant_type in QUANT_TYPES if quant_type.converter_writes
)
QUANTIZE_TYPES: tuple[str, ...] = tuple(
    quant_type.name for quant_type in QUANT_TYPES if quant_type.bits_per_weight < 16
)


def quant_type(name: str) -> QuantType:
    """The row for ``name`` (case-insensitive, e.g. ``"Q4_K_M"``); KeyError lists the known names."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise KeyError(f"unknown quant type {name!r}; known types: {known}") from None


def quant_type_for_ftype(llama_ftype: int) -> QuantType | None:
    """The row whose ``general.file_type`` is ``llama_ftype``, or None for types outside the table."""
    return _BY_FTYPE.get(llama_ftype)
