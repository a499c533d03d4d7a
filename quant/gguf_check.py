"""Check that a file is a well-formed GGUF before llama.cpp is handed it, and describe it.

llama.cpp trusts the numbers in a GGUF header; a truncated download or a damaged file can make it
fail deep inside native code. Every GGUF in the app passes through ``validate_gguf`` first, so such
a file gives one clear ``GGUFValidationError`` instead.

The reader trusts nothing in the file: every count, length and offset is checked against the file's
size before it is used, and only the header (metadata and tensor descriptions) is read, through a
memory map; tensor data is never touched. The rules mirror what llama.cpp's ``gguf.cpp`` and model
loader require, so a file that passes here is one llama.cpp can at least open. Type facts (value
types, ggml tensor types and their block sizes) come from the ``gguf`` package. On top of the
structure, ``quant.llama_rules`` checks the values llama.cpp asserts on (an assert aborts the whole
process): hyperparameter ranges, unique token texts, the tensor types each tensor role allows.

Every string is bounded by its kind before a byte of it is copied or decoded (key names, tensor
names, items of string arrays such as token texts, chat templates, other values), so one inflated
length cannot make the reader decode the rest of the file; and messages show file content only as
a short escaped excerpt (``quant.errors.quoted_excerpt``).

Layout (little-endian): magic ``GGUF``, u32 version, u64 tensor count, u64 key count; then per key a
string key, u32 value type and the value (an array is u32 item type, u64 length, items; a string is
u64 byte length and bytes); then per tensor a string name, u32 dimension count, u64 per dimension,
u32 ggml type and u64 offset; then, aligned, the tensor data, each tensor at its offset.
"""

from __future__ import annotations

import contextlib
import mmap
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, LlamaFileType

from foundation.errors import quoted_excerpt
from quant.errors import GGUFValidationError
from quant.formats import QuantType, quant_type_for_ftype
from quant.llama_rules import TOKENS_KEY, check_llama_rules

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_TENSOR_NAME_BYTES = 63  # GGML_MAX_NAME is 64 bytes including the terminating NUL
# Bounds by kind, below llama.cpp's 1 GiB for any string (GGUF_MAX_STRING_LENGTH) and far above
# what real files hold: llama.cpp's longest key name is under 64 bytes, real token texts and
# merges under 1 KiB, chat templates under 100 KiB; the largest other value seen in the wild is a
# whole tokenizer.json (tokenizer.huggingface.json, tens of MB).
MAX_KEY_NAME_BYTES = 256
MAX_ARRAY_STRING_BYTES = 64 * 1024  # each item of a string array (token texts, merges, tags)
MAX_TEMPLATE_BYTES = 1 << 20  # tokenizer.chat_template and its named variants
MAX_STRING_VALUE_BYTES = 64 << 20  # any other string value
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
MAX_ARRAY_ITEMS = 1 << 30  # GGUF_MAX_ARRAY_ELEMENTS
# Each item of a string array costs a step of Python here and an object in llama.cpp; real
# vocabularies and merge lists hold at most about 300,000.
MAX_STRING_ARRAY_ITEMS = 1 << 21
MAX_TENSOR_ELEMENTS = (1 << 63) - 1  # ggml counts elements in int64

# Versions above this are noise in a damaged header rather than a future format.
_PLAUSIBLE_VERSION_LIMIT = 255
_HEADER_BYTES = 4 + 4 + 8 + 8
# The smallest possible entries, used to bound the counts in the header by the file size.
_MIN_KEY_VALUE_BYTES = 8 + 1 + 4 + 1  # key length, a 1-byte key, value type, a 1-byte value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8  # name length, dimension count, ggml type, offset

