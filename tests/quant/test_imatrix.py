"""The importance matrix: computed from llama.cpp's graph through a cb_eval callback, written in
llama.cpp's GGUF imatrix format, read back, and accepted by libllama's quantizer.

Runs the real llama.cpp on the tiny Qwen2 model (2 layers, hidden 256) over the bundled
calibration text, in small chunks so the whole module takes a few seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.cli import main as cli_main
from app.core.local_build.calibration import CALIBRATION_DATASET, calibration_set, heldout_set
from foundation.jobs import CancelToken, JobCancelled, Progress
from quant.chunk_runner import ChunkRunner, split_chunks
from quant.errors import ImatrixError
from quant.gguf_check import validate_gguf
from quant.imatrix import ImatrixData, build_imatrix, compute_imatrix, weight_name, write_imatrix
from quant.imatrix_reader import read_imatrix
from quant.quantize import (
    IMATRIX_CHUNKS_KEY,
    IMATRIX_DATASET_KEY,
    IMATRIX_ENTRIES_KEY,
    quantize_gguf,
)
from tests.support.cancel_at import cancel_at
from tests.support.direct_quantize import direct_quantize
from tests.support.llm_support import THREADS
from tests.support.tiny_checkpoint import HIDDEN_SIZE, INTERMEDIATE_SIZE, NUM_LAYERS, load_checkpoint_tensors

CHUNK_SIZE = 64
CHUNKS = 3
DATASET = "test-calibration"
BLOCK_WEIGHTS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


@pytest.fixture(scope="module")
def calibration_text() -> str:
    return calibration_set().text


@pytest.fixture(scope="module")
def tiny_imatrix_data(tiny_bf16_gguf: Path, calibration_text: str) -> ImatrixData:
    return compute_imatrix(tiny_bf16_gguf, calibration_text, dataset=DATASET, chunks=CHUNKS,
                           chunk_size=CHUNK_SIZE, threads=THREADS)


@pytest.fixture(scope="module")
def tiny_imatrix_file(tiny_imatrix_data: ImatrixData,
                      tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_imatrix(tiny_imatrix_data,
                         tmp_path_factory.mktemp("imatrix") / "tiny.imatrix.gguf")


def test_every_transformer_block_weight_gets_an_entry(tiny_imatrix_data: ImatrixData) -> None:
    expected = {f"blk.{layer}.{kind}.weight" for layer in range(NUM_LAYERS) for kind in BLOCK_WEIGHTS}
    assert set(tiny_imatrix_data.sums) == expected


def test_each_entry_has_one_sum_per_input_column(tiny_imatrix_data: ImatrixData) -> None:
    for name, sums in tiny_imatrix_data.sums.items():
        columns = INTERMEDIATE_SIZE if ".ffn_down." in name else HIDDEN_SIZE
        assert sums.shape == (columns,), name


def test_counts_are_the_number_of_calibration_tokens(tiny_imatrix_data: ImatrixData) -> None:
    assert tiny_imatrix_data.chunk_count == CHUNKS
    assert tiny_imatrix_data.chunk_size == CHUNK_SIZE
    for name, counts in tiny_imatrix_data.counts.items():
        assert counts.tolist() == [CHUNKS * CHUNK_SIZE], name


def test_weights_reading_the_same_input_get_the_same_sums(tiny_imatrix_data: ImatrixData) -> None:
    sums = tiny_imatrix_data.sums
    for layer in range(NUM_LAYERS):
        np.testing.assert_array_equal(sums[f"blk.{layer}.attn_q.weight"],
                                      sums[f"blk.{layer}.attn_k.weight"])
        np.testing.assert_array_equal(sums[f"blk.{layer}.ffn_gate.weight"],
                                      sums[f"blk.{layer}.ffn_up.weight"])


def test_first_attention_input_sums_match_a_numpy_computation(
        tiny_imatrix_data: ImatrixData, tiny_bf16_gguf: Path, tiny_checkpoint: Path,
        calibration_text: str) -> None:
    """blk.0.attn_q multiplies RMSNorm(embedding) × attn_norm: recompute its Σx² per column from
    the checkpoint's own weights and the tokens llama.cpp evaluated."""
    with ChunkRunner(tiny_bf16_gguf, chunk_size=CHUNK_SIZE, threads=THREADS) as runner:
        chunks = split_chunks(runner.tokenize(calibration_text), CHUNK_SIZE, CHUNKS)
        bos = runner.bos if runner.add_bos else None
    tokens = np.concatenate([[bos, *chunk[1:]] if bos is not None else chunk for chunk in chunks])
    weights = load_checkpoint_tensors(tiny_checkpoint)
    embedded = weights["model.embed_tokens.weight"].astype(np.float64)[tokens]
    normed = embedded / np.sqrt((embedded ** 2).mean(axis=1, keepdims=True) + 1e-6)
    inputs = normed * weights["model.layers.0.input_layernorm.weight"].astype(np.float64)
    expected = (inputs ** 2).sum(axis=0)
    np.testing.assert_allclose(tiny_imatrix_data.sums["blk.0.attn_q.weight"], expected, rtol=2e-3)


