"""Fin-R1-shaped speed: every quant type of a model shaped like Fin-R1, measured on this machine.

Speed depends on the shapes, not the values, so the script writes a checkpoint with Fin-R1's own
``config.json`` (Qwen2, hidden 3584, 28 layers, 28 heads / 4 KV heads, FFN 18944, vocabulary
152064, untied, bf16) and random bf16 weights (streamed to disk, never held in memory; the small
test tokenizer stands in for Qwen's, padded to the vocabulary as Fin-R1's is), then runs the
app's own commands on it: ``finr1 convert`` to BF16, ``finr1 imatrix`` (an importance matrix,
meaningless for quality, that IQ3 types need) and ``finr1 quantize`` to each ``--types`` entry.

Each quant is measured at each ``--threads`` count in a fresh process, loaded through the app's
``LlamaRuntime`` (mmap, flash attention left to llama.cpp): file size, load time, prompt tokens/s
(a 512-token prompt in one batch), time to first token (that prompt and the first sample),
decode tokens/s (greedy, after a warm-up; also its fastest 16-token stretch, the machine's speed
when no other program takes its cores), peak RSS (VmHWM). Beside each figure, the same process
probes the memory bandwidth with the app's probe (``app.core.hardware.speed_prediction``) and gives the
ceiling it implies (bandwidth ÷ bytes read per token), the app's prediction (ceiling ×
``CPU_DECODE_EFFICIENCY``), the prediction's error, and the measured share of the probe's
bandwidth (what ``CPU_DECODE_EFFICIENCY`` is set from).

The full run needs about 31 GB of scratch disk at its peak (checkpoint and BF16 GGUF during the
conversion; the checkpoint is deleted after it, each quant after its measurement) and an hour or
more on a few cores. ``--layers N`` keeps Fin-R1's layer shapes with fewer layers; ``--scale F``
also narrows the layers (hidden, FFN and heads × F, head size 128 kept; the vocabulary stays
Fin-R1's): a quick check of the whole path. ``--smollm2`` adds the SmolLM2-135M test model.

    .venv/bin/python bench/finr1_shape.py --workdir /disk/with/40GB --out results/
    .venv/bin/python bench/finr1_shape.py --layers 2 --scale 0.5 --types q8_0 q4_k_m iq3_xs \
        --threads 1 --smollm2

Writes ``finr1-shape-<time>.json`` and ``.md`` to ``--out``; the scratch folder is removed at
the end (``--keep`` keeps it). On a machine that is busy while the quants are built, build first
and measure later, when nothing else runs: ``--scratch DIR --build-only``, then ``--scratch DIR``
(every GGUF already in DIR is reused).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli
from bench.convert import write_bf16_safetensors
from bench.models import smollm2_q4_1
from foundation.atomic import atomic_output
from foundation.disk_space import human_bytes, require_free_space
from foundation.errors import NotEnoughDiskSpaceError
from quant.formats import quant_type
from tests.support.tiny_checkpoint import build_tiny_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[1]

# Fin-R1's config.json (SUFE-AIFLM-Lab/Fin-R1, a Qwen2.5-7B-Instruct fine-tune).
FIN_R1_CONFIG: dict[str, Any] = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "hidden_act": "silu",
    "hidden_size": 3584,
    "initializer_range": 0.02,
    "intermediate_size": 18944,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "model_type": "qwen2",
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "sliding_window": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.1",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 152064,
}
HEAD_DIM = 128
DEFAULT_TYPES = ("q8_0", "q6_k", "q4_k_m", "q4_k_s", "iq3_xs", "iq3_m")
QUICK_ARGS = ("--layers", "1", "--scale", "0.5", "--types", "q4_k_m", "--threads", "1")
PROMPT_TOKENS = 512
# The fastest run of this many decoded tokens: what the machine does when no other program
# takes its cores (the probe, too, keeps its fastest pass).
BEST_WINDOW_TOKENS = 16
PREDICTION_TOLERANCE = 0.25  # the bar for the prediction against the measured decode
PROMPT_TEXT = ("The quarterly report shows revenue growth of 12 percent over the prior year, "
               "while operating costs rose 4 percent and the bank kept its capital ratio. ")


# -- the checkpoint -----------------------------------------------------------------------------

def shaped_config(layers: int, scale: float) -> dict[str, Any]:
    """Fin-R1's config with ``layers`` layers and, for ``scale`` < 1, narrower layers: hidden a
    multiple of 256 (as k-quants need), heads of 128, one KV head per 7 heads as Fin-R1 has (at
    least one), FFN a multiple of 256. ``ValueError`` for layers or scale out of range."""
    if not 1 <= layers <= FIN_R1_CONFIG["num_hidden_layers"]:
        raise ValueError(f"--layers must be between 1 and 28, not {layers}")
    if not 0 < scale <= 1:
        raise ValueError(f"--scale must be above 0 and at most 1, not {scale}")
    config = dict(FIN_R1_CONFIG, num_hidden_layers=layers, max_window_layers=layers)
    if scale < 1:
        hidden = max(1, round(FIN_R1_CONFIG["hidden_size"] / 256 * scale)) * 256
        heads = hidden // HEAD_DIM
        kv_heads = max(1, heads // 7)
        config.update(hidden_size=hidden, num_attention_heads=heads,
                      num_key_value_heads=kv_heads if heads % kv_heads == 0 else 1,
                      intermediate_size=max(1, round(FIN_R1_CONFIG["intermediate_size"] / 256
                                                     * scale)) * 256)
    return config


def checkpoint_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every tensor of a Qwen2 checkpoint of ``config`` (q/k/v biases, untied lm_head)."""
    hidden, ffn, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    kv_width = config["num_key_value_heads"] * hidden // config["num_attention_heads"]
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (vocab, hidden)}
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        shapes.update({
            prefix + "input_layernorm.weight": (hidden,),
            prefix + "self_attn.q_proj.weight": (hidden, hidden),
            prefix + "self_attn.q_proj.bias": (hidden,),
            prefix + "self_attn.k_proj.weight": (kv_width, hidden),
            prefix + "self_attn.k_proj.bias": (kv_width,),
            prefix + "self_attn.v_proj.weight": (kv_width, hidden),
            prefix + "self_attn.v_proj.bias": (kv_width,),
            prefix + "self_attn.o_proj.weight": (hidden, hidden),
            prefix + "post_attention_layernorm.weight": (hidden,),
            prefix + "mlp.gate_proj.weight": (ffn, hidden),
            prefix + "mlp.up_proj.weight": (ffn, hidden),
            prefix + "mlp.down_proj.weight": (hidden, ffn),
        })
    shapes["model.norm.weight"] = (hidden,)
    shapes["lm_head.weight"] = (vocab, hidden)
    return shapes


