"""Converter throughput and memory on a synthetic multi-GB Qwen2 checkpoint.

Builds a Qwen2-shaped checkpoint of about ``--gb`` GB (random bf16 weights, the tiny test
tokenizer), then, interleaved ``--rounds`` times, times ``cp`` of the same safetensors bytes
(the baseline) and ``finr1 convert`` in a fresh process, whose peak RSS (VmHWM) it reads.

    .venv/bin/python bench/convert.py --gb 3 --outtype bf16

Targets (issue 2): throughput ≥ 0.5 × cp; peak RSS ≤ largest tensor + 1 GB, and flat in model size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli
from tests.support.tiny_checkpoint import build_tiny_checkpoint

QUICK_ARGS = ("--gb", "1.5", "--rounds", "1")
TARGET_THROUGHPUT_RATIO = 0.5
TARGET_RSS_ABOVE_LARGEST_GB = 1.0
HIDDEN, HEADS, KV_HEADS, INTERMEDIATE, VOCAB = 2048, 16, 2, 11008, 151936
_CHILD = r"""
import sys, time
from quant.convert import convert_checkpoint
start = time.perf_counter()
convert_checkpoint(sys.argv[1], sys.argv[2], sys.argv[3])
elapsed = time.perf_counter() - start
hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(elapsed, hwm_kb * 1024)
"""


def layer_tensors(layer: int) -> dict[str, tuple[int, ...]]:
    prefix = f"model.layers.{layer}."
    head_dim = HIDDEN // HEADS
    return {
        prefix + "input_layernorm.weight": (HIDDEN,),
        prefix + "post_attention_layernorm.weight": (HIDDEN,),
        prefix + "self_attn.q_proj.weight": (HIDDEN, HIDDEN),
        prefix + "self_attn.q_proj.bias": (HIDDEN,),
        prefix + "self_attn.k_proj.weight": (KV_HEADS * head_dim, HIDDEN),
        prefix + "self_attn.k_proj.bias": (KV_HEADS * head_dim,),
        prefix + "self_attn.v_proj.weight": (KV_HEADS * head_dim, HIDDEN),
        prefix + "self_attn.v_proj.bias": (KV_HEADS * head_dim,),
        prefix + "self_attn.o_proj.weight": (HIDDEN, HIDDEN),
        prefix + "mlp.gate_proj.weight": (INTERMEDIATE, HIDDEN),
        prefix + "mlp.up_proj.weight": (INTERMEDIATE, HIDDEN),
        prefix + "mlp.down_proj.weight": (HIDDEN, INTERMEDIATE),
    }


def synthetic_shapes(target_bytes: int) -> dict[str, tuple[int, ...]]:
    """Qwen2 tensors with as many layers as make about ``target_bytes`` of bf16, and at least
    one (the embeddings and output alone are 1.2 GB; a model without layers is refused)."""
    shapes = {"model.embed_tokens.weight": (VOCAB, HIDDEN), "model.norm.weight": (HIDDEN,),
              "lm_head.weight": (VOCAB, HIDDEN), **layer_tensors(0)}
    layer = 1
    while sum(2 * int(np.prod(s)) for s in shapes.values()) < target_bytes:
        shapes.update(layer_tensors(layer))
        layer += 1
    return shapes


def write_bf16_safetensors(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    """Stream a safetensors file of random-normal bf16 values without holding a tensor in memory."""
    header, offset = {}, 0
    for name, shape in shapes.items():
        nbytes = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header_bytes = json.dumps(header).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    block = (np.random.default_rng(0).normal(0, 0.02, 8 * 1024 * 1024).astype(np.float32)
             .view(np.uint32) >> 16).astype(np.uint16).tobytes()
    with open(path, "wb") as handle:
        handle.write(len(header_bytes).to_bytes(8, "little") + header_bytes)
        remaining = offset
        while remaining:
            piece = block[: min(len(block), remaining)]
            handle.write(piece)
            remaining -= len(piece)


def build_checkpoint(directory: Path, target_bytes: int) -> tuple[Path, int]:
    """A Qwen2 checkpoint of about ``target_bytes``; returns it and its largest tensor's bytes."""
    build_tiny_checkpoint(directory)  # for tokenizer files and a config to adapt
    (directory / "model.safetensors").unlink()
    shapes = synthetic_shapes(target_bytes)
    config = json.loads((directory / "config.json").read_text())
    config.update(hidden_size=HIDDEN, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                  intermediate_size=INTERMEDIATE, vocab_size=VOCAB,
                  num_hidden_layers=sum(1 for name in shapes if name.endswith("q_proj.weight")))
    (directory / "config.json").write_text(json.dumps(config))
    write_bf16_safetensors(directory / "model.safetensors", shapes)
    return directory, max(2 * int(np.prod(shape)) for shape in shapes.values())


def time_cp(source: Path, destination: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", str(source), str(destination)], check=True)
    subprocess.run(["sync"], check=True)
    elapsed = time.perf_counter() - start
    destination.unlink()
    return elapsed


def time_convert(checkpoint: Path, output: Path, outtype: str) -> tuple[float, int]:
    result = subprocess.run([sys.executable, "-c", _CHILD, str(checkpoint), str(output), outtype],
                            check=False, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchFailed(f"the conversion failed: {(result.stderr.strip().splitlines() or [''])[-1]}")
    subprocess.run(["sync"], check=True)
    elapsed, peak_rss = result.stdout.split()
    output.unlink()
    return float(elapsed), int(peak_rss)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=3.0, help="checkpoint size in GB")
    parser.add_argument("--outtype", default="bf16")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("convert", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    workdir = Path(tempfile.mkdtemp(prefix="finr1-bench-", dir=args.workdir))
    try:
        checkpoint, largest = build_checkpoint(workdir / "checkpoint", int(args.gb * 1e9))
        weights = checkpoint / "model.safetensors"
        size = weights.stat().st_size
        cp_times, convert_times, peaks = [], [], []
        for _ in range(args.rounds):
            cp_times.append(time_cp(weights, workdir / "copy.bin"))
            elapsed, peak = time_convert(checkpoint, workdir / "out.gguf", args.outtype)
            convert_times.append(elapsed)
            peaks.append(peak)
        cp_best, convert_best = min(cp_times), min(convert_times)
        print(f"checkpoint: {size / 1e9:.2f} GB, largest tensor {largest / 1e9:.2f} GB, "
              f"outtype {args.outtype}")
        print(f"cp:      best {cp_best:.2f} s ({size / cp_best / 1e6:.0f} MB/s)")
        print(f"convert: best {convert_best:.2f} s ({size / convert_best / 1e6:.0f} MB/s)")
        print(f"throughput ratio convert/cp: {cp_best / convert_best:.2f} "
              f"(target ≥ {TARGET_THROUGHPUT_RATIO})")
        print(f"peak RSS: {max(peaks) / 1e9:.2f} GB = largest tensor + "
              f"{(max(peaks) - largest) / 1e9:.2f} GB (target ≤ largest tensor + "
              f"{TARGET_RSS_ABOVE_LARGEST_GB:g} GB)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return run.result([
        Figure("convert throughput / cp", cp_best / convert_best, RATIO, "higher",
               TARGET_THROUGHPUT_RATIO),
        Figure("convert peak RSS above largest tensor", (max(peaks) - largest) / 1e9, "GB",
               "lower", TARGET_RSS_ABOVE_LARGEST_GB),
    ], details={"checkpoint_bytes": size, "largest_tensor_bytes": largest,
                "outtype": args.outtype, "cp_s": cp_times, "convert_s": convert_times,
                "peak_rss_bytes": peaks})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
