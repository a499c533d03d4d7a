"""Shared by the model-manager and wizard tests: Fin-R1-like hub repositories made of the tiny
Qwen2 (published on the stand-in hub) and the files a job may have left behind. (Waiting on the
Qt event loop: ``tests.support.qt_wait.wait_until``.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.local_hub import LocalHub

GGUF_REPO = "mradermacher/Fin-R1-GGUF"
CHECKPOINT_REPO = "SUFE-AIFLM-Lab/Fin-R1"


_quantized: dict[Path, bytes] = {}


def tiny_q4_k_m(bf16_gguf: Path) -> bytes:
    """The tiny model quantized to Q4_K_M by libllama (once per test session)."""
    if bf16_gguf not in _quantized:
        from quant.quantize import quantize_gguf

        output = quantize_gguf(bf16_gguf, bf16_gguf.with_name("tiny-q4_k_m.gguf"), "q4_k_m")
        _quantized[bf16_gguf] = output.read_bytes()
    return _quantized[bf16_gguf]


def gguf_repo_files(tiny_gguf_factory: Callable[..., Path]) -> dict[str, bytes]:
    """Real tiny GGUFs named as mradermacher names Fin-R1's."""
    return {
        "Fin-R1.F16.gguf": tiny_gguf_factory("f16").read_bytes(),
        "Fin-R1.Q8_0.gguf": tiny_gguf_factory("q8_0").read_bytes(),
        "Fin-R1.Q4_K_M.gguf": tiny_q4_k_m(tiny_gguf_factory("bf16")),
        "README.md": b"# Fin-R1 GGUF\n",
    }


def checkpoint_repo_files(checkpoint: Path) -> dict[str, bytes]:
    files = {path.name: path.read_bytes() for path in checkpoint.iterdir() if path.is_file()}
    files["README.md"] = b"# Fin-R1\n"
    return files


def publish(hub: LocalHub, tiny_gguf_factory: Callable[..., Path], checkpoint: Path) -> LocalHub:
    hub.add_repo(GGUF_REPO, gguf_repo_files(tiny_gguf_factory))
    hub.add_repo(CHECKPOINT_REPO, checkpoint_repo_files(checkpoint))
    return hub


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (none when it does not exist)."""
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []
