"""Quantize a bf16/f16/f32 GGUF to a smaller type (Q8_0 … IQ3_XS) with libllama, as a job.

``llama_model_quantize`` blocks and cannot be interrupted, so it runs in a child process
(``quant.quantize_runner`` / ``quant.quantize_child``) that the job kills on cancel and whose
crash only fails the job. Everything that can be refused is refused before the child
starts: a damaged input, an input that is already quantized, a missing or mismatched importance
matrix, an output path that cannot be written. The output is written under a temporary name,
read back and checked, then renamed.
"""

from __future__ import annotations

from pathlib import Path

from foundation.atomic import atomic_output
from foundation.jobs import CancelToken, ProgressCallback, ignore_progress
from foundation.output_path import check_output_file
from quant import formats
from quant.errors import AlreadyQuantizedError, GGUFValidationError, ImatrixRequiredError, QuantizeError
from quant.formats import QUANTIZE_TYPES, ImatrixNeed, QuantType, TensorMix
from quant.gguf_check import GGUFInfo, validate_gguf
from quant.imatrix_reader import Imatrix, check_imatrix_matches, read_imatrix
from quant.quantize_child import QuantizeRequest
from quant.quantize_runner import JOB_NAME, run_quantize_child

SOURCE_TENSOR_TYPES = frozenset({"F32", "F16", "BF16"})
IMATRIX_FILE_KEY = "quantize.imatrix.file"
IMATRIX_DATASET_KEY = "quantize.imatrix.dataset"
IMATRIX_ENTRIES_KEY = "quantize.imatrix.entries_count"
IMATRIX_CHUNKS_KEY = "quantize.imatrix.chunks_count"
OUTPUT_TENSOR = "output.weight"
EMBEDDING_TENSOR = "token_embd.weight"


