"""Decode speed on the CPU against the Vulkan back-end (on lavapipe, Mesa's Vulkan driver on the
CPU, unless ``VK_ICD_FILENAMES`` names another): the figure proves the GPU path works end to
end, not that it is fast (lavapipe runs the shaders on the same CPU cores).

Loads SmolLM2-135M (or MODEL.gguf) through the app's ``LlamaRuntime`` twice in this process, on
device ``CPU`` and with every layer on the first GPU device llama.cpp lists, evaluates one prompt
and decodes ``--tokens`` tokens greedily, and prints one JSON object: where llama.cpp reported
the layers, decode tokens/s of each, and the Vulkan/CPU ratio measured in the same run. Needs the
Vulkan build of ``.venv-gpu`` (``scripts/test_gpu.sh`` makes it):

    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json GGML_VK_VISIBLE_DEVICES=0 \\
        .venv-gpu/bin/python bench/gpu.py [MODEL.gguf] [--tokens 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.core.engine.llama_runtime import LlamaRuntime, Sampler
from app.core.hardware.backend_devices import list_devices
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_q4_1

PROMPT = "The quarterly report shows that revenue"
QUICK_ARGS = ("--tokens", "32")


def decode_speed(model: Path, n_gpu_layers: int, device: str, tokens: int,
                 threads: int) -> dict[str, Any]:
    """Load ``model`` on ``device``, decode ``tokens`` tokens greedily; the reported placement
    and decode tokens/s."""
    runtime = LlamaRuntime(model, n_ctx=512, n_threads=threads, n_gpu_layers=n_gpu_layers,
                           n_batch=64, flash_attn=False, use_mmap=True, device=device)
    try:
        runtime.evaluate_prompt(runtime.tokenize(PROMPT, add_bos=True, parse_special=False))
        with Sampler(n_vocab=runtime.n_vocab, temperature=0, top_k=0, top_p=1.0, min_p=0.0,
                     repeat_penalty=1.0, repeat_last_n=0, seed=0) as sampler:
            started = time.perf_counter()
            for _ in range(tokens):
                runtime.decode_token(runtime.sample(sampler))
            elapsed = time.perf_counter() - started
        return {"device": device, "placement": runtime.offload.summary,
                "gpu_layers": runtime.offload.gpu_layers, "tokens": tokens,
                "decode_tokens_per_s": round(tokens / elapsed, 2)}
    finally:
        runtime.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", type=Path, help="GGUF (default: SmolLM2-135M Q4_1)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py); skipped where
    llama.cpp lists no GPU device."""
    run = BenchRun("gpu", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    model = args.model or smollm2_q4_1()
    gpus = [device for device in list_devices() if device.is_gpu]
    if not gpus:
        return run.skipped("llama.cpp lists no GPU device: run it with the Vulkan build "
                           "(.venv-gpu, made by scripts/test_gpu.sh) and, for lavapipe, "
                           "GGML_VK_VISIBLE_DEVICES=0")
    cpu = decode_speed(model, 0, "CPU", args.tokens, args.threads)
    gpu = decode_speed(model, -1, gpus[0].name, args.tokens, args.threads)
    details = {"model": model.name, "gpu_device": gpus[0].description, "cpu": cpu,
               "vulkan": gpu, "vulkan_over_cpu": round(
                   gpu["decode_tokens_per_s"] / cpu["decode_tokens_per_s"], 3)}
    print(json.dumps(details, indent=2))
    return run.result([Figure(f"decode speed, {gpus[0].name} / CPU",
                              gpu["decode_tokens_per_s"] / cpu["decode_tokens_per_s"], RATIO,
                              "higher")], details)


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    sys.exit(main())