def test_written_file_reads_back_equal(tiny_imatrix_data: ImatrixData,
                                       tiny_imatrix_file: Path) -> None:
    reader = gguf.GGUFReader(tiny_imatrix_file)
    tensors = {tensor.name: np.asarray(tensor.data) for tensor in reader.tensors}
    for name, sums in tiny_imatrix_data.sums.items():
        np.testing.assert_array_equal(tensors[f"{name}.in_sum2"], sums.astype(np.float32))
        np.testing.assert_array_equal(tensors[f"{name}.counts"],
                                      tiny_imatrix_data.counts[name].astype(np.float32))
    assert len(tensors) == 2 * len(tiny_imatrix_data.sums)


def test_the_quantizers_reader_gets_the_mean_squares(tiny_imatrix_data: ImatrixData,
                                                     tiny_imatrix_file: Path) -> None:
    loaded = read_imatrix(tiny_imatrix_file)
    assert set(loaded.values) == set(tiny_imatrix_data.sums)
    for name, values in loaded.values.items():
        mean = tiny_imatrix_data.sums[name] / tiny_imatrix_data.counts[name][0]
        np.testing.assert_allclose(values, mean, rtol=1e-6)
    assert loaded.datasets == (DATASET,)
    assert loaded.chunk_count == CHUNKS


def test_file_has_the_keys_and_layout_llama_imatrix_writes(tiny_imatrix_file: Path) -> None:
    reader = gguf.GGUFReader(tiny_imatrix_file)
    fields = {name: field for name, field in reader.fields.items() if not name.startswith("GGUF.")}
    assert set(fields) == {"general.type", "imatrix.datasets", "imatrix.chunk_count",
                           "imatrix.chunk_size"}
    assert fields["general.type"].contents() == "imatrix"
    assert fields["imatrix.chunk_count"].types == [gguf.GGUFValueType.UINT32]
    assert fields["imatrix.chunk_size"].contents() == CHUNK_SIZE
    # dense weights have one matrix: llama.cpp stores [columns] and [1], not [columns, 1]
    for tensor in reader.tensors:
        assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
        assert len(tensor.shape) == 1, tensor.name
    assert [tensor.name for tensor in reader.tensors][:2] == ["blk.0.attn_k.weight.in_sum2",
                                                              "blk.0.attn_k.weight.counts"]


def test_iq3_xs_builds_with_the_computed_matrix_and_records_it(
        tiny_bf16_gguf: Path, tiny_imatrix_file: Path, tmp_path: Path) -> None:
    output = quantize_gguf(tiny_bf16_gguf, tmp_path / "iq3xs.gguf", "iq3_xs",
                           imatrix_path=tiny_imatrix_file, threads=1)
    written = validate_gguf(output)
    assert written.tensor_type_histogram.get("IQ3_XXS", 0) > 0
    assert written.metadata[IMATRIX_DATASET_KEY] == DATASET
    assert written.metadata[IMATRIX_CHUNKS_KEY] == CHUNKS
    assert written.metadata[IMATRIX_ENTRIES_KEY] == NUM_LAYERS * len(BLOCK_WEIGHTS)


def test_llama_cpp_itself_refuses_iq3_xs_without_a_matrix(tiny_bf16_gguf: Path,
                                                          tmp_path: Path) -> None:
    assert direct_quantize(tiny_bf16_gguf, tmp_path / "iq3xs.gguf", "iq3_xs", threads=1) != 0


def test_progress_counts_chunks_from_zero_to_all(tiny_bf16_gguf: Path,
                                                 calibration_text: str) -> None:
    reports: list[Progress] = []
    compute_imatrix(tiny_bf16_gguf, calibration_text, dataset=DATASET, chunks=2,
                    chunk_size=CHUNK_SIZE, threads=THREADS, on_progress=reports.append)
    assert [(report.done, report.total, report.unit) for report in reports] == [
        (0, 2, "chunks"), (1, 2, "chunks"), (2, 2, "chunks")]
    assert reports[0].stage == "imatrix"