def build_checkpoint(folder: Path, config: dict[str, Any]) -> Path:
    """A checkpoint folder with ``config`` as its config.json, random bf16 weights and the test
    tokenizer (the converter takes the end-of-turn token from the tokenizer's files)."""
    build_tiny_checkpoint(folder)  # tokenizer and generation files
    (folder / "model.safetensors").unlink()
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    write_bf16_safetensors(folder / "model.safetensors", checkpoint_shapes(config))
    return folder


def checkpoint_bytes(config: dict[str, Any]) -> int:
    """The bf16 weights' bytes (Fin-R1's: 15.23 GB, 7,615,616,512 parameters)."""
    return sum(2 * math.prod(shape) for shape in checkpoint_shapes(config).values())


# -- the app's commands -------------------------------------------------------------------------

def finr1(arguments: list[str], home: Path) -> float:
    """Run ``finr1 ARGUMENTS`` in a fresh process (its log under ``home``); returns seconds.
    Exits with the command's own error when it fails."""
    command = [sys.executable, "-c", "from app.cli import main; raise SystemExit(main())",
               *arguments]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=_environment(home), capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"finr1 {' '.join(arguments[:1])} failed ({result.returncode}):\n"
                         f"{result.stderr[-3000:]}")
    return time.perf_counter() - started


