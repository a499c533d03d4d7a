"""Reads tensors from .safetensors files without loading them whole.

A safetensors file is an 8-byte little-endian header length, a JSON header mapping tensor names to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative to the data area after the
header), then the raw little-endian data. Everything in the header is checked against the file's
real size before any data is read, so a truncated or malformed download is reported instead of
producing garbage weights.

Why not a library (measured with safetensors 0.8.0 and gguf 0.19 on the tiny test checkpoint, a
570 MB bf16 one from bench/convert.py and eleven hostile files; issue 14):

- ``safetensors`` with numpy cannot read BF16 at all (``TypeError: data type 'bfloat16' not
  understood``), the dtype Fin-R1 ships in, and exposes no byte offsets, which the bit-exact
  kernel copy in ``quant.convert`` needs.
- ``gguf.utility.SafetensorsLocal`` gives offsets but checks nothing: a data range that disagrees
  with the shape, a negative dimension or an I64 tensor load silently, and the rest fail as bare
  ValueError / KeyError / AttributeError / UnicodeDecodeError that do not name the file. Every check
  below would stay and its exceptions would need translating, to save the fifteen lines that read
  the header. Streaming through its ``np.memmap`` converted the 570 MB checkpoint no faster (f16
  3.01 s vs 3.34 s here, q8_0 3.18 s vs 3.21 s, best of four on a busy 2-core machine: within
  noise) with a 61 MiB higher peak RSS.
"""

from __future__ import annotations

import io
import json
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quant.errors import MissingFileError, SafetensorsError

SINGLE_FILE = "model.safetensors"
SHARD_INDEX = "model.safetensors.index.json"

# Only the dtypes a checkpoint's weights come in; bf16 is read as raw uint16 bits.
SOURCE_DTYPES: dict[str, np.dtype] = {
    "BF16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
}
_MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class TensorSource:
    """Where one tensor's bytes lie: ``file_path`` from byte ``offset``, ``nbytes`` long."""

    name: str
    file_path: Path
    offset: int
    dtype: str
    shape: tuple[int, ...]

    @property
    def element_count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.element_count * SOURCE_DTYPES[self.dtype].itemsize

    @property
    def row_count(self) -> int:
        """Rows when viewed as a matrix of the last dimension (1 for a vector)."""
        return self.element_count // self.shape[-1] if self.shape else 1

    def read_raw_rows(self, first_row: int, row_count: int) -> np.ndarray:
        """Rows ``[first_row, first_row + row_count)`` in the file's own dtype (bf16 as uint16
        bits), shape (row_count, last dim). Reads only those bytes, so memory stays bounded by the
        chunk."""
        row_elements = self.shape[-1] if self.shape else 1
        dtype = SOURCE_DTYPES[self.dtype]
        start = self.offset + first_row * row_elements * dtype.itemsize
        nbytes = row_count * row_elements * dtype.itemsize
        return read_exact(self.file_path, start, nbytes).view(dtype).reshape(row_count, row_elements)

    def read_all(self) -> np.ndarray:
        """The whole tensor widened to float32, in its own shape."""
        return to_float32(self.read_raw_rows(0, self.row_count), self.dtype).reshape(self.shape)


def to_float32(values: np.ndarray, dtype: str) -> np.ndarray:
    """Widen raw source values (bf16 given as uint16 bits) to float32, exactly."""
    if dtype == "BF16":
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32, copy=False)


def read_exact(path: Path, offset: int, nbytes: int) -> np.ndarray:
    """Read exactly ``nbytes`` at ``offset`` into a new uint8 array; SafetensorsError if short."""
    buffer = np.empty(nbytes, dtype=np.uint8)
    with open(path, "rb", buffering=0) as handle:
        _read_into(handle, offset, buffer, path)
    return buffer


def _read_into(handle: io.RawIOBase, offset: int, buffer: np.ndarray, path: Path) -> None:
    view = buffer.data.cast("B")
    handle.seek(offset)
    got = 0
    while got < len(view):
        more = handle.readinto(view[got:])
        if not more:
            raise SafetensorsError(
                f"{path.name} ended early while reading {len(view)} bytes at offset {offset}: the "
                "file is truncated; download it again."
            )
        got += more


