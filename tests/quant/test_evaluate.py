"""Quality evaluation: perplexity, KL divergence and top-1 agreement against a reference.

The metrics are checked on distributions with known answers; the evaluation itself on the tiny
Qwen2 model (against itself, and against a quantization of itself); and the issue's proof on a
model whose weights mean something: SmolLM2-135M, turned from its shipped Q4_1 into an F16
reference by libllama with ``allow_requantize``, then quantized by the app with and without an
importance matrix computed on the bundled calibration text and evaluated on the held-out text.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from app.cli import main as cli_main
from app.core.local_build.calibration import HELDOUT_DATASET, calibration_set, heldout_set
from foundation.jobs import CancelToken, JobCancelled, Progress
from quant.errors import EvaluationError
from quant.eval_metrics import (
    ScoreAccumulator,
    kl_divergence,
    log_softmax,
    negative_log_likelihood,
    same_top_token,
)
from quant.evaluate import (
    EvaluationReport,
    evaluate_models,
    format_table,
    sidecar_path,
    write_sidecar,
)
from quant.gguf_check import validate_gguf
from quant.imatrix import build_imatrix
from quant.quantize import quantize_gguf
from quant.reference_logprobs import ReferenceLogprobs
from tests.support.cancel_at import cancel_at
from tests.support.direct_quantize import direct_quantize
from tests.support.llm_support import THREADS

TINY_CHUNK = 64


# -- metrics ---------------------------------------------------------------------------------------

def test_log_softmax_is_exact_for_huge_logits() -> None:
    logits = np.array([[1000.0, 1000.0, 1000.0 - math.log(2.0)]])
    np.testing.assert_allclose(np.exp(log_softmax(logits)), [[0.4, 0.4, 0.2]], rtol=1e-6)


def test_kl_divergence_of_a_distribution_from_itself_is_zero() -> None:
    logprobs = log_softmax(np.random.default_rng(0).normal(size=(5, 50)))
    np.testing.assert_allclose(kl_divergence(logprobs, logprobs), 0.0, atol=1e-15)


def test_kl_divergence_matches_its_closed_form() -> None:
    reference = np.log(np.array([[0.5, 0.5]]))
    model = np.log(np.array([[0.9, 0.1]]))
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    np.testing.assert_allclose(kl_divergence(reference, model), [expected])


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size() -> None:
    scores = ScoreAccumulator()
    logprobs = log_softmax(np.zeros((8, 40), dtype=np.float32))
    scores.add(logprobs, logprobs, np.arange(8))
    assert scores.perplexity() == pytest.approx(40.0)
    assert scores.kld_mean() == 0.0 and scores.top1_agreement() == 1.0


def test_negative_log_likelihood_reads_the_next_tokens_probability() -> None:
    logprobs = np.log(np.array([[0.25, 0.75], [0.6, 0.4]]))
    np.testing.assert_allclose(negative_log_likelihood(logprobs, np.array([1, 0])),
                               [-math.log(0.75), -math.log(0.6)])


def test_top_token_agreement_compares_argmaxes() -> None:
    reference = np.log(np.array([[0.6, 0.4], [0.3, 0.7]]))
    model = np.log(np.array([[0.55, 0.45], [0.8, 0.2]]))
    assert same_top_token(reference, model).tolist() == [True, False]


def test_the_99th_percentile_picks_the_tail() -> None:
    scores = ScoreAccumulator(kld=[np.concatenate([np.zeros(99), [5.0]])])
    assert scores.kld_percentile(99.0) == pytest.approx(0.05)


def test_kept_reference_logprobs_read_back_bit_for_bit(tmp_path: Path) -> None:
    logits = np.random.default_rng(0).normal(scale=8.0, size=(2, 5, 300)).astype(np.float32)
    logits[1, 4, :3] = 1e4  # a tie at a huge peak
    blocks = [(chunk, rows) for chunk in range(2) for rows in (slice(0, 3), slice(3, 5))]
    kept = ReferenceLogprobs(tmp_path / "reference.npy", chunks=2, rows=5, n_vocab=300)
    returned = [kept.keep(chunk, rows, logits[chunk, rows]) for chunk, rows in blocks]
    read = [kept.read(chunk, rows) for chunk, rows in blocks]
    kept.close()
    for (chunk, rows), logprobs, again in zip(blocks, returned, read, strict=True):
        expected = log_softmax(logits[chunk, rows])
        assert np.array_equal(logprobs, expected) and np.array_equal(again, expected)


# -- the evaluation job on the tiny model ----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_text() -> str:
    return heldout_set().text


@pytest.fixture(scope="module")
def tiny_q8_0(tiny_bf16_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quantize_gguf(tiny_bf16_gguf, tmp_path_factory.mktemp("q8") / "tiny-q8_0.gguf",
                         "q8_0", threads=THREADS)


@pytest.fixture(scope="module")
def tiny_report(tiny_bf16_gguf: Path, tiny_q8_0: Path, tiny_text: str,
                tmp_path_factory: pytest.TempPathFactory) -> EvaluationReport:
    twin = Path(shutil.copy(tiny_bf16_gguf, tmp_path_factory.mktemp("twin") / "twin.gguf"))
    return evaluate_models(tiny_bf16_gguf, [twin, tiny_q8_0], tiny_text, dataset="heldout",
                           chunks=2, chunk_size=TINY_CHUNK, decode_tokens=16, threads=THREADS)


def test_a_model_against_an_identical_copy_has_no_divergence(tiny_report: EvaluationReport) -> None:
    twin = tiny_report.models[0]
    assert twin.kld_mean == 0.0 and twin.kld_p99 == 0.0
    assert twin.top1_agreement == 1.0
    assert twin.perplexity == tiny_report.reference.perplexity


def test_a_quantization_diverges_a_little(tiny_report: EvaluationReport) -> None:
    q8_0 = tiny_report.models[1]
    assert 0.0 < q8_0.kld_mean <= q8_0.kld_p99
    assert q8_0.quant_type == "Q8_0"
    assert q8_0.bits_per_weight < tiny_report.reference.bits_per_weight


def test_only_the_second_half_of_each_chunk_is_scored(tiny_report: EvaluationReport) -> None:
    per_chunk = TINY_CHUNK - 1 - TINY_CHUNK // 2
    assert tiny_report.chunk_count == 2
    for score in (tiny_report.reference, *tiny_report.models):
        assert score.tokens_scored == 2 * per_chunk


def test_sizes_and_speed_are_measured(tiny_report: EvaluationReport, tiny_q8_0: Path) -> None:
    q8_0 = tiny_report.models[1]
    assert q8_0.file_size_bytes == tiny_q8_0.stat().st_size
    assert q8_0.decode_tokens_per_s is not None and q8_0.decode_tokens_per_s > 0


def test_the_report_is_plain_json(tiny_report: EvaluationReport) -> None:
    data = json.loads(json.dumps(tiny_report.to_dict()))
    assert data["reference"]["name"] == tiny_report.reference.name
    assert [model["name"] for model in data["models"]] == ["twin.gguf", "tiny-q8_0.gguf"]
    assert data["dataset"] == "heldout" and data["chunk_size"] == TINY_CHUNK


def test_the_table_has_a_row_per_model_reference_first(tiny_report: EvaluationReport) -> None:
    rows = [line for line in format_table(tiny_report).splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows[2:]] == [
        tiny_report.reference.name, "twin.gguf", "tiny-q8_0.gguf"]


def test_files_of_one_type_with_other_output_and_embedding_types_are_told_apart(
        tiny_bf16_gguf: Path, tiny_q8_0: Path, tiny_text: str, tmp_path: Path) -> None:
    # the quality lab compares a mix (as in Fin-R1-bf16-q8_0.gguf) with the plain type
    mix = quantize_gguf(tiny_bf16_gguf, tmp_path / "tiny-bf16-q8_0.gguf", "q8_0",
                        output_type="bf16", embedding_type="bf16", threads=1)
    report = evaluate_models(tiny_bf16_gguf, [tiny_q8_0, mix], tiny_text, dataset="heldout",
                             chunks=1, chunk_size=TINY_CHUNK, decode_tokens=0, threads=THREADS)
    plain, mixed = report.models
    assert (plain.quant_type, plain.output_tensor_type, plain.embedding_tensor_type) == (
        "Q8_0", "Q8_0", "Q8_0")
    assert (mixed.quant_type, mixed.output_tensor_type, mixed.embedding_tensor_type) == (
        "Q8_0", "BF16", "BF16")
    assert mixed.kld_mean > 0.0
    table = format_table(report)
    assert "| tiny-q8_0.gguf | Q8_0 | Q8_0/Q8_0 |" in table
    assert "| tiny-bf16-q8_0.gguf | Q8_0 | BF16/BF16 |" in table


def test_the_sidecar_holds_the_models_record(tiny_report: EvaluationReport) -> None:
    q8_0 = tiny_report.models[1]
    path = write_sidecar(tiny_report, q8_0)
    assert path == sidecar_path(q8_0.path)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["kld_mean"] == q8_0.kld_mean
    assert record["reference"] == tiny_report.reference.name
    path.unlink()


def test_progress_covers_the_reference_and_every_model(tiny_bf16_gguf: Path, tiny_q8_0: Path,
                                                       tiny_text: str) -> None:
    reports: list[Progress] = []
    evaluate_models(tiny_bf16_gguf, [tiny_q8_0], tiny_text, dataset="heldout", chunks=2,
                    chunk_size=TINY_CHUNK, decode_tokens=0, threads=THREADS,
                    on_progress=reports.append)
    assert [(report.done, report.total) for report in reports] == [(0, 4), (1, 4), (2, 4),
                                                                    (3, 4), (4, 4)]
    assert reports[-1].message == tiny_q8_0.name


def test_a_cancel_stops_the_evaluation(tiny_bf16_gguf: Path, tiny_q8_0: Path,
                                       tiny_text: str) -> None:
    cancel = CancelToken()
    with pytest.raises(JobCancelled):
        evaluate_models(tiny_bf16_gguf, [tiny_q8_0], tiny_text, dataset="heldout", chunks=2,
                        chunk_size=TINY_CHUNK, threads=THREADS, on_progress=cancel_at(1, cancel),
                        cancel=cancel)


def test_a_model_of_another_vocabulary_is_refused(tiny_bf16_gguf: Path, smollm2_gguf: Path,
                                                  tiny_text: str) -> None:
    with pytest.raises(EvaluationError, match="vocabulary"):
        evaluate_models(tiny_bf16_gguf, [smollm2_gguf], tiny_text, dataset="heldout", chunks=1,
                        chunk_size=TINY_CHUNK, decode_tokens=0, threads=THREADS)


def test_a_text_shorter_than_one_chunk_is_refused(tiny_bf16_gguf: Path) -> None:
    with pytest.raises(EvaluationError, match="fewer than one chunk"):
        evaluate_models(tiny_bf16_gguf, [tiny_bf16_gguf], "short", dataset="x",
                        chunk_size=TINY_CHUNK)


def test_cli_prints_the_table_and_saves_results_beside_each_model(
        tiny_bf16_gguf: Path, tiny_q8_0: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    model = Path(shutil.copy(tiny_q8_0, tmp_path / "model.gguf"))
    status = cli_main(["evaluate", "--reference", str(tiny_bf16_gguf), str(model),
                       "--chunks", "1", "--ctx", str(TINY_CHUNK), "--threads", str(THREADS)])
    assert status == 0
    out = capsys.readouterr().out
    assert "| model.gguf | Q8_0 |" in out
    record = json.loads(sidecar_path(model).read_text(encoding="utf-8"))
    assert record["dataset"] == HELDOUT_DATASET


def test_cli_json_output_parses(tiny_bf16_gguf: Path, tiny_q8_0: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["evaluate", "--reference", str(tiny_bf16_gguf), str(tiny_q8_0), "--json",
                       "--no-save", "--chunks", "1", "--ctx", str(TINY_CHUNK),
                       "--decode-tokens", "0", "--threads", str(THREADS)])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert report["models"][0]["decode_tokens_per_s"] is None
    assert not sidecar_path(tiny_q8_0).exists()


# -- work done once per call ------------------------------------------------------------------------

def count_calls(monkeypatch: pytest.MonkeyPatch, function: Callable[..., Any]) -> list[tuple[Any, ...]]:
    """Wrap ``function`` under every name the app's modules bound it to; the real function still
    runs. Returns the list of positional arguments of each call, filled as calls happen."""
    calls: list[tuple[Any, ...]] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return function(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in {"app", "quant"} and getattr(module, function.__name__, None) is function:
            monkeypatch.setattr(module, function.__name__, counted)
    return calls


def scores_without_timing(report: EvaluationReport) -> list[dict[str, Any]]:
    return [asdict(score) for score in (report.reference, *report.models)]


def test_models_evaluated_together_score_as_when_evaluated_alone(
        tiny_bf16_gguf: Path, tiny_q8_0: Path, tiny_text: str, tmp_path: Path) -> None:
    twin = Path(shutil.copy(tiny_bf16_gguf, tmp_path / "twin.gguf"))

    def evaluate(models: list[Path]) -> list[dict[str, Any]]:
        return scores_without_timing(evaluate_models(
            tiny_bf16_gguf, models, tiny_text, dataset="heldout", chunks=2,
            chunk_size=TINY_CHUNK, decode_tokens=0, threads=THREADS))

    together = evaluate([twin, tiny_q8_0])
    reference, twin_alone = evaluate([twin])
    assert together == [reference, twin_alone, evaluate([tiny_q8_0])[1]]


@pytest.mark.parametrize("model_count", [1, 2])
def test_the_reference_is_normalized_once_however_many_models_are_compared(
        monkeypatch: pytest.MonkeyPatch, tiny_bf16_gguf: Path, tiny_q8_0: Path, tiny_text: str,
        tmp_path: Path, model_count: int) -> None:
    models = [Path(shutil.copy(tiny_q8_0, tmp_path / f"model-{index}.gguf"))
              for index in range(model_count)]
    calls = count_calls(monkeypatch, log_softmax)
    report = evaluate_models(tiny_bf16_gguf, models, tiny_text, dataset="heldout", chunks=2,
                             chunk_size=TINY_CHUNK, decode_tokens=0, threads=THREADS)
    rows_normalized = sum(len(args[0]) for args in calls)
    assert rows_normalized == (1 + model_count) * report.reference.tokens_scored


def test_each_gguf_is_validated_once(monkeypatch: pytest.MonkeyPatch, tiny_bf16_gguf: Path,
                                     tiny_q8_0: Path, tiny_text: str, tmp_path: Path) -> None:
    twin = Path(shutil.copy(tiny_bf16_gguf, tmp_path / "twin.gguf"))
    calls = count_calls(monkeypatch, validate_gguf)
    evaluate_models(tiny_bf16_gguf, [twin, tiny_q8_0], tiny_text, dataset="heldout", chunks=1,
                    chunk_size=TINY_CHUNK, decode_tokens=0, threads=THREADS)
    assert sorted(str(args[0]) for args in calls) == sorted(map(str, [tiny_bf16_gguf, twin, tiny_q8_0]))


# -- the proof on SmolLM2 -------------------------------------------------------------------------

SMOL_CHUNK = 256
SMOL_IMATRIX_CHUNKS = 8
SMOL_EVAL_CHUNKS = 3


@dataclass(frozen=True)
class SmolEvaluation:
    report: EvaluationReport

    def kld(self, name: str) -> float:
        return next(score.kld_mean for score in self.report.models if score.name == name)

    def path(self, name: str) -> Path:
        return Path(next(score.path for score in self.report.models if score.name == name))


def same_tensor_data(first: Path, second: Path) -> bool:
    """Whether two GGUF files hold the same tensors, byte for byte (metadata aside: a file
    quantized with an importance matrix also names it in its keys)."""
    first_tensors, second_tensors = gguf.GGUFReader(first).tensors, gguf.GGUFReader(second).tensors
    assert [t.name for t in first_tensors] == [t.name for t in second_tensors]
    return all(np.array_equal(a.data, b.data) for a, b in zip(first_tensors, second_tensors, strict=True))


@pytest.fixture(scope="module")
def smol_evaluation(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory
                    ) -> SmolEvaluation:
    folder = tmp_path_factory.mktemp("smollm2")
    reference = folder / "smol-f16.gguf"
    assert direct_quantize(smollm2_gguf, reference, "f16", allow_requantize=True, threads=1) == 0
    calibration = calibration_set()
    imatrix = build_imatrix(reference, folder / "smol.imatrix.gguf", calibration.text,
                            dataset=calibration.name, chunks=SMOL_IMATRIX_CHUNKS,
                            chunk_size=SMOL_CHUNK, threads=THREADS)
    builds = [("q8_0", False), ("q6_k", False), ("q4_k_m", True), ("iq3_m", True),
              ("q4_k_s", False), ("q4_k_s", True), ("iq3_s", False), ("iq3_s", True)]
    models = []
    for type_name, with_imatrix in builds:
        output = folder / f"smol-{type_name}{'-imatrix' if with_imatrix else ''}.gguf"
        models.append(quantize_gguf(reference, output, type_name, threads=1,
                                    imatrix_path=imatrix if with_imatrix else None))
    report = evaluate_models(reference, models, heldout_set().text, dataset=HELDOUT_DATASET,
                             chunks=SMOL_EVAL_CHUNKS, chunk_size=SMOL_CHUNK, decode_tokens=0,
                             threads=THREADS)
    return SmolEvaluation(report)


@pytest.mark.slow
@pytest.mark.parametrize("type_name", ["q4_k_s", "iq3_s"])
def test_the_importance_matrix_lowers_kl_divergence(smol_evaluation: SmolEvaluation,
                                                    type_name: str) -> None:
    plain, weighted = f"smol-{type_name}.gguf", f"smol-{type_name}-imatrix.gguf"
    assert not same_tensor_data(smol_evaluation.path(plain), smol_evaluation.path(weighted))
    assert smol_evaluation.kld(weighted) < smol_evaluation.kld(plain)


@pytest.mark.slow
def test_divergence_grows_as_bits_shrink(smol_evaluation: SmolEvaluation) -> None:
    klds = [smol_evaluation.kld(name) for name in (
        "smol-q8_0.gguf", "smol-q6_k.gguf", "smol-q4_k_m-imatrix.gguf", "smol-iq3_m-imatrix.gguf")]
    assert klds == sorted(klds) and len(set(klds)) == 4


@pytest.mark.slow
def test_the_f16_reference_costs_sixteen_bits_per_weight(smol_evaluation: SmolEvaluation) -> None:
    assert 16.0 <= smol_evaluation.report.reference.bits_per_weight < 16.1
