"""gguf-py's writer with bulk packing of large metadata arrays.

gguf-py packs array items one ``struct.pack`` at a time: Qwen2's 152k tokens, 152k token types and
151k merges take about 1.7 s, as long as copying 2 GB of weights. This subclass packs string and
integer arrays in bulk and produces byte-identical output (``tests/quant/test_convert.py`` checks).
It overrides a private method of the exactly pinned gguf==0.19.0.
"""

from __future__ import annotations

import struct
from typing import Any

import gguf
import numpy as np

_INT32_RANGE = (-(2**31), 2**31 - 1)


class FastArrayGGUFWriter(gguf.GGUFWriter):
    """A ``gguf.GGUFWriter`` whose string and int arrays pack in bulk (little-endian files)."""

    def _pack_val(self, val: Any, vtype: gguf.GGUFValueType, add_vtype: bool,
                  sub_type: gguf.GGUFValueType | None = None) -> bytes:
        packed_items = self._bulk_array_items(val, vtype, sub_type)
        if packed_items is None:
            return super()._pack_val(val, vtype, add_vtype, sub_type)
        item_type, body = packed_items
        prefix = struct.pack("<I", vtype) if add_vtype else b""
        return prefix + struct.pack("<IQ", item_type, len(val)) + body

    def _bulk_array_items(self, val: Any, vtype: gguf.GGUFValueType,
                          sub_type: gguf.GGUFValueType | None,
                          ) -> tuple[gguf.GGUFValueType, bytes] | None:
        """(item type, packed items) for a large homogeneous str/int list, else None."""
        if (vtype != gguf.GGUFValueType.ARRAY or self.endianess != gguf.GGUFEndian.LITTLE
                or not isinstance(val, list) or len(val) < 1024):
            return None
        if sub_type in (None, gguf.GGUFValueType.STRING) and all(type(v) is str for v in val):
            encoded = [item.encode("utf-8") for item in val]
            lengths = [struct.pack("<Q", len(item)) for item in encoded]
            return gguf.GGUFValueType.STRING, b"".join(
                part for pair in zip(lengths, encoded, strict=True) for part in pair
            )
        integers = all(isinstance(v, int) and not isinstance(v, bool) for v in val)  # IntEnum too
        if sub_type in (None, gguf.GGUFValueType.INT32) and integers:
            values = np.asarray(val, dtype=np.int64)
            if values.min() >= _INT32_RANGE[0] and values.max() <= _INT32_RANGE[1]:
                return gguf.GGUFValueType.INT32, values.astype("<i4").tobytes()
        return None