TRUNCATED = "the file is truncated; download or convert it again"
DAMAGED = "the file is damaged; download or convert it again"

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_SCALAR_FORMATS: dict[GGUFValueType, struct.Struct] = {
    GGUFValueType.UINT8: struct.Struct("<B"),
    GGUFValueType.INT8: struct.Struct("<b"),
    GGUFValueType.UINT16: struct.Struct("<H"),
    GGUFValueType.INT16: struct.Struct("<h"),
    GGUFValueType.UINT32: struct.Struct("<I"),
    GGUFValueType.INT32: struct.Struct("<i"),
    GGUFValueType.FLOAT32: struct.Struct("<f"),
    GGUFValueType.BOOL: struct.Struct("<B"),
    GGUFValueType.UINT64: struct.Struct("<Q"),
    GGUFValueType.INT64: struct.Struct("<q"),
    GGUFValueType.FLOAT64: struct.Struct("<d"),
}
_NUMPY_DTYPES: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<u1",
    GGUFValueType.INT8: "<i1",
    GGUFValueType.UINT16: "<u2",
    GGUFValueType.INT16: "<i2",
    GGUFValueType.UINT32: "<u4",
    GGUFValueType.INT32: "<i4",
    GGUFValueType.FLOAT32: "<f4",
    GGUFValueType.BOOL: "<u1",
    GGUFValueType.UINT64: "<u8",
    GGUFValueType.INT64: "<i8",
    GGUFValueType.FLOAT64: "<f8",
}
_INTEGER_TYPES = frozenset(_SCALAR_FORMATS) - {
    GGUFValueType.FLOAT32, GGUFValueType.FLOAT64, GGUFValueType.BOOL,
}
_KNOWN_VALUE_TYPES = ", ".join(f"{t.value} ({t.name.lower()})" for t in GGUFValueType)
_KNOWN_GGML_TYPES = ", ".join(GGMLQuantizationType(t).name for t in GGML_QUANT_SIZES)


@dataclass(frozen=True)
class MetadataArray:
    """An array-valued metadata key, summarised: read its items with ``read_metadata_value``."""

    item_type: str  # "string", "int32", "float32"… (GGUF value type names, lower case)
    length: int


