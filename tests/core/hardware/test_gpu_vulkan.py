"""llama.cpp's Vulkan back-end, run on Mesa's lavapipe (a Vulkan driver on the CPU) by
``scripts/test_gpu.sh``: every layer offloaded with the CPU's logits, partial offload, auto layers
from the memory the device reports, and a Vulkan driver that does not work → the CPU, saying so.

Skipped where llama.cpp lists no GPU device (the ordinary CPU build of .venv). lavapipe is a
Vulkan device of CPU type, which ggml-vulkan lists only when ``GGML_VK_VISIBLE_DEVICES`` names it
(the script sets ``GGML_VK_VISIBLE_DEVICES=0`` and ``VK_ICD_FILENAMES``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import llama_cpp
import pytest

from app.core.engine.llama_runtime import LlamaRuntime
from app.core.hardware.backend_devices import list_devices
from app.core.hardware.gpu_layers import plan_offload
from app.core.hardware.llama_memory import gpu_reserve_bytes, read_gguf_shape
from app.core.hardware.machine import GpuInfo
from quant.gguf_check import validate_gguf

pytestmark = pytest.mark.gpu

_GPUS = [device for device in list_devices() if device.is_gpu]
needs_gpu = pytest.mark.skipif(not _GPUS, reason="llama.cpp lists no GPU device here "
                               "(run scripts/test_gpu.sh for the Vulkan build on lavapipe)")
CTX = 256


@pytest.fixture(scope="module", params=["smollm2", "tiny_qwen2"])
def model(request: pytest.FixtureRequest) -> Path:
    if request.param == "smollm2":
        return request.getfixturevalue("smollm2_gguf")
    return request.getfixturevalue("tiny_gguf_factory")("f16")


def _load(path: Path, n_gpu_layers: int, device: str | None) -> LlamaRuntime:
    return LlamaRuntime(path, n_ctx=CTX, n_threads=2, n_gpu_layers=n_gpu_layers, n_batch=64,
                        flash_attn=False, use_mmap=True, device=device)


def _last_logits(runtime: LlamaRuntime, tokens: list[int]) -> list[float]:
    runtime.evaluate_prompt(tokens, reuse_cache=False)
    logits = llama_cpp.llama_get_logits_ith(runtime._context, -1)
    return [logits[i] for i in range(runtime.n_vocab)]


def _kl(p_logits: list[float], q_logits: list[float]) -> float:
    """KL(p‖q) of the softmax distributions of two logit vectors."""
    def log_softmax(values: list[float]) -> list[float]:
        top = max(values)
        total = math.log(sum(math.exp(v - top) for v in values))
        return [v - top - total for v in values]

    log_p, log_q = log_softmax(p_logits), log_softmax(q_logits)
    return sum(math.exp(lp) * (lp - lq) for lp, lq in zip(log_p, log_q, strict=True))


GREEDY_TOKENS = 32
NEAR_TIE = 0.1  # logits this close are a tie that f16 and f32 arithmetic may order either way


def _greedy(runtime: LlamaRuntime, tokens: list[int]) -> tuple[list[int], list[list[float]]]:
    """``GREEDY_TOKENS`` greedy tokens after ``tokens``, with the logits each was chosen from."""
    chosen: list[int] = []
    rows = [_last_logits(runtime, tokens)]
    for _ in range(GREEDY_TOKENS):
        best = max(range(runtime.n_vocab), key=rows[-1].__getitem__)
        chosen.append(best)
        runtime.decode_token(best)
        logits = llama_cpp.llama_get_logits_ith(runtime._context, -1)
        rows.append([logits[i] for i in range(runtime.n_vocab)])
    return chosen, rows


@needs_gpu
def test_every_layer_offloaded_answers_as_the_cpu_does(model: Path) -> None:
    """All layers on the device; the issue's bar: 32 greedy tokens identical to the CPU's (up to
    a near-tie at the first difference, shown by the CPU's own logit gap there), or the logits
    within KL ≤ 1e-3."""
    device = _GPUS[0]
    cpu = _load(model, 0, "CPU")
    try:
        tokens = cpu.tokenize("The balance sheet shows total assets of", add_bos=True,
                              parse_special=False)
        cpu_tokens, cpu_rows = _greedy(cpu, tokens)
    finally:
        cpu.close()
    gpu = _load(model, -1, device.name)
    try:
        report = gpu.offload
        assert report.devices == (device.name,)
        assert report.gpu_layers == report.total_layers == gpu.n_layer + 1
        gpu_tokens, gpu_rows = _greedy(gpu, tokens)
    finally:
        gpu.close()
    if _kl(cpu_rows[0], gpu_rows[0]) <= 1e-3:
        return
    differ = next((i for i, (a, b) in enumerate(zip(cpu_tokens, gpu_tokens, strict=True)) if a != b), None)
    if differ is not None:
        row = cpu_rows[differ]
        gap = abs(row[cpu_tokens[differ]] - row[gpu_tokens[differ]])
        assert gap <= NEAR_TIE, (f"token {differ} differs: CPU {cpu_tokens[differ]}, device "
                                 f"{gpu_tokens[differ]}, the CPU's logit gap {gap:.3f}")


@needs_gpu
def test_a_layer_count_offloads_that_many(model: Path) -> None:
    runtime = _load(model, 2, _GPUS[0].name)
    try:
        assert runtime.offload.gpu_layers == 2
        assert runtime.offload.summary.startswith(f"GPU: 2/{runtime.n_layer + 1} layers on ")
    finally:
        runtime.close()


@needs_gpu
def test_auto_layers_come_from_the_memory_the_device_reports(model: Path) -> None:
    device = _GPUS[0]
    info = validate_gguf(model)
    shape = read_gguf_shape(info)
    assert shape is not None
    plan = plan_offload("auto", info, CTX, 64, device=device.name)
    # the measured room is the device's own figure (capped by free RAM on an integrated GPU)
    assert plan.free_vram_bytes is not None and 0 < plan.free_vram_bytes <= device.free_bytes
    assert device.description in plan.note
    # these models are far smaller than the room lavapipe reports: all of them fits
    assert plan.n_gpu_layers == shape.offloadable_layers
    # a device with room for its reserve, the output layer and exactly one block gets two layers
    room = (gpu_reserve_bytes(shape.dims, 64) + shape.output_bytes + shape.layer_bytes[-1]
            + CTX * shape.dims.kv_bytes_per_token_per_layer)
    for free, expected in ((room, 2), (room - 1, 1), (gpu_reserve_bytes(shape.dims, 64), 0)):
        small = GpuInfo(device.description, "vulkan", free, free, "llama.cpp")
        assert plan_offload("auto", info, CTX, 64, gpus=[small],
                            ram_available_bytes=None).n_gpu_layers == expected, free


def test_a_vulkan_driver_that_does_not_work_runs_on_the_cpu_saying_so(smollm2_gguf: Path,
                                                                      tmp_path: Path) -> None:
    from app.core.installation.llama_build import llama_lib_dir, shipped_modules

    if "vulkan" not in shipped_modules(llama_lib_dir())[1]:
        pytest.skip("this llama.cpp has no Vulkan module")
    env = {**os.environ, "VK_ICD_FILENAMES": str(tmp_path / "no-such-icd.json"),
           "FINR1_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))",
         "chat", str(smollm2_gguf), "Hi", "--max-tokens", "2", "--temperature", "0",
         "--ctx", "512", "--n-gpu-layers", "-1", "--json"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Vulkan back-end found no usable GPU" in done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert (metrics["device"], metrics["gpu_layers"]) == ("CPU", 0)