def quantize_gguf(input_path: Path | str, output_path: Path | str, quant_type: str, *,
                  imatrix_path: Path | str | None = None, threads: int | None = None,
                  output_type: str | None = None, embedding_type: str | None = None,
                  on_progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Path:
    """Quantize the GGUF at ``input_path`` to ``quant_type`` (a name in ``QUANTIZE_TYPES`` or an
    alias such as ``q4_k``).

    ``imatrix_path`` names an importance matrix in llama.cpp's GGUF format (required for types
    whose table row says so); ``threads`` defaults to every core. ``output_type`` and
    ``embedding_type`` (names in ``MIX_TENSOR_TYPES``, e.g. ``"bf16"``) keep ``output.weight`` and
    ``token_embd.weight`` at that type instead of the quant type's choice, as llama-quantize's
    ``--output-tensor-type`` and ``--token-embedding-type`` do. Progress is reported as
    ``Progress("quantize", done, total, "tensors", tensor_name)``: first 0/N, then per tensor as
    libllama starts and finishes it, ending at N/N. Returns ``output_path``, which then holds a
    complete file with ``general.file_type`` set to the type's llama ftype and, when an
    importance matrix was used, ``quantize.imatrix.*`` keys saying which.

    Raises ``ValueError`` for a quant type outside ``QUANTIZE_TYPES``, an unknown output or
    embedding type, or ``threads < 1``; ``OutputPathError`` when ``output_path`` is a folder or
    its folder cannot be written (a read-only disk, no permission, a file in its place);
    ``GGUFValidationError`` for a damaged input; ``AlreadyQuantizedError`` for an input below
    16 bits; ``QuantizeError`` when the output would replace the input or libllama fails or
    crashes (the message ends with its last log lines); ``DiskFullError`` when the output's disk
    fills up; ``ImatrixRequiredError`` / ``ImatrixError`` for a missing, unreadable or
    mismatched importance matrix; ``JobCancelled`` when ``cancel`` fires. All refusals come
    before the child process starts. On any error nothing is left at ``output_path`` (an existing file there
    is untouched) and no temporary file remains.
    """
    target = _quantize_target(quant_type)
    mix = _requested_mix(output_type, embedding_type)
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    if imatrix_path is None and target.imatrix is ImatrixNeed.REQUIRED:
        raise ImatrixRequiredError(
            f"{target.label} needs an importance matrix: at about {target.bits_per_weight} "
            "bits per weight, quality collapses unless the quantizer knows which weights "
            "matter most. Compute one with `finr1 imatrix` and pass it with --imatrix, or "
            "choose a larger type such as IQ3_S."
        )
    output_path = check_output_file(output_path, "the quantized model", "model.gguf")
    input_path = Path(input_path)
    report = on_progress or ignore_progress
    source = _checked_source(input_path, output_path)
    imatrix = _checked_imatrix(imatrix_path, source)
    _raise_if_cancelled(cancel)
    with atomic_output(output_path) as partial_path:
        request = QuantizeRequest(
            input_path=str(input_path), output_path=str(partial_path),
            llama_ftype=target.llama_ftype, threads=threads or 0, imatrix=imatrix,
            metadata=_imatrix_provenance(imatrix),
            output_tensor_type=mix.output.ggml_type if mix.output else None,
            token_embedding_type=mix.embeddings.ggml_type if mix.embeddings else None,
        )
        run_quantize_child(request, source.tensor_count, report, cancel)
        _verify_output(partial_path, source, target, imatrix, mix)
        _raise_if_cancelled(cancel)
    return output_path


def _quantize_target(name: str) -> QuantType:
    try:
        target = formats.quant_type(name)
    except KeyError as error:
        raise ValueError(str(error.args[0])) from None
    if target.name not in QUANTIZE_TYPES:
        raise ValueError(
            f"{target.label} is not made by the quantizer; choose one of "
            f"{', '.join(QUANTIZE_TYPES)} (the converter writes {target.label})"
        )
    return target


def _requested_mix(output_type: str | None, embedding_type: str | None) -> TensorMix:
    try:
        return TensorMix(
            output=formats.tensor_type(output_type) if output_type is not None else None,
            embeddings=formats.tensor_type(embedding_type) if embedding_type is not None else None,
        )
    except KeyError as error:
        raise ValueError(str(error.args[0])) from None


def _checked_source(input_path: Path, output_path: Path) -> GGUFInfo:
    """Validate the input and refuse what libllama would only reject halfway through."""
    source = validate_gguf(input_path)
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise QuantizeError(
            f"The output {output_path} is the input file; choose another output name."
        )
    quantized = sorted(set(source.tensor_type_histogram) - SOURCE_TENSOR_TYPES)
    if quantized:
        label = source.file_type_label or ", ".join(quantized)
        raise AlreadyQuantizedError(
            f"{input_path} is already quantized ({label}); requantizing loses quality. "
            "Quantize from the bf16/f16/f32 GGUF instead (make one with `finr1 convert`)."
        )
    return source


def _checked_imatrix(imatrix_path: Path | str | None, source: GGUFInfo) -> Imatrix | None:
    if imatrix_path is None:
        return None
    imatrix = read_imatrix(Path(imatrix_path))
    check_imatrix_matches(imatrix, {tensor.name: tensor.shape for tensor in source.tensors})
    return imatrix


def _imatrix_provenance(imatrix: Imatrix | None) -> tuple[tuple[str, int | str], ...]:
    """The keys llama.cpp's own quantize tool writes; libllama leaves them to its caller."""
    if imatrix is None:
        return ()
    provenance: list[tuple[str, int | str]] = [(IMATRIX_FILE_KEY, imatrix.path.name)]
    if imatrix.datasets:
        provenance.append((IMATRIX_DATASET_KEY, imatrix.datasets[0]))
    provenance.append((IMATRIX_ENTRIES_KEY, len(imatrix.values)))
    if imatrix.chunk_count > 0:
        provenance.append((IMATRIX_CHUNKS_KEY, imatrix.chunk_count))
    return tuple(provenance)


def _raise_if_cancelled(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled(JOB_NAME)


def _verify_output(partial_path: Path, source: GGUFInfo, target: QuantType,
                   imatrix: Imatrix | None, mix: TensorMix) -> None:
    """Read the new file back: it must be a valid GGUF of the right type and tensor count, its
    output and embeddings of the types asked for."""
    try:
        written = validate_gguf(partial_path)
    except GGUFValidationError as error:
        raise QuantizeError(
            f"llama.cpp wrote a file that does not read back ({error}); make sure the output "
            "disk has room and try again."
        ) from error
    problems = []
    if written.tensor_count != source.tensor_count:
        problems.append(f"{written.tensor_count} tensors instead of {source.tensor_count}")
    if written.file_type != target.llama_ftype:
        problems.append(f"file type {written.file_type} instead of {target.llama_ftype}")
    if imatrix is not None and IMATRIX_FILE_KEY not in written.metadata:
        problems.append(f"no {IMATRIX_FILE_KEY} key")
    written_types = {tensor.name: tensor.ggml_type for tensor in written.tensors}
    for name, wanted in ((OUTPUT_TENSOR, mix.output), (EMBEDDING_TENSOR, mix.embeddings)):
        if wanted is not None and name in written_types and written_types[name] != wanted.label:
            problems.append(f"{name} is {written_types[name]} instead of {wanted.label}")
    if problems:
        raise QuantizeError(
            f"llama.cpp's output for {target.label} failed its check ({'; '.join(problems)}); "
            "this is a bug in llama.cpp or this app; please report it with the input file's "
            "`finr1 inspect` output."
        )