MetadataValue = int | float | bool | str | MetadataArray


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the header describes it.

    ``shape`` is in GGUF order (innermost dimension first, as llama.cpp prints it); ``offset`` is
    relative to the start of the data section as written in the file, ``file_offset`` absolute.
    """

    name: str
    ggml_type: str
    shape: tuple[int, ...]
    offset: int
    file_offset: int
    nbytes: int

    @property
    def element_count(self) -> int:
        count = 1
        for dimension in self.shape:
            count *= dimension
        return count


@dataclass(frozen=True)
class GGUFInfo:
    """What ``validate_gguf`` found in a valid GGUF file.

    ``metadata`` holds every key: scalars and strings as values, arrays as ``MetadataArray``.
    ``quant_type`` is the row of ``quant.formats`` for ``file_type`` when the table has one.
    """

    path: Path
    size_bytes: int
    version: int
    alignment: int
    data_offset: int
    architecture: str | None
    name: str | None
    file_type: int | None
    quant_type: QuantType | None
    tensor_count: int
    tensor_type_histogram: dict[str, int]
    parameter_count: int
    context_length: int | None
    chat_template: str | None
    metadata: dict[str, MetadataValue]
    tensors: list[TensorInfo]

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template)

    @property
    def file_type_label(self) -> str | None:
        """The quant table's label (``Q4_K_M``), else llama.cpp's name for the file type."""
        if self.quant_type is not None:
            return self.quant_type.label
        if self.file_type is None:
            return None
        try:
            llama_name = LlamaFileType(self.file_type).name
        except ValueError:
            return f"unknown file type {self.file_type}"
        return llama_name.removeprefix("MOSTLY_").removeprefix("ALL_")


class _RawTensor(NamedTuple):
    """A tensor description as read, before its data offset is checked against the others."""

    name: str
    ggml_type: int
    shape: tuple[int, ...]
    offset: int


@dataclass(frozen=True)
class _KeyValue:
    """A parsed metadata entry; arrays keep where their items start so they can be read later."""

    value_type: GGUFValueType
    value: MetadataValue
    items_offset: int = 0


def validate_gguf(path: Path | str) -> GGUFInfo:
    """Check every structural rule llama.cpp relies on and describe the file.

    Reads only the header, through a read-only memory map. Raises ``GGUFValidationError`` naming
    what is wrong and where: a missing path, a folder, an empty or non-GGUF file, an unsupported
    version, a truncated or damaged header, a string longer than its kind allows, unknown value or
    tensor types, bad shapes, a misaligned, overlapping or out-of-file tensor, a well-known key of
    the wrong type, or a value llama.cpp would abort on (``quant.llama_rules``).
    """
    path = Path(path)
    with _mapped(path) as (buffer, size):
        parser = _HeaderParser(path, buffer, size)
        version, tensor_count, key_count = parser.read_preamble()
        key_values = parser.read_key_values(key_count)
        alignment = _alignment(path, key_values)
        tensors = parser.read_tensor_infos(tensor_count)
        data_offset = _align(parser.position, alignment) if tensor_count else parser.position
        placed = _place_tensors(path, size, tensors, data_offset, alignment)
        info = _describe(path, size, version, alignment, data_offset, key_values, placed)
        check_llama_rules(info, _ArrayReader(parser, key_values))
    return info


def read_metadata_value(
    path: Path | str, key: str
) -> MetadataValue | list[str] | np.ndarray | None:
    """The full value of metadata ``key``, or None when the file has no such key.

    Scalars and strings come back as Python values; string arrays as ``list[str]``; numeric and
    bool arrays as a numpy array (a copy; bool arrays as ``numpy.bool_``). Only the metadata
    section is parsed (and checked as in ``validate_gguf``); raises ``GGUFValidationError`` if it
    is malformed.
    """
    path = Path(path)
    with _mapped(path) as (buffer, size):
        parser = _HeaderParser(path, buffer, size)
        _version, _tensor_count, key_count = parser.read_preamble()
        key_values = parser.read_key_values(key_count)
        entry = key_values.get(key)
        if entry is None:
            return None
        if not isinstance(entry.value, MetadataArray):
            return entry.value
        return parser.read_array_items(key, entry)


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[tuple[mmap.mmap, int]]:
    """Map ``path`` read-only, turning every reason it cannot be read into GGUFValidationError."""
    try:
        if not path.exists():
            raise GGUFValidationError(f"{path}: no such file; check the path and try again")
        if path.is_dir():
            raise GGUFValidationError(
                f"{path} is a folder, not a GGUF file; choose the .gguf file inside it"
            )
        if not path.is_file():
            raise GGUFValidationError(f"{path} is not a regular file; choose a .gguf file")
        size = path.stat().st_size
        if size == 0:
            raise GGUFValidationError(
                f"{path} is empty (0 bytes): the download or conversion did not finish; "
                "download or convert it again"
            )
        with open(path, "rb") as file, \
                mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            yield buffer, len(buffer)
    except OSError as error:
        raise GGUFValidationError(
            f"{path} cannot be read ({error.strerror or error}); check that it exists and that "
            "you may read it"
        ) from error


def _align(position: int, alignment: int) -> int:
    return position + (-position % alignment)


class _HeaderParser:
    """A cursor over the mapped file that checks every read against the file's size."""

    def __init__(self, path: Path, buffer: mmap.mmap, size: int) -> None:
        self._path = path
        self._buffer = buffer
        self._size = size
        self.position = 0
        # The items of tokenizer.ggml.tokens, kept while they are stepped over (a second walk
        # over 150k items would cost several times as much) for quant.llama_rules.
        self.token_texts: list[bytes] = []

    def fail(self, message: str, advice: str = DAMAGED) -> GGUFValidationError:
        return GGUFValidationError(f"{self._path}: {message}: {advice}")

    def _truncated(self, what: str, start: int, needed: int) -> GGUFValidationError:
        return self.fail(
            f"{what} at byte {start} needs {needed} bytes but the file has only {self._size} bytes",
            TRUNCATED,
        )

    def _take(self, count: int, what: str) -> int:
        """Advance past ``count`` bytes and return where they start."""
        start = self.position
        if count > self._size - start:
            raise self._truncated(what, start, count)
        self.position = start + count
        return start

    def _unpack(self, layout: struct.Struct, what: str) -> int | float:
        start = self._take(layout.size, what)
        return layout.unpack_from(self._buffer, start)[0]

    def _u32(self, what: str) -> int:
        return int(self._unpack(_U32, what))

    def _u64(self, what: str) -> int:
        return int(self._unpack(_U64, what))

    def _string_bytes(self, what: str, limit: int, kind: str) -> bytes:
        """A length-prefixed string of at most ``limit`` bytes (checked before it is copied);
        ``kind`` names the limit in the message ("a key name")."""
        length_at = self.position
        length = self._u64(f"the length of {what}")
        if length > limit:
            raise self.fail(
                f"{what} at byte {length_at} claims {length} bytes; {kind} has at most {limit}"
            )
        start = self._take(length, what)
        return self._buffer[start:start + length]

    def _string(self, what: str, limit: int, kind: str) -> str:
        return self._string_bytes(what, limit, kind).decode("utf-8", errors="replace")

    def read_preamble(self) -> tuple[int, int, int]:
        """Magic, version and the two counts; returns (version, tensor_count, key_count)."""
        if self._size < 4 or self._buffer[:4] != GGUF_MAGIC:
            raise GGUFValidationError(f"{self._path}: {_not_gguf_reason(self._buffer[:64])}")
        self.position = len(GGUF_MAGIC)
        version = self._u32("the GGUF version")
        _check_version(self._path, version)
        tensor_count = self._u64("the tensor count")
        key_count = self._u64("the metadata key count")
        room = self._size - _HEADER_BYTES
        if tensor_count * _MIN_TENSOR_INFO_BYTES > room:
            raise self.fail(
                f"the header claims {tensor_count} tensors, but a file of {self._size} bytes can "
                f"describe at most {room // _MIN_TENSOR_INFO_BYTES}"
            )
        if key_count * _MIN_KEY_VALUE_BYTES > room:
            raise self.fail(
                f"the header claims {key_count} metadata keys, but a file of {self._size} bytes "
                f"can hold at most {room // _MIN_KEY_VALUE_BYTES}"
            )
        if tensor_count * _MIN_TENSOR_INFO_BYTES + key_count * _MIN_KEY_VALUE_BYTES > room:
            raise self.fail(
                f"the header claims {tensor_count} tensors and {key_count} metadata keys, more "
                f"than a file of {self._size} bytes can hold"
            )
        return version, tensor_count, key_count

    def read_key_values(self, key_count: int) -> dict[str, _KeyValue]:
        """Parse every metadata entry; array items are checked for bounds but not decoded."""
        key_values: dict[str, _KeyValue] = {}
        for index in range(key_count):
            key_start = self.position
            key = self._string(f"the name of metadata key #{index}", MAX_KEY_NAME_BYTES,
                               "a key name")
            if not key:
                raise self.fail(f"metadata key #{index} at byte {key_start} has an empty name")
            if key in key_values:
                raise self.fail(
                    f"metadata key {quoted_excerpt(key)} at byte {key_start} appears twice"
                )
            key_values[key] = self._read_value(key)
        return key_values

    def _value_type(self, key: str, what: str) -> GGUFValueType:
        start = self.position
        raw_type = self._u32(f"the {what} of metadata key {quoted_excerpt(key)}")
        try:
            return GGUFValueType(raw_type)
        except ValueError:
            raise self.fail(
                f"metadata key {quoted_excerpt(key)} has unknown {what} {raw_type} at byte "
                f"{start} (known: {_KNOWN_VALUE_TYPES})"
            ) from None

    def _read_value(self, key: str) -> _KeyValue:
        shown = quoted_excerpt(key)
        value_type = self._value_type(key, "value type")
        if value_type == GGUFValueType.STRING:
            limit, kind = _string_value_limit(key)
            return _KeyValue(value_type, self._string(f"the value of metadata key {shown}",
                                                      limit, kind))
        if value_type != GGUFValueType.ARRAY:
            return _KeyValue(value_type, self._scalar(value_type, shown))
        item_type = self._value_type(key, "array item type")
        if item_type == GGUFValueType.ARRAY:
            raise self.fail(
                f"metadata key {shown} is an array of arrays, which llama.cpp cannot read"
            )
        length = self._u64(f"the array length of metadata key {shown}")
        if length > MAX_ARRAY_ITEMS:
            raise self.fail(
                f"metadata key {shown} claims {length} array items, more than the "
                f"{MAX_ARRAY_ITEMS} llama.cpp accepts"
            )
        items_offset = self.position
        if item_type == GGUFValueType.STRING:
            if length > MAX_STRING_ARRAY_ITEMS:
                raise self.fail(
                    f"metadata key {shown} claims {length} strings; a string array has at most "
                    f"{MAX_STRING_ARRAY_ITEMS}"
                )
            keep = self.token_texts if key == TOKENS_KEY else None
            self._skip_strings(shown, length, keep)
        else:
            item_bytes = _SCALAR_FORMATS[item_type].size
            self._take(length * item_bytes, f"the items of metadata key {shown}")
        summary = MetadataArray(item_type.name.lower(), length)
        return _KeyValue(item_type, summary, items_offset)

    def _scalar(self, value_type: GGUFValueType, shown_key: str) -> int | float | bool:
        value = self._unpack(_SCALAR_FORMATS[value_type], f"the value of metadata key {shown_key}")
        return value != 0 if value_type == GGUFValueType.BOOL else value

    def _skip_strings(self, shown_key: str, count: int, keep: list[bytes] | None = None) -> None:
        """Step over ``count`` length-prefixed strings, each at most ``MAX_ARRAY_STRING_BYTES``,
        appending them to ``keep`` when given; the hot loop of a 150k-token vocabulary."""
        buffer, size = self._buffer, self._size
        unpack_length = _U64.unpack_from
        position = self.position
        for index in range(count):
            if position + 8 > size:
                raise self._truncated(f"item #{index} of metadata key {shown_key}", position, 8)
            length = unpack_length(buffer, position)[0]
            if length > MAX_ARRAY_STRING_BYTES:
                raise self.fail(
                    f"item #{index} of metadata key {shown_key} at byte {position} claims "
                    f"{length} bytes; an item of a string array has at most "
                    f"{MAX_ARRAY_STRING_BYTES}"
                )
            position += 8 + length
            if keep is not None:
                keep.append(buffer[position - length:position])
        if position > size:
            raise self._truncated(f"the last item of metadata key {shown_key}", self.position,
                                  position - self.position)
        self.position = position

    def read_raw_strings(self, entry: _KeyValue) -> list[bytes]:
        """The items of a string-array entry found by ``read_key_values``, as stored (bytes).

        ``read_key_values`` checked every length against the file and the item bound."""
        assert isinstance(entry.value, MetadataArray)
        unpack_length = _U64.unpack_from
        position = entry.items_offset
        items: list[bytes] = []
        append = items.append
        for _index in range(entry.value.length):
            length = unpack_length(self._buffer, position)[0]
            position += 8
            append(self._buffer[position:position + length])
            position += length
        return items

    def read_array_items(self, key: str, entry: _KeyValue) -> list[str] | np.ndarray:
        """Decode the items of an array entry found by ``read_key_values``."""
        assert isinstance(entry.value, MetadataArray)
        if entry.value_type == GGUFValueType.STRING:
            return [item.decode("utf-8", errors="replace") for item in self.read_raw_strings(entry)]
        items = np.frombuffer(self._buffer, dtype=_NUMPY_DTYPES[entry.value_type],
                              count=entry.value.length, offset=entry.items_offset)
        # A copy, so the map can close; bools are stored as bytes, any non-zero one is true.
        copied = items != 0 if entry.value_type == GGUFValueType.BOOL else items.copy()
        del items
        return copied

    def read_tensor_infos(self, tensor_count: int) -> list[_RawTensor]:
        """Parse every tensor description, each checked on its own."""
        tensors: list[_RawTensor] = []
        seen_names: set[str] = set()
        for index in range(tensor_count):
            name_start = self.position
            # GGML_MAX_NAME: llama.cpp refuses longer names (gguf.cpp), so this bound is its own
            raw_name = self._string_bytes(f"the name of tensor #{index}", MAX_TENSOR_NAME_BYTES,
                                          "a tensor name")
            name = raw_name.decode("utf-8", errors="replace")
            if b"\x00" in raw_name:
                raise self.fail(f"tensor #{index} at byte {name_start} has a NUL byte in its name")
            shown = _shown_tensor(name)
            if name in seen_names:
                raise self.fail(f"tensor name {shown} at byte {name_start} appears twice")
            seen_names.add(name)
            shape = self._read_shape(shown)
            type_start = self.position
            ggml_type = self._u32(f"the ggml type of tensor {shown}")
            self._check_tensor_type(shown, ggml_type, shape, type_start)
            offset = self._u64(f"the data offset of tensor {shown}")
            tensors.append(_RawTensor(name, ggml_type, shape, offset))
        return tensors

    def _read_shape(self, shown: str) -> tuple[int, ...]:
        """The shape of tensor ``shown`` (its name as messages show it)."""
        dims_start = self.position
        dim_count = self._u32(f"the dimension count of tensor {shown}")
        if dim_count > MAX_DIMS:
            raise self.fail(
                f"tensor {shown} at byte {dims_start} claims {dim_count} dimensions; llama.cpp "
                f"allows at most {MAX_DIMS}"
            )
        layout = struct.Struct(f"<{dim_count}Q")
        start = self._take(layout.size, f"the shape of tensor {shown}")
        shape = layout.unpack_from(self._buffer, start)
        element_count = 1
        for axis, extent in enumerate(shape):
            if extent == 0:
                raise self.fail(f"tensor {shown} has size 0 in dimension {axis} (shape {shape})")
            element_count *= extent
        if element_count > MAX_TENSOR_ELEMENTS:
            raise self.fail(f"tensor {shown} has shape {shape}, too many elements for ggml")
        return shape

    def _check_tensor_type(
        self, shown: str, ggml_type: int, shape: tuple[int, ...], type_start: int
    ) -> None:
        """The type must be one ggml knows, and each row a whole number of its blocks."""
        if ggml_type not in GGML_QUANT_SIZES:
            raise self.fail(
                f"tensor {shown} has unknown ggml type {ggml_type} at byte {type_start} "
                f"(known: {_KNOWN_GGML_TYPES}); the file is damaged or was made by a newer "
                "llama.cpp",
                "download or convert it again",
            )
        block_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)][0]
        row_length = shape[0] if shape else 1
        if row_length % block_size:
            type_name = GGMLQuantizationType(ggml_type).name
            raise self.fail(
                f"tensor {shown} of type {type_name} has {row_length} elements per row, not a "
                f"multiple of the type's block size {block_size} (shape {shape})"
            )