def test_a_cancel_stops_the_job_and_leaves_nothing(tiny_bf16_gguf: Path, calibration_text: str,
                                                   tmp_path: Path) -> None:
    cancel = CancelToken()
    with pytest.raises(JobCancelled):
        build_imatrix(tiny_bf16_gguf, tmp_path / "out.imatrix.gguf", calibration_text,
                      dataset=DATASET, chunks=3, chunk_size=CHUNK_SIZE, threads=THREADS,
                      on_progress=cancel_at(1, cancel), cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_a_text_shorter_than_one_chunk_is_refused(tiny_bf16_gguf: Path, tmp_path: Path) -> None:
    with pytest.raises(ImatrixError, match="shorter than one chunk"):
        build_imatrix(tiny_bf16_gguf, tmp_path / "out.imatrix.gguf", "Too short.",
                      dataset=DATASET, chunk_size=CHUNK_SIZE)
    assert list(tmp_path.iterdir()) == []


def test_the_output_may_not_be_the_model(tiny_bf16_gguf: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(tiny_bf16_gguf.read_bytes())
    with pytest.raises(ImatrixError, match="is the model itself"):
        build_imatrix(model, model, "text", dataset=DATASET)
    assert model.read_bytes() == tiny_bf16_gguf.read_bytes()


@pytest.mark.parametrize("chunk_size", [0, 31])
def test_chunks_too_small_for_llama_cpps_statistics_are_rejected(
        tiny_bf16_gguf: Path, chunk_size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        compute_imatrix(tiny_bf16_gguf, "text", dataset=DATASET, chunk_size=chunk_size)


@pytest.mark.parametrize(("raw", "name"), [
    ("blk.3.ffn_down.weight", "blk.3.ffn_down.weight"),
    ("CUDA0#blk.0.attn_k.weight#0", "blk.0.attn_k.weight"),
    (b"CPU#blk.1.attn_q.weight", "blk.1.attn_q.weight"),
])
def test_backend_copies_are_counted_under_the_weights_name(raw: str | bytes, name: str) -> None:
    assert weight_name(raw) == name


def test_cli_computes_on_the_bundled_calibration_text_by_default(
        tiny_bf16_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "default.imatrix.gguf"
    status = cli_main(["imatrix", str(tiny_bf16_gguf), "-o", str(output), "--chunks", "1",
                       "--ctx", str(CHUNK_SIZE), "--threads", str(THREADS)])
    assert status == 0
    assert capsys.readouterr().out.strip() == str(output)
    assert read_imatrix(output).datasets == (CALIBRATION_DATASET,)


def test_cli_names_a_user_text_after_its_file(tiny_bf16_gguf: Path, tmp_path: Path) -> None:
    text_file = tmp_path / "my-notes.txt"
    text_file.write_text(heldout_set().text, encoding="utf-8")
    output = tmp_path / "notes.imatrix.gguf"
    assert cli_main(["imatrix", str(tiny_bf16_gguf), "-o", str(output), "--text", str(text_file),
                     "--chunks", "1", "--ctx", str(CHUNK_SIZE)]) == 0
    assert read_imatrix(output).datasets == ("my-notes.txt",)


def test_cli_explains_an_unreadable_text(tiny_bf16_gguf: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    text_file = tmp_path / "binary.txt"
    text_file.write_bytes(b"\xff\xfe\x00bad")
    status = cli_main(["imatrix", str(tiny_bf16_gguf), "-o", str(tmp_path / "x.gguf"),
                       "--text", str(text_file)])
    assert status == 2
    assert "UTF-8" in capsys.readouterr().err
    assert not (tmp_path / "x.gguf").exists()


def _paragraphs(text: str) -> set[str]:
    return {paragraph.strip() for paragraph in re.split(r"\n\s*\n", text)
            if len(paragraph.strip()) > 80}


def test_held_out_text_shares_no_paragraph_with_the_calibration_text() -> None:
    assert not _paragraphs(calibration_set().text) & _paragraphs(heldout_set().text)


@pytest.mark.parametrize("text_set", [calibration_set, heldout_set], ids=["calibration", "heldout"])
def test_bundled_texts_are_bilingual_in_fin_r1s_answer_format(text_set) -> None:
    text = text_set().text
    answers = text.count("<answer>")
    assert answers >= 10
    assert text.count("<think>") == text.count("</think>") == answers == text.count("</answer>")
    assert text.count("\\boxed{") >= answers
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 2000
    assert len(re.findall(r"[A-Za-z]{3,}", text)) > 1500
