"""KV cache types and flash attention: the cache's memory as llama.cpp reports it, against the fit
estimate, and what each choice costs in prompt and decode speed.

For each model (the SmolLM2-135M test model, and any GGUF given, such as a reduced Fin-R1-shaped
one from ``bench/finr1_shape.py --keep``) and each configuration (K/V f16 with flash attention
off, f16, q8_0 and q4_0 with it left to llama.cpp, which turns it on for a quantized V cache), a
fresh process loads the model through the app's ``LlamaRuntime`` with a ``--ctx`` context, reads
llama.cpp's own line ``llama_kv_cache: size = … MiB``, fills ``--fill`` tokens of the context
(prompt tokens/s), then decodes ``--tokens`` tokens there (decode tokens/s: attention over a long
cache is where the cache type shows), and reports its peak RSS; the best of ``--rounds`` runs.
Ratios are against f16 with flash attention on auto, measured in the same run.

    .venv/bin/python bench/kv_cache.py [MODEL.gguf ...] [--ctx 4096] [--fill 2048] [--tokens 32]
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contract import RATIO, BenchFailed, BenchResult, BenchRun, Figure, cli
from bench.models import smollm2_q4_1
from foundation.disk_space import human_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
# (label, K type, V type, flash attention: None = auto)
CONFIGURATIONS: tuple[tuple[str, str, str, bool | None], ...] = (
    ("f16, FA off", "f16", "f16", False),
    ("f16", "f16", "f16", None),
    ("q8_0", "q8_0", "q8_0", None),
    ("q4_0", "q4_0", "q4_0", None),
)
BASELINE = "f16"
QUICK_ARGS = ("--ctx", "2048", "--fill", "1024", "--tokens", "16")
TARGET_ERROR_PERCENT = 1.0
_KV_SIZE = re.compile(r"llama_kv_cache: size =\s*([\d.]+) MiB.*K \((\w+)\):\s*([\d.]+) MiB, "
                      r"V \((\w+)\):\s*([\d.]+) MiB")
_FLASH_CHOSEN = re.compile(r"Flash Attention (enabled|disabled)|flash_attn\s*=\s*(enabled|disabled)")
PROMPT_TEXT = ("The quarterly report shows revenue growth of 12 percent over the prior year, "
               "while operating costs rose 4 percent and the bank kept its capital ratio. ")


def kv_cache_report(log_text: str) -> dict[str, Any] | None:
    """The KV cache llama.cpp reported in ``log_text``: ``{"bytes", "k_type", "k_bytes",
    "v_type", "v_bytes"}`` (bytes from its MiB figures, two decimals), or None when the log has
    no such line."""
    found = _KV_SIZE.search(log_text)
    if found is None:
        return None
    return {"bytes": float(found[1]) * MIB, "k_type": found[2], "k_bytes": float(found[3]) * MIB,
            "v_type": found[4], "v_bytes": float(found[5]) * MIB}


def measure_here(model: Path, n_ctx: int, fill: int, tokens: int, cache_type_k: str,
                 cache_type_v: str, flash_attn: bool | None, threads: int) -> dict[str, Any]:
    """One configuration in this process (see the module docstring)."""
    from app.core.engine.llama_runtime import LlamaRuntime
    from foundation.llama_log import LLAMA_LOG

    log = io.StringIO()
    with LLAMA_LOG.sending_to(None, echo=log):
        runtime = LlamaRuntime(model, n_ctx=n_ctx, n_threads=threads, n_gpu_layers=0,
                               n_batch=512, flash_attn=flash_attn, use_mmap=True,
                               cache_type_k=cache_type_k, cache_type_v=cache_type_v)
    report = kv_cache_report(log.getvalue())
    flash = [enabled or disabled for enabled, disabled in _FLASH_CHOSEN.findall(log.getvalue())]
    prompt = runtime.tokenize(PROMPT_TEXT * (fill // 20 + 1), add_bos=False,
                              parse_special=False)[:fill]
    started = time.perf_counter()
    runtime.evaluate_prompt(prompt)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(tokens):
        runtime.decode_token(prompt[-1])
    decode_s = time.perf_counter() - started
    runtime.close()
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    return {"kv": report, "flash_attn": flash[-1] if flash else None,
            "prompt_tok_s": fill / prompt_s, "decode_tok_s": tokens / decode_s,
            "peak_rss_bytes": peak}


def estimated_kv_bytes(model: Path, n_ctx: int, cache_type_k: str, cache_type_v: str) -> int:
    """The fit estimate's KV cache for ``model`` (``app.core.hardware.fit``)."""
    from app.core.engine.config import KvCacheTypes
    from app.core.hardware.fit import estimate_memory
    from app.core.hardware.llama_memory import ModelDims
    from quant.gguf_check import validate_gguf

    dims = ModelDims.from_gguf(validate_gguf(model))
    if dims is None:
        raise SystemExit(f"{model}: its shape cannot be read")
    kv_types = KvCacheTypes(cache_type_k, cache_type_v)
    return estimate_memory(dims, 0, n_ctx, kv_types=kv_types).kv_cache_bytes