def _shown_tensor(name: str) -> str:
    """A tensor name as messages show it (names are at most 63 bytes, so never cut)."""
    return quoted_excerpt(name, MAX_TENSOR_NAME_BYTES)


def _string_value_limit(key: str) -> tuple[int, str]:
    """The most bytes a string value of metadata ``key`` may have, and that kind's name."""
    if key == CHAT_TEMPLATE_KEY or key.startswith(CHAT_TEMPLATE_KEY + "."):
        return MAX_TEMPLATE_BYTES, "a chat template"
    return MAX_STRING_VALUE_BYTES, "a metadata string"


class _ArrayReader:
    """The array items of a parsed header, for ``quant.llama_rules`` (its ``ArrayReader``)."""

    def __init__(self, parser: _HeaderParser, key_values: dict[str, _KeyValue]) -> None:
        self._parser = parser
        self._key_values = key_values

    def raw_strings(self, key: str) -> list[bytes]:
        """The items of string array ``key`` as stored; [] when it is absent or not one."""
        if key == TOKENS_KEY:
            return self._parser.token_texts
        entry = self._key_values.get(key)
        if (entry is None or entry.value_type != GGUFValueType.STRING
                or not isinstance(entry.value, MetadataArray)):
            return []
        return self._parser.read_raw_strings(entry)

    def numbers(self, key: str) -> np.ndarray:
        """The items of numeric array ``key``; empty when it is absent or not one."""
        entry = self._key_values.get(key)
        if (entry is None or entry.value_type == GGUFValueType.STRING
                or not isinstance(entry.value, MetadataArray)):
            return np.empty(0)
        items = self._parser.read_array_items(key, entry)
        assert isinstance(items, np.ndarray)
        return items


