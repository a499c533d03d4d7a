"""Measure what quantization costs: each model against a reference on held-out text.

For every model: perplexity, mean and 99th-percentile KL divergence of its next-token
distributions from the reference's, how often both agree on the most likely token, plus file
size, bits per weight, the tensor types of its output and token embeddings (where files of one
quant type differ, as ``finr1 quantize --output-type/--embedding-type`` mixes do) and decode
speed on this machine. The method is llama.cpp's
``llama-perplexity --kl-divergence``: the text is cut into chunks of ``chunk_size`` tokens, each
evaluated in a fresh KV cache, and only the second half of each chunk is scored (every scored
token then has at least half a chunk of context). Each file is validated once. The reference's
log-probabilities are computed once and kept in a temporary file (``quant.reference_logprobs``)
for every model compared with them, so only one model is in memory at a time.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foundation.atomic import atomic_output
from foundation.jobs import CancelToken, Progress, ProgressCallback, ignore_progress
from quant.chunk_runner import ChunkRunner, split_chunks
from quant.errors import EvaluationError
from quant.eval_metrics import KLD_PERCENTILE, ScoreAccumulator, log_softmax
from quant.gguf_check import GGUFInfo, validate_gguf
from quant.quantize import EMBEDDING_TENSOR, IMATRIX_DATASET_KEY, IMATRIX_FILE_KEY, OUTPUT_TENSOR
from quant.reference_logprobs import ReferenceLogprobs

STAGE = "evaluate"
JOB_NAME = "evaluation"
DEFAULT_CHUNK_SIZE = 512
DEFAULT_DECODE_TOKENS = 64
SIDECAR_SUFFIX = ".eval.json"
_ROWS_PER_BLOCK = 64  # bounds the float64 working set for a 152k-token vocabulary


@dataclass(frozen=True)
class ModelScore:
    """One model's measurements. For the reference itself KLD is 0 and agreement 1.
    ``output_tensor_type`` / ``embedding_tensor_type``: the ggml types of ``output.weight`` and
    ``token_embd.weight`` (None where the model has no such tensor, e.g. tied embeddings)."""

    path: str
    name: str
    quant_type: str | None
    output_tensor_type: str | None
    embedding_tensor_type: str | None
    imatrix: str | None
    imatrix_dataset: str | None
    file_size_bytes: int
    n_params: int
    bits_per_weight: float
    perplexity: float
    kld_mean: float
    kld_p99: float
    top1_agreement: float
    decode_tokens_per_s: float | None
    tokens_scored: int


@dataclass(frozen=True)
class EvaluationReport:
    """All models of one run against one reference, on ``dataset``."""

    reference: ModelScore
    models: tuple[ModelScore, ...]
    dataset: str
    chunk_size: int
    chunk_count: int
    threads: int | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "reference": asdict(self.reference),
            "models": [asdict(score) for score in self.models],
            "dataset": self.dataset, "chunk_size": self.chunk_size,
            "chunk_count": self.chunk_count, "threads": self.threads, "created": self.created,
            "kld_percentile": KLD_PERCENTILE,
        }

    def model_record(self, score: ModelScore) -> dict[str, Any]:
        """What is stored with one model: its scores and how they were measured."""
        return {
            **asdict(score), "reference": self.reference.name,
            "reference_perplexity": self.reference.perplexity, "dataset": self.dataset,
            "chunk_size": self.chunk_size, "chunk_count": self.chunk_count,
            "created": self.created,
        }


def evaluate_models(reference_path: Path | str, model_paths: Sequence[Path | str], text: str, *,
                    dataset: str, chunks: int | None = None,
                    chunk_size: int = DEFAULT_CHUNK_SIZE,
                    decode_tokens: int = DEFAULT_DECODE_TOKENS, threads: int | None = None,
                    on_progress: ProgressCallback | None = None,
                    cancel: CancelToken | None = None) -> EvaluationReport:
    """Score each of ``model_paths`` against ``reference_path`` on ``text`` (named ``dataset``).

    ``chunks`` caps how many whole chunks are used (all by default); ``decode_tokens`` tokens
    (0 to skip) time the decode speed. Progress is ``Progress("evaluate", done, total, "chunks",
    model_name)`` over the reference's and every model's chunks.

    Raises ``ValueError`` for ``chunk_size`` below 16, ``chunks`` below 1 or ``decode_tokens``
    outside 0..chunk_size; ``GGUFValidationError`` for a damaged file; ``EvaluationError`` when
    the text is shorter than one chunk or a model's vocabulary or tokenization differs from the
    reference's; ``ModelLoadError`` when llama.cpp cannot load a model; ``JobCancelled``. Reads
    the models; writes only a temporary file that is removed before returning.
    """
    _check_arguments(chunks, chunk_size, decode_tokens)
    report = on_progress or ignore_progress
    reference_path = Path(reference_path)
    paths = [Path(path) for path in model_paths]
    infos = {path: validate_gguf(path) for path in dict.fromkeys([reference_path, *paths])}
    reference = _Reference(reference_path, chunk_size, threads, cancel, report)
    with tempfile.TemporaryDirectory(prefix="finr1-eval-", ignore_cleanup_errors=True) as scratch:
        try:
            reference_score = reference.evaluate(text, chunks, Path(scratch), decode_tokens,
                                                 infos[reference_path], models_to_follow=len(paths))
            scores = tuple(reference.score(path, infos[path], decode_tokens) for path in paths)
        finally:
            reference.release_logprobs()  # unmap before the folder goes (Windows cannot delete it)
    return EvaluationReport(
        reference=reference_score, models=scores, dataset=dataset, chunk_size=chunk_size,
        chunk_count=len(reference.chunks), threads=threads,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )


def _check_arguments(chunks: int | None, chunk_size: int, decode_tokens: int) -> None:
    if chunk_size < 16:
        raise ValueError(f"chunk_size must be at least 16, not {chunk_size}")
    if chunks is not None and chunks < 1:
        raise ValueError(f"chunks must be at least 1, not {chunks}")
    if not 0 <= decode_tokens <= chunk_size:
        raise ValueError(f"decode_tokens must be in 0..{chunk_size}, not {decode_tokens}")


class _Reference:
    """The reference model's pass (tokens, chunks, and the log-probabilities every model is
    compared with), then the scoring of each model against it; reports progress over all."""

    def __init__(self, path: Path, chunk_size: int, threads: int | None,
                 cancel: CancelToken | None, report: ProgressCallback) -> None:
        self.path = path
        self.chunk_size = chunk_size
        self.first_scored = chunk_size // 2
        self.rows = chunk_size - 1 - self.first_scored
        self.threads = threads
        self.cancel = cancel
        self.report = report
        self.text = ""
        self.tokens = np.zeros(0, dtype=np.int32)
        self.chunks: list[np.ndarray] = []
        self.n_vocab = 0
        self.blocks = [slice(start, min(start + _ROWS_PER_BLOCK, self.rows))
                       for start in range(0, self.rows, _ROWS_PER_BLOCK)]
        self.logprobs: ReferenceLogprobs | None = None
        self.chunks_done = 0
        self.chunks_total = 0

    def evaluate(self, text: str, max_chunks: int | None, scratch: Path, decode_tokens: int,
                 info: GGUFInfo, models_to_follow: int) -> ModelScore:
        """Tokenize ``text``, evaluate the reference (described by ``info``) on it, keep its
        log-probabilities under ``scratch``."""
        with self._runner(self.path) as runner:
            self.text = text
            self.tokens = runner.tokenize(text)
            self.chunks = split_chunks(self.tokens, self.chunk_size, max_chunks)
            self.n_vocab = runner.n_vocab
            if not self.chunks:
                raise EvaluationError(
                    f"The evaluation text has {len(self.tokens)} tokens, fewer than one chunk "
                    f"of {self.chunk_size}; give a longer text or a smaller chunk size")
            self.chunks_total = len(self.chunks) * (1 + models_to_follow)
            self.logprobs = ReferenceLogprobs(scratch / "reference-logits.npy", len(self.chunks),
                                              self.rows, self.n_vocab)
            self._progress(self.path.name, advance=False)
            scores = ScoreAccumulator()
            for index, chunk in enumerate(self.chunks):
                self._decode(runner, chunk)
                logits, next_tokens = runner.output_logits(), self._next(chunk)
                for rows in self.blocks:
                    logprobs = self.logprobs.keep(index, rows, logits[rows])
                    scores.add(logprobs, logprobs, next_tokens[rows])
                self._progress(self.path.name)
            return _model_score(self.path, info, runner, scores,
                                self._decode_speed(runner, decode_tokens))

    def score(self, path: Path, info: GGUFInfo, decode_tokens: int) -> ModelScore:
        """Evaluate the model at ``path`` (described by ``info``) on the same chunks and compare
        it with the reference; call after ``evaluate``."""
        assert self.logprobs is not None, "score() needs the reference pass first"
        with self._runner(path) as runner:
            if runner.n_vocab != self.n_vocab or not np.array_equal(runner.tokenize(self.text),
                                                                   self.tokens):
                raise EvaluationError(
                    f"{path.name} does not share the vocabulary of the reference "
                    f"{self.path.name}; compare only quantizations of the same model")
            scores = ScoreAccumulator()
            for index, chunk in enumerate(self.chunks):
                self._decode(runner, chunk)
                logits, next_tokens = runner.output_logits(), self._next(chunk)
                for rows in self.blocks:
                    scores.add(self.logprobs.read(index, rows), log_softmax(logits[rows]),
                               next_tokens[rows])
                self._progress(path.name)
            return _model_score(path, info, runner, scores,
                                self._decode_speed(runner, decode_tokens))

    def release_logprobs(self) -> None:
        """Drop the reference log-probabilities (and with them the file mapping)."""
        if self.logprobs is not None:
            self.logprobs.close()

    def _runner(self, path: Path) -> ChunkRunner:
        return ChunkRunner(path, chunk_size=self.chunk_size, threads=self.threads,
                           cancel=self.cancel, job=JOB_NAME, failure=EvaluationError)

    def _decode(self, runner: ChunkRunner, chunk: np.ndarray) -> None:
        _raise_if_cancelled(self.cancel)
        runner.decode_chunk(chunk, self.first_scored)

    def _next(self, chunk: np.ndarray) -> np.ndarray:
        """The token each scored position predicts."""
        return chunk[self.first_scored + 1:].astype(np.int64)

    def _progress(self, name: str, advance: bool = True) -> None:
        self.chunks_done += advance
        self.report(Progress(STAGE, self.chunks_done, self.chunks_total, "chunks", name))

    def _decode_speed(self, runner: ChunkRunner, decode_tokens: int) -> float | None:
        if decode_tokens < 2:
            return None
        _raise_if_cancelled(self.cancel)
        return runner.decode_tokens_per_second(self.chunks[0][:decode_tokens])


def _model_score(path: Path, info: GGUFInfo, runner: ChunkRunner, scores: ScoreAccumulator,
                 decode_speed: float | None) -> ModelScore:
    imatrix = info.metadata.get(IMATRIX_FILE_KEY)
    imatrix_dataset = info.metadata.get(IMATRIX_DATASET_KEY)
    tensor_types = {tensor.name: tensor.ggml_type for tensor in info.tensors}
    return ModelScore(
        path=str(path), name=path.name, quant_type=info.file_type_label,
        output_tensor_type=tensor_types.get(OUTPUT_TENSOR),
        embedding_tensor_type=tensor_types.get(EMBEDDING_TENSOR),
        imatrix=str(imatrix) if imatrix is not None else None,
        imatrix_dataset=str(imatrix_dataset) if imatrix_dataset is not None else None,
        file_size_bytes=info.size_bytes, n_params=runner.n_params,
        bits_per_weight=runner.model_size_bytes * 8 / runner.n_params,
        perplexity=scores.perplexity(), kld_mean=scores.kld_mean(),
        kld_p99=scores.kld_percentile(), top1_agreement=scores.top1_agreement(),
        decode_tokens_per_s=decode_speed, tokens_scored=scores.tokens,
    )


def _raise_if_cancelled(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled(JOB_NAME)


def format_table(report: EvaluationReport) -> str:
    """The report as a markdown table, reference first."""
    header = ("| model | type | output/embd | imatrix | size MB | bits/weight | PPL | KLD mean "
              "| KLD p99 | top-1 agree | decode tok/s |")
    lines = [header, "|" + " --- |" * header.count(" | ") + " --- |"]
    for score in (report.reference, *report.models):
        speed = "" if score.decode_tokens_per_s is None else f"{score.decode_tokens_per_s:.1f}"
        kept = f"{score.output_tensor_type or '-'}/{score.embedding_tensor_type or '-'}"
        lines.append(
            f"| {score.name} | {score.quant_type or '?'} | {kept} "
            f"| {'yes' if score.imatrix else 'no'} "
            f"| {score.file_size_bytes / 1e6:.1f} | {score.bits_per_weight:.2f} "
            f"| {score.perplexity:.3f} | {score.kld_mean:.5f} | {score.kld_p99:.4f} "
            f"| {score.top1_agreement:.1%} | {speed} |")
    lines.append(
        f"\nReference {report.reference.name}; {report.chunk_count} chunks of "
        f"{report.chunk_size} tokens of {report.dataset} ({report.reference.tokens_scored} "
        "tokens scored per model).")
    return "\n".join(lines)


def sidecar_path(model_path: Path | str) -> Path:
    """Where a model's evaluation is kept when no library stores it: ``<model>.eval.json``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + SIDECAR_SUFFIX)


def write_sidecar(report: EvaluationReport, score: ModelScore) -> Path:
    """Write ``report.model_record(score)`` as JSON beside the model (atomically); returns it."""
    target = sidecar_path(score.path)
    with atomic_output(target) as partial:
        partial.write_text(json.dumps(report.model_record(score), indent=2, ensure_ascii=False),
                           encoding="utf-8")
    return target


def read_sidecar(model_path: Path | str) -> dict[str, Any] | None:
    """The evaluation record saved beside ``model_path`` by ``write_sidecar``, or None when there
    is none or it cannot be read (a damaged record is treated as absent, never as an error)."""
    try:
        record = json.loads(sidecar_path(model_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
