"""Compute an importance matrix for a GGUF model and write it in llama.cpp's GGUF imatrix format.

What ``llama-imatrix`` (``tools/imatrix/imatrix.cpp``) does, from Python: a ``cb_eval`` callback on
the llama.cpp context sees every matrix multiplication of the graph; for each one whose weight is
a transformer-block matrix (``blk.*``) it adds up, per input column, the squares of the
activations the weight is multiplied with, and counts the tokens. The calibration text is
evaluated in consecutive chunks of ``chunk_size`` tokens, each in a fresh KV cache.

The file holds, per weight ``W``, ``W.in_sum2`` (F32, ggml shape ``[n_values / n_mat, n_mat]``)
and ``W.counts`` (F32, ``[1, n_mat]``), plus ``general.type = "imatrix"``, ``imatrix.datasets``,
``imatrix.chunk_count`` and ``imatrix.chunk_size``. It is read back by
``quant.imatrix_reader.read_imatrix`` and by llama.cpp's own tools.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foundation.atomic import atomic_output
from foundation.jobs import CancelToken, Progress, ProgressCallback, ignore_progress
from quant.chunk_runner import ChunkRunner, split_chunks
from quant.errors import ImatrixError
from quant.ggml_tensor import GGML_TYPE_F32, GgmlApi, GgmlTensor, ggml_api
from quant.gguf_check import validate_gguf

STAGE = "imatrix"
JOB_NAME = "importance matrix"
DEFAULT_CHUNK_SIZE = 512
MIN_CHUNK_SIZE = 32
# llama-imatrix ignores multiplications over fewer rows (the single-token decodes of generation)
_MIN_ROWS = 16
_LAYER_PREFIX = "blk."
_IN_SUM2 = ".in_sum2"
_COUNTS = ".counts"


@dataclass(frozen=True)
class ImatrixData:
    """Accumulated statistics, as llama.cpp stores them.

    ``sums`` maps a weight name to the sum of squared input activations per column (float64,
    ``n_mat * n_cols`` values; ``n_mat`` is 1 for ordinary weights, the expert count for stacked
    experts); ``counts`` maps it to how many activation rows were summed per matrix (int64,
    ``n_mat`` values). ``chunk_count`` chunks of ``chunk_size`` tokens of ``datasets`` went in.
    """

    sums: Mapping[str, np.ndarray]
    counts: Mapping[str, np.ndarray]
    datasets: tuple[str, ...]
    chunk_count: int
    chunk_size: int


class ImatrixCollector:
    """The ``cb_eval`` callback: ``callback`` is the C function pointer to install.

    An exception inside the callback cannot cross into C; it is kept in ``error``, the callback
    answers False (which stops that graph computation) and the caller raises it after the decode.
    """

    def __init__(self, api: GgmlApi | None = None) -> None:
        import llama_cpp

        self._api = api or ggml_api()
        self._sums: dict[str, np.ndarray] = {}
        self._counts: dict[str, np.ndarray] = {}
        self.error: BaseException | None = None
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self._on_eval)

    def snapshot(self, datasets: tuple[str, ...], chunk_count: int, chunk_size: int
                 ) -> ImatrixData:
        """A copy of what was collected so far."""
        return ImatrixData(
            sums={name: values.copy() for name, values in sorted(self._sums.items())},
            counts={name: values.copy() for name, values in sorted(self._counts.items())},
            datasets=datasets, chunk_count=chunk_count, chunk_size=chunk_size,
        )

    def raise_error(self) -> None:
        """Re-raise an exception the callback caught, if any."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _on_eval(self, tensor_address: int, ask: bool, _user_data: Any) -> bool:
        if self.error is not None:
            return False
        try:
            node = self._api.tensor(tensor_address)
            if ask:
                return self._wants(node)
            if node.op == self._api.op_mul_mat_id:
                self._collect_experts(node)
            else:
                self._collect_dense(node)
            return True
        except BaseException as error:  # an exception must not unwind through C
            self.error = error
            return False

    def _wants(self, node: GgmlTensor) -> bool:
        if node.op == self._api.op_mul_mat_id:
            return True
        if node.op != self._api.op_mul_mat:
            return False
        weight, activations = self._api.tensor(node.src[0]), self._api.tensor(node.src[1])
        if activations.ne[1] < _MIN_ROWS or activations.type != GGML_TYPE_F32:
            return False
        return weight_name(weight.name).startswith(_LAYER_PREFIX)

    def _collect_dense(self, node: GgmlTensor) -> None:
        weight, activations = self._api.tensor(node.src[0]), self._api.tensor(node.src[1])
        name = weight_name(weight.name)
        rows = self._api.float_rows(activations)  # (ne3, ne2, ne1, ne0)
        n_cols = rows.shape[3]
        w_ne2, w_ne3 = int(weight.ne[2]), int(weight.ne[3])
        n_mat = w_ne2 * w_ne3
        sums = self._entry(name, n_mat * n_cols, 1).reshape(n_mat, n_cols)
        for i3 in range(rows.shape[0]):
            for i2 in range(rows.shape[1]):
                block = rows[i3, i2]
                sums[(i3 % w_ne3) * w_ne2 + (i2 % w_ne2)] += np.einsum(
                    "ij,ij->j", block, block, dtype=np.float64)
        self._counts[name] += rows.shape[0] * rows.shape[1] * rows.shape[2] // n_mat
        self._check_finite(name)

    def _collect_experts(self, node: GgmlTensor) -> None:
        weight, activations = self._api.tensor(node.src[0]), self._api.tensor(node.src[1])
        name = weight_name(weight.name)
        expert_ids = self._api.int32_matrix(self._api.tensor(node.src[2]))  # (tokens, used)
        rows = self._api.float_rows(activations)[0]  # (tokens, ne1, cols)
        n_experts, n_tokens, n_cols = int(weight.ne[2]), rows.shape[0], rows.shape[2]
        if expert_ids.shape[0] != n_tokens or not (
                (expert_ids >= 0) & (expert_ids < n_experts)).all():
            raise ImatrixError(f"llama.cpp routed {name} to experts this model does not have")
        slot = np.arange(expert_ids.shape[1]) % rows.shape[1]
        vectors = rows[:, slot, :].astype(np.float64)  # (tokens, used, cols)
        sums = self._entry(name, n_experts * n_cols, n_experts).reshape(n_experts, n_cols)
        np.add.at(sums, expert_ids.reshape(-1), np.square(vectors).reshape(-1, n_cols))
        self._counts[name] += np.bincount(expert_ids.reshape(-1), minlength=n_experts)
        self._check_finite(name)

    def _entry(self, name: str, n_values: int, n_mat: int) -> np.ndarray:
        sums = self._sums.get(name)
        if sums is None:
            sums = self._sums[name] = np.zeros(n_values, dtype=np.float64)
            self._counts[name] = np.zeros(n_mat, dtype=np.int64)
        elif sums.size != n_values or self._counts[name].size != n_mat:
            raise ImatrixError(
                f"{name} was multiplied with inputs of two different sizes; this model's graph "
                "is not supported by the importance-matrix job")
        return sums

    def _check_finite(self, name: str) -> None:
        if not np.isfinite(self._sums[name]).all():
            raise ImatrixError(
                f"The model produced infinite or NaN activations at {name}; the model file is "
                "probably damaged (check it with `finr1 inspect`, convert it again)")