def _tensor_nbytes(ggml_type: int, shape: tuple[int, ...]) -> int:
    block_size, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    element_count = 1
    for extent in shape:
        element_count *= extent
    return element_count // block_size * block_bytes


def _place_tensors(
    path: Path, size: int, tensors: list[_RawTensor],
    data_offset: int, alignment: int,
) -> list[TensorInfo]:
    """Check each tensor's data lies in the file, aligned, right after the previous one.

    llama.cpp requires tensors packed in header order, each padded to the alignment, so any other
    offset means a damaged header; the last tensor's trailing padding may be absent.
    """
    if data_offset > size:
        raise GGUFValidationError(
            f"{path}: the tensor data should start at byte {data_offset} but the file has only "
            f"{size} bytes: {TRUNCATED}"
        )
    placed: list[TensorInfo] = []
    expected_offset = 0
    for name, ggml_type, shape, offset in tensors:
        nbytes = _tensor_nbytes(ggml_type, shape)
        shown = _shown_tensor(name)
        if offset % alignment:
            raise GGUFValidationError(
                f"{path}: tensor {shown} has data offset {offset}, not a multiple of the "
                f"alignment {alignment}: {DAMAGED}"
            )
        if offset < expected_offset:
            previous = placed[-1]
            raise GGUFValidationError(
                f"{path}: tensor {shown} data at offset {offset} overlaps tensor "
                f"{_shown_tensor(previous.name)} (offsets {previous.offset}–"
                f"{previous.offset + previous.nbytes}): {DAMAGED}"
            )
        if offset > expected_offset:
            raise GGUFValidationError(
                f"{path}: tensor {shown} has data offset {offset} but llama.cpp expects "
                f"{expected_offset} (tensors packed in order): {DAMAGED}"
            )
        data_end = data_offset + offset + nbytes
        if data_end > size:
            raise GGUFValidationError(
                f"{path}: tensor {shown} data ends at byte {data_end} but the file has {size} "
                f"bytes: {TRUNCATED}"
            )
        placed.append(TensorInfo(
            name, GGMLQuantizationType(ggml_type).name, shape, offset, data_offset + offset, nbytes,
        ))
        expected_offset = offset + _align(nbytes, alignment)
    return placed


