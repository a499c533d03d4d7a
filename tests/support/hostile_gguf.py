"""Malformed GGUFs made from valid ones, for the hostile-file tests.

``GGUFParts.read(path)`` takes a valid GGUF apart into its metadata entries and tensor
descriptions (raw bytes, so untouched ones are written back exactly) and the place of its tensor
data. Its ``with_*`` methods return changed copies; ``write`` puts a file together again: the
header, padding to the alignment, then the original tensor data, copied from the source file.

The splitter here is deliberately its own small code, not ``quant.gguf_check``: the tests judge
the validator with it.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

STRING, ARRAY = 8, 9
UINT32, INT32, FLOAT32, UINT64 = 4, 5, 6, 10
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_SCALAR_FORMATS = {UINT32: "<I", INT32: "<i", FLOAT32: "<f", UINT64: "<Q"}
GGML_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 8, "I8": 24, "I16": 25, "I32": 26,
              "BF16": 30}


def encode_string(text: str | bytes) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def encode_entry(key: str | bytes, value_type: int, value: object) -> bytes:
    """One metadata entry: key, value type, value (a scalar, a string, or for ARRAY a
    ``(item_type, items)`` pair)."""
    head = encode_string(key) + struct.pack("<I", value_type)
    if value_type == STRING:
        return head + encode_string(value)  # type: ignore[arg-type]
    if value_type == ARRAY:
        item_type, items = value  # type: ignore[misc]
        body = struct.pack("<IQ", item_type, len(items))
        if item_type == STRING:
            return head + body + b"".join(encode_string(item) for item in items)
        return head + body + b"".join(struct.pack(_SCALAR_FORMATS[item_type], item)
                                      for item in items)
    return head + struct.pack(_SCALAR_FORMATS[value_type], value)


@dataclass(frozen=True)
class TensorEntry:
    name: str
    raw: bytes  # name, dimensions, type, offset as stored
    type_at: int  # where the ggml type sits in ``raw``

    @property
    def ggml_type(self) -> int:
        return struct.unpack_from("<I", self.raw, self.type_at)[0]


@dataclass(frozen=True)
class GGUFParts:
    """A GGUF taken apart; see the module docstring."""

    source: Path
    version: int
    entries: tuple[tuple[str, bytes], ...]  # key → the whole entry as stored
    tensors: tuple[TensorEntry, ...]
    alignment: int
    data_offset: int

    @classmethod
    def read(cls, path: Path) -> GGUFParts:
        with open(path, "rb") as file:
            data = file.read(64 << 20)  # the fixtures' headers are far smaller
        version, tensor_count, key_count = struct.unpack_from("<IQQ", data, 4)
        position = 24
        entries = []
        for _ in range(key_count):
            start = position
            key, position = _read_string(data, position)
            position = _skip_value(data, position)
            entries.append((key.decode(), data[start:position]))
        tensors = []
        for _ in range(tensor_count):
            start = position
            name, position = _read_string(data, position)
            dims = struct.unpack_from("<I", data, position)[0]
            type_at = position + 4 + 8 * dims - start
            position += 4 + 8 * dims + 4 + 8
            tensors.append(TensorEntry(name.decode(), data[start:position], type_at))
        alignment = 32
        for key, raw in entries:
            if key == "general.alignment":
                alignment = struct.unpack_from("<I", raw, len(raw) - 4)[0]
        data_offset = position + (-position % alignment)
        return cls(path, version, tuple(entries), tuple(tensors), alignment, data_offset)

    # -- reading ---------------------------------------------------------------------------------

    def entry(self, key: str) -> bytes:
        return dict(self.entries)[key]

    def string_items(self, key: str) -> list[bytes]:
        raw = self.entry(key)
        position = 8 + len(key.encode()) + 4
        _item_type, count = struct.unpack_from("<IQ", raw, position)
        position += 12
        items = []
        for _ in range(count):
            item, position = _read_string(raw, position)
            items.append(item)
        return items

    def scalar(self, key: str, layout: str) -> float | int:
        raw = self.entry(key)
        return struct.unpack_from(layout, raw, len(raw) - struct.calcsize(layout))[0]

    @property
    def architecture(self) -> str:
        raw = self.entry("general.architecture")
        return raw[8 + len("general.architecture") + 4 + 8:].decode()

    def tensor(self, name: str) -> TensorEntry:
        return next(tensor for tensor in self.tensors if tensor.name == name)

    # -- changing --------------------------------------------------------------------------------

    def with_entry(self, key: str, raw_entry: bytes) -> GGUFParts:
        """``key``'s entry replaced by ``raw_entry`` (appended when the key is new)."""
        keys = [name for name, _raw in self.entries]
        if key in keys:
            entries = tuple((name, raw_entry if name == key else raw)
                            for name, raw in self.entries)
        else:
            entries = (*self.entries, (key, raw_entry))
        return replace(self, entries=entries)

    def with_value(self, key: str, value_type: int, value: object) -> GGUFParts:
        return self.with_entry(key, encode_entry(key, value_type, value))

    def without(self, key: str) -> GGUFParts:
        return replace(self, entries=tuple(e for e in self.entries if e[0] != key))

    def with_string_items(self, key: str, items: Sequence[bytes]) -> GGUFParts:
        return self.with_value(key, ARRAY, (STRING, list(items)))

    def with_tensor_type(self, name: str, ggml_type: int) -> GGUFParts:
        """Tensor ``name`` declared as ``ggml_type``; the data is unchanged, so pick a type of
        the same size (I32 for F32, F16 for BF16…)."""
        changed = []
        for tensor in self.tensors:
            if tensor.name == name:
                raw = bytearray(tensor.raw)
                struct.pack_into("<I", raw, tensor.type_at, ggml_type)
                tensor = replace(tensor, raw=bytes(raw))
            changed.append(tensor)
        return replace(self, tensors=tuple(changed))

    # -- writing ---------------------------------------------------------------------------------

    def header(self) -> bytes:
        head = b"GGUF" + struct.pack("<IQQ", self.version, len(self.tensors), len(self.entries))
        body = head + b"".join(raw for _key, raw in self.entries)
        body += b"".join(tensor.raw for tensor in self.tensors)
        return body + b"\x00" * (-len(body) % self.alignment)

    def write(self, path: Path, *, sparse: bool = False) -> Path:
        """The file: header, padding, then the source's tensor data; ``sparse``: zeros in its
        place, written as a hole (instant, for files only the validator reads)."""
        header = self.header()
        with open(path, "wb") as output, open(self.source, "rb") as source:
            output.write(header)
            if sparse:
                output.truncate(len(header) + self.source.stat().st_size - self.data_offset)
            else:
                source.seek(self.data_offset)
                shutil.copyfileobj(source, output, 1 << 20)
        return path

    def entry_position(self, key: str) -> int:
        """Where ``key``'s entry starts in the file ``write`` makes."""
        position = 24
        for name, raw in self.entries:
            if name == key:
                return position
            position += len(raw)
        raise KeyError(key)

    def tensor_position(self, name: str) -> int:
        """Where tensor ``name``'s description starts in the file ``write`` makes."""
        position = 24 + sum(len(raw) for _key, raw in self.entries)
        for tensor in self.tensors:
            if tensor.name == name:
                return position
            position += len(tensor.raw)
        raise KeyError(name)


def _read_string(data: bytes, position: int) -> tuple[bytes, int]:
    length = struct.unpack_from("<Q", data, position)[0]
    return data[position + 8:position + 8 + length], position + 8 + length


def _skip_value(data: bytes, position: int) -> int:
    value_type = struct.unpack_from("<I", data, position)[0]
    position += 4
    if value_type == STRING:
        return _read_string(data, position)[1]
    if value_type != ARRAY:
        return position + _SCALAR_SIZES[value_type]
    item_type, count = struct.unpack_from("<IQ", data, position)
    position += 12
    if item_type != STRING:
        return position + count * _SCALAR_SIZES[item_type]
    for _ in range(count):
        position = _read_string(data, position)[1]
    return position