def weight_name(raw_name: bytes | str) -> str:
    """The weight's name without the prefixes and suffixes a backend copy adds
    (``CUDA0#blk.0.attn_k.weight#0`` becomes ``blk.0.attn_k.weight``)."""
    name = raw_name.decode("utf-8", errors="replace") if isinstance(raw_name, bytes) else raw_name
    if "#" in name:
        return name.split("#", 2)[1]
    return name


def compute_imatrix(model_path: Path | str, text: str, *, dataset: str,
                    chunks: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
                    threads: int | None = None, on_progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> ImatrixData:
    """Evaluate ``text`` with the model at ``model_path`` and collect its importance matrix.

    ``dataset`` names the text in the file (``imatrix.datasets``); ``chunks`` caps how many whole
    chunks of ``chunk_size`` tokens are used (all by default). Progress is
    ``Progress("imatrix", done, total, "chunks", "N tokens/s")``, starting at 0/total.

    Raises ``ValueError`` for ``chunk_size`` below 32 or ``chunks`` below 1, ``ImatrixError`` when
    the text is shorter than one chunk or the model yields no statistics, ``ModelLoadError``
    when llama.cpp cannot load the model, ``JobCancelled`` when ``cancel`` fires (also during a
    chunk). Reads the model; writes nothing.
    """
    if chunk_size < MIN_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be at least {MIN_CHUNK_SIZE}, not {chunk_size}")
    if chunks is not None and chunks < 1:
        raise ValueError(f"chunks must be at least 1, not {chunks}")
    report = on_progress or ignore_progress
    collector = ImatrixCollector()
    with ChunkRunner(Path(model_path), chunk_size=chunk_size, threads=threads,
                     eval_callback=collector.callback, cancel=cancel, job=JOB_NAME,
                     failure=ImatrixError) as runner:
        token_chunks = split_chunks(runner.tokenize(text), chunk_size, chunks)
        if not token_chunks:
            raise ImatrixError(
                f"The calibration text is shorter than one chunk of {chunk_size} tokens; give a "
                "longer text (--text) or a smaller chunk size (--ctx)")
        report(Progress(STAGE, 0, len(token_chunks), "chunks", dataset))
        started = time.perf_counter()
        for index, chunk in enumerate(token_chunks, start=1):
            if cancel is not None:
                cancel.raise_if_cancelled(JOB_NAME)
            runner.decode_chunk(chunk, first_output=0)
            collector.raise_error()
            rate = index * chunk_size / (time.perf_counter() - started)
            report(Progress(STAGE, index, len(token_chunks), "chunks", f"{rate:.0f} tokens/s"))
    data = collector.snapshot((dataset,), len(token_chunks), chunk_size)
    if not data.sums:
        raise ImatrixError(
            f"llama.cpp ran {Path(model_path).name} without any transformer-block weight "
            "multiplication the importance matrix could see; this model's architecture is not "
            "supported")
    return data


def write_imatrix(data: ImatrixData, output_path: Path | str) -> Path:
    """Write ``data`` to ``output_path`` in llama.cpp's GGUF imatrix format (entries sorted by
    name, as llama.cpp writes them). Atomic: on any error nothing is left at ``output_path``.
    Raises ``DiskFullError`` when the disk fills up."""
    import gguf

    output_path = Path(output_path)
    with atomic_output(output_path) as partial_path:
        writer = gguf.GGUFWriter(partial_path, arch="")
        # llama.cpp's imatrix files have no architecture key; gguf-py always adds one
        writer.kv_data[0].pop(gguf.Keys.General.ARCHITECTURE, None)
        writer.add_type(gguf.GGUFType.IMATRIX)
        writer.add_array(gguf.Keys.IMatrix.DATASETS, list(data.datasets))
        writer.add_uint32(gguf.Keys.IMatrix.CHUNK_COUNT, data.chunk_count)
        writer.add_uint32(gguf.Keys.IMatrix.CHUNK_SIZE, data.chunk_size)
        for name in sorted(data.sums):
            n_mat = data.counts[name].size
            sums = data.sums[name].astype(np.float32).reshape(n_mat, -1)
            counts = data.counts[name].astype(np.float32).reshape(n_mat, 1)
            writer.add_tensor(name + _IN_SUM2, _ggml_dims(sums))
            writer.add_tensor(name + _COUNTS, _ggml_dims(counts))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return output_path


def _ggml_dims(array: np.ndarray) -> np.ndarray:
    """``array`` without the trailing unit dimensions ggml leaves out of a file (``[n, 1]`` is
    stored as ``[n]``), as llama-imatrix writes them."""
    while array.ndim > 1 and array.shape[0] == 1:
        array = array.reshape(array.shape[1:])
    return array


def build_imatrix(model_path: Path | str, output_path: Path | str, text: str, *, dataset: str,
                  chunks: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
                  threads: int | None = None, on_progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Path:
    """The importance-matrix job: validate the model, ``compute_imatrix``, ``write_imatrix``.

    Returns ``output_path``. Raises what those raise, ``GGUFValidationError`` for a damaged
    model and ``ImatrixError`` when the output would replace the model. On any error or cancel
    nothing is left at ``output_path``.
    """
    model_path, output_path = Path(model_path), Path(output_path)
    validate_gguf(model_path)
    if output_path.exists() and output_path.resolve() == model_path.resolve():
        raise ImatrixError(f"The output {output_path} is the model itself; choose another name")
    data = compute_imatrix(model_path, text, dataset=dataset, chunks=chunks,
                           chunk_size=chunk_size, threads=threads, on_progress=on_progress,
                           cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled(JOB_NAME)
    return write_imatrix(data, output_path)