def _not_gguf_reason(head: bytes) -> str:
    """Say what a file without the GGUF magic most likely is."""
    stripped = head.lstrip()
    if stripped.startswith(b"version https://git-lfs"):
        return ("is a Git LFS pointer, not the model itself; download the real file "
                "(git lfs pull, or download it from the hub)")
    if stripped[:1] == b"<":
        return ("looks like a web page (HTML), not a GGUF model: the download returned an error "
                "page; download it again")
    if len(head) >= 10 and head[8:10] == b'{"':
        return ("looks like a safetensors checkpoint, not a GGUF model; convert it first "
                "(finr1 convert)")
    if len(head) < 4:
        return f"is only {len(head)} bytes long, too short to be a GGUF file; {TRUNCATED}"
    return (f"does not start with the GGUF magic bytes (found {head[:4]!r}): it is not a GGUF "
            "model file, or its start is damaged; choose a .gguf file or download it again")


def _check_version(path: Path, version: int) -> None:
    if version in SUPPORTED_VERSIONS:
        return
    if version & 0xFFFF == 0 and version:
        raise GGUFValidationError(
            f"{path}: the GGUF version field reads {version:#x}, which means the file was written "
            "big-endian; llama.cpp on this machine reads only little-endian GGUF files; convert "
            "the model again without the big-endian option"
        )
    if version in (0, 1):
        raise GGUFValidationError(
            f"{path}: GGUF version {version} is not supported (llama.cpp reads versions "
            f"{SUPPORTED_VERSIONS[0]} and {SUPPORTED_VERSIONS[1]}); convert the model again with "
            "a current converter"
        )
    if version > _PLAUSIBLE_VERSION_LIMIT:
        raise GGUFValidationError(
            f"{path}: the GGUF version field reads {version}, which no GGUF writer uses: {DAMAGED}"
        )
    raise GGUFValidationError(
        f"{path}: GGUF version {version} is newer than this app reads (versions "
        f"{SUPPORTED_VERSIONS[0]} and {SUPPORTED_VERSIONS[1]}); update Fin-R1 Studio or convert "
        "the model with an older converter"
    )


