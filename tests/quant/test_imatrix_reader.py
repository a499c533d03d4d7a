"""Reading llama.cpp's GGUF importance matrix: the values handed to libllama are in_sum2 / counts."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from quant.errors import ImatrixError
from quant.imatrix_reader import check_imatrix_matches, read_imatrix


def write_raw_imatrix(path: Path, tensors: dict[str, np.ndarray], **keys: object) -> Path:
    writer = gguf.GGUFWriter(path, arch="imatrix")
    writer.add_type("imatrix")
    writer.add_array("imatrix.datasets", list(keys.get("datasets", ["calibration.txt"])))
    writer.add_uint32("imatrix.chunk_count", int(keys.get("chunk_count", 3)))
    writer.add_uint32("imatrix.chunk_size", 512)
    for name, data in tensors.items():
        writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_values_are_the_mean_squared_activation_per_column(tmp_path: Path) -> None:
    sums = np.array([[2.0, 4.0, 6.0, 8.0]], dtype=np.float32)
    path = write_raw_imatrix(tmp_path / "m.gguf", {
        "blk.0.ffn_up.weight.in_sum2": sums,
        "blk.0.ffn_up.weight.counts": np.array([[2.0]], dtype=np.float32),
    }, datasets=["fin.txt"], chunk_count=5)
    imatrix = read_imatrix(path)
    np.testing.assert_array_equal(imatrix.values["blk.0.ffn_up.weight"], [1.0, 2.0, 3.0, 4.0])
    assert imatrix.values["blk.0.ffn_up.weight"].dtype == np.float32
    assert (imatrix.datasets, imatrix.chunk_count) == (("fin.txt",), 5)


def test_a_matrix_no_token_reached_gets_ones_like_llama_cpp(tmp_path: Path) -> None:
    # two stacked expert matrices of 2 columns; the second saw no tokens
    path = write_raw_imatrix(tmp_path / "m.gguf", {
        "blk.0.ffn_up_exps.weight.in_sum2": np.array([[4.0, 8.0], [0.0, 0.0]], np.float32),
        "blk.0.ffn_up_exps.weight.counts": np.array([[4.0], [0.0]], np.float32),
    })
    values = read_imatrix(path).values["blk.0.ffn_up_exps.weight"]
    np.testing.assert_array_equal(values, [1.0, 2.0, 1.0, 1.0])


def test_sums_without_counts_are_refused(tmp_path: Path) -> None:
    path = write_raw_imatrix(tmp_path / "m.gguf", {
        "blk.0.ffn_up.weight.in_sum2": np.ones((1, 4), np.float32),
    })
    with pytest.raises(ImatrixError, match="damaged"):
        read_imatrix(path)


def test_non_finite_values_are_refused(tmp_path: Path) -> None:
    path = write_raw_imatrix(tmp_path / "m.gguf", {
        "blk.0.ffn_up.weight.in_sum2": np.array([[1.0, np.inf]], np.float32),
        "blk.0.ffn_up.weight.counts": np.array([[1.0]], np.float32),
    })
    with pytest.raises(ImatrixError, match="non-finite"):
        read_imatrix(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImatrixError, match="does not exist"):
        read_imatrix(tmp_path / "nowhere.gguf")


def test_matching_counts_stacked_experts_as_columns_times_experts(tmp_path: Path) -> None:
    path = write_raw_imatrix(tmp_path / "m.gguf", {
        "blk.0.ffn_up_exps.weight.in_sum2": np.ones((2, 4), np.float32),
        "blk.0.ffn_up_exps.weight.counts": np.ones((2, 1), np.float32),
    })
    imatrix = read_imatrix(path)
    check_imatrix_matches(imatrix, {"blk.0.ffn_up_exps.weight": (4, 16, 2)})
    with pytest.raises(ImatrixError, match="another model"):
        check_imatrix_matches(imatrix, {"blk.0.ffn_up_exps.weight": (4, 16, 3)})