def measure_configuration(model: Path, args: argparse.Namespace, k: str, v: str,
                          flash_attn: bool | None) -> dict[str, Any]:
    """``measure_here`` in a fresh process, ``--rounds`` times; the fastest prompt and decode
    count (a slower round met other programs on the cores), the largest peak RSS."""
    flash = {None: "auto", True: "on", False: "off"}[flash_attn]
    rounds = []
    for _ in range(args.rounds):
        result = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), str(model), "--child", k, v, flash,
             "--ctx", str(args.ctx), "--fill", str(args.fill), "--tokens", str(args.tokens),
             "--threads", str(args.threads)],
            cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BenchFailed(f"{model.name} with K {k} / V {v}: {result.stderr[-2000:]}")
        rounds.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return {**rounds[0], "prompt_tok_s": max(row["prompt_tok_s"] for row in rounds),
            "decode_tok_s": max(row["decode_tok_s"] for row in rounds),
            "peak_rss_bytes": max(row["peak_rss_bytes"] for row in rounds)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="GGUFs (default: SmolLM2)")
    parser.add_argument("--ctx", type=int, default=4096, help="context size (default 4096)")
    parser.add_argument("--fill", type=int, default=2048, help="tokens put in the cache first")
    parser.add_argument("--tokens", type=int, default=32, help="tokens decoded after them")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each configuration")
    parser.add_argument("--child", nargs=3, metavar=("K", "V", "FLASH"), help=argparse.SUPPRESS)
    return parser


def measure(argv: Sequence[str] | None = None, *, quick: bool = False) -> BenchResult:
    """Run the benchmark (see the module docstring and bench/contract.py)."""
    run = BenchRun("kv_cache", _parser(), argv, quick=quick, quick_args=QUICK_ARGS)
    args = run.args
    if args.fill + args.tokens > args.ctx:
        raise BenchFailed("--fill and --tokens together must fit in --ctx")
    print(f"context {args.ctx}, {args.fill} tokens filled, {args.tokens} decoded, "
          f"{args.threads} thread(s), best of {args.rounds} rounds; ratios against "
          f"'{BASELINE}' in the same run")
    print(f"{'model':<28} {'cache':<12} {'FA':<8} {'KV (llama.cpp)':>14} {'KV (fit)':>10} "
          f"{'KV ratio':>8} {'prompt tok/s':>12} {'decode tok/s':>12} {'decode ratio':>12} "
          f"{'peak RSS':>10}")
    worst = 0.0
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    for model in args.models or [smollm2_q4_1()]:
        rows = {label: measure_configuration(model, args, k, v, flash)
                for label, k, v, flash in CONFIGURATIONS}
        base = rows[BASELINE]
        for label, k, v, _flash in CONFIGURATIONS:
            row = rows[label]
            estimate = estimated_kv_bytes(model, args.ctx, k, v)
            reported = row["kv"]["bytes"]
            worst = max(worst, abs(estimate - reported) / reported)
            row["kv_fit_estimate_bytes"] = estimate
            print(f"{model.name[:28]:<28} {label:<12} {row['flash_attn'] or '?':<8} "
                  f"{reported / MIB:>11.2f}Mi {estimate / MIB:>8.2f}Mi "
                  f"{reported / base['kv']['bytes']:>8.3f} {row['prompt_tok_s']:>12.1f} "
                  f"{row['decode_tok_s']:>12.2f} "
                  f"{row['decode_tok_s'] / base['decode_tok_s']:>12.3f} "
                  f"{human_bytes(row['peak_rss_bytes']):>10}")
            if label != BASELINE:
                figures.append(Figure(f"decode speed, cache {label} / {BASELINE} ({model.name})",
                                      row["decode_tok_s"] / base["decode_tok_s"], RATIO, "higher"))
        details[model.name] = rows
    print(f"fit estimate of the KV cache against llama.cpp's report: largest error {worst:.2%}")
    return run.result([Figure("KV cache estimate vs llama.cpp's report, largest error",
                              worst * 100, "%", "lower", TARGET_ERROR_PERCENT), *figures],
                      details)


def main(argv: Sequence[str] | None = None) -> int:
    args, _ = _parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.child:  # one configuration, in the fresh process measure_configuration started
        k, v, flash = args.child
        flash_attn = {"auto": None, "on": True, "off": False}[flash]
        print(json.dumps(measure_here(args.models[0], args.ctx, args.fill, args.tokens, k, v,
                                      flash_attn, args.threads)))
        return 0
    return cli(measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