def _alignment(path: Path, key_values: dict[str, _KeyValue]) -> int:
    entry = key_values.get("general.alignment")
    if entry is None:
        return DEFAULT_ALIGNMENT
    if entry.value_type != GGUFValueType.UINT32 or isinstance(entry.value, MetadataArray):
        raise GGUFValidationError(
            f"{path}: metadata key 'general.alignment' must be a uint32, not "
            f"{_type_phrase(entry)}: {DAMAGED}"
        )
    alignment = int(entry.value)
    if alignment == 0 or alignment & (alignment - 1):
        raise GGUFValidationError(
            f"{path}: general.alignment is {alignment}, not a power of two: {DAMAGED}"
        )
    return alignment


def _type_phrase(entry: _KeyValue) -> str:
    if isinstance(entry.value, MetadataArray):
        return f"an array of {entry.value.item_type}"
    return entry.value_type.name.lower()


def _wrong_type(path: Path, key: str, wanted: str, entry: _KeyValue) -> GGUFValidationError:
    return GGUFValidationError(
        f"{path}: metadata key {quoted_excerpt(key)} must be {wanted}, not "
        f"{_type_phrase(entry)}: {DAMAGED}"
    )


def _string_value(path: Path, key_values: dict[str, _KeyValue], key: str) -> str | None:
    """A well-known string key's value, None when absent; any other type is an error."""
    entry = key_values.get(key)
    if entry is None:
        return None
    if entry.value_type != GGUFValueType.STRING or not isinstance(entry.value, str):
        raise _wrong_type(path, key, "a string", entry)
    return entry.value


