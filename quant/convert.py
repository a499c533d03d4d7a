"""Hugging Face checkpoint folder → GGUF (f32, bf16, f16 or q8_0), streamed tensor by tensor.

Memory stays bounded by one chunk of rows (``chunk_bytes``, 64 MiB by default) whatever the model
size: tensors are read with positioned reads, converted, and appended to the output, which is
written under a temporary name and renamed only when complete. The only exception is a tensor an
architecture must reorder whole (Llama's q/k projections, a few tens of MB for a 7B model).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import gguf
import numpy as np

from foundation.atomic import atomic_output
from foundation.disk_space import require_free_space
from foundation.jobs import CancelToken, Progress, ProgressCallback, ignore_progress
from foundation.output_path import check_output_file
from quant.architectures import IGNORED_TENSOR_SUFFIXES, Architecture, architecture_for
from quant.byte_copy import copy_range
from quant.checkpoint_config import ModelShape, read_model_shape
from quant.errors import ConfigMismatchError, F16OverflowError, MissingFileError
from quant.formats import CONVERT_OUTTYPES, quant_type
from quant.gguf_check import validate_gguf
from quant.gguf_fast_writer import FastArrayGGUFWriter
from quant.safetensors_reader import (
    TensorSource,
    checkpoint_tensors,
    iter_raw_row_chunks,
    to_float32,
)
from quant.tokenizer_gguf import TokenizerMetadata, read_tokenizer_metadata

DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
F16_MAX = 65504.0
_OUT_TYPE_FOR_OUTTYPE = {
    "f32": gguf.GGMLQuantizationType.F32,
    "bf16": gguf.GGMLQuantizationType.BF16,
    "f16": gguf.GGMLQuantizationType.F16,
    "q8_0": gguf.GGMLQuantizationType.Q8_0,
}
# The source dtype whose raw bytes already are the output type: copied without conversion.
_SAME_BITS = {
    ("BF16", gguf.GGMLQuantizationType.BF16),
    ("F16", gguf.GGMLQuantizationType.F16),
    ("F32", gguf.GGMLQuantizationType.F32),
}


@dataclass(frozen=True)
class TensorPlan:
    """One output tensor: where it comes from and what it becomes."""

    hf_name: str
    gguf_name: str
    source: TensorSource
    out_type: gguf.GGMLQuantizationType

    @property
    def out_nbytes(self) -> int:
        block_size, type_size = gguf.GGML_QUANT_SIZES[self.out_type]
        return self.source.element_count // block_size * type_size


@dataclass(frozen=True)
class ConversionPlan:
    """Everything decided before a byte is written; ``convert_checkpoint`` only executes it."""

    checkpoint_dir: Path
    outtype: str
    architecture: Architecture
    shape: ModelShape
    tokenizer: TokenizerMetadata
    tensors: tuple[TensorPlan, ...]

    @property
    def parameter_count(self) -> int:
        return sum(plan.source.element_count for plan in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        return sum(plan.out_nbytes for plan in self.tensors)


def plan_conversion(checkpoint_dir: Path, outtype: str = "bf16") -> ConversionPlan:
    """Read and check a checkpoint folder and decide every output tensor.

    Raises MissingFileError, UnsupportedArchitectureError, ConfigMismatchError, SafetensorsError,
    TokenizerError (all CheckpointError) with a message naming the problem; ValueError for an
    outtype the converter does not write.
    """
    checkpoint_dir = Path(checkpoint_dir)
    if outtype not in CONVERT_OUTTYPES:
        raise ValueError(f"outtype must be one of {', '.join(CONVERT_OUTTYPES)}, not {outtype!r}")
    if not checkpoint_dir.is_dir():
        raise MissingFileError(f"{checkpoint_dir} is not a folder.")
    shape = read_model_shape(checkpoint_dir)
    architecture = architecture_for(shape.architecture)
    sources = checkpoint_tensors(checkpoint_dir)
    expected = architecture.expected_tensor_shapes(shape)
    _check_tensor_set(sources, expected, shape)
    out_type = _OUT_TYPE_FOR_OUTTYPE[outtype]
    tensors = tuple(
        TensorPlan(
            hf_name=name,
            gguf_name=architecture.gguf_tensor_name(name, shape.layer_count),
            source=sources[name],
            out_type=_tensor_out_type(sources[name], out_type),
        )
        for name in expected
    )
    tokenizer = read_tokenizer_metadata(checkpoint_dir, shape, architecture.default_pre_tokenizer)
    return ConversionPlan(checkpoint_dir, outtype, architecture, shape, tokenizer, tensors)


def _check_tensor_set(sources: dict[str, TensorSource], expected: dict[str, tuple[int, ...]],
                      shape: ModelShape) -> None:
    present = {name for name in sources if not name.endswith(IGNORED_TENSOR_SUFFIXES)}
    if shape.tie_word_embeddings:
        present.discard("lm_head.weight")  # tied: llama.cpp reuses the embedding
    missing = sorted(set(expected) - present)
    if missing:
        raise ConfigMismatchError(
            f"the checkpoint lacks {len(missing)} tensor(s) config.json implies, e.g. "
            f"{', '.join(missing[:5])}; the download is incomplete or config.json is wrong."
        )
    unexpected = sorted(present - set(expected))
    if unexpected:
        raise ConfigMismatchError(
            f"the checkpoint has {len(unexpected)} tensor(s) config.json does not account for, "
            f"e.g. {', '.join(unexpected[:5])}."
        )
    for name, expected_shape in expected.items():
        if sources[name].shape != expected_shape:
            raise ConfigMismatchError(
                f"tensor {name} has shape {list(sources[name].shape)} but config.json implies "
                f"{list(expected_shape)}."
            )


def _tensor_out_type(source: TensorSource, requested: gguf.GGMLQuantizationType,
                     ) -> gguf.GGMLQuantizationType:
    """llama.cpp's converter rule: vectors (norms, biases) stay F32; a matrix whose rows do not
    split into Q8_0 blocks falls back to F16."""
    if len(source.shape) < 2:
        return gguf.GGMLQuantizationType.F32
    block_size, _ = gguf.GGML_QUANT_SIZES[requested]
    if source.shape[-1] % block_size:
        return gguf.GGMLQuantizationType.F16
    return requested


def convert_checkpoint(checkpoint_dir: Path, output_path: Path, outtype: str = "bf16", *,
                       on_progress: ProgressCallback | None = None,
                       cancel: CancelToken | None = None,
                       chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Path:
    """Convert a Hugging Face checkpoint folder to one GGUF file at ``output_path``.

    Progress is reported in output bytes (stage ``"convert"``). On any error or cancellation no
    file is left at ``output_path`` (nor a temporary one). Raises OutputPathError (``output_path``
    is a folder or cannot be written; before reading the checkpoint), the CheckpointError
    subclasses of ``plan_conversion``, F16OverflowError (naming the tensor),
    NotEnoughDiskSpaceError (before writing) or DiskFullError (the disk filled up while writing),
    JobCancelled.
    """
    output_path = check_output_file(output_path, "the converted model", "model.gguf")
    plan = plan_conversion(checkpoint_dir, outtype)
    require_free_space(output_path, plan.tensor_bytes, "the converted model",
                       remedy="write it to a folder on a larger disk")
    writer = _writer_with_metadata(plan)
    report = on_progress or ignore_progress
    with atomic_output(output_path) as temp_path:
        _write_header(writer, temp_path)
        with open(temp_path, "r+b", buffering=0) as output:
            output.seek(0, os.SEEK_END)
            _write_tensor_data(output, plan, report, cancel, chunk_bytes)
        _verify_output(temp_path, plan)
    return output_path


def _verify_output(path: Path, plan: ConversionPlan) -> None:
    """Read the written file back through the validator every loader uses before renaming it."""
    written = validate_gguf(path)
    if written.tensor_count != len(plan.tensors) or written.file_type != quant_type(
            plan.outtype).llama_ftype:
        raise AssertionError(f"converter wrote {written.tensor_count} tensors of file type "
                             f"{written.file_type}; planned {len(plan.tensors)} of {plan.outtype}")


def _write_header(writer: gguf.GGUFWriter, path: Path) -> None:
    """gguf-py writes header, key/values and tensor infos; the data we append ourselves."""
    try:
        writer.write_header_to_file(path)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
    finally:
        writer.close()


def _writer_with_metadata(plan: ConversionPlan) -> gguf.GGUFWriter:
    writer = FastArrayGGUFWriter(path=None, arch=plan.architecture.gguf_arch_name)
    writer.add_type(gguf.GGUFType.MODEL)
    model_metadata = gguf.Metadata.load(
        model_path=plan.checkpoint_dir, total_params=plan.parameter_count
    )
    if model_metadata.name is None:
        model_metadata.name = plan.checkpoint_dir.resolve().name
    if model_metadata.size_label is None:
        model_metadata.size_label = gguf.size_label(plan.parameter_count, plan.parameter_count, 0, 0)
    model_metadata.set_gguf_meta_model(writer)
    plan.architecture.write_hyperparameters(writer, plan.shape)
    writer.add_file_type(quant_type(plan.outtype).llama_ftype)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    plan.tokenizer.write(writer)
    for tensor in plan.tensors:
        writer.add_tensor_info(
            tensor.gguf_name, tensor.source.shape, np.dtype(np.float32), tensor.out_nbytes,
            raw_dtype=tensor.out_type,
        )
    return writer


def _write_tensor_data(output: BinaryIO, plan: ConversionPlan, report: ProgressCallback,
                       cancel: CancelToken | None, chunk_bytes: int) -> None:
    """Append each tensor's bytes, aligned as the tensor infos promised (offsets relative to the
    aligned start of the data section, each tensor padded to the alignment)."""
    bytes_done, bytes_total = 0, plan.tensor_bytes
    for tensor in plan.tensors:
        if cancel is not None:
            cancel.raise_if_cancelled("conversion")
        _pad_to_alignment(output)
        written = 0
        for piece_bytes in _write_tensor(output, tensor, plan, chunk_bytes):
            written += piece_bytes
            bytes_done += piece_bytes
            report(Progress("convert", bytes_done, bytes_total, "bytes", tensor.gguf_name))
            if cancel is not None:
                cancel.raise_if_cancelled("conversion")
        if written != tensor.out_nbytes:
            raise AssertionError(f"{tensor.gguf_name}: wrote {written} of {tensor.out_nbytes} bytes")
    _pad_to_alignment(output)


def _pad_to_alignment(output: BinaryIO) -> None:
    position = output.tell()
    output.write(b"\0" * (-position % gguf.GGUF_DEFAULT_ALIGNMENT))


def _write_tensor(output: BinaryIO, tensor: TensorPlan, plan: ConversionPlan,
                  chunk_bytes: int) -> Iterator[int]:
    """Write one tensor in pieces, yielding the bytes of each piece as it lands.

    Three paths: a tensor the architecture reorders is converted whole; one whose source bytes
    already are the output type is copied by the kernel; the rest are converted in row chunks.
    """
    source, architecture = tensor.source, plan.architecture
    if architecture.needs_whole_tensor(tensor.hf_name):
        raw = source.read_raw_rows(0, source.row_count).reshape(source.shape)
        encoded = encode_rows(architecture.transform(tensor.hf_name, raw, plan.shape),
                              source.dtype, tensor.out_type, tensor.hf_name)
        output.write(encoded.data.cast("B"))
        yield encoded.nbytes
    elif (source.dtype, tensor.out_type) in _SAME_BITS:
        with open(source.file_path, "rb", buffering=0) as source_file:
            for start in range(0, source.nbytes, chunk_bytes):
                length = min(chunk_bytes, source.nbytes - start)
                copy_range(source_file, source.offset + start, length, output)
                yield length
    else:
        for raw in iter_raw_row_chunks(source, chunk_bytes):
            encoded = encode_rows(raw, source.dtype, tensor.out_type, tensor.hf_name)
            output.write(encoded.data.cast("B"))
            yield encoded.nbytes


def encode_rows(raw: np.ndarray, source_dtype: str, out_type: gguf.GGMLQuantizationType,
                tensor_name: str) -> np.ndarray:
    """Encode rows given in the source dtype (bf16 as uint16 bits) as ``out_type`` bytes.

    Same-type copies are bit-exact; BF16 rounds to nearest even and Q8_0 matches ggml bit for bit
    (both through gguf-py). Raises F16OverflowError when a finite value exceeds float16's range.
    """
    if (source_dtype, out_type) in _SAME_BITS:
        return np.ascontiguousarray(raw)
    values = to_float32(raw, source_dtype)
    if out_type == gguf.GGMLQuantizationType.F32:
        return values
    if out_type == gguf.GGMLQuantizationType.F16:
        _check_f16_range(values, tensor_name)
        return values.astype(np.float16)
    return gguf.quants.quantize(values, out_type)


def _check_f16_range(values: np.ndarray, tensor_name: str) -> None:
    magnitudes = np.abs(values)
    overflowing = magnitudes[(magnitudes > F16_MAX) & np.isfinite(magnitudes)]
    if overflowing.size:
        raise F16OverflowError(
            f"tensor {tensor_name} holds a value of magnitude {float(overflowing.max()):.6g}, "
            f"beyond float16's {F16_MAX:.0f}; an f16 file would turn it into infinity. "
            "Convert to bf16 instead."
        )
