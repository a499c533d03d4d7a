"""What each quant type costs in quality, with and without an importance matrix, on SmolLM2.

Makes the SmolLM2 F16 reference (bench/models.py), computes an importance matrix on the bundled
calibration text, quantizes to every type of the quant table below 16 bits (with and without the
matrix; IQ3_XS only with it), and to every mix of output and embedding types the hub catalog
lists (resources/catalog.toml: Mungert's Fin-R1-bf16-q8_0.gguf, Fin-R1-q4_k.gguf… made as the
model card says, without the matrix), and evaluates all of them against the reference on the
held-out text. Prints the evaluation table, the ratio KLD(with matrix) / KLD(without) per type,
whose baseline is the same type built without the matrix, and the ratio KLD(mix) / KLD(plain)
per mix, whose baseline is the same type with llama.cpp's own output and embedding types.
SmolLM2 ties its output to its embeddings, so only the embedding type of a mix applies there, and
its 576-wide rows already make llama.cpp keep k-quant files' embeddings at Q8_0, so the Q8_0 mixes
of Q6_K and Q4_K_M equal the plain files on it (ratio 1); on Fin-R1 they differ.

    .venv/bin/python bench/quant_quality.py [--imatrix-chunks N] [--eval-chunks N] [--ctx 512]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_f16

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "calibration"
QUICK_ARGS = ("--imatrix-chunks", "8", "--eval-chunks", "4", "--ctx", "256")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imatrix-chunks", type=int, help="default: the whole calibration text")
    parser.add_argument("--eval-chunks", type=int, help="default: the whole held-out text")
    parser.add_argument("--ctx", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    from app.core.hub.catalog import load_catalog
    from quant.evaluate import evaluate_models, format_table
    from quant.formats import QUANTIZE_TYPES, ImatrixNeed, quant_type
    from quant.imatrix import build_imatrix
    from quant.quantize import quantize_gguf

    run = BenchRun("quant_quality", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    with tempfile.TemporaryDirectory(prefix="finr1-bench-quality-") as folder:
        workdir = Path(folder)
        reference = smollm2_f16(workdir)
        imatrix = build_imatrix(reference, workdir / "smollm2.imatrix.gguf", _text("calibration"),
                                dataset="finr1-finance-calibration-v1", chunks=args.imatrix_chunks,
                                chunk_size=args.ctx, threads=args.threads)
        models = []
        for type_name in QUANTIZE_TYPES:
            variants = (True,) if quant_type(type_name).imatrix is ImatrixNeed.REQUIRED else (False,
                                                                                          True)
            for with_imatrix in variants:
                output = workdir / f"smollm2-{type_name}{'-imatrix' if with_imatrix else ''}.gguf"
                models.append(quantize_gguf(reference, output, type_name, threads=args.threads,
                                            imatrix_path=imatrix if with_imatrix else None))
        mixes = _catalog_mixes(load_catalog())
        for type_name, mix in mixes:
            output = workdir / _mix_file_name(type_name, mix)
            models.append(quantize_gguf(
                reference, output, type_name, threads=args.threads,
                output_type=mix.output.name if mix.output else None,
                embedding_type=mix.embeddings.name if mix.embeddings else None))
        report = evaluate_models(reference, models, _text("heldout"),
                                 dataset="finr1-finance-heldout-v1", chunks=args.eval_chunks,
                                 chunk_size=args.ctx, threads=args.threads)
    kld = {score.name: score.kld_mean for score in report.models}
    figures = []
    for type_name in QUANTIZE_TYPES:
        with_matrix = kld.get(f"smollm2-{type_name}-imatrix.gguf")
        without = kld.get(f"smollm2-{type_name}.gguf")
        if with_matrix is not None and without:
            figures.append(Figure(f"KLD {type_name}: with imatrix / without",
                                  with_matrix / without, RATIO, "lower", 1))
    for type_name, mix in mixes:
        mixed, plain = kld.get(_mix_file_name(type_name, mix)), kld.get(f"smollm2-{type_name}.gguf")
        if mixed is not None and plain:
            figures.append(Figure(f"KLD {mix.label(quant_type(type_name))}: mix / plain",
                                  mixed / plain, RATIO, "lower", 1))
    return run.result(figures, {"table": format_table(report), "report": report.to_dict()})


def _catalog_mixes(catalog: Any) -> list[tuple[str, Any]]:
    """(quant type name, TensorMix) of every mixed file the catalog lists, each once."""
    mixes = {(file.quant_type.name, file.mix): None for repo in catalog.repos
             for file in repo.files if file.mix and file.quant_type is not None}
    return list(mixes)


def _mix_file_name(type_name: str, mix: Any) -> str:
    output = mix.output.name if mix.output else "default"
    embeddings = mix.embeddings.name if mix.embeddings else "default"
    return f"smollm2-{type_name}-output-{output}-embd-{embeddings}.gguf"


def _text(part: str) -> str:
    return "\n\n".join(path.read_text(encoding="utf-8")
                       for path in sorted((RESOURCES / part).glob("*.md")))


def _show(result: BenchResult) -> None:
    print(result.details["table"])
    print()


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv, show=_show)


if __name__ == "__main__":
    raise SystemExit(main())