def _integer_value(path: Path, key_values: dict[str, _KeyValue], key: str) -> int | None:
    """A well-known integer key's value, None when absent; any other type is an error."""
    entry = key_values.get(key)
    if entry is None:
        return None
    if entry.value_type not in _INTEGER_TYPES or isinstance(entry.value, MetadataArray):
        raise _wrong_type(path, key, "an integer", entry)
    return int(entry.value)


def _describe(
    path: Path, size: int, version: int, alignment: int, data_offset: int,
    key_values: dict[str, _KeyValue], tensors: list[TensorInfo],
) -> GGUFInfo:
    architecture = _string_value(path, key_values, "general.architecture")
    file_type = _integer_value(path, key_values, "general.file_type")
    context_length = None
    if architecture is not None:
        context_length = _integer_value(path, key_values, f"{architecture}.context_length")
    return GGUFInfo(
        path=path,
        size_bytes=size,
        version=version,
        alignment=alignment,
        data_offset=data_offset,
        architecture=architecture,
        name=_string_value(path, key_values, "general.name"),
        file_type=file_type,
        quant_type=quant_type_for_ftype(file_type) if file_type is not None else None,
        tensor_count=len(tensors),
        tensor_type_histogram=dict(Counter(tensor.ggml_type for tensor in tensors)),
        parameter_count=sum(tensor.element_count for tensor in tensors),
        context_length=context_length,
        chat_template=_string_value(path, key_values, "tokenizer.chat_template"),
        metadata={key: entry.value for key, entry in key_values.items()},
        tensors=tensors,
    )
