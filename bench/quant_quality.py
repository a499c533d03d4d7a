"""What each quant type costs in quality, with and without an importance matrix, on SmolLM2.

Makes the SmolLM2 F16 reference (bench/models.py), computes an importance matrix on the bundled
calibration text, quantizes to every type of the quant table below 16 bits (with and without the
matrix; IQ3_XS only with it), and evaluates all of them against the reference on the held-out
text. Prints the evaluation table and the ratio KLD(with matrix) / KLD(without) per type, whose
baseline is the same type built without the matrix.

    .venv/bin/python bench/quant_quality.py [--imatrix-chunks N] [--eval-chunks N] [--ctx 512]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.models import smollm2_f16

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "calibration"


def measure(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns ``{"benchmark", "ratios": [...], "details": {...}}``."""
    from quant.evaluate import evaluate_models, format_table
    from quant.formats import QUANTIZE_TYPES, ImatrixNeed, quant_type
    from quant.imatrix import build_imatrix
    from quant.quantize import quantize_gguf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imatrix-chunks", type=int, help="default: the whole calibration text")
    parser.add_argument("--eval-chunks", type=int, help="default: the whole held-out text")
    parser.add_argument("--ctx", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
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
        report = evaluate_models(reference, models, _text("heldout"),
                                 dataset="finr1-finance-heldout-v1", chunks=args.eval_chunks,
                                 chunk_size=args.ctx, threads=args.threads)
    kld = {score.name: score.kld_mean for score in report.models}
    ratios = []
    for type_name in QUANTIZE_TYPES:
        with_matrix = kld.get(f"smollm2-{type_name}-imatrix.gguf")
        without = kld.get(f"smollm2-{type_name}.gguf")
        if with_matrix is not None and without:
            ratios.append({"name": f"KLD {type_name}: with imatrix / without",
                           "value": with_matrix / without, "target": "<= 1",
                           "met": with_matrix <= without})
    return {"benchmark": "quant_quality", "ratios": ratios,
            "details": {"table": format_table(report), "report": report.to_dict()}}


def _text(part: str) -> str:
    return "\n\n".join(path.read_text(encoding="utf-8")
                       for path in sorted((RESOURCES / part).glob("*.md")))


def main() -> None:
    result = measure()
    print(result["details"]["table"])
    print()
    for ratio in result["ratios"]:
        print(f"{ratio['name']}: {ratio['value']:.3f} (target {ratio['target']})")


if __name__ == "__main__":
    main()