def _environment(home: Path) -> dict[str, str]:
    return dict(os.environ, FINR1_HOME=str(home), PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])))


# -- one measurement, in its own process --------------------------------------------------------

def measure_here(model: Path, threads: int, decode_tokens: int) -> dict[str, Any]:
    """Load ``model`` with ``threads`` threads and measure it (see the module docstring)."""
    from app.core.engine.llama_runtime import LlamaRuntime
    from app.core.hardware.speed_prediction import (
        CPU_DECODE_EFFICIENCY,
        compute_tokens_per_s,
        gguf_decode_bytes,
        gguf_token_weights,
        probe_memory_bandwidth,
    )
    from quant.gguf_check import validate_gguf

    info = validate_gguf(model)
    started = time.perf_counter()
    runtime = LlamaRuntime(model, n_ctx=PROMPT_TOKENS + decode_tokens + 64, n_threads=threads,
                           n_gpu_layers=0, n_batch=PROMPT_TOKENS, flash_attn=None, use_mmap=True)
    load_s = time.perf_counter() - started
    tokens = runtime.tokenize(PROMPT_TEXT * 64, add_bos=False, parse_special=False)[:PROMPT_TOKENS]
    try:
        prompt_s, ttft_s, stamps = _generate(runtime, tokens, decode_tokens)
    finally:
        runtime.close()
    decode_tok_s = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    window = min(BEST_WINDOW_TOKENS, len(stamps) - 1)
    best_tok_s = max(window / (stamps[start + window] - stamps[start])
                     for start in range(len(stamps) - window))
    probe = probe_memory_bandwidth(threads)
    per_token = gguf_decode_bytes(info, context_tokens=PROMPT_TOKENS + decode_tokens // 2)
    ceiling = probe.bytes_per_s / per_token if per_token else None
    compute = compute_tokens_per_s(gguf_token_weights(info), threads)
    # the app's rule (speed_prediction.predict): the lower of the bandwidth and compute rates
    predicted = min(ceiling * CPU_DECODE_EFFICIENCY, compute) if ceiling else None
    return {
        "file_bytes": info.size_bytes, "threads": threads, "load_s": load_s,
        "prompt_tokens": len(tokens), "prompt_tok_s": len(tokens) / prompt_s, "ttft_s": ttft_s,
        "decode_tokens": decode_tokens, "decode_tok_s": decode_tok_s,
        "decode_best_window_tok_s": best_tok_s,
        "peak_rss_bytes": _peak_rss_bytes(), "bandwidth_bytes_per_s": probe.bytes_per_s,
        "bytes_per_token": per_token, "ceiling_tok_s": ceiling,
        "compute_ceiling_tok_s": compute, "predicted_tok_s": predicted,
        "prediction_error": (predicted - decode_tok_s) / decode_tok_s if predicted else None,
        "decode_share_of_bandwidth": (decode_tok_s * per_token / probe.bytes_per_s
                                      if per_token else None),
        "best_window_share_of_bandwidth": (best_tok_s * per_token / probe.bytes_per_s
                                           if per_token else None),
    }


def _generate(runtime: Any, prompt: list[int],
              decode_tokens: int) -> tuple[float, float, list[float]]:
    """Evaluate ``prompt``, then decode greedily (the end marker does not stop a benchmark):
    (prompt seconds, seconds to the first token, the time of each of ``decode_tokens`` tokens
    after a warm-up of 4)."""
    from app.core.engine.llama_runtime import Sampler

    warm_up = 4
    stamps = []
    with Sampler(n_vocab=runtime.n_vocab, temperature=0.0, top_k=0, top_p=1.0, min_p=0.0,
                 repeat_penalty=1.0, repeat_last_n=0, seed=1) as greedy:
        start = time.perf_counter()
        runtime.evaluate_prompt(prompt)
        prompt_s = time.perf_counter() - start
        token = runtime.sample(greedy)
        ttft_s = time.perf_counter() - start
        for _ in range(warm_up + decode_tokens):
            runtime.decode_token(token)
            token = runtime.sample(greedy)
            stamps.append(time.perf_counter())
    return prompt_s, ttft_s, stamps[warm_up:]


def _peak_rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_in_child(model: Path, threads: int, decode_tokens: int, home: Path) -> dict[str, Any]:
    """``measure_here`` in a fresh process (its peak RSS is this model's alone)."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", str(model),
         "--threads", str(threads), "--decode-tokens", str(decode_tokens)],
        cwd=REPO_ROOT, env=_environment(home), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchFailed(f"measuring {model.name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the run ------------------------------------------------------------------------------------

def run(args: argparse.Namespace, workdir: Path, command: str) -> dict[str, Any]:
    """Build, convert, quantize and measure (see the module docstring); returns the report
    (empty with ``--build-only``). ``command`` is the one recorded as reproducing it."""
    config = shaped_config(args.layers, args.scale)
    home = workdir / "home"
    source_bytes = checkpoint_bytes(config)
    bf16 = workdir / "finr1-shape-bf16.gguf"
    if not bf16.exists():  # a reused --scratch folder already holds what it needs
        require_free_space(workdir, scratch_bytes(args),
                           "the Fin-R1-shaped checkpoint and its BF16 GGUF, then the quants",
                           remedy="give --workdir on a larger disk, or lower --layers / --scale")
    steps: dict[str, float] = {}
    if not bf16.exists():  # a --scratch folder of an earlier --build-only run keeps it
        started = time.perf_counter()
        checkpoint = build_checkpoint(workdir / "checkpoint", config)
        steps["write checkpoint"] = time.perf_counter() - started
        steps["finr1 convert"] = finr1(["convert", str(checkpoint), "-o", str(bf16)], home)
        shutil.rmtree(checkpoint)
    threads_arg = ["--threads", str(max(args.threads))]
    rows: list[dict[str, Any]] = []
    imatrix = workdir / "finr1-shape.imatrix.gguf"
    if any(name.startswith("iq") for name in args.types) and not imatrix.exists():
        steps["finr1 imatrix"] = finr1(["imatrix", str(bf16), "-o", str(imatrix), "--chunks",
                                        str(args.imatrix_chunks), *threads_arg], home)
    for name in args.types:
        output = workdir / f"finr1-shape-{name}.gguf"
        extra = ["--imatrix", str(imatrix)] if name.startswith("iq") else []
        if not output.exists():  # finr1 quantize writes under a temporary name: whole or absent
            steps[f"finr1 quantize {name}"] = finr1(
                ["quantize", str(bf16), "-o", str(output), "--type", name, *extra, *threads_arg],
                home)
        if args.build_only:
            continue
        for threads in args.threads:
            print(f"measuring {name} with {threads} thread(s)…", file=sys.stderr, flush=True)
            rows.append({"model": "Fin-R1-shaped", "quant_type": name,
                         **measure_in_child(output, threads, args.decode_tokens, home)})
        if not args.keep:
            output.unlink()
    if args.build_only:
        return {}
    if args.smollm2:
        for threads in args.threads:
            rows.append({"model": "SmolLM2-135M", "quant_type": "q4_1",
                         **measure_in_child(smollm2_q4_1(), threads, args.decode_tokens,
                                           home)})
    return {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.platform()}, {os.cpu_count()} CPUs, {_cpu_model()}",
        "command": command,
        "config": config, "checkpoint_bytes": source_bytes,
        "bf16_bytes": bf16.stat().st_size, "steps_s": steps, "rows": rows,
    }


def scratch_bytes(args: argparse.Namespace) -> int:
    """The scratch disk a run of ``args`` needs at its peak: the checkpoint and its BF16 GGUF
    during the conversion, then the BF16 GGUF and one quant at a time (every quant with
    ``--keep`` or ``--build-only``)."""
    source_bytes = checkpoint_bytes(shaped_config(args.layers, args.scale))
    shares = [quant_type(name).bits_per_weight / 16 for name in args.types]
    quants = sum(shares) if args.keep or args.build_only else max(shares)
    return int(source_bytes * max(2, 1 + quants))


def _cpu_model() -> str:
    from app.core.hardware.machine import cpu_model

    return cpu_model() or "unknown CPU"


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table (one row per model, type and thread count)."""
    config = report["config"]
    lines = [
        f"# Fin-R1-shaped speed, {report['created']}", "",
        f"{report['machine']}. Model: {config['num_hidden_layers']} layers, hidden "
        f"{config['hidden_size']}, FFN {config['intermediate_size']}, heads "
        f"{config['num_attention_heads']}/{config['num_key_value_heads']}, vocabulary "
        f"{config['vocab_size']}; BF16 {human_bytes(report['bf16_bytes'])}. "
        f"Command: `{report['command']}`", "",
        "| model | type | file | threads | load s | prompt tok/s (512) | TTFT s | decode tok/s "
        "| best 16 tok/s | peak RSS | bandwidth (probe) | read/token | ceiling tok/s "
        "| predicted tok/s | error |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['model']} | {row['quant_type']} | {human_bytes(row['file_bytes'])} "
            f"| {row['threads']} | {row['load_s']:.2f} | {row['prompt_tok_s']:.1f} "
            f"| {row['ttft_s']:.2f} | {row['decode_tok_s']:.2f} "
            f"| {row['decode_best_window_tok_s']:.2f} | {human_bytes(row['peak_rss_bytes'])} "
            f"| {human_bytes(row['bandwidth_bytes_per_s'])}/s "
            f"| {human_bytes(row['bytes_per_token'])} | {row['ceiling_tok_s']:.2f} "
            f"| {row['predicted_tok_s']:.2f} | {row['prediction_error']:+.0%} |")
    lines += ["", summary(report), "",
              "Steps: " + ", ".join(f"{step} {seconds:.0f} s"
                                    for step, seconds in report["steps_s"].items())]
    return "\n".join(lines) + "\n"


def summary(report: dict[str, Any]) -> str:
    """One line: the prediction against the measured decode over all rows (median, range), and
    the decode's median share of the probe's bandwidth (what ``CPU_DECODE_EFFICIENCY`` is)."""
    rows = _shaped_rows(report)
    ratios = sorted(row["predicted_tok_s"] / row["decode_tok_s"] for row in rows)
    shares = [row["decode_share_of_bandwidth"] for row in rows]
    best = [row["best_window_share_of_bandwidth"] for row in rows]
    within = sum(abs(ratio - 1) <= PREDICTION_TOLERANCE for ratio in ratios)
    return (f"predicted/measured decode of the Fin-R1-shaped rows: median "
            f"{statistics.median(ratios):.3f}, lowest {ratios[0]:.3f}, highest {ratios[-1]:.3f}; "
            f"{within} of {len(rows)} within ±{PREDICTION_TOLERANCE:.0%}; decode share of "
            f"the probe's bandwidth: median {statistics.median(shares):.3f} (fastest 16 tokens: "
            f"{statistics.median(best):.3f})")


def _shaped_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The Fin-R1-shaped rows (what the prediction is for), or every row when there is none: a
    model of tiny layers such as SmolLM2 spends its time on per-operation overhead instead."""
    shaped = [row for row in report["rows"] if row["model"] == "Fin-R1-shaped"]
    return shaped or report["rows"]


def summary_figures(report: dict[str, Any]) -> list[Figure]:
    """The suite's figures of a report: the medians over the rows that ``summary`` states."""
    rows = _shaped_rows(report)
    return [
        Figure("Fin-R1-shaped decode, predicted / measured (median over rows)",
               statistics.median(row["predicted_tok_s"] / row["decode_tok_s"] for row in rows),
               RATIO),
        Figure("Fin-R1-shaped decode's share of the probe's bandwidth (median over rows)",
               statistics.median(row["decode_share_of_bandwidth"] for row in rows), RATIO),
    ]


def write_report(report: dict[str, Any], out: Path) -> Path:
    """``finr1-shape-<time>.json`` and ``.md`` in ``out``; returns the JSON's path."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"finr1-shape-{report['created'].replace(':', '')}"
    for suffix, text in ((".json", json.dumps(report, indent=2)), (".md", markdown(report))):
        with atomic_output(stem.with_suffix(suffix)) as partial:
            partial.write_text(text, encoding="utf-8")
    return stem.with_suffix(".json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=28, help="layers (default 28, Fin-R1's)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="narrow the layers by this factor (default 1: Fin-R1's widths)")
    parser.add_argument("--types", nargs="+", default=list(DEFAULT_TYPES), type=str.lower,
                        metavar="TYPE", help=f"quant types (default {' '.join(DEFAULT_TYPES)})")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], metavar="N",
                        help="thread counts to measure at (default 1 2)")
    parser.add_argument("--decode-tokens", type=int, default=64, metavar="N",
                        help="tokens timed after the prompt (default 64)")
    parser.add_argument("--imatrix-chunks", type=int, default=4, metavar="N",
                        help="512-token chunks of calibration text for the importance matrix")
    parser.add_argument("--smollm2", action="store_true", help="also measure SmolLM2-135M Q4_1")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch folder's parent (python -m bench skips this benchmark "
                             "without --workdir or --scratch; run on its own: the system's temp "
                             "folder)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "finr1-bench")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="use this scratch folder (made if missing) and reuse the GGUFs an "
                             "earlier run left in it")
    parser.add_argument("--build-only", action="store_true",
                        help="convert and quantize into --scratch, keep it, measure nothing "
                             "(then measure later, on a quiet machine, with the same --scratch)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's job
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Build, convert, quantize and measure (see the module docstring and bench/contract.py);
    writes the report to ``--out``. Skipped without ``--workdir`` or ``--scratch`` (it writes
    gigabytes and runs long: the suite runs it only where told where), or when that disk lacks
    the space; with ``--build-only``, skipped once built (the measuring is a later run's)."""
    bench = BenchRun("finr1_shape", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = bench.args
    for name in args.types:
        quant_type(name)  # KeyError naming the known types, before anything is written
    if args.build_only and args.scratch is None:
        raise BenchFailed("--build-only needs --scratch (the folder a later run measures)")
    if args.workdir is None and args.scratch is None:
        return bench.skipped(
            f"needs a scratch folder: --workdir DIR on a disk with "
            f"{human_bytes(scratch_bytes(args))} free (the full Fin-R1 shape: ~31 GB and an hour "
            "or more), e.g. python -m bench --extra finr1_shape '--workdir DIR'")
    if args.scratch is not None:
        args.scratch.mkdir(parents=True, exist_ok=True)
        workdir = args.scratch
    else:
        workdir = Path(tempfile.mkdtemp(prefix="finr1-shape-", dir=args.workdir))
    keep = args.keep or args.build_only
    try:
        report = run(args, workdir, bench.command)
    except NotEnoughDiskSpaceError as error:
        return bench.skipped(str(error))
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.build_only:
        return bench.skipped(f"--build-only: built into {workdir}; measure with --scratch "
                            f"{workdir}")
    path = write_report(report, args.out)
    print(markdown(report))
    print(f"written: {path} and {path.with_suffix('.md')}", file=sys.stderr)
    return bench.result(summary_figures(report), {"report": str(path), "rows": report["rows"],
                                                 "steps_s": report["steps_s"]})


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args, _ = _parser().parse_known_args(argv)
    if args.measure is not None:  # one measurement, in the fresh process measure_in_child started
        print(json.dumps(measure_here(args.measure, args.threads[0], args.decode_tokens)))
        return 0
    if args.workdir is None and args.scratch is None:  # on its own: the system's temp folder
        argv = [*argv, "--workdir", tempfile.gettempdir()]
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