def read_safetensors_header(path: Path) -> dict[str, TensorSource]:
    """Parse and check one file's header; returns its tensors by name.

    Raises SafetensorsError naming the file when the header is malformed, a dtype is unsupported,
    a tensor's byte range disagrees with its shape, or the data extends past the end of the file.
    """
    file_size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise SafetensorsError(f"{path.name} is {file_size} bytes: too short to be safetensors.")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > min(_MAX_HEADER_BYTES, file_size - 8):
            raise SafetensorsError(
                f"{path.name}: header length {header_length} does not fit in the file "
                f"({file_size} bytes); the file is truncated or not safetensors."
            )
        header_bytes = handle.read(header_length)
    try:
        header = json.loads(header_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path.name}: header is not valid JSON ({error}).") from error
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path.name}: header is not a JSON object.")
    data_start = 8 + header_length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor_from_entry(path, name, entry, data_start, file_size)
    return tensors


def _tensor_from_entry(path: Path, name: str, entry: object, data_start: int,
                       file_size: int) -> TensorSource:
    try:
        dtype = entry["dtype"]  # type: ignore[index]
        shape = tuple(int(dim) for dim in entry["shape"])  # type: ignore[index]
        begin, end = (int(value) for value in entry["data_offsets"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError) as error:
        raise SafetensorsError(f"{path.name}: tensor {name} has a malformed header entry.") from error
    if dtype not in SOURCE_DTYPES:
        raise SafetensorsError(
            f"{path.name}: tensor {name} is {dtype}; only BF16, F16 and F32 weights are supported."
        )
    source = TensorSource(name, path, data_start + begin, dtype, shape)
    if any(dim < 0 for dim in shape) or end - begin != source.nbytes:
        raise SafetensorsError(
            f"{path.name}: tensor {name} has shape {list(shape)} ({source.nbytes} bytes of {dtype}) "
            f"but its data range is {end - begin} bytes."
        )
    if data_start + end > file_size:
        raise SafetensorsError(
            f"{path.name} is truncated: tensor {name} needs bytes up to {data_start + end} but the "
            f"file has {file_size}. Download the file again."
        )
    return source


def checkpoint_weight_files(checkpoint_dir: Path) -> list[Path]:
    """The checkpoint's weight files: the shards named by the index, or the single file.

    Raises MissingFileError when neither exists or the index names a shard that is absent.
    """
    index_path = checkpoint_dir / SHARD_INDEX
    if index_path.is_file():
        try:
            weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
            shard_names = sorted(set(weight_map.values()))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise SafetensorsError(f"{SHARD_INDEX} is not a valid shard index ({error}).") from error
        missing = [name for name in shard_names if not (checkpoint_dir / name).is_file()]
        if missing:
            raise MissingFileError(
                f"{checkpoint_dir} is missing weight shard(s) {', '.join(missing)} listed in "
                f"{SHARD_INDEX}; download them too."
            )
        return [checkpoint_dir / name for name in shard_names]
    single = checkpoint_dir / SINGLE_FILE
    if single.is_file():
        return [single]
    raise MissingFileError(
        f"{checkpoint_dir} has no weights: expected {SINGLE_FILE} or {SHARD_INDEX} with its shards."
    )


def checkpoint_tensors(checkpoint_dir: Path) -> dict[str, TensorSource]:
    """Every tensor of the checkpoint by name, headers checked; SafetensorsError on duplicates."""
    tensors: dict[str, TensorSource] = {}
    for file_path in checkpoint_weight_files(checkpoint_dir):
        for name, source in read_safetensors_header(file_path).items():
            if name in tensors:
                raise SafetensorsError(
                    f"tensor {name} appears in both {tensors[name].file_path.name} and "
                    f"{file_path.name}."
                )
            tensors[name] = source
    return tensors


def iter_raw_row_chunks(source: TensorSource, max_chunk_bytes: int) -> Iterator[np.ndarray]:
    """Yield the tensor as blocks of whole rows in its own dtype, each at most about
    ``max_chunk_bytes`` (at least one row).

    Every block is a view of one buffer reused for the next block (fresh buffers cost a page
    fault per 4 KiB), so use each block before asking for the next.
    """
    dtype = SOURCE_DTYPES[source.dtype]
    row_elements = source.shape[-1] if source.shape else 1
    row_bytes = row_elements * dtype.itemsize
    rows_per_chunk = max(1, min(source.row_count, max_chunk_bytes // max(row_bytes, 1)))
    buffer = np.empty(rows_per_chunk * row_bytes, dtype=np.uint8)
    with open(source.file_path, "rb", buffering=0) as handle:
        for first_row in range(0, source.row_count, rows_per_chunk):
            row_count = min(rows_per_chunk, source.row_count - first_row)
            block = buffer[: row_count * row_bytes]
            _read_into(handle, source.offset + first_row * row_bytes, block, source.file_path)
            yield block.view(dtype).reshape(row_count, row_elements)
