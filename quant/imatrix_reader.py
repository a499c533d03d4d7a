"""Read an importance matrix in llama.cpp's GGUF format and check it belongs to a model.

The file (written by ``llama-imatrix`` and by ``finr1 imatrix``) holds, per weight matrix ``W``,
two F32 tensors: ``W.in_sum2`` (shape ``[n_cols, n_mat]``: the sum over calibration tokens of each
input column's squared activation) and ``W.counts`` (``[1, n_mat]``: how many tokens were summed),
plus ``general.type = "imatrix"``, ``imatrix.datasets``, ``imatrix.chunk_count`` and
``imatrix.chunk_size``. libllama's quantizer wants the per-column mean, ``in_sum2 / counts``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, ReaderTensor

from quant.errors import ImatrixError

_IN_SUM2 = ".in_sum2"
_COUNTS = ".counts"
_FIX = "compute one for this model with `finr1 imatrix` and pass it with --imatrix"
_LAYER_WEIGHT = re.compile(r"^blk\.\d+\..+\.weight$")


@dataclass(frozen=True)
class Imatrix:
    """A loaded importance matrix.

    ``values`` maps a weight's name to its per-input-column mean squared activation (float32,
    C-contiguous, ``n_cols * n_mat`` values, all finite); ``datasets`` names the calibration text(s)
    and ``chunk_count`` how many chunks of it were evaluated (0 when the file does not say).
    """

    path: Path
    values: Mapping[str, np.ndarray]
    datasets: tuple[str, ...]
    chunk_count: int


def read_imatrix(path: Path) -> Imatrix:
    """Load the GGUF importance matrix at ``path``.

    Raises ``ImatrixError`` when the file is missing, is not a GGUF, is a model rather than an
    importance matrix, has a ``.in_sum2`` without its ``.counts`` (or the reverse), non-F32 or
    inconsistently shaped data, or non-finite values. Reads the file; writes nothing.
    """
    path = Path(path)
    reader = _open_reader(path)
    file_type = _field_value(reader, "general.type")
    if file_type is not None and file_type != "imatrix":
        raise ImatrixError(
            f"{path} is a {file_type} GGUF, not an importance matrix; {_FIX}."
        )
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for tensor in reader.tensors:
        if tensor.name.endswith(_IN_SUM2):
            sums[tensor.name.removesuffix(_IN_SUM2)] = _f32_data(path, tensor)
        elif tensor.name.endswith(_COUNTS):
            counts[tensor.name.removesuffix(_COUNTS)] = _f32_data(path, tensor)
    if not sums:
        raise ImatrixError(f"{path} holds no importance data (no *.in_sum2 tensors); {_FIX}.")
    unpaired = sorted(set(sums) ^ set(counts))
    if unpaired:
        raise ImatrixError(
            f"{path} is damaged: {unpaired[0]} has sums without counts or counts without sums; "
            f"{_FIX}."
        )
    values = {name: _mean_squares(path, name, sums[name], counts[name]) for name in sorted(sums)}
    datasets = _field_value(reader, "imatrix.datasets") or []
    chunk_count = _field_value(reader, "imatrix.chunk_count") or 0
    return Imatrix(path, values, tuple(str(name) for name in datasets), int(chunk_count))


def check_imatrix_matches(imatrix: Imatrix, tensor_shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Refuse an importance matrix that was not computed for the model with ``tensor_shapes``.

    ``tensor_shapes`` maps each of the model's tensor names to its GGUF shape (``ne0`` first). Every
    imatrix entry must name a model tensor and hold one value per input column (``ne0``, times
    ``ne2`` for stacked experts), and every per-layer weight matrix (``blk.N.*.weight`` with two or
    more dimensions) must have an entry. Raises ``ImatrixError`` naming the first mismatch.
    """
    for name, values in imatrix.values.items():
        shape = tensor_shapes.get(name)
        if shape is None:
            raise ImatrixError(
                f"The importance matrix {imatrix.path.name} is for another model: it has data "
                f"for {name}, which this model does not have; {_FIX}."
            )
        expected = shape[0] * (shape[2] if len(shape) > 2 else 1)
        if values.size != expected:
            raise ImatrixError(
                f"The importance matrix {imatrix.path.name} is for another model: it has "
                f"{values.size} values for {name}, which has {expected} input columns here; {_FIX}."
            )
    missing = [
        name for name, shape in tensor_shapes.items()
        if _LAYER_WEIGHT.match(name) and len(shape) >= 2 and name not in imatrix.values
    ]
    if missing:
        raise ImatrixError(
            f"The importance matrix {imatrix.path.name} has no data for {len(missing)} of this "
            f"model's weight matrices (first: {missing[0]}); it is incomplete or for another "
            f"model; {_FIX}."
        )


def _open_reader(path: Path) -> GGUFReader:
    if not path.is_file():
        raise ImatrixError(f"The importance matrix {path} does not exist; {_FIX}.")
    try:
        return GGUFReader(path)
    except (ValueError, OSError, IndexError, KeyError) as error:
        raise ImatrixError(
            f"{path} is not a readable GGUF importance matrix ({error}); the legacy .dat format "
            f"is not accepted; {_FIX}."
        ) from error


def _field_value(reader: GGUFReader, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()


def _f32_data(path: Path, tensor: ReaderTensor) -> np.ndarray:
    if tensor.tensor_type != GGMLQuantizationType.F32:
        raise ImatrixError(
            f"{path} is damaged: {tensor.name} is {tensor.tensor_type.name}, not F32; {_FIX}."
        )
    return np.asarray(tensor.data, dtype=np.float32)


def _mean_squares(path: Path, name: str, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    n_mat = counts.size
    if n_mat == 0 or sums.size % n_mat != 0:
        raise ImatrixError(
            f"{path} is damaged: {name} has {sums.size} sums for {n_mat} counts; {_FIX}."
        )
    per_matrix_sums = sums.reshape(n_mat, -1)
    per_matrix_counts = counts.reshape(n_mat, 1)
    # llama.cpp's loader uses 1 for a matrix no calibration token reached (e.g. an idle expert)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(per_matrix_counts > 0, per_matrix_sums / per_matrix_counts, 1.0)
    means = np.ascontiguousarray(means, dtype=np.float32).reshape(-1)
    if not np.isfinite(means).all():
        raise ImatrixError(f"{path} is damaged: {name} holds non-finite values; {_FIX}.")
    return means
